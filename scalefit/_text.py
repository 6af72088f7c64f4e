"""Names as tables, legends and titles show them: run names from W&B or a sweep's files run to
a hundred characters that differ in a few places."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

__all__ = ["cut_middle", "short_names"]

_TOKENS = re.compile(r"[^_,:/]+[_,:/]?|[_,:/]")  # a piece of a name with the separator after it


def cut_middle(name: str, most: int) -> str:
    """``name`` cut in the middle to at most ``most`` characters, the cut marked ``…``.

    Examples:
        >>> cut_middle("stable-124m_slimpajama_llama_iter50000", 20)
        'stable-124…iter50000'
    """
    if len(name) <= most:
        return name
    keep = most - 1
    return f"{name[: (keep + 1) // 2]}…{name[len(name) - keep // 2 :]}"


def short_names(names: Sequence[str], most: int = 48) -> list[str]:
    """The names without the pieces every one of them shares, each then cut in the middle to at
    most ``most`` characters: what tells them apart, in a table's width.

    Pieces are the runs of characters between ``_``, ``,``, ``:`` and ``/``. Where leaving the
    shared pieces out would make two names alike or one empty (a single name, say), the names
    are only cut.

    Examples:
        >>> short_names(["ann124-0.2_llama_lr0.001_wsd_iter25000_seed0",
        ...              "stable-124m_llama_lr0.001_wsd_iter50000_seed0"])
        ['ann124-0.2_iter25000', 'stable-124m_iter50000']
        >>> short_names(["cosine:peak=3e-4,steps=24000", "wsd:peak=3e-4,steps=24000,decay=0.2"])
        ['cosine', 'wsd:decay=0.2']
    """
    names = list(names)
    shortened = _without_shared_pieces(names) if len(names) > 1 else names
    return [cut_middle(name, most) for name in shortened]


def _without_shared_pieces(names: list[str]) -> list[str]:
    pieces = [_TOKENS.findall(name) for name in names]
    stems = [Counter(p.rstrip("_,:/") for p in name) for name in pieces]
    shared = stems[0].copy()
    for counts in stems[1:]:
        shared &= counts
    shared.pop("", None)
    out = []
    for name in pieces:
        left = shared.copy()
        kept = []
        for piece in name:
            stem = piece.rstrip("_,:/")
            if left[stem] > 0:
                left[stem] -= 1
                continue
            kept.append(piece)
        out.append("".join(kept).strip("_,:/"))
    if any(not name for name in out) or len(set(out)) < len(out):
        return names
    return out
