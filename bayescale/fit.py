"""``fit()`` → :class:`FitResult`: the steps in order, and the one object users hold.

data → priors → model → compiled NUTS → diagnostics and checks → posterior. Every law,
pooled or not, single or batched (:func:`bayescale.fit_many`), takes the same steps:
:func:`prepare` builds the one model's inputs (:mod:`bayescale.model`, priors resolved by
:func:`bayescale.priors.resolve_priors`), :func:`bayescale.model.start_values` and
:func:`bayescale.inference.chain_starts` place the chains, :func:`bayescale.inference.run_nuts`
samples, and :func:`posterior` turns the draws into a checked :class:`FitResult`.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from bayescale.data import ScalingData, design_problems
from bayescale.diagnostics import (
    Diagnostics,
    compute_diagnostics,
    identification_problems,
    misfit_problems,
)
from bayescale.diagnostics import preload as preload_diagnostics
from bayescale.inference import CHAIN_METHODS, NUTSSettings, chain_starts, run_nuts
from bayescale.io import versions
from bayescale.law import ChinchillaParams
from bayescale.laws import CHINCHILLA, Law, get_law
from bayescale.likelihoods import (
    LIKELIHOODS,
    median_abs_residual,
    residual_distribution,
    run_loglik,
)
from bayescale.model import POOLINGS, ModelSpec, centering_of, initial_sites, start_values
from bayescale.posterior import check_ci, summarize
from bayescale.priors import describe_priors, fixed_params, prior_log_sd, resolve_priors

__all__ = ["DEFAULT_BUDGETS", "PARAMETERS", "FitResult", "FitSettings", "fit"]

#: The Chinchilla law's parameters, in the paper's order.
PARAMETERS = CHINCHILLA.params
#: Budgets (FLOPs) reported when none are given: 1e21…1e25 and Gopher/Chinchilla's 5.76e23.
DEFAULT_BUDGETS = (1e21, 1e22, 1e23, 5.76e23, 1e24, 1e25)
PRECISIONS = ("float64", "float32")


@dataclass(frozen=True)
class FitSettings:
    """Every setting of a fit, with its default, in one place.

    Attributes
    ----------
    likelihood : {"gaussian", "student_t", "huber"}
        Distribution of log-loss residuals. "huber" is the normalised Huber density of
        Besiroglu et al. 2024 (threshold ``delta`` in standardised units).
    delta : float
        Huber threshold.
    chains, warmup, draws : int
        NUTS chains, warmup and kept iterations per chain.
    seed : int
        Random seed; same data, settings and seed give identical draws.
    target_accept : float
        Dual-averaging target acceptance probability.
    dense_mass : bool
        Dense mass matrix (diagonal by default: the dense one diverged in measurements).
    max_tree_depth : int
        NUTS doubling limit.
    chain_method : {"auto", "parallel", "sequential", "vectorized"}
        Where chains run (see :func:`bayescale.inference.run_nuts`).
    precision : {"float64", "float32"}
        Floating-point precision of the fit; float32 is for accelerators.
    law : str
        Name of the scaling law (``fit(data, law=...)`` sets it; see :mod:`bayescale.laws`).
    pooling : {"partial", "shared", "none"}
        For data with groups: how exponents are shared between groups (see
        :mod:`bayescale.model`); ignored without groups.
    """

    likelihood: str = "gaussian"
    delta: float = 1e-3
    chains: int = 4
    warmup: int = 1000
    draws: int = 1000
    seed: int = 0
    target_accept: float = 0.8
    dense_mass: bool = False
    max_tree_depth: int = 10
    chain_method: str = "auto"
    precision: str = "float64"
    law: str = "chinchilla"
    pooling: str = "partial"

    def __post_init__(self) -> None:
        def need(cond: bool, msg: str) -> None:
            if not cond:
                raise ValueError(msg)

        def one_of(name: str, choices: tuple[str, ...]) -> None:
            v = getattr(self, name)
            need(v in choices, f"unknown {name} {v!r}; choose one of {', '.join(choices)}")

        one_of("likelihood", LIKELIHOODS)
        for name in ("chains", "warmup", "draws", "max_tree_depth", "seed"):
            v = getattr(self, name)
            need(
                isinstance(v, int | np.integer) and not isinstance(v, bool),
                f"{name} must be an integer, got {v!r}",
            )
        need(self.chains >= 1, f"chains must be >= 1, got {self.chains}")
        need(self.warmup >= 1, f"warmup must be >= 1, got {self.warmup}")
        need(self.draws >= 4, f"draws must be >= 4, got {self.draws}")
        need(self.seed >= 0, f"seed must be >= 0, got {self.seed}")
        need(1 <= self.max_tree_depth <= 15, "max_tree_depth must be in 1..15")
        need(
            0.0 < float(self.target_accept) < 1.0,
            f"target_accept must be in (0, 1), got {self.target_accept}",
        )
        need(float(self.delta) > 0, f"delta must be > 0, got {self.delta}")
        one_of("chain_method", CHAIN_METHODS)
        one_of("precision", PRECISIONS)
        need(
            isinstance(self.law, str) and bool(self.law),
            f"law must be a law's name, got {self.law!r}",
        )
        one_of("pooling", POOLINGS)

    @classmethod
    def from_kwargs(cls, settings: Mapping[str, Any], **fixed: Any) -> FitSettings:
        """Settings from keyword arguments, naming any unknown ones and the allowed."""
        names = [f.name for f in dataclasses.fields(cls)]
        unknown = set(settings) - set(names)
        if unknown:
            raise ValueError(
                f"unknown fit setting(s) {', '.join(sorted(unknown))}; allowed: {', '.join(names)}"
            )
        return cls(**{**settings, **fixed})

    def nuts(self) -> NUTSSettings:
        """The subset that shapes the compiled sampler."""
        return NUTSSettings(
            warmup=int(self.warmup),
            draws=int(self.draws),
            target_accept=float(self.target_accept),
            dense_mass=bool(self.dense_mass),
            max_tree_depth=int(self.max_tree_depth),
        )


def _x64(precision: str) -> Any:
    return jax.enable_x64(precision == "float64")


class Prepared(NamedTuple):
    """The one model's inputs for one data set (see :func:`prepare`)."""

    spec: ModelSpec
    priors: dict[str, Any]
    fixed: dict[str, float]
    groups: tuple[str, ...] | None
    args: tuple
    kwargs: dict[str, Any]
    sites: dict[str, Any]


