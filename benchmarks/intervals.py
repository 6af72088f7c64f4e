"""Calibration of prediction intervals on curves held out from the fit.

On each bundled set (``benchmarks/_sets.py``: the multi-power-law 25M and 400M curves on their
paper's split; the 124M lr-scheduling runs at each bundled peak, fitted on the constant run and
the 20 % linear WSD run) the law is fitted, and every held-out curve is predicted at its scored
rows with a 90 % interval (``--level``). Reported per set and per kind of schedule: the share of
real rows inside the interval (coverage), its mean width ``(hi - lo) / loss``, the lowest
coverage of a 50k-step run, and the mean PredE.

    python benchmarks/intervals.py [--law L] [--level 0.9] [--sets 25M 400M 124M@1e-3 ...]
        [--column val_loss|train_loss] [--curves]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from scalefit import fit, predict_curves
from scalefit.laws import DEFAULT_LAW

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _sets import SETS, data_set  # noqa: E402


def scores(result, data, level: float) -> dict[str, dict[str, float]]:
    """Per held-out curve: its kind, rows, coverage, width and PredE."""
    names = list(data.scored)
    predictions = predict_curves(result, [data.scored[n] for n in names], interval=level)
    out = {}
    for name, p in zip(names, predictions):
        m = p.compare(data.scored[name])
        steps = data.held_out[name].n_steps - 1
        out[name] = {
            "kind": data.kinds[name],
            "rows": m.rows,
            "coverage": m.coverage,
            "width": m.width,
            "pred_e": m.pred_e,
            "steps": steps,
        }
    return out


def calibration(name: str, law: str, level: float, column: str, curves: bool) -> dict:
    data = data_set(name, column)
    start = time.perf_counter()
    result = fit(data.fit_on, law)
    seconds = time.perf_counter() - start
    u = result.uncertainty
    print(
        f"\n== {name}: {result.law} law fitted on {' + '.join(c.name for c in data.fit_on)} "
        f"({seconds:.1f} s, error model included); transfer sd "
        f"{np.sqrt(u.transfer_variance):.4f}, horizon sd {np.sqrt(u.horizon_variance):.4f}, "
        f"decay sd {np.sqrt(u.decay_variance):.4f}, rival weight {u.rival_weight:.3f}, t with "
        f"{u.degrees_of_freedom} degrees of freedom",
        flush=True,
    )
    per_curve = scores(result, data, level)
    if curves:
        print(f"{'held-out curve':<26}{'kind':<22}{'rows':>6}{'coverage':>10}{'width':>9}")
        for n, r in per_curve.items():
            print(f"{n:<26}{r['kind']:<22}{r['rows']:>6}{r['coverage']:>10.3f}{r['width']:>9.4f}")
    print(f"{'kind':<22}{'curves':>7}{'coverage':>10}{'lowest':>8}{'width':>9}{'PredE':>9}")
    kinds = sorted({r["kind"] for r in per_curve.values()})
    for kind in [*kinds, "all"]:
        rows = [r for r in per_curve.values() if kind in ("all", r["kind"])]
        print(
            f"{kind:<22}{len(rows):>7}{np.mean([r['coverage'] for r in rows]):>10.3f}"
            f"{np.min([r['coverage'] for r in rows]):>8.3f}"
            f"{np.mean([r['width'] for r in rows]):>9.4f}"
            f"{np.mean([r['pred_e'] for r in rows]):>9.5f}"
        )
    long = [r["coverage"] for r in per_curve.values() if r["steps"] >= 50_000]
    summary = {
        "coverage": float(np.mean([r["coverage"] for r in per_curve.values()])),
        "width": float(np.mean([r["width"] for r in per_curve.values()])),
        "lowest_50k": float(np.min(long)) if long else float("nan"),
        "pred_e": float(np.mean([r["pred_e"] for r in per_curve.values()])),
    }
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--law", default=DEFAULT_LAW)
    parser.add_argument("--level", type=float, default=0.9)
    parser.add_argument("--sets", nargs="+", default=list(SETS), choices=SETS)
    parser.add_argument("--column", default="val_loss", choices=("val_loss", "train_loss"))
    parser.add_argument("--curves", action="store_true", help="also print every held-out curve")
    args = parser.parse_args()
    results = {
        name: calibration(name, args.law, args.level, args.column, args.curves)
        for name in args.sets
    }
    print(f"\nsummary: {args.law} law, {args.level:.0%} intervals on held-out curves")
    print(f"{'set':<11}{'coverage':>10}{'lowest 50k':>12}{'width':>8}{'PredE':>9}")
    for name, r in results.items():
        print(
            f"{name:<11}{r['coverage']:>10.3f}{r['lowest_50k']:>12.3f}{r['width']:>8.4f}"
            f"{r['pred_e']:>9.5f}"
        )


if __name__ == "__main__":
    main()
