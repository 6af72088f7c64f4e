"""Ideas measured and dropped: the figures behind README's "Tried and dropped" list (accuracy).

Each idea is first judged on the fit curves, then scored once on the curves held out. "The held
shape" in the ideas before ``drop-power`` is the default law as it was when they were measured,
until 2026-12-02: decreases weighed on eta itself (``HELD_ON_ETA``).

* ``later-rows``: fit from the 2,000th step after warm-up on (the early transient). A plain
  power law fitted to ``constant_24000`` alone, extrapolated to ``constant_72000``'s last row; then
  the laws on the multi-power-law paper's split: the fit curves' own test (fitted before step
  12,000, mean PredE of their rows from it on) and the mean held-out PredE, all rows -> later rows.
* ``drop-scaling``: a loss drop that shrinks as training progresses, with the shape held
  (C = 1, beta = gamma = 1/2): LD scaled by S1(t)^(-mu), mu fitted (it nests the held shape
  at mu = 0), and the multiplicative form L0 + A S1^(-alpha) (1 - B D(t)). Both splits, both sizes.
* ``noise-delta``: lr-scheduling-124m fitted on ``train_loss`` with a Huber delta scaled to its
  noise (1.345 x 4.4 %), Spearman of the nine 50k runs' predicted final losses against their real
  final validation losses.
* ``kernels``: other forms of the multi-power law's loss drop, where its free fits slide: the
  beta -> 0 limit, G(x) = log(1 + C x) (six parameters; and with gamma held at 1/2), the same
  law with B beta as a parameter (a Box-Cox G, so the valley ends at finite values), and the
  held shape with C fitted; each judged by ``selection.py``'s internal score on the paper's
  split, then held out there and on lr-scheduling-124m (mean PredE on val_loss, Spearman of the
  nine 50k runs fitted on either column). And the plain mean of the held shape's and the
  annealing law's predictions (held out only).
* ``paper-procedure``: the multi-power law fitted the way its authors' code does (read from their
  repository, rewritten here): L-BFGS-B from a 135-point grid on a simplified law
  L0 + A S1^(-alpha) - B (peak - eta_t), then at most 200 AdamW steps on the full law from there
  with C = 1, beta = gamma = 1/2 (learning rate 5e-2 for L0, A, B, C and 5e-3 for the exponents,
  torch's defaults otherwise, stopped after 20 steps without improvement, the best step kept).
  Its parameters against the published 400M ones; internal and held-out scores as ``kernels``.
* ``curve-weights``: every fitted curve weighted alike (each row by the mean row count over its
  curve's) instead of every row alike, so that a long log does not outweigh a short one; the
  three laws, scored as ``kernels``. ``fit`` has no option for it: the benchmark swaps the
  private function that stacks the curves.

* ``drop-power``: the held shape's ``drop_power`` p fitted instead of held: its objective on the
  fit curves (paper's split at both sizes; lr-scheduling-124m's two on either column) over a grid
  of p, and the 124m held-out figures at each p (what choosing p on those runs would give).
* ``annealing-kernels``: the annealing law's momentum kernel, as the accuracy issue suggests: its
  decay lambda fitted (``fit_decay=True``, a profile over ``DECAY_GRID``), and a power-law kernel
  K(x) = tau (1 - (1 + (x + 1) / (beta tau))^(-beta)) in place of (1 - lambda^(x+1)) / (1 - lambda),
  x the steps since a decrease (tau and beta fitted; the exponential kernel as beta -> inf).
  Scored as ``kernels``; the kernel's segments are first checked against the term-by-term sum.

    python benchmarks/dropped.py [later-rows | drop-scaling | noise-delta | kernels |\
        paper-procedure | curve-weights | drop-power | annealing-kernels ...]
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import functools
import itertools
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax
from scipy.optimize import least_squares, minimize
from scipy.stats import linregress, spearmanr

from scalefit import fit, fitting, io
from scalefit.areas import warmup_as_peak
from scalefit.curve import Curve
from scalefit.fitting import HUBER_DELTA, Fit, law_features
from scalefit.laws import Law, get_law, hold, register
from scalefit.laws import multipower as mpl
from scalefit.predict import predict

sys.path.insert(0, str(Path(__file__).resolve().parent))
from accuracy import DATA, SIX, SPLITS  # noqa: E402
from accuracy_124m import DATA as DATA_124M  # noqa: E402
from accuracy_124m import FIT_ON as FIT_ON_124M  # noqa: E402
from accuracy_124m import ranked_runs, read_runs, runs  # noqa: E402
from laws import held_out_sets  # noqa: E402
from selection import DATA as SELECTION_DATA  # noqa: E402
from selection import FIT_ON as SELECTION_FIT_ON  # noqa: E402
from selection import HELD_OUT as SELECTION_HELD_OUT  # noqa: E402
from selection import drop_power as drop_power_law  # noqa: E402
from selection import rows as rows_where  # noqa: E402
from selection import score as internal_and_held_out  # noqa: E402

# The held shape as the default was until 2026-12-02, decreases weighed on eta itself: the law the
# ideas measured before then were compared with (README's figures), whatever the default is now.
HELD_ON_ETA = drop_power_law(1.0).name
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
    for law in ("annealing", HELD_ON_ETA):
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
    laws = [HELD_ON_ETA]
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
    curves = read_runs(table, "train_loss")
    long = ranked_runs(table)
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


def log_kernel_loss(params, features):
    """L0 + A S1^-alpha - B sum_k w log(1 + C x_k); params (L0, A, alpha, B, C, gamma)."""
    x = mpl.segment_x(params[5], features)
    drop = jnp.sum(features["w"] * jnp.log1p(params[4] * x), axis=-1)
    return params[0] + params[1] * _power(features["s1"], params[2]) - params[3] * drop


def box_cox_loss(params, features):
    """The multi-power law with B beta as B: G(x) = (1 - (1 + C x)^-beta) / beta."""
    x = mpl.segment_x(params[6], features)
    g = -jnp.expm1(-params[5] * jnp.log1p(params[4] * x)) / params[5]
    drop = jnp.sum(features["w"] * g, axis=-1)
    return params[0] + params[1] * _power(features["s1"], params[2]) - params[3] * drop


def box_cox_starts(loss_rows, features):
    base = mpl.starts(loss_rows, features)
    base[:, 3] *= base[:, 5]  # B beta
    return base


def log_kernel_starts(loss_rows, features):
    return np.unique(np.delete(box_cox_starts(loss_rows, features), 5, axis=1), axis=0)


def _ranking_124m(law: str, **options: object) -> tuple[float, float, float]:
    """Mean held-out val_loss PredE and the Spearman of the nine 50k runs (val, train fits), the
    law fitted with ``options`` (:func:`scalefit.fit`'s keywords)."""
    table = runs()
    long = ranked_runs(table)
    out = []
    for column in ("val_loss", "train_loss"):
        curves = read_runs(table, column)
        result = fit([curves[n] for n in FIT_ON_124M], law, uncertainty=False, **options)
        if column == "val_loss":
            held = [curves[n] for n in table.index if n not in FIT_ON_124M]
            out.append(_held_out_pred_e(result, held))
        predicted = [predict(result, curves[n].lr).final_loss for n in long.index]
        out.append(spearmanr(predicted, long["final_val_loss_fullset"]).statistic)
    return tuple(out)


def kernels() -> None:
    log_kernel = dataclasses.replace(
        mpl.LAW,
        name="multipower-log-kernel",
        param_names=("L0", "A", "alpha", "B", "C", "gamma"),
        lower=(0.0,) * 6,
        upper=(np.inf,) * 6,
        loss=log_kernel_loss,
        starts=log_kernel_starts,
        annealing_params=("B", "C", "gamma"),
    )
    variants = [
        register(log_kernel),
        register(hold(log_kernel, "multipower-log-kernel-gamma-half", gamma=0.5)),
        register(
            dataclasses.replace(
                mpl.LAW, name="multipower-box-cox", loss=box_cox_loss, starts=box_cox_starts
            )
        ),
        register(hold(mpl.LAW, "multipower-c-fitted", beta=0.5, gamma=0.5)),
        get_law(HELD_ON_ETA),
    ]
    print("kernels: internal / held-out PredE on the paper's split; 124m val PredE, Spearman")
    for law in variants:
        cells = []
        for size in ("25M", "400M"):
            curves = {
                n: io.read_curve(SELECTION_DATA / size / f"{n}.csv")
                for n in SELECTION_FIT_ON + SELECTION_HELD_OUT
            }
            internal, held = internal_and_held_out(law, curves)
            cells.append(f"{size} {internal:.5f} / {held:.5f}")
        pred_e, rho_val, rho_train = _ranking_124m(law.name)
        print(
            f"   {law.name:<34}{'   '.join(cells)}   124m {pred_e:.5f}, Spearman val "
            f"{rho_val:.3f} train {rho_train:.3f}",
            flush=True,
        )
    print("kernels: the mean of the held shape's and the annealing law's predictions, held out")
    for column, (fit_on, held_out) in held_out_sets().items():
        fits = [fit(fit_on, law, uncertainty=False) for law in (HELD_ON_ETA, "annealing")]
        scored = [c.after_warmup() for c in held_out]
        errors = []
        for curve in scored:
            a, b = (predict(f, curve).loss for f in fits)
            errors.append([np.mean(np.abs(p / curve.loss - 1)) for p in (a, b, (a + b) / 2)])
        held, anneal, mean = np.mean(errors, axis=0)
        print(f"   {column:<12} held shape {held:.5f}  annealing {anneal:.5f}  mean {mean:.5f}")


_ADAMW_LR = np.array([5e-2, 5e-2, 5e-3, 5e-2, 5e-2, 5e-3, 5e-3])  # L0 A alpha B C beta gamma


def _huber(r, xp=np):
    a = xp.abs(r)
    return xp.where(a <= HUBER_DELTA, 0.5 * r**2, HUBER_DELTA * (a - 0.5 * HUBER_DELTA))


def fit_as_the_paper(curves: list[Curve], steps: int = 200) -> tuple[Fit, float]:
    """The multi-power law fitted by its authors' two-stage procedure; returns the fit and its
    objective (the summed Huber loss on log residuals)."""
    curves = [c.after_warmup() for c in curves]
    peak = max(float(c.lr.max()) for c in curves)
    losses = [c.loss for c in curves]
    area = [np.cumsum(c.lr)[c.step] for c in curves]
    lr = [c.lr[c.step] for c in curves]
    low = min(float(y.min()) for y in losses)
    log_gap = np.concatenate([np.log(y - low + 0.01) for y in losses])
    slope, intercept, *_ = linregress(np.log(np.concatenate(area)), log_gap)
    grid = itertools.product(
        np.linspace(low - 0.2, low + 0.2, 5),
        np.linspace(np.exp(intercept) - 0.1, np.exp(intercept) + 0.1, 3),
        np.linspace(-slope - 0.1, -slope + 0.1, 3),
        np.linspace(100, 1000, 3),
    )

    def simplified(p):
        total = 0.0
        for y, s1, eta in zip(losses, area, lr):
            predicted = p[0] + p[1] * s1 ** -p[2] - p[3] * (peak - eta)
            if np.any(predicted <= 0):
                return 1e10
            total += _huber(np.log(y) - np.log(predicted)).sum()
        return total

    options = {"maxiter": 100000, "ftol": 1e-9, "gtol": 1e-6, "eps": 1e-8}
    first = min(
        (
            minimize(simplified, g, method="L-BFGS-B", bounds=[(0, None)] * 4, options=options)
            for g in grid
        ),
        key=lambda r: r.fun,
    )
    law = mpl.LAW
    features = [
        law_features(law, c.lr[None], c.step[None], np.array([c.warmup_steps]), dict(law.options))
        for c in curves
    ]
    with jax.enable_x64(True):

        def objective(p):
            return sum(
                jnp.sum(_huber(jnp.log(y) - jnp.log(law.loss(p, f)[0]), jnp))
                for y, f in zip(losses, features)
            )

        value_and_grad = jax.jit(jax.value_and_grad(objective))
        adamw = optax.adamw(1.0, b1=0.9, b2=0.999, eps=1e-8, weight_decay=0.01)
        p = jnp.asarray(np.concatenate([first.x, [1.0, 0.5, 0.5]]))
        state = adamw.init(p)
        best, best_p, lowest, stale = np.inf, np.asarray(p), np.inf, 0
        for step in range(steps):
            value, grad = value_and_grad(p)
            value = float(value)
            lowest, stale = (value, 0) if value < lowest else (lowest, stale + 1)
            if step > 20 and stale >= 20:
                break
            if value < best:
                best, best_p = value, np.asarray(p)
            update, state = adamw.update(grad, state, p)
            p = p + _ADAMW_LR * update  # torch's parameter groups: Adam's step scales with its lr
    return Fit.given("multipower", dict(zip(law.param_names, best_p.tolist()))), best


def paper_procedure() -> None:
    print("paper-procedure: the multi-power law fitted as its authors' code does")
    published = np.array(list(mpl.PUBLISHED_400M.values()))
    for size in ("25M", "400M"):
        start = time.perf_counter()
        curves = {
            n: io.read_curve(SELECTION_DATA / size / f"{n}.csv")
            for n in SELECTION_FIT_ON + SELECTION_HELD_OUT
        }
        seen = [curves[n].after_warmup() for n in SELECTION_FIT_ON]
        result, value = fit_as_the_paper(seen)
        metrics = [predict(result, curves[n]).compare(curves[n]) for n in SELECTION_HELD_OUT]
        pred_e = np.mean([m.pred_e for m in metrics])
        worst_e = np.mean([m.worst_e for m in metrics])
        halves = fit_as_the_paper([rows_where(c, c.step <= 12000) for c in seen])[0]
        budget = _held_out_pred_e(halves, [rows_where(c, c.step > 12000) for c in seen])
        leave_out = np.mean(
            [
                _held_out_pred_e(fit_as_the_paper([c for c in seen if c is not left])[0], [left])
                for left in seen
            ]
        )
        params = ", ".join(f"{k} {v:.4g}" for k, v in result.params.items())
        print(f"   {size:<5}{params}  (objective {value:.4g})")
        if size == "400M":
            change = result.param_vector / published - 1
            print("         against the published: " + ", ".join(f"{c:+.1%}" for c in change))
        print(
            f"         internal {(budget + leave_out) / 2:.5f}   held out PredE {pred_e:.5f}"
            f"  WorstE {worst_e:.5f}   ({time.perf_counter() - start:.0f} s, five fits)",
            flush=True,
        )


@contextlib.contextmanager
def _curves_weighted_alike():
    stack = fitting._stack

    def alike(curves):
        s = stack(curves)
        rows = s.weight.sum(axis=1, keepdims=True)
        return dataclasses.replace(s, weight=s.weight * rows.mean() / rows)

    fitting._stack = alike
    try:
        yield
    finally:
        fitting._stack = stack


def curve_weights() -> None:
    print("curve-weights: internal / held-out PredE on the paper's split; 124m val PredE, Spearman")
    for weighting in ("rows", "curves"):
        for law in (HELD_ON_ETA, "annealing", "multipower"):
            with _curves_weighted_alike() if weighting == "curves" else contextlib.nullcontext():
                cells = []
                for size in ("25M", "400M"):
                    curves = {
                        n: io.read_curve(SELECTION_DATA / size / f"{n}.csv")
                        for n in SELECTION_FIT_ON + SELECTION_HELD_OUT
                    }
                    internal, held = internal_and_held_out(get_law(law), curves)
                    cells.append(f"{size} {internal:.5f} / {held:.5f}")
                pred_e, rho_val, rho_train = _ranking_124m(law)
            print(
                f"   {weighting:<7}{law:<18}{'   '.join(cells)}   124m {pred_e:.5f}, Spearman val "
                f"{rho_val:.3f} train {rho_train:.3f}",
                flush=True,
            )


DROP_POWERS = (0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2)


def drop_power() -> None:
    sets = {
        size: [io.read_curve(SELECTION_DATA / size / f"{n}.csv") for n in SELECTION_FIT_ON]
        for size in ("25M", "400M")
    }
    table = runs()
    for column in ("val_loss", "train_loss"):
        sets[f"124m {column}"] = [
            io.read_curve(DATA_124M / table.loc[n].csv, loss_column=column, name=n)
            for n in FIT_ON_124M
        ]
    print("drop-power: the held shape's objective on the fit curves at each p (a profile of p)")
    objective = {}
    for p in DROP_POWERS:
        law = drop_power_law(p)
        objective[p] = {k: fit(c, law, uncertainty=False).objective for k, c in sets.items()}
        cells = "   ".join(f"{k} {v:.5e}" for k, v in objective[p].items())
        print(f"   p {p:<4} {cells}", flush=True)
    best = {k: min(DROP_POWERS, key=lambda p, k=k: objective[p][k]) for k in sets}
    print("   fitted p (lowest objective): " + ", ".join(f"{k} {v}" for k, v in best.items()))
    print("drop-power: 124m held out at each p (val PredE; Spearman from val_loss / train_loss)")
    for p in DROP_POWERS:
        pred_e, rho_val, rho_train = _ranking_124m(drop_power_law(p).name)
        print(f"   p {p:<4} {pred_e:.5f}  {rho_val:.3f} / {rho_train:.3f}", flush=True)


# The annealing law with a power-law kernel: each LR decrease's loss drop saturates as a power of
# the steps since, not exponentially (``annealing-kernels``).
POWER_WINDOW = 64  # the last steps before a row, one by one
POWER_RESOLUTION = 0.05  # then segments 5 % of their distance wide


@functools.partial(jax.jit, static_argnames=("warmup",))
def power_kernel_prepare(lr, rows, warmup_steps, *, warmup="peak"):
    """``log_s1`` as the annealing law's, and per row the LR changes before it in segments by
    distance (``w``: their sum; ``dist``: their mean distance in steps, weighted by size)."""
    features = get_law("annealing").prepare(lr, rows, warmup_steps, warmup=warmup)
    flat = warmup_as_peak(lr, warmup_steps) if warmup == "peak" else lr
    zero = jnp.zeros(lr.shape[:-1] + (1,), lr.dtype)
    change = jnp.concatenate([zero, flat[..., :-1] - flat[..., 1:]], axis=-1)  # η_{k-1} - η_k
    offsets = jnp.asarray(mpl._offsets(lr.shape[-1], POWER_WINDOW, POWER_RESOLUTION))
    edges = jnp.clip(rows[..., None] + 1 - offsets, 0, None)  # descending
    size = jnp.abs(change)
    w = mpl._segment_sums(change, edges)
    total = mpl._segment_sums(size, edges)
    at = mpl._segment_sums(size * jnp.arange(lr.shape[-1]), edges)
    mean_step = at / jnp.where(total > 0, total, 1.0)
    features["w"] = w
    features["dist"] = jnp.where(total > 0, rows[..., None] - mean_step, 0.0)
    return features


def power_kernel_loss(params, features):
    r""":math:`L_0 + A S_1^{-\alpha} - C \sum_k (\eta_{k-1} - \eta_k) K(t - k)`, with
    :math:`K(x) = \tau (1 - (1 + (x + 1) / (\beta\tau))^{-\beta})`: the annealing law's
    momentum kernel :math:`(1 - \lambda^{x+1}) / (1 - \lambda)` as :math:`\beta \to \infty`,
    :math:`\lambda = e^{-1/\tau}`; a power-law saturation for finite :math:`\beta`."""
    l0, a, alpha, c, tau, beta = (params[i] for i in range(6))
    x = (features["dist"] + 1.0) / (beta * tau)
    kernel = tau * (1.0 - jnp.exp(-beta * jnp.log1p(x)))
    drop = jnp.sum(features["w"] * kernel, axis=-1)
    return l0 + a * jnp.exp(-alpha * features["log_s1"]) - c * drop


def power_kernel_starts(loss_rows, features):
    base = get_law("annealing").starts(loss_rows, features)
    shapes = itertools.product((300.0, 1000.0), (0.5, 3.0))  # tau, beta
    return np.array([(*p, tau, beta) for p in base for tau, beta in shapes])


POWER_KERNEL_LAW = Law(
    name="annealing-power-kernel",
    formula="L(s) = L0 + A*S1^(-alpha) "
    "- C*sum_k (eta_{k-1}-eta_k)*tau*(1-(1+(s-k+1)/(beta*tau))^(-beta))",
    param_names=("L0", "A", "alpha", "C", "tau", "beta"),
    lower=(0.0,) * 6,
    upper=(np.inf,) * 6,
    prepare=power_kernel_prepare,
    loss=power_kernel_loss,
    starts=power_kernel_starts,
    options={"warmup": "peak"},
    annealing_params=("C", "tau", "beta"),
)


def _exact_power_drop(lr, warmup_steps, rows, tau, beta):
    """The power kernel's drop sum term by term (NumPy), to check the segments."""
    flat = np.asarray(warmup_as_peak(lr, warmup_steps))
    change = np.concatenate([[0.0], flat[:-1] - flat[1:]])
    out = []
    for t in rows:
        k = np.arange(t + 1)
        x = (t - k + 1) / (beta * tau)
        out.append(np.sum(change[: t + 1] * tau * (1 - (1 + x) ** -beta)))
    return np.array(out)


def annealing_kernels() -> None:
    law = register(POWER_KERNEL_LAW)
    curve = io.read_curve(SELECTION_DATA / "400M" / "cosine_72000.csv")
    rows = curve.step[curve.step >= curve.warmup_steps]
    with jax.enable_x64(True):
        f = power_kernel_prepare(
            jnp.asarray(curve.lr), jnp.asarray(rows), jnp.asarray(curve.warmup_steps)
        )
        for tau, beta in ((300.0, 0.5), (1000.0, 3.0), (3000.0, 1.0)):
            exact = _exact_power_drop(curve.lr, curve.warmup_steps, rows, tau, beta)
            p = jnp.array([0.0, 0.0, 0.0, -1.0, tau, beta])
            segmented = np.asarray(power_kernel_loss(p, f))
            print(
                "annealing-kernels: segments against the exact sum (400M cosine_72000, "
                f"tau {tau:g}, beta {beta:g}): largest relative difference "
                f"{np.max(np.abs(segmented - exact)) / np.max(np.abs(exact)):.1e}"
            )
    variants = {
        "annealing (lambda 0.999)": ("annealing", {}),
        "annealing, lambda fitted": ("annealing", {"fit_decay": True}),
        "annealing, power-law kernel": (law.name, {}),
    }
    print(
        "annealing-kernels: internal / held-out PredE on the paper's split; "
        "124m val PredE, Spearman"
    )
    for label, (name, options) in variants.items():
        cells = []
        for size in ("25M", "400M"):
            curves = {
                n: io.read_curve(SELECTION_DATA / size / f"{n}.csv")
                for n in SELECTION_FIT_ON + SELECTION_HELD_OUT
            }
            internal, held = internal_and_held_out(get_law(name), curves, **options)
            cells.append(f"{size} {internal:.5f} / {held:.5f}")
        pred_e, rho_val, rho_train = _ranking_124m(name, **options)
        print(
            f"   {label:<30}{'   '.join(cells)}   124m {pred_e:.5f}, Spearman val "
            f"{rho_val:.3f} train {rho_train:.3f}",
            flush=True,
        )


IDEAS = {
    "later-rows": later_rows,
    "drop-scaling": drop_scaling,
    "noise-delta": noise_delta,
    "kernels": kernels,
    "paper-procedure": paper_procedure,
    "curve-weights": curve_weights,
    "drop-power": drop_power,
    "annealing-kernels": annealing_kernels,
}


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
