"""A law evaluated on curves: its features at the logged rows, its loss, its log-loss gradient.

Curves of different lengths are padded into one :class:`Stack` (per-step LRs ``(C, N)``; rows,
losses and row weights ``(C, R)``), so that a fit of many curves, and many fits of one shape,
share one compiled program. Every function here is a function of a law and arrays: the fit, the
error model and predictions all evaluate laws through it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from scalefit import _programs
from scalefit._curve import Curve
from scalefit._errors import InputError
from scalefit._least_squares import to_params
from scalefit.laws import Law

__all__ = [
    "RowFeatures",
    "RunContext",
    "Stack",
    "evaluate",
    "law_features",
    "log_loss_and_gradient",
    "in_tokens",
    "references",
    "take_rows",
]


@partial(jax.jit, static_argnames="law_loss")
def _evaluate(params, features, *, law_loss):
    return law_loss(params, features)


def evaluate(law: Law, params: np.ndarray, features: dict[str, jax.Array]) -> np.ndarray:
    """The law's loss at every row of ``features`` (from :func:`law_features`); float64 NumPy."""
    with jax.enable_x64(True):
        params = np.asarray(params, dtype=np.float64)
        return np.asarray(_programs.call(_evaluate, params, features, law_loss=law.loss))


@partial(jax.jit, static_argnames="law_loss")
def _log_loss_and_gradient(theta, lower, features, *, law_loss):
    def log_loss(t):
        return jnp.log(law_loss(to_params(t, lower), features))

    return log_loss(theta), jax.jacfwd(log_loss)(theta)


def log_loss_and_gradient(law: Law, params: np.ndarray, features: dict[str, jax.Array]):
    r"""The log of the law's loss at every row of ``features`` and its gradient with respect to
    the minimiser's coordinates :math:`\theta = \log(p - p_{lower})`: arrays ``(..., r)`` and
    ``(..., r, n_params)``, float64 NumPy. What the delta method needs."""
    with jax.enable_x64(True):
        lower = np.asarray(law.lower, dtype=np.float64)
        theta = np.log(np.maximum(np.asarray(params, dtype=np.float64) - lower, 1e-300))
        out = _programs.call(_log_loss_and_gradient, theta, lower, features, law_loss=law.loss)
        return tuple(np.asarray(x) for x in out)


@dataclass(frozen=True)
class RunContext:
    """What a law may read of its runs beyond their LRs (:attr:`~scalefit.laws.Law.context`):
    the log of a reference LR, and each run's log model size over a reference size; the
    references are the fitted runs' (:func:`references`), so that a fit does not depend on the
    units of either."""

    log_lr_ref: float = 0.0
    log_size: np.ndarray | None = None  # (C,): NaN for a run of unknown size

    @classmethod
    def of(cls, refs: Mapping[str, float | None], sizes: Sequence[float | None]) -> RunContext:
        """The context of runs of ``sizes`` (``None``: unknown), under the references ``refs``
        (``lr_ref``, ``size_ref``; either may be missing)."""
        lr_ref, size_ref = refs.get("lr_ref"), refs.get("size_ref")
        log_size = None
        if size_ref:
            log_size = np.array([np.nan if n is None else np.log(n / size_ref) for n in sizes])
        return cls(math.log(lr_ref) if lr_ref else 0.0, log_size)

    def features(self, law: Law, shape: tuple[int, ...]) -> dict[str, np.ndarray]:
        """The features of ``law.context``, at rows of ``shape`` (``(C, R)``)."""
        out = {}
        if "log_lr_ref" in law.context:
            out["log_lr_ref"] = np.full(shape, self.log_lr_ref)
        if "log_size" in law.context:
            if self.log_size is None or np.isnan(self.log_size).any():
                raise InputError(
                    f"the {law.name} law spans model sizes: give every run's size (params)"
                )
            out["log_size"] = np.repeat(self.log_size[:, None], shape[1], axis=1)
        return out


def references(curves: Sequence[Curve]) -> dict[str, float]:
    """The fitted runs' reference LR (the geometric mean of their peaks); where every run's
    size is known, their reference size (the geometric mean of the sizes); and where their
    tokens per step are known, the fewest (steps are counted in that many tokens)."""
    refs = {"lr_ref": float(np.exp(np.mean([np.log(np.max(c.lr)) for c in curves])))}
    if all(c.params is not None for c in curves):
        refs["size_ref"] = float(np.exp(np.mean([np.log(c.params) for c in curves])))
    tokens = [c.tokens_per_step for c in curves]
    if all(t is not None for t in tokens):
        refs["tokens_ref"] = float(min(tokens))
    return refs


