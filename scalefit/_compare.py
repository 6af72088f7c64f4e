"""Comparing laws on held-out curves: fit each on the same curves, score each on the others.

This is how to decide which law to trust on one's own runs: a law that fits the curves it saw
is not necessarily one that predicts a schedule it did not see, and a law whose predictions are
sharper is not necessarily one whose intervals hold the curves it did not see (on the bundled
curves the most accurate law's own error model misses its long-horizon errors, which its rival
term catches: README, "Which law is the default").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from scalefit._curve import Curve
from scalefit._errors import InputError
from scalefit._fit import fit
from scalefit._metrics import CurveMetrics
from scalefit._predict import Prediction, predict_curves
from scalefit._result import Fit
from scalefit._sweep import peaks_of, sizes_of
from scalefit.laws import laws_for

__all__ = ["LawComparison", "compare_laws"]


@dataclass(frozen=True)
class LawComparison:
    """One law fitted on the fit curves and scored on the held-out ones.

    Attributes:
        fit: the law's fit.
        metrics: agreement of its prediction with each held-out curve, at the rows a fit uses
            (those logged after warm-up, unless ``skip_warmup=False``), with the coverage and
            width of its interval when one was asked for.
        predictions: its prediction of each held-out curve at the rows scored, with its
            interval when one was asked for, and its warnings (e.g. a budget far beyond the
            fitted ones). (Every step of a 72k-step schedule would take the multi-power laws
            2 s more per curve, for nothing a table or a plot needs.)
    """

    fit: Fit
    metrics: list[CurveMetrics]
    predictions: list[Prediction]

    @property
    def mean_pred_e(self) -> float:
        return float(np.mean([m.pred_e for m in self.metrics]))

    @property
    def mean_coverage(self) -> float | None:
        """The share of held-out rows inside the interval, averaged over the curves."""
        if any(m.coverage is None for m in self.metrics):
            return None
        return float(np.mean([m.coverage for m in self.metrics]))

    def table(self) -> str:
        """Its metrics on each held-out curve, with their mean, as a text table."""
        return CurveMetrics.table(self.metrics, mean=True)

    def __str__(self) -> str:
        scored = f"{len(self.metrics)} held-out curve(s)"
        return f"{self.fit.law} law, scored on {scored}\n{self.table()}"

    __repr__ = __str__


def compare_laws(
    fit_on: Curve | Sequence[Curve],
    test_on: Curve | Sequence[Curve],
    laws: str | Sequence[str] | None = None,
    *,
    interval: float | None = 0.9,
    **fit_options: object,
) -> dict[str, LawComparison]:
    """Fit every law on ``fit_on`` and score its predictions of ``test_on``.

    Args:
        fit_on: the curves the laws are fitted on.
        test_on: held-out curves (none of ``fit_on``).
        laws: law names; default every registered law that runs like ``fit_on`` can
            determine (:func:`scalefit.laws.laws_for`: laws across model sizes or peak LRs
            only for runs that span several).
        interval: level of the prediction interval whose coverage of the held-out rows is
            scored (``None``: none).
        **fit_options: passed to :func:`scalefit.fit` (e.g. ``warmup``).

    Returns:
        ``{law: LawComparison}`` in the order given.
    """
    fit_on = [fit_on] if isinstance(fit_on, Curve) else list(fit_on)
    test_on = [test_on] if isinstance(test_on, Curve) else list(test_on)
    if not fit_on or not test_on:
        raise InputError("need at least one curve to fit on and one to test on")
    laws = [laws] if isinstance(laws, str) else list(laws) if laws else _laws_for(fit_on)
    out = {}
    for law in laws:
        # without an interval to score, the error model (refits, the rival's fit) is not needed
        options = {"uncertainty": interval is not None, **fit_options}
        result = fit(list(fit_on), law, **options)
        scored = [c.after_warmup() if fit_options.get("skip_warmup", True) else c for c in test_on]
        predictions = predict_curves(result, scored, interval=interval)
        metrics = [p.compare(c) for p, c in zip(predictions, scored)]
        out[result.law] = LawComparison(result, metrics, predictions)
    return out


def _laws_for(curves: list[Curve]) -> list[str]:
    """The laws runs like ``curves`` can determine, by the peak LRs and sizes they span."""
    return laws_for(len(peaks_of(curves)), len(sizes_of(curves)))
