import numpyro.distributions as dist
import pytest

from bayescale.inference.model import ModelSpec
from bayescale.inference.priors import (
    PRIOR_NOTES,
    default_priors,
    describe_priors,
    prior_log_sd,
    resolve_priors,
)
from bayescale.laws import CHINCHILLA, KAPLAN


def resolve(priors, likelihood="gaussian", law=CHINCHILLA, pooling=None, fixed=()):
    return resolve_priors(ModelSpec(law, likelihood, 1e-3, pooling, fixed), priors)


def test_defaults_cover_every_site_and_are_documented():
    for lik, extra in (("gaussian", set()), ("huber", set()), ("student_t", {"nu"})):
        priors = default_priors(lik)
        assert set(priors) == {"E", "A", "B", "alpha", "beta", "sigma"} | extra
        assert set(priors) <= set(PRIOR_NOTES)


def test_user_prior_replaces_default():
    p, fixed = resolve({"alpha": dist.Uniform(0.0, 1.0), "E": dist.Gamma(4.0, 2.0)})
    assert fixed == {}
    assert isinstance(p["alpha"], dist.Uniform) and isinstance(p["E"], dist.Gamma)
    assert isinstance(p["beta"], dist.LogNormal)
    assert describe_priors(p)["E"] == "Gamma(concentration=4, rate=2)"


@pytest.mark.parametrize(
    ("priors", "pattern"),
    [
        (
            {"gamma": dist.LogNormal(0, 1)},
            r"no parameter 'gamma'.*allowed: E, A, B, alpha, beta, sigma",
        ),
        ({"nu": dist.Gamma(2, 0.1)}, r"only used by likelihood='student_t'"),
        ({"sigma": 0.1}, r"prior for 'sigma' must be a numpyro distribution, got float"),
        ({"E": "1.7"}, r"prior for 'E' must be a numpyro distribution or a number"),
        ({"E": -1.0}, r"fixed value of 'E' must be finite and > 0"),
        ({"tau_alpha": dist.Gamma(2, 20)}, r"tau_<p> exists only for partially pooled"),
        (
            {"alpha": dist.Normal(0.3, 0.1)},
            r"prior for 'alpha' must have support inside \(0, inf\)",
        ),
        ({"A": dist.LogNormal(0.0, 1.0).expand([2])}, r"must be over scalars"),
    ],
)
def test_bad_priors(priors, pattern):
    with pytest.raises(ValueError, match=pattern):
        resolve(priors)


def test_unknown_likelihood():
    with pytest.raises(ValueError, match="unknown likelihood 'laplace'"):
        default_priors("laplace")


def test_law_defaults_noise_and_pooling_in_one_resolver():
    p, _ = resolve(None, "student_t", KAPLAN)
    assert set(p) == {*KAPLAN.params, "sigma", "nu"}
    assert set(default_priors("huber", "kaplan")) == {*KAPLAN.params, "sigma"}
    pooled, _ = resolve(None, pooling="partial")
    assert {"tau_alpha", "tau_beta"} <= set(pooled)  # exponents pooled, E, A, B per group
    assert "tau_E" not in pooled


def test_a_number_fixes_a_law_parameter():
    spec = ModelSpec(CHINCHILLA, fixed=("E",))
    p, fixed = resolve_priors(spec, {"E": 1.69})
    assert fixed == {"E": 1.69} and "E" not in p


def test_prior_log_sd_exact_for_lognormal_and_estimated_otherwise():
    sd = prior_log_sd({"E": dist.LogNormal(0.5, 0.75), "alpha": dist.Uniform(0.1, 1.0)})
    assert sd["E"] == 0.75
    # sd of log U for U ~ Uniform(0.1, 1) is 0.588 (1e7 draws); estimated from 20,000
    assert sd["alpha"] == pytest.approx(0.588, abs=0.01)
