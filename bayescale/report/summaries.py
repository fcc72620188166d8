"""Fit summaries on the report's document model.

What ``bayescale fit`` prints, the Markdown summary, the fit's own display and the
predictions of new runs. Built from :meth:`~bayescale.FitResult.to_dict` output with the blocks of
:mod:`bayescale.report.blocks`, so the printed table, the Markdown, the HTML display
(:func:`fit_overview`, what ``FitResult`` shows at the prompt and in Jupyter) and the JSON
always agree.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bayescale.checks.drift_update import describe_reach, describe_update
from bayescale.data.units import format_count
from bayescale.data.validation import check_points
from bayescale.inference.posterior import check_ci
from bayescale.laws import LAWS
from bayescale.report.blocks import (
    Block,
    Bullets,
    Heading,
    Inline,
    Paragraph,
    Piece,
    Section,
    Table,
    fmt,
    format_value,
    render,
)

__all__ = [
    "ALLOCATION_KINDS",
    "allocation_rows",
    "allocation_table",
    "allocation_title",
    "fit_overview",
    "law_formula",
    "markdown_summary",
    "prediction_text",
    "predictions",
    "text_summary",
]


# ------------------------------------------------------------------------------ fit summary
_FAILED_BANNER = (
    "WARNING: this fit FAILED its checks (see Diagnostics below); the numbers are not "
    "trustworthy and must not be used for decisions."
)


def law_formula(name: str) -> str:
    """The fitted law in words, for reports: ``L(N, D) = E + A/N^α + B/D^β`` for Chinchilla."""
    if name == "chinchilla":
        return "L(N, D) = E + A/N^α + B/D^β"
    law = LAWS.get(name)
    return law.description if law is not None else f"the {name!r} law"


#: The quantities of an allocation, with the format of each: sizes as people say them.
ALLOCATION_KINDS = {"N_opt": "count", "D_opt": "count", "tokens_per_param": "num", "loss": "num"}


def allocation_rows(table: Any) -> list[dict[str, Any]]:
    """An allocation table's rows as the JSON records of :meth:`FitResult.to_dict`.

    Parameters
    ----------
    table : pandas.DataFrame
        :meth:`~bayescale.FitResult.allocation` output.

    Returns
    -------
    list of dict
        ``{"budget", ["group",] "N_opt": {"median", "lo", "hi"}, "D_opt", "tokens_per_param",
        "loss"}`` per row, exact floats.
    """
    out = []
    for _, row in table.iterrows():
        entry: dict[str, Any] = {"budget": float(row["budget"])}
        if "group" in row:
            entry["group"] = str(row["group"])
        for name in ALLOCATION_KINDS:
            entry[name] = {
                "median": float(row[name]),
                "lo": float(row[f"{name}_lo"]),
                "hi": float(row[f"{name}_hi"]),
            }
        out.append(entry)
    return out


def _interval_cell(path: str, v: dict[str, Any], kind: str) -> list[Piece]:
    """The cell ``median [lo, hi]``, each number with its JSON path (``path.median``...)."""
    return [
        (format_value(v["median"], kind), f"{path}.median", kind),
        (" [", None, "text"),
        (format_value(v["lo"], kind), f"{path}.lo", kind),
        (", ", None, "text"),
        (format_value(v["hi"], kind), f"{path}.hi", kind),
        ("]", None, "text"),
    ]


def allocation_title(d: dict[str, Any]) -> str:
    """The allocation table's title: how compute is counted, and covariates' values."""
    # laws with extra covariates (data-constrained: U_D) allocate at stated values
    at = "".join(f", {k} = {fmt(v)}" for k, v in d.get("allocation_covariates", {}).items())
    return f"Compute-optimal allocation (C = {d['data']['flops_per_param_token']:g}·N·D{at})"


def allocation_table(d: dict[str, Any], *, far: bool = False) -> Table:
    """The compute-optimal allocation per budget (per group and budget in a pooled fit).

    Parameters
    ----------
    d : dict
        :meth:`FitResult.to_dict` output, or any dict with its ``allocations`` (and, with
        ``far``, ``extrapolation.budgets_over_C_max``, one ratio per budget).
    far : bool, default False
        Add the column ``C / largest run``: how far beyond the data each budget lies.

    Returns
    -------
    Table
        Every number carries its JSON path in ``d``, so the HTML can be checked against it.
    """
    ratios = d["extrapolation"]["budgets_over_C_max"] if far else []
    header = ["budget (FLOPs)"] + (["C / largest run"] if far else [])
    header += ["N_opt (params)", "D_opt (tokens)", "tokens/param", "loss"]
    rows: list[list[Inline]] = []
    for i, a in enumerate(d["allocations"]):
        p = f"allocations.{i}"
        # pooled fits: one row per group and budget
        budget: list[Piece] = [(format_value(a["budget"]), f"{p}.budget", "num")]
        if "group" in a:
            budget = [(f"{a['group']}: ", None, "text"), *budget]
        row: list[Inline] = [budget]
        if far:  # budgets repeat for each group of a pooled fit
            j = i % len(ratios)
            path = f"extrapolation.budgets_over_C_max.{j}"
            row.append([(format_value(ratios[j], "times"), path, "times")])
        row += [_interval_cell(f"{p}.{k}", a[k], kind) for k, kind in ALLOCATION_KINDS.items()]
        rows.append(row)
    return Table(header, rows)


def _fit_tables(d: dict[str, Any]) -> list[Block]:
    pct = f"{100 * d['ci']:g}%"
    params = [
        [
            name,
            fmt(p["median"], 4),
            f"[{fmt(p['lo'], 4)}, {fmt(p['hi'], 4)}]",
            f"{p['r_hat']:.3f}",
            f"{p['ess_bulk']:.0f}",
        ]
        for name, p in d["parameters"].items()
    ]
    exps = [
        [name, fmt(e["median"]), f"[{fmt(e['lo'])}, {fmt(e['hi'])}]"]
        for name, e in d["exponents"].items()
    ]
    tables = [
        (
            f"Parameters (posterior median, {pct} {d['ci_kind'].upper()})",
            Table(["param", "median", pct, "r_hat", "ess_bulk"], params),
            params,
        ),
        ("Exponents: N_opt ∝ C^a, D_opt ∝ C^b", Table(["", "median", pct], exps), exps),
        (allocation_title(d), allocation_table(d), d["allocations"]),
    ]
    # no exponents table for laws without them
    return [b for title, table, rows in tables if rows for b in (Heading(title), table)]


def _diag_line(d: dict[str, Any]) -> str:
    g = d["diagnostics"]
    status = "ok" if g["ok"] else "FAILED"
    return (
        f"Diagnostics: {status} — max R-hat {g['r_hat_max']:.3f}, min bulk ESS "
        f"{g['ess_bulk_min']:.0f}, {g['divergences']} divergences, "
        f"{g['mean_leapfrog_steps']:.0f} leapfrog steps/draw"
    )


def sampler_notes(g: dict[str, Any]) -> list[str]:
    """The diagnostics' efficiency notes and what the sampler retried, one sentence each.

    ``g`` is a fit's ``diagnostics`` JSON; files and fits from before retries and notes
    existed have neither.
    """
    out = [f"Efficiency: {note}" for note in g.get("notes", [])]
    attempts = g.get("attempts", [])
    if attempts:
        tried = "; ".join(
            f"{', '.join(a['trouble']) or 'no trouble'} with "
            f"{', '.join(f'{k}={v}' for k, v in a['settings'].items()) or 'the same settings'}"
            for a in attempts
        )
        extra = sum(float(a["gradients"]) for a in attempts)
        out.append(
            f"The sampler was retried: {len(attempts) + 1} attempts, this one kept (other "
            f"attempts: {tried}; {extra:.3g} more gradients)."
        )
    return out


def _fit_blocks(d: dict[str, Any], markdown: bool) -> list[Block]:
    s = d["settings"]
    if markdown:
        intro: Inline = [
            (f"{d['n_runs']} runs from ", None, "text"),
            (d["data"]["source"], None, "code"),
            (
                f"; law {law_formula(d.get('law', 'chinchilla'))} fitted to log "
                f"loss with a {d['likelihood']} likelihood by NUTS ({s['chains']} chains × "
                f"{s['draws']} draws, seed {s['seed']}).",
                None,
                "text",
            ),
        ]
    else:
        intro = (
            f"bayescale: {d['n_runs']} runs from {d['data']['source']}, {d['likelihood']} "
            f"likelihood, {s['chains']} chains × {s['draws']} draws"
        )
    # a failed fit must not read like a result: say so before any number
    banner = (
        [] if d["diagnostics"]["ok"] else [Paragraph([(_FAILED_BANNER, None, "strong")], "warn")]
    )
    blocks: list[Block] = [Heading("bayescale fit", 1)] if markdown else []
    blocks += [*banner, Paragraph(intro), *_fit_tables(d)]
    blocks += [Heading("Diagnostics")] if markdown else []
    g = d["diagnostics"]
    blocks += [Paragraph(_diag_line(d)), Bullets([*g["problems"], *sampler_notes(g)])]
    if d.get("extrapolation"):
        blocks += [Heading("Extrapolation")] if markdown else []
        blocks += [Paragraph(extrapolation_line(d["extrapolation"]))]
    if markdown:
        blocks += [Heading("Priors"), Bullets([f"{k}: {v}" for k, v in d["priors"].items()])]
    return blocks


def extrapolation_line(e: dict[str, Any]) -> str:
    """How far the budgets lie beyond the data, the drift used and the check's verdict."""
    ratios = sorted(set(e.get("budgets_over_C_max", [])))
    far = (
        f"The budgets lie {_times(ratios[0])}–{_times(ratios[-1])} the largest run's compute "
        f"({e['data_C_max']:.3g} FLOPs). "
        if len(ratios) > 1
        else (
            f"The budget lies {_times(ratios[0])} the largest run's compute "
            f"({e['data_C_max']:.3g} FLOPs). "
            if ratios
            else ""
        )
    )
    drift = (
        f"Intervals beyond the data include the law's drift (drift={e['drift']:g}, calibrated "
        "on public sweeps). "
        if e["drift"] > 0
        else "drift=0: intervals beyond the data trust the law's form (no drift). "
    )
    c = e.get("check")
    if c is None:
        check = "Extrapolation check: not run."
    else:
        inside = round(c["coverage"] * c["n_test"])
        check = (
            f"Extrapolation check ({c['method']}): predicted from the {c['n_train']} smaller "
            f"runs, {inside} of the {c['n_test']} largest fell inside their 90% intervals "
            f"(errors {c['excess']:.2g}x the half-width): "
            + ("ok." if c["ok"] else "they missed by more than the population's drift allows.")
        )
        u = c.get("drift_update")
        if u:
            check += " " + describe_update(u)
        r = c.get("reach_update")
        if r:
            check += " " + describe_reach(r)
    return far + drift + check


