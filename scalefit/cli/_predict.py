"""``scalefit predict``: the loss trajectory of a schedule, from a saved fit."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from scalefit.cli import _common

EPILOG = """\
examples:
  scalefit predict fit.json --schedule "wsd:peak=3e-4,warmup=2160,steps=24000,decay=0.2" \\
      --every 100 --out pred.csv --plot pred.png
  scalefit predict fit.json --schedule "cosine:peak=3e-4,steps=24000,final=3e-5,warmup=2160" \\
      --steps 72000 --out long.csv
  scalefit predict fit.json --schedule-csv other_run.csv --out pred.csv

schedule spec grammar:  FAMILY:key=value,key=value,...  (defaults in brackets)
  constant   peak, steps, warmup [0]
  cosine     peak, steps, warmup [0], final [0]: cosine from peak to final at steps
  linear     peak, steps, warmup [0], final [0]
  wsd        peak, steps, warmup [0], decay [0.2] (cooldown fraction of steps),
             shape [linear] (linear | cosine | sqrt = 1-sqrt | exp), final [0]
  multistep  peak, steps, milestones (e.g. 8000/16000), gamma [0.1] (LR multiplied by gamma
             at each milestone), warmup [0]
  twostage   peak, steps, switch, second, warmup [0]: peak until step switch, then second
  polynomial peak, steps, warmup [0], power [1], final [0]: final + (peak - final)*(1 - x)^power,
             x the fraction of the steps after warm-up done (optax's polynomial_schedule)
  rsqrt      peak, steps, warmup [0], timescale [warmup, or 10000 without one], decay [0.2],
             shape [linear] (as wsd's), final [0]: r = peak/sqrt(1 + (t - warmup)/timescale),
             brought to final over the last int(decay*steps) steps (linear shape:
             final + (r - final)*(1 - x), x the fraction of the cooldown done)
  rex        peak, steps, warmup [0], beta [0.5], final [0]: REX,
             final + (peak - final)*(1 - x)/(1 - beta + beta*(1 - x))
  powerlaw   peak, steps, warmup (>= 1), b [-0.51], decay [0.1], final [0]: OLMo-core's PowerLR,
             peak*(t/warmup)^b, then a linear tail to final over round(decay*steps) steps
peak and steps are always required. Every family warms up linearly from 0 to peak over
`warmup` steps; a spec has at most 10,000,000 steps. Aliases: const, cos, two_stage, poly,
inverse_sqrt, inv_sqrt, power_lr, power_law.
"""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "predict",
        help="predict the loss trajectory of a schedule from a fit",
        description="Predict the whole loss trajectory of a schedule from a saved fit; write "
        "step,lr,loss (loss = predicted).",
        epilog=EPILOG,
        formatter_class=_common.Formatter,
    )
    parser.add_argument("fit", type=Path, help="a fit written by `scalefit fit --out`")
    _common.add_group_option(parser)
    _common.add_schedule_source(
        parser,
        "schedule spec (grammar below)",
        "a log with step and lr columns (CSV or any --log-format): predict at its steps; with "
        "a loss column too, also say how close the prediction is",
    )
    parser.add_argument("--steps", type=int, help="budget to predict for a spec (overrides steps=)")
    parser.add_argument("--every", type=int, help="for a spec, write every K-th step (default 1)")
    parser.add_argument("--step-column", help="step column of --schedule-csv")
    parser.add_argument("--lr-column", help="LR column of --schedule-csv")
    parser.add_argument("--warmup-steps", type=int, help="warm-up length of --schedule-csv")
    parser.add_argument(
        "--loss-column",
        help="loss column of --schedule-csv: a logged run to score the prediction against "
        "(PredE, WorstE, interval coverage; by default any loss column found)",
    )
    _common.add_format_option(parser, "--schedule-csv")
    _common.add_interval(parser, None, "add a prediction interval at this level (e.g. 0.9)")
    parser.add_argument(
        "--params",
        type=float,
        metavar="N",
        help="the model size to predict for, from a fit across sizes (default: the fitted size)",
    )
    parser.add_argument("--out", type=Path, required=True, help="where to write the prediction")
    parser.add_argument("--plot", type=Path, help="also draw the prediction to this PNG")


def run(args: argparse.Namespace) -> int:
    from scalefit import InputError, io, predict
    from scalefit._uncertainty import level_label
    from scalefit.schedules import parse_schedule

    inputs = [args.fit] + ([args.schedule_csv] if args.schedule_csv else [])
    _common.guard_outputs(inputs, args, "--out", "--plot")
    if args.schedule_csv is not None:
        for option, value in (("--every", args.every), ("--steps", args.steps)):
            if value is not None:
                raise InputError(
                    f"{option}: only with --schedule (a --schedule-csv is predicted at its steps)"
                )
    else:
        for option in ("--step-column", "--lr-column", "--warmup-steps", "--loss-column"):
            if _common.given(args, option) is not None:
                raise InputError(f"{option}: only with --schedule-csv (it reads that file)")
    every = 1 if args.every is None else args.every
    if every < 1:
        raise InputError(f"--every must be >= 1, not {args.every}")
    if args.steps is not None and args.steps < 1:
        raise InputError(f"--steps must be >= 1, not {args.steps}")
    if args.interval is not None:
        _common.check_level(args.interval)
    result = io.load_fit(args.fit, group=args.group)
    _common.check_size(result, args.params, args.fit)
    if args.interval is not None and result.uncertainty is None:  # name the file
        unusable = [w for w in result.warnings if w.startswith("the file's error model")]
        raise InputError(
            f"{args.fit}: "
            + (unusable[0] if unusable else "this fit has no error model")
            + "; refit it for intervals"
        )
    truth = None
    if args.schedule is not None:
        schedule = parse_schedule(args.schedule)
        if args.steps is not None and args.steps != schedule.steps:
            schedule = schedule.with_steps(args.steps)
        total = schedule.steps + 1
        at = sorted(set(range(0, total, every)) | {total - 1})
        prediction = predict(result, schedule, at=at, interval=args.interval, params=args.params)
    else:
        prediction, truth = _predict_log(args, result)
    io.write_csv_atomic(prediction.to_frame(), args.out)
    line = (
        f"{prediction.name}: predicted loss {prediction.final_loss:.4f} at step "
        f"{int(prediction.step[-1])}"
    )
    if prediction.lower is not None:
        line += (
            f" ({level_label(prediction.level)} interval {prediction.lower[-1]:.4f} to "
            f"{prediction.upper[-1]:.4f})"
        )
    print(line)
    if truth is not None and truth[0] is not None:
        _report_truth(prediction, truth)
    print(f"wrote {args.out} ({prediction.step.size} rows)", file=sys.stderr)
    for w in prediction.warnings:
        print(f"warning: {w}", file=sys.stderr)
    if args.plot:
        from scalefit.plot import plot_predictions

        observed = [truth[0] if truth else None]
        io.save_figure(plot_predictions([prediction], observed), args.plot)
        print(f"wrote {args.plot}", file=sys.stderr)
    return 0


def _predict_log(args: argparse.Namespace, result):
    """The prediction at the steps of --schedule-csv, and the run it logged if it has a loss."""
    from scalefit import predict

    run = _common.one_run(
        args.schedule_csv, _common.read_runs(args, args.schedule_csv, with_loss=None)
    )
    _common.say_how_read([run], args.loss_column is None)
    schedule = run.schedule
    prediction = predict(
        result,
        schedule.lr,
        at=schedule.step,
        warmup_steps=schedule.warmup_steps,
        interval=args.interval,
        params=args.params,
    ).renamed(schedule.name)
    return prediction, (run.curve, run.loss_column)


def _report_truth(prediction, truth) -> None:
    """How close the prediction is to the loss the schedule's log holds (stdout)."""
    from scalefit import CurveMetrics, InputError

    curve, column = truth
    try:
        metrics = prediction.compare(curve)
    except ValueError as err:
        raise InputError(f"{curve.source}: {err}") from None
    print(f"against the loss logged in {curve.source} ({column!r}, the rows after warm-up):")
    print(CurveMetrics.table([metrics]))
