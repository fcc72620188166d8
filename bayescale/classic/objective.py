r"""Hoffmann et al.'s Approach-3 objective, as pure functions over the Chinchilla kernel.

The classic fit's objective and analytic gradient (:func:`huber_objective`,
:func:`huber_objective_and_grad`) evaluate the one Chinchilla kernel
(:func:`bayescale.laws.chinchilla.log_loss_elementwise`) in Hoffmann's parameters ``theta = (a, b,
e, α, β)`` over batches of parameter sets ``S`` (optimiser starts, bootstrap replicas) against runs
``(R,)``, returning ``S + (R,)``. The objective lives with the classic fit, not with the law,
because it needs the Huber loss of the noise models (:mod:`bayescale.inference.likelihoods`), which
sit above the laws.

Notation (Hoffmann et al. 2022): :math:`L(N, D) = E + A/N^\alpha + B/D^\beta` with
:math:`a = \log A`, :math:`b = \log B`; in log space

.. math:: \log L = \log\bigl(E + e^{a - \alpha\log N} + e^{b - \beta\log D}\bigr).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from bayescale.inference.likelihoods import huber_loss
from bayescale.laws.chinchilla import ChinchillaParams, log_loss_elementwise

__all__ = [
    "HOFFMANN_NAMES",
    "from_hoffmann",
    "hoffmann_log_loss",
    "huber_objective",
    "huber_objective_and_grad",
    "to_hoffmann",
]

Array = Any


# ------------------------------------------------ Hoffmann's parameterisation and objective
#: Order of the fields of a Hoffmann parameter vector ``theta``: A = e^a, B = e^b, E = e^e.
HOFFMANN_NAMES = ("a", "b", "e", "alpha", "beta")


def to_hoffmann(params: ChinchillaParams) -> Array:
    """Stack parameters as Hoffmann et al.'s ``theta = (a, b, e, α, β)``: shape ``S + (5,)``."""
    E, A, B, alpha, beta = jnp.broadcast_arrays(*(jnp.asarray(x) for x in params))
    return jnp.stack([jnp.log(A), jnp.log(B), jnp.log(E), alpha, beta], axis=-1)


def from_hoffmann(theta: Array) -> ChinchillaParams:
    """Inverse of :func:`to_hoffmann`: ``theta`` of shape ``S + (5,)`` to ChinchillaParams."""
    theta = jnp.asarray(theta)
    a, b, e, alpha, beta = (theta[..., i] for i in range(5))
    return ChinchillaParams(E=jnp.exp(e), A=jnp.exp(a), B=jnp.exp(b), alpha=alpha, beta=beta)


def hoffmann_log_loss(theta: Array, log_N: Array, log_D: Array) -> Array:
    """Predicted log loss for ``theta = (a, b, e, α, β)`` of shape ``S + (5,)``: ``S + (R,)``.

    ``log_N`` and ``log_D`` have shape ``(R,)`` or any shape broadcasting against
    ``S + (R,)`` (for instance ``(G, 1, R)`` for G data sets × S parameter sets).
    """
    theta = jnp.asarray(theta)
    a, b, e, alpha, beta = (theta[..., i, None] for i in range(5))
    return log_loss_elementwise(jnp.exp(e), a, b, alpha, beta, log_N, log_D)


def huber_objective(
    theta: Array,
    log_N: Array,
    log_D: Array,
    log_loss: Array,
    delta: float = 1e-3,
    weights: Array | None = None,
) -> Array:
    r"""Hoffmann et al.'s Approach-3 objective for every parameter set: shape ``S``.

    .. math:: f(θ) = \sum_i w_i\,\mathrm{huber}_δ\bigl(\log\hat L_i(θ) - \log L_i\bigr)

    Parameters
    ----------
    theta : array of shape ``S + (5,)``
        ``(a, b, e, α, β)`` per parameter set (optimiser starts, bootstrap replicas...).
    log_N, log_D, log_loss : array of shape (R,)
        The runs (or shapes broadcasting against ``S + (R,)``).
    delta : float, default 1e-3
        Huber threshold on log-loss residuals (Hoffmann et al. 2022).
    weights : array broadcasting against ``S + (R,)``, optional
        Run weights: bootstrap counts, or 0/1 masks for padded runs. Default 1.

    Returns
    -------
    array of shape ``S``
        Evaluated as one fused loop over set × run; nothing of size S × R is stored.
    """
    h = huber_loss(hoffmann_log_loss(theta, log_N, log_D) - log_loss, delta)
    if weights is not None:
        h = h * weights
    return jnp.sum(h, axis=-1)


