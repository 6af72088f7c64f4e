"""Loss-curve laws: each a pure function of parameters and schedule features, plus what fitting
needs (names, bounds, starts). One module per law; one line here registers it.

* :mod:`scalefit.laws.annealing`: the annealing (momentum) law of Tissue et al. (2024);
* :mod:`scalefit.laws.multipower`: the multi-power law of Luo et al. (2025), free
  (``multipower``) and with the shape of its loss drop held (``multipower-fixed``, the default);
* :mod:`scalefit.laws.proportional`: the held shape with its loss drop proportional to the loss
  (``multipower-proportional``);
* :mod:`scalefit.laws.relaxation`: a noisy-quadratic relaxation mixture scaling a power law
  (``relaxation``).

The last two are scalefit's own forms, candidates for the default (``benchmarks/README.md``).
"""

from __future__ import annotations

from scalefit.laws import annealing, multipower, proportional, relaxation
from scalefit.laws._hold import hold
from scalefit.laws._law import Features, Law
from scalefit.laws._registry import LAWS, get_law, register

for _law in (
    annealing.LAW,
    multipower.LAW,
    multipower.FIXED_SHAPE_LAW,
    proportional.LAW,
    relaxation.LAW,
):
    register(_law)

DEFAULT_LAW = "multipower-fixed"
"""The law ``scalefit fit`` (and ``demo``, and :func:`scalefit.fit`) uses unless told otherwise:
the multi-power law with its loss-drop shape held. On every bundled split it predicts held-out
schedules best, and its error model, with the annealing law as its rival, gives calibrated
intervals there (the documentation's benchmark page)."""

FORECAST_LAW = DEFAULT_LAW
"""The law ``scalefit forecast`` fits to a run in flight: the same as :data:`DEFAULT_LAW`, which
forecasts from inside a cooldown far closer than the annealing law (the documentation's benchmark
page, "Forecasting a run in flight")."""

__all__ = ["DEFAULT_LAW", "FORECAST_LAW", "LAWS", "Features", "Law", "get_law", "hold", "register"]
