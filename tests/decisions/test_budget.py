"""Decisions under uncertainty: vectorised functions against brute-force loops over draws."""

import doctest
import math

import jax
import jax.numpy as jnp
import numpy as np
import numpyro.distributions as dist
import pytest
from _synthetic import CENTRE, K, draw, np_optimum, scalar_loss, synthetic_draws, synthetic_result
from scipy.optimize import brentq

import bayescale
from bayescale import decision_tables, decisions
from bayescale.decisions.budget import (
    as_plans,
    bayes_optimal,
    compute_for_loss,
    data_limited,
    expected_loss,
    regret,
)
from bayescale.laws import CHINCHILLA, DATA_CONSTRAINED
from bayescale.laws.chinchilla import ChinchillaParams
from bayescale.laws.optimum import allocate

S = 64  # one posterior size (and two budgets) throughout, so compiled functions are reused


@pytest.fixture(autouse=True)
def x64():
    with jax.enable_x64(True):
        yield


def compute_optimal(p, C):
    return allocate(CHINCHILLA, p, C)


def test_doctests():
    assert doctest.testmod(decisions).failed == 0
    assert doctest.testmod(decision_tables).failed == 0


def test_point_mass_bayes_plugin_and_per_draw_coincide():
    p = synthetic_draws(S=S, spread=0.0)
    C = [5.76e23, 1e26]
    r = bayes_optimal(p, C)
    closed = compute_optimal(draw(p, 0), np.asarray(C))
    for N in (r.N_bayes, r.N_plugin, r.N_median, r.N_draws[0], r.N_draws[-1]):
        np.testing.assert_allclose(N, closed.N_opt, rtol=1e-12)
    np.testing.assert_allclose(r.expected_loss_bayes, r.expected_loss_plugin, rtol=1e-14)
    np.testing.assert_allclose(r.expected_loss_bayes, r.expected_loss_oracle, rtol=1e-14)


def test_bayes_optimal_minimises_expected_loss_on_fine_grid():
    p = synthetic_draws(S=S, seed=1)
    r = bayes_optimal(p, [1e21, 1e24])
    for j, C in enumerate([1e21, 1e24]):
        N = np.exp(np.linspace(np.log(r.N_bayes[j] / 3), np.log(r.N_bayes[j] * 3), 20_001))
        grid = np.asarray(expected_loss(p, C, N))
        best = float(r.expected_loss_bayes[j])
        assert best <= grid.min() + 1e-13
        assert abs(np.log(N[np.argmin(grid)] / r.N_bayes[j])) < 2e-4
        # and it beats the plug-in and median choices (their excess is >= 0)
        assert r.expected_loss_plugin[j] >= best - 1e-15
        assert r.expected_loss_median[j] >= best - 1e-15


def test_bayes_pieces_against_loops_over_draws():
    p = synthetic_draws(S=S, seed=2)
    C = np.array([1e22, 3e24])
    r = bayes_optimal(p, C)
    for s in range(S):
        ref = compute_optimal(draw(p, s), C)
        np.testing.assert_allclose(r.N_draws[s], ref.N_opt, rtol=1e-12)
        np.testing.assert_allclose(r.loss_draws[s], ref.loss, rtol=1e-12)
    median = ChinchillaParams(*(float(np.median(x)) for x in p))
    np.testing.assert_allclose(r.N_plugin, compute_optimal(median, C).N_opt, rtol=1e-12)
    for j, c in enumerate(C):
        n = float(r.N_bayes[j])
        loop = np.mean([scalar_loss(draw(p, s), n, c / (K * n)) for s in range(S)])
        assert float(r.expected_loss_bayes[j]) == pytest.approx(loop, rel=1e-13)
        n = float(r.N_plugin[j])
        loop = np.mean([scalar_loss(draw(p, s), n, c / (K * n)) for s in range(S)])
        assert float(r.expected_loss_plugin[j]) == pytest.approx(loop, rel=1e-13)


def test_regret_nonnegative_on_every_draw():
    p = synthetic_draws(S=S, seed=3)
    N = np.geomspace(1e8, 1e13, 40)
    D = np.geomspace(1e13, 1e9, 40)
    r = regret(p, N, D)
    assert r.regret.shape == (S, 40)
    assert bool(jnp.all(r.regret >= 0))
    # not by clipping alone: the unclipped difference is >= 0 up to rounding
    assert float(jnp.min(r.loss_plan - r.loss_opt)) > -1e-13
    assert bool(jnp.all((r.compute_fraction > 0) & (r.compute_fraction <= 1)))


