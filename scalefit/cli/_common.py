"""What the subcommands share: the parser's look, common options, reading logs, guarding
outputs, naming curves."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path


def law_names() -> list[str]:
    from scalefit.laws import LAWS

    return list(LAWS)


def add_law(parser: argparse.ArgumentParser, *, forecast: bool = False) -> None:
    from scalefit.laws import DEFAULT_LAW, FORECAST_LAW

    default = FORECAST_LAW if forecast else DEFAULT_LAW
    parser.add_argument("--law", default=default, help=f"law to fit: {', '.join(law_names())}")


class Formatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """Shows an option's default where it says something: not for a default of None, False or
    [] (an option left out, a flag not given, a repeatable option not repeated; an option whose
    default needs words says them in its help)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        default = action.default
        if default is None or default is False or (isinstance(default, list) and not default):
            return action.help
        return super()._get_help_string(action)


class Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line, as every other error of the command
    (argparse prints the whole usage first), with where to read more."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self._negative_number_matcher.match("-3e-4"):  # older argparse: an option
            self._negative_number_matcher = re.compile(r"^-(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def add_schedule_source(parser: argparse.ArgumentParser, spec: str, csv: str) -> None:
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--schedule", help=spec)
    source.add_argument("--schedule-csv", type=Path, help=csv)


def add_interval(parser: argparse.ArgumentParser, default: float | None, text: str) -> None:
    parser.add_argument(
        "--interval",
        type=float,
        default=default,
        metavar="LEVEL",
        help=text + ": columns loss_lo, loss_hi in the output, a band in the plot",
    )


def add_log_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--step-column", help="name of the step column")
    parser.add_argument("--lr-column", help="name of the learning-rate column")
    parser.add_argument("--loss-column", help="name of the loss column (e.g. val_loss)")
    parser.add_argument(
        "--warmup-steps", type=int, help="warm-up length, when the logs do not show it"
    )
    parser.add_argument(
        "--include-warmup",
        action="store_true",
        help="also fit the losses logged during warm-up (by default only those after it)",
    )


def read_logs(args, paths: list[Path] | None = None) -> list:
    """The curves of ``paths`` (default ``args.csv``), read with the log options in ``args``."""
    from scalefit import InputError, io

    if args.warmup_steps is not None and args.warmup_steps < 0:
        raise InputError(f"--warmup-steps must be >= 0, not {args.warmup_steps}")
    paths = args.csv if paths is None else paths
    curves = [
        io.read_curve(
            path,
            step_column=args.step_column,
            lr_column=args.lr_column,
            loss_column=args.loss_column,
            warmup_steps=args.warmup_steps,
            name=name,
        )
        for path, name in zip(paths, io.curve_names(paths))
    ]
    if args.loss_column is None:  # say which loss was taken where a log holds several
        choices = {}
        for path in paths:
            chosen, others = io.other_loss_columns(path)
            if others:
                choices.setdefault((chosen, tuple(others)), []).append(path)
        for (chosen, others), where in choices.items():
            files = str(where[0]) + (f" and {len(where) - 1} more" if len(where) > 1 else "")
            print(
                f"note: {files}: loss from column {chosen!r}; also there: {', '.join(others)} "
                "(--loss-column to fit another)",
                file=sys.stderr,
            )
    return curves


def given(args, option: str):
    """The value ``args`` holds for the command-line ``option`` (``--fit-out``: ``fit_out``)."""
    return getattr(args, option.lstrip("-").replace("-", "_"))


def guard_outputs(inputs: list[Path], args, *options: str) -> None:
    """Refuse, before any work, the outputs that ``args`` gives for ``options`` (e.g. ``--out``;
    ``--plot`` is a figure) if they could not be written or would clobber something: an input,
    another output, a folder, a missing folder, or a figure in no format matplotlib writes."""
    from scalefit import InputError

    written: dict[Path, str] = {}
    for option in options:
        out = given(args, option)
        if out is None:
            continue
        for src in inputs:
            if out.resolve() == src.resolve():
                raise InputError(f"{out}: is also an input; refusing to overwrite it")
        if out.resolve() in written:
            raise InputError(f"{out}: given to both {written[out.resolve()]} and {option}")
        written[out.resolve()] = option
        if out.is_dir():
            raise InputError(f"{out}: is a folder; give a file name")
        if not out.parent.exists():
            raise InputError(f"{out}: folder {out.parent} does not exist")
        if option == "--plot":
            from scalefit import io

            io.check_figure_path(out)


def check_level(level: float) -> None:
    from scalefit import InputError
    from scalefit._uncertainty import z_value

    try:
        z_value(level)
    except InputError as err:
        raise InputError(f"--interval: {err} (e.g. 0.9)") from None


def parse_steps(text: str) -> list[int]:
    from scalefit import InputError

    try:
        steps = [int(float(x)) for x in text.split(",") if x.strip()]
    except ValueError:
        raise InputError(f"--at: expected comma-separated steps, got {text!r}") from None
    if any(s < 0 for s in steps):
        raise InputError(f"--at: steps must be >= 0, got {text!r}")
    return steps


def curve_named(given: str, names: list[str], option: str, by_path: dict[Path, str]) -> str:
    """The curve ``given`` names: one of the files given (its path), a curve's name (a file's
    name without .csv, with folders where files share it), or the start of exactly one name
    (``stable-124m`` for a long run name)."""
    from scalefit import InputError, io

    path = Path(given)
    if given in names:
        return given
    if path.resolve() in by_path:
        return by_path[path.resolve()]
    as_file = len(path.parts) > 1 or ".csv" in given.lower()
    name = io.curve_names([path])[0] if as_file else given
    if name in names:
        return name
    begun = [] if as_file or not name else [n for n in names if n.startswith(name)]
    if len(begun) == 1:
        return begun[0]
    if begun:
        raise InputError(
            f"{option} {name}: is the start of {len(begun)} curves' names; give more of it "
            f"({some(begun)})"
        )
    raise InputError(f"{option} {given}: {not_among(name, names)}")


def not_among(name: str, names: list[str]) -> str:
    """Why ``name`` is not one of ``names``, with the likeliest ones meant (the closest names,
    or those containing it), at most a few: one line, however many curves were given."""
    import difflib

    close = [n for n in names if name and name.lower() in n.lower()]
    close = close or difflib.get_close_matches(name, names, n=3, cutoff=0.5)
    label = "did you mean" if close else "they include"
    return (
        f"not among the {len(names)} curves given (names are the files' names without .csv, "
        "with folders where files share one; "
        f"{label}: {some(close or names)})"
    )


def some(names: list[str], most: int = 3) -> str:
    more = f" and {len(names) - most} more" if len(names) > most else ""
    return ", ".join(names[:most]) + more
