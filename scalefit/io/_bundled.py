"""The real curves shipped with scalefit's source tree."""

from __future__ import annotations

from pathlib import Path

from scalefit._errors import InputError

__all__ = ["MULTIPOWER_HELD_OUT", "bundled_data"]

MULTIPOWER_HELD_OUT = (
    "constant_72000",
    "cosine_72000",
    "wsd_20000_24000",
    "wsdld_20000_24000",
    "wsdcon_3",
    "wsdcon_18",
)
"""The six curves of ``bundled_data("multipower-law")/<size>`` that Luo et al. hold out; they fit
on ``cosine_24000``, ``constant_24000`` and ``wsdcon_9``."""


def bundled_data(name: str = "") -> Path:
    """The folder of the real curves shipped with scalefit (``data/`` of the source tree).

    Args:
        name: a subfolder, e.g. ``"multipower-law"`` or ``"lr-scheduling-124m"``.

    Raises:
        InputError: the data is not there (scalefit installed without its source tree).
    """
    root = Path(__file__).resolve().parents[2] / "data"
    folder = root / name
    if not folder.is_dir():
        raise InputError(
            f"{folder}: bundled data not found (install scalefit from its source tree, "
            "`pip install -e .`, to get data/)"
        )
    return folder
