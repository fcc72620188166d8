r"""What a scaling law is to bayescale: a kernel, parameter names, priors and an optimum.

A :class:`Law` bundles

- ``log_loss(theta, x)``: the law's prediction in log space as a pure, *elementwise*
  function (plain NumPy broadcasting) of a parameter mapping ``theta`` (natural-scale values,
  e.g. ``{"E": ..., "A": ..., "alpha": ...}``) and a covariate mapping ``x`` holding
  ``log_N``, ``log_D`` and ``log_<name>`` for every extra column the law needs (``log_U_D``
  for the data-constrained law). It is the one implementation of the law: the NumPyro
  model, posterior predictions, LOO, backtests and the allocation search all call it.
- ``params``: the parameter names, in the paper's symbols and order;
- ``priors()``: fresh default priors (NumPyro distributions) for those parameters;
- optionally a closed-form compute-optimal allocation and the exponents of N_opt ∝ C^a;
  laws without one get a vectorised numerical optimum (:func:`numerical_log_n_opt`);
- optionally :class:`Shear` hints: coefficients re-expressed at the data's centre, the
  reparameterisation that makes NUTS mix on power laws (see :mod:`bayescale.model`).

Batched evaluation follows :mod:`bayescale.law`: parameters of batch shape ``S`` against
runs of shape ``(R,)`` give ``S + (R,)`` (:meth:`Law.predict_log_loss`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from bayescale.allocation import Allocation

__all__ = [
    "Law",
    "Shear",
    "allocation_from_log_n",
    "numerical_log_n_opt",
]

Array = Any
Theta = Mapping[str, Array]


@dataclass(frozen=True)
class Shear:
    r"""Sample a positive coefficient through its value at the data's centre.

    A power-law term :math:`K\,x^{-s}` with :math:`x` = N or D far from 1 makes the
    posterior of (log K, s) a narrow ridge: changing s by δ moves log K by δ·log x. The
    sampler instead sees the term's log at the mean log x of the runs, ``m``:

    - ``scaled=False`` (Chinchilla's A/N^α): site = log K − s·m (a shear, unit Jacobian);
    - ``scaled=True`` (Kaplan's (N_c/N)^α_N): site = s·(log K − m), i.e. the log of
      :math:`(K/x)^s` at the centre (NumPyro accounts for the Jacobian).

    The prior stays the user's prior on K; only the coordinates change.

    Attributes
    ----------
    site : str
        Name of the sampled site.
    coef : str
        The law parameter (positive) it stands for.
    slope : str
        The law parameter that multiplies log x in the term.
    covariate : str
        Key of the covariate in ``x`` (``"log_N"`` or ``"log_D"``).
    scaled : bool
        Which form (see above).
    """

    site: str
    coef: str
    slope: str
    covariate: str
    scaled: bool = False


@dataclass(frozen=True, eq=False)
class Law:
    """A scaling law: prediction kernel, parameters, priors and compute-optimal allocation.

    Laws compare by identity (they key compiled samplers). Built-in laws are module-level
    objects (:data:`bayescale.laws.CHINCHILLA` ...); make your own with
    :func:`bayescale.define_law`.

    Attributes
    ----------
    name : str
        Registry name (``fit(data, law=name)``).
    params : tuple of str
        Parameter names, in the order summaries report them.
    log_loss : callable
        ``log_loss(theta, x) -> log L``, elementwise (see the module docstring).
    priors : callable
        ``priors() -> {param: numpyro distribution}``, fresh default priors.
    covariates : tuple of str
        Extra per-run columns the law needs besides N and D (``("U_D",)``); a fit reads them
        from :attr:`ScalingData.extra`.
    group_params : tuple of str
        Parameters that get one value per group in a pooled fit; the others (exponents,
        decay constants) are partially pooled or shared.
    shears : tuple of Shear
        Sampling hints (see :class:`Shear`).
    positive : tuple of str or None
        Parameters that must be > 0 (default: all); priors on them must have support in
        (0, ∞), and pooling acts on their logarithm.
    log_n_opt : callable, optional
        Closed-form ``log N_opt(theta, log(C/k))``; without it the optimum is found
        numerically.
    exponents : callable, optional
        ``theta -> {"a": ..., "b": ...}`` for N_opt ∝ C^a, D_opt ∝ C^b.
    init : callable, optional
        ``init(data) -> {param: float}``, a start inside the posterior's basin; default: the
        best of 1,000 prior draws by squared log-loss error.
    prior_notes : mapping
        One line per default prior: what it says and why (shown in docs and reports).
    description : str
        The formula, in words.
    reference : str
        Where the law comes from.
    """

    name: str
    params: tuple[str, ...]
    log_loss: Callable[[Theta, Mapping[str, Array]], Array]
    priors: Callable[[], dict[str, Any]]
    covariates: tuple[str, ...] = ()
    group_params: tuple[str, ...] = ()
    shears: tuple[Shear, ...] = ()
    positive: tuple[str, ...] | None = None
    log_n_opt: Callable[[Theta, Array], Array] | None = None
    exponents: Callable[[Theta], dict[str, Array]] | None = None
    init: Callable[[Any], dict[str, float]] | None = None
    prior_notes: Mapping[str, str] = field(default_factory=dict)
    description: str = ""
    reference: str = ""

    def __post_init__(self) -> None:
        if not self.name or not isinstance(self.name, str):
            raise ValueError("a law needs a non-empty name")
        params = tuple(self.params)
        if not params or len(set(params)) != len(params):
            raise ValueError(f"law {self.name!r}: params must be distinct names, got {params}")
        reserved = {"sigma", "nu"}
        clash = reserved & set(params)
        if clash:
            raise ValueError(f"law {self.name!r}: {sorted(clash)} are reserved for the noise")
        object.__setattr__(self, "params", params)
        object.__setattr__(self, "covariates", tuple(self.covariates))
        for name in self.group_params:
            if name not in params:
                raise ValueError(f"law {self.name!r}: group param {name!r} is not a parameter")
        positive = params if self.positive is None else tuple(self.positive)
        object.__setattr__(self, "positive", positive)
        keys = {"log_N", "log_D", *(f"log_{c}" for c in self.covariates)}
        for s in self.shears:
            if s.coef not in params or s.slope not in params:
                raise ValueError(f"law {self.name!r}: shear {s.site!r} names unknown parameters")
            if s.coef not in positive:
                raise ValueError(f"law {self.name!r}: sheared {s.coef!r} must be positive")
            if s.covariate not in keys:
                raise ValueError(f"law {self.name!r}: shear covariate {s.covariate!r} unknown")

    # ------------------------------------------------------------------ evaluation
    def predict_log_loss(
        self,
        theta: Theta,
        x: Mapping[str, Array],
        group_index: Array | None = None,
        grouped: tuple[str, ...] = (),
    ) -> Array:
        """Log loss for every parameter set × run: shape ``S + (R,)``.

        Parameters
        ----------
        theta : mapping
            Parameter values of batch shape ``S``; in a pooled fit the parameters named in
            ``grouped`` carry a last axis of groups, ``S + (G,)``.
        x : mapping
            Covariates of shape ``(R,)`` (``log_N``, ``log_D``, ``log_<extra>``).
        group_index : array of int, shape (R,), optional
            Group of each run; selects per-group parameter values.
        grouped : tuple of str
            Parameters with a group axis.
        """
        return self.log_loss(_per_run(theta, group_index, grouped), x)

    def covariates_of(self, data: Any, dtype: Any = None) -> dict[str, Array]:
        """The covariate mapping ``x`` of a :class:`~bayescale.ScalingData`.

        Raises
        ------
        ValueError
            When the data lack a column the law needs.
        """
        x = {"log_N": np.log(data.N), "log_D": np.log(data.D)}
        for c in self.covariates:
            if c not in data.extra:
                have = ", ".join(sorted(data.extra)) or "none"
                raise ValueError(
                    f"law {self.name!r} needs a per-run column {c!r} (extra columns present: "
                    f"{have}); pass extra_cols={{{c!r}: 'your column'}} when reading the data "
                    f"or --extra-col {c}=COLUMN on the command line"
                )
            x[f"log_{c}"] = np.log(np.asarray(data.extra[c], dtype=np.float64))
        if dtype is not None:
            x = {k: jnp.asarray(v, dtype) for k, v in x.items()}
        return x

    # ------------------------------------------------------------------ allocation
    def allocate(
        self,
        theta: Theta,
        budgets: Array,
        flops_per_param_token: float = 6.0,
        covariates: Mapping[str, Array] | None = None,
    ) -> Allocation:
        """Compute-optimal N, D, D/N and loss under C = k·N·D for every draw × budget.

        Parameters
        ----------
        theta : mapping
            Parameters of batch shape ``S``.
        budgets : array of shape (K,)
            Compute C in FLOPs.
        flops_per_param_token : float
            k in C = k·N·D.
        covariates : mapping, optional
            Values of the law's extra covariates (natural scale, e.g. ``{"U_D": 1e11}``),
            scalars or arrays of shape (K,).

        Returns
        -------
        Allocation
            Fields of shape ``S + (K,)``. Where a numerical optimum lies on the edge of the
            searched range (no interior optimum), the fields are NaN.
        """
        budgets = jnp.atleast_1d(jnp.asarray(budgets, dtype=jnp.result_type(float)))
        log_c = jnp.log(budgets / flops_per_param_token)
        extra = self._extra(covariates, budgets.shape)
        th = {k: jnp.asarray(v)[..., None] for k, v in theta.items()}
        if self.log_n_opt is not None:
            log_n = self.log_n_opt(th, log_c)
        else:
            log_n = numerical_log_n_opt(self.log_loss, theta, log_c, extra)
        return allocation_from_log_n(
            self.log_loss, th, log_n, budgets / flops_per_param_token, extra
        )

    def _extra(self, covariates: Mapping[str, Array] | None, shape: tuple) -> dict[str, Array]:
        covariates = dict(covariates or {})
        missing = [c for c in self.covariates if c not in covariates]
        if missing:
            raise ValueError(
                f"law {self.name!r} needs {', '.join(missing)} to allocate compute "
                f"(e.g. {missing[0]}=1e11 unique tokens)"
            )
        unknown = set(covariates) - set(self.covariates)
        if unknown:
            raise ValueError(
                f"law {self.name!r} takes no covariate {sorted(unknown)}; "
                f"it uses: {', '.join(self.covariates) or 'none'}"
            )
        out = {}
        for c in self.covariates:
            v = np.asarray(covariates[c], dtype=np.float64)
            if v.ndim > 1 or (v.ndim == 1 and v.shape != shape):
                raise ValueError(f"{c} must be a number or one value per budget")
            if np.any(~np.isfinite(v) | (v <= 0)):
                raise ValueError(f"{c} must be finite and > 0, got {v.tolist()}")
            out[f"log_{c}"] = jnp.broadcast_to(jnp.log(jnp.asarray(v)), shape)
        return out

    def __repr__(self) -> str:
        return f"Law({self.name!r}, params={self.params})"


def _per_run(theta: Theta, group_index: Array | None, grouped: tuple[str, ...]) -> dict:
    """Append a run axis to every parameter, or pick each run's group value."""
    out = {}
    for k, v in theta.items():
        v = jnp.asarray(v)
        out[k] = v[..., group_index] if group_index is not None and k in grouped else v[..., None]
    return out


# ---------------------------------------------------------------------- numerical optimum
_INVPHI = (math.sqrt(5.0) - 1.0) / 2.0
#: Half-width (in nats of log N) of the bracket searched around sqrt(C/k): the optimum
#: tokens-per-parameter ratio may lie anywhere in e^(±2·12) ≈ 1e±10.
SEARCH_HALF_WIDTH = 12.0
SEARCH_GRID = 49
GOLDEN_STEPS = 48
NEWTON_STEPS = 2


def _isoflop(log_loss: Callable, theta: Theta, log_c: Array, extra: Mapping) -> Callable:
    """g(x) = log L(N = e^x, D = C/(k e^x)) along the budget's isoFLOP line."""

    def g(x: Array) -> Array:
        cov = {"log_N": x, "log_D": log_c - x, **extra}
        return log_loss(theta, cov)

    return g


def _one_budget(log_loss: Callable, theta: Theta, log_c: Array, extra: Mapping) -> Array:
    """Numerical log N_opt for all parameter sets at one budget (shape ``S``)."""
    shape = jnp.broadcast_shapes(*(jnp.shape(v) for v in theta.values()))
    center = 0.5 * log_c
    # 1. coarse grid: locates the basin (the profile need not be convex in log N)
    grid = center + jnp.linspace(-SEARCH_HALF_WIDTH, SEARCH_HALF_WIDTH, SEARCH_GRID)
    th = {k: jnp.asarray(v)[..., None] for k, v in theta.items()}
    ex = {k: jnp.asarray(v)[..., None] for k, v in extra.items()}
    values = _isoflop(log_loss, th, log_c, ex)(jnp.broadcast_to(grid, (*shape, SEARCH_GRID)))
    values = jnp.where(jnp.isnan(values), jnp.inf, values)
    i = jnp.argmin(values, axis=-1)
    interior = (i > 0) & (i < SEARCH_GRID - 1)
    step = grid[1] - grid[0]
    lo = grid[0] + (jnp.clip(i, 1, SEARCH_GRID - 2) - 1) * step
    hi = lo + 2.0 * step
    g = _isoflop(log_loss, theta, log_c, extra)

    # 2. golden-section search inside the bracket, one evaluation per step, all draws at once
    def golden(_: Any, carry: tuple) -> tuple:
        a, b, c, d, fc, fd = carry
        left = fc < fd  # the minimum lies in [a, d]
        a, b = jnp.where(left, a, c), jnp.where(left, d, b)
        new = jnp.where(left, b - _INVPHI * (b - a), a + _INVPHI * (b - a))
        fnew = g(new)
        c, d = jnp.where(left, new, d), jnp.where(left, c, new)
        fc, fd = jnp.where(left, fnew, fd), jnp.where(left, fc, fnew)
        return a, b, c, d, fc, fd

    c = hi - _INVPHI * (hi - lo)
    d = lo + _INVPHI * (hi - lo)
    _, _, c, d, fc, fd = jax.lax.fori_loop(0, GOLDEN_STEPS, golden, (lo, hi, c, d, g(c), g(d)))
    x = jnp.where(fc < fd, c, d)

    # 3. Newton steps on g'(x) = 0 with exact autodiff derivatives: golden section is
    #    limited to ~sqrt(eps) by the flat minimum, Newton restores full precision.
    def dg(x: Array) -> Array:
        return jax.jvp(g, (x,), (jnp.ones_like(x),))[1]

    def newton(_: Any, x: Array) -> Array:
        d1, d2 = jax.jvp(dg, (x,), (jnp.ones_like(x),))
        step = d1 / d2
        ok = (d2 > 0) & (jnp.abs(step) < (hi - lo)) & jnp.isfinite(step)
        return jnp.where(ok, x - step, x)

    x = jax.lax.fori_loop(0, NEWTON_STEPS, newton, x)
    return jnp.where(interior, x, jnp.nan)


def numerical_log_n_opt(
    log_loss: Callable, theta: Theta, log_c: Array, extra: Mapping[str, Array] | None = None
) -> Array:
    """Numerical log N_opt along C = k·N·D for parameter sets × budgets.

    Grid search over log N within ±12 nats of log sqrt(C/k), golden-section refinement
    and two Newton steps on the exact derivative; vectorised over draws, with
    :func:`jax.lax.map` over budgets to bound memory.

    Parameters
    ----------
    log_loss : callable
        Elementwise kernel ``log_loss(theta, x)``.
    theta : mapping
        Parameters of batch shape ``S``.
    log_c : array of shape (K,)
        log(C/k) per budget.
    extra : mapping, optional
        Further covariates (``log_U_D``), each of shape (K,).

    Returns
    -------
    array of shape ``S + (K,)``
        NaN where the minimum lies on the edge of the searched range.
    """
    extra = dict(extra or {})
    theta = {k: jnp.asarray(v) for k, v in theta.items()}

    def per_budget(args: tuple) -> Array:
        lc, ex = args
        return _one_budget(log_loss, theta, lc, ex)

    out = jax.lax.map(per_budget, (jnp.asarray(log_c), extra))  # (K,) + S
    return jnp.moveaxis(out, 0, -1)


def allocation_from_log_n(
    log_loss: Callable,
    theta: Theta,
    log_n: Array,
    c: Array,
    extra: Mapping[str, Array],
) -> Allocation:
    """N, D = (C/k)/N, D/N and the law's loss at ``log_n``.

    ``theta`` carries a trailing budget axis; ``c`` = C/k per budget.
    """
    N_opt = jnp.exp(log_n)
    D_opt = c / N_opt  # D from the constraint itself: k·N·D = C up to one rounding
    cov = {"log_N": log_n, "log_D": jnp.log(D_opt), **extra}
    loss = jnp.exp(log_loss(theta, cov))
    return Allocation(N_opt=N_opt, D_opt=D_opt, tokens_per_param=D_opt / N_opt, loss=loss)
