"""The on-disk store of compiled programs: same results as a plain call, robust to bad files."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from functools import partial
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import scalefit
from scalefit import _programs


@partial(jax.jit, static_argnames="power")
def _scaled_sum(x, scale, *, power):
    return scale * jnp.sum(x**power)


@pytest.fixture
def store(tmp_path: Path):
    _programs.use_store(tmp_path)
    yield tmp_path
    _programs.use_store(None)


def test_without_a_store_it_is_a_plain_call() -> None:
    _programs.use_store(None)
    x = np.arange(5.0)
    assert float(_programs.call(_scaled_sum, x, 2.0, power=2)) == 60.0


def test_stored_program_gives_the_same_result_in_a_fresh_process_state(store: Path) -> None:
    x = np.arange(5.0)
    first = float(_programs.call(_scaled_sum, x, 2.0, power=2))
    files = list(store.glob("*.pkl"))
    assert first == 60.0 and len(files) == 1
    _programs.use_store(store)  # forget what is loaded: the next call reads the file
    assert float(_programs.call(_scaled_sum, x, 3.0, power=2)) == 90.0
    assert list(store.glob("*.pkl")) == files


def test_key_depends_on_shapes_and_static_arguments(store: Path) -> None:
    _programs.call(_scaled_sum, np.arange(5.0), 1.0, power=2)
    _programs.call(_scaled_sum, np.arange(6.0), 1.0, power=2)
    assert float(_programs.call(_scaled_sum, np.arange(5.0), 1.0, power=3)) == 100.0
    assert len(list(store.glob("*.pkl"))) == 3


def test_damaged_file_is_compiled_again(store: Path) -> None:
    x = np.arange(4.0)
    _programs.call(_scaled_sum, x, 1.0, power=1)
    (path,) = store.glob("*.pkl")
    path.write_bytes(b"not a program")
    _programs.use_store(store)
    assert float(_programs.call(_scaled_sum, x, 1.0, power=1)) == 6.0
    assert path.read_bytes() != b"not a program"


@jax.jit
def _qr_diagonal(x):
    return jnp.abs(jnp.diag(jnp.linalg.qr(x)[1]))


@pytest.mark.parametrize("first", [True, False], ids=["loaded-first", "loaded-ahead"])
def test_stored_program_with_linear_algebra_runs_in_a_new_process(store: Path, first: bool) -> None:
    """JAX registers its CPU LAPACK kernels only when it lowers a linear algebra operation: a
    stored program that calls one (the fit's minimiser) must still run in a process that loads
    it without lowering anything (it crashed the process before), whether it is the process's
    first program or one loaded ahead on a background thread."""
    x = np.array([[3.0, 1.0], [4.0, 2.0]])
    calls = "" if first else "_programs.call(_scaled_sum, x, 1.0, power=2);"
    if not first:
        _programs.call(_scaled_sum, x, 1.0, power=2)
    expected = np.asarray(_programs.call(_qr_diagonal, x))
    qr = _key(_qr_diagonal, x)
    script = (
        "import sys, numpy as np; sys.path.insert(0, sys.argv[2]);"
        "from scalefit import _programs; from test_programs import _qr_diagonal, _scaled_sum;"
        "_programs.use_store(sys.argv[1]);"
        f"x = np.array([[3.0, 1.0], [4.0, 2.0]]); {calls}"
        f"print('{qr}' in _programs._pending);"
        "print(np.asarray(_programs.call(_qr_diagonal, x)).tolist())"
    )
    before = _written(store)
    proc = subprocess.run(
        [sys.executable, "-c", script, str(store), str(Path(__file__).parent)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    ahead, result = proc.stdout.split("\n")[:2]
    assert ahead == str(not first)
    np.testing.assert_allclose(eval(result), expected)
    assert _written(store) == before  # loaded, not compiled again


def _key(fn, *args, **static) -> str:
    return _programs._key(fn, args, static)


def _written(store: Path) -> dict[str, int]:
    """Each stored program and when it was written: a program compiled again is written again."""
    return {p.name: p.stat().st_mtime_ns for p in store.glob("*.pkl")}


def test_programs_that_followed_the_first_one_last_time_are_loaded_ahead(store: Path) -> None:
    x, y = np.arange(5.0), np.arange(6.0)
    first, then = _key(_scaled_sum, x, 1.0, power=2), _key(_scaled_sum, y, 1.0, power=1)
    _programs.call(_scaled_sum, x, 1.0, power=2)
    _programs.call(_scaled_sum, y, 1.0, power=1)
    assert (store / f"{first}.next").read_text().split() == [then]

    written = _written(store)
    _programs.use_store(store)  # a new process's state
    assert float(_programs.call(_scaled_sum, x, 2.0, power=2)) == 60.0
    assert _programs._pending[then].result() is not None  # loaded on a background thread
    assert float(_programs.call(_scaled_sum, y, 2.0, power=1)) == 30.0
    assert then in _programs._loaded and not _programs._pending
    assert _written(store) == written


def test_a_process_of_a_known_kind_loads_its_programs_before_its_first_call(store: Path) -> None:
    x, y = np.arange(5.0), np.arange(6.0)
    first, then = _key(_scaled_sum, x, 1.0, power=2), _key(_scaled_sum, y, 1.0, power=1)
    _programs.use_store(store, "fit some-law")
    _programs.call(_scaled_sum, x, 1.0, power=2)
    _programs.call(_scaled_sum, y, 1.0, power=1)
    assert not list(store.glob("*.ahead"))  # recorded once the work is done
    _programs.remember()
    (record,) = store.glob("*.ahead")
    assert record.read_text().split() == [first, then]

    written = _written(store)
    _programs.use_store(store, "fit some-law")  # a new process of the same kind
    assert set(_programs._pending) == {first, then}  # loading before any call
    assert _programs._pending[first].result() is not None
    assert float(_programs.call(_scaled_sum, x, 2.0, power=2)) == 60.0
    assert float(_programs.call(_scaled_sum, y, 2.0, power=1)) == 30.0
    assert not _programs._pending and _written(store) == written
    recorded = record.stat().st_mtime_ns
    _programs.remember()
    assert record.stat().st_mtime_ns == recorded  # the same calls: not rewritten

    _programs.use_store(store, "fit some-law")  # fewer calls this time: the record shrinks
    _programs.call(_scaled_sum, y, 2.0, power=1)
    _programs.remember()
    assert record.read_text().split() == [then]

    record.write_bytes(b"\xff\xfe not keys")  # damaged: ignored, rewritten
    _programs.use_store(store, "fit some-law")
    assert not _programs._pending and _programs._kernels is None
    assert float(_programs.call(_scaled_sum, x, 2.0, power=2)) == 60.0
    _programs.remember()
    assert record.read_text().split() == [first]

    _programs.use_store(store, "predict some-law")  # another kind: nothing known ahead
    assert not _programs._pending


def test_a_wrong_record_of_what_follows_is_harmless_and_rewritten(store: Path) -> None:
    x, y = np.arange(5.0), np.arange(6.0)
    first, then = _key(_scaled_sum, x, 1.0, power=2), _key(_scaled_sum, y, 1.0, power=3)
    _programs.call(_scaled_sum, x, 1.0, power=2)
    outside = store / "outside"  # a real program, named so that a path would reach it
    outside.mkdir()
    (outside / f"{then}.pkl").write_bytes((store / f"{first}.pkl").read_bytes())
    missing = "0" * 32
    (store / f"{first}.next").write_text(f"outside/{then}\n{missing}\nnot a key\n")

    _programs.use_store(store)
    assert float(_programs.call(_scaled_sum, x, 1.0, power=2)) == 30.0
    assert not _programs._pending  # nothing stored under those names in the store
    assert float(_programs.call(_scaled_sum, y, 1.0, power=3)) == 225.0
    assert (store / f"{first}.next").read_text().split() == [then]

    (store / f"{first}.next").write_bytes(b"\xff\xfe not text")  # damaged: ignored, rewritten
    _programs.use_store(store)
    assert float(_programs.call(_scaled_sum, x, 1.0, power=2)) == 30.0
    assert float(_programs.call(_scaled_sum, y, 1.0, power=3)) == 225.0
    assert (store / f"{first}.next").read_text().split() == [then]


def test_a_store_pruned_under_a_fit_does_not_fail_it(store: Path) -> None:
    """Another process may delete a program between this one's listing and its reading of the
    file's time: a dangling name stands for that race."""
    (store / f"{'f' * 32}.pkl").symlink_to(store / "gone")
    assert float(_programs.call(_scaled_sum, np.arange(3.0), 1.0, power=1)) == 3.0
    assert len(list(store.glob("*.pkl"))) == 2


@partial(jax.jit, static_argnames="transform")
def _transformed_sum(x, *, transform):
    return jnp.sum(transform(x))


def test_functions_made_at_run_time_are_never_stored(store: Path) -> None:
    """Two closures made by one factory have the same name in every process, so a stored
    program could not tell them apart: they run, each its own, and nothing is stored."""

    def power(p):
        def transform(x):
            return x**p

        return transform

    x = np.arange(4.0)
    assert float(_programs.call(_transformed_sum, x, transform=power(1))) == 6.0
    assert float(_programs.call(_transformed_sum, x, transform=power(2))) == 14.0
    assert float(_programs.call(_transformed_sum, x, transform=lambda v: -v)) == -6.0
    assert list(store.glob("*.pkl")) == []


def test_a_held_law_names_itself_unless_its_law_is_made_at_run_time() -> None:
    from scalefit.laws import get_law, hold

    law = get_law("multipower")
    assert _programs._nameable(hold(law, "a", gamma=0.5).loss)
    made = dataclasses.replace(law, loss=lambda p, f: law.loss(p, f))
    assert not _programs._nameable(hold(made, "b", gamma=0.5).loss)


FIT_IN_A_FRESH_PROCESS = """
import json, sys
import scalefit
from scalefit import io
result = scalefit.fit(io.read_curve(sys.argv[1]), "annealing", uncertainty=False)
print(json.dumps(result.params))
"""


def test_the_library_keeps_its_programs_between_processes(tmp_path: Path) -> None:
    curve = Path(__file__).resolve().parents[1] / "data/multipower-law/400M/cosine_24000.csv"
    store = tmp_path / "programs"
    env = {**os.environ, "SCALEFIT_CACHE_DIR": str(store)}

    def params() -> str:
        command = [sys.executable, "-c", FIT_IN_A_FRESH_PROCESS, str(curve)]
        return subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout

    first = params()
    kept = sorted(store.glob("*.pkl"))
    assert kept  # a library call stores its programs by default ...
    assert params() == first  # ... and a second process loads them: the same fit
    assert sorted(store.glob("*.pkl")) == kept
    scalefit.set_cache_dir(None)  # and one call switches the store off
    assert _programs._store is None
