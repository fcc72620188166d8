"""Run planning: the vectorised preposterior core, greedy batch selection, checks, CLI."""

from __future__ import annotations

import dataclasses
import json
import math

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest
from _synthetic import synthetic_result

import bayescale
from bayescale.checks.simulate import chinchilla_design, simulate_runs
from bayescale.cli.commands import main
from bayescale.data.units import parse_budget
from bayescale.decisions import planning
from bayescale.inference.likelihoods import run_loglik

SMALL = ["--warmup", "150", "--draws", "150", "--chains", "2", "--no-retry", "--no-cache"]
KEYS = {
    "target_budget", "spend", "criterion", "runs", "current", "expected_after",
    "expected_error", "data_edge",
}  # fmt: skip


@pytest.fixture(scope="module")
def result():
    return synthetic_result(S=400, seed=2)


@pytest.fixture(scope="module")
def pool():
    N, D = chinchilla_design(budgets=(1e20, 3e20, 1e21), n_sizes=6)
    return pd.DataFrame({"N": N, "D": D}, index=[f"r{i}" for i in range(len(N))])


# ------------------------------------------------------------------------------ the core
@pytest.mark.parametrize(
    ("likelihood", "criterion", "levelled"),
    [
        ("gaussian", "n_opt", False),
        ("student_t", "loss", False),
        ("huber", "regret", False),
        ("gaussian", "predict", False),
        ("student_t", "n_opt", True),
        ("gaussian", "predict", True),
        ("huber", "regret", True),
    ],
)
def test_core_matches_a_plain_loop(likelihood, criterion, levelled):
    rng = np.random.default_rng(0)
    S, J, M, G, K, L = 40, 5, 6, 7, 3, 4
    mu = rng.normal(0.7, 0.02, (J, S))
    y = rng.normal(0.7, 0.02, (M, J))
    sigma = rng.uniform(0.01, 0.02, S)
    nu = rng.uniform(3, 6, S)
    logw = rng.normal(0, 1, (M, S))
    logw[0, 3] = -np.inf
    # per data edge: each candidate is scored with the quantity at the edge it leaves
    q = rng.normal(0, 1, (L, S, K) if criterion == "predict" else (L, S))
    R = np.abs(rng.normal(0, 1e-3, (L, S, G)))
    truth = rng.normal(0, 1, (M, K))
    level = np.array([0, 3, 1, 3, 2]) if levelled else np.zeros(J, int)
    if criterion == "regret":
        aux = {"R": R if levelled else R[0]}
    else:
        aux = {"q": q if levelled else q[0]}
        if criterion == "predict":
            aux["truth"] = truth
    with jax.enable_x64(True):
        got, _ = planning.preposterior_scores(
            logw, mu, y, sigma, nu, aux, likelihood=likelihood, criterion=criterion, block=2,
            level=level if levelled else None,
        )  # fmt: skip
        want = np.zeros(J)
        for j in range(J):  # the reference: loops over candidates and scenarios
            qj, Rj = q[level[j]], R[level[j]]
            for m in range(M):
                ll = np.asarray(run_loglik(likelihood, y[m, j] - mu[j], sigma, nu=nu))
                w = np.exp(logw[m] + ll - np.max(logw[m] + ll))
                w /= w.sum()
                if criterion == "regret":
                    c = float(planning._criterion("regret", jnp.asarray(w), {"R": Rj}))
                    assert c <= np.min(w @ Rj) + 1e-15  # the parabola refines the grid minimum
                elif criterion == "predict":
                    c = np.mean([(w @ qj[:, k] - truth[m, k]) ** 2 for k in range(K)])
                else:
                    mean = w @ qj
                    c = math.sqrt(w @ (qj - mean) ** 2)
                want[j] += c / M
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-15)


def test_edge_levels():
    edge = 40.0
    log_nd = np.array([39.0, 40.0, 41.5, 41.0, 41.5])
    levels, idx = planning.edge_levels(edge, log_nd)
    np.testing.assert_array_equal(levels, [40.0, 41.0, 41.5])
    np.testing.assert_array_equal(idx, [0, 0, 2, 1, 2])  # a run inside leaves the edge
    # more distinct edges than levels: rounded down onto a grid, never up
    many = edge + np.linspace(0.0, 3.0, 100)
    levels, idx = planning.edge_levels(edge, many, max_levels=8)
    assert len(levels) == 8 and levels[0] == edge and levels[-1] == many.max()
    assert np.all(levels[idx] <= many + 1e-12) and idx[-1] == 7
    assert np.all(np.diff(idx) >= 0)
    # a law without drift has one edge for all
    levels, idx = planning.edge_levels(None, log_nd)
    assert len(levels) == 1 and not idx.any()


