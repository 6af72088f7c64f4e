"""Forecasting a run in flight: the final loss of the bundled 72k-step runs from their first part.

For ``constant_72000`` and ``cosine_72000`` of each bundled size, keep the losses logged up to 25
%, 50 % and 75 % of the run, forecast the rest under the run's own schedule
(:func:`scalefit.forecast`), and compare with the real curve: the final loss's relative error (bar:
within 0.5 % from 50 %), whether the 90 % interval holds the real final loss, the interval's width
there, and the share of the real rows after the logged part inside the interval.

Then from inside a cooldown, where a user checks whether a decay is going as hoped: the WSD runs
(``wsd_20000_24000`` and ``wsdld_20000_24000`` of each bundled size, and the seven WSD runs of
50k steps of lr-scheduling-124m, ``val_loss``) logged up to 25 %, 50 % and 75 % of their cooldown,
each forecast to its end: per set, the mean and largest final-loss error, the share of final
losses inside the interval, and the interval's mean width.

    python benchmarks/forecast.py [--law annealing] [--level 0.9]
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from scalefit import forecast, io
from scalefit.laws import FORECAST_LAW

sys.path.insert(0, str(Path(__file__).resolve().parent))
from accuracy_124m import read_runs, runs  # noqa: E402

DATA = Path(__file__).resolve().parents[1] / "data" / "multipower-law"
RUNS = ("constant_72000", "cosine_72000")
COOLDOWN_RUNS = ("wsd_20000_24000", "wsdld_20000_24000")
FRACTIONS = (0.25, 0.5, 0.75)
BAR = 0.005


def forecast_from(run, fraction: float, law: str, level: float) -> dict[str, object]:
    """Forecast ``run`` from the losses logged up to ``fraction`` of it: the final loss's relative
    error, whether the interval holds it, the interval's width there, the share of the later real
    rows inside the interval, the seconds taken, and the prediction."""
    return forecast_until(run, int(fraction * run.step[-1]), law, level)


def forecast_until(run, now: int, law: str, level: float) -> dict[str, object]:
    """:func:`forecast_from`, the losses logged up to step ``now``."""
    logged = run.step <= now
    start = time.perf_counter()
    result = forecast(
        replace(run, step=run.step[logged], loss=run.loss[logged]),
        run.lr,
        law=law,
        interval=level,
        at=run.step,
    )
    seconds = time.perf_counter() - start
    p = result.prediction
    y, lo, hi = run.loss[~logged], p.lower[~logged], p.upper[~logged]
    return {
        "error": (p.loss[-1] - run.loss[-1]) / run.loss[-1],
        "holds": bool(p.lower[-1] <= run.loss[-1] <= p.upper[-1]),
        "width": (p.upper[-1] - p.lower[-1]) / p.loss[-1],
        "covered": float(np.mean((y >= lo) & (y <= hi))),
        "seconds": seconds,
        "prediction": p,
    }


def cooldown_start(lr: np.ndarray) -> int:
    """The first step after the peak at which the LR is below it: where a WSD run's decay starts."""
    at_peak = np.flatnonzero(lr >= 0.999 * lr.max())
    return int(at_peak[-1] + 1)


def cooldown_runs() -> dict[str, list]:
    """The WSD runs of each data set, by set."""
    sets = {
        size: [io.read_curve(DATA / size / f"{n}.csv") for n in COOLDOWN_RUNS]
        for size in ("25M", "400M")
    }
    table = runs()
    wsd = [n for n in table.index if n.startswith("wsd") and table.loc[n, "iterations"] == 50000]
    sets["124m"] = list(read_runs(table.loc[wsd]).values())
    return sets


def from_cooldowns(law: str, level: float) -> None:
    print(f"\nfrom inside a cooldown ({law} law): final-loss error over the WSD runs of each set")
    print(
        f"{'set':<6}{'runs':>5}{'logged':>9}{'mean |error|':>14}{'largest':>9}{'mean error':>12}"
        f"{'final inside':>14}{'width':>8}"
    )
    for name, curves in cooldown_runs().items():
        for fraction in FRACTIONS:
            rows = []
            for run in curves:
                start, end = cooldown_start(run.lr), run.step[-1]
                rows.append(forecast_until(run, int(start + fraction * (end - start)), law, level))
            error = np.array([r["error"] for r in rows])
            print(
                f"{name:<6}{len(rows):>5}{fraction:>9.0%}{np.mean(np.abs(error)):>14.2%}"
                f"{np.max(np.abs(error)):>9.2%}{np.mean(error):>+12.2%}"
                f"{np.mean([r['holds'] for r in rows]):>14.2f}"
                f"{np.mean([r['width'] for r in rows]):>8.2%}",
                flush=True,
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--law", default=FORECAST_LAW)
    parser.add_argument("--level", type=float, default=0.9)
    args = parser.parse_args()
    print(f"{args.law} law, {args.level:.0%} intervals")
    header = (
        f"{'size':<6}{'run':<16}{'logged':>7}{'forecast':>10}{'real':>8}{'error':>9}"
        f"{'interval':>20}{'holds':>7}{'width':>8}{'rest covered':>14}{'seconds':>9}"
    )
    print(header)
    at_half, errors = [], []
    for size in ("25M", "400M"):
        for name in RUNS:
            run = io.read_curve(DATA / size / f"{name}.csv")
            for fraction in FRACTIONS:
                r = forecast_from(run, fraction, args.law, args.level)
                errors.append(abs(r["error"]))
                if fraction == 0.5:
                    at_half.append(abs(r["error"]))
                p = r["prediction"]
                interval = f"[{p.lower[-1]:.4f}, {p.upper[-1]:.4f}]"
                print(
                    f"{size:<6}{name:<16}{fraction:>7.0%}{p.loss[-1]:>10.4f}{run.loss[-1]:>8.4f}"
                    f"{r['error']:>+9.2%}{interval:>20}{'yes' if r['holds'] else 'no':>7}"
                    f"{r['width']:>8.2%}{r['covered']:>14.2f}{r['seconds']:>9.1f}"
                )
    print(
        f"\nfrom 50 %: largest |final-loss error| {max(at_half):.2%} (bar <= {BAR:.1%}): "
        + ("met" if max(at_half) <= BAR else "not met")
        + f"; mean |final-loss error| over all {len(errors)}: {np.mean(errors):.2%}"
    )
    from_cooldowns(args.law, args.level)


if __name__ == "__main__":
    main()
