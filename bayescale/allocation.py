r"""Compute-optimal allocation under C = k·N·D, for every posterior draw at once.

Minimising :math:`L(N, D) = E + A/N^\alpha + B/D^\beta` subject to :math:`C = kND`
(k = 6 for dense transformers) gives (Hoffmann et al. 2022, Appendix D.2)

.. math::

    N_{opt} = G\,(C/k)^{a}, \quad D_{opt} = G^{-1}(C/k)^{b}, \quad
    G = \left(\frac{\alpha A}{\beta B}\right)^{1/(\alpha+\beta)}, \quad
    a = \frac{\beta}{\alpha+\beta}, \quad b = \frac{\alpha}{\alpha+\beta}.

Everything is computed in log space and broadcast: parameters of batch shape ``S`` against
budgets of shape ``(K,)`` give results of shape ``S + (K,)``. No Python loop over draws
or budgets. Call inside ``jax.enable_x64()`` for float64 results (FitResult does).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax.numpy as jnp

from bayescale.law import ChinchillaParams, log_loss_elementwise

__all__ = ["Allocation", "compute_optimal", "optimal_exponents"]

Array = Any


class Allocation(NamedTuple):
    """Compute-optimal allocation per parameter set and budget (shape ``S + (K,)``)."""

    N_opt: Array
    D_opt: Array
    tokens_per_param: Array
    loss: Array


def optimal_exponents(params: ChinchillaParams) -> tuple[Array, Array]:
    """Exponents ``(a, b)`` of N_opt ∝ C^a and D_opt ∝ C^b: a = β/(α+β), b = α/(α+β)."""
    alpha = jnp.asarray(params.alpha)
    beta = jnp.asarray(params.beta)
    s = alpha + beta
    return beta / s, alpha / s


def compute_optimal(
    params: ChinchillaParams, budgets: Array, flops_per_param_token: float = 6.0
) -> Allocation:
    """N_opt, D_opt, D_opt/N_opt and the loss at the optimum for each budget.

    Parameters
    ----------
    params : ChinchillaParams
        Fields of batch shape ``S`` (posterior draws, or scalars).
    budgets : array of shape (K,) or scalar
        Training compute C in FLOPs.
    flops_per_param_token : float, default 6
        k in C = k·N·D.

    Returns
    -------
    Allocation
        Each field of shape ``S + (K,)`` (``S`` for a scalar budget).

    Examples
    --------
    Hoffmann et al.'s unrounded Approach-3 fit at Gopher's budget (the paper's "40B"):

    >>> import jax
    >>> from bayescale.law import ChinchillaParams
    >>> p = ChinchillaParams(1.69337368, 406.401018, 410.722827, 0.33917084, 0.2849083)
    >>> with jax.enable_x64():
    ...     print(f"{float(compute_optimal(p, 5.76e23).N_opt):.3e}")
    4.037e+10
    """
    E, A, B, alpha, beta = (jnp.asarray(x) for x in params)
    budgets = jnp.asarray(budgets, dtype=jnp.result_type(float))
    scalar_budget = budgets.ndim == 0
    if not scalar_budget:
        E, A, B, alpha, beta = (x[..., None] for x in (E, A, B, alpha, beta))
    log_a, log_b = jnp.log(A), jnp.log(B)
    s = alpha + beta
    log_G = (jnp.log(alpha) + log_a - jnp.log(beta) - log_b) / s
    log_c = jnp.log(budgets / flops_per_param_token)
    log_N = log_G + (beta / s) * log_c
    N_opt = jnp.exp(log_N)
    # D from the constraint itself, so k·N_opt·D_opt = C up to one rounding
    D_opt = (budgets / flops_per_param_token) / N_opt
    log_D = jnp.log(D_opt)
    loss = jnp.exp(log_loss_elementwise(E, log_a, log_b, alpha, beta, log_N, log_D))
    return Allocation(N_opt=N_opt, D_opt=D_opt, tokens_per_param=D_opt / N_opt, loss=loss)
