"""The one exception type for bad user input.

The command line turns it into a single line on stderr and exit code 2; library users catch it
like any ``ValueError``.
"""

from __future__ import annotations


class InputError(ValueError):
    """Bad input (a file, a column, a schedule spec), with a one-line, human-readable message.

    The message names the offending file or spec first, e.g.
    ``"runs/a.csv: no 'loss' column (columns: step, lr, acc)"``.
    """
