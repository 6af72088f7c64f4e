"""Logs of any length: a fit of two per-step logs of 1,000,000 rows each, and a prediction of a
1,000,000-step schedule, as whole processes (peak memory and wall time from ``/usr/bin/time -v``).

The two logs follow the annealing law under a WSD and a cosine schedule, with 2 % noise
(``benchmarks/long_log.py``). The fit of all 2,000,000 rows (the default law) is compared with an
every-row fit of the same two logs thinned to every 10th row (200,000 rows): their predicted
losses of a fixed schedule, every 100th step. The prediction is ``scalefit predict`` with its
default options (every step written).

    python benchmarks/long_logs.py [--rows 1000000] [--keep FOLDER]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
SCHEDULES = {
    "wsd": "wsd:peak=3e-4,warmup=10000,steps={last},decay=0.2",
    "cosine": "cosine:peak=3e-4,warmup=10000,steps={last},final=3e-5",
}
FIXED = "wsd:peak=3e-4,warmup=10000,steps={last},decay=0.3,shape=sqrt"


def timed(command: list[str]) -> tuple[float, float, str]:
    """Seconds and peak resident MB of a whole process, and its stdout."""
    out = subprocess.run(
        ["/usr/bin/time", "-v", *command], capture_output=True, text=True, check=True
    )
    wall = re.search(r"Elapsed \(wall clock\) time .*: (?:(\d+):)?(\d+):([\d.]+)", out.stderr)
    hours, minutes, seconds = (float(x) if x else 0.0 for x in wall.groups())
    rss = float(re.search(r"Maximum resident set size \(kbytes\): (\d+)", out.stderr).group(1))
    return hours * 3600 + minutes * 60 + seconds, rss / 1024, out.stdout


def scalefit(*args: str) -> list[str]:
    return [sys.executable, "-m", "scalefit.cli", *args]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of each log")
    parser.add_argument("--keep", type=Path, help="keep the logs and fits in this folder")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp())
    folder.mkdir(parents=True, exist_ok=True)
    last = args.rows - 1
    logs, thinned = [], []
    for name, spec in SCHEDULES.items():
        path = folder / f"{name}.csv"
        if not path.exists():
            spec = spec.format(last=last)
            subprocess.run(
                [
                    sys.executable,
                    str(HERE / "long_log.py"),
                    str(path),
                    "--rows",
                    str(args.rows),
                    "--schedule",
                    spec,
                    "--noise",
                    "0.02",
                ],
                check=True,
            )
        frame = pd.read_csv(path)
        frame.iloc[::10].to_csv(folder / f"{name}_10.csv", index=False)
        logs.append(str(path))
        thinned.append(str(folder / f"{name}_10.csv"))
    fits = {}
    for label, files in (("every row", logs), ("every 10th row", thinned)):
        out = folder / f"fit_{label.split()[1]}.json"
        seconds, mb, _ = timed(scalefit("fit", *files, "--out", str(out)))
        fits[label] = out
        print(
            f"fit, {label} ({len(files)} x {args.rows // (1 if label == 'every row' else 10):,} "
            f"rows): {seconds:.1f} s, {mb:.0f} MB peak",
            flush=True,
        )
    fixed = FIXED.format(last=last)
    predicted = {}
    for label, path in fits.items():
        out = folder / f"pred_{label.split()[1]}.csv"
        subprocess.run(
            scalefit(
                "predict", str(path), "--schedule", fixed, "--every", "100", "--out", str(out)
            ),
            check=True,
            capture_output=True,
        )
        predicted[label] = pd.read_csv(out).loss.to_numpy()
    a, b = predicted["every row"], predicted["every 10th row"]
    ok = np.isfinite(a) & np.isfinite(b)
    gap = np.max(np.abs(a[ok] - b[ok]) / b[ok])
    print(f"predicted losses of {fixed}: largest relative gap {gap:.2e} (every 100th step)")
    spec = SCHEDULES["cosine"].format(last=last)
    out = folder / "predict_all_steps.csv"
    seconds, mb, _ = timed(
        scalefit("predict", str(fits["every row"]), "--schedule", spec, "--out", str(out))
    )
    print(f"predict {args.rows:,} steps (every step written): {seconds:.1f} s, {mb:.0f} MB peak")


if __name__ == "__main__":
    main()
