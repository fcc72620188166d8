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

Laws plug in. Every function takes the parameter pytree (any pytree whose leaves are arrays
with a leading draws axis of length S) and the law as functions:

- ``loss_fn(params, N, D)`` — the loss, broadcasting elementwise between parameter leaves and
  N, D (callers append trailing axes to the leaves);
- ``optimum_fn(params, C, k)`` — ``(N_opt, D_opt)`` under C = kND, elementwise likewise;
  ``None`` finds it numerically (grid plus golden-section search in log N);
- ``floor_fn(params)`` — the infimum of the loss (the irreducible loss E); ``None`` uses the
  optimal loss at the largest budget searched.

Defaults are the Chinchilla law (:func:`chinchilla_loss`, :func:`chinchilla_optimum`,
:func:`chinchilla_floor`). The searches assume what holds for every law in use: along
C = kND the loss is unimodal in log N, and the optimal loss falls as C grows.

All functions are pure and JIT-compiled, with no Python loop over draws, budgets, plans or
grid points. Call them inside ``jax.enable_x64()`` — regrets are small differences of losses
— as the ``*_table`` helpers (what :class:`~bayescale.FitResult` methods call) do.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from functools import partial
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from bayescale.posterior import check_ci, interval, summarize

__all__ = [
    "BayesOptimal",
    "ComputeForLoss",
    "DataLimited",
    "Plan",
    "Regret",
    "as_plans",
    "bayes_optimal",
    "bayes_optimal_table",
    "chinchilla_floor",
    "chinchilla_loss",
    "chinchilla_optimum",
    "compute_for_loss",
    "compute_for_loss_table",
    "data_limited",
    "data_limited_table",
    "expected_loss",
    "loss_profile",
    "numerical_optimum",
    "parse_plan",
    "regret",
    "regret_table",
    "summarize_unbounded",
]

Array = Any
LossFn = Callable[[Any, Array, Array], Array]
OptimumFn = Callable[[Any, Array, Array], tuple[Array, Array]]
FloorFn = Callable[[Any], Array]

#: Search range for budgets (FLOPs) when solving for a compute: 1 FLOP to 1e60 FLOPs.
C_RANGE = (1.0, 1e60)
# Bisection steps over the 138-nat log-C range: 2^-64 · 138 ≈ 7e-18, below float64 epsilon.
_BISECT = 64
# Compute-equivalent solves look within e^-60 ≈ 1e-26 of the plan's budget.
_WASTE_SPAN = 60.0
_INVPHI = (math.sqrt(5.0) - 1.0) / 2.0


# ------------------------------------------------------------------------------ the law
def chinchilla_loss(params: Any, N: Array, D: Array) -> Array:
    r"""Chinchilla loss :math:`E + A/N^\alpha + B/D^\beta`, elementwise broadcasting.

    ``params`` is a :class:`~bayescale.law.ChinchillaParams` (or any sequence E, A, B,
    alpha, beta) whose fields broadcast against N and D.
    """
    E, A, B, alpha, beta = params
    return E + jnp.exp(jnp.log(A) - alpha * jnp.log(N)) + jnp.exp(jnp.log(B) - beta * jnp.log(D))


def chinchilla_optimum(params: Any, C: Array, k: Array = 6.0) -> tuple[Array, Array]:
    r"""Closed-form optimum under C = kND, elementwise.

    The formula of :func:`bayescale.allocation.compute_optimal`:
    :math:`N^* = G (C/k)^{\beta/(\alpha+\beta)}`,
    :math:`G = (\alpha A/(\beta B))^{1/(\alpha+\beta)}`, :math:`D^* = (C/k)/N^*`.
    """
    _, A, B, alpha, beta = params
    s = alpha + beta
    log_G = (jnp.log(alpha) + jnp.log(A) - jnp.log(beta) - jnp.log(B)) / s
    c = C / k
    N = jnp.exp(log_G + (beta / s) * jnp.log(c))
    return N, c / N


def chinchilla_floor(params: Any) -> Array:
    """Irreducible loss E: the infimum of the Chinchilla law."""
    return jnp.asarray(params[0])


def _golden(f: Callable[[Array], Array], a: Array, b: Array, iters: int) -> Array:
    """Golden-section minimisation of ``f`` on [a, b], elementwise over arrays of brackets."""

    def body(_: int, ab: tuple[Array, Array]) -> tuple[Array, Array]:
        a, b = ab
        c = b - _INVPHI * (b - a)
        d = a + _INVPHI * (b - a)
        left = f(c) <= f(d)
        return jnp.where(left, a, c), jnp.where(left, d, b)

    a, b = jax.lax.fori_loop(0, iters, body, (a, b))
    return 0.5 * (a + b)


def _newton_polish(
    f: Callable[[Array], Array], x: Array, lo: Array, hi: Array, steps: int = 2
) -> Array:
    """A few safeguarded Newton steps on f'(x) = 0, elementwise.

    Near a minimum f is flat to rounding over ~1e-7 relative in x, so comparing f values
    (golden section) cannot locate it better; f' and f'' by forward-mode autodiff can.
    Steps leave x unchanged where f'' <= 0 or the result is not finite, and stay in [lo, hi].
    """

    def d1(x: Array) -> Array:
        return jax.jvp(f, (x,), (jnp.ones_like(x),))[1]

    for _ in range(steps):
        g, h = jax.jvp(d1, (x,), (jnp.ones_like(x),))
        xn = jnp.clip(x - g / h, lo, hi)
        x = jnp.where((h > 0) & jnp.isfinite(xn), xn, x)
    return x


