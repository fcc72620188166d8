"""The report renderer: every block in text, Markdown and HTML."""

import json
import math
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from bayescale.report.blocks import (
    Bullets,
    Figure,
    Heading,
    Paragraph,
    Section,
    Table,
    fmt,
    format_value,
    jsonable,
    render,
)

NUMBER = [("3.34B", "rows.0.N", "count")]
TABLE = Table(["name", "value"], [["a", "1"], ["longer name", NUMBER]])


def test_heading_and_paragraph():
    blocks = [Heading("Title", 1), Heading("Part"), Paragraph("Some text.")]
    assert render(blocks, "text") == "Title\nPart\nSome text."
    assert render(blocks, "markdown") == "# Title\n\n## Part\n\nSome text.\n"
    assert render(blocks, "html") == "<h1>Title</h1>\n<h2>Part</h2>\n<p>Some text.</p>\n"


def test_inline_styles_and_json_paths():
    text = [("bold", None, "strong"), (" ", None, "text"), ("src", None, "code"), *NUMBER]
    p = Paragraph(text, "warn")
    assert render([p], "text") == "bold src3.34B"
    assert render([p], "markdown") == "**bold** `src`3.34B\n"
    assert render([p], "html") == (
        '<p class="warn"><strong>bold</strong> <code>src</code>'
        '<span data-path="rows.0.N" data-fmt="count">3.34B</span></p>\n'
    )


def test_bullets():
    b = Bullets(["one", "WARNING: two"], "summary", ["", "warn"])
    assert render([Paragraph("Intro"), b], "text") == "Intro\n  - one\n  - WARNING: two"
    assert render([b], "markdown") == "- one\n- WARNING: two\n"
    assert render([b], "html") == (
        '<ul class="summary">\n<li>one</li>\n<li class="warn">WARNING: two</li>\n</ul>\n'
    )
    # an empty list renders as nothing, in every format
    empty = [Paragraph("x"), Bullets([]), Paragraph("y")]
    assert render(empty, "text") == "x\n\ny"
    assert render(empty, "markdown") == "x\n\ny\n"
    assert render(empty, "html") == "<p>x</p>\n<p>y</p>\n"


def test_table_text_columns_align():
    lines = render([Heading("T"), TABLE], "text").split("\n")
    assert lines == ["T", "name         value", "a            1", "longer name  3.34B"]
    assert all(line == line.rstrip() for line in lines)  # no trailing spaces


def test_table_markdown_escapes_pipes():
    t = Table(["a|b", "c"], [["x | y", "2"]])
    assert render([t], "markdown") == "| a\\|b | c |\n|---|---|\n| x \\| y | 2 |\n"
    assert render([TABLE], "markdown").splitlines()[-1] == "| longer name | 3.34B |"


def test_table_html_escapes_and_keeps_paths():
    t = Table(["<h>"], [["a & <b>"], [NUMBER]])
    out = render([t], "html")
    assert "<th>&lt;h&gt;</th>" in out and "<td>a &amp; &lt;b&gt;</td>" in out
    root = ET.fromstring(out)
    (span,) = root.iter("span")
    assert span.get("data-path") == "rows.0.N" and span.get("data-fmt") == "count"
    assert span.text == "3.34B"


def test_figure():
    fig = Figure("frontier", "N against C.", file="figures/frontier.png", png=b"\x89PNG")
    assert render([fig], "markdown") == "![N against C.](figures/frontier.png)\n\n*N against C.*\n"
    out = render([fig], "html")
    assert out.startswith('<figure id="fig-frontier"><img alt="N against C." ')
    assert 'src="data:image/png;base64,iVBORw==" />' in out
    # without its file (Markdown) or bytes (HTML) a figure is left out
    assert render([Figure("x", "c", png=b"1")], "markdown") == "\n"
    assert render([Figure("x", "c", file="x.png")], "html") == "\n"


def test_section_is_a_box_in_html_only():
    s = Section([Heading("Answer"), Paragraph("Do this.")], "headline failed", "answer")
    assert render([s], "text") == "Answer\nDo this."
    assert render([s], "markdown") == "## Answer\n\nDo this.\n"
    assert render([s], "html") == (
        '<section class="headline failed" id="answer">\n<h2>Answer</h2>\n<p>Do this.</p>\n'
        "</section>\n"
    )


def test_html_page_is_well_formed_xml():
    page = render([Heading("A & B", 1), TABLE], "html", title="A & B")
    assert page.startswith("<!DOCTYPE html>\n") and page.endswith("</html>\n")
    root = ET.fromstring(page.split("\n", 1)[1])  # strict: fails on bad nesting or a bare &
    assert root.find("head/title").text == "A & B"
    assert ".headline" in root.find("head/style").text
    assert [el.tag for el in root.find("body")] == ["h1", "table"]


def test_json_is_strict():
    d = {"a": np.float64(1.5), "b": [np.int64(2), math.inf], "c": np.bool_(True), "d": "x"}
    assert jsonable(d) == {"a": 1.5, "b": [2, None], "c": True, "d": "x"}
    assert json.loads(render(d, "json")) == {"a": 1.5, "b": [2, None], "c": True, "d": "x"}
    with pytest.raises(TypeError, match="only as JSON"):
        render(d, "html")
    with pytest.raises(ValueError, match="format must be"):
        render([], "pdf")


def test_numbers():
    assert fmt(4.04e10) == "4.04e+10" and fmt(0.3471) == "0.347" and fmt(2.0) == "2.00"
    assert fmt(4841.2) == "4841" and fmt(float("nan")) == "nan"
    assert format_value(None) == "unbounded" and format_value(0.5, "pct") == "50%"
    assert format_value(0.001, "prob") == "<1%" and format_value(0.999, "prob") == ">99%"
    assert format_value(8.21e10, "count") == "82.1B"
    # how far beyond the data, as the fit's display and `bayescale predict` write it
    assert [format_value(x, "times") for x in (0.077, 6.5, 44.2, 3333.3)] == [
        "0.077×", "6.5×", "44×", "3,333×"
    ]  # fmt: skip
