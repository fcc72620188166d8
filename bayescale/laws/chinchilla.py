r"""The Chinchilla law (Hoffmann et al. 2022): :math:`L = E + A/N^\alpha + B/D^\beta`.

The kernel is :func:`bayescale.law.log_loss_elementwise`; :func:`chinchilla_log_n_opt` is
the one implementation of its closed-form optimum (what :mod:`bayescale.optimum` uses for
this law). Its default priors are tabled in :mod:`bayescale.priors`.
"""

from __future__ import annotations

import math
from typing import Any

import jax.numpy as jnp
import numpy as np
import numpyro.distributions as dist

from bayescale.law import log_loss_elementwise
from bayescale.laws.base import Law, Shear

__all__ = ["CHINCHILLA"]

Array = Any


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


#: One line per default prior: what it says and why (see :mod:`bayescale.priors`).
PRIOR_NOTES = {
    "E": "LogNormal(0.5, 0.75): irreducible loss, median 1.65 nats, 90% in [0.48, 5.7]",
    "A": "LogNormal(7, 3): log A 90% in [2.1, 11.9]; published log A 6.0-6.3",
    "B": "LogNormal(7, 3): log B 90% in [2.1, 11.9]; published log B 6.0-7.6",
    "alpha": "LogNormal(log 0.35, 0.6): 90% in [0.13, 0.94]; published 0.28-0.37",
    "beta": "LogNormal(log 0.35, 0.6): 90% in [0.13, 0.94]; published 0.28-0.37",
}


def chinchilla_priors() -> dict[str, Any]:
    """Fresh default priors of E, A, B, alpha, beta (the table in :mod:`bayescale.priors`)."""
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
    log_n_opt=chinchilla_log_n_opt,
    exponents=chinchilla_exponents,
    init=chinchilla_init,
    prior_notes=PRIOR_NOTES,
    description="L(N, D) = E + A/N^alpha + B/D^beta",
    reference="Hoffmann et al. 2022, arXiv:2203.15556, Eq. 2 / Approach 3",
)
