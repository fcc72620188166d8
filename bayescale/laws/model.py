r"""The NumPyro model of any :class:`~bayescale.laws.Law`, optionally pooled over groups.

.. math::

    \log L_i \sim \mathcal{F}\bigl(\texttt{law.log\_loss}(\theta_{g(i)}, x_i),\ \sigma\bigr)

with :math:`\mathcal{F}` Gaussian, Student-t or normalised Huber, as in
:mod:`bayescale.model` (whose Chinchilla-only model remains the default path of
:func:`bayescale.fit`; this one reproduces it for ``law="chinchilla"`` and adds the rest).

Parameterisation. Each :class:`~bayescale.laws.Shear` of the law is sampled at the data's
centre (for a pooled fit: each group's centre), which turns the ridge of a power law's
coefficient and exponent into a round posterior; other parameters are sampled from their
priors directly.

Pooling (data with a ``group`` column). The law's ``group_params`` (for Chinchilla E, A, B)
and sheared coefficients get an independent value per group. The rest (exponents, decay
constants) follow ``pooling``:

- ``"partial"`` (default): per-group values drawn from a population on the log scale (for
  positive parameters), :math:`\log\theta_g \sim N(\mu, \tau)`, with :math:`\mu` ~ the
  parameter's prior in log space (so the default prior describes the population median)
  and :math:`\tau` ~ ``Gamma(2, 20)`` (mean 0.1: exponents of different architectures or
  data mixtures differ by some per cent; see :data:`TAU_PRIOR_RATE`); reported as
  ``<p>_pop`` = e^μ and ``tau_<p>``. Each group is parameterised partially centred, with
  weight n_g/(n_g + 60) for a group of n_g runs (:func:`centering_of`), which measured free
  of divergences where fully centred and fully non-centred forms were not;
- ``"shared"``: one value for all groups;
- ``"none"``: independent per-group values, each with the full prior (no pooling).

The residual scale σ (and ν) is shared by all groups.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist
from numpyro import handlers

from bayescale.laws.base import Law
from bayescale.model import _likelihood, log_space

__all__ = [
    "CENTERING_RUNS",
    "POOLINGS",
    "TAU_PRIOR_RATE",
    "LawModelSpec",
    "fixed_params",
    "law_model",
    "resolve_law_priors",
]

POOLINGS = ("partial", "shared", "none")
#: Rate of the Gamma(2, rate) prior on the between-group spread τ of log exponents: mean
#: 0.1, 90% in [0.018, 0.24] (exponents of different groups differ by ~2–24%). A
#: zero-avoiding prior (Chung et al. 2013) rather than a half-normal: with a handful of groups
#: a half-normal let τ reach 0, where the posterior funnels and NUTS diverged (measured: 10–47
#: divergent transitions per fit; none with this prior). Groups that truly share exponents
#: should be fitted with ``pooling="shared"``.
TAU_PRIOR_RATE = 20.0
#: Runs at which a group's exponents are half centred, half non-centred (see law_model).
CENTERING_RUNS = 60.0


@dataclass(frozen=True)
class LawModelSpec:
    """Static description of a law model: hashable, so it keys the compiled sampler.

    Attributes
    ----------
    law : Law
        The scaling law.
    likelihood : str
        Residual distribution.
    delta : float
        Huber threshold.
    pooling : str or None
        None for ungrouped data, else one of :data:`POOLINGS`.
    fixed : tuple of str
        Law parameters held at given values (not sampled).
    """

    law: Law
    likelihood: str = "gaussian"
    delta: float = 1e-3
    pooling: str | None = None
    fixed: tuple[str, ...] = ()

    def __call__(self, x: Any, log_loss: Any = None, **kwargs: Any) -> None:
        """Run the NumPyro model (priors, center, fixed values, groups in ``kwargs``)."""
        law_model(self, x, log_loss, **kwargs)

    @property
    def grouped(self) -> tuple[str, ...]:
        """Law parameters that carry a group axis in this model."""
        if self.pooling is None:
            return ()
        law = self.law
        sheared = {s.coef for s in law.shears}
        per_group = set(law.group_params) | sheared
        if self.pooling in ("partial", "none"):
            per_group |= set(law.params)
        return tuple(p for p in law.params if p in per_group and p not in self.fixed)

    @property
    def pooled(self) -> tuple[str, ...]:
        """Parameters drawn from a population (``pooling="partial"``)."""
        if self.pooling != "partial":
            return ()
        law = self.law
        special = set(law.group_params) | {s.coef for s in law.shears} | set(self.fixed)
        return tuple(p for p in law.params if p not in special)

    def hyper_sites(self) -> tuple[str, ...]:
        """Names of the population-level draws kept in the posterior."""
        out: list[str] = []
        for p in self.pooled:
            out += [f"{p}_pop", f"tau_{p}"]
        return tuple(out)


def default_hyperpriors(spec: LawModelSpec) -> dict[str, dist.Distribution]:
    """``tau_<p>``: Gamma(2, :data:`TAU_PRIOR_RATE`) for each partially pooled parameter."""
    return {f"tau_{p}": dist.Gamma(2.0, TAU_PRIOR_RATE) for p in spec.pooled}


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool)


def fixed_params(law: Law, priors: Mapping[str, Any] | None) -> dict[str, float]:
    """The law parameters given a number instead of a prior: held fixed in the fit."""
    return {k: float(v) for k, v in (priors or {}).items() if k in law.params and _is_number(v)}


def resolve_law_priors(
    spec: LawModelSpec, priors: Mapping[str, Any] | None
) -> tuple[dict[str, dist.Distribution], dict[str, float]]:
    """Merge user priors over the law's defaults; split off fixed values; check them.

    Parameters
    ----------
    spec : LawModelSpec
        The model (its law, likelihood, pooling and fixed parameters).
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
    from bayescale.priors import _positive_support, default_priors

    law = spec.law
    noise = default_priors(spec.likelihood)
    resolved: dict[str, dist.Distribution] = {
        p: d for p, d in law.priors().items() if p in law.params and p not in spec.fixed
    }
    resolved["sigma"] = noise["sigma"]
    if "nu" in noise:
        resolved["nu"] = noise["nu"]
    resolved.update(default_hyperpriors(spec))
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
        if name in positive and not _positive_support(prior):
            raise ValueError(
                f"prior for {name!r} must have support inside (0, inf) "
                f"(e.g. LogNormal, HalfNormal, Gamma, Uniform(lo>=0, hi)); got {prior.support}"
            )
        resolved[name] = prior
    return resolved, fixed


