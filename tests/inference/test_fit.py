import json
import warnings

import numpy as np
import pytest

import bayescale
from bayescale.checks.simulate import HOFFMANN_PARAMS, simulate_runs
from bayescale.classic.approach3 import trace_counts as classic_trace_counts
from bayescale.inference.sampler import trace_counts
from bayescale.laws import CHINCHILLA
from bayescale.laws.optimum import allocate

PARAMS = CHINCHILLA.params

# Besiroglu et al. 2024, Table 1: 95% bootstrap intervals on the 240-run data
BESIROGLU_95 = {
    "E": (1.769, 1.871),
    "A": (285.2, 743.6),
    "B": (1042.4, 5810.3),
    "alpha": (0.317, 0.373),
    "beta": (0.331, 0.415),
}


def test_replicates_besiroglu_with_huber(chinchilla_huber_fit):
    fit = chinchilla_huber_fit
    assert fit.ok, fit.diagnostics.problems
    summary = fit.summary()
    for name, (lo, hi) in BESIROGLU_95.items():
        assert lo <= summary.loc[name, "median"] <= hi, name
    a = fit.exponents().loc["a", "median"]
    assert abs(a - 0.513) <= 0.020  # their estimate ± one bootstrap SE


@pytest.mark.parametrize("seed", [11, 12])
def test_recovers_known_parameters(seed):
    data = simulate_runs(HOFFMANN_PARAMS, sigma=0.01, seed=seed)
    fit = bayescale.fit(data, seed=seed, strict=True)
    summary = fit.summary(ci=0.9)
    for name, truth in HOFFMANN_PARAMS._asdict().items():
        row = summary.loc[name]
        assert row["lo"] <= truth <= row["hi"], (name, truth, row["lo"], row["hi"])
        assert row["r_hat"] < 1.01
    assert fit.diagnostics.divergences == 0
    # N_opt at 100x the largest simulated budget lies in its 90% interval
    C = 100 * float(data.C.max())
    alloc = fit.allocation([C], ci=0.9).iloc[0]
    with __import__("jax").enable_x64():
        true_N = float(allocate(CHINCHILLA, HOFFMANN_PARAMS, C).N_opt)
    assert alloc["N_opt_lo"] <= true_N <= alloc["N_opt_hi"]


def test_same_seed_same_json_and_no_retrace(chinchilla):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bayescale.SamplingWarning)
        first = bayescale.fit(chinchilla, warmup=150, draws=150, chains=2, seed=5, escalate=False)
        counts = dict(trace_counts)
        classic_counts = dict(classic_trace_counts)  # the classic fit that centres the chains
        second = bayescale.fit(chinchilla, warmup=150, draws=150, chains=2, seed=5, escalate=False)
        assert trace_counts == counts  # same shape and settings: nothing retraced
        assert classic_trace_counts == classic_counts
        # new data of the same shape (another seed's synthetic draw) reuses the sampler too
        other = chinchilla.subset(np.arange(len(chinchilla)))
        other = bayescale.ScalingData.from_arrays(N=other.N, D=other.D, loss=other.loss * 1.01)
        # (no retries: a retry samples with other settings, which compile their own sampler)
        bayescale.fit(other, warmup=150, draws=150, chains=2, seed=6, escalate=False)
        assert trace_counts == counts
        assert classic_trace_counts == classic_counts
    assert first.to_json() == second.to_json()
    different = json.loads(first.to_json())
    assert different["n_runs"] == 240


def test_summary_and_allocation_tables(small_fit):
    s = small_fit.summary(ci=0.8)
    # the law's parameters, the Student-t noise, the drift beyond the data (drawn, not fitted)
    assert list(s.index) == [*PARAMS, "sigma", "nu", "drift_level", "drift_tilt", "reach_scale"]
    assert list(s.columns) == ["mean", "sd", "median", "lo", "hi", "r_hat", "ess_bulk", "ess_tail"]
    assert (s["lo"] <= s["median"]).all() and (s["median"] <= s["hi"]).all()
    alloc = small_fit.allocation([1e22, 1e24], ci=0.5, ci_kind="hdi")
    assert list(alloc["budget"]) == [1e22, 1e24]
    np.testing.assert_array_less(alloc["N_opt_lo"], alloc["N_opt_hi"])
    # interval of the product respects the constraint draw by draw
    draws = small_fit.allocation_draws([1e24])
    np.testing.assert_allclose(6 * draws["N_opt"] * draws["D_opt"], 1e24, rtol=1e-13)


