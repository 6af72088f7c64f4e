"""README is the users' front page: short, and its two set-up commands come first, unchanged."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"

COMMANDS = [
    'pip install -e ".[test]" && scalefit demo',
    'pip install -e ".[test]" && pytest',
]
"""The two commands a new user runs first (``.ci/run`` runs the second on a fresh clone)."""


def code_commands(text: str) -> list[str]:
    """The commands in the README's fenced code blocks, in order: each non-empty line with its
    trailing comment removed (lines of output, after a ``$`` prompt's block, count too)."""
    commands = []
    for block in re.findall(r"^```[^\n]*\n(.*?)^```", text, flags=re.M | re.S):
        for line in block.splitlines():
            command = re.sub(r"\s+#.*$", "", line).strip()
            if command:
                commands.append(command)
    return commands


def test_readme_is_at_most_10000_characters():
    length = len(README.read_text(encoding="utf-8"))
    assert length <= 10_000, f"README.md has {length} characters (at most 10,000)"


def test_readme_starts_with_the_two_set_up_commands():
    assert code_commands(README.read_text(encoding="utf-8"))[:2] == COMMANDS
