"""Fitting laws other than the default: recovery, LOO, PPC, fixed parameters, storage."""

import json
import math
import warnings

import jax
import numpy as np
import numpyro.distributions as dist
import pytest

import bayescale
from bayescale.checks.simulate import (
    HOFFMANN_PARAMS,
    chinchilla_design,
    simulate_law,
    simulate_runs,
)
from bayescale.laws import DATA_CONSTRAINED, KAPLAN, KAPLAN_PARAMS, MUENNIGHOFF_PARAMS, Shear


def assert_recovers(fit, truth, law, budget_factor=100.0, covariates=None):
    assert fit.ok, fit.diagnostics.problems
    summary = fit.summary(ci=0.9)
    for name, value in truth.items():
        row = summary.loc[name]
        assert row["lo"] <= value <= row["hi"], (name, value, row["lo"], row["hi"])
        assert row["r_hat"] < 1.01
    C = budget_factor * float(fit.data.C.max())
    alloc = fit.allocation([C], ci=0.9, **(covariates or {})).iloc[0]
    with jax.enable_x64():
        true_N = float(law.allocate(truth, [C], 6.0, covariates).N_opt[0])
    assert alloc["N_opt_lo"] <= true_N <= alloc["N_opt_hi"]


@pytest.fixture(scope="module")
def kaplan_data():
    return simulate_law("kaplan", KAPLAN_PARAMS, sigma=0.01, seed=1)


@pytest.fixture(scope="module")
def kaplan_fit(kaplan_data):
    return bayescale.fit(kaplan_data, law="kaplan", seed=1)


def test_kaplan_recovers_known_parameters(kaplan_fit):
    assert kaplan_fit.fitted_law is KAPLAN
    assert list(kaplan_fit.summary().index) == [
        *("N_c", "D_c", "alpha_N", "alpha_D"),
        *("sigma", "nu", "drift_level", "drift_tilt", "reach_scale"),
    ]
    assert_recovers(kaplan_fit, KAPLAN_PARAMS, KAPLAN)
    a = kaplan_fit.exponents(ci=0.9).loc["a"]
    assert a["lo"] <= 0.103 / (0.076 + 0.103) <= a["hi"]


def dc_design():
    N, D = chinchilla_design()
    rng = np.random.default_rng(0)
    epochs = np.exp(rng.uniform(0.0, math.log(60.0), D.shape))
    U = np.where(rng.uniform(size=D.shape) < 0.3, D, D / epochs)  # 30% single-epoch runs
    return N, D, U


def test_data_constrained_recovers_known_parameters():
    N, D, U = dc_design()
    data = simulate_law(
        "data_constrained", MUENNIGHOFF_PARAMS, design=(N, D), sigma=0.01, seed=1, U_D=U
    )
    fit = bayescale.fit(data, law="data_constrained", seed=1)
    assert_recovers(fit, MUENNIGHOFF_PARAMS, DATA_CONSTRAINED, covariates={"U_D": 1e11})
    assert fit.exponents().empty  # no power-law optimum
    # by default the allocation uses the data's largest unique-token count
    d = json.loads(fit.to_json(budgets=[1e22]))
    assert d["allocation_covariates"] == {"U_D": pytest.approx(float(U.max()))}
    assert np.isfinite(d["allocations"][0]["N_opt"]["median"])


def test_loo_prefers_the_law_that_generated_the_data(kaplan_data, kaplan_fit):
    chinchilla_fit = bayescale.fit(kaplan_data, seed=1)
    table = bayescale.compare({"chinchilla": chinchilla_fit, "kaplan": kaplan_fit})
    assert list(table.index) == ["kaplan", "chinchilla"]
    worse = table.loc["chinchilla"]
    assert worse["elpd_diff"] < -4 * worse["dse"]
    assert table.loc["kaplan", "weight"] > 0.9
    assert set(table.columns) >= {"elpd_loo", "se", "p_loo", "elpd_waic", "pareto_k_max"}


