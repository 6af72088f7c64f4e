"""Loss-curve laws: each a pure function of parameters and schedule features, plus what fitting
needs (names, bounds, starts). One module per law; one line here registers it.

* :mod:`scalefit.laws.annealing`: the annealing (momentum) law of Tissue et al. (2024);
* :mod:`scalefit.laws.multipower`: the multi-power law of Luo et al. (2025), free
  (``multipower``) and with the shape of its loss drop held (``multipower-fixed``);
* :mod:`scalefit.laws.proportional`: the held shape with its loss drop proportional to the loss
  (``multipower-proportional``, the default);
* :mod:`scalefit.laws.relaxation`: a noisy-quadratic relaxation mixture scaling a power law
  (``relaxation``);
* :mod:`scalefit.laws.noise`: the noise floor's law, across peak LRs (``noise``);
* :mod:`scalefit.laws.floor`: the default law with that noise floor (``multipower-floor``, the
  law across peak LRs);
* across model sizes, a law with its level and some parameters power laws of the size
  (:func:`with_sizes`; registered: ``multipower-proportional+size``, ``noise+size``,
  ``multipower-floor+size``).

The proportional, relaxation and noise forms are scalefit's own; the default was chosen among
them by a protocol written before their held-out figures were seen (the documentation's
benchmark page, "Choosing the next default law").
"""

from __future__ import annotations

from scalefit.laws import annealing, floor, multipower, noise, proportional, relaxation
from scalefit.laws._hold import hold
from scalefit.laws._law import Features, Law
from scalefit.laws._registry import LAWS, get_law, register
from scalefit.laws._sized import LEVEL_PARAMS, SCALED, with_sizes

for _law in (
    annealing.LAW,
    multipower.LAW,
    multipower.FIXED_SHAPE_LAW,
    proportional.LAW,
    relaxation.LAW,
    noise.LAW,
    floor.LAW,
):
    register(_law)
for _law in (proportional.LAW, noise.LAW, floor.LAW):
    register(with_sizes(_law, f"{_law.name}+size"))

DEFAULT_LAW = "multipower-proportional"
"""The law ``scalefit fit`` (and ``demo``, and :func:`scalefit.fit`) uses for runs at one peak LR
and model size: the multi-power law with its loss-drop shape held and the drop proportional to
the loss. Chosen over ``multipower-fixed`` (the default before it) by the protocol on the
documentation's benchmark page: lower held-out errors on the choice sets (25M, the 124M runs at
peak 1e-3) and on two of the three confirmation sets."""

FORECAST_LAW = DEFAULT_LAW
"""The law ``scalefit forecast`` fits to a run in flight: the same as :data:`DEFAULT_LAW`, which
forecasts from inside a cooldown far closer than the annealing law (the documentation's benchmark
page, "Forecasting a run in flight")."""

PEAKS_LAW = "multipower-floor"
"""The law :func:`scalefit.fit` uses for runs at several peak LRs (one model size): the default
law with a noise floor (:mod:`scalefit.laws.floor`), which finds the best peak of a schedule
where laws whose progress is a function of the LR area alone prefer the largest peak. Chosen
over the noise floor's law alone (``noise``) by the protocol on the documentation's benchmark
page ("Sweeps")."""

SIZES_LAW = "multipower-proportional+size"
"""The law :func:`scalefit.fit` uses for runs of several model sizes at one peak LR: the default
law with its level and amplitude power laws of the size (:func:`with_sizes`)."""

SWEEP_LAW = "multipower-floor+size"
"""The law :func:`scalefit.fit` uses for runs at several peak LRs and model sizes."""


def default_law(peaks: int = 1, sizes: int = 1) -> str:
    """The law :func:`scalefit.fit` uses for runs at ``peaks`` distinct peak LRs and of
    ``sizes`` distinct model sizes: :data:`DEFAULT_LAW`, :data:`PEAKS_LAW`, :data:`SIZES_LAW`
    or :data:`SWEEP_LAW`.

    Examples:
        >>> default_law(), default_law(peaks=3)
        ('multipower-proportional', 'multipower-floor')
        >>> default_law(sizes=2), default_law(2, 5)
        ('multipower-proportional+size', 'multipower-floor+size')
    """
    if sizes > 1:
        return SWEEP_LAW if peaks > 1 else SIZES_LAW
    return PEAKS_LAW if peaks > 1 else DEFAULT_LAW


def laws_for(peaks: int = 1, sizes: int = 1) -> list[str]:
    """The registered laws that runs at ``peaks`` distinct peak LRs and of ``sizes`` distinct
    model sizes can determine: a law across model sizes needs two sizes or more, and a law with
    a floor that moves with the LR (across peak LRs) two peaks or more.

    Examples:
        >>> "multipower-floor" in laws_for(), "multipower-floor" in laws_for(peaks=2)
        (False, True)
        >>> any(law.endswith("+size") for law in laws_for(peaks=3))
        False
    """
    return [
        name
        for name, law in LAWS.items()
        if ("log_size" not in law.context or sizes > 1) and (not _across_peaks(law) or peaks > 1)
    ]


def _across_peaks(law: Law) -> bool:
    """Whether ``law`` reads the LR against a reference (its floor moves with the LR), itself
    or, for a law across sizes (which always does, for its units), the law it extends."""
    base = LAWS.get(law.name.removesuffix("+size"), law)
    return "log_lr_ref" in base.context


__all__ = [
    "DEFAULT_LAW",
    "FORECAST_LAW",
    "LAWS",
    "PEAKS_LAW",
    "SIZES_LAW",
    "LEVEL_PARAMS",
    "SCALED",
    "SWEEP_LAW",
    "Features",
    "Law",
    "default_law",
    "get_law",
    "hold",
    "laws_for",
    "register",
    "with_sizes",
]
