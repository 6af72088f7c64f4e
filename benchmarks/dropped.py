"""Ideas measured and dropped: the figures behind README's "Tried and dropped" list (accuracy).

Each idea is first judged on the fit curves, then scored once on the curves held out:

* ``later-rows``: fit from the 2,000th step after warm-up on (the early transient). A plain
  power law fitted to ``constant_24000`` alone, extrapolated to ``constant_72000``'s last row; then
  the laws on the multi-power-law paper's split: the fit curves' own test (fitted before step
  12,000, mean PredE of their rows from it on) and the mean held-out PredE, all rows -> later rows.
* ``drop-scaling``: a loss drop that shrinks as training progresses, with the shape held
  (C = 1, beta = gamma = 1/2): LD scaled by S1(t)^(-mu), mu fitted (it nests ``multipower-fixed``
  at mu = 0), and the multiplicative form L0 + A S1^(-alpha) (1 - B D(t)). Both splits, both sizes.
* ``noise-delta``: lr-scheduling-124m fitted on ``train_loss`` with a Huber delta scaled to its
  noise (1.345 x 4.4 %), Spearman of the nine 50k runs' predicted final losses against their real
  final validation losses.

    python benchmarks/dropped.py [later-rows | drop-scaling | noise-delta ...]
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import jax.numpy as jnp
import numpy as np
from scipy.optimize import least_squares
from scipy.stats import spearmanr

from scalefit import fit, io
from scalefit.curve import Curve
from scalefit.laws import hold, register
from scalefit.laws import multipower as mpl
from scalefit.predict import predict

sys.path.insert(0, str(Path(__file__).resolve().parent))
from accuracy import DATA, SIX, SPLITS  # noqa: E402
from accuracy_124m import DATA as DATA_124M  # noqa: E402
from accuracy_124m import FIT_ON as FIT_ON_124M  # noqa: E402
from accuracy_124m import runs  # noqa: E402

SKIP = 2000  # steps after warm-up left out by ``later-rows``
HALFWAY = 12000  # the fit curves' own test: fitted before this step, scored from it on


def _from_step(curve: Curve, first: int) -> Curve:
    keep = curve.step >= first
    return Curve(curve.name, curve.lr, curve.step[keep], curve.loss[keep], curve.warmup_steps)


def _until_step(curve: Curve, last: int) -> Curve:
    keep = curve.step < last
    return Curve(curve.name, curve.lr, curve.step[keep], curve.loss[keep], curve.warmup_steps)


def _held_out_pred_e(result, curves) -> float:
    return float(np.mean([predict(result, c).compare(c.after_warmup()).pred_e for c in curves]))


def later_rows() -> None:
    print("later-rows: a power law on constant_24000, its error at constant_72000's last row")
    for size in ("25M", "400M"):
        short, long = (io.read_curve(DATA / size / f"constant_{n}.csv") for n in (24000, 72000))
        area = np.cumsum(short.lr)
        for skip in (0, SKIP):
            rows = short.step >= short.warmup_steps + skip
            s1, loss = area[short.step[rows]], short.loss[rows]

            def residuals(p, s1=s1, loss=loss):
                return np.log(p[0] + p[1] * s1 ** -p[2]) - np.log(loss)

            p = least_squares(residuals, [2.0, 1.0, 0.5], bounds=([0, 0, 0], [10, 1e3, 3])).x
            end = p[0] + p[1] * np.cumsum(long.lr)[long.step[-1]] ** -p[2]
            print(f"   {size:<5} from +{skip:<5} error {end / long.loss[-1] - 1:+.2%}")
    print("later-rows: the laws on the paper's split, mean PredE, all rows -> later rows")
    fit_on, _ = SPLITS["paper"]
    for law in ("annealing", "multipower-fixed"):
        for size in ("25M", "400M"):
            curves = {n: io.read_curve(DATA / size / f"{n}.csv") for n in fit_on + SIX}
            internal, held_out = [], []
            for skip in (0, SKIP):
                fitted = [_from_step(curves[n], curves[n].warmup_steps + skip) for n in fit_on]
                result = fit(fitted, law, uncertainty=False)
                held_out.append(_held_out_pred_e(result, [curves[n] for n in SIX]))
                early = [_until_step(c, HALFWAY) for c in fitted]
                late = [_from_step(curves[n], HALFWAY) for n in fit_on]
                internal.append(_held_out_pred_e(fit(early, law, uncertainty=False), late))
            print(
                f"   {law:<17}{size:<5} internal {internal[0]:.5f} -> {internal[1]:.5f}"
                f"   held out {held_out[0]:.5f} -> {held_out[1]:.5f}"
            )


def _power(x, exponent):
    return jnp.exp(-exponent * jnp.log(jnp.maximum(x, jnp.finfo(x.dtype).tiny)))


def scaled_drop_loss(params, features):
    """L0 + A S1^-alpha - B S1^-mu D(t); params (L0, A, alpha, B, C, beta, gamma, mu)."""
    s1 = features["s1"]
    return (
        params[0]
        + params[1] * _power(s1, params[2])
        - params[3] * _power(s1, params[7]) * mpl.loss_drop(params, features)
    )


def multiplicative_loss(params, features):
    """L0 + A S1^-alpha (1 - B D(t)); params as the multi-power law's."""
    forward = params[1] * _power(features["s1"], params[2])
    return params[0] + forward * (1.0 - params[3] * mpl.loss_drop(params, features))


