"""Comparing laws: each fitted on the same curves, scored on the others at the rows it predicted."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from scalefit import InputError, compare_laws, io

MP25 = io.bundled_data("multipower-law") / "25M"


def test_each_law_is_scored_by_the_prediction_it_reports() -> None:
    fit_on = [io.read_curve(MP25 / f"{n}.csv") for n in ("cosine_24000", "constant_24000")]
    test_on = [io.read_curve(MP25 / f"{n}.csv") for n in ("wsdcon_3", "constant_72000")]
    (result,) = compare_laws(fit_on, test_on, ["annealing"], interval=0.9).values()
    for curve, prediction, metrics in zip(test_on, result.predictions, result.metrics):
        scored = curve.after_warmup()
        assert prediction.name == curve.name and metrics.name == curve.name
        np.testing.assert_array_equal(prediction.step, scored.step)
        assert prediction.lower is not None and prediction.level == 0.9
        assert prediction.compare(scored) == metrics
    long = result.predictions[1]
    assert any("extrapolates" in w for w in long.warnings)  # 3x the fitted LR area
    assert result.mean_pred_e == pytest.approx(np.mean([m.pred_e for m in result.metrics]))


def test_nothing_to_compare_is_an_input_error() -> None:
    curve = io.read_curve(MP25 / "cosine_24000.csv")
    with pytest.raises(InputError):
        compare_laws([curve], [], ["annealing"])


def test_by_default_the_laws_the_runs_can_determine():
    from scalefit._compare import _laws_for

    data = io.bundled_data("multipower-law")
    one_peak = [
        io.read_curve(data / "25M" / f"{n}.csv") for n in ("cosine_24000", "constant_24000")
    ]
    laws = _laws_for(one_peak)
    assert "multipower-proportional" in laws and "annealing" in laws
    assert not [
        law for law in laws if law.endswith("+size") or law in ("noise", "multipower-floor")
    ]
    sized = [dataclasses.replace(c, params=n) for c, n in zip(one_peak, (2.5e7, 4e8))]
    assert "multipower-proportional+size" in _laws_for(sized)
