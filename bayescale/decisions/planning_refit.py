"""A plan's promise re-estimated by refits: the fallback when reweighted draws degenerate.

:func:`bayescale.decisions.planning.plan_runs` evaluates its promise by importance
reweighting; when the weights rest on few draws (``RunPlan.degenerate``),
:func:`refit_expected_after` refits simulated outcomes of the planned runs instead, all in
one vectorised :func:`bayescale.inference.many.sample_many` run.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from bayescale.decisions.budget import bayes_optimal
from bayescale.decisions.planning_tables import RunPlan, interval_bounds, interval_probs
from bayescale.inference.many import sample_many
from bayescale.laws.optimum import log_covariates

__all__ = ["refit_expected_after"]


def _quantity_draws(plan: RunPlan, args: Mapping[str, Any]) -> np.ndarray:
    """The criterion's quantity per draw of a fit (its decision ``args``) at the target budget."""
    with jax.enable_x64(True):
        b = bayes_optimal(budgets=[plan.target_budget], **args)
        if plan.criterion == "n_opt":
            return np.asarray(b.N_draws)[:, 0]
        if plan.criterion == "loss":
            return np.asarray(b.loss_draws)[:, 0]
        if plan.criterion == "predict":
            runs = plan.target_runs
            x = {
                "log_N": jnp.log(jnp.asarray(runs["N"].to_numpy())),
                "log_D": jnp.log(jnp.asarray(runs["D"].to_numpy())),
                **log_covariates(args["law"], args.get("covariates")),
            }
            return np.exp(np.mean(np.asarray(args["law"].predict_log_loss(args["theta"], x)), -1))
        return np.asarray(b.loss_bayes_draws - b.loss_draws)[:, 0]


def refit_expected_after(
    result: Any, plan: RunPlan, n_refits: int = 8, *, seed: int = 0, **settings: Any
) -> RunPlan:
    """Re-estimate ``expected_after`` by refitting simulated outcomes of the planned runs.

    The fallback for a ``degenerate`` plan, where importance weights rest on few draws:
    ``n_refits`` scenarios each take one posterior draw as the truth and its posterior-predictive
    losses of the planned runs (:meth:`~bayescale.FitResult.predict` with ``kind="new_run"``: the
    fit's law and likelihood, that draw's sigma and nu), append them to the data and refit with the
    same law, likelihood and priors (all refits in one vectorised
    :func:`bayescale.inference.many.sample_many` run). ``expected_after`` becomes the mean of the
    refits' intervals (geometric for N_opt) and ``method`` ``"refit"``.

    Parameters
    ----------
    result : FitResult
        The fit the plan was made from (ungrouped).
    plan : RunPlan
        Its plan.
    n_refits : int
        Scenarios refitted.
    seed : int
        Seed of the truths and outcomes.
    **settings
        Sampler settings of the refits (default: the fit's chains, warmup and draws).
    """
    if result.groups is not None:
        raise ValueError("refits of a plan are not available for pooled fits yet")
    if int(n_refits) < 1:
        raise ValueError(f"n_refits must be >= 1, got {n_refits!r}")
    if plan.runs.empty:
        return plan
    N, D = plan.runs["N"].to_numpy(), plan.runs["D"].to_numpy()
    extra = {c: float(np.max(result.data.extra[c])) for c in result.law.covariates}
    loss = result.predict(N, D, kind="new_run", seed=seed, **extra)  # (S, K)
    rng = np.random.default_rng(seed)
    truths = rng.choice(loss.shape[0], size=int(n_refits), replace=False)
    base = result.data
    cols = {k: np.concatenate([v, np.full(len(N), v.max())]) for k, v in base.extra.items()}
    sets = []
    for t in truths:  # data sets to build, not a computation: the refits run as one batch
        sets.append(
            type(base).from_arrays(
                N=np.concatenate([base.N, N]),
                D=np.concatenate([base.D, D]),
                loss=np.concatenate([np.exp(base.log_loss), loss[t]]),
                flops_per_param_token=base.flops_per_param_token,
                loss_kind="loss",
                **cols,
            )
        )
    s = result.settings
    opts = {"chains": s.chains, "warmup": s.warmup, "draws": s.draws, **settings}
    priors = dict(result.prior_distributions or {})
    priors.update(result.fixed)
    fits = sample_many(
        sets, law=result.law, likelihood=s.likelihood, priors=priors or None,
        seed=seed, **opts,
    )  # fmt: skip
    probs = interval_probs(plan.ci)
    bounds = []
    for fit in fits:  # one summary per refit
        args = {
            "theta": fit.theta(),
            "law": fit.law,
            "covariates": extra or None,
            "flops_per_param_token": base.flops_per_param_token,
        }
        q = _quantity_draws(plan, args)
        q = q[np.isfinite(q)]
        bounds.append(np.quantile(np.log(q) if plan.criterion == "n_opt" else q, probs))
    lo, med, hi = np.mean(bounds, axis=0)
    if plan.criterion == "n_opt":
        lo, med, hi = np.exp([lo, med, hi])
    note = f"expected_after from {len(fits)} refits of simulated outcomes (not reweighting)"
    return dataclasses.replace(
        plan,
        expected_after=interval_bounds(lo, med, hi),
        method="refit",
        notes=(*plan.notes, note),
    )