def numerical_optimum(
    loss_fn: LossFn,
    *,
    ratio_range: tuple[float, float] = (1e-4, 1e6),
    grid_size: int = 48,
    iters: int = 60,
) -> OptimumFn:
    """An ``optimum_fn`` for a law without a closed form.

    Along C = kND it evaluates the loss on a log grid of tokens per parameter D/N in
    ``ratio_range``, then refines the best grid point by golden-section search in log N.

    Parameters
    ----------
    loss_fn : callable
        ``loss_fn(params, N, D)``, elementwise.
    ratio_range : (float, float)
        Tokens-per-parameter range searched.
    grid_size, iters : int
        Grid points and golden-section iterations.

    Returns
    -------
    callable
        ``optimum_fn(params, C, k) -> (N_opt, D_opt)``, elementwise.
    """
    lr_lo, lr_hi = math.log(ratio_range[0]), math.log(ratio_range[1])

    def optimum_fn(params: Any, C: Array, k: Array = 6.0) -> tuple[Array, Array]:
        c = C / k
        log_c = jnp.log(c)

        def profile(x: Array) -> Array:  # x = log N, broadcast with c
            return loss_fn(params, jnp.exp(x), jnp.exp(log_c - x))

        # N = sqrt(c / r) for r = D/N: log N = (log c − log r) / 2, on the broadcast shape
        # of parameters × budgets
        shape = jax.eval_shape(profile, 0.5 * log_c).shape
        log_r = jnp.linspace(lr_hi, lr_lo, grid_size).reshape((grid_size,) + (1,) * len(shape))
        grid = 0.5 * (jnp.broadcast_to(log_c, shape)[None] - log_r)  # (G, *shape)
        vals = jax.lax.map(profile, grid)
        i = jnp.argmin(vals, axis=0)
        x0 = jnp.take_along_axis(grid, i[None], axis=0)[0]
        step = 0.5 * (lr_hi - lr_lo) / (grid_size - 1)
        x = _golden(profile, x0 - step, x0 + step, iters)
        x = _newton_polish(profile, x, x0 - step, x0 + step)
        N = jnp.exp(x)
        return N, c / N

    return optimum_fn


def _resolve(
    loss_fn: LossFn | None, optimum_fn: OptimumFn | None, floor_fn: FloorFn | None
) -> tuple[LossFn, OptimumFn, FloorFn | None]:
    if loss_fn is None:
        if optimum_fn is not None or floor_fn is not None:
            raise ValueError(
                "optimum_fn / floor_fn were given without loss_fn; pass the law's loss_fn too"
            )
        return chinchilla_loss, chinchilla_optimum, chinchilla_floor
    if not callable(loss_fn):
        raise ValueError(f"loss_fn must be callable(params, N, D), got {loss_fn!r}")
    if optimum_fn is None:
        optimum_fn = _numerical_optimum_cached(loss_fn)
    return loss_fn, optimum_fn, floor_fn


_NUMERICAL_CACHE: dict[Any, OptimumFn] = {}


def _numerical_optimum_cached(loss_fn: LossFn) -> OptimumFn:
    # One wrapper per loss_fn, so jit's cache (keyed on the static function) is reused.
    if loss_fn not in _NUMERICAL_CACHE:
        _NUMERICAL_CACHE[loss_fn] = numerical_optimum(loss_fn)
    return _NUMERICAL_CACHE[loss_fn]


# ------------------------------------------------------------------------------ validation
def _check_params(params: Any) -> tuple[Any, int]:
    """Leaves as float arrays with one leading draws axis of a common length S."""
    leaves = jax.tree_util.tree_leaves(params)
    if not leaves:
        raise ValueError("params must be a pytree of arrays (e.g. ChinchillaParams), got none")
    params = jax.tree_util.tree_map(lambda x: jnp.atleast_1d(jnp.asarray(x, float)), params)
    shapes = {jnp.shape(x) for x in jax.tree_util.tree_leaves(params)}
    if len(shapes) != 1 or len(next(iter(shapes))) != 1:
        raise ValueError(
            "params leaves must all have shape (n_draws,) — one leading draws axis — got "
            f"shapes {sorted(shapes)}"
        )
    return params, int(next(iter(shapes))[0])


def _positive_1d(x: Any, name: str, expected: str) -> np.ndarray:
    if isinstance(x, str):
        raise ValueError(f"{name} must be numbers ({expected}), got {x!r}")
    try:
        a = np.atleast_1d(np.asarray(x, dtype=np.float64))
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be numbers ({expected}), got {x!r}") from None
    if a.ndim != 1 or a.size == 0:
        raise ValueError(f"{name} must be a number or a 1-d sequence of numbers, got {x!r}")
    bad = ~np.isfinite(a) | (a <= 0)
    if bad.any():
        raise ValueError(f"{name} must be finite and > 0 ({expected}), got {a[bad].tolist()}")
    return a


def _check_k(k: Any) -> float:
    try:
        v = float(k)
    except (TypeError, ValueError):
        raise ValueError(f"flops_per_param_token must be a number > 0, got {k!r}") from None
    if not math.isfinite(v) or v <= 0:
        raise ValueError(f"flops_per_param_token must be a number > 0, got {k!r}")
    return v


def _expand(params: Any, n: int) -> Any:
    """Append ``n`` axes to every leaf so (S,) leaves broadcast against decision arrays."""
    return jax.tree_util.tree_map(lambda x: jnp.reshape(x, jnp.shape(x) + (1,) * n), params)


