r"""The one compute-optimal solver: N_opt under C = k·N·D for every law, draw and budget.

Along the isoFLOP line :math:`N D = c = C/k` the loss of a law with kernel
``law.log_loss(theta, x)`` is a function of :math:`x = \log N` alone,

.. math:: g(x) = \log L\bigl(\theta;\ N = e^x,\ D = c\,e^{-x}\bigr),

and :math:`\log N_{opt}` minimises it. Everything that needs an optimum — allocations,
the Bayes-optimal choice, regret, compute for a target loss, data caps, plots — calls
:func:`log_n_opt`, so they agree to the last bit.

**Closed form.** A law's optional ``log_n_opt(theta, log_c)`` (Chinchilla: Hoffmann et al.
2022, Appendix D.2; Kaplan: Eq. 1.5) is used whenever the law has one.

**Numerical search** (every other law), one and the same everywhere:

1. range: :math:`x` within ±``SEARCH_HALF_WIDTH`` = 12 nats of :math:`\log\sqrt{c}`, i.e.
   tokens per parameter :math:`D/N = c\,e^{-2x}` within :math:`e^{\pm 24} \approx 10^{\pm 10.4}`
   — far beyond any law in use (Chinchilla ~20, Kaplan ~1e-2..1e2 at 1e20..1e30 FLOPs);
2. grid: ``SEARCH_GRID`` = 49 points (0.5 nats apart); the best one brackets the basin;
3. golden section: ``GOLDEN_STEPS`` = 48 steps inside ±1 grid step of it;
4. Newton: ``NEWTON_STEPS`` = 2 steps on :math:`g'(x) = 0` with exact forward-mode
   derivatives — comparing values of a flat minimum locates it to ~sqrt(eps) only.

**Edge rule.** Where the best grid point is the first or the last one — no interior
minimum in the range: the optimum lies beyond :math:`10^{\pm 10.4}` tokens per parameter,
or the profile is monotone or flat there — the result is **NaN**, never the edge value.
NaN propagates into everything derived from that optimum (D, loss, regret, expected loss),
so a decision that would rest on a clamped optimum is NaN instead. Kernel values that are
NaN on the grid count as +inf. The search assumes one basin wider than the grid step.

All functions broadcast elementwise (parameter leaves, ``log_c`` and covariates), with no
Python loop over draws or budgets; the grid is scanned by :func:`jax.lax.fori_loop`, so
memory is that of one kernel evaluation. Call inside ``jax.enable_x64()`` for float64.

This module comes before :mod:`bayescale.laws` (which calls it): it knows a law only by
its attributes ``log_loss``, ``log_n_opt``, ``covariates``, ``params`` and ``name``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

__all__ = [
    "GOLDEN_STEPS",
    "NEWTON_STEPS",
    "SEARCH_GRID",
    "SEARCH_HALF_WIDTH",
    "Allocation",
    "allocate",
    "allocation_at",
    "golden_section",
    "log_covariates",
    "log_n_opt",
    "newton_polish",
    "numerical_log_n_opt",
]

Array = Any
Theta = Mapping[str, Array]

#: Half-width in nats of log N of the range searched around log sqrt(C/k).
SEARCH_HALF_WIDTH = 12.0
#: Grid points over that range (0.5 nats apart).
SEARCH_GRID = 49
#: Golden-section steps inside the grid bracket (0.618^48 ≈ 1e-10 of its width).
GOLDEN_STEPS = 48
#: Newton steps polishing the golden-section result.
NEWTON_STEPS = 2

_INVPHI = (math.sqrt(5.0) - 1.0) / 2.0


class Allocation(NamedTuple):
    """Compute-optimal allocation per parameter set and budget (shape ``S + (K,)``)."""

    N_opt: Array
    D_opt: Array
    tokens_per_param: Array
    loss: Array


# ---------------------------------------------------------------------- 1-d minimisers
def golden_section(f: Callable[[Array], Array], lo: Array, hi: Array, steps: int) -> Array:
    """Golden-section minimum of ``f`` on [lo, hi], elementwise; one evaluation per step.

    Parameters
    ----------
    f : callable
        Elementwise: maps an array of points to values of the same shape.
    lo, hi : array
        Brackets, one per element.
    steps : int
        Iterations; each shrinks the bracket by 0.618.

    Returns
    -------
    array
        The better of the two interior points of the final bracket.
    """

    def body(_: Any, carry: tuple) -> tuple:
        a, b, c, d, fc, fd = carry
        left = fc < fd  # the minimum lies in [a, d]
        a, b = jnp.where(left, a, c), jnp.where(left, d, b)
        new = jnp.where(left, b - _INVPHI * (b - a), a + _INVPHI * (b - a))
        fnew = f(new)
        c, d = jnp.where(left, new, d), jnp.where(left, c, new)
        fc, fd = jnp.where(left, fnew, fd), jnp.where(left, fc, fnew)
        return a, b, c, d, fc, fd

    c = hi - _INVPHI * (hi - lo)
    d = lo + _INVPHI * (hi - lo)
    _, _, c, d, fc, fd = jax.lax.fori_loop(0, steps, body, (lo, hi, c, d, f(c), f(d)))
    return jnp.where(fc < fd, c, d)


def newton_polish(
    f: Callable[[Array], Array], x: Array, lo: Array, hi: Array, steps: int = NEWTON_STEPS
) -> Array:
    """Safeguarded Newton steps on f'(x) = 0, elementwise, staying in [lo, hi].

    f' and f'' come from forward-mode autodiff. A step is skipped where f'' <= 0 or the
    result is not finite.
    """

    def d1(x: Array) -> Array:
        return jax.jvp(f, (x,), (jnp.ones_like(x),))[1]

    def body(_: Any, x: Array) -> Array:
        g, h = jax.jvp(d1, (x,), (jnp.ones_like(x),))
        xn = jnp.clip(x - g / h, lo, hi)
        return jnp.where((h > 0) & jnp.isfinite(xn), xn, x)

    return jax.lax.fori_loop(0, steps, body, x)


# ---------------------------------------------------------------------- the optimum
def numerical_log_n_opt(
    log_loss: Callable[[Theta, Mapping[str, Array]], Array],
    theta: Theta,
    log_c: Array,
    extra: Mapping[str, Array] | None = None,
) -> Array:
    """Numerical log N_opt along C = k·N·D (grid, golden section, Newton; see module doc).

    Parameters
    ----------
    log_loss : callable
        Elementwise kernel ``log_loss(theta, x)``.
    theta : mapping
        Parameter values; leaves broadcast with ``log_c``.
    log_c : array
        log(C/k).
    extra : mapping, optional
        Further log-covariates (``{"log_U_D": ...}``), broadcasting likewise.

    Returns
    -------
    array
        log N_opt on the broadcast shape; NaN where the grid minimum is on the range's edge.
    """
    theta = {k: jnp.asarray(v) for k, v in theta.items()}
    log_c = jnp.asarray(log_c)
    extra = {k: jnp.asarray(v) for k, v in (extra or {}).items()}

    def g(x: Array) -> Array:
        return log_loss(theta, {"log_N": x, "log_D": log_c - x, **extra})

    shape = jnp.broadcast_shapes(
        log_c.shape, *(v.shape for v in theta.values()), *(v.shape for v in extra.values())
    )
    out = jax.eval_shape(g, jax.ShapeDtypeStruct(shape, jnp.result_type(log_c, float)))
    center = jnp.broadcast_to(0.5 * log_c, out.shape).astype(out.dtype)
    step = 2.0 * SEARCH_HALF_WIDTH / (SEARCH_GRID - 1)

    # 1. grid scan, one evaluation at a time (memory of one evaluation, not of the grid)
    def scan(i: Array, carry: tuple[Array, Array]) -> tuple[Array, Array]:
        best, arg = carry
        v = g(center + (i * step - SEARCH_HALF_WIDTH))
        v = jnp.where(jnp.isnan(v), jnp.inf, v)
        better = v < best  # strict: ties keep the first point, as argmin does
        return jnp.where(better, v, best), jnp.where(better, i, arg)

    init = (jnp.full(out.shape, jnp.inf, out.dtype), jnp.zeros(out.shape, jnp.int32))
    _, i = jax.lax.fori_loop(0, SEARCH_GRID, scan, init)
    interior = (i > 0) & (i < SEARCH_GRID - 1)
    lo = center - SEARCH_HALF_WIDTH + (jnp.clip(i, 1, SEARCH_GRID - 2) - 1) * step
    hi = lo + 2.0 * step
    # 2. golden section in the bracket, 3. Newton to full precision
    x = newton_polish(g, golden_section(g, lo, hi, GOLDEN_STEPS), lo, hi, NEWTON_STEPS)
    return jnp.where(interior, x, jnp.nan)


def log_n_opt(law: Any, theta: Theta, log_c: Array, extra: Mapping[str, Array] | None = None):
    """Log N_opt of ``law`` at log(C/k): its closed form if it has one, else the search.

    Elementwise: parameter leaves, ``log_c`` and ``extra`` (log-covariates such as
    ``log_U_D``) broadcast together. NaN where the numerical optimum is on the range's edge.
    """
    if law.log_n_opt is not None:
        return law.log_n_opt(theta, log_c)
    return numerical_log_n_opt(law.log_loss, theta, log_c, extra)


def allocation_at(
    law: Any, theta: Theta, log_n: Array, c: Array, extra: Mapping[str, Array] | None = None
) -> Allocation:
    """N, D = c/N, D/N and the law's loss at ``log_n``, for c = C/k (all elementwise)."""
    N = jnp.exp(log_n)
    D = c / N  # D from the constraint itself: k·N·D = C up to one rounding
    log_d = jnp.log(D)
    loss = jnp.exp(law.log_loss(theta, {"log_N": log_n, "log_D": log_d, **(extra or {})}))
    # from the logs: XLA folds (c / N) / N into c / N², which overflows float32 at N ~ 1e20
    return Allocation(N_opt=N, D_opt=D, tokens_per_param=jnp.exp(log_d - log_n), loss=loss)


