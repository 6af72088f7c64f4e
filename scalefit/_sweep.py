"""A sweep: the runs people compare before a big run (peak LRs, schedules, model sizes), with
what is known of each.

A :class:`Sweep` holds one :class:`~scalefit.Curve` per run (each with its model size and tokens
per step where known) and each run's labels (the columns a sweep file keeps beside the paths:
an optimizer, a seed, a group). :func:`scalefit.fit` fits one law to every run of a sweep, or
one law to each group of them (:meth:`Sweep.groups`). A run resumed from another run's
checkpoint repeats the rows its parent logged; a sweep counts each logged row once
(:meth:`Sweep.counted_once`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from scalefit._curve import Curve

__all__ = ["Sweep", "peaks_of", "sizes_of"]

BUILT_IN = ("peak_lr", "params", "tokens_per_step")
"""What every run of a sweep is known by, beside its labels: its peak LR (read from its log),
its model size and its tokens per step (where given)."""


@dataclass(frozen=True)
class Sweep:
    """Runs of a sweep and their labels.

    Attributes:
        curves: one curve per run (names unique).
        labels: for each run, the labels it was given (column name to value).
        source: the sweep file, where the sweep came from one.

    Examples:
        >>> import numpy as np
        >>> from scalefit import Curve, Sweep
        >>> lr = np.r_[np.linspace(0, 1e-3, 10), np.full(90, 1e-3)]
        >>> runs = [Curve(f"run{i}", lr * s, np.arange(10, 100, 10), np.linspace(4, 3, 9),
        ...               params=n) for i, (s, n) in enumerate([(1, 3e7), (2, 3e7), (1, 6e7)])]
        >>> sweep = Sweep.of(runs, labels=[{"seed": 0}, {"seed": 0}, {"seed": 1}])
        >>> sweep.peaks, sweep.sizes
        ([0.001, 0.002], [30000000.0, 60000000.0])
        >>> {key: len(group) for key, group in sweep.groups("params").items()}
        {'params=3e+07': 2, 'params=6e+07': 1}
    """

    curves: tuple[Curve, ...]
    labels: tuple[Mapping[str, object], ...] = ()
    source: str | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        curves = tuple(self.curves)
        labels = tuple(dict(x) for x in self.labels) or tuple({} for _ in curves)
        if len(labels) != len(curves):
            raise ValueError(f"{len(labels)} labels for {len(curves)} runs")
        names = [c.name for c in curves]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"runs of a sweep need distinct names: {', '.join(twice)} repeat")
        object.__setattr__(self, "curves", curves)
        object.__setattr__(self, "labels", labels)

    @classmethod
    def of(
        cls, curves: Sequence[Curve], labels: Sequence[Mapping[str, object]] | None = None
    ) -> Sweep:
        """A sweep of ``curves``, each with its ``labels`` (default: none)."""
        return cls(tuple(curves), tuple(labels or ()))

    def __len__(self) -> int:
        return len(self.curves)

    def __iter__(self) -> Iterator[Curve]:
        return iter(self.curves)

    @property
    def peaks(self) -> list[float]:
        """The runs' distinct peak LRs, in increasing order (those within 1 % of another as
        one)."""
        return peaks_of(self.curves)

    @property
    def sizes(self) -> list[float]:
        """The runs' distinct model sizes, in increasing order (where given)."""
        return sizes_of(self.curves)

    def value(self, index: int, column: str) -> object:
        """Run ``index``'s value of ``column``: a label, or its ``peak_lr``, ``params`` or
        ``tokens_per_step``."""
        curve = self.curves[index]
        if column == "peak_lr":
            return float(np.max(curve.lr))
        if column in ("params", "tokens_per_step"):
            return getattr(curve, column)
        return self.labels[index].get(column)

    def columns(self) -> list[str]:
        """What runs can be grouped by: ``peak_lr``, ``params``, ``tokens_per_step``, then every
        label."""
        labels = dict.fromkeys(k for x in self.labels for k in x)
        return [*BUILT_IN, *labels]

    def groups(self, *columns: str) -> dict[str, Sweep]:
        """The runs grouped by their values of ``columns`` (labels, or ``peak_lr``, ``params``,
        ``tokens_per_step``), by a name such as ``"peak_lr=0.001,seed=0"``, in the order of
        their values (numbers as numbers; a run without a value last).

        Raises:
            KeyError: a column no run has (the message lists those there are).
        """
        known = self.columns()
        unknown = [c for c in columns if c not in known]
        if unknown:
            raise KeyError(f"no column {unknown[0]!r} to group by (columns: {', '.join(known)})")
        members: dict[str, list[int]] = {}
        for i in sorted(range(len(self.curves)), key=lambda i: self._order(i, columns)):
            key = ",".join(f"{c}={_shown(self.value(i, c))}" for c in columns)
            members.setdefault(key, []).append(i)
        return {key: self._subset(sorted(index)) for key, index in members.items()}

    def _order(self, index: int, columns: Sequence[str]) -> tuple:
        """Where run ``index`` falls when runs are ordered by their values of ``columns``."""
        order = []
        for column in columns:
            value = self.value(index, column)
            if value is None or (isinstance(value, float) and np.isnan(value)):
                order.append((2, 0.0, ""))
            elif isinstance(value, (int, float, np.number)) and not isinstance(value, bool):
                order.append((0, float(value), ""))
            else:
                order.append((1, 0.0, str(value)))
        return tuple(order)

    def counted_once(self) -> Sweep:
        """The sweep with each logged row counted once: a row a run shares with an earlier
        run of the sweep (the same step, the same loss, and the same LR at every step up to it:
        a run resumed from the other's checkpoint repeats its rows) is left out of the later
        run. Runs left with no row are dropped."""
        kept: list[Curve] = []
        labels = []
        for curve, label in zip(self.curves, self.labels):
            fresh = np.ones(curve.step.size, dtype=bool)
            for earlier in kept:
                fresh &= ~_repeated(curve, earlier)
            if fresh.any():
                kept.append(replace(curve, step=curve.step[fresh], loss=curve.loss[fresh]))
                labels.append(label)
        return Sweep(tuple(kept), tuple(labels), self.source)

    def _subset(self, index: Sequence[int]) -> Sweep:
        return Sweep(
            tuple(self.curves[i] for i in index), tuple(self.labels[i] for i in index), self.source
        )

    def __repr__(self) -> str:
        sizes = ", ".join(f"{n:.3g}" for n in self.sizes) or "not given"
        peaks = ", ".join(f"{p:.3g}" for p in self.peaks)
        return f"Sweep({len(self)} runs; peak LRs {peaks}; sizes {sizes})"


