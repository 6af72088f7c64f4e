"""Figures draw what was computed: which schedule the LR panel of a prediction shows, which rows
a fit's residuals are drawn for, and labels that fit the figure."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from scalefit import Curve, Prediction
from scalefit.plot import plot_fit, plot_predictions

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


def test_a_fit_s_residuals_leave_out_the_warm_up_it_left_out() -> None:
    rows = np.arange(0, 1000, 50)  # logged from step 0, through the 100-step warm-up
    long_name = "stable-124m_slimpajama_" + "x" * 80
    curve = Curve(long_name, LR, rows, np.linspace(9, 3, rows.size), 100)
    prediction = Prediction(rows, LR[rows], np.linspace(9.5, 3, rows.size), "run", warmup_steps=100)
    figure = plot_fit([prediction], [curve])
    (law,) = [line for line in figure.axes[0].get_lines() if line.get_linestyle() == "-"]
    (residuals,) = [line for line in figure.axes[1].get_lines() if line.get_marker() == "."]
    legend = [t.get_text() for t in figure.axes[0].get_legend().get_texts()]
    plt.close(figure)
    assert np.min(law.get_xdata()) == 100 and np.min(residuals.get_xdata()) == 100
    assert len(legend[0]) <= 40 and legend[0].startswith("stable-124m")
