r"""The loss kernel: the Chinchilla law and per-run objectives as pure, broadcasting functions.

Everything that evaluates the law — the NumPyro model, optimisers, posterior predictions,
allocation — calls these functions, so there is one implementation.

Shapes. Functions named ``*_elementwise`` follow plain NumPy broadcasting. The others take
parameters with a batch shape ``S`` (posterior draws, optimiser starts, bootstrap
replicas; ``()`` for a single set) and per-run data of shape ``(R,)``, and return ``S + (R,)``:

>>> import numpy as np
>>> from bayescale import law
>>> p = law.ChinchillaParams(E=np.array([1.69, 1.82]), A=406.4, B=410.7, alpha=0.34, beta=0.28)
>>> law.predict_loss(p, np.log([1e9, 7e10]), np.log([2e10, 1.4e12])).shape
(2, 2)

Notation (Hoffmann et al. 2022): :math:`L(N, D) = E + A/N^\alpha + B/D^\beta` with
:math:`a = \log A`, :math:`b = \log B`; in log space

.. math:: \log L = \log\bigl(E + e^{a - \alpha\log N} + e^{b - \beta\log D}\bigr).

The direct form (two exponentials and a logarithm per element) is used rather than a
stacked log-sum-exp: it is exact in float64 for any realistic parameter range, and
measured several times faster because nothing is materialised beyond the output.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import jax.numpy as jnp
from jax.scipy.special import gammaln

__all__ = [
    "LIKELIHOODS",
    "ChinchillaParams",
    "gaussian_loglik",
    "huber_loglik",
    "huber_loss",
    "huber_variance",
    "log_loss_elementwise",
    "predict_log_loss",
    "predict_loss",
    "run_loglik",
    "student_t_loglik",
]

Array = Any

#: Likelihoods for log-loss residuals, by name.
LIKELIHOODS = ("gaussian", "student_t", "huber")


class ChinchillaParams(NamedTuple):
    """Parameters of L(N, D) = E + A/N^alpha + B/D^beta, in the paper's symbols.

    Each field is a scalar or an array with the batch shape ``S`` shared by all fields.
    """

    E: Array
    A: Array
    B: Array
    alpha: Array
    beta: Array

    @classmethod
    def from_mapping(cls, values: Any) -> ChinchillaParams:
        """Take E, A, B, alpha, beta from any mapping (dict of draws, DataFrame row...)."""
        return cls(*(values[k] for k in cls._fields))


def _trail(x: Array) -> Array:
    """Append a run axis so a parameter batch broadcasts against per-run data."""
    return jnp.asarray(x)[..., None]


def log_loss_elementwise(
    E: Array, a: Array, b: Array, alpha: Array, beta: Array, log_N: Array, log_D: Array
) -> Array:
    r"""Log L = log(E + exp(a − α·log N) + exp(b − β·log D)), plain broadcasting.

    Parameters
    ----------
    E : array
        Irreducible loss (natural scale, > 0).
    a, b : array
        log A and log B.
    alpha, beta : array
        Exponents of N and D.
    log_N, log_D : array
        Natural logs of parameters and tokens.

    Returns
    -------
    array
        Predicted log loss, the broadcast shape of the inputs.
    """
    return jnp.log(E + jnp.exp(a - alpha * log_N) + jnp.exp(b - beta * log_D))


def predict_log_loss(params: ChinchillaParams, log_N: Array, log_D: Array) -> Array:
    """Predicted log loss for every parameter set × run: shape ``S + (R,)``.

    Parameters
    ----------
    params : ChinchillaParams
        Fields of batch shape ``S`` (natural-scale E, A, B).
    log_N, log_D : array of shape (R,)
        Natural logs of N and D of each run.

    Returns
    -------
    array of shape ``S + (R,)``
    """
    E, A, B, alpha, beta = (_trail(x) for x in params)
    return log_loss_elementwise(E, jnp.log(A), jnp.log(B), alpha, beta, log_N, log_D)


def predict_loss(params: ChinchillaParams, log_N: Array, log_D: Array) -> Array:
    """Predicted loss ``exp(predict_log_loss(...))``, shape ``S + (R,)``."""
    return jnp.exp(predict_log_loss(params, log_N, log_D))


# ---------------------------------------------------------------------------- objectives
_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)


def gaussian_loglik(resid: Array, sigma: Array) -> Array:
    """Normal log density of residuals with standard deviation ``sigma`` (elementwise)."""
    z = resid / sigma
    return -0.5 * z * z - jnp.log(sigma) - _LOG_SQRT_2PI


def student_t_loglik(resid: Array, sigma: Array, nu: Array) -> Array:
    """Student-t log density of residuals with scale ``sigma`` and ``nu`` degrees of freedom."""
    z = resid / sigma
    return (
        gammaln(0.5 * (nu + 1.0))
        - gammaln(0.5 * nu)
        - 0.5 * jnp.log(nu * math.pi)
        - jnp.log(sigma)
        - 0.5 * (nu + 1.0) * jnp.log1p(z * z / nu)
    )


def huber_loss(resid: Array, delta: float = 1e-3) -> Array:
    r"""Hoffmann et al.'s Huber loss of a residual: r²/2 if |r| ≤ δ, else δ(|r| − δ/2)."""
    absr = jnp.abs(resid)
    return jnp.where(absr <= delta, 0.5 * resid * resid, delta * (absr - 0.5 * delta))


