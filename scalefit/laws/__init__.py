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

DEFAULT_LAW = "annealing"


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


__all__ = ["DEFAULT_LAW", "LAWS", "Features", "Law", "get_law", "hold", "register"]
