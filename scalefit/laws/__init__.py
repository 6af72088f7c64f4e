"""The registry of loss-curve laws: one module per law, one line here per law."""

from __future__ import annotations

from scalefit.errors import InputError
from scalefit.laws import annealing, multipower
from scalefit.laws.base import Features, Law

LAWS: dict[str, Law] = {
    annealing.LAW.name: annealing.LAW,
    multipower.LAW.name: multipower.LAW,
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


__all__ = ["DEFAULT_LAW", "LAWS", "Features", "Law", "get_law"]
