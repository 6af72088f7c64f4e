"""Matplotlib figures of fits and predictions. Draws what the library computed; computes nothing."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg") if matplotlib.get_backend().lower().startswith("qt") else None
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from scalefit._curve import Curve  # noqa: E402
from scalefit._predict import Prediction  # noqa: E402
from scalefit._text import cut_middle  # noqa: E402
from scalefit._uncertainty import level_label  # noqa: E402

__all__ = ["plot_comparison", "plot_fit", "plot_logs", "plot_predictions"]


def plot_fit(fitted: Sequence[Prediction], curves: Sequence[Curve], title: str = "") -> Figure:
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
        described = pred.step >= pred.warmup_steps  # not the warm-up the fit left out
        step, loss = pred.step[described], pred.loss[described]
        top.plot(step, loss, "-", lw=1.3, color=color, label=cut_middle(curve.name, 40))
        common, a, b = np.intersect1d(step, curve.step, return_indices=True)
        bottom.plot(common, (loss[a] - curve.loss[b]) / curve.loss[b], ".", ms=2, color=color)
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
    logged_until: int | None = None,
) -> Figure:
    """Predicted trajectories (lines, with their intervals as bands), observed losses where known
    (dots), and the schedules (at every step where an observed curve holds the whole schedule,
    else at the steps predicted).

    Args:
        predictions: trajectories to draw.
        observed: for each prediction, the real curve to draw under it, or ``None``.
        title: figure title.
        logged_until: for a forecast, the last logged step (a dashed line).

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
        top.plot(pred.step, pred.loss, "-", lw=1.3, color=color, label=cut_middle(pred.name, 40))
        if pred.lower is not None:
            top.fill_between(
                pred.step,
                pred.lower,
                pred.upper,
                color=color,
                alpha=0.18,
                lw=0,
                label=f"{level_label(pred.level)} interval",
            )
        if _holds_schedule(curve, pred):
            bottom.plot(np.arange(curve.n_steps), curve.lr, "-", lw=1.1, color=color)
        else:  # no curve, or one that is not the whole schedule predicted (a run in flight)
            bottom.plot(pred.step, pred.lr, "-", lw=1.1, color=color)
    if logged_until is not None:
        for ax in (top, bottom):
            ax.axvline(logged_until, color="0.4", ls="--", lw=0.9)
    _limit_to_tail(top, [p.loss for p in predictions], [p.lower for p in predictions])
    top.set_ylabel("loss")
    top.legend(fontsize=7)
    drawn = any(curve is not None for curve in observed)
    top.set_title(title or "predicted loss (lines)" + (", observed (dots)" if drawn else ""))
    bottom.set_ylabel("learning rate")
    bottom.set_xlabel("step")
    fig.tight_layout()
    return fig


def plot_logs(curves: Sequence[Curve], title: str = "") -> Figure:
    """Logged runs as read: the loss (dots, the warm-up's lighter) over the LR per step.

    Args:
        curves: the runs.
        title: figure title.

    Returns:
        The ``matplotlib.figure.Figure``.
    """
    fig, (top, bottom) = plt.subplots(
        2, 1, figsize=(7, 5), sharex=True, gridspec_kw={"height_ratios": [2.2, 1]}
    )
    for i, curve in enumerate(curves):
        color = f"C{i % 10}"
        warm = curve.step < curve.warmup_steps
        top.plot(
            curve.step[~warm],
            curve.loss[~warm],
            ".",
            ms=2,
            color=color,
            label=cut_middle(curve.name, 40),
        )
        top.plot(curve.step[warm], curve.loss[warm], ".", ms=2, color=color, alpha=0.3)
        bottom.plot(np.arange(curve.n_steps), curve.lr, "-", lw=1.1, color=color)
        if curve.warmup_steps:
            bottom.axvline(curve.warmup_steps, color=color, ls=":", lw=0.8)
    _limit_to_tail(top, [c.loss for c in curves])
    top.set_ylabel("loss")
    top.legend(fontsize=7)
    top.set_title(title or "logged loss (the warm-up's lighter) and learning rate")
    bottom.set_ylabel("learning rate")
    bottom.set_xlabel("step")
    fig.tight_layout()
    return fig


def plot_comparison(
    predictions: dict[str, Sequence[Prediction]], curves: Sequence[Curve], title: str = ""
) -> Figure:
    """One panel per held-out curve: the observed loss (dots) and each law's prediction (lines).

    Args:
        predictions: for each law, its prediction of every curve, in the order of ``curves``.
        curves: the held-out curves.
        title: figure title.

    Returns:
        The ``matplotlib.figure.Figure``.
    """
    n = len(curves)
    cols = min(3, n)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.2 * rows), squeeze=False)
    for k, curve in enumerate(curves):
        ax = axes[k // cols][k % cols]
        ax.plot(curve.step, curve.loss, ".", ms=2, color="0.5", alpha=0.6, label="observed")
        for i, (law, preds) in enumerate(predictions.items()):
            ax.plot(preds[k].step, preds[k].loss, "-", lw=1.2, color=f"C{i % 10}", label=law)
        _limit_to_tail(ax, [curve.loss])
        ax.set_title(cut_middle(curve.name, 30), fontsize=9)
        ax.set_xlabel("step", fontsize=8)
        ax.tick_params(labelsize=7)
    for k in range(n, rows * cols):
        axes[k // cols][k % cols].axis("off")
    axes[0][0].legend(fontsize=7)
    fig.suptitle(title or "held-out curves: observed (dots), predicted by each law (lines)")
    fig.tight_layout()
    return fig


def _holds_schedule(curve: Curve | None, pred: Prediction) -> bool:
    """Whether ``curve``'s per-step LRs are the schedule ``pred`` was made for, to its end."""
    if curve is None or pred.step.size == 0 or curve.n_steps <= pred.step.max():
        return False
    return np.array_equal(curve.lr[pred.step], pred.lr)


def _limit_to_tail(
    ax, losses: Sequence[np.ndarray], lower: Sequence[np.ndarray | None] = ()
) -> None:
    # The first steps' losses are far above the rest; zoom on where schedules differ, keeping
    # the lowest loss and interval bound in view.
    values = np.concatenate([np.asarray(v) for v in losses if len(v)])
    if values.size:
        lo, hi = np.percentile(values, [0, 90])
        for loss, bound in zip(losses, lower):  # the bounds where the loss is in view
            tail = np.asarray(loss) <= hi
            if bound is not None and tail.any():
                lo = min(lo, float(np.nanmin(np.asarray(bound)[tail])))
        pad = 0.05 * (hi - lo) if hi > lo else 0.05 * abs(hi)
        ax.set_ylim(lo - pad, hi + pad)
