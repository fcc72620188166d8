"""The sweep's own larger runs update its drift (bayescale.checks.drift_update)."""

import dataclasses
import warnings

import numpy as np
import pytest

import bayescale
from bayescale.checks.backtest import CHECK_FRAC, check_refit, split_holdout
from bayescale.checks.drift_update import (
    DriftUpdate,
    describe_reach,
    describe_update,
    drift_log_likelihood,
    reach_log_likelihood,
    update_drift,
    update_reach,
)
from bayescale.checks.simulate import HOFFMANN_PARAMS, simulate_runs
from bayescale.inference.likelihoods import log_mean_exp
from bayescale.laws.extrapolation import MEANS, REACH_SCALE, DriftGrid, reach_nodes


@pytest.fixture(scope="module")
def split():
    data = simulate_runs(HOFFMANN_PARAMS, sigma=0.01, seed=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bayescale.SamplingWarning)
        fit = bayescale.fit(
            data,
            chains=2,
            warmup=200,
            draws=200,
            seed=1,
            escalate=False,
            extrapolation_check=False,
        )
    past_mask, _ = split_holdout(data, "largest", CHECK_FRAC)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bayescale.SamplingWarning)
        past = check_refit(fit, data.subset(past_mask))
    return fit, past, data.subset(~past_mask)


def test_the_grid_likelihood_is_the_mean_over_past_draws_of_the_runs_joint_density(
    split, monkeypatch
):
    _, past, future = split
    axes = {"drift_level": np.array([-0.5, 0.2]), "drift_tilt": np.array([0.0, 1.5])}
    grid = DriftGrid(1.0, axes=axes)
    got = drift_log_likelihood(past, future, grid, n_law=16)
    # by hand: the same 16 evenly spaced draws, each grid point's drift set on all of them
    idx = np.unique(np.linspace(0, past.n_draws - 1, 16).astype(int))
    for j, (lv, tv) in enumerate(zip(grid.level, grid.tilt, strict=True)):
        # the compute check's runs at the population's median m (no draws of it: m = 1)
        samples = {
            k: v.reshape(past.n_draws, *v.shape[2:])[idx][None]
            for k, v in past.samples.items()
            if k != REACH_SCALE
        }
        samples["drift_level"] = np.full((1, idx.size), lv)
        samples["drift_tilt"] = np.full((1, idx.size), tv)
        one = dataclasses.replace(past, samples=samples, unconstrained=None)
        ll = one.log_likelihood(future).reshape(idx.size, -1).sum(axis=1)
        assert got[j] == pytest.approx(float(log_mean_exp(ll[:, None])[0]), rel=1e-10)
    assert len(set(np.round(got, 6))) == 4  # the drift changes the future runs' density
    # in chunks of 3 grid points (the last padded to 3) it is the same
    from bayescale.checks import drift_update

    monkeypatch.setattr(drift_update, "_CHUNK", 3 * 16 * len(future))
    np.testing.assert_allclose(drift_log_likelihood(past, future, grid, n_law=16), got, rtol=1e-12)


def test_runs_as_the_population_expects_narrow_the_drift_and_runs_off_it_widen_it(split):
    fit, past, future = split
    # the larger runs exactly where the population's mean drift puts them (a lean of
    # MEANS["drift_level"] towards lower loss beyond the smaller runs): a sweep that
    # extrapolates as sweeps typically do
    shape = past.samples["sigma"].shape
    lean = dataclasses.replace(
        past,
        samples={
            **past.samples,
            "drift_level": np.full(shape, MEANS["drift_level"]),
            "drift_tilt": np.zeros(shape),
        },
        unconstrained=None,
    )
    typical = dataclasses.replace(future, loss=np.median(lean.predict(future.N, future.D), axis=0))
    draws, calm = update_drift(fit, past, typical)
    assert set(draws) == {"drift_level", "drift_tilt"}
    assert draws["drift_level"].shape == fit.samples["sigma"].shape
    again, _ = update_drift(fit, past, typical)
    np.testing.assert_array_equal(draws["drift_tilt"], again["drift_tilt"])  # deterministic
    assert calm.scale_post < calm.scale_prior and calm.level_post[1] < calm.level_prior[1]
    assert abs(calm.level_post[0] - MEANS["drift_level"]) < calm.level_prior[1] / 2
    # the same runs 6% better than the law: the level moves up, the scale grows
    better = dataclasses.replace(future, loss=future.loss * 0.94)
    _, off = update_drift(fit, past, better)
    assert off.level_post[0] > off.level_prior[0] + off.level_prior[1]
    assert off.scale_post > off.scale_prior and off.edge_mass < 0.05
    text = describe_update(off.to_dict())
    assert "wider than the population's" in text and f"The {len(future)} largest" in text
    assert "narrower" in describe_update(calm.to_dict())
    assert isinstance(calm, DriftUpdate) and isinstance(calm.to_dict()["level_post"], list)


# ---------------------------------------------------------------------- beyond the N range
@pytest.fixture(scope="module")
def n_split(split):
    fit = split[0]
    data = fit.data
    past_mask, threshold = split_holdout(data, "largest_N", CHECK_FRAC)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bayescale.SamplingWarning)
        past = check_refit(fit, data.subset(past_mask))
    return fit, past, data.subset(~past_mask), threshold


def test_the_reach_likelihood_is_the_mean_over_past_draws_at_each_node(n_split):
    _, past, larger, _ = n_split
    got = reach_log_likelihood(past, larger)
    nodes, _ = reach_nodes()
    assert got.shape == nodes.shape
    for j in (0, 7, 14):
        samples = {**past.samples, REACH_SCALE: np.full(past.samples["sigma"].shape, nodes[j])}
        one = dataclasses.replace(past, samples=samples, unconstrained=None)
        ll = one.log_likelihood(larger).reshape(past.n_draws, -1).sum(axis=1)
        assert got[j] == pytest.approx(float(log_mean_exp(ll[:, None])[0]), rel=1e-10)
    assert np.ptp(got) > 1.0  # m changes the larger models' density


def test_larger_models_on_the_law_narrow_m_and_models_off_it_widen_it(n_split):
    fit, past, larger, threshold = n_split
    # simulated from the law itself: the larger models carry it exactly
    on, u_on = update_reach(fit, past, larger, threshold, 1.0)
    assert u_on.scale_prior == pytest.approx(1.0, abs=1e-9)  # the population's median
    assert u_on.scale_post < 0.7
    assert u_on.n_larger == len(larger) and u_on.threshold_N == threshold
    # the same models 5% above the law (2 of their predictive sds at m = 1, 1 nat beyond
    # the N range): the law does not carry to them
    off_runs = bayescale.ScalingData(N=larger.N, D=larger.D, loss=larger.loss * 1.05)
    off, u_off = update_reach(fit, past, off_runs, threshold, 0.1)
    assert u_off.scale_post > 1.5
    for draws in (on, off):
        assert draws.shape == fit.samples["sigma"].shape
        assert np.isin(draws, reach_nodes()[0]).all()
    assert np.mean(off) > 4 * np.mean(on)
    # deterministic for the fit's seed
    np.testing.assert_array_equal(update_reach(fit, past, larger, threshold, 1.0)[0], on)
    text = describe_reach(u_off.to_dict())
    assert f"Its {len(larger)} largest models" in text and "wider" in text
    assert "narrower" in describe_reach(u_on.to_dict())
