r"""Budget decisions under posterior uncertainty, for every posterior draw at once.

A fit gives draws :math:`\theta_s` of the law's parameters; a team must pick one model size
N for a budget C (tokens D = C/(kN), k = 6 for dense transformers). This module answers:

- **Bayes-optimal allocation** (:func:`bayes_optimal`): the N minimising the posterior
  *expected* loss :math:`\bar L(N) = \frac1S\sum_s L_s(N, C/kN)`, beside the plug-in choice
  (the optimum of the posterior-median parameters) and the posterior of each draw's own
  optimum :math:`N^*_s(C)`.
- **Risk of a plan** (:func:`regret`): the regret :math:`L_s(N, D) - L_s(N^*_s, D^*_s)` at the
  plan's own budget, the same regret as compute — the fraction of C with which the optimal
  allocation already matches the plan's loss — and whether the plan's N is within a factor
  of :math:`N^*_s`.
- **Compute for a target loss** (:func:`compute_for_loss`): the least C whose optimal loss
  reaches :math:`L^*`, with P(reachable); a target at or below the irreducible loss is
  unreachable on those draws (NaN, flagged), never extrapolated.
- **Data limits** (:func:`data_limited`): the best allocation with :math:`D \le D_{max}` and
  the budget above which the cap binds.

Every function takes the draws and the law:

- ``theta``: a mapping keyed by the law's parameters, each an array of shape (S,)
  (:meth:`FitResult.theta <bayescale.FitResult.theta>`); for the Chinchilla law a
  :class:`~bayescale.ChinchillaParams` works too. Keys the law does not use are ignored.
- ``law``: a :class:`~bayescale.laws.Law` (default :data:`~bayescale.laws.CHINCHILLA`; your
  own through :func:`bayescale.define_law`). The loss is ``exp(law.log_loss)``; each draw's optimum
  comes from :func:`bayescale.laws.optimum.log_n_opt` — the law's closed form, else the one
  numerical search with its range and edge rule, exactly as in :meth:`FitResult.allocation
  <bayescale.FitResult.allocation>`; the floor (infimum of the loss) is the law's ``E`` where it
  has one, else 0.
- ``covariates``: numbers for the law's extra covariates (``{"U_D": 1e11}``).

A NaN per-draw optimum (numerical law, no interior optimum in the searched range) makes
what rests on it NaN: that draw's regret and allocation, the Bayes choice at that budget,
and a bisection over budgets that meets one. The searches assume what holds for every law
in use: along C = kND the loss is unimodal in log N, and the optimal loss falls as C grows.

All functions are pure and JIT-compiled with the law static (compiled once per law and shape), with
no Python loop over draws, budgets, plans or grid points. Call them inside ``jax.enable_x64()`` —
regrets are small differences of losses — as the tables of :mod:`bayescale.decisions.tables` (what
:class:`~bayescale.FitResult` methods call) do.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from functools import partial
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from bayescale.decisions.core import (
    Plan,
    as_plans,
    bisect_decreasing,
    decision_inputs,
    expand_draws,
    frontier_loss,
    law_loss,
    law_optimum,
    loss_floor,
    parse_plan,
    positive_1d,
)
from bayescale.laws import CHINCHILLA, Law
from bayescale.laws.optimum import (
    golden_section,
    newton_polish,
)

__all__ = [
    "C_RANGE",
    "BayesOptimal",
    "ComputeForLoss",
    "DataLimited",
    "Plan",
    "Regret",
    "as_plans",
    "bayes_optimal",
    "compute_for_loss",
    "data_limited",
    "expected_loss",
    "loss_profile",
    "parse_plan",
    "regret",
]

Array = Any
Theta = Mapping[str, Array]

#: Search range for budgets (FLOPs) when solving for a compute: 1 FLOP to 1e60 FLOPs.
C_RANGE = (1.0, 1e60)
# Bisection steps over the 138-nat log-C range: 2^-64 · 138 ≈ 7e-18, below float64 epsilon.
_BISECT = 64
# Compute-equivalent solves look within e^-60 ≈ 1e-26 of the plan's budget.
_WASTE_SPAN = 60.0


# ------------------------------------------------------------------------------ profiles
@partial(jax.jit, static_argnames=("law",))
def _profile(theta: Theta, C: Array, N: Array, k: Array, extra: Mapping, law: Law) -> Array:
    log_n = jnp.log(N)
    return law_loss(law, expand_draws(theta, 2), log_n, jnp.log(C[:, None] / k) - log_n, extra)


def loss_profile(
    theta: Any,
    budget: Array,
    N: Array,
    *,
    law: Law = CHINCHILLA,
    covariates: Mapping[str, float] | None = None,
    flops_per_param_token: float = 6.0,
) -> Array:
    """Loss of every draw at model sizes ``N`` along C = kND (isoFLOP profiles).

    Parameters
    ----------
    theta : mapping
        Posterior draws of the law's parameters, each of shape (S,).
    budget : float or array (K,)
        Budget(s) C in FLOPs.
    N : array (G,) or (K, G)
        Model sizes: one grid for all budgets, or one row per budget.
    law : Law, default CHINCHILLA
        The scaling law (see the module docstring).
    covariates : mapping, optional
        The law's extra covariates (numbers), e.g. ``{"U_D": 1e11}``.
    flops_per_param_token : float, default 6
        k in C = kND.

    Returns
    -------
    array
        Shape (S, G) for a scalar budget, (S, K, G) for K budgets.
    """
    law, theta, extra, k = decision_inputs(law, theta, covariates, flops_per_param_token)
    scalar = np.ndim(budget) == 0
    C = positive_1d(budget, "budget", "FLOPs")
    N = np.asarray(N, dtype=np.float64)
    if N.ndim == 1:
        N = np.broadcast_to(N, (C.size, N.size))
    if N.shape[0] != C.size or N.ndim != 2 or not np.all(np.isfinite(N) & (N > 0)):
        raise ValueError(
            f"N must be finite sizes > 0 of shape (G,) or ({C.size}, G), got shape {N.shape}"
        )
    out = _profile(theta, jnp.asarray(C), jnp.asarray(N), jnp.asarray(k), extra, law)
    return out[:, 0] if scalar else out


def expected_loss(
    theta: Any,
    budget: Array,
    N: Array,
    *,
    law: Law = CHINCHILLA,
    covariates: Mapping[str, float] | None = None,
    flops_per_param_token: float = 6.0,
) -> Array:
    """Posterior expected loss at model sizes ``N`` along C = kND: shape (len(N),)."""
    prof = loss_profile(
        theta,
        budget,
        N,
        law=law,
        covariates=covariates,
        flops_per_param_token=flops_per_param_token,
    )
    return jnp.mean(prof, axis=0)


# ------------------------------------------------------------------------------ Bayes
class BayesOptimal(NamedTuple):
    """Bayes-optimal, plug-in and per-draw optima (K budgets, S draws).

    Attributes
    ----------
    budget : (K,)
        Budgets C.
    N_bayes, D_bayes, expected_loss_bayes : (K,)
        Minimiser of the posterior expected loss and that expected loss.
    N_plugin, D_plugin, expected_loss_plugin : (K,)
        Optimum of the posterior-median parameters, and its expected loss under the posterior.
    N_median, expected_loss_median : (K,)
        Median of the per-draw optima, and its expected loss.
    N_draws, D_draws, loss_draws : (S, K)
        Each draw's own optimum and its loss there.
    expected_loss_oracle : (K,)
        Mean of ``loss_draws``: the expected loss if the true law were known. The gap to
        ``expected_loss_bayes`` is the expected value of perfect information.
    loss_bayes_draws, loss_plugin_draws : (S, K)
        Loss of the Bayes and plug-in choices on each draw.
    """

    budget: Array
    N_bayes: Array
    D_bayes: Array
    expected_loss_bayes: Array
    N_plugin: Array
    D_plugin: Array
    expected_loss_plugin: Array
    N_median: Array
    expected_loss_median: Array
    N_draws: Array
    D_draws: Array
    loss_draws: Array
    expected_loss_oracle: Array
    loss_bayes_draws: Array
    loss_plugin_draws: Array


def _bayes_search(
    law: Law,
    pe: Theta,
    c: Array,
    extra: Mapping,
    x_draws: Array,
    x_min: Array,
    grid_size: int,
    iters: int,
) -> tuple[Array, Array]:
    """Minimise the draw-mean loss over x = log N, per budget; returns (x, mean loss)."""
    log_c = jnp.log(c)

    def mean_loss(x: Array) -> Array:
        return jnp.mean(law_loss(law, pe, x, log_c - x, extra), axis=0)

    # If each draw's profile is unimodal, the mean decreases left of every draw's optimum
    # and increases right of all of them: the minimiser lies between the extreme optima.
    # Without all of them (NaN: no interior optimum) there is no bracket: NaN.
    known = jnp.all(jnp.isfinite(x_draws), axis=0)
    xd = jnp.maximum(jnp.where(jnp.isfinite(x_draws), x_draws, 0.0), x_min)
    lo, hi = jnp.min(xd, axis=0), jnp.max(xd, axis=0)
    pad = 0.05 * (hi - lo) + 1e-3
    lo, hi = jnp.maximum(lo - pad, x_min), hi + pad
    t = jnp.linspace(0.0, 1.0, grid_size)
    grid = lo[None, :] + t[:, None] * (hi - lo)[None, :]  # (G, K)
    vals = jax.lax.map(mean_loss, grid, batch_size=8)  # memory S×K×8, not S×K×G
    i = jnp.argmin(vals, axis=0)
    cols = jnp.arange(grid.shape[1])
    x0, f0 = grid[i, cols], vals[i, cols]
    step = (hi - lo) / (grid_size - 1)
    a, b = jnp.maximum(x0 - step, lo), jnp.minimum(x0 + step, hi)
    x = newton_polish(mean_loss, golden_section(mean_loss, a, b, iters), a, b)
    fx = mean_loss(x)
    # keep the grid point if refinement did not improve on it (beyond rounding)
    better = fx <= f0 + 1e-13 * jnp.abs(f0)
    x, fx = jnp.where(better, x, x0), jnp.where(better, fx, f0)
    return jnp.where(known, x, jnp.nan), jnp.where(known, fx, jnp.nan)


@partial(jax.jit, static_argnames=("law", "grid_size", "iters"))
def _bayes_optimal(
    theta: Theta, C: Array, k: Array, extra: Mapping, law: Law, grid_size: int, iters: int
) -> BayesOptimal:
    pe = expand_draws(theta, 1)
    c = C / k
    own = law_optimum(law, pe, c, extra)  # (S, K)
    x_b, el_b = _bayes_search(law, pe, c, extra, jnp.log(own.N_opt), -jnp.inf, grid_size, iters)
    plug = law_optimum(law, {p: jnp.median(v, axis=0) for p, v in theta.items()}, c, extra)
    N_m = jnp.median(own.N_opt, axis=0)
    log_c = jnp.log(c)
    loss_b = law_loss(law, pe, x_b, log_c - x_b, extra)
    loss_p = law_loss(law, pe, jnp.log(plug.N_opt), jnp.log(plug.D_opt), extra)
    loss_m = law_loss(law, pe, jnp.log(N_m), log_c - jnp.log(N_m), extra)
    N_b = jnp.exp(x_b)
    return BayesOptimal(
        budget=C,
        N_bayes=N_b,
        D_bayes=c / N_b,
        expected_loss_bayes=el_b,
        N_plugin=plug.N_opt,
        D_plugin=plug.D_opt,
        expected_loss_plugin=jnp.mean(loss_p, axis=0),
        N_median=N_m,
        expected_loss_median=jnp.mean(loss_m, axis=0),
        N_draws=own.N_opt,
        D_draws=own.D_opt,
        loss_draws=own.loss,
        expected_loss_oracle=jnp.mean(own.loss, axis=0),
        loss_bayes_draws=loss_b,
        loss_plugin_draws=loss_p,
    )


def bayes_optimal(
    theta: Any,
    budgets: Array,
    *,
    law: Law = CHINCHILLA,
    covariates: Mapping[str, float] | None = None,
    flops_per_param_token: float = 6.0,
    grid_size: int = 64,
    iters: int = 60,
) -> BayesOptimal:
    r"""The model size minimising posterior expected loss at each budget.

    .. math:: N_{Bayes}(C) = \arg\min_N \frac1S \sum_s L_s\!\left(N, \frac{C}{kN}\right)

    found by a grid of ``grid_size`` points in log N between the extreme per-draw optima
    (where the minimiser must lie when each draw's profile is unimodal), refined by
    ``iters`` golden-section steps and Newton — every draw and budget evaluated at once.

    Parameters
    ----------
    theta : mapping or ChinchillaParams
        Posterior draws of the law's parameters, each of shape (S,)
        (e.g. :meth:`FitResult.theta`).
    budgets : float or array of shape (K,)
        Compute budgets C in FLOPs.
    law, covariates, flops_per_param_token
        As in :func:`loss_profile`.
    grid_size, iters : int
        Search grid points and golden-section refinements.

    Returns
    -------
    BayesOptimal
        Bayes, plug-in (posterior-median parameters) and per-draw optima with their expected
        losses. ``N_draws`` are the allocation's per-draw optima, to the last bit.

    Examples
    --------
    >>> import jax, numpy as np
    >>> from bayescale.laws.chinchilla import ChinchillaParams
    >>> p = ChinchillaParams(*(np.full(3, v) for v in (1.69, 406.4, 410.7, 0.34, 0.28)))
    >>> with jax.enable_x64():
    ...     r = bayes_optimal(p, [5.76e23])
    >>> bool(np.allclose(r.N_bayes, r.N_plugin, rtol=1e-6))  # a point mass: they coincide
    True
    """
    law, theta, extra, k = decision_inputs(law, theta, covariates, flops_per_param_token)
    C = positive_1d(budgets, "budgets", "FLOPs")
    if int(grid_size) < 3 or int(iters) < 1:
        raise ValueError(f"grid_size must be >= 3 and iters >= 1, got {grid_size}, {iters}")
    return _bayes_optimal(
        theta, jnp.asarray(C), jnp.asarray(k), extra, law, int(grid_size), int(iters)
    )


# ------------------------------------------------------------------------------ regret
class Regret(NamedTuple):
    """Regret of P plans on S draws.

    Attributes
    ----------
    N, D, C : (P,)
        The plans and their budgets.
    regret : (S, P)
        :math:`L_s(N, D) - L_s(N^*_s(C), D^*_s(C))` (≥ 0; rounding below zero is clipped).
    loss_plan, loss_opt : (S, P)
        The plan's loss and the optimal loss at the same budget.
    N_opt : (S, P)
        Each draw's optimal N at the plan's budget.
    compute_fraction : (S, P)
        :math:`C_{eq}/C`: the fraction of the plan's budget with which the optimal
        allocation reaches the plan's loss. ``1 − compute_fraction`` is the wasted share.
    """

    N: Array
    D: Array
    C: Array
    regret: Array
    loss_plan: Array
    loss_opt: Array
    N_opt: Array
    compute_fraction: Array


@partial(jax.jit, static_argnames=("law", "waste"))
def _regret(
    theta: Theta, N: Array, D: Array, k: Array, extra: Mapping, law: Law, waste: bool
) -> Regret:
    pe = expand_draws(theta, 1)
    C = k * N * D
    loss_plan = law_loss(law, pe, jnp.log(N), jnp.log(D), extra)
    opt = law_optimum(law, pe, C / k, extra)
    # The optimum is exact up to rounding, so L(plan) − L(opt) ≥ 0 but for ~1e-16.
    reg = jnp.maximum(loss_plan - opt.loss, 0.0)
    log_C = jnp.broadcast_to(jnp.log(C), loss_plan.shape)
    if waste:
        log_eq, _, bad = bisect_decreasing(
            lambda lc: frontier_loss(law, pe, lc, k, extra),
            loss_plan,
            log_C - _WASTE_SPAN,
            log_C,
            _BISECT,
        )
        log_eq = jnp.where(bad | jnp.isnan(opt.loss), jnp.nan, log_eq)
    else:  # the bisection dominates the cost; regret curves over many N skip it
        log_eq = jnp.full_like(log_C, jnp.nan)
    return Regret(
        N=N,
        D=D,
        C=C,
        regret=reg,
        loss_plan=loss_plan,
        loss_opt=opt.loss,
        N_opt=opt.N_opt,
        compute_fraction=jnp.exp(log_eq - log_C),
    )


def regret(
    theta: Any,
    N: Array,
    D: Array | None = None,
    *,
    C: Array | None = None,
    law: Law = CHINCHILLA,
    covariates: Mapping[str, float] | None = None,
    flops_per_param_token: float = 6.0,
    waste: bool = True,
) -> Regret:
    r"""Posterior of the regret of planned runs, in loss and in compute.

    For a plan (N, D) at its budget C = kND, on each draw s:

    .. math:: R_s = L_s(N, D) - L_s(N^*_s(C), D^*_s(C)) \ge 0,

    and the compute-equivalent: the budget :math:`C_{eq,s} \le C` whose optimal loss equals
    the plan's, found by bisection in log C on the (decreasing) optimal-loss frontier.
    For the Chinchilla law the frontier is :math:`E + K_s C^{-\alpha\beta/(\alpha+\beta)}`,
    so :math:`C_{eq}/C = (R_s/(L_s^*(C) - E) + 1)^{-(\alpha+\beta)/(\alpha\beta)}`
    (the tests check the bisection against this).

    Parameters
    ----------
    theta : mapping or ChinchillaParams
        Posterior draws of the law's parameters, each of shape (S,).
    N : float or array (P,)
        Planned parameters.
    D : float or array (P,), optional
        Planned tokens. Give exactly one of ``D`` or ``C``.
    C : float or array (P,), optional
        Planned budget in FLOPs (then D = C/(kN)).
    law, covariates, flops_per_param_token
        As in :func:`loss_profile`.
    waste : bool, default True
        Solve for the compute-equivalent; ``False`` leaves ``compute_fraction`` NaN (faster
        for regret curves over many N).

    Returns
    -------
    Regret
        Arrays of shape (S, P) per draw and plan.
    """
    law, theta, extra, k = decision_inputs(law, theta, covariates, flops_per_param_token)
    N = positive_1d(N, "N", "parameters")
    if (D is None) == (C is None):
        raise ValueError("give exactly one of D (tokens) or C (FLOPs) for the plan")
    if D is not None:
        D = positive_1d(D, "D", "tokens")
    else:
        C = positive_1d(C, "C", "FLOPs")
        N, C = np.broadcast_arrays(N, C)
        D = C / (k * N)
    try:
        N, D = np.broadcast_arrays(N, D)
    except ValueError:
        raise ValueError(f"N and D must have the same length, got {len(N)} and {len(D)}") from None
    return _regret(theta, jnp.asarray(N), jnp.asarray(D), jnp.asarray(k), extra, law, bool(waste))


# ------------------------------------------------------------------------------ target loss
class ComputeForLoss(NamedTuple):
    """Least compute reaching each of T target losses, per draw (S, T).

    Attributes
    ----------
    target : (T,)
        Target losses.
    C, N, D : (S, T)
        Minimal budget and the optimal allocation there; NaN where unreachable.
    reachable : (S, T) bool
        Whether the target lies above the draw's floor and is reached within ``C_RANGE``
        (at budgets where the draw's optimum is located).
    floor : (S,)
        The draw's irreducible loss.
    """

    target: Array
    C: Array
    N: Array
    D: Array
    reachable: Array
    floor: Array


@partial(jax.jit, static_argnames=("law",))
def _compute_for_loss(
    theta: Theta, target: Array, k: Array, extra: Mapping, law: Law
) -> ComputeForLoss:
    pe = expand_draws(theta, 1)
    S = theta[law.params[0]].shape[0]
    shape = (S, target.shape[0])
    lo = jnp.full(shape, math.log(C_RANGE[0]))
    hi = jnp.full(shape, math.log(C_RANGE[1]))
    floor = loss_floor(law, theta)
    log_c, hit, bad = bisect_decreasing(
        lambda lc: frontier_loss(law, pe, lc, k, extra), target[None, :], lo, hi, _BISECT
    )
    reachable = (target[None, :] > floor[:, None]) & hit & ~bad
    C = jnp.where(reachable, jnp.exp(log_c), jnp.nan)
    opt = law_optimum(law, pe, C / k, extra)
    return ComputeForLoss(
        target=target, C=C, N=opt.N_opt, D=opt.D_opt, reachable=reachable, floor=floor
    )


def compute_for_loss(
    theta: Any,
    targets: Array,
    *,
    law: Law = CHINCHILLA,
    covariates: Mapping[str, float] | None = None,
    flops_per_param_token: float = 6.0,
) -> ComputeForLoss:
    r"""Posterior of the least compute whose optimal allocation reaches a target loss.

    On each draw, :math:`C^*_s(L^*) = \min\{C : L^*_s(C) \le L^*\}` where
    :math:`L^*_s(C)` is the loss at the draw's optimum, found by bisection in log C over
    :data:`C_RANGE`. A target at or below the draw's floor (the law's irreducible loss E,
    0 for a law without one) or not reached within ``C_RANGE`` is unreachable: C, N and D
    are NaN there and ``reachable`` is False. Never an extrapolated number.

    Parameters
    ----------
    theta : mapping or ChinchillaParams
        Posterior draws of the law's parameters, each of shape (S,).
    targets : float or array (T,)
        Target losses (> 0).
    law, covariates, flops_per_param_token
        As in :func:`loss_profile`.

    Returns
    -------
    ComputeForLoss
    """
    law, theta, extra, k = decision_inputs(law, theta, covariates, flops_per_param_token)
    L = positive_1d(targets, "target_loss", "a loss value")
    return _compute_for_loss(theta, jnp.asarray(L), jnp.asarray(k), extra, law)


# ------------------------------------------------------------------------------ data cap
class DataLimited(NamedTuple):
    """Best allocation under a cap D ≤ D_max (K budgets, S draws).

    Attributes
    ----------
    budget : (K,)
    D_max : ()
        The cap on unique training tokens.
    N, D, loss : (S, K)
        Each draw's best allocation under the cap and its loss.
    binds : (S, K) bool
        Whether the draw's unconstrained optimum needs more than D_max tokens.
    loss_unconstrained : (S, K)
        Loss at the unconstrained optimum; ``loss − loss_unconstrained`` is the cap's cost.
    C_bind : (S,)
        Budget above which the cap binds: the C where :math:`D^*_s(C) = D_{max}`
        (``inf`` if that lies beyond ``C_RANGE``).
    N_bayes, D_bayes, expected_loss_bayes : (K,)
        Bayes-optimal allocation subject to the cap.
    """

    budget: Array
    D_max: Array
    N: Array
    D: Array
    loss: Array
    binds: Array
    loss_unconstrained: Array
    C_bind: Array
    N_bayes: Array
    D_bayes: Array
    expected_loss_bayes: Array


@partial(jax.jit, static_argnames=("law", "grid_size", "iters"))
def _data_limited(
    theta: Theta,
    C: Array,
    D_max: Array,
    k: Array,
    extra: Mapping,
    law: Law,
    grid_size: int,
    iters: int,
) -> DataLimited:
    pe = expand_draws(theta, 1)
    c = C / k
    opt = law_optimum(law, pe, c, extra)
    binds = opt.D_opt > D_max
    # Along C = kND the loss is unimodal in N, so a binding cap puts the optimum on D = D_max.
    N_cap = c / D_max
    N = jnp.where(binds, N_cap, opt.N_opt)
    D = c / N
    loss = law_loss(law, pe, jnp.log(N), jnp.log(D), extra)
    S = theta[law.params[0]].shape[0]

    def neg_log_d(log_C: Array) -> Array:  # decreasing in C: D*(C) grows with C
        return -jnp.log(law_optimum(law, pe, jnp.exp(log_C) / k, extra).D_opt)

    lo = jnp.full((S, 1), math.log(C_RANGE[0]))
    hi = jnp.full((S, 1), math.log(C_RANGE[1]))
    log_bind, hit, bad = bisect_decreasing(neg_log_d, -jnp.log(D_max), lo, hi, _BISECT)
    # inf: never binds within C_RANGE
    C_bind = jnp.where(bad, jnp.nan, jnp.where(hit, jnp.exp(log_bind), jnp.inf))[:, 0]
    x_b, el_b = _bayes_search(
        law, pe, c, extra, jnp.log(opt.N_opt), jnp.log(N_cap), grid_size, iters
    )
    N_b = jnp.exp(x_b)
    return DataLimited(
        budget=C,
        D_max=D_max,
        N=N,
        D=D,
        loss=loss,
        binds=binds,
        loss_unconstrained=opt.loss,
        C_bind=C_bind,
        N_bayes=N_b,
        D_bayes=c / N_b,
        expected_loss_bayes=el_b,
    )


def data_limited(
    theta: Any,
    budgets: Array,
    D_max: float,
    *,
    law: Law = CHINCHILLA,
    covariates: Mapping[str, float] | None = None,
    flops_per_param_token: float = 6.0,
    grid_size: int = 64,
    iters: int = 60,
) -> DataLimited:
    r"""Best allocation with at most ``D_max`` training tokens, and where the cap binds.

    On each draw the constrained optimum is the unconstrained one when
    :math:`D^*_s(C) \le D_{max}`, else :math:`D = D_{max}`, :math:`N = C/(kD_{max})` (the
    loss along C = kND is unimodal in N). The cap binds above :math:`C_{bind,s}` with
    :math:`D^*_s(C_{bind,s}) = D_{max}` — for the Chinchilla law
    :math:`C_{bind} = k\,(G D_{max})^{(\alpha+\beta)/\alpha}` — found by bisection in log C.
    The Bayes-optimal N under the cap minimises the expected loss over
    :math:`N \ge C/(kD_{max})`.

    Parameters
    ----------
    theta : mapping or ChinchillaParams
        Posterior draws of the law's parameters, each of shape (S,).
    budgets : float or array (K,)
        Budgets in FLOPs.
    D_max : float
        Available unique tokens.
    law, covariates, flops_per_param_token
        As in :func:`loss_profile`.
    grid_size, iters : int
        Bayes search settings (see :func:`bayes_optimal`).

    Returns
    -------
    DataLimited
    """
    law, theta, extra, k = decision_inputs(law, theta, covariates, flops_per_param_token)
    C = positive_1d(budgets, "budgets", "FLOPs")
    d_max = positive_1d(D_max, "D_max", "tokens")
    if d_max.size != 1:
        raise ValueError(f"D_max must be one number of tokens, got {D_max!r}")
    return _data_limited(
        theta,
        jnp.asarray(C),
        jnp.asarray(d_max[0]),
        jnp.asarray(k),
        extra,
        law,
        int(grid_size),
        int(iters),
    )
