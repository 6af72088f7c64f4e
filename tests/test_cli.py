"""The command line on the bundled real data, and every bad-input case."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from scalefit.cli import main
from scalefit.laws import DEFAULT_LAW

DATA = Path(__file__).resolve().parents[1] / "data"
MP25 = DATA / "multipower-law" / "25M"
LR124 = DATA / "lr-scheduling-124m" / "csv"


@pytest.fixture(autouse=True)
def _no_disk_cache(monkeypatch):
    monkeypatch.setenv("SCALEFIT_CACHE_DIR", "")


@pytest.fixture(scope="module")
def fit_json(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("fit") / "fit.json"
    code = main(
        ["fit", str(MP25 / "cosine_24000.csv"), str(MP25 / "constant_24000.csv"), "--out", str(out)]
    )
    assert code == 0
    return out


def run(args: list[str], capsys) -> tuple[int, str, str]:
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_fit_writes_json_and_prints_a_table(fit_json):
    data = json.loads(fit_json.read_text())
    # the default law: the multi-power law, its loss-drop shape held and proportional to the
    # loss; the annealing law its rival
    assert data["law"] == DEFAULT_LAW == "multipower-proportional"
    assert set(data["params"]) == {"L0", "A", "alpha", "B"}
    assert data["options"]["warmup"] == "actual" and data["converged"]
    assert data["uncertainty"]["rival"]["law"] == "annealing"
    assert [c["name"] for c in data["curves"]] == ["cosine_24000", "constant_24000"]
    assert data["version"]


def test_fit_prints_parameters_and_metrics(tmp_path, capsys):
    code, out, err = run(
        [
            "fit",
            str(MP25 / "wsd_20000_24000.csv"),
            "--out",
            str(tmp_path / "f.json"),
            "--plot",
            str(tmp_path / "f.png"),
        ],
        capsys,
    )
    assert code == 0
    assert "alpha" in out and "PredE" in out and "wsd_20000_24000" in out
    assert (tmp_path / "f.png").stat().st_size > 1000
    assert "wrote" in err


def test_fit_on_sparse_validation_loss_with_lr_every_50_steps(tmp_path, capsys):
    files = sorted(LR124.glob("ann124-0.2_*decay_linear_0.2_iter25000*.csv"))
    files += sorted(LR124.glob("stable-124m_*.csv"))
    code, out, _ = run(
        ["fit", *map(str, files), "--loss-column", "val_loss", "--out", str(tmp_path / "f.json")],
        capsys,
    )
    assert code == 0
    data = json.loads((tmp_path / "f.json").read_text())
    assert all(m["pred_e"] < 0.01 for m in data["metrics"])
    assert data["curves"][0]["rows"] < 200  # val_loss every 200 steps, not every row
    assert data["options"]["skip_warmup"] is True
    # steps 0 and 200 (inside the 300-step warm-up) are left out unless asked for
    code, _, _ = run(
        [
            "fit",
            *map(str, files),
            "--loss-column",
            "val_loss",
            "--include-warmup",
            "--out",
            str(tmp_path / "g.json"),
        ],
        capsys,
    )
    with_warmup = json.loads((tmp_path / "g.json").read_text())
    assert code == 0 and with_warmup["options"]["skip_warmup"] is False
    assert [c["rows"] for c in with_warmup["curves"]] == [c["rows"] + 2 for c in data["curves"]]


def test_predict_a_spec_every_k_steps(fit_json, tmp_path, capsys):
    out = tmp_path / "p.csv"
    spec = "wsd:peak=3e-4,warmup=2160,steps=24000,decay=0.2,shape=linear,final=3e-5"
    code, stdout, _ = run(
        [
            "predict",
            str(fit_json),
            "--schedule",
            spec,
            "--every",
            "100",
            "--out",
            str(out),
            "--plot",
            str(tmp_path / "p.png"),
        ],
        capsys,
    )
    assert code == 0
    frame = pd.read_csv(out)
    assert list(frame.columns) == ["step", "lr", "loss"]
    assert frame.step.iloc[0] == 0 and frame.step.iloc[-1] == 24000
    assert frame.step.diff().iloc[1:-1].eq(100).all()
    assert frame.loss.iloc[-1] < frame.loss.iloc[len(frame) // 2]
    assert "predicted loss" in stdout


def test_predict_a_longer_budget_than_fitted(fit_json, tmp_path, capsys):
    out = tmp_path / "long.csv"
    spec = "cosine:peak=3e-4,steps=24000,final=3e-5,warmup=2160"
    assert (
        run(
            [
                "predict",
                str(fit_json),
                "--schedule",
                spec,
                "--steps",
                "72000",
                "--every",
                "1000",
                "--out",
                str(out),
            ],
            capsys,
        )[0]
        == 0
    )
    frame = pd.read_csv(out)
    assert frame.step.iloc[-1] == 72000 and frame.lr.iloc[-1] == pytest.approx(3e-5)


def test_predict_at_the_rows_of_a_schedule_csv(fit_json, tmp_path, capsys):
    source = MP25 / "wsdcon_9.csv"
    out = tmp_path / "p.csv"
    assert (
        run(["predict", str(fit_json), "--schedule-csv", str(source), "--out", str(out)], capsys)[0]
        == 0
    )
    frame, real = pd.read_csv(out), pd.read_csv(source)
    assert frame.step.tolist() == real.step.tolist()
    assert frame.lr.tolist() == pytest.approx(real.lr.tolist())
    assert ((frame.loss - real.loss).abs() / real.loss).mean() < 0.005


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


BAD_FILES = {
    "missing column": ("step,lr\n1,0.1\n", "loss"),
    "no usable rows": ("step,lr,loss\n1,0.1,\n2,0.1,\n", "no usable rows"),
    "nan loss": ("step,lr,loss\n1,0.1,3.0\n2,0.1,nan\n", "not a finite number"),
    "inf loss": ("step,lr,loss\n1,0.1,3.0\n2,0.1,inf\n", "not a finite number"),
    "non-positive loss": ("step,lr,loss\n1,0.1,3.0\n2,0.1,0\n", "not > 0"),
    "negative lr": ("step,lr,loss\n1,0.1,3.0\n2,-0.1,2.9\n", "negative"),
    "empty file": ("", "empty"),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_bad_logs_exit_2_with_one_line_naming_the_file(case, tmp_path, capsys):
    text, words = BAD_FILES[case]
    bad = write(tmp_path / "bad.csv", text)
    before = bad.read_bytes()
    out = tmp_path / "fit.json"
    code, _, err = run(["fit", str(bad), "--out", str(out)], capsys)
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and str(bad) in err and words in err
    assert "Traceback" not in err
    assert not out.exists() and bad.read_bytes() == before


def test_unreadable_and_missing_files(tmp_path, capsys):
    code, _, err = run(
        ["fit", str(tmp_path / "nope.csv"), "--out", str(tmp_path / "f.json")], capsys
    )
    assert code == 2 and "nope.csv" in err and len(err.strip().splitlines()) == 1
    folder = tmp_path / "dir.csv"
    folder.mkdir()
    code, _, err = run(["fit", str(folder), "--out", str(tmp_path / "f.json")], capsys)
    assert code == 2 and "dir.csv" in err


@pytest.mark.parametrize(
    "spec",
    ["wsd:peak=3e-4", "nosuch:peak=1,steps=3", "cosine:peak=abc,steps=10", "cosine peak=1"],
)
def test_bad_spec_exits_2(spec, fit_json, tmp_path, capsys):
    out = tmp_path / "p.csv"
    code, _, err = run(["predict", str(fit_json), "--schedule", spec, "--out", str(out)], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1 and not out.exists()


def test_bad_fit_file_exits_2(tmp_path, capsys):
    for text in ("{not json", json.dumps({"law": "annealing"}), json.dumps({"scalefit_fit": 1})):
        bad = write(tmp_path / "fit.json", text)
        code, _, err = run(
            [
                "predict",
                str(bad),
                "--schedule",
                "constant:peak=1e-3,steps=10",
                "--out",
                str(tmp_path / "p.csv"),
            ],
            capsys,
        )
        assert code == 2 and "fit.json" in err and len(err.strip().splitlines()) == 1


def test_refuses_to_overwrite_an_input(tmp_path, capsys):
    source = tmp_path / "run.csv"
    source.write_bytes((MP25 / "cosine_24000.csv").read_bytes())
    before = source.read_bytes()
    code, _, err = run(["fit", str(source), "--out", str(source)], capsys)
    assert code == 2 and "overwrite" in err and source.read_bytes() == before


def test_existing_output_is_replaced_whole(fit_json, tmp_path, capsys):
    out = tmp_path / "p.csv"
    out.write_text("old content that is longer than nothing\n" * 1000)
    assert (
        run(
            [
                "predict",
                str(fit_json),
                "--schedule",
                "constant:peak=3e-4,steps=100",
                "--out",
                str(out),
            ],
            capsys,
        )[0]
        == 0
    )
    assert pd.read_csv(out).shape == (101, 3)
    assert [p.name for p in tmp_path.iterdir()] == ["p.csv"]


def test_help_teaches_the_grammar():
    result = subprocess.run(
        [sys.executable, "-m", "scalefit.cli", "predict", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "wsd" in result.stdout and "FAMILY:key=value" in result.stdout


@pytest.mark.parametrize("command", ["fit", "predict", "forecast", "compare", "choose"])
def test_help_shows_only_defaults_that_say_something(command, capsys):
    with pytest.raises(SystemExit) as done:
        main([command, "--help"])
    assert done.value.code == 0
    text = " ".join(capsys.readouterr().out.split())  # the help wraps its lines
    assert "(default: None)" not in text and "(default: False)" not in text
    assert "(default: [])" not in text
    assert not re.search(r"\(default[^()]*\) \(default:", text)  # said in words, then again


def test_demo_runs_on_bundled_data(tmp_path):
    env = {**os.environ, "SCALEFIT_CACHE_DIR": str(tmp_path / "cache")}
    result = subprocess.run(
        [sys.executable, "-m", "scalefit.cli", "demo", "--plot", str(tmp_path / "demo.png")],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "wsdcon_18" in result.stdout and "mean" in result.stdout
    assert (tmp_path / "demo.png").stat().st_size > 10_000


def test_a_process_with_stored_programs_fits_as_the_first_one_did(tmp_path):
    """The second process loads every program from the store, some ahead of need on background
    threads (scalefit._programs): the same fit, byte for byte, and nothing compiled again."""
    env = {**os.environ, "SCALEFIT_CACHE_DIR": str(tmp_path / "cache")}
    csvs = [str(MP25 / f"{n}.csv") for n in ("cosine_24000", "constant_24000")]
    stored = []
    for out in ("first.json", "second.json"):
        result = subprocess.run(
            [sys.executable, "-m", "scalefit.cli", "fit", *csvs, "--law", "annealing"]
            + ["--out", str(tmp_path / out)],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
        )
        assert result.returncode == 0, result.stderr
        stored.append({p.name: p.stat().st_mtime_ns for p in (tmp_path / "cache").iterdir()})
    assert (tmp_path / "first.json").read_bytes() == (tmp_path / "second.json").read_bytes()
    assert stored[1] == stored[0]  # nothing written again: every program was loaded
    assert any(name.endswith(".next") for name in stored[0])


def test_compare_scores_each_law_on_the_held_out_curves(tmp_path, capsys):
    names = ("cosine_24000", "constant_24000", "wsdcon_9", "constant_72000")
    csvs = [str(MP25 / f"{n}.csv") for n in names]
    out = tmp_path / "compare.csv"
    code, stdout, stderr = run(
        [
            "compare",
            *csvs,
            "--fit-on",
            "cosine_24000",
            "constant_24000",
            "--laws",
            "annealing",
            "--out",
            str(out),
        ],
        capsys,
    )
    assert code == 0
    assert "wsdcon_9" in stdout and "mean held-out PredE: annealing" in stdout
    assert "in band" in stdout and "in the 90% interval: annealing" in stdout
    table = pd.read_csv(out)
    assert list(table["curve"]) == ["wsdcon_9", "constant_72000"]
    assert list(table["law"]) == ["annealing"] * 2
    assert 0 < table["pred_e"].iloc[0] < 0.01
    (warning,) = [line for line in stderr.splitlines() if line.startswith("warning")]
    assert warning.startswith("warning (annealing, constant_72000):") and "extrapolates" in warning
    assert 0 <= table["coverage"].iloc[0] <= 1 and 0 < table["width"].iloc[0] < 0.1


def test_compare_takes_the_one_name_a_prefix_begins(tmp_path, capsys):
    csvs = [str(MP25 / f"{n}.csv") for n in ("cosine_24000", "constant_24000", "wsdcon_3")]
    longer = tmp_path / "wsdcon_3_again.csv"  # wsdcon_3 is a name and the start of this one
    longer.write_bytes((MP25 / "wsdcon_3.csv").read_bytes())
    out = tmp_path / "compare.csv"
    args = ["compare", *csvs, str(longer), "--fit-on", "cosine", "constant_2", "wsdcon_3"]
    code, _, stderr = run([*args, "--laws", "annealing", "--out", str(out)], capsys)
    assert code == 0, stderr
    assert list(pd.read_csv(out)["curve"]) == ["wsdcon_3_again"]


def test_logs_that_share_a_file_name_are_named_by_their_folders(tmp_path, capsys):
    paths = []
    for run_name in ("cosine_24000", "constant_24000", "wsdcon_3"):  # runs/<run>/metrics.csv
        (tmp_path / run_name).mkdir()
        paths.append(tmp_path / run_name / "metrics.csv")
        paths[-1].write_bytes((MP25 / f"{run_name}.csv").read_bytes())
    out = tmp_path / "compare.csv"
    fit_on = ["--fit-on", str(paths[0]), "constant_24000/metrics"]  # a path, a name
    args = ["compare", *map(str, paths), *fit_on, "--laws", "annealing", "--out", str(out)]
    code, stdout, stderr = run(args, capsys)
    assert code == 0, stderr
    assert "Fitted on cosine_24000/metrics + constant_24000/metrics" in stdout
    assert list(pd.read_csv(out)["curve"]) == ["wsdcon_3/metrics"]
    (tmp_path / "again").symlink_to(tmp_path / "cosine_24000")  # the same log twice, by a link
    link = tmp_path / "again" / "metrics.csv"
    twice = ["compare", str(paths[0]), str(link), *map(str, paths[1:])]
    code, _, stderr = run([*twice, "--fit-on", "constant_24000/metrics"], capsys)
    _one_line_error(code, stderr, "again/metrics.csv: given twice")


def test_a_name_not_given_is_told_with_a_few_names_only():
    from scalefit.cli._common import not_among as _not_among

    names = [f"run_{k}" for k in range(40)]
    assert _not_among("zzz", names).endswith("they include: run_0, run_1, run_2 and 37 more)")
    close = _not_among("run_1", names[10:19])
    assert "did you mean: run_10, run_11, run_12 and 6 more" in close


@pytest.mark.parametrize(
    "extra, problem",
    [
        (["--fit-on", "nosuch"], "--fit-on nosuch: not among the 2 curves given"),
        (["--fit-on", "wsdcon9"], "did you mean: wsdcon_9"),
        (["--fit-on", "wsdcon_9", "--test-on", "con_3"], "did you mean: wsdcon_3)"),
        (["--fit-on", "wsdcon"], "wsdcon: is the start of 2 curves' names; give more of it"),
        (["--fit-on", "wsdcon_9", "wsdcon_9.csv"], "--fit-on: wsdcon_9 named more than once"),
        (["--fit-on", "other/wsdcon.csv"], "other/wsdcon.csv: not among the 2 curves"),
        (["--fit-on", ""], ": not among the 2 curves given"),
        (["--fit-on", "wsdcon_9", "--test-on", "wsdcon_9"], "both fitted on and held out"),
        (["--fit-on", "wsdcon_9", "--laws", "nosuch"], "unknown law 'nosuch'"),
        (["--fit-on", "wsdcon_9", "--interval", "90"], "--interval: an interval's level"),
    ],
)
def test_compare_bad_names_exit_2(extra, problem, capsys):
    csvs = [str(MP25 / f"{n}.csv") for n in ("wsdcon_9", "wsdcon_3")]
    code, _, stderr = run(["compare", *csvs, *extra], capsys)
    assert code == 2 and problem in stderr and stderr.count("\n") == 1


def test_predict_with_an_interval(fit_json, tmp_path, capsys):
    out = tmp_path / "p.csv"
    spec = "wsd:peak=3e-4,warmup=2160,steps=24000,decay=0.2"
    args = ["predict", str(fit_json), "--schedule", spec, "--every", "1000"]
    code, stdout, _ = run([*args, "--interval", "0.9", "--out", str(out)], capsys)
    assert code == 0 and "90% interval" in stdout
    frame = pd.read_csv(out)
    assert list(frame.columns) == ["step", "lr", "loss", "loss_lo", "loss_hi"]
    # inside the warm-up (steps 0, 1000, 2000) no law says anything: empty cells
    inside, after = frame[frame.step < 2160], frame[frame.step >= 2160]
    assert len(inside) == 3 and inside[["loss", "loss_lo", "loss_hi"]].isna().all().all()
    assert (after.loss_lo < after.loss).all() and (after.loss < after.loss_hi).all()
    code, _, err = run([*args, "--interval", "0", "--out", str(out)], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1


def test_ctrl_c_stops_cleanly_and_writes_nothing(tmp_path):
    import signal
    import time

    out = tmp_path / "fit.json"
    csvs = [str(MP25 / f"{n}.csv") for n in ("cosine_24000", "constant_24000", "wsdcon_9")]
    env = {**os.environ, "SCALEFIT_CACHE_DIR": ""}
    process = subprocess.Popen(
        [sys.executable, "-m", "scalefit.cli", "fit", *csvs, "--law", "multipower"]
        + ["--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    time.sleep(6)  # imported and fitting: a multi-power fit takes far longer
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert err.strip().splitlines()[-1] == "scalefit fit: interrupted; nothing written"
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_a_momentum_decay_for_a_law_without_one_is_refused(tmp_path, capsys):
    # --lambda and --fit-lambda belong to the annealing law: with the default law they would
    # be ignored, so they are refused, with the fix in the message
    csv = str(MP25 / "cosine_24000.csv")
    for option in (["--lambda", "0.99"], ["--fit-lambda"]):
        out = tmp_path / "f.json"
        code, _, err = run(["fit", csv, *option, "--out", str(out)], capsys)
        assert code == 2 and "--law annealing" in err and len(err.strip().splitlines()) == 1
        assert not out.exists()


def test_a_malformed_rival_in_a_fit_file_is_one_line(fit_json, tmp_path, capsys):
    data = json.loads(fit_json.read_text())
    del data["uncertainty"]["rival"]["params"]["C"]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data))
    spec = "wsd:peak=3e-4,warmup=2160,steps=24000,decay=0.2"
    out = tmp_path / "p.csv"
    args = ["predict", str(bad), "--schedule", spec, "--interval", "0.9", "--out", str(out)]
    code, _, err = run(args, capsys)
    assert code == 2 and "bad.json" in err and "lacks C" in err and not out.exists()
    assert len(err.strip().splitlines()) == 1


SPEC = "wsd:peak=3e-4,warmup=2160,steps=24000,decay=0.2"


def _one_line_error(code: int, err: str, *words: str) -> None:
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    for word in words:
        assert word in err, (word, err)


@pytest.mark.parametrize(
    "outputs",
    [
        ["--out", "{d}/p.png", "--plot", "{d}/./p.png"],  # two outputs, one file
        ["--out", "{d}/p.csv", "--plot", "{d}/p.txt"],  # no such figure format
        ["--out", "{d}", "--plot", "{d}/p.png"],  # a folder
    ],
)
def test_predict_refuses_bad_outputs_before_writing_anything(fit_json, tmp_path, outputs, capsys):
    args = [a.format(d=tmp_path) for a in outputs]
    code, _, err = run(["predict", str(fit_json), "--schedule", SPEC, *args], capsys)
    _one_line_error(code, err)
    if outputs[3].endswith("./p.png"):
        assert "given to both --out and --plot" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_fit_checks_its_outputs_and_options_before_fitting(tmp_path, capsys):
    csv = str(MP25 / "cosine_24000.csv")
    out = tmp_path / "f.json"
    cases = [
        (["--plot", str(tmp_path / "f.txt")], "formats: "),
        (["--plot", str(tmp_path)], "is a folder"),
        (["--law", "annealing", "--lambda", "1.5"], "--lambda"),
        ([csv], "given twice"),
    ]
    for extra, word in cases:
        code, stdout, err = run(["fit", csv, *extra, "--out", str(out)], capsys)
        _one_line_error(code, err, word)
        assert stdout == "" and not out.exists()  # refused before any fitting


def _broken(fit_json: Path, tmp_path: Path, edit) -> Path:
    data = json.loads(fit_json.read_text())
    edit(data)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data))
    return bad


@pytest.mark.parametrize(
    ("edit", "word"),
    [
        (lambda d: d["options"].update(drop_power="x"), "drop_power"),
        (lambda d: d["options"].update(warmup="half"), "warmup"),
        (lambda d: d["curves"][0].update(peak_lr=None), "peak_lr"),
        (lambda d: d["params"].update(L0=float("nan")), "L0"),
        (lambda d: d["params"].update(L0=-2.0), "L0 must be at least 0"),  # negative losses
        (lambda d: d["options"].update(window=0), "window"),
        (lambda d: d.update(scalefit_fit=2), "format 2"),
        (lambda d: d["params"].pop("B"), "'B' is missing"),
    ],
)
def test_a_fit_file_with_impossible_values_is_one_line(fit_json, tmp_path, edit, word, capsys):
    bad = _broken(fit_json, tmp_path, edit)
    out = tmp_path / "p.csv"
    args = ["predict", str(bad), "--schedule", SPEC, "--interval", "0.9", "--out", str(out)]
    code, _, err = run(args, capsys)
    _one_line_error(code, err, "bad.json", word)
    assert not out.exists()


@pytest.mark.parametrize(
    "edit",
    [
        lambda u: u.update(covariance=[[1.0]]),
        lambda u: u.update(transfer_variance=-1.0),
        lambda u: u.update(horizon_variance=None),
    ],
)
def test_a_broken_error_model_still_predicts_but_gives_no_interval(
    fit_json, tmp_path, edit, capsys
):
    bad = _broken(fit_json, tmp_path, lambda d: edit(d["uncertainty"]))
    out = tmp_path / "p.csv"
    args = ["predict", str(bad), "--schedule", SPEC, "--every", "1000", "--out", str(out)]
    code, stdout, err = run(args, capsys)
    assert code == 0 and "predicted loss" in stdout and out.exists(), err
    code, _, err = run([*args, "--interval", "0.9"], capsys)
    _one_line_error(code, err, "bad.json", "error model is unusable", "refit it")


def test_options_that_would_be_ignored_or_fail_late_are_refused(fit_json, tmp_path, capsys):
    schedule = tmp_path / "s.csv"
    pd.DataFrame({"step": [0, 100, 200], "lr": [3e-4, 3e-4, 1e-4]}).to_csv(schedule, index=False)
    out = str(tmp_path / "o.csv")
    design = ["choose", str(fit_json), "--steps", "2400", "--peak-lr"]
    cases = [
        (["predict", str(fit_json), "--schedule-csv", str(schedule), "--every", "10"], "--every"),
        (["predict", str(fit_json), "--schedule", SPEC, "--lr-column", "lr"], "--lr-column"),
        (["predict", str(fit_json), "--schedule", SPEC.replace("24000", "1e9")], "at most"),
        ([*design, "0", "--family", "cosine"], "--peak-lr > 0"),
        ([*design, "-3e-4", "--family", "cosine"], "--peak-lr > 0"),  # a number, not an option
        ([*design, "3e-4", "--optimize", "--iterations", "0"], "--iterations"),
        (["choose", str(fit_json), "--candidate", SPEC, "--warmup", "10"], "--warmup: only with"),
        ([*design, "3e-4", "--family", "wsd", "--iterations", "5"], "only with --optimize"),
        (["compare", str(MP25 / "wsdcon_9.csv"), "--fit-on", "wsdcon_9", "--laws", ","], "--laws"),
    ]
    for args, word in cases:
        code, stdout, err = run([*args, "--out", out], capsys)
        _one_line_error(code, err, word)
        assert "searched" not in err and not Path(out).exists()


def test_choose_reports_every_at_checkpoint(fit_json, tmp_path, capsys):
    out = tmp_path / "r.csv"
    args = ["choose", str(fit_json), "--candidate", SPEC, "--at", "1000", "--at", "2000,3000"]
    code, _, err = run([*args, "--out", str(out)], capsys)
    assert code == 0, err
    columns = list(pd.read_csv(out).columns)
    assert [c for c in columns if c.startswith("loss_at_")] == [
        "loss_at_1000",
        "loss_at_2000",
        "loss_at_3000",
    ]


def test_fit_says_which_loss_column_it_took(tmp_path, capsys):
    log = tmp_path / "run.csv"
    frame = pd.read_csv(MP25 / "cosine_24000.csv")
    frame["val_loss"] = frame["loss"] * 1.01
    frame.to_csv(log, index=False)
    code, _, err = run(["fit", str(log), "--out", str(tmp_path / "f.json")], capsys)
    assert code == 0 and "loss from column 'loss'; also there: val_loss" in err
    args = ["fit", str(log), "--loss-column", "val_loss", "--out", str(tmp_path / "g.json")]
    code, _, err = run(args, capsys)
    assert code == 0 and "also there" not in err


def test_a_usage_error_is_one_line(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["fit", "run.csv"])
    err = capsys.readouterr().err
    assert stop.value.code == 2 and err.count("\n") == 1
    assert "--out" in err and "scalefit fit --help" in err


def test_an_unknown_option_is_told_in_its_subcommand_s_words(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["choose", "fit.json", "--candidate", SPEC, "--bogus", "3"])
    err = capsys.readouterr().err
    assert stop.value.code == 2 and err.count("\n") == 1
    assert "unrecognized arguments: --bogus 3" in err and "scalefit choose --help" in err
