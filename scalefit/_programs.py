"""Compiled programs kept on disk between processes, so that a command does not re-trace them.

JAX's persistent compilation cache skips XLA's compilation but not Python tracing, and tracing the
vmapped minimiser takes about a second: most of a small command-line fit. When a store is
switched on (:func:`use_store`; the ``scalefit`` command does, a library import never does),
:func:`call` keeps each program it compiles, serialised with
:mod:`jax.experimental.serialize_executable`, under a key made of everything the program depends
on: the function, its static arguments, the shapes and dtypes of its arguments, the versions of
jax, jaxlib, optax, optimistix and equinox, the backend, and a hash of scalefit's own source
files (so an edited checkout never runs a stale program). Without a store, :func:`call` is a
plain call.
"""

from __future__ import annotations

import functools
import hashlib
import os
import pickle
import tempfile
from pathlib import Path

import jax
import numpy as np

_store: Path | None = None
_loaded: dict[str, object] = {}
_source_hash: str | None = None


def use_store(path: str | os.PathLike | None) -> None:
    """Keep compiled programs under ``path`` (``None``: keep nothing, the default)."""
    global _store
    _store = Path(path) if path else None
    _loaded.clear()


def call(fn, *args, **static):
    """``fn(*args, **static)`` for a ``jax.jit`` function whose static arguments are ``static``.

    With a store, the compiled program is loaded from it, or compiled once and saved to it.
    """
    if _store is None or not all(map(_nameable, (fn, *static.values()))):
        return fn(*args, **static)
    key = _key(fn, args, static)
    program = _loaded.get(key) or _load(key)
    if program is None:
        program = _compile(fn, args, static)
        _save(key, program)
    _loaded[key] = program
    return program(*args)


def _compile(fn, args, static):
    # An executable that JAX's own persistent cache hands back serialises without its object code
    # (loading it then fails with "Function ... not found"): compile afresh for the store.
    cached = jax.config.jax_enable_compilation_cache
    jax.config.update("jax_enable_compilation_cache", False)
    try:
        return fn.lower(*args, **static).compile()
    finally:
        jax.config.update("jax_enable_compilation_cache", cached)


def _key(fn, args, static) -> str:
    leaves, tree = jax.tree.flatten(args)
    parts = [
        getattr(fn, "__module__", ""),
        getattr(fn, "__qualname__", repr(fn)),
        repr(sorted((k, _static_name(v)) for k, v in static.items())),
        repr(tree),
        repr([(np.shape(x), str(getattr(x, "dtype", type(x).__name__))) for x in leaves]),
        jax.__version__,
        _version("jaxlib"),
        _version("optax"),
        _version("optimistix"),
        _version("equinox"),
        jax.default_backend(),
        str(jax.config.read("jax_enable_x64")),
        _sources(),
    ]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32]


def _nameable(value) -> bool:
    """Whether ``value`` is the same thing in every process that names it alike. A function made
    inside another one (a closure, a lambda) is not, so its programs are never stored: two laws
    built by one factory would share a key. Nor is an object whose name (its ``repr``) is an
    address or names such a function."""
    name = _static_name(value)
    return not any(mark in name for mark in ("<locals>", "<lambda>", " at 0x"))


def _static_name(value) -> str:
    if callable(value):
        return f"{getattr(value, '__module__', '')}.{getattr(value, '__qualname__', repr(value))}"
    return repr(value)


@functools.cache
def _version(package: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return ""


def _sources() -> str:
    global _source_hash
    if _source_hash is None:
        digest = hashlib.sha256()
        for path in sorted(Path(__file__).parent.rglob("*.py")):
            digest.update(path.read_bytes())
        _source_hash = digest.hexdigest()
    return _source_hash


@functools.cache
def _register_kernels() -> None:
    """Make JAX register its CPU LAPACK kernels, as it does only when it first lowers a linear
    algebra operation: a loaded program that calls one (the minimiser's QR) would crash the
    process otherwise. Lowering a 2 × 2 QR takes milliseconds and compiles nothing."""
    import jax.numpy as jnp

    jax.jit(jnp.linalg.qr).lower(np.eye(2))


def _load(key: str):
    from jax.experimental.serialize_executable import deserialize_and_load

    path = _store / f"{key}.pkl"
    if not path.exists():
        return None
    _register_kernels()
    try:
        with path.open("rb") as f:
            payload, in_tree, out_tree = pickle.load(f)
        return deserialize_and_load(payload, in_tree, out_tree)
    except FileNotFoundError:
        return None
    except Exception:  # a damaged or foreign file: compile again and replace it
        return None


_MAX_PROGRAMS = 200


def _prune() -> None:
    """Keep the store bounded: drop the least recently written programs beyond the limit."""
    files = sorted(_store.glob("*.pkl"), key=lambda p: p.stat().st_mtime)
    for path in files[: max(0, len(files) - _MAX_PROGRAMS)]:
        path.unlink(missing_ok=True)


def _save(key: str, program) -> None:
    from jax.experimental.serialize_executable import serialize

    try:
        _store.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=_store, prefix=f".{key}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            pickle.dump(serialize(program), f)
        os.replace(tmp, _store / f"{key}.pkl")
        _prune()
    except Exception:  # a read-only or full disk costs a recompilation next time, nothing more
        try:
            os.unlink(tmp)
        except (OSError, UnboundLocalError):
            pass
