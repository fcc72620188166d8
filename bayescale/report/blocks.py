"""Reports: one document model, rendered as the terminal's text, Markdown or HTML.

A report is a list of blocks (:class:`Heading`, :class:`Paragraph`, :class:`Bullets`,
:class:`Table`, :class:`Figure`, :class:`Section`) and :func:`render` writes it in any of
the three formats, so a table, a warning or a list reads the same everywhere. Inline text is
a string or a sequence of pieces ``(text, json_path, kind)``: a piece with a JSON path is a
number of the report's JSON, which the HTML marks with ``data-path`` and ``data-fmt`` (its
format, see :func:`format_value`) so tests can check the page against the JSON; a piece
without one is text, of kind ``"text"``, ``"strong"``, ``"em"`` or ``"code"``.

The fit summaries (:func:`text_summary`, :func:`markdown_summary`) and the fit's own display
(:func:`fit_overview`, what ``FitResult`` shows at the prompt and in Jupyter) are built here from
:meth:`~bayescale.FitResult.to_dict` output, so the printed table, the Markdown and the JSON always
agree; :mod:`bayescale.report.decision_report` builds the decision report on the same model.
"""

from __future__ import annotations

import base64
import html
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from bayescale.checks.drift_update import describe_update
from bayescale.data.units import format_count
from bayescale.data.validation import check_points
from bayescale.inference.posterior import check_ci
from bayescale.laws import LAWS

__all__ = [
    "ALLOCATION_KINDS",
    "PAGE_CSS",
    "Bullets",
    "Figure",
    "Heading",
    "Paragraph",
    "Section",
    "Table",
    "allocation_rows",
    "allocation_table",
    "allocation_title",
    "fit_overview",
    "fmt",
    "format_value",
    "json_float",
    "jsonable",
    "law_formula",
    "markdown_summary",
    "prediction_text",
    "predictions",
    "render",
    "text_summary",
]

#: One piece of inline text: (text, JSON path or None, format kind or text style).
Piece = tuple[str, str | None, str]
#: Inline text: a plain string or pieces.
Inline = str | Sequence[Piece]


# ------------------------------------------------------------------------------ numbers
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


def json_float(x: Any) -> float | None:
    """JSON-safe float: NaN and ±inf become None (JSON has neither)."""
    v = float(x)
    return v if math.isfinite(v) else None


def jsonable(x: Any) -> Any:
    """Plain JSON types throughout (NumPy scalars too); non-finite floats become None."""
    if isinstance(x, dict):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [jsonable(v) for v in x]
    if isinstance(x, bool | np.bool_):
        return bool(x)
    if isinstance(x, int | np.integer):
        return int(x)
    if isinstance(x, float | np.floating):
        return json_float(x)
    return x


def format_value(x: float | None, kind: str = "num") -> str:
    """Format a report number: ``num`` (3 significant digits), ``pct``, ``prob``, ``count``.

    ``times`` is how far beyond the data a budget or point lies, as a multiple of the largest
    fitted run's compute (``45×``, ``6.5×``). ``None`` (not finite in the JSON) reads
    ``unbounded``.
    """
    if x is None:
        return "unbounded"
    if kind == "times":
        return f"{x:,.0f}×" if x >= 10 else f"{x:.2g}×"
    if kind == "pct":  # one decimal near 0% and 100%, where whole percents would mislead
        return f"{100 * x:.1f}%" if abs(x) < 0.1 or abs(x) > 0.9 else f"{100 * x:.0f}%"
    if kind == "prob":
        # never round a possibility to certainty, or a rare event to impossibility
        if 0 < x < 0.005:
            return "<1%"
        if 0.995 <= x < 1:
            return ">99%"
        return f"{100 * x:.0f}%"
    if kind == "count":
        return format_count(x)
    return fmt(x)


# ------------------------------------------------------------------------------ blocks
@dataclass(frozen=True)
class Heading:
    """A heading; ``level`` 1 is the title."""

    text: str
    level: int = 2


@dataclass(frozen=True)
class Paragraph:
    """A paragraph; ``cls`` is its HTML class (``warn`` and ``note`` are styled)."""

    text: Inline
    cls: str = ""


@dataclass(frozen=True)
class Bullets:
    """A bullet list; ``item_cls`` gives each item an HTML class (by position)."""

    items: Sequence[Inline]
    cls: str = ""
    item_cls: Sequence[str] = ()


