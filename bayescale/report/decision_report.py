"""The decision report: plain-language summary, tables, figures, diagnostics, assumptions.

:func:`build_report` computes every number once, into a JSON-ready dict; Markdown and a
self-contained HTML page (figures, drawn by :func:`bayescale.report.plotting.report_figures`,
embedded as base64 PNG) are one list of blocks built from that dict and rendered by
:func:`bayescale.report.blocks.render`, as is the JSON, so the three files always agree. Every
number in the HTML tables carries its JSON path (``data-path``) and format (``data-fmt``), which
the tests use to check the agreement. The sentences (headline, summary, assumptions) are written
from the same dict by :mod:`bayescale.report.decision_text`.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from bayescale.data.units import (
    Budget,
    CostModel,
    format_count,
    parse_budget_spec,
    parse_cost,
    parse_count,
)
from bayescale.decisions.budget import as_plans
from bayescale.decisions.planning import RunPlan
from bayescale.inference.posterior import check_ci
from bayescale.inference.storage import atomic_write, versions
from bayescale.report import plotting
from bayescale.report.blocks import (
    Block,
    Bullets,
    Figure,
    Heading,
    Inline,
    Paragraph,
    Piece,
    Section,
    Table,
    format_value,
    json_float,
    jsonable,
    render,
)
from bayescale.report.decision_text import (
    assumptions,
    budget_label,
    headline,
    plan_promise,
    summary,
)
from bayescale.report.summaries import sampler_notes

__all__ = [
    "SECTIONS",
    "build_report",
    "format_value",
    "html_report",
    "markdown_report",
    "plan_json",
    "table_json",
    "table_section",
    "write_report",
]

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


def table_json(kind: str, table: Any) -> Any:
    """A decision table as the report's JSON: its records, as ``report.json`` holds them.

    Parameters
    ----------
    kind : {"bayes_optimal", "regret", "compute_for_loss", "data_limited"}
        Which :class:`~bayescale.FitResult` method made ``table``.
    table : pandas.DataFrame
        The table (its ``attrs`` included).

    Returns
    -------
    list of dict or dict
        ``bayes_optimal``: rows with ``tokens_per_param_bayes``; ``regret``: rows with
        ``p_regret_below`` (``[{"eps", "p"}]``) and ``within``; ``compute_for_loss``: rows;
        ``data_limited``: ``{"D_max", "C_bind", "rows"}``.
    """
    if kind == "bayes_optimal":
        bayes = table.assign(tokens_per_param_bayes=table["D_bayes"] / table["N_bayes"])
        # expected_loss_median stays out of report.json, as it always has
        return _rows(bayes, drop=("expected_loss_median",))
    if kind == "regret":
        eps_list = table.attrs["eps"]
        rows = _rows(table, drop=tuple(f"p_regret_below_{e:g}" for e in eps_list))
        for row, (_, r) in zip(rows, table.iterrows(), strict=True):
            row["p_regret_below"] = [
                {"eps": e, "p": float(r[f"p_regret_below_{e:g}"])} for e in eps_list
            ]
            row["within"] = float(table.attrs["within"])
        return rows
    if kind == "compute_for_loss":
        return _rows(table)
    if kind == "data_limited":
        bind = table.attrs["C_bind"]
        return {
            "D_max": float(table["D_max"].iloc[0]),
            "C_bind": {key: json_float(bind[key]) for key in ("median", "lo", "hi")},
            "rows": _rows(table, drop=("D_max",)),  # D_max is stated once
        }
    raise ValueError(f"no report table of kind {kind!r}")


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

    ``plan``: a :class:`~bayescale.decisions.planning.RunPlan`, or a spend (FLOPs, PF-days,
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
    d["bayes_optimal"] = table_json("bayes_optimal", result.bayes_optimal(C, ci, ci_kind))
    d["plans"] = []
    if plan_list:
        reg = result.regret(plan_list, eps=eps, within=within, ci=ci, ci_kind=ci_kind)
        d["plans"] = table_json("regret", reg)
        for row in d["plans"]:
            row["wasted"] = money(row["wasted_flops"])
    d["targets"] = []
    if targets:
        d["targets"] = table_json("compute_for_loss", result.compute_for_loss(targets, ci))
    d["data_cap"] = None
    if d_max is not None:
        d["data_cap"] = table_json("data_limited", result.data_limited(d_max, C, ci, ci_kind))
    d["plan"] = None
    if plan is not None:
        if not isinstance(plan, RunPlan):
            plan = result.plan_runs(target_budget=float(C.max()), spend=plan, ci=ci)
        d["plan"] = plan_json(plan)
    d["extrapolation"] = {
        "data_C_max": float(np.max(result.data.C)),
        "data_N_max": float(np.max(result.data.N)),
        "data_D_max": float(np.max(result.data.D)),
    }
    d["assumptions"] = assumptions(d, specs, cost_model)
    d["summary"] = summary(d)
    d["headline"] = headline(d)
    return jsonable(d)


def plan_json(plan: RunPlan, *, candidates: bool = True) -> dict[str, Any]:
    """A :class:`RunPlan` as the report's ``plan`` JSON (``candidates``: with every candidate)."""
    out = plan.to_dict()
    for row, share in zip(out["runs"], plan.runs["share"], strict=True):
        row["share"] = float(share)
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
        target_runs=[]
        if plan.target_runs is None
        else [{"N": float(r.N), "D": float(r.D)} for r in plan.target_runs.itertuples()],
    )
    if candidates:  # what the plan figure draws
        c = plan.candidates
        out["candidates"] = [
            {"N": float(n), "D": float(dd), "score": json_float(sc), "chosen": bool(ch)}
            for n, dd, sc, ch in zip(c["N"], c["D"], c["score"], c["chosen"], strict=True)
        ]
    return out


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
        if label := budget_label(d, i):
            row[0] = [*row[0], _t(f" ({label})")]
    return table