def _sample_param(
    spec: LawModelSpec,
    name: str,
    priors: Mapping[str, Any],
    n_groups: int | None,
    centering: Any,
) -> Any:
    prior = priors[name]
    grouped = name in spec.grouped
    if not grouped:
        return numpyro.sample(name, prior)
    if name in spec.pooled:
        positive = name in spec.law.positive
        mu = numpyro.sample(f"{name}_mu", log_space(prior) if positive else prior)
        tau = numpyro.sample(f"tau_{name}", priors[f"tau_{name}"])
        # non-centred: the between-group spread can shrink to 0 without a funnel
        # partially centred (Papaspiliopoulos et al. 2007): z ~ N(c·μ, τ^c) and
        # log θ_g = μ + τ^(1−c)·(z − c·μ) ~ N(μ, τ) for any c in [0, 1]. Groups with many runs
        # pin their exponent down and mix best centred (c → 1); sparse groups non-centred.
        c = centering
        z = numpyro.sample(f"{name}_z", dist.Normal(c * mu, tau**c))
        value = mu + tau ** (1.0 - c) * (z - c * mu)
        numpyro.deterministic(f"{name}_pop", jnp.exp(mu) if positive else mu)
        return numpyro.deterministic(name, jnp.exp(value) if positive else value)
    return numpyro.sample(name, prior.expand((n_groups,)))


