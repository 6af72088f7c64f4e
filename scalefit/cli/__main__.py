"""``python -m scalefit.cli``: the ``scalefit`` command."""

from scalefit.cli._main import run

run()
