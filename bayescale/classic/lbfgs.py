"""Batched L-BFGS: many independent 5-parameter problems advanced in lockstep, in JAX.

Arrays carry a leading batch shape ``(G, S)``: G data sets (``fit_many``) × S problems per
data set (optimiser starts or bootstrap replicas). One iteration updates every problem that
has not stopped; stopped ones are frozen by masks, and the caller drops problems that cannot
win (successive halving in :mod:`bayescale.classic`), so the batch shrinks instead of
waiting on its slowest member.

Each iteration: the L-BFGS two-loop direction (memory ``m``), a backtracking Armijo line
search that needs only objective values (the cheap fused kernel) with safeguarded
quadratic interpolation, then one value-and-gradient evaluation at the accepted point.
Curvature pairs with s·y ≤ 0 are skipped, so the inverse-Hessian estimate stays positive
definite; a failed line search clears the memory once and retries along −g before the
problem is marked stalled.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

Array = Any

#: Why a problem stopped (``LBFGSState.status``).
RUNNING, GTOL, FTOL, STALLED, MAXITER, NONFINITE = 0, 1, 2, 3, 4, 5
STATUS_NAMES = ("running", "gtol", "ftol", "stalled", "max_iter", "nonfinite")


class LBFGSSettings(NamedTuple):
    """Static settings (hashable: they key the compiled stage functions)."""

    memory: int = 10
    gtol: float = 1e-8
    ftol: float = 1e-13
    c1: float = 1e-4
    max_backtracks: int = 30
    max_step: float = 10.0


class LBFGSState(NamedTuple):
    """State of every problem; leading axes ``(G, S)``."""

    x: Array  # (G, S, P)
    f: Array  # (G, S)
    g: Array  # (G, S, P)
    s: Array  # (G, S, m, P), oldest first
    y: Array  # (G, S, m, P)
    rho: Array  # (G, S, m); 0 marks an empty slot
    n_iter: Array  # (G, S) int32
    status: Array  # (G, S) int32, RUNNING until stopped


ValueAndGrad = Callable[[Array, Any, Any], tuple[Array, Array]]
Value = Callable[[Array, Any, Any], Array]


def init_state(
    x: Array, per_set: Any, shared: Any, value_and_grad: ValueAndGrad, memory: int
) -> LBFGSState:
    """Evaluate the objective at the starts ``x`` (G, S, P) and set up empty memories."""
    f, g = value_and_grad(x, per_set, shared)
    G, S, P = x.shape
    bad = ~(jnp.isfinite(f) & jnp.all(jnp.isfinite(g), axis=-1))
    return LBFGSState(
        x=x,
        f=jnp.where(bad, jnp.inf, f),
        g=jnp.where(bad[..., None], 0.0, g),
        s=jnp.zeros((G, S, memory, P), x.dtype),
        y=jnp.zeros((G, S, memory, P), x.dtype),
        rho=jnp.zeros((G, S, memory), x.dtype),
        n_iter=jnp.zeros((G, S), jnp.int32),
        status=jnp.where(bad, NONFINITE, RUNNING).astype(jnp.int32),
    )


def _dot(u: Array, v: Array) -> Array:
    return jnp.sum(u * v, axis=-1)


def _direction(state: LBFGSState) -> Array:
    """Two-loop recursion: −H·g with H from the stored pairs (newest last).

    Written as two ``lax.scan`` over the memory rather than unrolled Python loops: the
    same arithmetic, a third of the HLO, measured 40% less compile time.
    """
    s_h = jnp.moveaxis(state.s, -2, 0)
    y_h = jnp.moveaxis(state.y, -2, 0)
    rho_h = jnp.moveaxis(state.rho, -1, 0)

    def backward(q: Array, pair: Any) -> Any:
        s, y, rho = pair
        a = rho * _dot(s, q)
        return q - a[..., None] * y, a

    q, alphas = jax.lax.scan(backward, state.g, (s_h, y_h, rho_h), reverse=True)
    s_new, y_new = state.s[..., -1, :], state.y[..., -1, :]
    yy = _dot(y_new, y_new)
    have = state.rho[..., -1] > 0
    # H0 = γI with γ = s·y / y·y (Nocedal & Wright eq. 7.20); with no pairs yet, a step of
    # at most unit length along −g
    gnorm = jnp.sqrt(_dot(state.g, state.g))
    gamma = jnp.where(
        have, _dot(s_new, y_new) / jnp.where(have, yy, 1.0), 1.0 / jnp.maximum(1.0, gnorm)
    )

    def forward(r: Array, pair: Any) -> Any:
        s, y, rho, a = pair
        b = rho * _dot(y, r)
        return r + s * (a - b)[..., None], None

    r, _ = jax.lax.scan(forward, gamma[..., None] * q, (s_h, y_h, rho_h, alphas))
    return -r


def _take(a: Array, idx: Array) -> Array:
    """Gather problems ``idx`` (G, K) from ``a`` with leading axes (G, S)."""
    index = idx.reshape(idx.shape + (1,) * (a.ndim - 2))
    return jnp.take_along_axis(a, index, axis=1)


def _put(a: Array, idx: Array, v: Array) -> Array:
    """Scatter ``v`` (G, K, ...) into ``a`` (G, S, ...) at ``idx`` (G, K)."""
    return jax.vmap(lambda ag, ig, vg: ag.at[ig].set(vg))(a, idx, v)


def _backtrack(
    x: Array,
    f: Array,
    d: Array,
    slope: Array,
    t: Array,
    t_min: Array,
    searching: Array,
    per_set: Any,
    shared: Any,
    value: Value,
    settings: LBFGSSettings,
) -> tuple[Array, Array, Array]:
    """Armijo backtracking for the problems marked ``searching``; returns (t, ok, gave_up)."""

    def cond(carry: Any) -> Any:
        _t, ok, gave_up, k = carry
        return jnp.any(searching & ~ok & ~gave_up) & (k < settings.max_backtracks)

    def body(carry: Any) -> Any:
        t, ok, gave_up, k = carry
        f_t = value(x + t[..., None] * d, per_set, shared)
        live = searching & ~ok & ~gave_up
        accept = live & (f_t <= f + settings.c1 * t * slope)
        # safeguarded quadratic interpolation of the next trial step
        denom = 2.0 * (f_t - f - t * slope)
        t_quad = jnp.where(
            jnp.isfinite(f_t) & (denom > 0), -slope * t * t / jnp.where(denom > 0, denom, 1.0), 0
        )
        t_next = jnp.clip(t_quad, 0.1 * t, 0.5 * t)
        retry = live & ~accept
        # steps this short cannot change x in floating point: give up rather than shrink
        gave_up = gave_up | (retry & (t_next < t_min))
        t = jnp.where(retry, t_next, t)
        return t, ok | accept, gave_up, k + 1

    false = jnp.zeros_like(searching)
    t, ok, gave_up, _ = jax.lax.while_loop(
        cond, body, (t, false, false, jnp.asarray(0, jnp.int32))
    )
    return t, ok & searching, gave_up | (searching & ~ok)


#: Above this many problems per data set, backtracking runs on a compacted subset.
COMPACT_ABOVE = 512


def step(
    state: LBFGSState,
    per_set: Any,
    shared: Any,
    value_and_grad: ValueAndGrad,
    value: Value,
    settings: LBFGSSettings,
) -> LBFGSState:
    """One L-BFGS iteration for every running problem; stopped ones are left unchanged.

    ``per_set`` is a pytree of arrays with leading axes (G, S) that belong to each problem
    (bootstrap weights); ``shared`` holds the rest of the data. The objective functions are
    called as ``value(x, per_set, shared)``.
    """
    active = state.status == RUNNING
    d = _direction(state)
    slope = _dot(state.g, d)
    # not a descent direction (numerical trouble): fall back to steepest descent
    bad_dir = ~(slope < 0) | ~jnp.all(jnp.isfinite(d), axis=-1)
    d = jnp.where(bad_dir[..., None], -state.g, d)
    slope = jnp.where(bad_dir, -_dot(state.g, state.g), slope)
    # cap the first trial step's length: a, b, e enter through exp, so a huge step overflows
    dnorm = jnp.sqrt(_dot(d, d))
    t = jnp.minimum(1.0, settings.max_step / jnp.maximum(dnorm, 1e-300))
    t_min = 1e-14 * (1.0 + jnp.sqrt(_dot(state.x, state.x))) / jnp.maximum(dnorm, 1e-300)

    S = state.x.shape[1]
    if S <= COMPACT_ABOVE:
        t, ok, _ = _backtrack(
            state.x, state.f, d, slope, t, t_min, active, per_set, shared, value, settings
        )
    else:
        # The first trial step is accepted by most problems. Every further trial would
        # cost a full-batch evaluation for the few that need it, so those are gathered
        # into blocks of S/8 and searched there.
        one = settings._replace(max_backtracks=1)
        t, ok, _ = _backtrack(
            state.x, state.f, d, slope, t, t_min, active, per_set, shared, value, one
        )
        K = -(-S // 8)

        def round_cond(carry: Any) -> Any:
            return jnp.any(carry[3])

        def round_body(carry: Any) -> Any:
            t, ok, gave_up, need = carry
            _, idx = jax.lax.top_k(need.astype(jnp.int32), K)
            sub = functools.partial(_take, idx=idx)
            t_k, ok_k, gave_k = _backtrack(
                sub(state.x),
                sub(state.f),
                sub(d),
                sub(slope),
                sub(t),
                sub(t_min),
                sub(need),
                jax.tree.map(sub, per_set),
                shared,
                value,
                settings,
            )
            was = sub(need)
            t = _put(t, idx, jnp.where(was, t_k, sub(t)))
            ok = _put(ok, idx, sub(ok) | ok_k)
            gave_up = _put(gave_up, idx, jnp.where(was, gave_k, sub(gave_up)))
            need = _put(need, idx, jnp.zeros_like(was))
            return t, ok, gave_up, need

        need = active & ~ok
        t, ok, _, _ = jax.lax.while_loop(round_cond, round_body, (t, ok, jnp.zeros_like(ok), need))

    moved = active & ok
    x_new = jnp.where(moved[..., None], state.x + t[..., None] * d, state.x)
    # (the accepted value is recomputed with the gradient: one fused pass either way)
    f_eval, g_new = value_and_grad(x_new, per_set, shared)
    g_new = jnp.where(moved[..., None], g_new, state.g)
    f_new = jnp.where(moved, f_eval, state.f)

    s_k = x_new - state.x
    y_k = g_new - state.g
    sy = _dot(s_k, y_k)
    update = moved & (sy > 1e-12 * jnp.sqrt(_dot(s_k, s_k) * _dot(y_k, y_k)))

    def push(buf: Array, new: Array) -> Array:
        rolled = jnp.concatenate([buf[..., 1:, :], new[..., None, :]], axis=-2)
        return jnp.where(update[..., None, None], rolled, buf)

    s_buf = push(state.s, s_k)
    y_buf = push(state.y, y_k)
    rho_rolled = jnp.concatenate(
        [state.rho[..., 1:], (1.0 / jnp.where(update, sy, 1.0))[..., None]], axis=-1
    )
    rho = jnp.where(update[..., None], rho_rolled, state.rho)
    # a failed line search with a memory: forget it and retry along −g next time
    had_memory = jnp.any(state.rho > 0, axis=-1)
    reset = active & ~ok & had_memory
    rho = jnp.where(reset[..., None], 0.0, rho)

    gmax = jnp.max(jnp.abs(g_new), axis=-1)
    decrease = state.f - f_new
    scale = jnp.maximum(jnp.maximum(jnp.abs(state.f), jnp.abs(f_new)), 1.0)
    finite = jnp.isfinite(f_new) & jnp.all(jnp.isfinite(g_new), axis=-1)
    status = state.status
    status = jnp.where(active & moved & (decrease <= settings.ftol * scale), FTOL, status)
    status = jnp.where(active & moved & (gmax <= settings.gtol), GTOL, status)
    status = jnp.where(active & ~ok & ~had_memory, STALLED, status)
    status = jnp.where(active & ~finite, NONFINITE, status)
    return LBFGSState(
        x=x_new,
        f=f_new,
        g=g_new,
        s=s_buf,
        y=y_buf,
        rho=rho,
        n_iter=state.n_iter + active.astype(jnp.int32),
        status=status,
    )


def run(
    state: LBFGSState,
    per_set: Any,
    shared: Any,
    max_steps: Array,
    value_and_grad: ValueAndGrad,
    value: Value,
    settings: LBFGSSettings,
) -> LBFGSState:
    """Iterate until every problem has stopped or ``max_steps`` iterations have run."""

    def cond(carry: Any) -> Any:
        st, k = carry
        return (k < max_steps) & jnp.any(st.status == RUNNING)

    def body(carry: Any) -> Any:
        st, k = carry
        return step(st, per_set, shared, value_and_grad, value, settings), k + 1

    state, _ = jax.lax.while_loop(cond, body, (state, jnp.asarray(0, jnp.int32)))
    return state


def keep_best(state: LBFGSState, per_set: Any, k: int) -> tuple[LBFGSState, Any]:
    """The ``k`` problems with the lowest objective in each data set (successive halving)."""
    score = jnp.where(jnp.isfinite(state.f), state.f, jnp.inf)
    _, idx = jax.lax.top_k(-score, k)  # (G, k)
    take = functools.partial(_take, idx=idx)
    return jax.tree.map(take, state), jax.tree.map(take, per_set)
