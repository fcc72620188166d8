"""Model-checking API: LOO, WAIC, compare and PPC on a short fit (calibration is tested on
well-sampled fits in test_laws_fit.py)."""

import dataclasses
import warnings

import numpy as np
import pytest

import bayescale
from bayescale.checks.model_checks import predictive_draws


def test_loo_and_waic_shapes(small_fit):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bayescale.ModelCheckWarning)
        elpd = bayescale.loo(small_fit)
        w = small_fit.waic()
    assert np.asarray(elpd.pareto_k).shape == (240,)
    assert np.isfinite(float(elpd.elpd)) and float(elpd.se) > 0
    assert w["pointwise"].shape == (240,)
    assert w["waic"] == pytest.approx(-2 * w["elpd_waic"])


def test_high_pareto_k_warns_naming_runs(small_fit):
    # the digitised Chinchilla runs include a few outliers the Gaussian fit cannot absorb
    elpd = bayescale.loo(small_fit, warn=False)
    k = np.asarray(elpd.pareto_k)
    if (k > elpd.good_k).any():
        with pytest.warns(bayescale.ModelCheckWarning, match=r"Pareto k > .* at rows \d+"):
            bayescale.loo(small_fit)
    else:  # pragma: no cover - depends on the draws
        pytest.skip("no high Pareto k in this fit")


def test_compare_validates_its_input(small_fit, chinchilla):
    with pytest.raises(ValueError, match="at least two named fits"):
        bayescale.compare({"only": small_fit})
    with pytest.raises(ValueError, match="expected a FitResult"):
        bayescale.compare({"a": small_fit, "b": "not a fit"})
    with pytest.raises(ValueError, match="unknown method 'bma'"):
        bayescale.compare({"a": small_fit, "b": small_fit}, method="bma")
    other = bayescale.ScalingData.from_arrays(
        N=chinchilla.N, D=chinchilla.D, loss=chinchilla.loss * 1.01
    )
    # (replace, not the class on __dict__: a shown fit caches its overview there)
    fake = dataclasses.replace(small_fit, data=other)
    with pytest.raises(ValueError, match="different runs"):
        bayescale.compare({"a": small_fit, "b": fake})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bayescale.ModelCheckWarning)
        table = bayescale.compare({"a": small_fit, "b": small_fit})
    assert table["elpd_diff"].abs().max() == pytest.approx(0.0, abs=1e-9)


def test_ppc_tables_and_predictive_draws(small_fit):
    check = small_fit.ppc(ci=[0.8])
    assert list(check.coverage["level"]) == [0.8]
    assert len(check.runs) == 240
    assert (check.runs["lo_0.8"] < check.runs["hi_0.8"]).all()
    assert set(check.statistics.index) == {"sd", "min", "max", "mean"}
    assert check.to_dict()["coverage"][0]["level"] == 0.8
    rep = predictive_draws(small_fit, seed=1)
    assert rep.shape == (small_fit.n_draws, 240)
    np.testing.assert_array_equal(rep, predictive_draws(small_fit, seed=1))
    with pytest.raises(ValueError, match="ci must be a probability"):
        small_fit.ppc(ci=[90])


def test_prior_predictive_uses_the_fitted_model(chinchilla):
    pp = bayescale.prior_predictive(chinchilla, n=400, seed=2)
    assert pp.loss.shape == (400, len(chinchilla))
    assert np.all(pp.loss > 0) and set(pp.params) >= {"E", "A", "B", "alpha", "beta", "sigma"}
    # every simulated loss is the law at that draw's parameters times its noise; the noise
    # cannot bring a run below E on the log scale by more than a few sigma
    E = pp.params["E"][:, None]
    assert np.all(np.log(pp.loss) > np.log(E) - 8 * pp.params["sigma"][:, None])
    table = pp.summary(0.9)
    assert 0 <= table.loc["observed inside their 90% prior interval", "value"] <= 1
    # a tight prior concentrates the simulated losses around the published fit
    import math

    import numpyro.distributions as dist

    tight = {
        "E": dist.LogNormal(math.log(1.82), 0.01),
        "A": dist.LogNormal(math.log(480), 0.01),
        "B": dist.LogNormal(math.log(2100), 0.01),
        "alpha": dist.LogNormal(math.log(0.35), 0.01),
        "beta": dist.LogNormal(math.log(0.37), 0.01),
        "sigma": dist.HalfNormal(0.01),
    }
    narrow = bayescale.prior_predictive(chinchilla, priors=tight, n=400, seed=2)
    assert narrow.summary(0.9).loc["observed inside their 90% prior interval", "value"] > 0.8
    # a fixed parameter is held at its value
    fixed = bayescale.prior_predictive(chinchilla, priors={"E": 1.69}, n=50)
    assert np.all(fixed.params["E"] == 1.69)
    with pytest.raises(ValueError, match="n must be a whole number"):
        bayescale.prior_predictive(chinchilla, n=0)


def test_loo_of_draws_that_do_not_move_is_a_sampling_problem():
    from _synthetic import synthetic_result

    stuck = synthetic_result(S=40, spread=0.0)  # every draw the same: a stuck chain
    with pytest.raises(bayescale.SamplingError, match="PSIS-LOO cannot be computed"):
        bayescale.loo(stuck)
