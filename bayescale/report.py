"""Text reports of a fit: the terminal table and a Markdown summary.

Numbers come from :class:`~bayescale.FitResult` methods (``to_dict``), so the printed table,
the Markdown and the JSON always agree.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bayescale.posterior import check_ci
from bayescale.units import format_count

__all__ = ["fmt", "markdown_summary", "prediction_text", "predictions", "text_summary"]


def fmt(x: float, digits: int = 3) -> str:
    """Format a number compactly with ``digits`` significant digits: 4.04e+10, 0.347, 2.00."""
    if x != x:  # NaN
        return "nan"
    ax = abs(x)
    if ax != 0 and (ax >= 1e5 or ax < 1e-3):
        return f"{x:.{digits - 1}e}"
    # keep every integer digit of numbers like 4841, and trailing zeros of 2.00
    text = f"{x:#.{max(digits, len(str(int(ax))))}g}"
    return text[:-1] if text.endswith(".") else text


def _tables(d: dict[str, Any]) -> list[tuple[str, list[str], list[list[str]]]]:
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
    alloc = []
    for a in d["allocations"]:
        # pooled fits: one row per group and budget
        row = [f"{a['group']}: {fmt(a['budget'])}" if "group" in a else fmt(a["budget"])]
        for key in ("N_opt", "D_opt", "tokens_per_param", "loss"):
            v = a[key]
            # sizes as people say them (82.1B, 1.17T); the JSON keeps the exact values
            f = format_count if key in ("N_opt", "D_opt") else fmt
            row.append(f"{f(v['median'])} [{f(v['lo'])}, {f(v['hi'])}]")
        alloc.append(row)
    # laws with extra covariates (data-constrained: U_D) allocate at stated values
    at = "".join(f", {k} = {fmt(v)}" for k, v in d.get("allocation_covariates", {}).items())
    tables = [
        (
            f"Parameters (posterior median, {pct} {d['ci_kind'].upper()})",
            ["param", "median", pct, "r_hat", "ess_bulk"],
            params,
        ),
        ("Exponents: N_opt ∝ C^a, D_opt ∝ C^b", ["", "median", pct], exps),
        (
            f"Compute-optimal allocation (C = {d['data']['flops_per_param_token']:g}·N·D{at})",
            ["budget (FLOPs)", "N_opt (params)", "D_opt (tokens)", "tokens/param", "loss"],
            alloc,
        ),
    ]
    return [t for t in tables if t[2]]  # no exponents table for laws without them


_FAILED_BANNER = (
    "WARNING: this fit FAILED its checks (see Diagnostics below); the numbers are not "
    "trustworthy and must not be used for decisions."
)


def _diag_line(d: dict[str, Any]) -> str:
    g = d["diagnostics"]
    status = "ok" if g["ok"] else "FAILED"
    return (
        f"Diagnostics: {status} — max R-hat {g['r_hat_max']:.3f}, min bulk ESS "
        f"{g['ess_bulk_min']:.0f}, {g['divergences']} divergences, "
        f"{g['mean_leapfrog_steps']:.0f} leapfrog steps/draw"
    )


def text_summary(d: dict[str, Any]) -> str:
    """Plain-text tables for the terminal, from :meth:`FitResult.to_dict` output."""
    lines = [
        f"bayescale: {d['n_runs']} runs from {d['data']['source']}, "
        f"{d['likelihood']} likelihood, {d['settings']['chains']} chains × "
        f"{d['settings']['draws']} draws",
        "",
    ]
    if not d["diagnostics"]["ok"]:
        # a failed fit must not read like a result: say so before any number
        lines[0:0] = [_FAILED_BANNER, ""]
    for title, header, rows in _tables(d):
        widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
        lines.append(title)
        lines.append("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
        for r in rows:
            lines.append("  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)))
        lines.append("")
    lines.append(_diag_line(d))
    lines.extend(f"  - {p}" for p in d["diagnostics"]["problems"])
    return "\n".join(lines)


def markdown_summary(d: dict[str, Any]) -> str:
    """The same tables as Markdown, from :meth:`FitResult.to_dict` output."""
    out = [
        "# bayescale fit",
        "",
        f"{d['n_runs']} runs from `{d['data']['source']}`; law L(N, D) = E + A/N^α + B/D^β "
        f"fitted to log loss with a {d['likelihood']} likelihood by NUTS "
        f"({d['settings']['chains']} chains × {d['settings']['draws']} draws, "
        f"seed {d['settings']['seed']}).",
        "",
    ]
    if not d["diagnostics"]["ok"]:
        out[2:2] = [f"**{_FAILED_BANNER}**", ""]
    for title, header, rows in _tables(d):
        out += [f"## {title}", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        out += ["| " + " | ".join(r) + " |" for r in rows]
        out.append("")
    out += ["## Diagnostics", "", _diag_line(d), ""]
    out += [f"- {p}" for p in d["diagnostics"]["problems"]]
    out += ["", "## Priors", ""]
    out += [f"- {k}: {v}" for k, v in d["priors"].items()]
    return "\n".join(out) + "\n"


def _quantiles(x: np.ndarray, ci: float) -> dict[str, float]:
    lo, med, hi = np.quantile(x, [(1 - ci) / 2, 0.5, (1 + ci) / 2], axis=0)
    return {"median": float(med), "lo": float(lo), "hi": float(hi)}


def predictions(result: Any, N: Any, D: Any, *, ci: float = 0.9, seed: int = 0) -> dict[str, Any]:
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

    Returns
    -------
    dict
        ``{"ci", "data_C_max", "predictions": [{"N", "D", "C", "loss", "law_loss",
        "extrapolation"}]}``: ``loss`` (median, lo, hi) is a new run's loss, the law plus
        the fitted run-to-run noise; ``law_loss`` the law's mean loss alone (narrower);
        ``extrapolation`` is C over the largest fitted run's C (above 1: beyond the data).
        Values are exact floats.
    """
    ci = float(check_ci(ci)[0])
    N = np.atleast_1d(np.asarray(N, dtype=np.float64))
    D = np.atleast_1d(np.asarray(D, dtype=np.float64))
    covariates = result._covariates({})  # laws with covariates predict at the data's largest
    new = result.predict(N, D, kind="new_run", seed=seed, **covariates)
    law = result.predict(N, D, kind="law", **covariates)
    k = float(result.data.flops_per_param_token)
    c_max = float(np.max(result.data.C))
    rows = []
    for j, (n, d) in enumerate(zip(N, D, strict=True)):
        C = k * float(n) * float(d)
        rows.append(
            {
                "N": float(n),
                "D": float(d),
                "C": C,
                "loss": _quantiles(new[:, j], ci),
                "law_loss": _quantiles(law[:, j], ci),
                "extrapolation": C / c_max,
            }
        )
    return {"ci": ci, "data_C_max": c_max, "predictions": rows}


def prediction_text(d: dict[str, Any]) -> str:
    """The terminal table of :func:`predictions` output."""
    pct = f"{100 * d['ci']:g}%"
    header = ["N", "D", "C (FLOPs)", f"new run's loss, {pct}", f"law's mean loss, {pct}"]
    header.append("C / largest run")
    rows = []
    for p in d["predictions"]:
        cells = [format_count(p["N"]), format_count(p["D"]), fmt(p["C"])]
        for key in ("loss", "law_loss"):
            v = p[key]
            cells.append(f"{fmt(v['median'], 4)} [{fmt(v['lo'], 4)}, {fmt(v['hi'], 4)}]")
        x = p["extrapolation"]
        cells.append(f"{x:,.0f}×" if x >= 10 else f"{x:.2g}×")
        rows.append(cells)
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    lines.append(
        "new run's loss: where one training run at that size would land (the law plus the "
        "fitted run-to-run noise); law's mean loss: the fitted law alone."
    )
    if any(p["extrapolation"] > 1 for p in d["predictions"]):
        lines.append(
            f"C / largest run above 1× extrapolates beyond the fitted runs (largest "
            f"{fmt(d['data_C_max'])} FLOPs); the intervals assume the law keeps holding."
        )
    return "\n".join(lines)
