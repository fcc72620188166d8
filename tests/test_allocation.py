import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bayescale.allocation import compute_optimal, optimal_exponents
from bayescale.law import ChinchillaParams, log_loss_elementwise
from bayescale.simulate import HOFFMANN_PARAMS

finite = dict(allow_nan=False, allow_infinity=False)
params_st = st.builds(
    ChinchillaParams,
    E=st.floats(0.5, 3, **finite),
    A=st.floats(1, 1e5, **finite),
    B=st.floats(1, 1e5, **finite),
    alpha=st.floats(0.05, 1.0, **finite),
    beta=st.floats(0.05, 1.0, **finite),
)


def test_hoffmann_gopher_budget():
    with jax.enable_x64():
        alloc = compute_optimal(HOFFMANN_PARAMS, 5.76e23)
        a, b = optimal_exponents(HOFFMANN_PARAMS)
        total = float(a + b)
    assert float(alloc.N_opt) == pytest.approx(4.04e10, rel=2e-3)
    assert float(a) == pytest.approx(0.457, abs=5e-4)
    assert total == pytest.approx(1.0, rel=1e-15)


@given(params=params_st, logC=st.floats(40, 70, **finite), k=st.sampled_from([6.0, 8.0]))
def test_constraint_holds_and_gradient_vanishes(params, logC, k):
    C = float(np.exp(logC))
    with jax.enable_x64():
        alloc = compute_optimal(params, C, k)
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
    rng = np.random.default_rng(1)
    S = 50
    p = ChinchillaParams(
        rng.uniform(1.5, 2, S),
        rng.uniform(300, 600, S),
        rng.uniform(300, 3000, S),
        rng.uniform(0.3, 0.4, S),
        rng.uniform(0.25, 0.4, S),
    )
    C = np.array([1e21, 1e23, 1e25])
    with jax.enable_x64():
        alloc = compute_optimal(p, C)
        ref = [compute_optimal(ChinchillaParams(*(x[i] for x in p)), C) for i in range(3)]
    assert alloc.N_opt.shape == (S, 3)
    for i in range(3):
        np.testing.assert_allclose(alloc.N_opt[i], ref[i].N_opt, rtol=1e-14)
        np.testing.assert_allclose(alloc.loss[i], ref[i].loss, rtol=1e-14)
    np.testing.assert_allclose(alloc.tokens_per_param, alloc.D_opt / alloc.N_opt)


def test_optimum_beats_grid_along_constraint():
    C = 1e24
    with jax.enable_x64():
        alloc = compute_optimal(HOFFMANN_PARAMS, C)
        N = np.geomspace(1e9, 1e13, 4001)
        D = C / (6 * N)
        E, A, B, alpha, beta = HOFFMANN_PARAMS
        grid = E + A / N**alpha + B / D**beta
    assert float(alloc.loss) <= grid.min() + 1e-12
    assert float(alloc.N_opt) == pytest.approx(N[np.argmin(grid)], rel=5e-3)
