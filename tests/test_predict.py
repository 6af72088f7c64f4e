"""Predictions: long trajectories are computed in chunks of rows with the same result."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from scalefit import Fit, predict
from scalefit import _predict as predict_module
from scalefit.schedules import parse_schedule


def test_long_trajectory_in_chunks_equals_the_rows_asked_alone() -> None:
    fit = Fit.given("annealing", {"L0": 2.5, "A": 0.6, "alpha": 0.5, "C": 0.7})
    schedule = parse_schedule("cosine:peak=3e-4,steps=20000,warmup=500,final=3e-5")
    assert schedule.steps + 1 > 2 * predict_module._CHUNK  # three chunks, the last one padded
    whole = predict(fit, schedule)
    some = np.array([0, 499, 500, 8191, 8192, 16384, 20000])
    alone = predict(fit, schedule, at=some)
    assert whole.loss.size == schedule.steps + 1
    np.testing.assert_allclose(whole.loss[some], alone.loss, rtol=1e-14)
    assert np.all(np.diff(whole.loss[500:]) < 0)  # a cosine run's loss only falls after warm-up


def test_a_table_leaves_the_warm_up_empty_unless_the_fit_was_made_on_it() -> None:
    fit = Fit.given("annealing", {"L0": 2.5, "A": 0.6, "alpha": 0.5, "C": 0.7})
    schedule = parse_schedule("cosine:peak=3e-4,steps=2000,warmup=500,final=3e-5")
    at = [0, 499, 500, 2000]
    frame = predict(fit, schedule, at=at).to_frame()
    assert frame.loss.isna().tolist() == [True, True, False, False]
    on_warmup = dataclasses.replace(fit, options={**fit.options, "skip_warmup": False})
    assert predict(on_warmup, schedule, at=at).to_frame().loss.notna().all()


def test_saved_options_of_a_registered_law_keep_their_kind(tmp_path) -> None:
    from scalefit import io
    from scalefit.laws import get_law, register

    law = register(
        dataclasses.replace(
            get_law("annealing"),
            name="annealing-with-extras",
            options={**get_law("annealing").options, "shift": 0.0, "flag": False},
        )
    )
    fit = Fit.given(law, {"L0": 2.5, "A": 0.6, "alpha": 0.5, "C": 0.7}, shift=-1.5, flag=True)
    io.save_fit(fit, tmp_path / "f.json")
    again = io.load_fit(tmp_path / "f.json")
    assert again.options["shift"] == -1.5 and again.options["flag"] is True
    multipower = Fit.given("multipower-fixed", {"L0": 2.5, "A": 0.6, "alpha": 0.5, "B": 400.0})
    data = multipower.to_dict()
    data["options"]["window"] = 16.0  # a whole number written as a float: read as an int
    assert Fit.from_dict(data).options["window"] == 16
    assert isinstance(Fit.from_dict(data).options["window"], int)


def test_with_actual_warm_up_a_schedule_without_one_rises_from_zero_as_a_short_one_does():
    fit = Fit.given("annealing", {"L0": 2.0, "A": 0.6, "alpha": 0.5, "C": 0.5}, warmup="actual")
    none, one, long = (
        predict(fit, f"constant:peak=3e-4,steps=24000,warmup={w}").final_loss for w in (0, 1, 2160)
    )
    assert abs(none - one) < 1e-4  # the same rise from 0, at once or over a step
    assert one < long < one + 0.02


def test_predict_takes_one_step_and_refuses_what_it_would_get_wrong():
    fit = Fit.given("annealing", {"L0": 2.0, "A": 0.6, "alpha": 0.5, "C": 0.5})
    spec = "cosine:peak=3e-4,steps=1000"
    one = predict(fit, spec, at=500)
    assert one.step.tolist() == [500] and one.loss[0] == predict(fit, spec).loss[500]
    assert "final loss" in repr(one) and "array" not in repr(one)
    for call, problem in [
        (lambda: predict(fit, spec, at=[10.5]), "whole numbers"),
        (lambda: predict(fit, np.full(10, 1e-3), steps=20), "steps re-parametrises"),
        (lambda: predict(fit, spec, warmup_steps=5000), "warmup_steps must be"),
        (lambda: predict(fit, np.r_[1e-3, np.nan]), "finite"),
        (lambda: predict(fit, len), "has no length"),
    ]:
        with pytest.raises(ValueError, match=problem):
            call()


def _fit_of_runs(near_zero_steps: list[int]) -> Fit:
    given = Fit.given("annealing", {"L0": 2.5, "A": 0.6, "alpha": 0.5, "C": 0.8})
    runs = [
        {"name": f"r{i}", "steps": 20000, "near_zero_steps": n}
        for i, n in enumerate(near_zero_steps)
    ]
    return dataclasses.replace(given, curves=runs)


def test_a_long_tail_at_an_lr_near_zero_is_flagged_as_beyond_the_fitted_runs():
    cosine = "cosine:peak=1e-3,steps=20000,warmup=200"  # about 6 % of its steps below 1 % of peak
    wsd = "wsd:peak=1e-3,steps=20000,warmup=200,decay=0.2"  # 40 steps below 1 % of peak
    unfitted_tail = _fit_of_runs([0, 30])
    (warning,) = [w for w in predict(unfitted_tail, cosine).warnings if "below 1%" in w]
    assert "the fitted runs at most 30" in warning
    assert not [w for w in predict(unfitted_tail, wsd).warnings if "below 1%" in w]
    fitted_tail = _fit_of_runs([0, 1000])
    assert not [w for w in predict(fitted_tail, cosine).warnings if "below 1%" in w]


def test_the_tail_warning_of_a_ranking_names_a_candidate_beyond_the_fit_whatever_else_is_ranked():
    from scalefit import rank

    fitted = _fit_of_runs([0, 0])
    short_cosine = "cosine:peak=1e-3,steps=3000,warmup=100,final=0"  # 6 % of its steps near 0
    long_wsd = "wsd:peak=1e-3,steps=100000,warmup=100,decay=0.2"  # more steps, under 1 %
    for candidates in ([short_cosine], [short_cosine, long_wsd]):
        tails = [w for w in rank(fitted, candidates).warnings if "below 1%" in w]
        assert len(tails) == 1 and short_cosine in tails[0]


def test_a_forecast_passes_the_tail_warning_on_and_words_no_budget_it_does_not_reach():
    from scalefit import Curve, forecast

    spec = "cosine:peak=1e-3,steps=3000,warmup=100,final=0"
    truth = Fit.given("annealing", {"L0": 2.5, "A": 0.6, "alpha": 0.5, "C": 0.8})
    steps = np.arange(100, 2401, 10)
    loss = predict(truth, spec, at=steps).loss
    run = Curve("run", parse_schedule(spec).lr(), steps, loss, warmup_steps=100)
    result = forecast(run, spec, law="annealing")
    assert [w for w in result.warnings if "below 1%" in w]
    assert not [w for w in result.warnings if "LR area logged so far" in w]
