"""How a fit, its decision tables and its run plans show themselves: rendered, parsed, checked.

Each display is parsed as strict XML (any unclosed tag, bad nesting or bare '&' fails), every
number marked with a JSON path is checked against the JSON it came from, and the tables are
checked to be the decision report's own for the same fit.
"""

import dataclasses
import xml.etree.ElementTree as ET

import pandas as pd
import pytest
from _synthetic import synthetic_result

import bayescale
from bayescale.decisions.planning_tables import RunPlan
from bayescale.inference.posterior import Posterior
from bayescale.report.blocks import format_value, render
from bayescale.report.decision_report import build_report, html_report, plan_json
from bayescale.report.decision_text import plan_sentence
from bayescale.report.display import DecisionTable, PlanResult, decision_table
from bayescale.report.summaries import (
    _FAILED_BANNER,
    _diag_line,
    allocation_table,
    extrapolation_line,
    text_summary,
)
from bayescale.result import FitResult

#: An extrapolation check as the fit records it, with the drift update it made.
CHECK = {
    "method": "refit",
    "n_train": 120,
    "n_test": 33,
    "coverage": 0.85,
    "excess": 0.7,
    "ok": True,
    "drift_update": {
        "n_future": 33,
        "level_prior": [0.0, 0.1],
        "level_post": [0.02, 0.05],
        "tilt_prior": [0.0, 0.1],
        "tilt_post": [0.01, 0.06],
        "scale_prior": 1.0,
        "scale_post": 0.6,
    },
}


@pytest.fixture(scope="module")
def fit():
    return dataclasses.replace(synthetic_result(S=64, seed=30), checks={"extrapolation": CHECK})


def parse(fragment):
    return ET.fromstring(fragment)


def resolve(d, path):
    for part in path.split("."):
        d = d[int(part)] if isinstance(d, list) else d[part]
    return d


def check_numbers(root, d):
    """Every number marked with a JSON path reads as that value of ``d``, formatted."""
    cells = [el for el in root.iter() if el.get("data-path")]
    for el in cells:
        value = resolve(d, el.get("data-path"))
        assert el.text == format_value(value, el.get("data-fmt")), el.get("data-path")
    return {el.get("data-path") for el in cells}


def text(el):
    return "".join(el.itertext())


def test_fit_shows_the_answer_first_then_the_checks(fit):
    d = fit.to_dict()
    root = parse(fit._repr_html_())
    title, answer, checks = root.findall("p") + root.findall("section")
    assert text(title) == Posterior.__repr__(fit)
    assert [el.tag for el in root if el.tag != "style"] == ["p", "section", "section"]
    assert answer.get("class") == "headline" and checks.get("class") == "checks"
    assert answer.find("h3").text.startswith("Answer: Compute-optimal allocation")
    # per default budget: N_opt, D_opt, tokens per parameter and loss with intervals, and
    # how far beyond the data (the budget over the largest fitted run's compute)
    rows = answer.findall(".//tbody/tr")
    assert len(rows) == len(bayescale.DEFAULT_BUDGETS) == len(d["allocations"])
    paths = check_numbers(answer, d)
    for i, a in enumerate(d["allocations"]):
        for q in ("N_opt", "D_opt", "tokens_per_param", "loss"):
            assert {f"allocations.{i}.{q}.{k}" for k in ("median", "lo", "hi")} <= paths
        assert f"extrapolation.budgets_over_C_max.{i}" in paths
        ratio = d["extrapolation"]["budgets_over_C_max"][i]
        assert ratio == pytest.approx(a["budget"] / fit.data.C.max())
    assert [th.text for th in answer.iter("th")][:2] == ["budget (FLOPs)", "C / largest run"]
    assert rows[0].findall("td")[2].find("span").text.endswith("B")  # 3.34B, not 3.34e+09
    # the checks in the words of `bayescale fit`: diagnostics, the extrapolation check's
    # verdict and the drift update it made
    words = [text(p) for p in checks.findall("p")]
    assert words == [_diag_line(d), extrapolation_line(d["extrapolation"])]
    summary = text_summary(d)
    assert all(w in summary for w in words)
    assert "Extrapolation check (refit)" in words[1] and "updated this sweep's drift" in words[1]
    # the same numbers as the printed summary's allocation table, cell for cell
    lines = summary.splitlines()
    for row in rows:
        cells = [text(td) for td in row.findall("td")]
        line = next(ln for ln in lines if ln.startswith(cells[0] + " "))
        assert all(c in line for c in cells[:1] + cells[2:])


