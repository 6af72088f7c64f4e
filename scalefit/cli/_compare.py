"""``scalefit compare``: fit laws on some curves, score them on the others."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from scalefit.cli import _common

EPILOG = """\
example:
  scalefit compare data/multipower-law/400M/*.csv \\
      --fit-on cosine_24000 constant_24000 wsdcon_9 --out compare.csv --plot compare.png
"""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "compare",
        help="fit every law on some curves and score their predictions of the others",
        description="Fit each law on the --fit-on curves, predict the held-out ones, and print "
        "a table per held-out curve and law (PredE, WorstE, R2, MAE, RMSE): how to choose the "
        "law to trust on your own runs.",
        epilog=EPILOG,
        formatter_class=_common.Formatter,
    )
    parser.add_argument(
        "csv",
        nargs="+",
        type=Path,
        help="training logs (CSV or any --log-format; a log of several runs gives a curve each)",
    )
    parser.add_argument(
        "--fit-on",
        nargs="+",
        required=True,
        metavar="NAME",
        help="curves to fit on: file names without .csv, paths, or the start of one name "
        "(stable-124m for stable-124m_slimpajama_...)",
    )
    parser.add_argument(
        "--test-on",
        nargs="+",
        metavar="NAME",
        help="held-out curves, named as for --fit-on (default: every other one)",
    )
    parser.add_argument(
        "--laws",
        help="comma-separated laws to compare (default: every law the fitted runs can "
        "determine: laws across peak LRs or model sizes only for runs at several)",
    )
    _common.add_log_options(parser)
    parser.add_argument(
        "--interval",
        type=float,
        default=0.9,
        metavar="LEVEL",
        help="score each law's prediction interval at this level: the share of held-out rows "
        "inside it (columns 'in band', coverage) and its mean relative width; 0: none",
    )
    parser.add_argument("--out", type=Path, help="also write the table as CSV")
    parser.add_argument("--plot", type=Path, help="draw predictions over the held-out curves")


def run(args: argparse.Namespace) -> int:
    import pandas as pd

    from scalefit import CurveMetrics, InputError, compare_laws, io
    from scalefit._uncertainty import level_label

    _common.guard_outputs(list(args.csv), args, "--out", "--plot")
    laws = None
    if args.laws is not None:
        laws = [law.strip() for law in args.laws.split(",") if law.strip()]
        if not laws:
            raise InputError(f"--laws: no law named (known: {', '.join(_common.law_names())})")
    if args.interval:
        _common.check_level(args.interval)
    fit_on, test_on = _split(args)
    results = compare_laws(
        fit_on,
        test_on,
        laws,
        interval=args.interval or None,
        skip_warmup=not args.include_warmup,
    )
    print(f"Fitted on {' + '.join(c.name for c in fit_on)}; held out: {len(test_on)} curve(s)\n")
    rows = []
    for law, result in results.items():
        print(f"{law}: " + ", ".join(f"{k} {v:.5g}" for k, v in result.fit.params.items()))
        print(CurveMetrics.table(result.metrics, mean=True))
        print()
        for w in result.fit.warnings:
            print(f"warning ({law}): {w}", file=sys.stderr)
        for prediction in result.predictions:
            for w in prediction.warnings:
                print(f"warning ({law}, {prediction.name}): {w}", file=sys.stderr)
        rows += [_row(law, m) for m in result.metrics]
    ranking = sorted(results.items(), key=lambda kv: kv[1].mean_pred_e)
    print("mean held-out PredE: " + ", ".join(f"{law} {r.mean_pred_e:.5f}" for law, r in ranking))
    if args.interval:
        print(
            f"share of held-out rows in the {level_label(args.interval)} interval: "
            + ", ".join(f"{law} {r.mean_coverage:.3f}" for law, r in ranking)
        )
    if args.out:
        io.write_csv_atomic(pd.DataFrame(rows), args.out)
        print(f"wrote {args.out}", file=sys.stderr)
    if args.plot:
        from scalefit.plot import plot_comparison

        predictions = {law: r.predictions for law, r in results.items()}
        io.save_figure(plot_comparison(predictions, test_on), args.plot)
        print(f"wrote {args.plot}", file=sys.stderr)
    return 0


def _split(args: argparse.Namespace) -> tuple[list, list]:
    """The curves to fit on and those held out, as --fit-on and --test-on name them."""
    from scalefit import InputError

    curves, by_path = {}, {}
    for path, read in _common.read_logs(args, by_path=True):
        if path.resolve() in by_path:  # the same file (or a link to it)
            raise InputError(f"{path}: given twice")
        for curve in read:
            if curve.name in curves:
                raise InputError(f"{path}: a second curve named {curve.name!r}")
            curves[curve.name] = curve
        if len(read) == 1:
            by_path[path.resolve()] = read[0].name

    def pick(given: list[str], option: str) -> list:
        names = [_common.curve_named(n, list(curves), option, by_path) for n in given]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise InputError(f"{option}: {', '.join(twice)} named more than once")
        return [curves[n] for n in names]

    fit_on = pick(args.fit_on, "--fit-on")
    test_on = (
        pick(args.test_on, "--test-on")
        if args.test_on
        else [c for c in curves.values() if all(c is not f for f in fit_on)]
    )
    if any(c is f for c in test_on for f in fit_on):
        raise InputError("--test-on: a curve cannot be both fitted on and held out")
    return fit_on, test_on


def _row(law: str, m) -> dict[str, object]:
    """A row of --out: a law's metrics on one held-out curve."""
    row = {
        "law": law,
        "curve": m.name,
        "rows": m.rows,
        "pred_e": m.pred_e,
        "worst_e": m.worst_e,
        "r2": m.r2,
        "mae": m.mae,
        "rmse": m.rmse,
    }
    return row | ({"coverage": m.coverage, "width": m.width} if m.coverage is not None else {})