#: A table of the report: (title, table, note).
TableSection = tuple[str, Table, Inline]


def _allocation_section(d: dict[str, Any]) -> TableSection:
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
    return (
        "Recommended allocation",
        _table(d, "bayes_optimal", columns),
        "N (Bayes) minimises the posterior expected loss; N_opt is the posterior of each "
        "draw's own optimum; plug-in N is the optimum of the posterior-median parameters "
        "and its excess is the extra expected loss it costs; EVPI is the expected loss "
        "that knowing the law exactly would save.",
    )


def _risk_section(d: dict[str, Any]) -> TableSection:
    pct = f"{100 * d['ci']:g}%"
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
    return (
        "Risk of the planned runs",
        _table(d, "plans", columns),
        "Regret is the plan's loss minus the optimal loss at the same budget, per "
        "posterior draw; compute wasted is the share of the budget the optimal "
        "allocation would not need to match the plan's loss.",
    )


def _targets_section(d: dict[str, Any]) -> TableSection:
    pct = f"{100 * d['ci']:g}%"
    t = "targets.{i}."
    columns = [
        ("target loss", t + "target", "num"),
        ("P(reachable)", t + "p_reachable", "prob"),
        (f"C (FLOPs), {pct}", t + "C", "num±"),
        ("N at C", t + "N", "count"),
        ("D at C", t + "D", "count"),
    ]
    return (
        "Compute for a target loss",
        _table(d, "targets", columns),
        "Draws that cannot reach the target (at or below their irreducible loss) "
        "count as infinite compute; 'unbounded' marks quantiles that fall among them.",
    )


def _cap_section(d: dict[str, Any]) -> TableSection:
    pct = f"{100 * d['ci']:g}%"
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
    return (
        f"Data cap: at most {format_count(d['data_cap']['D_max'])} training tokens",
        _table(d, "data_cap.rows", columns),
        bind,
    )


def _plan_section(d: dict[str, Any]) -> TableSection:
    pct = f"{100 * d['ci']:g}%"
    r, pl = "plan.runs.{i}.", d["plan"]
    kind = "count" if pl["criterion"] == "n_opt" else "num"
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
        *_ci(d, "plan.current.median", kind),
        _t("; expected after these runs "),
        *_ci(d, "plan.expected_after.median", kind),
        _t(
            f". Runs in the order chosen (greedy, each scored given the ones before it, "
            f"criterion {pl['criterion']}); the score is the reduction of the expected "
            "criterion the run added. Outcomes simulated from the fit's likelihood; "
            f"{pl['n_draws']} draws reweighted over {pl['n_scenarios']} scenarios, median "
            f"effective sample size {pl['ess_median']:.0f}."
        ),
    ]
    note += [_t(" " + s) for s in plan_promise(pl)]
    return "What to train next", _table(d, "plan.runs", columns), note


def _law_section(d: dict[str, Any]) -> TableSection:
    pct = f"{100 * d['ci']:g}%"
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
    return "Fitted law", Table(header, rows), ""


#: The section of each decision table, by the :class:`~bayescale.FitResult` method that
#: makes it, and the report's JSON key it reads.
SECTIONS = {
    "bayes_optimal": ("bayes_optimal", _allocation_section),
    "regret": ("plans", _risk_section),
    "compute_for_loss": ("targets", _targets_section),
    "data_limited": ("data_cap", _cap_section),
    "plan": ("plan", _plan_section),
}


def table_section(kind: str, d: dict[str, Any]) -> TableSection:
    """The report's (title, table, note) of one decision table, from the report's JSON ``d``.

    ``kind`` is a key of :data:`SECTIONS`; ``d`` needs ``ci``, the table's JSON (as
    :func:`table_json` gives it, or :func:`plan_json` for ``"plan"``) under its key, and for
    ``bayes_optimal`` the ``budgets`` and ``cost_model``.
    """
    if kind not in SECTIONS:
        raise ValueError(f"no report table of kind {kind!r}")
    return SECTIONS[kind][1](d)


def _tables(d: dict[str, Any]) -> list[TableSection]:
    """(title, table, note) for every table of the report."""
    tables = [_allocation_section(d)]
    if d["plans"]:
        tables.append(_risk_section(d))
    if d["targets"]:
        tables.append(_targets_section(d))
    if d["data_cap"] is not None:
        tables.append(_cap_section(d))
    if d["plan"] is not None:
        tables.append(_plan_section(d))
    return [*tables, _law_section(d)]


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
        Bullets([*g["problems"], *sampler_notes(g)]),
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