def scaled_drop_starts(loss_rows, features):
    base = mpl.starts(loss_rows, features)
    return np.array([np.append(row, mu) for row in base for mu in (0.2, 0.6)])


def multiplicative_starts(loss_rows, features):
    base = mpl.starts(loss_rows, features)
    return np.unique(
        np.array(
            [np.concatenate([row[:3], [b], row[4:]]) for row in base for b in (300.0, 2000.0)]
        ),
        axis=0,
    )


def drop_scaling() -> None:
    scaled = dataclasses.replace(
        mpl.LAW,
        name="multipower-scaled-drop",
        param_names=(*mpl.LAW.param_names, "mu"),
        lower=(0.0,) * 8,
        upper=(np.inf,) * 8,
        loss=scaled_drop_loss,
        starts=scaled_drop_starts,
    )
    multiplicative = dataclasses.replace(
        mpl.LAW,
        name="multipower-multiplicative",
        loss=multiplicative_loss,
        starts=multiplicative_starts,
    )
    laws = ["multipower-fixed"]
    for law in (scaled, multiplicative):
        laws.append(register(hold(law, f"{law.name}-fixed", **mpl.SHAPE)).name)
    print("drop-scaling: objective on the fit curves, mean held-out PredE")
    for split in ("two", "paper"):
        fit_on, _ = SPLITS[split]
        for size in ("25M", "400M"):
            curves = {n: io.read_curve(DATA / size / f"{n}.csv") for n in fit_on + SIX}
            for law in laws:
                result = fit([curves[n] for n in fit_on], law, uncertainty=False)
                pred_e = _held_out_pred_e(result, [curves[n] for n in SIX])
                mu = f"  mu {result.params['mu']:.3g}" if "mu" in result.params else ""
                print(
                    f"   {split:<6}{size:<5}{law:<33} objective {result.objective:.3g}"
                    f"  PredE {pred_e:.5f}{mu}",
                    flush=True,
                )


def noise_delta() -> None:
    table = runs()
    curves = {
        n: io.read_curve(DATA_124M / row.csv, loss_column="train_loss", name=n)
        for n, row in table.iterrows()
    }
    long = table[(table.iterations == 50000) & ~table.index.str.startswith("constant")]
    real = long["final_val_loss_fullset"].to_numpy()
    print("noise-delta: train_loss fits, Spearman of the nine 50k runs (bar 0.8)")
    for law in ("annealing", "multipower"):
        for delta in (1e-3, 1.345 * 0.044):
            result = fit(
                [curves[n] for n in FIT_ON_124M], law, huber_delta=delta, uncertainty=False
            )
            predicted = [predict(result, curves[n].lr).final_loss for n in long.index]
            rho = spearmanr(predicted, real).statistic
            print(f"   {law:<11} delta {delta:<7.3g} Spearman {rho:.3f}", flush=True)


IDEAS = {"later-rows": later_rows, "drop-scaling": drop_scaling, "noise-delta": noise_delta}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("ideas", nargs="*", metavar="IDEA", help=f"any of {', '.join(IDEAS)}")
    ideas = parser.parse_args().ideas or list(IDEAS)
    unknown = sorted(set(ideas) - set(IDEAS))
    if unknown:
        parser.error(f"unknown idea {', '.join(unknown)} (choose from {', '.join(IDEAS)})")
    for idea in ideas:
        IDEAS[idea]()


if __name__ == "__main__":
    main()