def log_covariates(
    law: Any, covariates: Mapping[str, Any] | None, shape: tuple[int, ...] = ()
) -> dict[str, Array]:
    """Validate a law's extra covariates (natural scale) and return their logs.

    Each value is a number or, with ``shape`` = (K,), one value per budget.

    Raises
    ------
    ValueError
        A covariate is missing, unknown, of the wrong shape, or not finite and > 0.
    """
    covariates = dict(covariates or {})
    missing = [c for c in law.covariates if c not in covariates]
    if missing:
        raise ValueError(
            f"law {law.name!r} needs {', '.join(missing)} to allocate compute "
            f"(e.g. {missing[0]}=1e11 unique tokens)"
        )
    unknown = set(covariates) - set(law.covariates)
    if unknown:
        raise ValueError(
            f"law {law.name!r} takes no covariate {sorted(unknown)}; "
            f"it uses: {', '.join(law.covariates) or 'none'}"
        )
    out = {}
    for c in law.covariates:
        v = np.asarray(covariates[c], dtype=np.float64)
        if v.ndim > 1 or (v.ndim == 1 and v.shape != tuple(shape)):
            raise ValueError(f"{c} must be a number or one value per budget")
        if np.any(~np.isfinite(v) | (v <= 0)):
            raise ValueError(f"{c} must be finite and > 0, got {v.tolist()}")
        out[f"log_{c}"] = jnp.log(jnp.asarray(v))
    return out


