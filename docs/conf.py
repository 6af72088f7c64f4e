"""Sphinx configuration of scalefit's documentation.

Build it with ``sphinx-build -W --keep-going -n docs docs/_build/html`` (warnings are errors,
every reference checked); ``tests/test_docs.py`` runs the same build. Nothing is fetched from the
network: no intersphinx, and the notebooks are rendered with the outputs stored in them.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # document this checkout, not an installed copy
sys.path.insert(0, str(ROOT / "docs"))  # _cli: the command line's parser for sphinx-argparse

from sphinx.ext.napoleon.docstring import GoogleDocstring  # noqa: E402

import scalefit  # noqa: E402

project = "scalefit"
author = "the scalefit authors"
copyright = "the scalefit authors"  # noqa: A001 (Sphinx's name)
release = scalefit.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",  # the API reference from the docstrings
    "sphinx.ext.napoleon",  # their Args / Returns / Raises sections
    "sphinx.ext.mathjax",  # their :math: roles and math blocks
    "myst_nb",  # Markdown pages (MyST) and the notebooks
    "sphinxarg.ext",  # the command-line page, from the real parser
]

source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "**.ipynb_checkpoints", "_cli.py"]
root_doc = "index"
smartquotes = False  # option names keep their "--", quotes stay as typed

# Notebooks: rendered with the outputs stored in them (the test suite executes them, with nbmake).
nb_execution_mode = "off"
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
myst_heading_anchors = 3

# Docstrings.
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_typehints_format = "short"
autodoc_preserve_defaults = True
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_ivar = True  # a class's Attributes as a field list: no duplicate object entries
napoleon_use_rtype = False
napoleon_attr_annotations = False  # the types are in the class signature already

# Nitpicky mode checks every reference. Types of other libraries are not documented here (no
# network, so no intersphinx): they are let through by name, narrowly.
nitpicky = True
nitpick_ignore_regex = [
    (r"py:.*", r"(numpy|np|jax|jnp|jaxlib|optax|pandas|pd|matplotlib|torch)(\..+)?"),
    (r"py:.*", r"(ArrayLike|Array|ndarray|DataFrame|Figure|Axes|PathLike)"),
    (r"py:.*", r"(collections\.abc|typing|os|pathlib|dataclasses|argparse|numbers)\..+"),
    (r"py:.*", r"(Callable|Sequence|Mapping|Iterable|Iterator|Any|Path|Namespace)"),
]
nitpick_ignore = [("py:class", "scalefit.schedules._Family")]  # FAMILIES' values: a private record


html_theme = "furo"
html_title = f"scalefit {release}"
html_static_path = ["_static"]
html_show_sourcelink = False


def _public_names() -> dict[int, str]:
    """Each public object's documented name, by identity: the top level's names first, then those
    of the public modules (an object defined in a private module is documented where it is
    exported)."""
    names: dict[int, str] = {}
    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        for name in getattr(module, "__all__", ()):
            names.setdefault(id(getattr(module, name)), f"{module_name}.{name}")
    return names


PUBLIC_MODULES = (
    "scalefit",
    "scalefit.schedules",
    "scalefit.areas",
    "scalefit.laws",
    "scalefit.io",
    "scalefit.plot",
)


def _resolve_private(app, env, node, contnode):
    """A reference to an object by its private module's path (``scalefit._result.Fit``, as type
    hints name it) resolves to where the object is documented (``scalefit.Fit``). References to
    private modules themselves stay unresolved: the docstrings name public objects instead."""
    target = node.get("reftarget", "")
    if node.get("refdomain") != "py" or not target.startswith("scalefit.") or "._" not in target:
        return None
    module_name, _, attr = target.rpartition(".")
    try:
        obj = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError, ValueError):
        return None
    public = _PUBLIC.get(id(obj))
    if public is None:
        return None
    domain = env.get_domain("py")
    node["reftarget"] = public
    return domain.resolve_xref(
        env, node.get("refdoc", ""), app.builder, node["reftype"], public, node, contnode
    )


_PUBLIC: dict[int, str] = {}


def _attribute_as_prose(self):
    """An attribute's docstring is prose (its type is in the annotations): napoleon would read a
    first line such as ``The budget: the last step.`` as ``type: description``."""
    return self.__class__(self._consume_to_end(), self._config).lines()


GoogleDocstring._parse_attribute_docstring = _attribute_as_prose


def _factory_defaults(app, what, name, obj, options, signature, return_annotation):
    """A dataclass field's ``default_factory`` shows as ``<factory>``, which Sphinx cannot parse
    as a Python default (it then splits the signature at every comma): show ``...`` instead."""
    if signature and "<factory>" in signature:
        return signature.replace("<factory>", "..."), return_annotation
    return None


def setup(app):
    app.connect("autodoc-process-signature", _factory_defaults)
    _PUBLIC.update(_public_names())
    app.connect("missing-reference", _resolve_private)
