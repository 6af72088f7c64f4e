"""Speed of a multi-power-law fit as a whole process, on the curves its paper fits.

    python benchmarks/speed_multipower.py [--sizes 400M 25M] [--repeats 3] [--law multipower]

Runs ``scalefit fit --law multipower`` on the 400M (and 25M) ``cosine_24000 + constant_24000 +
wsdcon_9`` logs bundled in ``data/multipower-law`` (Luo et al., ICLR 2025: the curves their
Table 1 fits), each fit its own process: once with an empty program store (cold: every program
compiled), then ``--repeats`` times with the store that run filled (warm: the median is
reported). The process reads the CSVs, fits (multi-start, then the error model's refits) and
writes the fit as JSON. The held-out PredE of the warm fit on the six other curves is printed
too, so that speed is never bought with accuracy.

The accuracy issue's bar is 30 times faster than the authors' reference implementation, which
their issue puts at about 60 s for the 400M set on a machine like this one: at most 2 s. That
implementation (135 L-BFGS-B starts on a simplified law, then AdamW) is not bundled and cannot be
fetched here, so it is not run: the ratio printed is against the 60 s the issue states.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np
from speed import machine, scalefit_command, timed_process  # benchmarks/speed.py

from scalefit import Fit, io, predict

DATA = Path(__file__).resolve().parents[1] / "data" / "multipower-law"
FIT_ON = ("cosine_24000", "constant_24000", "wsdcon_9")
REFERENCE_SECONDS = 60.0  # the issue's figure for the authors' implementation, 400M
BAR_RATIO = 30.0


def held_out_pred_e(size: str, fit: Fit) -> float:
    curves = [io.read_curve(DATA / size / f"{n}.csv") for n in io.MULTIPOWER_HELD_OUT]
    return float(np.mean([predict(fit, c).compare(c).pred_e for c in curves]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=["400M", "25M"])
    parser.add_argument("--repeats", type=int, default=3, help="warm runs per size (median)")
    parser.add_argument(
        "--law", default="multipower", help="multipower, or multipower-fixed (shape held)"
    )
    args = parser.parse_args()
    print(machine())
    print(f"law: {args.law}")
    print(
        f"\n{'size':<6}{'cold s':>9}{'warm s':>9}{'60 s / warm':>13}{'bar':>7}"
        f"{'objective':>14}{'held-out PredE':>16}"
    )
    for size in args.sizes:
        paths = [str(DATA / size / f"{n}.csv") for n in FIT_ON]
        with tempfile.TemporaryDirectory(prefix="scalefit-mpl-speed-") as tmp:
            env = {**os.environ, "SCALEFIT_CACHE_DIR": str(Path(tmp) / "programs")}
            out = Path(tmp) / "fit.json"
            cmd = [*scalefit_command(), "fit", *paths, "--law", args.law, "--out", str(out)]
            cold, _ = timed_process(cmd, env)
            warm = statistics.median(timed_process(cmd, env)[0] for _ in range(args.repeats))
            fit = Fit.from_dict(json.loads(out.read_text()))
        ratio = REFERENCE_SECONDS / warm
        print(
            f"{size:<6}{cold:>9.2f}{warm:>9.2f}{ratio:>12.1f}x"
            f"{'ok' if ratio >= BAR_RATIO else 'MISSED':>7}{fit.objective:>14.6g}"
            f"{held_out_pred_e(size, fit):>16.5f}",
            flush=True,
        )
    print(
        f"\nwarm: median of {args.repeats} processes with a filled program store; the reference "
        f"is the issue's {REFERENCE_SECONDS:.0f} s (not run here)",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
