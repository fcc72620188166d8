"""Reports: one document model, rendered as the terminal's text, Markdown or HTML.

A report is a list of blocks (:class:`Heading`, :class:`Paragraph`, :class:`Bullets`,
:class:`Table`, :class:`Figure`, :class:`Section`) and :func:`render` writes it in any of
the three formats, so a table, a warning or a list reads the same everywhere. Inline text is
a string or a sequence of pieces ``(text, json_path, kind)``: a piece with a JSON path is a
number of the report's JSON, which the HTML marks with ``data-path`` and ``data-fmt`` (its
format, see :func:`format_value`) so tests can check the page against the JSON; a piece
without one is text, of kind ``"text"``, ``"strong"``, ``"em"`` or ``"code"``.

The fit summaries and the fit's own display are built on this model in
:mod:`bayescale.report.summaries`, from
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

from bayescale.data.units import format_count

__all__ = [
    "PAGE_CSS",
    "Bullets",
    "Figure",
    "Heading",
    "Paragraph",
    "Section",
    "Table",
    "fmt",
    "format_value",
    "json_float",
    "jsonable",
    "render",
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
