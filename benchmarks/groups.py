"""Fitting a law to each group of a sweep at once: a hundred groups against one, whole processes.

    python benchmarks/groups.py [--groups N] [--rows R] [--repeats K] [--law L]
                                [--distinct-schedules] [--device-report]

A synthetic sweep of N groups (default 100), each of two runs (a constant LR and a cosine decay
to a tenth, warm-up 250 steps, a loss logged at each of R steps, default 5,000), drawn from the
law fitted (default: the default law; or ``annealing``) with each group's own parameters (drawn
at random, seeded) and a log-normal noise of 0.3 %. The CSVs and two sweep files go to a
temporary folder: ``all.csv`` (every group; a column ``group``) and ``one_group.csv`` (the
first group's two runs). Timed, as whole processes of this checkout's command line, with the
same options:

    scalefit fit --sweep one_group.csv --out one.json
    scalefit fit --sweep all.csv --group-by group --out all.json

warm (the program store filled by a first run of each; then K runs of each, alternating; the
medians) and cold (each with an empty store). The ratio of the medians is what a hundred groups
cost against one. Each group's fit is then compared with the parameters it was drawn from.
Last, where the time goes: ``scalefit.fit_groups`` in process, warm, on one group and on all,
with and without the error model (a CPU steps the groups one after another: the arithmetic of a
hundred groups is a hundred times one group's).

By default every group runs the same two schedules (as groups by size or by seed do): their
features are computed once. ``--distinct-schedules`` gives each group its own peak LR instead,
so that no two groups share a schedule. ``--device-report`` prints JAX's devices and stops.
Timings depend on the machine and on what else runs on it: the load averages are printed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from _machine import cpu  # benchmarks/_machine.py, next to this script

ROOT = Path(__file__).resolve().parents[1]  # the checkout whose scalefit is timed
SEED = 20250101
NOISE = 0.003
WARMUP = 250
PEAK = 1e-3
# Each group's parameters: drawn uniformly between these bounds, per law.
TRUTH = {
    "multipower-proportional": {
        "L0": (2.2, 2.8),
        "A": (0.6, 1.2),
        "alpha": (0.3, 0.5),
        "B": (200.0, 400.0),
    },
    "annealing": {"L0": (2.2, 2.8), "A": (0.4, 0.8), "alpha": (0.4, 0.6), "C": (0.5, 1.5)},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--groups", type=int, default=100, help="groups in the sweep")
    parser.add_argument("--rows", type=int, default=5000, help="logged steps of each run")
    parser.add_argument("--repeats", type=int, default=3, help="warm runs of each command")
    parser.add_argument("--law", choices=sorted(TRUTH), help="law drawn from and fitted")
    parser.add_argument("--distinct-schedules", action="store_true", help="a peak LR per group")
    parser.add_argument("--device-report", action="store_true", help="print jax.devices()")
    args = parser.parse_args()
    import jax

    if args.device_report:
        print(f"jax {jax.__version__}, backend {jax.default_backend()}: {jax.devices()}")
        return
    from scalefit.laws import DEFAULT_LAW

    law = args.law or DEFAULT_LAW
    print(machine(jax))
    with tempfile.TemporaryDirectory(prefix="scalefit-groups-") as tmp:
        folder = Path(tmp)
        start = time.perf_counter()
        truth = write_sweep(folder, law, args.groups, args.rows, args.distinct_schedules)
        print(
            f"sweep: {args.groups} groups x 2 runs x {args.rows} rows, {law} law "
            f"({'a peak LR per group' if args.distinct_schedules else 'the same two schedules'}"
            f"), written in {time.perf_counter() - start:.1f} s"
        )
        options = [] if args.law is None else ["--law", law]
        one = ["--sweep", str(folder / "one_group.csv"), *options, "--out", str(folder / "1.json")]
        every = ["--sweep", str(folder / "all.csv"), "--group-by", "group", *options]
        every += ["--out", str(folder / "all.json")]
        timings(folder, one, every, args.repeats, args.groups)
        recovery(folder / "all.json", truth)
        in_process(folder / "all.csv", args.law)


def machine(jax) -> str:
    return (
        f"machine: {cpu()}; jax {jax.__version__}, backend "
        f"{jax.default_backend()}, devices {jax.devices()}; {load()}"
    )


def load() -> str:
    if not hasattr(os, "getloadavg"):
        return "load unknown"
    return "load averages (1, 5, 15 min): " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


def write_sweep(folder: Path, law_name: str, groups: int, rows: int, distinct: bool) -> dict:
    """The runs' CSVs and the two sweep files; each group's true parameters, by group name."""
    from scalefit import Fit
    from scalefit._features import evaluate, law_features  # the features once per schedule
    from scalefit.laws import get_law
    from scalefit.schedules import parse_schedule

    law = get_law(law_name)
    options = Fit.given(law, {n: lo for n, (lo, _) in TRUTH[law_name].items()}).law_options
    rng = np.random.default_rng(SEED)
    steps = np.arange(1, rows + 1)
    table, truth, features = [], {}, {}
    for g in range(groups):
        name = f"g{g:03d}"
        peak = PEAK * float(np.exp(rng.uniform(-0.7, 0.7))) if distinct else PEAK
        params = {n: float(rng.uniform(lo, hi)) for n, (lo, hi) in TRUTH[law_name].items()}
        truth[f"group={name}"] = params
        for kind, final in (("constant", ""), ("cosine", f",final={peak / 10:g}")):
            spec = f"{kind}:peak={peak:g},steps={rows + 1},warmup={WARMUP}{final}"
            lr = parse_schedule(spec).lr()[: rows + 1]
            if spec not in features:
                features[spec] = law_features(law, lr[None], steps[None], [WARMUP], options)
            vector = np.array([params[n] for n in law.param_names])
            loss = evaluate(law, vector, features[spec])[0]
            loss = loss * np.exp(NOISE * rng.standard_normal(loss.size))
            path = f"{name}_{kind}.csv"
            frame = pd.DataFrame({"step": steps, "lr": lr[steps], "loss": loss})
            frame.to_csv(folder / path, index=False)
            table.append({"path": path, "group": name})
    pd.DataFrame(table).to_csv(folder / "all.csv", index=False)
    pd.DataFrame(table[:2]).to_csv(folder / "one_group.csv", index=False)
    return truth


def timed(args: list[str], store: Path) -> float:
    """Wall-clock seconds of ``scalefit fit ARGS`` as a whole process of this checkout."""
    env = {**os.environ, "SCALEFIT_CACHE_DIR": str(store)}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    command = [sys.executable, "-m", "scalefit.cli", "fit", *args]
    start = time.perf_counter()
    proc = subprocess.run(command, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"{' '.join(command)} failed ({proc.returncode}):\n{proc.stderr}")
    return seconds


def timings(folder: Path, one: list[str], every: list[str], repeats: int, groups: int) -> None:
    print("cold (each with an empty program store) ...", flush=True)
    cold_one, cold_all = timed(one, folder / "cold-1"), timed(every, folder / "cold-all")
    print("warm (a shared store, filled by a first run of each; runs alternate) ...", flush=True)
    store = folder / "store"
    timed(one, store), timed(every, store)
    warm_one, warm_all = [], []
    for _ in range(repeats):
        warm_one.append(timed(one, store))
        warm_all.append(timed(every, store))
    one_s, all_s = statistics.median(warm_one), statistics.median(warm_all)
    print(f"\nWhole process, wall clock (s); {load()}")
    print(f"{'':<28}{'one group':>12}{f'{groups} groups':>12}{'ratio':>9}")
    print(f"{'cold':<28}{cold_one:>12.2f}{cold_all:>12.2f}{cold_all / cold_one:>8.2f}x")
    print(f"{f'warm (median of {repeats})':<28}{one_s:>12.2f}{all_s:>12.2f}{all_s / one_s:>8.2f}x")
    print(f"  warm runs: one group {fmt(warm_one)}; {groups} groups {fmt(warm_all)}")


def in_process(sweep_file: Path, law: str | None) -> None:
    """Where the time goes: ``fit_groups`` in this process, warm (the second of two calls), on
    one group and on every group, with and without the error model."""
    import scalefit
    from scalefit import io

    groups = io.read_sweep(sweep_file).groups("group")
    first = dict(list(groups.items())[:1])
    print("\nIn process, warm (the second call), seconds")
    print(f"{'':<14}{'no error model':>16}{'error model':>14}{'per group':>12}")
    for label, part in (("one group", first), (f"{len(groups)} groups", groups)):
        seconds = []
        for uncertainty in (False, True):
            scalefit.fit_groups(part, law, uncertainty=uncertainty)
            start = time.perf_counter()
            scalefit.fit_groups(part, law, uncertainty=uncertainty)
            seconds.append(time.perf_counter() - start)
        per_group = seconds[1] / len(part)
        print(f"{label:<14}{seconds[0]:>16.2f}{seconds[1]:>14.2f}{per_group:>12.3f}")


def fmt(values: list[float]) -> str:
    return ", ".join(f"{v:.2f}" for v in values)


def recovery(path: Path, truth: dict) -> None:
    """How far each group's fit lies from the parameters it was drawn from: relative errors,
    and in units of the fit's standard errors."""
    from scalefit import io

    fits = io.load_fits(path)
    names = list(next(iter(truth.values())))
    print(f"\nRecovery of each group's parameters ({len(fits)} groups; noise {NOISE:.1%})")
    print(f"{'param':<8}{'median |rel err|':>18}{'max |rel err|':>15}{'median |err|/se':>17}")
    for p in names:
        rel = [abs(fits[g].params[p] / truth[g][p] - 1) for g in truth]
        errors = [fits[g].standard_errors for g in truth]
        se = [abs(fits[g].params[p] - truth[g][p]) / e[p] for g, e in zip(truth, errors) if e]
        median_se = f"{statistics.median(se):>17.2f}" if se else f"{'-':>17}"
        print(f"{p:<8}{statistics.median(rel):>18.4f}{max(rel):>15.4f}{median_se}")
    converged = sum(f.converged for f in fits.values())
    pred_e = statistics.median(np.mean([m.pred_e for m in f.metrics]) for f in fits.values())
    print(f"converged: {converged} of {len(fits)}; median of the groups' mean PredE {pred_e:.5f}")


if __name__ == "__main__":
    main()