# ------------------------------------------------------------------------------ plans
def test_plan_is_deterministic_within_spend_and_picks_candidate_rows(result, pool):
    spend = 0.1 * float((6 * pool.N * pool.D).sum())
    a = result.plan_runs(pool, target_budget=1e24, spend=spend, seed=3)
    b = result.plan_runs(pool, target_budget=1e24, spend=spend, seed=3)
    pd.testing.assert_frame_equal(a.runs, b.runs)
    assert a.to_dict() == b.to_dict()
    assert len(a.runs) >= 1 and a.spent <= spend
    rows = pool.loc[a.runs["candidate"]]
    np.testing.assert_array_equal(rows["N"].to_numpy(), a.runs["N"].to_numpy())
    np.testing.assert_array_equal(rows["D"].to_numpy(), a.runs["D"].to_numpy())
    assert a.runs["candidate"].is_unique
    np.testing.assert_allclose(a.runs["share"], a.runs["C"] / spend)
    assert (a.runs["score"] > 0).all()
    # the promise narrows the interval; the current one is the allocation's
    now, after = a.current, a.expected_after
    assert after["hi"] / after["lo"] < now["hi"] / now["lo"]
    alloc = result.allocation([1e24]).iloc[0]
    assert now["lo"] == pytest.approx(alloc["N_opt_lo"], rel=1e-9)
    assert now["hi"] == pytest.approx(alloc["N_opt_hi"], rel=1e-9)
    assert a.criterion_after < a.criterion_current and a.regret_reduction > 0
    d = a.to_dict()
    assert set(d) == KEYS | {"regret_reduction"}
    assert set(d["runs"][0]) == {"N", "D", "C", "score"}
    json.dumps(d)


def test_max_runs_and_a_tight_spend(result, pool):
    C = 6 * pool.N * pool.D
    one = result.plan_runs(pool, target_budget=1e24, spend=float(C.sum()), max_runs=1)
    assert len(one.runs) == 1
    tight = result.plan_runs(pool, target_budget=1e24, spend=float(C.min()) * 1.01)
    assert len(tight.runs) == 1 and tight.runs["C"].iloc[0] == C.min()


def test_greedy_conditions_on_chosen_runs(result):
    # two copies of the same run: once one is chosen, its twin adds less than it did alone
    cand = pd.DataFrame({"N": [3e8, 3e8, 2e9], "D": [6e10, 6e10, 8e9]})
    p = result.plan_runs(cand, target_budget=1e24, spend=1e30, max_runs=3)
    alone = p.candidates["score"].to_numpy()
    twins = [i for i in p.runs["candidate"] if i in (0, 1)]
    assert len(twins) == 2  # both eventually chosen; the second scores its conditional gain
    second = p.runs.set_index("candidate").loc[twins[1], "score"]
    assert second < 0.8 * alone[twins[1]]  # scored alone, it would add as much again


@pytest.mark.parametrize("criterion", ["loss", "regret"])
def test_other_criteria(result, pool, criterion):
    p = result.plan_runs(pool, target_budget=1e24, spend=1e21, criterion=criterion)
    assert p.criterion_after < p.criterion_current
    assert p.expected_after["hi"] - p.expected_after["lo"] < p.current["hi"] - p.current["lo"]
    assert p.quantity == planning.QUANTITY[criterion]


def test_predict_criterion_and_the_error_every_plan_states(result, pool):
    p = result.plan_runs(pool, target_budget=1e24, spend=1e21, criterion="predict")
    assert p.quantity == "loss of the target run(s)"
    assert 0 < p.error_after < p.error_current and p.criterion_after < p.criterion_current
    assert p.expected_after["hi"] - p.expected_after["lo"] < p.current["hi"] - p.current["lo"]
    # by default the target run is the Bayes-optimal run at the target budget
    (N_t, D_t), alloc = p.target_runs.iloc[0], result.allocation([1e24]).iloc[0]
    assert len(p.target_runs) == 1 and 6 * N_t * D_t == pytest.approx(1e24)
    assert alloc["N_opt_lo"] < N_t < alloc["N_opt_hi"]
    # the n_opt plan states the same error, now the same, after its own runs
    q = result.plan_runs(pool, target_budget=1e24, spend=1e21)
    assert q.error_current == pytest.approx(p.error_current) and q.error_after < q.error_current
    two = pd.DataFrame({"N": [3e10, 8e10], "D": [1e24 / 6 / 3e10, 1e24 / 6 / 8e10]})
    r = result.plan_runs(pool, target_budget=1e24, spend=1e21, criterion="predict",
                         target_runs=two)  # fmt: skip
    pd.testing.assert_frame_equal(r.target_runs, two)
    assert "2 target runs" in planning.plan_text(r)
    assert r.to_dict()["expected_error"]["after"] == r.error_after
    assert r.to_dict()["data_edge"] == {"current": None, "after": None}  # no drift