def _times(r: float) -> str:
    # as the tables' "C / largest run" column writes it
    return format_value(r, "times") + ("" if r >= 1 else " (inside)")


def text_summary(d: dict[str, Any]) -> str:
    """Plain-text tables for the terminal, from :meth:`FitResult.to_dict` output."""
    return render(_fit_blocks(d, markdown=False), "text")


def markdown_summary(d: dict[str, Any]) -> str:
    """The same tables as Markdown, from :meth:`FitResult.to_dict` output."""
    return render(_fit_blocks(d, markdown=True), "markdown")


def fit_overview(d: dict[str, Any], title: str) -> list[Block]:
    """A fit in brief, the answer first: what :class:`~bayescale.FitResult` shows itself as.

    The words and numbers of :func:`text_summary` (the same tables and sentences), in the
    order a reader needs them: the allocation per budget with how far beyond the data each
    budget lies, then the checks (sampling diagnostics, their problems and notes, the
    extrapolation check's verdict and its update of the drift).

    Parameters
    ----------
    d : dict
        :meth:`FitResult.to_dict` output.
    title : str
        The first line: what the object is.

    Returns
    -------
    list of Block
        The answer and the checks as :class:`Section` blocks (boxes in HTML).
    """
    g = d["diagnostics"]
    kind = f"{100 * d['ci']:g}% {d['ci_kind'].upper()}"
    # a failed fit must not read like a result: say so before any number
    banner = [] if g["ok"] else [Paragraph([(_FAILED_BANNER, None, "strong")], "warn")]
    heading = Heading(f"Answer: {allocation_title(d)}, median [{kind}]", 3)
    answer = Section(
        [heading, allocation_table(d, far=True)], "headline" if g["ok"] else "headline failed"
    )
    checks: list[Block] = [
        Heading("Checks", 3),
        Paragraph(_diag_line(d), "" if g["ok"] else "warn"),
        Bullets([*g["problems"], *sampler_notes(g)]),
    ]
    if d.get("extrapolation"):
        checks.append(Paragraph(extrapolation_line(d["extrapolation"])))
    return [Paragraph([(title, None, "strong")]), *banner, answer, Section(checks, "checks")]


