"""What run planning reads and returns: the candidate grid and its checks, RunPlan, its text.

No JAX: the plan here is built by hand; tests/decisions/test_planning.py makes real ones.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from bayescale import planning, planning_tables
from bayescale.decisions.planning_tables import (
    RunPlan,
    check_candidates,
    default_candidates,
    plan_text,
)


def test_default_grid():
    N_runs = np.array([7e7, 4e8, 1.6e10])
    grid = default_candidates(N_runs)
    assert len(grid) == 24 * 16 and list(grid.columns) == ["N", "D"]
    assert grid.N.min() == pytest.approx(N_runs.min())
    assert grid.N.max() == pytest.approx(10 * N_runs.max())
    ratio = grid.D / grid.N
    assert ratio.min() == pytest.approx(1.0) and ratio.max() == pytest.approx(400.0)
    with pytest.raises(ValueError, match="N of the fitted runs"):
        default_candidates([1e9, -1.0])


@pytest.mark.parametrize(
    "given",
    [
        pd.DataFrame({"N": [1e9, 2e9], "D": [2e10, 4e10]}, index=["a", "b"]),
        {"N": [1e9, 2e9], "D": [2e10, 4e10]},
        ([1e9, 2e9], [2e10, 4e10]),
    ],
)
def test_candidates_in_every_form(given):
    cand = check_candidates(given)
    assert list(cand.columns) == ["N", "D"] and cand.dtypes.eq(np.float64).all()
    np.testing.assert_array_equal(cand["D"].to_numpy(), [2e10, 4e10])
    if isinstance(given, pd.DataFrame):
        assert list(cand.index) == ["a", "b"]


def test_candidates_with_other_column_names():
    frame = pd.DataFrame({"params": [1e9], "tokens": ["2e10"]})
    cand = check_candidates(frame, n_col="params", d_col="tokens")
    assert cand.iloc[0].tolist() == [1e9, 2e10]


@pytest.mark.parametrize(
    ("given", "match"),
    [
        (pd.DataFrame({"N": [1e9]}), "no column 'D'.*columns present: 'N'"),
        (pd.DataFrame({"N": [1e9, -1.0], "D": [1e10, 1e10]}), "rows 1 do not"),
        (pd.DataFrame({"N": [1e9], "D": ["x"]}), "'D' must hold finite tokens > 0"),
        (pd.DataFrame({"N": [], "D": []}), "no rows"),
        (42, "got int"),
    ],
)
def test_bad_candidates(given, match):
    with pytest.raises(ValueError, match=match):
        check_candidates(given)


def hand_made_plan(criterion="n_opt"):
    runs = pd.DataFrame(
        {"N": [4e8, 1e9], "D": [8e9, 2e10], "C": [1.92e19, 1.2e20], "share": [0.096, 0.6],
         "score": [0.2, 0.05], "candidate": ["a", "b"]}
    )  # fmt: skip
    return RunPlan(
        runs=runs,
        criterion=criterion,
        target_budget=1e24,
        spend=2e20,
        ci=0.9,
        current={"median": 9e10, "lo": 3e10, "hi": 3e11},
        expected_after={"median": 9.5e10, "lo": 7e10, "hi": 1.2e11},
        criterion_current=0.5,
        criterion_after=0.25,
        regret_current=0.006,
        regret_after=0.001,
        regret_reduction=0.005,
        ess_median=40.0,
        ess_min=12.0,
        degenerate=True,
        candidates=runs[["N", "D", "C"]],
        n_draws=400,
        n_scenarios=256,
        greedy="per_flop",
        notes=("a note",),
    )


def test_run_plan_record_and_json():
    plan = hand_made_plan()
    assert plan.quantity == "N_opt" and plan.spent == pytest.approx(1.392e20)
    assert hand_made_plan("regret").quantity == planning_tables.QUANTITY["regret"]
    d = plan.to_dict()
    assert set(d) == {
        "target_budget", "spend", "criterion", "runs", "current", "expected_after",
        "regret_reduction", "expected_error", "data_edge",
    }  # fmt: skip
    assert d["data_edge"] == {"current": None, "after": None}
    assert d["runs"][1] == {"N": 1e9, "D": 2e10, "C": 1.2e20, "score": 0.05}
    json.dumps(d)


def test_plan_text():
    text = plan_text(hand_made_plan())
    lines = text.splitlines()
    assert lines[0].startswith("Runs to train next: 2 run(s)") and "(criterion n_opt)" in lines[0]
    assert lines[2].split() == ["#", "N", "D", "C", "(FLOPs)", "share", "of", "spend", "score",
                                "added"]  # fmt: skip
    assert lines[3].split()[:3] == ["1", "400M", "8.00B"]
    assert "N_opt, 90%: now 90.0B [30.0B, 300B]; expected after these runs" in text
    assert "median effective sample size 40" in text and lines[-1] == "note: a note"
    assert "optimal loss, 90%: now 9e+10 [3e+10, 3e+11]" in plan_text(hand_made_plan("loss"))
    assert "expected error" not in text and "edge" not in text  # not given: not stated


def test_plan_text_states_the_error_and_the_edge():
    plan = dataclasses.replace(
        hand_made_plan("predict"),
        error_current=0.014,
        error_after=0.007,
        target_runs=pd.DataFrame({"N": [7e10], "D": [1.4e12]}),
        edge_before=1e21,
        edge_after=3e22,
    )
    text = plan_text(plan)
    assert "chosen to predict the loss of the target run(s) at" in text
    assert (
        "expected error of the predicted loss of the target run (70.0B parameters, 1.40T "
        "tokens): 1.4% now, 0.7% after" in text
    )
    assert "moves from 1.00e+21 FLOPs" in text and "to 3.00e+22 FLOPs" in text
    assert plan.to_dict()["expected_error"] == {"current": 0.014, "after": 0.007}
    assert plan.to_dict()["data_edge"] == {"current": 1e21, "after": 3e22}


def test_names_still_importable_from_planning():
    for name in ("RunPlan", "QUANTITY", "check_candidates", "default_candidates", "plan_text"):
        assert getattr(planning, name) is getattr(planning_tables, name)


def test_no_jax_here():
    code = "import bayescale.decisions.planning_tables, sys; print('jax' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "False", out.stderr