def _median_params(params: Any) -> Any:
    return jax.tree_util.tree_map(lambda x: jnp.median(x, axis=0), params)


# ------------------------------------------------------------------------------ profiles
def loss_profile(
    params: Any,
    budget: Array,
    N: Array,
    *,
    loss_fn: LossFn | None = None,
    flops_per_param_token: float = 6.0,
) -> Array:
    """Loss of every draw at model sizes ``N`` along C = kND (isoFLOP profiles).

    Parameters
    ----------
    params : pytree
        Posterior draws, leaves of shape (S,).
    budget : float or array (K,)
        Budget(s) C in FLOPs.
    N : array (G,) or (K, G)
        Model sizes: one grid for all budgets, or one row per budget.
    loss_fn : callable, optional
        The law (default Chinchilla).
    flops_per_param_token : float, default 6
        k in C = kND.

    Returns
    -------
    array
        Shape (S, G) for a scalar budget, (S, K, G) for K budgets.
    """
    params, _ = _check_params(params)
    loss_fn = chinchilla_loss if loss_fn is None else loss_fn
    scalar = np.ndim(budget) == 0
    C = _positive_1d(budget, "budget", "FLOPs")
    N = np.asarray(N, dtype=np.float64)
    if N.ndim == 1:
        N = np.broadcast_to(N, (C.size, N.size))
    if N.shape[0] != C.size or N.ndim != 2 or not np.all(np.isfinite(N) & (N > 0)):
        raise ValueError(
            f"N must be finite sizes > 0 of shape (G,) or ({C.size}, G), got shape {N.shape}"
        )
    k = _check_k(flops_per_param_token)
    N = jnp.asarray(N)
    out = loss_fn(_expand(params, 2), N, jnp.asarray(C)[:, None] / (k * N))
    return out[:, 0] if scalar else out


def expected_loss(
    params: Any,
    budget: Array,
    N: Array,
    *,
    loss_fn: LossFn | None = None,
    flops_per_param_token: float = 6.0,
) -> Array:
    """Posterior expected loss at model sizes ``N`` along C = kND: shape (len(N),)."""
    return jnp.mean(
        loss_profile(
            params, budget, N, loss_fn=loss_fn, flops_per_param_token=flops_per_param_token
        ),
        axis=0,
    )


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
    loss_fn: LossFn,
    pe: Any,
    C: Array,
    k: Array,
    x_draws: Array,
    x_min: Array,
    grid_size: int,
    iters: int,
) -> tuple[Array, Array]:
    """Minimise the draw-mean loss over x = log N, per budget; returns (x, mean loss)."""

    def mean_loss(x: Array) -> Array:
        N = jnp.exp(x)
        return jnp.mean(loss_fn(pe, N, C / (k * N)), axis=0)

    # If each draw's profile is unimodal, the mean decreases left of every draw's optimum
    # and increases right of all of them: the minimiser lies between the extreme optima.
    xd = jnp.maximum(x_draws, x_min)
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
    x = _newton_polish(mean_loss, _golden(mean_loss, a, b, iters), a, b)
    fx = mean_loss(x)
    # keep the grid point if refinement did not improve on it (beyond rounding)
    better = fx <= f0 + 1e-13 * jnp.abs(f0)
    return jnp.where(better, x, x0), jnp.where(better, fx, f0)


@partial(jax.jit, static_argnames=("loss_fn", "optimum_fn", "grid_size", "iters"))
def _bayes_optimal(
    params: Any,
    C: Array,
    k: Array,
    loss_fn: LossFn,
    optimum_fn: OptimumFn,
    grid_size: int,
    iters: int,
) -> BayesOptimal:
    pe = _expand(params, 1)
    N_d, D_d = optimum_fn(pe, C, k)  # (S, K)
    loss_d = loss_fn(pe, N_d, D_d)
    x_b, el_b = _bayes_search(loss_fn, pe, C, k, jnp.log(N_d), -jnp.inf, grid_size, iters)
    N_b = jnp.exp(x_b)
    pm = _median_params(params)
    N_p, D_p = optimum_fn(pm, C, k)
    N_m = jnp.median(N_d, axis=0)
    loss_b = loss_fn(pe, N_b, C / (k * N_b))
    loss_p = loss_fn(pe, N_p, C / (k * N_p))
    loss_m = loss_fn(pe, N_m, C / (k * N_m))
    return BayesOptimal(
        budget=C,
        N_bayes=N_b,
        D_bayes=C / (k * N_b),
        expected_loss_bayes=el_b,
        N_plugin=N_p,
        D_plugin=D_p,
        expected_loss_plugin=jnp.mean(loss_p, axis=0),
        N_median=N_m,
        expected_loss_median=jnp.mean(loss_m, axis=0),
        N_draws=N_d,
        D_draws=D_d,
        loss_draws=loss_d,
        expected_loss_oracle=jnp.mean(loss_d, axis=0),
        loss_bayes_draws=loss_b,
        loss_plugin_draws=loss_p,
    )


