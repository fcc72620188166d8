"""Fitting laws other than the default: recovery, LOO, PPC, fixed parameters, storage."""

import jax
import numpy as np
import pytest
from scipy import stats


def test_the_model_density_is_priors_plus_likelihood(chinchilla):
    """The one model's log density, written out by hand: priors on (E, log A, log B, α, β, σ)
    — the sheared sites a_c, b_c have unit Jacobian — plus the Huber log-likelihood. (A law
    without an offset: with one, tests/inference/test_anchor.py checks the anchored sites.)"""
    import dataclasses

    from numpyro.infer.util import log_density

    from bayescale.inference.likelihoods import run_loglik
    from bayescale.inference.model import ModelSpec
    from bayescale.inference.priors import resolve_priors
    from bayescale.laws import CHINCHILLA

    spec = ModelSpec(dataclasses.replace(CHINCHILLA, offset=None), "huber")
    priors, _ = resolve_priors(spec, None)
    with jax.enable_x64():
        x = CHINCHILLA.covariates_of(chinchilla)
        center = {k: float(np.mean(v)) for k, v in x.items()}
        rng = np.random.default_rng(0)
        for _ in range(3):
            site = {
                "E": rng.uniform(1.5, 2.0),
                "alpha": rng.uniform(0.25, 0.4),
                "beta": rng.uniform(0.25, 0.4),
                "a_c": rng.uniform(-3, -1),
                "b_c": rng.uniform(-3, -1),
                "sigma": rng.uniform(0.005, 0.05),
            }
            got, _ = log_density(
                spec, (x, chinchilla.log_loss, None, center), {"priors": priors}, site
            )
            log_A = site["a_c"] + site["alpha"] * center["log_N"]
            log_B = site["b_c"] + site["beta"] * center["log_D"]
            pred = np.log(
                site["E"]
                + np.exp(log_A - site["alpha"] * x["log_N"])
                + np.exp(log_B - site["beta"] * x["log_D"])
            )
            want = (
                sum(float(priors[k].log_prob(site[k])) for k in ("E", "alpha", "beta", "sigma"))
                # log A ~ Normal(7, 3) for A ~ LogNormal(7, 3), likewise log B
                + float(stats.norm.logpdf(log_A, 7.0, 3.0) + stats.norm.logpdf(log_B, 7.0, 3.0))
                + float(np.sum(run_loglik("huber", chinchilla.log_loss - pred, site["sigma"])))
            )
            assert float(got) == pytest.approx(want, rel=1e-12)