def test_repr_says_the_same_in_brief(fit):
    d = fit.to_dict()
    shown = repr(fit)
    lines = shown.splitlines()
    assert lines[0] == Posterior.__repr__(fit) and lines[0].startswith("FitResult(")
    assert shown.index("Answer: Compute-optimal") < shown.index("\nChecks\n")
    assert render([allocation_table(d, far=True)], "text") in shown
    assert _diag_line(d) in shown and extrapolation_line(d["extrapolation"]) in shown
    # every cell of the HTML reads the same at the prompt
    for td in parse(fit._repr_html_()).iter("td"):
        assert text(td) in shown


def test_display_is_computed_once_and_never_samples(monkeypatch):
    result = synthetic_result(S=40, seed=2)
    calls = []
    to_dict = FitResult.to_dict
    monkeypatch.setattr(FitResult, "to_dict", lambda self, *a: calls.append(a) or to_dict(self))

    def no_sampling(*args, **kwargs):
        raise AssertionError("the display must not sample")

    monkeypatch.setattr("bayescale.result.sample", no_sampling)
    monkeypatch.setattr("bayescale.inference.fit.sample", no_sampling)
    first = repr(result)
    assert repr(result) == first and result._repr_html_()
    assert len(calls) == 1


def test_failed_fit_warns_before_any_number():
    result = synthetic_result(S=40, seed=3, ok=False)
    root = parse(result._repr_html_())
    warn = root.findall("p")[1]
    assert warn.get("class") == "warn" and text(warn) == _FAILED_BANNER
    assert root.find("section").get("class") == "headline failed"
    shown = repr(result)
    assert shown.index("WARNING: this fit FAILED") < shown.index("Answer")
    assert "Diagnostics: FAILED" in shown and "R-hat of alpha is 1.2" in shown
    # its tables say so too, first
    table = result.allocation([1e22])
    assert repr(table).startswith("WARNING: the fit behind this table FAILED")


def test_repr_never_raises(monkeypatch):
    result = synthetic_result(S=40, seed=4)

    def broken(self, *args):
        raise RuntimeError("no\nallocation")

    monkeypatch.setattr(FitResult, "to_dict", broken)
    assert repr(result) == (
        f"{Posterior.__repr__(result)} (no summary: RuntimeError: no allocation)"
    )
    odd = decision_table(pd.DataFrame({"x": [1.0]}), "allocation")
    assert "no summary: KeyError" in repr(odd) and repr(odd).startswith("     x\n0  1.0")
    with pytest.raises(ValueError, match="kind must be one of"):
        decision_table(pd.DataFrame(), "bogus")


def _report_tables(d):
    """The decision report's tables by their heading, and the note under each."""
    body = parse(html_report(d)).find("body")
    out = {}
    for h, table, note in zip(body, body[1:], body[2:], strict=False):
        if h.tag == "h2" and table.tag == "table":
            out[h.text] = (table, note if note.get("class") == "note" else None)
    return out