def test_posterior_predictive_intervals_are_calibrated(kaplan_fit):
    check = bayescale.ppc(kaplan_fit, ci=(0.5, 0.9))
    cov = check.coverage.set_index("level")
    n = len(kaplan_fit.data)
    for level in (0.5, 0.9):
        # binomial 99% band around the nominal level
        band = 2.58 * math.sqrt(level * (1 - level) / n)
        assert abs(cov.loc[level, "loo"] - level) <= band
        assert abs(cov.loc[level, "in_sample"] - level) <= band
    assert ((check.statistics["p_value"] > 0.01) & (check.statistics["p_value"] < 0.99)).all()
    assert {"lo_0.9", "hi_0.9", "pit", "loo_pit"} <= set(check.runs.columns)


def test_waic_agrees_with_loo_on_a_well_specified_fit(kaplan_fit):
    w = bayescale.waic(kaplan_fit)
    elpd = bayescale.loo(kaplan_fit)
    assert w["elpd_waic"] == pytest.approx(float(elpd.elpd), abs=2.0)
    assert w["n_high_variance"] == 0


def test_other_law_save_load_roundtrip(kaplan_fit, tmp_path):
    path = tmp_path / "kaplan.nc"
    kaplan_fit.save(path)
    loaded = bayescale.load(path)
    assert loaded.fitted_law is KAPLAN
    assert loaded.to_json() == kaplan_fit.to_json()
    with pytest.raises(ValueError, match="theta"):
        kaplan_fit.params()


def shared_exponent_loss(p, N, D):
    return p["E"] + p["A"] / N ** p["alpha"] + p["B"] / D ** p["alpha"]


def test_user_defined_law_gets_fitting_allocation_and_storage(tmp_path):
    law = bayescale.define_law(
        "test_user_shared_exponent",
        shared_exponent_loss,
        priors={
            "E": dist.LogNormal(0.5, 0.75),
            "A": dist.LogNormal(7.0, 3.0),
            "B": dist.LogNormal(7.0, 3.0),
            "alpha": dist.LogNormal(math.log(0.35), 0.6),
        },
        shears=(Shear("a_c", "A", "alpha", "log_N"), Shear("b_c", "B", "alpha", "log_D")),
        overwrite=True,
    )
    truth = {"E": 1.8, "A": 500.0, "B": 1500.0, "alpha": 0.33}
    data = simulate_law(law, truth, sigma=0.01, seed=2)
    fit = bayescale.fit(data, law="test_user_shared_exponent", seed=2)
    assert_recovers(fit, truth, law)  # numerical allocation, no closed form given
    path = tmp_path / "user.nc"
    fit.save(path)
    assert bayescale.load(path).to_json() == fit.to_json()


def test_fixed_asymptote(tmp_path):
    data = simulate_runs(HOFFMANN_PARAMS, sigma=0.01, seed=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bayescale.SamplingWarning)
        fit = bayescale.fit(
            data, priors={"E": 1.69337368}, warmup=300, draws=300, seed=3, escalate=False
        )
    assert "E" not in fit.samples and fit.fixed == {"E": 1.69337368}
    assert list(fit.summary().index) == [
        *("A", "B", "alpha", "beta"),
        *("sigma", "nu", "drift_level", "drift_tilt", "reach_scale"),
    ]
    np.testing.assert_array_equal(fit.params().E, 1.69337368)
    d = json.loads(fit.to_json(budgets=[1e23]))
    assert d["fixed"] == {"E": 1.69337368}
    path = tmp_path / "fixed.nc"
    fit.save(path)
    assert bayescale.load(path).to_json() == fit.to_json()
    with pytest.raises(ValueError, match="fixed value of 'E' must be finite and > 0"):
        bayescale.fit(data, priors={"E": -1.0})
    with pytest.raises(ValueError, match="no parameter 'E' to put a prior on for law 'kaplan'"):
        bayescale.fit(data, law="kaplan", priors={"N_c": 1e13, "E": dist.LogNormal(0, 1)})


def test_refitting_a_law_reuses_the_compiled_sampler(kaplan_fit):
    from bayescale.inference.sampler import trace_counts

    other = simulate_law("kaplan", KAPLAN_PARAMS, sigma=0.01, seed=7)
    assert len(other) == len(kaplan_fit.data)
    before = dict(trace_counts)
    bayescale.fit(other, law="kaplan", seed=7)
    assert trace_counts == before
