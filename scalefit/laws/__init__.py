"""The registry of loss-curve laws: one module per law, one line here per law."""

from __future__ import annotations

from scalefit.errors import InputError
from scalefit.laws import annealing, multipower
from scalefit.laws.base import Features, Law, hold

LAWS: dict[str, Law] = {
    annealing.LAW.name: annealing.LAW,
    multipower.LAW.name: multipower.LAW,
    multipower.FIXED_SHAPE_LAW.name: multipower.FIXED_SHAPE_LAW,
}

DEFAULT_LAW = "multipower-fixed"
"""The law ``scalefit fit`` (and ``demo``, and :func:`scalefit.fit`) uses unless told otherwise:
the multi-power law with its loss-drop shape held. On every bundled split it predicts held-out
schedules best (``benchmarks/laws.py``), and its error model, with the annealing law as its
rival, gives calibrated intervals there (``benchmarks/intervals.py``)."""

FORECAST_LAW = DEFAULT_LAW
"""The law ``scalefit forecast`` fits to a run in flight: the same as :data:`DEFAULT_LAW`. From
inside a cooldown it forecasts the final loss of the 25M and 400M WSD runs 0.07-0.63 % off on
average, where the annealing law (``forecast``'s default until 2026-12-02) is 0.66-5.4 % low
with intervals that miss (on the 124m WSD runs, 0.71-1.21 % against 0.77-1.86 %); from the
first quarter, half or three quarters of the bundled 72k-step runs its mean error is 0.56 %
against 1.23 % (``benchmarks/forecast.py``)."""


def get_law(name: str | Law) -> Law:
    """The law registered under ``name`` (a :class:`Law` passes through)."""
    if isinstance(name, Law):
        return name
    try:
        return LAWS[name.lower()]
    except KeyError:
        raise InputError(f"unknown law {name!r} (known: {', '.join(sorted(LAWS))})") from None


def register(law: Law) -> Law:
    """Make ``law`` known by its name, so that its fits can predict, print, be saved and be loaded
    (a :class:`~scalefit.fitting.Fit` refers to its law by name). Returns ``law``.

    Raises:
        ValueError: another law is registered under the same name.
    """
    key = law.name.lower()
    if LAWS.get(key, law) is not law:
        raise ValueError(f"another law is registered as {law.name!r}")
    LAWS[key] = law
    return law


__all__ = ["DEFAULT_LAW", "FORECAST_LAW", "LAWS", "Features", "Law", "get_law", "hold", "register"]