def law_model(
    spec: LawModelSpec,
    x: Mapping[str, Any],
    log_loss: Any = None,
    *,
    priors: Mapping[str, dist.Distribution],
    center: Mapping[str, Any],
    fixed: Mapping[str, Any] | None = None,
    group_index: Any = None,
    centering: Any = None,
) -> None:
    """NumPyro model of ``spec.law`` on log loss.

    Parameters
    ----------
    spec : LawModelSpec
        Law, likelihood, pooling and fixed parameters (static).
    x : mapping
        Covariates of shape (R,): ``log_N``, ``log_D``, ``log_<extra>``.
    log_loss : array of shape (R,), optional
        Observed log losses; ``None`` samples them.
    priors : mapping
        A prior per sampled site (law parameters, ``sigma``, ``nu``, ``tau_<p>``).
    center : mapping
        Mean of each covariate (at least ``log_N`` and ``log_D``): scalars, or shape (G,)
        with one value per group in a pooled fit.
    fixed : mapping, optional
        Values of the parameters in ``spec.fixed``.
    group_index : array of int, shape (R,), optional
        Group of each run (pooled fits).
    centering : array of shape (G,), optional
        Centring weight c_g in [0, 1] of each group's pooled parameters, default
        n_g / (n_g + :data:`CENTERING_RUNS`) for a group of n_g runs (:func:`centering_of`).
    """
    law = spec.law
    fixed = dict(fixed or {})
    # center["log_N"] has one entry per group in a pooled fit: its (static) shape is G
    n_groups = None if spec.pooling is None else int(np.shape(center["log_N"])[0])
    shear_of = {s.coef: s for s in law.shears}
    theta: dict[str, Any] = {}
    for p in law.params:
        if p in spec.fixed:
            theta[p] = jnp.asarray(fixed[p])
        elif p not in shear_of:
            theta[p] = _sample_param(spec, p, priors, n_groups, centering)
    for s in law.shears:
        if s.coef in spec.fixed:
            continue
        slope = theta[s.slope]
        m = jnp.asarray(center[s.covariate])
        shape = jnp.broadcast_shapes(jnp.shape(slope), jnp.shape(m))
        base = log_space(priors[s.coef])
        if shape:
            base = base.expand(shape)
        scale = slope if s.scaled else jnp.ones_like(slope)
        # site = scale·log(coef) − slope·m: the coefficient's log term at the centre
        affine = dist.transforms.AffineTransform(-slope * m, scale)
        site = numpyro.sample(s.site, dist.TransformedDistribution(base, affine))
        log_coef = site / slope + m if s.scaled else site + slope * m
        theta[s.coef] = numpyro.deterministic(s.coef, jnp.exp(log_coef))
    sigma = numpyro.sample("sigma", priors["sigma"])
    nu = numpyro.sample("nu", priors["nu"]) if spec.likelihood == "student_t" else None
    grouped = spec.grouped
    per_run = {
        k: (v[group_index] if k in grouped and group_index is not None else v)
        for k, v in theta.items()
    }
    pred = law.log_loss(per_run, x)
    n_runs = jnp.shape(x["log_N"])[0]
    with numpyro.plate("runs", n_runs):
        numpyro.sample(
            "log_loss", _likelihood(spec.likelihood, pred, sigma, nu, spec.delta), obs=log_loss
        )


def centering_of(counts: Any) -> np.ndarray:
    """Centring weight n/(n + CENTERING_RUNS) of groups with ``counts`` runs.

    Measured on Chinchilla-like designs (two groups of 80 runs and one of 5): fully
    non-centred 30–47 divergences per fit, fully centred 65–157, centred by group size
    (n/(n+20)) 10–28, n/(n+60) 0–4 (and 0 with the Gamma prior on τ).
    """
    counts = np.asarray(counts, dtype=np.float64)
    return counts / (counts + CENTERING_RUNS)


def initial_sites(
    spec: LawModelSpec,
    args: tuple,
    kwargs: Mapping[str, Any],
    start: Mapping[str, Any],
) -> dict[str, Any]:
    """Values of every sampled site that put the law parameters at ``start``.

    Runs the model once with each site replaced by the value that maps to ``start``
    (sheared sites through their affine map, population sites at μ = log start, τ = 0.1,
    z = 0), so the sampler's starting point follows the model's own parameterisation.
    """
    shears = {s.site: s for s in spec.law.shears}

    def provider(msg: dict) -> Any:
        if msg["type"] != "sample" or msg.get("is_observed"):
            return None
        name, d = msg["name"], msg["fn"]
        shape = tuple(d.batch_shape) + tuple(d.event_shape)
        if name in shears:
            affine = d.transforms[-1]
            value = affine.loc + affine.scale * jnp.log(start[shears[name].coef])
        elif name.startswith("tau_"):
            value = 0.1
        elif name.endswith("_z"):
            value = d.loc  # z = c·μ puts every group at the population value e^μ
        elif name.endswith("_mu"):
            p = name[: -len("_mu")]
            v = jnp.asarray(start[p])
            value = jnp.mean(jnp.log(v) if p in spec.law.positive else v)
        elif name in start:
            value = start[name]
        else:  # the noise: a typical residual s.d. of log loss, moderately heavy tails
            value = {"sigma": 0.05, "nu": 10.0}[name]
        return jnp.broadcast_to(jnp.asarray(value, jnp.result_type(float)), shape)

    tr = handlers.trace(handlers.substitute(spec, substitute_fn=provider)).get_trace(
        *args, **kwargs
    )
    return {
        k: v["value"]
        for k, v in tr.items()
        if v["type"] == "sample" and not v.get("is_observed", False)
    }


def best_prior_draw(
    law: Law, priors: Mapping[str, Any], x: Mapping[str, Any], log_loss: Any, seed: int
) -> dict[str, float]:
    """The best of 1,000 prior draws by squared log-loss error: a start for user laws."""
    key = jax.random.key(seed)
    draws = {}
    for i, p in enumerate(law.params):
        draws[p] = priors[p].sample(jax.random.fold_in(key, i), (1000,))
    pred = law.predict_log_loss(draws, x)
    err = jnp.nanmean((pred - jnp.asarray(log_loss)) ** 2, axis=-1)
    err = jnp.where(jnp.isfinite(err), err, jnp.inf)
    best = int(jnp.argmin(err))
    return {p: float(v[best]) for p, v in draws.items()}
