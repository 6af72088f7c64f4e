"""Figures draw what was computed: here, which schedule the LR panel of a prediction shows."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from scalefit.curve import Curve
from scalefit.plot import plot_predictions
from scalefit.predict import Prediction

LR = np.concatenate([np.linspace(0, 1e-3, 100), np.full(900, 1e-3)])  # warm-up, then constant


def _lr_panel(prediction: Prediction, curve: Curve) -> np.ndarray:
    figure = plot_predictions([prediction], [curve])
    (line,) = figure.axes[1].get_lines()
    plt.close(figure)
    return np.asarray(line.get_xdata())


def test_the_schedule_is_drawn_at_every_step_when_the_curve_holds_it() -> None:
    rows = np.arange(100, 1000, 50)  # logged every 50 steps, after warm-up
    prediction = Prediction(rows, LR[rows], np.linspace(4, 3, rows.size), "run")
    curve = Curve("run", LR, rows, np.linspace(4.1, 3.1, rows.size), 100)
    np.testing.assert_array_equal(_lr_panel(prediction, curve), np.arange(LR.size))


def test_a_run_in_flight_shows_the_planned_schedule_predicted() -> None:
    planned = np.arange(0, 1000, 10)
    prediction = Prediction(planned, LR[planned], np.linspace(4, 3, planned.size), "run")
    logged = np.arange(100, 500, 50)
    run = Curve("run", LR[:500], logged, np.linspace(4.1, 3.5, logged.size), 100)
    np.testing.assert_array_equal(_lr_panel(prediction, run), planned)


def test_a_curve_whose_lrs_are_not_the_schedule_predicted_does_not_stand_for_it() -> None:
    planned = np.arange(0, 1000, 10)
    prediction = Prediction(planned, LR[planned], np.linspace(4, 3, planned.size), "plan")
    logged = np.arange(100, 500, 50)
    other = Curve("run", LR / 2, logged, np.linspace(4.1, 3.5, logged.size), 100)  # whole length
    np.testing.assert_array_equal(_lr_panel(prediction, other), planned)
