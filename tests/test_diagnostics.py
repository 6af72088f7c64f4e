"""Fit diagnostics: each warning fires on a case built to trigger it and stays quiet on the
bundled fits."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from scalefit import Curve, fit, forecast, io, predict
from scalefit._diagnostics import anneals, decays, unidentified
from scalefit.laws import DEFAULT_LAW, get_law

DATA = Path(__file__).resolve().parents[1] / "data"
PAPER = ("cosine_24000", "constant_24000", "wsdcon_9")
FIT_124M = (
    "stable-124m_slimpajama_llama_norm_nlayers12_nhead12_lr0.001_sched_wsd_warmup300_decay_linear"
    "_0.0_iter50000_bs50x2_ws2_seed0_data_seed1337.csv",
    "ann124-0.2_slimpajama_llama_norm_nlayers12_nhead12_lr0.001_sched_wsd_warmup300_decay_linear"
    "_0.2_iter25000_bs50x2_ws2_seed0_data_seed1337.csv",
)


def bundled(size: str, names=PAPER) -> list:
    return [io.read_curve(DATA / "multipower-law" / size / f"{n}.csv") for n in names]


@pytest.mark.parametrize("law", [DEFAULT_LAW, "annealing"])
@pytest.mark.parametrize("size", ["25M", "400M"])
def test_quiet_on_the_bundled_fits(size, law):
    assert fit(bundled(size), law).warnings == []
    assert fit(bundled(size, PAPER[:2]), law).warnings == []


@pytest.mark.parametrize("law", [DEFAULT_LAW, "annealing"])
@pytest.mark.parametrize("column", ["val_loss", "train_loss"])
def test_quiet_on_the_real_noisy_logs(column, law):
    runs = [
        io.read_curve(DATA / "lr-scheduling-124m" / "csv" / name, loss_column=column)
        for name in FIT_124M
    ]
    assert fit(runs, law).warnings == []


def test_systematic_misfit_after_a_drop_fires():
    cosine, constant, wsdcon = bundled("400M")
    dropped = np.flatnonzero(wsdcon.lr < 0.9 * wsdcon.lr.max())
    dropped = dropped[dropped >= wsdcon.warmup_steps][0]
    shifted = replace(wsdcon, loss=np.where(wsdcon.step >= dropped, 1.01, 1.0) * wsdcon.loss)
    warnings = fit([cosine, constant, shifted]).warnings
    assert len(warnings) == 1
    assert "systematic misfit after the LR drop of wsdcon_9" in warnings[0]
    assert "above the law" in warnings[0]


def test_budget_far_beyond_the_fit_fires_and_a_fitted_budget_does_not():
    result = fit(bundled("400M"))
    long = io.read_curve(DATA / "multipower-law" / "400M" / "constant_72000.csv")
    assert "extrapolates" in predict(result, long).warnings[0]
    assert predict(result, bundled("400M", ["wsd_20000_24000"])[0]).warnings == ()


def test_a_peak_lr_outside_the_fitted_ones_fires():
    result = fit(bundled("400M"), "annealing", uncertainty=False)
    assert {c["peak_lr"] for c in result.curves} == {3e-4}
    wsd = bundled("400M", ["wsd_20000_24000"])[0]
    assert predict(result, wsd).warnings == ()
    as_multiplier = replace(wsd, lr=wsd.lr / wsd.lr.max())
    (warning,) = predict(result, as_multiplier).warnings
    assert "peak LR is 1, the fitted runs' 0.0003" in warning and "multiplier" in warning
    assert predict(result, replace(wsd, lr=wsd.lr * 1.05)).warnings == ()  # within 10 %
    (near,) = predict(result, replace(wsd, lr=wsd.lr * 1.5)).warnings
    assert "peak LR is 0.00045" in near and "multiplier" not in near
    unrecorded = [{k: v for k, v in c.items() if k != "peak_lr"} for c in result.curves]
    assert predict(replace(result, curves=unrecorded), as_multiplier).warnings == ()


def test_a_held_shape_fit_from_before_peaks_were_recorded_is_flagged():
    result = fit(bundled("400M", PAPER[:2]), "multipower-fixed", uncertainty=False)
    wsd = bundled("400M", ["wsd_20000_24000"])[0]
    assert predict(result, wsd).warnings == ()
    unrecorded = [{k: v for k, v in c.items() if k != "peak_lr"} for c in result.curves]
    (warning,) = predict(replace(result, curves=unrecorded), wsd).warnings
    assert "held C in absolute LR units" in warning and "refit" in warning


def test_a_decay_is_sustained_not_one_row():
    # the real constant run's log ends with `50000,0`: one row at LR 0 is not an anneal
    name = FIT_124M[0]
    stable = io.read_curve(DATA / "lr-scheduling-124m" / "csv" / name, loss_column="train_loss")
    assert stable.lr[-1] == 0 and stable.step[-1] == 50000
    assert not anneals(stable)
    assert unidentified(get_law("annealing")) in fit(stable, "annealing").warnings
    wsd = io.read_curve(DATA / "lr-scheduling-124m" / "csv" / FIT_124M[1], loss_column="val_loss")
    assert anneals(wsd)
    # a decay must last a share of the steps, and losses must be logged inside it
    lr = np.full(10_000, 1e-3)
    lr[-50:] = 1e-4  # 0.5 % of the steps
    assert not decays(lr).any()
    lr[-200:] = 1e-4  # 2 %
    assert decays(lr).sum() == 200
    steps = np.arange(0, 10_000, 500)
    one_row = Curve("late", lr, np.r_[steps, 9_999], np.ones(steps.size + 1))
    assert not anneals(one_row)  # one logged loss in the decay
    assert anneals(Curve("logged", lr, np.r_[steps, 9_900, 9_999], np.ones(steps.size + 2)))


def test_forecast_drops_the_unidentified_warning_when_nothing_decays_ahead(monkeypatch):
    import scalefit._forecast

    # the warnings, not the width: two truncations of one constant run are all the annealing
    # law's error model has here, and Student's t with one degree of freedom is wide
    monkeypatch.setattr(scalefit._forecast, "MAX_WIDTH", 1.0)
    constant = io.read_curve(DATA / "multipower-law" / "400M" / "constant_72000.csv")
    early = constant.step <= 36000
    flat = replace(constant, step=constant.step[early], loss=constant.loss[early])
    quiet = forecast(flat, constant.lr, at=[71936], law="annealing")
    assert not any("identifiable" in w or "decays" in w for w in quiet.warnings)
