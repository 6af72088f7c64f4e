"""Every law on every bundled split, side by side: the evidence for the default law.

For each registered law (or ``--laws``), on curves held out from the fit:

* mean PredE on the multipower-law curves, fitted on the annealing-law paper's two curves
  (``cosine_24000 + constant_24000``) and on the multi-power-law paper's three (adds
  ``wsdcon_9``), six held out either way, at 25M and 400M; and on lr-scheduling-124m (``val_loss``
  of ``constant-50k + wsd-linear-0.2-25k``, 31 runs held out);
* 90 % interval calibration (mean coverage over the held-out curves, bar 0.80-0.99, and mean
  width, bar <= 1 %) on the paper's split at both sizes and on lr-scheduling-124m;
* the final loss of ``constant_72000`` and ``cosine_72000`` forecast from their first half, at
  both sizes (largest error, bar <= 0.5 %).

The same fit serves the accuracy and the interval columns. The splits are the ones
``accuracy.py``, ``accuracy_124m.py``, ``intervals.py`` and ``forecast.py`` use, one law at a time.

    python benchmarks/laws.py [--laws annealing multipower-fixed] [--level 0.9]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from scalefit import fit, io
from scalefit.laws import DEFAULT_LAW, LAWS

sys.path.insert(0, str(Path(__file__).resolve().parent))
from accuracy import DATA, SIX, SPLITS  # noqa: E402
from forecast import RUNS, forecast_from  # noqa: E402
from intervals import data_set, interval_scores  # noqa: E402

COLUMNS = ("two 25M", "two 400M", "paper 25M", "paper 400M", "124m")


def held_out_sets():
    """``{column: (fit_on, held_out)}``: the five fits, each with the curves it is scored on."""
    sets = {}
    for split in ("two", "paper"):
        for size in ("25M", "400M"):
            fit_on, _ = SPLITS[split]
            curves = {n: io.read_curve(DATA / size / f"{n}.csv") for n in fit_on + SIX}
            sets[f"{split} {size}"] = ([curves[n] for n in fit_on], [curves[n] for n in SIX])
    sets["124m"] = data_set("124m")
    return sets


def score(law: str, sets, level: float) -> dict[str, float]:
    row = {}
    for column, (fit_on, held_out) in sets.items():
        start = time.perf_counter()
        result = fit(fit_on, law)
        per_curve, summary = interval_scores(result, held_out, level)
        pred_e = np.mean([scores[3] for scores in per_curve.values()])  # (rows, cov, width, PredE)
        row[f"PredE {column}"] = float(pred_e)
        if not column.startswith("two"):
            row[f"coverage {column}"] = summary["coverage"]
            row[f"width {column}"] = summary["width"]
        print(
            f"   {law:<18}{column:<12} PredE {pred_e:.5f}  coverage {summary['coverage']:.3f}  "
            f"width {summary['width']:.4f}  ({time.perf_counter() - start:.1f} s)",
            flush=True,
        )
    errors = []
    for size in ("25M", "400M"):
        for name in RUNS:
            run = io.read_curve(DATA / size / f"{name}.csv")
            errors.append(abs(forecast_from(run, 0.5, law, level)["error"]))
    row["forecast"] = max(errors)
    print(f"   {law:<18}forecast from 50 %: largest error {max(errors):.2%}", flush=True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--laws", nargs="+", default=list(LAWS))
    parser.add_argument("--level", type=float, default=0.9)
    args = parser.parse_args()
    sets = held_out_sets()
    rows = {law: score(law, sets, args.level) for law in args.laws}

    print(f"\nMean held-out PredE (the default law: {DEFAULT_LAW})")
    print(f"{'law':<18}" + "".join(f"{c:>12}" for c in COLUMNS) + f"{'mean':>10}")
    for law, row in rows.items():
        values = [row[f"PredE {c}"] for c in COLUMNS]
        print(f"{law:<18}" + "".join(f"{v:>12.5f}" for v in values) + f"{np.mean(values):>10.5f}")
    print(f"\n{args.level:.0%} intervals (coverage / width) and forecasts from 50 %")
    interval_columns = ("paper 25M", "paper 400M", "124m")
    print(f"{'law':<18}" + "".join(f"{c:>17}" for c in interval_columns) + f"{'forecast':>10}")
    for law, row in rows.items():
        cells = [f"{row[f'coverage {c}']:.3f} / {row[f'width {c}']:.2%}" for c in interval_columns]
        print(f"{law:<18}" + "".join(f"{c:>17}" for c in cells) + f"{row['forecast']:>10.2%}")


if __name__ == "__main__":
    main()
