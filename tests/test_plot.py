"""Figures draw what was computed: which schedule the LR panel of a prediction shows, which rows
a fit's residuals are drawn for, labels that fit the figure, and the sweeps' figures (runs
coloured by peak or size, LR sensitivity, the size law) with the predictions they show."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest

from scalefit import Curve, Fit, Prediction, Sweep, Uncertainty, io, predict, rank
from scalefit.cli import main
from scalefit.laws import PEAKS_LAW, SIZES_LAW
from scalefit.plot import (
    plot_fit,
    plot_lr_sensitivity,
    plot_predictions,
    plot_size_law,
    plot_sweep,
)

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


def _with_errors(fit: Fit, runs: list[dict], sd: float = 0.01) -> Fit:
    """``fit`` as if fitted to ``runs``, with an error model of a relative sd of ``sd``."""
    fit.curves = runs
    n = len(fit.params)
    fit.uncertainty = Uncertainty(np.eye(n) * 1e-6, sd**2, 0.0, fitted_area=10.0)
    return fit


FLOOR = {"L0": 2.0, "A": 0.6, "alpha": 0.45, "B": 300.0, "D": 0.3, "p": 0.3}
SIZED = {"E": 2.0, "b": 0.5, "a_N": 0.3, "A": 0.6, "alpha": 0.45, "B": 200.0, "p_A": 0.1}


def _run(name: str, peak: float, **known) -> Curve:
    rows = np.arange(100, 1000, 50)
    return Curve(name, LR * peak / 1e-3, rows, np.linspace(4, 3, rows.size), 100, **known)


def test_a_sweep_is_coloured_by_peak_on_a_log_scale_or_by_label_in_a_legend() -> None:
    runs = [_run("low", 1e-4), _run("mid", 1e-3), _run("high", 3e-3)]
    sweep = Sweep.of(runs, [{"optimizer": "adam"}, {"optimizer": "lion"}, {"optimizer": "adam"}])
    figure = plot_sweep(sweep)
    colors = [line.get_color() for line in figure.axes[0].get_lines()]
    (image,) = [a for a in figure.axes[1:] if a.collections or a.images]  # the colour bar
    plt.close(figure)
    viridis = plt.get_cmap("viridis")
    expected = [0.0, np.log(10) / np.log(30), 1.0]  # the peaks' places on a log scale
    np.testing.assert_allclose(colors, [viridis(x) for x in expected])
    figure = plot_sweep(sweep, color_by="optimizer")
    lines = figure.axes[0].get_lines()
    legend = [t.get_text() for t in figure.axes[0].get_legend().get_texts()]
    plt.close(figure)
    assert len(figure.axes) == 1 and legend == ["adam", "lion"]
    assert lines[0].get_color() == lines[2].get_color() != lines[1].get_color()
    with pytest.raises(KeyError, match="optimizer"):
        plot_sweep(sweep, color_by="seed")


def test_a_sweep_s_fit_is_drawn_over_each_run_after_its_warm_up() -> None:
    sweep = Sweep.of([_run("low", 1e-4), _run("high", 1e-3)])
    fit = Fit.given(PEAKS_LAW, FLOOR, lr_ref=3e-4)
    figure = plot_sweep(sweep, fit)
    laws = [line for line in figure.axes[0].get_lines() if line.get_linestyle() == "-"]
    plt.close(figure)
    assert len(laws) == 2
    for law, curve in zip(laws, sweep.curves):
        np.testing.assert_array_equal(law.get_xdata(), curve.step)
        np.testing.assert_allclose(law.get_ydata(), predict(fit, curve).loss)


def test_lr_sensitivity_draws_each_family_by_peak_with_its_interval() -> None:
    fitted = [{"name": "a", "peak_lr": 1e-4}, {"name": "b", "peak_lr": 1e-3}]
    fit = _with_errors(Fit.given(PEAKS_LAW, FLOOR, lr_ref=3e-4), fitted)
    peaks = [3e-3, 1e-4, 3e-4, 1e-3]
    ranking = rank(fit, [f"cosine:peak={p:g},steps=2000,warmup=100" for p in peaks])
    real = {1e-4: 3.1, 1e-3: 3.0}
    figure = plot_lr_sensitivity(fit, {"cosine": ranking}, observed={"cosine": real})
    ax = figure.axes[0]
    line, star, squares = [ln for ln in ax.get_lines() if len(ln.get_xdata())][:3]
    marks = sorted(ln.get_xdata()[0] for ln in ax.get_lines() if ln.get_linestyle() == ":")
    band = ax.collections[0].get_paths()[0].vertices
    plt.close(figure)
    assert ax.get_xscale() == "log" and marks == [1e-4, 1e-3]
    by_peak = {float(c.lr.max()): c.final_loss for c in ranking.choices}
    np.testing.assert_allclose(line.get_xdata(), sorted(peaks))
    np.testing.assert_allclose(line.get_ydata(), [by_peak[p] for p in sorted(peaks)])
    assert (star.get_xdata()[0], star.get_ydata()[0]) == (
        ranking.best.lr.max(),
        ranking.best.final_loss,
    )
    assert dict(zip(squares.get_xdata(), squares.get_ydata())) == real
    for peak, loss in by_peak.items():  # the band holds the predicted loss at every peak
        at = band[np.isclose(band[:, 0], peak), 1]
        assert at.min() < loss < at.max()


def test_the_size_law_draws_a_schedule_by_size_and_each_run_beside_its_prediction() -> None:
    sized = Fit.given(SIZES_LAW, SIZED | {"p_alpha": 0.0}, size_ref=5e7, lr_ref=1e-3)
    fit = _with_errors(sized, [{"name": "small", "params": 3e7}, {"name": "big", "params": 9e7}])
    runs = [_run("small", 1e-3, params=3e7), _run("held out", 1e-3, params=1.2e8)]
    spec = "cosine:peak=1e-3,steps=999,warmup=100"
    figure = plot_size_law(fit, {"cosine": spec}, observed=runs)
    ax = figure.axes[0]
    (law,) = [ln for ln in ax.get_lines() if ln.get_label() == "cosine"]
    filled = {ln.get_marker(): ln.get_xdata()[0] for ln in ax.get_lines() if ln.get_mfc() != "none"}
    hollow = [ln for ln in ax.get_lines() if ln.get_mfc() == "none" and len(ln.get_xdata())]
    plt.close(figure)
    sizes = law.get_xdata()
    assert ax.get_xscale() == "log" and sizes[0] == pytest.approx(1.5e7) and sizes[-1] == 2.4e8
    expected = [predict(fit, spec, at=[999], params=n).final_loss for n in sizes[[0, -1]]]
    np.testing.assert_allclose(law.get_ydata()[[0, -1]], expected)
    assert filled["o"] == 3e7 and filled["s"] == 1.2e8  # fitted runs: circles; others: squares
    drawn = sorted(ln.get_ydata()[0] for ln in hollow)
    np.testing.assert_allclose(drawn, sorted(predict(fit, c).loss[-1] for c in runs))
    with pytest.raises(ValueError, match="one model size"):
        plot_size_law(Fit.given(PEAKS_LAW, FLOOR, lr_ref=3e-4), spec)


def test_choose_draws_the_lr_sensitivity_when_several_peaks_are_tried(
    tmp_path: Path, monkeypatch
) -> None:
    fitted = [{"name": "a", "peak_lr": 1e-4}, {"name": "b", "peak_lr": 1e-3}]
    path = tmp_path / "fit.json"
    io.save_fit(_with_errors(Fit.given(PEAKS_LAW, FLOOR, lr_ref=3e-4), fitted), path)
    drawn = []
    monkeypatch.setattr(io, "save_figure", lambda figure, out: drawn.append(figure))
    args = ["choose", str(path), "--family", "cosine", "--steps", "2000", "--warmup", "100"]
    assert main([*args, "--peak-lr", "1e-4,1e-3", "--plot", str(tmp_path / "a.png")]) == 0
    assert main([*args, "--peak-lr", "1e-3", "--plot", str(tmp_path / "b.png")]) == 0
    several, one = (figure.axes[0] for figure in drawn)
    assert several.get_xscale() == "log" and several.get_xlabel() == "peak learning rate"
    assert one.get_xlabel() == "" and drawn[1].axes[1].get_xlabel() == "step"
