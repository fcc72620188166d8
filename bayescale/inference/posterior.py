"""The posterior record and posterior draws to numbers: intervals and point summaries.

:class:`Posterior` is the plain record of a fit (draws, law, data, settings, diagnostics)
that every module after the sampler reads. Draws are NumPy arrays whose leading axis runs
over posterior draws (chains × draws flattened); any further axes (budgets, runs) are
carried along. Interval choices are resolved here, once: ``ci`` is the probability mass,
``ci_kind`` "eti" (equal-tailed, the default: invariant under monotone transforms such as
N ↦ log N) or "hdi" (highest density, via ArviZ).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Self

import jax
import numpy as np
import pandas as pd

from bayescale.choices import CI_KINDS
from bayescale.data.scaling_data import ScalingData
from bayescale.data.validation import check_points, open_unit, positive_1d
from bayescale.inference.diagnostics import Diagnostics, with_exact_draws
from bayescale.inference.likelihoods import residual_draws, run_loglik
from bayescale.inference.settings import DEFAULT_BUDGETS, FitSettings
from bayescale.laws import CHINCHILLA, Law
from bayescale.laws.chinchilla import ChinchillaParams
from bayescale.laws.extrapolation import (
    EDGES,
    EXACT_PARAMS,
    REACH_SCALE,
    base_law,
    data_edges,
    drift_draws,
    extrapolating,
)

__all__ = [
    "CI_KINDS",
    "Posterior",
    "check_budgets",
    "check_ci",
    "flat_samples",
    "interval",
    "summarize",
]

#: The Chinchilla law's parameters, in the paper's order.
PARAMETERS = CHINCHILLA.params


# One compiled program per law and shape for what the methods below evaluate over the
# draws: run eagerly, each of a law's small operations compiled on its own in a fresh
# process (about 70 programs and 3 s for a default fit and its check).
@functools.partial(jax.jit, static_argnums=0)
def _law_log_loss(law: Law, theta: Mapping[str, Any], x: Mapping[str, Any]) -> Any:
    return law.log_loss(theta, x)


@functools.partial(jax.jit, static_argnums=0)
def _noise_scale(law: Law, theta: Mapping[str, Any], x: Mapping[str, Any], sigma: Any) -> Any:
    return law.residual_scale(theta, x, sigma)


@functools.partial(jax.jit, static_argnums=(0, 1, 6))
def _log_lik(
    law: Law,
    likelihood: str,
    theta: Mapping[str, Any],
    x: Mapping[str, Any],
    y: Any,
    sigma_nu: tuple[Any, Any],
    delta: float,
) -> Any:
    # the law, its noise scale and the likelihood in one program: a held-out check in a
    # fresh process compiles one program per shape, not three
    sigma, nu = sigma_nu
    pred = law.log_loss(theta, x)
    scale = law.residual_scale(theta, x, sigma)
    return run_loglik(likelihood, y - pred, scale, nu=nu, delta=delta)


def check_ci(ci: float, ci_kind: str = "eti") -> tuple[float, str]:
    """Validate an interval request; returns ``(ci, ci_kind)``.

    Raises
    ------
    ValueError
        ``ci`` outside (0, 1) or unknown ``ci_kind``.
    """
    ci = open_unit(ci, "ci", "a probability")
    if ci_kind not in CI_KINDS:
        raise ValueError(f"unknown ci_kind {ci_kind!r}; choose one of {', '.join(CI_KINDS)}")
    return ci, ci_kind


def interval(
    draws: Any, ci: float = 0.9, ci_kind: str = "eti", axis: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper bounds of the credible interval of ``draws`` along ``axis``.

    Parameters
    ----------
    draws : array
        Posterior draws.
    ci : float, default 0.9
        Probability mass inside the interval.
    ci_kind : {"eti", "hdi"}
        Equal-tailed or highest-density interval.
    axis : int, default 0
        The draws axis.

    Returns
    -------
    lo, hi : numpy.ndarray
        Bounds, shaped like ``draws`` without ``axis``.
    """
    ci, ci_kind = check_ci(ci, ci_kind)
    x = np.moveaxis(np.asarray(draws, dtype=np.float64), axis, -1)
    if ci_kind == "eti":
        lo, hi = np.quantile(x, [(1.0 - ci) / 2.0, (1.0 + ci) / 2.0], axis=-1)
        return lo, hi
    from arviz_stats.base import array_stats

    bounds = np.asarray(array_stats.hdi(x, ci, axis=-1))
    return bounds[..., 0], bounds[..., 1]


