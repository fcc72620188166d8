"""The one compute-optimal solver: closed forms, the numerical search and its edge rule."""

import doctest

import jax
import jax.numpy as jnp
import numpy as np
import numpyro.distributions as dist
import pytest
from hypothesis import given
from hypothesis import strategies as st

import bayescale
from bayescale.checks.simulate import HOFFMANN_PARAMS, simulate_runs
from bayescale.decisions.budget import bayes_optimal, data_limited, regret
from bayescale.inference.diagnostics import Diagnostics
from bayescale.inference.settings import FitSettings
from bayescale.laws import (
    _BUILTIN,
    CHINCHILLA,
    DATA_CONSTRAINED,
    KAPLAN_PARAMS,
    LAWS,
    MUENNIGHOFF_PARAMS,
    optimum,
)
from bayescale.laws.chinchilla import ChinchillaParams, log_loss_elementwise
from bayescale.laws.optimum import SEARCH_HALF_WIDTH, allocate, numerical_log_n_opt
from bayescale.result import FitResult

finite = dict(allow_nan=False, allow_infinity=False)
params_st = st.builds(
    ChinchillaParams,
    E=st.floats(0.5, 3, **finite),
    A=st.floats(1, 1e5, **finite),
    B=st.floats(1, 1e5, **finite),
    alpha=st.floats(0.05, 1.0, **finite),
    beta=st.floats(0.05, 1.0, **finite),
)
#: Published Chinchilla values (Hoffmann et al. 2022, rounded).
CHIN = {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28}
BUDGETS = np.array([1e20, 1e22, 5.76e23, 1e25])


@pytest.fixture(autouse=True)
def x64():
    with jax.enable_x64(True):
        yield


def chinchilla_loss(p, N, D):
    return p["E"] + p["A"] / N ** p["alpha"] + p["B"] / D ** p["beta"]


#: The Chinchilla kernel as a user law without a closed form: numerical optimum only.
NUMERIC = bayescale.define_law(
    "test_numeric_chinchilla",
    chinchilla_loss,
    {
        "E": dist.LogNormal(0.5, 0.75),
        "A": dist.LogNormal(6.0, 3.0),
        "B": dist.LogNormal(6.0, 3.0),
        "alpha": dist.LogNormal(-1.1, 0.5),
        "beta": dist.LogNormal(-1.1, 0.5),
    },
    register=False,
)


def closed_log_n(p, C, k=6.0):
    """Hoffmann et al.'s closed form in NumPy, the independent reference."""
    a, b = np.asarray(p["alpha"]), np.asarray(p["beta"])
    log_G = (np.log(a * np.asarray(p["A"]) / (b * np.asarray(p["B"])))) / (a + b)
    return log_G[..., None] + (b / (a + b))[..., None] * np.log(np.asarray(C) / k)


def near(values, S, seed, rel=0.05):
    """S draws scattered around published values (A, B, ... by ±rel, lognormal)."""
    rng = np.random.default_rng(seed)
    return {k: v * np.exp(rel * rng.standard_normal(S)) for k, v in values.items()}


def test_doctests():
    assert doctest.testmod(optimum).failed == 0


# --------------------------------------------------------------------------- closed form
def test_hoffmann_gopher_budget():
    alloc = allocate(CHINCHILLA, HOFFMANN_PARAMS, 5.76e23)
    exps = CHINCHILLA.exponents(HOFFMANN_PARAMS._asdict())
    assert float(alloc.N_opt) == pytest.approx(4.04e10, rel=2e-3)
    assert float(exps["a"]) == pytest.approx(0.457, abs=5e-4)
    assert float(exps["a"] + exps["b"]) == pytest.approx(1.0, rel=1e-15)


@given(params=params_st, logC=st.floats(40, 70, **finite), k=st.sampled_from([6.0, 8.0]))
def test_constraint_holds_and_gradient_vanishes(params, logC, k):
    C = float(np.exp(logC))
    with jax.enable_x64():
        alloc = allocate(CHINCHILLA, params, C, k)
        N, D = float(alloc.N_opt), float(alloc.D_opt)
        assert k * N * D == pytest.approx(C, rel=1e-14)

        E, A, B, alpha, beta = params

        def loss_along_constraint(logN):
            logD = jnp.log(C / k) - logN
            return log_loss_elementwise(E, jnp.log(A), jnp.log(B), alpha, beta, logN, logD)

        grad = float(jax.grad(loss_along_constraint)(jnp.log(N)))
        curvature = float(jax.hessian(loss_along_constraint)(jnp.log(N)))
    # first-order optimality, relative to the curvature scale of the profile
    assert abs(grad) <= 1e-8 * max(1.0, abs(curvature))
    assert curvature > 0


