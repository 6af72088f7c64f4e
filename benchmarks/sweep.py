"""Sweeps: choosing the peak LR with the schedule, and predicting a bigger model's run.

* **Peak choice** (124M, leave one peak out): the law that spans peaks is fitted on the constant
  run and the 20 % linear WSD run of 25k steps (of 50k at 3e-3, which has no 25k run) at two of
  the bundled peaks (1e-4, 1e-3, 3e-3), and predicts the final loss of every other 50k-step run
  at all three peaks, judged on the runs' real final losses on the full validation set (the
  manifests' ``final_val_loss_fullset``): the regret of the overall pick, Spearman's rank
  correlation of predicted and real final losses, and the mean regret of each schedule family's
  pick of peak against that of every fixed-peak rule (always the same peak).
* **Size** (val_loss): the 124M runs at peak 1e-3 predicted from a sweep of the 33M-93M runs (both
  their peaks), mean PredE on rows after warm-up; and with the 124M constant run's rows up to step
  12,500 added to the sweep, on rows after step 12,500. The multi-power-law curves: the three fit
  curves at 25M plus 400M ``constant_24000`` up to step 6,000 predict the six held-out 400M
  schedules (rows after step 6,000) and rank the four 24k-step ones.

    python benchmarks/sweep.py [--parts peaks sizes]
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

import scalefit
from scalefit import io

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _sets import DATA, runs  # noqa: E402

PEAKS = (1e-4, 1e-3, 3e-3)
SIZE_124M = 123587328


def read(peak: float, name: str, row) -> scalefit.Curve:
    path = DATA / row.folder / row.csv
    curve = io.read_curve(path, loss_column="val_loss", name=f"{name}@{peak:g}")
    return replace(curve, params=SIZE_124M)


def peak_choice(fit_peaks: tuple[float, ...], law: str | None) -> dict[str, float]:
    """Fit at ``fit_peaks``; score every other 50k-step run at all three peaks (with all three
    fitted: the law's own ranking of runs next to those it saw, the floor under the others)."""
    fitted, candidates = [], []
    for peak in PEAKS:
        table = runs(peak)
        pair = ("constant-50k", "wsd-linear-0.2-25k" if peak != 3e-3 else "wsd-linear-0.2-50k")
        for name, row in table.iterrows():
            if peak in fit_peaks and name in pair:
                fitted.append(read(peak, name, row))
            elif row.iterations == 50000:
                candidates.append((name, peak, read(peak, name, row), row.final_val_loss_fullset))
    start = time.perf_counter()
    result = scalefit.fit(fitted, law)
    seconds = time.perf_counter() - start
    rows = [
        {"family": n, "peak": p, "predicted": scalefit.predict(result, c).final_loss, "real": r}
        for n, p, c, r in candidates
    ]
    frame = pd.DataFrame(rows)
    return summary(frame, result, seconds)


def summary(frame: pd.DataFrame, result, seconds: float) -> dict[str, float]:
    best_real = frame.real.min()
    pick = frame.loc[frame.predicted.idxmin()]
    rho = spearmanr(frame.predicted, frame.real).statistic
    families = [g for _, g in frame.groupby("family") if len(g) > 1]
    regret = np.mean([g.loc[g.predicted.idxmin(), "real"] - g.real.min() for g in families])
    fixed = {
        p: np.mean(
            [g[g.peak == p].real.iloc[0] - g.real.min() for g in families if (g.peak == p).any()]
        )
        for p in PEAKS
    }
    right = np.mean(
        [g.loc[g.predicted.idxmin(), "peak"] == g.loc[g.real.idxmin(), "peak"] for g in families]
    )
    return {
        "law": result.law,
        "seconds": seconds,
        "overall regret": pick.real - best_real,
        "pick": f"{pick.family}@{pick.peak:g}",
        "spearman": rho,
        "family regret": regret,
        "families": len(families),
        "right peak": right,
        "fixed": fixed,
        "params": result.params,
        "objective": result.objective,
    }


def peaks_part(law: str | None) -> float:
    print("Peak choice at 124M, leave one peak out (val_loss; real final losses on the full set)")
    objective = 0.0
    for fit_peaks in [*itertools.combinations(PEAKS, 2), PEAKS]:
        r = peak_choice(fit_peaks, law)
        objective += r["objective"]
        fixed = ", ".join(f"{p:g}: {v:.4f}" for p, v in r["fixed"].items())
        held = [f"{p:g}" for p in PEAKS if p not in fit_peaks] or ["none: the floor"]
        print(
            f"\nfitted at {' + '.join(f'{p:g}' for p in fit_peaks)} (held out {held[0]}), "
            f"{r['law']} law, {r['seconds']:.1f} s, objective {r['objective']:.4g}: "
            + ", ".join(f"{k} {v:.4g}" for k, v in r["params"].items())
        )
        print(
            f"  overall pick {r['pick']}: regret {r['overall regret']:.4f} (bar 0.003); Spearman "
            f"{r['spearman']:.3f} (bar 0.9)\n  each family's pick of peak ({r['families']} "
            f"families): mean regret {r['family regret']:.4f} (bar 0.002), right peak "
            f"{r['right peak']:.0%}; fixed-peak rules: {fixed}",
            flush=True,
        )
    return objective


def sizes_part(law: str | None) -> float:
    print("\nSize: the 124M runs at 1e-3 from a sweep of the 33M-93M runs (val_loss)")
    sweep = io.read_sweep(DATA / "lr-scheduling-sweep" / "sweep.csv")
    small = [c for c in sweep.curves if c.params < 1.2e8]
    target = [c for c in sweep.curves if c.params > 1.2e8 and abs(c.lr.max() - 1e-3) < 1e-9]
    objective = 0.0
    constant = next(c for c in target if c.name.startswith("stable"))
    for anchor in (None, 12500):
        fit_on = list(small)
        if anchor:
            keep = constant.step <= anchor
            fit_on.append(
                replace(constant, name="anchor", step=constant.step[keep], loss=constant.loss[keep])
            )
        start = time.perf_counter()
        result = scalefit.fit(scalefit.Sweep.of(fit_on), law)
        seconds = time.perf_counter() - start
        objective = objective if anchor else result.objective
        pe = []
        for c in target:
            scored = c.after_warmup()
            if anchor:
                after = scored.step > anchor
                scored = replace(scored, step=scored.step[after], loss=scored.loss[after])
            pe.append(scalefit.predict(result, scored).compare(scored).pred_e)
        bar = 0.003 if anchor else 0.006
        print(
            f"  {'with' if anchor else 'without'} the 124M constant run up to {anchor or '-'}: "
            f"{result.law} law ({seconds:.1f} s, objective {result.objective:.4g}), mean PredE "
            f"{np.mean(pe):.5f} over {len(pe)} runs (bar {bar}); largest {np.max(pe):.5f}",
            flush=True,
        )
    multipower_sizes()
    return objective


def multipower_sizes() -> None:
    print("\nSize: multi-power-law 25M fit curves + 400M constant_24000 up to step 6,000")
    folder = io.bundled_data("multipower-law")
    fit_on = [
        replace(io.read_curve(folder / "25M" / f"{n}.csv"), params=25e6)
        for n in ("cosine_24000", "constant_24000", "wsdcon_9")
    ]
    constant = replace(io.read_curve(folder / "400M" / "constant_24000.csv"), params=400e6)
    keep = constant.step <= 6000
    fit_on.append(
        replace(constant, name="anchor", step=constant.step[keep], loss=constant.loss[keep])
    )
    result = scalefit.fit(fit_on)
    pe = {}
    for n in io.MULTIPOWER_HELD_OUT:
        c = replace(io.read_curve(folder / "400M" / f"{n}.csv"), params=400e6)
        c = replace(c, step=c.step[c.step > 6000], loss=c.loss[c.step > 6000])
        pe[n] = scalefit.predict(result, c).compare(c).pred_e
    four = ("cosine_24000", "constant_24000", "wsd_20000_24000", "wsdld_20000_24000")
    curves = {n: replace(io.read_curve(folder / "400M" / f"{n}.csv"), params=400e6) for n in four}
    predicted = {n: scalefit.predict(result, c).final_loss for n, c in curves.items()}
    real = {n: float(c.loss[-1]) for n, c in curves.items()}
    exact = sorted(predicted, key=predicted.get) == sorted(real, key=real.get)
    print(
        f"  {result.law} law: mean PredE {np.mean(list(pe.values())):.5f} on the six held-out "
        f"400M schedules (bar 0.003): " + ", ".join(f"{n} {v:.4f}" for n, v in pe.items())
    )
    print(f"  the four 24k-step 400M schedules ranked {'exactly' if exact else 'wrongly'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--law", help="the law across peaks (and with +size, across sizes too)")
    parser.add_argument(
        "--parts", nargs="+", default=["peaks", "sizes"], choices=("peaks", "sizes")
    )
    args = parser.parse_args()
    objective = 0.0
    if "peaks" in args.parts:
        objective += peaks_part(args.law)
    if "sizes" in args.parts:
        objective += sizes_part(args.law and f"{args.law}+size")
    print(f"\nthe fits' objectives on their fitted runs, summed (the protocol's): {objective:.6g}")


if __name__ == "__main__":
    main()
