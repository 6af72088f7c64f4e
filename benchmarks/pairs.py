"""Did a change make a command faster? Processes of the working tree and of an earlier revision,
alternating back to back.

    python benchmarks/pairs.py --against REV [--pairs 8] [--cold] -- COMMAND [ARGS ...]

for instance (the loading-ahead change of 2026-12-02, measured against the commit before it):

    python benchmarks/pairs.py --against b6978d7 -- fit data/multipower-law/400M/cosine_24000.csv \\
        data/multipower-law/400M/constant_24000.csv data/multipower-law/400M/wsdcon_9.csv \\
        --law multipower --out /tmp/fit.json

This development machine's speed drifts by half within an hour, more than most changes README
reports, so a change is judged on pairs: ``scalefit COMMAND ARGS`` as a process of REV (checked
out in a temporary git worktree and put first on ``PYTHONPATH``), then one of the working tree,
``--pairs`` times, each side with a program store of its own: warm (each store filled by two runs
first) unless ``--cold`` (each run with an empty store). Prints every pair, the medians and
ranges, and in how many pairs the working tree was the faster.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from speed import machine, timed_process  # benchmarks/speed.py

ROOT = Path(__file__).resolve().parents[1]


def command() -> list[str]:
    """``scalefit`` without the current folder on the module path (it would shadow REV)."""
    exe = shutil.which("scalefit")
    return [exe] if exe else [sys.executable, "-P", "-m", "scalefit.cli"]


def imported_from(env: dict[str, str]) -> Path:
    code = "import scalefit; print(scalefit.__file__)"
    out = subprocess.run(
        [sys.executable, "-P", "-c", code], env=env, capture_output=True, text=True, check=True
    )
    return Path(out.stdout.strip()).parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", required=True, help="the git revision to compare with")
    parser.add_argument("--pairs", type=int, default=8)
    parser.add_argument("--cold", action="store_true", help="every run with an empty store")
    parser.add_argument("args", nargs=argparse.REMAINDER, help="-- then scalefit's arguments")
    args = parser.parse_args()
    given = args.args[1:] if args.args[:1] == ["--"] else args.args
    if not given:
        parser.error("give the scalefit command to time after --")
    print(machine())
    with tempfile.TemporaryDirectory(prefix="scalefit-pairs-") as tmp:
        before = Path(tmp) / "before"
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(before), args.against],
            check=True,
            capture_output=True,
        )
        try:
            path = os.pathsep.join(filter(None, [str(before), os.environ.get("PYTHONPATH")]))
            sides = {
                args.against: {**os.environ, "PYTHONPATH": path},
                "working tree": dict(os.environ),
            }
            for name, env in sides.items():
                print(f"{name}: scalefit from {imported_from(env)}")
            times = run_pairs(sides, [*command(), *given], Path(tmp), args.pairs, args.cold)
        finally:
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(before)],
                capture_output=True,
            )
    old, new = times.values()
    faster = sum(b < a for a, b in zip(old, new))
    for name, values in times.items():
        print(
            f"{name:>14}: median {statistics.median(values):.2f} s "
            f"({min(values):.2f}-{max(values):.2f})"
        )
    print(f"the working tree was faster in {faster} of {len(new)} pairs")


def run_pairs(sides, cmd, tmp: Path, pairs: int, cold: bool) -> dict[str, list[float]]:
    stores = {name: tmp / f"store-{i}" for i, name in enumerate(sides)}
    if not cold:
        for name, env in sides.items():
            for _ in range(2):
                timed_process(cmd, {**env, "SCALEFIT_CACHE_DIR": str(stores[name])})
    times = {name: [] for name in sides}
    print(f"{'pair':>4}" + "".join(f"{name:>16}" for name in sides))
    for k in range(pairs):
        for name, env in sides.items():
            if cold:
                shutil.rmtree(stores[name], ignore_errors=True)
            seconds, _ = timed_process(cmd, {**env, "SCALEFIT_CACHE_DIR": str(stores[name])})
            times[name].append(seconds)
        print(f"{k + 1:>4}" + "".join(f"{times[name][-1]:>16.2f}" for name in sides), flush=True)
    return times


if __name__ == "__main__":
    main()