def test_regret_and_waste_against_brute_force_loops():
    p = synthetic_draws(S=S, seed=4)
    plans = as_plans(["70B/1.4T", "10B@5.76e23", (3e11, 2e11)])
    r = regret(p, [q.N for q in plans], [q.D for q in plans])
    for s in range(0, S, 8):
        ps = draw(p, s)
        E, _, _, alpha, beta = ps
        for j, q in enumerate(plans):
            # regret: plan loss minus the minimum over a fine grid along the budget line
            N = np.geomspace(q.N / 1e3, q.N * 1e3, 200_001)
            grid_min = scalar_loss(ps, N, q.C / (K * N)).min()
            L_plan = scalar_loss(ps, q.N, q.D)
            assert float(r.regret[s, j]) == pytest.approx(L_plan - grid_min, abs=1e-10)

            # compute-equivalent by a scalar root-finder on the closed-form frontier
            def gap(logc, ps=ps, target=L_plan):
                return np_optimum(ps, math.exp(logc))[2] - target

            log_eq = brentq(gap, np.log(q.C) - 60, np.log(q.C))
            frac = math.exp(log_eq - math.log(q.C))
            assert float(r.compute_fraction[s, j]) == pytest.approx(frac, rel=1e-8)
            # and the Chinchilla closed form: L*(C) − E ∝ C^(−αβ/(α+β))
            gap = float(r.loss_opt[s, j]) - E
            closed = (float(r.regret[s, j]) / gap + 1) ** (-(alpha + beta) / (alpha * beta))
            assert float(r.compute_fraction[s, j]) == pytest.approx(closed, rel=1e-9)


def test_plan_at_the_optimum_has_no_regret_and_no_waste():
    p = synthetic_draws(S=S, spread=0.0)
    N_opt = np_optimum(draw(p, 0), 1e24)[0]
    r = regret(p, N_opt, C=1e24)
    assert float(jnp.max(r.regret)) < 1e-14
    np.testing.assert_allclose(r.compute_fraction, 1.0, atol=1e-12)


def test_compute_for_loss_against_loops_and_unreachable_targets():
    p = synthetic_draws(S=S, seed=7)
    E = np.asarray(p.E)
    mixed = float(np.median(E))  # unreachable on about half the draws
    targets = [2.0, mixed, float(E.min()) - 0.05]
    r = compute_for_loss(p, targets)
    assert r.C.shape == (S, 3)
    # reachable iff the target is above the draw's irreducible loss
    np.testing.assert_array_equal(np.asarray(r.reachable), np.asarray(targets) > E[:, None])
    assert not bool(jnp.any(r.reachable[:, 2])) and bool(jnp.all(jnp.isnan(r.C[:, 2])))
    assert bool(jnp.all(jnp.isnan(r.C) == ~r.reachable))
    for s in range(0, S, 4):
        ps = draw(p, s)
        for j, t in enumerate(targets):
            if t <= ps.E:
                continue

            def gap(logc, ps=ps, t=t):
                return np_optimum(ps, math.exp(logc))[2] - t

            C_ref = math.exp(brentq(gap, 0.0, math.log(1e60), xtol=1e-14))
            assert float(r.C[s, j]) == pytest.approx(C_ref, rel=1e-9)
            N_ref, _, L_ref = np_optimum(ps, float(r.C[s, j]))
            assert float(r.N[s, j]) == pytest.approx(N_ref, rel=1e-12)
            assert L_ref == pytest.approx(t, rel=1e-12)


def test_data_cap_binding_and_not():
    p = synthetic_draws(S=S, seed=9)
    C = np.array([1e20, 1e24])
    loose = data_limited(p, C, 1e30)
    free = compute_optimal(p, C)
    assert not bool(jnp.any(loose.binds))
    np.testing.assert_allclose(loose.N, free.N_opt, rtol=1e-13)
    np.testing.assert_allclose(loose.loss, loose.loss_unconstrained, rtol=1e-15)
    assert bool(jnp.all(loose.C_bind > 1e24))

    tight = data_limited(p, C, 1e9)
    assert bool(jnp.all(tight.binds[:, 1]))
    np.testing.assert_allclose(tight.D[:, 1], 1e9, rtol=1e-13)
    np.testing.assert_allclose(tight.N[:, 1], 1e24 / (K * 1e9), rtol=1e-13)
    assert bool(jnp.all(tight.loss[:, 1] > tight.loss_unconstrained[:, 1]))
    assert float(tight.N_bayes[1]) >= 1e24 / (K * 1e9) * (1 - 1e-12)

    # the binding budget: D_opt(C_bind) = D_max, closed form k (G D_max)^((α+β)/α)
    _, A, B, alpha, beta = (np.asarray(x) for x in p)
    G = (alpha * A / (beta * B)) ** (1 / (alpha + beta))
    np.testing.assert_allclose(tight.C_bind, K * (G * 1e9) ** ((alpha + beta) / alpha), rtol=1e-10)
    np.testing.assert_array_equal(tight.binds, C[None, :] > np.asarray(tight.C_bind)[:, None])


