"""Candidates for the default law, scored by the protocol written beforehand in
``benchmarks/README.md`` ("Choosing the next default law: the protocol").

Each law (default: the default law and the two candidates, ``multipower-proportional`` and
``relaxation``) is fitted on the fit curves of each set and scored on the curves held out:

* choice sets: the multi-power-law 25M curves (fit on ``cosine_24000 + constant_24000 +
  wsdcon_9``, the six others held out) and the 124M runs at peak 1e-3 (``lr-scheduling-124m``,
  ``val_loss``: fit on the constant run and the 20 % linear WSD run of 25k steps, the 31 others
  held out);
* confirmation sets: 400M (as 25M), and the 124M runs at peaks 1e-4 (fit pair as at 1e-3) and
  3e-3 (no 25k-step run: the constant run and the 20 % linear WSD run of 50k steps) from
  ``lr-scheduling-sweep`` (a run outside ``csv/grad_norm/`` where a configuration has both).

A 124M run is scored on its ``val_loss`` rows after warm-up whose ``segment`` is 0 (rows copied
from the run it was resumed from repeat what was fitted). Per law and set: mean held-out PredE
(each run alike) and mean WorstE; on 124M also the PredE of every row after warm-up (as
``accuracy_124m.py`` scores) and of the 50k-step runs alone, and the Spearman correlation of the
predicted final loss of the held-out 50k-step runs (the constant run aside) with their real final
validation loss on the full set (the manifests' ``final_val_loss_fullset``); the fit objective on
the fit curves, and the fitted parameters. Lines print as each fit is scored; the tables and the
protocol's verdict come at the end.

    python benchmarks/candidates.py [--laws L ...] [--sets 25M 124M@1e-3 400M 124M@1e-4 124M@3e-3]
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from scalefit import Curve, fit, io, predict, predict_curves
from scalefit.laws import DEFAULT_LAW, get_law

ROOT = Path(__file__).resolve().parents[1] / "data"
CANDIDATES = ("multipower-proportional", "relaxation")
CHOICE = ("25M", "124M@1e-3")
CONFIRMATION = ("400M", "124M@1e-4", "124M@3e-3")
PAPER_FIT_ON = ("cosine_24000", "constant_24000", "wsdcon_9")
FIT_PAIRS = {  # per peak of the 124M runs: the two runs fitted
    1e-3: ("constant-50k", "wsd-linear-0.2-25k"),
    1e-4: ("constant-50k", "wsd-linear-0.2-25k"),
    3e-3: ("constant-50k", "wsd-linear-0.2-50k"),
}
MARGIN = 0.03  # the rule's: a candidate's PredE at most 97 % of the default's on both choice sets
SIZE_124M = 123587328


@dataclass(frozen=True)
class Split:
    """Curves to fit, curves to score (their scored rows only), and the runs to rank: name to
    ``(per-step LRs, real final validation loss)``."""

    fit_on: list[Curve]
    held_out: list[Curve]
    every_row: list[Curve]  # the held-out curves at every row after warm-up (124M only)
    ranked: dict[str, tuple[np.ndarray, float]]


def multipower_split(size: str) -> Split:
    folder = ROOT / "multipower-law" / size
    held = [io.read_curve(folder / f"{n}.csv") for n in io.MULTIPOWER_HELD_OUT]
    fit_on = [io.read_curve(folder / f"{n}.csv") for n in PAPER_FIT_ON]
    return Split(fit_on, held, [], {})


def run_name(csv: str, scheduler: str, decay: str, fraction: float, steps: int) -> str:
    """``constant-50k``, ``cosine-to-10%-50k``, ``wsd-linear-0.2-25k`` (as ``accuracy_124m.py``)."""
    base, k = csv.rsplit("/", 1)[-1], f"{steps // 1000}k"
    if base.startswith("stable"):
        return f"constant-{k}"
    if scheduler == "cos":
        return f"cosine-to-{'10%' if base.startswith('cos-10') else '0'}-{k}"
    return f"wsd-{decay}-{fraction:g}-{k}"


def runs_124m(peak: float) -> pd.DataFrame:
    """The 124M runs at ``peak``, one per configuration (outside ``csv/grad_norm/`` if there is
    one), by name, with the folder they are in."""
    folder = ROOT / ("lr-scheduling-124m" if peak == 1e-3 else "lr-scheduling-sweep")
    table = pd.read_csv(folder / "manifest.csv")
    table = table[(table.params == SIZE_124M) & np.isclose(table.peak_lr, peak)].copy()
    table["name"] = [
        run_name(r.csv, r.scheduler, r.decay_type, r.cooldown_frac, r.iterations)
        for r in table.itertuples()
    ]
    table["folder"] = str(folder)
    table = table.sort_values("csv", key=lambda c: c.str.startswith("csv/grad_norm/"))
    return table.drop_duplicates("name").set_index("name")


def own_rows(curve: Curve, path: Path) -> Curve:
    """The curve's rows after warm-up that its own run logged (``segment`` 0)."""
    frame = pd.read_csv(path, usecols=["step", "segment"])
    own = frame.step[frame.segment == 0].to_numpy()
    curve = curve.after_warmup()
    keep = np.isin(curve.step, own)
    return replace(curve, step=curve.step[keep], loss=curve.loss[keep])


