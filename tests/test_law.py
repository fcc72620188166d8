import math

import jax
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import integrate, stats

from bayescale import law

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
        got = float(law.predict_log_loss(p, np.array([logN]), np.array([logD]))[0])
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
        out = np.asarray(law.predict_log_loss(p, logN, logD))
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


def test_gaussian_and_student_t_match_scipy():
    r = np.linspace(-0.1, 0.1, 11)
    with jax.enable_x64():
        np.testing.assert_allclose(
            law.gaussian_loglik(r, 0.02), stats.norm.logpdf(r, scale=0.02), rtol=1e-12
        )
        np.testing.assert_allclose(
            law.student_t_loglik(r, 0.02, 3.5), stats.t.logpdf(r, 3.5, scale=0.02), rtol=1e-12
        )


@pytest.mark.parametrize("delta", [1e-3, 0.1, 1.0, 3.0])
def test_huber_density_normalised_and_variance(delta):
    def pdf(x):
        with jax.enable_x64():
            return float(np.exp(law.huber_loglik(np.array(x), 1.0, delta)))

    # integrate the core and tails separately (tails decay like exp(-delta x))
    upper = delta + 60.0 / delta
    mass = 2 * (integrate.quad(pdf, 0, delta)[0] + integrate.quad(pdf, delta, upper, limit=200)[0])
    var = 2 * (
        integrate.quad(lambda x: x * x * pdf(x), 0, delta)[0]
        + integrate.quad(lambda x: x * x * pdf(x), delta, upper, limit=200)[0]
    )
    assert mass == pytest.approx(1.0, rel=1e-6)
    assert var == pytest.approx(law.huber_variance(delta), rel=1e-5)


def test_huber_matches_besiroglu_formula():
    # Besiroglu et al.'s huber_logpdf with scale s, written out independently
    delta, s = 1e-3, 2e-5
    x = np.array([-1e-4, -1e-8, 0.0, 3e-9, 5e-3])
    z = x / s
    rho = np.where(np.abs(z) <= delta, 0.5 * z**2, delta * (np.abs(z) - 0.5 * delta))
    Z = np.sqrt(2 * np.pi) * (1 - 2 * stats.norm.sf(delta)) + 2 * np.exp(-0.5 * delta**2) / delta
    with jax.enable_x64():
        got = np.asarray(law.huber_loglik(x, s, delta))
    np.testing.assert_allclose(got, -rho - np.log(Z) - np.log(s), rtol=1e-12)


def test_run_loglik_dispatch_and_errors():
    with jax.enable_x64():
        r = np.array([0.01, -0.02])
        np.testing.assert_allclose(law.run_loglik("gaussian", r, 0.1), law.gaussian_loglik(r, 0.1))
        hub = law.run_loglik("huber", r, 0.1, delta=0.5)
        np.testing.assert_allclose(
            hub, law.huber_loglik(r, 0.1 / math.sqrt(law.huber_variance(0.5)), 0.5)
        )
    with pytest.raises(ValueError, match="needs nu"):
        law.run_loglik("student_t", r, 0.1)
    with pytest.raises(ValueError, match="unknown likelihood 'cauchy'; choose one of gaussian"):
        law.run_loglik("cauchy", r, 0.1)