@pytest.fixture(scope="module")
def drifting(result):
    # with_drift recomputes the diagnostics, which read the sampler's statistics
    shape = result.stats["diverging"].shape
    energy = np.random.default_rng(0).normal(size=shape)
    stats = {**result.stats, "num_steps": np.full(shape, 15), "energy": energy}
    return dataclasses.replace(result, stats=stats).with_drift(1.0)


def test_a_run_at_the_target_moves_the_edge_past_the_drift(drifting, pool):
    # the drift beyond the data is most of the target's uncertainty; a run at the target's
    # compute leaves the refit no drift there, a run inside the data leaves all of it
    top = float(drifting.data.C.max())
    target = 30 * top
    n_t = float(drifting.allocation([target]).iloc[0]["N_opt"])
    cand = pd.DataFrame(
        {"N": [n_t, float(drifting.data.N[0])], "D": [target / 6 / n_t, float(drifting.data.D[0])]}
    )
    far = drifting.plan_runs(cand, target_budget=target, spend=target, max_runs=1)
    assert list(far.runs["candidate"]) == [0]
    assert far.edge_before == pytest.approx(top, rel=1e-9)
    assert far.edge_after == pytest.approx(target, rel=1e-9)
    now, after = far.current, far.expected_after
    # narrower than the law alone now: the drift is gone and the run itself informs
    alone = drifting.with_drift(0).allocation([target]).iloc[0]
    assert (
        after["hi"] / after["lo"] < alone["N_opt_hi"] / alone["N_opt_lo"] < now["hi"] / now["lo"]
    )
    assert "moves from" in planning.plan_text(far)
    near = planning.plan_runs(
        drifting.theta(), law=drifting.law, sigma=drifting.draws("sigma"), target_budget=target,
        spend=target, candidates=cand, max_runs=1, exclude=np.array([True, False]),
    )  # fmt: skip
    assert list(near.runs["candidate"]) == [1] and near.edge_after == near.edge_before
    assert near.expected_after["hi"] / near.expected_after["lo"] > after["hi"] / after["lo"]
    assert "stays at" in planning.plan_text(near)


def test_spend_in_budget_units(result, pool):
    spec = "256xH100:2d@40%"
    p = result.plan_runs(pool, target_budget="11574pf-days", spend=spec)
    assert p.spend == parse_budget(spec) and p.target_budget == pytest.approx(1e24, rel=1e-4)
    assert "H100" in p.spend_statement and p.spent <= p.spend


def test_default_grid_is_the_pool(result):
    # the grid itself: tests/decisions/test_planning_tables.py
    grid = planning.default_candidates(result.data.N)
    p = result.plan_runs(target_budget=1e24, spend=1e20, max_runs=2)
    assert len(p.candidates) == len(grid) and 1 <= len(p.runs) <= 2
    np.testing.assert_array_equal(p.candidates["N"].to_numpy(), grid["N"].to_numpy())


def test_degenerate_weights_are_flagged(result, pool):
    # the synthetic posterior is far wider than its noise: a few runs pin it down
    p = result.plan_runs(pool, target_budget=1e24, spend=1e22)
    assert p.degenerate == (p.ess_median < planning.ESS_MIN)
    if p.degenerate:
        assert any("degenerate" in n for n in p.notes)


# ------------------------------------------------------------------------------ bad input
@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"spend": 0}, "budget must be a finite number"),
        ({"spend": -1e20}, "spend"),
        ({"spend": 1e10}, "below the cheapest candidate run"),
        ({"spend": "lots"}, "cannot read budget"),
        ({"criterion": "width"}, "unknown criterion"),
        ({"candidates": pd.DataFrame({"N": [1e9]})}, "no column 'D'"),
        ({"candidates": pd.DataFrame({"N": [1e9, -1.0], "D": [1e10, 1e10]})}, "rows 1"),
        ({"candidates": pd.DataFrame({"N": [1e9], "D": ["x"]})}, "'D' must hold finite"),
        ({"max_runs": 0}, "max_runs"),
    ],
)
def test_bad_input(result, pool, kwargs, match):
    args = {"candidates": pool, "target_budget": 1e24, "spend": 1e21, **kwargs}
    with pytest.raises(ValueError, match=match):
        result.plan_runs(args.pop("candidates"), **args)


