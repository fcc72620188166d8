"""The steps of a fit, in order: data → priors → model → NUTS → diagnostics and checks.

Every law, pooled or not, single or batched (:func:`bayescale.fit_many`), takes the same steps:
:func:`prepare` builds the one model's inputs (:mod:`bayescale.inference.model`, priors resolved by
:func:`bayescale.inference.priors.resolve_priors`, chains placed by
:func:`bayescale.inference.model.start_values`), :func:`bayescale.inference.sampler.run_nuts`
samples, and :func:`posterior` turns the draws into a checked
:class:`~bayescale.inference.posterior.Posterior`. :func:`sample` runs them for one data set;
:func:`bayescale.fit` wraps it for users.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from bayescale.data.scaling_data import ScalingData, design_problems
from bayescale.inference.diagnostics import (
    compute_diagnostics,
    identification_problems,
    misfit_problems,
    with_exact_draws,
)
from bayescale.inference.diagnostics import preload as preload_diagnostics
from bayescale.inference.escalation import (
    ESCALATED_SETTINGS,
    MAX_RETRIES,
    next_settings,
    sampling_trouble,
)
from bayescale.inference.likelihoods import median_abs_residual
from bayescale.inference.model import ModelSpec, centering_of, start_values
from bayescale.inference.posterior import Posterior, flat_samples
from bayescale.inference.priors import describe_priors, fixed_params, prior_log_sd, resolve_priors
from bayescale.inference.sampler import chain_starts, run_nuts, sites_at
from bayescale.inference.settings import FitSettings
from bayescale.laws import Law, get_law
from bayescale.laws.extrapolation import EXACT_PARAMS, base_law, drift_draws, extrapolating

__all__ = [
    "Prepared",
    "WarmStart",
    "data_problems",
    "escalated",
    "group_index",
    "posterior",
    "prepare",
    "sample",
    "sample_once",
    "with_checks",
]


def _x64(precision: str) -> Any:
    return jax.enable_x64(precision == "float64")


class Prepared(NamedTuple):
    """The one model's inputs for one data set (see :func:`prepare`)."""

    spec: ModelSpec
    priors: dict[str, Any]
    fixed: dict[str, float]
    groups: tuple[str, ...] | None
    args: tuple
    kwargs: dict[str, Any]
    start: dict[str, Any]


class WarmStart(NamedTuple):
    """Start a fit where a related posterior lies (the extrapolation check's refit).

    Attributes
    ----------
    starts : mapping of str to array
        One value per chain (leading axis: chains) of every law parameter and noise
        parameter the model samples, or (``unconstrained``) of every sampled site.
    draws : mapping of str to array
        Draws of the same (leading axis: draws). The variance of their unconstrained sites
        (covariance with ``dense_mass``) is the inverse mass matrix, which warmup keeps.
    adapt : int, default 300
        Warmup iterations, at the end of the fit's warmup, that adapt the step size (capped at the
        warmup); the chains start there (:func:`bayescale.inference.sampler.run_nuts`
        ``start_at``), so the refit runs the fit's compiled sampler.
    unconstrained : bool, default False
        ``starts`` and ``draws`` are the sampler's unconstrained sites (a fit's
        ``Posterior.unconstrained``), used as they are.
    """

    starts: Mapping[str, Any]
    draws: Mapping[str, Any]
    adapt: int = 300
    unconstrained: bool = False


