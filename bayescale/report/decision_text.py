"""The decision report in words: the headline, the summary sentences, the assumptions.

Each builder reads the JSON-ready dict of :func:`bayescale.report.decision_report.build_report`
(never the fit), so the sentences state the same numbers as the tables, formatted by
:func:`bayescale.report.blocks.format_value` and :func:`bayescale.report.blocks.fmt`.
"""

from __future__ import annotations

import math
from typing import Any

from bayescale.data.units import FLOPS_PER_PF_DAY, Budget, CostModel, format_count, format_dollars
from bayescale.laws.extrapolation import GROWTH
from bayescale.report.blocks import fmt, format_value
from bayescale.report.summaries import law_formula

__all__ = ["assumptions", "budget_label", "headline", "plan_sentence", "summary"]


def assumptions(d: dict[str, Any], specs: list[Budget], cost: CostModel | None) -> list[str]:
    """What the numbers assume: compute, law, likelihood, priors, intervals, extrapolation.

    Parameters
    ----------
    d : dict
        The report so far (``fit``, ``ci``, ``ci_kind``, ``flops_per_param_token``,
        ``extrapolation``).
    specs : list of Budget
        The report's budgets; each one not given as a bare number of FLOPs is explained.
    cost : CostModel, optional
        The cost model, described when given.

    Returns
    -------
    list of str
        One sentence per assumption.
    """
    fit = d["fit"]
    s = fit["settings"]
    pct = f"{100 * d['ci']:g}%"
    kind = "equal-tailed" if d["ci_kind"] == "eti" else "highest-density"
    law = fit.get("law", "chinchilla")
    out = [
        f"Training compute C = {d['flops_per_param_token']:g}·N·D FLOPs (N parameters, D "
        "training tokens; about 6 for dense transformers, forward plus backward pass).",
        f"Loss law {law_formula(law)}"
        + (" (Hoffmann et al. 2022)" if law == "chinchilla" else f" ({law} law)")
        + f", fitted to the log of the final loss of {fit['n_runs']} runs from "
        f"{fit['data']['source']}.",
        f"Likelihood: {fit['likelihood']} on log-loss residuals. Posterior by NUTS: "
        f"{s['chains']} chains × {s['draws']} draws after {s['warmup']} warmup, seed "
        f"{s['seed']}.",
        "Priors: " + "; ".join(f"{k} ~ {v}" for k, v in fit["priors"].items()) + ".",
        f"Intervals are {pct} {kind} credible intervals over the posterior draws.",
        "The Bayes-optimal N minimises the posterior expected loss at each budget; the "
        "plug-in N is the closed-form optimum of the posterior-median parameters.",
        "Regret compares a plan with each posterior draw's own optimum at the plan's budget; "
        "wasted compute is the share of that budget the optimal allocation would not need "
        "to reach the plan's loss.",
        "Compute for a target loss: draws on which the target is at or below the irreducible "
        "loss E cannot reach it with any compute and count as infinite compute.",
        "A data cap limits training tokens D; repeated epochs are not modelled (the law "
        "assumes every token is fresh).",
        f"Extrapolation: the largest fitted run used {fmt(d['extrapolation']['data_C_max'])} "
        "FLOPs; "
        + (
            f"beyond it the law's effective N and D may drift (drift={s['drift']:g}: level "
            f"and tilt growing as the log-compute distance to the power {GROWTH:g}, the level "
            "leaning "
            "towards runs doing slightly better than the law, as held-out runs of public "
            "sweeps did; a population prior calibrated on 13 public sweeps, validated "
            "leaving each source out, then updated by this fit's own largest runs when its "
            "extrapolation check ran), which widens every interval and decision there, and "
            "a new run beyond the fitted compute or the fitted range of N or D scatters "
            "about the law more than the fitted runs do; a change of law beyond that is not "
            "modelled."
            if s.get("drift", 0) > 0
            else "drift=0: predictions beyond that assume the law's form keeps holding."
        ),
    ]
    out += [f"Budget {b.text!r}: {b.statement}." for b in specs if b.text != repr(b.flops)]
    if cost is not None:
        out.append(f"Cost model: {cost.describe()}.")
    return out


