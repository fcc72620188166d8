"""Decisions summarised per budget, plan or target: what :class:`~bayescale.FitResult` returns.

Each table runs one function of :mod:`bayescale.decisions` in float64 on the draws
``theta`` of a ``law`` (with its ``covariates``) and summarises the posterior with credible
intervals (``ci``, ``ci_kind``); the settings are in ``table.attrs``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import jax
import numpy as np
import pandas as pd

from bayescale.data.units import parse_count
from bayescale.decisions.budget import (
    bayes_optimal,
    compute_for_loss,
    data_limited,
    regret,
)
from bayescale.decisions.core import as_plans, positive_1d
from bayescale.inference.posterior import check_ci, interval, summarize
from bayescale.laws import CHINCHILLA, Law

__all__ = [
    "bayes_optimal_table",
    "compute_for_loss_table",
    "data_limited_table",
    "regret_table",
    "summarize_unbounded",
]

_BIG = 1e300  # stands for +inf (unreachable) inside quantile arithmetic


def summarize_unbounded(draws: Any, ci: float = 0.9, axis: int = 0) -> dict[str, np.ndarray]:
    """Median and equal-tailed interval of draws where NaN/inf mean "never" (unreachable).

    Unreachable draws count as +inf, so a quantile is +inf when it falls among them: with
    30% of draws unreachable the median is finite but the 95% quantile is inf. ``p_finite``
    is the share of reachable draws.

    Returns
    -------
    dict
        ``{"median", "lo", "hi", "p_finite"}``.
    """
    ci, _ = check_ci(ci, "eti")
    x = np.asarray(draws, dtype=np.float64)
    finite = np.isfinite(x)
    y = np.where(finite, x, _BIG)
    q = np.quantile(y, [0.5, (1.0 - ci) / 2.0, (1.0 + ci) / 2.0], axis=axis)
    q = np.where(q > 1e299, np.inf, q)
    return {"median": q[0], "lo": q[1], "hi": q[2], "p_finite": finite.mean(axis=axis)}


def _decide(fn: Any, theta: Any, law: Law, covariates: Any, k: float, *args: Any) -> Any:
    """A function of :mod:`bayescale.decisions` on the draws, its result as NumPy arrays."""
    # decisions are small differences of losses: always float64, whatever the fit used
    with jax.enable_x64(True):
        r = fn(theta, *args, law=law, covariates=covariates, flops_per_param_token=k)
        return type(r)(*(np.asarray(x) for x in r))


def bayes_optimal_table(
    theta: Any,
    budgets: Any,
    *,
    ci: float = 0.9,
    ci_kind: str = "eti",
    flops_per_param_token: float = 6.0,
    law: Law = CHINCHILLA,
    covariates: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """:func:`bayes_optimal` summarised per budget (what ``FitResult.bayes_optimal`` returns).

    Columns: ``budget``; ``N_bayes, D_bayes, expected_loss_bayes``; ``N_plugin, D_plugin,
    expected_loss_plugin``; ``N_opt`` (median of per-draw optima) with ``N_opt_lo/hi`` and
    ``D_opt``, ``D_opt_lo/hi``, ``expected_loss_median``; ``expected_loss_oracle``;
    ``plugin_vs_bayes`` and ``median_vs_bayes`` (N ratios to the Bayes choice);
    ``excess_loss_plugin`` and ``excess_loss_median`` (expected-loss cost of those choices
    over the Bayes one, ≥ 0); ``evpi`` (expected value of perfect information, in loss).
    """
    ci, ci_kind = check_ci(ci, ci_kind)
    r = _decide(bayes_optimal, theta, law, covariates, flops_per_param_token, budgets)
    N_lo, N_hi = interval(r.N_draws, ci, ci_kind)
    D_lo, D_hi = interval(r.D_draws, ci, ci_kind)
    table = pd.DataFrame(
        {
            "budget": r.budget,
            "N_bayes": r.N_bayes,
            "D_bayes": r.D_bayes,
            "expected_loss_bayes": r.expected_loss_bayes,
            "N_plugin": r.N_plugin,
            "D_plugin": r.D_plugin,
            "expected_loss_plugin": r.expected_loss_plugin,
            "N_opt": r.N_median,
            "N_opt_lo": N_lo,
            "N_opt_hi": N_hi,
            "D_opt": np.median(r.D_draws, axis=0),
            "D_opt_lo": D_lo,
            "D_opt_hi": D_hi,
            "expected_loss_median": r.expected_loss_median,
            "expected_loss_oracle": r.expected_loss_oracle,
            "plugin_vs_bayes": r.N_plugin / r.N_bayes,
            "median_vs_bayes": r.N_median / r.N_bayes,
            "excess_loss_plugin": r.expected_loss_plugin - r.expected_loss_bayes,
            "excess_loss_median": r.expected_loss_median - r.expected_loss_bayes,
            "evpi": r.expected_loss_bayes - r.expected_loss_oracle,
        }
    )
    table.attrs.update(ci=ci, ci_kind=ci_kind)
    return table


def regret_table(
    theta: Any,
    plans: Any,
    *,
    eps: Any = (1e-3, 1e-2),
    within: float = 2.0,
    ci: float = 0.9,
    ci_kind: str = "eti",
    flops_per_param_token: float = 6.0,
    law: Law = CHINCHILLA,
    covariates: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """:func:`regret` summarised per plan (what ``FitResult.regret`` returns).

    Columns: ``label, N, D, C``; ``regret`` (median), ``regret_lo/hi``, ``regret_mean``
    (expected regret); ``p_regret_below_<eps>`` for each ε; ``waste`` (median share of C
    wasted, 1 − C_eq/C), ``waste_lo/hi``, ``waste_mean``; ``wasted_flops`` (median);
    ``N_opt`` (median), ``N_opt_lo/hi``; ``p_within`` — P(N_opt/within ≤ N ≤ within·N_opt);
    ``loss_plan`` and ``loss_opt`` (medians).
    """
    ci, ci_kind = check_ci(ci, ci_kind)
    eps_arr = positive_1d(eps, "eps", "regret thresholds in loss units")
    within = float(positive_1d(within, "within", "a factor > 1")[0])
    if within <= 1.0:
        raise ValueError(f"within must be a factor > 1, got {within}")
    ps = as_plans(plans, flops_per_param_token)
    if not ps:
        raise ValueError("plans must contain at least one plan, got none")
    r = _decide(
        regret, theta, law, covariates, flops_per_param_token, [p.N for p in ps], [p.D for p in ps]
    )
    reg = summarize(r.regret, ci, ci_kind)
    waste = 1.0 - r.compute_fraction
    w = summarize(waste, ci, ci_kind)
    n_opt = summarize(r.N_opt, ci, ci_kind)
    cols: dict[str, Any] = {
        "label": [p.label for p in ps],
        "N": r.N,
        "D": r.D,
        "C": r.C,
        "regret": reg["median"],
        "regret_lo": reg["lo"],
        "regret_hi": reg["hi"],
        "regret_mean": reg["mean"],
    }
    for e in eps_arr:
        cols[f"p_regret_below_{e:g}"] = np.mean(r.regret < e, axis=0)
    ratio = r.N[None, :] / r.N_opt
    cols.update(
        {
            "waste": w["median"],
            "waste_lo": w["lo"],
            "waste_hi": w["hi"],
            "waste_mean": w["mean"],
            "wasted_flops": w["median"] * r.C,
            "N_opt": n_opt["median"],
            "N_opt_lo": n_opt["lo"],
            "N_opt_hi": n_opt["hi"],
            "p_within": np.mean(np.abs(np.log(ratio)) <= math.log(within), axis=0),
            "loss_plan": np.median(r.loss_plan, axis=0),
            "loss_opt": np.median(r.loss_opt, axis=0),
        }
    )
    table = pd.DataFrame(cols)
    table.attrs.update(ci=ci, ci_kind=ci_kind, eps=eps_arr.tolist(), within=within)
    return table


def compute_for_loss_table(
    theta: Any,
    targets: Any,
    *,
    ci: float = 0.9,
    flops_per_param_token: float = 6.0,
    law: Law = CHINCHILLA,
    covariates: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """:func:`compute_for_loss` summarised per target (``FitResult.compute_for_loss``).

    Columns: ``target``, ``p_reachable``, and for each of ``C``, ``N``, ``D`` the median and
    ``_lo``/``_hi`` of an equal-tailed interval in which unreachable draws count as +inf —
    so a bound (or the median) is ``inf`` when it falls among them.
    """
    ci, _ = check_ci(ci, "eti")
    r = _decide(compute_for_loss, theta, law, covariates, flops_per_param_token, targets)
    cols: dict[str, Any] = {"target": r.target.astype(np.float64)}
    cols["p_reachable"] = r.reachable.mean(axis=0)
    for name in ("C", "N", "D"):
        s = summarize_unbounded(getattr(r, name), ci)
        cols[name], cols[f"{name}_lo"], cols[f"{name}_hi"] = s["median"], s["lo"], s["hi"]
    cols["floor"] = np.full(r.target.shape, np.median(r.floor))
    table = pd.DataFrame(cols)
    table.attrs.update(ci=ci, ci_kind="eti")
    return table


def data_limited_table(
    theta: Any,
    D_max: float,
    budgets: Any,
    *,
    ci: float = 0.9,
    ci_kind: str = "eti",
    flops_per_param_token: float = 6.0,
    law: Law = CHINCHILLA,
    covariates: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """:func:`data_limited` summarised per budget (``FitResult.data_limited``).

    Columns: ``budget``, ``D_max``, ``p_binds``; per-draw best ``N``, ``D``, ``loss`` under
    the cap (median, ``_lo``, ``_hi``); ``loss_penalty`` (cost of the cap in loss: median,
    interval); ``N_bayes``, ``D_bayes``, ``expected_loss_bayes`` under the cap. The budget
    above which the cap binds is in ``table.attrs["C_bind"]`` (``median``, ``lo``, ``hi``;
    equal-tailed).
    """
    ci, ci_kind = check_ci(ci, ci_kind)
    if isinstance(D_max, str):
        D_max = parse_count(D_max, "D_max")
    r = _decide(data_limited, theta, law, covariates, flops_per_param_token, budgets, D_max)
    cols: dict[str, Any] = {
        "budget": r.budget,
        "D_max": np.full(r.budget.shape, float(r.D_max)),
        "p_binds": r.binds.mean(axis=0),
    }
    for name, x in (
        ("N", r.N),
        ("D", r.D),
        ("loss", r.loss),
        ("loss_penalty", np.maximum(r.loss - r.loss_unconstrained, 0.0)),  # rounding
    ):
        s = summarize(x, ci, ci_kind)
        cols[name], cols[f"{name}_lo"], cols[f"{name}_hi"] = s["median"], s["lo"], s["hi"]
    cols.update(N_bayes=r.N_bayes, D_bayes=r.D_bayes, expected_loss_bayes=r.expected_loss_bayes)
    table = pd.DataFrame(cols)
    bind = summarize_unbounded(r.C_bind, ci)
    table.attrs.update(
        ci=ci,
        ci_kind=ci_kind,
        C_bind={k: float(bind[k]) for k in ("median", "lo", "hi", "p_finite")},
    )
    return table
