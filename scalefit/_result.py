"""What a fit is: the :class:`Fit` record, its error model's record, and how both are saved.

A :class:`Fit` carries everything needed to judge, save and reuse a fit (as
``scipy.optimize.OptimizeResult`` or lmfit's ``ModelResult`` do): the law and its parameters, the
options, the curves fitted and how well, how the minimiser ended, the warnings, and the error
model of its predictions (:class:`Uncertainty`, computed by :mod:`scalefit._uncertainty`).
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from scalefit._errors import InputError
from scalefit._metrics import CurveMetrics
from scalefit._version import __version__
from scalefit.laws import Law, get_law

__all__ = ["FORMAT", "Fit", "Uncertainty", "recorded_options"]

_STRONG_CORRELATION = 0.95


@dataclass(frozen=True)
class Uncertainty:
    """The error model of a fit's predictions (its parts: :doc:`/intervals`).

    Attributes:
        covariance: sandwich covariance of the minimiser's coordinates
            :math:`\\theta = \\log(p - p_{lower})`, in the law's parameter order.
        transfer_variance: :math:`\\sigma^2_T`, squared log error on left-out curves.
        horizon_variance: :math:`k^2`, squared log error per squared log ratio of forward areas
            beyond the fitted ones.
        fitted_area: :math:`S_{fit}`, the largest sum of LRs up to a fitted row.
        notes: what limits these estimates (e.g. one curve only).
        rival: the rival law's fit to the same curves, ``{"law", "params", "options"}`` (its
            name, parameters by name and options), or ``None``.
        decay_variance: :math:`a^2`, squared log error per squared log ratio of decayed areas
            beyond the largest fitted one (default 0: a file made before it was measured).
        decayed_area: :math:`A_{fit}`, the largest decayed area (steps times the LR's fall
            below its peak, as a fraction of the peak) up to a fitted row (default 0: none).
        rival_weight: :math:`\\rho`, the share of the rival's squared gap that counts as error
            (default 1: the whole gap, as files made before it was measured counted it).
        degrees_of_freedom: :math:`\\nu`, of Student's t whose quantile an interval takes (the
            terms are estimated from :math:`\\nu + 1` folds); 0 (the default, as files made before
            it was recorded): the normal quantile.
    """

    covariance: np.ndarray
    transfer_variance: float
    horizon_variance: float
    fitted_area: float
    notes: tuple[str, ...] = ()
    rival: dict[str, object] | None = None
    decay_variance: float = 0.0
    decayed_area: float = 0.0
    rival_weight: float = 1.0
    degrees_of_freedom: int = 0

    def to_dict(self) -> dict[str, object]:
        """The error model as JSON-ready values (what a fit file keeps of it)."""
        out = {
            "covariance": np.asarray(self.covariance).tolist(),
            "transfer_variance": self.transfer_variance,
            "horizon_variance": self.horizon_variance,
            "fitted_area": self.fitted_area,
            "decay_variance": self.decay_variance,
            "decayed_area": self.decayed_area,
            "rival_weight": self.rival_weight,
            "degrees_of_freedom": self.degrees_of_freedom,
            "notes": list(self.notes),
        }
        if self.rival is not None:
            out["rival"] = self.rival
        return out

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Uncertainty:
        """Rebuild from :meth:`to_dict`'s output (``ValueError``: a value no error model holds,
        ``KeyError``: one missing). A field added since a file was made takes its default."""
        covariance = np.asarray(data["covariance"], dtype=np.float64)
        if covariance.ndim != 2 or not np.all(np.isfinite(covariance)):
            raise ValueError("its covariance is not a matrix of finite numbers")
        scalars = {}
        for name, (least, strict, high) in _SCALARS.items():
            if name not in data and name in _DEFAULTS:
                continue
            value = data[name]
            number = not isinstance(value, bool) and isinstance(value, (int, float))
            if not (
                number
                and np.isfinite(value)
                and (value > least if strict else value >= least)
                and value <= high
            ):
                relation = f"{'>' if strict else '>='} {least:g}" + (
                    f" and <= {high:g}" if np.isfinite(high) else ""
                )
                raise ValueError(f"its {name} must be a number {relation}, not {value!r}")
            scalars[name] = float(value)
        if "degrees_of_freedom" in scalars:
            dof = scalars["degrees_of_freedom"]
            if dof != int(dof):
                raise ValueError(f"its degrees_of_freedom must be a whole number, not {dof!r}")
            scalars["degrees_of_freedom"] = int(dof)
        return cls(
            covariance=covariance,
            notes=tuple(str(n) for n in data.get("notes", [])),
            rival=_rival_from(data.get("rival")),
            **scalars,
        )


_SCALARS = {  # each scalar's least value, whether it must exceed it, and its largest
    "transfer_variance": (0.0, False, math.inf),
    "horizon_variance": (0.0, False, math.inf),
    "fitted_area": (0.0, True, math.inf),
    "decay_variance": (0.0, False, math.inf),
    "decayed_area": (0.0, False, math.inf),
    "rival_weight": (0.0, False, 1.0),
    "degrees_of_freedom": (0.0, False, math.inf),
}
_DEFAULTS = ("decay_variance", "decayed_area", "rival_weight", "degrees_of_freedom")


def _rival_from(data: object) -> dict[str, object] | None:
    """A saved rival fit, checked: its law's name, every parameter of that law as a number, and
    its options. Raises ``InputError`` (an unknown law) or ``ValueError`` (anything malformed)."""
    if data is None:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("law"), str):
        raise ValueError("the error model's rival is not a {law, params, options} record")
    law = get_law(data["law"])
    params, options = data.get("params"), data.get("options", {})
    if not isinstance(params, dict) or not isinstance(options, dict):
        raise ValueError(f"the rival {law.name} fit has no parameters or options")
    missing = [n for n in law.param_names if n not in params]
    if missing:
        raise ValueError(f"the rival {law.name} fit lacks {', '.join(missing)}")
    values = {n: float(params[n]) for n in law.param_names}
    return {"law": law.name, "params": values, "options": options}


@dataclass
class Fit:
    """The result of :func:`fit`: everything needed to judge, save and reuse a fit.

    Attributes:
        law: the law's registry name.
        params: fitted parameter values by name.
        options: the law's options used (e.g. ``decay``, ``warmup``) and the objective's settings.
        curves: what was fitted: one dict per curve (``name``, ``source``, ``rows``, ``steps``,
            ``warmup_steps``, ``peak_lr``).
        metrics: goodness of fit on each fitted curve.
        objective: the minimised objective (Huber on log residuals, summed over rows).
        n_starts: starting points minimised.
        n_iter: minimiser steps of the best start (screening included).
        converged: whether the best start met the convergence test.
        status: one line saying how the minimiser ended.
        warnings: what makes this fit doubtful, each with the reason.
        version: scalefit version that made the fit.
        uncertainty: the error model of its predictions (parameter covariance, transfer and
            horizon errors, the rival law's fit), or ``None`` (given parameters, or
            ``fit(uncertainty=False)``).
    """

    law: str
    params: dict[str, float]
    options: dict[str, object]
    curves: list[dict[str, object]]
    metrics: list[CurveMetrics]
    objective: float
    n_starts: int
    n_iter: int
    converged: bool
    status: str
    warnings: list[str] = field(default_factory=list)
    version: str = ""
    uncertainty: Uncertainty | None = None

    @classmethod
    def given(cls, law: str | Law, params: dict[str, float], **options: object) -> Fit:
        """A fit made of given parameters (a paper's, say) to predict with; ``options`` override
        the law's defaults (e.g. ``warmup="actual"``), and give the references a law across
        peaks or sizes reads (``lr_ref``, ``size_ref``; ``tokens_ref``). A parameter below the
        law's lower bound, or not a finite number, is a ``ValueError``."""
        law = get_law(law)
        refs = {k: _finite(options.pop(k), k) for k in REFERENCES if k in options}
        return cls(
            law=law.name,
            params=_checked_params(law, {n: float(np.asarray(params[n])) for n in law.param_names}),
            options=_law_options(law, **options) | refs,
            curves=[],
            metrics=[],
            objective=float("nan"),
            n_starts=0,
            n_iter=0,
            converged=True,
            status="given, not fitted",
        )

    @property
    def law_options(self) -> dict[str, object]:
        """The law's options this fit was made with (for any not recorded, the value a file made
        before the option existed was made with, else the law's default), without the objective's
        settings: what ``law.prepare`` takes."""
        return recorded_options(get_law(self.law), self.options)

    @property
    def param_vector(self) -> np.ndarray:
        """Parameters in the law's order."""
        return np.array([self.params[n] for n in get_law(self.law).param_names])

    @property
    def standard_errors(self) -> dict[str, float] | None:
        r"""Standard error of each parameter (delta method from the sandwich covariance of
        :math:`\log(p - p_{lower})`), or ``None`` without an error model."""
        if self.uncertainty is None:
            return None
        law = get_law(self.law)
        scale = self.param_vector - np.asarray(law.lower)
        se = scale * np.sqrt(np.clip(np.diag(self.uncertainty.covariance), 0.0, None))
        return {n: float(v) for n, v in zip(law.param_names, se)}

    @property
    def correlations(self) -> np.ndarray | None:
        """Correlation matrix of the parameters (law order), or ``None`` without an error model."""
        if self.uncertainty is None:
            return None
        cov = np.asarray(self.uncertainty.covariance)
        sd = np.sqrt(np.clip(np.diag(cov), 1e-300, None))
        return np.clip(cov / np.outer(sd, sd), -1.0, 1.0)

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready dict (see :meth:`from_dict`)."""
        return {
            "scalefit_fit": FORMAT,
            "version": self.version,
            "law": self.law,
            "formula": get_law(self.law).formula,
            "params": dict(self.params),
            "options": dict(self.options),
            "curves": [dict(c) for c in self.curves],
            "metrics": [m.to_dict() for m in self.metrics],
            "objective": self.objective,
            "n_starts": self.n_starts,
            "n_iter": self.n_iter,
            "converged": self.converged,
            "status": self.status,
            "warnings": list(self.warnings),
            "uncertainty": None if self.uncertainty is None else self.uncertainty.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Fit:
        """Rebuild a :class:`Fit` from :meth:`to_dict`'s output.

        An error model that cannot be read (a value no error model holds, the wrong shape) is
        dropped with a warning: the fit still predicts, without intervals.

        Raises:
            KeyError: a key is missing.
            ValueError: a value cannot be what a fit holds (a parameter that is not a finite
                number, a law option of the wrong kind or out of its range).
            InputError: the file's format is one this scalefit cannot read (a newer one).
        """
        version = data.get("scalefit_fit", FORMAT)
        if version != FORMAT:
            raise InputError(
                f"format {version!r}, which this scalefit ({__version__}) cannot read: it reads "
                f"format {FORMAT}"
            )
        law = get_law(str(data["law"]))
        params = _checked_params(law, data["params"])
        options = _checked_options(law, dict(data["options"]))
        curves = [dict(c) for c in data["curves"]]
        for c in curves:
            if "peak_lr" in c and not _finite(c["peak_lr"], "a curve's peak_lr") > 0:
                raise ValueError(f"a curve's peak_lr must be positive, not {c['peak_lr']}")
        warnings = [str(w) for w in data.get("warnings", [])]
        uncertainty = None
        if data.get("uncertainty") is not None:
            try:
                uncertainty = Uncertainty.from_dict(data["uncertainty"])
                shape = np.shape(uncertainty.covariance)
                if shape != (law.n_params,) * 2:
                    raise ValueError(
                        f"its covariance is {shape[0]} x {shape[-1]}, not {law.n_params} x "
                        f"{law.n_params} (one row and column per parameter)"
                    )
            except (KeyError, TypeError, ValueError) as err:  # the point predictions still hold
                uncertainty = None
                problem = f"{err.args[0]!r} is missing" if isinstance(err, KeyError) else err
                warnings.append(f"the file's error model is unusable: {problem}")
        return cls(
            law=law.name,
            params=params,
            options=options,
            curves=curves,
            metrics=[CurveMetrics.from_dict(m) for m in data.get("metrics", [])],
            objective=float(data["objective"]),
            n_starts=int(data["n_starts"]),
            n_iter=int(data["n_iter"]),
            converged=bool(data["converged"]),
            status=str(data["status"]),
            warnings=warnings,
            version=str(data.get("version", "")),
            uncertainty=uncertainty,
        )

    def summary(self, warnings: bool = True) -> str:
        """The fit as text: the law, options, how the minimiser ended, each parameter with its
        standard error, the error model, the curves' metrics, and (unless ``warnings`` is
        off, as when a command prints them apart) the warnings."""
        law = get_law(self.law)
        lines = [f"Fit of the {law.name} law:", *_wrapped(law.formula, "  ")]
        shown = {**self.law_options, **self.options}  # a file's unrecorded options as used
        lines += _wrapped("options: " + ", ".join(f"{k}={v}" for k, v in shown.items()), "  ")
        lines.append(
            f"  {self.status}; objective {self.objective:.6g} after {self.n_iter} iterations "
            f"(best of {self.n_starts} starts)"
        )
        errors = self.standard_errors
        lines.append("  parameters:" + ("  value ± standard error" if errors else ""))
        width = max(len(n) for n in self.params)
        for name, value in self.params.items():
            error = f"{value:<12.6g}  ± {errors[name]:.3g}" if errors else f"{value:.6g}"
            lines.append(f"    {name:<{width}}  {error}")
        if errors:
            names, corr = law.param_names, self.correlations
            strong = [
                f"{names[i]}~{names[j]} {corr[i, j]:+.3f}"
                for i in range(len(names))
                for j in range(i + 1, len(names))
                if abs(corr[i, j]) > _STRONG_CORRELATION
            ]
            if strong:
                limit = f"|r| > {_STRONG_CORRELATION}"
                lines.append(f"  strongly correlated ({limit}): " + ", ".join(strong))
            u = self.uncertainty
            rival = ""
            if u.rival is not None:
                rival = f"; rival law {u.rival['law']} ({u.rival_weight:.0%} of its gap counts)"
            model = (
                f"prediction error model: transfer {np.sqrt(u.transfer_variance):.2%} (log sd on "
                f"left-out curves), horizon {np.sqrt(u.horizon_variance):.2%} per log area "
                f"ratio, decay {np.sqrt(u.decay_variance):.2%} per log decayed-area ratio{rival}"
                + (
                    f"; Student's t with {u.degrees_of_freedom} degrees of freedom"
                    if u.degrees_of_freedom
                    else ""
                )
            )
            lines += _wrapped(model, "  ")
            for note in u.notes:
                lines += _wrapped(f"note: {note}", "    ")
        lines.append("  curves:")
        lines.extend("    " + row for row in CurveMetrics.table(self.metrics).splitlines())
        if warnings:
            for w in self.warnings:
                lines += _wrapped(f"warning: {w}", "  ")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    __repr__ = __str__


def _wrapped(text: str, indent: str, width: int = 100) -> list[str]:
    """``text`` as lines of at most ``width`` characters, indented, continued lines further."""
    return textwrap.wrap(
        text, width, initial_indent=indent, subsequent_indent=indent + "  ", break_on_hyphens=False
    )


REFERENCES = ("lr_ref", "size_ref", "tokens_ref")
"""What a fit records of its runs for a law across peaks, sizes or batch sizes: their reference
LR, model size and tokens per step."""

FORMAT = 1
"""The version of the fit file's layout (its ``scalefit_fit`` key)."""


