"""The bundled data sets the benchmarks fit and score: which curves a law is fitted on, which are
held out, the rows each held-out curve is scored on, and what kind of schedule each one is.

* ``25M``, ``400M``: the multi-power-law curves on their paper's split (fitted on
  ``cosine_24000 + constant_24000 + wsdcon_9``, the six others held out);
* ``124M@1e-3``, ``124M@1e-4``, ``124M@3e-3``: the lr-scheduling runs of the 124M model at each
  bundled peak LR, fitted on the constant run and the 20 % linear WSD run of 25k steps (of 50k at
  3e-3, which has no 25k run), every other run held out; a run under ``grad_norm/`` only where no
  run outside it has the same settings. A held-out run is scored on its own rows (``segment``
  0: a WSD run resumed from the constant run repeats the constant run's rows before its
  cooldown) after warm-up.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from scalefit import Curve, io

DATA = Path(__file__).resolve().parents[1] / "data"
MULTIPOWER_FIT_ON = ("cosine_24000", "constant_24000", "wsdcon_9")
SETS = ("25M", "400M", "124M@1e-3", "124M@1e-4", "124M@3e-3")
LR_SETS = {"124M@1e-3": 1e-3, "124M@1e-4": 1e-4, "124M@3e-3": 3e-3}


@dataclass(frozen=True)
class DataSet:
    """A set's curves: ``fit_on`` (fitted whole), ``held_out`` (whole, by name), ``scored``
    (each held-out curve at the rows it is scored on), ``kinds`` (each held-out curve's kind of
    schedule) and ``final`` (the real final loss the ranking is judged on, where known)."""

    name: str
    fit_on: list[Curve]
    held_out: dict[str, Curve]
    scored: dict[str, Curve]
    kinds: dict[str, str]
    final: dict[str, float]


def data_set(name: str, column: str = "val_loss") -> DataSet:
    """The set ``name`` (one of :data:`SETS`); the 124M runs' losses from ``column``."""
    if name in LR_SETS:
        return _lr_scheduling(name, LR_SETS[name], column)
    folder = DATA / "multipower-law" / name
    curves = {p.stem: io.read_curve(p) for p in sorted(folder.glob("*.csv"))}
    held = {n: c for n, c in curves.items() if n not in MULTIPOWER_FIT_ON}
    return DataSet(
        name,
        [curves[n] for n in MULTIPOWER_FIT_ON],
        held,
        {n: c.after_warmup() for n, c in held.items()},
        {n: _multipower_kind(n) for n in held},
        {n: float(c.loss[-1]) for n, c in held.items()},
    )


def _multipower_kind(name: str) -> str:
    if name.startswith("wsdcon"):
        return "two-stage"
    if name.startswith("wsd"):
        return "wsd"
    return name.split("_")[0]  # constant, cosine


def runs(peak: float) -> pd.DataFrame:
    """The 124M runs at ``peak``, one per setting, by short name (``wsd-linear-0.2-25k``)."""
    if peak == 1e-3:
        table = pd.read_csv(DATA / "lr-scheduling-124m" / "manifest.csv")
        table["folder"] = "lr-scheduling-124m"
    else:
        table = pd.read_csv(DATA / "lr-scheduling-sweep" / "manifest.csv")
        table = table[(table.params == 123587328) & np.isclose(table.peak_lr, peak)].copy()
        table["folder"] = "lr-scheduling-sweep"
    table["name"] = [_run_name(r) for r in table.itertuples()]
    table["grad_norm"] = table.csv.str.contains("grad_norm/")
    table = table.sort_values("grad_norm").drop_duplicates("name")  # outside grad_norm/ first
    return table.set_index("name").sort_index()


def _run_name(row) -> str:
    k = f"{row.iterations // 1000}k"
    if "stable" in row.csv:
        return f"constant-{k}"
    if row.scheduler == "cos":
        return f"cosine-to-{'10%' if 'cos-10' in row.csv else '0'}-{k}"
    shape = "sqrt" if "decay_sqrt" in row.csv else "linear"
    return f"wsd-{shape}-{row.cooldown_frac:g}-{k}"


def _run_kind(name: str) -> str:
    if name.startswith(("constant", "cosine")):
        return name.split("-")[0]
    fraction = float(name.split("-")[2])
    return "wsd, short cooldown" if fraction <= 0.2 else "wsd, long cooldown"


def _lr_scheduling(name: str, peak: float, column: str) -> DataSet:
    table = runs(peak)
    fit_names = ("constant-50k", "wsd-linear-0.2-25k" if peak != 3e-3 else "wsd-linear-0.2-50k")
    curves, scored = {}, {}
    for run, row in table.iterrows():
        path = DATA / row.folder / row.csv
        curve = io.read_curve(path, loss_column=column, name=run)
        curves[run] = curve
        own = pd.read_csv(path, usecols=["step", "segment"])
        steps = own.step[own.segment == 0].to_numpy()
        keep = np.isin(curve.step, steps) & (curve.step >= curve.warmup_steps)
        scored[run] = replace(curve, step=curve.step[keep], loss=curve.loss[keep])
    held = [n for n in table.index if n not in fit_names]
    return DataSet(
        name,
        [curves[n] for n in fit_names],
        {n: curves[n] for n in held},
        {n: scored[n] for n in held},
        {n: _run_kind(n) for n in held},
        {n: float(table.loc[n, "final_val_loss_fullset"]) for n in held},
    )
