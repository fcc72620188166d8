"""The decision report: plain-language summary, tables, figures, diagnostics, assumptions.

:func:`build_report` computes every number once, into a JSON-ready dict; Markdown and a
self-contained HTML page (figures, drawn by :func:`bayescale.plotting.report_figures`,
embedded as base64 PNG) are one list of blocks built from that dict and rendered by
:func:`bayescale.report.render`, as is the JSON, so the three files always agree. Every
number in the HTML tables carries its JSON path (``data-path``) and format
(``data-fmt``), which the tests use to check the agreement.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from bayescale import plotting
from bayescale.decisions import as_plans
from bayescale.io import atomic_write, versions
from bayescale.planning import RunPlan
from bayescale.posterior import check_ci
from bayescale.report import (
    Block,
    Bullets,
    Figure,
    Heading,
    Inline,
    Paragraph,
    Piece,
    Section,
    Table,
    fmt,
    format_value,
    json_float,
    jsonable,
    law_formula,
    render,
)
from bayescale.units import (
    FLOPS_PER_PF_DAY,
    Budget,
    CostModel,
    format_count,
    format_dollars,
    parse_budget_spec,
    parse_cost,
    parse_count,
)

__all__ = ["build_report", "format_value", "html_report", "markdown_report", "write_report"]

#: Figures drawn into the report: name → caption.
FIGURES = {
    "frontier": "Compute-optimal parameters and tokens against compute, with published fits.",
    "tokens_per_param": "Compute-optimal tokens per parameter against compute.",
    "isoflops": "IsoFLOP profiles at the report's budgets: loss against N with the optimum.",
    "data": "The runs, coloured by model size, with the fitted law and its credible band.",
    "regret": "Regret of the plan across model sizes at its own budget.",
    "plan": "What to train next: candidate runs coloured by their score alone, the chosen "
    "runs (numbered in order), the existing runs and iso-compute lines.",
    "residuals": "Residuals of log loss against N and D.",
    "pair": "Posterior of the law's parameters (ArviZ pair plot).",
}


# ------------------------------------------------------------------------------ numbers
def _rows(table: Any, drop: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """A table's rows as JSON records: every column but ``drop``, non-finite as None."""
    keys = [k for k in table.columns if k not in drop]
    out = []
    for _, row in table.iterrows():
        out.append({k: (row[k] if isinstance(row[k], str) else json_float(row[k])) for k in keys})
    return out


# ------------------------------------------------------------------------------ building
def _budget_specs(budgets: Any) -> list[Budget]:
    if isinstance(budgets, str | int | float | Budget):
        budgets = [budgets]
    specs = [b if isinstance(b, Budget) else parse_budget_spec(b) for b in budgets]
    if not specs:
        raise ValueError("budgets must contain at least one budget, got none")
    return specs


