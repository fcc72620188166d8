r"""The one NumPyro model: any :class:`~bayescale.laws.Law`, optionally pooled over groups.

.. math::

    \log L_i \sim \mathcal{F}\bigl(\texttt{law.log\_loss}(\theta_{g(i)}, x_i),\ \sigma\bigr)

with :math:`\mathcal{F}` Gaussian, Student-t or normalised Huber (Besiroglu et al. 2024;
:mod:`bayescale.inference.likelihoods`). Every fit — single, pooled, batched by
:func:`bayescale.fit_many`, calibration, prior predictive — samples this model through a
:class:`ModelSpec`, so a law given to any of them is the law sampled.

Parameterisation. With priors on log A and α, the posterior of (log A, α) is a narrow
ridge: a change of α moves log A by α's change times log N (≈ 20 for N ≈ 1e9). Each
:class:`~bayescale.laws.Shear` of the law is sampled at the data's centre instead (for a
pooled fit: each group's centre), :math:`a_c = \log A - \alpha\,\overline{\log N}`, a shear
with unit Jacobian, so the prior on (log A, α) is unchanged while the ridge becomes round.
On Chinchilla-like data this cut NUTS from ~400 to ~60 leapfrog steps per draw. An ungrouped
fit of a law with an ``offset`` (Chinchilla's E) goes one step further and samples the level,
slopes and offset share at the centre (:mod:`bayescale.inference.anchor`), which also
straightens the curved ridge between E and the exponents.

Pooling (data with a ``group`` column). The law's ``group_params`` (for Chinchilla E, A, B)
and sheared coefficients get an independent value per group. The rest (exponents, decay
constants) follow ``pooling``:

- ``"partial"`` (default): per-group values drawn from a population on the log scale (for
  positive parameters), :math:`\log\theta_g \sim N(\mu, \tau)`, with :math:`\mu` ~ the parameter's
  prior in log space (so the default prior describes the population median) and :math:`\tau` ~
  ``Gamma(2, 20)`` (:data:`bayescale.inference.priors.TAU_PRIOR_RATE`); reported as ``<p>_pop`` =
  e^μ and ``tau_<p>``. Each group is parameterised partially centred, with weight n_g/(n_g + 60)
  for a group of n_g runs (:func:`centering_of`), which measured free of divergences where fully
  centred and fully non-centred forms were not;
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

from bayescale.choices import POOLINGS
from bayescale.inference.anchor import ANCHOR_SITE, anchor_forward, anchor_inverse, uses_anchor
from bayescale.inference.likelihoods import residual_distribution
from bayescale.laws import Law

__all__ = [
    "CENTERING_RUNS",
    "POOLINGS",
    "ModelSpec",
    "centering_of",
    "initial_point",
    "initial_sites",
    "law_model",
    "log_space",
    "start_values",
]

#: Runs at which a group's exponents are half centred, half non-centred (see law_model).
CENTERING_RUNS = 60.0
#: Start of the residual scale and Student-t degrees of freedom: a typical residual s.d. of
#: log loss, moderately heavy tails; and of a group spread τ.
NOISE_START = {"sigma": 0.05, "nu": 10.0}
TAU_START = 0.1


def _center_of(x: Mapping[str, Any], center: Mapping[str, Any] | None) -> Mapping[str, Any]:
    """The covariates' centre: ``center`` when given, else the mean of each covariate."""
    return {k: jnp.mean(v) for k, v in x.items()} if center is None else center


def _anchor_centers(law: Law, center: Mapping[str, Any], dtype: Any) -> Any:
    """The centre of each shear's covariate, in shear order (anchored coordinates)."""
    return jnp.stack([jnp.asarray(center[s.covariate], dtype) for s in law.shears])


def _sample_anchored(
    law: Law, priors: Mapping[str, Any], center: Mapping[str, Any]
) -> dict[str, Any]:
    """The offset and its terms' parameters, sampled in anchored coordinates.

    A flat vector site plus the priors on the logs of the law's own parameters, to which it
    maps with a constant Jacobian (:mod:`bayescale.inference.anchor`): the same posterior,
    straighter for NUTS.
    """
    k = len(law.shears)
    u = numpyro.sample(
        ANCHOR_SITE, dist.ImproperUniform(dist.constraints.real_vector, (), (2 * k + 1,))
    )
    log_offset, log_coef, log_slope = anchor_forward(u, _anchor_centers(law, center, u.dtype))
    # densities of the logs: the map from u to them has a constant Jacobian
    log_prior = log_space(priors[law.offset]).log_prob(log_offset)
    theta = {law.offset: numpyro.deterministic(law.offset, jnp.exp(log_offset))}
    for j, s in enumerate(law.shears):
        log_prior += log_space(priors[s.coef]).log_prob(log_coef[j])
        log_prior += log_space(priors[s.slope]).log_prob(log_slope[j])
        theta[s.coef] = numpyro.deterministic(s.coef, jnp.exp(log_coef[j]))
        theta[s.slope] = numpyro.deterministic(s.slope, jnp.exp(log_slope[j]))
    numpyro.factor("anchor_prior", log_prior)
    return theta


