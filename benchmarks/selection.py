"""Can the fitted curves alone say which variant of the multi-power law will predict best?

    python benchmarks/selection.py [--sizes 400M 25M] [--gammas 0.3 0.4 0.5 0.6 0.7 0.8]
        [--drop-powers 0.5 0.7 0.8 0.9 1.0 1.1 1.3] [--held-shapes]

(``--gammas --drop-powers --held-shapes``, the lists empty: the free law, the held shape and the
held shape's constants only.)

On three curves the multi-power law's seven parameters are weakly identified, so a smaller law
is a candidate fix: gamma held at one value, or the whole shape of the loss drop held where the
authors' procedure starts (``C = 1, beta = gamma = 1/2``: ``--law multipower-fixed``), with LR
decreases weighed on eta^p (``drop_power``; the published law has p = 1, ``multipower-fixed``
holds the p that the internal score below picks, averaged over the sizes); with
``--held-shapes``, the held shape with one of its constants held elsewhere (C, beta, gamma, one at
a time, p as the default's), to see whether the values held are the ones the same score would
pick. Choosing a variant
must not look at the held-out curves. This script scores each variant twice, on the
multipower-law paper's split (fit on ``cosine_24000, constant_24000, wsdcon_9``):

- **internal**: on the three fit curves only, the mean of two validation scores: fitted on their
  rows up to step 12,000, the PredE of their rows beyond (a budget twice the fitted one); and,
  leaving each fit curve out in turn, the PredE of the left-out curve from a fit on the two others;
- **held out**: fitted on the three, the mean PredE over the six other curves (the issue's bar:
  0.0012 at 25M, 0.0019 at 400M).

The variant a user could pick is the one with the lowest internal score; its held-out score is
what that choice would give. ``free`` is the law as ``scalefit fit --law multipower`` fits it,
``shape held`` as ``--law multipower-fixed`` does (``p 0.9``, the same law, is not refitted).
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import time
from pathlib import Path

import numpy as np

from scalefit import Curve, fit, io, predict
from scalefit.laws import LAWS, Law, get_law, hold, register
from scalefit.laws.multipower import FIXED_SHAPE_LAW, SHAPE, held_shape_loss

DATA = Path(__file__).resolve().parents[1] / "data" / "multipower-law"
FIT_ON = ["cosine_24000", "constant_24000", "wsdcon_9"]
HELD_OUT = list(io.MULTIPOWER_HELD_OUT)
CUT = 12_000
BARS = {"25M": 0.0012, "400M": 0.0019}


def gamma_fixed(gamma: float) -> Law:
    """The multi-power law with gamma held at ``gamma`` (six parameters), registered."""
    return register(hold(get_law("multipower"), f"multipower-gamma-{gamma}", gamma=gamma))


def drop_power(p: float) -> Law:
    """The held shape with decreases weighed on eta^p, registered (the default law at its own p)."""
    if p == FIXED_SHAPE_LAW.options["drop_power"]:
        return FIXED_SHAPE_LAW
    name = f"multipower-fixed-p{p}"
    if name in LAWS:
        return LAWS[name]
    options = {**FIXED_SHAPE_LAW.options, "drop_power": p}
    return register(dataclasses.replace(FIXED_SHAPE_LAW, name=name, options=options))


HELD_SHAPE_GRID = {
    "C": (0.3, 0.5, 1.0, 2.0, 3.0),
    "beta": (0.3, 0.4, 0.5, 0.6, 0.8),
    "gamma": (0.3, 0.4, 0.5, 0.6, 0.7),
}


def held_elsewhere(constant: str, value: float) -> Law:
    """The held shape (the default law) with one of C, beta, gamma held at ``value``,
    registered."""
    if value == SHAPE[constant]:
        return FIXED_SHAPE_LAW
    name = f"multipower-fixed-{constant}{value}"
    if name in LAWS:
        return LAWS[name]
    loss = functools.partial(held_shape_loss, **{constant: value})
    return register(dataclasses.replace(FIXED_SHAPE_LAW, name=name, loss=loss))


def rows(curve: Curve, keep: np.ndarray) -> Curve:
    return dataclasses.replace(curve, step=curve.step[keep], loss=curve.loss[keep])


def pred_e(law: Law, fit_on: list[Curve], test_on: list[Curve], **options: object) -> float:
    result = fit(fit_on, law, uncertainty=False, **options)
    return float(np.mean([predict(result, c).compare(c).pred_e for c in test_on]))


def score(law: Law, curves: dict[str, Curve], **options: object) -> tuple[float, float]:
    """The internal and held-out scores of ``law`` fitted with ``options`` (:func:`scalefit.fit`'s
    keywords, e.g. ``fit_decay=True``)."""
    seen = [curves[n].after_warmup() for n in FIT_ON]
    budget = pred_e(
        law,
        [rows(c, c.step <= CUT) for c in seen],
        [rows(c, c.step > CUT) for c in seen],
        **options,
    )
    leave_out = np.mean(
        [pred_e(law, [c for c in seen if c is not left], [left], **options) for left in seen]
    )
    internal = (budget + leave_out) / 2
    held = pred_e(law, [curves[n] for n in FIT_ON], [curves[n] for n in HELD_OUT], **options)
    return float(internal), held


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=["400M", "25M"])
    parser.add_argument("--gammas", nargs="*", type=float, default=[0.3, 0.4, 0.5, 0.6, 0.7, 0.8])
    parser.add_argument(
        "--drop-powers", nargs="*", type=float, default=[0.5, 0.7, 0.8, 0.9, 1.0, 1.1, 1.3]
    )
    parser.add_argument(
        "--held-shapes", action="store_true", help="also the held shape's constants, one at a time"
    )
    args = parser.parse_args()
    shapes = {
        f"held {k} {v}": held_elsewhere(k, v)
        for k, values in (HELD_SHAPE_GRID.items() if args.held_shapes else ())
        for v in values
    }
    variants = {
        "free": get_law("multipower"),
        "shape held": get_law("multipower-fixed"),  # C = 1, beta = gamma = 1/2
        **{f"gamma {g}": gamma_fixed(g) for g in args.gammas},
        **{f"p {p}": drop_power(p) for p in args.drop_powers},
        **shapes,
    }
    by_size = {}
    for size in args.sizes:
        curves = {n: io.read_curve(DATA / size / f"{n}.csv") for n in FIT_ON + HELD_OUT}
        print(f"\n== {size} (bar: held-out PredE <= {BARS[size]})")
        print(f"{'variant':<16}{'internal':>10}{'held out':>10}{'seconds':>9}")
        scores = {}
        done = {}
        for name, law in variants.items():
            start = time.perf_counter()
            if law.name not in done:
                done[law.name] = score(law, curves)
            scores[name] = done[law.name]
            seconds = time.perf_counter() - start
            print(f"{name:<16}{scores[name][0]:>10.5f}{scores[name][1]:>10.5f}{seconds:>9.1f}")
        pick = min(scores, key=lambda n: scores[n][0])
        best = min(scores, key=lambda n: scores[n][1])
        internal = [s[0] for s in scores.values()]
        held = [s[1] for s in scores.values()]
        rho = np.corrcoef(np.argsort(np.argsort(internal)), np.argsort(np.argsort(held)))[0, 1]
        print(
            f"picked on the fit curves: {pick} (held out {scores[pick][1]:.5f}); best held out: "
            f"{best} ({scores[best][1]:.5f}); Spearman(internal, held out) {rho:+.2f}"
        )
        by_size[size] = scores
    powers = [f"p {p}" for p in args.drop_powers]
    if powers:
        mean = {n: np.mean([by_size[s][n][0] for s in args.sizes]) for n in powers}
        print("\ndrop power, internal score averaged over the sizes:")
        print("  ".join(f"{n} {v:.5f}" for n, v in mean.items()))
        print(f"picked: {min(mean, key=mean.get)}")
    for constant in HELD_SHAPE_GRID if args.held_shapes else ():
        names = [n for n in shapes if n.startswith(f"held {constant} ")]
        mean = {n: np.mean([by_size[s][n][0] for s in args.sizes]) for n in names}
        print(f"\nheld shape, {constant} held elsewhere, internal score averaged over the sizes:")
        print("  ".join(f"{n.split()[-1]} {v:.5f}" for n, v in mean.items()))
        pick = min(mean, key=mean.get).split()[-1]
        print(f"picked: {constant} = {pick} (held: {SHAPE[constant]})")


if __name__ == "__main__":
    main()
