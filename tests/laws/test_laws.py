"""Laws beside Chinchilla's: kernels against their papers, allocations, user laws."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import numpyro.distributions as dist
import pytest
from hypothesis import given
from hypothesis import strategies as st

import bayescale
from bayescale.checks.simulate import HOFFMANN_PARAMS
from bayescale.laws import (
    CHINCHILLA,
    DATA_CONSTRAINED,
    KAPLAN,
    KAPLAN_PARAMS,
    MUENNIGHOFF_PARAMS,
    get_law,
    numerical_log_n_opt,
)
from bayescale.laws.chinchilla import ChinchillaParams, log_loss_elementwise

finite = dict(allow_nan=False, allow_infinity=False)


def x_of(N, D, **extra):
    x = {"log_N": np.log(np.atleast_1d(N)), "log_D": np.log(np.atleast_1d(D))}
    x.update({f"log_{k}": np.log(np.atleast_1d(v)) for k, v in extra.items()})
    return x


# --------------------------------------------------------------------------- data-constrained
def muennighoff_reference(N, D, U, p):
    """The datablations README's scaling_law(N, D, U), transcribed in float64 NumPy."""
    A, B, E, alpha, beta = p["A"], p["B"], p["E"], p["alpha"], p["beta"]
    rd_star, rn_star = p["R_D_star"], p["R_N_star"]
    G = ((alpha * A) / (beta * B)) ** (1 / (alpha + beta))
    RD = np.maximum((D / U) - 1, 0)
    UN = np.minimum(N, (U * G) ** (beta / alpha) * G)
    RN = np.maximum((N / UN) - 1, 0)
    return (
        E
        + A / (UN + UN * rn_star * (1 - np.exp(-1 * RN / rn_star))) ** alpha
        + B / (U + U * rd_star * (1 - np.exp(-1 * RD / rd_star))) ** beta
    )


@pytest.mark.parametrize(
    ("N", "D", "U", "expected"),
    [(6.34e9, 242e9, 25e9, 2.2256440889984477), (8.67e9, 178e9, 25e9, 2.2269634075087867)],
)
def test_data_constrained_check_points(N, D, U, expected):
    with jax.enable_x64():
        log_l = DATA_CONSTRAINED.predict_log_loss(MUENNIGHOFF_PARAMS, x_of(N, D, U_D=U))
        got = float(np.exp(log_l)[0])
    assert got == pytest.approx(expected, rel=1e-9)


@given(
    logN=st.floats(math.log(1e6), math.log(1e12), **finite),
    logD=st.floats(math.log(1e8), math.log(1e13), **finite),
    epochs=st.floats(1.0, 1000.0, **finite),
    rd=st.floats(0.5, 50.0, **finite),
    rn=st.floats(0.5, 50.0, **finite),
    alpha=st.floats(0.2, 0.6, **finite),
    beta=st.floats(0.2, 0.6, **finite),
)
def test_data_constrained_matches_reference_formula(logN, logD, epochs, rd, rn, alpha, beta):
    p = {**MUENNIGHOFF_PARAMS, "R_D_star": rd, "R_N_star": rn, "alpha": alpha, "beta": beta}
    N, D = math.exp(logN), math.exp(logD)
    U = D / epochs
    with jax.enable_x64():
        got = float(np.exp(DATA_CONSTRAINED.predict_log_loss(p, x_of(N, D, U_D=U)))[0])
    assert got == pytest.approx(float(muennighoff_reference(N, D, U, p)), rel=1e-11)


def test_data_constrained_without_repetition_is_chinchilla():
    p = MUENNIGHOFF_PARAMS
    N = np.geomspace(1e7, 6e7, 5)  # below U_N for 1e12 unique tokens: no excess parameters
    D = np.geomspace(1e9, 1e11, 5)
    chin = {k: p[k] for k in CHINCHILLA.params}
    with jax.enable_x64():
        dc = np.asarray(DATA_CONSTRAINED.predict_log_loss(p, x_of(N, D, U_D=1e12)))
        ch = np.asarray(CHINCHILLA.predict_log_loss(chin, x_of(N, D)))
    np.testing.assert_allclose(dc, ch, rtol=1e-14)


def test_data_constrained_allocation_matches_authors_grid_search():
    # README: optimal_allocation(8.67e9, 178e9, 25e9) -> 227B tokens, 6.8B parameters
    C = 6 * 8.67e9 * 178e9
    with jax.enable_x64():
        a = DATA_CONSTRAINED.allocate(MUENNIGHOFF_PARAMS, [C], covariates={"U_D": 25e9})
    assert float(a.D_opt[0]) == pytest.approx(227e9, rel=5e-3)
    assert float(a.N_opt[0]) == pytest.approx(6.8e9, rel=5e-3)


