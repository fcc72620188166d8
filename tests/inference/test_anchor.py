"""Anchored coordinates: an exact bijection with the right Jacobian, the same posterior."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import numpyro.distributions as dist
import pytest

from bayescale.inference.anchor import LEVEL_SCALE, anchor_forward, anchor_inverse, uses_anchor
from bayescale.laws import CHINCHILLA, KAPLAN


@pytest.mark.parametrize("k", [1, 2, 3])
def test_the_map_inverts_and_has_a_constant_jacobian_onto_the_logs(k):
    rng = np.random.default_rng(k)
    with jax.enable_x64():
        centers = jnp.asarray(rng.uniform(15.0, 25.0, k))
        for _ in range(5):
            u = jnp.asarray(rng.normal(0.0, 1.5, 2 * k + 1))

            def logs(u):
                return jnp.concatenate([jnp.atleast_1d(a) for a in anchor_forward(u, centers)])

            def natural(u):  # (E, log K, s): what the priors are on before taking logs
                log_offset, log_coef, log_slope = anchor_forward(u, centers)
                return jnp.concatenate([jnp.exp(log_offset)[None], log_coef, jnp.exp(log_slope)])

            log_offset, log_coef, log_slope = anchor_forward(u, centers)
            # |J| = LEVEL_SCALE onto (log E, log K, log s); times E·Πs onto (E, log K, s)
            _, onto_logs = jnp.linalg.slogdet(jax.jacfwd(logs)(u))
            _, onto_natural = jnp.linalg.slogdet(jax.jacfwd(natural)(u))
            assert float(onto_logs) == pytest.approx(np.log(LEVEL_SCALE), abs=1e-9)
            assert float(onto_natural) == pytest.approx(
                float(np.log(LEVEL_SCALE) + log_offset + log_slope.sum()), abs=1e-9
            )
            back = anchor_inverse(log_offset, log_coef, log_slope, centers)
            np.testing.assert_allclose(np.asarray(back), np.asarray(u), atol=1e-9)


def test_which_fits_use_it():
    priors = CHINCHILLA.priors()
    assert uses_anchor(CHINCHILLA, None, (), priors)
    assert not uses_anchor(CHINCHILLA, "partial", (), priors)  # grouped: the shears
    assert not uses_anchor(CHINCHILLA, None, ("E",), priors)  # a fixed offset
    assert not uses_anchor(CHINCHILLA, None, (), {**priors, "alpha": dist.Uniform(0.1, 0.6)})
    assert not uses_anchor(KAPLAN, None, (), KAPLAN.priors())  # no offset (scaled shears)


def test_the_anchored_density_is_the_sheared_one_times_the_jacobian(chinchilla):
    """Same posterior, other coordinates: the anchored model's log density is the sheared one
    plus log E + log α + log β (priors on the logs; the sheared sites (E, α, β, a_c, b_c) are
    (E, log A, log B, α, β) up to a unit-Jacobian shift) — in u up to the constant Jacobian
    LEVEL_SCALE, which the model leaves out."""
    from numpyro.infer.util import log_density

    from bayescale.inference.model import ModelSpec
    from bayescale.inference.priors import resolve_priors

    sheared = dataclasses.replace(CHINCHILLA, offset=None)
    specs = [ModelSpec(law, "student_t") for law in (CHINCHILLA, sheared)]
    priors, _ = resolve_priors(specs[0], None)
    rng = np.random.default_rng(0)
    with jax.enable_x64():
        x = CHINCHILLA.covariates_of(chinchilla)
        center = {k: float(np.mean(v)) for k, v in x.items()}
        args = (x, chinchilla.log_loss, None, center)
        centers = jnp.asarray([center["log_N"], center["log_D"]])
        for _ in range(3):
            u = jnp.asarray(rng.normal([100.0, 0.5, 0.0, -2.0, -2.0], 0.3))
            noise = {"sigma": 0.02, "nu": 5.0}
            got, trace = log_density(specs[0], args, {"priors": priors}, {"anchor": u, **noise})
            log_offset, log_coef, log_slope = anchor_forward(u, centers)
            E, slope = jnp.exp(log_offset), jnp.exp(log_slope)
            site = {
                "E": E,
                "alpha": slope[0],
                "beta": slope[1],
                "a_c": log_coef[0] - slope[0] * centers[0],
                "b_c": log_coef[1] - slope[1] * centers[1],
                **noise,
            }
            want, _ = log_density(specs[1], args, {"priors": priors}, site)
            jac = float(jnp.log(E) + jnp.log(slope).sum())
            assert float(got) == pytest.approx(float(want) + jac, rel=1e-12)
            assert float(trace["A"]["value"]) == pytest.approx(float(jnp.exp(log_coef[0])))


def test_a_fit_samples_it_and_starts_where_the_law_starts(chinchilla):
    from bayescale.inference.model import ModelSpec, initial_sites
    from bayescale.inference.priors import resolve_priors

    spec = ModelSpec(CHINCHILLA, "student_t")
    priors, _ = resolve_priors(spec, None)
    start = {"E": 1.8, "A": 400.0, "B": 2000.0, "alpha": 0.33, "beta": 0.29}
    with jax.enable_x64():
        x = CHINCHILLA.covariates_of(chinchilla)
        args = (x, chinchilla.log_loss, None, None)
        sites = initial_sites(spec, args, {"priors": priors}, {**start, "sigma": 0.02, "nu": 5})
        assert set(sites) == {"anchor", "sigma", "nu"}
        centers = jnp.asarray([np.mean(x["log_N"]), np.mean(x["log_D"])])
        log_offset, log_coef, log_slope = anchor_forward(sites["anchor"], centers)
    E, slope = np.exp(float(log_offset)), np.exp(np.asarray(log_slope))
    assert float(E) == pytest.approx(1.8)
    np.testing.assert_allclose(np.exp(np.asarray(log_coef)), [400.0, 2000.0], rtol=1e-10)
    np.testing.assert_allclose(np.asarray(slope), [0.33, 0.29], rtol=1e-10)
