"""Choosing schedules, checked against real sweeps; and the cost of designing one.

1. lr-scheduling-124m (Hägele et al. 2024): fit on ``val_loss`` of the constant run (50k steps)
   and the 20 %-linear-cooldown WSD run of 25k steps; rank the nine 50k-step runs (WSD linear
   cooldowns 0.1-0.9, 1-sqrt 0.2, cosine to 10 % and to 0) with :func:`scalefit.rank`
   against their real final validation loss on the full set (``manifest.csv``): Spearman, and
   the regret of the pick (its real loss minus the real best). Bars: Spearman >= 0.8, regret
   <= 0.003.
2. multipower-law 25M and 400M: fit on the paper's three curves (cosine_24000, constant_24000,
   wsdcon_9); rank the four 24k-step schedules (wsd, wsdld, cosine, constant) against their
   real final losses (mean of the last three logged losses). Bar: exactly right.
3. Designing on the 400M fit: the WSD family search and the free-form optimisation
   (:func:`scalefit.optimize_schedule`, 1000 Adam steps on 21,840 per-step LRs), timed in-process
   (first call: compiling included; second: warm). Bars: optimisation under 10 s; its predicted
   final loss below the best WSD schedule's. The multi-power-law repository's 10,000 Adam steps
   take 22 s.

    python benchmarks/choose.py [--law multipower] [--warmup peak|actual]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from accuracy_124m import FIT_ON, ranked_runs, read_runs, runs
from scipy.stats import spearmanr

from scalefit import _choose as choose
from scalefit import fit, io

PAPER_FIT = ("cosine_24000", "constant_24000", "wsdcon_9")
FOUR = ("wsd_20000_24000", "wsdld_20000_24000", "cosine_24000", "constant_24000")


def rank_124m(law: str, warmup: str | None) -> None:
    table = runs()
    curves = read_runs(table)
    result = fit([curves[n] for n in FIT_ON], law, warmup=warmup)
    long = ranked_runs(table)
    cands = [choose.Candidate(n, curves[n].lr, curves[n].warmup_steps) for n in long.index]
    ranking = choose.rank(result, cands)
    real = long["final_val_loss_fullset"]
    predicted = {c.name: c.final_loss for c in ranking.choices}
    rho = spearmanr([predicted[n] for n in real.index], real.to_numpy()).statistic
    pick = ranking.best.name
    print(f"\n1. lr-scheduling-124m: {law} law fitted on {' + '.join(FIT_ON)} (val_loss)")
    print(f"   {'run':<22}{'predicted':>11}{'real':>9}{'pred rank':>11}{'real rank':>11}  tie")
    real_rank = real.rank().astype(int)
    for i, c in enumerate(ranking.choices, 1):
        tie = "~ best" if c.indistinguishable else ""
        print(
            f"   {c.name:<22}{c.final_loss:>11.4f}{real[c.name]:>9.4f}{i:>11}"
            f"{real_rank[c.name]:>11}  {tie}"
        )
    ties = [c.name for c in ranking.choices if c.indistinguishable]
    print(
        f"   Spearman {rho:.3f} (bar >= 0.8; goal 0.9); pick {pick}: regret "
        f"{real[pick] - real.min():.4f} (bar <= 0.003; real best {real.idxmin()}); "
        f"tolerance {ranking.tolerance:.4f}: {len(ties)} tied with the pick, real best "
        f"{'among them' if real.idxmin() in ties else 'not among them'}"
    )


def rank_four(law: str, warmup: str | None) -> dict[str, object]:
    fits = {}
    print(f"\n2. multipower-law: {law} law fitted on {' + '.join(PAPER_FIT)}; the four 24k runs")
    for size in ("25M", "400M"):
        folder = io.bundled_data("multipower-law") / size
        curves = {n: io.read_curve(folder / f"{n}.csv") for n in (*PAPER_FIT, *FOUR)}
        fits[size] = result = fit([curves[n] for n in PAPER_FIT], law, warmup=warmup)
        real = {n: float(np.mean(curves[n].loss[-3:])) for n in FOUR}
        ranking = choose.rank(result, [curves[n] for n in FOUR])
        predicted = [c.name for c in ranking.choices]
        truth = sorted(FOUR, key=real.get)
        print(f"   {size}: {'run':<20}{'predicted':>11}{'real':>9}")
        for c in ranking.choices:
            print(f"   {'':>{len(size)}}  {c.name:<20}{c.final_loss:>11.4f}{real[c.name]:>9.4f}")
        verdict = "exactly right" if predicted == truth else f"WRONG (real order {truth})"
        print(f"   {size}: predicted order {verdict}")
    return fits


def design(result) -> None:
    steps, peak, warmup = 24000, 3e-4, 2160
    print(
        f"\n3. Designing a schedule on the 400M fit ({steps} steps, peak {peak}, warm-up {warmup})"
    )
    for label in ("first call (compiling)", "second call (warm)"):
        start = time.perf_counter()
        family = choose.search_family(result, "wsd", steps=steps, peak=peak, warmup=warmup)
        searched = time.perf_counter()
        try:
            designed = choose.optimize_schedule(
                result, steps=steps, peak=peak, warmup=warmup, start=family.best
            )
        except choose.DegenerateOptimum as err:
            print(f"   refused: {err}")
            return
        done = time.perf_counter()
        opt = designed.choices[0] if designed.choices[0].name == "optimized" else None
        print(
            f"   {label}: WSD family search {searched - start:.2f} s, free-form optimisation "
            f"{done - searched:.2f} s (bar < 10 s)"
        )
    print(f"   best WSD:   {family.best.final_loss:.5f}  {family.best.name}")
    if opt is None:
        print("   the optimisation did not beat the best WSD schedule (bar: it must)")
        return
    print(
        f"   optimized:  {opt.final_loss:.5f}  ({family.best.final_loss - opt.final_loss:.5f} "
        "below the best WSD: the bar is > 0)"
    )
    for w in designed.warnings:
        print(f"   warning: {w}")
    lr = opt.lr / peak
    marks = [0.7, 0.8, 0.85, 0.9, 0.95, 0.98, 1.0]
    print("   its LR / peak at " + ", ".join(f"{m:.0%}: {lr[int(m * steps)]:.3f}" for m in marks))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--law", default="multipower", help="law to fit")
    parser.add_argument("--warmup", choices=("peak", "actual"), help="default: the law's")
    args = parser.parse_args()
    rank_124m(args.law, args.warmup)
    fits = rank_four(args.law, args.warmup)
    design(fits["400M"])


if __name__ == "__main__":
    main()
