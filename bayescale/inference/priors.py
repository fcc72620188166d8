"""Priors, resolved in one place: the law's defaults, the noise, and user overrides.

The defaults are weakly informative for language-model cross-entropy in nats per token
(the setting of Hoffmann et al. 2022 and most published scaling studies). Each is wide
enough that published fits sit well inside its central 90% and 240 runs overwhelm it, and
narrow enough to keep the sampler away from regions no training run can reach (negative or
huge exponents, E of 1e-6 or 1e3). Losses in other units (bits, perplexity-derived,
accuracy-like) should come with their own priors. Each law carries the defaults of its own
parameters (``law.priors()``, with ``law.prior_notes``); those of the Chinchilla law are:

============  ==============================  ========================================
parameter     default                         why
============  ==============================  ========================================
E             LogNormal(0.5, 0.75)            irreducible loss: median 1.65 nats,
                                              90% in [0.48, 5.7]; published 1.69–1.87
A, B          LogNormal(7, 3)                 log A, log B: 90% in [2.1, 11.9];
                                              published log A 6.0–6.3, log B 6.0–7.6
alpha, beta   LogNormal(log 0.35, 0.6)        exponents: 90% in [0.13, 0.94];
                                              published 0.28–0.37, positive by nature
sigma         HalfNormal(0.1)                 residual s.d. of log loss: digitised
                                              curves show 0.01–0.05
nu            Gamma(2, 0.1)                   Student-t degrees of freedom (Juárez and
                                              Steel 2010): mean 20, allows heavy tails
tau_<p>       Gamma(2, 20)                    between-group spread of a partially pooled
                                              log parameter (see :mod:`bayescale.inference.model`)
============  ==============================  ========================================

:func:`resolve_priors` is the one resolver every fit uses (single, pooled, batched,
calibration, prior predictive): defaults of the law and the noise, the user's overrides on
top, numbers split off as fixed parameters, and every prior checked where it enters.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jax
import numpy as np
import numpyro.distributions as dist

from bayescale.inference.likelihoods import check_likelihood
from bayescale.laws import CHINCHILLA, Law, get_law, has_positive_support

__all__ = [
    "PRIOR_NOTES",
    "TAU_PRIOR_RATE",
    "default_priors",
    "describe_priors",
    "fixed_params",
    "noise_priors",
    "prior_log_sd",
    "resolve_priors",
]

#: Rate of the Gamma(2, rate) prior on the between-group spread τ of log exponents: mean
#: 0.1, 90% in [0.018, 0.24] (exponents of different groups differ by ~2–24%). A
#: zero-avoiding prior (Chung et al. 2013) rather than a half-normal: with a handful of groups
#: a half-normal let τ reach 0, where the posterior funnels and NUTS diverged (measured: 10–47
#: divergent transitions per fit; none with this prior). Groups that truly share exponents
#: should be fitted with ``pooling="shared"``.
TAU_PRIOR_RATE = 20.0

#: One line per default of the Chinchilla law and the noise: what it says and why.
PRIOR_NOTES = {
    **CHINCHILLA.prior_notes,
    "sigma": "HalfNormal(0.1): residual s.d. of log loss; real curves show 0.01-0.05",
    "nu": "Gamma(2, 0.1): Student-t degrees of freedom (Juarez & Steel 2010), mean 20",
}

#: Parameters checked for identification by the data (where a law has them).
IDENTIFIED = ("E", "alpha", "beta")


def noise_priors(likelihood: str = "gaussian") -> dict[str, dist.Distribution]:
    """Fresh default priors of the residual scale ``sigma`` (and ``nu`` for Student-t)."""
    check_likelihood(likelihood)
    priors: dict[str, dist.Distribution] = {"sigma": dist.HalfNormal(0.1)}
    if likelihood == "student_t":
        priors["nu"] = dist.Gamma(2.0, 0.1)
    return priors


def default_priors(
    likelihood: str = "gaussian", law: str | Law = "chinchilla"
) -> dict[str, dist.Distribution]:
    """Return fresh default prior distributions of a law's parameters and the noise.

    Parameters
    ----------
    likelihood : {"gaussian", "student_t", "huber"}
        The residual distribution; "student_t" adds a prior on ``nu``.
    law : str or Law, default "chinchilla"
        Whose parameters.

    Returns
    -------
    dict of str to numpyro.distributions.Distribution
    """
    law = get_law(law)
    priors = {p: d for p, d in law.priors().items() if p in law.params}
    return {**priors, **noise_priors(likelihood)}


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool)


def fixed_params(law: Law, priors: Mapping[str, Any] | None) -> dict[str, float]:
    """The law parameters given a number instead of a prior: held fixed in the fit."""
    return {k: float(v) for k, v in (priors or {}).items() if k in law.params and _is_number(v)}


def resolve_priors(
    spec: Any, priors: Mapping[str, Any] | None
) -> tuple[dict[str, dist.Distribution], dict[str, float]]:
    """Merge user priors over the defaults; split off fixed values; check them.

    Parameters
    ----------
    spec : bayescale.inference.model.ModelSpec
        The model: its ``law``, ``likelihood``, ``fixed`` parameters and ``pooled`` ones.
    priors : mapping, optional
        ``{name: distribution or number}`` for law parameters, ``sigma``, ``nu``
        (Student-t) and ``tau_<p>`` (partially pooled parameters).

    Returns
    -------
    priors : dict
        A prior for every sampled site.
    fixed : dict
        Values of the fixed law parameters.

    Raises
    ------
    ValueError
        Unknown name; not a distribution (or a number for a law parameter); a non-scalar
        distribution; support not inside (0, ∞) where the parameter must be positive; a
        fixed value ≤ 0 for a positive parameter or not finite.
    """
    law = spec.law
    resolved: dict[str, dist.Distribution] = {
        p: d for p, d in law.priors().items() if p in law.params and p not in spec.fixed
    }
    resolved.update(noise_priors(spec.likelihood))
    resolved.update({f"tau_{p}": dist.Gamma(2.0, TAU_PRIOR_RATE) for p in spec.pooled})
    fixed: dict[str, float] = {}
    allowed = (*law.params, *(k for k in resolved if k not in law.params))
    positive = set(law.positive) | {"sigma", "nu"} | {k for k in resolved if k.startswith("tau_")}
    for name, prior in (priors or {}).items():
        if name not in allowed:
            hint = ""
            if name == "nu":
                hint = " (nu is only used by likelihood='student_t')"
            elif name.startswith("tau_"):
                hint = " (tau_<p> exists only for partially pooled parameters of grouped data)"
            raise ValueError(
                f"no parameter {name!r} to put a prior on for law {law.name!r}{hint}; "
                f"allowed: {', '.join(allowed)}"
            )
        if name in law.params and _is_number(prior):
            value = float(prior)
            if not np.isfinite(value) or (name in law.positive and value <= 0):
                raise ValueError(f"fixed value of {name!r} must be finite and > 0, got {prior}")
            fixed[name] = value
            continue
        if not isinstance(prior, dist.Distribution):
            raise ValueError(
                f"prior for {name!r} must be a numpyro distribution"
                + (" or a number (to fix it)" if name in law.params else "")
                + f", got {type(prior).__name__}"
            )
        if prior.batch_shape != () or prior.event_shape != ():
            raise ValueError(
                f"prior for {name!r} must be over scalars, got batch shape {prior.batch_shape} "
                f"and event shape {prior.event_shape}"
            )
        if name in positive and not has_positive_support(prior):
            raise ValueError(
                f"prior for {name!r} must have support inside (0, inf) "
                f"(e.g. LogNormal, HalfNormal, Gamma, Uniform(lo>=0, hi)); got {prior.support}"
            )
        resolved[name] = prior
    return resolved, fixed


def describe_priors(priors: Mapping[str, dist.Distribution]) -> dict[str, str]:
    """Readable one-line description of each prior, e.g. ``LogNormal(loc=0.5, scale=0.75)``."""
    out = {}
    for name, d in priors.items():
        params = []
        for key in getattr(d, "arg_constraints", {}):
            val = getattr(d, key, None)
            if val is None:
                continue
            try:
                params.append(f"{key}={float(val):.10g}")
            except (TypeError, ValueError):
                continue
        out[name] = f"{type(d).__name__}({', '.join(params)})"
    return out


def prior_log_sd(priors: Mapping[str, Any]) -> dict[str, float]:
    """Standard deviation of log(parameter) under the prior of E, alpha and beta (if any).

    Exact for LogNormal priors; otherwise estimated from 20,000 prior draws with a fixed
    key (so the same priors always give the same numbers). The identification check
    compares the posterior's spread with it.
    """
    out = {}
    for name in IDENTIFIED:
        prior = priors.get(name)
        if not isinstance(prior, dist.Distribution):
            continue
        if isinstance(prior, dist.LogNormal) and np.ndim(prior.scale) == 0:
            out[name] = float(prior.scale)
            continue
        with jax.enable_x64(True):
            x = np.asarray(prior.sample(jax.random.key(0), (20_000,)), dtype=np.float64)
        x = x[np.isfinite(x) & (x > 0)]
        out[name] = float(np.std(np.log(x))) if x.size > 1 else float("nan")
    return out