def in_tokens(
    lr: np.ndarray,
    rows: np.ndarray,
    warmup_steps: int,
    tokens_per_step: float | None,
    tokens_ref: float | None,
) -> tuple[np.ndarray, np.ndarray, int]:
    """A run's per-step LRs, rows and warm-up counted in steps of ``tokens_ref`` tokens: a step of
    ``k = tokens_per_step / tokens_ref`` times as many tokens is ``k`` steps at its LR (step
    ``t`` covers reference steps ``round(k t)`` to ``round(k (t + 1)) - 1``; a loss logged after
    it, at the last of them). Unchanged without both numbers, or for ``k = 1``.

    Examples:
        >>> lr, rows, warmup = in_tokens(np.array([1.0, 2.0, 3.0]), np.array([0, 2]), 1, 2.0, 1.0)
        >>> lr.tolist(), rows.tolist(), warmup
        ([1.0, 1.0, 2.0, 2.0, 3.0, 3.0], [1, 5], 2)
    """
    if not tokens_per_step or not tokens_ref or abs(tokens_per_step / tokens_ref - 1) < 1e-4:
        return lr, rows, warmup_steps
    bounds = np.round(tokens_per_step / tokens_ref * np.arange(lr.size + 1)).astype(np.int64)
    return (
        np.repeat(lr, np.diff(bounds)),
        bounds[np.asarray(rows) + 1] - 1,
        int(bounds[warmup_steps]),
    )


@dataclass(frozen=True)
class Stack:
    """Curves padded to common shapes: per-step LRs ``(C, N)``; rows, losses and row weights
    ``(C, R)`` (padded rows weigh 0); warm-up lengths ``(C,)``."""

    lr: np.ndarray
    rows: np.ndarray
    loss: np.ndarray
    weight: np.ndarray
    warmup_steps: np.ndarray
    context: RunContext = RunContext()

    @classmethod
    def of(cls, curves: Sequence[Curve], refs: Mapping[str, float] | None = None) -> Stack:
        """The curves, padded: the LR with its last value, rows and losses with their last;
        their context under ``refs`` (default: their own, :func:`references`)."""
        # Padding the LR with its last value leaves every earlier feature unchanged (they depend
        # on the LRs up to their step, and on the peak, which the last LR does not exceed), so
        # all curves share one compiled feature computation.
        refs = refs or references(curves)
        curves = [_counted_in_tokens(c, refs.get("tokens_ref")) for c in curves]
        n = max(c.n_steps for c in curves)
        r = _round_up(max(c.loss.size for c in curves), 64)  # similar fits share programs
        lr = np.stack([np.pad(c.lr, (0, n - c.n_steps), mode="edge") for c in curves])
        rows = np.stack([np.pad(c.step, (0, r - c.step.size), mode="edge") for c in curves])
        loss = np.stack([np.pad(c.loss, (0, r - c.loss.size), mode="edge") for c in curves])
        weight = np.stack([np.arange(r) < c.loss.size for c in curves]).astype(np.float64)
        warmup = np.array([c.warmup_steps for c in curves])
        context = RunContext.of(refs, [c.params for c in curves])
        return cls(lr, rows, loss, weight, warmup, context)

    def features(self, law: Law, options: dict[str, object]) -> dict[str, jax.Array]:
        """The law's features at every row (:func:`law_features`)."""
        return law_features(law, self.lr, self.rows, self.warmup_steps, options, self.context)

    def unstack(self, values: np.ndarray) -> list[np.ndarray]:
        """Per-curve arrays from a ``(C, R)`` array, padding dropped."""
        return [v[w > 0] for v, w in zip(values, self.weight)]

    def thinned(self, max_rows: int) -> tuple[Stack, np.ndarray | None]:
        """At most ``max_rows`` evenly spaced rows of each curve (first and last kept), each
        weighted by the weight of the rows it stands for, so that the objective keeps its scale;
        and
        which rows they are (``(C, r)`` indices, for :func:`take_rows`; ``None``: all)."""
        counts = (self.weight > 0).sum(axis=1)
        if counts.max() <= max_rows:
            return self, None
        picks = [
            np.unique(np.round(np.linspace(0, n - 1, min(n, max_rows))).astype(int)) for n in counts
        ]
        r = max(p.size for p in picks)
        index = np.stack([np.pad(p, (0, r - p.size), mode="edge") for p in picks])
        total = self.weight.sum(axis=1)  # rows already thinned stand for more rows
        weight = np.stack(
            [np.where(np.arange(r) < p.size, w / p.size, 0.0) for p, w in zip(picks, total)]
        )
        take = partial(np.take_along_axis, indices=index, axis=1)
        thinned = Stack(
            self.lr, take(self.rows), take(self.loss), weight, self.warmup_steps, self.context
        )
        return thinned, index