def _interval(x: float | None, lo: float | None, hi: float | None, kind: str = "num") -> str:
    return f"{format_value(x, kind)} [{format_value(lo, kind)}, {format_value(hi, kind)}]"


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _sampling(g: dict[str, Any]) -> str:
    """The sampler's headline numbers, from the report's ``fit.diagnostics``."""
    return (
        f"max R-hat {g['r_hat_max']:.3f}, min bulk ESS {g['ess_bulk_min']:,.0f}, "
        f"{g['divergences']} divergences"
    )


def _money_text(m: dict[str, Any] | None) -> str:
    if not m or m.get("accelerator_hours") is None:
        return ""
    text = f"{m['accelerator_hours']:,.0f} accelerator-hours"
    if m.get("dollars") is not None:
        text += f", {format_dollars(m['dollars'])}"
    return text


def summary(d: dict[str, Any]) -> list[str]:
    """Plain-language sentences a team lead can act on.

    Parameters
    ----------
    d : dict
        The report so far: every section but ``summary`` and ``headline``.

    Returns
    -------
    list of str
        The three largest budgets' allocations, the cost of the plug-in choice, each
        plan's risk, each target's compute, the data cap, the runs to train next, the
        extrapolation and the sampler's verdict (prefixed ``WARNING`` when it failed).
    """
    pct = f"{100 * d['ci']:g}%"
    out = []
    rows = d["bayes_optimal"]
    shown = sorted(rows, key=lambda r: r["budget"])[-3:]
    by_budget = {b["flops"]: b for b in d["budgets"]}
    for r in shown:
        b = by_budget.get(r["budget"], {})
        bits = []
        if b.get("text") and not _is_number(b["text"]):
            bits.append(b["text"])
        if "pf" not in b.get("text", "").lower():
            bits.append(f"{r['budget'] / FLOPS_PER_PF_DAY:,.0f} PF-days")
        if extra := _money_text(b):
            bits.append(extra)
        out.append(
            f"At {fmt(r['budget'])} FLOPs ({'; '.join(bits)}) train "
            f"{format_count(r['N_bayes'])} parameters on {format_count(r['D_bayes'])} tokens "
            f"({fmt(r['tokens_per_param_bayes'])} "
            "tokens per parameter): the size that minimises the expected loss, predicted "
            f"{fmt(r['expected_loss_bayes'])}. The compute-optimal size itself is uncertain: "
            f"{_interval(r['N_opt'], r['N_opt_lo'], r['N_opt_hi'], 'count')} parameters ({pct} "
            "interval)."
        )
    worst = max(rows, key=lambda r: r["excess_loss_plugin"] or 0.0)
    shift = max(abs(r["plugin_vs_bayes"] - 1.0) for r in rows)
    out.append(
        "Choosing from the posterior-median parameters instead (plug-in) changes N by at "
        f"most {format_value(shift, 'pct')} and costs at most "
        f"{fmt(worst['excess_loss_plugin'])} in expected "
        f"loss (at {fmt(worst['budget'])} FLOPs); knowing the law exactly would lower the "
        f"expected loss there by {fmt(worst['evpi'])} (the value of better small-scale runs)."
    )
    for p in d["plans"]:
        probs = ", ".join(
            f"P(regret < {e['eps']:g}) = {format_value(e['p'], 'prob')}"
            for e in p["p_regret_below"]
        )
        wasted = _money_text(p["wasted"])
        keep = None if p["waste"] is None else 1.0 - p["waste"]
        out.append(
            f"Your plan {p['label']} ({format_count(p['N'])} parameters on "
            f"{format_count(p['D'])} tokens, {fmt(p['C'])} FLOPs) is expected to end "
            f"{fmt(p['regret_mean'])} above the lowest loss reachable with that compute "
            f"(regret {_interval(p['regret'], p['regret_lo'], p['regret_hi'])}; {probs}). "
            f"That gap is worth {_interval(p['waste'], p['waste_lo'], p['waste_hi'], 'pct')} "
            f"of its compute: the optimal allocation would reach the same loss with "
            f"{format_value(keep, 'pct')} of the budget ({fmt(p['wasted_flops'])} FLOPs "
            "wasted at the median" + (f", {wasted}" if wasted else "") + "). Its N is within "
            f"×{p['within']:g} of the optimal N "
            f"({_interval(p['N_opt'], p['N_opt_lo'], p['N_opt_hi'], 'count')}) with probability "
            f"{format_value(p['p_within'], 'prob')}."
        )
    for t in d["targets"]:
        p = t["p_reachable"]
        if p == 0:
            out.append(
                f"Loss {fmt(t['target'])} is unreachable on every posterior draw: it is at or "
                f"below the irreducible loss E (median {fmt(t['floor'])}), so no amount of "
                "compute reaches it under this law."
            )
            continue
        need = f"needs {_interval(t['C'], t['C_lo'], t['C_hi'])} FLOPs"
        sentence = (
            f"Reaching loss {fmt(t['target'])} {need} (N {format_count(t['N'])}, D "
            f"{format_count(t['D'])} at the median)"
        )
        if p < 1:
            sentence += (
                f"; but it is unreachable on {format_value(1 - p, 'prob')} of posterior draws, "
                f"where it lies at or below the irreducible loss E (median {fmt(t['floor'])}) "
                "and no amount of compute reaches it"
            )
            if t["C_hi"] is None:
                sentence += " — hence the unbounded upper end"
        out.append(sentence + ".")
    cap = d["data_cap"]
    if cap is not None:
        b = cap["C_bind"]
        last = max(cap["rows"], key=lambda r: r["budget"])
        out.append(
            f"With at most {format_count(cap['D_max'])} training tokens the cap binds above "
            f"{_interval(b['median'], b['lo'], b['hi'])} FLOPs. At {fmt(last['budget'])} "
            f"FLOPs it binds with probability {format_value(last['p_binds'], 'prob')}: train "
            f"{format_count(last['N_bayes'])} parameters on {format_count(last['D_bayes'])} "
            "tokens, at a loss "
            f"cost of {_interval(last['loss_penalty'], last['loss_penalty_lo'], last['loss_penalty_hi'])} "  # noqa: E501
            "against unlimited data."
        )
    if (plan := d["plan"]) is not None:
        out.append(plan_sentence(plan, pct))
    far = max(r["budget"] for r in rows) / d["extrapolation"]["data_C_max"]
    if far > 1:
        out.append(
            f"The largest budget is {far:,.0f}× the largest fitted run "
            f"({fmt(d['extrapolation']['data_C_max'])} FLOPs): these numbers extrapolate the "
            "law; "
            + (
                "the intervals include its drift beyond the data (calibrated on public sweeps)."
                if d["fit"]["settings"].get("drift", 0) > 0
                else "with drift=0 the intervals cover parameter uncertainty only, not a "
                "change of law."
            )
        )
    g = d["fit"]["diagnostics"]
    if g["ok"]:
        out.append(f"Sampling diagnostics passed ({_sampling(g)}).")
    else:
        out.append(
            "WARNING: sampling diagnostics failed — treat every number here as provisional: "
            + " ".join(g["problems"])
        )
    return out


