"""Prediction intervals and parameter errors: the error model of a fit, on real held-out curves."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from scalefit import Fit, InputError, fit, io, predict
from scalefit._uncertainty import z_value
from scalefit.laws import DEFAULT_LAW
from scalefit.schedules import parse_schedule

DATA = Path(__file__).resolve().parents[1] / "data" / "multipower-law"
PAPER = ("cosine_24000", "constant_24000", "wsdcon_9")


def curves(size: str, names) -> list:
    return [io.read_curve(DATA / size / f"{n}.csv") for n in names]


@pytest.fixture(scope="module")
def fit_400m():
    return fit(curves("400M", PAPER))


@pytest.fixture(scope="module")
def annealing_400m():
    return fit(curves("400M", PAPER), "annealing")


@pytest.mark.parametrize("which", ["fit_400m", "annealing_400m"])
def test_intervals_on_held_out_curves_are_calibrated(which, request):
    # a 90 % interval covers 80-99 % of the rows of the curves the fit never saw, on average
    fit_400m = request.getfixturevalue(which)
    coverage = []
    for curve in curves("400M", io.MULTIPOWER_HELD_OUT):
        curve = curve.after_warmup()
        p = predict(fit_400m, curve, interval=0.9)
        inside = (curve.loss >= p.lower) & (curve.loss <= p.upper)
        metrics = p.compare(curve)
        assert metrics.coverage == pytest.approx(np.mean(inside), abs=1e-12)
        assert metrics.width == pytest.approx(np.mean((p.upper - p.lower) / p.loss), rel=1e-12)
        coverage.append(metrics.coverage)
    assert 0.8 <= np.mean(coverage) <= 0.99


def test_curves_predicted_together_are_predicted_as_one_at_a_time(fit_400m, monkeypatch):
    """Runs of several lengths (24k and 72k steps, 1 to 546 rows) and peaks, several per call:
    interval and rival term included, the same as each run alone."""
    from scalefit import _predict as predict_module
    from scalefit import predict_curves

    held = [c.after_warmup() for c in curves("400M", io.MULTIPOWER_HELD_OUT)]
    last = held[2]
    one_row = dataclasses.replace(last, step=last.step[-1:], loss=last.loss[-1:], name="one row")
    half_peak = dataclasses.replace(held[4], lr=held[4].lr / 2, name="half peak")
    runs = [*held, one_row, half_peak]
    batches = []
    batched = predict_module._predict_batched

    def spy(*args, **kwargs):
        batches.append(kwargs.get("batch"))
        return batched(*args, **kwargs)

    monkeypatch.setattr(predict_module, "_predict_batched", spy)
    monkeypatch.setattr(predict_module, "_CHUNK", 1200)  # 546 rows at most: two runs per call
    together = predict_curves(fit_400m, runs, interval=0.9)
    assert batches == [2]  # one call, four batches of two
    for curve, both in zip(runs, together):
        alone = predict(fit_400m, curve, interval=0.9)
        assert both.name == alone.name and both.warnings == alone.warnings
        np.testing.assert_array_equal(both.step, alone.step)
        for a, b in ((both.loss, alone.loss), (both.lower, alone.lower), (both.upper, alone.upper)):
            np.testing.assert_allclose(a, b, rtol=1e-12)
    assert any("peak" in w for w in together[-1].warnings)
    empty = dataclasses.replace(last, step=last.step[:0], loss=last.loss[:0], name="no rows")
    assert [p.loss.size for p in predict_curves(fit_400m, [last, empty])] == [last.step.size, 0]


def test_metrics_carry_an_interval_only_when_there_is_one(fit_400m):
    from scalefit import CurveMetrics

    (curve,) = curves("400M", ["wsdcon_3"])
    plain = predict(fit_400m, curve).compare(curve)
    banded = predict(fit_400m, curve, interval=0.9).compare(curve)
    assert plain.coverage is None and "coverage" not in plain.to_dict()
    assert CurveMetrics.from_dict(banded.to_dict()) == banded
    assert "in band" in CurveMetrics.table([banded]) and "in band" not in CurveMetrics.table(
        [plain]
    )
    assert banded.pred_e == pytest.approx(plain.pred_e, rel=1e-12)


def test_interval_holds_the_prediction_and_widens_with_level_and_horizon(fit_400m):
    wsd = parse_schedule("wsd:peak=3e-4,warmup=2160,steps=24000,decay=0.2")
    at = [6000, 24000]
    narrow = predict(fit_400m, wsd, at=at, interval=0.5)
    wide = predict(fit_400m, wsd, at=at, interval=0.9)
    assert np.all(wide.lower < narrow.lower) and np.all(narrow.lower < narrow.loss)
    assert np.all(narrow.loss < narrow.upper) and np.all(narrow.upper < wide.upper)
    np.testing.assert_allclose(wide.loss, predict(fit_400m, wsd, at=at).loss, rtol=1e-12)
    width = (wide.upper - wide.lower) / wide.loss
    longer = predict(fit_400m, wsd, steps=96000, at=[96000], interval=0.9)
    assert (longer.upper[0] - longer.lower[0]) / longer.loss[0] > 1.5 * width[-1]
    assert longer.warnings and "extrapolates" in longer.warnings[0]
    assert not wide.warnings
    frame = wide.to_frame()
    assert list(frame.columns) == ["step", "lr", "loss", "loss_lo", "loss_hi"]


def test_error_model_survives_json_and_gives_standard_errors(fit_400m):
    again = Fit.from_dict(json.loads(json.dumps(fit_400m.to_dict())))
    np.testing.assert_allclose(again.uncertainty.covariance, fit_400m.uncertainty.covariance)
    errors = again.standard_errors
    assert set(errors) == set(fit_400m.params) and all(e > 0 for e in errors.values())
    corr = again.correlations
    np.testing.assert_allclose(np.diag(corr), 1.0)
    np.testing.assert_allclose(corr, corr.T)
    assert "± " in str(again) and "prediction error model" in str(again)


def test_one_curve_says_its_intervals_are_optimistic():
    result = fit(curves("400M", ["cosine_24000"]))
    assert any("one fitted curve" in note for note in result.uncertainty.notes)


def test_the_only_decaying_curve_is_never_left_out(fit_400m):
    # Left out, the constant run alone would leave the annealing term free: the transfer error
    # is the error on the constant run of a refit on the decaying run alone.
    constant, wsd = curves("400M", ["constant_24000", "wsdcon_9"])
    result = fit([constant, wsd])
    assert any(
        "only curve whose LR decays is never left out" in note for note in result.uncertainty.notes
    )
    alone = fit([wsd], uncertainty=False)
    error = np.log(constant.loss) - np.log(predict(alone, constant).loss)
    assert result.uncertainty.transfer_variance == pytest.approx(np.mean(error**2), rel=0.3)
    assert not any("never left out" in n for n in fit_400m.uncertainty.notes)


def test_no_error_model_no_interval(fit_400m):
    given = Fit.given("annealing", {"L0": 2.6, "A": 0.6, "alpha": 0.55, "C": 0.8})
    assert given.standard_errors is None
    with pytest.raises(InputError, match="no error model"):
        predict(given, np.full(1000, 3e-4), interval=0.9)
    with pytest.raises(ValueError, match="between 0 and 1"):
        predict(fit_400m, np.full(100, 3e-4), interval=1.5)


def test_the_rival_is_fitted_with_the_caller_s_minimiser_settings():
    seen = curves("400M", PAPER[:2])
    short = fit(seen, max_iter=5, refine=2)
    rival = fit(seen, "annealing", max_iter=5, refine=2, uncertainty=False)
    assert short.uncertainty.rival["params"] == rival.params
    assert rival.params != fit(seen, "annealing", uncertainty=False).params


def test_a_rival_law_widens_the_interval_by_the_share_of_its_gap_the_folds_bear_out(fit_400m):
    # The default law, the held shape, names the annealing law as its rival: fitted to the same
    # curves and refitted on the same folds, its gap counts as error in the share rho that the
    # folds bear out (the law's squared fold errors over both laws'); a fit file from before
    # rho was measured counts the whole gap, and its interval holds the rival's prediction.
    held_shape_400m = fit_400m
    assert held_shape_400m.law == DEFAULT_LAW
    u = held_shape_400m.uncertainty
    assert u.rival["law"] == "annealing" and "rival law annealing" in str(held_shape_400m)
    assert 0 < u.rival_weight < 1 and u.degrees_of_freedom > 0
    alone = dataclasses.replace(held_shape_400m, uncertainty=dataclasses.replace(u, rival=None))
    rival = Fit.given("annealing", u.rival["params"], **u.rival["options"])
    curve = io.read_curve(DATA / "400M" / "cosine_72000.csv").after_warmup()
    with_rival = predict(held_shape_400m, curve, interval=0.9)
    without = predict(alone, curve, interval=0.9)
    other = predict(rival, curve).loss
    np.testing.assert_allclose(with_rival.loss, without.loss, rtol=1e-12)
    gap = np.log(other / with_rival.loss)
    z = z_value(0.9, u.degrees_of_freedom)
    half = np.log(with_rival.upper / with_rival.loss) / z
    half_alone = np.log(without.upper / without.loss) / z
    np.testing.assert_allclose(half**2, half_alone**2 + u.rival_weight * gap**2, rtol=1e-9)
    legacy = {  # a fit file from before rho and the t quantile: the whole gap counts
        k: v for k, v in u.to_dict().items() if k not in ("rival_weight", "degrees_of_freedom")
    }
    whole = dataclasses.replace(held_shape_400m, uncertainty=type(u).from_dict(legacy))
    assert whole.uncertainty.rival_weight == 1 and whole.uncertainty.degrees_of_freedom == 0
    old = predict(whole, curve, interval=0.9)
    assert np.all(old.lower <= other) and np.all(other <= old.upper)
    old_alone = predict(
        dataclasses.replace(whole, uncertainty=dataclasses.replace(whole.uncertainty, rival=None)),
        curve,
        interval=0.9,
    )
    assert not np.all((old_alone.lower <= other) & (other <= old_alone.upper))
    again = Fit.from_dict(json.loads(json.dumps(held_shape_400m.to_dict())))
    assert again.uncertainty.rival == u.rival
    for name in ("rival_weight", "degrees_of_freedom", "decay_variance", "decayed_area"):
        assert getattr(again.uncertainty, name) == getattr(u, name)
    no_rival = {k: v for k, v in legacy.items() if k != "rival"}  # from before rivals
    assert type(u).from_dict(no_rival).rival is None
    # inside warm-up no law speaks: the rival's gap is left out there
    early = predict(held_shape_400m, curve.lr, at=[100, 3000], warmup_steps=2160, interval=0.9)
    early_alone = predict(alone, curve.lr, at=[100, 3000], warmup_steps=2160, interval=0.9)
    assert early.upper[0] == pytest.approx(early_alone.upper[0], rel=1e-12)
    assert early.upper[1] > early_alone.upper[1]


FIT_124M = (
    "stable-124m_slimpajama_llama_norm_nlayers12_nhead12_lr0.001_sched_wsd_warmup300_decay_linear"
    "_0.0_iter50000_bs50x2_ws2_seed0_data_seed1337.csv",
    "ann124-0.2_slimpajama_llama_norm_nlayers12_nhead12_lr0.001_sched_wsd_warmup300_decay_linear"
    "_0.2_iter25000_bs50x2_ws2_seed0_data_seed1337.csv",
)


@pytest.fixture(scope="module")
def runs_124m():
    folder = DATA.parent / "lr-scheduling-124m" / "csv"
    return [io.read_curve(folder / n, loss_column="val_loss").after_warmup() for n in FIT_124M]


def test_a_held_coordinate_stays_where_it_starts():
    import jax

    from scalefit._features import Stack
    from scalefit._least_squares import refit, to_theta
    from scalefit.laws import get_law

    law = get_law("annealing")
    (curve,) = curves("400M", ["cosine_24000"])
    stack = Stack.of([curve])
    start = to_theta(np.array([[2.5, 0.6, 0.5, 0.5]] * 2), np.asarray(law.lower))
    held = np.array([[False, False, False, True], [False] * 4])  # C held in the first
    data = (np.asarray(law.lower), np.log(stack.loss), 1e-3)
    weights = np.repeat(stack.weight[None], 2, axis=0)
    with jax.enable_x64(True):
        features = stack.features(law, {"decay": 0.999, "warmup": "peak"})
        out = refit(
            start,
            weights,
            features,
            held,
            data=data,
            batch=2,
            law_loss=law.loss,
            max_iter=50,
            tol=1e-8,
        )
    assert out[0, 3] == start[0, 3] and np.all(out[0, :3] != start[0, :3])
    assert out[1, 3] != start[1, 3]


def test_the_decayed_area_counts_how_far_and_long_the_lr_fell():
    from scalefit._uncertainty import decayed_area

    wsd = parse_schedule("wsd:peak=1e-3,warmup=100,steps=1000,decay=0.2").lr()
    area = decayed_area(wsd, 100)
    assert np.all(area[:800] == 0) and area[-1] == pytest.approx(100, rel=0.02)  # half of 200
    constant_then_zero = np.r_[np.full(1000, 1e-3), 0.0]  # a log's last row at LR 0
    assert decayed_area(constant_then_zero, 0)[-1] == 1.0


def test_folds_of_a_constant_and_a_wsd_run(runs_124m):
    # the WSD run is the only decaying curve: never left out; its first quarter and half hold no
    # decay, so the truncations hold the annealing parameters; its cooldown is cut twice
    from scalefit._features import Stack
    from scalefit._uncertainty import _folds
    from scalefit.laws import get_law

    folds, notes = _folds(get_law(DEFAULT_LAW), Stack.of(runs_124m), runs_124m)
    assert [f.kind for f in folds] == ["left out", "truncated", "truncated", "decay cut"] + [
        "decay cut"
    ]
    assert [f.hold for f in folds] == [False, True, True, False, False]
    assert list(folds[0].last) == [-1, runs_124m[1].step[-1]]
    cooldown = runs_124m[1].step[runs_124m[1].lr[runs_124m[1].step] < 0.9e-3]
    assert all(cooldown[0] < f.last[1] < cooldown[-1] for f in folds[3:])
    assert list(folds[3].last)[0] == runs_124m[0].step[-1] and not folds[3].scored[0]
    assert any("never left out" in n for n in notes)


def test_the_error_model_of_a_fit_measures_each_term_on_its_folds(runs_124m):
    result = fit(runs_124m)
    u = result.uncertainty
    wsd = runs_124m[1]  # its decayed area at its last logged row
    fall = np.clip(1 - wsd.lr[wsd.warmup_steps : wsd.step[-1] + 1] / 1e-3, 0, None)
    assert u.decayed_area == pytest.approx(np.sum(fall), rel=1e-9)
    assert u.degrees_of_freedom == 4  # five folds
    assert 0 <= u.rival_weight < 1 and u.decay_variance > 0
    assert "degrees of freedom" in str(result)


def test_moment_estimates_and_the_rival_s_share():
    from scalefit._uncertainty import _estimate, _Scored

    u = np.linspace(0, 2, 50)
    zero = np.zeros(50)
    scored = [
        _Scored("left out", e=np.full(50, 0.001), h=zero, u=zero, d=np.full(50, 0.003)),
        _Scored("decay cut", e=np.sqrt(1e-6 + (0.004 * u) ** 2), h=zero, u=u, d=zero),
        _Scored("truncated", e=np.sqrt(1e-6 + (0.002 * u) ** 2), h=u, u=zero, d=zero),
    ]
    terms = _estimate(scored, residual_variance=1.0)
    assert terms.transfer == pytest.approx(1e-6) and terms.decay == pytest.approx(0.004**2)
    assert terms.horizon == pytest.approx(0.002**2)
    own = sum(np.mean(s.e**2) for s in scored)
    rivals = sum(np.mean((s.e - s.d) ** 2) for s in scored)
    assert terms.rival == pytest.approx(own / (own + rivals))
    alone = _estimate(scored[1:], residual_variance=4e-6)  # nothing left out: residuals stand in
    assert alone.transfer == 4e-6 and alone.rival == 0


def test_an_interval_adds_its_terms_and_takes_student_s_quantile(fit_400m):
    from scalefit._uncertainty import log_sigma

    assert z_value(0.9) == pytest.approx(1.6448536, rel=1e-7)
    assert z_value(0.9, 4) == pytest.approx(2.1318468, rel=1e-7)  # Student's t, 4 d.o.f.
    assert z_value(0.99, 1) == pytest.approx(63.656741, rel=1e-6)
    u = dataclasses.replace(
        fit_400m.uncertainty,
        covariance=np.zeros((4, 4)),
        transfer_variance=1e-6,
        horizon_variance=4e-6,
        decay_variance=9e-6,
        fitted_area=1.0,
        decayed_area=10.0,
        rival_weight=0.25,
    )
    lr = np.r_[np.full(100, 1.0), np.linspace(1.0, 0.0, 101)[1:]]  # area 149.5, decayed 50.5
    sigma = log_sigma(u, np.zeros((1, 1, 4)), lr[None], np.array([[199]]), np.array([[0.02]]), 0)
    expected = 1e-6 + 4e-6 * np.log(lr.sum()) ** 2 + 9e-6 * np.log(50.5 / 10) ** 2 + 0.25 * 4e-4
    assert sigma[0, 0] ** 2 == pytest.approx(expected, rel=1e-9)


def test_an_older_fit_file_keeps_its_intervals(fit_400m):
    # a file from before the decay term, the rival's share and the t quantile: no decay term,
    # the whole gap, the normal quantile; new fields out of range are refused
    data = fit_400m.uncertainty.to_dict()
    new = ("decay_variance", "decayed_area", "rival_weight", "degrees_of_freedom")
    old = type(fit_400m.uncertainty).from_dict({k: v for k, v in data.items() if k not in new})
    assert (old.decay_variance, old.decayed_area, old.rival_weight) == (0.0, 0.0, 1.0)
    assert old.degrees_of_freedom == 0
    for name, bad in (("rival_weight", 1.5), ("degrees_of_freedom", 2.5), ("decay_variance", -1)):
        with pytest.raises(ValueError, match=name):
            type(fit_400m.uncertainty).from_dict({**data, name: bad})
