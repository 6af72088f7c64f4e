"""The annealing-law paper's fitting procedure, written plainly: the baseline of ``speed.py``.

It reproduces the procedure published with Tissue et al. (2024), "Scaling Law with Learning Rate
Annealing" (arXiv:2408.11029), step by step and without shortcuts:

* read each training log (a CSV with ``step,lr,loss``, one row per step) with pandas;
* count the warm-up steps at the peak LR, then compute the momentum
  ``m_i = lambda * m_{i-1} + (lr_{i-1} - lr_i)``, ``m_0 = 0``, ``lambda = 0.999``, in a plain
  Python for-loop over steps, the forward area ``S1(s) = sum_{i<=s} lr_i`` and the annealing
  area ``S2(s) = sum_{i<=s} m_i`` (running sums, as the published code takes them);
* the law ``L(s) = L0 + A * S1^-alpha - C * S2``; the objective is the sum over every row of every
  curve of ``Huber(delta=1e-3)(log(loss) - log(pred))`` (a prediction <= 0 costs a large penalty);
* ``scipy.optimize.minimize(method="L-BFGS-B")`` with finite-difference gradients, bounds
  ``>= 0`` on ``L0, A, alpha, C`` and the published options (``ftol=1e-9, gtol=1e-6,
  eps=1e-8, maxiter=100000``), from each of the paper's 54 starting points; the best is kept.

    python benchmarks/_reference.py A.csv B.csv

prints a progress line on stderr and, as the last line on stdout, the best parameters and
objective as JSON. It needs only numpy, scipy and pandas (not scalefit).
"""

from __future__ import annotations

import itertools
import json
import sys

import numpy as np
import pandas as pd
from scipy.optimize import minimize

DECAY = 0.999
HUBER_DELTA = 1e-3
PENALTY = 1e10  # the objective wherever the law predicts a loss <= 0
OPTIONS = {"maxiter": 100000, "ftol": 1e-9, "gtol": 1e-6, "eps": 1e-8}  # the published settings
PARAM_NAMES = ("L0", "A", "alpha", "C")
# The paper's grid of starting points: 2 x 3 x 3 x 3 = 54.
GRID = {
    "L0": (0.1, 2.1),
    "A": (1.0, 11.5, 22.0),
    "alpha": (0.0, 0.4, 0.8),
    "C": (1.0, 11.5, 22.0),
}


def warmup_as_peak(lr: np.ndarray) -> np.ndarray:
    """Count the leading warm-up ramp at the LR it reaches (the paper's convention)."""
    lr = [float(x) for x in lr]
    w = 0
    while w + 1 < len(lr) and lr[w + 1] > lr[w]:
        w += 1
    return np.array([lr[w]] * w + lr[w:])


def areas(lr: np.ndarray, decay: float = DECAY) -> tuple[np.ndarray, np.ndarray]:
    """S1 and S2 at every step, as the published code computes them: the momentum by a Python
    loop over the steps of numpy arrays, then running sums (``np.cumsum``) of the LR and of it."""
    n = len(lr)
    m = np.zeros(n)
    for i in range(1, n):
        m[i] = decay * m[i - 1] + (lr[i - 1] - lr[i])
    return np.cumsum(lr), np.cumsum(m)


def areas_plain(lr: np.ndarray, decay: float = DECAY) -> tuple[np.ndarray, np.ndarray]:
    """S1 and S2 by one plain Python loop over floats (no numpy inside): the fastest plain loop."""
    lr = lr.tolist()
    s1 = [0.0] * len(lr)
    s2 = [0.0] * len(lr)
    forward = annealing = m = 0.0
    previous = lr[0]
    for i, eta in enumerate(lr):
        m = decay * m + (previous - eta)
        forward += eta
        annealing += m
        s1[i] = forward
        s2[i] = annealing
        previous = eta
    return np.array(s1), np.array(s2)


def load(paths: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """S1, S2 and log(loss) at every row of every curve, concatenated."""
    s1, s2, log_y = [], [], []
    for path in paths:
        frame = pd.read_csv(path)
        step = frame["step"].to_numpy()
        # Per-step logs: row i is step i, so the LR column is already the per-step LR.
        if not np.array_equal(step, np.arange(len(step))):
            raise SystemExit(f"{path}: expected one row per step, from step 0")
        a1, a2 = areas(warmup_as_peak(frame["lr"].to_numpy()))
        s1.append(a1[step])
        s2.append(a2[step])
        log_y.append(np.log(frame["loss"].to_numpy()))
    return np.concatenate(s1), np.concatenate(s2), np.concatenate(log_y)


def objective(params, s1: np.ndarray, s2: np.ndarray, log_y: np.ndarray) -> float:
    """Sum of Huber(log y - log pred) over all rows; ``PENALTY`` where a prediction is <= 0."""
    l0, a, alpha, c = params
    pred = l0 + a * s1 ** (-alpha) - c * s2
    if np.any(pred <= 0):
        return PENALTY
    r = log_y - np.log(pred)
    abs_r = np.abs(r)
    huber = np.where(abs_r <= HUBER_DELTA, 0.5 * r * r, HUBER_DELTA * (abs_r - 0.5 * HUBER_DELTA))
    return float(np.sum(huber))


def fit(s1: np.ndarray, s2: np.ndarray, log_y: np.ndarray) -> dict[str, object]:
    """L-BFGS-B (finite differences) from every start of the grid; the best result."""
    best = None
    n_fev = 0
    for x0 in itertools.product(*GRID.values()):
        res = minimize(
            objective,
            np.array(x0),
            args=(s1, s2, log_y),
            method="L-BFGS-B",
            bounds=[(0.0, np.inf)] * 4,
            options=OPTIONS,
        )
        n_fev += res.nfev
        if best is None or res.fun < best.fun:
            best = res
    return {
        "params": dict(zip(PARAM_NAMES, best.x.tolist())),
        "objective": float(best.fun),
        "n_starts": len(list(itertools.product(*GRID.values()))),
        "n_fev": int(n_fev),
        "message": str(best.message),
    }


def main(argv: list[str]) -> None:
    if not argv:
        raise SystemExit("usage: python benchmarks/_reference.py CSV [CSV ...]")
    s1, s2, log_y = load(argv)
    result = fit(s1, s2, log_y)
    print(f"reference: {log_y.size} rows, {result['n_fev']} objective evaluations", file=sys.stderr)
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