def log_space(prior: dist.Distribution) -> dist.Distribution:
    """The distribution of log X for X ~ ``prior`` (exact Normal for a LogNormal)."""
    if isinstance(prior, dist.LogNormal):
        return dist.Normal(prior.loc, prior.scale)
    return dist.TransformedDistribution(prior, dist.transforms.ExpTransform().inv)


@dataclass(frozen=True)
class ModelSpec:
    """Static description of the model: hashable, so it keys the compiled sampler.

    Calling it runs :func:`law_model` with positional ``(x, log_loss, mask, center)`` —
    the per-data-set arrays, which :func:`bayescale.fit_many` gives each chain its own of —
    and keyword ``priors``, ``fixed``, ``group_index`` and ``centering``.

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

    def __call__(
        self, x: Any, log_loss: Any = None, mask: Any = None, center: Any = None, **kwargs: Any
    ) -> None:
        """Run the NumPyro model (priors, fixed values, groups in ``kwargs``)."""
        law_model(self, x, log_loss, mask, center, **kwargs)

    @property
    def grouped(self) -> tuple[str, ...]:
        """Law parameters that carry a group axis in this model."""
        if self.pooling is None:
            return ()
        law = self.law
        per_group = set(law.group_params) | {s.coef for s in law.shears}
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

    def kept_sites(self) -> tuple[str, ...]:
        """Every site a fit keeps: sampled law parameters, noise, population draws."""
        noise = ("sigma", "nu") if self.likelihood == "student_t" else ("sigma",)
        law = tuple(p for p in self.law.params if p not in self.fixed)
        return (*law, *noise, *self.hyper_sites())


def _sample_param(
    spec: ModelSpec,
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
    spec: ModelSpec,
    x: Mapping[str, Any],
    log_loss: Any = None,
    mask: Any = None,
    center: Mapping[str, Any] | None = None,
    *,
    priors: Mapping[str, dist.Distribution],
    fixed: Mapping[str, Any] | None = None,
    group_index: Any = None,
    centering: Any = None,
) -> None:
    """NumPyro model of ``spec.law`` on log loss.

    Parameters
    ----------
    spec : ModelSpec
        Law, likelihood, pooling and fixed parameters (static).
    x : mapping
        Covariates of shape (R,): ``log_N``, ``log_D``, ``log_<extra>``.
    log_loss : array of shape (R,), optional
        Observed log losses; ``None`` samples them (prior or posterior predictive).
    mask : array of bool, shape (R,), optional
        Runs that count; False marks padding (data sets of different sizes fitted in one
        batch by :func:`bayescale.fit_many`; give ``center`` from the unmasked runs).
    priors : mapping
        A prior per sampled site (law parameters, ``sigma``, ``nu``, ``tau_<p>``).
    center : mapping, optional
        Mean of each covariate (at least ``log_N`` and ``log_D``): scalars, or shape (G,)
        with one value per group in a pooled fit; default the means of ``x``. Keep it fixed
        when predicting at new points with sampled sheared sites.
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
    center = _center_of(x, center)
    # center["log_N"] has one entry per group in a pooled fit: its (static) shape is G
    n_groups = None if spec.pooling is None else int(np.shape(center["log_N"])[0])
    shear_of = {s.coef: s for s in law.shears}
    # a conditioned fit only: the prior predictive (log_loss None) draws from proper sites
    anchored = log_loss is not None and uses_anchor(law, spec.pooling, spec.fixed, priors)
    theta: dict[str, Any] = _sample_anchored(law, priors, center) if anchored else {}
    for p in law.params:
        if p in theta:
            continue
        if p in spec.fixed:
            theta[p] = jnp.asarray(fixed[p])
        elif p not in shear_of:
            theta[p] = _sample_param(spec, p, priors, n_groups, centering)
    for s in law.shears:
        if s.coef in spec.fixed or anchored:
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
    keep = True if mask is None else mask
    with numpyro.plate("runs", n_runs), handlers.mask(mask=keep):
        numpyro.sample(
            "log_loss",
            residual_distribution(spec.likelihood, pred, sigma, nu, spec.delta),
            obs=log_loss,
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
    spec: ModelSpec,
    args: tuple,
    kwargs: Mapping[str, Any],
    start: Mapping[str, Any],
) -> dict[str, Any]:
    """Values of every sampled site that put the law parameters at ``start``.

    Runs the model once with each site replaced by the value that maps to ``start``
    (the anchored site through :func:`~bayescale.inference.anchor.anchor_inverse`, sheared
    sites through their affine map, population sites at μ = log start, τ = 0.1, z = 0), so
    the sampler's starting point follows the model's own parameterisation.
    """
    law = spec.law
    shears = {s.site: s for s in law.shears}

    def provider(msg: dict) -> Any:
        if msg["type"] != "sample" or msg.get("is_observed"):
            return None
        name, d = msg["name"], msg["fn"]
        shape = tuple(d.batch_shape) + tuple(d.event_shape)
        if name == ANCHOR_SITE:
            x, center = args[0], args[3] if len(args) > 3 else None
            dtype = jnp.result_type(float)
            value = anchor_inverse(
                jnp.log(jnp.asarray(start[law.offset], dtype)),
                jnp.log(jnp.stack([jnp.asarray(start[s.coef], dtype) for s in law.shears])),
                jnp.log(jnp.stack([jnp.asarray(start[s.slope], dtype) for s in law.shears])),
                _anchor_centers(law, _center_of(x, center), dtype),
            )
        elif name in shears:
            affine = d.transforms[-1]
            value = affine.loc + affine.scale * jnp.log(start[shears[name].coef])
        elif name.startswith("tau_") and name not in start:
            value = TAU_START
        elif name.endswith("_z"):
            value = d.loc  # z = c·μ puts every group at the population value e^μ
        elif name.endswith("_mu"):
            p = name[: -len("_mu")]
            v = jnp.asarray(start[p])
            value = jnp.mean(jnp.log(v) if p in spec.law.positive else v)
        elif name in start:
            value = start[name]
        else:
            value = NOISE_START[name]
        return jnp.broadcast_to(jnp.asarray(value, jnp.result_type(float)), shape)

    tr = handlers.trace(handlers.substitute(spec, substitute_fn=provider)).get_trace(
        *args, **kwargs
    )
    return {
        k: v["value"]
        for k, v in tr.items()
        if v["type"] == "sample" and not v.get("is_observed", False)
    }


