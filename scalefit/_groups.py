r"""Fitting an independent law to each group of runs (each model size, each peak LR...) at once.

Each group is fitted as :func:`scalefit.fit` fits it alone (the same rows, starts, objective and
minimiser settings, the same error model), but every stage runs for all groups in one compiled
call: the minimiser (:mod:`scalefit._least_squares`) takes a leading group axis, each group with
its own features, log losses and row weights, padded to common shapes (padded rows and curves
weigh 0, so every group's objective is its own). The screening of starts, their refinement, the
polish on every row, and the error model's refits of :math:`G` groups are each one call of one
program. On a GPU the call steps every group at once (vmapped); on a CPU, which steps one at a
time anyway, it loops over them inside the program, each group stopping when its own minimiser
does. Either way a sweep of a hundred groups compiles, loads and dispatches as one group does;
its arithmetic grows with the groups (in parallel on a GPU).

A law's features depend on a curve's LRs and rows alone: groups that run the same schedules (one
group per size, per seed...) have them computed once (:class:`_Features`).

Groups are fitted in chunks of at most :data:`GROUP_ROWS` rows (over their curves, padded), so
that memory stays bounded however many groups there are; every chunk is padded to the same
number of groups, so that one set of compiled programs serves them all.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from functools import partial

import jax
import numpy as np

from scalefit import _programs, _progress
from scalefit._curve import Curve
from scalefit._diagnostics import diagnose
from scalefit._errors import InputError
from scalefit._features import RunContext, Stack, law_features, references
from scalefit._fit import (
    _REFIT_ITERATIONS,
    _REFIT_TOL,
    DECAY_GRID,
    HUBER_DELTA,
    POLISH_ROWS,
    _checked_input,
    _decay_at_grid_end,
    _params,
    _reads,
    _record,
    _refits,
    _scored_as,
    _Search,
    _search_inputs,
    _Settings,
    _undetermined,
    _with_rival,
)
from scalefit._least_squares import (
    held_coordinates,
    minimize_groups,
    multistart_groups,
    refit_groups,
    to_theta,
)
from scalefit._result import Fit, Uncertainty, _law_options
from scalefit._sweep import Sweep, peaks_of, sizes_of
from scalefit._uncertainty import assess, fold_requests
from scalefit.areas import DEFAULT_DECAY
from scalefit.laws import Law, default_law, get_law

__all__ = ["fit_groups", "groups_table"]

GROUP_ROWS = {"cpu": 2**15}
"""The most rows (every fitted row of a curve, up to the fit's polish limit, padded to the
groups' common shape) of all the groups that one compiled call minimises on, by JAX backend
(others: :data:`DEFAULT_GROUP_ROWS`): beyond, groups are fitted in chunks. A CPU minimises one
group after another anyway, and fares best on arrays that fit its caches."""
_PADDING = "\0padding "
"""The start of the names of the groups that pad a chunk to the same size as the others."""
DEFAULT_GROUP_ROWS = 2**19
CACHED_ROWS = 2**17
"""The most rows whose features a fit of groups keeps, for other groups' curves alike."""


def fit_groups(
    groups: Mapping[str, Sweep | Sequence[Curve] | Curve],
    law: str | Law | None = None,
    *,
    decay: float = DEFAULT_DECAY,
    fit_decay: bool = False,
    warmup: str | None = None,
    huber_delta: float = HUBER_DELTA,
    skip_warmup: bool = True,
    refine: int = 4,
    max_iter: int = 1000,
    tol: float = 1e-8,
    uncertainty: bool = True,
) -> dict[str, Fit]:
    r"""Fit an independent law to each group of curves, all groups at once.

    Group :math:`g` gets the parameters :math:`\hat\theta_g = \arg\min_\theta \sum_{c \in g}
    \sum_s \operatorname{Huber}_\delta(\log y_{c,s} - \log \hat L_\theta(s; \eta_c))`, exactly
    the :class:`~scalefit.Fit` that :func:`scalefit.fit` gives for the group alone (up to the
    minimiser's tolerance), with its metrics, warnings and error model. The groups are
    minimised together: each stage of the fit (screening starts, refining the best, the polish
    on every row, the error model's refits, the rival law's fit) is one compiled program
    vmapped over the groups, so a hundred groups cost little more than one in compilation and
    dispatch (the arithmetic grows with the rows: on a GPU it runs in parallel).

    Args:
        groups: each group's curves by its name: a :class:`~scalefit.Sweep` (each logged row
            counted once), several curves, or one (``Sweep.groups`` makes such a mapping).
        law: the law fitted to every group; default: the one :func:`scalefit.fit` picks for
            runs that span as many peak LRs and model sizes as the widest group
            (:func:`scalefit.laws.default_law`), so that groups that differ in peak LR or size
            (grouped by it) get the law for one peak or size.
        decay, fit_decay, warmup, huber_delta, skip_warmup, refine, max_iter, tol, uncertainty:
            as :func:`scalefit.fit`, for every group.

    Returns:
        Each group's :class:`~scalefit.Fit`, by name, in the order given.

    Raises:
        InputError: no group, or a group that :func:`scalefit.fit` would refuse (the message
            starts with the group's name).
        TypeError, ValueError: as :func:`scalefit.fit`.

    Examples:
        >>> import numpy as np
        >>> from scalefit import Curve, Fit, fit_groups, predict
        >>> from scalefit.schedules import parse_schedule
        >>> schedule = parse_schedule("cosine:peak=1e-3,steps=2000,warmup=100,final=1e-4")
        >>> steps = np.arange(150, 2000, 10)
        >>> def run(l0):  # a run the annealing law describes, to a loss floor of l0
        ...     truth = Fit.given("annealing", {"L0": l0, "A": 0.6, "alpha": 0.5, "C": 0.8})
        ...     loss = predict(truth, schedule, at=steps).loss
        ...     return Curve("cosine", schedule.lr(), steps, loss, warmup_steps=100)
        >>> groups = {f"floor={l0}": [run(l0)] for l0 in (2.5, 3.0)}
        >>> fits = fit_groups(groups, "annealing", uncertainty=False)
        >>> {name: round(f.params["L0"], 3) for name, f in fits.items()}
        {'floor=2.5': 2.5, 'floor=3.0': 3.0}
    """
    settings = _Settings(huber_delta, skip_warmup, refine, max_iter, tol)
    checked, law = _checked_groups(groups, law, settings, decay, fit_decay, warmup)
    decays = sorted(set(DECAY_GRID) | {decay}) if fit_decay else [decay]
    fits: dict[str, Fit] = {}
    rival = get_law(law.rival) if uncertainty and law.rival else None
    caches = {f.name: _Features(f) for f in (law, rival) if f is not None}
    for chunk in _chunks(checked):
        fitted = _fit_chunk(law, chunk, decays, warmup, settings, uncertainty, caches)
        fits |= {name: fitted[name] for name in chunk if name in checked}
    for result in fits.values():
        if fit_decay and result.options["decay"] in (decays[0], decays[-1]):
            result.warnings.append(_decay_at_grid_end(result.options["decay"], decays))
    _progress.clear()
    return fits


def _checked_groups(
    groups: object,
    law: str | Law | None,
    settings: _Settings,
    decay: float,
    fit_decay: bool,
    warmup: str | None,
) -> tuple[dict[str, list[Curve]], Law]:
    """Each group's curves to fit (as :func:`scalefit.fit` checks them) and the law for all."""
    if not isinstance(groups, Mapping):
        raise TypeError("fit_groups takes a mapping of group names to curves (Sweep.groups)")
    if not groups:
        raise InputError("no group to fit")
    runs = {str(name): _curves(value) for name, value in groups.items()}
    law = get_law(law if law is not None else _law_for_groups(runs.values()))
    checked = {}
    for name, curves in runs.items():
        try:
            checked[name], _ = _checked_input(curves, law, settings, decay, fit_decay, warmup)
            held = _undetermined(law, checked[name])
        except InputError as err:
            raise InputError(f"group {name}: {err}") from None
        if held:
            raise InputError(
                f"group {name}: its runs cannot determine {', '.join(held)} of the {law.name} "
                "law, which fit_groups does not hold: fit the group with scalefit.fit"
            )
    return checked, law


def _curves(value: object) -> list[Curve]:
    """A group's curves: a sweep's (each logged row counted once), several, or one."""
    if isinstance(value, Sweep):
        return list(value.counted_once().curves)
    if isinstance(value, Curve):
        return [value]
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise TypeError(f"a group is a Sweep or curves, not {type(value).__name__}")
    strays = [type(c).__name__ for c in value if not isinstance(c, Curve)]
    if strays:
        raise TypeError(f"a group holds Curve objects, not {strays[0]}")
    return list(value)


def _law_for_groups(groups) -> str:
    """The law for groups like these: for as many peak LRs and sizes as the widest spans."""
    return default_law(max(len(peaks_of(g)) for g in groups), max(len(sizes_of(g)) for g in groups))


def _chunks(groups: dict[str, list[Curve]]) -> list[dict[str, list[Curve]]]:
    """The groups in chunks of at most :data:`GROUP_ROWS` rows, as even as can be, the last
    padded with repeats of its last group (under names no group has) to the same size."""
    curves = max(len(c) for c in groups.values())
    rows = max(min(c.loss.size, POLISH_ROWS) for cs in groups.values() for c in cs)
    budget = GROUP_ROWS.get(jax.default_backend(), DEFAULT_GROUP_ROWS)
    per_chunk = max(1, budget // (curves * rows))
    n_chunks = math.ceil(len(groups) / per_chunk)
    size = math.ceil(len(groups) / n_chunks)
    names = list(groups)
    chunks = []
    for start in range(0, len(names), size):
        chunk = {name: groups[name] for name in names[start : start + size]}
        last = names[min(start + size, len(names)) - 1]
        chunk |= {f"{_PADDING}{i}": groups[last] for i in range(size - len(chunk))}
        chunks.append(chunk)
    return chunks


def _fit_chunk(
    law: Law,
    groups: dict[str, list[Curve]],
    decays: list[float],
    warmup: str | None,
    settings: _Settings,
    uncertainty: bool,
    caches: dict[str, _Features],
) -> dict[str, Fit]:
    """The fits of a chunk of groups (what :func:`scalefit.fit` does for one, each stage once
    for every group; ``caches``: the features of curves seen, by law)."""
    curves = list(groups.values())
    refs = [{k: v for k, v in references(c).items() if _reads(law, k)} for c in curves]
    stacks = [Stack.of(c, r) for c, r in zip(curves, refs)]
    with jax.enable_x64(True):
        best = None
        for d in decays:  # the best of each group so far: one decay's rows held at a time
            options = _law_options(law, decay=d, warmup=warmup)
            searched = _search_groups(law, stacks, options, settings, caches[law.name])
            best = (
                searched
                if best is None
                else [min(a, b, key=_value) for a, b in zip(best, searched)]
            )
        best = _polish_groups(law, best, settings)
        models = [None] * len(best)
        if uncertainty:
            rivals = _rivals(law.rival, stacks, settings, caches) if law.rival else None
            padded = [name.startswith(_PADDING) for name in groups]
            models = _assess_groups(law, best, rivals, curves, settings, padded)
        losses = _polished_losses(law, best)
    fits = {}
    for g, name in enumerate(groups):
        if name.startswith(_PADDING):
            continue
        search, c = best[g], curves[g]
        scored, predicted = _scored_as(search.polished, losses[g], stacks[g], c)
        params = dict(zip(law.param_names, _params(law, search.theta)))
        fit_decay = len(decays) > 1
        result = _record(law, params, c, scored, search, predicted, models[g], settings, fit_decay)
        result.options |= refs[g]
        result.warnings.extend(diagnose(result, scored, predicted))
        fits[name] = result
    return fits


def _value(search: _Search) -> float:
    return search.value


@dataclasses.dataclass(frozen=True)
class _Rows:
    """Every row a chunk of groups is polished on, padded to common shapes along a leading
    group axis: the law's features, the log losses and the row weights (padding weighs 0)."""

    features: dict[str, np.ndarray]
    log_y: np.ndarray
    weight: np.ndarray

    def of(self, groups: list[int]) -> _Rows:
        """The rows of some of the groups (all: these)."""
        if groups == list(range(len(self.log_y))):
            return self
        return _Rows({k: v[groups] for k, v in self.features.items()}, *self.arrays(groups))

    def arrays(self, groups: list[int]) -> tuple[np.ndarray, np.ndarray]:
        return self.log_y[groups], self.weight[groups]


@dataclasses.dataclass(frozen=True)
class _GroupSearch(_Search):
    """A group's :class:`_Search`, with its chunk's rows and its place among them."""

    rows: _Rows | None = None
    index: int = 0


def _search_groups(
    law: Law,
    stacks: list[Stack],
    options: dict[str, object],
    settings: _Settings,
    cache: _Features,
) -> list[_GroupSearch]:
    """Each group's best start (``_search`` of :mod:`scalefit._fit`), all groups screened and
    refined in the same compiled calls."""
    _progress.report("fit: the features of every group")
    polished = [s.thinned(POLISH_ROWS)[0] for s in stacks]
    rows, features = _polish_rows(law, polished, options, cache)
    inputs = [_search_inputs(law, p, f) for p, f in zip(polished, features)]
    lower = np.asarray(law.lower, dtype=np.float64)
    starts = [to_theta(i[3], lower) for i in inputs]
    n_starts = np.array([len(s) for s in starts])
    searched = [i[0] for i in inputs]
    theta, value, k, done = multistart_groups(
        _edge_stack(starts),
        n_starts,
        _data(law, searched, [i[2] for i in inputs], settings),
        law_loss=law.loss,
        refine=int(min(settings.refine, n_starts.min())),
        max_iter=settings.max_iter,
        tol=settings.tol,
    )
    out = []
    for g, (searched_rows, picked, search_features, _) in enumerate(inputs):
        i = int(np.argmin(value[g]))
        out.append(
            _GroupSearch(
                value=float(value[g, i]),
                options=options,
                theta=theta[g, i],
                n_iter=int(k[g, i]),
                converged=bool(done[g, i]),
                n_starts=int(n_starts[g]),
                polished=polished[g],
                polish_features=features[g],
                searched=searched_rows,
                search_features=search_features,
                thinned=picked is not None,
                rows=rows,
                index=g,
            )
        )
    return out


def _polish_rows(
    law: Law, polished: list[Stack], options: dict[str, object], cache: _Features
) -> tuple[_Rows, list[dict[str, np.ndarray]]]:
    """The law's features at every polished row of every group: the chunk's :class:`_Rows`,
    and each group's features as ``Stack.features`` gives them (views of the chunk's, whose
    segments may be more: the extra ones are empty)."""
    n_curves = max(p.rows.shape[0] for p in polished)
    n_steps = max(p.lr.shape[1] for p in polished)
    n_rows = -(-max(p.rows.shape[1] for p in polished) // 64) * 64
    if n_rows == -(-n_steps // 1024) * 1024:  # per-row features told from per-step ones
        n_rows += 64
    shape = (n_curves, n_rows)
    features = cache.at(
        np.concatenate([_edge(p.lr, (n_curves, n_steps)) for p in polished]),
        np.concatenate([_edge(p.rows, shape) for p in polished]),
        np.concatenate([_edge(p.warmup_steps, shape[:1]) for p in polished]),
        options,
    )
    features = {k: v.reshape(len(polished), *shape[:1], *v.shape[1:]) for k, v in features.items()}
    for g, p in enumerate(polished):
        for name, value in p.context.features(law, p.rows.shape).items():
            features[name][g] = _edge(value, shape)
    rows = _Rows(
        features,
        np.stack([_edge(np.log(p.loss), shape) for p in polished]),
        np.stack([_zero(p.weight, shape) for p in polished]),
    )
    views = [
        {
            k: v[g, : p.rows.shape[0], : p.rows.shape[1]]
            if v.shape[2:3] == (n_rows,)
            else v[g, : p.rows.shape[0]]
            for k, v in features.items()
        }
        for g, p in enumerate(polished)
    ]
    return rows, views


class _Features:
    """A law's features of curves, each distinct curve (its LRs, rows and warm-up) computed
    once in a fit of groups: groups often run the same schedules (one per size, per seed...).
    The features of curves seen are kept up to :data:`CACHED_ROWS` rows, the least recently
    used dropped first."""

    def __init__(self, law: Law) -> None:
        self.law = law
        self.kept: OrderedDict[bytes, dict[str, np.ndarray]] = OrderedDict()

    def at(
        self, lr: np.ndarray, rows: np.ndarray, warmup: np.ndarray, options: dict[str, object]
    ) -> dict[str, np.ndarray]:
        """The features of each curve (``lr``, ``rows``, ``warmup`` with a leading curve
        axis), as :func:`scalefit._features.law_features` gives them, stacked; where curves'
        trimmed axes (a multi-power law's segments) differ in length, padded with zeros."""
        keys = [self._key(*curve, options) for curve in zip(lr, rows, warmup)]
        new = list(dict.fromkeys(k for k in keys if k not in self.kept))
        if new:
            first = [keys.index(k) for k in new]
            zeros = RunContext(0.0, np.zeros(len(first)))  # each group's own context: later
            computed = law_features(self.law, lr[first], rows[first], warmup[first], options, zeros)
            computed = {name: np.asarray(v) for name, v in computed.items()}
            for i, key in enumerate(new):
                self.kept[key] = {name: v[i].copy() for name, v in computed.items()}
        for key in keys:
            self.kept.move_to_end(key)
        out = {}
        for name in self.kept[keys[0]]:
            parts = [self.kept[key][name] for key in keys]
            widest = tuple(np.max([p.shape for p in parts], axis=0))
            out[name] = np.stack([_zero(p, widest) for p in parts])
        self._evict(rows.shape[1], set(keys))
        return out

    @staticmethod
    def _key(lr, rows, warmup, options) -> bytes:
        digest = hashlib.blake2b(repr(sorted(options.items())).encode(), digest_size=16)
        for part in (lr, rows, np.asarray(warmup)):
            digest.update(repr((part.shape, str(part.dtype))).encode())
            digest.update(np.ascontiguousarray(part).tobytes())
        return digest.digest()

    def _evict(self, rows: int, used: set[bytes]) -> None:
        while len(self.kept) * rows > CACHED_ROWS and next(iter(self.kept)) not in used:
            self.kept.popitem(last=False)


def _polish_groups(law: Law, best: list[_GroupSearch], settings: _Settings) -> list[_Search]:
    """Each group's best start minimised on every row (``_polish`` of :mod:`scalefit._fit`),
    for every group whose search ran on fewer rows, in one compiled call."""
    which = [g for g, b in enumerate(best) if b.thinned]
    if not which:
        return best
    _progress.report("fit: minimising every group on every row")
    rows = _gathered([best[g] for g in which])
    theta, value, k, done = minimize_groups(
        np.stack([best[g].theta for g in which])[:, None],
        (
            np.asarray(law.lower, dtype=np.float64),
            rows.features,
            rows.log_y,
            rows.weight,
            settings.huber_delta,
        ),
        settings.max_iter,
        law_loss=law.loss,
        tol=settings.tol,
    )
    out = list(best)
    for i, g in enumerate(which):
        out[g] = dataclasses.replace(
            best[g],
            theta=theta[i, 0],
            value=float(value[i, 0]),
            n_iter=best[g].n_iter + int(k[i, 0]),
            converged=bool(done[i, 0]),
        )
    return out


def _gathered(searches: list[_GroupSearch]) -> _Rows:
    """The polished rows of these groups' searches, stacked (no copy where they are all the
    groups of one chunk's rows, in order)."""
    first = searches[0].rows
    if all(s.rows is first for s in searches):
        return first.of([s.index for s in searches])
    features = {
        k: np.stack([s.rows.features[k][s.index] for s in searches]) for k in first.features
    }
    log_y = np.stack([s.rows.log_y[s.index] for s in searches])
    return _Rows(features, log_y, np.stack([s.rows.weight[s.index] for s in searches]))


@partial(jax.jit, static_argnames="law_loss")
def _evaluate_groups(params, features, *, law_loss):
    return jax.vmap(law_loss)(params, features)


def _polished_losses(law: Law, best: list[_GroupSearch]) -> list[np.ndarray]:
    """Each group's fitted loss at its polished rows (``(curves, rows)``), in one call."""
    rows = _gathered(best)
    params = np.stack([_params(law, b.theta) for b in best])
    loss = np.asarray(_programs.call(_evaluate_groups, params, rows.features, law_loss=law.loss))
    return [
        loss[g, : b.polished.rows.shape[0], : b.polished.rows.shape[1]] for g, b in enumerate(best)
    ]


def _rivals(
    name: str, stacks: list[Stack], settings: _Settings, caches: dict[str, _Features]
) -> list[tuple[Law, _Search, dict]]:
    """The rival law ``name`` fitted to every group (``_rival`` of :mod:`scalefit._fit`), all
    groups searched and polished in the same compiled calls."""
    _progress.report(f"fit: fitting the {name} law beside every group (errors)")
    rival = get_law(name)
    searched = _search_groups(rival, stacks, _law_options(rival), settings, caches[rival.name])
    return [(rival, s, {}) for s in _polish_groups(rival, searched, settings)]


def _assess_groups(
    law: Law,
    best: list[_Search],
    rivals: list[tuple[Law, _Search, dict]] | None,
    curves: list[list[Curve]],
    settings: _Settings,
    padded: list[bool],
) -> list[Uncertainty | None]:
    """Each group's error model (``_assess_errors`` of :mod:`scalefit._fit`), the refits of
    every group (the law's, then its rival's) minimised together beforehand and handed to the
    error model (:func:`scalefit._uncertainty.assess`) through its refit callbacks."""
    _progress.report("fit: refitting every group on parts of its curves (errors)")
    ok = [g for g, b in enumerate(best) if np.isfinite(b.value) and np.all(np.isfinite(b.theta))]
    fitted = {g: _refits(law, best[g], settings) for g in ok}
    rival = {g: _refits(*rivals[g][:2], settings) for g in ok} if rivals else {}
    asked = {g: fold_requests(fitted[g], best[g].polished, curves[g], rival.get(g)) for g in ok}
    own = _answered(law, best, {g: a[0] for g, a in asked.items()}, fitted, settings)
    if rivals:
        searches = [r[1] for r in rivals]
        others = _answered(
            rivals[0][0], searches, {g: a[1] for g, a in asked.items()}, rival, settings
        )
    models: list[Uncertainty | None] = [None] * len(best)
    for g in (g for g in ok if not padded[g]):  # padding keeps the calls' shapes, no more
        rival_g = dataclasses.replace(rival[g], refit=others[g]) if rivals else None
        fitted_g = dataclasses.replace(fitted[g], refit=own[g])
        model = assess(fitted_g, best[g].polished, curves[g], rival_g)
        models[g] = _with_rival(model, law.rival, rivals[g] if rivals else None)
    return models


def _answered(law, best, requests, refits, settings) -> dict[int, _Answered]:
    """Each group's refit callback, answering its request (``None``: none) with every group's
    minimised together."""
    answers = _refit_requests(law, best, requests, settings)
    return {g: _Answered(requests[g], answers.get(g), refits[g].refit) for g in requests}


@dataclasses.dataclass
class _Answered:
    """The error model's refit callback: the answer to the request made beforehand; any other
    request (none is: the folds depend on the fit alone) minimised by ``alone``."""

    request: tuple | None
    answer: np.ndarray | None
    alone: object

    def __call__(self, theta0, weights, features, held=None):
        asked = (theta0, weights, held_coordinates(held, theta0))
        if self.request is not None and all(map(np.array_equal, self.request, asked)):
            return self.answer
        return self.alone(theta0, weights, features, held)


def _refit_requests(
    law: Law, best: list[_Search], requests: dict[int, tuple | None], settings: _Settings
) -> dict[int, np.ndarray]:
    """The answers to every group's refit request ``(theta0, weights, held)``, minimised
    together, the groups' folds padded to the most any group has."""
    which = [g for g, r in requests.items() if r is not None]
    if not which:
        return {}
    lower, features, log_y, weight, delta = _data(
        law, [best[g].searched for g in which], [best[g].search_features for g in which], settings
    )
    theta0, weights, held = ([requests[g][i] for g in which] for i in range(3))
    shape = weight.shape[1:]
    solved = refit_groups(
        _edge_stack(theta0),
        _edge_stack([np.stack([_zero(w, shape) for w in ws]) for ws in weights]),
        features,
        _edge_stack(held),
        data=(lower, log_y, delta),
        batch=settings.refine,
        law_loss=law.loss,
        max_iter=min(settings.max_iter, _REFIT_ITERATIONS),
        tol=max(settings.tol, _REFIT_TOL),
    )
    return {g: solved[i, : len(theta0[i])] for i, g in enumerate(which)}


def _data(law: Law, stacks: list[Stack], features: list[dict], settings: _Settings):
    """The minimiser's data for groups of ``stacks`` with their ``features``, padded to common
    shapes and stacked along a leading group axis: ``(lower, features, log_y, weight, delta)``."""
    shape = tuple(max(s.weight.shape[i] for s in stacks) for i in (0, 1))
    return (
        np.asarray(law.lower, dtype=np.float64),
        _stacked_features(features, [s.weight.shape for s in stacks], shape),
        np.stack([_edge(np.log(s.loss), shape) for s in stacks]),
        np.stack([_zero(s.weight, shape) for s in stacks]),
        settings.huber_delta,
    )


def _stacked_features(
    features: list[dict], shapes: list[tuple[int, int]], shape: tuple[int, int]
) -> dict[str, np.ndarray]:
    """Every group's features, stacked: padded along the curves (repeating the last: its
    padded rows weigh 0) and, for a per-row feature (leading axes the group's ``(curves,
    rows)``), along the rows (repeating the last); any further axis (a multi-power law's
    segments) is padded with zeros, which its law reads as nothing there."""
    out = {}
    for name in features[0]:
        parts = []
        for f, own in zip(features, shapes):
            value = np.asarray(f[name])
            per_row = value.shape[:2] == own
            value = _edge(value, shape if per_row else shape[:1])
            parts.append(value)
        widest = np.max([p.shape for p in parts], axis=0)
        out[name] = np.stack([_zero(p, tuple(widest)) for p in parts])
    return out


def _edge(x: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """``x`` padded to ``shape`` along its leading axes by repeating its last entries."""
    pad = [(0, n - m) for n, m in zip(shape, x.shape)] + [(0, 0)] * (x.ndim - len(shape))
    return np.pad(x, pad, mode="edge") if any(p[1] for p in pad) else x


def _zero(x: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """``x`` padded to ``shape`` along its leading axes with zeros."""
    pad = [(0, n - m) for n, m in zip(shape, x.shape)] + [(0, 0)] * (x.ndim - len(shape))
    return np.pad(x, pad) if any(p[1] for p in pad) else x


def _edge_stack(arrays: list[np.ndarray]) -> np.ndarray:
    """Arrays stacked along a new leading axis, each padded to the longest by repeating its
    last row."""
    n = max(len(a) for a in arrays)
    return np.stack([_edge(a, (n,)) for a in arrays])


def groups_table(fits: Mapping[str, Fit]) -> str:
    """A plain-text table of groups' fits, one row per group: its runs and rows, each
    parameter, the mean PredE and RMSE over its curves, and whether it converged."""
    names = list(fits)
    params = list(dict.fromkeys(p for f in fits.values() for p in f.params))
    width = max([len("group")] + [len(n) for n in names])
    head = f"{'group':<{width}}  {'runs':>4}  {'rows':>7}" + "".join(f"  {p:>11}" for p in params)
    lines = [head + f"  {'PredE':>8}  {'RMSE':>8}  converged"]
    for name, f in fits.items():
        values = "".join(f"  {f.params.get(p, math.nan):>11.5g}" for p in params)
        pred_e = np.mean([m.pred_e for m in f.metrics]) if f.metrics else math.nan
        rmse = np.mean([m.rmse for m in f.metrics]) if f.metrics else math.nan
        rows = sum(int(c.get("rows", 0)) for c in f.curves)
        lines.append(
            f"{name:<{width}}  {len(f.curves):>4d}  {rows:>7d}{values}  {pred_e:>8.5f}  "
            f"{rmse:>8.5f}  {'yes' if f.converged else 'no'}"
        )
    return "\n".join(lines)