def bayes_optimal(
    params: Any,
    budgets: Array,
    *,
    loss_fn: LossFn | None = None,
    optimum_fn: OptimumFn | None = None,
    flops_per_param_token: float = 6.0,
    grid_size: int = 64,
    iters: int = 60,
) -> BayesOptimal:
    r"""The model size minimising posterior expected loss at each budget.

    .. math:: N_{Bayes}(C) = \arg\min_N \frac1S \sum_s L_s\!\left(N, \frac{C}{kN}\right)

    found by a grid of ``grid_size`` points in log N between the extreme per-draw optima
    (where the minimiser must lie when each draw's profile is unimodal), refined by
    ``iters`` golden-section steps — every draw and budget evaluated at once.

    Parameters
    ----------
    params : pytree
        Posterior draws, leaves of shape (S,) (e.g. :meth:`FitResult.params`).
    budgets : float or array of shape (K,)
        Compute budgets C in FLOPs.
    loss_fn, optimum_fn : callable, optional
        The law (default Chinchilla); see the module docstring.
    flops_per_param_token : float, default 6
        k in C = kND.
    grid_size, iters : int
        Search grid points and golden-section refinements.

    Returns
    -------
    BayesOptimal
        Bayes, plug-in (posterior-median parameters) and per-draw optima with their expected
        losses.

    Examples
    --------
    >>> import jax, numpy as np
    >>> from bayescale.law import ChinchillaParams
    >>> p = ChinchillaParams(*(np.full(3, v) for v in (1.69, 406.4, 410.7, 0.34, 0.28)))
    >>> with jax.enable_x64():
    ...     r = bayes_optimal(p, [5.76e23])
    >>> bool(np.allclose(r.N_bayes, r.N_plugin, rtol=1e-6))  # a point mass: they coincide
    True
    """
    params, _ = _check_params(params)
    loss_fn, optimum_fn, _ = _resolve(loss_fn, optimum_fn, None)
    C = _positive_1d(budgets, "budgets", "FLOPs")
    k = _check_k(flops_per_param_token)
    if int(grid_size) < 3 or int(iters) < 1:
        raise ValueError(f"grid_size must be >= 3 and iters >= 1, got {grid_size}, {iters}")
    return _bayes_optimal(
        params, jnp.asarray(C), jnp.asarray(k), loss_fn, optimum_fn, int(grid_size), int(iters)
    )


# ------------------------------------------------------------------------------ plans
class Plan(NamedTuple):
    """A planned run: N parameters on D tokens at compute C = kND."""

    N: float
    D: float
    C: float
    label: str


_PLAN_RE = re.compile(r"^\s*(?P<N>[^/@]+?)\s*(?:/\s*(?P<D>[^/@]+?)|@\s*(?P<C>.+?))\s*$")


def parse_plan(text: str, flops_per_param_token: float = 6.0) -> Plan:
    """Parse a plan: ``"70B/1.4T"`` (N / D) or ``"70B@5.76e23"`` (N at budget C).

    C may be in any unit :func:`bayescale.units.parse_budget` reads.

    Raises
    ------
    ValueError
        Unreadable plan, with what was expected.
    """
    from bayescale.units import parse_budget, parse_count

    m = _PLAN_RE.match(text) if isinstance(text, str) else None
    if m is None:
        raise ValueError(
            f"cannot read plan {text!r}; expected N/D such as 70B/1.4T or N@C such as 70B@5.76e23"
        )
    k = _check_k(flops_per_param_token)
    N = parse_count(m.group("N"), "plan N")
    if m.group("D") is not None:
        D = parse_count(m.group("D"), "plan D")
        return Plan(N, D, k * N * D, text.strip())
    C = parse_budget(m.group("C"))
    return Plan(N, C / (k * N), C, text.strip())


def as_plans(plans: Any, flops_per_param_token: float = 6.0) -> list[Plan]:
    """Normalise plans to a list of :class:`Plan`.

    Accepts a :class:`Plan`, a string (:func:`parse_plan`), a tuple ``(N, D)``, a mapping
    with ``N`` and ``D`` or ``C`` (and optional ``label``), or a list of these.
    """
    k = _check_k(flops_per_param_token)
    if plans is None:
        return []
    if isinstance(plans, Plan | str | Mapping) or (
        isinstance(plans, tuple) and len(plans) == 2 and not isinstance(plans[0], Iterable)
    ):
        plans = [plans]
    out = []
    for p in plans:
        if isinstance(p, Plan):
            out.append(p)
        elif isinstance(p, str):
            out.append(parse_plan(p, k))
        elif isinstance(p, Mapping):
            N = _positive_1d(p.get("N"), "plan N", "parameters")[0]
            if (p.get("D") is None) == (p.get("C") is None):
                raise ValueError(f"plan {dict(p)!r} needs exactly one of D (tokens) or C (FLOPs)")
            if p.get("D") is not None:
                D = _positive_1d(p["D"], "plan D", "tokens")[0]
                C = k * N * D
            else:
                C = _positive_1d(p["C"], "plan C", "FLOPs")[0]
                D = C / (k * N)
            label = p.get("label") or f"N={N:.3g}, D={D:.3g}"
            out.append(Plan(float(N), float(D), float(C), str(label)))
        elif isinstance(p, tuple | list) and len(p) == 2:
            N = _positive_1d(p[0], "plan N", "parameters")[0]
            D = _positive_1d(p[1], "plan D", "tokens")[0]
            out.append(Plan(float(N), float(D), float(k * N * D), f"N={N:.3g}, D={D:.3g}"))
        else:
            raise ValueError(
                f"cannot read plan {p!r}; expected '70B/1.4T', (N, D), "
                "{'N': ..., 'D' or 'C': ...} or a Plan"
            )
    return out


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


def _frontier_loss(loss_fn: LossFn, optimum_fn: OptimumFn, pe: Any, log_c: Array, k: Array):
    N, D = optimum_fn(pe, jnp.exp(log_c), k)
    return loss_fn(pe, N, D)


