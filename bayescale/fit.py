"""``fit()`` → :class:`FitResult`: the steps in order, and the one object users hold.

data → priors → model → compiled NUTS → diagnostics → posterior summaries and allocation.
Every number a method returns comes from a pure function in :mod:`bayescale.law`,
:mod:`bayescale.allocation` or :mod:`bayescale.posterior`; the methods only wire them.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from bayescale.allocation import compute_optimal, optimal_exponents
from bayescale.data import ScalingData
from bayescale.diagnostics import Diagnostics, compute_diagnostics
from bayescale.inference import CHAIN_METHODS, ModelSpec, NUTSSettings, run_nuts, unconstrain
from bayescale.law import LIKELIHOODS, ChinchillaParams, predict_log_loss, run_loglik
from bayescale.posterior import check_ci, summarize
from bayescale.priors import describe_priors, resolve_priors

__all__ = ["DEFAULT_BUDGETS", "PARAMETERS", "FitResult", "FitSettings", "fit"]

#: The law's parameters, in the paper's order, as reported by summaries.
PARAMETERS = ("E", "A", "B", "alpha", "beta")
#: Budgets (FLOPs) reported when none are given: 1e21…1e25 and Gopher/Chinchilla's 5.76e23.
DEFAULT_BUDGETS = (1e21, 1e22, 1e23, 5.76e23, 1e24, 1e25)
PRECISIONS = ("float64", "float32")
#: How chains are initialised: at a data-based guess, or at the classic (Huber) fit.
INITS = ("heuristic", "classic")


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
    init : {"heuristic", "classic"}
        Centre of the chains' (over-dispersed) starting points: a guess from the data's
        range (default), or the classic Huber fit from 32 starts
        (:func:`bayescale.fit_classic`). Measured over synthetic data sets, including laws
        far from the guess, the classic centre changed neither divergences, R-hat nor ESS,
        while it adds a compile (seconds) to a process's first fit; hence not the default.
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
    init: str = "heuristic"

    def __post_init__(self) -> None:
        def need(cond: bool, msg: str) -> None:
            if not cond:
                raise ValueError(msg)

        need(
            self.likelihood in LIKELIHOODS,
            f"unknown likelihood {self.likelihood!r}; choose one of {', '.join(LIKELIHOODS)}",
        )
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
        need(
            self.chain_method in CHAIN_METHODS,
            f"unknown chain_method {self.chain_method!r}; "
            f"choose one of {', '.join(CHAIN_METHODS)}",
        )
        need(
            self.precision in PRECISIONS,
            f"unknown precision {self.precision!r}; choose one of {', '.join(PRECISIONS)}",
        )
        need(
            self.init in INITS,
            f"unknown init {self.init!r}; choose one of {', '.join(INITS)}",
        )

    def nuts(self) -> NUTSSettings:
        """The subset that shapes the compiled sampler."""
        return NUTSSettings(
            warmup=int(self.warmup),
            draws=int(self.draws),
            target_accept=float(self.target_accept),
            dense_mass=bool(self.dense_mass),
            max_tree_depth=int(self.max_tree_depth),
        )


def _initial_values(data: ScalingData, center: tuple[float, float]) -> dict[str, float]:
    """A cheap starting point inside the posterior's basin.

    E a little below the smallest loss; the rest of the mean loss split evenly between the
    N and D terms at the data's centre; exponents 0.3 (typical of published fits).
    """
    E0 = 0.8 * float(np.min(data.loss))
    reducible = max(float(np.exp(np.mean(data.log_loss))) - E0, 1e-3)
    half = float(np.log(reducible / 2.0))
    return {
        "E": E0,
        "alpha": 0.3,
        "beta": 0.3,
        "a_c": half,
        "b_c": half,
        "sigma": 0.05,
        "nu": 10.0,
    }


#: Starts of the classic fit that centres the chains: log A, log B in {0, 5, 10, 15},
#: log E in {-0.5, 0.5}, alpha = beta = 0.5. On the Chinchilla runs and synthetic data sets
#: they reached the same optimum as Hoffmann et al.'s 4,500 starts, in one compiled shape.
NUTS_INIT_STARTS = np.array(
    [
        (a, b, e, 0.5, 0.5)
        for a in (0.0, 5.0, 10.0, 15.0)
        for b in (0.0, 5.0, 10.0, 15.0)
        for e in (-0.5, 0.5)
    ]
)


def _classic_initial_values(
    datasets: list[ScalingData], centers: list[tuple[float, float]]
) -> list[dict[str, float]]:
    """Chain centres at the classic Huber fit of each data set (one batched fit for all)."""
    from bayescale.classic import ClassicSettings, _fit_batch

    fits = _fit_batch(datasets, NUTS_INIT_STARTS, ClassicSettings())
    out = []
    for data, fit, (m_N, m_D) in zip(datasets, fits, centers, strict=True):
        a, b, e, alpha, beta = (float(v) for v in fit["theta"])
        if not np.all(np.isfinite(fit["theta"])) or alpha <= 0 or beta <= 0:
            out.append(_initial_values(data, (m_N, m_D)))  # a degenerate fit: fall back
            continue
        pred = np.log(np.exp(e) + np.exp(a - alpha * data.log_N) + np.exp(b - beta * data.log_D))
        rms = float(np.sqrt(np.mean((data.log_loss - pred) ** 2)))
        out.append(
            {
                "E": float(np.exp(e)),
                "alpha": alpha,
                "beta": beta,
                "a_c": a - alpha * m_N,
                "b_c": b - beta * m_D,
                "sigma": float(np.clip(rms, 1e-3, 1.0)),
                "nu": 10.0,
            }
        )
    return out


def _x64(precision: str) -> Any:
    return jax.enable_x64(precision == "float64")


def fit(
    data: ScalingData,
    *,
    priors: Mapping[str, Any] | None = None,
    strict: bool = False,
    progress_bar: bool | None = None,
    **settings: Any,
) -> FitResult:
    """Fit L(N, D) = E + A/N^α + B/D^β to training runs with NUTS.

    Parameters
    ----------
    data : ScalingData
        Validated runs (:func:`bayescale.load_dataset`, :meth:`ScalingData.from_csv`...).
    priors : mapping, optional
        NumPyro distributions replacing defaults for any of E, A, B, alpha, beta, sigma
        (and nu for Student-t); see :mod:`bayescale.priors`.
    strict : bool, default False
        Raise :class:`~bayescale.SamplingError` instead of warning when a diagnostic fails.
    progress_bar : bool, optional
        Show progress; default: only in interactive sessions.
    **settings
        Any field of :class:`FitSettings`: ``likelihood``, ``chains``, ``warmup``,
        ``draws``, ``seed``, ``target_accept``, ``dense_mass``...

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
    unknown = set(settings) - {f.name for f in dataclasses.fields(FitSettings)}
    if unknown:
        allowed = ", ".join(f.name for f in dataclasses.fields(FitSettings))
        raise ValueError(
            f"unknown fit setting(s) {', '.join(sorted(unknown))}; allowed: {allowed}"
        )
    cfg = FitSettings(**settings)
    resolved = resolve_priors(priors, cfg.likelihood)
    spec = ModelSpec(likelihood=cfg.likelihood, delta=float(cfg.delta))

    start = time.perf_counter()
    with _x64(cfg.precision):
        dtype = jnp.result_type(float)
        log_N = jnp.asarray(data.log_N, dtype)
        log_D = jnp.asarray(data.log_D, dtype)
        center = (jnp.mean(log_N), jnp.mean(log_D))
        args = (log_N, log_D, jnp.asarray(data.log_loss, dtype))
        kwargs = {"priors": resolved, "center": center}
        c = (float(center[0]), float(center[1]))
        if cfg.init == "classic":
            (init,) = _classic_initial_values([data], [c])
        else:
            init = _initial_values(data, c)
        sites = ["E", "alpha", "beta", "a_c", "b_c", "sigma"] + (
            ["nu"] if cfg.likelihood == "student_t" else []
        )
        z = unconstrain(spec, args, kwargs, {k: jnp.asarray(init[k], dtype) for k in sites})
        # Over-dispersed starts (±0.5 in unconstrained space) let R-hat detect poor mixing.
        jitter = np.random.default_rng(cfg.seed).uniform(-0.5, 0.5, (cfg.chains, len(sites)))
        init_z = {k: z[k] + jnp.asarray(jitter[:, i], dtype) for i, k in enumerate(sites)}
        out = run_nuts(
            spec,
            args,
            kwargs,
            init_z,
            cfg.nuts(),
            chains=cfg.chains,
            seed=cfg.seed,
            chain_method=cfg.chain_method,
            progress_bar=progress_bar,
        )
    wall = time.perf_counter() - start
    keep = [*PARAMETERS, "sigma"] + (["nu"] if cfg.likelihood == "student_t" else [])
    samples = {k: np.asarray(out.samples[k], dtype=np.float64) for k in keep}
    diagnostics = compute_diagnostics(
        samples, out.stats, max_tree_depth=cfg.max_tree_depth, target_accept=cfg.target_accept
    )
    result = FitResult(
        data=data,
        settings=cfg,
        samples=samples,
        stats={k: np.asarray(v) for k, v in out.stats.items()},
        diagnostics=diagnostics,
        priors=describe_priors(resolved),
        prior_distributions=resolved,
        timing={"wall_s": wall},
    )
    diagnostics.report(strict=strict, stacklevel=2)
    return result


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
        Posterior draws of E, A, B, alpha, beta, sigma (and nu), shape (chains, draws).
    stats : dict of numpy.ndarray
        Sampler statistics per draw: diverging, num_steps, accept_prob, energy.
    diagnostics : Diagnostics
        R-hat, ESS, divergences, tree-depth saturation, E-BFMI and the problems found.
    priors : dict of str
        Description of the prior on each parameter.
    """

    data: ScalingData
    settings: FitSettings
    samples: dict[str, np.ndarray]
    stats: dict[str, np.ndarray]
    diagnostics: Diagnostics
    priors: dict[str, str]
    prior_distributions: Mapping[str, Any] | None = None
    timing: dict[str, float] = field(default_factory=dict)

    # ------------------------------------------------------------------ draws
    @property
    def n_draws(self) -> int:
        """Total posterior draws (chains × draws)."""
        return int(np.prod(self.samples["E"].shape))

    def draws(self, name: str) -> np.ndarray:
        """Flattened draws (chains × draws,) of one parameter."""
        if name not in self.samples:
            raise ValueError(f"no parameter {name!r}; available: {', '.join(self.samples)}")
        return self.samples[name].reshape(-1)

    def params(self) -> ChinchillaParams:
        """All draws as :class:`~bayescale.law.ChinchillaParams` of shape (n_draws,)."""
        return ChinchillaParams(*(self.draws(k) for k in PARAMETERS))

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
            Index E, A, B, alpha, beta, sigma (nu); columns mean, sd, median, lo, hi,
            r_hat, ess_bulk, ess_tail.
        """
        ci, ci_kind = check_ci(ci, ci_kind)
        rows = {}
        for name in self.samples:
            s = summarize(self.draws(name), ci, ci_kind)
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
        """Posterior of a = β/(α+β) (N_opt ∝ C^a) and b = α/(α+β) (D_opt ∝ C^b)."""
        ci, ci_kind = check_ci(ci, ci_kind)
        a, b = (np.asarray(x) for x in optimal_exponents(self.params()))
        rows = {}
        for name, x in (("a", a), ("b", b)):
            s = summarize(x, ci, ci_kind)
            rows[name] = {k: float(s[k]) for k in ("median", "mean", "sd", "lo", "hi")}
        return pd.DataFrame.from_dict(rows, orient="index")

    def allocation_draws(self, budgets: Any) -> dict[str, np.ndarray]:
        """Draws of N_opt, D_opt, tokens_per_param and loss: arrays (n_draws, K)."""
        C = _budgets(budgets)
        with _x64(self.settings.precision):
            alloc = compute_optimal(self.params(), C, self.data.flops_per_param_token)
            return {k: np.asarray(v) for k, v in alloc._asdict().items()}

    def allocation(self, budgets: Any = DEFAULT_BUDGETS, ci: float = 0.9, ci_kind: str = "eti"):
        """Compute-optimal N and D with credible intervals at each budget.

        Parameters
        ----------
        budgets : float or sequence of float
            Training compute C in FLOPs.
        ci : float, default 0.9
            Credible mass.
        ci_kind : {"eti", "hdi"}
            Interval kind.

        Returns
        -------
        pandas.DataFrame
            One row per budget; for each of N_opt, D_opt, tokens_per_param, loss the
            posterior median and the interval bounds (``<name>_lo``, ``<name>_hi``).
        """
        ci, ci_kind = check_ci(ci, ci_kind)
        C = _budgets(budgets)
        draws = self.allocation_draws(C)
        cols: dict[str, Any] = {"budget": C}
        for name, x in draws.items():
            s = summarize(x, ci, ci_kind)
            cols[name] = s["median"]
            cols[f"{name}_lo"] = s["lo"]
            cols[f"{name}_hi"] = s["hi"]
        table = pd.DataFrame(cols)
        table.attrs.update(ci=ci, ci_kind=ci_kind)
        return table

    def predict(self, N: Any, D: Any) -> np.ndarray:
        """Posterior draws of the law's loss at new (N, D): shape (n_draws, len(N))."""
        N = np.atleast_1d(np.asarray(N, dtype=np.float64))
        D = np.atleast_1d(np.asarray(D, dtype=np.float64))
        if N.shape != D.shape or np.any(~np.isfinite(N) | (N <= 0) | ~np.isfinite(D) | (D <= 0)):
            raise ValueError("N and D must be arrays of the same shape with finite values > 0")
        with _x64(self.settings.precision):
            return np.exp(np.asarray(predict_log_loss(self.params(), np.log(N), np.log(D))))

    def log_likelihood(self) -> np.ndarray:
        """Pointwise log-likelihood of each run under each draw: (chains, draws, runs)."""
        with _x64(self.settings.precision):
            pred = predict_log_loss(self.params(), self.data.log_N, self.data.log_D)
            resid = jnp.asarray(self.data.log_loss) - pred
            sigma = self.draws("sigma")[:, None]
            nu = self.draws("nu")[:, None] if "nu" in self.samples else None
            ll = run_loglik(
                self.settings.likelihood, resid, sigma, nu=nu, delta=self.settings.delta
            )
            shape = (*self.samples["E"].shape, len(self.data))
            return np.asarray(ll).reshape(shape)

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
            for name in ("N_opt", "D_opt", "tokens_per_param", "loss"):
                entry[name] = {
                    "median": float(row[name]),
                    "lo": float(row[f"{name}_lo"]),
                    "hi": float(row[f"{name}_hi"]),
                }
            allocations.append(entry)
        return {
            "n_runs": len(self.data),
            "ci": float(ci),
            "ci_kind": ci_kind,
            "likelihood": self.settings.likelihood,
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
        }

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
        return (
            f"FitResult({len(self.data)} runs, {s.likelihood} likelihood, "
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