class RowFeatures:
    """A law's features of a batch of schedules, at any rows, in bounded memory: what every row
    needs (the law's ``prepare_steps``) is computed once, each call of :meth:`at` only what its
    rows need. For a law without ``prepare_steps``, each call computes its rows' features
    whole (:func:`law_features`)."""

    def __init__(
        self,
        law: Law,
        lr: np.ndarray,
        warmup_steps: np.ndarray,
        options: dict[str, object],
        context: RunContext = RunContext(),
    ) -> None:
        self.law, self.options, self.context = law, options, context
        self.lr = _padded(np.asarray(lr, dtype=np.float64))
        self.warmup_steps = np.asarray(warmup_steps)
        self.steps = None
        if law.prepare_steps is not None:
            with jax.enable_x64(True):
                steps = _programs.call(law.prepare_steps, self.lr, self.warmup_steps, **options)
            self.steps = {name: np.asarray(value) for name, value in steps.items()}

    def at(self, rows: np.ndarray) -> dict[str, np.ndarray]:
        """The features at ``rows`` (``(C, r)``: steps of each schedule)."""
        rows = np.asarray(rows)
        if self.steps is None:
            return law_features(
                self.law, self.lr, rows, self.warmup_steps, self.options, self.context
            )
        features = self.law.prepare_rows(self.steps, rows, **self.options, xp=np)
        return features | self.context.features(self.law, rows.shape)


def _counted_in_tokens(curve: Curve, tokens_ref: float | None) -> Curve:
    lr, rows, warmup = in_tokens(
        curve.lr, curve.step, curve.warmup_steps, curve.tokens_per_step, tokens_ref
    )
    if lr is curve.lr:
        return curve
    return replace(curve, lr=lr, step=rows, warmup_steps=warmup)


def take_rows(
    features: dict[str, jax.Array], index: np.ndarray | None, shape: tuple[int, int]
) -> dict[str, np.ndarray]:
    """The per-row features (leading axes ``shape``: curves, rows) at the rows ``index`` of each
    curve; the others as they are. A feature at a row depends only on the LRs and that row, so
    this equals computing them at those rows, without a second compiled feature program."""
    if index is None:
        return features
    out = {}
    for name, value in features.items():
        value = np.asarray(value)
        if value.shape[:2] == shape:
            at = index.reshape(index.shape + (1,) * (value.ndim - 2))
            value = np.take_along_axis(value, at, axis=1)
        out[name] = value
    return out


def law_features(
    law: Law,
    lr: np.ndarray,
    rows: np.ndarray,
    warmup_steps: np.ndarray,
    options: dict[str, object],
    context: RunContext = RunContext(),
) -> dict[str, jax.Array]:
    """The law's features at ``rows`` of per-step LRs ``lr`` (both with a leading curve axis),
    in float64, with what it reads of the runs' ``context``."""
    lr = _padded(np.asarray(lr, dtype=np.float64))
    with jax.enable_x64(True):
        features = _programs.call(
            law.prepare, lr, np.asarray(rows), np.asarray(warmup_steps), **options
        )
    features = law.finish(features) if law.finish else features
    return features | context.features(law, np.shape(rows))


def _padded(lr: np.ndarray) -> np.ndarray:
    """``lr`` (``(C, n)``) padded with its last value to a multiple of 1024 steps: every earlier
    feature is unchanged (see :meth:`Stack.of`), and schedules of similar budgets share one
    compiled program."""
    return np.pad(lr, [(0, 0), (0, _round_up(lr.shape[-1], 1024) - lr.shape[-1])], mode="edge")


def _round_up(n: int, multiple: int) -> int:
    return -(-n // multiple) * multiple
