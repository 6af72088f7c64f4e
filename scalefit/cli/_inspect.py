"""``scalefit inspect``: what scalefit reads from a log, before fitting it."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from scalefit.cli import _common

EPILOG = """\
examples:
  scalefit inspect run.csv
  scalefit inspect output/checkpoint-2000 runs/ mlruns/1 --plot logs.png
  scalefit inspect panel_loss.csv --lr-from panel_lr.csv

For each run: the format found, the columns (tags, keys) there and those taken for the step, the
LR and the loss, the rows, the steps (their usual spacing and any gaps), the LR (its peak and
last value), the warm-up inferred, the losses logged again at a step (restarts) and the rows a
fit would use (after the warm-up; --include-warmup in fit to use them all).
"""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "inspect",
        help="show what scalefit reads from logs: format, columns, steps, LR, warm-up",
        description="Read logs as `scalefit fit` would and describe each run: what was found "
        "and chosen, and what a fit would use. A table on stdout; notes on stderr.",
        epilog=EPILOG,
        formatter_class=_common.Formatter,
    )
    parser.add_argument("csv", nargs="+", type=Path, metavar="LOG", help="logs (any format)")
    _common.add_log_options(parser)
    parser.add_argument("--plot", type=Path, help="draw the losses and LRs to this PNG")


def run(args: argparse.Namespace) -> int:
    from scalefit import InputError

    _common.guard_outputs(list(args.csv), args, "--plot")
    if args.warmup_steps is not None and args.warmup_steps < 0:
        raise InputError(f"--warmup-steps must be >= 0, not {args.warmup_steps}")
    runs = [run for path in args.csv for run in _common.read_runs(args, path)]
    _common.say_how_read(runs, args.loss_column is None)
    print("\n\n".join(_describe(run, args.include_warmup) for run in runs))
    if args.plot:
        from scalefit import io
        from scalefit.plot import plot_logs

        io.save_figure(plot_logs([run.curve for run in runs]), args.plot)
        print(f"wrote {args.plot}", file=sys.stderr)
    return 0


def _describe(run, include_warmup: bool) -> str:
    """A run's lines: ``what  value``."""
    curve = run.curve
    columns = list(run.columns)
    shown = ", ".join(columns[:12]) + (
        f", ... ({len(columns)} in all)" if len(columns) > 12 else ""
    )
    used = curve.step.size if include_warmup else curve.after_warmup().step.size
    lines = {
        "run": run.name,
        "source": f"{run.source} ({run.format})",
        f"{run.what}s": shown,
        "step from": run.step_column,
        "lr from": run.lr_column,
        "loss from": run.loss_column
        + (f" (also there: {', '.join(run.other_losses)})" if run.other_losses else ""),
        "rows": f"{run.rows:,} ({curve.step.size:,} with a loss)",
        "steps": _steps(curve.step),
        "lr": _lr(curve.lr),
        "warm-up": f"{curve.warmup_steps:,} steps" if curve.warmup_steps else "none",
        "restarts": f"{run.repeated_steps:,} losses at a step logged before (averaged)"
        if run.repeated_steps
        else "none (no step logged twice)",
        "fit uses": f"{used:,} losses" + ("" if include_warmup else " (after the warm-up)"),
    }
    width = max(len(k) for k in lines)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in lines.items())


def _steps(step) -> str:
    import numpy as np

    text = f"{int(step[0]):,} .. {int(step[-1]):,}"
    if step.size < 2:
        return text
    gaps = np.diff(step)
    usual = int(np.median(gaps))
    wide = gaps > 2 * usual
    text += f", every {usual:,}" if usual > 1 else ", every step"
    if wide.any():
        k = int(np.argmax(gaps))
        text += (
            f"; {int(wide.sum()):,} gap(s) wider than twice that, the widest "
            f"{int(step[k]):,} .. {int(step[k + 1]):,}"
        )
    return text


def _lr(lr) -> str:
    import numpy as np

    peak = int(np.argmax(lr))
    return (
        f"{lr.min():.3g} .. {lr.max():.3g} (peak at step {peak:,}), last {lr[-1]:.3g} "
        f"at step {lr.size - 1:,}"
    )
