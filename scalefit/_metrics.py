"""Goodness of a predicted curve against an observed one: R², MAE, RMSE, PredE, WorstE, and,
for a prediction with an interval, its coverage and width.

PredE and WorstE are the multi-power-law paper's: the mean and the maximum over rows of
``|prediction - loss| / loss`` (Luo et al., ICLR 2025). Coverage is the share of observed rows
inside the interval (a 90 % interval should hold about 90 % of a curve it did not see); width is
its mean ``(upper - lower) / prediction``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from scalefit._text import short_names

__all__ = ["CurveMetrics", "curve_metrics"]

_HEADS = {
    "pred_e": "PredE",
    "worst_e": "WorstE",
    "r2": "R2",
    "mae": "MAE",
    "rmse": "RMSE",
    "coverage": "in band",
    "width": "width",
}


@dataclass(frozen=True)
class CurveMetrics:
    """Agreement of a prediction with one observed curve (``coverage`` and ``width``: of its
    interval, ``None`` without one)."""

    name: str
    rows: int
    r2: float
    mae: float
    rmse: float
    pred_e: float
    worst_e: float
    coverage: float | None = None
    width: float | None = None

    def to_dict(self) -> dict[str, object]:
        return {k: v for k, v in asdict(self).items() if v is not None}

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> CurveMetrics:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})

    @staticmethod
    def table(metrics: Sequence[CurveMetrics], mean: bool = False) -> str:
        """A plain-text table, one row per curve (plus the mean if asked); long names are
        shortened (the pieces all the names share left out, then cut in the middle)."""
        names = short_names([m.name for m in metrics])
        width = max([len("curve")] + [len(n) for n in names])
        banded = bool(metrics) and all(m.coverage is not None for m in metrics)
        columns = ["pred_e", "worst_e", "r2", "mae", "rmse"] + (
            ["coverage", "width"] if banded else []
        )
        head = f"{'curve':<{width}}  {'rows':>6}" + "".join(f"  {_HEADS[k]:>8}" for k in columns)

        def row(name: str, rows: int, values: dict[str, float]) -> str:
            return f"{name:<{width}}  {rows:>6d}" + "".join(
                f"  {values[k]:>8.5f}" if k != "coverage" else f"  {values[k]:>8.3f}"
                for k in columns
            )

        out = [head] + [row(n, m.rows, asdict(m)) for n, m in zip(names, metrics)]
        if mean and metrics:
            avg = {k: float(np.mean([getattr(m, k) for m in metrics])) for k in columns}
            out.append(row("mean", sum(m.rows for m in metrics), avg))
        return "\n".join(out)


def curve_metrics(
    name: str,
    loss: np.ndarray,
    predicted: np.ndarray,
    lower: np.ndarray | None = None,
    upper: np.ndarray | None = None,
) -> CurveMetrics:
    """Metrics of ``predicted`` against the observed ``loss`` (same rows), and of the interval
    ``[lower, upper]`` if one is given.

    Examples:
        >>> m = curve_metrics("a", np.array([2.0, 4.0]), np.array([2.0, 3.0]))
        >>> m.pred_e, m.worst_e, m.mae, m.r2
        (0.125, 0.25, 0.5, 0.5)
        >>> m = curve_metrics("a", np.array([2.0, 4.0]), np.array([2.0, 3.0]),
        ...                   lower=np.array([1.9, 2.85]), upper=np.array([2.1, 3.15]))
        >>> m.coverage, round(m.width, 6)
        (0.5, 0.1)
    """
    y = np.asarray(loss, dtype=np.float64)
    p = np.asarray(predicted, dtype=np.float64)
    err = p - y
    rel = np.abs(err) / y
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    r2 = 1.0 - float(np.sum(err**2)) / ss_tot if ss_tot > 0 else float("nan")
    return CurveMetrics(
        name=name,
        rows=int(y.size),
        r2=r2,
        mae=float(np.mean(np.abs(err))),
        rmse=float(np.sqrt(np.mean(err**2))),
        pred_e=float(np.mean(rel)),
        worst_e=float(np.max(rel)),
        coverage=None if lower is None else float(np.mean((lower <= y) & (y <= upper))),
        width=None if lower is None else float(np.mean((upper - lower) / p)),
    )