def _finite(value: object, what: str) -> float:
    """``value`` as a finite float (``ValueError`` otherwise, naming ``what``)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value):
        raise ValueError(f"{what} must be a finite number, not {value!r}")
    return float(value)


def _checked_params(law: Law, params: dict) -> dict[str, float]:
    """The law's parameters from ``params``, each a finite number at least the law's lower bound
    (``ValueError`` otherwise: a negative L0, say, would predict negative losses). Upper bounds
    are not checked: fits do not enforce them."""
    checked = {name: _finite(params[name], name) for name in law.param_names}
    for (name, value), low in zip(checked.items(), law.lower):
        if not value >= low:
            raise ValueError(f"{name} must be at least {low:g}, not {value!r}")
    return checked


# The built-in laws' options and the values they may take (a registered law's own options are
# only checked to be of their default's kind).
_OPTION_RANGES = {
    "decay": (0.0, 1.0, "between 0 and 1"),  # the annealing law's momentum decay
    "window": (0.0, math.inf, "positive"),  # the multi-power laws' exact steps, segments' width
    "resolution": (0.0, math.inf, "positive"),
    "drop_power": (0.0, math.inf, "positive"),
}


def _checked_options(law: Law, options: Mapping[str, object]) -> dict[str, object]:
    """``options`` with each of the law's own of its default's kind (a whole number as an
    ``int``, a warm-up convention, a built-in option within its range); ``ValueError`` else."""
    out = dict(options)
    for name in REFERENCES:
        if name in out and not _finite(out[name], f"the reference {name}") > 0:
            raise ValueError(f"the reference {name} must be positive, not {out[name]!r}")
    for name, default in law.options.items():
        if name not in out:
            continue
        value = out[name]
        if name == "warmup" and value not in ("peak", "actual"):
            raise ValueError(f"option warmup must be 'peak' or 'actual', not {value!r}")
        if isinstance(default, bool) or not isinstance(default, (int, float)):
            if type(value) is not type(default):
                kind = type(default).__name__
                raise ValueError(f"option {name} must be a {kind}, not {value!r}")
            continue
        number = _finite(value, f"option {name}")
        low, high, words = _OPTION_RANGES.get(name, (-math.inf, math.inf, ""))
        if not low < number < high:
            raise ValueError(f"option {name} must be {words}, not {value!r}")
        if isinstance(default, int):
            if number != int(number):
                raise ValueError(f"option {name} must be a whole number, not {value!r}")
            out[name] = int(number)
    return out


def recorded_options(law: Law, options: Mapping[str, object]) -> dict[str, object]:
    """The law's options as a fit recorded them in ``options``: for any not recorded, the value a
    fit file made before the option existed was made with (``Law.legacy_options``), else the
    law's default."""
    return {
        k: options.get(k, law.legacy_options.get(k, default)) for k, default in law.options.items()
    }


def _law_options(law: Law, **given: object) -> dict[str, object]:
    return {k: default if given.get(k) is None else given[k] for k, default in law.options.items()}
