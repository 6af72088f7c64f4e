"""``scalefit fit``: fit a law to one or more logs and save the fit."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from scalefit.cli import _common

EPILOG = """\
examples:
  scalefit fit data/multipower-law/25M/cosine_24000.csv \\
      data/multipower-law/25M/constant_24000.csv \\
      --out fit.json --plot fit.png
  scalefit fit run.csv --loss-column val_loss --warmup-steps 300 --out fit.json
  scalefit fit --sweep data/lr-scheduling-sweep/sweep.csv --loss-column val_loss --out sweep.json
  scalefit fit --sweep data/lr-scheduling-sweep/sweep.csv --group-by params,peak_lr \\
      --out groups.json
  scalefit predict groups.json --group params=1.24e8,peak_lr=1e-3 \\
      --schedule "cosine:peak=1e-3,steps=50000,warmup=300" --out pred.csv

A sweep file (--sweep) is a CSV with one row per run: `path` (its log, relative to the sweep
file), and optional `params`, `tokens_per_step`, `loss_column`, `log_format`, `lr_from`; any other
column is a label of the run. --group-by fits an independent law to each group of runs that share
their values of the columns named (labels, or peak_lr, params, tokens_per_step), every group at
once; its --out file holds each group's fit, by the group's name (e.g. peak_lr=0.001,seed=0),
which `scalefit predict` and `scalefit choose` take with --group.

The CSV needs a step column, an LR column and a loss column (found case-insensitively among the
usual names: step/iter/_step, lr/learning_rate, loss/train_loss/val_loss ...; or named with the
--*-column options). The LR may be logged every k steps (it is interpolated per step; jumps stay
jumps), rows without a loss are skipped for fitting, and a log that starts after step 0 is taken to
have had a linear warm-up from 0 to its first LR.

Logs may also be a Hugging Face trainer_state.json (or checkpoint folder), TensorBoard event files
(a file, a run folder, a folder of runs), Lightning's metrics.csv, an MLflow store (run,
experiment or mlruns folder), a W&B history (CSV, JSON) or panel export, a TensorBoard scalar CSV
(the format is found from the path; --log-format to force it). Where the LR is in another file:
  scalefit fit panel_loss.csv --lr-from panel_lr.csv --out fit.json
  scalefit fit run-.-tag-train_loss.csv --lr-schedule "cosine:peak=3e-4,steps=24000" --out fit.json
`scalefit inspect LOG` shows what would be read.
"""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "fit",
        help="fit a law to one or more logged curves",
        description="Fit a law to one or more logged loss curves at once; print the parameters "
        "and per-curve metrics; save the fit as JSON for `scalefit predict`.",
        epilog=EPILOG,
        formatter_class=_common.Formatter,
    )
    parser.add_argument(
        "csv",
        nargs="*",
        type=Path,
        help="training logs (CSV or any --log-format; a log of several runs gives a curve each)",
    )
    parser.add_argument(
        "--sweep",
        type=Path,
        metavar="SWEEP.csv",
        help="fit the runs of a sweep file (one row per run; see below) instead of logs given",
    )
    parser.add_argument(
        "--group-by",
        metavar="COL[,COL]",
        help="with --sweep: fit an independent law to each group of runs sharing these columns' "
        "values, all groups at once; --out then holds every group's fit",
    )
    _common.add_law(parser, sweep=True)
    _common.add_log_options(parser)
    parser.add_argument(
        "--warmup",
        choices=("peak", "actual"),
        help="count warm-up steps at the peak LR or at their real LR (default: the law's own "
        "convention: peak for annealing, actual for the multipower laws)",
    )
    parser.add_argument(
        "--lambda",
        dest="decay",
        type=float,
        default=0.999,
        help="momentum decay of the annealing area (--law annealing only)",
    )
    parser.add_argument(
        "--fit-lambda",
        action="store_true",
        help="profile the momentum decay instead of holding it fixed (--law annealing only)",
    )
    parser.add_argument("--out", type=Path, required=True, help="where to write the fit (JSON)")
    parser.add_argument("--plot", type=Path, help="also draw the fit and residuals to this PNG")


def run(args: argparse.Namespace) -> int:
    from scalefit import InputError

    if not 0 < args.decay < 1:
        raise InputError(f"--lambda must lie strictly between 0 and 1, not {args.decay}")
    if args.sweep is None:
        return _fit_logs(args)
    if args.csv:
        raise InputError(f"{args.csv[0]}: give logs or --sweep, not both (a sweep file lists logs)")
    for option in ("--lr-from", "--lr-schedule", "--log-format"):
        if _common.given(args, option) is not None:
            raise InputError(
                f"{option}: not with --sweep (its columns lr_from and log_format say it per run)"
            )
    if args.group_by is not None:
        return _fit_groups(args)
    return _fit_sweep(args)


def _options(args: argparse.Namespace) -> dict:
    """The fit's options the command line gives."""
    return {
        "decay": args.decay,
        "fit_decay": args.fit_lambda,
        "warmup": args.warmup,
        "skip_warmup": not args.include_warmup,
    }


