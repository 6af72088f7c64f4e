"""Fitting: recovery of known parameters, determinism, warnings, the result object."""

from __future__ import annotations

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from scalefit import Curve, Fit, InputError, fit, predict
from scalefit.laws import get_law
from scalefit.schedules import parse_schedule

TRUE = {"L0": 2.6, "A": 0.6, "alpha": 0.55, "C": 0.8}


def synthetic(spec: str, params=TRUE, noise=0.0, every=64, seed=0, name=None, decay=0.999) -> Curve:
    """A curve drawn from the annealing law itself, logged every ``every`` steps."""
    schedule = parse_schedule(spec)
    lr = schedule.lr()
    law = get_law("annealing")
    truth = Fit.given("annealing", params, decay=decay, warmup="peak")
    at = np.arange(schedule.warmup + every, lr.size, every)
    loss = predict(truth, schedule, at=at).loss
    rng = np.random.default_rng(seed)
    loss = loss * np.exp(noise * rng.standard_normal(loss.size))
    assert law.name == "annealing"
    return Curve(name or spec.split(":")[0], lr, at, loss, warmup_steps=schedule.warmup)


COSINE = "cosine:peak=3e-4,steps=24000,final=3e-5,warmup=2000"
CONSTANT = "constant:peak=3e-4,steps=24000,warmup=2000"
WSD = "wsd:peak=3e-4,steps=30000,warmup=2000,decay=0.2,final=3e-5"


def test_recovers_known_parameters_from_two_clean_curves():
    result = fit([synthetic(COSINE), synthetic(CONSTANT)], "annealing")
    for name, value in TRUE.items():
        assert result.params[name] == pytest.approx(value, rel=2e-3), name
    assert result.converged and result.warnings == []
    assert all(m.pred_e < 1e-5 for m in result.metrics)


def test_recovers_parameters_from_noisy_curves_and_predicts_an_unseen_schedule():
    curves = [synthetic(COSINE, noise=0.003, seed=1), synthetic(CONSTANT, noise=0.003, seed=2)]
    result = fit(curves, "annealing")
    assert result.params["L0"] == pytest.approx(TRUE["L0"], rel=0.02)
    assert result.params["C"] == pytest.approx(TRUE["C"], rel=0.1)
    unseen = synthetic(WSD)
    assert predict(result, unseen).compare(unseen).pred_e < 2e-3


def test_fit_is_deterministic():
    curves = [synthetic(COSINE, noise=0.003), synthetic(CONSTANT, noise=0.003, seed=5)]
    a, b = fit(curves, "annealing"), fit(curves, "annealing")
    assert a.params == b.params and a.objective == b.objective


def test_fit_does_not_change_global_jax_settings():
    fit([synthetic(COSINE)], "annealing")
    assert not jax.config.jax_enable_x64


def test_warns_when_no_curve_anneals():
    result = fit([synthetic(CONSTANT, params={**TRUE, "C": 0.0})], "annealing")
    assert any("C not identifiable" in w for w in result.warnings)


def test_warns_about_too_few_rows_and_parameters_at_a_bound():
    curve = synthetic(COSINE, params={**TRUE, "C": 0.0}, every=3000)
    result = fit([curve], "annealing")
    assert any("too few rows" in w for w in result.warnings)
    assert any(w.startswith("C = ") and "lower bound" in w for w in result.warnings)


def test_fitted_decay_is_profiled():
    curves = [synthetic(COSINE), synthetic(CONSTANT)]
    result = fit(curves, "annealing", fit_decay=True)
    assert result.options["decay"] == 0.999 and result.options["fit_decay"] is True
    assert not any("momentum decay" in w for w in result.warnings)


def test_a_fitted_decay_on_the_grids_edge_is_flagged():
    # drawn with lambda 0.97, faster than any value tried: the profile stops at 0.99
    curves = [synthetic(spec, decay=0.97) for spec in (COSINE, CONSTANT)]
    result = fit(curves, "annealing", fit_decay=True)
    assert result.options["decay"] == 0.99
    assert any("lambda = 0.99 sits at the lower end" in w for w in result.warnings)


