r"""Hoffmann et al.'s Approach 3, vectorised: every start and bootstrap replica at once.

The classic fit minimises the summed Huber loss of log-loss residuals (Hoffmann et al.
2022, Approach 3)

.. math:: \min_θ \sum_i \mathrm{huber}_δ\bigl(\mathrm{LSE}(a - α\log N_i,\ b - β\log D_i,\ e)
          - \log L_i\bigr), \qquad θ = (a, b, e, α, β),

with L-BFGS from their grid of 4,500 starts (α, β ∈ {0, 0.5, …, 2}, e ∈ {−1, −0.5, …, 1}, a, b ∈
{0, 5, …, 25}). Here all starts run as one batched, JIT-compiled L-BFGS
(:mod:`bayescale.classic.lbfgs`) on the fused kernel of :mod:`bayescale.classic.objective`. A plain
batch runs as long as its slowest start (measured: ~100× slower here), so the fit uses successive
halving: every start gets a few iterations (4), the best eighth by objective continue, and so on,
never below a few dozen survivors (32), which run to convergence. The objective is divided by δ, so
that its scale (and the optimiser's tolerances) do not depend on δ.

The non-parametric bootstrap refits the same objective on ``n_boot`` resamples of the runs, each a
vector of multinomial counts used as run weights, all in one batch warm-started at the full-data
optimum. Percentile intervals and standard errors of the parameters, of the allocation exponents a
= β/(α+β), b = α/(α+β) and of N_opt, D_opt at any budget come from the replicas through
:mod:`bayescale.laws.optimum`.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from bayescale.classic import lbfgs as _lbfgs
from bayescale.classic.objective import (
    HOFFMANN_NAMES,
    from_hoffmann,
    hoffmann_log_loss,
    huber_objective,
    huber_objective_and_grad,
)
from bayescale.data.scaling_data import ScalingData
from bayescale.data.validation import check_points, positive_1d
from bayescale.inference.posterior import check_ci, summarize
from bayescale.laws import CHINCHILLA, get_law
from bayescale.laws.chinchilla import ChinchillaParams
from bayescale.laws.extrapolation import base_law
from bayescale.laws.optimum import allocate

__all__ = [
    "HOFFMANN_GRID",
    "LOSSES",
    "ClassicFit",
    "ClassicSettings",
    "fit_classic",
    "fit_classic_batch",
    "hoffmann_grid",
    "trace_counts",
]

#: Objectives ``fit_classic`` can minimise.
LOSSES = ("huber",)
#: Parameters reported by summaries, in the paper's order.
PARAMETERS = ("E", "A", "B", "alpha", "beta")
#: Budgets (FLOPs) reported when none are given (same as :data:`bayescale.DEFAULT_BUDGETS`).
DEFAULT_BUDGETS = (1e21, 1e22, 1e23, 5.76e23, 1e24, 1e25)

#: Hoffmann et al.'s grid of starting values, per parameter of ``(a, b, e, α, β)``.
HOFFMANN_GRID = {
    "a": tuple(float(x) for x in np.arange(0.0, 25.1, 5.0)),
    "b": tuple(float(x) for x in np.arange(0.0, 25.1, 5.0)),
    "e": tuple(float(x) for x in np.arange(-1.0, 1.01, 0.5)),
    "alpha": tuple(float(x) for x in np.arange(0.0, 2.01, 0.5)),
    "beta": tuple(float(x) for x in np.arange(0.0, 2.01, 0.5)),
}

#: Number of times each compiled stage has been traced (tests assert refits reuse them).
trace_counts: dict[str, int] = {"init": 0, "run": 0, "keep": 0}


def hoffmann_grid() -> np.ndarray:
    """Hoffmann et al.'s 4,500 starts as an array of shape (4500, 5) in ``(a, b, e, α, β)``."""
    axes = [np.asarray(HOFFMANN_GRID[k]) for k in HOFFMANN_NAMES]
    mesh = np.meshgrid(*axes, indexing="ij")
    return np.stack([m.reshape(-1) for m in mesh], axis=-1)