def _huber_log_norm(delta: float) -> float:
    # Z(δ) = √(2π)(2Φ(δ) − 1) + 2 exp(−δ²/2)/δ, the integral of exp(−huber(x)) over the line.
    return math.log(
        math.sqrt(2.0 * math.pi) * math.erf(delta / math.sqrt(2.0))
        + 2.0 * math.exp(-0.5 * delta * delta) / delta
    )


def huber_variance(delta: float) -> float:
    r"""Variance of the unit-scale normalised Huber density (δ → 0: Laplace 2/δ²; δ → ∞: 1).

    .. math:: V(δ) = \frac{\sqrt{2π}(2Φ(δ)-1) + 4e^{-δ^2/2}(1/δ + 1/δ^3)}{Z(δ)}
    """
    core = math.sqrt(2.0 * math.pi) * math.erf(delta / math.sqrt(2.0))
    tails = 4.0 * math.exp(-0.5 * delta * delta) * (1.0 / delta + 1.0 / delta**3)
    return (core + tails) / math.exp(_huber_log_norm(delta))


def huber_loglik(resid: Array, scale: Array, delta: float = 1e-3) -> Array:
    r"""Log density of the normalised Huber distribution (Besiroglu et al. 2024).

    :math:`\log p(r) = -\mathrm{huber}_δ(r/s) - \log Z(δ) - \log s`, with ``scale`` s.
    Its standard deviation is :math:`s\sqrt{V(δ)}` (:func:`huber_variance`).
    """
    return -huber_loss(resid / scale, delta) - _huber_log_norm(delta) - jnp.log(scale)


def run_loglik(
    likelihood: str,
    resid: Array,
    sigma: Array,
    *,
    nu: Array | None = None,
    delta: float = 1e-3,
) -> Array:
    """Per-run log-likelihood of log-loss residuals, with ``sigma`` the residual s.d.

    Parameters
    ----------
    likelihood : {"gaussian", "student_t", "huber"}
        Residual distribution.
    resid : array
        Observed minus predicted log loss.
    sigma : array
        Residual scale: the standard deviation for "gaussian" and "huber" (the Huber scale
        is sigma / sqrt(V(δ)), so sigma keeps one meaning), the scale for "student_t".
    nu : array, optional
        Degrees of freedom ("student_t" only).
    delta : float, default 1e-3
        Huber threshold in standardised units, as in Besiroglu et al. 2024.

    Returns
    -------
    array
        Elementwise log density, the broadcast shape of the inputs.
    """
    if likelihood == "gaussian":
        return gaussian_loglik(resid, sigma)
    if likelihood == "student_t":
        if nu is None:
            raise ValueError("likelihood 'student_t' needs nu")
        return student_t_loglik(resid, sigma, nu)
    if likelihood == "huber":
        return huber_loglik(resid, sigma / math.sqrt(huber_variance(delta)), delta)
    raise ValueError(f"unknown likelihood {likelihood!r}; choose one of {', '.join(LIKELIHOODS)}")
