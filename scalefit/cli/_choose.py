"""``scalefit choose``: rank schedules, search families, design one."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from scalefit.cli import _common

FAMILIES = ("wsd", "cosine", "linear", "polynomial", "rsqrt", "rex", "powerlaw")
"""What --family takes: :data:`scalefit.SEARCHABLE` (written out: importing the library to
build the parser would slow every command's start)."""

PLOT_HELP = (
    "draw the best schedules and their losses; with several --peak-lr, each family's predicted "
    "final loss against the peak LR (its LR sensitivity)"
)

EPILOG = """\
examples:
  # which of these schedules ends lowest? (specs and logged schedules, any budgets)
  scalefit choose fit.json --candidate "cosine:peak=3e-4,steps=24000,warmup=2160" \\
      --candidate "wsd:peak=3e-4,steps=24000,warmup=2160,decay=0.2" \\
      --candidate-csv planned.csv --at 12000 --out rank.csv
  # the best WSD and cosine settings for a budget, and a free-form schedule beating them
  scalefit choose fit.json --family wsd --family cosine --optimize \\
      --steps 24000 --peak-lr 3e-4 --warmup 2160 --schedule-out chosen.csv --plot chosen.png
  # the peak LR with the schedule, from a fit across peaks (scalefit fit --sweep); the plot:
  # each family's predicted final loss against the peak LR
  scalefit choose sweep-fit.json --family wsd --family cosine --peak-lr 1e-4:3e-3 \\
      --steps 50000 --warmup 300 --plot sensitivity.png
  # the newer families: polynomial power, rsqrt cooldown, REX beta, OLMo-core's power law
  scalefit choose fit.json --family polynomial --family rsqrt --family rex --family powerlaw \\
      --steps 24000 --peak-lr 3e-4 --warmup 2160

Families searched (--family; each with its own settings):
  wsd         cooldown fraction and final LR, per cooldown shape (linear, cosine, sqrt, exp)
  cosine      final LR
  linear      final LR
  polynomial  power and final LR
  rsqrt       cooldown fraction and final LR, per cooldown shape (linear, sqrt)
  rex         beta and final LR
  powerlaw    exponent b and tail fraction (final LR 0; needs --warmup >= 1)
Their spec grammar: scalefit predict --help.

Candidates are ranked by predicted final loss, best first. Predictions closer than the fit's own
error (its mean RMSE on the fitted curves; --tolerance to set it) are marked '~ best': the fit
cannot tell them apart. --optimize refuses an optimum that is an artefact of the law (the
annealing law's: hold the peak, drop to zero in a step or two) and says why.

Hand the chosen schedule (--schedule-out: step,lr) to a trainer:
  optax:  scalefit.schedules.to_optax(lr)        (a schedule: optax.adamw(to_optax(lr)))
  torch:  LambdaLR(optimizer, scalefit.schedules.to_lambda_lr(lr)), optimizer lr = peak
with lr = scalefit.io.read_schedule("chosen.csv").lr, or numpy.loadtxt on the lr column.
"""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "choose",
        help="rank schedules by predicted loss, search a family, or design one",
        description="Choose a learning-rate schedule before training, by the final loss a saved "
        "fit predicts: rank given candidates, find the best settings of a family (WSD cooldown "
        "fraction, shape and final LR; cosine or linear final LR; the polynomial, rsqrt, REX and "
        "power-law families' settings, listed below), or optimise the per-step LRs freely. "
        "Prints a ranking; optionally writes it, the best schedule and a plot.",
        epilog=EPILOG,
        formatter_class=_common.Formatter,
    )
    parser.add_argument("fit", type=Path, help="a fit written by `scalefit fit --out`")
    _common.add_group_option(parser)
    parser.add_argument(
        "--candidate", action="append", default=[], metavar="SPEC", help="a schedule spec (repeat)"
    )
    parser.add_argument(
        "--candidate-csv",
        action="append",
        default=[],
        type=Path,
        metavar="CSV",
        help="a schedule as a log with step and lr columns (CSV or any --log-format; repeat); "
        "where it has a loss column too, how close the prediction is to it is also shown",
    )
    parser.add_argument("--loss-column", help="loss column of the --candidate-csv logs")
    _common.add_format_option(parser, "--candidate-csv")
    parser.add_argument(
        "--family",
        action="append",
        default=[],
        choices=FAMILIES,
        help="search this family's best settings (repeat; needs --steps, --peak-lr)",
    )
    parser.add_argument(
        "--optimize",
        action="store_true",
        help="design free per-step LRs (non-increasing after warm-up, at most the peak) "
        "minimising the predicted final loss, from the best WSD schedule",
    )
    parser.add_argument("--steps", type=int, help="budget for --family and --optimize")
    parser.add_argument(
        "--peak-lr",
        metavar="LR",
        help="peak LR for --family and --optimize; several (1e-4,3e-4,1e-3) or a range "
        "(1e-4:3e-3, tried at 7 log-spaced peaks, the best refined) to choose the peak with the "
        "schedule, from a fit across peak LRs",
    )
    parser.add_argument(
        "--params",
        type=float,
        metavar="N",
        help="the model size to choose for, from a fit across sizes (default: the fitted size)",
    )
    parser.add_argument(
        "--warmup",
        "--warmup-steps",
        dest="warmup",
        type=int,
        help="warm-up steps for --family and --optimize (default 0)",
    )
    parser.add_argument("--iterations", type=int, help="Adam steps of --optimize (default 1000)")
    parser.add_argument(
        "--at",
        action="append",
        default=[],
        help="also report the predicted loss at these steps (comma-separated; repeat)",
    )
    parser.add_argument(
        "--tolerance",
        type=float,
        help="predicted losses closer than this are ties (default: the fit's mean RMSE)",
    )
    parser.add_argument("--out", type=Path, help="write the ranking as CSV")
    parser.add_argument(
        "--schedule-out", type=Path, help="write the best schedule as CSV (step,lr)"
    )
    parser.add_argument("--plot", type=Path, help=PLOT_HELP)


