"""scalefit: fit learning-rate-annealing scaling laws to loss curves and predict any schedule.

The functional core is flat: :func:`fit` a law to logged curves (:class:`Curve`), giving a
:class:`Fit`; :func:`predict` any schedule from it (a :class:`Prediction`, with an interval);
:func:`forecast` a run in flight; :func:`compare_laws` on held-out curves; :func:`rank`,
:func:`search_family` and :func:`optimize_schedule` to choose a schedule. Public namespaces hold
the rest: :mod:`scalefit.schedules` (LR schedules, the spec grammar, export to optax and torch),
:mod:`scalefit.areas` (schedule features), :mod:`scalefit.laws` (the laws and their registry),
:mod:`scalefit.io` (logs and fit files) and :mod:`scalefit.plot` (figures; import it to use it).
"""

from __future__ import annotations

from scalefit import areas, io, laws, schedules
from scalefit._choose import (
    Candidate,
    Choice,
    DegenerateOptimum,
    Ranking,
    log_spaced,
    optimize_schedule,
    rank,
    search_family,
    search_peaks,
)
from scalefit._compare import LawComparison, compare_laws
from scalefit._curve import Curve
from scalefit._errors import InputError
from scalefit._fit import fit
from scalefit._forecast import Forecast, ForecastRefused, forecast
from scalefit._groups import fit_groups
from scalefit._metrics import CurveMetrics, curve_metrics
from scalefit._predict import Prediction, predict, predict_curves, predicted_losses
from scalefit._programs import set_cache_dir
from scalefit._result import Fit, Uncertainty
from scalefit._sweep import Sweep
from scalefit._version import __version__

__all__ = [
    "Candidate",
    "Choice",
    "Curve",
    "CurveMetrics",
    "DegenerateOptimum",
    "Fit",
    "Forecast",
    "ForecastRefused",
    "InputError",
    "LawComparison",
    "Prediction",
    "Ranking",
    "Sweep",
    "Uncertainty",
    "__version__",
    "areas",
    "compare_laws",
    "curve_metrics",
    "fit",
    "fit_groups",
    "forecast",
    "io",
    "laws",
    "log_spaced",
    "optimize_schedule",
    "predict",
    "predict_curves",
    "predicted_losses",
    "rank",
    "schedules",
    "search_family",
    "search_peaks",
    "set_cache_dir",
]
