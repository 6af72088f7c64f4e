"""Tests of :mod:`scalefit.io`: real and synthetic training logs, LR rebuilding, atomic writes."""

from __future__ import annotations

import gzip
import hashlib
import math
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scalefit import Curve, InputError
from scalefit.areas import leading_warmup
from scalefit.io import (
    ALIASES,
    MAX_STEP,
    curve_names,
    find_column,
    read_curve,
    read_table,
    rebuild_lr,
    write_csv_atomic,
    write_text_atomic,
)
from scalefit.schedules import MAX_STEPS, parse_schedule

DATA = Path(__file__).resolve().parents[1] / "data"
MULTIPOWER = sorted(DATA.glob("multipower-law/*/*.csv"))
LRSCHED = sorted(DATA.glob("lr-scheduling-124m/csv/*.csv"))
WSDCON = [f for f in MULTIPOWER if f.stem.startswith("wsdcon_")]
PEAK = 1e-3  # peak LR of every lr-scheduling-124m run

PROPERTY = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


def _ids(paths: list[Path]) -> list[str]:
    return [f"{p.parent.name}/{p.stem[:40]}" for p in paths]


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _same_curve(a: Curve, b: Curve) -> None:
    assert a.name == b.name
    assert a.warmup_steps == b.warmup_steps
    np.testing.assert_array_equal(a.lr, b.lr)
    np.testing.assert_array_equal(a.step, b.step)
    np.testing.assert_array_equal(a.loss, b.loss)


# --------------------------------------------------------------------------------------------
# Real data
# --------------------------------------------------------------------------------------------


def test_the_data_is_there() -> None:
    assert len(MULTIPOWER) == 18
    assert len(LRSCHED) == 33
    assert len(WSDCON) == 6


@pytest.mark.parametrize("path", MULTIPOWER + LRSCHED, ids=_ids(MULTIPOWER + LRSCHED))
def test_every_real_file_reads(path: Path) -> None:
    before = _digest(path)
    curve = read_curve(path)
    raw = pd.read_csv(path)
    loss_col = "loss" if "loss" in raw.columns else "train_loss"
    assert path.parent.name != "csv" or loss_col == "train_loss"
    with_loss = raw[raw[loss_col].notna()]
    assert curve.name == path.stem
    assert curve.source == str(path)
    assert curve.n_steps == raw["step"].max() + 1
    np.testing.assert_array_equal(curve.step, with_loss["step"].to_numpy())
    np.testing.assert_allclose(curve.loss, with_loss[loss_col].to_numpy(), rtol=1e-15)
    logged = raw[raw["lr"].notna()]
    np.testing.assert_allclose(curve.lr[logged["step"]], logged["lr"].to_numpy(), rtol=1e-15)
    assert np.all(curve.lr >= 0) and np.all(np.isfinite(curve.lr))
    assert _digest(path) == before


def _schedule(path: Path, t: np.ndarray) -> np.ndarray:
    """The exact LR of an lr-scheduling-124m run after its warm-up (data/README.md)."""
    name = path.name
    total = int(re.search(r"_iter(\d+)_", name).group(1))
    t = t.astype(np.float64)
    if name.startswith("stable-124m"):
        return np.full_like(t, PEAK)
    if name.startswith("ann124-"):
        frac = float(re.match(r"ann124-([0-9.]+)_", name).group(1))
        n = int(frac * total)
        x = np.clip((t - (total - n)) / n, 0.0, 1.0)
        decay = 1 - np.sqrt(x) if _is_sqrt(path) else 1 - x
        return np.where(t < total - n, PEAK, PEAK * decay)
    final = PEAK / 10 if name.startswith("cos-10-") else 1e-7
    return final + (PEAK - final) / 2 * (1 + np.cos(np.pi * (t - 299) / (total - 1 - 299)))


def _is_sqrt(path: Path) -> bool:
    # Cosine runs carry "decay_sqrt" in their file names too (an unused trainer option).
    return path.name.startswith("ann124-") and "_decay_sqrt_" in path.name


