r"""Simulation-based calibration: do the intervals cover the truth as often as they claim.

Simulation-based calibration (SBC; Talts et al. 2018, arXiv:1804.06788) checks a
Bayesian method end to end. Draw parameters θ̃ from the prior, simulate a data set ỹ from
the model, fit, and find the rank of θ̃ among L posterior draws. If the sampler and the
model are right, the rank is uniform on {0, …, L} for every parameter and every function
of the parameters, and a central p-interval covers θ̃ in a fraction p of the simulations
(up to binomial noise). Any bug in the model, the likelihood, the parameterisation or the
sampler shows up as a skewed or ∪/∩-shaped rank histogram and as coverage outside its band.

:func:`calibration` runs this on a realistic design
(:func:`bayescale.checks.simulate.chinchilla_design`, Hoffmann et al.'s isoFLOP sweep: 153 runs
between 6e18 and 3e21 FLOPs) for E, A, B, α, β, σ and for the compute-optimal N, D and loss at
budgets 100× and 1000× the largest simulated run — the extrapolation users plan with. The ranks and
coverage come back as a :class:`~bayescale.checks.calibration_result.CalibrationResult` (its
tables, report and plot are in :mod:`bayescale.checks.calibration_result`).

Two generators:

- ``generator="prior"`` (default) draws θ̃ from the priors the fit uses. This is SBC proper:
  coverage must hold whatever the prior allows, including data sets no real sweep produces.
- ``generator={...}`` draws θ̃ from a *design distribution* (e.g. :func:`realistic_truths`,
  centred on published fits) while the fit keeps its own priors. This measures frequentist
  coverage at realistic truths; it is not guaranteed by SBC theory (the prior is then
  misspecified), so it is reported separately.

Any inference method can be calibrated: ``method`` is a callable ``(data, seed) ->``
:class:`MethodOutput` (or a :class:`~bayescale.FitResult`, or a mapping of draws), so a
bootstrap's replicas go through the same machinery as NUTS draws.

Batching. Every simulated data set has the same shape, so the compiled NUTS sampler
(:func:`bayescale.inference.sampler.run_nuts`) is traced once and reused by every fit; fits run one
after another from Python, each spreading its chains over the host devices. That was measured
faster on CPU than batching data sets into one vmapped sampler (see ``benchmarks/calibrate.py
--measure-batching``): batched NUTS runs every chain in lockstep with the longest trajectory of the
batch, and prior draws make trajectory lengths vary by 100×.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

import jax
import numpy as np

from bayescale.checks.calibration_result import PROBLEM_KINDS as PROBLEM_KINDS
from bayescale.checks.calibration_result import CalibrationResult, binomial_band
from bayescale.checks.simulate import chinchilla_design, simulate_datasets
from bayescale.classic.approach3 import fit_classic
from bayescale.data.scaling_data import ScalingData
from bayescale.inference.fit import sample
from bayescale.inference.model import ModelSpec
from bayescale.inference.priors import describe_priors, resolve_priors
from bayescale.inference.sampler import interactive
from bayescale.inference.settings import FitSettings
from bayescale.inference.storage import versions
from bayescale.laws import CHINCHILLA
from bayescale.laws.chinchilla import ChinchillaParams
from bayescale.laws.extrapolation import (
    DRIFT_PARAMS,
    REACH_SCALE,
    data_edges,
    drift_values,
    extrapolating,
)
from bayescale.laws.optimum import allocate

__all__ = [
    "CalibrationResult",
    "MethodOutput",
    "binomial_band",
    "calibration",
    "classic_bootstrap",
    "nuts_method",
    "realistic_truths",
]

PARAMETERS = ("E", "A", "B", "alpha", "beta")


class MethodOutput(NamedTuple):
    """What an inference method returns for one simulated data set.

    Attributes
    ----------
    draws : dict of str to numpy.ndarray
        1-d arrays of equal length: posterior draws (or bootstrap replicas) of E, A, B,
        alpha, beta, and optionally sigma. Their order matters only for thinning, which takes
        evenly spaced draws; pass chains one after another.
    ok : bool
        Whether the method's own checks passed (diagnostics for NUTS).
    problems : tuple of str
        The failed checks, if any.
    """

    draws: dict[str, np.ndarray]
    ok: bool = True
    problems: tuple[str, ...] = ()


def _as_output(out: Any) -> MethodOutput:
    if isinstance(out, MethodOutput):
        return out
    if hasattr(out, "samples") and hasattr(out, "diagnostics"):  # a FitResult
        draws = {k: np.asarray(v, dtype=np.float64).reshape(-1) for k, v in out.samples.items()}
        return MethodOutput(draws, bool(out.ok), tuple(out.diagnostics.problems))
    if isinstance(out, ChinchillaParams):
        return MethodOutput({k: np.asarray(v).reshape(-1) for k, v in out._asdict().items()})
    if isinstance(out, Mapping):
        return MethodOutput({k: np.asarray(v).reshape(-1) for k, v in out.items()})
    raise ValueError(
        "a calibration method must return a MethodOutput, a FitResult, ChinchillaParams or a "
        f"mapping of draws; got {type(out).__name__}"
    )


def nuts_method(
    *, priors: Mapping[str, Any] | None = None, **settings: Any
) -> Callable[[ScalingData, int], MethodOutput]:
    """The default method: the NUTS fit of :func:`bayescale.fit` with ``priors`` and ``settings``.

    Nothing is warned (each fit's ``ok`` flag and problems are recorded).
    """

    def run(data: ScalingData, seed: int) -> MethodOutput:
        result = sample(data, priors=priors, seed=seed, progress_bar=False, **settings)
        return _as_output(result)

    run.__name__ = "nuts"
    return run


def realistic_truths() -> dict[str, Any]:
    """A design distribution of truths like published language-model fits.

    Centred between Hoffmann et al. 2022 (E 1.69, A 406, B 411, α 0.34, β 0.28) and
    Besiroglu et al. 2024 (E 1.82, A 482, B 2085, α 0.35, β 0.37), with residual noise like
    the Chinchilla data (the Gaussian fit there gives σ ≈ 0.007; digitised curves
    0.005–0.03):

    ==========  ============================  ======================
    E           LogNormal(log 1.8, 0.1)        90% in [1.53, 2.13]
    A           LogNormal(log 450, 0.5)        90% in [198, 1020]
    B           LogNormal(log 1000, 0.8)       90% in [268, 3730]
    alpha       LogNormal(log 0.34, 0.12)      90% in [0.28, 0.41]
    beta        LogNormal(log 0.32, 0.15)      90% in [0.25, 0.41]
    sigma       LogNormal(log 0.01, 0.5)       90% in [0.0044, 0.023]
    ==========  ============================  ======================
    """
    import numpyro.distributions as dist

    return {
        "E": dist.LogNormal(math.log(1.8), 0.1),
        "A": dist.LogNormal(math.log(450.0), 0.5),
        "B": dist.LogNormal(math.log(1000.0), 0.8),
        "alpha": dist.LogNormal(math.log(0.34), 0.12),
        "beta": dist.LogNormal(math.log(0.32), 0.15),
        "sigma": dist.LogNormal(math.log(0.01), 0.5),
    }


def _derived(
    params: ChinchillaParams,
    budgets: np.ndarray,
    k: float,
    drift: Mapping[str, np.ndarray] | None = None,
) -> dict[str, np.ndarray]:
    """Compute-optimal N, D and loss at each budget: arrays of shape S + (K,).

    With ``drift`` (draws of ``drift_level``, ``drift_tilt`` and the design's edges,
    :data:`~bayescale.laws.extrapolation.EDGES`) the model with drift beyond the data is
    used, as a fit reports it.
    """
    law, theta = CHINCHILLA, params
    if drift is not None:
        law = extrapolating(CHINCHILLA)
        theta = {**params._asdict(), **drift}
    with jax.enable_x64(True):
        alloc = allocate(law, theta, budgets, k)
        return {
            "N_opt": np.asarray(alloc.N_opt),
            "D_opt": np.asarray(alloc.D_opt),
            "loss": np.asarray(alloc.loss),
        }


def _quantity_names(factors: Sequence[float], with_sigma: bool) -> list[str]:
    names = [*PARAMETERS] + (["sigma"] if with_sigma else [])
    for f in factors:
        names += [f"N_opt@{f:g}x", f"D_opt@{f:g}x", f"loss@{f:g}x"]
    return names


def _quantities(
    draws: Mapping[str, np.ndarray],
    budgets: np.ndarray,
    k: float,
    with_sigma: bool,
    edge: Mapping[str, float] | None = None,
) -> np.ndarray:
    """Every calibrated quantity for each draw: shape (n_draws, Q), in _quantity_names order.

    Draws with ``drift_level`` and ``drift_tilt`` (and an ``edge``) give the derived
    quantities of the model with drift beyond the data; without them, of the law alone.
    """
    cols = [np.asarray(draws[p], dtype=np.float64) for p in PARAMETERS]
    params = ChinchillaParams(*cols)
    if with_sigma:
        cols.append(np.asarray(draws["sigma"], dtype=np.float64))
    drift = None
    if edge is not None and all(p in draws for p in DRIFT_PARAMS):
        drift = {p: np.asarray(draws[p], dtype=np.float64) for p in DRIFT_PARAMS}
        for name, value in edge.items():
            drift[name] = np.full_like(drift[DRIFT_PARAMS[0]], value)
        # the sweep's own scatter beyond its N range moves new runs, not N_opt, D_opt or
        # the law's loss: any value gives the same quantities
        drift[REACH_SCALE] = np.ones_like(drift[DRIFT_PARAMS[0]])
    derived = _derived(params, budgets, k, drift)
    for j in range(len(budgets)):
        cols += [derived["N_opt"][..., j], derived["D_opt"][..., j], derived["loss"][..., j]]
    return np.stack(cols, axis=-1)


def _no_numbers(priors: Mapping[str, Any] | None) -> dict[str, Any]:
    """Priors of a calibration: distributions only (a fixed number has no truth to draw)."""
    numbers = [k for k, v in (priors or {}).items() if not hasattr(v, "sample")]
    if numbers:
        raise ValueError(f"calibration needs distributions, not fixed values, for {numbers}")
    return dict(priors or {})


def _resolve_generator(
    generator: str | Mapping[str, Any], priors: Mapping[str, Any] | None, likelihood: str
) -> tuple[dict[str, Any], str]:
    spec = ModelSpec(CHINCHILLA, likelihood)
    if isinstance(generator, str):
        if generator != "prior":
            raise ValueError(
                f"generator must be 'prior' or a mapping of distributions, got {generator!r}"
            )
        resolved, _ = resolve_priors(spec, _no_numbers(priors))
        return resolved, "prior (SBC: truths drawn from the fit's own priors)"
    if not isinstance(generator, Mapping):
        raise ValueError(
            f"generator must be 'prior' or a mapping of distributions, got "
            f"{type(generator).__name__}"
        )
    resolved, _ = resolve_priors(spec, _no_numbers(generator))
    desc = ", ".join(f"{k} {v}" for k, v in describe_priors(resolved).items())
    return resolved, f"design distribution ({desc}); the fit keeps its own priors"


def _finite_datasets(
    n_sims: int,
    gen: Mapping[str, Any],
    design: tuple[Any, Any],
    likelihood: str,
    delta: float,
    seed: int,
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """``n_sims`` simulated data sets whose losses are all finite.

    Heavy-tailed noise from the priors (Student-t with a small ν) can overflow a loss;
    such data sets are skipped and more are drawn. Keeping or dropping a data set by its
    data alone leaves SBC valid: the posterior given the data is unchanged, so the ranks
    stay uniform under the kept sets' joint distribution.
    """
    kept_t: list[dict[str, np.ndarray]] = []
    kept_l: list[np.ndarray] = []
    have, batch, round_ = 0, n_sims, 0
    while have < n_sims:
        t, loss = simulate_datasets(
            batch, gen, design, likelihood=likelihood, delta=delta, seed=seed + 7919 * round_
        )
        good = np.all(np.isfinite(loss) & (loss > 0), axis=1)
        kept_t.append({k: v[good] for k, v in t.items()})
        kept_l.append(loss[good])
        have += int(good.sum())
        round_ += 1
        if round_ > 20:
            raise ValueError("the generator gives non-finite losses for almost every data set")
    truths = {k: np.concatenate([t[k] for t in kept_t])[:n_sims] for k in kept_t[0]}
    return truths, np.concatenate(kept_l)[:n_sims]


def calibration(
    n_sims: int = 200,
    *,
    method: Callable[[ScalingData, int], Any] | None = None,
    generator: str | Mapping[str, Any] = "prior",
    priors: Mapping[str, Any] | None = None,
    likelihood: str = "student_t",
    design: tuple[Any, Any] | None = None,
    budget_factors: Sequence[float] = (100.0, 1000.0),
    levels: Sequence[float] = (0.5, 0.9),
    n_ranks: int = 99,
    seed: int = 0,
    progress: bool | None = None,
    drift_truth: bool | None = None,
    **settings: Any,
) -> CalibrationResult:
    """Simulation-based calibration of a fitting method on a realistic design.

    Parameters
    ----------
    n_sims : int, default 200
        Simulated data sets.
    method : callable, optional
        ``method(data, seed)`` returning a :class:`MethodOutput`, a :class:`~bayescale.FitResult`,
        :class:`~bayescale.laws.chinchilla.ChinchillaParams` of draws or a mapping of draws.
        Default: :func:`nuts_method` with ``priors``, ``likelihood`` and ``settings`` — bayescale's
        own NUTS fit.
    generator : "prior" or mapping, default "prior"
        Where truths come from: the fit's priors (SBC), or a mapping of NumPyro
        distributions (a design distribution; missing keys fall back to the default priors;
        see :func:`realistic_truths`).
    priors : mapping, optional
        Priors of the fit (and of the generator when ``generator="prior"``).
    likelihood : {"gaussian", "student_t", "huber"}
        Residual distribution used both to simulate and to fit.
    design : (N, D), optional
        Run sizes; default :func:`bayescale.checks.simulate.chinchilla_design` (153 runs).
    budget_factors : sequence of float, default (100, 1000)
        Budgets at which N_opt, D_opt and loss are calibrated, as multiples of the largest
        simulated run's compute.
    levels : sequence of float, default (0.5, 0.9)
        Central interval probabilities whose coverage is recorded.
    n_ranks : int, default 99
        L, the number of evenly spaced draws the truth is ranked among (≤ the effective
        sample size, so the thinned draws are close to independent).
    seed : int, default 0
        Seeds the truths, the noise and each fit (fit i uses ``seed + i``).
    progress : bool, optional
        Progress bar over data sets; default: only in interactive use.
    drift_truth : bool, optional
        Whether the truths carry the model's drift beyond the data, drawn from its prior
        (:func:`bayescale.laws.extrapolation.drift_values` at the ``drift`` setting).
        Default: yes when the truths come from the fit's priors (``generator="prior"`` or
        ``priors`` given: SBC of the full model), no for a design distribution fitted with
        the default priors (the law alone: N_opt and D_opt beyond the data then cover more
        than nominal, as far as the data cannot rule the drift out, and the loss less,
        as the drift's level leans towards runs beating the law).
    **settings
        Fit settings for the default method (chains, warmup, draws, target_accept...).

    Returns
    -------
    CalibrationResult
    """
    if not isinstance(n_sims, int | np.integer) or n_sims < 1:
        raise ValueError(f"n_sims must be a positive integer, got {n_sims!r}")
    if not isinstance(n_ranks, int | np.integer) or n_ranks < 1:
        raise ValueError(f"n_ranks must be a positive integer, got {n_ranks!r}")
    levels = tuple(float(p) for p in levels)
    if not all(0 < p < 1 for p in levels):
        raise ValueError(f"levels must be probabilities in (0, 1), got {levels}")
    cfg = FitSettings(likelihood=likelihood, **settings)  # validates settings early
    gen, gen_desc = _resolve_generator(generator, priors, likelihood)
    if method is None:
        method = nuts_method(priors=priors, likelihood=likelihood, **settings)
        method_desc = "bayescale.fit (NUTS)"
    else:
        method_desc = getattr(method, "__name__", type(method).__name__)
    N, D = chinchilla_design() if design is None else design
    N = np.asarray(N, dtype=np.float64)
    D = np.asarray(D, dtype=np.float64)
    k = 6.0
    budgets = np.asarray(budget_factors, dtype=np.float64) * float(np.max(k * N * D))

    start = time.perf_counter()
    truths, losses = _finite_datasets(n_sims, gen, (N, D), likelihood, cfg.delta, seed)
    true_params = {p: truths[p] for p in PARAMETERS}
    with_sigma = None
    names: list[str] = []
    edge = data_edges(np.log(N), np.log(D))
    # the truth's drift beyond the data: from the model's prior when the truths come from
    # the fit's priors (SBC of the full model), none when a design distribution stands for
    # the law alone
    if drift_truth is None:
        drift_truth = isinstance(generator, str) or priors is not None
    drift_sd = cfg.drift if drift_truth else 0.0
    # level, tilt and the sweep's drift scale (the population prior's scale mixture)
    rngs = [np.random.default_rng([seed, j]) for j in range(len(DRIFT_PARAMS) + 1)]
    z = np.stack([r.standard_normal(n_sims) for r in rngs])
    drift_draws_truth = drift_values(z, drift_sd)
    truth_rows, rank_rows, ok, problems = [], [], [], []
    covered: dict[float, list[np.ndarray]] = {p: [] for p in levels}
    rng = np.random.default_rng(seed)
    show = interactive() if progress is None else progress
    iterator: Any = range(n_sims)
    if show:
        from tqdm.auto import tqdm

        iterator = tqdm(iterator, desc="calibration", unit="fit")
    for i in iterator:
        # simulated from the priors: in nats by construction, however implausible the value
        data = ScalingData.from_arrays(
            N=N, D=D, loss=losses[i], min_runs=1, n_unit=1, d_unit=1, loss_kind="loss"
        )
        out = _as_output(method(data, seed + i))
        if with_sigma is None:
            with_sigma = "sigma" in out.draws
            names = _quantity_names(budget_factors, with_sigma)
        draws = _quantities(out.draws, budgets, k, with_sigma, edge)  # (S, Q)
        truth_draw = {**{p: true_params[p][i] for p in PARAMETERS}, "sigma": truths["sigma"][i]}
        if all(p in out.draws for p in DRIFT_PARAMS):  # a method without drift: law alone
            truth_draw.update({p: v[i] for p, v in drift_draws_truth.items()})
        truth = _quantities(
            {p: np.asarray([v]) for p, v in truth_draw.items()}, budgets, k, with_sigma, edge
        )[0]
        S = draws.shape[0]
        idx = np.unique(np.linspace(0, S - 1, min(n_ranks, S)).round().astype(int))
        thinned = draws[idx]
        below = np.sum(thinned < truth, axis=0)
        ties = np.sum(thinned == truth, axis=0)
        # ties (a bootstrap's repeated replicas) are broken at random, as Talts et al. do
        rank_rows.append(below + rng.integers(0, ties + 1))
        truth_rows.append(truth)
        for p in levels:
            lo, hi = np.quantile(draws, [(1 - p) / 2, (1 + p) / 2], axis=0)
            covered[p].append((lo <= truth) & (truth <= hi))
        ok.append(bool(out.ok))
        problems.append(tuple(out.problems))
    wall = time.perf_counter() - start
    design_desc = (
        "bayescale.checks.simulate.chinchilla_design() (Hoffmann et al. isoFLOP budgets 6e18-3e21)"
        if design is None
        else "user design"
    )
    info = {
        "generator": gen_desc,
        "method": method_desc,
        "likelihood": likelihood,
        "settings": {
            k_: v
            for k_, v in cfg.__dict__.items()
            if k_ in ("chains", "warmup", "draws", "target_accept", "likelihood")
        },
        "n_runs": int(N.size),
        "design": design_desc,
        "budget_factors": [float(f) for f in budget_factors],
        "budgets": budgets.tolist(),
        "drift": float(cfg.drift),
        "drift_truth": float(drift_sd),
        "seed": int(seed),
        "wall_s": wall,
        "versions": versions(),
    }
    return CalibrationResult(
        quantities=tuple(names),
        truth=np.asarray(truth_rows),
        ranks=np.asarray(rank_rows, dtype=np.int64),
        n_ranks=int(min(n_ranks, S)),
        covered={p: np.asarray(v) for p, v in covered.items()},
        ok=np.asarray(ok, dtype=bool),
        problems=problems,
        info=info,
    )


def classic_bootstrap(data: ScalingData, seed: int, *, n_boot: int = 4000) -> MethodOutput:
    """The classic Approach-3 fit with a non-parametric bootstrap, as a calibration method.

    Pass it as ``calibration(..., method=classic_bootstrap)`` (or ``make calibrate
    CALIBRATE_ARGS="--method bayescale.checks.calibration:classic_bootstrap --name bootstrap"``):
    the bootstrap replicas play the role of posterior draws, so the same rank and coverage
    statistics show whether percentile intervals hold the truth.
    """
    fit = fit_classic(data, n_boot=n_boot, seed=seed)
    replicas = fit.boot_params()
    converged = len(replicas.E) == n_boot
    problems = () if converged else (f"{n_boot - len(replicas.E)} replicas did not converge",)
    return MethodOutput(
        {k: np.asarray(v, dtype=np.float64) for k, v in replicas._asdict().items()},
        ok=converged,
        problems=problems,
    )
