"""``scalefit demo``: fit two bundled curves, predict seven others."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from scalefit.cli import _common


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="fit two bundled real curves and predict seven held-out ones",
        description="Fit the default law to two real curves bundled with scalefit "
        "(cosine_24000, constant_24000 of the 25M- or 400M-parameter runs of Luo et al.), predict "
        "the seven other schedules of the same model, print how close the predictions are, and "
        "draw them.",
        formatter_class=_common.Formatter,
    )
    parser.add_argument("--size", choices=("25M", "400M"), default="25M", help="model size")
    parser.add_argument(
        "--plot", type=Path, default=Path("scalefit-demo.png"), help="where to draw the predictions"
    )


def run(args: argparse.Namespace) -> int:
    import time

    from scalefit import CurveMetrics, InputError, fit, io, predict_curves
    from scalefit.laws import DEFAULT_LAW
    from scalefit.plot import plot_predictions

    start = time.perf_counter()
    _common.guard_outputs([], args, "--plot")
    folder = io.bundled_data("multipower-law") / args.size
    if not folder.is_dir():
        raise InputError(f"{folder}: bundled curves not found")
    fit_on = ["cosine_24000", "constant_24000"]
    held_out = [*io.MULTIPOWER_HELD_OUT, "wsdcon_9"]
    curves = {name: io.read_curve(folder / f"{name}.csv") for name in fit_on + held_out}
    print(
        f"Fitting the {DEFAULT_LAW} law to the {args.size} runs {' + '.join(fit_on)} "
        f"(Luo et al. 2025 data)\n"
    )
    result = fit([curves[n] for n in fit_on])
    print(result.summary(warnings=False))
    predictions = predict_curves(result, [curves[n] for n in held_out])
    print(f"\nPredicting the {len(held_out)} schedules the fit never saw:\n")
    print(
        CurveMetrics.table([p.compare(curves[n]) for p, n in zip(predictions, held_out)], mean=True)
    )
    io.save_figure(
        plot_predictions(
            predictions,
            [curves[n] for n in held_out],
            title=f"{args.size}: fitted on {' + '.join(fit_on)}",
        ),
        args.plot,
    )
    seconds = time.perf_counter() - start
    print(f"\nwrote {args.plot}", file=sys.stderr)
    for w in result.warnings:
        print(f"warning: {w}", file=sys.stderr)
    print(
        f"reading, fitting, predicting and drawing took {seconds:.1f} s (compiling included, "
        "the start of Python and JAX not)",
        file=sys.stderr,
    )
    return 0
