"""Forecasting a run in flight: refused, or a final loss inside its interval as often as it says.

1. **From half a run.** Every bundled 50k-step 124M run at each peak (``_sets.runs``: one run per
   setting; ``val_loss``) and the two 72k-step multi-power-law runs of each size
   (``constant_72000``, ``cosine_72000``) are cut at half their last logged step and forecast to
   their end under their own schedule (:func:`scalefit.forecast`, 90 % interval). Per run: refused
   (with the reason's first words) or the forecast's error against the run's last logged loss,
   whether its interval holds that loss, and the interval's width there; whether the logged half
   already shows a decay (the LR at its last step below 90 % of the peak). Summary: forecasts made
   and refused, the share of made forecasts whose interval holds the final loss, their mean
   |error|, and the refusals of runs whose logged half shows a decay.
2. **From before a decay, with a prior.** The 124M constant run cut at step 25,000, forecast under
   the schedule of each 50k-step WSD run whose cooldown starts after it (the WSD runs resume the
   constant run, so its log is theirs), with ``prior=`` a fit of the 25k-step WSD runs at the same
   peak (at 3e-3, which has none, the 50k-step WSD runs whose cooldown starts before step 25,000);
   scored against the WSD run's last logged loss.
3. **From inside a cooldown.** The WSD runs (``wsd_20000_24000`` and ``wsdld_20000_24000`` of
   each multi-power-law size, and the 50k-step WSD runs of lr-scheduling-124m at 1e-3,
   ``val_loss``) logged up to 25 %, 50 % and 75 % of their cooldown, forecast to their end: per set
   and point, refusals, mean and largest |error| of the forecasts made, the share of their final
   losses inside the interval, its mean width.
4. **The law's own floor.** Each run of part 1 fitted on every loss it logged (nothing left to
   forecast): the fit's error at the final loss, which a forecast from half the run should not be
   expected to beat.

    python benchmarks/forecast.py [--law L] [--level 0.9] [--parts 1 2 3 4]
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

from scalefit import Curve, ForecastRefused, fit, forecast, io, predict
from scalefit.laws import FORECAST_LAW

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _sets import DATA, LR_SETS, runs  # noqa: E402

MULTIPOWER = DATA / "multipower-law"
RUNS_72K = ("constant_72000", "cosine_72000")
COOLDOWN_RUNS = ("wsd_20000_24000", "wsdld_20000_24000")
FRACTIONS = (0.25, 0.5, 0.75)
DROP = 0.9


def until(run: Curve, now: int) -> Curve:
    """``run``'s losses logged up to step ``now`` (its LRs kept whole: the logged part's are used,
    and the plan after it)."""
    keep = run.step <= now
    return replace(run, step=run.step[keep], loss=run.loss[keep])


def forecast_until(
    run: Curve, now: int, law: str, level: float, plan=None, prior=None, real=None
) -> dict[str, object]:
    """Forecast ``run`` from its losses up to step ``now`` under ``plan`` (default its own LRs):
    refused with the reason, or the final loss's relative error against ``real`` (default the
    run's last logged loss), whether the interval holds it, and the interval's width there."""
    plan = run.lr if plan is None else plan
    real = float(run.loss[-1]) if real is None else real
    try:
        result = forecast(
            until(run, now), plan, law=law, interval=level, at=[plan.size - 1], prior=prior
        )
    except ForecastRefused as refusal:
        reason = str(refusal).split("no forecast: ", 1)[-1]
        return {"refused": True, "reason": reason}
    p = result.prediction
    return {
        "refused": False,
        "error": float((p.loss[-1] - real) / real),
        "holds": bool(p.lower[-1] <= real <= p.upper[-1]),
        "width": float((p.upper[-1] - p.lower[-1]) / p.loss[-1]),
    }


def read_124m(peak: float) -> dict[str, Curve]:
    """The 124M runs at ``peak``, one per setting, by short name (``val_loss``)."""
    table = runs(peak)
    return {
        name: io.read_curve(DATA / row.folder / row.csv, loss_column="val_loss", name=name)
        for name, row in table.iterrows()
    }


def half_runs() -> list[tuple[str, Curve]]:
    """The runs forecast from half: the 124M 50k-step runs at each peak, the 72k-step runs."""
    out = []
    for set_name, peak in LR_SETS.items():
        out += [
            (f"{set_name} {n}", c) for n, c in read_124m(peak).items() if c.n_steps - 1 >= 50_000
        ]
    for size in ("25M", "400M"):
        out += [(f"{size} {n}", io.read_curve(MULTIPOWER / size / f"{n}.csv")) for n in RUNS_72K]
    return out


def shows_decay(run: Curve, now: int) -> bool:
    """Whether the LR at step ``now`` is below 90 % of the peak before it."""
    return bool(run.lr[now] < DROP * run.lr[: now + 1].max())


def from_half(law: str, level: float) -> None:
    print(f"\n1. from half of each run ({law} law, {level:.0%} interval)")
    print(f"{'run':<34}{'decayed':>8}  {'outcome':<44}{'error':>8}{'inside':>8}{'width':>8}")
    rows = []
    for name, run in half_runs():
        now = int(run.step[-1]) // 2
        r = forecast_until(run, now, law, level) | {"decayed": shows_decay(run, now)}
        rows.append(r)
        line = f"{name:<34}{'yes' if r['decayed'] else 'no':>8}  "
        if r["refused"]:
            line += f"refused: {r['reason'][:34]}..."
        else:
            inside = "yes" if r["holds"] else "no"
            line += f"{'forecast':<44}{r['error']:>+8.2%}{inside:>8}{r['width']:>8.2%}"
        print(line, flush=True)
    made = [r for r in rows if not r["refused"]]
    wrongly = [r for r in rows if r["refused"] and r["decayed"]]
    print(
        f"made {len(made)}, refused {len(rows) - len(made)} (of them from a run whose logged half "
        f"shows a decay: {len(wrongly)}); final loss inside the interval: "
        f"{np.mean([r['holds'] for r in made]):.2f} of those made; mean |error| "
        f"{np.mean([abs(r['error']) for r in made]):.2%}, mean width "
        f"{np.mean([r['width'] for r in made]):.2%}"
    )


def prior_runs(peak: float, runs_at: dict[str, Curve]) -> list[Curve]:
    """The runs a prior at ``peak`` is fitted on: the 25k-step WSD runs, or, where there are
    none, the 50k-step WSD runs whose cooldown starts before step 25,000."""
    short = [c for n, c in runs_at.items() if n.startswith("wsd") and n.endswith("-25k")]
    if short:
        return short
    return [
        c
        for n, c in runs_at.items()
        if n.startswith("wsd") and c.n_steps - 1 >= 50_000 and cooldown_start(c.lr) < 25_000
    ]


def with_prior(law: str, level: float) -> None:
    print(f"\n2. the constant run cut at step 25,000, a WSD plan, a prior ({law} law)")
    print(
        f"{'peak':<7}{'plan (run scored)':<24}{'prior fitted on':<46}{'outcome':>10}"
        f"{'error':>8}{'inside':>8}{'width':>8}"
    )
    for peak in LR_SETS.values():
        runs_at = read_124m(peak)
        prior_curves = prior_runs(peak, runs_at)
        prior = fit(prior_curves, law)
        names = ", ".join(c.name for c in prior_curves)
        names = names if len(names) <= 44 else names[:41] + "..."
        constant = runs_at["constant-50k"]
        for name, run in runs_at.items():
            if not name.startswith("wsd") or run.n_steps - 1 < 50_000:
                continue
            if cooldown_start(run.lr) <= 25_000:
                continue
            r = forecast_until(
                constant, 25_000, law, level, plan=run.lr, prior=prior, real=float(run.loss[-1])
            )
            line = f"{peak:<7g}{name:<24}{names:<46}"
            if r["refused"]:
                line += f"{'refused':>10}  {r['reason'][:60]}"
            else:
                inside = "yes" if r["holds"] else "no"
                line += f"{'forecast':>10}{r['error']:>+8.2%}{inside:>8}{r['width']:>8.2%}"
            print(line, flush=True)


def cooldown_start(lr: np.ndarray) -> int:
    """The first step after the peak at which the LR is below it: where a WSD run's decay starts."""
    at_peak = np.flatnonzero(lr >= 0.999 * lr.max())
    return int(at_peak[-1] + 1)