def plan_promise(plan: dict[str, Any]) -> list[str]:
    """What else a plan (its report JSON) is expected to buy, and how that was checked.

    The expected error of the predicted loss at the target and where the data's edge
    moves; empty for a plan from before these were recorded.
    """
    out = []
    err = plan.get("expected_error") or {}
    if err and math.isfinite(err.get("current", math.nan)):
        runs = plan.get("target_runs") or []
        which = (
            f"the target run ({format_count(runs[0]['N'])} parameters, "
            f"{format_count(runs[0]['D'])} tokens)"
            if len(runs) == 1
            else f"the {len(runs)} target runs"
        )
        out.append(
            f"The expected error of the predicted loss of {which} falls from "
            f"{100 * err['current']:.2g}% to {100 * err['after']:.2g}% (root mean square)."
        )
    edge = plan.get("data_edge") or {}
    if edge.get("current") is not None and edge.get("after", 0) > edge["current"]:
        out.append(
            f"The data's edge moves from {fmt(edge['current'])} to {fmt(edge['after'])} FLOPs, "
            "and with it where the law's drift sets in; the promise counts that."
        )
    if out:
        out.append(
            "The promise is scored on fresh simulated outcomes, not those that chose the runs; "
            "benchmarks/PLANNING.md compares such promises with refits on real sweeps."
        )
    return out


