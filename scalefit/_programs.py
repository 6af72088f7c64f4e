"""Compiled programs kept on disk between processes, so that a command does not re-trace them.

JAX's persistent compilation cache skips XLA's compilation but not Python tracing, and tracing the
vmapped minimiser takes about a second: most of a small command-line fit. A store is on unless
switched off (:func:`set_cache_dir`, or ``SCALEFIT_CACHE_DIR`` set empty): from its first
:func:`call`, a process (the ``scalefit`` command, or a Python session fitting through the
library) keeps each program it compiles, serialised with
:mod:`jax.experimental.serialize_executable`, under a key made of everything the program depends
on: the function, its static arguments, the shapes and dtypes of its arguments, the versions of
jax, jaxlib, optax, optimistix and equinox, the backend, and a hash of scalefit's own source
files (so an edited checkout never runs a stale program). Without a store, :func:`call` is a
plain call.

Loading a program takes up to 0.2 s (its object code is linked again) and a fit loads about ten,
so background threads do it ahead of need (deserialising releases the GIL): the store also
remembers, for the first program a process calls, which programs that process called next
(``<key>.next``), and a later process that starts with the same program loads those while it
computes; and, for a process that says what kind it is (:func:`use_store`'s ``kind``: the
command and the law), every program the last process of that kind called (``<hash>.ahead``),
which then load while it imports pandas and reads its input. A wrong guess costs idle
background work, never a wrong result: a program is still found by its key.
"""

from __future__ import annotations

import functools
import hashlib
import os
import pickle
import re
import tempfile
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import jax
import numpy as np

_KEY_LENGTH = 32  # hexadecimal digits of a program's key
_UNSET = Path()  # the store before anything set it: the default one, from the first call on
_store: Path | None = _UNSET
_loaded: dict[str, object] = {}
_source_hash: str | None = None
_called: list[str] = []  # the keys this process has called, in the order first called
_followers: list[str] = []  # the keys a process called after _called[0], as last recorded
_pending: dict[str, Future] = {}  # programs loading (or queued) on the background threads
_kernels: Future | None = None  # the LAPACK kernels' registration (see _register_kernels)
_loader: ThreadPoolExecutor | None = None
_ahead: Path | None = None  # the record of what the last process of this kind called
_ahead_keys: list[str] = []  # ... as last read or written


def default_store() -> Path | None:
    """The store's folder: ``$SCALEFIT_CACHE_DIR``, else ``scalefit/programs`` in the user's
    cache folder (``$XDG_CACHE_HOME``, else ``~/.cache``); ``None`` where ``SCALEFIT_CACHE_DIR``
    is set empty (no store)."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    path = os.environ.get("SCALEFIT_CACHE_DIR", str(cache / "scalefit" / "programs"))
    return Path(path) if path else None


def set_cache_dir(path: str | os.PathLike | None) -> None:
    """Keep the programs scalefit compiles in ``path`` between processes (``None``: nowhere).

    By default they are kept in ``$SCALEFIT_CACHE_DIR``, else in ``scalefit/programs`` under
    the user's cache folder (``~/.cache``), so that a second Python
    process (or command) fitting the same kind of curves loads them in a fraction of a second
    instead of tracing and compiling them again (seconds). Several processes may share a
    folder (each writes whole files, atomically); a program is kept under a key made of
    everything it depends on, scalefit's own source included, so a stale one is never run.

    Args:
        path: the folder (created when first written to), or ``None`` to keep nothing.
    """
    use_store(path)


def use_store(path: str | os.PathLike | None, kind: str = "") -> None:
    """Keep compiled programs under ``path`` (``None``: keep nothing).

    ``kind`` names what the process is about to do (e.g. ``"fit multipower"``): the programs the
    last process of that kind called (:func:`remember`) start loading at once, in the
    background, while this one reads its input, instead of only from its first call."""
    global _store, _kernels, _ahead
    _store = Path(path) if path else None
    _loaded.clear()
    _called.clear()
    _followers.clear()
    for future in _pending.values():  # those not started yet need not delay the next store
        future.cancel()
    _pending.clear()
    _kernels = None
    _ahead = None
    _ahead_keys.clear()
    if _store is not None and kind:
        _ahead = _store / f"{hashlib.sha256(kind.encode()).hexdigest()[:16]}.ahead"
        _ahead_keys[:] = _read_keys(_ahead)
        if _ahead_keys:  # the LAPACK set-up first: a program cannot run before it
            _kernels = _background(_register_kernels)
            _load_ahead(_ahead_keys)


def remember() -> None:
    """Record the programs this process called, in order, as what the next process of its kind
    (:func:`use_store`) loads from its start; called once the process's work is done (a process
    that stopped midway would record too little)."""
    if _ahead is not None and _called and _called != _ahead_keys:
        _ahead_keys[:] = _called
        _write_atomically(_ahead, "\n".join(_called).encode())


def call(fn, *args, **static):
    """``fn(*args, **static)`` for a ``jax.jit`` function whose static arguments are ``static``.

    With a store, the compiled program is loaded from it, or compiled once and saved to it.
    """
    if _store is _UNSET:
        use_store(default_store())
    if _store is None or not all(map(_nameable, (fn, *static.values()))):
        return fn(*args, **static)
    key = _key(fn, args, static)
    _follow(key)
    program = _loaded.get(key) or _loaded_ahead(key) or _load(_store / f"{key}.pkl")
    if program is None:
        program = _compile(fn, args, static)
        _save(key, program)
    _loaded[key] = program
    if _kernels is not None:
        _kernels.result()
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
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:_KEY_LENGTH]


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
    algebra operation: running a loaded program that calls one (the minimiser's QR) would crash
    the process otherwise (loading it is safe). Lowering a 2 × 2 QR compiles nothing, but the
    kernels come from SciPy, whose import takes about 0.2 s: a background thread does it."""
    import jax.numpy as jnp

    jax.jit(jnp.linalg.qr).lower(np.eye(2))


