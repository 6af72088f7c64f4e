"""Saving and loading fits as JSON: one fit a file, or the fits of several groups of runs.

A file of one fit is the fit's record (:meth:`Fit.to_dict <scalefit.Fit.to_dict>`, with its
``scalefit_fit`` format key). A file of groups' fits (:func:`save_fits`) holds each group's
record by the group's name::

    {"scalefit_fits": 1, "groups": {"peak_lr=0.001": {...a fit...}, ...}}
"""

from __future__ import annotations

import difflib
import json
import math
import os
from collections.abc import Mapping
from pathlib import Path

from scalefit._errors import InputError
from scalefit._result import Fit
from scalefit.io._errors import fail
from scalefit.io._write import write_text_atomic

__all__ = ["load_fit", "load_fits", "save_fit", "save_fits"]

FITS_FORMAT = 1
"""The version of the layout of a file of groups' fits (its ``scalefit_fits`` key)."""


def save_fit(fit: Fit, path: str | os.PathLike[str]) -> None:
    """Write a :class:`~scalefit.Fit` as JSON, atomically."""
    write_text_atomic(json.dumps(fit.to_dict(), indent=2) + "\n", path)


def save_fits(fits: Mapping[str, Fit], path: str | os.PathLike[str]) -> None:
    """Write the fits of several groups (:func:`scalefit.fit_groups`) to one JSON file,
    atomically: ``{"scalefit_fits": 1, "groups": {name: fit, ...}}``, each fit as
    :func:`save_fit` writes it.

    Raises:
        ValueError: no fit, or a group name that is not a non-empty string.
    """
    if not fits:
        raise ValueError("no fit to save")
    bad = [name for name in fits if not isinstance(name, str) or not name]
    if bad:
        raise ValueError(f"a group's name must be a non-empty string, not {bad[0]!r}")
    data = {"scalefit_fits": FITS_FORMAT, "groups": {n: f.to_dict() for n, f in fits.items()}}
    write_text_atomic(json.dumps(data, indent=2) + "\n", path)


def load_fit(path: str | os.PathLike[str], group: str | None = None) -> Fit:
    """Read a :class:`~scalefit.Fit` written by :func:`save_fit`, or one group's from a file
    of groups' fits (:func:`save_fits`).

    Args:
        path: the file.
        group: the group's name, for a file of groups' fits (and only for one): as
            :meth:`Sweep.groups <scalefit.Sweep.groups>` names it (``peak_lr=0.001,seed=0``), or
            its values alone (``0.001,0``) where no other group has them.

    Raises:
        InputError: the file is missing or unreadable, not JSON, or not a scalefit fit; a file
            of groups' fits without ``group`` or without that group (the message lists the
            groups), or ``group`` for a file of one fit.
    """
    data = _read_json(path)
    if isinstance(data, dict) and "scalefit_fits" in data:
        groups = _groups(path, data)
        if group is None:
            raise fail(
                path,
                f"holds the fits of {len(groups)} groups: say which (predict and choose take "
                f"--group NAME; the groups: {_listed(list(groups))})",
            )
        name = _group_named(group, list(groups))
        if name is None:
            raise fail(path, f"no group {group!r} ({_not_among(group, list(groups))})")
        return _fit_of(path, groups[name], f"group {name}: ")
    if group is not None:
        raise fail(path, f"holds one fit, not groups' fits: no group {group!r} to choose")
    if not isinstance(data, dict) or "scalefit_fit" not in data:
        raise fail(path, "not a scalefit fit (write one with `scalefit fit --out`)")
    return _fit_of(path, data)


