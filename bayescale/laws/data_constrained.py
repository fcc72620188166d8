r"""Muennighoff et al. 2023's data-constrained law: repeated tokens and excess parameters decay.

With U_D unique tokens seen (at most D), R_D = D/U_D − 1 repetitions, and U_N the
Chinchilla-optimal parameter count for U_D tokens,

.. math::

    D' = U_D + U_D R_D^* (1 - e^{-R_D/R_D^*}), \qquad
    N' = U_N + U_N R_N^* (1 - e^{-R_N/R_N^*}),

    U_N = \min\bigl(N,\ G\,(U_D G)^{β/α}\bigr), \quad R_N = N/U_N - 1, \quad
    G = \Bigl(\frac{αA}{βB}\Bigr)^{1/(α+β)},

    L(N, D, U_D) = E + A/N'^{α} + B/D'^{β}.

A repeated token is worth less than a fresh one (R_D^* is the number of repetitions
after which repeated data is worth 1/e of its full value), and parameters beyond U_N
likewise (R_N^*). With U_D ≥ D (no repetition) and N ≤ U_N the law is Chinchilla's.
The formula follows the authors' reference code (huggingface/datablations README,
"Parametric Fit"); their fit is e^a = A, e^b = B, e^e = E with a 6.255414,
b 7.3049974, e 0.6254804, α = β = 0.3526596, R_D^* 15.387756, R_N^* 5.309743
(:data:`MUENNIGHOFF_PARAMS`), which gives L(6.34e9, 242e9, 25e9) = 2.2256440889984477.

There is no closed-form compute-optimal allocation (the authors search a grid); bayescale
finds it numerically for every draw and budget at a given U_D.

Default priors: E, A, B, α, β as the Chinchilla law (:mod:`bayescale.inference.priors`), and

============  ==============================  ========================================
R_D_star      LogNormal(log 15, 1)            90% in [2.9, 78]; Muennighoff's 15.4
R_N_star      LogNormal(log 5, 1)             90% in [0.97, 26]; Muennighoff's 5.3
============  ==============================  ========================================
"""

from __future__ import annotations

import math
from typing import Any

import jax.numpy as jnp
import numpyro.distributions as dist

from bayescale.laws.base import Law, Shear
from bayescale.laws.chinchilla import PRIOR_NOTES, chinchilla_init, chinchilla_priors

__all__ = ["DATA_CONSTRAINED", "MUENNIGHOFF_PARAMS"]

Array = Any

#: Muennighoff et al. 2023, fitted values from the datablations README (natural scale).
MUENNIGHOFF_PARAMS = {
    "E": math.exp(0.6254804),
    "A": math.exp(6.255414),
    "B": math.exp(7.3049974),
    "alpha": 0.3526596,
    "beta": 0.3526596,
    "R_D_star": 15.387756,
    "R_N_star": 5.309743,
}


def effective_log_n_d(theta: Any, x: Any) -> tuple[Array, Array]:
    """Logs of the effective parameters N' and data D', elementwise."""
    alpha, beta = theta["alpha"], theta["beta"]
    log_A, log_B = jnp.log(theta["A"]), jnp.log(theta["B"])
    log_N, log_D = x["log_N"], x["log_D"]
    log_U = jnp.minimum(x["log_U_D"], log_D)  # cannot see more unique tokens than trained on
    log_G = (jnp.log(alpha) + log_A - jnp.log(beta) - log_B) / (alpha + beta)
    log_UN = jnp.minimum(log_N, log_G + (beta / alpha) * (log_U + log_G))
    R_D = jnp.expm1(log_D - log_U)
    R_N = jnp.expm1(log_N - log_UN)
    rd, rn = theta["R_D_star"], theta["R_N_star"]
    # log(U + U·R*·(1 − e^(−R/R*))) = log U + log1p(R*·(−expm1(−R/R*))), exact for R = 0
    log_Dp = log_U + jnp.log1p(-rd * jnp.expm1(-R_D / rd))
    log_Np = log_UN + jnp.log1p(-rn * jnp.expm1(-R_N / rn))
    return log_Np, log_Dp


def data_constrained_log_loss(theta: Any, x: Any) -> Array:
    """log(E + A/N'^α + B/D'^β), elementwise."""
    log_Np, log_Dp = effective_log_n_d(theta, x)
    return jnp.log(
        theta["E"]
        + jnp.exp(jnp.log(theta["A"]) - theta["alpha"] * log_Np)
        + jnp.exp(jnp.log(theta["B"]) - theta["beta"] * log_Dp)
    )


def _priors() -> dict[str, Any]:
    out = chinchilla_priors()
    out["R_D_star"] = dist.LogNormal(math.log(15.0), 1.0)
    out["R_N_star"] = dist.LogNormal(math.log(5.0), 1.0)
    return out


def _init(data: Any) -> dict[str, float]:
    return {**chinchilla_init(data), "R_D_star": 15.0, "R_N_star": 5.0}


DATA_CONSTRAINED = Law(
    name="data_constrained",
    params=("E", "A", "B", "alpha", "beta", "R_D_star", "R_N_star"),
    log_loss=data_constrained_log_loss,
    priors=_priors,
    covariates=("U_D",),
    group_params=("E", "A", "B"),
    shears=(Shear("a_c", "A", "alpha", "log_N"), Shear("b_c", "B", "beta", "log_D")),
    offset="E",
    init=_init,
    prior_notes={
        **PRIOR_NOTES,
        "R_D_star": "LogNormal(log 15, 1): 90% in [2.9, 78]; Muennighoff et al.'s 15.4",
        "R_N_star": "LogNormal(log 5, 1): 90% in [0.97, 26]; Muennighoff et al.'s 5.3",
    },
    description="L = E + A/N'^alpha + B/D'^beta with effective N', D' (unique tokens U_D)",
    reference="Muennighoff et al. 2023, arXiv:2305.16264, Eq. 5 (datablations README)",
)
