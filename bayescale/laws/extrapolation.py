r"""Extrapolation uncertainty: the law's effective scale may drift beyond the fitted runs.

A law fitted on small runs is used far beyond them, where nothing pins it down. Fitted on
the runs below the top budget of public isoFLOP sweeps, the Chinchilla law's 90% intervals
held a median 0.79 of the held-out runs and its N_opt interval held the held-out optimum on
1 sweep of 7 (``benchmarks/EXTRAPOLATION.md``): the law's form, not its noise, is what is
uncertain out there. :func:`extrapolating` turns any law into the model bayescale ships:

.. math::

    L^{\text{ext}}(N, D) = L\bigl(N e^{\delta_N g},\, D e^{\delta_D g}\bigr), \qquad
    g = \sqrt{u}, \quad
    u = \max\bigl(0,\ \log(N D) - \max_{\text{runs}} \log(N_i D_i)\bigr),

    \delta_N = (\lambda - \tau)/2, \quad \delta_D = (\lambda + \tau)/2, \qquad
    \lambda \sim \mathcal N(\mu_\lambda, s_\lambda^2), \quad \tau \sim \mathcal N(0, s_\tau^2).

Beyond the largest fitted compute (``u`` nats of it) a run of N parameters trained on D
tokens behaves like one of :math:`N e^{\delta_N g}` and :math:`D e^{\delta_D g}` under the
fitted law. The *level* λ moves both together, which changes the loss at the optimum; the
*tilt* τ trades N against D, which moves the optimum (at the Chinchilla optimum the two
terms' log-derivatives balance, so to first order τ moves N_opt and λ the loss). The
shift grows as √u, like a random walk in log compute. Inside the data ``u = 0``, so the
fit, LOO and every in-range prediction are the law's own; the runs cannot inform λ and τ,
whose posterior is their prior, so a fit draws them independently of the law's parameters
instead of sampling them with NUTS. Their scales (:data:`SCALES`, times the fit's
``drift`` setting), the level's mean μ_λ (:data:`MEANS`) and the misfit below are
calibrated on 10 public sweeps as a hierarchical model across sweeps: each grid choice of
the four is weighed by the joint density of every sweep's held-out top-budget runs, and
the posterior's predictive, moment-matched to these normals, is what ships; validated
leaving each sweep (and each source) out of its own prior (``benchmarks/EXTRAPOLATION.md``).
The mean is not zero because the held-out errors are not centred: fitted below the top
budget, the law over-predicted the top budget's loss on 8 of 10 sweeps (by 0.3–1.2%), and
within a sweep the errors move together. μ_λ > 0 says a run beyond the data is expected to
do slightly better than the law extrapolated (its effective N and D grow by
e^{μ_λ√u/2}); the law's own prediction (λ = 0) sits about 1 sd below the level's mean. The
tilt's scale is the least pinned down: the sweeps' held-out runs weigh s_τ from 0.7 to 1.0
about equally, so its value leans on the calibration's grid (up to 1.2).

Because ``u`` depends on N·D only, it is constant along an isoFLOP line and the optimum stays
exact: with :math:`c = \log(C/k)`, :math:`\log N_{opt}^{\text{ext}}(c) = \log N_{opt}(c +
(\delta_N+\delta_D)g) - \delta_N g`, so a closed-form optimum stays closed-form, a numerical one
stays the one solver of :mod:`bayescale.laws.optimum`, and N_opt, D_opt, tokens per parameter, loss
and every decision widen with the same uncertainty. Extra covariates (the data-constrained law's
``U_D``) are passed through unchanged.

The drift moves the law as a whole; runs beyond the data also scatter more about it. At
the held-out top budgets of the public sweeps the runs near the optimum came out lower
and the extremes higher than the law (the observed isoFLOP curve is more curved), by
up to about the in-range noise, and a shared shift cannot place each run (with the wider
tilt, the calibration leaves less of it to this term: k ≈ 0.4). So a *new run*
beyond the data has residual scale

.. math::

    \sigma^{\text{ext}} = \sigma\,\sqrt{1 + k^2\,(1 - e^{-u/u_0})}, \qquad
    k = \text{drift} \times k_1,

(:data:`MISFIT` ``k_1`` calibrated on the same sweeps, :data:`ONSET` ``u_0``: the extra
scatter reaches 63% of its size 5% of compute beyond the largest run). It is
:attr:`Law.noise_scale`: it widens the posterior predictive of runs (``predict(...,
kind="new_run")``, backtests, the fit-time check, the planner's simulated outcomes) and
their log predictive density, not the law's mean loss, so N_opt and the decisions are the
drift's alone. Inside the data the factor is 1.

The wrapper is a :class:`~bayescale.laws.Law` (one per base law and scale, cached so that
compiled functions keyed on it are reused); its extra parameters are ``drift_level``,
``drift_tilt`` and the data's edge ``log_ND_edge`` (a constant that ``Posterior.theta``
computes from the fitted runs).
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
import numpy as np
import numpyro.distributions as dist

from bayescale.laws.base import Law

__all__ = [
    "DRIFT_PARAMS",
    "EDGE",
    "MEANS",
    "MISFIT",
    "ONSET",
    "SCALES",
    "base_law",
    "beyond",
    "data_edge",
    "drift_draws",
    "drift_values",
    "extrapolating",
    "is_extrapolating",
    "shifts",
]

Array = Any

#: The drift parameters: level λ and tilt τ of the shift of log N and log D per √nat of
#: compute beyond the data.
DRIFT_PARAMS = ("drift_level", "drift_tilt")
#: Prior sd of level and tilt at ``drift=1``: calibrated on 10 public sweeps and validated
#: leaving each out (``benchmarks/EXTRAPOLATION.md``).
SCALES = {"drift_level": 0.17, "drift_tilt": 0.86}
#: Prior means of level and tilt at ``drift=1``, calibrated with :data:`SCALES`: the law
#: fitted below a sweep's top budget over-predicted that budget's loss on 8 of 10 public
#: sweeps, so runs beyond the data are expected to do a little better than the law says.
MEANS = {"drift_level": 0.16, "drift_tilt": 0.0}
#: The extra scatter of new runs beyond the data, in units of the fitted sigma, at
#: ``drift=1``: calibrated with :data:`SCALES` (``benchmarks/EXTRAPOLATION.md``).
MISFIT = 0.42
#: Nats of compute beyond the data over which the extra scatter sets in (1 − e^{−u/u0}).
ONSET = 0.05
#: The data's largest log(N·D): where extrapolation starts.
EDGE = "log_ND_edge"

_WRAPPED: dict[tuple[Law, float, float], Law] = {}
_BASE: dict[Law, Law] = {}


def beyond(theta: Any, log_nd: Array) -> Array:
    """√(nats of compute beyond the fitted runs), ``√max(0, log(N·D) − edge)``, elementwise.

    Its derivative is taken as 0 at and inside the edge (``√u`` has none at 0), so
    gradients through an in-range point stay finite.
    """
    u = log_nd - theta[EDGE]
    out = u > 0
    return jnp.where(out, jnp.sqrt(jnp.where(out, u, 1.0)), 0.0)


def shifts(theta: Any) -> tuple[Array, Array]:
    """δ_N and δ_D, the shift of log N and log D per √nat, from level and tilt."""
    level, tilt = theta["drift_level"], theta["drift_tilt"]
    return 0.5 * (level - tilt), 0.5 * (level + tilt)


def data_edge(log_N: Array, log_D: Array) -> float:
    """The edge of a data set: its largest log N + log D."""
    return float(np.max(np.asarray(log_N) + np.asarray(log_D)))


def drift_values(z: np.ndarray, drift: float) -> dict[str, np.ndarray]:
    """Level and tilt from standard normals ``z`` (one row per parameter) at ``drift``.

    The prior's map, in one place: mean :data:`MEANS` plus ``drift`` × :data:`SCALES` × z.
    ``drift`` widens the spread, not the lean; ``drift=0`` is no drift at all (the law
    alone), so it gives zeros.
    """
    if drift == 0:
        return {p: np.zeros_like(z[i]) for i, p in enumerate(DRIFT_PARAMS)}
    return {p: MEANS[p] + drift * SCALES[p] * z[i] for i, p in enumerate(DRIFT_PARAMS)}


def drift_draws(shape: tuple[int, ...], drift: float, seed: int) -> dict[str, np.ndarray]:
    """Draws of level and tilt at scale ``drift`` (:func:`drift_values`).

    The runs do not inform them (their posterior is the prior, independent of the law's
    parameters), so a fit draws them exactly rather than sampling them; from their own
    stream of ``seed`` (same seed, same draws), as fixed standard normals mapped by the
    prior, so fits that differ only in ``drift`` share them up to scale about the mean.
    """
    rng = np.random.default_rng([seed, 0x6472696674])  # "drift"
    return drift_values(rng.standard_normal((len(DRIFT_PARAMS), *shape)), drift)


def is_extrapolating(law: Law) -> bool:
    """Whether ``law`` is a wrapper made by :func:`extrapolating`."""
    return law in _BASE


def base_law(law: Law) -> Law:
    """The fitted law under a wrapper (the law itself when it is not one)."""
    return _BASE.get(law, law)


def extrapolating(law: Law, drift: float = 1.0, *, misfit: float | None = None) -> Law:
    """``law`` with drift beyond the data at scale ``drift`` (1: the calibrated default).

    Parameters
    ----------
    law : Law
        The fitted law (a wrapper is unwrapped first).
    drift : float, default 1
        Multiplies the prior sds of level and tilt (:data:`SCALES`) and the extra scatter
        of new runs (:data:`MISFIT`); > 0. The level's mean (:data:`MEANS`) stays: a wider
        drift is less sure of the lean, not more.
    misfit : float, optional
        The extra scatter ``k`` itself (default ``drift`` × :data:`MISFIT`); ≥ 0. For
        calibrating it: a fit's settings record ``drift`` only, so a saved fit loads with
        the default.

    Returns
    -------
    Law
        The same object for the same ``(law, drift, misfit)``.
    """
    law = base_law(law)
    sd = float(drift)
    if not np.isfinite(sd) or sd <= 0:
        raise ValueError(f"drift must be finite and > 0, got {drift}")
    k = sd * MISFIT if misfit is None else float(misfit)
    if not np.isfinite(k) or k < 0:
        raise ValueError(f"misfit must be finite and >= 0, got {misfit}")
    key = (law, sd, k)
    if key not in _WRAPPED:
        wrapper = _wrap(law, sd, k)
        _WRAPPED[key] = wrapper
        _BASE[wrapper] = law
    return _WRAPPED[key]


def _wrap(law: Law, sd: float, k: float) -> Law:
    def log_loss(theta: Any, x: Any) -> Array:
        g = beyond(theta, x["log_N"] + x["log_D"])
        d_n, d_d = shifts(theta)
        shifted = dict(x)
        shifted["log_N"] = x["log_N"] + d_n * g
        shifted["log_D"] = x["log_D"] + d_d * g
        return law.log_loss(theta, shifted)

    log_n_opt = None
    if law.log_n_opt is not None:
        base_opt = law.log_n_opt

        def log_n_opt(theta: Any, log_c: Array) -> Array:
            g = beyond(theta, log_c)
            d_n, d_d = shifts(theta)
            return base_opt(theta, log_c + (d_n + d_d) * g) - d_n * g

    noise_scale = None
    if k > 0:

        def noise_scale(theta: Any, x: Any) -> Array:
            u = jnp.maximum(x["log_N"] + x["log_D"] - theta[EDGE], 0.0)
            factor = jnp.sqrt(1.0 + k * k * -jnp.expm1(-u / ONSET))
            return factor * law.residual_scale(theta, x)

    def priors() -> dict[str, Any]:
        drift = {p: dist.Normal(MEANS[p], sd * SCALES[p]) for p in DRIFT_PARAMS}
        return {**law.priors(), **drift}

    what = {"drift_level": "log N and log D together", "drift_tilt": "log D against log N"}
    notes = {
        p: f"Normal({MEANS[p]:g}, {sd * SCALES[p]:g}): shifts {what[p]} per √nat of "
        "compute beyond the data"
        for p in DRIFT_PARAMS
    }
    return Law(
        name=law.name,
        params=(*law.params, *DRIFT_PARAMS, EDGE),
        log_loss=log_loss,
        priors=priors,
        covariates=law.covariates,
        group_params=law.group_params,
        shears=law.shears,
        positive=law.positive,
        log_n_opt=log_n_opt,
        exponents=law.exponents,
        init=law.init,
        noise_scale=noise_scale,
        prior_notes={**law.prior_notes, **notes},
        description=law.description,
        reference=law.reference,
    )