def split_124m(peak: float) -> Split:
    table = runs_124m(peak)
    paths = {n: Path(r.folder) / r.csv for n, r in table.iterrows()}
    curves = {n: io.read_curve(p, loss_column="val_loss", name=n) for n, p in paths.items()}
    fit_on = FIT_PAIRS[peak]
    held = [n for n in table.index if n not in fit_on]
    ranked = [n for n in held if table.iterations[n] == 50000 and not n.startswith("constant")]
    return Split(
        [curves[n] for n in fit_on],
        [own_rows(curves[n], paths[n]) for n in held],
        [curves[n].after_warmup() for n in held],
        {n: (curves[n].lr, float(table.final_val_loss_fullset[n])) for n in ranked},
    )


def load(name: str) -> Split:
    if name.startswith("124M@"):
        return split_124m(float(name.removeprefix("124M@")))
    return multipower_split(name)


def mean_errors(result, curves: list[Curve]) -> tuple[float, float]:
    """Mean PredE and mean WorstE over ``curves``, each curve weighing alike."""
    metrics = [p.compare(c) for p, c in zip(predict_curves(result, curves), curves)]
    return float(np.mean([m.pred_e for m in metrics])), float(np.mean([m.worst_e for m in metrics]))


def score(law: str, split: Split) -> dict[str, object]:
    start = time.perf_counter()
    result = fit(split.fit_on, law, uncertainty=False)
    row: dict[str, object] = {"objective": result.objective, "converged": result.converged}
    row["PredE"], row["WorstE"] = mean_errors(result, split.held_out)
    row["params"] = result.params
    if split.ranked:
        row["PredE every row"] = mean_errors(result, split.every_row)[0]
        long = [c for c in split.held_out if c.name in split.ranked]
        row["PredE 50k"] = mean_errors(result, long)[0]
        predicted = [
            predict(result, lr, at=[lr.size - 1]).final_loss for lr, _ in split.ranked.values()
        ]
        real = [final for _, final in split.ranked.values()]
        row["Spearman"] = float(spearmanr(predicted, real).statistic)
    row["seconds"] = time.perf_counter() - start
    return row


def describe(law: str, name: str, row: dict[str, object]) -> str:
    extra = ""
    if "Spearman" in row:
        extra = (
            f"  every row {row['PredE every row']:.5f}  50k {row['PredE 50k']:.5f}"
            f"  Spearman {row['Spearman']:.3f}"
        )
    params = ", ".join(f"{k} {v:.4g}" for k, v in row["params"].items())
    return (
        f"{law:<24}{name:<11} PredE {row['PredE']:.5f}  WorstE {row['WorstE']:.5f}{extra}"
        f"  objective {row['objective']:.4e}{'' if row['converged'] else ' (not converged)'}"
        f"  ({row['seconds']:.0f} s)\n    {params}"
    )