def test_shapes_over_draws_and_budgets():
    p = near(CHIN, 50, seed=1)
    alloc = allocate(CHINCHILLA, p, BUDGETS)
    ref = [allocate(CHINCHILLA, {k: v[i] for k, v in p.items()}, BUDGETS) for i in range(3)]
    assert alloc.N_opt.shape == (50, 4)
    for i in range(3):
        np.testing.assert_allclose(alloc.N_opt[i], ref[i].N_opt, rtol=1e-14)
        np.testing.assert_allclose(alloc.loss[i], ref[i].loss, rtol=1e-14)
    np.testing.assert_allclose(alloc.tokens_per_param, alloc.D_opt / alloc.N_opt)
    np.testing.assert_allclose(np.log(alloc.N_opt), closed_log_n(p, BUDGETS), rtol=1e-13)


def test_optimum_beats_grid_along_constraint():
    C = 1e24
    alloc = allocate(CHINCHILLA, HOFFMANN_PARAMS, C)
    N = np.geomspace(1e9, 1e13, 4001)
    grid = chinchilla_loss(HOFFMANN_PARAMS._asdict(), N, C / (6 * N))
    assert float(alloc.loss) <= grid.min() + 1e-12
    assert float(alloc.N_opt) == pytest.approx(N[np.argmin(grid)], rel=5e-3)


# --------------------------------------------------------------------------- numerical search
def test_numerical_search_matches_chinchilla_closed_form():
    """Grid + golden section + Newton on the Chinchilla kernel: the closed form to 1e-8."""
    p = near(CHIN, 300, seed=2)
    p["alpha"] = np.clip(p["alpha"], 0.25, 0.45)
    p["beta"] = np.clip(p["beta"], 0.2, 0.4)
    want = np.exp(closed_log_n(p, BUDGETS))
    got = np.asarray(allocate(NUMERIC, p, BUDGETS).N_opt)
    assert np.all(np.isfinite(got))
    np.testing.assert_allclose(got, want, rtol=1e-8)
    # and the elementwise entry point with one budget per draw
    log_c = np.log(BUDGETS[np.arange(300) % 4] / 6.0)
    x = np.asarray(numerical_log_n_opt(CHINCHILLA.log_loss, p, log_c))
    np.testing.assert_allclose(np.exp(x), want[np.arange(300), np.arange(300) % 4], rtol=1e-8)


def test_edge_rule_nan_beyond_the_range_and_exact_inside():
    """NaN iff the optimum lies beyond ±12 nats of log sqrt(C/k) (to half a grid step)."""
    beta = np.linspace(0.05, 0.6, 200)
    p = {"E": np.full(200, 1.7), "A": np.full(200, 400.0), "B": np.full(200, 400.0)}
    p.update(alpha=np.full(200, 0.5), beta=beta)
    C = np.array([1e24])
    offset = closed_log_n(p, C)[:, 0] - 0.5 * np.log(C[0] / 6.0)
    outside = np.abs(offset) > SEARCH_HALF_WIDTH + 0.25
    inside = np.abs(offset) < SEARCH_HALF_WIDTH - 0.25
    assert outside.sum() > 20 and inside.sum() > 20  # both sides are exercised
    a = allocate(NUMERIC, p, C)
    N = np.asarray(a.N_opt)[:, 0]
    assert np.all(np.isnan(N[outside])) and np.all(np.isnan(np.asarray(a.loss)[outside, 0]))
    np.testing.assert_allclose(N[inside], np.exp(closed_log_n(p, C)[inside, 0]), rtol=1e-8)
    # decisions use the same rule: per-draw NaN at the same draws, Bayes choice NaN
    r = bayes_optimal(p, C, law=NUMERIC)
    np.testing.assert_array_equal(np.isnan(np.asarray(r.N_draws)[:, 0]), np.isnan(N))
    assert np.isnan(float(r.N_bayes[0]))
    inner = {k: v[inside] for k, v in p.items()}
    assert np.isfinite(float(bayes_optimal(inner, C, law=NUMERIC).N_bayes[0]))


def test_edge_rule_propagates_into_regret_and_data_cap():
    p = {"E": np.array([1.7, 1.7]), "A": np.array([400.0, 400.0])}
    p.update(B=np.array([400.0, 400.0]), alpha=np.array([0.34, 0.5]), beta=[0.28, 0.05])
    r = regret(p, 7e10, 1.4e12, law=NUMERIC)
    assert np.isfinite(float(r.regret[0, 0])) and np.isnan(float(r.regret[1, 0]))
    assert np.isnan(float(r.compute_fraction[1, 0]))
    cap = data_limited(p, [1e24], 1e12, law=NUMERIC)
    assert np.isnan(float(cap.N[1, 0])) and np.isnan(float(cap.N_bayes[0]))