def _background(job, *args) -> Future:
    # Two threads: the kernels' registration (mostly Python: it holds the GIL) need not delay the
    # first loads (which release it).
    global _loader
    if _loader is None:
        _loader = ThreadPoolExecutor(2, thread_name_prefix="scalefit-programs")
    return _loader.submit(job, *args)


def _follow(key: str) -> None:
    """Record that this process calls ``key``. On its first call, start (in the background)
    registering the LAPACK kernels, then loading the programs that followed it last time; when
    the calls depart from that record, rewrite it."""
    global _kernels
    if key in _called:
        return
    _called.append(key)
    if len(_called) == 1:
        if _kernels is None:
            _kernels = _background(_register_kernels)
        _followers[:] = _read_keys(_store / f"{key}.next")
        _load_ahead(_followers)
    elif _called[1:] != _followers[: len(_called) - 1]:
        _followers[:] = _called[1:]
        _write_atomically(_store / f"{_called[0]}.next", "\n".join(_followers).encode())


def _read_keys(path: Path) -> list[str]:
    """The program keys a record lists (none if it is missing or damaged)."""
    try:
        recorded = path.read_text(encoding="ascii").split()
    except (OSError, ValueError):
        return []
    return [k for k in recorded if re.fullmatch(f"[0-9a-f]{{{_KEY_LENGTH}}}", k)]


def _load_ahead(keys: list[str]) -> None:
    """Start loading the stored programs ``keys`` on the background threads, in order."""
    for k in keys:
        path = _store / f"{k}.pkl"
        if k not in _loaded and k not in _pending and path.exists():
            _pending[k] = _background(_load, path)


def _loaded_ahead(key: str):
    future = _pending.pop(key, None)
    if future is None or future.cancel():  # not loading yet: the caller loads it at once
        return None
    return future.result()


def _load(path: Path):
    from jax.experimental.serialize_executable import deserialize_and_load

    if not path.exists():
        return None
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
    """Keep the store bounded: drop the least recently written programs beyond the limit, and
    the records of what followed programs no longer kept."""
    try:
        files = sorted(_store.glob("*.pkl"), key=lambda p: p.stat().st_mtime)
        for path in files[: max(0, len(files) - _MAX_PROGRAMS)]:
            path.unlink(missing_ok=True)
        for path in _store.glob("*.next"):
            if not path.with_suffix(".pkl").exists():
                path.unlink(missing_ok=True)
    except OSError:  # another process pruning the same store, or a read-only one
        pass


def _save(key: str, program) -> None:
    from jax.experimental.serialize_executable import serialize

    try:
        data = pickle.dumps(serialize(program))
    except Exception:  # a program that does not serialise is compiled again next time
        return
    if _write_atomically(_store / f"{key}.pkl", data):
        _prune()


def _write_atomically(path: Path, data: bytes) -> bool:
    """Write ``data`` to ``path`` whole or not at all; False if it could not (a read-only or
    full disk costs a recompilation, or a load not made ahead, next time: nothing more)."""
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
        return True
    except Exception:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass
        return False
