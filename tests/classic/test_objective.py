import math

import jax
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bayescale.classic import objective as law
from bayescale.laws import CHINCHILLA

finite = dict(allow_nan=False, allow_infinity=False)


def reference_log_loss(E, A, B, alpha, beta, N, D):
    return np.log(E + A / N**alpha + B / D**beta)


@given(
    E=st.floats(0.1, 5, **finite),
    A=st.floats(1e-2, 1e8, **finite),
    B=st.floats(1e-2, 1e8, **finite),
    alpha=st.floats(0.01, 1.5, **finite),
    beta=st.floats(0.01, 1.5, **finite),
    logN=st.floats(math.log(1e3), math.log(1e15), **finite),
    logD=st.floats(math.log(1e3), math.log(1e15), **finite),
)
def test_kernel_matches_numpy_float64(E, A, B, alpha, beta, logN, logD):
    p = law.ChinchillaParams(E, A, B, alpha, beta)
    with jax.enable_x64():
        x = {"log_N": np.array([logN]), "log_D": np.array([logD])}
        got = float(CHINCHILLA.predict_log_loss(p._asdict(), x)[0])
    want = reference_log_loss(E, A, B, alpha, beta, math.exp(logN), math.exp(logD))
    assert got == pytest.approx(want, rel=1e-12, abs=1e-14)


def test_kernel_shapes_broadcast_over_parameter_batch():
    rng = np.random.default_rng(0)
    S, R = (3, 4), 7
    p = law.ChinchillaParams(
        *(rng.uniform(0.2, 2.0, S) for _ in range(3)),
        *(rng.uniform(0.2, 0.5, S) for _ in range(2)),
    )
    logN, logD = rng.uniform(18, 24, R), rng.uniform(20, 27, R)
    with jax.enable_x64():
        out = np.asarray(CHINCHILLA.predict_log_loss(p._asdict(), {"log_N": logN, "log_D": logD}))
    assert out.shape == (*S, R)
    want = reference_log_loss(*(np.asarray(x)[..., None] for x in p), np.exp(logN), np.exp(logD))
    np.testing.assert_allclose(out, want, rtol=1e-12)


def test_kernel_gradient_matches_finite_differences():
    logN, logD = np.log([1e8, 3e9, 7e10]), np.log([2e9, 6e10, 1.4e12])

    def f(theta):
        E, a, b, alpha, beta = theta
        return law.log_loss_elementwise(E, a, b, alpha, beta, logN, logD).sum()

    theta = np.array([1.7, 6.0, 6.0, 0.34, 0.28])
    with jax.enable_x64():
        g = np.asarray(jax.grad(f)(theta))
        eps = 1e-6
        fd = [(f(theta + eps * e) - f(theta - eps * e)) / (2 * eps) for e in np.eye(5)]
    np.testing.assert_allclose(g, np.asarray(fd), rtol=1e-7)


# ------------------------------------------------ Hoffmann parameterisation and objective
def reference_objective(theta, N, D, L, delta, w=None):
    """Float64 NumPy reference of the summed Huber objective, one parameter set per row."""
    a, b, e, alpha, beta = (theta[:, i, None] for i in range(5))
    pred = np.log(np.exp(e) + np.exp(a) / N**alpha + np.exp(b) / D**beta)
    r = pred - np.log(L)
    h = np.where(np.abs(r) <= delta, 0.5 * r * r, delta * (np.abs(r) - 0.5 * delta))
    return (h if w is None else h * w).sum(-1)


def random_problem(rng, S, R, extreme=False):
    lo, hi = (math.log(1e3), math.log(1e15)) if extreme else (math.log(1e7), math.log(1e12))
    N, D = np.exp(rng.uniform(lo, hi, R)), np.exp(rng.uniform(lo, hi, R))
    L = np.exp(rng.uniform(0.4, 1.5, R))
    theta = np.column_stack(
        [
            rng.uniform(-2, 15, S),  # a
            rng.uniform(-2, 15, S),  # b
            rng.uniform(-1, 1.5, S),  # e
            rng.uniform(0.0, 1.5, S),  # alpha
            rng.uniform(0.0, 1.5, S),  # beta
        ]
    )
    return theta, N, D, L


