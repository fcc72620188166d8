r"""The Chinchilla law (Hoffmann et al. 2022): :math:`L = E + A/N^\alpha + B/D^\beta`.

The kernel is :func:`bayescale.law.log_loss_elementwise`; :func:`chinchilla_log_n_opt` is
the one implementation of its closed-form optimum (what :mod:`bayescale.optimum` uses for
this law). Default priors are those of :mod:`bayescale.priors`.
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
import numpy as np

from bayescale.law import log_loss_elementwise
from bayescale.laws.base import Law, Shear
from bayescale.priors import PRIOR_NOTES, default_priors

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


def _law_priors() -> dict[str, Any]:
    p = default_priors("gaussian")
    return {k: p[k] for k in ("E", "A", "B", "alpha", "beta")}


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
    priors=_law_priors,
    group_params=("E", "A", "B"),
    shears=(Shear("a_c", "A", "alpha", "log_N"), Shear("b_c", "B", "beta", "log_D")),
    log_n_opt=chinchilla_log_n_opt,
    exponents=chinchilla_exponents,
    init=chinchilla_init,
    prior_notes={k: PRIOR_NOTES[k] for k in ("E", "A", "B", "alpha", "beta")},
    description="L(N, D) = E + A/N^alpha + B/D^beta",
    reference="Hoffmann et al. 2022, arXiv:2203.15556, Eq. 2 / Approach 3",
)