def _repeated(curve: Curve, earlier: Curve) -> np.ndarray:
    """Which rows of ``curve`` repeat a row of ``earlier``: same step and loss, same LRs up to
    that step."""
    n = min(curve.n_steps, earlier.n_steps)
    differ = np.flatnonzero(curve.lr[:n] != earlier.lr[:n])
    alike_until = int(differ[0]) if differ.size else n  # the LRs agree on steps before this
    common, i, j = np.intersect1d(curve.step, earlier.step, return_indices=True)
    same = (common < alike_until) & (curve.loss[i] == earlier.loss[j])
    out = np.zeros(curve.step.size, dtype=bool)
    out[i[same]] = True
    return out


def peaks_of(curves: Iterable[Curve]) -> list[float]:
    """The distinct peak LRs of ``curves``, in increasing order (those within 1 % of another as
    one); their names need not differ, as a sweep's must."""
    return _distinct(float(np.max(c.lr)) for c in curves)


def sizes_of(curves: Iterable[Curve]) -> list[float]:
    """The distinct model sizes of ``curves``, in increasing order (where given)."""
    return _distinct(c.params for c in curves if c.params is not None)


def _distinct(values) -> list[float]:
    out: list[float] = []
    for v in sorted(float(x) for x in values):
        if not out or v > out[-1] * 1.01:
            out.append(v)
    return out


def _shown(value: object) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)