def _best_prior_draw(
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


def start_values(
    spec: ModelSpec,
    data: Any,
    priors: Mapping[str, Any],
    fixed: Mapping[str, float],
    seed: int,
    group_index: np.ndarray | None = None,
    n_groups: int | None = None,
) -> dict[str, Any]:
    """Where the chains start: law parameters (per group for grouped ones) and the noise.

    The law's own ``init(data)`` (a guess from the data's range) when it has one, else the
    best of 1,000 prior draws; the noise at :data:`NOISE_START`; fixed parameters at their
    values. :func:`initial_point` maps them to the model's sites.
    """
    law = spec.law

    def one(d: Any) -> dict[str, float]:
        if law.init is not None:
            return dict(law.init(d))
        return _best_prior_draw(law, priors, law.covariates_of(d), d.log_loss, seed)

    start: dict[str, Any] = one(data)
    if group_index is not None:
        # a loop over groups (a handful), not over draws: each group's own rough start
        per = [one(data.subset(group_index == g)) for g in range(int(n_groups or 0))]
        for p in spec.grouped:
            start[p] = np.array([s[p] for s in per])
    start = {k: v for k, v in start.items() if k in law.params and k not in fixed}
    start.update({k: v for k, v in NOISE_START.items() if k in priors})
    start.update({f"tau_{p}": TAU_START for p in spec.pooled})
    start = {k: np.asarray(v, dtype=np.float64) for k, v in start.items()}
    return {**start, **{k: np.float64(v) for k, v in fixed.items()}}


def initial_point(
    spec: ModelSpec,
    args: tuple,
    kwargs: Mapping[str, Any],
    start: Mapping[str, Any],
    key: Any,
) -> dict[str, Any]:
    """The sampled sites at ``start`` (from :func:`start_values`), a pure JAX function.

    A start value outside its prior's support (a user prior ``alpha ~ Uniform(2, 3)`` against the
    default 0.3, which left every chain stuck at NaN) is replaced by a point inside it: a standard
    normal draw mapped onto the support by its bijection (not a draw from the prior: Gamma's
    rejection sampler alone took 1–2 s to compile in a fresh process). Written with ``jnp.where``
    so it compiles with the rest of the start (:func:`bayescale.inference.sampler.chain_starts`):
    run eagerly, each of its small operations was compiled on its own in a fresh process (38 extra
    compiles, about a second).
    """
    priors = kwargs["priors"]
    start = dict(start)
    for i, name in enumerate(sorted(start)):
        prior = priors.get(name)
        if prior is None:
            continue
        value = jnp.asarray(start[name])
        # NumPyro's log densities do not check the support (Uniform's is flat everywhere)
        z = jax.random.normal(jax.random.fold_in(key, i), jnp.shape(value), value.dtype)
        inside = dist.biject_to(prior.support)(z)
        start[name] = jnp.where(prior.support.check(value), value, inside)
    return initial_sites(spec, args, kwargs, start)