def test_data_cap_against_brute_force_loop():
    p = synthetic_draws(S=S, seed=10)
    C, D_max = 1e24, 1.5e12
    r = data_limited(p, C, D_max)
    for s in range(0, S, 8):
        ps = draw(p, s)
        N = np.geomspace(C / (K * D_max), C / (K * D_max) * 1e3, 100_001)  # D <= D_max
        L = scalar_loss(ps, N, C / (K * N))
        assert float(r.N[s, 0]) == pytest.approx(N[np.argmin(L)], rel=2e-4)
        assert L.min() - 1e-9 <= float(r.loss[s, 0]) <= L.min() + 1e-13


def test_user_law_without_closed_form_matches_chinchilla():
    """A define_law law (numerical optimum, floor E) gives the closed-form law's decisions."""
    p = synthetic_draws(S=S, seed=12)
    q = {"E": p.E, "A": p.A, "B": p.B, "alpha": p.alpha, "beta": p.beta, "unused": p.E}

    def loss(q, N, D):
        return q["E"] + q["A"] / N ** q["alpha"] + q["B"] / D ** q["beta"]

    priors = {k: dist.LogNormal(0.0, 1.0) for k in ("E", "A", "B", "alpha", "beta")}
    law = bayescale.define_law("test_numeric_decisions", loss, priors, register=False)
    C = [1e21, 1e25]
    ref = bayes_optimal(p, C)
    num = bayes_optimal(q, C, law=law)
    np.testing.assert_allclose(num.N_draws, ref.N_draws, rtol=1e-9)
    np.testing.assert_allclose(num.N_bayes, ref.N_bayes, rtol=1e-9)
    np.testing.assert_allclose(num.expected_loss_bayes, ref.expected_loss_bayes, rtol=1e-12)
    rn, rr = regret(q, 7e10, 1.4e12, law=law), regret(p, 7e10, 1.4e12)
    np.testing.assert_allclose(rn.regret, rr.regret, atol=1e-11)
    np.testing.assert_allclose(rn.compute_fraction, rr.compute_fraction, rtol=1e-8)
    tn = compute_for_loss(q, [2.0], law=law)
    np.testing.assert_allclose(tn.floor, p.E)
    np.testing.assert_allclose(tn.C, compute_for_loss(p, [2.0]).C, rtol=1e-9)
    dn, dr = data_limited(q, C, 1e12, law=law), data_limited(p, C, 1e12)
    np.testing.assert_allclose(dn.C_bind, dr.C_bind, rtol=1e-8)


def test_law_without_floor_parameter_has_floor_zero():
    from bayescale.laws import KAPLAN, KAPLAN_PARAMS

    theta = {k: np.full(4, v) for k, v in KAPLAN_PARAMS.items()}
    r = compute_for_loss(theta, [2.0, 1.0], law=KAPLAN)
    np.testing.assert_array_equal(r.floor, 0.0)
    assert bool(jnp.all(r.reachable))


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda p: bayes_optimal(p, [-1.0]), r"budgets must be finite and > 0 \(FLOPs\)"),
        (lambda p: bayes_optimal(p, "1e24"), "budgets must be numbers"),
        (lambda p: regret(p, 7e10), "give exactly one of D"),
        (lambda p: regret(p, 7e10, 1.4e12, C=1e24), "give exactly one of D"),
        (lambda p: regret(p, [1e9, 2e9], [1e10, 2e10, 3e10]), "same length"),
        (lambda p: data_limited(p, 1e24, [1e9, 1e10]), "D_max must be one number"),
        (lambda p: compute_for_loss(p, [0.0]), "target_loss must be finite and > 0"),
        (lambda p: bayes_optimal(p, 1e24, law="chinchilla"), "law must be a bayescale Law"),
        (lambda p: bayes_optimal({"E": p.E}, 1e24), r"theta lacks parameter\(s\) \['A'"),
        (lambda p: bayes_optimal([1.0, 2.0], 1e24), "theta must map the parameters"),
        (
            lambda p: bayes_optimal(p, 1e24, covariates={"U_D": 1e10}),
            "takes no covariate",
        ),
        (
            lambda p: bayes_optimal(
                {**p._asdict(), "R_D_star": p.E, "R_N_star": p.E}, 1e24, law=DATA_CONSTRAINED
            ),
            "needs U_D",
        ),
        (
            lambda p: bayes_optimal(p._replace(E=np.ones(3)), 1e24),
            r"leaves must all have shape \(n_draws,\)",
        ),
        (
            lambda p: bayes_optimal(p, 1e24, flops_per_param_token=0),
            "flops_per_param_token must be a number > 0",
        ),
    ],
)
def test_validation_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call(synthetic_draws(S=4))


