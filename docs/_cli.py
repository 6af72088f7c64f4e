"""The command-line page's parser: ``scalefit.cli.build_parser()`` itself, its texts made safe
for reStructuredText (sphinx-argparse reads descriptions, help and epilogs as reST, while
``--help`` prints them as plain text)."""

from __future__ import annotations

import argparse
import re
import textwrap

from scalefit.cli import build_parser

_SPECIAL = re.compile(r"([\\*`|])")
_TRAILING_UNDERSCORE = re.compile(r"(?<=\w)_(?=\W|$)")


def _plain(text: str | None) -> str | None:
    """Plain text as reST that reads the same: markup characters escaped."""
    if not text:
        return text
    return _TRAILING_UNDERSCORE.sub(r"\\_", _SPECIAL.sub(r"\\\1", text))


def _literal(text: str | None) -> str | None:
    """Preformatted text (examples, notes) as a reST literal block, shown as ``--help`` does."""
    if not text:
        return text
    return "::\n\n" + textwrap.indent(textwrap.dedent(text).strip("\n"), "    ") + "\n"


def _made_safe(parser: argparse.ArgumentParser) -> None:
    parser.description = _plain(parser.description)
    parser.epilog = _literal(parser.epilog)
    for action in parser._actions:
        if action.help not in (None, argparse.SUPPRESS):
            action.help = _plain(action.help)
        if isinstance(action, argparse._SubParsersAction):
            for choice in action._choices_actions:
                choice.help = _plain(choice.help)
            for subparser in action.choices.values():
                _made_safe(subparser)


def parser() -> argparse.ArgumentParser:
    """The ``scalefit`` parser, every subcommand's included, ready for sphinx-argparse."""
    built = build_parser()
    _made_safe(built)
    return built