def prepare(
    data: ScalingData, law: Law, cfg: FitSettings, priors: Mapping[str, Any] | None
) -> Prepared:
    """Spec, resolved priors, model arguments and starting sites of one data set.

    Call inside the fit's precision context (``jax.enable_x64``): arrays take its dtype.
    ``args`` are ``(x, log_loss, mask, center)`` as :class:`~bayescale.model.ModelSpec`
    takes them (``mask`` None: every run counts).
    """
    groups, gidx = group_index(data)
    spec = ModelSpec(
        law=law,
        likelihood=cfg.likelihood,
        delta=float(cfg.delta),
        pooling=cfg.pooling if groups is not None else None,
        fixed=tuple(sorted(fixed_params(law, priors))),
    )
    resolved, fixed = resolve_priors(spec, priors)
    dtype = jnp.result_type(float)
    x = law.covariates_of(data, dtype)
    kwargs: dict[str, Any] = {
        "priors": resolved,
        "fixed": {k: jnp.asarray(v, dtype) for k, v in fixed.items()},
    }
    if groups is None:
        center = {k: jnp.mean(v) for k, v in x.items()}
    else:
        counts = np.bincount(gidx, minlength=len(groups))
        center = {
            k: jnp.asarray(np.bincount(gidx, np.asarray(v), len(groups)) / counts, dtype)
            for k, v in x.items()
        }
        kwargs["group_index"] = jnp.asarray(gidx)
        kwargs["centering"] = jnp.asarray(centering_of(counts), dtype)
    args = (x, jnp.asarray(data.log_loss, dtype), None, center)
    start = start_values(
        spec, data, resolved, fixed, cfg.seed, gidx, None if groups is None else len(groups)
    )
    sites = initial_sites(spec, args, kwargs, start)
    return Prepared(spec, resolved, fixed, groups, args, kwargs, sites)