def _quantiles(x: np.ndarray, ci: float) -> dict[str, float]:
    lo, med, hi = np.quantile(x, [(1 - ci) / 2, 0.5, (1 + ci) / 2], axis=0)
    return {"median": float(med), "lo": float(lo), "hi": float(hi)}


def predictions(
    result: Any,
    N: Any,
    D: Any,
    *,
    ci: float = 0.9,
    seed: int = 0,
    group: str | None = None,
    covariates: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Posterior predictions at new (N, D) points, as ``bayescale predict`` reports them.

    Parameters
    ----------
    result : FitResult
        The fit.
    N, D : array-like
        Parameters and tokens of the new runs (one point or many).
    ci : float, default 0.9
        Mass of the equal-tailed intervals.
    seed : int, default 0
        Seed of the new-run noise draws (:meth:`FitResult.predict` with ``kind="new_run"``).
    group : str, optional
        The group to predict for; required by a pooled fit.
    covariates : dict, optional
        The law's extra inputs by name (data-constrained: ``U_D``), one value or one per
        point; a covariate not given is the data's largest value.

    Returns
    -------
    dict
        ``{"ci", "data_C_max", "drift", ["group",] "predictions": [{"N", "D", [covariates,]
        "C", "loss", "law_loss", "extrapolation"}]}``: ``loss`` (median, lo, hi) is a new
        run's loss, the law plus the fitted run-to-run noise (wider beyond the data);
        ``law_loss`` the law's mean loss alone (narrower); ``extrapolation`` is C over the
        largest fitted run's C (above 1: beyond the data). A law's covariates are stated
        per point (``"U_D"``), as used.
        Values are exact floats.

    Raises
    ------
    ValueError
        Bad points, a covariate the law does not take, or one whose values are not one per
        point.
    """
    ci = float(check_ci(ci)[0])
    N, D = check_points(N, D)
    given = {k: np.asarray(v, dtype=np.float64) for k, v in (covariates or {}).items()}
    for name, v in given.items():
        if v.ndim > 1 or (v.ndim == 1 and len(v) != len(N)):
            raise ValueError(f"{name} needs one value or one per point ({len(N)}), got {v.shape}")
    covs = result._covariates(given)  # a covariate not given: the data's largest
    new = result.predict(N, D, kind="new_run", seed=seed, group=group, **covs)
    law = result.predict(N, D, kind="law", group=group, **covs)
    per_point = {c: np.broadcast_to(np.asarray(v, np.float64), N.shape) for c, v in covs.items()}
    k = float(result.data.flops_per_param_token)
    c_max = float(np.max(result.data.C))
    rows = []
    for j, (n, d) in enumerate(zip(N, D, strict=True)):
        C = k * float(n) * float(d)
        row: dict[str, Any] = {"N": float(n), "D": float(d)}
        row.update({name: float(v[j]) for name, v in per_point.items()})
        row.update(
            {
                "C": C,
                "loss": _quantiles(new[:, j], ci),
                "law_loss": _quantiles(law[:, j], ci),
                "extrapolation": C / c_max,
            }
        )
        rows.append(row)
    drift = float(result.settings.drift)
    out: dict[str, Any] = {"ci": ci, "data_C_max": c_max, "drift": drift}
    if group is not None:
        out["group"] = str(group)
    out["predictions"] = rows
    return out


def prediction_text(d: dict[str, Any]) -> str:
    """The terminal table of :func:`predictions` output."""
    pct = f"{100 * d['ci']:g}%"
    fixed = {"N", "D", "C", "loss", "law_loss", "extrapolation"}
    # a law's covariates (U_D) after D, in the order the points state them
    extra = [k for k in (d["predictions"][0] if d["predictions"] else {}) if k not in fixed]
    header = ["N", "D", *extra, "C (FLOPs)", f"new run's loss, {pct}", f"law's mean loss, {pct}"]
    header.append("C / largest run")
    rows = []
    for p in d["predictions"]:
        cells = [format_count(p["N"]), format_count(p["D"])]
        cells += [format_count(p[k]) for k in extra]
        cells.append(fmt(p["C"]))
        for key in ("loss", "law_loss"):
            v = p[key]
            cells.append(f"{fmt(v['median'], 4)} [{fmt(v['lo'], 4)}, {fmt(v['hi'], 4)}]")
        cells.append(format_value(p["extrapolation"], "times"))
        rows.append(cells)
    lines = [f"For group {d['group']!r} of the pooled fit:"] if "group" in d else []
    lines += [render([Table(header, rows)], "text")]
    lines.append(
        "new run's loss: where one training run at that size would land (the law plus the "
        "fitted run-to-run noise, wider beyond the data); law's mean loss: the fitted law "
        "with its uncertainty."
    )
    if any(p["extrapolation"] > 1 for p in d["predictions"]):
        trust = (
            "the intervals include the law's drift beyond the data and a new run's extra "
            f"scatter there (drift={d['drift']:g}, calibrated on public sweeps)"
            if d.get("drift", 0) > 0
            else "drift=0: the intervals assume the law's form keeps holding"
        )
        lines.append(
            f"C / largest run above 1× extrapolates beyond the fitted runs (largest "
            f"{fmt(d['data_C_max'])} FLOPs); {trust}."
        )
    return "\n".join(lines)