@dataclass(frozen=True)
class Table:
    """A table of inline cells under a header of strings."""

    header: Sequence[str]
    rows: Sequence[Sequence[Inline]]


@dataclass(frozen=True)
class Figure:
    """A figure: linked as ``file`` in text and Markdown, embedded from ``png`` in HTML."""

    name: str
    caption: str
    file: str | None = None
    png: bytes | None = None


@dataclass(frozen=True)
class Section:
    """Blocks kept together: an HTML ``<section>`` (the Answer box); inline elsewhere."""

    blocks: Sequence[Block]
    cls: str = ""
    id: str = ""


Block = Heading | Paragraph | Bullets | Table | Figure | Section


# ------------------------------------------------------------------------------ rendering
#: The HTML page's stylesheet: tables, the ``warn`` and ``note`` classes, the Answer box.
PAGE_CSS = """
body { font-family: system-ui, -apple-system, 'Segoe UI', sans-serif; max-width: 72rem;
       margin: 2rem auto; padding: 0 1rem; color: #222; line-height: 1.45; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.2rem; margin-top: 2rem; }
table { border-collapse: collapse; font-size: 0.9rem; margin: 0.5rem 0; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.5rem; text-align: right; }
th { background: #f3f3f3; } td:first-child { text-align: left; }
.summary li { margin-bottom: 0.4rem; } .note { color: #555; font-size: 0.85rem; }
.warn { color: #a00; font-weight: bold; }
figure { margin: 1rem 0; } figcaption { color: #555; font-size: 0.85rem; }
img { max-width: 100%; height: auto; }
.headline { border: 2px solid #2a7a3b; background: #f2faf4; border-radius: 6px;
            padding: 0.2rem 1.2rem 0.8rem; margin: 1rem 0 2rem; }
.headline h2 { margin-top: 0.8rem; } .headline table { font-size: 1rem; background: #fff; }
.headline.failed { border-color: #a00; background: #fdf2f2; }
.headline .risk, .headline .checks { margin: 0.5rem 0; } .checks.ok { color: #1d5e2c; }
"""


def render(
    blocks: Sequence[Block] | dict[str, Any],
    format: Literal["text", "markdown", "html", "json"],
    *,
    title: str | None = None,
    css: str = PAGE_CSS,
) -> str:
    """Render a report as plain text, Markdown, HTML or JSON.

    Parameters
    ----------
    blocks : sequence of Block, or dict
        The document: blocks, or for ``json`` the report's dict itself.
    format : {"text", "markdown", "html", "json"}
        ``text``: the terminal's lines, tables in aligned columns, no final newline.
        ``markdown``: blocks separated by blank lines, ``|`` escaped in table cells.
        ``html``: escaped (X)HTML; with ``title``, a whole self-contained page.
        ``json``: strict JSON (non-finite numbers as ``null``), indented.
    title : str, optional
        HTML only: the page's ``<title>``; without it the body's elements alone.
    css : str, default PAGE_CSS
        HTML page only: the stylesheet, inlined.

    Returns
    -------
    str
        The rendered document (Markdown, HTML and JSON end in a newline).
    """
    if format == "json":
        return json.dumps(jsonable(blocks), indent=2, allow_nan=False) + "\n"
    if isinstance(blocks, dict):
        raise TypeError(f"a dict renders only as JSON, not as {format!r}")
    if format == "text":
        out = ""
        prev: Block | None = None
        for block in _flat(blocks):
            if text := _text(block):
                # a heading sits on its table, a list under its paragraph, as on a terminal
                glue = "\n" if isinstance(prev, Heading) or isinstance(block, Bullets) else "\n\n"
                out += (glue if prev is not None else "") + text
                prev = block
        return out
    if format == "markdown":
        return "\n\n".join(t for t in map(_markdown, _flat(blocks)) if t) + "\n"
    if format == "html":
        body = "\n".join(t for t in map(_html, blocks) if t)
        if title is None:
            return body + "\n"
        head = f'<meta charset="utf-8" />\n<title>{html.escape(title)}</title>'
        head += f"\n<style>{css}</style>" if css else ""
        return (
            f'<!DOCTYPE html>\n<html lang="en">\n<head>\n{head}\n</head>\n<body>\n{body}\n'
            "</body>\n</html>\n"
        )
    raise ValueError(f"format must be 'text', 'markdown', 'html' or 'json', got {format!r}")


def _flat(blocks: Sequence[Block]) -> list[Block]:
    out: list[Block] = []
    for b in blocks:
        out += _flat(b.blocks) if isinstance(b, Section) else [b]
    return out