def prepare(
    data: ScalingData,
    law: Law,
    cfg: FitSettings,
    priors: Mapping[str, Any] | None,
    pad_to: int | None = None,
) -> Prepared:
    """Spec, resolved priors, model arguments and start values of one data set.

    Call inside the fit's precision context (``jax.enable_x64``): arrays take its dtype. ``args``
    are ``(x, log_loss, mask, center)`` as :class:`~bayescale.inference.model.ModelSpec` takes
    them; ``pad_to`` (ungrouped data) pads the runs to that many with copies of the first, masked
    out, so that fits of fewer runs share a compiled sampler.
    """
    groups, gidx = group_index(data)
    spec = ModelSpec(
        law=law,
        likelihood=cfg.likelihood,
        delta=float(cfg.delta),
        pooling=cfg.pooling if groups is not None else None,
        fixed=tuple(sorted(fixed_params(law, priors))),
    )
    resolved, fixed = resolve_priors(spec, priors)
    dtype = jnp.result_type(float)
    x = law.covariates_of(data, dtype)
    kwargs: dict[str, Any] = {
        "priors": resolved,
        "fixed": {k: jnp.asarray(v, dtype) for k, v in fixed.items()},
    }
    if groups is None:
        # NumPy means: eager jnp.mean would compile a program per covariate in a new process
        center = {k: jnp.asarray(np.mean(np.asarray(v)), dtype) for k, v in x.items()}
    else:
        counts = np.bincount(gidx, minlength=len(groups))
        center = {
            k: jnp.asarray(np.bincount(gidx, np.asarray(v), len(groups)) / counts, dtype)
            for k, v in x.items()
        }
        kwargs["group_index"] = jnp.asarray(gidx)
        kwargs["centering"] = jnp.asarray(centering_of(counts), dtype)
    n = len(data)
    pad = n if pad_to is None else int(pad_to)
    if pad < n or (pad > n and groups is not None):
        raise ValueError(f"pad_to must be >= the {n} runs, and the data ungrouped")

    def padded(v: Any) -> Any:  # NumPy: eager jnp ops would compile one program each
        v = np.asarray(v)
        return jnp.asarray(np.concatenate([v, np.repeat(v[:1], pad - n)]), dtype)

    args = (
        {k: padded(v) for k, v in x.items()},
        padded(data.log_loss),
        jnp.asarray(np.arange(pad) < n),
        center,
    )
    start = start_values(
        spec, data, resolved, fixed, cfg.seed, gidx, None if groups is None else len(groups)
    )
    return Prepared(spec, resolved, fixed, groups, args, kwargs, start)


def sample(
    data: ScalingData,
    *,
    law: str | Law = "chinchilla",
    priors: Mapping[str, Any] | None = None,
    progress_bar: bool | None = None,
    warm_start: WarmStart | None = None,
    pad_to: int | None = None,
    **settings: Any,
) -> Posterior:
    """Fit a scaling law (default L(N, D) = E + A/N^α + B/D^β) to training runs with NUTS.

    The steps of :func:`bayescale.fit` (see it for the parameters), which wraps the
    result in a :class:`~bayescale.FitResult` and reports failed diagnostics; every other
    fit (:func:`bayescale.backtest`, calibration) calls this. ``warm_start``
    (:class:`WarmStart`) starts the chains and the mass matrix from a related posterior's
    draws (ungrouped fits only: a grouped fit's sites cannot be recovered from its draws).
    ``pad_to`` pads the runs (masked out) to that many: a warm refit of a fit's first runs
    padded to the fit's size runs the fit's compiled sampler.

    Returns
    -------
    Posterior
        With its diagnostics and checks (``diagnostics.ok``); nothing is warned here.

    Raises
    ------
    ValueError
        Bad data, settings or priors.
    """
    if not isinstance(data, ScalingData):
        raise ValueError(
            f"data must be a ScalingData (use ScalingData.from_csv / from_dataframe / "
            f"from_arrays), got {type(data).__name__}"
        )
    law_obj = base_law(get_law(law))  # a fit's law may come back as its extrapolating form
    cfg = FitSettings.from_kwargs(settings, law=law_obj.name)
    preload_diagnostics()
    design_problems(data)  # raises early when an exponent cannot be identified at all

    def attempt(cfg: FitSettings) -> Posterior:
        return sample_once(data, law_obj, cfg, priors, pad_to, progress_bar, warm_start)

    first = attempt(cfg)
    # a refit that starts from another fit (the extrapolation check) is that fit's check:
    # it keeps the fit's settings
    if warm_start is not None or not cfg.escalate:
        return first
    return escalated(first, attempt)