def fit(
    data: ScalingData,
    *,
    law: str | Law = "chinchilla",
    priors: Mapping[str, Any] | None = None,
    strict: bool = False,
    progress_bar: bool | None = None,
    **settings: Any,
) -> FitResult:
    """Fit a scaling law (default L(N, D) = E + A/N^α + B/D^β) to training runs with NUTS.

    Parameters
    ----------
    data : ScalingData
        Validated runs (:func:`bayescale.load_dataset`, :meth:`ScalingData.from_csv`...).
        With a ``group`` column the fit is pooled over groups (see ``pooling``).
    law : str or Law, default "chinchilla"
        ``"chinchilla"``, ``"kaplan"``, ``"data_constrained"`` (needs a ``U_D`` column), a
        registered user law or a :class:`~bayescale.laws.Law` (:func:`bayescale.define_law`).
    priors : mapping, optional
        NumPyro distributions replacing defaults for any of the law's parameters, sigma
        (and nu for Student-t; ``tau_<p>`` for the group spread of a pooled parameter); see
        :mod:`bayescale.priors` and the law's module. A number instead of a distribution
        holds that law parameter fixed, e.g. ``priors={"E": 1.69}``; a tight prior such as
        ``dist.LogNormal(math.log(1.69), 0.02)`` lets it move a little.
    strict : bool, default False
        Raise :class:`~bayescale.SamplingError` instead of warning when a diagnostic fails.
    progress_bar : bool, optional
        Show progress; default: only in interactive sessions.
    **settings
        Any field of :class:`FitSettings`: ``likelihood``, ``chains``, ``warmup``,
        ``draws``, ``seed``, ``target_accept``, ``dense_mass``, ``pooling``...

    Returns
    -------
    FitResult

    Raises
    ------
    ValueError
        Bad data, settings or priors.
    SamplingError
        With ``strict=True``, if R-hat > 1.01, ESS < 400, or any divergence.

    Warns
    -----
    SamplingWarning
        When a diagnostic fails (``diagnostics.ok`` is then False).
    """
    if not isinstance(data, ScalingData):
        raise ValueError(
            f"data must be a ScalingData (use ScalingData.from_csv / from_dataframe / "
            f"from_arrays), got {type(data).__name__}"
        )
    law_obj = get_law(law)
    cfg = FitSettings.from_kwargs(settings, law=law_obj.name)
    preload_diagnostics()
    design_problems(data)  # raises early when an exponent cannot be identified at all
    start = time.perf_counter()
    with _x64(cfg.precision):
        prep = prepare(data, law_obj, cfg, priors)
        init_z = chain_starts(prep.spec, prep.args, prep.kwargs, prep.sites, cfg.chains, cfg.seed)
        out = run_nuts(
            prep.spec,
            prep.args,
            prep.kwargs,
            init_z,
            cfg.nuts(),
            chains=cfg.chains,
            seed=cfg.seed,
            chain_method=cfg.chain_method,
            progress_bar=progress_bar,
        )
    wall = time.perf_counter() - start
    result = posterior(data, cfg, prep, out.samples, out.stats, {"wall_s": wall})
    result.diagnostics.report(strict=strict, stacklevel=2)
    return result