# --------------------------------------------------------------------------- Kaplan
@given(
    logN=st.floats(math.log(1e3), math.log(1e13), **finite),
    logD=st.floats(math.log(1e3), math.log(1e14), **finite),
    aN=st.floats(0.02, 0.5, **finite),
    aD=st.floats(0.02, 0.5, **finite),
)
def test_kaplan_matches_eq_1_5(logN, logD, aN, aD):
    p = {"N_c": 6.4e13, "D_c": 1.8e13, "alpha_N": aN, "alpha_D": aD}
    N, D = math.exp(logN), math.exp(logD)
    want = ((p["N_c"] / N) ** (aN / aD) + p["D_c"] / D) ** aD
    with jax.enable_x64():
        got = float(np.exp(KAPLAN.predict_log_loss(p, x_of(N, D)))[0])
    assert got == pytest.approx(want, rel=1e-12)


def test_kaplan_published_values_give_plausible_losses():
    # Kaplan et al. Figure 1 scale: ~1e9 non-embedding params on ~2e10 tokens -> loss ~2.4
    with jax.enable_x64():
        got = float(np.exp(KAPLAN.predict_log_loss(KAPLAN_PARAMS, x_of(1e9, 2e10)))[0])
        a = float(KAPLAN.exponents(KAPLAN_PARAMS)["a"])
    assert 2.2 < got < 2.6
    assert a == pytest.approx(0.103 / (0.076 + 0.103), rel=1e-12)


# --------------------------------------------------------------------------- allocations
def isoflop_gradient(law, theta, C, log_n, k=6.0, **extra):
    def g(x):
        cov = {"log_N": x, "log_D": jnp.log(C / k) - x}
        cov.update({f"log_{c}": jnp.log(v) for c, v in extra.items()})
        return law.log_loss(theta, cov)

    return float(jax.grad(g)(log_n)), float(jax.hessian(g)(log_n))


LAW_CASES = [
    (CHINCHILLA, dict(HOFFMANN_PARAMS._asdict()), {}),
    (KAPLAN, KAPLAN_PARAMS, {}),
    (DATA_CONSTRAINED, MUENNIGHOFF_PARAMS, {"U_D": 3e10}),
]


@pytest.mark.parametrize(
    ("law", "theta", "extra"), LAW_CASES, ids=lambda v: getattr(v, "name", "")
)
@pytest.mark.parametrize("C", [1e19, 5.76e23, 1e27])
def test_allocation_constraint_and_first_order_optimality(law, theta, extra, C):
    with jax.enable_x64():
        a = law.allocate(theta, [C], 6.0, extra)
        N, D = float(a.N_opt[0]), float(a.D_opt[0])
        grad, curv = isoflop_gradient(law, theta, C, jnp.log(N), **extra)
    assert 6.0 * N * D == pytest.approx(C, rel=1e-13)
    assert curv > 0
    assert abs(grad) <= 1e-8 * max(1.0, curv)


def test_closed_forms_agree_with_numerical_optimum():
    C = np.array([1e20, 1e23, 1e26])
    for law, theta, _ in LAW_CASES[:2]:
        with jax.enable_x64():
            closed = np.asarray(law.allocate(theta, C).N_opt)
            log_c = jnp.log(jnp.asarray(C) / 6.0)
            num = np.exp(np.asarray(numerical_log_n_opt(law.log_loss, theta, log_c)))
        np.testing.assert_allclose(num, closed, rtol=1e-9)


def test_chinchilla_law_allocation_is_the_core_closed_form():
    draws = {
        k: np.asarray(v) * np.linspace(0.9, 1.1, 7) for k, v in HOFFMANN_PARAMS._asdict().items()
    }
    p = ChinchillaParams(**draws)
    C = np.array([1e22, 1e24])
    with jax.enable_x64():
        got = CHINCHILLA.allocate(draws, C)
        loss = np.asarray(
            log_loss_elementwise(
                *(x[:, None] for x in (p.E, np.log(p.A), np.log(p.B), p.alpha, p.beta)),
                np.log(np.asarray(got.N_opt)),
                np.log(np.asarray(got.D_opt)),
            )
        )
    s = p.alpha + p.beta
    G = (p.alpha * p.A / (p.beta * p.B)) ** (1 / s)
    N = G[:, None] * (C / 6.0) ** (p.beta / s)[:, None]  # Hoffmann et al., Appendix D.2
    np.testing.assert_allclose(np.asarray(got.N_opt), N, rtol=1e-12)
    np.testing.assert_allclose(np.asarray(got.D_opt), C / (6.0 * N), rtol=1e-12)
    np.testing.assert_allclose(np.log(np.asarray(got.loss)), loss, rtol=1e-15)


def test_allocation_shapes_over_draws_and_budgets():
    rng = np.random.default_rng(0)
    theta = {k: v * rng.uniform(0.95, 1.05, (5, 3)) for k, v in MUENNIGHOFF_PARAMS.items()}
    with jax.enable_x64():
        a = DATA_CONSTRAINED.allocate(theta, [1e20, 1e21, 1e22, 1e23], covariates={"U_D": 1e10})
    assert a.N_opt.shape == (5, 3, 4)
    assert np.all(np.isfinite(np.asarray(a.loss)))


