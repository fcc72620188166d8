"""The decision report in words: headline, summary and assumptions from the report's dict."""

from __future__ import annotations

import copy

import pytest
from _synthetic import synthetic_result

from bayescale.report.decision_report import build_report, format_value
from bayescale.report.decision_text import assumptions, budget_label, headline, summary

BUDGETS = [1e22, "5000pf-days", "2048xH100:30d@40%,$2.5/h"]


@pytest.fixture(scope="module")
def report():
    # the same report as tests/report/test_decision_report.py, without its files
    return build_report(
        synthetic_result(S=64, seed=30),
        budgets=BUDGETS,
        plans=["70B/1.4T", "20B@5.76e23"],
        target_loss=[2.0, 1.5],
        d_max="1T",
        cost="H100@40%,$2.5/h",
    )


def failed(d):
    bad = copy.deepcopy(d)
    bad["fit"]["diagnostics"].update(
        ok=False, problems=["R-hat of alpha is 1.2 (> 1.01): run longer chains.", "x."]
    )
    return bad


def test_summary_says_what_to_do(report):
    d = report
    text = " ".join(d["summary"])
    b = d["bayes_optimal"][-1]
    assert text.startswith("At ")
    n, dd = format_value(b["N_bayes"], "count"), format_value(b["D_bayes"], "count")
    assert f"train {n} parameters on {dd}" in text
    assert "2048xH100:30d@40%,$2.5/h" in text and "$3.69M" in text
    assert "Your plan 70B/1.4T (70.0B parameters on 1.40T tokens" in text
    assert "of its compute" in text and "P(regret < 0.001)" in text
    # 1.5 lies below every draw's irreducible loss: said plainly, no number invented
    assert "Loss 1.50 is unreachable on every posterior draw" in text
    t = d["targets"][1]
    assert t["p_reachable"] == 0 and t["C"] is None and t["C_lo"] is None
    assert "the cap binds above" in text
    assert "Sampling diagnostics passed" in text
    assert "extrapolate" in text  # 2e24 FLOPs is far beyond the simulated runs


def test_headline_leads_with_the_answer(report):
    d = report
    h = d["headline"]
    b = d["bayes_optimal"][-1]
    # one recommendation per budget, sizes as people say them, with intervals
    assert len(h["recommendations"]) == len(d["bayes_optimal"])
    rec = h["recommendations"][-1]
    assert f"train {format_value(b['N_bayes'], 'count')} parameters on " in rec
    assert format_value(b["N_opt_lo"], "count") in rec and "2048xH100:30d@40%" in rec
    assert h["risk"][0].startswith("The planned run 70B/1.4T (70.0B parameters on 1.40T")
    assert h["ok"] and h["checks"].startswith("The fit's checks passed")


def test_the_builders_are_what_the_report_holds(report):
    assert summary(report) == report["summary"]
    assert headline(report) == report["headline"]


def test_failed_checks_are_said_first_and_last(report):
    bad = failed(report)
    h = headline(bad)
    assert not h["ok"]
    assert h["checks"] == (
        "The fit FAILED its checks; treat every number as provisional: R-hat of alpha is 1.2 "
        "(> 1.01): run longer chains (and 1 more problems under Fit diagnostics)."
    )
    assert summary(bad)[-1].startswith("WARNING: sampling diagnostics failed")


def test_budget_labels_are_what_the_user_wrote(report):
    assert [budget_label(report, i) for i in range(3)] == ["", *BUDGETS[1:]]


def test_assumptions_name_the_model_budgets_cost_and_drift(report):
    from bayescale.data.units import parse_budget_spec, parse_cost

    specs = [parse_budget_spec(b) for b in BUDGETS]
    cost = parse_cost("H100@40%,$2.5/h")
    out = assumptions(report, specs, cost)
    assert out == report["assumptions"]
    assert out[0].startswith("Training compute C = 6·N·D FLOPs")
    assert any(a.startswith("Budget '5000pf-days': ") for a in out)
    assert out[-1].startswith("Cost model: ")
    assert "drift=0: predictions beyond that assume" in " ".join(out)
    drifting = copy.deepcopy(report)
    drifting["fit"]["settings"]["drift"] = 1.0
    assert "may drift (drift=1: level and tilt" in " ".join(assumptions(drifting, specs, None))