def verdict(rows: dict[tuple[str, str], dict[str, object]], laws: list[str]) -> str:
    """The protocol's rule, applied to the figures (``benchmarks/README.md``)."""
    default, c1, c2 = DEFAULT_LAW, *CHOICE
    need = [(law, s) for law in [default, *laws] for s in CHOICE]
    if any(key not in rows for key in need):
        return "no verdict: the default law and each candidate must be scored on both choice sets"
    base = {s: rows[default, s]["PredE"] for s in CHOICE}
    lines, chosen = [], []
    for law in laws:
        ratios = {s: rows[law, s]["PredE"] / base[s] for s in CHOICE}
        ranks = rows[law, c2]["Spearman"] >= rows[default, c2]["Spearman"]
        converged = all(rows[law, s]["converged"] for s in CHOICE)
        ok = all(r <= 1 - MARGIN for r in ratios.values()) and ranks and converged
        lines.append(
            f"  {law}: PredE / default's {ratios[c1]:.3f} ({c1}), {ratios[c2]:.3f} ({c2}); "
            f"Spearman {rows[law, c2]['Spearman']:.3f} against "
            f"{rows[default, c2]['Spearman']:.3f}; fits converged: {converged} -> "
            + ("qualifies" if ok else "does not qualify")
        )
        if ok:
            chosen.append((np.mean(list(ratios.values())), get_law(law).n_params, law))
    if not chosen:
        return "\n".join([*lines, f"verdict: keep the default ({default})"])
    pick = min(chosen)[2]
    lines.append(f"chosen: {pick}")
    scored = [s for s in CONFIRMATION if (pick, s) in rows and (default, s) in rows]
    if len(scored) < len(CONFIRMATION):
        return "\n".join([*lines, "confirmation: not every confirmation set was scored"])
    better = [s for s in scored if rows[pick, s]["PredE"] < rows[default, s]["PredE"]]
    confirmed = len(better) >= 2
    lines.append(
        f"confirmation: lower PredE than the default on {len(better)} of 3 ({', '.join(better)})"
        + (f" -> switch the default to {pick}" if confirmed else " -> keep the default")
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--laws", nargs="+", default=[DEFAULT_LAW, *CANDIDATES])
    parser.add_argument("--sets", nargs="+", default=[*CHOICE, *CONFIRMATION])
    args = parser.parse_args()
    laws = list(dict.fromkeys(args.laws))
    rows = {}
    for name in args.sets:
        split = load(name)
        print(
            f"\n== {name}: fitted on {' + '.join(c.name for c in split.fit_on)}, "
            f"{len(split.held_out)} held out, {len(split.ranked)} ranked",
            flush=True,
        )
        for law in laws:
            rows[law, name] = score(law, split)
            print(describe(law, name, rows[law, name]), flush=True)
    captions = {
        "PredE": "mean held-out PredE",
        "WorstE": "mean held-out WorstE",
        "Spearman": "Spearman of the held-out 50k-step runs' final losses",
        "objective": "fit objective on the fit curves",
    }
    for figure, caption in captions.items():
        print(f"\n{caption}")
        print(f"{'law':<24}" + "".join(f"{s:>12}" for s in args.sets))
        for law in laws:
            cells = [rows[law, s].get(figure) for s in args.sets]
            print(
                f"{law:<24}"
                + "".join(
                    f"{'-':>12}"
                    if v is None
                    else f"{v:>12.4e}"
                    if figure == "objective"
                    else f"{v:>12.5f}"
                    if figure != "Spearman"
                    else f"{v:>12.3f}"
                    for v in cells
                )
            )
    candidates = [law for law in laws if law != DEFAULT_LAW]
    print("\nThe protocol's rule (benchmarks/README.md)\n" + verdict(rows, candidates))


if __name__ == "__main__":
    main()