def test_json_structure(small_fit):
    d = json.loads(small_fit.to_json(budgets=[1e23], ci=0.9))
    assert set(d) >= {"n_runs", "ci", "parameters", "exponents", "allocations", "diagnostics"}
    drawn = {"drift_level", "drift_tilt", "reach_scale"}
    assert set(d["parameters"]) == {*PARAMS, "sigma", "nu", *drawn}
    e = d["extrapolation"]
    assert e["drift"] == 1.0 and e["budgets_over_C_max"] == [pytest.approx(1e23 / e["data_C_max"])]
    assert set(e["check"]) >= {"coverage", "excess", "reach", "method", "ok", "problem"}
    for p in d["parameters"].values():
        assert set(p) >= {"median", "mean", "lo", "hi", "r_hat", "ess_bulk"}
    assert set(d["exponents"]) == {"a", "b"}
    (alloc,) = d["allocations"]
    assert set(alloc) == {"budget", "N_opt", "D_opt", "tokens_per_param", "loss"}
    assert set(alloc["N_opt"]) == {"median", "lo", "hi"}
    assert set(d["diagnostics"]) >= {"r_hat_max", "ess_bulk_min", "divergences", "ok"}


def test_save_load_roundtrip(small_fit, tmp_path):
    path = tmp_path / "fit.nc"
    small_fit.save(path)
    loaded = bayescale.load(path)
    assert loaded.to_json() == small_fit.to_json()
    for k, v in small_fit.samples.items():
        np.testing.assert_array_equal(loaded.samples[k], v)
    assert loaded.summary().equals(small_fit.summary())


def test_load_rejects_foreign_and_corrupt_files(tmp_path):
    bad = tmp_path / "bad.nc"
    bad.write_bytes(b"not a netcdf file")
    with pytest.raises(ValueError, match="not a readable netCDF file"):
        bayescale.load(bad)
    with pytest.raises(ValueError, match="no such file"):
        bayescale.load(tmp_path / "missing.nc")
    import xarray as xr

    foreign = tmp_path / "foreign.nc"
    xr.Dataset({"x": ("i", np.arange(3.0))}).to_netcdf(foreign, engine="h5netcdf")
    with pytest.raises(ValueError, match="not a bayescale fit file"):
        bayescale.load(foreign)


def test_datatree_for_arviz(small_fit):
    import arviz as az

    tree = small_fit.to_datatree(log_likelihood=True)
    assert {"posterior", "sample_stats", "observed_data", "log_likelihood"} <= set(tree.children)
    assert tree["log_likelihood"]["log_loss"].shape == (2, 200, 240)
    assert float(az.rhat(tree)["alpha"]) == pytest.approx(small_fit.diagnostics.r_hat["alpha"])


def test_failed_diagnostics_warn_and_strict_raises(chinchilla):
    with pytest.warns(bayescale.SamplingWarning, match="ESS"):
        result = bayescale.fit(chinchilla, warmup=30, draws=30, chains=2, seed=0, escalate=False)
    assert not result.ok
    with pytest.raises(bayescale.SamplingError, match="ESS"):
        bayescale.fit(
            chinchilla, warmup=30, draws=30, chains=2, seed=0, strict=True, escalate=False
        )


def test_bad_data_and_budgets(small_fit):
    with pytest.raises(ValueError, match="must be a ScalingData"):
        bayescale.fit({"N": [1]})
    with pytest.raises(ValueError, match="budgets must be finite and > 0"):
        small_fit.allocation([1e24, -1])
    with pytest.raises(ValueError, match=r"ci must be a probability in \(0, 1\)"):
        small_fit.summary(ci=90)