def _sqrt_bound(path: Path, t: np.ndarray, every: int = 50) -> np.ndarray:
    """Largest error of linear interpolation (rows ``every`` steps apart) of the 1-sqrt decay.

    On the first interval of the cooldown the chord of ``p (1 - sqrt(x))`` is off by at most
    ``p sqrt(h) / 4`` (``h = every / n``); on the k-th one (k >= 1) by ``h^2 / 8 max|f''|`` =
    ``p sqrt(h) / (32 k^1.5)``. Zero outside the cooldown.
    """
    total = int(re.search(r"_iter(\d+)_", path.name).group(1))
    n = int(float(re.match(r"ann124-([0-9.]+)_", path.name).group(1)) * total)
    h = every / n
    k = (t - (total - n)) // every
    bound = np.where(k == 0, PEAK * math.sqrt(h) / 4, 0.0)
    later = k >= 1
    bound[later] = PEAK * math.sqrt(h) / (32 * k[later].astype(np.float64) ** 1.5)
    return np.where(t >= total - n, bound, 0.0)


@pytest.mark.parametrize("path", LRSCHED, ids=_ids(LRSCHED))
def test_lr_scheduling_validation_curve_and_exact_schedule(path: Path) -> None:
    curve = read_curve(path, loss_column="val_loss")
    raw = pd.read_csv(path)
    val = raw[raw["val_loss"].notna()]
    np.testing.assert_array_equal(curve.step, val["step"].to_numpy())
    assert np.all(curve.step % 200 == 0)
    assert curve.warmup_steps == 300

    total = int(re.search(r"_iter(\d+)_", path.name).group(1))
    assert curve.n_steps == total + 1
    t = np.arange(300, total)  # after the warm-up; step T itself is checked below
    err = curve.lr[t] - _schedule(path, t)
    logged = raw.loc[raw["lr"].notna() & raw["step"].between(300, total - 1), "step"].to_numpy()
    # Logged rows: exact up to the 7 significant digits the LR was logged with.
    np.testing.assert_allclose(curve.lr[logged], _schedule(path, logged), rtol=0, atol=1e-9)
    if _is_sqrt(path):
        # 1 - sqrt(x) is convex, so chords lie above it; near the start of the cooldown (where
        # its slope is infinite) they lie up to p*sqrt(50/n)/4 ~ 2.5e-5 above, not 1e-6.
        assert np.all(err >= -1e-9)
        assert np.all(err <= _sqrt_bound(path, t) + 1e-9)
        assert np.abs(err).max() > 1e-6  # the honest bound is needed
    else:
        assert np.abs(err).max() <= 1e-6
    if path.name.startswith("stable-124m"):
        # Surprise in the data: the constant run logs lr = 0 at its very last step.
        assert np.all(curve.lr[49951:50000] == PEAK) and curve.lr[50000] == 0.0
    else:
        assert curve.lr[total] == pytest.approx(_schedule(path, np.array([total]))[0], abs=1e-9)


@pytest.mark.parametrize("path", LRSCHED[:1] + LRSCHED[-1:], ids=_ids(LRSCHED[:1] + LRSCHED[-1:]))
def test_lr_scheduling_warmup_and_default_loss(path: Path) -> None:
    curve = read_curve(path)
    raw = pd.read_csv(path)
    assert curve.step.size == raw["train_loss"].notna().sum()  # train_loss is empty at step 0
    assert curve.step[0] == 50
    assert curve.warmup_steps == 300
    # lr is empty at step 0: a linear ramp from 0 up to the first logged value (step 50).
    np.testing.assert_allclose(curve.lr[:51], 0.000175 * np.arange(51) / 50, rtol=1e-12)
    # The logged linear warm-up is rebuilt linearly (no jumps).
    np.testing.assert_allclose(curve.lr[50:301], np.linspace(0.000175, 1e-3, 251), rtol=1e-9)
    # --warmup-steps longer than the first logged step: logged values win.
    again = read_curve(path, warmup_steps=300)
    np.testing.assert_array_equal(again.lr, curve.lr)
    assert again.warmup_steps == 300


@pytest.mark.parametrize("path", WSDCON, ids=_ids(WSDCON))
def test_wsdcon_jump_is_kept(path: Path) -> None:
    curve = read_curve(path)
    second = {"wsdcon_3": 3e-5, "wsdcon_9": 9e-5, "wsdcon_18": 1.8e-4}[path.stem]
    assert np.all(curve.lr[2176:8000] == 3e-4)
    assert curve.lr[8000] == pytest.approx(second, rel=1e-12)
    assert np.all(curve.lr[8000:] == curve.lr[8000])