def _fit_logs(args: argparse.Namespace) -> int:
    """Fit the logs given (``args.csv``)."""
    from scalefit import InputError, fit
    from scalefit.laws import DEFAULT_LAW

    if not args.csv:
        raise InputError("no log to fit: give logs, or a sweep file with --sweep")
    if args.group_by is not None:
        raise InputError("--group-by: only with --sweep (it groups a sweep file's runs)")
    _common.guard_outputs(list(args.csv), args, "--out", "--plot")
    given = [p.resolve() for p in args.csv]
    twice = [p for i, p in enumerate(args.csv) if given[i] in given[:i]]
    if twice:
        raise InputError(f"{twice[0]}: given twice (each log is one curve of the fit)")
    curves = _common.read_logs(args)
    result = fit(curves, args.law or DEFAULT_LAW, **_options(args))
    return _write_fit(args, result, curves, args.csv[0])


def _read_sweep(args: argparse.Namespace):
    """The sweep file's runs, read with the log options given; the outputs checked."""
    from scalefit import InputError, io

    if args.warmup_steps is not None and args.warmup_steps < 0:
        raise InputError(f"--warmup-steps must be >= 0, not {args.warmup_steps}")
    _common.guard_outputs([args.sweep], args, "--out", "--plot")
    sweep = io.read_sweep(
        args.sweep,
        loss_column=args.loss_column,
        step_column=args.step_column,
        lr_column=args.lr_column,
        warmup_steps=args.warmup_steps,
    )
    logs = [Path(c.source) for c in sweep if c.source]
    _common.guard_outputs([args.sweep, *logs], args, "--out")
    return sweep


def _fit_sweep(args: argparse.Namespace) -> int:
    """Fit one law to every run of the sweep file."""
    from scalefit import fit

    sweep = _read_sweep(args)
    result = fit(sweep, args.law, **_options(args))
    return _write_fit(args, result, list(sweep.counted_once()), args.sweep)


def _write_fit(args: argparse.Namespace, result, curves: list, where) -> int:
    """Save the fit, print it, draw it if asked."""
    import numpy as np

    from scalefit import InputError, io, predict

    if not np.isfinite(result.objective):
        raise InputError(f"{where}: the fit failed ({result.status}); nothing written")
    io.save_fit(result, args.out)  # first: a reader that closes stdout early loses no fit
    print(result.summary(warnings=False))
    print(f"wrote {args.out}", file=sys.stderr)
    for w in result.warnings:
        print(f"warning: {w}", file=sys.stderr)
    if args.plot:
        from scalefit.plot import plot_fit

        fitted = [predict(result, c) for c in curves]
        io.save_figure(plot_fit(fitted, curves), args.plot)
        print(f"wrote {args.plot}", file=sys.stderr)
    return 0


def _fit_groups(args: argparse.Namespace) -> int:
    """Fit an independent law to each group of the sweep file's runs, all at once."""
    import numpy as np

    from scalefit import InputError, fit_groups, io
    from scalefit._groups import groups_table

    if args.plot is not None:
        raise InputError("--plot: not with --group-by (draw a group's fit with `scalefit predict`)")
    columns = [c.strip() for c in args.group_by.split(",")]
    if not all(columns):
        raise InputError(f"--group-by: expected columns separated by commas, not {args.group_by!r}")
    sweep = _read_sweep(args)
    try:
        groups = sweep.groups(*columns)
    except KeyError as err:
        raise InputError(f"{args.sweep}: {err.args[0]}") from None
    fits = fit_groups(groups, args.law, **_options(args))
    failed = [name for name, f in fits.items() if not np.isfinite(f.objective)]
    if failed:
        raise InputError(
            f"{args.sweep}: the fit of group {failed[0]} failed ({fits[failed[0]].status}); "
            "nothing written"
        )
    io.save_fits(fits, args.out)
    law = next(iter(fits.values())).law
    print(f"Fits of the {law} law to {len(fits)} groups of {args.sweep} (by {args.group_by}):")
    print(groups_table(fits))
    print(f"wrote {args.out} ({len(fits)} groups' fits)", file=sys.stderr)
    warned: dict[str, list[str]] = {}
    for name, f in fits.items():
        for w in f.warnings:
            warned.setdefault(w, []).append(name)
    for w, names in warned.items():
        which = "group" if len(names) == 1 else "groups"
        print(f"warning: {which} {_common.some(names)}: {w}", file=sys.stderr)
    return 0
