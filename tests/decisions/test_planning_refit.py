"""A plan's promise re-estimated by refitting simulated outcomes of its runs."""

from __future__ import annotations

import pandas as pd
import pytest
from _synthetic import synthetic_result

from bayescale.checks.simulate import chinchilla_design
from bayescale.decisions.planning_refit import refit_expected_after


@pytest.mark.filterwarnings("ignore:data set")  # one short chain per refit: ESS is low
def test_refits_replace_the_reweighted_promise():
    result = synthetic_result(S=400, seed=2)
    N, D = chinchilla_design(budgets=(1e20, 3e20), n_sizes=4)
    plan = result.plan_runs(pd.DataFrame({"N": N, "D": D}), target_budget=1e24, spend=3e20)
    assert len(plan.runs) >= 1 and plan.method == "reweighting"
    got = refit_expected_after(result, plan, 2, seed=0, chains=1, warmup=150, draws=150)
    assert got.method == "refit" and got.notes[-1].startswith("expected_after from 2 refits")
    after = got.expected_after
    assert 0 < after["lo"] < after["median"] < after["hi"]
    # the refits see the planned runs: their N_opt interval is narrower than today's
    assert after["hi"] / after["lo"] < plan.current["hi"] / plan.current["lo"]
    # everything but the promise is the plan's own
    pd.testing.assert_frame_equal(got.runs, plan.runs)
    assert got.current == plan.current and got.criterion == plan.criterion


def test_bad_refit_counts_and_empty_plans():
    result = synthetic_result(S=400, seed=2)
    plan = result.plan_runs(pd.DataFrame({"N": [4e8], "D": [8e9]}), target_budget=1e24, spend=1e20)
    with pytest.raises(ValueError, match="n_refits must be >= 1"):
        refit_expected_after(result, plan, 0)
    empty = type(plan)(**{**plan.__dict__, "runs": plan.runs.iloc[:0]})
    assert refit_expected_after(result, empty, 2) is empty
