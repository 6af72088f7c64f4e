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
        nargs="+",
        type=Path,
        help="training logs (CSV or any --log-format; a log of several runs gives a curve each)",
    )
    _common.add_law(parser)
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
    import numpy as np

    from scalefit import InputError, fit, io, predict

    _common.guard_outputs(list(args.csv), args, "--out", "--plot")
    if not 0 < args.decay < 1:
        raise InputError(f"--lambda must lie strictly between 0 and 1, not {args.decay}")
    given = [p.resolve() for p in args.csv]
    twice = [p for i, p in enumerate(args.csv) if given[i] in given[:i]]
    if twice:
        raise InputError(f"{twice[0]}: given twice (each log is one curve of the fit)")
    curves = _common.read_logs(args)
    result = fit(
        curves,
        args.law,
        decay=args.decay,
        fit_decay=args.fit_lambda,
        warmup=args.warmup,
        skip_warmup=not args.include_warmup,
    )
    if not np.isfinite(result.objective):
        raise InputError(f"{args.csv[0]}: the fit failed ({result.status}); nothing written")
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