def test_decision_tables_are_the_reports_tables(fit):
    budgets = [1e22, 5.76e23]
    plans, targets = ["70B/1.4T", "20B@5.76e23"], [2.0, 1.5]
    d = build_report(fit, budgets=budgets, plans=plans, target_loss=targets, d_max="1T")
    report = _report_tables(d)
    tables = [
        fit.bayes_optimal(budgets),
        fit.regret(plans),
        fit.compute_for_loss(targets),
        fit.data_limited("1T", budgets),
    ]
    for table in tables:
        assert isinstance(table, DecisionTable) and isinstance(table, pd.DataFrame)
        root = parse(table._repr_html_())
        title = root.find("h3").text
        theirs, their_note = report[title]
        # the same cells, numbers, JSON paths and formats as the report's table
        assert ET.tostring(root.find("table")) == ET.tostring(theirs)
        notes = [p for p in root.findall("p") if p.get("class") == "note"]
        if their_note is not None:
            assert ET.tostring(notes[0]) == ET.tostring(their_note)
        assert text(notes[-1]).startswith(f"A pandas DataFrame, {len(table)} rows")
        shown = repr(table)
        assert shown.startswith(title + "\n")
        assert all(text(td) in shown for td in root.iter("td"))
    assert set(report) >= {"Recommended allocation", "Risk of the planned runs"}


def test_allocation_table_shows_the_fits_answer(fit):
    budgets = [1e21, 1e23, 1e25]
    table = fit.allocation(budgets)
    assert isinstance(table, DecisionTable)
    # a DataFrame otherwise: exact values, and what is derived from it is a plain DataFrame
    assert type(table[["N_opt"]]) is pd.DataFrame and type(table.copy()) is pd.DataFrame
    assert table["N_opt"].iloc[1] == fit.to_dict(budgets)["allocations"][1]["N_opt"]["median"]
    root = parse(table._repr_html_())
    paths = check_numbers(root, fit.to_dict(budgets))
    assert "extrapolation.budgets_over_C_max.2" in paths and "allocations.2.loss.hi" in paths
    assert [text(td) for td in root.find(".//tbody/tr").findall("td")][:2] == ["1.00e+21", "0.33×"]


def test_plan_shows_the_runs_then_the_caveats(fit):
    plan = fit.plan_runs(target_budget=1e24, spend=2e21, max_runs=3, seed=0)
    assert isinstance(plan, PlanResult) and isinstance(plan, RunPlan)
    assert PlanResult.of(plan) is plan
    assert RunPlan.__repr__(plan).startswith("PlanResult(")
    pj = plan_json(plan, candidates=False)
    root = parse(plan._repr_html_())
    assert text(root.find("p")) == RunPlan.__repr__(plan)
    box = root.find("section")
    assert box.get("class") == ("headline failed" if plan.degenerate else "headline")
    sentence = text(box.find("p"))
    assert sentence == plan_sentence(pj, "90%")
    paths = check_numbers(root, {"plan": pj})
    assert {"plan.runs.0.N", "plan.current.median", "plan.expected_after.hi"} <= paths
    # the report says the same, in the same sentence and table
    d = build_report(fit, budgets=[1e24], plan=plan)
    assert sentence in d["summary"]
    theirs, _ = _report_tables(d)["What to train next"]
    assert ET.tostring(box.find("table")) == ET.tostring(theirs)
    shown = repr(plan)
    assert shown.splitlines()[1] == "" and sentence in shown
    # the base record stays one line, not two DataFrames
    bare = RunPlan(**{f.name: getattr(plan, f.name) for f in dataclasses.fields(RunPlan)})
    assert repr(bare) == RunPlan.__repr__(plan).replace("PlanResult(", "RunPlan(", 1)
    assert "\n" not in repr(bare)


def test_a_real_fit_shows_its_extrapolation_check(small_fit):
    d = small_fit.to_dict()
    root = parse(small_fit._repr_html_())
    # per budget: the budget, how far beyond the data, and 4 quantities' median and interval
    assert len(check_numbers(root, d)) == (2 + 4 * 3) * len(d["allocations"])
    checks = root.findall("section")[1]
    assert text(checks.findall("p")[-1]) == extrapolation_line(d["extrapolation"])
    # the fit-time check ran, and its verdict and drift update read as `bayescale fit` prints
    assert d["extrapolation"]["check"] is not None
    shown = repr(small_fit)
    assert "Extrapolation check (" in shown and "updated this sweep's drift" in shown