def sample_once(
    data: ScalingData,
    law_obj: Law,
    cfg: FitSettings,
    priors: Mapping[str, Any] | None,
    pad_to: int | None = None,
    progress_bar: bool | None = None,
    warm_start: WarmStart | None = None,
) -> Posterior:
    """One run of the sampler with ``cfg``: the checked posterior of its draws."""
    start = time.perf_counter()
    with _x64(cfg.precision):
        prep = prepare(data, law_obj, cfg, priors, pad_to)
        nuts, metric, start_at = cfg.nuts(), None, 0
        if warm_start is not None:
            init_z, metric = _warm_start(prep, warm_start, cfg)
            start_at = cfg.warmup - min(int(warm_start.adapt), cfg.warmup)
        else:
            init_z = chain_starts(
                prep.spec, prep.args, prep.kwargs, prep.start, cfg.chains, cfg.seed
            )
        out = run_nuts(
            prep.spec,
            prep.args,
            prep.kwargs,
            init_z,
            nuts,
            chains=cfg.chains,
            seed=cfg.seed,
            chain_method=cfg.chain_method,
            progress_bar=progress_bar,
            metric=metric,
            start_at=start_at,
        )
    wall = time.perf_counter() - start
    gradients = float(np.sum(out.warmup_steps) + np.sum(out.stats["num_steps"]))
    timing = {"wall_s": wall, "gradients": gradients, "chains": out.placement}
    return posterior(data, cfg, prep, out.samples, out.stats, timing, out.z)


def escalated(first: Posterior, attempt: Callable[[FitSettings], Posterior]) -> Posterior:
    """``first``, or a retry with other settings when its sampler struggled (bounded).

    Runs :func:`~bayescale.inference.escalation.next_settings` until an attempt has no
    :func:`~bayescale.inference.escalation.sampling_trouble`, nothing is left to try or
    :data:`~bayescale.inference.escalation.MAX_RETRIES` retries ran. Not at all for a
    collinear design; with only the metric changing (no longer warmup or more draws) when the
    draws show a problem of the data (:func:`data_problems`), which more iterations cannot
    fix; a note says which. Returns the attempt
    with the fewest kinds of invalidating trouble, then without trees at the maximum depth,
    then the latest, its diagnostics listing the others in ``attempts``.
    """
    if not sampling_trouble(first.diagnostics, first.settings):
        return first
    if design_problems(first.data):
        # log N and log D move together: no sampler setting can separate the two terms
        return _noted(first, "Not retried: the design cannot identify the law (see problems).")
    # the data barely pin a parameter down, or the law misfits: more iterations cannot fix
    # that, but the other metric may still give valid draws
    grow = not data_problems(first)
    user = first.settings
    runs = [first]
    whys: list[str] = []
    for _ in range(MAX_RETRIES):
        last = runs[-1]
        trouble = sampling_trouble(last.diagnostics, last.settings)
        step = next_settings(
            last.settings, trouble, last.diagnostics, [r.settings for r in runs], user, grow=grow
        )
        if step is None:
            break
        why, change = step
        whys.append(why)
        runs.append(attempt(dataclasses.replace(last.settings, **change)))
    if len(runs) == 1:
        return first if grow else _noted(first, _KEPT_SIZE)
    troubles = [sampling_trouble(r.diagnostics, r.settings) for r in runs]
    # invalid draws weigh more than slow ones; on a tie the later attempt (it cost more)
    keep = min(
        range(len(runs)),
        key=lambda i: (len(set(troubles[i]) - {"tree_depth"}), "tree_depth" in troubles[i], -i),
    )
    attempts = tuple(
        {
            "settings": {
                k: getattr(r.settings, k)
                for k in ESCALATED_SETTINGS
                if getattr(r.settings, k) != getattr(runs[keep].settings, k)
            },
            "trouble": list(troubles[i]),
            "why": whys[i] if i < len(whys) else "",
            "gradients": float(r.timing["gradients"]),  # deterministic, unlike wall time
        }
        for i, r in enumerate(runs)
        if i != keep
    )
    kept = runs[keep]
    kept = kept if grow else _noted(kept, _KEPT_SIZE)
    return dataclasses.replace(
        kept, diagnostics=dataclasses.replace(kept.diagnostics, attempts=attempts)
    )