@dataclass(frozen=True)
class ClassicSettings:
    """Settings of :func:`fit_classic`, with defaults, in one place.

    Attributes
    ----------
    loss : {"huber"}
        Objective: Hoffmann et al.'s summed Huber loss of log-loss residuals.
    delta : float
        Huber threshold δ (1e-3 in Hoffmann et al.).
    n_boot : int
        Bootstrap replicas (0: none).
    seed : int
        Seed of the bootstrap resampling.
    halving_iters : int
        Iterations every surviving start gets before each halving round.
    halving_keep : float
        Fraction of starts kept at each round (by objective).
    survivors : int
        Starts that run to convergence after the last round (all of them when the grid is
        smaller). ``halving_keep=1`` turns halving off: every start runs to convergence.
    max_iter : int
        Iteration limit of the final stage and of each bootstrap replica.
    gtol, ftol : float
        Stop when the largest gradient component of the objective / δ is ≤ gtol, or its
        relative decrease in an iteration is ≤ ftol.
    memory : int
        L-BFGS memory (curvature pairs kept).
    """

    loss: str = "huber"
    delta: float = 1e-3
    n_boot: int = 0
    seed: int = 0
    halving_iters: int = 4
    halving_keep: float = 0.125
    survivors: int = 32
    max_iter: int = 1000
    gtol: float = 1e-8
    ftol: float = 1e-13
    memory: int = 10

    def __post_init__(self) -> None:
        def need(cond: bool, msg: str) -> None:
            if not cond:
                raise ValueError(msg)

        need(self.loss in LOSSES, f"unknown loss {self.loss!r}; choose one of {', '.join(LOSSES)}")
        need(
            isinstance(self.delta, int | float) and math.isfinite(self.delta) and self.delta > 0,
            f"delta must be a finite number > 0, got {self.delta!r}",
        )
        for name in ("n_boot", "seed", "halving_iters", "survivors", "max_iter", "memory"):
            v = getattr(self, name)
            need(
                isinstance(v, int | np.integer) and not isinstance(v, bool),
                f"{name} must be an integer, got {v!r}",
            )
        need(self.n_boot >= 0, f"n_boot must be >= 0, got {self.n_boot}")
        need(self.n_boot != 1, "n_boot must be 0 (no bootstrap) or >= 2")
        need(self.seed >= 0, f"seed must be >= 0, got {self.seed}")
        need(self.halving_iters >= 1, f"halving_iters must be >= 1, got {self.halving_iters}")
        need(
            0.0 < float(self.halving_keep) <= 1.0,
            f"halving_keep must be in (0, 1], got {self.halving_keep}",
        )
        need(self.survivors >= 1, f"survivors must be >= 1, got {self.survivors}")
        need(self.max_iter >= 1, f"max_iter must be >= 1, got {self.max_iter}")
        need(self.memory >= 1, f"memory must be >= 1, got {self.memory}")
        need(float(self.gtol) >= 0 and float(self.ftol) >= 0, "gtol and ftol must be >= 0")

    def lbfgs(self) -> _lbfgs.LBFGSSettings:
        """The static settings of the compiled optimiser."""
        return _lbfgs.LBFGSSettings(
            memory=int(self.memory), gtol=float(self.gtol), ftol=float(self.ftol)
        )


# --------------------------------------------------------------------- the objective
# ``shared`` = (log_N, log_D, log_loss, weights, delta), each with a leading data-set axis
# G; weights (G, R) are 1 for runs and 0 for padding. ``per_set`` is () for optimiser starts,
# or (counts,) with bootstrap counts (G, S, R), one row per replica, used as run weights.
# The objective is divided by δ.


def _weights(per_set: Any, w_shared: Any) -> Any:
    return per_set[0] if per_set else w_shared


def _value(x: Any, per_set: Any, shared: Any) -> Any:
    log_N, log_D, log_loss, w_shared, delta = shared

    def one(xg: Any, n: Any, d: Any, y: Any, w: Any, dl: Any) -> Any:
        return huber_objective(xg, n, d, y, dl, w) / dl

    return jax.vmap(one)(x, log_N, log_D, log_loss, _weights(per_set, w_shared), delta)