def _pieces(text: Inline) -> Sequence[Piece]:
    return [(text, None, "text")] if isinstance(text, str) else text


def _plain(text: Inline) -> str:
    return "".join(p[0] for p in _pieces(text))


_MD_MARK = {"strong": "**", "em": "*", "code": "`"}


def _md_inline(text: Inline) -> str:
    out = ""
    for t, path, kind in _pieces(text):
        mark = "" if path is not None else _MD_MARK.get(kind, "")
        out += f"{mark}{t}{mark}"
    return out


def _html_inline(text: Inline) -> str:
    out = ""
    for t, path, kind in _pieces(text):
        e = html.escape(t)
        if path is not None:
            out += (
                f'<span data-path="{html.escape(path)}" data-fmt="{html.escape(kind)}">{e}</span>'
            )
        elif kind in ("strong", "em", "code"):
            out += f"<{kind}>{e}</{kind}>"
        else:
            out += e
    return out


def _attrs(cls: str, id: str = "") -> str:
    return (f' class="{html.escape(cls)}"' if cls else "") + (
        f' id="{html.escape(id)}"' if id else ""
    )


def _text(b: Block) -> str:
    if isinstance(b, Heading):
        return b.text
    if isinstance(b, Paragraph):
        return _plain(b.text)
    if isinstance(b, Bullets):
        return "\n".join(f"  - {_plain(i)}" for i in b.items)
    if isinstance(b, Table):
        cells = [list(b.header), *([_plain(c) for c in r] for r in b.rows)]
        widths = [max(len(r[i]) for r in cells) for i in range(len(b.header))]
        lines = ("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in cells)
        return "\n".join(line.rstrip() for line in lines)
    if isinstance(b, Figure):
        return f"{b.caption} ({b.file})" if b.file else ""
    raise TypeError(f"not a report block: {b!r}")


def _markdown(b: Block) -> str:
    if isinstance(b, Heading):
        return f"{'#' * b.level} {b.text}"
    if isinstance(b, Paragraph):
        return _md_inline(b.text)
    if isinstance(b, Bullets):
        return "\n".join(f"- {_md_inline(i)}" for i in b.items)
    if isinstance(b, Table):

        def row(cells: Sequence[Inline]) -> str:
            return "| " + " | ".join(_md_inline(c).replace("|", "\\|") for c in cells) + " |"

        lines = [row(b.header), "|" + "---|" * len(b.header), *map(row, b.rows)]
        return "\n".join(lines)
    if isinstance(b, Figure):
        return f"![{b.caption}]({b.file})\n\n*{b.caption}*" if b.file else ""
    raise TypeError(f"not a report block: {b!r}")


def _html(b: Block) -> str:
    if isinstance(b, Heading):
        return f"<h{b.level}>{html.escape(b.text)}</h{b.level}>"
    if isinstance(b, Paragraph):
        return f"<p{_attrs(b.cls)}>{_html_inline(b.text)}</p>"
    if isinstance(b, Bullets):
        if not b.items:
            return ""
        cls = list(b.item_cls) + [""] * (len(b.items) - len(b.item_cls))
        items = (
            f"<li{_attrs(c)}>{_html_inline(i)}</li>" for i, c in zip(b.items, cls, strict=True)
        )
        return f"<ul{_attrs(b.cls)}>\n" + "\n".join(items) + "\n</ul>"
    if isinstance(b, Table):
        head = "".join(f"<th>{html.escape(h)}</th>" for h in b.header)
        rows = (
            "<tr>" + "".join(f"<td>{_html_inline(c)}</td>" for c in r) + "</tr>" for r in b.rows
        )
        return (
            f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n"
            + "\n".join(rows)
            + "\n</tbody>\n</table>"
        )
    if isinstance(b, Figure):
        if b.png is None:
            return ""
        cap = html.escape(b.caption)
        src = "data:image/png;base64," + base64.b64encode(b.png).decode("ascii")
        return (
            f'<figure id="fig-{html.escape(b.name)}"><img alt="{cap}" src="{src}" />'
            f"<figcaption>{cap}</figcaption></figure>"
        )
    if isinstance(b, Section):
        inner = "\n".join(t for t in map(_html, b.blocks) if t)
        return f"<section{_attrs(b.cls, b.id)}>\n{inner}\n</section>"
    raise TypeError(f"not a report block: {b!r}")


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