def run(args: argparse.Namespace) -> int:
    import scalefit
    from scalefit import io

    _common.guard_outputs(
        [args.fit, *args.candidate_csv], args, "--out", "--schedule-out", "--plot"
    )
    warmup, iterations = _checked_design(args)
    at = sorted({step for text in args.at for step in _common.parse_steps(text)})
    result = io.load_fit(args.fit, group=args.group)
    _common.check_size(result, args.params, args.fit)
    candidates: list = list(args.candidate)
    logged_runs = []
    for path in args.candidate_csv:
        runs = _common.read_runs(args, path, with_loss=None)
        logged = _common.one_run(path, runs)
        _common.say_how_read([logged], args.loss_column is None)
        schedule = logged.schedule
        candidates.append(scalefit.Candidate(str(path), schedule.lr, schedule.warmup_steps))
        if logged.curve is not None:
            logged_runs.append((str(path), logged))
    design = {"steps": args.steps, "warmup": warmup, "params": args.params}
    designed, by_peak, warnings = _designed(args, result, design, iterations)
    candidates.extend(designed)
    ranking = scalefit.rank(result, candidates, at=at, tolerance=args.tolerance, params=args.params)
    warnings = list(dict.fromkeys([*ranking.warnings, *warnings]))
    print(f"Schedules ranked by the final loss the {result.law} law predicts ({args.fit}):")
    print(ranking.table())
    if logged_runs:
        _report_logged(result, logged_runs)
    _write_outputs(args, result, ranking, by_peak)
    for w in warnings:
        print(f"warning: {w}", file=sys.stderr)
    return 0


def _checked_design(args: argparse.Namespace) -> tuple[int, int]:
    """The warm-up and iterations of a design (--family, --optimize), once its options are
    checked: each given only where it means something, and within its range."""
    from scalefit import InputError

    designing = bool(args.family or args.optimize)
    if not (args.candidate or args.candidate_csv or designing):
        raise InputError(
            "nothing to choose from: give --candidate, --candidate-csv, --family or --optimize"
        )
    if not designing:
        for option in ("--steps", "--peak-lr", "--warmup", "--iterations"):
            if _common.given(args, option) is not None:
                raise InputError(f"{option}: only with --family or --optimize")
    if not args.optimize and args.iterations is not None:
        raise InputError("--iterations: only with --optimize")
    warmup = 0 if args.warmup is None else args.warmup
    iterations = 1000 if args.iterations is None else args.iterations
    if designing and (args.steps is None or args.peak_lr is None):
        raise InputError("--family and --optimize need --steps and --peak-lr")
    if designing and not (args.steps >= 1 and warmup >= 0):
        raise InputError(f"--steps must be >= 1 and --warmup >= 0, not {args.steps}, {warmup}")
    if designing:
        args.peaks = _common.parse_peaks(args.peak_lr)

    if args.optimize and iterations < 1:
        raise InputError(f"--iterations must be >= 1, not {iterations}")
    return warmup, iterations


