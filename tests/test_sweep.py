"""Sweeps: runs at several peak LRs, sizes and batch sizes, read from a sweep file and fitted by
laws that span them."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import scalefit
from scalefit import Curve, InputError, Sweep, fit, io, predict
from scalefit.cli import main
from scalefit.laws import PEAKS_LAW, SIZES_LAW, default_law
from scalefit.schedules import parse_schedule

DATA = Path(__file__).resolve().parents[1] / "data"
STABLE = next((DATA / "lr-scheduling-124m" / "csv").glob("stable-124m_*.csv"))
RESUMED = next((DATA / "lr-scheduling-124m" / "csv").glob("ann124-0.2_*linear_0.2_iter25000*"))
TRUTH = {"L0": 2.5, "A": 0.8, "alpha": 0.5, "C": 0.3}  # an annealing law, at LRs near 1e-3


def synthetic(spec: str, every: int = 20, **known) -> Curve:
    """A run whose losses follow the annealing law TRUTH, logged every ``every`` steps."""
    schedule = parse_schedule(spec)
    truth = scalefit.Fit.given("annealing", TRUTH)
    steps = np.arange(schedule.warmup, schedule.steps + 1, every)
    loss = predict(truth, schedule, at=steps).loss
    return Curve(spec.split(":")[0], schedule.lr(), steps, loss, schedule.warmup, **known)


def test_a_resumed_run_repeats_its_parent_and_counts_once() -> None:
    parent = io.read_curve(STABLE, loss_column="val_loss")
    child = io.read_curve(RESUMED, loss_column="val_loss")
    own = pd.read_csv(RESUMED)
    own_rows = set(own.step[(own.segment == 0) & own.val_loss.notna()])
    once = Sweep.of([parent, child]).counted_once()
    assert np.array_equal(once.curves[0].step, parent.step)  # the first run keeps every row
    kept = set(once.curves[1].step.tolist())
    assert kept <= own_rows and len(own_rows - kept) <= 1  # the copied rows go, its own stay
    assert len(Sweep.of([child, parent]).counted_once().curves[1].step) < parent.step.size


def test_groups_by_labels_and_by_what_the_logs_show() -> None:
    runs = [synthetic("constant:peak=1e-3,warmup=100,steps=2000")] * 3
    runs = [
        dataclasses.replace(c, name=f"r{i}", lr=c.lr * (1 + i // 2)) for i, c in enumerate(runs)
    ]
    sweep = Sweep.of(runs, labels=[{"seed": 0}, {"seed": 1}, {"seed": 0}])
    assert list(sweep.groups("seed")) == ["seed=0", "seed=1"]
    assert [len(g) for g in sweep.groups("peak_lr").values()] == [2, 1]
    with pytest.raises(KeyError, match="no column 'size'"):
        sweep.groups("size")


def test_the_bundled_sweep_file_reads_every_run(tmp_path: Path) -> None:
    sweep = io.read_sweep(DATA / "lr-scheduling-sweep" / "sweep.csv")
    assert len(sweep.sizes) == 5 and len(sweep.peaks) == 4
    assert all(c.tokens_per_step == 102400 for c in sweep.curves)
    bad = tmp_path / "sweep.csv"
    cases = [
        ("run\nx.csv\n", "no 'path' column"),
        ("path\nmissing.csv\n", "row 2: .*missing.csv: no such file"),
        (f"path,params\n{STABLE},-3\n", "row 2: params must be a positive number"),
        (f"path,tokens_per_step\n{STABLE},many\n", "tokens_per_step must be a positive number"),
    ]
    for text, message in cases:
        bad.write_text(text)
        with pytest.raises(InputError, match=message):
            io.read_sweep(bad)


def test_steps_are_counted_in_tokens_where_batches_differ() -> None:
    # one run of 4,000 steps, and one at twice the tokens a step for 2,000 steps: in tokens the
    # same schedule, so the same losses at the same tokens
    small = synthetic("cosine:peak=1e-3,warmup=100,steps=4000", tokens_per_step=1e5)
    big_lr = parse_schedule("cosine:peak=1e-3,warmup=50,steps=2000").lr()
    steps = np.arange(50, 2001, 10)
    big = Curve(
        "big",
        big_lr,
        steps,
        np.interp(2 * steps + 1, small.step, small.loss),
        50,
        tokens_per_step=2e5,
    )
    both = fit([small, big], "annealing", uncertainty=False)
    assert both.options["tokens_ref"] == 1e5
    assert max(m.pred_e for m in both.metrics) < 2e-3
    blind = fit(
        [dataclasses.replace(c, tokens_per_step=None) for c in (small, big)],
        "annealing",
        uncertainty=False,
    )
    assert max(m.pred_e for m in blind.metrics) > 3 * max(m.pred_e for m in both.metrics)
    final = predict(both, big).final_loss
    assert abs(final - big.loss[-1]) / big.loss[-1] < 2e-3


def test_fit_picks_the_law_for_the_peaks_and_sizes_the_runs_span() -> None:
    low = synthetic("wsd:peak=1e-3,warmup=100,steps=3000,decay=0.2", params=3e7)
    high = dataclasses.replace(low, name="high", lr=low.lr * 3)
    assert default_law(len(Sweep.of([low, high]).peaks)) == PEAKS_LAW
    bigger = dataclasses.replace(low, name="bigger", params=6e7)
    result = fit([low, bigger], uncertainty=False)
    assert result.law == SIZES_LAW and result.options["held"] == ["a_N"]
    assert result.params["a_N"] == scalefit._fit.LEVEL_EXPONENT
    warned = predict(result, low.lr, params=1e8)
    assert any("none of the two fitted" in w for w in warned.warnings)
    assert predict(result, low.lr, params=3e7).warnings == ()


def test_cli_asks_for_the_size_of_a_fit_across_sizes(tmp_path: Path, capsys) -> None:
    fitted = scalefit.Fit.given(
        SIZES_LAW,
        {
            "E": 2.0,
            "b": 0.5,
            "a_N": 0.3,
            "A": 0.6,
            "alpha": 0.45,
            "B": 200.0,
            "p_A": 0.1,
            "p_alpha": 0.0,
        },
        size_ref=5e7,
        lr_ref=3e-4,
    )
    fitted.curves = [{"name": "a", "params": 3e7}, {"name": "b", "params": 9e7}]
    path = tmp_path / "fit.json"
    io.save_fit(fitted, path)
    spec = "cosine:peak=3e-4,steps=2400,warmup=200"
    code = main(["predict", str(path), "--schedule", spec, "--out", str(tmp_path / "p.csv")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "give --params N" in err[0]
    out = tmp_path / "p.csv"
    assert (
        main(["predict", str(path), "--schedule", spec, "--params", "6e7", "--out", str(out)]) == 0
    )
    assert pd.read_csv(out).loss.iloc[-1] > 0
