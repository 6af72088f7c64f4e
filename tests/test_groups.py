"""Fitting an independent law to each group of runs at once: each group's fit is its fit alone;
groups by a label or a built-in column; the file of groups' fits; the command line."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from scalefit import Curve, Fit, InputError, Sweep, fit, fit_groups, io, predict
from scalefit._features import Stack, evaluate, law_features
from scalefit._groups import _chunks, _Features, _law_for_groups, groups_table
from scalefit.cli import main
from scalefit.laws import LAWS, default_law, get_law, register
from scalefit.schedules import parse_schedule

TRUE = {"L0": 2.6, "A": 0.6, "alpha": 0.55, "C": 0.8}


@pytest.fixture(scope="module")
def rivalled():
    """The annealing law with a rival of its own (its error model then holds the rival's fit,
    as the default law's does), in the annealing law's compiled programs; registered while the
    module's tests run."""
    law = dataclasses.replace(get_law("annealing"), name="annealing-rivalled", rival="annealing")
    yield register(law)
    LAWS.pop(law.name, None)


def synthetic(spec, params=TRUE, every=5, noise=0.003, seed=0, name=None, **known) -> Curve:
    """A curve drawn from the annealing law, logged every ``every`` steps after warm-up, with
    log-normal noise."""
    schedule = parse_schedule(spec)
    truth = Fit.given("annealing", params, warmup="peak")
    at = np.arange(schedule.warmup + every, schedule.steps, every)
    loss = predict(truth, schedule, at=at).loss
    loss = loss * np.exp(noise * np.random.default_rng(seed).standard_normal(loss.size))
    lr = schedule.lr()[: schedule.steps]
    name = name or spec.split(":")[0]
    return Curve(name, lr, at, loss, warmup_steps=schedule.warmup, **known)


COSINE = "cosine:peak=1e-3,steps=3000,warmup=100,final=1e-4"
CONSTANT = "constant:peak=1e-3,steps=3000,warmup=100"
WSD = "wsd:peak=1e-3,steps=3000,warmup=100,decay=0.3"


@pytest.fixture(scope="module")
def groups() -> dict[str, list[Curve]]:
    """Groups of different shapes: two of two curves with rows enough to be searched on
    thinned rows and polished on all, one of a single curve with fewer rows."""
    other = {"L0": 3.1, "A": 0.9, "alpha": 0.4, "C": 1.3}
    return {
        "a": [synthetic(COSINE, seed=1), synthetic(CONSTANT, seed=2)],
        "b": [synthetic(COSINE, other, seed=3), synthetic(CONSTANT, other, every=7, seed=4)],
        "c": [synthetic(WSD, {**TRUE, "L0": 2.2}, every=25, seed=5)],
    }


def test_each_group_s_fit_is_what_fit_gives_it_alone(groups, rivalled):
    fits = fit_groups(groups, rivalled)
    assert list(fits) == ["a", "b", "c"]
    for name, curves in groups.items():
        together, alone = fits[name], fit(curves, rivalled)
        for p, value in alone.params.items():
            assert together.params[p] == pytest.approx(value, rel=1e-6), (name, p)
        assert together.objective == pytest.approx(alone.objective, rel=1e-6)
        # the minimiser's path may differ by a few steps (batched, its arithmetic rounds
        # otherwise) to the same minimum
        assert together.n_starts == alone.n_starts
        assert together.converged and together.status == alone.status
        assert together.warnings == alone.warnings
        assert together.options == alone.options and together.curves == alone.curves
        for a, b in zip(together.metrics, alone.metrics):
            assert a.rows == b.rows and a.pred_e == pytest.approx(b.pred_e, rel=1e-6)
        u, v = together.uncertainty, alone.uncertainty
        assert u.notes == v.notes
        np.testing.assert_allclose(u.covariance, v.covariance, rtol=1e-5, atol=1e-12)
        assert u.transfer_variance == pytest.approx(v.transfer_variance, rel=1e-5)
        assert u.horizon_variance == pytest.approx(v.horizon_variance, rel=1e-5, abs=1e-12)
        assert u.decay_variance == pytest.approx(v.decay_variance, rel=1e-5, abs=1e-12)
        assert u.rival_weight == pytest.approx(v.rival_weight, rel=1e-5, abs=1e-12)
        assert u.degrees_of_freedom == v.degrees_of_freedom
        assert u.rival["law"] == "annealing" and u.rival["options"] == v.rival["options"]
        for p, value in v.rival["params"].items():
            assert u.rival["params"][p] == pytest.approx(value, rel=1e-6), (name, p)
    assert fits["a"].params["L0"] == pytest.approx(TRUE["L0"], rel=0.02)
    assert fits["b"].params["L0"] == pytest.approx(3.1, rel=0.02)


def test_groups_stepped_at_once_fit_as_groups_one_after_another(groups, monkeypatch):
    # a CPU minimises groups one after another; a GPU all at once (vmapped): the same fits
    groups = {"a": groups["a"], "c": groups["c"]}
    looped = fit_groups(groups, "annealing", uncertainty=False)
    monkeypatch.setattr("scalefit._least_squares._parallel", lambda: True)
    at_once = fit_groups(groups, "annealing", uncertainty=False)
    for name, result in looped.items():
        for p, value in result.params.items():
            assert at_once[name].params[p] == pytest.approx(value, rel=1e-6), (name, p)


def test_groups_fitted_in_padded_chunks_fit_as_in_one(groups, monkeypatch):
    whole = fit_groups(groups, "annealing")
    two_groups = (
        2
        * max(len(cs) for cs in groups.values())
        * max(c.loss.size for cs in groups.values() for c in cs)
    )
    monkeypatch.setattr("scalefit._groups.GROUP_ROWS", {"cpu": two_groups})
    monkeypatch.setattr("scalefit._groups.DEFAULT_GROUP_ROWS", two_groups)
    chunks = _chunks({name: list(cs) for name, cs in groups.items()})
    assert [len(c) for c in chunks] == [2, 2]  # three groups, and one padding group
    chunked = fit_groups(groups, "annealing")
    assert list(chunked) == list(whole)
    for name, result in whole.items():
        assert chunked[name].params == pytest.approx(result.params, rel=1e-6)
        u, v = chunked[name].uncertainty, result.uncertainty
        assert u.transfer_variance == pytest.approx(v.transfer_variance, rel=1e-5)


def test_features_of_curves_alike_are_computed_once_and_padded_with_empty_segments():
    # the default law trims its features to the segments a batch of curves uses: curves whose
    # schedules differ have different widths, padded with empty segments to fit together
    law = get_law("multipower-proportional")
    cosine, steps = (
        synthetic(spec, every=20)
        for spec in (COSINE, "multistep:peak=1e-3,steps=3000,warmup=100,milestones=2000")
    )
    options = dict(law.options)
    stacks = [Stack.of([c]) for c in (cosine, steps, cosine)]
    cache = _Features(law)
    together = cache.at(
        np.concatenate([s.lr for s in stacks]),
        np.concatenate([s.rows for s in stacks]),
        np.concatenate([s.warmup_steps for s in stacks]),
        options,
    )
    assert len(cache.kept) == 2  # the cosine once
    params = np.array([2.6, 0.6, 0.5, 300.0])
    for i, stack in enumerate(stacks):
        alone = law_features(law, stack.lr, stack.rows, stack.warmup_steps, options)
        width = alone["w"].shape[-1]
        assert np.all(together["w"][i, :, width:] == 0) and together["w"].shape[-1] >= width
        for name, value in alone.items():
            value = np.asarray(value)[0]
            np.testing.assert_array_equal(together[name][i][..., : value.shape[-1]], value)
        mine = {k: v[i : i + 1] for k, v in together.items()}
        np.testing.assert_allclose(
            evaluate(law, params, mine), evaluate(law, params, alone), rtol=1e-13
        )


def test_a_sweep_groups_by_a_label_or_by_its_peak_lr():
    runs = [
        synthetic(COSINE, every=50, name="cos-1e-3-s0"),
        synthetic(COSINE.replace("peak=1e-3", "peak=2e-3"), every=50, name="cos-2e-3-s0"),
        synthetic(CONSTANT, every=50, seed=1, name="const-1e-3-s1"),
        synthetic(WSD.replace("peak=1e-3", "peak=2e-3"), every=50, seed=2, name="wsd-2e-3-s1"),
    ]
    sweep = Sweep.of(runs, labels=[{"seed": 0}, {"seed": 0}, {"seed": 1}, {"seed": 1}])
    by_seed = fit_groups(sweep.groups("seed"), "annealing", uncertainty=False)
    assert list(by_seed) == ["seed=0", "seed=1"]
    assert [c["name"] for c in by_seed["seed=1"].curves] == ["const-1e-3-s1", "wsd-2e-3-s1"]
    by_peak = fit_groups(sweep.groups("peak_lr"), "annealing", uncertainty=False)
    assert list(by_peak) == ["peak_lr=0.001", "peak_lr=0.002"]
    assert {c["peak_lr"] for c in by_peak["peak_lr=0.002"].curves} == {0.002}
    table = groups_table(by_peak)
    assert "peak_lr=0.002" in table and "alpha" in table and "PredE" in table


def test_the_law_of_groups_is_the_one_for_the_widest_group():
    one = synthetic(COSINE, every=100)
    other_peak = synthetic(COSINE.replace("peak=1e-3", "peak=3e-3"), every=100, name="x")
    assert _law_for_groups([[one], [other_peak]]) == "multipower-proportional"
    assert _law_for_groups([[one, other_peak], [one]]) == default_law(2, 1)
    sized = [Curve("n", one.lr, one.step, one.loss, 100, params=n) for n in (1e8, 2e8)]
    assert _law_for_groups([sized[:1], sized[1:]]) == "multipower-proportional"
    assert _law_for_groups([sized]) == "multipower-proportional+size"


def test_groups_that_cannot_be_fitted_are_named():
    with pytest.raises(InputError, match="no group to fit"):
        fit_groups({})
    few = synthetic(COSINE, every=1000)
    with pytest.raises(InputError, match="^group short: .*for the annealing law's 4 param"):
        fit_groups({"fine": [synthetic(COSINE)], "short": [few]}, "annealing")
    with pytest.raises(TypeError, match="Curve objects, not str"):
        fit_groups({"a": ["run.csv"]})
    with pytest.raises(TypeError, match="mapping"):
        fit_groups([synthetic(COSINE)])


def given(l0: float) -> Fit:
    return Fit.given("annealing", {**TRUE, "L0": l0})


def test_a_file_of_groups_fits_round_trips(tmp_path):
    fits = {"peak_lr=0.001,seed=0": given(2.5), "peak_lr=0.002,seed=0": given(2.7)}
    path = tmp_path / "fits.json"
    io.save_fits(fits, path)
    data = json.loads(path.read_text())
    assert data["scalefit_fits"] == 1 and list(data["groups"]) == list(fits)
    loaded = io.load_fits(path)
    assert list(loaded) == list(fits)
    for name, f in fits.items():  # (a given fit's objective is NaN: compared as written)
        assert json.dumps(loaded[name].to_dict()) == json.dumps(f.to_dict())
    assert io.load_fit(path, group="peak_lr=0.002,seed=0").params["L0"] == 2.7
    assert io.load_fit(path, group="0.002,0").params["L0"] == 2.7  # its values alone


def test_a_group_missing_or_wrong_is_one_line_listing_the_groups(tmp_path):
    path = tmp_path / "fits.json"
    io.save_fits({f"size={n}": given(2.5) for n in range(12)}, path)
    with pytest.raises(InputError, match=r"fits.json: holds the fits of 12 groups: .*--group"):
        io.load_fit(path)
    with pytest.raises(InputError, match=r"no group 'size=99' \(did you mean .* and 2 more\)"):
        io.load_fit(path, group="size=99")
    single = tmp_path / "fit.json"
    io.save_fit(given(2.5), single)
    with pytest.raises(InputError, match="holds one fit, not groups' fits"):
        io.load_fit(single, group="size=1")
    with pytest.raises(InputError, match="not a file of groups' fits"):
        io.load_fits(single)
    data = json.loads(path.read_text())
    data["groups"]["size=3"]["params"]["L0"] = "high"
    path.write_text(json.dumps(data))
    with pytest.raises(InputError, match="^.*fits.json: group size=3: malformed fit: L0 must"):
        io.load_fits(path)


# ------------------------------------------------------------------------ the command line


@pytest.fixture(autouse=True)
def _no_disk_cache(monkeypatch):
    monkeypatch.setenv("SCALEFIT_CACHE_DIR", "")


def write_sweep(folder: Path) -> Path:
    """A sweep file of four runs in two groups (a label ``size``), their logs beside it."""
    rows = []
    for size, params in (("small", TRUE), ("large", {**TRUE, "L0": 2.3})):
        for spec in (COSINE, CONSTANT):
            curve = synthetic(spec, params, every=20, seed=len(rows))
            path = f"{size}-{curve.name}.csv"
            frame = pd.DataFrame(
                {"step": curve.step, "lr": curve.lr[curve.step], "loss": curve.loss}
            )
            frame.to_csv(folder / path, index=False)
            rows.append({"path": path, "size": size})
    pd.DataFrame(rows).to_csv(folder / "sweep.csv", index=False)
    return folder / "sweep.csv"


@pytest.fixture(scope="module")
def fitted(tmp_path_factory) -> tuple[Path, Path, str]:
    """A sweep fitted by group (``size``): the sweep file, the fits file, stdout."""
    folder = tmp_path_factory.mktemp("sweep")
    sweep = write_sweep(folder)
    out = folder / "fits.json"
    args = ["fit", "--sweep", str(sweep), "--group-by", "size", "--law", "annealing"]
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SCALEFIT_CACHE_DIR", "")
        code = main([*args, "--out", str(out)])
    assert code == 0
    return sweep, out, ""


def run(args: list[str], capsys) -> tuple[int, str, str]:
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_fit_group_by_writes_each_group_s_fit(fitted):
    _, out, _ = fitted
    fits = io.load_fits(out)
    assert list(fits) == ["size=large", "size=small"]  # in the order of their values
    assert fits["size=large"].params["L0"] == pytest.approx(2.3, rel=0.03)
    assert [c["name"] for c in fits["size=small"].curves] == ["small-cosine", "small-constant"]


def test_fit_group_by_prints_a_row_per_group(tmp_path, capsys):
    sweep = write_sweep(tmp_path)
    out = tmp_path / "fits.json"
    args = ["fit", "--sweep", str(sweep), "--group-by", "size", "--law", "annealing"]
    code, stdout, err = run([*args, "--out", str(out)], capsys)
    assert code == 0, err
    lines = stdout.splitlines()
    assert "2 groups" in lines[0] and lines[1].split()[:3] == ["group", "runs", "rows"]
    assert "converged" in lines[1] and "alpha" in lines[1]
    assert lines[2].split()[:2] == ["size=large", "2"] and lines[3].startswith("size=small")
    assert "wrote" in err and out.exists()


def test_predict_and_choose_take_a_group(fitted, tmp_path, capsys):
    _, fits, _ = fitted
    spec = "cosine:peak=1e-3,steps=3000,warmup=100"
    for group, l0 in (("size=small", 2.6), ("large", 2.3)):  # a group's name, or its value
        out = tmp_path / "pred.csv"
        args = ["predict", str(fits), "--group", group, "--schedule", spec, "--out", str(out)]
        code, stdout, err = run(args, capsys)
        assert code == 0, err
        truth = predict(Fit.given("annealing", {**TRUE, "L0": l0}, warmup="peak"), spec)
        assert pd.read_csv(out)["loss"].iloc[-1] == pytest.approx(truth.final_loss, rel=0.01)
    code, stdout, err = run(
        ["choose", str(fits), "--group", "size=large", "--candidate", spec], capsys
    )
    assert code == 0 and "cosine" in stdout


@pytest.mark.parametrize(
    "extra, words",
    [
        ([], ["holds the fits of 2 groups", "--group", "size=large, size=small"]),
        (["--group", "size=huge"], ["no group 'size=huge'", "size=small"]),
    ],
)
def test_a_groups_file_without_the_right_group_is_refused(fitted, extra, words, tmp_path, capsys):
    _, fits, _ = fitted
    out = tmp_path / "pred.csv"
    for command in (["predict", "--schedule"], ["choose", "--candidate"]):
        args = [command[0], str(fits), *extra, command[1], "constant:peak=1e-3,steps=100"]
        code, stdout, err = run([*args, "--out", str(out)], capsys)
        assert code == 2 and len(err.strip().splitlines()) == 1, err
        assert all(w in err for w in words), err
        assert not out.exists()


def test_bad_sweep_input_is_one_line_and_writes_nothing(tmp_path, capsys):
    sweep = write_sweep(tmp_path)
    out = tmp_path / "fits.json"
    code, _, err = run(
        ["fit", "--sweep", str(sweep), "--group-by", "depth", "--out", str(out)], capsys
    )
    assert code == 2 and "no column 'depth' to group by" in err and "size" in err
    table = pd.read_csv(sweep)
    table.loc[3, "path"] = "gone.csv"
    table.to_csv(sweep, index=False)
    code, _, err = run(
        ["fit", "--sweep", str(sweep), "--group-by", "size", "--out", str(out)], capsys
    )
    assert code == 2 and "sweep.csv: row 5" in err and "gone.csv" in err
    log = str(tmp_path / "small-cosine.csv")
    for args in (["fit", log, "--group-by", "size"], ["fit", log, "--sweep", str(sweep)]):
        code, _, err = run([*args, "--out", str(out)], capsys)
        assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert not out.exists()


def test_fit_sweep_without_groups_fits_every_run_at_once(tmp_path, capsys):
    sweep = write_sweep(tmp_path)
    out = tmp_path / "fit.json"
    args = ["fit", "--sweep", str(sweep), "--law", "annealing", "--out", str(out)]
    code, stdout, err = run(args, capsys)
    assert code == 0, err
    assert len(io.load_fit(out).curves) == 4


def test_a_group_is_found_by_its_name_or_its_values_numbers_within_one_percent():
    from scalefit.io._fit_file import _group_named

    names = ["params=1.23587e+08,peak_lr=0.001", "params=9.3159e+07,peak_lr=0.001"]
    assert _group_named(names[0], names) == names[0]
    assert _group_named("params=1.24e8,peak_lr=1e-3", names) == names[0]
    assert _group_named("9.3e7,0.001", names) == names[1]
    assert _group_named("0.001", names) is None  # not all of a name's values
    assert _group_named("params=1.3e8,peak_lr=1e-3", names) is None  # 5 % off
    assert _group_named("1.24e8,0.001", [*names, "params=1.235e+08,peak_lr=0.001"]) is None
    assert _group_named("100", ["seed=100", "seed=101"]) == "seed=100"  # equal values first