def posterior(
    data: ScalingData,
    cfg: FitSettings,
    prep: Prepared,
    samples: Mapping[str, Any],
    stats: Mapping[str, Any],
    timing: dict[str, float],
) -> FitResult:
    """The checked :class:`FitResult` of one data set's draws ``(chain, draw, ...)``."""
    kept = {k: np.asarray(samples[k], dtype=np.float64) for k in prep.spec.kept_sites()}
    stats = {k: np.asarray(v) for k, v in stats.items()}
    diagnostics = compute_diagnostics(
        flat_samples(kept, prep.groups),
        stats,
        max_tree_depth=cfg.max_tree_depth,
        target_accept=cfg.target_accept,
    )
    result = FitResult(
        data=data,
        settings=cfg,
        samples=kept,
        stats=stats,
        diagnostics=diagnostics,
        priors=describe_priors(prep.priors),
        prior_distributions=prep.priors,
        timing=timing,
        law=prep.spec.law,
        groups=prep.groups,
        fixed=prep.fixed,
        prior_log_sd=prior_log_sd(prep.priors),
    )
    return with_checks(result)


def _misfit_ratio(result: FitResult) -> float:
    """Posterior median of median|residual| over its expected value under the likelihood."""
    pred = result.predict_log_loss_draws()  # (n_draws, runs), any law, pooled or not
    n = pred.shape[0]
    idx = np.unique(np.linspace(0, n - 1, min(n, 200)).astype(int))
    observed = np.median(np.abs(result.data.log_loss - pred[idx]), axis=-1)
    nu = result.draws("nu")[idx] if "nu" in result.samples else None
    expected = median_abs_residual(
        result.settings.likelihood,
        result.draws("sigma")[idx],
        nu=nu,
        delta=float(result.settings.delta),
    )
    return float(np.median(observed / expected))


def with_checks(result: FitResult) -> FitResult:
    """The fit with every check's problems added to its sampler diagnostics.

    Design (collinear log N and log D), identification (E, alpha, beta barely constrained
    by the data; ungrouped parameters of laws that have them) and misfit (residuals far
    from the fitted noise). :func:`fit`, :func:`bayescale.fit_many` and :func:`bayescale.load`
    all call this, so every fit of the same draws reports the same problems.
    """
    problems = design_problems(result.data) + list(result.diagnostics.problems)
    finite = all(np.all(np.isfinite(v)) for v in result.samples.values())
    if finite:
        if result.prior_log_sd:
            checked = {
                k: v
                for k, v in result.prior_log_sd.items()
                if k in result.samples and result.samples[k].ndim == 2
            }
            problems += identification_problems(result.samples, checked)
        problems += misfit_problems(_misfit_ratio(result))
    diagnostics = dataclasses.replace(result.diagnostics, problems=problems)
    return dataclasses.replace(result, diagnostics=diagnostics)


def group_index(data: ScalingData) -> tuple[tuple[str, ...] | None, np.ndarray | None]:
    """Sorted group labels and each run's position in them; None for fewer than 2 groups."""
    if data.group is None:
        return None, None
    names, index = np.unique(np.asarray(data.group).astype(str), return_inverse=True)
    if len(names) < 2:  # one group is ungrouped data
        return None, None
    return tuple(str(g) for g in names), index.astype(np.int32)


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