@pytest.mark.parametrize("path", MULTIPOWER, ids=_ids(MULTIPOWER))
def test_multipower_warmup_is_the_first_step(path: Path) -> None:
    curve = read_curve(path)
    raw = pd.read_csv(path)
    first, peak = int(raw["step"].iloc[0]), float(raw["lr"].iloc[0])
    assert first in (2160, 2176)
    assert peak == pytest.approx(3e-4, rel=1e-6)  # 400M/cosine_72000 starts just past its peak
    assert curve.warmup_steps == first
    np.testing.assert_allclose(curve.lr[: first + 1], peak * np.arange(first + 1) / first)


def test_multipower_smooth_decays_are_interpolated() -> None:
    path = DATA / "multipower-law/25M/wsd_20000_24000.csv"  # rows at 19840 then 20064
    curve = read_curve(path)
    start, stop = curve.lr[19840], curve.lr[20064]
    assert start == 3e-4 and stop < start
    np.testing.assert_allclose(curve.lr[19840:20065], np.linspace(start, stop, 225), rtol=1e-12)
    for name in ("cosine_24000", "wsdld_20000_24000"):
        lr = read_curve(DATA / f"multipower-law/400M/{name}.csv").lr[2176:]
        assert np.all(np.diff(lr) <= 0)
        assert np.abs(np.diff(lr)).max() < 1e-7  # no jump anywhere: the steepest slope is 7e-8


def test_warmup_steps_override() -> None:
    path = DATA / "multipower-law/25M/constant_24000.csv"
    curve = read_curve(path, warmup_steps=1000)
    assert curve.warmup_steps == 1000
    np.testing.assert_allclose(curve.lr[:1000], 3e-4 * np.arange(1000) / 1000)
    assert np.all(curve.lr[1000:] == 3e-4)
    assert np.all(read_curve(path, warmup_steps=0).lr == 3e-4)


def test_explicit_columns_and_name() -> None:
    path = LRSCHED[0]
    curve = read_curve(path, step_column="STEP", lr_column="Lr", loss_column="Val_Loss", name="run")
    assert curve.name == "run"
    assert curve.step[0] == 0 and curve.loss[0] == pytest.approx(10.90208)


# --------------------------------------------------------------------------------------------
# Columns, warm-up, small tables
# --------------------------------------------------------------------------------------------


def test_find_column() -> None:
    cols = ["Global_Step", "segment", "Train/LR", "val_loss", "train_loss"]
    assert find_column(cols, "step", path="f") == "Global_Step"
    assert find_column(cols, "lr", path="f") == "Train/LR"
    assert find_column(cols, "loss", path="f") == "train_loss"
    assert find_column(cols + ["LOSS"], "loss", path="f") == "LOSS"
    assert find_column(["loss/train", "eval_loss"], "loss", path="f") == "loss/train"
    assert find_column(cols, "loss", " VAL_LOSS ", path="f") == "val_loss"
    assert find_column(["Loss", "loss"], "loss", path="f") == "loss"
    with pytest.raises(InputError, match=r"^f: no column 'acc' \(columns: Global_Step, segment"):
        find_column(cols, "loss", "acc", path="f")
    with pytest.raises(InputError, match=r"^runs/a\.csv: no loss column .*columns: step, lr"):
        find_column(["step", "lr"], "loss", path="runs/a.csv")
    with pytest.raises(ValueError, match="kind"):
        find_column(cols, "accuracy", path="f")


def test_leading_warmup() -> None:
    assert leading_warmup([]) == 0
    assert leading_warmup([1.0]) == 0
    assert leading_warmup([1.0, 1.0, 0.5]) == 0
    assert leading_warmup([1.0, 0.5]) == 0
    assert leading_warmup([0.0, 1.0, 2.0, 2.0]) == 2
    assert leading_warmup([0.0, 1.0, 2.0, 1.0]) == 2
    assert leading_warmup([0.0, 1.0, 2.0]) == 2
    assert leading_warmup(np.r_[np.linspace(0, 3e-4, 2161), np.full(10, 3e-4)]) == 2160


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_unsorted_duplicated_and_sparse_rows(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "run.csv",
        "Iteration,Learning_Rate,Train/Loss,extra\n"
        "20,1.0,,x\n"
        "10,1.0,4.0,y\n"
        "10,,3.0,z\n"  # a restart: step 10 again, its lr not logged
        "step,lr,loss,extra\n"  # a repeated header line (concatenated logs) is skipped
        " 30 , 0.5 , 2.5 ,\n"
        "35,0.25,,\n"  # without this row, 1.0 -> 0.5 between flat neighbours would be a jump
        "1e1,1.0,,\n"
        "40,,,\n",  # nothing but a step: still extends the run
    )
    curve = read_curve(path)
    np.testing.assert_array_equal(curve.step, [10, 30])
    np.testing.assert_array_equal(curve.loss, [3.5, 2.5])
    assert curve.n_steps == 41
    np.testing.assert_allclose(curve.lr[:11], np.arange(11) / 10)
    np.testing.assert_allclose(curve.lr[20:36], np.linspace(1.0, 0.25, 16))
    assert np.all(curve.lr[35:] == 0.25)
    assert curve.warmup_steps == 10