def build_report(
    result: Any,
    *,
    budgets: Any,
    plans: Any = None,
    target_loss: Any = None,
    d_max: float | None = None,
    cost: Any = None,
    eps: Any = (1e-3, 1e-2),
    within: float = 2.0,
    ci: float = 0.9,
    ci_kind: str = "eti",
    title: str | None = None,
    plan: Any = None,
) -> dict[str, Any]:
    """All numbers of the decision report as a JSON-ready dict (no files written).

    ``plan``: a :class:`~bayescale.planning.RunPlan`, or a spend (FLOPs, PF-days,
    accelerator time) for which the runs to train next are planned at the largest budget.
    """
    ci, ci_kind = check_ci(ci, ci_kind)
    specs = _budget_specs(budgets)
    C = np.array([b.flops for b in specs])
    cost_model: CostModel | None = None if cost is None else parse_cost(cost)
    k = float(result.data.flops_per_param_token)
    plan_list = as_plans(plans, k)
    targets = (
        []
        if target_loss is None
        else list(np.atleast_1d(np.asarray(target_loss, dtype=np.float64)))
    )
    if d_max is not None:
        d_max = parse_count(d_max, "d_max")

    def money(flops: float, spec: Budget | None = None) -> dict[str, Any]:
        cm = cost_model or (spec.cost if spec is not None else None)
        if cm is None:
            return {"accelerator_hours": None, "dollars": None}
        return {"accelerator_hours": cm.hours(flops), "dollars": cm.dollars(flops)}

    fit = result.to_dict(C, ci, ci_kind)
    d: dict[str, Any] = {
        "title": title or f"bayescale decision report: {result.data.source}",
        "bayescale_version": versions()["bayescale"],
        "ci": ci,
        "ci_kind": ci_kind,
        "flops_per_param_token": k,
        "fit": fit,
        "cost_model": None if cost_model is None else cost_model.to_dict(),
        "budgets": [{**b.to_dict(), **money(b.flops, b)} for b in specs],
    }
    bayes = result.bayes_optimal(C, ci, ci_kind)
    bayes["tokens_per_param_bayes"] = bayes["D_bayes"] / bayes["N_bayes"]
    # expected_loss_median stays out of report.json, as it always has
    d["bayes_optimal"] = _rows(bayes, drop=("expected_loss_median",))
    d["plans"] = []
    if plan_list:
        reg = result.regret(plan_list, eps=eps, within=within, ci=ci, ci_kind=ci_kind)
        eps_list = reg.attrs["eps"]
        for row, (_, r) in zip(
            _rows(reg, drop=tuple(f"p_regret_below_{e:g}" for e in eps_list)),
            reg.iterrows(),
            strict=True,
        ):
            row["p_regret_below"] = [
                {"eps": e, "p": float(r[f"p_regret_below_{e:g}"])} for e in eps_list
            ]
            row["within"] = float(reg.attrs["within"])
            row["wasted"] = money(row["wasted_flops"])
            d["plans"].append(row)
    d["targets"] = []
    if targets:
        tab = result.compute_for_loss(targets, ci)
        d["targets"] = _rows(tab)
    d["data_cap"] = None
    if d_max is not None:
        tab = result.data_limited(d_max, C, ci, ci_kind)
        bind = tab.attrs["C_bind"]
        d["data_cap"] = {
            "D_max": float(d_max),
            "C_bind": {key: json_float(bind[key]) for key in ("median", "lo", "hi")},
            "rows": _rows(tab, drop=("D_max",)),  # D_max is stated once
        }
    d["plan"] = None
    if plan is not None:
        if not isinstance(plan, RunPlan):
            plan = result.plan_runs(target_budget=float(C.max()), spend=plan, ci=ci)
        d["plan"] = _plan_json(plan)
    d["extrapolation"] = {
        "data_C_max": float(np.max(result.data.C)),
        "data_N_max": float(np.max(result.data.N)),
        "data_D_max": float(np.max(result.data.D)),
    }
    d["assumptions"] = _assumptions(result, d, specs, cost_model)
    d["summary"] = _summary(d)
    d["headline"] = _headline(d)
    return jsonable(d)


def _plan_json(plan: RunPlan) -> dict[str, Any]:
    out = plan.to_dict()
    for row, share in zip(out["runs"], plan.runs["share"], strict=True):
        row["share"] = float(share)
    c = plan.candidates
    out.update(
        quantity=plan.quantity,
        ci=plan.ci,
        spent=plan.spent,
        spend_statement=plan.spend_statement,
        criterion_current=plan.criterion_current,
        criterion_after=plan.criterion_after,
        regret_current=plan.regret_current,
        ess_median=plan.ess_median,
        degenerate=plan.degenerate,
        method=plan.method,
        notes=list(plan.notes),
        n_draws=plan.n_draws,
        n_scenarios=plan.n_scenarios,
        candidates=[
            {"N": float(n), "D": float(dd), "score": json_float(sc), "chosen": bool(ch)}
            for n, dd, sc, ch in zip(c["N"], c["D"], c["score"], c["chosen"], strict=True)
        ],
    )
    return out


def _assumptions(
    result: Any, d: dict[str, Any], specs: list[Budget], cost: CostModel | None
) -> list[str]:
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
            "and tilt growing as the square root of the log-compute distance, scales "
            "calibrated on public isoFLOP sweeps, leave one sweep out), which widens every "
            "interval and decision there; a change of law beyond that is not modelled."
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


