"""Pooling over groups: per-group recovery, borrowing strength, per-group allocation."""

import json
import warnings

import jax
import numpy as np
import pytest

import bayescale
from bayescale.checks.simulate import chinchilla_design, simulate_law
from bayescale.laws import CHINCHILLA

TRUTH = {
    "E": np.array([1.7, 1.9, 1.8]),
    "A": np.array([400.0, 600.0, 500.0]),
    "B": np.array([400.0, 1000.0, 700.0]),
    "alpha": np.array([0.34, 0.36, 0.35]),
    "beta": np.array([0.28, 0.30, 0.29]),
}
SIZES = (80, 80, 5)


@pytest.fixture(scope="module")
def grouped_data():
    N, D = chinchilla_design()
    rng = np.random.default_rng(0)
    idx = [rng.choice(len(N), n, replace=False) for n in SIZES]
    design = (np.concatenate([N[i] for i in idx]), np.concatenate([D[i] for i in idx]))
    groups = np.repeat(np.arange(len(SIZES)), SIZES)
    return simulate_law("chinchilla", TRUTH, design=design, sigma=0.01, seed=0, group=groups)


@pytest.fixture(scope="module")
def pooled_fit(grouped_data):
    return bayescale.fit(grouped_data, seed=1, warmup=500, draws=500)


def true_n_opt(j, C):
    theta = {k: v[j] for k, v in TRUTH.items()}
    with jax.enable_x64():
        return float(CHINCHILLA.allocate(theta, [C]).N_opt[0])


def test_pooled_fit_recovers_each_group(pooled_fit):
    fit = pooled_fit
    assert fit.groups == ("g0", "g1", "g2")
    assert fit.ok, fit.diagnostics.problems
    assert fit.diagnostics.divergences == 0
    s = fit.summary(ci=0.9)
    assert (s["r_hat"] < 1.01).all()
    inside = [
        s.loc[f"{p}[g{j}]", "lo"] <= v[j] <= s.loc[f"{p}[g{j}]", "hi"]
        for p, v in TRUTH.items()
        for j in range(len(SIZES))
    ]
    # 15 group-level truths at 90%: allow the misses a calibrated posterior makes
    assert sum(inside) >= 13, s
    assert {"alpha_pop", "tau_alpha", "beta_pop", "tau_beta", "sigma"} <= set(s.index)
    C = 100 * float(fit.data.C.max())
    alloc = fit.allocation([C], ci=0.9)
    assert list(alloc["group"]) == ["g0", "g1", "g2"]
    for j, row in alloc.iterrows():
        assert row["N_opt_lo"] <= true_n_opt(j, C) <= row["N_opt_hi"]


def test_small_group_borrows_strength(grouped_data, pooled_fit):
    alone_data = grouped_data.subset(np.asarray(grouped_data.group) == "g2")
    assert len(alone_data) == 5
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bayescale.SamplingWarning)  # 5 runs, 6 parameters
        alone = bayescale.fit(alone_data, seed=1, target_accept=0.95)
    assert alone.groups is None  # one group is ungrouped data

    def width(x):
        lo, hi = np.quantile(x, [0.05, 0.95])
        return hi - lo

    for p in ("alpha", "beta"):
        assert width(pooled_fit.draws(p)[:, 2]) < 0.5 * width(alone.draws(p))
    C = 100 * float(grouped_data.C.max())
    pooled_n = np.log(pooled_fit.allocation_draws([C], group="g2")["N_opt"])
    alone_n = np.log(alone.allocation_draws([C])["N_opt"])
    assert width(pooled_n) < 0.5 * width(alone_n)


def test_group_api_and_storage(pooled_fit, tmp_path):
    fit = pooled_fit
    assert fit.samples["alpha"].shape[2] == 3 and fit.samples["sigma"].ndim == 2
    assert fit.theta("g1")["alpha"].shape == (fit.n_draws,)
    pred = fit.predict([1e9, 2e9], [2e10, 4e10], group="g0")
    assert pred.shape == (fit.n_draws, 2)
    with pytest.raises(ValueError, match="pass group="):
        fit.predict([1e9], [2e10])
    with pytest.raises(ValueError, match="no group 'g9'"):
        fit.allocation([1e23], group="g9")
    d = json.loads(fit.to_json(budgets=[1e23]))
    assert d["groups"] == ["g0", "g1", "g2"] and d["pooling"] == "partial"
    assert [a["group"] for a in d["allocations"]] == ["g0", "g1", "g2"]
    assert "alpha[g2]" in d["parameters"]
    assert fit.log_likelihood().shape == (4, 500, len(fit.data))
    path = tmp_path / "pooled.nc"
    fit.save(path)
    loaded = bayescale.load(path)
    assert loaded.groups == fit.groups
    assert loaded.to_json(budgets=[1e23]) == fit.to_json(budgets=[1e23])


def test_shared_and_unpooled_exponents(grouped_data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bayescale.SamplingWarning)
        shared = bayescale.fit(
            grouped_data, pooling="shared", warmup=100, draws=100, chains=2, escalate=False
        )
    assert shared.samples["alpha"].ndim == 2 and shared.samples["E"].ndim == 3
    assert "tau_alpha" not in shared.samples
    with pytest.raises(ValueError, match="unknown pooling 'full'"):
        bayescale.fit(grouped_data, pooling="full")


def test_grouped_runs_score_and_check(pooled_fit, grouped_data):
    from bayescale.checks.backtest import evaluate, split_holdout

    held = grouped_data.subset(np.arange(len(grouped_data)) % 10 == 0)
    summary, runs = evaluate(pooled_fit, held, (0.9,))
    assert summary["n_test"] == len(held) == len(runs)
    assert 0.0 <= summary["coverage_0.9"] <= 1.0 and np.isfinite(summary["mlpd"])
    assert bayescale.ppc(pooled_fit).coverage.shape == (2, 3)
    top = grouped_data.C >= np.sort(grouped_data.C)[-3]  # a group of only the largest runs
    labels = np.where(top, "big", "rest")
    odd = bayescale.ScalingData.from_arrays(
        N=grouped_data.N, D=grouped_data.D, loss=grouped_data.loss, group=labels
    )
    with pytest.raises(ValueError, match="groups big have no training runs"):
        split_holdout(odd, "largest", 0.2)