def test_missing_or_bad_covariates_are_named():
    with pytest.raises(ValueError, match="needs U_D"):
        DATA_CONSTRAINED.allocate(MUENNIGHOFF_PARAMS, [1e21])
    with pytest.raises(ValueError, match="U_D must be finite and > 0"):
        DATA_CONSTRAINED.allocate(MUENNIGHOFF_PARAMS, [1e21], covariates={"U_D": -1})
    with pytest.raises(ValueError, match="takes no covariate"):
        KAPLAN.allocate(KAPLAN_PARAMS, [1e21], covariates={"U_D": 1e9})
    data = bayescale.ScalingData.from_arrays(
        N=np.geomspace(1e8, 1e9, 8), D=np.geomspace(1e9, 1e10, 8), loss=np.linspace(3, 2.5, 8)
    )
    with pytest.raises(ValueError, match="needs a per-run column 'U_D'"):
        bayescale.fit(data, law="data_constrained")


# --------------------------------------------------------------------------- user laws
def shared_exponent_loss(p, N, D):
    return p["E"] + p["A"] / N ** p["alpha"] + p["B"] / D ** p["alpha"]


SHARED_PRIORS = {
    "E": dist.LogNormal(0.5, 0.75),
    "A": dist.LogNormal(7.0, 3.0),
    "B": dist.LogNormal(7.0, 3.0),
    "alpha": dist.LogNormal(math.log(0.35), 0.6),
}


def test_user_law_numerical_allocation_matches_closed_form():
    law = bayescale.define_law(
        "test_shared_exponent", shared_exponent_loss, SHARED_PRIORS, register=False
    )
    theta = {"E": 1.7, "A": 400.0, "B": 900.0, "alpha": 0.3}
    chin = {**theta, "beta": theta["alpha"]}
    with jax.enable_x64():
        got = np.asarray(law.allocate(theta, [1e21, 1e24]).N_opt)
        want = np.asarray(CHINCHILLA.allocate(chin, [1e21, 1e24]).N_opt)
    np.testing.assert_allclose(got, want, rtol=1e-9)
    assert law.exponents is None and law.positive == ("E", "A", "B", "alpha")


def test_registry_and_validation():
    assert get_law("kaplan") is KAPLAN
    with pytest.raises(ValueError, match="unknown law 'hoffmann'"):
        get_law("hoffmann")
    with pytest.raises(ValueError, match="built-in law"):
        bayescale.define_law("kaplan", shared_exponent_loss, SHARED_PRIORS)
    with pytest.raises(ValueError, match="must be a numpyro distribution"):
        bayescale.define_law("bad", shared_exponent_loss, {"E": 1.7}, register=False)
    with pytest.raises(ValueError, match="reserved for the noise"):
        bayescale.define_law(
            "bad", shared_exponent_loss, {"sigma": dist.HalfNormal(1.0)}, register=False
        )
    law = bayescale.define_law(
        "test_registered", shared_exponent_loss, SHARED_PRIORS, overwrite=True
    )
    assert get_law("test_registered") is law
    with pytest.raises(ValueError, match="pass overwrite=True"):
        bayescale.define_law("test_registered", shared_exponent_loss, SHARED_PRIORS)


def test_kernels_broadcast_parameter_batches_against_runs():
    rng = np.random.default_rng(1)
    S, R = (4, 2), 6
    N, D = np.geomspace(1e8, 1e10, R), np.geomspace(1e9, 1e12, R)
    for law, theta, extra in LAW_CASES:
        batch = {k: v * rng.uniform(0.9, 1.1, S) for k, v in theta.items()}
        x = x_of(N, D, **{k: np.full(R, v) for k, v in extra.items()})
        with jax.enable_x64():
            out = np.asarray(law.predict_log_loss(batch, x))
            one = np.asarray(law.predict_log_loss({k: v[2, 1] for k, v in batch.items()}, x))
        assert out.shape == (*S, R)
        np.testing.assert_allclose(out[2, 1], one, rtol=1e-14)


def test_an_offset_needs_its_own_unscaled_shears():
    import dataclasses

    from bayescale.laws import CHINCHILLA, Shear

    assert CHINCHILLA.offset == "E"
    shared = (Shear("a_c", "A", "alpha", "log_N"), Shear("b_c", "B", "alpha", "log_D"))
    with pytest.raises(ValueError, match="its own coefficient and slope"):
        dataclasses.replace(CHINCHILLA, shears=shared)
    with pytest.raises(ValueError, match="unscaled shears"):
        dataclasses.replace(CHINCHILLA, shears=())
    with pytest.raises(ValueError, match="offset 'F'"):
        dataclasses.replace(CHINCHILLA, offset="F")