def _value_and_grad(x: Any, per_set: Any, shared: Any) -> Any:
    log_N, log_D, log_loss, w_shared, delta = shared

    def one(xg: Any, n: Any, d: Any, y: Any, w: Any, dl: Any) -> Any:
        f, g = huber_objective_and_grad(xg, n, d, y, dl, w)
        return f / dl, g / dl

    return jax.vmap(one)(x, log_N, log_D, log_loss, _weights(per_set, w_shared), delta)


@functools.lru_cache(maxsize=32)
def _compiled(settings: _lbfgs.LBFGSSettings) -> tuple[Any, Any, Any]:
    def init(x: Any, per_set: Any, shared: Any) -> Any:
        trace_counts["init"] += 1
        return _lbfgs.init_state(x, per_set, shared, _value_and_grad, settings.memory)

    def run(state: Any, per_set: Any, shared: Any, max_steps: Any) -> Any:
        trace_counts["run"] += 1
        return _lbfgs.run(state, per_set, shared, max_steps, _value_and_grad, _value, settings)

    def keep(state: Any, per_set: Any, k: int) -> Any:
        trace_counts["keep"] += 1
        return _lbfgs.keep_best(state, per_set, k)

    return jax.jit(init), jax.jit(run), jax.jit(keep, static_argnums=2)


def _halving_sizes(n: int, keep: float, survivors: int) -> list[int]:
    """Batch sizes after each halving round: n → ⌈n·keep⌉ → …, never below ``survivors``."""
    sizes = []
    while keep < 1.0 and n * keep >= survivors:
        n = math.ceil(n * keep)
        sizes.append(n)
    return sizes


def _optimise(
    starts: Any, shared: Any, cfg: ClassicSettings, per_set: Any = (), *, halving: bool = True
) -> _lbfgs.LBFGSState:
    """Run the batched L-BFGS from ``starts`` (G, S, 5), with successive halving."""
    init, run, keep = _compiled(cfg.lbfgs())
    state = init(starts, per_set, shared)
    if halving:
        for size in _halving_sizes(starts.shape[1], float(cfg.halving_keep), cfg.survivors):
            state = run(state, per_set, shared, cfg.halving_iters)
            state, per_set = keep(state, per_set, size)
    state = jax.device_get(run(state, per_set, shared, cfg.max_iter))
    # (on the host: an eager op here would compile a tiny program of its own)
    status = np.where(state.status == _lbfgs.RUNNING, _lbfgs.MAXITER, state.status)
    return state._replace(status=status)


# --------------------------------------------------------------------- inputs
def _check_data(data: Any, what: str = "data") -> ScalingData:
    if not isinstance(data, ScalingData):
        raise ValueError(
            f"{what} must be a ScalingData (use ScalingData.from_csv / from_dataframe / "
            f"from_arrays), got {type(data).__name__}"
        )
    return data


def _check_budgets(budgets: Any) -> tuple[float, ...]:
    return tuple(float(c) for c in positive_1d(budgets, "budgets", "FLOPs"))