_KEPT_SIZE = (
    "Retries kept warmup and draws as they were: the data barely constrain a parameter or "
    "misfit the law (see problems), which more iterations cannot fix."
)


def _noted(result: Posterior, note: str) -> Posterior:
    """``result`` with ``note`` added to its diagnostics' notes."""
    diagnostics = dataclasses.replace(result.diagnostics, notes=[*result.diagnostics.notes, note])
    return dataclasses.replace(result, diagnostics=diagnostics)


def _warm_start(
    prep: Prepared, warm: WarmStart, cfg: FitSettings
) -> tuple[dict[str, Any], tuple[Any, float]]:
    """Unconstrained chain starts and (inverse mass matrix, step size) from ``warm``."""
    if prep.groups is not None:
        raise ValueError("warm_start needs an ungrouped fit: a grouped one's sites are not kept")
    if warm.unconstrained:
        names = sorted(warm.starts)
        if sorted(warm.draws) != names:
            raise ValueError("warm_start.starts and .draws must hold the same sites")
    else:
        names = [k for k in prep.start if k not in prep.fixed]
        missing = [k for k in names if k not in warm.starts or k not in warm.draws]
        if missing:
            raise ValueError(f"warm_start lacks {', '.join(missing)}")
    if any(np.shape(warm.starts[k])[0] != cfg.chains for k in names):
        raise ValueError(f"warm_start.starts must hold one value per chain ({cfg.chains})")

    def sites(values: Mapping[str, Any]) -> dict[str, Any]:
        if warm.unconstrained:
            return {k: jnp.asarray(values[k], jnp.result_type(float)) for k in names}
        n = np.shape(values[names[0]])[0]
        full = {k: jnp.asarray(values[k]) for k in names}
        full.update({k: jnp.full(n, v, jnp.result_type(float)) for k, v in prep.fixed.items()})
        return sites_at(prep.spec, prep.args, prep.kwargs, full)

    z0 = sites(warm.starts)
    zs = sites(warm.draws)
    # flattened in sorted site order, as NumPyro flattens the chains' positions
    flat = np.concatenate(
        [np.asarray(zs[k]).reshape(len(np.asarray(zs[k])), -1) for k in sorted(zs)], axis=1
    )
    inverse_mass = np.cov(flat, rowvar=False) if cfg.dense_mass else np.var(flat, axis=0)
    return dict(sorted(z0.items())), (inverse_mass, 1.0)


def posterior(
    data: ScalingData,
    cfg: FitSettings,
    prep: Prepared,
    samples: Mapping[str, Any],
    stats: Mapping[str, Any],
    timing: dict[str, Any],
    unconstrained: Mapping[str, Any] | None = None,
) -> Posterior:
    """The checked :class:`~bayescale.inference.posterior.Posterior` of one data set's draws.

    ``unconstrained``: the sampler's draws of its sites (kept for a warm-started refit).
    """
    kept = {k: np.asarray(samples[k], dtype=np.float64) for k in prep.spec.kept_sites()}
    law = prep.spec.law
    if cfg.drift > 0:
        kept.update(drift_draws(kept["sigma"].shape[:2], cfg.drift, cfg.seed))
        law = extrapolating(law, cfg.drift)
    return checked_posterior(
        data,
        cfg,
        kept,
        {k: np.asarray(v) for k, v in stats.items()},
        prep.groups,
        law=law,
        priors=describe_priors(prep.priors),
        prior_distributions=prep.priors,
        timing=timing,
        fixed=prep.fixed,
        prior_log_sd=prior_log_sd(prep.priors),
        unconstrained=None if unconstrained is None else dict(unconstrained),
    )