def load_fits(path: str | os.PathLike[str]) -> dict[str, Fit]:
    """Read the fits of several groups written by :func:`save_fits`, by group name.

    Raises:
        InputError: the file is missing or unreadable, not JSON, not a file of groups' fits, or
            a group's fit is malformed (the message names the group).
    """
    data = _read_json(path)
    if not isinstance(data, dict) or "scalefit_fits" not in data:
        what = "one fit" if isinstance(data, dict) and "scalefit_fit" in data else "no fit"
        raise fail(
            path, f"not a file of groups' fits ({what}; write one with `scalefit fit --group-by`)"
        )
    return {
        name: _fit_of(path, record, f"group {name}: ")
        for name, record in _groups(path, data).items()
    }


def _read_json(path: str | os.PathLike[str]) -> object:
    if Path(path).is_dir():
        raise fail(path, "is a directory, not a fit file")
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise fail(path, "no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise fail(path, f"cannot read the file ({exc})") from None
    except json.JSONDecodeError as exc:
        raise fail(path, f"not JSON (line {exc.lineno}: {exc.msg})") from None


def _groups(path: str | os.PathLike[str], data: dict) -> dict[str, object]:
    """The groups' records of a file of groups' fits, checked for their layout."""
    if data["scalefit_fits"] != FITS_FORMAT:
        raise fail(
            path,
            f"groups' fits of format {data['scalefit_fits']!r}; this scalefit reads "
            f"format {FITS_FORMAT}",
        )
    groups = data.get("groups")
    if not isinstance(groups, dict) or not groups:
        raise fail(path, "malformed groups' fits: no 'groups' of fits by name")
    return groups


def _fit_of(path: str | os.PathLike[str], data: object, where: str = "") -> Fit:
    if not isinstance(data, dict):
        raise fail(path, f"{where}malformed fit: not a JSON object")
    try:
        return Fit.from_dict(data)
    except InputError as exc:
        raise fail(path, f"{where}{exc}") from None
    except KeyError as exc:
        raise fail(path, f"{where}malformed fit: {exc.args[0]!r} is missing") from None
    except (TypeError, ValueError) as exc:
        raise fail(path, f"{where}malformed fit: {exc}") from None


def _group_named(given: str, names: list[str]) -> str | None:
    """The group ``given`` names: its full name (``peak_lr=0.001,seed=0``), or its values with or
    without their columns (``0.001,0``), numbers within 1 % of the name's (``params=1.24e8`` for
    ``params=1.23587e+08``), where only one group matches."""
    if given in names:
        return given
    wanted = _name_parts(given)
    for tolerance in (0.0, 0.01):  # equal values first: 100 is not 101's
        matches = [n for n in names if _matches(wanted, _name_parts(n), tolerance)]
        if matches:
            return matches[0] if len(matches) == 1 else None
    return None


def _name_parts(name: str) -> list[tuple[str | None, str]]:
    """A group name's ``(column, value)`` pairs; the column ``None`` where only a value is."""
    parts = [part.partition("=") for part in name.split(",")]
    return [(k.strip(), v.strip()) if sep else (None, k.strip()) for k, sep, v in parts]


def _matches(
    wanted: list[tuple[str | None, str]], have: list[tuple[str | None, str]], tolerance: float
) -> bool:
    return len(wanted) == len(have) and all(
        (column is None or column == own_column) and _same_value(value, own, tolerance)
        for (column, value), (own_column, own) in zip(wanted, have)
    )


def _same_value(given: str, own: str, tolerance: float) -> bool:
    if given == own:
        return True
    try:
        return math.isclose(float(given), float(own), rel_tol=tolerance)
    except ValueError:
        return False


def _listed(names: list[str], most: int = 10) -> str:
    more = f" and {len(names) - most} more" if len(names) > most else ""
    return ", ".join(names[:most]) + more


def _not_among(name: str, names: list[str]) -> str:
    """Which groups there are, the likeliest meant first."""
    close = difflib.get_close_matches(name, names, n=3, cutoff=0.5)
    close = close or [n for n in names if name and name.lower() in n.lower()][:3]
    if close:
        return f"did you mean {_listed(close)}? the groups: {_listed(names)}"
    return f"the groups: {_listed(names)}"