def _bisect_decreasing(
    f: Callable[[Array], Array], target: Array, lo: Array, hi: Array, iters: int
) -> Array:
    """Smallest x in [lo, hi] with f(x) <= target, for f decreasing; elementwise."""

    def body(_: int, lohi: tuple[Array, Array]) -> tuple[Array, Array]:
        lo, hi = lohi
        mid = 0.5 * (lo + hi)
        above = f(mid) > target
        return jnp.where(above, mid, lo), jnp.where(above, hi, mid)

    _, hi = jax.lax.fori_loop(0, iters, body, (lo, hi))
    return hi


@partial(jax.jit, static_argnames=("loss_fn", "optimum_fn", "waste"))
def _regret(
    params: Any,
    N: Array,
    D: Array,
    k: Array,
    loss_fn: LossFn,
    optimum_fn: OptimumFn,
    waste: bool,
) -> Regret:
    pe = _expand(params, 1)
    C = k * N * D
    loss_plan = loss_fn(pe, N, D)
    N_opt, D_opt = optimum_fn(pe, C, k)
    loss_opt = loss_fn(pe, N_opt, D_opt)
    # The optimum is exact up to rounding, so L(plan) − L(opt) ≥ 0 but for ~1e-16.
    reg = jnp.maximum(loss_plan - loss_opt, 0.0)
    log_C = jnp.broadcast_to(jnp.log(C), loss_plan.shape)
    if waste:
        log_eq = _bisect_decreasing(
            lambda c: _frontier_loss(loss_fn, optimum_fn, pe, c, k),
            loss_plan,
            log_C - _WASTE_SPAN,
            log_C,
            _BISECT,
        )
    else:  # the bisection dominates the cost; regret curves over many N skip it
        log_eq = jnp.full_like(log_C, jnp.nan)
    return Regret(
        N=N,
        D=D,
        C=C,
        regret=reg,
        loss_plan=loss_plan,
        loss_opt=loss_opt,
        N_opt=N_opt,
        compute_fraction=jnp.exp(log_eq - log_C),
    )


