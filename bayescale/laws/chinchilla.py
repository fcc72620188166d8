r"""The Chinchilla law (Hoffmann et al. 2022): :math:`L = E + A/N^\alpha + B/D^\beta`.

:func:`log_loss_elementwise` is the one implementation of the law: the registered
:data:`CHINCHILLA`, and through it the model, predictions and decisions, call it, and so does the
classic fit's objective (:mod:`bayescale.classic.objective`). The direct form (two exponentials and
a logarithm per element) is used rather than a stacked log-sum-exp: it is exact in float64 for any
realistic parameter range, and measured several times faster because nothing is materialised beyond
the output. :func:`chinchilla_log_n_opt` is the one implementation of its closed-form optimum (what
:mod:`bayescale.laws.optimum` uses for this law). Its default priors are tabled in
:mod:`bayescale.inference.priors`.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import jax.numpy as jnp
import numpy as np
import numpyro.distributions as dist

from bayescale.laws.base import Law, Shear

__all__ = ["CHINCHILLA", "ChinchillaParams", "log_loss_elementwise"]

Array = Any


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


def chinchilla_log_loss(theta: Any, x: Any) -> Array:
    """log(E + A/N^α + B/D^β), elementwise."""
    return log_loss_elementwise(
        theta["E"],
        jnp.log(theta["A"]),
        jnp.log(theta["B"]),
        theta["alpha"],
        theta["beta"],
        x["log_N"],
        x["log_D"],
    )


def chinchilla_log_n_opt(theta: Any, log_c: Array) -> Array:
    r"""Closed-form log N_opt = log G + a·log(C/k) (Hoffmann et al. 2022, Appendix D.2).

    .. math:: N_{opt} = G\,(C/k)^{a}, \quad
        G = \left(\frac{\alpha A}{\beta B}\right)^{1/(\alpha+\beta)}, \quad
        a = \frac{\beta}{\alpha+\beta}.
    """
    alpha, beta = theta["alpha"], theta["beta"]
    s = alpha + beta
    log_G = (jnp.log(alpha) + jnp.log(theta["A"]) - jnp.log(beta) - jnp.log(theta["B"])) / s
    return log_G + (beta / s) * log_c


def chinchilla_exponents(theta: Any) -> dict[str, Array]:
    """Exponents a = β/(α+β) (N_opt ∝ C^a) and b = α/(α+β) (D_opt ∝ C^b)."""
    alpha, beta = jnp.asarray(theta["alpha"]), jnp.asarray(theta["beta"])
    s = alpha + beta
    return {"a": beta / s, "b": alpha / s}


#: One line per default prior: what it says and why (see :mod:`bayescale.inference.priors`).
PRIOR_NOTES = {
    "E": "LogNormal(0.5, 0.75): irreducible loss, median 1.65 nats, 90% in [0.48, 5.7]",
    "A": "LogNormal(7, 3): log A 90% in [2.1, 11.9]; published log A 6.0-6.3",
    "B": "LogNormal(7, 3): log B 90% in [2.1, 11.9]; published log B 6.0-7.6",
    "alpha": "LogNormal(log 0.35, 0.6): 90% in [0.13, 0.94]; published 0.28-0.37",
    "beta": "LogNormal(log 0.35, 0.6): 90% in [0.13, 0.94]; published 0.28-0.37",
}


def chinchilla_priors() -> dict[str, Any]:
    """Fresh default priors of E, A, B, alpha, beta (tabled in :mod:`~.inference.priors`)."""
    return {
        "E": dist.LogNormal(0.5, 0.75),
        "A": dist.LogNormal(7.0, 3.0),
        "B": dist.LogNormal(7.0, 3.0),
        "alpha": dist.LogNormal(math.log(0.35), 0.6),
        "beta": dist.LogNormal(math.log(0.35), 0.6),
    }


def chinchilla_init(data: Any) -> dict[str, float]:
    """E a little below the smallest loss; the rest split between the two terms; 0.3."""
    E0 = 0.8 * float(np.min(data.loss))
    reducible = max(float(np.exp(np.mean(np.log(data.loss)))) - E0, 1e-3)
    mN, mD = float(np.mean(np.log(data.N))), float(np.mean(np.log(data.D)))
    half = float(np.log(reducible / 2.0))
    return {
        "E": E0,
        "A": float(np.exp(half + 0.3 * mN)),
        "B": float(np.exp(half + 0.3 * mD)),
        "alpha": 0.3,
        "beta": 0.3,
    }


CHINCHILLA = Law(
    name="chinchilla",
    params=("E", "A", "B", "alpha", "beta"),
    log_loss=chinchilla_log_loss,
    priors=chinchilla_priors,
    group_params=("E", "A", "B"),
    shears=(Shear("a_c", "A", "alpha", "log_N"), Shear("b_c", "B", "beta", "log_D")),
    offset="E",
    log_n_opt=chinchilla_log_n_opt,
    exponents=chinchilla_exponents,
    init=chinchilla_init,
    prior_notes=PRIOR_NOTES,
    description="L(N, D) = E + A/N^alpha + B/D^beta",
    reference="Hoffmann et al. 2022, arXiv:2203.15556, Eq. 2 / Approach 3",
)