def test_compressed_file(tmp_path: Path) -> None:
    path = tmp_path / "run.csv.gz"
    path.write_bytes(gzip.compress(b"step,lr,loss\n0,1e-3,3.0\n10,1e-3,2.0\n"))
    curve = read_curve(path)
    assert curve.name == "run"
    assert curve.n_steps == 11
    assert read_table(path).shape == (2, 3)


def test_a_log_may_be_as_long_as_the_longest_spec(tmp_path: Path) -> None:
    longest = parse_schedule(f"constant:peak=1e-3,steps={MAX_STEPS}").lr()
    path = _write(tmp_path / "run.csv", f"step,lr,loss\n0,1e-3,3.0\n{MAX_STEP},1e-3,2.5\n")
    assert read_curve(path).n_steps == longest.size
    path.write_text(f"step,lr,loss\n0,1e-3,3.0\n{MAX_STEP + 1},1e-3,2.5\n")
    with pytest.raises(InputError, match=f"line 3: step is larger than {MAX_STEP:,}"):
        read_curve(path)


def test_curve_names_tell_files_apart_by_as_few_folders_as_needed(tmp_path: Path) -> None:
    deep = ["/a/b/c/m.csv", "/q/r/s/t/a/b/c/m.csv"]  # one path ends the other
    assert curve_names(deep) == ["a/b/c/m", "t/a/b/c/m"]
    assert curve_names(["a/m.csv", "a/m.csv.gz"]) == ["m.csv", "m.csv.gz"]  # one folder
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "m.csv").write_text("step,lr,loss\n")
    (tmp_path / "link").symlink_to(tmp_path / "real")
    same = [tmp_path / "real" / "m.csv", tmp_path / "link" / "m.csv"]  # one file, two paths
    assert curve_names(same) == ["m", "m"]


def test_read_table(tmp_path: Path) -> None:
    frame = read_table(LRSCHED[0])
    assert list(frame.columns) == ["step", "lr", "train_loss", "val_loss", "segment"]
    assert np.isnan(frame["lr"].iloc[0])
    with pytest.raises(InputError, match=r"^.*nope\.csv: no such file$"):
        read_table(tmp_path / "nope.csv")


# --------------------------------------------------------------------------------------------
# Properties of rebuild_lr
# --------------------------------------------------------------------------------------------

LR_VALUES = st.one_of(st.just(0.0), st.floats(min_value=1e-8, max_value=1.0))


@st.composite
def piecewise_linear_logs(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, int]:
    """A piecewise-linear schedule logged every ``every`` steps, its corners on logged rows.

    Each linear piece spans at least two logging intervals, so no interval is steeper than
    both of its neighbours: nothing may be mistaken for a jump.
    """
    every = draw(st.integers(1, 20))
    first = draw(st.integers(0, 60))
    spans = draw(st.lists(st.integers(2, 5), min_size=1, max_size=5))
    corners = np.concatenate([[0], np.cumsum(spans)])
    corner_values = draw(st.lists(LR_VALUES, min_size=corners.size, max_size=corners.size))
    index = np.arange(corners[-1] + 1)
    values = np.interp(index, corners, corner_values)
    extra = draw(st.integers(0, 30))
    return first + every * index, values, extra


@PROPERTY
@given(piecewise_linear_logs())
def test_rebuild_lr_is_linear_between_logged_rows(log: tuple[np.ndarray, np.ndarray, int]) -> None:
    steps, values, extra = log
    n_steps = int(steps[-1]) + 1 + extra
    lr = rebuild_lr(steps, values, n_steps)
    assert lr.shape == (n_steps,)
    np.testing.assert_array_equal(lr[steps], values)
    t = np.arange(steps[0], steps[-1] + 1)
    np.testing.assert_allclose(lr[t], np.interp(t, steps, values), rtol=1e-12, atol=1e-300)
    first = int(steps[0])
    np.testing.assert_allclose(lr[:first], values[0] * np.arange(first) / max(first, 1))
    assert np.all(lr[steps[-1] :] == values[-1])
    # The order of the rows does not matter.
    order = np.random.default_rng(0).permutation(steps.size)
    np.testing.assert_array_equal(rebuild_lr(steps[order], values[order], n_steps), lr)