def _money_text(m: dict[str, Any] | None) -> str:
    if not m or m.get("accelerator_hours") is None:
        return ""
    text = f"{m['accelerator_hours']:,.0f} accelerator-hours"
    if m.get("dollars") is not None:
        text += f", {format_dollars(m['dollars'])}"
    return text


def _summary(d: dict[str, Any]) -> list[str]:
    """Plain-language sentences a team lead can act on."""
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
        out.append(_plan_sentence(plan, pct))
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
        out.append(
            f"Sampling diagnostics passed (max R-hat {g['r_hat_max']:.3f}, min bulk ESS "
            f"{g['ess_bulk_min']:,.0f}, {g['divergences']} divergences)."
        )
    else:
        out.append(
            "WARNING: sampling diagnostics failed — treat every number here as provisional: "
            + " ".join(g["problems"])
        )
    return out


def _plan_sentence(plan: dict[str, Any], pct: str) -> str:
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
    if plan["degenerate"]:
        text += (
            f" Caution: the promise rests on few reweighted draws (median effective sample "
            f"size {plan['ess_median']:.0f})"
            + (", re-estimated by refits." if plan["method"] == "refit" else ".")
        )
    return text


def _budget_label(d: dict[str, Any], i: int) -> str:
    """The budget as the user wrote it, when that was not a bare number of FLOPs."""
    text = d["budgets"][i].get("text") or ""
    return "" if not text or _is_number(text) else text


def _headline(d: dict[str, Any]) -> dict[str, Any]:
    """The answer first: what to train at each budget, the plans' risk, whether checks passed."""
    pct = f"{100 * d['ci']:g}%"
    recs = []
    for i, r in enumerate(d["bayes_optimal"]):
        label = _budget_label(d, i)
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
        checks = (
            f"The fit's checks passed: sampling (max R-hat {g['r_hat_max']:.3f}, min bulk ESS "
            f"{g['ess_bulk_min']:,.0f}, {g['divergences']} divergences), design and "
            "identification."
        )
    else:
        more = len(g["problems"]) - 1
        checks = (
            "The fit FAILED its checks; treat every number as provisional: "
            + (g["problems"][0].rstrip(".") if g["problems"] else "see Fit diagnostics")
            + (f" (and {more} more problems under Fit diagnostics)." if more > 0 else ".")
        )
    return {"recommendations": recs, "risk": risk, "checks": checks, "ok": bool(g["ok"])}


def _headline_table(d: dict[str, Any]) -> Table:
    pct = f"{100 * d['ci']:g}%"
    b = "bayes_optimal.{i}."
    table = _table(
        d,
        "bayes_optimal",
        [
            ("budget (FLOPs)", b + "budget", "num"),
            ("train N", b + "N_bayes", "count"),
            ("on D tokens", b + "D_bayes", "count"),
            (f"N_opt, {pct}", b + "N_opt", "count±"),
            (f"D_opt, {pct}", b + "D_opt", "count±"),
            ("expected loss", b + "expected_loss_bayes", "num"),
        ],
    )
    for i, row in enumerate(table.rows):  # the budget as the user wrote it
        if label := _budget_label(d, i):
            row[0] = [*row[0], _t(f" ({label})")]
    return table


# ------------------------------------------------------------------------------ tables
#: A column: (header, JSON path of its cell with ``{i}`` for the row, format kind). Kinds
#: are :func:`format_value`'s; ``±`` appended: "median [lo, hi]" from ``path``,
#: ``path_lo``, ``path_hi``; ``?`` prefixed: "—" where the value is missing or zero;
#: ``$``: dollars; ``text``: the value as written.
Column = tuple[str, str, str]


def _get(d: dict[str, Any], path: str) -> Any:
    for part in path.split("."):
        d = d[int(part)] if isinstance(d, list) else d[part]
    return d


def _c(d: dict[str, Any], path: str, kind: str = "num") -> Piece:
    return (format_value(_get(d, path), kind), path, kind)


def _t(text: str) -> Piece:
    return (text, None, "text")


