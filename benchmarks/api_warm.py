"""The library pays its compile once: the first ``scalefit.fit`` of a Python process that ran the
same kind of fit before, against the warm command line.

Both use one program store (a fresh folder): a first process fills it (cold), then, in turn,
``--repeats`` fresh Python processes time their first ``scalefit.fit`` call (imports and reading
the logs not counted), and as many ``scalefit fit`` commands are timed as whole processes. Also
the same first fit with the store switched off (every program traced and compiled).

    python benchmarks/api_warm.py [--law L] [--repeats 5] [--size 400M]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from scalefit.laws import DEFAULT_LAW

DATA = Path(__file__).resolve().parents[1] / "data" / "multipower-law"
CURVES = ("cosine_24000", "constant_24000", "wsdcon_9")

FIRST_FIT = """
import json, sys, time
import scalefit
from scalefit import io
curves = [io.read_curve(p) for p in sys.argv[2:]]
start = time.perf_counter()
scalefit.fit(curves, sys.argv[1])
print(json.dumps({"seconds": time.perf_counter() - start}))
"""


def first_fit(paths: list[str], law: str, env: dict[str, str]) -> float:
    """Seconds of the first ``scalefit.fit`` in a fresh Python process."""
    out = subprocess.run(
        [sys.executable, "-c", FIRST_FIT, law, *paths],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])["seconds"]


def command(paths: list[str], law: str, env: dict[str, str], out: Path) -> float:
    """Seconds of a whole ``scalefit fit`` process."""
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "scalefit.cli", "fit", *paths, "--law", law, "--out", str(out)],
        env=env,
        capture_output=True,
        check=True,
    )
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--law", default=DEFAULT_LAW)
    parser.add_argument("--size", default="400M", choices=("25M", "400M"))
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    paths = [str(DATA / args.size / f"{n}.csv") for n in CURVES]
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "SCALEFIT_CACHE_DIR": str(Path(tmp) / "programs")}
        cold = first_fit(paths, args.law, env)
        command(paths, args.law, env, Path(tmp) / "fit.json")  # the command's own programs
        library, cli = [], []
        for _ in range(args.repeats):  # interleaved: a slow spell hits both alike
            library.append(first_fit(paths, args.law, env))
            cli.append(command(paths, args.law, env, Path(tmp) / "fit.json"))
        off = first_fit(paths, args.law, {**os.environ, "SCALEFIT_CACHE_DIR": ""})
    lib, cmd = statistics.median(library), statistics.median(cli)
    print(f"{args.law} law, {args.size} paper curves, medians of {args.repeats} processes")
    print(f"first scalefit.fit, store filled by an earlier process: {lib:.2f} s")
    print(f"first scalefit.fit, no store (compiling):              {off:.2f} s")
    print(f"first scalefit.fit, the process that filled the store:  {cold:.2f} s")
    print(f"scalefit fit, whole process, warm:                      {cmd:.2f} s")
    print(f"ratio library / command: {lib / cmd:.2f}")


if __name__ == "__main__":
    main()