@PROPERTY
@given(
    before=st.integers(1, 4),
    after=st.integers(1, 4),
    every=st.integers(2, 200),
    high=st.floats(min_value=1e-6, max_value=1.0),
    ratio=st.floats(min_value=0.0, max_value=0.89),
    up=st.booleans(),
)
def test_rebuild_lr_keeps_a_jump_between_plateaus(
    before: int, after: int, every: int, high: float, ratio: float, up: bool
) -> None:
    a, b = (high * ratio, high) if up else (high, high * ratio)
    steps = every * np.arange(before + after + 1) + every
    values = np.where(np.arange(steps.size) <= before, a, b)
    lr = rebuild_lr(steps, values)
    jump = int(steps[before + 1])
    assert np.all(lr[steps[0] : jump] == a)
    assert np.all(lr[jump:] == b)


def test_rebuild_lr_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        rebuild_lr([], [])
    with pytest.raises(ValueError):
        rebuild_lr([0, 0], [1.0, 1.0])
    with pytest.raises(ValueError):
        rebuild_lr([0, 1.5], [1.0, 1.0])
    with pytest.raises(ValueError):
        rebuild_lr([0, 10], [1.0, 1.0], n_steps=5)
    with pytest.raises(ValueError):
        rebuild_lr([0, 10], [1.0, np.nan])


# --------------------------------------------------------------------------------------------
# Properties of read_curve
# --------------------------------------------------------------------------------------------

POSITIVE = st.floats(min_value=1e-6, max_value=20.0)


@st.composite
def log_tables(draw: st.DrawFn) -> pd.DataFrame:
    """A small valid log: sorted unique steps, some lr and loss cells empty, some LR positive."""
    steps = sorted(draw(st.lists(st.integers(0, 400), min_size=1, max_size=25, unique=True)))
    n = len(steps)
    lr = draw(st.lists(st.one_of(st.none(), LR_VALUES), min_size=n, max_size=n))
    loss = draw(st.lists(st.one_of(st.none(), POSITIVE), min_size=n, max_size=n))
    lr[draw(st.integers(0, n - 1))] = draw(st.floats(min_value=1e-8, max_value=1.0))
    loss[draw(st.integers(0, n - 1))] = draw(POSITIVE)
    return pd.DataFrame({"step": steps, "lr": lr, "loss": loss}, dtype=object)


@PROPERTY
@given(table=log_tables(), data=st.data())
def test_read_curve_ignores_row_order_and_repeated_rows(
    tmp_path: Path, table: pd.DataFrame, data: st.DataObject
) -> None:
    base = tmp_path / "base.csv"
    table.to_csv(base, index=False)
    expected = read_curve(base, name="run")

    repeats = data.draw(st.lists(st.integers(0, len(table) - 1), max_size=10), label="repeats")
    messy = pd.concat([table, table.iloc[repeats]], ignore_index=True)
    order = data.draw(st.permutations(range(len(messy))), label="order")
    shuffled = tmp_path / "shuffled.csv"
    messy.iloc[list(order)].to_csv(shuffled, index=False)
    before = _digest(shuffled)
    _same_curve(read_curve(shuffled, name="run"), expected)
    assert _digest(shuffled) == before

    np.testing.assert_array_equal(expected.step, table["step"][table["loss"].notna()])
    assert expected.n_steps == table["step"].max() + 1


BAD_KINDS = [
    "nan loss",
    "text loss",
    "non-positive loss",
    "negative lr",
    "non-finite lr",
    "fractional step",
    "negative step",
    "infinite step",
    "huge step",
    "no lr value",
    "zero lr everywhere",
    "no loss value",
    "no lr column",
    "no loss column",
    "no step column",
    "explicit column missing",
    "empty file",
    "header only",
    "binary file",
    "tab separated",
    "too many fields",
    "missing file",
    "directory",
    "bad warmup",
]