def _ci(d: dict[str, Any], path: str, kind: str = "num") -> list[Piece]:
    """A value with its interval, "median [lo, hi]" (``path.median``: ``path.lo/hi``)."""
    lo, hi = (f"{path}_lo", f"{path}_hi")
    if path.endswith(".median"):
        lo, hi = (path.removesuffix("median") + q for q in ("lo", "hi"))
    return [_c(d, path, kind), _t(" ["), _c(d, lo, kind), _t(", "), _c(d, hi, kind), _t("]")]


def _cell(d: dict[str, Any], path: str, kind: str) -> list[Piece]:
    if kind.startswith("?"):
        if not _get(d, path):
            return [_t("—")]
        kind = kind[1:]
    if kind == "text":
        return [_t(str(_get(d, path)))]
    if kind == "$":
        return [_t("$"), _c(d, path)]
    if kind.endswith("±"):
        return _ci(d, path, kind[:-1])
    return [_c(d, path, kind)]


def _table(d: dict[str, Any], rows: str, columns: list[Column]) -> Table:
    """One row per item of the JSON list at ``rows``, one cell per column."""
    n = len(_get(d, rows))
    cells = [[_cell(d, path.format(i=i), kind) for _, path, kind in columns] for i in range(n)]
    return Table([header for header, _, _ in columns], cells)


