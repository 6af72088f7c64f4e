"""scalefit: fit learning-rate-annealing scaling laws to loss curves and predict any schedule.

The functional core: :mod:`scalefit.schedules` (LR schedules and the spec grammar),
:mod:`scalefit.areas` (schedule features), :mod:`scalefit.laws` (the laws), :mod:`scalefit.fitting`
(multi-start fitting and the :class:`Fit` result), :mod:`scalefit.predict` (trajectories). The
shell: :mod:`scalefit.io` (logs and fit files), :mod:`scalefit.plot`, :mod:`scalefit.cli`.
"""

from __future__ import annotations

__version__ = "0.1.0"

from scalefit.curve import Curve
from scalefit.errors import InputError
from scalefit.fitting import Fit, fit

__all__ = ["Curve", "Fit", "InputError", "__version__", "fit"]
