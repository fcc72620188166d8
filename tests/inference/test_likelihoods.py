import math

import jax
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import integrate, stats

from bayescale.inference import likelihoods

finite = dict(allow_nan=False, allow_infinity=False)


def test_gaussian_and_student_t_match_scipy():
    r = np.linspace(-0.1, 0.1, 11)
    with jax.enable_x64():
        np.testing.assert_allclose(
            likelihoods.gaussian_loglik(r, 0.02), stats.norm.logpdf(r, scale=0.02), rtol=1e-12
        )
        np.testing.assert_allclose(
            likelihoods.student_t_loglik(r, 0.02, 3.5),
            stats.t.logpdf(r, 3.5, scale=0.02),
            rtol=1e-12,
        )


@pytest.mark.parametrize("delta", [1e-3, 0.1, 1.0, 3.0])
def test_huber_density_normalised_and_variance(delta):
    def pdf(x):
        with jax.enable_x64():
            return float(np.exp(likelihoods.huber_loglik(np.array(x), 1.0, delta)))

    # integrate the core and tails separately (tails decay like exp(-delta x))
    upper = delta + 60.0 / delta
    mass = 2 * (integrate.quad(pdf, 0, delta)[0] + integrate.quad(pdf, delta, upper, limit=200)[0])
    var = 2 * (
        integrate.quad(lambda x: x * x * pdf(x), 0, delta)[0]
        + integrate.quad(lambda x: x * x * pdf(x), delta, upper, limit=200)[0]
    )
    assert mass == pytest.approx(1.0, rel=1e-6)
    assert var == pytest.approx(likelihoods.huber_variance(delta), rel=1e-5)


def test_huber_matches_besiroglu_formula():
    # Besiroglu et al.'s huber_logpdf with scale s, written out independently
    delta, s = 1e-3, 2e-5
    x = np.array([-1e-4, -1e-8, 0.0, 3e-9, 5e-3])
    z = x / s
    rho = np.where(np.abs(z) <= delta, 0.5 * z**2, delta * (np.abs(z) - 0.5 * delta))
    Z = np.sqrt(2 * np.pi) * (1 - 2 * stats.norm.sf(delta)) + 2 * np.exp(-0.5 * delta**2) / delta
    with jax.enable_x64():
        got = np.asarray(likelihoods.huber_loglik(x, s, delta))
    np.testing.assert_allclose(got, -rho - np.log(Z) - np.log(s), rtol=1e-12)


def test_run_loglik_dispatch_and_errors():
    with jax.enable_x64():
        r = np.array([0.01, -0.02])
        np.testing.assert_allclose(
            likelihoods.run_loglik("gaussian", r, 0.1), likelihoods.gaussian_loglik(r, 0.1)
        )
        hub = likelihoods.run_loglik("huber", r, 0.1, delta=0.5)
        np.testing.assert_allclose(
            hub, likelihoods.huber_loglik(r, 0.1 / math.sqrt(likelihoods.huber_variance(0.5)), 0.5)
        )
    with pytest.raises(ValueError, match="needs nu"):
        likelihoods.run_loglik("student_t", r, 0.1)
    with pytest.raises(ValueError, match="unknown likelihood 'cauchy'; choose one of gaussian"):
        likelihoods.run_loglik("cauchy", r, 0.1)


@given(r=st.floats(-1.0, 1.0, **finite), delta=st.floats(1e-6, 0.5, **finite))
def test_huber_loss_matches_textbook_form(r, delta):
    want = 0.5 * r * r if abs(r) <= delta else delta * (abs(r) - 0.5 * delta)
    with jax.enable_x64():
        got = float(likelihoods.huber_loss(np.float64(r), delta))
    assert got == pytest.approx(want, rel=1e-14, abs=1e-300)


@pytest.mark.parametrize("delta", [1e-3, 0.5, 2.0])
def test_misfit_reference_matches_huber_samples(delta):
    """The misfit check's expected median |residual| under the Huber likelihood."""
    import jax

    from bayescale.inference.likelihoods import HuberResidual, median_abs_residual

    with jax.enable_x64():
        x = np.asarray(HuberResidual(0.0, 1.0, delta).sample(jax.random.key(0), (200_000,)))
    want = median_abs_residual("huber", 1.0, delta=delta)
    assert np.median(np.abs(x)) == pytest.approx(want, rel=0.01)


def test_log_mean_exp_matches_scipy_weighted_and_unweighted():
    from scipy.special import logsumexp

    from bayescale.inference.likelihoods import log_mean_exp

    rng = np.random.default_rng(0)
    ll = rng.normal(-700.0, 5.0, size=(400, 7))  # far below exp's range: needs the shift
    np.testing.assert_allclose(log_mean_exp(ll), logsumexp(ll, axis=0) - np.log(400), rtol=1e-13)
    w = rng.dirichlet(np.ones(400))
    np.testing.assert_allclose(
        log_mean_exp(ll, w), logsumexp(ll, axis=0, b=w[:, None]), rtol=1e-13
    )
    # a run no draw can produce scores -inf, not nan; a certain one 0
    ll[:, 0], ll[:, 1] = -np.inf, 0.0
    out = log_mean_exp(ll)
    assert out[0] == -np.inf and abs(out[1]) < 1e-12