def _tables(d: dict[str, Any]) -> list[tuple[str, Table, Inline]]:
    """(title, table, note) for every table of the report."""
    pct = f"{100 * d['ci']:g}%"
    b, budget = "bayes_optimal.{i}.", "budgets.{i}."
    cost = d["cost_model"] is not None or any(x["accelerator_hours"] for x in d["budgets"])
    columns = [("budget (FLOPs)", b + "budget", "num"), ("PF-days", budget + "pf_days", "num")]
    if cost:
        columns += [
            ("accelerator-hours", budget + "accelerator_hours", "?num"),
            ("cost", budget + "dollars", "?$"),
        ]
    columns += [
        ("N (Bayes)", b + "N_bayes", "count"),
        (f"N_opt, {pct}", b + "N_opt", "count±"),
        ("D (Bayes)", b + "D_bayes", "count"),
        ("tokens/param", b + "tokens_per_param_bayes", "num"),
        ("expected loss", b + "expected_loss_bayes", "num"),
        ("plug-in N", b + "N_plugin", "count"),
        ("plug-in excess loss", b + "excess_loss_plugin", "num"),
        ("EVPI", b + "evpi", "num"),
    ]
    tables: list[tuple[str, Table, Inline]] = [
        (
            "Recommended allocation",
            _table(d, "bayes_optimal", columns),
            "N (Bayes) minimises the posterior expected loss; N_opt is the posterior of each "
            "draw's own optimum; plug-in N is the optimum of the posterior-median parameters "
            "and its excess is the extra expected loss it costs; EVPI is the expected loss "
            "that knowing the law exactly would save.",
        )
    ]
    if d["plans"]:
        first, p = d["plans"][0], "plans.{i}."
        columns = [
            ("plan", p + "label", "text"),
            ("N", p + "N", "count"),
            ("D", p + "D", "count"),
            ("C (FLOPs)", p + "C", "num"),
            (f"regret, {pct}", p + "regret", "num±"),
            ("expected regret", p + "regret_mean", "num"),
        ]
        columns += [
            (f"P(regret < {e['eps']:g})", f"{p}p_regret_below.{j}.p", "prob")
            for j, e in enumerate(first["p_regret_below"])
        ]
        columns += [
            (f"compute wasted, {pct}", p + "waste", "pct±"),
            ("FLOPs wasted", p + "wasted_flops", "num"),
            (f"P(N within ×{first['within']:g})", p + "p_within", "prob"),
            (f"N_opt, {pct}", p + "N_opt", "count±"),
        ]
        tables.append(
            (
                "Risk of the planned runs",
                _table(d, "plans", columns),
                "Regret is the plan's loss minus the optimal loss at the same budget, per "
                "posterior draw; compute wasted is the share of the budget the optimal "
                "allocation would not need to match the plan's loss.",
            )
        )
    if d["targets"]:
        t = "targets.{i}."
        columns = [
            ("target loss", t + "target", "num"),
            ("P(reachable)", t + "p_reachable", "prob"),
            (f"C (FLOPs), {pct}", t + "C", "num±"),
            ("N at C", t + "N", "count"),
            ("D at C", t + "D", "count"),
        ]
        tables.append(
            (
                "Compute for a target loss",
                _table(d, "targets", columns),
                "Draws that cannot reach the target (at or below their irreducible loss) "
                "count as infinite compute; 'unbounded' marks quantiles that fall among them.",
            )
        )
    if d["data_cap"] is not None:
        r = "data_cap.rows.{i}."
        columns = [
            ("budget (FLOPs)", r + "budget", "num"),
            ("P(cap binds)", r + "p_binds", "prob"),
            (f"N under cap, {pct}", r + "N", "count±"),
            ("D under cap", r + "D", "count"),
            (f"loss cost of cap, {pct}", r + "loss_penalty", "num±"),
            ("N (Bayes, capped)", r + "N_bayes", "count"),
        ]
        bind = [_t("The cap binds above "), *_ci(d, "data_cap.C_bind.median"), _t(" FLOPs.")]
        tables.append(
            (
                f"Data cap: at most {format_count(d['data_cap']['D_max'])} training tokens",
                _table(d, "data_cap.rows", columns),
                bind,
            )
        )
    if d["plan"] is not None:
        r, pl = "plan.runs.{i}.", d["plan"]
        columns = [
            ("N", r + "N", "count"),
            ("D", r + "D", "count"),
            ("C (FLOPs)", r + "C", "num"),
            ("share of spend", r + "share", "pct"),
            ("score added", r + "score", "num"),
        ]
        note = [
            _t(f"The {pl['quantity']} at "),
            _c(d, "plan.target_budget"),
            _t(f" FLOPs, {pct}: now "),
            *_ci(d, "plan.current.median", "count" if pl["criterion"] == "n_opt" else "num"),
            _t("; expected after these runs "),
            *_ci(
                d, "plan.expected_after.median", "count" if pl["criterion"] == "n_opt" else "num"
            ),
            _t(
                f". Runs in the order chosen (greedy, each scored given the ones before it, "
                f"criterion {pl['criterion']}); the score is the reduction of the expected "
                "criterion the run added. Outcomes simulated from the fit's likelihood; "
                f"{pl['n_draws']} draws reweighted over {pl['n_scenarios']} scenarios, median "
                f"effective sample size {pl['ess_median']:.0f}."
            ),
        ]
        tables.append(("What to train next", _table(d, "plan.runs", columns), note))
    rows: list[list[Inline]] = []
    for group in ("parameters", "exponents"):
        for name, v in d["fit"][group].items():
            p = f"fit.{group}.{name}"
            interval = [_t("["), _c(d, f"{p}.lo"), _t(", "), _c(d, f"{p}.hi"), _t("]")]
            if group == "parameters":
                rows.append([name, [_c(d, f"{p}.median")], interval, f"{v['r_hat']:.3f}"])
                rows[-1].append(f"{v['ess_bulk']:.0f}")
            else:
                label = f"{name} ({'N' if name == 'a' else 'D'}_opt ∝ C^{name})"
                rows.append([label, [_c(d, f"{p}.median")], interval, "", ""])
    header = ["parameter", "median", pct, "R-hat", "bulk ESS"]
    tables.append(("Fitted law", Table(header, rows), ""))
    return tables