def regret(
    params: Any,
    N: Array,
    D: Array | None = None,
    *,
    C: Array | None = None,
    loss_fn: LossFn | None = None,
    optimum_fn: OptimumFn | None = None,
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
    params : pytree
        Posterior draws, leaves of shape (S,).
    N : float or array (P,)
        Planned parameters.
    D : float or array (P,), optional
        Planned tokens. Give exactly one of ``D`` or ``C``.
    C : float or array (P,), optional
        Planned budget in FLOPs (then D = C/(kN)).
    loss_fn, optimum_fn : callable, optional
        The law (default Chinchilla).
    flops_per_param_token : float, default 6
        k in C = kND.
    waste : bool, default True
        Solve for the compute-equivalent; ``False`` leaves ``compute_fraction`` NaN (faster
        for regret curves over many N).

    Returns
    -------
    Regret
        Arrays of shape (S, P) per draw and plan.
    """
    params, _ = _check_params(params)
    loss_fn, optimum_fn, _ = _resolve(loss_fn, optimum_fn, None)
    k = _check_k(flops_per_param_token)
    N = _positive_1d(N, "N", "parameters")
    if (D is None) == (C is None):
        raise ValueError("give exactly one of D (tokens) or C (FLOPs) for the plan")
    if D is not None:
        D = _positive_1d(D, "D", "tokens")
    else:
        C = _positive_1d(C, "C", "FLOPs")
        N, C = np.broadcast_arrays(N, C)
        D = C / (k * N)
    try:
        N, D = np.broadcast_arrays(N, D)
    except ValueError:
        raise ValueError(f"N and D must have the same length, got {len(N)} and {len(D)}") from None
    return _regret(
        params, jnp.asarray(N), jnp.asarray(D), jnp.asarray(k), loss_fn, optimum_fn, bool(waste)
    )


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
        Whether the target lies above the draw's floor (and is reached within ``C_RANGE``).
    floor : (S,)
        The draw's irreducible loss.
    """

    target: Array
    C: Array
    N: Array
    D: Array
    reachable: Array
    floor: Array


@partial(jax.jit, static_argnames=("loss_fn", "optimum_fn", "floor_fn"))
def _compute_for_loss(
    params: Any,
    target: Array,
    k: Array,
    loss_fn: LossFn,
    optimum_fn: OptimumFn,
    floor_fn: FloorFn | None,
) -> ComputeForLoss:
    pe = _expand(params, 1)
    S = jax.tree_util.tree_leaves(params)[0].shape[0]
    shape = (S, target.shape[0])
    lo = jnp.full(shape, math.log(C_RANGE[0]))
    hi = jnp.full(shape, math.log(C_RANGE[1]))
    frontier = partial(_frontier_loss, loss_fn, optimum_fn, pe, k=k)
    loss_at_max = frontier(hi)
    floor = loss_at_max[:, 0] if floor_fn is None else jnp.broadcast_to(floor_fn(params), (S,))
    reachable = (target[None, :] > floor[:, None]) & (loss_at_max <= target[None, :])
    log_c = _bisect_decreasing(frontier, target[None, :], lo, hi, _BISECT)
    C = jnp.where(reachable, jnp.exp(log_c), jnp.nan)
    N, D = optimum_fn(pe, C, k)
    return ComputeForLoss(target=target, C=C, N=N, D=D, reachable=reachable, floor=floor)


def compute_for_loss(
    params: Any,
    targets: Array,
    *,
    loss_fn: LossFn | None = None,
    optimum_fn: OptimumFn | None = None,
    floor_fn: FloorFn | None = None,
    flops_per_param_token: float = 6.0,
) -> ComputeForLoss:
    r"""Posterior of the least compute whose optimal allocation reaches a target loss.

    On each draw, :math:`C^*_s(L^*) = \min\{C : L^*_s(C) \le L^*\}` where
    :math:`L^*_s(C)` is the loss at the draw's optimum, found by bisection in log C over
    :data:`C_RANGE`. A target at or below the draw's floor (the irreducible loss E for the
    Chinchilla law) is unreachable with any compute: C, N and D are NaN there and
    ``reachable`` is False. Never an extrapolated number.

    Parameters
    ----------
    params : pytree
        Posterior draws, leaves of shape (S,).
    targets : float or array (T,)
        Target losses (> 0).
    loss_fn, optimum_fn, floor_fn : callable, optional
        The law (default Chinchilla). Without ``floor_fn`` a target counts as reachable when
        the optimal loss falls below it within ``C_RANGE``.
    flops_per_param_token : float, default 6
        k in C = kND.

    Returns
    -------
    ComputeForLoss
    """
    params, _ = _check_params(params)
    if loss_fn is None:
        loss_fn, optimum_fn, floor_fn = _resolve(None, None, None)
    else:
        loss_fn, optimum_fn, floor_fn = _resolve(loss_fn, optimum_fn, floor_fn)
    L = _positive_1d(targets, "target_loss", "a loss value")
    k = _check_k(flops_per_param_token)
    return _compute_for_loss(params, jnp.asarray(L), jnp.asarray(k), loss_fn, optimum_fn, floor_fn)


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


@partial(jax.jit, static_argnames=("loss_fn", "optimum_fn", "grid_size", "iters"))
def _data_limited(
    params: Any,
    C: Array,
    D_max: Array,
    k: Array,
    loss_fn: LossFn,
    optimum_fn: OptimumFn,
    grid_size: int,
    iters: int,
) -> DataLimited:
    pe = _expand(params, 1)
    N_opt, D_opt = optimum_fn(pe, C, k)
    binds = D_opt > D_max
    # Along C = kND the loss is unimodal in N, so a binding cap puts the optimum on D = D_max.
    N_cap = C / (k * D_max)
    N = jnp.where(binds, N_cap, N_opt)
    D = C / (k * N)
    loss = loss_fn(pe, N, D)
    loss_unc = loss_fn(pe, N_opt, D_opt)
    S = jax.tree_util.tree_leaves(params)[0].shape[0]

    def neg_log_d(log_c: Array) -> Array:  # decreasing in C: D*(C) grows with C
        return -jnp.log(optimum_fn(pe, jnp.exp(log_c), k)[1])

    lo = jnp.full((S, 1), math.log(C_RANGE[0]))
    hi = jnp.full((S, 1), math.log(C_RANGE[1]))
    log_bind = _bisect_decreasing(neg_log_d, -jnp.log(D_max), lo, hi, _BISECT)[:, 0]
    reached = neg_log_d(hi)[:, 0] <= -jnp.log(D_max)
    C_bind = jnp.where(reached, jnp.exp(log_bind), jnp.inf)  # inf: never binds in C_RANGE
    x_b, el_b = _bayes_search(loss_fn, pe, C, k, jnp.log(N_opt), jnp.log(N_cap), grid_size, iters)
    N_b = jnp.exp(x_b)
    return DataLimited(
        budget=C,
        D_max=D_max,
        N=N,
        D=D,
        loss=loss,
        binds=binds,
        loss_unconstrained=loss_unc,
        C_bind=C_bind,
        N_bayes=N_b,
        D_bayes=C / (k * N_b),
        expected_loss_bayes=el_b,
    )


def data_limited(
    params: Any,
    budgets: Array,
    D_max: float,
    *,
    loss_fn: LossFn | None = None,
    optimum_fn: OptimumFn | None = None,
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
    params : pytree
        Posterior draws, leaves of shape (S,).
    budgets : float or array (K,)
        Budgets in FLOPs.
    D_max : float
        Available unique tokens.
    loss_fn, optimum_fn : callable, optional
        The law (default Chinchilla).
    flops_per_param_token : float, default 6
        k in C = kND.
    grid_size, iters : int
        Bayes search settings (see :func:`bayes_optimal`).

    Returns
    -------
    DataLimited
    """
    params, _ = _check_params(params)
    loss_fn, optimum_fn, _ = _resolve(loss_fn, optimum_fn, None)
    C = _positive_1d(budgets, "budgets", "FLOPs")
    d_max = _positive_1d(D_max, "D_max", "tokens")
    if d_max.size != 1:
        raise ValueError(f"D_max must be one number of tokens, got {D_max!r}")
    k = _check_k(flops_per_param_token)
    return _data_limited(
        params,
        jnp.asarray(C),
        jnp.asarray(d_max[0]),
        jnp.asarray(k),
        loss_fn,
        optimum_fn,
        int(grid_size),
        int(iters),
    )


# ------------------------------------------------------------------------------ summaries
_BIG = 1e300  # stands for +inf (unreachable) inside quantile arithmetic


def summarize_unbounded(draws: Any, ci: float = 0.9, axis: int = 0) -> dict[str, np.ndarray]:
    """Median and equal-tailed interval of draws where NaN/inf mean "never" (unreachable).

    Unreachable draws count as +inf, so a quantile is +inf when it falls among them: with
    30% of draws unreachable the median is finite but the 95% quantile is inf. ``p_finite``
    is the share of reachable draws.

    Returns
    -------
    dict
        ``{"median", "lo", "hi", "p_finite"}``.
    """
    ci, _ = check_ci(ci, "eti")
    x = np.asarray(draws, dtype=np.float64)
    finite = np.isfinite(x)
    y = np.where(finite, x, _BIG)
    q = np.quantile(y, [0.5, (1.0 - ci) / 2.0, (1.0 + ci) / 2.0], axis=axis)
    q = np.where(q > 1e299, np.inf, q)
    return {"median": q[0], "lo": q[1], "hi": q[2], "p_finite": finite.mean(axis=axis)}


def _x64() -> Any:
    # Decisions are small differences of losses: always float64, whatever the fit used.
    return jax.enable_x64(True)


def _np(x: Any) -> np.ndarray:
    return np.asarray(x, dtype=np.float64)


def bayes_optimal_table(
    params: Any,
    budgets: Any,
    *,
    ci: float = 0.9,
    ci_kind: str = "eti",
    flops_per_param_token: float = 6.0,
    loss_fn: LossFn | None = None,
    optimum_fn: OptimumFn | None = None,
    floor_fn: FloorFn | None = None,
) -> pd.DataFrame:
    """:func:`bayes_optimal` summarised per budget (what ``FitResult.bayes_optimal`` returns).

    Columns: ``budget``; ``N_bayes, D_bayes, expected_loss_bayes``; ``N_plugin, D_plugin,
    expected_loss_plugin``; ``N_opt`` (median of per-draw optima) with ``N_opt_lo/hi`` and
    ``D_opt``, ``D_opt_lo/hi``, ``expected_loss_median``; ``expected_loss_oracle``;
    ``plugin_vs_bayes`` and ``median_vs_bayes`` (N ratios to the Bayes choice);
    ``excess_loss_plugin`` and ``excess_loss_median`` (expected-loss cost of those choices
    over the Bayes one, ≥ 0); ``evpi`` (expected value of perfect information, in loss).
    """
    ci, ci_kind = check_ci(ci, ci_kind)
    with _x64():
        r = bayes_optimal(
            params,
            budgets,
            loss_fn=loss_fn,
            optimum_fn=optimum_fn,
            flops_per_param_token=flops_per_param_token,
        )
        r = BayesOptimal(*(_np(x) for x in r))
    N_lo, N_hi = interval(r.N_draws, ci, ci_kind)
    D_lo, D_hi = interval(r.D_draws, ci, ci_kind)
    table = pd.DataFrame(
        {
            "budget": r.budget,
            "N_bayes": r.N_bayes,
            "D_bayes": r.D_bayes,
            "expected_loss_bayes": r.expected_loss_bayes,
            "N_plugin": r.N_plugin,
            "D_plugin": r.D_plugin,
            "expected_loss_plugin": r.expected_loss_plugin,
            "N_opt": r.N_median,
            "N_opt_lo": N_lo,
            "N_opt_hi": N_hi,
            "D_opt": np.median(r.D_draws, axis=0),
            "D_opt_lo": D_lo,
            "D_opt_hi": D_hi,
            "expected_loss_median": r.expected_loss_median,
            "expected_loss_oracle": r.expected_loss_oracle,
            "plugin_vs_bayes": r.N_plugin / r.N_bayes,
            "median_vs_bayes": r.N_median / r.N_bayes,
            "excess_loss_plugin": r.expected_loss_plugin - r.expected_loss_bayes,
            "excess_loss_median": r.expected_loss_median - r.expected_loss_bayes,
            "evpi": r.expected_loss_bayes - r.expected_loss_oracle,
        }
    )
    table.attrs.update(ci=ci, ci_kind=ci_kind)
    return table


def regret_table(
    params: Any,
    plans: Any,
    *,
    eps: Any = (1e-3, 1e-2),
    within: float = 2.0,
    ci: float = 0.9,
    ci_kind: str = "eti",
    flops_per_param_token: float = 6.0,
    loss_fn: LossFn | None = None,
    optimum_fn: OptimumFn | None = None,
    floor_fn: FloorFn | None = None,
) -> pd.DataFrame:
    """:func:`regret` summarised per plan (what ``FitResult.regret`` returns).

    Columns: ``label, N, D, C``; ``regret`` (median), ``regret_lo/hi``, ``regret_mean``
    (expected regret); ``p_regret_below_<eps>`` for each ε; ``waste`` (median share of C
    wasted, 1 − C_eq/C), ``waste_lo/hi``, ``waste_mean``; ``wasted_flops`` (median);
    ``N_opt`` (median), ``N_opt_lo/hi``; ``p_within`` — P(N_opt/within ≤ N ≤ within·N_opt);
    ``loss_plan`` and ``loss_opt`` (medians).
    """
    ci, ci_kind = check_ci(ci, ci_kind)
    eps_arr = _positive_1d(eps, "eps", "regret thresholds in loss units")
    within = float(_positive_1d(within, "within", "a factor > 1")[0])
    if within <= 1.0:
        raise ValueError(f"within must be a factor > 1, got {within}")
    ps = as_plans(plans, flops_per_param_token)
    if not ps:
        raise ValueError("plans must contain at least one plan, got none")
    with _x64():
        r = regret(
            params,
            [p.N for p in ps],
            [p.D for p in ps],
            loss_fn=loss_fn,
            optimum_fn=optimum_fn,
            flops_per_param_token=flops_per_param_token,
        )
        r = Regret(*(_np(x) for x in r))
    reg = summarize(r.regret, ci, ci_kind)
    waste = 1.0 - r.compute_fraction
    w = summarize(waste, ci, ci_kind)
    n_opt = summarize(r.N_opt, ci, ci_kind)
    cols: dict[str, Any] = {
        "label": [p.label for p in ps],
        "N": r.N,
        "D": r.D,
        "C": r.C,
        "regret": reg["median"],
        "regret_lo": reg["lo"],
        "regret_hi": reg["hi"],
        "regret_mean": reg["mean"],
    }
    for e in eps_arr:
        cols[f"p_regret_below_{e:g}"] = np.mean(r.regret < e, axis=0)
    ratio = r.N[None, :] / r.N_opt
    cols.update(
        {
            "waste": w["median"],
            "waste_lo": w["lo"],
            "waste_hi": w["hi"],
            "waste_mean": w["mean"],
            "wasted_flops": w["median"] * r.C,
            "N_opt": n_opt["median"],
            "N_opt_lo": n_opt["lo"],
            "N_opt_hi": n_opt["hi"],
            "p_within": np.mean(np.abs(np.log(ratio)) <= math.log(within), axis=0),
            "loss_plan": np.median(r.loss_plan, axis=0),
            "loss_opt": np.median(r.loss_opt, axis=0),
        }
    )
    table = pd.DataFrame(cols)
    table.attrs.update(ci=ci, ci_kind=ci_kind, eps=eps_arr.tolist(), within=within)
    return table


def compute_for_loss_table(
    params: Any,
    targets: Any,
    *,
    ci: float = 0.9,
    flops_per_param_token: float = 6.0,
    loss_fn: LossFn | None = None,
    optimum_fn: OptimumFn | None = None,
    floor_fn: FloorFn | None = None,
) -> pd.DataFrame:
    """:func:`compute_for_loss` summarised per target (``FitResult.compute_for_loss``).

    Columns: ``target``, ``p_reachable``, and for each of ``C``, ``N``, ``D`` the median and
    ``_lo``/``_hi`` of an equal-tailed interval in which unreachable draws count as +inf —
    so a bound (or the median) is ``inf`` when it falls among them.
    """
    ci, _ = check_ci(ci, "eti")
    with _x64():
        r = compute_for_loss(
            params,
            targets,
            loss_fn=loss_fn,
            optimum_fn=optimum_fn,
            floor_fn=floor_fn,
            flops_per_param_token=flops_per_param_token,
        )
        r = ComputeForLoss(*(np.asarray(x) for x in r))
    cols: dict[str, Any] = {"target": r.target.astype(np.float64)}
    cols["p_reachable"] = r.reachable.mean(axis=0)
    for name in ("C", "N", "D"):
        s = summarize_unbounded(getattr(r, name), ci)
        cols[name], cols[f"{name}_lo"], cols[f"{name}_hi"] = s["median"], s["lo"], s["hi"]
    cols["floor"] = np.full(r.target.shape, np.median(r.floor))
    table = pd.DataFrame(cols)
    table.attrs.update(ci=ci, ci_kind="eti")
    return table


def data_limited_table(
    params: Any,
    D_max: float,
    budgets: Any,
    *,
    ci: float = 0.9,
    ci_kind: str = "eti",
    flops_per_param_token: float = 6.0,
    loss_fn: LossFn | None = None,
    optimum_fn: OptimumFn | None = None,
    floor_fn: FloorFn | None = None,
) -> pd.DataFrame:
    """:func:`data_limited` summarised per budget (``FitResult.data_limited``).

    Columns: ``budget``, ``D_max``, ``p_binds``; per-draw best ``N``, ``D``, ``loss`` under
    the cap (median, ``_lo``, ``_hi``); ``loss_penalty`` (cost of the cap in loss: median,
    interval); ``N_bayes``, ``D_bayes``, ``expected_loss_bayes`` under the cap. The budget
    above which the cap binds is in ``table.attrs["C_bind"]`` (``median``, ``lo``, ``hi``;
    equal-tailed).
    """
    ci, ci_kind = check_ci(ci, ci_kind)
    if isinstance(D_max, str):
        from bayescale.units import parse_count

        D_max = parse_count(D_max, "D_max")
    with _x64():
        r = data_limited(
            params,
            budgets,
            D_max,
            loss_fn=loss_fn,
            optimum_fn=optimum_fn,
            flops_per_param_token=flops_per_param_token,
        )
        r = DataLimited(*(np.asarray(x) for x in r))
    cols: dict[str, Any] = {
        "budget": r.budget,
        "D_max": np.full(r.budget.shape, float(r.D_max)),
        "p_binds": r.binds.mean(axis=0),
    }
    for name, x in (
        ("N", r.N),
        ("D", r.D),
        ("loss", r.loss),
        ("loss_penalty", np.maximum(r.loss - r.loss_unconstrained, 0.0)),  # rounding
    ):
        s = summarize(x, ci, ci_kind)
        cols[name], cols[f"{name}_lo"], cols[f"{name}_hi"] = s["median"], s["lo"], s["hi"]
    cols.update(N_bayes=r.N_bayes, D_bayes=r.D_bayes, expected_loss_bayes=r.expected_loss_bayes)
    table = pd.DataFrame(cols)
    bind = summarize_unbounded(r.C_bind, ci)
    table.attrs.update(
        ci=ci,
        ci_kind=ci_kind,
        C_bind={k: float(bind[k]) for k in ("median", "lo", "hi", "p_finite")},
    )
    return table
