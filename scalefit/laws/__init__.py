"""Loss-curve laws: each a pure function of parameters and schedule features, plus what fitting
needs (names, bounds, starts). One module per law; one line here registers it.

* :mod:`scalefit.laws.annealing`: the annealing (momentum) law of Tissue et al. (2024);
* :mod:`scalefit.laws.multipower`: the multi-power law of Luo et al. (2025), free
  (``multipower``) and with the shape of its loss drop held (``multipower-fixed``, the default).
"""

from __future__ import annotations

from scalefit.laws import annealing, multipower, noise
from scalefit.laws._hold import hold
from scalefit.laws._law import Features, Law
from scalefit.laws._registry import LAWS, get_law, register
from scalefit.laws._sized import SIZE_PARAMS, with_sizes

for _law in (annealing.LAW, multipower.LAW, multipower.FIXED_SHAPE_LAW, noise.LAW):
    register(_law)
for _law in (multipower.FIXED_SHAPE_LAW, noise.LAW, annealing.LAW):
    register(with_sizes(_law, f"{_law.name}+size"))

DEFAULT_LAW = "multipower-fixed"
"""The law ``scalefit fit`` (and ``demo``, and :func:`scalefit.fit`) uses unless told otherwise:
the multi-power law with its loss-drop shape held. On every bundled split it predicts held-out
schedules best, and its error model, with the annealing law as its rival, gives calibrated
intervals there (the documentation's benchmark page)."""

FORECAST_LAW = DEFAULT_LAW
"""The law ``scalefit forecast`` fits to a run in flight: the same as :data:`DEFAULT_LAW`, which
forecasts from inside a cooldown far closer than the annealing law (the documentation's benchmark
page, "Forecasting a run in flight")."""

PEAKS_LAW = "noise"
"""The law :func:`scalefit.fit` uses for runs at several peak LRs (one model size): the noise
floor's law (:mod:`scalefit.laws.noise`), which finds the best peak of a schedule where the
others, whose progress is a function of the LR area alone, prefer the largest peak."""

SIZES_LAW = "multipower-fixed+size"
"""The law :func:`scalefit.fit` uses for runs of several model sizes at one peak LR: the default
law with its level and amplitude power laws of the size (:func:`with_sizes`)."""

SWEEP_LAW = "noise+size"
"""The law :func:`scalefit.fit` uses for runs at several peak LRs and model sizes."""


def default_law(peaks: int = 1, sizes: int = 1) -> str:
    """The law :func:`scalefit.fit` uses for runs at ``peaks`` distinct peak LRs and of
    ``sizes`` distinct model sizes: :data:`DEFAULT_LAW`, :data:`PEAKS_LAW`, :data:`SIZES_LAW`
    or :data:`SWEEP_LAW`.

    Examples:
        >>> default_law(), default_law(peaks=3), default_law(sizes=2), default_law(2, 5)
        ('multipower-fixed', 'noise', 'multipower-fixed+size', 'noise+size')
    """
    if sizes > 1:
        return SWEEP_LAW if peaks > 1 else SIZES_LAW
    return PEAKS_LAW if peaks > 1 else DEFAULT_LAW


__all__ = [
    "DEFAULT_LAW",
    "FORECAST_LAW",
    "LAWS",
    "PEAKS_LAW",
    "SIZES_LAW",
    "SIZE_PARAMS",
    "SWEEP_LAW",
    "Features",
    "Law",
    "default_law",
    "get_law",
    "hold",
    "register",
    "with_sizes",
]
