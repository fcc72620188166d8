r"""Kaplan et al. 2020, Eq. 1.5: :math:`L(N, D) = [(N_c/N)^{α_N/α_D} + D_c/D]^{α_D}`.

No irreducible term: the loss falls to 0 as N and D grow. In log space

.. math:: \log L = α_D \, \mathrm{logaddexp}\bigl(\tfrac{α_N}{α_D}(\log N_c - \log N),
          \ \log D_c - \log D\bigr).

Compute-optimal allocation under C = kND (minimise the bracket; the power α_D is monotone):

.. math:: N_{opt} = \Bigl(\frac{r N_c^{\,r}\,C}{k D_c}\Bigr)^{1/(1+r)}, \quad r = α_N/α_D,

so N_opt ∝ C^a with a = α_D/(α_N + α_D) ≈ 0.58 for Kaplan's values. (Kaplan et al.'s
often-quoted N_opt ∝ C^0.73 comes from their early-stopped L(N, S) analysis, not from
Eq. 1.5 under C = 6ND.)

Sampling. Kaplan's N_c ~ 6e13 lies far outside the data, so (log N_c, α_N) form a ridge
like Chinchilla's (log A, α). The model samples w_N = α_N (log N_c − m_N) and
w_D = α_D (log D_c − m_D), the log of each term to the power α_D at the data's centre,
which the data pin down directly.

Default priors
--------------
============  ==============================  ========================================
parameter     default                         why
============  ==============================  ========================================
N_c, D_c      LogNormal(30, 5)                log N_c, log D_c 90% in [21.8, 38.2];
                                              Kaplan's 31.8 and 30.5 sit at the centre
alpha_N,      LogNormal(log 0.1, 0.7)         90% in [0.032, 0.32]; Kaplan's 0.076 and
alpha_D                                       0.103: exponents of the *total* loss
============  ==============================  ========================================
"""

from __future__ import annotations

import math
from typing import Any

import jax.numpy as jnp
import numpy as np
import numpyro.distributions as dist

from bayescale.laws.base import Law, Shear

__all__ = ["KAPLAN", "KAPLAN_PARAMS"]

Array = Any

#: Kaplan et al. 2020, Eq. 1.5 and Table 2 (non-embedding parameters, tokens).
KAPLAN_PARAMS = {"N_c": 6.4e13, "D_c": 1.8e13, "alpha_N": 0.076, "alpha_D": 0.103}


def kaplan_log_loss(theta: Any, x: Any) -> Array:
    """α_D · logaddexp((α_N/α_D)(log N_c − log N), log D_c − log D), elementwise."""
    aN, aD = theta["alpha_N"], theta["alpha_D"]
    t_N = (aN / aD) * (jnp.log(theta["N_c"]) - x["log_N"])
    t_D = jnp.log(theta["D_c"]) - x["log_D"]
    return aD * jnp.logaddexp(t_N, t_D)


def kaplan_log_n_opt(theta: Any, log_c: Array) -> Array:
    """Closed form: log N_opt = (log r + r log N_c + log(C/k) − log D_c)/(1 + r), r = α_N/α_D."""
    r = theta["alpha_N"] / theta["alpha_D"]
    return (jnp.log(r) + r * jnp.log(theta["N_c"]) + log_c - jnp.log(theta["D_c"])) / (1.0 + r)


def kaplan_exponents(theta: Any) -> dict[str, Array]:
    """Exponents a = α_D/(α_N+α_D) (N_opt ∝ C^a) and b = α_N/(α_N+α_D) (D_opt ∝ C^b)."""
    aN, aD = jnp.asarray(theta["alpha_N"]), jnp.asarray(theta["alpha_D"])
    return {"a": aD / (aN + aD), "b": aN / (aN + aD)}


def _priors() -> dict[str, Any]:
    return {
        "N_c": dist.LogNormal(30.0, 5.0),
        "D_c": dist.LogNormal(30.0, 5.0),
        "alpha_N": dist.LogNormal(math.log(0.1), 0.7),
        "alpha_D": dist.LogNormal(math.log(0.1), 0.7),
    }


def kaplan_init(data: Any) -> dict[str, float]:
    """Exponents 0.1 and both terms equal at the data's centre."""
    a = 0.1
    # at the centre log L = a·log(2·e^t): solve for t
    t = float(np.mean(np.log(data.loss))) / a - math.log(2.0)
    return {
        "N_c": float(np.exp(np.mean(np.log(data.N)) + t)),
        "D_c": float(np.exp(np.mean(np.log(data.D)) + t)),
        "alpha_N": a,
        "alpha_D": a,
    }


KAPLAN = Law(
    name="kaplan",
    params=("N_c", "D_c", "alpha_N", "alpha_D"),
    log_loss=kaplan_log_loss,
    priors=_priors,
    group_params=("N_c", "D_c"),
    shears=(
        Shear("w_N", "N_c", "alpha_N", "log_N", scaled=True),
        Shear("w_D", "D_c", "alpha_D", "log_D", scaled=True),
    ),
    log_n_opt=kaplan_log_n_opt,
    exponents=kaplan_exponents,
    init=kaplan_init,
    prior_notes={
        "N_c": "LogNormal(30, 5): log N_c 90% in [21.8, 38.2]; Kaplan's 31.8",
        "D_c": "LogNormal(30, 5): log D_c 90% in [21.8, 38.2]; Kaplan's 30.5",
        "alpha_N": "LogNormal(log 0.1, 0.7): 90% in [0.032, 0.32]; Kaplan's 0.076",
        "alpha_D": "LogNormal(log 0.1, 0.7): 90% in [0.032, 0.32]; Kaplan's 0.103",
    },
    description="L(N, D) = [(N_c/N)^(alpha_N/alpha_D) + D_c/D]^alpha_D",
    reference="Kaplan et al. 2020, arXiv:2001.08361, Eq. 1.5",
)
