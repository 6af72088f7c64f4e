"""Matplotlib figures of fits, predictions and sweeps. Draws what the library computed; the
sweep figures also predict what they draw (the fit's predictions, with their intervals)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

import matplotlib

matplotlib.use("Agg") if matplotlib.get_backend().lower().startswith("qt") else None
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.colors import LogNorm, Normalize  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from numpy.typing import ArrayLike  # noqa: E402

from scalefit._choose import Ranking, _as_candidate  # noqa: E402
from scalefit._curve import Curve  # noqa: E402
from scalefit._predict import Prediction, predict, predict_curves  # noqa: E402
from scalefit._result import Fit  # noqa: E402
from scalefit._sweep import Sweep  # noqa: E402
from scalefit._text import cut_middle  # noqa: E402
from scalefit._uncertainty import level_label  # noqa: E402
from scalefit.laws import get_law  # noqa: E402
from scalefit.schedules import Schedule  # noqa: E402

__all__ = [
    "plot_comparison",
    "plot_fit",
    "plot_logs",
    "plot_lr_sensitivity",
    "plot_predictions",
    "plot_size_law",
    "plot_sweep",
]

LOG_SCALED = ("peak_lr", "params", "tokens_per_step")
"""The columns of a sweep whose colours are spread on a log scale."""

_TICKED = 8  # a colour bar marks each value where the runs have at most this many

_COLUMN_NAMES = {
    "peak_lr": "peak LR",
    "params": "model size (parameters)",
    "tokens_per_step": "tokens per step",
}


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


def plot_sweep(
    sweep: Sweep, fit: Fit | None = None, color_by: str = "peak_lr", title: str = ""
) -> Figure:
    """A sweep's curves (dots) coloured by a column, with the fit's predictions over them (lines)
    when a fit is given.

    Peak LRs, model sizes and tokens per step are coloured on a log scale, with a colour bar;
    other numeric labels on a linear one; any other label by category, with a legend. Runs
    without a value of the column are grey.

    Args:
        sweep: the runs (:class:`~scalefit.Sweep`).
        fit: a fit to draw the predictions of, at each run's logged steps after the warm-up it
            left out (a fit of these runs, or one that spans their peaks and sizes).
        color_by: ``"peak_lr"``, ``"params"``, ``"tokens_per_step"`` or any label of the sweep.
        title: figure title.

    Returns:
        The ``matplotlib.figure.Figure``.

    Raises:
        KeyError: a column the sweep does not have (the message lists those it has).
    """
    if color_by not in sweep.columns():
        known = ", ".join(sweep.columns())
        raise KeyError(f"no column {color_by!r} to colour by (columns: {known})")
    values = [sweep.value(i, color_by) for i in range(len(sweep))]
    colors, add_key = _colors_of(values, color_by)
    predictions = predict_curves(fit, sweep.curves) if fit is not None else [None] * len(sweep)
    fig, ax = plt.subplots(figsize=(8, 5))
    for curve, color, pred in zip(sweep.curves, colors, predictions):
        ax.plot(curve.step, curve.loss, ".", ms=2, color=color, alpha=0.45)
        if pred is not None:
            described = pred.step >= pred.warmup_steps
            ax.plot(pred.step[described], pred.loss[described], "-", lw=1.1, color=color)
    add_key(fig, ax)
    _limit_to_tail(ax, [c.loss for c in sweep.curves])
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    lines = f"; lines: the {fit.law} law" if fit is not None else ""
    ax.set_title(title or f"{len(sweep)} runs by {_COLUMN_NAMES.get(color_by, color_by)}{lines}")
    fig.tight_layout()
    return fig


def _colors_of(values: Sequence[object], column: str):
    """Each value's colour, and a function drawing their key (colour bar or legend) on a
    figure's axes."""
    name = _COLUMN_NAMES.get(column, column)
    given = [v for v in values if v is not None]
    numeric = bool(given) and all(
        isinstance(v, (int, float, np.number)) and not isinstance(v, (bool, np.bool_))
        for v in given
    )
    if numeric:
        low, high = float(min(given)), float(max(given))
        log = column in LOG_SCALED and low > 0
        norm = (LogNorm if log else Normalize)(low, high if high > low else low * 1.01 + 1e-12)
        cmap = plt.get_cmap("viridis")
        colors = ["0.6" if v is None else cmap(norm(float(v))) for v in values]

        def add_colorbar(fig: Figure, ax) -> None:
            bar = fig.colorbar(plt.cm.ScalarMappable(norm=norm, cmap=cmap), ax=ax, label=name)
            distinct = sorted({float(v) for v in given})
            if len(distinct) <= _TICKED:  # a tick at each value the runs have
                bar.set_ticks(distinct, labels=[f"{v:.3g}" for v in distinct])
                bar.minorticks_off()

        return colors, add_colorbar
    categories = list(dict.fromkeys(str(v) for v in given))
    palette = {c: f"C{i % 10}" for i, c in enumerate(categories)}
    colors = ["0.6" if v is None else palette[str(v)] for v in values]

    def add_legend(fig: Figure, ax) -> None:
        for category, color in palette.items():
            ax.plot([], [], "o", ms=4, color=color, label=cut_middle(category, 30))
        if len(given) < len(values):
            ax.plot([], [], "o", ms=4, color="0.6", label="not given")
        ax.legend(fontsize=7, title=name, title_fontsize=8, ncols=1 + len(palette) // 12)

    return colors, add_legend


def plot_lr_sensitivity(
    fit: Fit,
    rankings: Mapping[str, Ranking],
    *,
    params: float | None = None,
    interval: float | None = 0.9,
    observed: Mapping[str, Mapping[float, float]] | None = None,
    title: str = "",
) -> Figure:
    """Predicted final loss against peak LR for each schedule family: the LR sensitivity of each
    family, with its prediction interval as a band, the best peak of each (a star), the fitted
    runs' peaks (dotted lines) and real final losses where known (hollow squares).

    Args:
        fit: the fit that ranked the schedules (across peak LRs, for a meaningful figure).
        rankings: for each family's label, schedules at several peaks: a
            :func:`~scalefit.search_peaks` ranking (the family's best settings at each peak), or
            a :func:`~scalefit.rank` of one shape at several peaks.
        params: the model size they were ranked for, for a fit across sizes.
        interval: the band's level (``None``: no band).
        observed: for a family's label, real final losses by peak LR, to draw beside.
        title: figure title.

    Returns:
        The ``matplotlib.figure.Figure``.
    """
    fig, ax = plt.subplots(figsize=(7.5, 5))
    for i, (family, ranking) in enumerate(rankings.items()):
        color = f"C{i % 10}"
        choices = sorted(ranking.choices, key=lambda c: float(np.max(c.lr)))
        peaks = [float(np.max(c.lr)) for c in choices]
        if interval is not None:
            bounds = [_final_interval(fit, c.lr, c.warmup_steps, params, interval) for c in choices]
            lower, upper = np.transpose(bounds)
            ax.fill_between(peaks, lower, upper, color=color, alpha=0.15, lw=0)
        ax.plot(peaks, [c.final_loss for c in choices], "o-", ms=3, lw=1.3, color=color)
        ax.plot([], [], "o-", ms=3, color=color, label=cut_middle(family, 40))
        best = ranking.best
        ax.plot(float(np.max(best.lr)), best.final_loss, "*", ms=12, color=color, mec="k", mew=0.5)
        real = (observed or {}).get(family, {})
        if real:
            ax.plot(list(real), list(real.values()), "s", ms=6, mfc="none", mew=1.3, color=color)
    fitted = sorted({float(c["peak_lr"]) for c in fit.curves if "peak_lr" in c})
    for k, peak in enumerate(fitted):
        ax.axvline(peak, color="0.5", ls=":", lw=1, label="fitted runs' peaks" if k == 0 else None)
    if interval is not None:
        ax.fill_between([], [], color="0.6", alpha=0.3, label=f"{level_label(interval)} interval")
    ax.plot([], [], "*", ms=10, color="0.5", mec="k", mew=0.5, label="best peak predicted")
    if observed:
        ax.plot([], [], "s", ms=6, mfc="none", color="0.3", label="real final loss")
    ax.set_xscale("log")
    ax.set_xlabel("peak learning rate")
    ax.set_ylabel("predicted final loss")
    ax.legend(fontsize=7)
    ax.set_title(title or f"LR sensitivity: predicted final loss by peak LR ({fit.law} law)")
    fig.tight_layout()
    return fig


def _final_interval(fit: Fit, lr: np.ndarray, warmup: int, params, level: float):
    """The prediction interval of the loss at the last step of the per-step LRs ``lr``."""
    pred = predict(fit, lr, at=[lr.size - 1], warmup_steps=warmup, interval=level, params=params)
    return float(pred.lower[-1]), float(pred.upper[-1])


def plot_size_law(
    fit: Fit,
    schedules: Schedule | str | Curve | ArrayLike | Sequence | Mapping[str, object],
    *,
    observed: Sweep | Sequence[Curve] = (),
    sizes: ArrayLike | None = None,
    interval: float | None = 0.9,
    tokens_per_step: float | None = None,
    title: str = "",
) -> Figure:
    """A fit across model sizes: the predicted final loss of each schedule against the model size
    (lines, with the prediction interval as a band), and runs' last logged losses (filled: the
    fitted runs as circles, others as squares) beside the law's prediction of each (hollow).

    Args:
        fit: a fit across model sizes.
        schedules: one schedule or several (specs, :class:`~scalefit.schedules.Schedule`,
            curves, per-step LR arrays), or a mapping of labels to schedules.
        observed: runs with their sizes (``params``) to draw as points, e.g. the fitted sweep
            and runs held out from it.
        sizes: model sizes to predict at (default: 25 log-spaced, from half the smallest fitted
            or observed size to twice the largest).
        interval: the band's level (``None``: no band).
        tokens_per_step: the tokens each of the schedules' steps trains on, where they differ
            from the fitted runs'.
        title: figure title.

    Returns:
        The ``matplotlib.figure.Figure``.

    Raises:
        ValueError: the fit is not across model sizes.
    """
    if "log_size" not in get_law(fit.law).context:
        raise ValueError(f"the {fit.law} law is of one model size: fit runs of several sizes")
    observed = list(observed)
    fitted = sorted({float(c["params"]) for c in fit.curves if c.get("params")})
    if sizes is None:
        known = fitted + [float(c.params) for c in observed if c.params]
        sizes = np.geomspace(min(known) / 2, max(known) * 2, 25)
    sizes = np.sort(np.asarray(sizes, dtype=np.float64))
    fig, ax = plt.subplots(figsize=(7.5, 5))
    for i, (label, schedule) in enumerate(_labelled(schedules).items()):
        color = f"C{i % 10}"
        _draw_size_line(ax, fit, schedule, label, sizes, interval, tokens_per_step, color)
    _draw_observed_sizes(ax, fit, observed)
    for k, size in enumerate(fitted):
        ax.axvline(size, color="0.5", ls=":", lw=1, label="fitted sizes" if k == 0 else None)
    ax.set_xscale("log")
    ax.set_xlabel("model size (parameters)")
    ax.set_ylabel("final loss")
    ax.legend(fontsize=7)
    ax.set_title(title or f"final loss by model size ({fit.law} law)")
    fig.tight_layout()
    return fig


def _labelled(schedules) -> dict[str, object]:
    """``schedules`` by label: one schedule (a spec, a Schedule, a Curve, an LR array) or several,
    each under its name, or a mapping of labels to schedules."""
    if isinstance(schedules, Mapping):
        return dict(schedules)
    several = not isinstance(schedules, (str, Schedule, Curve, np.ndarray))
    if several:
        schedules = list(schedules)
        several = not (schedules and isinstance(schedules[0], (int, float, np.number)))
    return {_as_candidate(s).name: s for s in (schedules if several else [schedules])}


def _draw_size_line(ax, fit: Fit, schedule, label, sizes, interval, tokens_per_step, color):
    """One schedule's predicted final loss at each of ``sizes``, with its band."""
    candidate = _as_candidate(schedule)
    tokens = tokens_per_step or getattr(schedule, "tokens_per_step", None)
    preds = [
        predict(
            fit,
            candidate.lr,
            at=[candidate.lr.size - 1],
            warmup_steps=candidate.warmup_steps,
            interval=interval,
            params=float(size),
            tokens_per_step=tokens,
        )
        for size in sizes
    ]
    if interval is not None:
        lower = [p.lower[-1] for p in preds]
        upper = [p.upper[-1] for p in preds]
        ax.fill_between(sizes, lower, upper, color=color, alpha=0.15, lw=0)
    losses = [p.final_loss for p in preds]
    ax.plot(sizes, losses, "-", lw=1.4, color=color, label=cut_middle(label, 50))


def _draw_observed_sizes(ax, fit: Fit, observed: Sequence[Curve]) -> None:
    """Each run's last logged loss at its size (filled) and the fit's prediction of it there
    (hollow), joined by a line."""
    runs = [c for c in observed if c.params and c.step.size]
    if not runs:
        return
    last = [replace(c, step=c.step[-1:], loss=c.loss[-1:]) for c in runs]
    predicted = predict_curves(fit, last)
    fitted = {c.get("name") for c in fit.curves}
    for kind, marker in (("fitted runs", "o"), ("other runs", "s")):
        first = True
        for run, pred in zip(runs, predicted):
            if (run.name in fitted) != (kind == "fitted runs"):
                continue
            label = f"{kind}: last logged loss" if first else None
            ax.plot([run.params] * 2, [run.loss[-1], pred.final_loss], "-", lw=0.8, color="0.4")
            ax.plot(run.params, run.loss[-1], marker, ms=5, color="0.25", label=label)
            ax.plot(run.params, pred.final_loss, marker, ms=5, mfc="none", color="0.25")
            first = False
    ax.plot([], [], "o", ms=5, mfc="none", color="0.25", label="the law's prediction of each")


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