def cooldown_runs() -> dict[str, list[Curve]]:
    """The WSD runs of each data set, by set."""
    sets = {
        size: [io.read_curve(MULTIPOWER / size / f"{n}.csv") for n in COOLDOWN_RUNS]
        for size in ("25M", "400M")
    }
    at = read_124m(1e-3)
    sets["124M@1e-3"] = [
        c for n, c in at.items() if n.startswith("wsd") and c.n_steps - 1 >= 50_000
    ]
    return sets


def from_cooldowns(law: str, level: float) -> None:
    print(
        f"\n3. from inside a cooldown ({law} law): final-loss error over the WSD runs of each set"
    )
    print(
        f"{'set':<11}{'runs':>5}{'logged':>9}{'refused':>9}{'mean |error|':>14}{'largest':>9}"
        f"{'mean error':>12}{'final inside':>14}{'width':>8}"
    )
    for name, curves in cooldown_runs().items():
        for fraction in FRACTIONS:
            rows = []
            for run in curves:
                start, end = cooldown_start(run.lr), int(run.step[-1])
                rows.append(forecast_until(run, int(start + fraction * (end - start)), law, level))
            made = [r for r in rows if not r["refused"]]
            error = np.array([r["error"] for r in made])
            line = f"{name:<11}{len(rows):>5}{fraction:>9.0%}{len(rows) - len(made):>9}"
            if made:
                line += (
                    f"{np.mean(np.abs(error)):>14.2%}{np.max(np.abs(error)):>9.2%}"
                    f"{np.mean(error):>+12.2%}{np.mean([r['holds'] for r in made]):>14.2f}"
                    f"{np.mean([r['width'] for r in made]):>8.2%}"
                )
            print(line, flush=True)


def floor(law: str, level: float) -> None:
    print(f"\n4. the {law} law fitted on each whole run of part 1: its error at the final loss")
    print(f"{'run':<34}{'error':>8}")
    errors = []
    for name, run in half_runs():
        result = fit(run, law, uncertainty=False)
        final = predict(result, run.lr, at=[int(run.step[-1])]).loss[-1]
        errors.append(float((final - run.loss[-1]) / run.loss[-1]))
        print(f"{name:<34}{errors[-1]:>+8.2%}", flush=True)
    print(f"mean |error| {np.mean(np.abs(errors)):.2%}, largest {np.max(np.abs(errors)):.2%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--law", default=FORECAST_LAW)
    parser.add_argument("--level", type=float, default=0.9)
    parser.add_argument("--parts", nargs="+", type=int, default=[1, 2, 3, 4], choices=[1, 2, 3, 4])
    args = parser.parse_args()
    parts = {1: from_half, 2: with_prior, 3: from_cooldowns, 4: floor}
    for part in args.parts:
        parts[part](args.law, args.level)


if __name__ == "__main__":
    main()
