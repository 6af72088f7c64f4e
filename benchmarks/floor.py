"""How low can the accuracy bars go? Each law fitted on the curves it is scored on.

A fit that sees the curves it is scored on shows the law's own misfit of them, a floor that a fit
made without them should not be expected to beat. (Not a strict bound: a fit minimises its
objective, not PredE, so a fit on more curves can score lower on these, as the default law does
at 25M.) For every law (or ``--laws``):

* the bundled multipower-law curves, at 25M and 400M: mean PredE on the six curves the
  multi-power-law paper holds out, (a) held out (fitted on its three curves, the accuracy issue's
  bar), (b) fitted on all nine curves, the six included, (c) fitted on the six alone; and the
  paper's three curves plus ``cosine_72000`` (a slow decay three times longer than the others)
  against the paper's three, scored on the five curves left (does a long decay in the fit help?);
* lr-scheduling-124m, ``val_loss``: the Spearman rank correlation of the nine 50k-step runs'
  predicted final losses with their real final validation losses (the accuracy issue's ranking
  bar, >= 0.8), (a) held out (fitted on the constant run and the 20 %-WSD run of 25k steps), (b)
  fitted on all 33 runs, (c) fitted on the nine runs themselves.

    python benchmarks/floor.py [--laws multipower-fixed annealing] [--skip-124m]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

from scalefit import Curve, Fit, fit, io, predict
from scalefit.laws import DEFAULT_LAW, LAWS

sys.path.insert(0, str(Path(__file__).resolve().parent))
from accuracy import DATA, SIX, SPLITS  # noqa: E402
from accuracy_124m import FIT_ON as FIT_ON_124M  # noqa: E402
from accuracy_124m import ranked_runs, read_runs, runs  # noqa: E402

PAPER = SPLITS["paper"][0]
LONG = "cosine_72000"


def mean_pred_e(result: Fit, curves: dict[str, Curve], scored: list[str]) -> float:
    return float(np.mean([predict(result, curves[n]).compare(curves[n]).pred_e for n in scored]))


def fit_note(result: Fit, curves: dict[str, Curve], fit_on: list[str]) -> str:
    """The fit's parameters and the signed error of the 72k-step runs' last predicted loss."""
    params = ", ".join(f"{k} {v:.4g}" for k, v in result.params.items())
    ends = ", ".join(
        f"{n} {100 * (predict(result, curves[n]).final_loss / curves[n].loss[-1] - 1):+.2f} %"
        for n in ("constant_72000", LONG)
    )
    return f"fitted on {len(fit_on)}: {params}; last loss {ends}"


def bundled(law: str, size: str) -> tuple[dict[str, float], list[str]]:
    """Mean PredE of each fit on the curves it is scored on (keys as the table's columns), and a
    note per fit."""
    curves = {p.stem: io.read_curve(p) for p in sorted((DATA / size).glob("*.csv"))}
    five = [n for n in SIX if n != LONG]
    fits = {"paper": PAPER, "nine": list(curves), "six": SIX, "long": [*PAPER, LONG]}
    results = {k: fit([curves[n] for n in v], law, uncertainty=False) for k, v in fits.items()}
    scores = {
        "held out": mean_pred_e(results["paper"], curves, SIX),
        "all nine": mean_pred_e(results["nine"], curves, SIX),
        "the six": mean_pred_e(results["six"], curves, SIX),
        "five": mean_pred_e(results["paper"], curves, five),
        "five, long": mean_pred_e(results["long"], curves, five),
    }
    return scores, [fit_note(results[k], curves, fits[k]) for k in fits]


def ranking_124m(law: str) -> dict[str, float]:
    table = runs()
    curves = read_runs(table)
    nine = ranked_runs(table)
    real = nine["final_val_loss_fullset"].to_numpy()

    def rho(fit_on: list[str]) -> float:
        result = fit([curves[n] for n in fit_on], law, uncertainty=False)
        predicted = [predict(result, curves[n].lr).final_loss for n in nine.index]
        return float(spearmanr(predicted, real).statistic)

    return {
        "held out": rho(FIT_ON_124M),
        "all 33": rho(list(curves)),
        "the nine": rho(list(nine.index)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--laws", nargs="+", choices=sorted(LAWS), default=[DEFAULT_LAW, "multipower", "annealing"]
    )
    parser.add_argument("--skip-124m", action="store_true")
    args = parser.parse_args()
    print("Mean PredE on the six held-out curves of the multi-power-law paper's split")
    print(
        f"{'law':<18}{'size':<6}{'held out':>10}{'all nine':>10}{'the six':>10}   "
        f"five others: paper's three -> + {LONG}"
    )
    for law in args.laws:
        for size in ("25M", "400M"):
            start = time.perf_counter()
            r, notes = bundled(law, size)
            print(
                f"{law:<18}{size:<6}{r['held out']:>10.5f}{r['all nine']:>10.5f}"
                f"{r['the six']:>10.5f}   {r['five']:.5f} -> {r['five, long']:.5f}"
                f"   ({time.perf_counter() - start:.0f} s)",
                flush=True,
            )
            for note in notes:
                print(f"    {note}")
    if args.skip_124m:
        return
    print("\nlr-scheduling-124m, val_loss: Spearman of the nine 50k-step runs' predicted final")
    print("losses against their real final validation losses (bar >= 0.8)")
    print(f"{'law':<18}{'held out':>10}{'all 33':>10}{'the nine':>10}")
    for law in args.laws:
        start = time.perf_counter()
        r = ranking_124m(law)
        print(
            f"{law:<18}{r['held out']:>10.3f}{r['all 33']:>10.3f}{r['the nine']:>10.3f}"
            f"   ({time.perf_counter() - start:.0f} s)",
            flush=True,
        )


if __name__ == "__main__":
    main()