@PROPERTY
@given(
    table=log_tables(),
    kind=st.sampled_from(BAD_KINDS),
    stem=st.text(alphabet="abcXYZ019_- .", min_size=1, max_size=12).filter(
        lambda s: s.strip(" .") == s
    ),
    as_str=st.booleans(),
    data=st.data(),
)
def test_bad_input_raises_one_line_input_error(
    tmp_path: Path,
    table: pd.DataFrame,
    kind: str,
    stem: str,
    as_str: bool,
    data: st.DataObject,
) -> None:
    folder = tmp_path / "bad"
    shutil.rmtree(folder, ignore_errors=True)  # left over from the previous example
    folder.mkdir()
    path = folder / f"{stem}.csv"
    table = table.astype(object).where(table.notna(), "")
    row = data.draw(st.integers(0, len(table) - 1), label="row")
    kwargs: dict[str, object] = {}
    content: bytes | None = None
    if kind == "nan loss":
        cell = data.draw(st.sampled_from(["nan", "NaN", "inf", "-inf", "Infinity", " nan "]))
        table.loc[row, "loss"] = cell
    elif kind == "text loss":
        table.loc[row, "loss"] = "n/a"
    elif kind == "non-positive loss":
        table.loc[row, "loss"] = data.draw(st.sampled_from(["0", "0.0", "-1.5", "-0"]))
    elif kind == "negative lr":
        table.loc[row, "lr"] = data.draw(st.sampled_from(["-1e-4", "-0.5"]))
    elif kind == "non-finite lr":
        table.loc[row, "lr"] = data.draw(st.sampled_from(["nan", "inf", "-inf"]))
    elif kind == "fractional step":
        table.loc[row, "step"] = data.draw(st.sampled_from(["1.5", "0.25", "1e-3"]))
    elif kind == "negative step":
        table.loc[row, "step"] = data.draw(st.sampled_from(["-1", "-100"]))
    elif kind == "infinite step":
        table.loc[row, "step"] = "inf"
    elif kind == "huge step":  # its per-step LRs would not fit in memory
        table.loc[row, "step"] = data.draw(st.sampled_from([str(MAX_STEP + 1), "1e12"]))
    elif kind == "zero lr everywhere":  # e.g. the wrong column, or a logger's bug
        table["lr"] = data.draw(st.sampled_from(["0", "0.0"]))
    elif kind == "no lr value":
        table["lr"] = ""
    elif kind == "no loss value":
        table["loss"] = ""
    elif kind == "no lr column":
        table = table.drop(columns="lr")
    elif kind == "no loss column":
        table = table.rename(columns={"loss": "accuracy"})
    elif kind == "no step column":
        table = table.rename(columns={"step": "epoch"})
    elif kind == "explicit column missing":
        kwargs = {data.draw(st.sampled_from(["step_column", "lr_column", "loss_column"])): "x"}
    elif kind == "empty file":
        content = data.draw(st.sampled_from([b"", b"\n", b"\n\n"]))
    elif kind == "header only":
        content = b"step,lr,loss\n"
    elif kind == "binary file":
        content = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe" + bytes(range(128, 256))
    elif kind == "tab separated":
        content = table.to_csv(index=False, sep="\t").encode()
    elif kind == "too many fields":
        content = (table.to_csv(index=False) + "1,2,3,4\n").encode()
    elif kind == "bad warmup":
        kwargs = {"warmup_steps": data.draw(st.sampled_from([-1, 10**6, 2.5]))}
    if content is None and kind not in ("missing file", "directory"):
        content = table.to_csv(index=False).encode()
    if kind == "directory":
        path.mkdir()
    elif content is not None:
        path.write_bytes(content)

    target = str(path) if as_str else path
    with pytest.raises(InputError) as caught:
        read_curve(target, **kwargs)
    message = str(caught.value)
    assert message.startswith(f"{path}: ")
    assert "\n" not in message and "\r" not in message
    if content is not None:
        assert path.read_bytes() == content
    else:
        assert not path.is_file()


def test_missing_column_message_lists_columns(tmp_path: Path) -> None:
    path = _write(tmp_path / "a.csv", "step,lr,acc\n0,1,2\n")
    with pytest.raises(InputError) as caught:
        read_curve(path)
    looked = ", ".join(ALIASES["loss"])
    assert looked.startswith("loss, train_loss, train/loss, loss/train, lm loss")
    expected = f"{path}: no loss column (looked for {looked}; columns: step, lr, acc)"
    assert str(caught.value) == expected


