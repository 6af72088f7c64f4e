"""Forecasting a run in flight, from the library and from the command line."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import scalefit
from scalefit import ForecastRefused, InputError, fit, forecast, io
from scalefit.cli import main

MP400 = Path(__file__).resolve().parents[1] / "data" / "multipower-law" / "400M"
COSINE_PLAN = "cosine:peak=3e-4,steps=71936,warmup=2160,final=3e-5"


@pytest.fixture(autouse=True)
def _no_disk_cache(monkeypatch):
    monkeypatch.setenv("SCALEFIT_CACHE_DIR", "")


@pytest.fixture(scope="module")
def cosine():
    return io.read_curve(MP400 / "cosine_72000.csv")


def first(run, fraction):
    keep = run.step <= fraction * run.step[-1]
    return replace(run, step=run.step[keep], loss=run.loss[keep])


def test_forecast_from_half_a_run_lands_near_the_real_final_loss(cosine):
    result = forecast(first(cosine, 0.5), cosine.lr, at=cosine.step)
    real = cosine.loss[-1]
    assert abs(result.final_loss - real) / real < 0.01
    assert result.logged_until <= 0.5 * cosine.step[-1] and result.final_step == cosine.step[-1]
    # the band widens as the forecast runs away from the logged part
    p = result.prediction
    width = (p.upper - p.lower) / p.loss
    later = p.step > result.logged_until
    assert width[later][-1] > width[later][0]
    assert "forecasts" in str(result) and "interval" in result.table()


@pytest.mark.xfail(
    strict=True,
    reason="the default law's forecast is 0.87 % high and its 90 % interval 0.83 % wide each side: "
    "the folds of one half-run measure a decay rate but no horizon rate",
)
def test_forecast_from_half_a_run_holds_the_real_final_loss_in_its_interval(cosine):
    result = forecast(first(cosine, 0.5), cosine.lr, at=cosine.step)
    assert result.prediction.lower[-1] < cosine.loss[-1] < result.prediction.upper[-1]


def test_forecast_from_inside_a_cooldown_lands_near_the_real_final_loss():
    run = io.read_curve(MP400 / "wsd_20000_24000.csv")  # the LR decays from step 20,000
    keep = run.step <= 21000
    result = forecast(replace(run, step=run.step[keep], loss=run.loss[keep]), run.lr)
    real = run.loss[-1]
    assert abs(result.final_loss - real) / real < 0.01  # the annealing law: 5 % low
    assert result.prediction.lower[-1] < real < result.prediction.upper[-1]


def test_a_plan_that_ends_before_the_log_is_an_input_error(cosine):
    with pytest.raises(InputError, match="nothing to forecast"):
        forecast(first(cosine, 0.5), cosine.lr[:1000])


def test_cli_forecast_writes_the_band(tmp_path, capsys):
    log = tmp_path / "so_far.csv"
    table = pd.read_csv(MP400 / "cosine_72000.csv")
    table[table.step <= 36000].to_csv(log, index=False)
    out, fit_out, plot = tmp_path / "f.csv", tmp_path / "fit.json", tmp_path / "f.png"
    args = ["forecast", str(log), "--schedule", COSINE_PLAN, "--every", "1000"]
    code = main([*args, "--out", str(out), "--fit-out", str(fit_out), "--plot", str(plot)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "forecasts" in captured.out and "90% interval" in captured.out
    frame = pd.read_csv(out)
    assert list(frame.columns) == ["step", "lr", "loss", "loss_lo", "loss_hi"]
    assert frame.step.iloc[-1] == 71936
    inside = frame.step < 2160  # the plan's warm-up: no loss written there
    assert frame[inside].loss.isna().all() and frame[~inside].notna().all().all()
    after = frame[~inside]
    assert np.all(after.loss_lo <= after.loss) and np.all(after.loss <= after.loss_hi)
    assert fit_out.stat().st_size > 0 and plot.stat().st_size > 0
    assert "departs from the plan" not in captured.err


def test_cli_forecast_bad_input_is_one_line(tmp_path, capsys):
    log = tmp_path / "so_far.csv"
    pd.read_csv(MP400 / "cosine_72000.csv").head(100).to_csv(log, index=False)
    code = main(["forecast", str(log), "--schedule", "cosine:peak=3e-4,steps=5000,warmup=2160"])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1 and "plan ends" in err
    code = main(["forecast", str(log), "--schedule", COSINE_PLAN, "--interval", "90"])
    err = capsys.readouterr().err
    assert code == 2 and "--interval" in err


def test_a_forecast_asked_only_for_logged_steps_still_prints(cosine):
    logged = first(cosine, 0.5)
    result = forecast(logged, cosine.lr, at=logged.step[-5:])
    assert result.table().count("\n") == 0 and "forecasts" in str(result)


@pytest.fixture(scope="module")
def flat_then_cosine(cosine):
    """The first 8,000 steps of the cosine run, logged as if the LR had stayed at its peak: the
    plan decays, the log does not."""
    early = cosine.step <= 8000
    return replace(cosine, lr=np.full(8001, 3e-4), step=cosine.step[early], loss=cosine.loss[early])


def test_a_decay_nothing_logged_shows_is_refused_with_the_way_out(cosine, flat_then_cosine):
    with pytest.raises(ForecastRefused, match="nothing logged so far does") as refused:
        forecast(flat_then_cosine, cosine.lr, at=[71936], law="annealing")
    assert "--prior" in str(refused.value) and "C not determined" in str(refused.value)


def test_a_prior_lends_what_the_log_cannot_determine(cosine, flat_then_cosine, monkeypatch):
    names = ("cosine_24000", "constant_24000", "wsdcon_9")
    prior = fit([io.read_curve(MP400 / f"{n}.csv") for n in names], "annealing")
    monkeypatch.setattr(scalefit._forecast, "MAX_WIDTH", 1.0)  # the borrowing, not the width
    result = forecast(flat_then_cosine, cosine.lr, at=[71936], law="annealing", prior=prior)
    assert result.fit.options["borrowed"] == ["C"] and result.fit.params["C"] == prior.params["C"]
    assert not any("not identifiable" in w for w in result.warnings)
    assert any("borrowed from the fit of cosine_24000" in w for w in result.warnings)
    assert abs(result.final_loss - cosine.loss[-1]) / cosine.loss[-1] < 0.03
    # the borrowed parameter's error comes from the prior's error model
    i = list(prior.params).index("C")
    assert result.fit.uncertainty.covariance[i, i] == prior.uncertainty.covariance[i, i] > 0
    with pytest.raises(ValueError, match=f"not of the {scalefit.laws.FORECAST_LAW} law"):
        forecast(flat_then_cosine, cosine.lr, at=[71936], prior=prior)


def test_an_interval_too_wide_is_refused(cosine, monkeypatch):
    monkeypatch.setattr(scalefit._forecast, "MAX_WIDTH", 1e-4)
    with pytest.raises(ForecastRefused, match=r"spans .*% of the loss \(more than 0%\)"):
        forecast(first(cosine, 0.5), cosine.lr, at=[71936], law="annealing")


def test_borrowing_is_checked():
    runs = [io.read_curve(MP400 / f"{n}.csv") for n in ("cosine_24000", "constant_24000")]
    prior = fit(runs, "annealing", uncertainty=False)
    with pytest.raises(ValueError, match="needs a prior"):
        fit(runs[1], "annealing", borrow=["C"])
    with pytest.raises(ValueError, match="no parameter B"):
        fit(runs[1], "annealing", prior=prior, borrow=["B"])
    borrowed = fit(runs[1], "annealing", prior=prior, borrow="C")
    assert borrowed.params["C"] == prior.params["C"] and borrowed.law == "annealing"
    assert any("taken as exact" in n for n in borrowed.uncertainty.notes)
    again = scalefit.Fit.from_dict(borrowed.to_dict())
    assert again.options["borrowed"] == ["C"] and again.params == borrowed.params


def test_cli_forecast_refuses_then_borrows(tmp_path, capsys):
    log = tmp_path / "so_far.csv"
    table = pd.read_csv(MP400 / "cosine_72000.csv")
    table = table[table.step <= 8000].assign(lr=3e-4)
    table.to_csv(log, index=False)
    args = ["forecast", str(log), "--schedule", COSINE_PLAN, "--law", "annealing"]
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no forecast" in err[0] and "--prior" in err[0]
    prior = tmp_path / "prior.json"
    fit_args = ["fit", *(str(MP400 / f"{n}.csv") for n in ("cosine_24000", "wsdcon_9"))]
    assert main([*fit_args, "--law", "annealing", "--out", str(prior)]) == 0
    capsys.readouterr()
    code = main([*args, "--prior", str(prior), "--interval", "0.5"])
    captured = capsys.readouterr()
    assert (code == 0 and "forecasts" in captured.out) or "spans" in captured.err
