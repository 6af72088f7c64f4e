"""The documentation builds in strict mode, and its API reference covers the public surface.

The build is Sphinx's, with warnings as errors and every cross-reference checked (``-W -n``):
a broken link, a reference to an undocumented or private object, or a malformed docstring fails
it. Build the same site by hand with ``sphinx-build -W --keep-going -n docs docs/_build/html``.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

try:
    import fcntl  # one build shared by pytest-xdist's workers (POSIX)
except ImportError:  # pragma: no cover
    fcntl = None

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"

PUBLIC_MODULES = [
    "scalefit",
    "scalefit.areas",
    "scalefit.schedules",
    "scalefit.laws",
    "scalefit.laws.annealing",
    "scalefit.laws.multipower",
    "scalefit.io",
    "scalefit.plot",
]
"""The modules whose ``__all__`` (where they have one) the API reference must cover."""


@pytest.fixture(scope="session")
def built(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """The site built once per test run into a temporary folder: ``(html folder, exit code,
    stderr)``. Under pytest-xdist the workers share one build (the first to come builds it)."""
    folder = tmp_path_factory.getbasetemp()
    if hasattr(request.config, "workerinput"):  # an xdist worker: the run's folder is shared
        folder = folder.parent
    with open(folder / "docs.lock", "w") as lock:
        if fcntl is not None:
            fcntl.flock(lock, fcntl.LOCK_EX)
        out = folder / "docs"
        out.mkdir(exist_ok=True)
        if not (out / "result.json").is_file():
            command = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-n", "-q"]
            command += ["-d", str(out / "doctrees"), str(DOCS), str(out / "html")]
            result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
            summary = {"returncode": result.returncode, "stderr": result.stderr}
            (out / "result.json").write_text(json.dumps(summary))
        summary = json.loads((out / "result.json").read_text())
    return out / "html", summary["returncode"], summary["stderr"]


def test_docs_build_without_warnings(built):
    html, returncode, stderr = built
    assert returncode == 0 and not stderr.strip(), f"sphinx-build (exit {returncode}):\n{stderr}"
    assert (html / "index.html").is_file()


def documented_names(html: Path) -> set[str]:
    """The Python objects in the site's inventory (``objects.inv``: four header lines, then
    zlib-compressed lines ``name domain:role priority uri display-name``)."""
    *header, body = (html / "objects.inv").read_bytes().split(b"\n", 4)
    assert header[0] == b"# Sphinx inventory version 2", header
    lines = zlib.decompress(body).decode().splitlines()
    return {line.split(" ", 2)[0] for line in lines if line.split(" ", 2)[1].startswith("py:")}


def public_names() -> list[str]:
    names = []
    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        names.append(module_name)
        names += [f"{module_name}.{name}" for name in getattr(module, "__all__", ())]
    return names


def test_every_public_name_is_in_the_api_reference(built):
    html, _, stderr = built
    assert (html / "objects.inv").is_file(), stderr
    documented = documented_names(html)
    missing = [name for name in public_names() if name not in documented]
    assert not missing, f"not in the API reference (docs/api/): {', '.join(missing)}"
