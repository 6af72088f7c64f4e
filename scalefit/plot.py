"""Matplotlib figures of fits and predictions. Draws what the library computed; computes nothing."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg") if matplotlib.get_backend().lower().startswith("qt") else None
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from scalefit.curve import Curve  # noqa: E402
from scalefit.predict import Prediction  # noqa: E402

__all__ = ["plot_fit", "plot_predictions"]


def plot_fit(fitted: Sequence[Prediction], curves: Sequence[Curve], title: str = ""):
    """Observed curves with the fitted law over them, and relative residuals below.

    Args:
        fitted: the law's prediction for each curve, at its logged steps.
        curves: the observed curves, in the same order.
        title: figure title.

    Returns:
        The ``matplotlib.figure.Figure``.
    """
    fig, (top, bottom) = plt.subplots(
        2, 1, figsize=(8, 6.5), sharex=True, gridspec_kw={"height_ratios": [3, 1.3]}
    )
    for i, (pred, curve) in enumerate(zip(fitted, curves)):
        color = f"C{i % 10}"
        top.plot(curve.step, curve.loss, ".", ms=2.5, color=color, alpha=0.5)
        top.plot(pred.step, pred.loss, "-", lw=1.3, color=color, label=curve.name)
        common, a, b = np.intersect1d(pred.step, curve.step, return_indices=True)
        bottom.plot(common, (pred.loss[a] - curve.loss[b]) / curve.loss[b], ".", ms=2, color=color)
    _limit_to_tail(top, [c.loss for c in curves])
    top.set_ylabel("loss")
    top.legend(fontsize=8)
    top.set_title(title or "fit: observed (dots), law (lines)")
    bottom.axhline(0, color="0.5", lw=0.8)
    bottom.set_ylabel("(fit - loss) / loss")
    bottom.set_xlabel("step")
    fig.tight_layout()
    return fig


def plot_predictions(
    predictions: Sequence[Prediction],
    observed: Sequence[Curve | None] | None = None,
    title: str = "",
):
    """Predicted trajectories (lines), observed losses where known (dots), and the schedules.

    Args:
        predictions: trajectories to draw.
        observed: for each prediction, the real curve to draw under it, or ``None``.
        title: figure title.

    Returns:
        The ``matplotlib.figure.Figure``.
    """
    observed = list(observed) if observed is not None else [None] * len(predictions)
    fig, (top, bottom) = plt.subplots(
        2, 1, figsize=(8, 6.5), sharex=True, gridspec_kw={"height_ratios": [3, 1.3]}
    )
    for i, (pred, curve) in enumerate(zip(predictions, observed)):
        color = f"C{i % 10}"
        if curve is not None:
            top.plot(curve.step, curve.loss, ".", ms=2.5, color=color, alpha=0.45)
        top.plot(pred.step, pred.loss, "-", lw=1.3, color=color, label=pred.name)
        bottom.plot(pred.step, pred.lr, "-", lw=1.1, color=color)
    _limit_to_tail(top, [p.loss for p in predictions])
    top.set_ylabel("loss")
    top.legend(fontsize=7)
    top.set_title(title or "predicted loss (lines), observed (dots)")
    bottom.set_ylabel("learning rate")
    bottom.set_xlabel("step")
    fig.tight_layout()
    return fig


def _limit_to_tail(ax, losses: Sequence[np.ndarray]) -> None:
    # The first steps' losses are far above the rest; zoom on where schedules differ.
    values = np.concatenate([np.asarray(v) for v in losses if len(v)])
    if values.size:
        lo, hi = np.percentile(values, [0, 90])
        pad = 0.05 * (hi - lo) if hi > lo else 0.05 * abs(hi)
        ax.set_ylim(lo - pad, hi + pad)
