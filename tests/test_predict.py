"""Predictions: long trajectories are computed in chunks of rows with the same result."""

from __future__ import annotations

import numpy as np

from scalefit import predict as predict_module
from scalefit.fitting import Fit
from scalefit.predict import predict
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