def test_nan_cell_is_an_error_but_an_empty_cell_is_skipped(tmp_path: Path) -> None:
    ok = read_curve(_write(tmp_path / "ok.csv", "step,lr,loss\n0,1,3\n5,1,\n9,1,2\n"))
    np.testing.assert_array_equal(ok.step, [0, 9])
    bad = _write(tmp_path / "bad.csv", "step,lr,loss\n0,1,3\n5,1,nan\n9,1,2\n")
    with pytest.raises(InputError) as caught:
        read_curve(bad)
    assert str(caught.value) == (
        f"{bad}: line 3: loss in column 'loss' is not a finite number (got 'nan')"
    )


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root reads anything")
def test_unreadable_file(tmp_path: Path) -> None:
    path = _write(tmp_path / "locked.csv", "step,lr,loss\n0,1,1\n")
    path.chmod(0)
    try:
        with pytest.raises(InputError, match=r"locked\.csv: cannot read the file"):
            read_curve(path)
    finally:
        path.chmod(0o600)


# --------------------------------------------------------------------------------------------
# Atomic writes
# --------------------------------------------------------------------------------------------


def test_write_csv_atomic_replaces_the_whole_file(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    target.write_text("old content\n" * 1000)
    target.chmod(0o640)
    frame = pd.DataFrame({"step": [1, 2], "loss": [3.5, 0.1 + 0.2]})
    write_csv_atomic(frame, target)
    assert os.listdir(tmp_path) == ["out.csv"]
    assert target.read_text() == "step,loss\n1,3.5\n2,0.30000000000000004\n"
    pd.testing.assert_frame_equal(pd.read_csv(target), frame)
    assert target.stat().st_mode & 0o777 == 0o640
    write_csv_atomic(frame.iloc[:1], str(target))
    assert target.read_text() == "step,loss\n1,3.5\n"
    assert os.listdir(tmp_path) == ["out.csv"]


@pytest.mark.parametrize("suffix", [".csv.gz", ".csv.bz2", ".csv.xz", ".csv.zip", ".csv.tar"])
def test_a_csv_written_compressed_reads_back(tmp_path: Path, suffix: str) -> None:
    frame = pd.DataFrame({"step": [0, 100, 200], "lr": [3e-4, 3e-4, 1e-4], "loss": [5.0, 4, 3.5]})
    path = tmp_path / f"run{suffix}"
    write_csv_atomic(frame, path)
    assert path.read_bytes()[:4] != b"step"  # compressed, not plain text
    curve = read_curve(path)
    assert curve.name == "run" and curve.loss.tolist() == [5.0, 4.0, 3.5]
    if suffix in (".csv.gz", ".csv.bz2", ".csv.xz"):  # no date inside: the same bytes again
        first = path.read_bytes()
        write_csv_atomic(frame, path)
        assert path.read_bytes() == first
    with pytest.raises(InputError, match="cannot write a compressed tar archive"):
        write_csv_atomic(frame, tmp_path / "run.tar.gz")  # pandas would read it as a tar


def test_write_text_atomic(tmp_path: Path) -> None:
    target = tmp_path / "notes.txt"
    write_text_atomic("héllo\r\nworld", target)
    assert target.read_bytes() == "héllo\r\nworld".encode()
    assert os.listdir(tmp_path) == ["notes.txt"]


def test_failed_write_leaves_target_and_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = _write(tmp_path / "out.csv", "keep me\n")

    def refuse(src: object, dst: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(InputError, match=r"out\.csv: cannot write the file \(Permission denied\)"):
        write_csv_atomic(pd.DataFrame({"a": [1]}), target)
    assert target.read_text() == "keep me\n"
    assert os.listdir(tmp_path) == ["out.csv"]
    monkeypatch.undo()
    missing = tmp_path / "no" / "such" / "out.csv"
    with pytest.raises(InputError, match=r"^.*out\.csv: cannot write the file"):
        write_text_atomic("x", missing)
    assert os.listdir(tmp_path) == ["out.csv"]


def test_the_files_a_process_wrote_are_known(tmp_path):
    """What an interrupted command reports it left behind."""
    from scalefit import io

    before = io.written()
    io.write_text_atomic("a\n", tmp_path / "a.txt")
    with pytest.raises(InputError):
        io.write_text_atomic("b\n", tmp_path / "missing" / "b.txt")
    assert io.written() == (*before, str(tmp_path / "a.txt"))
