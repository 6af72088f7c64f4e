"""Did a change make a command faster? Processes of the working tree and of an earlier revision,
alternating back to back.

    python benchmarks/pairs.py --against REV [--pairs 8] [--cold] -- COMMAND [ARGS ...]

for instance (the loading-ahead change of 2026-12-02, measured against the commit before it):

    python benchmarks/pairs.py --against b6978d7 -- fit data/multipower-law/400M/cosine_24000.csv \\
        data/multipower-law/400M/constant_24000.csv data/multipower-law/400M/wsdcon_9.csv \\
        --law multipower --out /tmp/fit.json

This development machine's speed drifts by half within an hour, more than most changes README
reports, so a change is judged on pairs: ``python -P -m scalefit.cli COMMAND ARGS`` as a process
of REV (checked out in a temporary git worktree, put first on ``PYTHONPATH``) and one of this
checkout's working tree (put first likewise), back to back, the order alternating, ``--pairs``
times, each side with a program store of its own: warm (each store filled by two runs first)
unless ``--cold`` (each run with an empty store). Prints every pair, the medians and ranges, and
in how many pairs the working tree was the faster. Python 3.11 or later (``-P``).

Its own noise, measured (2026-12-02, the free-law 400M fit above, eight pairs, a slow spell):
``--against HEAD`` with a clean working tree, the same code on both sides, gave medians of
2.22 s (HEAD) and 2.27 s (working tree), the working tree faster in 2 of 8. A difference of
0.05-0.1 s, or 6 of 8 pairs, is not a change.
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


COMMAND = [sys.executable, "-P", "-m", "scalefit.cli"]  # -P: the current folder would shadow REV


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
    if args.pairs < 1:
        parser.error("--pairs must be at least 1")
    if sys.version_info < (3, 11):
        parser.error("needs Python 3.11 or later (python -P)")
    print(machine())
    with tempfile.TemporaryDirectory(prefix="scalefit-pairs-") as tmp:
        before = Path(tmp) / "before"
        git = ["git", "-C", str(ROOT), "worktree"]
        added = subprocess.run(
            [*git, "add", "--detach", str(before), args.against], capture_output=True, text=True
        )
        if added.returncode != 0:
            parser.error(f"--against {args.against}: {added.stderr.strip()}")
        try:
            sides = {args.against: before, "working tree": ROOT}
            envs = {}
            for name, source in sides.items():
                path = os.pathsep.join(filter(None, [str(source), os.environ.get("PYTHONPATH")]))
                envs[name] = {**os.environ, "PYTHONPATH": path}
                found = imported_from(envs[name])
                if found.resolve() != source.resolve():
                    sys.exit(f"{name}: scalefit imports from {found}, not {source}")
                print(f"{name}: scalefit from {found}")
            times = run_pairs(envs, [*COMMAND, *given], Path(tmp), args.pairs, args.cold)
        finally:
            removed = subprocess.run([*git, "remove", "--force", str(before)], capture_output=True)
            if removed.returncode != 0:
                subprocess.run([*git, "prune"], capture_output=True)
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
        order = list(sides) if k % 2 == 0 else list(sides)[::-1]  # neither side always first
        for name in order:
            if cold:
                shutil.rmtree(stores[name], ignore_errors=True)
            env = {**sides[name], "SCALEFIT_CACHE_DIR": str(stores[name])}
            times[name].append(timed_process(cmd, env)[0])
        print(f"{k + 1:>4}" + "".join(f"{times[name][-1]:>16.2f}" for name in sides), flush=True)
    return times


if __name__ == "__main__":
    main()
