"""Decision tables: probabilities and counts against loops over draws."""

import jax
import numpy as np
import pytest
from _synthetic import draw, np_optimum, scalar_loss, synthetic_result

from bayescale.decisions.budget import (
    as_plans,
)

S = 64  # one posterior size (and two budgets) throughout, so compiled functions are reused


@pytest.fixture(autouse=True)
def x64():
    with jax.enable_x64(True):
        yield


def test_regret_table_probabilities_match_loops():
    res = synthetic_result(S=S, seed=6)
    tab = res.regret(["70B/1.4T", "20B@5.76e23"], eps=[1e-3, 5e-3], within=2.0)
    assert list(tab["label"]) == ["70B/1.4T", "20B@5.76e23"]
    assert {"p_regret_below_0.001", "p_regret_below_0.005", "waste", "p_within"} <= set(tab)
    p = res.params()
    for j, q in enumerate(as_plans(["70B/1.4T", "20B@5.76e23"])):
        below, within = [], []
        for s in range(S):
            ps = draw(p, s)
            N_opt, _, L_opt = np_optimum(ps, q.C)
            below.append(scalar_loss(ps, q.N, q.D) - L_opt < 5e-3)
            within.append(0.5 <= q.N / N_opt <= 2.0)
        assert tab["p_regret_below_0.005"][j] == pytest.approx(np.mean(below))
        assert tab["p_within"][j] == pytest.approx(np.mean(within))
        assert 0 <= tab["waste_lo"][j] <= tab["waste"][j] <= tab["waste_hi"][j] < 1
    assert tab["wasted_flops"][0] == pytest.approx(tab["waste"][0] * tab["C"][0])


def test_compute_for_loss_table_counts_unreachable_as_infinite():
    res = synthetic_result(S=S, seed=8)
    E = res.draws("E")
    tab = res.compute_for_loss([2.0, float(np.quantile(E, 0.7)), 1.0])
    assert tab["p_reachable"][0] == 1.0 and np.isfinite(tab["C_hi"][0])
    assert tab["p_reachable"][1] == pytest.approx(np.mean(E < tab["target"][1]))
    assert np.isfinite(tab["C"][1]) and np.isinf(tab["C_hi"][1])  # 30% unreachable
    assert tab["p_reachable"][2] == 0.0 and np.isinf(tab["C"][2]) and np.isinf(tab["C_lo"][2])


def test_table_wrappers_shapes_and_attrs():
    res = synthetic_result(S=S, seed=11)
    b = res.bayes_optimal([1e22, 1e24], ci=0.8)
    assert len(b) == 2 and b.attrs["ci"] == 0.8
    assert (b["N_opt_lo"] <= b["N_opt"]).all() and (b["N_opt"] <= b["N_opt_hi"]).all()
    assert (b["excess_loss_plugin"] >= -1e-15).all() and (b["evpi"] >= 0).all()
    cap = res.data_limited("1T", [1e22, 1e24])
    assert set(cap.attrs["C_bind"]) == {"median", "lo", "hi", "p_finite"}
    assert cap["p_binds"][0] < cap["p_binds"][1]
