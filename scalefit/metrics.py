"""Goodness of a predicted curve against an observed one: R², MAE, RMSE, PredE, WorstE.

PredE and WorstE are the multi-power-law paper's: the mean and the maximum over rows of
``|prediction - loss| / loss`` (Luo et al., ICLR 2025).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

__all__ = ["CurveMetrics", "curve_metrics"]


@dataclass(frozen=True)
class CurveMetrics:
    """Agreement of a prediction with one observed curve."""

    name: str
    rows: int
    r2: float
    mae: float
    rmse: float
    pred_e: float
    worst_e: float

    def to_dict(self) -> dict[str, object]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> CurveMetrics:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__})

    @staticmethod
    def table(metrics: Sequence[CurveMetrics], mean: bool = False) -> str:
        """A plain-text table, one row per curve (plus the mean if asked)."""
        width = max([len("curve")] + [len(m.name) for m in metrics])
        head = (
            f"{'curve':<{width}}  {'rows':>6}  {'PredE':>8}  {'WorstE':>8}  {'R2':>8}  "
            f"{'MAE':>8}  {'RMSE':>8}"
        )
        out = [head]
        for m in metrics:
            out.append(
                f"{m.name:<{width}}  {m.rows:>6d}  {m.pred_e:>8.5f}  {m.worst_e:>8.5f}  "
                f"{m.r2:>8.5f}  {m.mae:>8.5f}  {m.rmse:>8.5f}"
            )
        if mean and metrics:
            avg = {
                k: float(np.mean([getattr(m, k) for m in metrics]))
                for k in ("pred_e", "worst_e", "r2", "mae", "rmse")
            }
            out.append(
                f"{'mean':<{width}}  {sum(m.rows for m in metrics):>6d}  {avg['pred_e']:>8.5f}  "
                f"{avg['worst_e']:>8.5f}  {avg['r2']:>8.5f}  {avg['mae']:>8.5f}  "
                f"{avg['rmse']:>8.5f}"
            )
        return "\n".join(out)


def curve_metrics(name: str, loss: np.ndarray, predicted: np.ndarray) -> CurveMetrics:
    """Metrics of ``predicted`` against the observed ``loss`` (same rows).

    Examples:
        >>> m = curve_metrics("a", np.array([2.0, 4.0]), np.array([2.0, 3.0]))
        >>> m.pred_e, m.worst_e, m.mae, m.r2
        (0.125, 0.25, 0.5, 0.5)
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
    )
