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


def test_a_rival_law_widens_the_interval_to_hold_its_prediction(fit_400m):
    # The default law names the annealing law as its rival: fitted to the same curves, where the
    # two part (a slow decay at three times the fitted budget) the gap counts as error.
    held_shape_400m = fit_400m
    assert held_shape_400m.law == DEFAULT_LAW
    u = held_shape_400m.uncertainty
    assert u.rival["law"] == "annealing" and "rival law annealing" in str(held_shape_400m)
    alone = dataclasses.replace(held_shape_400m, uncertainty=dataclasses.replace(u, rival=None))
    rival = Fit.given("annealing", u.rival["params"], **u.rival["options"])
    curve = io.read_curve(DATA / "400M" / "cosine_72000.csv").after_warmup()
    with_rival = predict(held_shape_400m, curve, interval=0.9)
    without = predict(alone, curve, interval=0.9)
    other = predict(rival, curve).loss
    np.testing.assert_allclose(with_rival.loss, without.loss, rtol=1e-12)
    assert np.all(with_rival.lower <= other) and np.all(other <= with_rival.upper)
    assert not np.all((without.lower <= other) & (other <= without.upper))
    gap = np.log(other / with_rival.loss)
    half = np.log(with_rival.upper / with_rival.loss) / z_value(0.9)
    half_alone = np.log(without.upper / without.loss) / z_value(0.9)
    np.testing.assert_allclose(half**2, half_alone**2 + gap**2, rtol=1e-9)
    again = Fit.from_dict(json.loads(json.dumps(held_shape_400m.to_dict())))
    assert again.uncertainty.rival == u.rival
    legacy = {k: v for k, v in u.to_dict().items() if k != "rival"}  # a fit file from before
    assert type(u).from_dict(legacy).rival is None
    # inside warm-up no law speaks: the rival's gap is left out there
    early = predict(held_shape_400m, curve.lr, at=[100, 3000], warmup_steps=2160, interval=0.9)
    early_alone = predict(alone, curve.lr, at=[100, 3000], warmup_steps=2160, interval=0.9)
    assert early.upper[0] == pytest.approx(early_alone.upper[0], rel=1e-12)
    assert early.upper[1] > early_alone.upper[1]
