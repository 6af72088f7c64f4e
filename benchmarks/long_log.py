"""Write a synthetic per-step training log of any length, from a known law and schedule.

The losses follow the annealing law of Tissue et al. (2024) (``L0 + A*S1^-alpha - C*S2``, warm-up
counted at the peak LR, momentum decay 0.999) under a schedule spec, with optional Gaussian noise;
every step is a row of ``step,lr,loss``. Meant for measuring how scalefit copes with long logs
(memory, time) and for checking that a long-log fit recovers the law it was drawn from.

    python benchmarks/long_log.py big.csv --rows 2000000
    python benchmarks/long_log.py a.csv --rows 1000000 --schedule "cosine:peak=3e-4,steps=999999"
    /usr/bin/time -v python -c "from scalefit import io; io.read_curve('big.csv')"
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.signal import lfilter

LAW = {"L0": 2.5, "A": 1.2, "alpha": 0.35, "C": 250.0}
"""The law's parameters: plausible for a small LM at a peak LR of 3e-4."""

DECAY = 0.999


def annealing_losses(lr: np.ndarray, warmup_steps: int, law: dict[str, float] = LAW) -> np.ndarray:
    """The annealing law's loss at every step of the per-step LRs ``lr``."""
    peak = lr.max()
    counted = np.where(np.arange(lr.size) < warmup_steps, peak, lr)  # warm-up counted at the peak
    s1 = np.cumsum(counted)
    drops = np.concatenate([[0.0], lr[:-1] - lr[1:]])
    momentum = lfilter([1.0], [1.0, -DECAY], drops)
    s2 = np.cumsum(momentum)
    return law["L0"] + law["A"] * s1 ** -law["alpha"] - law["C"] * s2


def long_log(rows: int, spec: str | None = None, noise: float = 0.0, seed: int = 0) -> pd.DataFrame:
    """A per-step log of ``rows`` rows (steps ``0 .. rows - 1``): columns step, lr, loss."""
    from scalefit.schedules import parse_schedule

    warmup = max(1, rows // 100)
    spec = spec or f"wsd:peak=3e-4,warmup={warmup},steps={rows - 1},decay=0.2"
    schedule = parse_schedule(spec)
    lr = schedule.lr()[:rows]
    if lr.size < rows:
        sys.exit(f"long_log: {spec!r} has {lr.size} steps, fewer than --rows {rows}")
    loss = annealing_losses(lr, schedule.warmup)
    if noise:
        loss = loss * np.exp(np.random.default_rng(seed).normal(0.0, noise, rows))
    return pd.DataFrame({"step": np.arange(rows), "lr": lr, "loss": loss})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="the CSV to write (.csv.gz etc. compress it)")
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows, one per step")
    parser.add_argument("--schedule", help="schedule spec (default: WSD, 1 %% warm-up)")
    parser.add_argument("--noise", type=float, default=0.0, help="relative noise of each loss")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    frame = long_log(args.rows, args.schedule, args.noise, args.seed)
    frame.to_csv(args.out, index=False, float_format="%.10g")
    print(f"wrote {args.out} ({len(frame):,} rows)", file=sys.stderr)


if __name__ == "__main__":
    main()
