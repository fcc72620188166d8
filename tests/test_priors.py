import numpyro.distributions as dist
import pytest

from bayescale.priors import PRIOR_NOTES, default_priors, describe_priors, resolve_priors


def test_defaults_cover_every_site_and_are_documented():
    for lik, extra in (("gaussian", set()), ("huber", set()), ("student_t", {"nu"})):
        priors = default_priors(lik)
        assert set(priors) == {"E", "A", "B", "alpha", "beta", "sigma"} | extra
        assert set(priors) <= set(PRIOR_NOTES)


def test_user_prior_replaces_default():
    p = resolve_priors({"alpha": dist.Uniform(0.0, 1.0), "E": dist.Gamma(4.0, 2.0)})
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
        ({"E": 1.7}, r"prior for 'E' must be a numpyro distribution, got float"),
        (
            {"alpha": dist.Normal(0.3, 0.1)},
            r"prior for 'alpha' must have support inside \(0, inf\)",
        ),
        ({"A": dist.LogNormal(0.0, 1.0).expand([2])}, r"must be over scalars"),
    ],
)
def test_bad_priors(priors, pattern):
    with pytest.raises(ValueError, match=pattern):
        resolve_priors(priors)


def test_unknown_likelihood():
    with pytest.raises(ValueError, match="unknown likelihood 'laplace'"):
        default_priors("laplace")