def summarize(
    draws: Any, ci: float = 0.9, ci_kind: str = "eti", axis: int = 0
) -> dict[str, np.ndarray]:
    """Median, mean, sd and interval bounds of ``draws`` along ``axis``.

    Returns
    -------
    dict
        ``{"median", "mean", "sd", "lo", "hi"}``, each shaped like ``draws`` without ``axis``.
    """
    x = np.asarray(draws, dtype=np.float64)
    lo, hi = interval(x, ci, ci_kind, axis)
    return {
        "median": np.median(x, axis=axis),
        "mean": np.mean(x, axis=axis),
        "sd": np.std(x, axis=axis, ddof=1) if x.shape[axis] > 1 else np.zeros_like(lo),
        "lo": lo,
        "hi": hi,
    }


def flat_samples(
    samples: Mapping[str, np.ndarray], groups: tuple[str, ...] | None
) -> dict[str, np.ndarray]:
    """``(chain, draw)`` arrays, per-group parameters split into ``name[group]``."""
    out = {}
    for k, v in samples.items():
        if v.ndim == 3:
            for j, g in enumerate(groups or ()):
                out[f"{k}[{g}]"] = v[:, :, j]
        else:
            out[k] = v
    return out


def check_budgets(budgets: Any) -> np.ndarray:
    """Budgets in FLOPs as a 1-d float64 array; a clear error for anything else."""
    return positive_1d(budgets, "budgets", "FLOPs")


