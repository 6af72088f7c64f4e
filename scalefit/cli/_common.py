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


def add_law(
    parser: argparse.ArgumentParser, *, forecast: bool = False, sweep: bool = False
) -> None:
    from scalefit.laws import DEFAULT_LAW, FORECAST_LAW

    default = FORECAST_LAW if forecast else DEFAULT_LAW
    if sweep:  # left unset: a sweep's runs (or groups) choose their law
        parser.add_argument(
            "--law",
            help=f"law to fit: {', '.join(law_names())} (default: {default}; for --sweep, the "
            "one for the peak LRs and sizes its runs span, or its widest group's)",
        )
        return
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


def log_formats_help() -> str:
    from scalefit.io import LOG_FORMATS

    return "; ".join(f"{name}: {text}" for name, text in LOG_FORMATS.items())


def add_group_option(parser: argparse.ArgumentParser) -> None:
    """``--group``: which group's fit to read from a file of groups' fits."""
    parser.add_argument(
        "--group",
        metavar="NAME",
        help="the group whose fit to use, for a file of groups' fits (`scalefit fit --group-by`)",
    )


def add_format_option(parser: argparse.ArgumentParser, what: str = "the logs") -> None:
    from scalefit.io import LOG_FORMATS

    parser.add_argument(
        "--log-format",
        choices=list(LOG_FORMATS),
        metavar="FORMAT",
        help=f"the format of {what}, when the path does not show it (found from the name, a "
        f"folder's layout or the columns otherwise): {log_formats_help()}",
    )


def add_log_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--step-column", help="name of the step column")
    parser.add_argument(
        "--lr-column", help="name of the learning-rate column (tag, key; of --lr-from if given)"
    )
    parser.add_argument(
        "--loss-column", help="name of the loss column (tag, key; e.g. val_loss, eval_loss)"
    )
    parser.add_argument(
        "--warmup-steps", type=int, help="warm-up length, when the logs do not show it"
    )
    parser.add_argument(
        "--include-warmup",
        action="store_true",
        help="also fit the losses logged during warm-up (by default only those after it)",
    )
    add_format_option(parser)
    lr = parser.add_mutually_exclusive_group()
    lr.add_argument(
        "--lr-from",
        type=Path,
        metavar="FILE",
        help="take the learning rate from this log (any format; joined on steps), for logs "
        "that hold the loss alone (a W&B panel, a TensorBoard scalar CSV)",
    )
    lr.add_argument(
        "--lr-schedule",
        metavar="SPEC",
        help="the learning rate as a schedule spec, for logs "
        "that never logged it (e.g. cosine:peak=3e-4,steps=24000,warmup=2000)",
    )


def read_runs(args, path: Path, **options) -> list:
    """The runs of ``path`` (:class:`scalefit.io.RunLog`), read with the log options in ``args``
    (those it has)."""
    from scalefit import io

    for option in ("step_column", "lr_column", "loss_column", "warmup_steps", "log_format"):
        options.setdefault(option, getattr(args, option, None))
    for option in ("lr_from", "lr_schedule"):
        if getattr(args, option, None) is not None:
            options.setdefault(option, getattr(args, option))
    return io.read_runs(path, **options)


def read_logs(args, paths: list[Path] | None = None, *, by_path: bool = False) -> list:
    """The curves of ``paths`` (default ``args.csv``), read with the log options in ``args``: one
    per run (a log may hold several). With ``by_path``: ``(path, curves)`` pairs."""
    from dataclasses import replace

    from scalefit import InputError, io

    if args.warmup_steps is not None and args.warmup_steps < 0:
        raise InputError(f"--warmup-steps must be >= 0, not {args.warmup_steps}")
    paths = args.csv if paths is None else paths
    read = [(path, read_runs(args, path)) for path in paths]
    named = []
    for (path, runs), file_name in zip(read, io.curve_names(paths)):
        plain = len(runs) == 1 and runs[0].name == io.curve_names([path])[0]
        curves = [replace(runs[0].curve, name=file_name)] if plain else [r.curve for r in runs]
        named.append((path, curves))
    say_how_read([run for _, runs in read for run in runs], args.loss_column is None)
    if by_path:
        return named
    return [curve for _, curves in named for curve in curves]


def one_run(path: Path, runs: list):
    """The only run of a log; an error naming them where it holds several."""
    from scalefit import InputError

    if len(runs) > 1:
        names = some([r.name for r in runs])
        raise InputError(f"{path}: holds {len(runs)} runs ({names}); give one run's log")
    return runs[0]


def say_how_read(runs: list, loss_chosen: bool) -> None:
    """Notes on stderr: which loss column was taken where a log holds several, and what a
    user should know of a source (e.g. a W&B panel is sampled)."""
    choices: dict = {}
    notes: dict = {}
    for run in runs:
        if loss_chosen and run.other_losses:
            key = (run.loss_column, run.what, tuple(run.other_losses))
            choices.setdefault(key, []).append(run.source)
        for note in run.notes:
            notes.setdefault(note, []).append(run.source)
    for (chosen, what, others), where in choices.items():
        print(
            f"note: {_some_files(where)}: loss from {what} {chosen!r}; also there: "
            f"{', '.join(others)} (--loss-column to fit another)",
            file=sys.stderr,
        )
    for note, where in notes.items():
        print(f"note: {_some_files(where)}: {note}", file=sys.stderr)


def _some_files(where: list[str]) -> str:
    where = list(dict.fromkeys(where))
    return str(where[0]) + (f" and {len(where) - 1} more" if len(where) > 1 else "")


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


def parse_peaks(text: str) -> list[float]:
    """The peak LRs of ``--peak-lr``: one (``3e-4``), several (``1e-4,3e-4``) or a range
    (``1e-4:3e-3``: seven log-spaced ones)."""
    from scalefit import InputError, log_spaced

    try:
        if ":" in text:
            low, high = (float(x) for x in text.split(":"))
            return log_spaced(low, high)
        peaks = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise InputError(
            f"--peak-lr: expected a peak LR, several (1e-4,3e-4) or a range (1e-4:3e-3), "
            f"not {text!r}"
        ) from None
    if not peaks or min(peaks) <= 0:
        raise InputError(f"--peak-lr > 0 required, not {text!r}")
    return sorted(set(peaks))


def check_size(fit, params: float | None, path) -> None:
    """Refuse a model size where it cannot be right: missing for a fit across several sizes,
    not positive, or given to a fit of one size (it would be ignored)."""
    from scalefit import InputError
    from scalefit.laws import get_law

    sizes = sorted({float(c["params"]) for c in fit.curves if c.get("params")})
    spans = "log_size" in get_law(fit.law).context
    if params is not None and not params > 0:
        raise InputError(f"--params must be a positive number, not {params}")
    if spans and params is None and len(sizes) != 1:
        fitted = ", ".join(f"{n:.3g}" for n in sizes)
        raise InputError(f"{path}: the fit spans model sizes ({fitted}); give --params N")
    if not spans and params is not None:
        raise InputError(
            f"--params: the {fit.law} fit in {path} is of one model size; fit runs of several "
            "sizes (scalefit fit --sweep) to predict another"
        )