def _objective_and_grad_block(
    theta: Array, log_N: Array, log_D: Array, log_loss: Array, delta: float, weights: Array
) -> tuple[Array, Array]:
    # d log L̂/d(a, b, e, α, β) = (P_N, P_D, E, −P_N log N, −P_D log D) / L̂ with
    # P_N = e^{a − α log N}, P_D = e^{b − β log D}, and d huber/dr = clip(r, −δ, δ).
    a, b, e, alpha, beta = (theta[..., i, None] for i in range(5))
    E = jnp.exp(e)
    p_n = jnp.exp(a - alpha * log_N)
    p_d = jnp.exp(b - beta * log_D)
    total = E + p_n + p_d
    r = jnp.log(total) - log_loss
    absr = jnp.abs(r)
    c = jnp.minimum(absr, delta)
    value = jnp.sum(weights * (c * (absr - 0.5 * c)), axis=-1)
    # clip(r, −δ, δ) as (|r + δ| − |r − δ|)/2: abs and subtract stay in XLA:CPU's fast path
    q = weights * (0.5 * (jnp.abs(r + delta) - jnp.abs(r - delta))) / total
    qn = q * p_n
    qd = q * p_d
    # the sums over runs as small matrix products against (1, log N) and (1, log D)
    xn = jnp.stack([jnp.ones_like(log_N), log_N], axis=-1)
    xd = jnp.stack([jnp.ones_like(log_D), log_D], axis=-1)
    mn = qn @ xn
    md = qd @ xd
    grad = jnp.stack(
        [mn[..., 0], md[..., 0], E[..., 0] * jnp.sum(q, axis=-1), -mn[..., 1], -md[..., 1]],
        axis=-1,
    )
    return value, grad


#: Parameter sets per block in :func:`huber_objective_and_grad` (measured best of 64–1024).
GRAD_BLOCK = 512


def huber_objective_and_grad(
    theta: Array,
    log_N: Array,
    log_D: Array,
    log_loss: Array,
    delta: float = 1e-3,
    weights: Array | None = None,
    *,
    block: int = GRAD_BLOCK,
) -> tuple[Array, Array]:
    """:func:`huber_objective` and its gradient with respect to ``theta``, analytically.

    Parameters
    ----------
    theta : array of shape (S, 5)
        ``(a, b, e, α, β)`` per parameter set.
    log_N, log_D, log_loss : array of shape (R,)
        One data set (``jax.vmap`` this function for several).
    delta : float, default 1e-3
        Huber threshold.
    weights : array of shape (R,) or (S, R), optional
        Run weights shared by all sets, or one row per set (bootstrap counts).
    block : int
        Sets per block: blocks are processed one after another so the per-run
        intermediates stay in cache. XLA fuses a single reduction with its exponentials
        into one vectorised loop, but not several, so a gradient (five sums) over all
        S × R at once stores and re-reads them.

    Returns
    -------
    value : array of shape (S,)
    grad : array of shape (S, 5)
    """
    theta = jnp.asarray(theta)
    if theta.ndim != 2 or theta.shape[-1] != 5:
        raise ValueError(f"theta must have shape (S, 5), got {theta.shape}")
    S = theta.shape[0]
    dtype = theta.dtype
    per_set = weights is not None and jnp.ndim(weights) == 2
    w = jnp.ones_like(log_loss, dtype=dtype) if weights is None else jnp.asarray(weights, dtype)

    def run(th: Array, wt: Array) -> tuple[Array, Array]:
        return _objective_and_grad_block(th, log_N, log_D, log_loss, delta, wt)

    if S <= block:
        return run(theta, w)
    n_blocks = -(-S // block)
    pad = n_blocks * block - S
    # pad with copies of the first set (finite values), dropped afterwards
    th = jnp.concatenate([theta, jnp.broadcast_to(theta[:1], (pad, 5))]).reshape(
        n_blocks, block, 5
    )
    if per_set:
        wp = jnp.concatenate([w, jnp.broadcast_to(w[:1], (pad, w.shape[-1]))])
        value, grad = jax.lax.map(lambda args: run(*args), (th, wp.reshape(n_blocks, block, -1)))
    else:
        value, grad = jax.lax.map(lambda t: run(t, w), th)
    return value.reshape(-1)[:S], grad.reshape(-1, 5)[:S]