# --------------------------------------------------------------------------- one path
def law_cases():
    tails = dict(HOFFMANN_PARAMS._asdict())
    cases = {
        "chinchilla": (near(CHIN, 200, seed=3), None),
        "kaplan": (near(KAPLAN_PARAMS, 200, seed=4), None),
        "data_constrained": (near(MUENNIGHOFF_PARAMS, 200, seed=5), {"U_D": 3e10}),
    }
    # a user law without a closed form; one draw with ~1e8 tokens per parameter at 1e25
    numeric = near(tails, 200, seed=6)
    # (log G = -2, a = 0.37: log N_opt - log sqrt(C/k) = -9.2 nats at 1e25 FLOPs)
    numeric["alpha"][0], numeric["beta"][0] = 0.34, 0.2
    numeric["A"][0] = 0.2 * numeric["B"][0]
    cases["test_numeric_chinchilla"] = (numeric, None)
    return cases


def test_every_builtin_law_is_covered():
    # the built-in laws (other tests register user laws of their own)
    assert set(_BUILTIN) <= set(law_cases())


@pytest.mark.parametrize("name", list(law_cases()))
def test_allocation_and_bayes_optimal_share_the_per_draw_optimum(name):
    law = NUMERIC if name == NUMERIC.name else LAWS[name]
    theta, cov = law_cases()[name]
    alloc = allocate(law, theta, BUDGETS, 6.0, cov)
    best = bayes_optimal(theta, BUDGETS, law=law, covariates=cov)
    N = np.asarray(alloc.N_opt)
    assert np.isfinite(N).all()
    np.testing.assert_allclose(np.asarray(best.N_draws), N, rtol=1e-13)
    np.testing.assert_allclose(np.asarray(best.loss_draws), np.asarray(alloc.loss), rtol=1e-13)
    # plans at each draw's optimum have no regret: the same optimum again
    r = regret(theta, N[:, 2], C=np.full(200, BUDGETS[2]), law=law, covariates=cov, waste=False)
    np.testing.assert_allclose(np.diagonal(np.asarray(r.N_opt)), N[:, 2], rtol=1e-13)
    if name == NUMERIC.name:  # the far-from-Chinchilla draw is right, not clamped
        assert N[0, 3] / alloc.D_opt[0, 3] < 1e-7
        np.testing.assert_allclose(N, np.exp(closed_log_n(theta, BUDGETS)), rtol=1e-8)


def test_fit_result_allocation_and_bayes_optimal_agree_for_a_numerical_law():
    """FitResult.allocation() and .bayes_optimal() on the data-constrained law (U_D default)."""
    S, chains = 200, 2
    theta = near(MUENNIGHOFF_PARAMS, S, seed=7)
    runs = simulate_runs(HOFFMANN_PARAMS, seed=0)
    U = np.full(len(runs), 2e10)
    data = bayescale.ScalingData.from_arrays(N=runs.N, D=runs.D, loss=runs.loss, U_D=U)
    samples = {k: v.reshape(chains, -1) for k, v in theta.items()}
    samples["sigma"] = np.full((chains, S // chains), 0.01)
    names = list(samples)
    result = FitResult(
        data=data,
        settings=FitSettings(chains=chains, draws=S // chains),
        samples=samples,
        stats={"diverging": np.zeros((chains, S // chains), bool)},
        diagnostics=Diagnostics(
            r_hat=dict.fromkeys(names, 1.0),
            ess_bulk=dict.fromkeys(names, 1e3),
            ess_tail=dict.fromkeys(names, 1e3),
            divergences=0,
            tree_depth_saturated=0,
            bfmi=[1.0, 1.0],
            mean_steps=30.0,
            problems=[],
        ),
        priors={k: "synthetic" for k in names},
        law=DATA_CONSTRAINED,
    )
    draws = result.allocation_draws(BUDGETS)["N_opt"]
    assert np.isfinite(draws).all()
    table = result.bayes_optimal(BUDGETS)
    np.testing.assert_allclose(table["N_opt"], np.median(draws, axis=0), rtol=1e-13)
    np.testing.assert_allclose(table["N_opt"], result.allocation(BUDGETS)["N_opt"], rtol=1e-13)
    # U_D defaults to the data's largest value: a smaller one moves the optimum
    other = result.bayes_optimal(BUDGETS, U_D=2e9)
    assert not np.allclose(other["N_opt"], table["N_opt"], rtol=1e-3)