@dataclass(frozen=True, eq=False)
class Posterior:
    """The draws of a scaling-law fit and what they say about its law, as a plain record.

    Methods here need nothing above the posterior in the module order: draws, the law's
    parameters per draw, summaries, compute-optimal allocations, predictions and pointwise
    log-likelihoods. :class:`bayescale.FitResult` adds decisions, checks, reports and I/O.

    Attributes
    ----------
    data : ScalingData
        The runs that were fitted.
    settings : FitSettings
        How they were fitted.
    samples : dict of numpy.ndarray
        Posterior draws of the law's parameters (Chinchilla: E, A, B, alpha, beta), sigma
        (and nu), shape (chains, draws); per-group parameters of a pooled fit have shape
        (chains, draws, groups), and its population-level draws are ``<p>_pop`` and
        ``tau_<p>``.
    stats : dict of numpy.ndarray
        Sampler statistics per draw: diverging, num_steps, accept_prob, energy.
    diagnostics : Diagnostics
        R-hat, ESS, divergences, tree-depth saturation, E-BFMI and the problems found.
    priors : dict of str
        Description of the prior on each parameter.
    law : Law
        The scaling law (:mod:`bayescale.laws`).
    groups : tuple of str or None
        Group labels of a pooled fit, in the order of the group axis.
    fixed : dict of str to float
        Law parameters that were held fixed.
    prior_log_sd : dict of str to float, optional
        Prior sd of log(parameter), used to check that the data identify E, alpha, beta.
    checks : dict
        Results of checks that need more than the draws (the extrapolation check of
        :func:`bayescale.checks.backtest.extrapolation_check`), as plain dicts; a ``"problem"``
        entry joins ``diagnostics.problems``.
    unconstrained : dict of numpy.ndarray, optional
        The sampler's draws of its sites in unconstrained space, (chains, draws, ...):
        where the extrapolation check's refit starts. Not saved (a loaded fit has none and
        the refit maps its draws back).
    """

    data: ScalingData
    settings: FitSettings
    samples: dict[str, np.ndarray]
    stats: dict[str, np.ndarray]
    diagnostics: Diagnostics
    priors: dict[str, str]
    prior_distributions: Mapping[str, Any] | None = None
    timing: dict[str, Any] = field(default_factory=dict)
    law: Law = CHINCHILLA
    groups: tuple[str, ...] | None = None
    fixed: Mapping[str, float] = field(default_factory=dict)
    prior_log_sd: dict[str, float] | None = None
    checks: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    unconstrained: Mapping[str, np.ndarray] | None = field(default=None, repr=False)

    # ------------------------------------------------------------------ draws
    @property
    def n_draws(self) -> int:
        """Total posterior draws (chains × draws)."""
        return int(np.prod(self.samples["sigma"].shape[:2]))

    def draws(self, name: str) -> np.ndarray:
        """Draws of one parameter with chains flattened: (n_draws,), or (n_draws, groups)."""
        if name not in self.samples:
            raise ValueError(f"no parameter {name!r}; available: {', '.join(self.samples)}")
        x = self.samples[name]
        return x.reshape(-1, *x.shape[2:])

    def params(self) -> ChinchillaParams:
        """All draws as :class:`~bayescale.ChinchillaParams` (Chinchilla law only)."""
        if self.law.name != "chinchilla":
            raise ValueError(
                f"params() gives Chinchilla parameters; this fit used law {self.law.name!r}: "
                "use theta()"
            )
        th = self.theta()
        return ChinchillaParams(*(th[k] for k in PARAMETERS))

    @property
    def fitted_law(self) -> Law:
        """The law that was fitted; :attr:`law` is it with its drift beyond the data."""
        return base_law(self.law)

    @property
    def grouped(self) -> tuple[str, ...]:
        """Law parameters with one value per group (empty for an ungrouped fit)."""
        return tuple(p for p in self.law.params if p in self.samples and self.samples[p].ndim == 3)

    def theta(self, group: str | None = None) -> dict[str, np.ndarray]:
        """Draws of every law parameter (fixed ones repeated), as the law's kernel takes them.

        Shapes: (n_draws,) for an ungrouped fit; in a pooled fit (n_draws, groups) for
        per-group parameters and (n_draws, 1) for shared ones, or (n_draws,) for all when
        ``group`` picks one group.
        """
        j = self._group_position(group)
        out = {}
        edges = None
        for p in self.law.params:
            if p in EDGES:  # where the drift beyond the data starts: this fit's own runs
                if edges is None:
                    edges = data_edges(np.log(self.data.N), np.log(self.data.D))
                v = np.full(self.n_draws, edges[p])
            elif p in self.fixed:
                v = np.full(self.n_draws, self.fixed[p])
            elif p == REACH_SCALE and p not in self.samples:
                # a fit saved before the sweep's own scatter existed: the population's median
                v = np.ones(self.n_draws)
            else:
                v = self.draws(p)
            if v.ndim == 2:
                v = v if j is None else v[:, j]
            elif self.groups is not None and j is None:
                v = v[:, None]
            out[p] = v
        return out

    def with_drift(self, drift: float) -> Self:
        """The same fit with another extrapolation uncertainty, without refitting.

        The drift beyond the data (:mod:`bayescale.laws.extrapolation`) is independent of
        the law's parameters, so changing its sd only redraws it: ``with_drift(0)`` trusts
        the law's form at any budget; the same seed gives the same draws up to scale.
        """
        drift = float(drift)
        samples = {k: v for k, v in self.samples.items() if k not in EXACT_PARAMS}
        # the extrapolation check was made under the old drift: drop it and its problem
        # (FitResult.with_drift runs it again)
        checks = {k: v for k, v in self.checks.items() if k != "extrapolation"}
        stale = (self.checks.get("extrapolation") or {}).get("problem")
        # a check that updated the drift left a note that starts with its problem
        diag = dataclasses.replace(
            self.diagnostics,
            problems=[p for p in self.diagnostics.problems if p != stale],
            notes=[n for n in self.diagnostics.notes if not (stale and n.startswith(stale))],
        )
        law = base_law(self.law)
        settings = dataclasses.replace(self.settings, drift=drift)
        out = dataclasses.replace(
            self, samples=samples, law=law, settings=settings, diagnostics=diag, checks=checks
        )
        if drift != 0:
            out = dataclasses.replace(out, law=extrapolating(law, drift))  # validates drift
            out = out.with_drift_draws(
                drift_draws(samples["sigma"].shape[:2], drift, settings.seed)
            )
        return out

    def with_drift_draws(self, draws: Mapping[str, np.ndarray]) -> Self:
        """The fit with these draws of the drift parameters, and their R-hat and ESS."""
        diag = with_exact_draws(
            self.diagnostics,
            draws,
            self.stats,
            max_tree_depth=self.settings.max_tree_depth,
            target_accept=self.settings.target_accept,
        )
        return dataclasses.replace(self, samples={**self.samples, **draws}, diagnostics=diag)

    def _group_position(self, group: str | None) -> int | None:
        if group is None:
            return None
        if self.groups is None:
            raise ValueError("this fit has no groups; omit group=")
        if str(group) not in self.groups:
            raise ValueError(f"no group {group!r}; groups: {', '.join(self.groups)}")
        return self.groups.index(str(group))

    @property
    def ok(self) -> bool:
        """Whether every sampling diagnostic passed."""
        return self.diagnostics.ok

    # ------------------------------------------------------------------ summaries
    def summary(self, ci: float = 0.9, ci_kind: str = "eti") -> pd.DataFrame:
        """Posterior summary of each parameter.

        Parameters
        ----------
        ci : float, default 0.9
            Credible mass.
        ci_kind : {"eti", "hdi"}
            Equal-tailed or highest-density interval.

        Returns
        -------
        pandas.DataFrame
            Index: the law's parameters (``name[group]`` for per-group ones), sigma (nu),
            population draws; columns mean, sd, median, lo, hi, r_hat, ess_bulk, ess_tail.
        """
        ci, ci_kind = check_ci(ci, ci_kind)
        rows = {}
        for name, x in flat_samples(self.samples, self.groups).items():
            s = summarize(x.reshape(-1), ci, ci_kind)
            rows[name] = {
                "mean": float(s["mean"]),
                "sd": float(s["sd"]),
                "median": float(s["median"]),
                "lo": float(s["lo"]),
                "hi": float(s["hi"]),
                "r_hat": self.diagnostics.r_hat[name],
                "ess_bulk": self.diagnostics.ess_bulk[name],
                "ess_tail": self.diagnostics.ess_tail[name],
            }
        table = pd.DataFrame.from_dict(rows, orient="index")
        table.attrs.update(ci=ci, ci_kind=ci_kind)
        return table

    def exponents(self, ci: float = 0.9, ci_kind: str = "eti") -> pd.DataFrame:
        """Posterior of a (N_opt ∝ C^a) and b (D_opt ∝ C^b), where the law has them.

        Chinchilla: a = β/(α+β), b = α/(α+β); Kaplan: a = α_D/(α_N+α_D). Laws without
        power-law optima (data-constrained) give an empty table. Rows ``a[group]`` in a
        pooled fit.
        """
        ci, ci_kind = check_ci(ci, ci_kind)
        columns = ["median", "mean", "sd", "lo", "hi"]
        if self.law.exponents is None:
            return pd.DataFrame(columns=columns, dtype=float)
        with jax.enable_x64(True):  # draws are stored as float64
            exps = {k: np.asarray(v) for k, v in self.law.exponents(self.theta()).items()}
        rows = {}
        for name, x in exps.items():
            if x.ndim == 2 and self.groups is not None:
                x = np.broadcast_to(x, (x.shape[0], len(self.groups)))
                for j, g in enumerate(self.groups):
                    s = summarize(x[:, j], ci, ci_kind)
                    rows[f"{name}[{g}]"] = {k: float(s[k]) for k in columns}
            else:
                s = summarize(x.reshape(x.shape[0]), ci, ci_kind)
                rows[name] = {k: float(s[k]) for k in columns}
        return pd.DataFrame.from_dict(rows, orient="index")

    def _covariates(self, covariates: Mapping[str, Any]) -> dict[str, Any]:
        """The law's extra covariates for allocation: given, else the data's largest value."""
        out = dict(covariates)
        for c in self.law.covariates:
            if c not in out and c in self.data.extra:
                out[c] = float(np.max(self.data.extra[c]))
        return out

    def allocation_draws(
        self, budgets: Any, *, group: str | None = None, **covariates: Any
    ) -> dict[str, np.ndarray]:
        """Draws of N_opt, D_opt, tokens_per_param and loss: arrays (n_draws, K).

        In a pooled fit without ``group``: (n_draws, groups, K). Laws with extra covariates
        take them by name (``U_D=1e11``); by default the data's largest value is used.
        """
        C = check_budgets(budgets)
        with jax.enable_x64(True):  # draws are stored as float64
            alloc = self.law.allocate(
                self.theta(group),
                C,
                self.data.flops_per_param_token,
                self._covariates(covariates),
            )
            return {k: np.asarray(v) for k, v in alloc._asdict().items()}

    def allocation(
        self,
        budgets: Any = DEFAULT_BUDGETS,
        ci: float = 0.9,
        ci_kind: str = "eti",
        *,
        group: str | None = None,
        **covariates: Any,
    ) -> pd.DataFrame:
        """Compute-optimal N and D with credible intervals at each budget.

        Parameters
        ----------
        budgets : float or sequence of float
            Training compute C in FLOPs.
        ci : float, default 0.9
            Credible mass.
        ci_kind : {"eti", "hdi"}
            Interval kind.
        group : str, optional
            One group of a pooled fit; default: every group.
        **covariates
            Values of the law's extra covariates (data-constrained: ``U_D``, the unique
            tokens available; default the data's largest).

        Returns
        -------
        pandas.DataFrame
            One row per budget (per group and budget in a pooled fit, with a ``group``
            column); for each of N_opt, D_opt, tokens_per_param, loss the posterior median
            and the interval bounds (``<name>_lo``, ``<name>_hi``). Numerical optima that
            fall outside the searched range are NaN (and so are their intervals).
        """
        ci, ci_kind = check_ci(ci, ci_kind)
        C = check_budgets(budgets)
        draws = self.allocation_draws(C, group=group, **covariates)
        per_group = self.groups is not None and group is None
        cols: dict[str, Any] = {}
        if per_group:
            G = len(self.groups or ())
            cols["group"] = np.repeat(np.asarray(self.groups), len(C))
            cols["budget"] = np.tile(C, G)
        else:
            cols["budget"] = C
        for name, x in draws.items():
            s = summarize(x, ci, ci_kind)
            for key, suffix in (("median", ""), ("lo", "_lo"), ("hi", "_hi")):
                cols[f"{name}{suffix}"] = np.asarray(s[key]).reshape(-1)
        table = pd.DataFrame(cols)
        table.attrs.update(ci=ci, ci_kind=ci_kind)
        return table

    def predict(
        self,
        N: Any,
        D: Any,
        *,
        kind: str = "law",
        seed: int = 0,
        group: str | None = None,
        **covariates: Any,
    ) -> np.ndarray:
        """Posterior draws of the loss at new (N, D): shape (n_draws, len(N)).

        Parameters
        ----------
        N, D : float or array-like
            Parameters and training tokens, same shape, finite and > 0.
        kind : {"law", "new_run"}, default "law"
            ``"law"``: the law's mean loss per posterior draw — the uncertainty about the
            law only. ``"new_run"``: the loss one new training run at (N, D) would reach,
            the law plus the fitted run-to-run noise (a residual in log loss from the
            fit's likelihood — Gaussian, Student-t with ``nu`` or Huber — with each draw's
            ``sigma``, widened beyond the fitted runs by the extrapolation model's extra
            scatter, :meth:`residual_scales`): the posterior predictive, the wider of the
            two.
        seed : int, default 0
            Seed of the ``"new_run"`` residuals; the same seed gives the same draws.
        group : str, optional
            The group to predict for; required by a pooled fit.
        **covariates
            Extra inputs of the law by name (``U_D=...``), one value or one per point.

        Returns
        -------
        numpy.ndarray
            Loss (not log loss) draws, float64.
        """
        if kind not in ("law", "new_run"):
            raise ValueError(f"kind must be 'law' or 'new_run', got {kind!r}")
        N, D = check_points(N, D)
        if self.groups is not None and group is None:
            raise ValueError(f"this fit is pooled over groups; pass group= (one of {self.groups})")
        x = self._x_at(N, D, covariates)
        with jax.enable_x64(True):  # draws are stored as float64
            theta = {k: v[..., None] for k, v in self.theta(group).items()}
            log_loss = np.asarray(_law_log_loss(self.law, theta, x))
            if kind == "new_run":
                log_loss = log_loss + self._residual_draws(self._scales(theta, x), seed)
            return np.exp(log_loss)

    def _residual_draws(self, scale: np.ndarray, seed: int) -> np.ndarray:
        """Log-loss residuals of new runs from the fitted likelihood.

        ``scale``: each draw's residual scale at each run, (n_draws, runs).
        """
        nu = self.draws("nu")[:, None] if "nu" in self.samples else None
        return residual_draws(
            self.settings.likelihood, scale, nu=nu, delta=float(self.settings.delta), seed=seed
        )

    def _x_at(self, N: np.ndarray, D: np.ndarray, covariates: Mapping[str, Any]) -> dict:
        x = {"log_N": np.log(N), "log_D": np.log(D)}
        for c in self.law.covariates:
            if c not in covariates:
                raise ValueError(f"law {self.law.name!r} needs {c}= to predict")
            v = np.broadcast_to(np.asarray(covariates[c], dtype=np.float64), N.shape)
            if np.any(~np.isfinite(v) | (v <= 0)):
                raise ValueError(f"{c} must be finite and > 0")
            x[f"log_{c}"] = np.log(v)
        unknown = set(covariates) - set(self.law.covariates)
        if unknown:
            raise ValueError(f"law {self.law.name!r} takes no covariate {sorted(unknown)}")
        return x

    def predict_log_loss_draws(self, data: ScalingData | None = None) -> np.ndarray:
        """The law's log loss at each run of ``data`` (default: the fitted runs), per draw.

        Returns an array (n_draws, runs); runs of a pooled fit use their group's values.
        """
        theta, x = self._run_inputs(data)
        with jax.enable_x64(True):  # draws are stored as float64
            return np.asarray(_law_log_loss(self.law, theta, x))

    def residual_scales(self, data: ScalingData | None = None) -> np.ndarray:
        """Each draw's residual scale at each run of ``data``, (n_draws, runs).

        The law's :attr:`~bayescale.laws.Law.noise_scale` of the draw's sigma: sigma inside
        the fitted runs, larger beyond them under the extrapolation model.
        """
        return self._scales(*self._run_inputs(data))

    def _scales(self, theta: Mapping[str, Any], x: Mapping[str, Any]) -> np.ndarray:
        """The law's residual scale per draw and point (theta with a run axis)."""
        sigma = self.draws("sigma")[:, None]
        with jax.enable_x64(True):
            scale = np.asarray(_noise_scale(self.law, theta, x, sigma))
        return np.broadcast_to(scale, np.broadcast_shapes(scale.shape, sigma.shape))

    def _run_inputs(self, data: ScalingData | None) -> tuple[dict[str, np.ndarray], dict]:
        """Per-run parameter draws (n_draws, runs or 1) and covariates of ``data``."""
        data = self.data if data is None else data
        x = self.law.covariates_of(data)
        if self.groups is None:
            return {k: v[:, None] for k, v in self.theta().items()}, x
        labels = np.asarray(data.group).astype(str) if data.group is not None else None
        if labels is None or not set(labels) <= set(self.groups):
            raise ValueError(f"runs must carry groups of this fit ({', '.join(self.groups)})")
        idx = np.searchsorted(np.asarray(self.groups), labels)
        theta = {
            k: (v[:, idx] if v.ndim == 2 and v.shape[1] == len(self.groups) else v)
            for k, v in self.theta().items()
        }
        return theta, x

    def log_likelihood(self, data: ScalingData | None = None) -> np.ndarray:
        """Pointwise log-likelihood of each run under each draw: (chains, draws, runs).

        ``data`` (default: the fitted runs) may be new runs, e.g. held-out ones; beyond the
        fitted runs their residual scale is :meth:`residual_scales`.
        """
        data = self.data if data is None else data
        theta, x = self._run_inputs(data)
        sigma = self.draws("sigma")[:, None]
        nu = self.draws("nu")[:, None] if "nu" in self.samples else None
        with jax.enable_x64(True):  # draws are stored as float64
            ll = _log_lik(
                self.law,
                self.settings.likelihood,
                theta,
                x,
                data.log_loss,
                (sigma, nu),
                float(self.settings.delta),
            )
            shape = (*self.samples["sigma"].shape[:2], len(data))
            return np.asarray(ll).reshape(shape)

    def __repr__(self) -> str:
        s = self.settings
        flag = "ok" if self.ok else "DIAGNOSTICS FAILED"
        law = "" if self.law.name == "chinchilla" else f"law {self.law.name}, "
        groups = "" if self.groups is None else f", {len(self.groups)} groups ({s.pooling})"
        return (
            f"{type(self).__name__}({len(self.data)} runs{groups}, {law}"
            f"{s.likelihood} likelihood, {s.chains}x{s.draws} draws, {flag})"
        )