def test_centre_matches_published_allocation():
    # sanity of the synthetic posterior: its centre is Besiroglu et al.'s fit (a ≈ 0.513)
    a = CENTRE.beta / (CENTRE.alpha + CENTRE.beta)
    assert a == pytest.approx(0.513, abs=1e-3)


def test_loss_profile_over_budgets_matches_loop():
    p = synthetic_draws(S=S, seed=13)
    C = np.array([1e21, 1e24])
    grids = np.array([np.geomspace(1e8, 1e11, 5), np.geomspace(1e10, 1e13, 5)])
    prof = np.asarray(decisions.loss_profile(p, C, grids))
    assert prof.shape == (S, 2, 5)
    for s in range(0, S, 16):
        for j in range(2):
            for g in range(5):
                N = grids[j, g]
                ref = scalar_loss(draw(p, s), N, C[j] / (K * N))
                assert prof[s, j, g] == pytest.approx(ref, rel=1e-13)
    one = np.asarray(decisions.loss_profile(p, 1e21, grids[0]))
    np.testing.assert_allclose(one, prof[:, 0], rtol=1e-15)
    with pytest.raises(ValueError, match=r"N must be finite sizes > 0 of shape"):
        decisions.loss_profile(p, C, np.ones((3, 5)))


def test_decisions_follow_the_fitted_law(chinchilla):
    """Kaplan (closed-form optimum, no asymptote) routes through the same decision code."""
    import warnings

    import bayescale

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bayescale.SamplingWarning)
        fit = bayescale.fit(
            chinchilla, law="kaplan", warmup=200, draws=200, chains=2, seed=1, escalate=False
        )
    best = fit.bayes_optimal([1e23]).iloc[0]
    alloc = fit.allocation([1e23], ci=0.9).iloc[0]
    # the Bayes choice sits inside the posterior of the per-draw optima of this law
    assert alloc["N_opt_lo"] <= best["N_bayes"] <= alloc["N_opt_hi"]
    risk = fit.regret("70B/1.4T").iloc[0]
    assert risk["loss_plan"] >= risk["loss_opt"] and risk["waste"] >= 0
    need = fit.compute_for_loss([2.0]).iloc[0]
    # Kaplan has no floor; beyond the data the drift (linear in log compute) makes the
    # optimum's loss stop improving on a few draws far out, which never reach the target
    assert need["floor"] == 0.0 and 0.9 <= need["p_reachable"] <= 1.0
    assert fit.with_drift(0).compute_for_loss([2.0]).iloc[0]["p_reachable"] == 1.0


def test_pooled_fit_decides_per_group():
    """A pooled fit needs group=; each group's table is that group's draws' decision."""
    import dataclasses

    res = synthetic_result(S=S, seed=14)
    samples = dict(res.samples)
    samples["E"] = np.stack([samples["E"], samples["E"] + 0.05], axis=-1)  # two groups
    pooled = dataclasses.replace(res, samples=samples, groups=("a", "b"))
    with pytest.raises(ValueError, match="pass group="):
        pooled.bayes_optimal([1e22])
    tab = pooled.compute_for_loss([2.0], group="b")
    theta = pooled.theta("b")
    ref = decision_tables.compute_for_loss_table(theta, [2.0])
    assert tab["C"][0] == pytest.approx(ref["C"][0], rel=1e-12)
    assert tab["floor"][0] == pytest.approx(np.median(res.draws("E") + 0.05), rel=1e-12)