def _designed(args: argparse.Namespace, result, design: dict, iterations: int):
    """The schedules the families' searches and the free design found, each family's ranking
    of peaks (where several were tried), and their warnings."""
    import scalefit

    families = list(dict.fromkeys(args.family))
    if args.optimize and "wsd" not in families:
        families.append("wsd")  # the designed schedule starts from the best WSD one
    found, wsd_best, warnings, by_peak = [], None, [], {}
    for family in families:
        if len(args.peaks) > 1:
            searched = scalefit.search_peaks(result, family, peaks=args.peaks, **design)
            by_peak[family] = searched
        else:
            searched = scalefit.search_family(result, family, peak=args.peaks[0], **design)
        print(f"searched {family}: best {searched.best.name}", file=sys.stderr)
        found.extend(searched.choices)
        wsd_best = searched.best if family == "wsd" else wsd_best
        warnings.extend(searched.warnings)
    if args.optimize:
        peak = float(wsd_best.lr.max())  # the best WSD schedule's peak, where several were tried
        try:
            optimized = scalefit.optimize_schedule(
                result, start=wsd_best, iterations=iterations, peak=peak, **design
            )
        except scalefit.DegenerateOptimum as err:
            raise scalefit.DegenerateOptimum(f"{args.fit}: {err}") from None
        found.append(next(c for c in optimized.choices if c.name == "optimized"))
        warnings.extend(optimized.warnings)
    return found, by_peak, warnings


def _write_outputs(args: argparse.Namespace, result, ranking, by_peak: dict) -> None:
    """--out (the ranking), --schedule-out (the best schedule), --plot (the best six, or each
    family's LR sensitivity where several peaks were tried)."""
    import numpy as np
    import pandas as pd

    from scalefit import io

    if args.out:
        io.write_csv_atomic(ranking.to_frame(), args.out)
        print(f"wrote {args.out}", file=sys.stderr)
    best = ranking.best
    if args.schedule_out:
        frame = pd.DataFrame({"step": np.arange(best.lr.size), "lr": best.lr})
        io.write_csv_atomic(frame, args.schedule_out)
        print(
            f"wrote {args.schedule_out}: {best.name} (step,lr; for a trainer: "
            "scalefit.schedules.to_optax / to_lambda_lr, see --help)",
            file=sys.stderr,
        )
    if args.plot:
        figure = (_sensitivity if by_peak else _best_six)(args, result, ranking, by_peak)
        io.save_figure(figure, args.plot)
        print(f"wrote {args.plot}", file=sys.stderr)


def _best_six(args: argparse.Namespace, result, ranking, by_peak: dict):
    """The predicted losses of the six best schedules, at up to a thousand steps each."""
    import numpy as np

    from scalefit import predict
    from scalefit.plot import plot_predictions

    top = ranking.choices[:6]
    every = max(1, max(c.lr.size for c in top) // 1000)
    preds = [
        predict(
            result,
            c.lr,
            at=np.r_[np.arange(0, c.lr.size, every), c.lr.size - 1],
            warmup_steps=c.warmup_steps,
            params=args.params,
        ).renamed(c.name)
        for c in top
    ]
    return plot_predictions(preds, title="predicted loss of the best schedules")


def _sensitivity(args: argparse.Namespace, result, ranking, by_peak: dict):
    """Each family's predicted final loss against the peak LR (with the 90 % interval where
    the fit has an error model)."""
    from scalefit.plot import plot_lr_sensitivity

    interval = 0.9 if result.uncertainty is not None else None
    return plot_lr_sensitivity(result, by_peak, params=args.params, interval=interval)


def _report_logged(result, logged_runs: list) -> None:
    """How close the predictions are to the losses the candidate logs hold (stdout)."""
    from scalefit import CurveMetrics, predict

    metrics = []
    for name, run in logged_runs:
        schedule = run.schedule
        prediction = predict(
            result, schedule.lr, at=schedule.step, warmup_steps=schedule.warmup_steps
        ).renamed(name)
        metrics.append(prediction.compare(run.curve.after_warmup()))
    print("\nPredictions against the losses the candidate logs hold (rows after warm-up):")
    print(CurveMetrics.table(metrics))