def plan_sentence(plan: dict[str, Any], pct: str) -> str:
    """The runs to train next in one sentence, from the report's ``plan`` JSON.

    ``pct`` is the interval's mass as written (``"90%"``); a plan whose reweighted draws
    degenerate says so.
    """
    kind = "count" if plan["criterion"] == "n_opt" else "num"
    now, after = plan["current"], plan["expected_after"]
    text = (
        f"What to train next: {len(plan['runs'])} run(s) costing {fmt(plan['spent'])} of the "
        f"{fmt(plan['spend'])} FLOPs spend are expected to narrow the {plan['quantity']} at "
        f"{fmt(plan['target_budget'])} FLOPs from "
        f"{_interval(now['median'], now['lo'], now['hi'], kind)} to "
        f"{_interval(after['median'], after['lo'], after['hi'], kind)} ({pct}), and to cut "
        f"the expected regret of the Bayes choice there by {fmt(plan['regret_reduction'])} "
        "in loss."
    )
    text += "".join(" " + s for s in plan_promise(plan))
    if plan["degenerate"]:
        text += (
            f" Caution: the promise rests on few reweighted draws (median effective sample "
            f"size {plan['ess_median']:.0f})"
            + (", re-estimated by refits." if plan["method"] == "refit" else ".")
        )
    return text


def budget_label(d: dict[str, Any], i: int) -> str:
    """The budget as the user wrote it, when that was not a bare number of FLOPs.

    Parameters
    ----------
    d : dict
        The report (its ``budgets``).
    i : int
        The budget's position.

    Returns
    -------
    str
        The text, or ``""``.
    """
    text = d["budgets"][i].get("text") or ""
    return "" if not text or _is_number(text) else text


def headline(d: dict[str, Any]) -> dict[str, Any]:
    """The answer first: what to train at each budget, the plans' risk, whether checks passed.

    Parameters
    ----------
    d : dict
        The report so far: every section but ``headline``.

    Returns
    -------
    dict
        ``recommendations`` and ``risk`` (lists of sentences), ``checks`` (a sentence) and
        ``ok`` (whether the fit passed its checks).
    """
    pct = f"{100 * d['ci']:g}%"
    recs = []
    for i, r in enumerate(d["bayes_optimal"]):
        label = budget_label(d, i)
        at = f"{fmt(r['budget'])} FLOPs" + (f" ({label})" if label else "")
        recs.append(
            f"At {at}: train {format_count(r['N_bayes'])} parameters on "
            f"{format_count(r['D_bayes'])} tokens (compute-optimal N "
            f"{_interval(r['N_opt'], r['N_opt_lo'], r['N_opt_hi'], 'count')}, D "
            f"{_interval(r['D_opt'], r['D_opt_lo'], r['D_opt_hi'], 'count')}, {pct}); "
            f"expected loss {fmt(r['expected_loss_bayes'])}."
        )
    risk = []
    for p in d["plans"]:
        risk.append(
            f"The planned run {p['label']} ({format_count(p['N'])} parameters on "
            f"{format_count(p['D'])} tokens) is expected to end {fmt(p['regret_mean'])} above "
            f"the best loss its compute allows (regret "
            f"{_interval(p['regret'], p['regret_lo'], p['regret_hi'])}, {pct}), wasting "
            f"{format_value(p['waste'], 'pct')} of its compute at the median; its N is within "
            f"×{p['within']:g} of the optimum with probability "
            f"{format_value(p['p_within'], 'prob')}."
        )
    if not risk:
        risk.append("No planned run was given: pass plans= (--plan 70B/1.4T) to see its risk.")
    g = d["fit"]["diagnostics"]
    if g["ok"]:
        checks = f"The fit's checks passed: sampling ({_sampling(g)}), design and identification."
    else:
        more = len(g["problems"]) - 1
        checks = (
            "The fit FAILED its checks; treat every number as provisional: "
            + (g["problems"][0].rstrip(".") if g["problems"] else "see Fit diagnostics")
            + (f" (and {more} more problems under Fit diagnostics)." if more > 0 else ".")
        )
    return {"recommendations": recs, "risk": risk, "checks": checks, "ok": bool(g["ok"])}