@dataclass(frozen=True, eq=False)
class FitResult:
    """Posterior of a scaling-law fit and everything computed from it.

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
    """

    data: ScalingData
    settings: FitSettings
    samples: dict[str, np.ndarray]
    stats: dict[str, np.ndarray]
    diagnostics: Diagnostics
    priors: dict[str, str]
    prior_distributions: Mapping[str, Any] | None = None
    timing: dict[str, float] = field(default_factory=dict)
    law: Law = CHINCHILLA
    groups: tuple[str, ...] | None = None
    fixed: Mapping[str, float] = field(default_factory=dict)
    prior_log_sd: dict[str, float] | None = None

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
        """All draws as :class:`~bayescale.law.ChinchillaParams` (Chinchilla law only)."""
        if self.law.name != "chinchilla":
            raise ValueError(
                f"params() gives Chinchilla parameters; this fit used law {self.law.name!r}: "
                "use theta()"
            )
        th = self.theta()
        return ChinchillaParams(*(th[k] for k in PARAMETERS))

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
        for p in self.law.params:
            v = np.full(self.n_draws, self.fixed[p]) if p in self.fixed else self.draws(p)
            if v.ndim == 2:
                v = v if j is None else v[:, j]
            elif self.groups is not None and j is None:
                v = v[:, None]
            out[p] = v
        return out

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
        C = _budgets(budgets)
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
        C = _budgets(budgets)
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
            ``sigma``): the posterior predictive, and the wider of the two.
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
        N = np.atleast_1d(np.asarray(N, dtype=np.float64))
        D = np.atleast_1d(np.asarray(D, dtype=np.float64))
        if N.shape != D.shape or np.any(~np.isfinite(N) | (N <= 0) | ~np.isfinite(D) | (D <= 0)):
            raise ValueError("N and D must be arrays of the same shape with finite values > 0")
        if self.groups is not None and group is None:
            raise ValueError(f"this fit is pooled over groups; pass group= (one of {self.groups})")
        x = self._x_at(N, D, covariates)
        with jax.enable_x64(True):  # draws are stored as float64
            log_loss = np.asarray(self.law.predict_log_loss(self.theta(group), x))
            if kind == "new_run":
                log_loss = log_loss + self._residual_draws(log_loss.shape, seed)
            return np.exp(log_loss)

    def _residual_draws(self, shape: tuple[int, ...], seed: int) -> np.ndarray:
        """Log-loss residuals of new runs from the fitted likelihood, one row per draw."""
        sigma = jnp.asarray(self.draws("sigma"))[:, None]
        nu = jnp.asarray(self.draws("nu"))[:, None] if "nu" in self.samples else None
        noise = residual_distribution(
            self.settings.likelihood, jnp.zeros(shape), sigma, nu, float(self.settings.delta)
        )
        return np.asarray(noise.sample(jax.random.key(seed)), dtype=np.float64)

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
        data = self.data if data is None else data
        x = self.law.covariates_of(data)
        if self.groups is None:
            with jax.enable_x64(True):  # draws are stored as float64
                return np.asarray(self.law.predict_log_loss(self.theta(), x))
        labels = np.asarray(data.group).astype(str) if data.group is not None else None
        if labels is None or not set(labels) <= set(self.groups):
            raise ValueError(f"runs must carry groups of this fit ({', '.join(self.groups)})")
        idx = np.searchsorted(np.asarray(self.groups), labels)
        theta = {
            k: (v[:, idx] if v.ndim == 2 and v.shape[1] == len(self.groups) else v)
            for k, v in self.theta().items()
        }
        with jax.enable_x64(True):  # draws are stored as float64
            return np.asarray(self.law.log_loss(theta, x))

    def log_likelihood(self, data: ScalingData | None = None) -> np.ndarray:
        """Pointwise log-likelihood of each run under each draw: (chains, draws, runs).

        ``data`` (default: the fitted runs) may be new runs, e.g. held-out ones.
        """
        data = self.data if data is None else data
        pred = self.predict_log_loss_draws(data)
        with jax.enable_x64(True):  # draws are stored as float64
            resid = jnp.asarray(data.log_loss) - pred
            sigma = self.draws("sigma")[:, None]
            nu = self.draws("nu")[:, None] if "nu" in self.samples else None
            ll = run_loglik(
                self.settings.likelihood, resid, sigma, nu=nu, delta=self.settings.delta
            )
            shape = (*self.samples["sigma"].shape[:2], len(data))
            return np.asarray(ll).reshape(shape)

    # ------------------------------------------------------------------ decisions
    def _decision_theta(self, group: str | None) -> dict[str, np.ndarray]:
        """Draws of one group (any group of a pooled fit must be named)."""
        if self.groups is not None and group is None:
            raise ValueError(
                f"this fit has groups ({', '.join(self.groups)}); pass group= to decide for one"
            )
        return self.theta(group)

    def bayes_optimal(
        self,
        budgets: Any = DEFAULT_BUDGETS,
        ci: float = 0.9,
        ci_kind: str = "eti",
        *,
        group: str | None = None,
        **covariates: Any,
    ) -> pd.DataFrame:
        """Bayes-optimal N beside the plug-in and per-draw optima at each budget.

        The Bayes-optimal N minimises the posterior expected loss; the per-draw optima are
        those of :meth:`allocation`. ``group``: one group of a pooled fit; ``**covariates``:
        the law's extra covariates (default the data's largest, as in :meth:`allocation`).
        See :func:`bayescale.decision_tables.bayes_optimal_table` for the columns.
        """
        from bayescale.decision_tables import bayes_optimal_table

        return bayes_optimal_table(
            self._decision_theta(group),
            _budgets(budgets),
            ci=ci,
            ci_kind=ci_kind,
            flops_per_param_token=self.data.flops_per_param_token,
            law=self.law,
            covariates=self._covariates(covariates),
        )

    def regret(
        self,
        plans: Any,
        *,
        eps: Any = (1e-3, 1e-2),
        within: float = 2.0,
        ci: float = 0.9,
        ci_kind: str = "eti",
        group: str | None = None,
        **covariates: Any,
    ) -> pd.DataFrame:
        """Posterior regret of planned runs in loss and in wasted compute.

        ``plans``: ``"70B/1.4T"``, ``"70B@5.76e23"``, ``(N, D)``, ``{"N": .., "C": ..}`` or a
        list of these; see :func:`bayescale.decision_tables.regret_table` for the columns
        (``group`` and ``**covariates`` as in :meth:`bayes_optimal`).
        """
        from bayescale.decision_tables import regret_table

        return regret_table(
            self._decision_theta(group),
            plans,
            eps=eps,
            within=within,
            ci=ci,
            ci_kind=ci_kind,
            flops_per_param_token=self.data.flops_per_param_token,
            law=self.law,
            covariates=self._covariates(covariates),
        )

    def compute_for_loss(
        self,
        target_loss: Any,
        ci: float = 0.9,
        *,
        group: str | None = None,
        **covariates: Any,
    ) -> pd.DataFrame:
        """Least compute reaching each target loss, with P(reachable).

        Unreachable draws count as infinite compute; see
        :func:`bayescale.decision_tables.compute_for_loss_table` (``group`` and
        ``**covariates`` as in :meth:`bayes_optimal`).
        """
        from bayescale.decision_tables import compute_for_loss_table

        return compute_for_loss_table(
            self._decision_theta(group),
            target_loss,
            ci=ci,
            flops_per_param_token=self.data.flops_per_param_token,
            law=self.law,
            covariates=self._covariates(covariates),
        )

    def data_limited(
        self,
        D_max: float,
        budgets: Any = DEFAULT_BUDGETS,
        ci: float = 0.9,
        ci_kind: str = "eti",
        *,
        group: str | None = None,
        **covariates: Any,
    ) -> pd.DataFrame:
        """Best allocation with at most ``D_max`` training tokens at each budget.

        ``table.attrs["C_bind"]`` is the budget above which the cap binds; see
        :func:`bayescale.decision_tables.data_limited_table` (``group`` and
        ``**covariates`` as in :meth:`bayes_optimal`).
        """
        from bayescale.decision_tables import data_limited_table

        return data_limited_table(
            self._decision_theta(group),
            D_max,
            _budgets(budgets),
            ci=ci,
            ci_kind=ci_kind,
            flops_per_param_token=self.data.flops_per_param_token,
            law=self.law,
            covariates=self._covariates(covariates),
        )

    def report(
        self,
        out: str | os.PathLike[str],
        *,
        budgets: Any = DEFAULT_BUDGETS,
        plans: Any = None,
        target_loss: Any = None,
        d_max: float | None = None,
        cost: Any = None,
        eps: Any = (1e-3, 1e-2),
        within: float = 2.0,
        ci: float = 0.9,
        ci_kind: str = "eti",
        figures: bool = True,
        title: str | None = None,
    ) -> dict[str, Any]:
        """Write a decision report to directory ``out``: Markdown, self-contained HTML, JSON.

        Parameters
        ----------
        out : path
            Output directory (created): ``report.md``, ``report.html``, ``report.json``
            and ``figures/*.png``.
        budgets : sequence
            Budgets as FLOPs or strings in any unit (``"5000pf-days"``,
            ``"2048xH100:30d@40%"``); see :mod:`bayescale.units`.
        plans : optional
            Planned runs to assess (``"70B/1.4T"``...; see :meth:`regret`).
        target_loss : float or sequence, optional
            Target losses for compute-for-loss.
        d_max : float, optional
            Cap on unique training tokens.
        cost : str or CostModel, optional
            ``"H100@40%,$2.5/h"``: express budgets and waste in accelerator-hours and money.
        eps, within : optional
            Regret thresholds and the factor for P(N within a factor of N_opt).
        ci, ci_kind : optional
            Credible mass and interval kind.
        figures : bool, default True
            Draw and embed figures (needs matplotlib).
        title : str, optional
            Report title.

        Returns
        -------
        dict
            The JSON content, with ``"files"`` listing what was written.
        """
        from bayescale.decision_report import write_report

        return write_report(
            self,
            out,
            budgets=budgets,
            plans=plans,
            target_loss=target_loss,
            d_max=d_max,
            cost=cost,
            eps=eps,
            within=within,
            ci=ci,
            ci_kind=ci_kind,
            figures=figures,
            title=title,
        )

    # ------------------------------------------------------------------ model checking
    def loo(self, *, warn: bool = True) -> Any:
        """PSIS-LOO of this fit (:func:`bayescale.checking.loo`)."""
        from bayescale.checking import loo

        return loo(self, warn=warn)

    def waic(self, *, warn: bool = True) -> dict[str, Any]:
        """WAIC of this fit (:func:`bayescale.checking.waic`)."""
        from bayescale.checking import waic

        return waic(self, warn=warn)

    def ppc(self, ci: Any = (0.5, 0.9), *, seed: int = 0) -> Any:
        """Posterior predictive check (:func:`bayescale.checking.ppc`)."""
        from bayescale.checking import ppc

        return ppc(self, ci, seed=seed)

    def backtest(self, holdout: str = "largest", frac: float = 0.2, **kwargs: Any) -> Any:
        """Refit on the smaller runs and predict the held-out ones (:func:`bayescale.backtest`).

        Uses this fit's law, likelihood, priors and sampler settings unless overridden.
        """
        from bayescale.backtest import backtest_fit

        return backtest_fit(self, holdout=holdout, frac=frac, **kwargs)

    # ------------------------------------------------------------------ export
    def to_dict(
        self, budgets: Any = DEFAULT_BUDGETS, ci: float = 0.9, ci_kind: str = "eti"
    ) -> dict[str, Any]:
        """Everything the CLI's ``--json`` writes, as plain Python types."""
        ci, ci_kind = check_ci(ci, ci_kind)
        summary = self.summary(ci, ci_kind)
        parameters = {
            name: {
                "median": float(row["median"]),
                "mean": float(row["mean"]),
                "sd": float(row["sd"]),
                "lo": float(row["lo"]),
                "hi": float(row["hi"]),
                "r_hat": float(row["r_hat"]),
                "ess_bulk": float(row["ess_bulk"]),
                "ess_tail": float(row["ess_tail"]),
            }
            for name, row in summary.iterrows()
        }
        exps = self.exponents(ci, ci_kind)
        exponents = {
            k: {"median": float(r["median"]), "lo": float(r["lo"]), "hi": float(r["hi"])}
            for k, r in exps.iterrows()
        }
        alloc = self.allocation(budgets, ci, ci_kind)
        allocations = []
        for _, row in alloc.iterrows():
            entry: dict[str, Any] = {"budget": float(row["budget"])}
            if "group" in row:
                entry["group"] = str(row["group"])
            for name in ("N_opt", "D_opt", "tokens_per_param", "loss"):
                entry[name] = {
                    "median": float(row[name]),
                    "lo": float(row[f"{name}_lo"]),
                    "hi": float(row[f"{name}_hi"]),
                }
            allocations.append(entry)
        out = {
            "n_runs": len(self.data),
            "ci": float(ci),
            "ci_kind": ci_kind,
            "likelihood": self.settings.likelihood,
            "law": self.law.name,
            "parameters": parameters,
            "exponents": exponents,
            "allocations": allocations,
            "diagnostics": self.diagnostics.to_dict(),
            "settings": dataclasses.asdict(self.settings),
            "priors": dict(self.priors),
            "data": {
                "source": self.data.source,
                "flops_per_param_token": float(self.data.flops_per_param_token),
            },
            "versions": versions(),
        }
        if self.fixed:
            out["fixed"] = {k: float(v) for k, v in self.fixed.items()}
        if self.law.covariates:
            out["allocation_covariates"] = self._covariates({})
        if self.groups is not None:
            out["groups"] = list(self.groups)
            out["pooling"] = self.settings.pooling
        return out

    def to_json(
        self,
        budgets: Any = DEFAULT_BUDGETS,
        ci: float = 0.9,
        ci_kind: str = "eti",
        *,
        indent: int | None = 2,
    ) -> str:
        """:meth:`to_dict` as a JSON string (deterministic: same fit, same bytes)."""
        return json.dumps(self.to_dict(budgets, ci, ci_kind), indent=indent, allow_nan=True)

    def to_datatree(self, *, log_likelihood: bool = False) -> Any:
        """The posterior as an ArviZ :class:`xarray.DataTree` (posterior, sample_stats...)."""
        from bayescale.io import to_datatree

        return to_datatree(self, log_likelihood=log_likelihood)

    @property
    def posterior(self) -> Any:
        """ArviZ DataTree of this fit (alias of :meth:`to_datatree`)."""
        return self.to_datatree()

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the fit to a netCDF file; :func:`bayescale.load` reads it back exactly."""
        from bayescale.io import save

        save(self, path)

    def __repr__(self) -> str:
        s = self.settings
        flag = "ok" if self.ok else "DIAGNOSTICS FAILED"
        law = "" if self.law.name == "chinchilla" else f"law {self.law.name}, "
        groups = "" if self.groups is None else f", {len(self.groups)} groups ({s.pooling})"
        return (
            f"FitResult({len(self.data)} runs{groups}, {law}{s.likelihood} likelihood, "
            f"{s.chains}x{s.draws} draws, {flag})"
        )


def _budgets(budgets: Any) -> np.ndarray:
    if isinstance(budgets, str):
        raise ValueError(f"budgets must be numbers (FLOPs), got {budgets!r}")
    C = np.atleast_1d(np.asarray(budgets, dtype=np.float64))
    if C.ndim != 1 or C.size == 0:
        raise ValueError("budgets must be a number or a 1-d sequence of numbers")
    bad = ~np.isfinite(C) | (C <= 0)
    if bad.any():
        raise ValueError(f"budgets must be finite and > 0 FLOPs, got {C[bad].tolist()}")
    return C
