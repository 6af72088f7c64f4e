"""Calibration of prediction intervals on curves held out from the fit.

For each data set the law is fitted on some curves, and every other curve is predicted at the rows
a fit would use (after warm-up) with a 90 % interval (``--level``). Reported per held-out curve and
on average: the share of real rows inside the interval (coverage; bar 80-99 % at 90 %) and the
mean width ``(hi - lo) / loss`` (bar <= 1 %).

* multipower-law 25M and 400M: fitted on the multi-power-law paper's ``cosine_24000 +
  constant_24000 + wsdcon_9``, the six others held out (two of them 72k steps: 3x the fitted
  budget);
* lr-scheduling-124m: fitted on ``val_loss`` of ``constant-50k + wsd-linear-0.2-25k``, the 31
  other runs held out.

    python benchmarks/intervals.py [--law annealing] [--level 0.9] [--sets 25M 400M 124m]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from scalefit import fit, io, predict
from scalefit.laws import DEFAULT_LAW

sys.path.insert(0, str(Path(__file__).resolve().parent))
from accuracy_124m import FIT_ON as FIT_ON_124M  # noqa: E402
from accuracy_124m import read_runs, runs  # noqa: E402

DATA = Path(__file__).resolve().parents[1] / "data" / "multipower-law"
PAPER_FIT_ON = ["cosine_24000", "constant_24000", "wsdcon_9"]


def data_set(name: str):
    """``(fit_on, held_out)`` curves of a data set."""
    if name == "124m":
        table = runs()
        curves = read_runs(table)
        fit_on = list(FIT_ON_124M)
    else:
        names = PAPER_FIT_ON + list(io.MULTIPOWER_HELD_OUT)
        curves = {n: io.read_curve(DATA / name / f"{n}.csv") for n in names}
        fit_on = PAPER_FIT_ON
    return [curves[n] for n in fit_on], [c for n, c in curves.items() if n not in fit_on]


def interval_scores(result, held_out, level: float):
    """Per held-out curve ``{name: (rows, coverage, width, PredE)}`` of ``result``'s intervals at
    ``level``, at the rows a fit would use, and their summary over the curves."""
    covered, widths, counts, errors, per_curve = [], [], [], [], {}
    for curve in held_out:
        curve = curve.after_warmup()
        p = predict(result, curve, interval=level)
        m = p.compare(curve)
        errors.append(np.abs(np.log(curve.loss / p.loss)))
        covered.append(m.coverage)
        widths.append(m.width)
        counts.append(m.rows)
        per_curve[curve.name] = (m.rows, m.coverage, m.width, m.pred_e)
    summary = {
        "coverage": float(np.mean(covered)),
        "pooled": float(np.average(covered, weights=counts)),
        "lowest": float(np.min(covered)),
        "width": float(np.mean(widths)),
        # the narrowest interval of one relative width for every row that covers `level` of the
        # held-out rows: what an oracle knowing the errors would need
        "oracle": float(2 * np.sinh(np.quantile(np.concatenate(errors), level))),
        # the same at the lowest coverage the bar accepts: narrower than 1 %, or no interval of
        # one width can meet both bars with this law's predictions
        "oracle80": float(2 * np.sinh(np.quantile(np.concatenate(errors), 0.8))),
    }
    return per_curve, summary


def calibration(name: str, law: str, level: float) -> dict[str, float]:
    fit_on, held_out = data_set(name)
    start = time.perf_counter()
    result = fit(fit_on, law)
    seconds = time.perf_counter() - start
    u = result.uncertainty
    print(
        f"\n== {name}: {result.law} law fitted on {' + '.join(c.name for c in fit_on)} "
        f"({seconds:.1f} s, error model included)"
    )
    print(
        f"   transfer sd {np.sqrt(u.transfer_variance):.4f}, horizon sd "
        f"{np.sqrt(u.horizon_variance):.4f} per log area ratio"
    )
    print(f"{'held-out curve':<24}{'rows':>6}{'coverage':>10}{'width':>9}{'PredE':>9}")
    per_curve, summary = interval_scores(result, held_out, level)
    for curve_name, (rows, coverage, width, pred_e) in per_curve.items():
        print(f"{curve_name:<24}{rows:>6}{coverage:>10.3f}{width:>9.4f}{pred_e:>9.5f}")
    print(
        f"mean over {len(held_out)} curves: coverage {summary['coverage']:.3f} (rows pooled "
        f"{summary['pooled']:.3f}, lowest curve {summary['lowest']:.3f}), width "
        f"{summary['width']:.4f}   (bars at 90 %: coverage 0.80-0.99, width <= 0.010)\n"
        f"an oracle's constant-width interval covering {level:.0%} of the rows: width "
        f"{summary['oracle']:.4f} (80 %: {summary['oracle80']:.4f})"
    )
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--law", default=DEFAULT_LAW)
    parser.add_argument("--level", type=float, default=0.9)
    parser.add_argument("--sets", nargs="+", default=["25M", "400M", "124m"])
    args = parser.parse_args()
    results = {name: calibration(name, args.law, args.level) for name in args.sets}
    print(f"\nsummary: {args.law} law, {args.level:.0%} intervals on held-out curves")
    print(
        f"{'set':<6}{'coverage':>10}{'pooled':>8}{'lowest':>8}{'width':>8}{'oracle':>8}"
        f"{'oracle80':>10}"
    )
    for name, r in results.items():
        print(
            f"{name:<6}{r['coverage']:>10.3f}{r['pooled']:>8.3f}{r['lowest']:>8.3f}"
            f"{r['width']:>8.4f}{r['oracle']:>8.4f}{r['oracle80']:>10.4f}"
        )


if __name__ == "__main__":
    main()