@pytest.mark.parametrize("extreme", [False, True])
def test_objective_matches_numpy_float64(extreme):
    rng = np.random.default_rng(1 + extreme)
    theta, N, D, L = random_problem(rng, 64, 300, extreme)
    w = rng.integers(0, 4, (64, 300)).astype(float)
    with jax.enable_x64():
        logs = (np.log(N), np.log(D), np.log(L))
        for delta in (1e-3, 0.5):
            got = np.asarray(law.huber_objective(theta, *logs, delta, w))
            want = reference_objective(theta, N, D, L, delta, w)
            np.testing.assert_allclose(got, want, rtol=1e-12)
            pred = np.asarray(law.hoffmann_log_loss(theta, logs[0], logs[1]))
            want_pred = np.log(
                np.exp(theta[:, 2:3])
                + np.exp(theta[:, :1]) / N ** theta[:, 3:4]
                + np.exp(theta[:, 1:2]) / D ** theta[:, 4:5]
            )
            np.testing.assert_allclose(pred, want_pred, rtol=1e-12)


@pytest.mark.parametrize("per_set", [False, True])
def test_objective_gradient_matches_finite_differences(per_set):
    rng = np.random.default_rng(3)
    theta, N, D, L = random_problem(rng, 6, 80)
    # near a fit, so residuals straddle the Huber threshold
    theta[:, 2] = np.log(np.exp(np.log(L).mean()) * 0.7)
    theta[:, 3:] = rng.uniform(0.2, 0.5, (6, 2))
    w = rng.integers(0, 3, (6, 80)).astype(float) if per_set else rng.uniform(0, 2, 80)
    logs = (np.log(N), np.log(D), np.log(L))
    delta = 0.05
    with jax.enable_x64():
        f, g = law.huber_objective_and_grad(theta, *logs, delta, w)
        np.testing.assert_allclose(f, law.huber_objective(theta, *logs, delta, w), rtol=1e-13)
        auto = jax.grad(lambda t: law.huber_objective(t, *logs, delta, w).sum())(theta)
        np.testing.assert_allclose(g, auto, rtol=1e-9, atol=1e-12)
        eps = 1e-6
        for i in range(5):
            e = np.zeros(5)
            e[i] = eps
            hi = reference_objective(theta + e, N, D, L, delta, w)
            lo = reference_objective(theta - e, N, D, L, delta, w)
            np.testing.assert_allclose(
                np.asarray(g)[:, i], (hi - lo) / (2 * eps), rtol=1e-5, atol=1e-8
            )


def test_objective_and_grad_blocks_agree_with_one_pass():
    rng = np.random.default_rng(4)
    theta, N, D, L = random_problem(rng, 1000, 50)
    w = rng.integers(0, 3, (1000, 50)).astype(float)
    logs = (np.log(N), np.log(D), np.log(L))
    with jax.enable_x64():
        for weights in (None, w):
            f1, g1 = law.huber_objective_and_grad(theta, *logs, 1e-3, weights, block=4096)
            f2, g2 = law.huber_objective_and_grad(theta, *logs, 1e-3, weights, block=128)
            # only the summation order differs
            np.testing.assert_allclose(f1, f2, rtol=1e-13)
            np.testing.assert_allclose(g1, g2, rtol=1e-11, atol=1e-14)
    with pytest.raises(ValueError, match=r"theta must have shape \(S, 5\)"):
        law.huber_objective_and_grad(theta[:, :4], *logs)


def test_hoffmann_round_trip():
    p = law.ChinchillaParams(E=np.array([1.69, 1.82]), A=406.4, B=410.7, alpha=0.34, beta=0.28)
    with jax.enable_x64():
        theta = law.to_hoffmann(p)
        assert theta.shape == (2, 5)
        back = law.from_hoffmann(theta)
    for x, y in zip(back, p, strict=True):
        np.testing.assert_allclose(x, y, rtol=1e-14)
