"""What :mod:`bayescale.decisions` is built from: validated inputs, the law, bisection, plans.

The law enters through three functions: its loss (``exp(law.log_loss)``), each draw's optimum
(:func:`bayescale.laws.optimum.log_n_opt`, the one solver) and its floor.

Plans are runs a team considers, written as ``"70B/1.4T"`` (N / D), ``"70B@5.76e23"``
(N at budget C), ``(N, D)`` or a mapping; :func:`as_plans` reads them all. The checks raise
:class:`ValueError` naming the argument and what was expected.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import jax
import jax.numpy as jnp

from bayescale.data.units import Plan, check_k, parse_plan
from bayescale.data.validation import positive_1d
from bayescale.laws import Law
from bayescale.laws.optimum import Allocation, allocation_at, log_covariates, log_n_opt

__all__ = [
    "Plan",
    "as_plans",
    "bisect_decreasing",
    "check_k",
    "check_law",
    "check_theta",
    "decision_inputs",
    "expand_draws",
    "frontier_loss",
    "law_loss",
    "law_optimum",
    "loss_floor",
    "parse_plan",
    "positive_1d",
]

Array = Any
Theta = Mapping[str, Array]


def law_loss(law: Law, theta: Theta, log_n: Array, log_d: Array, extra: Mapping) -> Array:
    """The law's loss (natural scale), elementwise."""
    return jnp.exp(law.log_loss(theta, {"log_N": log_n, "log_D": log_d, **extra}))


def law_optimum(law: Law, theta: Theta, c: Array, extra: Mapping) -> Allocation:
    """Each draw's optimum at c = C/k: the one solver of :mod:`bayescale.laws.optimum`."""
    return allocation_at(law, theta, log_n_opt(law, theta, jnp.log(c), extra), c, extra)


def frontier_loss(law: Law, theta: Theta, log_C: Array, k: Array, extra: Mapping) -> Array:
    """Optimal loss at budget exp(log_C)."""
    return law_optimum(law, theta, jnp.exp(log_C) / k, extra).loss


def loss_floor(law: Law, theta: Theta) -> Array:
    """The infimum of the loss: the law's ``E`` where it has one, else 0."""
    # E is the asymptote of laws with one; without it (Kaplan) the loss tends to 0
    if "E" in law.params:
        return theta["E"]
    return jnp.zeros_like(theta[law.params[0]])


def bisect_decreasing(
    f: Callable[[Array], Array], target: Array, lo: Array, hi: Array, iters: int
) -> tuple[Array, Array, Array]:
    """Smallest x in [lo, hi] with f(x) <= target, for f decreasing; elementwise.

    Returns ``(x, hit, bad)``: ``hit`` where some probe reached the target (else x = hi,
    the target is not reached in the range), ``bad`` where a probe was NaN (an optimum the
    solver could not locate), which makes x meaningless there.
    """

    def body(_: int, carry: tuple) -> tuple:
        lo, hi, hit, bad = carry
        mid = 0.5 * (lo + hi)
        v = f(mid)
        above = v > target
        return (
            jnp.where(above, mid, lo),
            jnp.where(above, hi, mid),
            hit | (v <= target),
            bad | jnp.isnan(v),
        )

    false = jnp.zeros(jnp.broadcast_shapes(jnp.shape(lo), jnp.shape(target)), bool)
    _, hi, hit, bad = jax.lax.fori_loop(0, iters, body, (lo, hi, false, false))
    return hi, hit, bad


def check_law(law: Any) -> Law:
    """``law`` itself, if it is a :class:`~bayescale.laws.Law`."""
    if not isinstance(law, Law):
        raise ValueError(
            f"law must be a bayescale Law (bayescale.laws.*, bayescale.define_law), got {law!r}"
        )
    return law


def check_theta(law: Law, theta: Any) -> tuple[dict[str, Array], int]:
    """The law's parameters as float arrays with one leading draws axis of common length S."""
    if hasattr(theta, "_asdict"):  # ChinchillaParams and other NamedTuples
        theta = theta._asdict()
    if not isinstance(theta, Mapping):
        raise ValueError(
            f"theta must map the parameters of law {law.name!r} ({', '.join(law.params)}) to "
            f"arrays of draws, got {type(theta).__name__}"
        )
    missing = [p for p in law.params if p not in theta]
    if missing:
        raise ValueError(
            f"theta lacks parameter(s) {missing} of law {law.name!r}; got {sorted(theta)}"
        )
    out = {p: jnp.atleast_1d(jnp.asarray(theta[p], float)) for p in law.params}
    shapes = {v.shape for v in out.values()}
    if len(shapes) != 1 or len(next(iter(shapes))) != 1:
        raise ValueError(
            "theta leaves must all have shape (n_draws,) — one leading draws axis — got "
            f"shapes {sorted(shapes)}"
        )
    return out, int(next(iter(shapes))[0])


def decision_inputs(law: Any, theta: Any, covariates: Mapping[str, float] | None, k: Any) -> tuple:
    """Validated ``(law, theta, log-covariates, k)``; covariates are numbers."""
    law = check_law(law)
    theta, _ = check_theta(law, theta)
    return law, theta, log_covariates(law, covariates), check_k(k)


def expand_draws(theta: Theta, n: int) -> dict[str, Array]:
    """Append ``n`` axes to every leaf so (S,) leaves broadcast against decision arrays."""
    return {p: jnp.reshape(v, v.shape + (1,) * n) for p, v in theta.items()}


# ------------------------------------------------------------------------------ plans
# Plan and parse_plan live in bayescale.data.units (no JAX), so --plan is checked at once


def as_plans(plans: Any, flops_per_param_token: float = 6.0) -> list[Plan]:
    """Normalise plans to a list of :class:`Plan`.

    Accepts a :class:`Plan`, a string (:func:`parse_plan`), a tuple ``(N, D)``, a mapping
    with ``N`` and ``D`` or ``C`` (and optional ``label``), or a list of these.
    """
    k = check_k(flops_per_param_token)
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
            N = positive_1d(p.get("N"), "plan N", "parameters")[0]
            if (p.get("D") is None) == (p.get("C") is None):
                raise ValueError(f"plan {dict(p)!r} needs exactly one of D (tokens) or C (FLOPs)")
            if p.get("D") is not None:
                D = positive_1d(p["D"], "plan D", "tokens")[0]
                C = k * N * D
            else:
                C = positive_1d(p["C"], "plan C", "FLOPs")[0]
                D = C / (k * N)
            label = p.get("label") or f"N={N:.3g}, D={D:.3g}"
            out.append(Plan(float(N), float(D), float(C), str(label)))
        elif isinstance(p, tuple | list) and len(p) == 2:
            N = positive_1d(p[0], "plan N", "parameters")[0]
            D = positive_1d(p[1], "plan D", "tokens")[0]
            out.append(Plan(float(N), float(D), float(k * N * D), f"N={N:.3g}, D={D:.3g}"))
        else:
            raise ValueError(
                f"cannot read plan {p!r}; expected '70B/1.4T', (N, D), "
                "{'N': ..., 'D' or 'C': ...} or a Plan"
            )
    return out