def test_candidates_outside_the_laws_domain():
    def loss(p, N, D):  # a law that cannot predict beyond 1e10 parameters
        return jnp.where(N > 1e10, jnp.nan, p["E"] + p["A"] / N ** p["alpha"] + 400 / D**0.3)

    import numpyro.distributions as dist

    law = bayescale.define_law(
        "planning_domain",
        loss,
        priors={
            "E": dist.LogNormal(0.5, 0.1),
            "A": dist.LogNormal(6, 1),
            "alpha": dist.Beta(3, 6),
        },
    )
    S = 50
    theta = {"E": np.full(S, 1.7), "A": np.full(S, 400.0), "alpha": np.linspace(0.3, 0.36, S)}
    cand = pd.DataFrame({"N": [1e9, 5e10], "D": [2e10, 2e11]}, index=[7, 8])
    with pytest.raises(ValueError, match=r"outside the law's domain.*rows 8"):
        planning.plan_runs(
            theta, law=law, sigma=np.full(S, 0.01), target_budget=1e23, spend=1e24,
            candidates=cand,
        )  # fmt: skip


# ------------------------------------------------------------------------------ report
def test_report_section_and_figure(result, pool, tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    from bayescale.report import plotting

    plan = result.plan_runs(pool, target_budget=1e24, spend=1e21)
    d = result.report(tmp_path / "rep", budgets=[1e24], plan=plan, figures=False)
    assert d["plan"]["runs"][0]["N"] == plan.runs["N"].iloc[0]
    md = (tmp_path / "rep" / "report.md").read_text()
    assert "## What to train next" in md and any(
        s.startswith("What to train") for s in d["summary"]
    )
    # what the plan buys besides the interval, and how the promise was checked
    assert "The expected error of the predicted loss of the target run (" in md
    assert "fresh simulated outcomes" in md
    assert d["plan"]["expected_error"]["after"] == pytest.approx(plan.error_after)
    assert len(d["plan"]["target_runs"]) == 1
    ax = plotting.plot_plan(result, plan)
    assert len(ax.collections) >= 3
    ax2 = plotting.plot_plan(result, d["plan"])  # from the report's JSON as well
    assert len(ax2.collections) >= 3


# ------------------------------------------------------------------------------ CLI
@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("plan")
    N, D = chinchilla_design(budgets=(6e18, 1e19, 3e19), n_sizes=8)
    data = simulate_runs(design=(N, D), seed=0)
    pd.DataFrame({"N": data.N, "D": data.D, "loss": data.loss}).to_csv(
        root / "runs.csv", index=False
    )
    Nc, Dc = chinchilla_design(budgets=(6e19, 1e20, 3e20), n_sizes=8)
    pd.DataFrame({"N": Nc, "D": Dc}).to_csv(root / "cand.csv", index=False)
    pd.DataFrame({"params": Nc, "D": Dc}).to_csv(root / "cand_bad.csv", index=False)
    return root


def run(argv, capsys):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_plan(files, tmp_path, capsys):
    out_json = tmp_path / "plan.json"
    argv = [
        "plan", files / "runs.csv", "--candidates", files / "cand.csv",
        "--target-budget", "1e23", "--spend", "5e20", "--json", out_json, *SMALL,
    ]  # fmt: skip
    code, out, err = run(argv, capsys)
    assert code in (0, 3), err
    d = json.loads(out_json.read_text())
    assert set(d) == KEYS | {"regret_reduction"}
    assert d["target_budget"] == 1e23 and d["spend"] == 5e20 and d["criterion"] == "n_opt"
    cand = pd.read_csv(files / "cand.csv")
    pairs = set(zip(cand["N"], cand["D"], strict=True))
    assert d["runs"] and all((r["N"], r["D"]) in pairs for r in d["runs"])
    assert sum(r["C"] for r in d["runs"]) <= 5e20
    assert "Runs to train next" in out and "expected after these runs" in out


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        (["--spend", "1e10"], "below the cheapest candidate"),
        (["--spend", "0"], "--spend"),
        (["--spend", "1e21", "--candidates", "BAD"], "column 'N' not found in cand_bad.csv"),
    ],
)
def test_cli_plan_bad_input(files, capsys, extra, match):
    extra = [str(files / "cand_bad.csv") if a == "BAD" else a for a in extra]
    argv = [
        "plan", files / "runs.csv", "--candidates", files / "cand.csv",
        "--target-budget", "1e23", *extra, *SMALL,
    ]  # fmt: skip
    code, _, err = run(argv, capsys)
    assert code == 2 and match in err and len(err.strip().splitlines()) == 1