def test_fit_round_trips_through_json_and_prints():
    result = fit([synthetic(COSINE), synthetic(CONSTANT)], "annealing")
    again = Fit.from_dict(json.loads(json.dumps(result.to_dict())))
    assert again.params == result.params and again.metrics == result.metrics
    text = str(result)
    for word in ("annealing", "L0", "alpha", "PredE", "cosine", "converged"):
        assert word in text


def test_given_parameters_may_be_numpy_or_jax_numbers_but_not_below_their_bounds():
    given = {"L0": np.float32(2.5), "A": np.int64(1), "alpha": jnp.asarray(0.5), "C": 1}
    assert Fit.given("annealing", given).params == {"L0": 2.5, "A": 1.0, "alpha": 0.5, "C": 1.0}
    with pytest.raises(ValueError, match="L0 must be at least 0"):
        Fit.given("annealing", given | {"L0": -1.0})  # it would predict negative losses


def test_bad_curves_are_input_errors():
    with pytest.raises(InputError):
        fit([])
    with pytest.raises(InputError):
        fit([Curve("empty", np.full(10, 1e-3), np.array([], int), np.array([]))])
    with pytest.raises(ValueError, match="losses must be finite and positive"):
        Curve("neg", np.full(10, 1e-3), np.array([1, 2]), np.array([3.0, -1.0]))
    few = Curve("few", np.full(10, 1e-3), np.array([1, 2, 3]), np.array([3.0, 2.9, 2.8]))
    with pytest.raises(InputError, match="3 observed loss"):
        fit([few], "annealing")  # four parameters
    idle = Curve("idle", np.zeros(100), np.arange(10, 100, 10), np.linspace(4.0, 3.0, 9))
    for law in ("annealing", "multipower-fixed"):
        with pytest.raises(InputError, match="idle: the learning rate is 0 at every step"):
            fit([idle], law)


def test_minimum_is_one_scipy_cannot_improve_on():
    """scipy's least_squares with its Huber loss minimises the same objective (half its
    squared, Huber-scaled residuals); started at scalefit's fit of the bundled 400M curves, it
    must find nothing lower."""
    from scipy.optimize import least_squares

    from scalefit import io
    from scalefit._features import evaluate, law_features
    from scalefit._fit import HUBER_DELTA

    folder = io.bundled_data("multipower-law") / "400M"
    curves = [
        io.read_curve(folder / f"{n}.csv").after_warmup() for n in ("cosine_24000", "wsdcon_9")
    ]
    result = fit(curves, "annealing", uncertainty=False)
    law = get_law("annealing")
    n = max(c.n_steps for c in curves)
    lr = np.stack([np.pad(c.lr, (0, n - c.n_steps), mode="edge") for c in curves])
    r = max(c.step.size for c in curves)
    rows = np.stack([np.pad(c.step, (0, r - c.step.size), mode="edge") for c in curves])
    mask = np.stack([np.arange(r) < c.step.size for c in curves])
    log_y = np.log(np.stack([np.pad(c.loss, (0, r - c.loss.size), mode="edge") for c in curves]))
    features = law_features(
        law, lr, rows, np.array([c.warmup_steps for c in curves]), result.law_options
    )

    def residuals(log_p):
        return (log_y - np.log(evaluate(law, np.exp(log_p), features)))[mask]

    start = np.log(result.param_vector)
    scipy_fit = least_squares(residuals, start, loss="huber", f_scale=HUBER_DELTA, xtol=1e-15)
    assert result.objective <= scipy_fit.cost * (1 + 1e-9)


def test_a_law_of_ones_own_is_fitted_once_registered():
    import dataclasses

    from scalefit.laws import LAWS, register

    own = dataclasses.replace(get_law("annealing"), name="annealing-own")
    curves = [synthetic("cosine:peak=3e-4,steps=6000,warmup=300")]
    with pytest.raises(ValueError, match="register"):
        fit(curves, own, uncertainty=False)
    try:
        assert register(own) is own and register(own) is own
        with pytest.raises(ValueError, match="another law"):
            register(dataclasses.replace(own))
        result = fit(curves, own, uncertainty=False)
        assert result.law == "annealing-own"
        assert Fit.from_dict(json.loads(json.dumps(result.to_dict()))).params == result.params
        assert np.all(np.isfinite(predict(result, curves[0]).loss))
    finally:
        LAWS.pop("annealing-own", None)


