"""The decision report: well-formed self-contained HTML whose numbers are the JSON's."""

import base64
import json
import xml.etree.ElementTree as ET

import matplotlib

matplotlib.use("Agg")

import pytest
from _synthetic import synthetic_result

from bayescale.report.decision_report import format_value

BUDGETS = [1e22, "5000pf-days", "2048xH100:30d@40%,$2.5/h"]


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    result = synthetic_result(S=64, seed=30)
    d = result.report(
        out,
        budgets=BUDGETS,
        plans=["70B/1.4T", "20B@5.76e23"],
        target_loss=[2.0, 1.5],
        d_max="1T",
        cost="H100@40%,$2.5/h",
    )
    return out, d


def resolve(d, path):
    for part in path.split("."):
        d = d[int(part)] if isinstance(d, list) else d[part]
    return d


def parse_html(path):
    # strict XML parser: fails on any unclosed tag, bad nesting or bare '&'
    return ET.fromstring(path.read_text(encoding="utf-8"))


def test_files_written_and_json_is_strict(report):
    out, d = report
    for name in ("report.md", "report.html", "report.json"):
        assert (out / name).stat().st_size > 1000
    text = (out / "report.json").read_text()

    def no_constants(name):
        raise AssertionError(f"non-standard JSON constant {name}")

    loaded = json.loads(text, parse_constant=no_constants)
    assert loaded["summary"] == d["summary"]
    assert {f["name"] for f in loaded["figures"]} == {
        "frontier", "tokens_per_param", "isoflops", "data", "regret", "residuals", "pair"
    }  # fmt: skip
    for f in loaded["figures"]:
        assert (out / f["file"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_html_is_well_formed_and_embeds_its_images(report):
    out, d = report
    root = parse_html(out / "report.html")
    imgs = root.findall(".//img")
    assert len(imgs) == len(d["figures"]) == 7
    for img in imgs:
        src = img.get("src")
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:4] == b"\x89PNG"
    # self-contained: nothing fetched from elsewhere
    for el in root.iter():
        for attr in ("src", "href"):
            assert not (el.get(attr) or "data:").startswith(("http", "/", "file")), el.attrib


def test_html_numbers_match_json(report):
    out, d = report
    root = parse_html(out / "report.html")
    cells = [el for el in root.iter() if el.get("data-path")]
    assert len(cells) > 60
    paths = {el.get("data-path") for el in cells}
    for required in (
        "bayes_optimal.2.N_bayes",
        "plans.0.regret",
        "plans.0.waste_hi",
        "plans.1.p_within",
        "targets.1.p_reachable",
        "data_cap.C_bind.median",
        "fit.parameters.alpha.median",
        "budgets.2.dollars",
    ):
        assert required in paths
    for el in cells:
        value = resolve(d, el.get("data-path"))
        assert el.text == format_value(value, el.get("data-fmt")), el.get("data-path")
    # the summary is the JSON's, sentence for sentence
    items = [li.text for li in root.find(".//ul[@class='summary']")]
    assert items == d["summary"]


def test_markdown_has_tables_figures_and_assumptions(report):
    out, d = report
    md = (out / "report.md").read_text()
    for heading in (
        "## Summary",
        "## Recommended allocation",
        "## Risk of the planned runs",
        "## Compute for a target loss",
        "## Data cap: at most 1.00T training tokens",
        "## Fitted law",
        "## Fit diagnostics",
        "## Assumptions",
    ):
        assert heading in md
    assert "](figures/frontier.png)" in md
    assert "C = 6·N·D" in md and "Priors:" in md and "gaussian" in md
    assert d["summary"][0] in md


def test_failed_diagnostics_warn_and_no_figures(tmp_path):
    result = synthetic_result(S=64, seed=31, ok=False)
    d = result.report(tmp_path, budgets=[1e22, 1e24], figures=False)
    assert d["summary"][-1].startswith("WARNING: sampling diagnostics failed")
    root = parse_html(tmp_path / "report.html")
    assert root.findall(".//img") == []
    assert any(li.get("class") == "warn" for li in root.iter("li"))
    assert not (tmp_path / "figures").exists()
    assert d["plans"] == [] and d["targets"] == [] and d["data_cap"] is None
    # the answer box says so first, in red, and that no plan was assessed
    h = d["headline"]
    assert not h["ok"] and h["checks"].startswith("The fit FAILED its checks")
    box = root.find("body")[1]
    assert box.get("class") == "headline failed"
    assert box.find("p").get("class") == "warn checks"
    assert h["risk"][0].startswith("No planned run was given")


def test_bad_report_input(tmp_path):
    result = synthetic_result(S=64, seed=31)
    with pytest.raises(ValueError, match="cannot read budget 'lots'"):
        result.report(tmp_path, budgets=["lots"], figures=False)
    with pytest.raises(ValueError, match="cannot read plan"):
        result.report(tmp_path, budgets=[1e22], plans=["big"], figures=False)
    with pytest.raises(ValueError, match="cannot read d_max"):
        result.report(tmp_path, budgets=[1e22], d_max="lots", figures=False)


def test_report_leads_with_the_answer(report):
    # what the headline says: tests/report/test_decision_text.py; here, where it stands
    out, d = report
    root = parse_html(out / "report.html")
    body = root.find("body")
    # the answer box comes right after the title, before the summary and the long tables
    assert [el.tag for el in body][:2] == ["h1", "section"]
    box = body[1]
    assert box.get("class") == "headline" and box.find("h2").text == "Answer"
    cells = [el for el in box.iter() if el.get("data-path")]
    assert {"bayes_optimal.0.N_bayes", "bayes_optimal.2.D_opt_hi"} <= {
        el.get("data-path") for el in cells
    }
    for el in cells:
        assert el.text == format_value(resolve(d, el.get("data-path")), el.get("data-fmt"))
    text = "".join(box.itertext())
    assert "Risk:" in text and "Checks:" in text
    md = (out / "report.md").read_text()
    assert md.index("## Answer") < md.index("## Summary") < md.index("## Recommended allocation")
    assert "**Risk:** The planned run 70B/1.4T" in md


def test_sizes_read_as_counts_in_tables(report):
    out, d = report
    root = parse_html(out / "report.html")
    kinds = {el.get("data-path"): el.get("data-fmt") for el in root.iter() if el.get("data-path")}
    for path in ("bayes_optimal.0.N_bayes", "plans.0.N", "plans.0.D", "targets.0.N"):
        assert kinds[path] == "count"
    assert kinds["bayes_optimal.0.budget"] == "num"  # FLOPs stay scientific
    # JSON keeps exact values
    assert d["plans"][0]["N"] == 7e10 and d["plans"][0]["D"] == 1.4e12


def test_failed_write_keeps_the_previous_report(tmp_path, monkeypatch):
    import bayescale.report.decision_report as dr

    result = synthetic_result(S=64, seed=31)
    result.report(tmp_path, budgets=[1e22], figures=False)
    before = {n: (tmp_path / n).read_bytes() for n in ("report.md", "report.html", "report.json")}

    def broken(d, figures=None):
        raise RuntimeError("disk full")

    monkeypatch.setattr(dr, "html_report", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        result.report(tmp_path, budgets=[1e23, 1e24], figures=False)
    after = {n: (tmp_path / n).read_bytes() for n in before}
    assert after == before  # nothing half-written, nothing replaced
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(before)  # no temporary files


def test_json_records_keep_their_keys(report):
    # records take the decision tables' columns: a new column must not change report.json
    _, d = report
    ci = {"", "_lo", "_hi"}
    assert set(d["bayes_optimal"][0]) == {
        "budget", "N_bayes", "D_bayes", "tokens_per_param_bayes", "expected_loss_bayes",
        "N_plugin", "D_plugin", "expected_loss_plugin", "plugin_vs_bayes", "excess_loss_plugin",
        "median_vs_bayes", "excess_loss_median", "expected_loss_oracle", "evpi",
    } | {f"{k}{s}" for k in ("N_opt", "D_opt") for s in ci}  # fmt: skip
    assert set(d["plans"][0]) == {
        "label", "N", "D", "C", "regret_mean", "waste_mean", "wasted_flops", "p_within",
        "loss_plan", "loss_opt", "p_regret_below", "within", "wasted",
    } | {f"{k}{s}" for k in ("regret", "waste", "N_opt") for s in ci}  # fmt: skip
    assert set(d["targets"][0]) == {"target", "p_reachable", "floor"} | {
        f"{k}{s}" for k in "CND" for s in ci
    }
    assert set(d["data_cap"]["rows"][0]) == {
        "budget", "p_binds", "N_bayes", "D_bayes", "expected_loss_bayes"
    } | {f"{k}{s}" for k in ("N", "D", "loss", "loss_penalty") for s in ci}  # fmt: skip
