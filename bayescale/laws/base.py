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
  laws without one get the numerical optimum of :mod:`bayescale.laws.optimum` (one search, one
  range and one edge rule for allocations and decisions alike);
- optionally :class:`Shear` hints: coefficients re-expressed at the data's centre, the
  reparameterisation that makes NUTS mix on power laws (see :mod:`bayescale.inference.model`),
  and the ``offset`` their terms sit on (Chinchilla's E), with which an ungrouped fit samples
  the level, slopes and curvature the data pin down instead
  (:mod:`bayescale.inference.anchor`).

Batched evaluation follows :mod:`bayescale.laws.chinchilla`: parameters of batch shape ``S``
against runs of shape ``(R,)`` give ``S + (R,)`` (:meth:`Law.predict_log_loss`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import jax.numpy as jnp
import numpy as np

from bayescale.laws.optimum import Allocation, allocate, numerical_log_n_opt

__all__ = ["Law", "Shear", "numerical_log_n_opt"]

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
    offset : str, optional
        The positive parameter the shears' terms are added to (Chinchilla's E), when the law
        near the data's centre is offset + Σ coef·x^(−slope). With it, ungrouped fits sample
        the anchored coordinates of :mod:`bayescale.inference.anchor` (loss, slopes and the
        offset's share at the centre), which straighten the curved E–exponent ridge; priors
        stay on the law's own parameters. It is only a sampling hint: a law that is not
        exactly of this form is sampled correctly, if less efficiently.
    positive : tuple of str or None
        Parameters that must be > 0 (default: all); priors on them must have support in
        (0, ∞), and pooling acts on their logarithm.
    log_n_opt : callable, optional
        Closed-form ``log N_opt(theta, log(C/k))``, elementwise; without it
        :mod:`bayescale.laws.optimum` finds the optimum numerically.
    exponents : callable, optional
        ``theta -> {"a": ..., "b": ...}`` for N_opt ∝ C^a, D_opt ∝ C^b.
    init : callable, optional
        ``init(data) -> {param: float}``, a start inside the posterior's basin; default: the
        best of 1,000 prior draws by squared log-loss error.
    noise_scale : callable, optional
        ``noise_scale(theta, x, sigma) -> scale``, elementwise like ``log_loss``: a run's
        residual scale given the fit's sigma (default sigma everywhere). The extrapolating
        wrapper (:mod:`bayescale.laws.extrapolation`) uses it to widen new runs beyond the
        data; inside the fitted runs it must return sigma, so a fit never depends on it.
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
    offset: str | None = None
    positive: tuple[str, ...] | None = None
    log_n_opt: Callable[[Theta, Array], Array] | None = None
    exponents: Callable[[Theta], dict[str, Array]] | None = None
    init: Callable[[Any], dict[str, float]] | None = None
    noise_scale: Callable[[Theta, Mapping[str, Array], Array], Array] | None = None
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
        if self.offset is not None:
            if self.offset not in positive:
                raise ValueError(
                    f"law {self.name!r}: offset {self.offset!r} must be a positive param"
                )
            terms = [s.coef for s in self.shears] + [s.slope for s in self.shears]
            if not self.shears or any(s.scaled for s in self.shears):
                raise ValueError(
                    f"law {self.name!r}: an offset needs unscaled shears to sit under"
                )
            if len(set(terms)) != len(terms) or self.offset in terms:
                raise ValueError(
                    f"law {self.name!r}: with an offset, each shear needs its own coefficient "
                    "and slope, neither the offset"
                )

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

    def residual_scale(self, theta: Theta, x: Mapping[str, Array], sigma: Array) -> Array:
        """Each run's residual scale given the fit's ``sigma``: :attr:`noise_scale`, or sigma.

        Elementwise, with ``theta`` (and ``sigma``) carrying a run axis as :attr:`log_loss`
        takes it.
        """
        if self.noise_scale is None:
            return sigma * jnp.ones_like(jnp.asarray(x["log_N"]))
        return self.noise_scale(theta, x, sigma)

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
        """Compute-optimal N, D, D/N and loss: :func:`bayescale.laws.optimum.allocate`.

        ``budgets`` is always treated as 1-d, so fields have shape ``S + (K,)``; NaN where
        a numerical optimum has no interior minimum in the searched range.
        """
        budgets = np.atleast_1d(np.asarray(budgets, dtype=np.float64))
        return allocate(self, theta, budgets, flops_per_param_token, covariates)

    def __repr__(self) -> str:
        return f"Law({self.name!r}, params={self.params})"


def _per_run(theta: Theta, group_index: Array | None, grouped: tuple[str, ...]) -> dict:
    """Append a run axis to every parameter, or pick each run's group value."""
    out = {}
    for k, v in theta.items():
        v = jnp.asarray(v)
        out[k] = v[..., group_index] if group_index is not None and k in grouped else v[..., None]
    return out