def _as_theta(law: Any, theta: Any) -> dict[str, Array]:
    if hasattr(theta, "_asdict"):  # ChinchillaParams and other NamedTuples
        theta = theta._asdict()
    missing = [p for p in law.params if p not in theta]
    if missing:
        raise ValueError(f"law {law.name!r} needs parameter(s) {missing}; got {sorted(theta)}")
    return {p: jnp.asarray(theta[p]) for p in law.params}


@partial(jax.jit, static_argnums=0)
def _allocate(law: Any, theta: Theta, c: Array, extra: Mapping[str, Array]) -> Allocation:
    return allocation_at(law, theta, log_n_opt(law, theta, jnp.log(c), extra), c, extra)


def allocate(
    law: Any,
    theta: Theta,
    budgets: Array,
    flops_per_param_token: float = 6.0,
    covariates: Mapping[str, Any] | None = None,
) -> Allocation:
    """Compute-optimal N, D, D/N and loss under C = k·N·D for every draw × budget.

    Parameters
    ----------
    law : Law
        The scaling law (:mod:`bayescale.laws`); compiled once per law.
    theta : mapping
        Parameters of batch shape ``S``, keyed by the law's names (a
        :class:`~bayescale.ChinchillaParams` works for the Chinchilla law).
    budgets : float or array of shape (K,)
        Compute C in FLOPs.
    flops_per_param_token : float, default 6
        k in C = k·N·D.
    covariates : mapping, optional
        The law's extra covariates (natural scale, e.g. ``{"U_D": 1e11}``): numbers, or
        arrays of shape (K,).

    Returns
    -------
    Allocation
        Fields of shape ``S + (K,)`` (``S`` for a scalar budget); NaN where a numerical
        optimum has no interior minimum in the searched range (see the module docstring).

    Examples
    --------
    Hoffmann et al.'s unrounded Approach-3 fit at Gopher's budget (the paper's "40B"):

    >>> import jax
    >>> from bayescale.laws import CHINCHILLA
    >>> p = {"E": 1.69337368, "A": 406.401018, "B": 410.722827,
    ...      "alpha": 0.33917084, "beta": 0.2849083}
    >>> with jax.enable_x64():
    ...     print(f"{float(allocate(CHINCHILLA, p, 5.76e23).N_opt):.3e}")
    4.036e+10
    """
    budgets = jnp.asarray(budgets, dtype=jnp.result_type(float))
    theta = _as_theta(law, theta)
    if budgets.ndim == 1:
        theta = {k: v[..., None] for k, v in theta.items()}
    elif budgets.ndim != 0:
        raise ValueError("budgets must be a number or a 1-d array of FLOPs")
    extra = log_covariates(law, covariates, budgets.shape)
    return _allocate(law, theta, budgets / flops_per_param_token, extra)
