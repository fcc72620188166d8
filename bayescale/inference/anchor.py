r"""Anchored coordinates: sample what the data pin down, keep the priors on E, A, α, ...

For a law that near the data's centre is an offset plus power-law terms,
:math:`L = E + \sum_j K_j\,x_j^{-s_j}` (Chinchilla: E + A/N^α + B/D^β), the shears of
:mod:`bayescale.inference.model` remove the linear ridge between log K and s. A curved ridge
remains where the data barely bend: E can trade against the terms' size and their exponents
(on the bundled open_lm sweep of Li et al. the posterior correlation of E with log A is −0.99
and with α +0.95, and the diagonal metric hit the maximum tree depth on 45% of draws). What
the runs do pin down is the loss at their centre, how fast it falls there along each
covariate, and roughly how it bends. The anchored coordinates are those quantities, with
:math:`t_j = K_j e^{-s_j m_j}` the j-th term at the centre (:math:`m_j` the mean log x_j):

- ``u[0]`` = log L_c / :data:`LEVEL_SCALE`, the law's loss at the centre,
  :math:`L_c = E + \sum_j t_j` (scaled up: the runs pin log L_c down to ~5e-4 on 240 runs,
  far below NumPyro's metric regularisation, 1e-3 × the identity shrunk in by 5 / (n + 5):
  unscaled, the dense metric misjudged that direction and NUTS took 30 leapfrog steps per
  draw on Epoch's 240 runs, scaled 6.5);
- ``u[1]`` = logit w, the offset's share :math:`w = E / L_c`;
- ``u[2 : k+1]`` = log(q_j / q_k), each term's share :math:`q_j = t_j / \sum_i t_i` of the
  reducible loss against the last term's (empty for one term);
- ``u[k+1 :]`` = log g_j, the log-log slope of L along log x_j at the centre,
  :math:`g_j = s_j\,t_j / L_c = s_j q_j (1 - w)`.

Every point of the positive orthant of (E, K, s) maps to one point of ℝ^(2k+1) and back, and
the map from ``u`` to (log E, log K_j, log s_j) has a constant Jacobian, LEVEL_SCALE
(:func:`anchor_forward`; checked against automatic differentiation in the tests). So the
model samples ``u`` flat and adds the user's priors as densities of log E, log K and log s —
no Jacobian term, and no logarithm or exponential beyond what the law needs. The posterior
is the same one; only NUTS's coordinates change. Measured: see ``benchmarks/SAMPLER.md`` and
docs/calibration.md (every real and synthetic set of ``make sampler`` passes every sampling
check; on the bundled misfitting set the diagonal metric went from 709 to 79 leapfrog steps
per draw, on Epoch's 240 runs the dense one from 25.5 to 6.5).

Used by ungrouped fits of a law with an ``offset`` whose terms' parameters are all sampled
with priors on (0, ∞) (:func:`uses_anchor`); grouped fits, fixed parameters and bounded
priors keep the shears, whose sites are the law's own up to a shift.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jnp
from numpyro.distributions import constraints

from bayescale.laws import Law

__all__ = ["ANCHOR_SITE", "LEVEL_SCALE", "anchor_forward", "anchor_inverse", "uses_anchor"]

#: Name of the sampled vector site.
ANCHOR_SITE = "anchor"
#: The level's unit in the sampled coordinates: u[0] = log L_c / LEVEL_SCALE.
LEVEL_SCALE = 0.01

Array = Any


def uses_anchor(law: Law, pooling: str | None, fixed: tuple[str, ...], priors: Mapping) -> bool:
    """Whether a fit samples ``law`` in anchored coordinates.

    Needs an ungrouped fit, a law ``offset``, and every parameter of the offset and its terms
    sampled with a prior on (0, ∞) (a bounded prior would put a hard wall in the flat
    coordinates, where the shears map it smoothly).
    """
    if law.offset is None or pooling is not None:
        return False
    names = [law.offset, *(s.coef for s in law.shears), *(s.slope for s in law.shears)]
    if set(names) & set(fixed):
        return False
    positive = type(constraints.positive)
    return all(isinstance(getattr(priors.get(n), "support", None), positive) for n in names)


def anchor_forward(u: Array, centers: Array) -> tuple[Array, Array, Array]:
    """Logs of the law parameters at anchored coordinates ``u`` (shape (2k+1,)).

    The map ``u`` → (log E, log K, log s) has the constant Jacobian :data:`LEVEL_SCALE`, so
    priors on those logs need no correction (the module docstring).

    Parameters
    ----------
    u : array of shape (2k+1,)
        See the module docstring.
    centers : array of shape (k,)
        Mean log covariate of each term's runs.

    Returns
    -------
    log_offset : array
        log E.
    log_coef : array of shape (k,)
        log K_j.
    log_slope : array of shape (k,)
        log s_j.
    """
    k = centers.shape[0]
    level, logit_w = LEVEL_SCALE * u[0], u[1]
    if k == 1:
        log_q = jnp.zeros(1, u.dtype)
    elif k == 2:  # the shares' softmax against 0, without materialising it
        log_q = jnp.stack([-jax.nn.softplus(-u[2]), -jax.nn.softplus(u[2])])
    else:
        log_q = jax.nn.log_softmax(jnp.concatenate([u[2 : k + 1], jnp.zeros(1, u.dtype)]))
    log_g = u[k + 1 :]
    log_1mw = -jax.nn.softplus(logit_w)
    log_offset = level - jax.nn.softplus(-logit_w)
    log_t = level + log_1mw + log_q
    log_slope = log_g - log_q - log_1mw
    return log_offset, log_t + jnp.exp(log_slope) * centers, log_slope


def anchor_inverse(log_offset: Array, log_coef: Array, log_slope: Array, centers: Array) -> Array:
    """Anchored coordinates of (log E, log K, log s): the inverse of :func:`anchor_forward`."""
    log_t = log_coef - jnp.exp(log_slope) * centers
    log_r = jax.nn.logsumexp(log_t)
    level = jnp.logaddexp(log_offset, log_r)
    rel = log_t[:-1] - log_t[-1]
    log_g = log_slope + log_t - level
    return jnp.concatenate([jnp.stack([level / LEVEL_SCALE, log_offset - log_r]), rel, log_g])
