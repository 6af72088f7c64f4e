"""The registry of laws by name: a fit refers to its law by name, so a law must be registered to
be fitted, saved and loaded."""

from __future__ import annotations

from scalefit._errors import InputError
from scalefit.laws._law import Law

__all__ = ["LAWS", "get_law", "register"]

LAWS: dict[str, Law] = {}
"""Every registered law, by its lower-case name (the built-in ones first)."""


def get_law(name: str | Law) -> Law:
    """The law registered under ``name`` (a :class:`Law` passes through).

    Raises:
        InputError: no law is registered under ``name`` (the message lists those that are).
    """
    if isinstance(name, Law):
        return name
    try:
        return LAWS[name.lower()]
    except KeyError:
        raise InputError(f"unknown law {name!r} (known: {', '.join(sorted(LAWS))})") from None


def register(law: Law) -> Law:
    """Make ``law`` known by its name, so that its fits can predict, print, be saved and be loaded
    (a :class:`~scalefit.Fit` refers to its law by name). Returns ``law``.

    Raises:
        ValueError: another law is registered under the same name.
    """
    key = law.name.lower()
    if LAWS.get(key, law) is not law:
        raise ValueError(f"another law is registered as {law.name!r}")
    LAWS[key] = law
    return law