# ------------------------------------------------------------------------------ rendering
def _blocks(d: dict[str, Any], figures: list[Figure]) -> list[Block]:
    """The whole report as blocks: the answer first, then summary, tables, figures, checks."""
    h = d["headline"]
    answer: list[Block] = [Heading("Answer")]
    if not h["ok"]:  # a failed fit says so before any number
        answer.append(Paragraph([(h["checks"], None, "strong")], "warn checks"))
    answer.append(_headline_table(d))
    answer += [Paragraph([("Risk:", None, "strong"), _t(f" {r}")], "risk") for r in h["risk"]]
    if h["ok"]:
        answer.append(Paragraph([("Checks:", None, "strong"), _t(f" {h['checks']}")], "checks ok"))
    blocks: list[Block] = [
        Heading(d["title"], 1),
        Section(answer, "headline" if h["ok"] else "headline failed", "answer"),
        Heading("Summary"),
        Bullets(
            d["summary"],
            "summary",
            ["warn" if s.startswith("WARNING") else "" for s in d["summary"]],
        ),
    ]
    for title, table, note in _tables(d):
        blocks += [Heading(title), table] + ([Paragraph(note, "note")] if note else [])
    if figures:
        blocks += [Heading("Figures"), *figures]
    g = d["fit"]["diagnostics"]
    diagnostics = (
        f"{'ok' if g['ok'] else 'FAILED'} — max R-hat {g['r_hat_max']:.3f}, min bulk ESS "
        f"{g['ess_bulk_min']:.0f}, min tail ESS {g['ess_tail_min']:.0f}, {g['divergences']} "
        f"divergences, {g['tree_depth_saturated']} draws at max tree depth, min E-BFMI "
        f"{g['bfmi_min']:.2f}."
    )
    blocks += [
        Heading("Fit diagnostics"),
        Paragraph(diagnostics, "" if g["ok"] else "warn"),
        Bullets(g["problems"]),
        Heading("Assumptions"),
        Bullets(d["assumptions"]),
        Paragraph(
            [
                (
                    f"Generated by bayescale {d['bayescale_version']}; the same numbers are in "
                    "report.json.",
                    None,
                    "em",
                )
            ],
            "note",
        ),
    ]
    return blocks


def markdown_report(d: dict[str, Any], figure_files: dict[str, str] | None = None) -> str:
    """The report as Markdown, figures linked as files (``figure_files``: name → path)."""
    figures = [Figure(n, FIGURES[n], file=f) for n, f in (figure_files or {}).items()]
    return render(_blocks(d, figures), "markdown")


def html_report(d: dict[str, Any], figures: dict[str, bytes] | None = None) -> str:
    """The report as one self-contained (X)HTML page, figures embedded as base64 PNG."""
    blocks = _blocks(d, [Figure(n, FIGURES[n], png=p) for n, p in (figures or {}).items()])
    return render(blocks, "html", title=d["title"])


# ------------------------------------------------------------------------------ writing
def write_report(
    result: Any, out: str | os.PathLike[str], *, figures: bool = True, **options: Any
) -> dict[str, Any]:
    """Build the report and write ``report.{md,html,json}`` and ``figures/*.png`` to ``out``.

    Parameters
    ----------
    result : FitResult
        The fit.
    out : path
        Output directory (created).
    figures : bool, default True
        Draw the figures (matplotlib), write them to ``figures/`` and embed them in the HTML.
    **options
        The keywords of :func:`build_report`: ``budgets`` (required), ``plans``,
        ``target_loss``, ``d_max``, ``cost``, ``eps``, ``within``, ``ci``, ``ci_kind``,
        ``title``.

    Returns
    -------
    dict
        The report's JSON content, with ``"files"`` (paths written).
    """
    d = build_report(result, **options)
    os.makedirs(out, exist_ok=True)
    pngs = plotting.report_figures(result, d) if figures else {}
    files = {}
    if pngs:
        os.makedirs(os.path.join(out, "figures"), exist_ok=True)
        for name, png in pngs.items():
            rel = f"figures/{name}.png"
            with atomic_write(os.path.join(out, rel), "wb") as fh:
                fh.write(png)
            files[name] = rel
    d["figures"] = [{"name": n, "caption": FIGURES[n], "file": f} for n, f in files.items()]
    paths = {
        "markdown": os.path.join(out, "report.md"),
        "html": os.path.join(out, "report.html"),
        "json": os.path.join(out, "report.json"),
    }
    # every text is rendered before any file is touched, and each file is moved into place
    # whole: a failure leaves the previous report's files as they were
    texts = {
        "markdown": markdown_report(d, files),
        "html": html_report(d, pngs),
        "json": render(d, "json"),
    }
    for key, text in texts.items():
        with atomic_write(paths[key]) as fh:
            fh.write(text)
    d["files"] = {**paths, **{n: os.path.join(out, f) for n, f in files.items()}}
    return d