def _starts(init: Any) -> np.ndarray:
    """Starting points (K, 5) in (a, b, e, α, β) from ``init``."""
    if isinstance(init, str):
        if init == "grid":
            return hoffmann_grid()
        raise ValueError(
            f"unknown init {init!r}; use 'grid' (Hoffmann et al.'s 4,500 starts), an array "
            "of shape (K, 5) of (a, b, e, alpha, beta), or ChinchillaParams"
        )
    if isinstance(init, ChinchillaParams):
        E, A, B, alpha, beta = (np.atleast_1d(np.asarray(x, np.float64)) for x in init)
        if np.any(E <= 0) or np.any(A <= 0) or np.any(B <= 0):
            raise ValueError("init: E, A and B must be > 0")
        x = np.stack(np.broadcast_arrays(np.log(A), np.log(B), np.log(E), alpha, beta), -1)
    else:
        try:
            x = np.asarray(init, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(
                f"init must be 'grid' or an array of shape (K, 5), got {init!r}"
            ) from None
        x = np.atleast_2d(x)
    if x.ndim != 2 or x.shape[1] != 5 or x.shape[0] == 0:
        raise ValueError(f"init must have shape (K, 5) of (a, b, e, alpha, beta), got {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError("init must hold finite values")
    return x


def _stack(datasets: Sequence[ScalingData]) -> tuple[np.ndarray, ...]:
    """Data sets padded to a common number of runs: log N, log D, log L, weights (G, R)."""
    R = max(len(d) for d in datasets)
    out = np.zeros((4, len(datasets), R))
    for g, d in enumerate(datasets):
        n = len(d)
        # padding repeats the first run with weight 0: finite values, no contribution
        for i, col in enumerate((d.log_N, d.log_D, d.log_loss)):
            out[i, g, :n] = col
            out[i, g, n:] = col[0]
        out[3, g, :n] = 1.0
    return tuple(out)


# --------------------------------------------------------------------- the fit
def _fit_batch(
    datasets: Sequence[ScalingData], starts: np.ndarray, cfg: ClassicSettings
) -> list[dict[str, Any]]:
    """Classic fit (and bootstrap) of G data sets in one batch; one dict per data set."""
    G = len(datasets)
    timing: dict[str, float] = {}
    # inputs are built with NumPy: the compiled stages take them as they are
    with jax.enable_x64(True):
        t0 = time.perf_counter()
        log_N, log_D, log_loss, weights = _stack(datasets)
        sizes = np.array([len(d) for d in datasets])
        delta = np.full((G,), float(cfg.delta))
        shared = (log_N, log_D, log_loss, weights, delta)
        x0 = np.ascontiguousarray(np.broadcast_to(starts, (G, *starts.shape)))
        halving = len(starts) > cfg.survivors
        state = _optimise(x0, shared, cfg, halving=halving)
        timing["fit_s"] = time.perf_counter() - t0

        f = np.asarray(state.f)  # (G, n_finished), objective / δ
        best = np.argmin(np.where(np.isfinite(f), f, np.inf), axis=1)
        rows = np.arange(G)
        x_best = np.asarray(state.x)[rows, best]  # (G, 5)
        f_best = f[rows, best]

        boot = None
        if cfg.n_boot:
            t1 = time.perf_counter()
            rng = np.random.default_rng(cfg.seed)
            counts = np.zeros((G, cfg.n_boot, log_N.shape[1]))
            for g, n in enumerate(sizes):  # a loop over data sets, not replicas
                counts[g, :, :n] = rng.multinomial(n, np.full(n, 1.0 / n), size=cfg.n_boot)
            xb0 = np.ascontiguousarray(np.broadcast_to(x_best[:, None], (G, cfg.n_boot, 5)))
            boot = _optimise(xb0, shared, cfg, (counts,), halving=False)
            timing["bootstrap_s"] = time.perf_counter() - t1

    out = []
    status_names = np.asarray(_lbfgs.STATUS_NAMES)
    for g in range(G):
        fg = f[g]
        fin = np.isfinite(fg)
        # starts that ended at the best objective (relative 1e-8: L-BFGS's stopping noise
        # on this flat objective is well below it, distinct local optima well above)
        reached = int(np.sum(fin & (np.abs(fg - f_best[g]) <= 1e-8 * abs(f_best[g]))))
        res: dict[str, Any] = {
            "theta": x_best[g],
            "objective": float(f_best[g] * cfg.delta),
            "status": str(status_names[state.status[g, best[g]]]),
            "n_iter": int(state.n_iter[g, best[g]]),
            "n_starts": len(starts),
            "n_finished": int(fg.size),
            "n_reached": reached,
            "finished_theta": np.asarray(state.x[g]),
            "finished_objective": fg * cfg.delta,
            "timing": dict(timing),
        }
        if boot is not None:
            res["boot_theta"] = np.asarray(boot.x[g])
            res["boot_objective"] = np.asarray(boot.f[g]) * cfg.delta
            res["boot_status"] = status_names[np.asarray(boot.status[g])]
            res["boot_n_iter"] = np.asarray(boot.n_iter[g])
        out.append(res)
    return out


# "stalled": no decrease along the L-BFGS direction or −g. On this piecewise-quadratic
# objective that happens at a kink of the Huber loss; restarts from perturbed points were
# measured to return the same objective, so such points count as minima.
_CONVERGED = ("gtol", "ftol", "stalled")


def fit_classic(
    data: ScalingData,
    loss: str = "huber",
    delta: float = 1e-3,
    init: Any = "grid",
    n_boot: int = 0,
    seed: int = 0,
    budgets: Any = DEFAULT_BUDGETS,
    **settings: Any,
) -> ClassicFit:
    r"""Hoffmann et al.'s Approach-3 fit, all starts at once, with an optional bootstrap.

    Parameters
    ----------
    data : ScalingData
        The runs.
    loss : {"huber"}
        Objective: :math:`\sum_i \mathrm{huber}_δ(\log\hat L_i - \log L_i)`.
    delta : float, default 1e-3
        Huber threshold δ.
    init : "grid", array of shape (K, 5) or ChinchillaParams
        Starting points: Hoffmann et al.'s 4,500-point grid, or your own starts in
        ``(a, b, e, α, β)`` = (log A, log B, log E, α, β).
    n_boot : int, default 0
        Non-parametric bootstrap replicas (runs resampled with replacement), refitted in
        one batch from the full-data optimum. 0 skips the bootstrap.
    seed : int, default 0
        Seed of the bootstrap resampling.
    budgets : float or sequence of float
        Budgets (FLOPs) that :meth:`ClassicFit.allocation` reports by default.
    **settings
        Further fields of :class:`ClassicSettings` (``halving_iters``, ``halving_keep``,
        ``survivors``, ``max_iter``, ``gtol``, ``ftol``, ``memory``).

    Returns
    -------
    ClassicFit

    Raises
    ------
    ValueError
        Bad data, settings, starts or budgets.

    Examples
    --------
    >>> import bayescale
    >>> fit = bayescale.fit_classic(bayescale.load_dataset("chinchilla"))  # doctest: +SKIP
    >>> round(fit.params.A, 1), round(fit.objective, 7)  # doctest: +SKIP
    (477.8, 0.0010183)
    """
    data = _check_data(data)
    settings.update(loss=loss, delta=delta, n_boot=n_boot, seed=seed)
    (result,) = fit_classic_batch([data], init=init, budgets=budgets, **settings)
    return result


def fit_classic_batch(
    datasets: list[ScalingData],
    *,
    init: Any = "grid",
    budgets: Any = None,
    law: Any = "chinchilla",
    **settings: Any,
) -> list[ClassicFit]:
    """:func:`fit_classic` of several data sets in one batch (:func:`bayescale.fit_many`).

    Every data set's starts (and bootstrap replicas) form one batch of shape (data sets × starts)
    for the batched L-BFGS; successive halving keeps the best starts of each. ``law`` must be the
    Chinchilla law, the only one Hoffmann et al.'s fit is defined for.
    """
    if base_law(get_law(law)) is not CHINCHILLA:
        raise ValueError(
            f"method='classic' is Hoffmann et al.'s fit of the Chinchilla law; law "
            f"{get_law(law).name!r} has none: use method='nuts'"
        )
    cfg = _settings(**settings)
    starts = _starts(init)
    budgets = _check_budgets(DEFAULT_BUDGETS if budgets is None else budgets)
    results = _fit_batch(datasets, starts, cfg)
    return [
        ClassicFit(data=d, settings=cfg, budgets=budgets, **res)
        for d, res in zip(datasets, results, strict=True)
    ]


def _settings(**settings: Any) -> ClassicSettings:
    known = {f.name for f in dataclasses.fields(ClassicSettings)}
    unknown = set(settings) - known
    if unknown:
        raise ValueError(
            f"unknown classic-fit setting(s) {', '.join(sorted(unknown))}; "
            f"allowed: {', '.join(sorted(known))}"
        )
    return ClassicSettings(**settings)


# --------------------------------------------------------------------- the result
@dataclass(frozen=True, eq=False)
class ClassicFit:
    """Result of :func:`fit_classic`: the best fit, how it was found, and its bootstrap.

    Attributes
    ----------
    data : ScalingData
        The runs.
    settings : ClassicSettings
        How they were fitted.
    budgets : tuple of float
        Default budgets of :meth:`allocation`.
    theta : numpy.ndarray of shape (5,)
        Best ``(a, b, e, α, β)``.
    objective : float
        Its summed Huber loss (not divided by δ).
    status : str
        Why the best start stopped: "gtol", "ftol" or "stalled" (no decrease along −g, at
        a kink of the Huber loss) count as converged; "max_iter" and "nonfinite" do not.
    n_iter : int
        L-BFGS iterations of the best start.
    n_starts : int
        Starting points.
    n_finished : int
        Starts run to convergence: the survivors of successive halving (all starts when
        halving is off, ``halving_keep=1``).
    n_reached : int
        Finished starts whose objective equals the best (relative 1e-8).
    finished_theta, finished_objective : numpy.ndarray
        Final points and objectives of the finished starts.
    boot_theta, boot_objective, boot_status, boot_n_iter : numpy.ndarray or None
        Per bootstrap replica (``n_boot`` rows).
    timing : dict
        Wall times in seconds (compile included on a first call).
    """

    data: ScalingData
    settings: ClassicSettings
    budgets: tuple[float, ...]
    theta: np.ndarray
    objective: float
    status: str
    n_iter: int
    n_starts: int
    n_finished: int
    n_reached: int
    finished_theta: np.ndarray
    finished_objective: np.ndarray
    boot_theta: np.ndarray | None = None
    boot_objective: np.ndarray | None = None
    boot_status: np.ndarray | None = None
    boot_n_iter: np.ndarray | None = None
    timing: dict[str, float] = field(default_factory=dict)

    # ------------------------------------------------------------------ point estimate
    @property
    def converged(self) -> bool:
        """Whether the best start met a convergence criterion."""
        return self.status in _CONVERGED

    @property
    def params(self) -> ChinchillaParams:
        """The best fit as :class:`~bayescale.ChinchillaParams` of Python floats."""
        a, b, e, alpha, beta = (float(v) for v in self.theta)
        return ChinchillaParams(
            E=math.exp(e), A=math.exp(a), B=math.exp(b), alpha=alpha, beta=beta
        )

    @property
    def exponents_point(self) -> tuple[float, float]:
        """``(a, b)`` = (β/(α+β), α/(α+β)) of the best fit."""
        p = self.params
        return p.beta / (p.alpha + p.beta), p.alpha / (p.alpha + p.beta)

    def predict(self, N: Any, D: Any) -> np.ndarray:
        """The fitted law's loss at (N, D)."""
        N, D = check_points(N, D)
        with jax.enable_x64(True):
            pred = hoffmann_log_loss(jnp.asarray(self.theta), np.log(N), np.log(D))
            return np.exp(np.asarray(pred))

    # ------------------------------------------------------------------ bootstrap
    @property
    def n_boot(self) -> int:
        """Bootstrap replicas computed."""
        return 0 if self.boot_theta is None else len(self.boot_theta)

    @property
    def boot_converged(self) -> np.ndarray:
        """Which replicas met a convergence criterion."""
        self._need_boot()
        return np.isin(self.boot_status, _CONVERGED)

    def _need_boot(self) -> None:
        if self.boot_theta is None:
            raise ValueError("no bootstrap: fit with n_boot >= 2 (e.g. n_boot=4000)")

    def boot_params(self) -> ChinchillaParams:
        """Parameters of the converged bootstrap replicas, arrays of shape (n,)."""
        self._need_boot()
        ok = self.boot_converged
        with jax.enable_x64(True):
            p = from_hoffmann(jnp.asarray(self.boot_theta[ok]))
            return ChinchillaParams(*(np.asarray(v) for v in p))

    def _boot_table(self) -> dict[str, np.ndarray]:
        p = self.boot_params()
        exps = CHINCHILLA.exponents(p._asdict())
        a, b = np.asarray(exps["a"]), np.asarray(exps["b"])
        return {**{k: np.asarray(v) for k, v in p._asdict().items()}, "a": a, "b": b}

    def _point_table(self) -> dict[str, float]:
        a, b = self.exponents_point
        return {**self.params._asdict(), "a": a, "b": b}

    def se(self) -> pd.Series:
        """Bootstrap standard errors of E, A, B, alpha, beta and the exponents a, b."""
        draws = self._boot_table()
        return pd.Series({k: float(np.std(v, ddof=1)) for k, v in draws.items()}, name="se")

    def summary(self, ci: float = 0.9) -> pd.DataFrame:
        """Estimate, bootstrap SE and percentile interval of each parameter.

        Parameters
        ----------
        ci : float, default 0.9
            Coverage of the percentile interval.

        Returns
        -------
        pandas.DataFrame
            Index E, A, B, alpha, beta, a, b; columns estimate, se, lo, hi (se, lo, hi
            are NaN without a bootstrap).
        """
        ci, _ = check_ci(ci)
        point = self._point_table()
        rows = {
            k: {"estimate": v, "se": np.nan, "lo": np.nan, "hi": np.nan} for k, v in point.items()
        }
        if self.boot_theta is not None:
            for k, v in self._boot_table().items():
                s = summarize(v, ci)
                rows[k].update(se=float(s["sd"]), lo=float(s["lo"]), hi=float(s["hi"]))
        table = pd.DataFrame.from_dict(rows, orient="index")
        table.attrs.update(ci=ci, n_boot=self.n_boot)
        return table

    def allocation(self, budgets: Any = None, ci: float = 0.9) -> pd.DataFrame:
        """Compute-optimal N, D, tokens per parameter and loss, with bootstrap intervals.

        Parameters
        ----------
        budgets : float or sequence of float, optional
            Training compute C in FLOPs (default: the fit's ``budgets``).
        ci : float, default 0.9
            Coverage of the percentile intervals.

        Returns
        -------
        pandas.DataFrame
            One row per budget; for each of N_opt, D_opt, tokens_per_param, loss the point
            estimate and, with a bootstrap, ``<name>_se``, ``<name>_lo``, ``<name>_hi``.
        """
        ci, _ = check_ci(ci)
        C = np.asarray(self.budgets if budgets is None else _check_budgets(budgets))
        k = self.data.flops_per_param_token
        with jax.enable_x64(True):
            point = allocate(CHINCHILLA, self.params, C, k)
            boot = allocate(CHINCHILLA, self.boot_params(), C, k) if self.n_boot else None
            cols: dict[str, Any] = {"budget": C}
            for name in point._fields:
                cols[name] = np.asarray(getattr(point, name))
                if boot is not None:
                    s = summarize(np.asarray(getattr(boot, name)), ci)
                    cols[f"{name}_se"] = s["sd"]
                    cols[f"{name}_lo"] = s["lo"]
                    cols[f"{name}_hi"] = s["hi"]
        table = pd.DataFrame(cols)
        table.attrs.update(ci=ci, n_boot=self.n_boot)
        return table

    def to_dict(self, ci: float = 0.9) -> dict[str, Any]:
        """The fit, its search and (with a bootstrap) SEs and intervals, as plain types."""
        summary = self.summary(ci)
        out: dict[str, Any] = {
            "method": "classic",
            "loss": self.settings.loss,
            "delta": self.settings.delta,
            "n_runs": len(self.data),
            "objective": self.objective,
            "status": self.status,
            "converged": self.converged,
            "n_iter": self.n_iter,
            "n_starts": self.n_starts,
            "n_finished": self.n_finished,
            "n_reached": self.n_reached,
            "parameters": {
                k: {c: float(v) for c, v in row.items()} for k, row in summary.iterrows()
            },
            "ci": ci,
            "n_boot": self.n_boot,
        }
        if self.n_boot:
            out["n_boot_converged"] = int(self.boot_converged.sum())
        return out

    def __repr__(self) -> str:
        p = self.params
        boot = f", {self.n_boot} bootstrap replicas" if self.n_boot else ""
        return (
            f"ClassicFit({len(self.data)} runs, E={p.E:.4g}, A={p.A:.4g}, B={p.B:.4g}, "
            f"alpha={p.alpha:.4g}, beta={p.beta:.4g}, objective={self.objective:.6g}, "
            f"{self.n_reached}/{self.n_finished} finished starts at the best{boot})"
        )
