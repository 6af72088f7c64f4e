"""``scalefit forecast``: the rest of a run in flight, from its log so far."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from scalefit.cli import _common

EPILOG = """\
examples:
  scalefit forecast run_so_far.csv --schedule "cosine:peak=3e-4,steps=72000,warmup=2160" \\
      --out forecast.csv --plot forecast.png
  scalefit forecast run_so_far.csv --schedule-csv planned_lrs.csv --interval 0.8

The law (by default the one `scalefit fit` uses) is fitted on every loss logged after warm-up, with
the LRs the log shows; the rest of the run follows the plan. A forecast is refused (exit 2, with
the reason) when the log cannot determine the rest: the plan decays and nothing logged has yet, a
parameter of the fit sits on its bound, or the interval at the end spans more than 5 % of the
loss; --prior FIT.json (a fit of earlier runs of the same setup) lends what the log lacks. The
interval (the documentation's
"Intervals and diagnostics" page) widens the further the plan runs past the logged part. With half
of a 72k-step run logged, the final loss of the bundled constant and cosine runs is forecast within
0.9 %; from halfway through the cooldown of the 25M and 400M WSD runs, within 0.3 %
(benchmarks/forecast.py).
"""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "forecast",
        help="forecast the rest of a run in flight from its log so far",
        description="Fit a law on the losses a run has logged so far and predict the rest of "
        "its planned schedule, with an interval; print the forecast at a few steps.",
        epilog=EPILOG,
        formatter_class=_common.Formatter,
    )
    parser.add_argument("csv", type=Path, help="the run's log so far (CSV)")
    _common.add_schedule_source(
        parser,
        "the whole run's planned schedule, as a spec",
        "the whole run's planned schedule, as a step,lr CSV",
    )
    _common.add_law(parser, forecast=True)
    _common.add_log_options(parser)
    _common.add_interval(parser, 0.9, "level of the prediction interval")
    parser.add_argument(
        "--prior",
        type=Path,
        metavar="FIT.json",
        help="a fit of earlier runs of the same setup and law (`scalefit fit --out`): the "
        "parameters the log cannot determine yet (how the loss answers a decay, before one is "
        "logged) are borrowed from it, with their errors",
    )
    parser.add_argument("--every", type=int, default=100, help="write every K-th step")
    parser.add_argument(
        "--out", type=Path, help="write the forecast (step,lr,loss,loss_lo,loss_hi)"
    )
    parser.add_argument("--fit-out", type=Path, help="write the fit on the logged part (JSON)")
    parser.add_argument("--plot", type=Path, help="draw the log, the forecast and its band")


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from scalefit import InputError, forecast, io
    from scalefit.schedules import parse_schedule

    inputs = [args.csv, *(p for p in (args.schedule_csv, args.prior) if p is not None)]
    _common.guard_outputs(inputs, args, "--out", "--fit-out", "--plot")
    _common.check_level(args.interval)
    if args.every < 1:
        raise InputError(f"--every must be >= 1, not {args.every}")
    (run,) = _common.read_logs(args, [args.csv])
    if args.schedule is not None:
        plan = parse_schedule(args.schedule).lr()
    else:
        plan = io.read_schedule(args.schedule_csv).lr
    at = np.array(sorted(set(range(0, plan.size, args.every)) | {plan.size - 1}))
    prior = None if args.prior is None else io.load_fit(args.prior)
    result = forecast(
        run,
        plan,
        law=args.law,
        interval=args.interval,
        at=at,
        prior=prior,
        skip_warmup=not args.include_warmup,
    )
    print(result.summary())
    print(result.table())
    for w in result.warnings:
        print(f"warning: {w}", file=sys.stderr)
    if args.out:
        io.write_csv_atomic(result.prediction.to_frame(), args.out)
        print(f"wrote {args.out} ({at.size} rows)", file=sys.stderr)
    if args.fit_out:
        io.save_fit(result.fit, args.fit_out)
        print(f"wrote {args.fit_out}", file=sys.stderr)
    if args.plot:
        from scalefit.plot import plot_predictions

        figure = plot_predictions(
            [result.prediction],
            [run],
            title=f"{run.name}: forecast from step {result.logged_until}",
            logged_until=result.logged_until,
        )
        io.save_figure(figure, args.plot)
        print(f"wrote {args.plot}", file=sys.stderr)
    return 0
