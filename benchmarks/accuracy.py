"""Held-out accuracy on the bundled multipower-law curves (Luo et al., ICLR 2025 data).

For each model size: fit on ``cosine_24000 + constant_24000`` (the annealing-law paper's one-or-two
curve setting), predict the seven other schedules, and print PredE, WorstE and R² per curve with
the means. The bar of the foundation issue is the mean PredE over the six curves the
multi-power-law paper holds out (every curve but ``wsdcon_9``, which that paper fits on).

    python benchmarks/accuracy.py [--law annealing] [--split two|paper]

``--split paper`` fits on the paper's three curves (adds ``wsdcon_9``) and scores the six others.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from scalefit import CurveMetrics, fit, io, predict

DATA = Path(__file__).resolve().parents[1] / "data" / "multipower-law"
SIX = list(io.MULTIPOWER_HELD_OUT)
SPLITS = {
    "two": (["cosine_24000", "constant_24000"], SIX + ["wsdcon_9"]),
    "paper": (["cosine_24000", "constant_24000", "wsdcon_9"], SIX),
}
# Mean PredE (and WorstE) to reach: the annealing-law paper's procedure on the two-curve split
# (foundation issue); the multi-power-law paper's Table 1 on its own split (accuracy issue).
BARS = {
    ("annealing", "two"): {"25M": (0.0021, None), "400M": (0.0024, None)},
    ("multipower", "paper"): {"25M": (0.0012, 0.0040), "400M": (0.0019, 0.0070)},
}


def run(size: str, law: str, split: str, warmup: str | None = None) -> dict[str, float]:
    fit_on, held_out = SPLITS[split]
    curves = {n: io.read_curve(DATA / size / f"{n}.csv") for n in fit_on + held_out}
    start = time.perf_counter()
    result = fit([curves[n] for n in fit_on], law, warmup=warmup)
    seconds = time.perf_counter() - start
    print(f"\n== {size}: {law} law fitted on {' + '.join(fit_on)} ({seconds:.2f} s)")
    print("   " + ", ".join(f"{k} = {v:.5g}" for k, v in result.params.items()))
    for w in result.warnings:
        print(f"   warning: {w}")
    metrics = [predict(result, curves[n]).compare(curves[n]) for n in held_out]
    print(CurveMetrics.table(metrics, mean=True))
    six = [m for m in metrics if m.name in SIX]
    summary = {k: float(np.mean([getattr(m, k) for m in six])) for k in ("pred_e", "worst_e", "r2")}
    bar = BARS.get((law, split), {}).get(size)
    bar_text = ""
    if bar:
        bar_text = f"   (bar PredE {bar[0]:.4f}" + (f", WorstE {bar[1]:.4f})" if bar[1] else ")")
    print(
        f"mean over the six held out by the multi-power-law paper: PredE {summary['pred_e']:.5f}"
        f"  WorstE {summary['worst_e']:.5f}  R2 {summary['r2']:.5f}" + bar_text
    )
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--law", default="annealing")
    parser.add_argument("--split", choices=sorted(SPLITS), default="two")
    parser.add_argument("--sizes", nargs="+", default=["25M", "400M"])
    parser.add_argument("--warmup", choices=("peak", "actual"), help="default: the law's")
    args = parser.parse_args()
    results = {size: run(size, args.law, args.split, args.warmup) for size in args.sizes}
    print("\nsummary (mean over the six)")
    print(f"{'size':<6}{'PredE':>9}{'WorstE':>9}{'R2':>9}")
    for size, r in results.items():
        print(f"{size:<6}{r['pred_e']:>9.5f}{r['worst_e']:>9.5f}{r['r2']:>9.5f}")


if __name__ == "__main__":
    main()