def checked_posterior(
    data: ScalingData,
    settings: FitSettings,
    samples: dict[str, np.ndarray],
    stats: dict[str, np.ndarray],
    groups: tuple[str, ...] | None,
    **fields: Any,
) -> Posterior:
    """The record of these draws, diagnosed and checked: where every fit and load ends."""
    flat = flat_samples(samples, groups)
    exact = {k: flat.pop(k) for k in EXACT_PARAMS if k in flat}  # drawn, not sampled
    kw = {"max_tree_depth": settings.max_tree_depth, "target_accept": settings.target_accept}
    diagnostics = with_exact_draws(compute_diagnostics(flat, stats, **kw), exact, stats, **kw)
    result = Posterior(
        data=data,
        settings=settings,
        samples=samples,
        stats=stats,
        diagnostics=diagnostics,
        groups=groups,
        **fields,
    )
    return with_checks(result)


def _misfit_ratio(result: Posterior) -> float:
    """Posterior median of median|residual| over its expected value under the likelihood."""
    pred = result.predict_log_loss_draws()  # (n_draws, runs), any law, pooled or not
    n = pred.shape[0]
    idx = np.unique(np.linspace(0, n - 1, min(n, 200)).astype(int))
    observed = np.median(np.abs(result.data.log_loss - pred[idx]), axis=-1)
    nu = result.draws("nu")[idx] if "nu" in result.samples else None
    expected = median_abs_residual(
        result.settings.likelihood,
        result.draws("sigma")[idx],
        nu=nu,
        delta=float(result.settings.delta),
    )
    return float(np.median(observed / expected))


def with_checks(result: Posterior) -> Posterior:
    """The fit with every check's problems added to its sampler diagnostics.

    Design (collinear log N and log D), identification (E, alpha, beta barely constrained
    by the data; ungrouped parameters of laws that have them) and misfit (residuals far
    from the fitted noise). :func:`fit`, :func:`bayescale.fit_many` and :func:`bayescale.load`
    all call this, so every fit of the same draws reports the same problems.
    """
    problems = design_problems(result.data) + list(result.diagnostics.problems)
    problems += data_problems(result)
    problems += [str(c["problem"]) for c in result.checks.values() if c.get("problem")]
    diagnostics = dataclasses.replace(result.diagnostics, problems=problems)
    return dataclasses.replace(result, diagnostics=diagnostics)


def data_problems(result: Posterior) -> list[str]:
    """Identification and misfit problems of a fit's draws: about the data, not the sampler.

    Identification: E, alpha, beta (ungrouped parameters of laws that have them) barely
    constrained by the data; misfit: residuals far from the fitted noise. Empty when a
    draw is not finite (the sampler's own diagnostics report that).
    """
    if not all(np.all(np.isfinite(v)) for v in result.samples.values()):
        return []
    problems = []
    if result.prior_log_sd:
        checked = {
            k: v
            for k, v in result.prior_log_sd.items()
            if k in result.samples and result.samples[k].ndim == 2
        }
        problems += identification_problems(result.samples, checked)
    return problems + misfit_problems(_misfit_ratio(result))


def group_index(data: ScalingData) -> tuple[tuple[str, ...] | None, np.ndarray | None]:
    """Sorted group labels and each run's position in them; None for fewer than 2 groups."""
    if data.group is None:
        return None, None
    names, index = np.unique(np.asarray(data.group).astype(str), return_inverse=True)
    if len(names) < 2:  # one group is ungrouped data
        return None, None
    return tuple(str(g) for g in names), index.astype(np.int32)
