"""The log formats: the same run written by each tool (or in its documented layout) reads as its
CSV and fits as its CSV; a log of several runs gives a curve each; loss and LR from two files;
bad input of each format; ``scalefit inspect`` on every bundled log and format fixture."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import log_writers as w
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scalefit import InputError, fit, io, predict
from scalefit.cli import main

DATA = Path(__file__).resolve().parents[1] / "data"
BUNDLED = sorted(p for p in DATA.glob("**/*.csv") if p.name not in ("manifest.csv", "sweep.csv"))
MLRUNS = w.FIXTURES / "mlruns"
FIXED = "wsd:peak=3e-4,steps=24000,warmup=2160,decay=0.2"
PROPERTY = settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture(autouse=True)
def _no_disk_cache(monkeypatch):
    monkeypatch.setenv("SCALEFIT_CACHE_DIR", "")


@pytest.fixture(scope="module")
def logs(tmp_path_factory) -> dict[str, Path]:
    """The real run in every format, by name (the CSV as "csv")."""
    d = tmp_path_factory.mktemp("logs")
    run = w.real_run()
    return {
        "csv": w.write_csv(run, d / "run.csv"),
        "hf-trainer file": w.write_trainer_state(run, d / "hf"),
        "hf-trainer folder": d / "hf",
        "tensorboard": w.write_tensorboard(run, d / "tb"),
        "lightning": w.write_lightning(run, d / "lightning"),
        "mlflow (written by mlflow)": next(p for p in MLRUNS.glob("*/*") if _is_run(p, "cosine")),
        "mlflow (layout)": w.write_mlflow(run, d / "mlruns"),
        "wandb csv": w.write_wandb_history(run, d / "history.csv"),
        "wandb json": w.write_wandb_history(run, d / "history.json"),
        "wandb jsonl": w.write_wandb_history(run, d / "history.jsonl"),
        "wandb panel + tensorboard csv": w.write_panel(
            {"r": run}, "loss", "train/loss", d / "p.csv"
        ),
        "tensorboard csv": w.write_tensorboard_csv(run, "loss", d / "run-.-tag-loss.csv"),
        "lr tensorboard csv": w.write_tensorboard_csv(run, "lr", d / "run-.-tag-lr.csv"),
    }


def _is_run(folder: Path, name: str) -> bool:
    tag = folder / "tags" / "mlflow.runName"
    return tag.is_file() and tag.read_text().startswith(name)


def _read(logs: dict[str, Path], kind: str):
    lr_from = logs["lr tensorboard csv"] if "tensorboard csv" in kind else None
    return io.read_curve(logs[kind], lr_from=lr_from)


FORMATS = [
    "hf-trainer file",
    "hf-trainer folder",
    "tensorboard",
    "lightning",
    "mlflow (written by mlflow)",
    "mlflow (layout)",
    "wandb csv",
    "wandb json",
    "wandb jsonl",
    "wandb panel + tensorboard csv",
    "tensorboard csv",
]


@pytest.mark.parametrize("kind", FORMATS)
def test_each_format_reads_as_its_csv(logs, kind):
    expected = io.read_curve(logs["csv"])
    curve = _read(logs, kind)
    np.testing.assert_array_equal(curve.step, expected.step)
    assert curve.warmup_steps == expected.warmup_steps == 2160
    float32 = kind == "tensorboard"  # event files hold float32 scalars
    np.testing.assert_allclose(curve.loss, expected.loss, rtol=1e-7 if float32 else 0)
    np.testing.assert_allclose(curve.lr, expected.lr, rtol=1e-7 if float32 else 0)


def test_each_format_fits_as_its_csv(logs, capsys):
    """Predicted final loss of a fixed schedule, fitted (annealing law) on each format."""
    reference = predict(fit([io.read_curve(logs["csv"])], "annealing"), FIXED).final_loss
    gaps = {}
    for kind in FORMATS:
        got = predict(fit([_read(logs, kind)], "annealing"), FIXED).final_loss
        gaps[kind] = abs(got / reference - 1)
    with capsys.disabled():
        print("\nrelative gap of the predicted final loss to the CSV's:", gaps, file=sys.stderr)
    for kind, gap in gaps.items():
        assert gap <= (1e-4 if kind == "tensorboard" else 1e-5), kind


def test_a_log_of_several_runs_gives_a_curve_each(logs, tmp_path):
    run, other = w.real_run(), w.synthetic_run()
    w.write_tensorboard(run, tmp_path / "runs" / "a", loss_tag="lm loss", lr_tag="learning-rate")
    w.write_tensorboard(other, tmp_path / "runs" / "b", "reduced_train_loss", "lr")
    assert [c.name for c in io.read_curves(tmp_path / "runs")] == ["a", "b"]
    assert [c.name for c in io.read_curves(MLRUNS)] == ["cosine-run", "short-run"]
    with pytest.raises(InputError, match=r"holds 2 runs \(a, b\)"):
        io.read_curve(tmp_path / "runs")
    loss = w.write_panel({"a": run, "b": other}, "loss", "train/loss", tmp_path / "loss.csv")
    lr = w.write_panel({"b": other, "a": run}, "lr", "lr", tmp_path / "lr.csv")
    a, b = io.read_curves(loss, lr_from=lr)
    assert (a.name, b.name) == ("a", "b")
    np.testing.assert_array_equal(a.lr, io.read_curve(logs["csv"]).lr)


def test_loss_and_lr_in_two_files_fit_in_one_command(logs, tmp_path, capsys):
    """A W&B panel export of the loss, a TensorBoard scalar CSV of the LR."""
    out = tmp_path / "fit.json"
    args = ["fit", str(logs["wandb panel + tensorboard csv"]), "--law", "annealing"]
    code = main([*args, "--lr-from", str(logs["lr tensorboard csv"]), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 0 and out.is_file()
    assert "W&B panel export holds the points W&B sampled" in err
    assert json.loads(out.read_text())["curves"][0]["name"] == "r"
    code = main([*args, "--out", str(tmp_path / "no.json")])
    assert code == 2 and not (tmp_path / "no.json").exists()
    assert "--lr-from FILE" in capsys.readouterr().err


def test_lr_schedule_stands_in_for_an_lr_never_logged(logs):
    from scalefit.schedules import parse_schedule

    spec = "cosine:peak=3e-4,steps=24000,warmup=2160,final=3e-5"
    curve = io.read_curve(logs["tensorboard csv"], lr_schedule=spec)
    np.testing.assert_array_equal(curve.lr, parse_schedule(spec).lr())
    np.testing.assert_array_equal(curve.loss, io.read_curve(logs["csv"]).loss)
    with pytest.raises(InputError, match="ends at step 1000, before the log's 23920"):
        io.read_curve(logs["tensorboard csv"], lr_schedule="cosine:peak=3e-4,steps=1000")


def test_eval_loss_of_a_trainer_state(logs):
    curve = io.read_curve(logs["hf-trainer folder"], loss_column="eval_loss")
    assert curve.step.tolist() == w.real_run()["step"][49::50].tolist()
    np.testing.assert_array_equal(curve.lr, io.read_curve(logs["csv"]).lr)


# --------------------------------------------------------------------------------------------
# Bad input: one line naming the file, exit code 2, nothing written
# --------------------------------------------------------------------------------------------


def _event_file(folder: Path) -> Path:
    return next(folder.glob("events.out.tfevents.*"))


def _bad_logs(logs: dict[str, Path], tmp: Path) -> dict[str, tuple[Path, list[str], str]]:
    """Each bad input: the path, extra options and the message it must give."""
    tb = tmp / "tb"
    shutil.copytree(logs["tensorboard"], tb)
    data = _event_file(tb).read_bytes()
    cut = tmp / "cut" / _event_file(tb).name
    cut.parent.mkdir()
    cut.write_bytes(data[: len(data) // 2])
    flipped = tmp / "flipped" / _event_file(tb).name
    flipped.parent.mkdir()
    flipped.write_bytes(data[:2000] + bytes([data[2000] ^ 0xFF]) + data[2001:])
    state = tmp / "trainer_state.json"
    state.write_text(logs["hf-trainer file"].read_text()[:5000])
    huge = tmp / "huge.csv"
    huge.write_text("step,lr,loss\n0,0,5\n10,1e-3,4\n20,1e308,3\n")
    shifted = tmp / "later.csv"
    pd.read_csv(logs["lr tensorboard csv"]).assign(Step=lambda f: f["Step"] + 10**5).to_csv(
        shifted, index=False
    )
    return {
        "truncated event file": (cut, [], "truncated or corrupt event file"),
        "corrupt event file": (flipped, [], "truncated or corrupt event file"),
        "truncated trainer state": (state, [], "not a complete JSON file"),
        "tag not there": (tb, ["--loss-column", "lm loss"], "(tags: train/loss, train/lr"),
        "LR of 1e308": (huge, [], "line 4: learning rate in column 'lr' is above 1000"),
        "LR steps do not overlap": (
            logs["tensorboard csv"],
            ["--lr-from", str(shifted)],
            "do not overlap",
        ),
    }


BAD = [
    "truncated event file",
    "corrupt event file",
    "truncated trainer state",
    "tag not there",
    "LR of 1e308",
    "LR steps do not overlap",
]


@pytest.mark.parametrize("kind", BAD)
def test_bad_input_is_one_line_exit_2_nothing_written(logs, tmp_path, capsys, kind):
    path, options, message = _bad_logs(logs, tmp_path)[kind]
    out = tmp_path / "fit.json"
    code = main(["fit", str(path), *options, "--law", "annealing", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and not out.exists(), err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], err
    assert lines[0].startswith(f"scalefit fit: error: {path if 'overlap' not in kind else ''}")
    assert "Traceback" not in err


def test_tensorboard_missing_is_one_line(logs, monkeypatch):
    for module in ("tensorboard", "tensorboard.backend.event_processing.event_file_loader"):
        monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(InputError, match=r'pip install "scalefit\[tensorboard\]"'):
        io.read_curve(logs["tensorboard"])


# --------------------------------------------------------------------------------------------
# Edge cases of the new readers (property tests)
# --------------------------------------------------------------------------------------------


@st.composite
def event_logs(draw):
    """Rows (step, lr, loss) with steps left out, some repeated (a restart), any wall times."""
    run = w.synthetic_run(every=draw(st.sampled_from([1, 7, 10])))
    keep = draw(st.lists(st.booleans(), min_size=len(run), max_size=len(run)))
    run = run[np.array(keep) | (np.arange(len(run)) < 3)].reset_index(drop=True)
    repeat = draw(st.lists(st.integers(0, len(run) - 1), max_size=8))
    rows = pd.concat([run, run.iloc[repeat]], ignore_index=True)
    wall = draw(st.lists(st.floats(1e9, 2e9), min_size=len(rows), max_size=len(rows)))
    return rows, wall


@PROPERTY
@given(case=event_logs())
def test_event_files_read_as_the_same_rows_in_a_csv(tmp_path, case):
    from tensorboardX import SummaryWriter

    rows, wall = case
    folder = tmp_path / "case"
    shutil.rmtree(folder, ignore_errors=True)
    with SummaryWriter(str(folder)) as writer:
        for (step, lr, loss), t in zip(rows.itertuples(index=False), wall):
            writer.add_scalar("train/loss", loss, int(step), walltime=t)
            writer.add_scalar("train/lr", lr, int(step), walltime=t)
    as_float32 = rows.astype({"lr": np.float32, "loss": np.float32}).astype(float)
    as_float32.to_csv(tmp_path / "case.csv", index=False)
    curve, expected = io.read_curve(folder), io.read_curve(tmp_path / "case.csv")
    np.testing.assert_array_equal(curve.step, expected.step)
    np.testing.assert_allclose(curve.loss, expected.loss, rtol=1e-12)
    np.testing.assert_allclose(curve.lr, expected.lr, rtol=1e-12, atol=1e-20)
    assert io.read_runs(folder)[0].repeated_steps == len(rows) - rows["step"].nunique()


@PROPERTY
@given(
    fmt=st.sampled_from(["tensorboard", "mlflow", "hf", "wandb"]),
    where=st.sampled_from(["loss", "lr"]),
    value=st.sampled_from([float("nan"), float("inf"), -1.0]),
    row=st.integers(0, 150),
)
def test_a_bad_scalar_is_an_error_naming_its_place(tmp_path, fmt, where, value, row):
    folder = tmp_path / "case"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    run = w.synthetic_run()
    run.loc[row, where] = value
    path = {
        "tensorboard": lambda: w.write_tensorboard(run, folder / "tb"),
        "mlflow": lambda: w.write_mlflow(run, folder / "mlruns"),
        "hf": lambda: w.write_trainer_state(run, folder / "hf"),
        "wandb": lambda: w.write_wandb_history(run, folder / "h.json"),
    }[fmt]()
    with pytest.raises(InputError) as caught:
        io.read_curve(path)
    message = str(caught.value)
    assert "\n" not in message and message.startswith(str(path))
    step = int(run["step"][row])
    place = {
        "tensorboard": f"at step {step}",
        "mlflow": f"line {row + 1}",
        "hf": "log_history entry",
        "wandb": "record",
    }[fmt]
    assert place in message
    assert ("not a finite number" if np.isnan(value) or np.isinf(value) else "") in message


# --------------------------------------------------------------------------------------------
# scalefit inspect, and a log as the truth of predict
# --------------------------------------------------------------------------------------------


def test_inspect_every_bundled_log(capsys):
    code = main(["inspect", *map(str, BUNDLED)])
    out = capsys.readouterr().out
    assert code == 0
    assert out.count("\nfit uses") + out.startswith("fit uses") == len(BUNDLED) > 50


def test_inspect_every_format_fixture(logs, tmp_path, capsys):
    for kind, path in logs.items():
        options = (
            ["--lr-from", str(logs["lr tensorboard csv"])] if "tensorboard csv" in kind else []
        )
        if kind == "lr tensorboard csv":
            options = ["--lr-schedule", "cosine:peak=3e-4,steps=24000,warmup=2160,final=3e-5"]
        code = main(["inspect", str(path), *options])
        out = capsys.readouterr().out
        assert code == 0, kind
        assert "warm-up    2,160 steps" in out, kind
        assert "steps      2,160 .. 23,920, every 128" in out, kind
    code = main(["inspect", str(MLRUNS), "--plot", str(tmp_path / "runs.png")])
    out = capsys.readouterr().out
    assert code == 0 and (tmp_path / "runs.png").stat().st_size > 1000
    assert "run        cosine-run" in out and "run        short-run" in out


def test_predict_scores_a_logged_schedule(logs, tmp_path, capsys):
    fitted = tmp_path / "fit.json"
    assert main(["fit", str(logs["csv"]), "--law", "annealing", "--out", str(fitted)]) == 0
    capsys.readouterr()
    out = tmp_path / "pred.csv"
    code = main(
        [
            "predict",
            str(fitted),
            "--schedule-csv",
            str(logs["hf-trainer folder"]),
            "--out",
            str(out),
            "--interval",
            "0.9",
            "--plot",
            str(tmp_path / "p.png"),
        ]
    )
    stdout = capsys.readouterr().out
    assert code == 0 and "PredE" in stdout and "in band" in stdout
    rows = stdout.splitlines()[-1].split()
    assert rows[0] == "hf" and int(rows[1]) == 171 and float(rows[2]) < 0.01
    assert (tmp_path / "p.png").is_file()


def test_a_library_warning_is_a_one_line_note(monkeypatch, tmp_path, capsys):
    """No warning reaches the terminal as Python prints it (two lines naming a source file)."""
    import warnings

    from scalefit.cli import _inspect

    def run(args):
        warnings.warn("overflow encountered in exp", RuntimeWarning, stacklevel=1)
        return 0

    monkeypatch.setattr(_inspect, "run", run)
    assert main(["inspect", str(tmp_path)]) == 0
    err = capsys.readouterr().err
    assert err == "note: RuntimeWarning: overflow encountered in exp\n"