@pytest.mark.parametrize("law_name", ["annealing", "multipower"])
def test_thinned_rows_take_their_features_from_every_row(law_name):
    # The search runs on thinned rows with features taken from those computed at every row:
    # the law must predict there exactly what features computed at the thinned rows give.
    from scalefit._features import Stack, evaluate, take_rows
    from scalefit._result import _law_options

    law = get_law(law_name)
    curves = [synthetic(COSINE, every=16), synthetic(WSD, every=16)]
    stack = Stack.of(curves)
    search, picked = stack.thinned(64)
    assert picked is not None and search.rows.shape[1] < stack.rows.shape[1]
    params = np.array(
        [2.6, 0.6, 0.55, 0.8] if law_name == "annealing" else [2.4, 0.6, 0.4, 500.0, 2.0, 0.6, 0.6]
    )
    options = _law_options(law)
    with jax.enable_x64(True):
        taken = evaluate(
            law, params, take_rows(stack.features(law, options), picked, stack.weight.shape)
        )
        direct = evaluate(law, params, search.features(law, options))
    np.testing.assert_allclose(taken, direct, rtol=1e-12)
    assert stack.thinned(10**6)[0] is stack and stack.thinned(10**6)[1] is None


def test_a_curve_from_arrays_finds_its_warm_up_and_checks_its_values():
    lr = np.concatenate([np.linspace(0, 1e-3, 101), np.full(899, 1e-3)])
    curve = Curve("run", lr, [0, 200, 400], [10.8, 3.0, 2.9])
    assert curve.warmup_steps == 100  # as read_curve finds it
    assert Curve("run", lr, [200], [3.0], warmup_steps=0).warmup_steps == 0  # as given
    for bad, problem in [
        (dict(step=[200.5]), "whole numbers"),
        (dict(lr=np.where(lr > 5e-4, np.nan, lr)), "learning rates must be finite"),
        (dict(loss=[np.nan]), "losses must be finite and positive"),
        (dict(warmup_steps=10.5), "warmup_steps must be a whole number"),
        (dict(lr=[]), "lr is empty"),
    ]:
        given = {"name": "bad", "lr": lr, "step": [200], "loss": [3.0]} | bad
        with pytest.raises(ValueError, match=problem):
            Curve(**given)


def test_a_prediction_is_compared_after_the_warm_up_the_fit_left_out():
    lr = np.concatenate([np.linspace(0, 1e-3, 101), np.full(899, 1e-3)])
    curve = Curve("run", lr, np.arange(0, 1000, 50), np.linspace(10.8, 2.9, 20))
    result = Fit.given("annealing", {"L0": 2.0, "A": 0.1, "alpha": 0.5, "C": 1.0})
    metrics = predict(result, curve).compare(curve)  # the rows at steps 0 and 50 left out
    assert metrics == predict(result, curve).compare(curve.after_warmup())
    assert metrics.rows == 18 and metrics.pred_e < 1


def test_fit_refuses_what_is_not_curves_and_settings_out_of_range():
    curve = Curve("run", np.full(100, 1e-3), np.arange(10, 100, 10), np.linspace(4.0, 3.0, 9))
    with pytest.raises(TypeError, match="read runs/a.csv with scalefit.io.read_curve"):
        fit("runs/a.csv")
    with pytest.raises(TypeError, match="not ndarray"):
        fit([np.ones(3)])
    for setting, problem in [
        (dict(decay=1.5), "option decay must be between 0 and 1"),  # a file could not hold it
        (dict(huber_delta=-1.0), "huber_delta and tol must be > 0"),
        (dict(refine=0), "refine and max_iter >= 1"),
    ]:
        with pytest.raises(ValueError, match=problem):
            fit(curve, "annealing", **setting)
