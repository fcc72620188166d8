r"""Which runs to train next: preposterior scoring of candidate runs from the draws in hand.

The question: "we can afford ``spend`` FLOPs of small runs; which ones shrink the
uncertainty of the decision at ``target_budget`` the most?" For a candidate run x = (N, D)
the posterior after observing its loss y is, on the existing draws :math:`\theta_s`, the
same draws reweighted by the likelihood of y (self-normalised importance weights):

.. math:: w_s(y) \propto w_s\, p(y \mid \theta_s, x).

Its outcome is unknown, so the criterion after the run is averaged over posterior-predictive
outcomes. These are drawn as **scenarios**: scenario m picks a "true" draw
:math:`t_m` and noise :math:`\varepsilon_{m,x}` from the fitted likelihood (each draw's
``sigma``, and ``nu``), and its outcome at every candidate is
:math:`y_{m,x} = \log L^{\text{ext}}(\theta_{t_m}; x) + \varepsilon_{m,x}`: the fit's model
as a whole, so a candidate beyond the data's largest compute carries that draw's drift
(:mod:`bayescale.laws.extrapolation`) and one beyond its N or D range the wider scatter.
The true draw itself is left out of its scenario's weights, else the posterior would
collapse onto it and the promise would be too good. The noise is fixed per (scenario,
candidate): common random numbers, so candidates are compared on the same outcomes.

**What a run changes.** The weights are what a refit would see: a trained run is inside
its data, so its likelihood is the fitted law's own, and a run beyond the data's edge (its
largest log N·D) moves that edge to its own compute, where the refit's drift starts. So
the target's quantity is evaluated per data edge (:func:`edge_levels`, at most
:data:`EDGE_LEVELS`), and each candidate is scored with the quantity at the edge it would
leave (the greater of the current one and its own). The drift beyond the data is most of a
far target's uncertainty; a run that moves the edge shrinks it, and its outcome, which
carries the truth's drift, pulls the refit's law towards the truth. Not modelled: the
refit's extrapolation check re-weighing the sweep's own drift with the new runs.

**Criteria** (the quantity q_s per draw, at the target budget):

- ``"n_opt"``: q = log N_opt; the criterion is its (weighted) posterior sd;
- ``"loss"``: q = the loss at each draw's optimum; criterion: its posterior sd;
- ``"regret"``: the expected regret of the Bayes-optimal choice,
  :math:`\min_N \sum_s w_s (L_s(N) - L^*_s)`, on a grid of 64 log N points between the
  extreme per-draw optima, refined by a parabola through the best three.
- ``"predict"``: the expected squared error of the predicted (weighted-mean) log loss of the
  target runs against each scenario's truth (its own draw, today's edge): the accuracy
  criterion, for "predict the big run well". The target runs are the user's
  (``target_runs``) or the Bayes-optimal run at the target budget. Every plan reports this
  error now and after its runs (``error_current``, ``error_after``), whatever it shrinks.

Which to use: ``"n_opt"`` when the question is how to split the budget (the width of
N_opt); ``"predict"`` when it is what the big run will reach (a go/no-go on a target
loss, a comparison with another recipe); ``"regret"`` when the cost of a wrong split is
what matters, in loss.

**Batch selection** is greedy and conditional: each scenario keeps its own weights; after a
run is chosen, every scenario is conditioned on its own outcome of that run before the next
run is scored, so a second run that says what the first already said scores little.
Two greedy passes are run — by reduction per FLOP and by reduction alone (the
cost-effective greedy rule of Khuller et al. 1999 / Krause & Guestrin 2005, which guards
against a pool where a single expensive run beats many cheap ones) — and the pass with the
lower expected criterion is kept. A run is added only if it fits in what is left of
``spend``, so the plan never exceeds it.

**The promise** (``expected_after``) is evaluated on a fresh set of scenarios, independent
of those that chose the runs, so it is not biased by the selection: per scenario the
weighted interval of the quantity, averaged over scenarios (bounds of N_opt as geometric
means). Importance weights degenerate when the runs would be very informative; the
effective sample size per scenario, :math:`1/\sum_s w_s^2`, is reported and a plan whose
median ESS falls below ``ESS_MIN`` is flagged ``degenerate`` —
:meth:`bayescale.FitResult.plan_runs` then re-estimates ``expected_after`` by refitting
simulated outcomes (``refit=``, :mod:`bayescale.decisions.planning_refit`).

Everything broadcasts over draws × candidates × scenarios in JIT-compiled JAX (candidates
in blocks by :func:`jax.lax.map`); the only Python loop is over the greedy steps. The law
enters only through ``law.log_loss`` and the one optimum solver, so any law or wrapper law
(extra parameters in ``theta``) is planned for the same way.

The candidate grid and its checks, the :class:`~bayescale.decisions.planning_tables.RunPlan` record
and its text are in :mod:`bayescale.decisions.planning_tables`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
from jax.scipy.special import logsumexp

from bayescale.data.units import Budget, format_flops, parse_budget_spec
from bayescale.data.validation import _refuse_rows, positive_1d
from bayescale.decisions.core import decision_inputs, expand_draws, law_loss, law_optimum
from bayescale.decisions.planning_tables import QUANTITY as QUANTITY
from bayescale.decisions.planning_tables import (
    RunPlan,
    check_candidates,
    default_candidates,
    edge_levels,
    interval_bounds,
    interval_probs,
    plan_text,
)
from bayescale.inference.likelihoods import check_likelihood, residual_draws, run_loglik
from bayescale.inference.posterior import check_ci
from bayescale.laws.extrapolation import EDGE, base_law

__all__ = [
    "CRITERIA",
    "ESS_MIN",
    "RunPlan",
    "check_candidates",
    "default_candidates",
    "edge_levels",
    "plan_runs",
    "plan_text",
    "preposterior_scores",
]

Array = Any

#: Criteria: what the plan shrinks at the target budget.
CRITERIA = ("n_opt", "loss", "regret", "predict")
#: Median effective sample size per scenario below which a plan is flagged degenerate.
ESS_MIN = 100.0
#: Greedy steps when ``max_runs`` is None.
MAX_RUNS_DEFAULT = 50
#: Scenarios that choose the runs, and the fresh ones that evaluate the promise.
N_OUTCOMES = 64
N_EVAL = 256
#: Candidates per block of the vectorised scoring (memory ~ block × scenarios × draws).
BLOCK = 16
#: Log-N grid points of the regret criterion.
REGRET_GRID = 64


# ------------------------------------------------------------------------------ the core
def _criterion(criterion: str, w: Array, aux: Mapping[str, Array]) -> Array:
    """The criterion of normalised weights ``w`` (..., S): shape (...).

    ``aux`` holds the quantity at one data edge: ``q`` (S,) centred for the sd criteria,
    ``q`` (S, K) and ``truth`` (..., K) for ``"predict"`` (each scenario's true log loss of
    the K target runs, centred alike), ``R`` (S, G) for ``"regret"``.
    """
    if criterion == "predict":
        err = w @ aux["q"] - aux["truth"]  # the weighted mean's error at each target run
        return jnp.mean(err * err, axis=-1)
    if criterion == "regret":
        R = w @ aux["R"]  # expected regret of each grid choice (..., G)
        G = R.shape[-1]
        i = jnp.clip(jnp.argmin(R, axis=-1), 1, G - 2)
        f0, f1, f2 = (jnp.take_along_axis(R, (i + d)[..., None], -1)[..., 0] for d in (-1, 0, 1))
        curv = f2 - 2.0 * f1 + f0
        # the parabola through the best three grid points, where it is convex
        refined = f1 - (f2 - f0) ** 2 / (8.0 * jnp.where(curv > 0, curv, 1.0))
        return jnp.maximum(jnp.where(curv > 0, refined, jnp.min(R, axis=-1)), 0.0)
    q = aux["q"]  # centred, so the variance is not a difference of large numbers
    m = w @ q
    return jnp.sqrt(jnp.maximum(w @ (q * q) - m * m, 0.0))


def _loglik(likelihood: str, y: Array, mu: Array, sigma: Array, nu: Array, delta: float):
    return run_loglik(
        likelihood, y - mu, sigma, nu=nu if likelihood == "student_t" else None, delta=delta
    )


def _normalise(logw: Array) -> Array:
    return jnp.exp(logw - logsumexp(logw, axis=-1, keepdims=True))


#: aux entries with a leading axis of data edges (:func:`edge_levels`); the rest are not.
_LEVELLED = ("q", "R")


@partial(jax.jit, static_argnames=("likelihood", "criterion", "delta", "block"))
def _scores(
    logw: Array,
    mu: Array,
    y: Array,
    sigma: Array,
    nu: Array,
    aux: Mapping[str, Array],
    level: Array,
    likelihood: str,
    criterion: str,
    delta: float,
    block: int,
) -> tuple[Array, Array]:
    def one(args: tuple[Array, Array, Array]) -> tuple[Array, Array]:
        mu_j, y_j, l_j = args  # (S,), (M,), the data edge after this candidate
        ll = _loglik(likelihood, y_j[:, None], mu_j[None, :], sigma, nu, delta)  # (M, S)
        w = _normalise(logw + ll)
        ess = 1.0 / jnp.sum(w * w, axis=-1)
        at = {k: (v[l_j] if k in _LEVELLED else v) for k, v in aux.items()}
        return jnp.mean(_criterion(criterion, w, at)), jnp.median(ess)

    return jax.lax.map(one, (mu, y.T, level), batch_size=block)


def preposterior_scores(
    logw: Array,
    mu: Array,
    y: Array,
    sigma: Array,
    nu: Array | None,
    aux: Mapping[str, Array],
    *,
    likelihood: str = "gaussian",
    criterion: str = "n_opt",
    delta: float = 1e-3,
    block: int = BLOCK,
    level: Array | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    r"""Expected criterion after observing each candidate, over scenarios: the core.

    Parameters
    ----------
    logw : array (M, S)
        Log weights of the S draws in each of M scenarios (``-inf``: left out).
    mu : array (J, S)
        The law's log loss at each of J candidates, per draw (what the refit's likelihood
        of the candidate's outcome is).
    y : array (M, J)
        Simulated log loss of each candidate in each scenario.
    sigma, nu : array (S,)
        Each draw's residual scale (and Student-t degrees of freedom, else None).
    aux : mapping
        The criterion's quantity per draw: ``{"q": (S,)}`` centred, for the sd criteria;
        ``{"q": (S, K), "truth": (M, K)}`` for ``"predict"`` (the K target runs' log loss
        per draw and each scenario's true one); ``{"R": (S, G)}`` per-draw regret on the
        log-N grid for ``"regret"``. With ``level``, ``q`` and ``R`` carry a leading axis of
        data edges, (L, S...), the quantity as a refit with that edge would have it.
    likelihood, criterion, delta
        The fit's residual distribution, the criterion (:data:`CRITERIA`), Huber δ.
    block : int
        Candidates scored together (memory ~ block × M × S).
    level : array of int (J,), optional
        The data edge each candidate would leave (an index into the leading axis of ``q``
        or ``R``); None: one edge for all, and ``q``/``R`` have no such axis.

    Returns
    -------
    expected : numpy.ndarray (J,)
        :math:`\frac1M\sum_m c(w_m \cdot p(y_{m,j}\mid\theta))`, the expected criterion.
    ess : numpy.ndarray (J,)
        Median effective sample size over scenarios after the candidate.
    """
    check_likelihood(likelihood)
    if criterion not in CRITERIA:
        raise ValueError(f"unknown criterion {criterion!r}; choose one of {', '.join(CRITERIA)}")
    sigma = jnp.asarray(sigma)
    nu = jnp.ones_like(sigma) if nu is None else jnp.asarray(nu)
    aux = {k: jnp.asarray(v) for k, v in aux.items()}
    if level is None:
        aux = {k: (v[None] if k in _LEVELLED else v) for k, v in aux.items()}
        level = np.zeros(np.shape(mu)[0], dtype=np.int32)
    e, ess = _scores(
        jnp.asarray(logw),
        jnp.asarray(mu),
        jnp.asarray(y),
        sigma,
        nu,
        aux,
        jnp.asarray(level, dtype=jnp.int32),
        likelihood,
        criterion,
        float(delta),
        int(block),
    )
    return np.asarray(e), np.asarray(ess)


@partial(jax.jit, static_argnames=("likelihood", "delta"))
def _condition(logw, mu_k, y_k, sigma, nu, likelihood: str, delta: float) -> Array:
    """Log weights after the runs ``mu_k`` (K, S) with outcomes ``y_k`` (M, K)."""
    ll = _loglik(likelihood, y_k[:, :, None], mu_k[None, :, :], sigma, nu, delta)
    return logw + jnp.sum(ll, axis=1)


# ------------------------------------------------------------------------------ the plan
def _budget(value: Any, name: str) -> Budget:
    if isinstance(value, Budget):
        return value
    try:
        return parse_budget_spec(value)
    except ValueError as exc:
        raise ValueError(f"{name}: {exc}") from None


def _weighted_quantiles(q_sorted: Array, w_sorted: Array, probs: tuple[float, ...]) -> Array:
    """Quantiles (len(probs), M) of q under weights (M, S), q sorted ascending."""
    cdf = np.cumsum(w_sorted, axis=-1)
    cdf /= cdf[..., -1:]
    idx = [np.minimum((cdf < p).sum(axis=-1), q_sorted.shape[-1] - 1) for p in probs]
    return np.stack([np.take_along_axis(q_sorted, i[..., None], -1)[..., 0] for i in idx])


def _interval_after(
    criterion: str, quantity: np.ndarray, w: np.ndarray, ci: float
) -> dict[str, float]:
    """Scenario-averaged weighted interval; ``quantity`` (S,) or, for regret, (M, S)."""
    probs = interval_probs(ci)
    if quantity.ndim == 1:
        order = np.argsort(quantity)
        qs = np.broadcast_to(quantity[order], w.shape)
        ws = w[:, order]
    else:
        order = np.argsort(quantity, axis=-1)
        qs = np.take_along_axis(quantity, order, -1)
        ws = np.take_along_axis(w, order, -1)
    if criterion == "n_opt":  # bounds of N as geometric means over scenarios
        lo, med, hi = np.exp(np.mean(_weighted_quantiles(np.log(qs), ws, probs), axis=1))
    else:
        lo, med, hi = np.mean(_weighted_quantiles(qs, ws, probs), axis=1)
    return interval_bounds(lo, med, hi)


def _interval_now(x: np.ndarray, ci: float) -> dict[str, float]:
    return interval_bounds(*np.quantile(x, interval_probs(ci)))


def _at_edge(theta: Mapping[str, Array], edge: Array) -> dict[str, Array]:
    """``theta`` as a refit whose data reach ``edge`` (largest log N·D) would have it."""
    if EDGE not in theta:
        return dict(theta)
    return {**theta, EDGE: jnp.full_like(theta[EDGE], edge)}


@partial(jax.jit, static_argnames=("law",))
def _target(theta, c, extra, levels, law) -> tuple[Array, Array, Array, Array]:
    """Per data edge (L,): each draw's optimum at c = C/k and its regret on a log-N grid.

    Returns N_opt (L, S), loss (L, S), the grid (L, G) and each draw's regret (L, S, G).
    """

    def at(edge: Array) -> tuple[Array, Array, Array, Array]:
        th = _at_edge(theta, edge)
        own = law_optimum(law, th, c, extra)
        x = jnp.log(own.N_opt)
        ok = jnp.isfinite(x)
        lo = jnp.min(jnp.where(ok, x, jnp.inf))
        hi = jnp.max(jnp.where(ok, x, -jnp.inf))
        pad = 0.05 * (hi - lo) + 1e-3
        grid = jnp.linspace(lo - pad, hi + pad, REGRET_GRID)
        L = law_loss(law, expand_draws(th, 1), grid[None, :], jnp.log(c) - grid[None, :], extra)
        return own.N_opt, own.loss, grid, L - own.loss[:, None]

    return jax.lax.map(at, levels)


@partial(jax.jit, static_argnames=("law",))
def _target_runs(theta, log_n, log_d, extra, levels, law) -> Array:
    """The law's log loss of the target runs per data edge and draw: (L, S, K)."""
    x = {"log_N": log_n, "log_D": log_d, **extra}
    return jax.lax.map(lambda e: law.predict_log_loss(_at_edge(theta, e), x), levels)


def plan_runs(
    theta: Any,
    *,
    law: Any,
    sigma: Any,
    target_budget: Any,
    spend: Any,
    candidates: Any,
    nu: Any = None,
    likelihood: str = "gaussian",
    delta: float = 1e-3,
    covariates: Mapping[str, float] | None = None,
    flops_per_param_token: float = 6.0,
    max_runs: int | None = None,
    criterion: str = "n_opt",
    ci: float = 0.9,
    seed: int = 0,
    n_outcomes: int = N_OUTCOMES,
    n_eval: int = N_EVAL,
    exclude: Any = None,
    target_runs: Any = None,
) -> RunPlan:
    """Choose runs under a compute cap that shrink the criterion at ``target_budget`` most.

    See the module docstring for the method. :meth:`bayescale.FitResult.plan_runs` calls
    this with a fit's draws, law and likelihood.

    Parameters
    ----------
    theta : mapping
        Posterior draws of the law's parameters, each of shape (S,) (with a drift law, its
        drift draws and the data's edges too).
    law : Law
        The law (its ``log_loss``, ``noise_scale`` and optimum are all that is used).
    sigma : array (S,)
        Each draw's residual scale of log loss; ``nu`` (S,) for Student-t.
    target_budget, spend : float, str or Budget
        FLOPs, PF-days or accelerator time (``"256xH100:2d@40%"``), as ``--budget`` takes.
    candidates : DataFrame, mapping or (N, D)
        Runs that can be trained (:func:`check_candidates`).
    likelihood, delta : str, float
        The fit's residual distribution.
    covariates : mapping, optional
        The law's extra covariates (numbers), used at the candidates and the target.
    flops_per_param_token : float
        k in C = kND.
    max_runs : int, optional
        At most this many runs (default: as many as ``spend`` allows, up to
        :data:`MAX_RUNS_DEFAULT` greedy steps).
    criterion : {"n_opt", "loss", "regret", "predict"}
        What to shrink (see the module docstring).
    ci : float
        Credible mass of the reported intervals.
    seed : int
        Seed of the scenarios; the same inputs and seed give the same plan.
    n_outcomes, n_eval : int
        Scenarios that choose the runs, and fresh ones that evaluate the promise.
    exclude : array of bool (J,), optional
        Candidates not to choose (still scored).
    target_runs : DataFrame, mapping or (N, D), optional
        The runs at the target whose loss ``"predict"`` (and every plan's expected error)
        is about; default the Bayes-optimal run at ``target_budget`` under this fit.

    Returns
    -------
    RunPlan

    Raises
    ------
    ValueError
        Bad criterion, ``spend`` or ``target_budget`` not a positive budget, a spend below
        the cheapest candidate, candidates outside the law's domain (its loss not finite
        there on some draws), or no draw with a finite optimum at the target.
    """
    if criterion not in CRITERIA:
        raise ValueError(f"unknown criterion {criterion!r}; choose one of {', '.join(CRITERIA)}")
    ci, _ = check_ci(ci)
    check_likelihood(likelihood)
    target = _budget(target_budget, "target_budget")
    cap = _budget(spend, "spend")
    if max_runs is not None and (int(max_runs) != max_runs or max_runs < 1):
        raise ValueError(f"max_runs must be a whole number >= 1, got {max_runs!r}")
    steps = MAX_RUNS_DEFAULT if max_runs is None else int(max_runs)
    if int(n_outcomes) < 2 or int(n_eval) < 2:
        raise ValueError("n_outcomes and n_eval must be >= 2")
    cand = check_candidates(candidates)
    aimed = None if target_runs is None else check_candidates(target_runs)
    with jax.enable_x64(True):  # regrets are small differences of losses
        law, theta, extra, k = decision_inputs(law, theta, covariates, flops_per_param_token)
    S = next(iter(theta.values())).shape[0]
    sigma = positive_1d(sigma, "sigma", "residual scale")
    if sigma.shape != (S,):
        raise ValueError(f"sigma must have one value per draw ({S}), got shape {sigma.shape}")
    nu_arr = None if nu is None else positive_1d(nu, "nu", "degrees of freedom")
    if likelihood == "student_t" and nu_arr is None:
        raise ValueError("likelihood 'student_t' needs nu, one value per draw")
    C_cand = k * cand["N"].to_numpy() * cand["D"].to_numpy()
    if cap.flops < C_cand.min():
        raise ValueError(
            f"spend {format_flops(cap.flops)} is below the cheapest candidate run "
            f"({format_flops(float(C_cand.min()))} at row {cand.index[np.argmin(C_cand)]}); "
            "raise the spend or add smaller candidates"
        )
    log_n_c, log_d_c = np.log(cand["N"].to_numpy()), np.log(cand["D"].to_numpy())
    edge = float(np.asarray(theta[EDGE])[0]) if EDGE in theta else None
    levels, lvl = edge_levels(edge, log_n_c + log_d_c)
    c = target.flops / k
    with jax.enable_x64(True):
        x = {"log_N": jnp.asarray(log_n_c), "log_D": jnp.asarray(log_d_c), **extra}
        # what a refit sees: a trained run is inside its data, so its likelihood is the
        # fitted law's own (the refit's drift starts beyond the new edge) ...
        mu = np.asarray(base_law(law).predict_log_loss(theta, x)).T  # (J, S)
        # ... and what the run's outcome is: the world of the fit, drift beyond the
        # current edge and wider scatter beyond the fitted N or D range included
        mu_true = np.asarray(law.predict_log_loss(theta, x)).T  # (J, S)
        scale_true = np.broadcast_to(
            np.asarray(law.residual_scale(expand_draws(theta, 1), x, sigma[:, None])),
            (S, len(cand)),
        )
        _refuse_rows(
            cand,
            ~np.all(np.isfinite(mu) & np.isfinite(mu_true), axis=1),
            "candidates outside the law's domain: its loss is not finite on some draws at rows",
            f" (N, D must be sizes the law {law.name!r} can predict)",
        )
        N_opt, L_opt, grid, R = (
            np.asarray(a) for a in _target(theta, jnp.asarray(c), extra, jnp.asarray(levels), law)
        )
        keep = np.all(np.isfinite(N_opt), axis=0) & np.all(np.isfinite(R), axis=(0, 2))
        if not keep.any():
            raise ValueError(
                f"no draw has a finite compute-optimal N at {format_flops(target.flops)}"
            )
        if aimed is None:  # the Bayes-optimal run at the target, under this fit
            log_n_t = grid[0, [int(np.argmin(R[0][keep].mean(axis=0)))]]
            aimed = pd.DataFrame({"N": np.exp(log_n_t), "D": c / np.exp(log_n_t)})
        P = np.asarray(
            _target_runs(
                theta, jnp.asarray(np.log(aimed["N"].to_numpy())),
                jnp.asarray(np.log(aimed["D"].to_numpy())), extra, jnp.asarray(levels), law,
            )
        )  # fmt: skip
        keep &= np.all(np.isfinite(P), axis=(0, 2))
        notes = []
        if not keep.all():
            notes.append(
                f"{int((~keep).sum())} of {S} draws have no interior optimum at the target "
                "budget and are left out of the plan"
            )
        mu, mu_true, scale_true = mu[:, keep], mu_true[:, keep], scale_true[keep]
        N_opt, L_opt, R, P = N_opt[:, keep], L_opt[:, keep], R[:, keep], P[:, keep]
        sigma_k = sigma[keep]
        nu_k = np.ones_like(sigma_k) if nu_arr is None else nu_arr[keep]
        Sk = int(keep.sum())
        # each criterion's quantity per edge, centred on its value now (no large numbers)
        q_pred = P - np.mean(P[0])
        quantity = {
            "n_opt": N_opt,
            "loss": L_opt,
            "predict": np.exp(np.mean(P, axis=-1)),
        }.get(criterion)
        q = {"n_opt": np.log(N_opt), "loss": L_opt}.get(criterion)
        q = None if q is None else q - np.mean(q[0])
        rng = np.random.default_rng(seed)

        def scenarios(M: int, stream: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            t = rng.choice(Sk, size=M, replace=M > Sk)
            noise = residual_draws(
                likelihood, scale_true[t], nu=nu_k[t][:, None],
                delta=float(delta), seed=np.random.default_rng([seed, stream]),
            )  # fmt: skip
            y = mu_true[:, t].T + noise  # (M, J)
            logw = np.zeros((M, Sk))
            logw[np.arange(M), t] = -np.inf  # the scenario's truth is not among its draws
            return t, y, logw

        def aux_of(name: str, t: np.ndarray, level: Any = None) -> dict[str, Any]:
            """The criterion's quantity at every edge (level None) or at one."""
            sel = slice(None) if level is None else level
            if name == "regret":
                return {"R": R[sel]}
            if name == "predict":  # the truth: each scenario's own draw at today's edge
                return {"q": q_pred[sel], "truth": q_pred[0][t]}
            return {"q": q[sel]}

        t_s, y, logw0 = scenarios(int(n_outcomes), 0)
        aux_s = aux_of(criterion, t_s)

        def score(logw: np.ndarray, at: int) -> np.ndarray:
            e, _ = preposterior_scores(
                logw, mu, y, sigma_k, nu_k, aux_s, likelihood=likelihood, criterion=criterion,
                delta=delta, level=np.maximum(lvl, at),
            )  # fmt: skip
            return e

        def condition(logw: np.ndarray, runs: list[int], yy: np.ndarray) -> np.ndarray:
            return np.asarray(
                _condition(
                    jnp.asarray(logw), jnp.asarray(mu[runs]), jnp.asarray(yy[:, runs]),
                    jnp.asarray(sigma_k), jnp.asarray(nu_k), likelihood, float(delta),
                )
            )  # fmt: skip

        def mean_crit(name: str, logw: np.ndarray, level: int, t: np.ndarray) -> float:
            w = _normalise(jnp.asarray(logw))
            a = {k_: jnp.asarray(v) for k_, v in aux_of(name, t, level).items()}
            return float(jnp.mean(_criterion(name, w, a)))

        crit0 = mean_crit(criterion, logw0, 0, t_s)
        first = score(logw0, 0)
        blocked = np.zeros(len(cand), bool) if exclude is None else np.asarray(exclude, bool)

        def greedy(mode: str) -> tuple[list[int], list[float], float]:
            logw, left, now, at = logw0, cap.flops, crit0, 0
            chosen: list[int] = []
            gains: list[float] = []
            taken = blocked.copy()
            for step in range(steps):
                e = first if step == 0 else score(logw, at)
                gain = now - e
                ok = ~taken & (C_cand <= left) & np.isfinite(gain)
                if not ok.any():
                    break
                key = gain / C_cand if mode == "per_flop" else gain
                j = int(np.argmax(np.where(ok, key, -np.inf)))
                if not gain[j] > 0:
                    break
                chosen.append(j)
                gains.append(float(gain[j]))
                taken[j] = True
                left -= C_cand[j]
                logw = condition(logw, [j], y)
                now, at = float(e[j]), max(at, int(lvl[j]))
            return chosen, gains, now

        passes = {mode: greedy(mode) for mode in ("per_flop", "gain")}
        mode = min(passes, key=lambda m: (passes[m][2], m != "per_flop"))
        chosen, gains, _ = passes[mode]
        final = max((int(lvl[j]) for j in chosen), default=0)

        # the promise, on fresh scenarios
        t_e, y_e, logw_e0 = scenarios(int(n_eval), 1)
        logw_e = condition(logw_e0, chosen, y_e) if chosen else logw_e0
        w_e = np.asarray(_normalise(jnp.asarray(logw_e)))
        ess = 1.0 / np.sum(w_e * w_e, axis=-1)
        crit_now_e = mean_crit(criterion, logw_e0, 0, t_e)
        crit_after = mean_crit(criterion, logw_e, final, t_e)
        reg_now, reg_after = (
            mean_crit("regret", logw_e0, 0, t_e),
            mean_crit("regret", logw_e, final, t_e),
        )
        err_now = math.sqrt(mean_crit("predict", logw_e0, 0, t_e))
        err_after = math.sqrt(mean_crit("predict", logw_e, final, t_e))

    if criterion == "regret":
        # per-draw regret of the Bayes choice: now, and at each scenario's own choice
        i_now = int(np.argmin(R[0].mean(axis=0)))
        current = _interval_now(R[0][:, i_now], ci)
        i_after = np.argmin(w_e @ R[final], axis=-1)
        after = _interval_after(criterion, R[final][:, i_after].T, w_e, ci)
    else:
        current = _interval_now(quantity[0], ci)
        after = _interval_after(criterion, quantity[final], w_e, ci)
    C_sel = C_cand[chosen]
    runs = pd.DataFrame(
        {
            "N": cand["N"].to_numpy()[chosen],
            "D": cand["D"].to_numpy()[chosen],
            "C": C_sel,
            "share": C_sel / cap.flops,
            "score": np.asarray(gains, dtype=np.float64),
            "candidate": list(cand.index[chosen]),
        }
    )
    table = pd.DataFrame(
        {
            "N": cand["N"].to_numpy(),
            "D": cand["D"].to_numpy(),
            "C": C_cand,
            "affordable": C_cand <= cap.flops,
            "score": crit0 - first,
            "chosen": np.isin(np.arange(len(cand)), chosen),
        },
        index=cand.index,
    )
    ess_median = float(np.median(ess))
    if ess_median < ESS_MIN:
        notes.append(
            f"the reweighted draws are degenerate (median effective sample size "
            f"{ess_median:.0f} < {ESS_MIN:.0f}): the expected interval rests on few draws; "
            "refit simulated outcomes to check it (FitResult.plan_runs(refit=...))"
        )
    return RunPlan(
        runs=runs,
        criterion=criterion,
        target_budget=target.flops,
        spend=cap.flops,
        ci=ci,
        current=current,
        expected_after=after,
        criterion_current=crit_now_e,
        criterion_after=crit_after,
        regret_current=reg_now,
        regret_after=reg_after,
        regret_reduction=reg_now - reg_after,
        ess_median=ess_median,
        ess_min=float(np.min(ess)),
        degenerate=ess_median < ESS_MIN,
        candidates=table,
        n_draws=Sk,
        n_scenarios=int(n_eval),
        greedy=mode,
        spend_statement=cap.statement,
        notes=tuple(notes),
        error_current=err_now,
        error_after=err_after,
        target_runs=aimed.reset_index(drop=True),
        edge_before=None if edge is None else float(k * math.exp(levels[0])),
        edge_after=None if edge is None else float(k * math.exp(levels[final])),
    )
