"""Default priors for the Chinchilla law, resolved in one place, and user overrides.

The defaults are weakly informative for language-model cross-entropy in nats per token
(the setting of Hoffmann et al. 2022 and most published scaling studies). Each is wide
enough that published fits sit well inside its central 90% and 240 runs overwhelm it, and
narrow enough to keep the sampler away from regions no training run can reach (negative or
huge exponents, E of 1e-6 or 1e3). Losses in other units (bits, perplexity-derived,
accuracy-like) should come with their own priors.

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
============  ==============================  ========================================
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpyro.distributions as dist

from bayescale.law import LIKELIHOODS

__all__ = ["PRIOR_NOTES", "PRIOR_SITES", "default_priors", "describe_priors", "resolve_priors"]

#: Parameters that take a prior, for every likelihood ("nu" only for Student-t).
PRIOR_SITES = ("E", "A", "B", "alpha", "beta", "sigma", "nu")

#: One line per default: what it says and why.
PRIOR_NOTES = {
    "E": "LogNormal(0.5, 0.75): irreducible loss, median 1.65 nats, 90% in [0.48, 5.7]",
    "A": "LogNormal(7, 3): log A 90% in [2.1, 11.9]; published log A 6.0-6.3",
    "B": "LogNormal(7, 3): log B 90% in [2.1, 11.9]; published log B 6.0-7.6",
    "alpha": "LogNormal(log 0.35, 0.6): 90% in [0.13, 0.94]; published 0.28-0.37",
    "beta": "LogNormal(log 0.35, 0.6): 90% in [0.13, 0.94]; published 0.28-0.37",
    "sigma": "HalfNormal(0.1): residual s.d. of log loss; real curves show 0.01-0.05",
    "nu": "Gamma(2, 0.1): Student-t degrees of freedom (Juarez & Steel 2010), mean 20",
}


def default_priors(likelihood: str = "gaussian") -> dict[str, dist.Distribution]:
    """Return fresh default prior distributions for ``likelihood``.

    Parameters
    ----------
    likelihood : {"gaussian", "student_t", "huber"}
        The residual distribution; "student_t" adds a prior on ``nu``.

    Returns
    -------
    dict of str to numpyro.distributions.Distribution
    """
    _check_likelihood(likelihood)
    priors: dict[str, dist.Distribution] = {
        "E": dist.LogNormal(0.5, 0.75),
        "A": dist.LogNormal(7.0, 3.0),
        "B": dist.LogNormal(7.0, 3.0),
        "alpha": dist.LogNormal(math.log(0.35), 0.6),
        "beta": dist.LogNormal(math.log(0.35), 0.6),
        "sigma": dist.HalfNormal(0.1),
    }
    if likelihood == "student_t":
        priors["nu"] = dist.Gamma(2.0, 0.1)
    return priors


def _check_likelihood(likelihood: str) -> None:
    if likelihood not in LIKELIHOODS:
        raise ValueError(
            f"unknown likelihood {likelihood!r}; choose one of {', '.join(LIKELIHOODS)}"
        )


def _positive_support(d: dist.Distribution) -> bool:
    support = d.support
    lower = getattr(support, "lower_bound", None)
    if lower is None:
        return False
    try:
        return float(lower) >= 0.0
    except TypeError:  # array-valued bound
        return False


def resolve_priors(
    priors: Mapping[str, dist.Distribution] | None, likelihood: str = "gaussian"
) -> dict[str, dist.Distribution]:
    """Merge user priors over the defaults and check them.

    Parameters
    ----------
    priors : mapping, optional
        ``{"E" | "A" | "B" | "alpha" | "beta" | "sigma" | "nu": distribution}``; any NumPyro
        distribution over scalars with support inside (0, ∞).
    likelihood : str
        The residual distribution the priors are for.

    Returns
    -------
    dict
        A complete prior for every site the model samples.

    Raises
    ------
    ValueError
        Unknown parameter name, a value that is not a NumPyro distribution, a non-scalar
        distribution, or a support that admits values ≤ 0 (or is unknown).
    """
    resolved = default_priors(likelihood)
    allowed = tuple(resolved)
    for name, prior in (priors or {}).items():
        if name not in allowed:
            hint = " (nu is only used by likelihood='student_t')" if name == "nu" else ""
            raise ValueError(
                f"no parameter {name!r} to put a prior on{hint}; allowed: {', '.join(allowed)}"
            )
        if not isinstance(prior, dist.Distribution):
            raise ValueError(
                f"prior for {name!r} must be a numpyro distribution, got {type(prior).__name__}"
            )
        if prior.batch_shape != () or prior.event_shape != ():
            raise ValueError(
                f"prior for {name!r} must be over scalars, got batch shape {prior.batch_shape} "
                f"and event shape {prior.event_shape}"
            )
        if not _positive_support(prior):
            raise ValueError(
                f"prior for {name!r} must have support inside (0, inf) "
                f"(e.g. LogNormal, HalfNormal, Gamma, Uniform(lo>=0, hi)); got {prior.support}"
            )
        resolved[name] = prior
    return resolved


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
