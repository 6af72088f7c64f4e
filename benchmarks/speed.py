"""Speed of scalefit against the annealing-law paper's published procedure, as ratios in one run.

    python benchmarks/speed.py [--quick]

Part 1, fit speed of the whole process: synthetic per-step logs of a cosine and a constant run
(2 x 50k rows and 2 x 100k rows) are fitted by the paper's procedure written plainly
(``benchmarks/_reference.py``: pandas, a Python loop for the areas, L-BFGS-B with finite
differences from 54 starts) and by ``scalefit fit``, each as its own process, scalefit both with
an empty compilation cache (cold) and with the cache that run filled (warm). The objectives are
compared too: scalefit's must be no worse than the reference's.

Part 2, schedule areas of a 1M-step WSD schedule: Python loops (the published one, and one over
plain floats), ``np.cumsum`` alone (the floor: one pass over the LRs) and scalefit's jitted
``forward_area`` + ``annealing_area`` in float64, alone and batched over 16 schedules.

``--quick`` skips the 2 x 100k case. The tables are plain text, ready for the README.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _reference as ref  # benchmarks/_reference.py, next to this script
import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import scipy
from _machine import cpu
from scipy.signal import lfilter

from scalefit.areas import DEFAULT_DECAY, annealing_area, forward_area
from scalefit.schedules import parse_schedule

HERE = Path(__file__).resolve().parent

# The synthetic runs: the annealing law with realistic parameters, the paper's lambda.
TRUE_PARAMS = {"L0": 2.6, "A": 0.6, "alpha": 0.55, "C": 0.8}
NOISE = 0.004
SEED = 20240821
SCHEDULES = {
    "cosine": "cosine:peak=3e-4,steps={n},warmup=2000,final=3e-5",
    "constant": "constant:peak=3e-4,steps={n},warmup=2000",
}
FIT_SIZES = {"2x50k": 50_000, "2x100k": 100_000}

AREA_STEPS = 1_000_000
AREA_BATCH = 16
AREA_REPEATS = 30


# ------------------------------------------------------------------------------------ helpers


def per_step_lr(spec: str) -> np.ndarray:
    """The LR of each trained step ``0 .. T-1`` of a schedule of budget ``T``."""
    return parse_schedule(spec).lr()[:-1]


def machine() -> str:
    return (
        f"machine: {cpu()} ({platform.machine()}, {platform.system()}); "
        f"python {platform.python_version()}, jax {jax.__version__} "
        f"({jax.default_backend()}), numpy {np.__version__}, scipy {scipy.__version__}, "
        f"pandas {pd.__version__}; {datetime.date.today().isoformat()}"
    )


def timed_process(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, str]:
    """Wall-clock seconds of a whole process, and its stdout; stops the script if it fails."""
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr}")
    return seconds, proc.stdout


def no_worse(value: float, reference: float) -> bool:
    """The bar: ``value`` within a relative 1e-9 (or an absolute 1e-9) of ``reference`` or lower."""
    return value <= reference * (1 + 1e-9) or abs(value - reference) <= 1e-9


# ------------------------------------------------------------------------- part 1: fit speed


def write_curves(folder: Path, n_steps: int) -> list[Path]:
    """Per-step logs (``step,lr,loss``) of the cosine and constant runs; one CSV each.

    The loss is the annealing law (warm-up counted at the peak, lambda = 0.999), computed here
    with numpy and scipy (not with scalefit or the reference), times exp(0.004 N(0, 1)): a
    multiplicative, log-normal noise keeps every loss positive, is the noise model that the
    objective on log residuals assumes, and 0.4 % is about the step-to-step scatter of a training
    loss averaged over a large batch; the seed is fixed so that every run fits the same data.
    """
    rng = np.random.default_rng(SEED)
    p = TRUE_PARAMS
    paths = []
    for name, spec in SCHEDULES.items():
        lr = per_step_lr(spec.format(n=n_steps))
        eta = np.where(np.arange(n_steps) < 2000, lr[2000], lr)  # warm-up counted at the peak
        s1 = np.cumsum(eta)
        decrease = np.concatenate([[0.0], eta[:-1] - eta[1:]])
        s2 = np.cumsum(lfilter([1.0], [1.0, -DEFAULT_DECAY], decrease))  # m_i = λ m_{i-1} + d_i
        law = p["L0"] + p["A"] * s1 ** -p["alpha"] - p["C"] * s2
        loss = law * np.exp(NOISE * rng.standard_normal(n_steps))
        path = folder / f"{name}_{n_steps}.csv"
        pd.DataFrame({"step": np.arange(n_steps), "lr": lr, "loss": loss}).to_csv(path, index=False)
        paths.append(path)
    return paths


def run_reference(paths: list[Path]) -> tuple[float, dict]:
    cmd = [sys.executable, str(HERE / "_reference.py"), *map(str, paths)]
    seconds, stdout = timed_process(cmd)
    return seconds, json.loads(stdout.strip().splitlines()[-1])


def scalefit_command() -> list[str]:
    exe = shutil.which("scalefit")
    return [exe] if exe else [sys.executable, "-m", "scalefit.cli"]


def run_scalefit(paths: list[Path], out: Path, cache_dir: Path) -> tuple[float, dict]:
    env = {**os.environ, "SCALEFIT_CACHE_DIR": str(cache_dir)}
    # The reference fits every row, warm-up included: so does scalefit here, to compare objectives.
    cmd = [*scalefit_command(), "fit", *map(str, paths), "--law", "annealing", "--include-warmup"]
    cmd += ["--out", str(out)]
    seconds, _ = timed_process(cmd, env)
    return seconds, json.loads(out.read_text())


def fit_speed(sizes: dict[str, int]) -> None:
    rows = []
    with tempfile.TemporaryDirectory(prefix="scalefit-speed-") as tmp:
        tmp = Path(tmp)
        for case, n_steps in sizes.items():
            paths = write_curves(tmp, n_steps)
            print(f"  {case}: reference ...", flush=True)
            ref_s, ref_fit = run_reference(paths)
            cache = tmp / f"cache-{case}"  # fresh and empty: the cold run compiles everything
            cache.mkdir()
            print(f"  {case}: scalefit cold, then warm ...", flush=True)
            cold_s, cold_fit = run_scalefit(paths, tmp / f"cold-{case}.json", cache)
            warm_s, warm_fit = run_scalefit(paths, tmp / f"warm-{case}.json", cache)
            # scalefit's parameters, scored by the reference's own code on the reference's data.
            data = ref.load([str(p) for p in paths])
            params = [warm_fit["params"][k] for k in ref.PARAM_NAMES]
            rows.append(
                {
                    "case": case,
                    "rows": 2 * n_steps,
                    "ref_s": ref_s,
                    "cold_s": cold_s,
                    "warm_s": warm_s,
                    "ref": ref_fit,
                    "cold": cold_fit,
                    "warm": warm_fit,
                    "sf_on_ref": ref.objective(params, *data),
                    "ref_on_ref": ref.objective(
                        [ref_fit["params"][k] for k in ref.PARAM_NAMES], *data
                    ),
                }
            )

    print("\nFit speed, whole process (wall clock; read CSVs, fit, write result)")
    print(
        f"{'case':<8}{'rows':>8}{'reference s':>13}{'scalefit cold s':>17}"
        f"{'scalefit warm s':>17}{'ref/cold':>10}{'ref/warm':>10}"
    )
    for r in rows:
        print(
            f"{r['case']:<8}{r['rows']:>8}{r['ref_s']:>13.2f}{r['cold_s']:>17.2f}"
            f"{r['warm_s']:>17.2f}{r['ref_s'] / r['cold_s']:>9.1f}x"
            f"{r['ref_s'] / r['warm_s']:>9.1f}x"
        )

    print(
        "\nObjective (sum of Huber(1e-3) of log residuals; lower is better; bar: scalefit's "
        "no worse than the reference's)"
    )
    print(
        f"{'case':<8}{'reference':>20}{'scalefit':>20}{'scalefit, ref code':>22}"
        f"{'rel. diff':>12}  bar"
    )
    for r in rows:
        ref_obj, sf_obj = r["ref"]["objective"], r["warm"]["objective"]
        ok = no_worse(sf_obj, ref_obj) and no_worse(r["sf_on_ref"], ref_obj)
        print(
            f"{r['case']:<8}{ref_obj:>20.12g}{sf_obj:>20.12g}{r['sf_on_ref']:>22.12g}"
            f"{(r['sf_on_ref'] - ref_obj) / ref_obj:>12.2e}  {'ok' if ok else 'WORSE'}"
        )

    print("\nParameters (true: " + ", ".join(f"{k} {v:g}" for k, v in TRUE_PARAMS.items()) + ")")
    for r in rows:
        for who, result in (("reference", r["ref"]), ("scalefit", r["warm"])):
            values = "  ".join(f"{k} {result['params'][k]:.6f}" for k in ref.PARAM_NAMES)
            print(f"{r['case']:<8}{who:<11}{values}")
        if r["cold"]["objective"] != r["warm"]["objective"]:
            print(
                f"{r['case']:<8}note: cold and warm scalefit objectives differ "
                f"({r['cold']['objective']!r} vs {r['warm']['objective']!r})"
            )
        if abs(r["ref_on_ref"] - r["ref"]["objective"]) > 1e-12 * abs(r["ref"]["objective"]):
            print(
                f"{r['case']:<8}note: the reference's objective re-evaluated here differs "
                f"({r['ref_on_ref']!r} vs {r['ref']['objective']!r})"
            )


# ----------------------------------------------------------------------- part 2: areas speed


def median_seconds(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def areas_speed(
    n_steps: int = AREA_STEPS, batch: int = AREA_BATCH, repeats: int = AREA_REPEATS
) -> None:
    """S1 and S2 of a WSD schedule of ``n_steps`` (linear decay over the last 20 %)."""
    lr = per_step_lr(f"wsd:peak=3e-4,steps={n_steps},decay=0.2,shape=linear")
    lrs = np.stack(
        [  # WSD schedules with cooldowns of 12.5 %, 15 %, 17.5 %, 20 % (= lr) ...
            per_step_lr(f"wsd:peak=3e-4,steps={n_steps},decay={0.125 + 0.025 * k:.3f},shape=linear")
            for k in range(batch)
        ]
    )
    assert np.array_equal(lrs[3], lr)

    loop_s = median_seconds(lambda: ref.areas(lr), 3)
    plain_s = median_seconds(lambda: ref.areas_plain(lr), 3)
    loop_s1, loop_s2 = ref.areas(lr)
    plain_s1, plain_s2 = ref.areas_plain(lr)
    cumsum_s = median_seconds(lambda: np.cumsum(lr), repeats)

    with jax.enable_x64(True):
        both = jax.jit(lambda x: (forward_area(x), annealing_area(x, DEFAULT_DECAY)))
        x, xs = jnp.asarray(lr), jnp.asarray(lrs)  # float64, already on the device
        start = time.perf_counter()
        one = both.lower(x).compile()
        compile_s = time.perf_counter() - start
        start = time.perf_counter()
        many = both.lower(xs).compile()
        compile_batch_s = time.perf_counter() - start
        jax.block_until_ready(one(x))  # warm up
        jax.block_until_ready(many(xs))
        sf_s = median_seconds(lambda: jax.block_until_ready(one(x)), repeats)
        batch_s = median_seconds(lambda: jax.block_until_ready(many(xs)), repeats)
        sf_s1, sf_s2 = (np.asarray(a) for a in one(x))
        bs1, bs2 = (np.asarray(a) for a in many(xs))

    d_s1 = np.max(np.abs(loop_s1 - sf_s1))
    d_s2 = np.max(np.abs(loop_s2 - sf_s2))
    d_plain = max(np.max(np.abs(plain_s1 - sf_s1)), np.max(np.abs(plain_s2 - sf_s2)))
    d_batch = max(np.max(np.abs(loop_s1 - bs1[3])), np.max(np.abs(loop_s2 - bs2[3])))
    per_schedule = batch_s / batch

    print(
        f"\nSchedule areas S1 and S2, {n_steps:,} steps of WSD (linear decay over the last "
        f"20 %), float64; median of {repeats} runs (loop: of 3)"
    )
    print(f"{'method':<46}{'ms':>10}{'loop / this':>13}{'this / cumsum':>15}")
    for name, seconds in (
        ("Python loop as published (m; cumsum S1, S2)", loop_s),
        ("plain Python loop over floats (S1, S2, m)", plain_s),
        ("np.cumsum(lr) alone (S1 only: the floor)", cumsum_s),
        ("scalefit forward_area + annealing_area, jit", sf_s),
        (f"  same, batched over {batch}: per schedule", per_schedule),
    ):
        print(
            f"{name:<46}{seconds * 1e3:>10.2f}{loop_s / seconds:>12.0f}x"
            f"{seconds / cumsum_s:>14.2f}x"
        )
    print(f"compile (excluded above): {compile_s:.2f} s single, {compile_batch_s:.2f} s batched")
    print(
        f"bars: loop / scalefit >= 100x: {'ok' if loop_s / sf_s >= 100 else 'MISSED'}; "
        f"scalefit / np.cumsum <= 5x: {'ok' if sf_s / cumsum_s <= 5 else 'MISSED'}"
    )
    print(
        f"max |loop - scalefit|: S1 {d_s1:.2e} (of {loop_s1.max():.4g}), "
        f"S2 {d_s2:.2e} (of {np.abs(loop_s2).max():.4g}); plain loop: {d_plain:.2e}; "
        f"batched, same schedule: {d_batch:.2e}"
    )


# ----------------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip the 2 x 100k case")
    parser.add_argument("--skip-fit", action="store_true", help="only time the areas")
    args = parser.parse_args()
    print(machine())
    if not args.skip_fit:
        sizes = {k: v for k, v in FIT_SIZES.items() if not (args.quick and k == "2x100k")}
        print(f"\nfitting {', '.join(sizes)} (the reference takes a minute or more per case) ...")
        fit_speed(sizes)
    areas_speed()


if __name__ == "__main__":
    main()
