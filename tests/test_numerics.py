"""Numerical robustness: the kernel and the allocation at extreme scales, float64 and float32.

float32 is the precision used on accelerators (``fit(..., precision="float32")``); these
tests run it on CPU. References are computed independently in float64 NumPy (and, for the
kernel, in log-sum-exp form so they cannot overflow).
"""

from __future__ import annotations

import math
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import bayescale
from bayescale.checks.simulate import HOFFMANN_PARAMS, chinchilla_design, simulate_runs
from bayescale.laws import CHINCHILLA
from bayescale.laws.chinchilla import ChinchillaParams, log_loss_elementwise
from bayescale.laws.optimum import allocate

finite = dict(allow_nan=False, allow_infinity=False)
MANY = settings(max_examples=200)
params_st = st.builds(
    ChinchillaParams,
    E=st.floats(0.1, 10, **finite),
    A=st.floats(1e-2, 1e8, **finite),
    B=st.floats(1e-2, 1e8, **finite),
    alpha=st.floats(0.05, 1.5, **finite),
    beta=st.floats(0.05, 1.5, **finite),
)
log_scale = st.floats(math.log(1.0), math.log(1e15), **finite)


def reference_log_loss(p, log_N, log_D):
    """log(E + A N^-α + B D^-β) as a log-sum-exp in float64 (no overflow possible)."""
    terms = np.array(
        [math.log(p.E), math.log(p.A) - p.alpha * log_N, math.log(p.B) - p.beta * log_D]
    )
    m = terms.max()
    return float(m + np.log(np.exp(terms - m).sum()))


def reference_allocation(p, C, k=6.0):
    s = p.alpha + p.beta
    log_G = (math.log(p.alpha * p.A) - math.log(p.beta * p.B)) / s
    log_N = log_G + p.beta / s * math.log(C / k)
    log_D = math.log(C / k) - log_N
    return log_N, log_D, reference_log_loss(p, log_N, log_D)


@pytest.mark.parametrize("x64", [True, False], ids=["float64", "float32"])
@MANY
@given(p=params_st, log_N=log_scale, log_D=log_scale)
def test_kernel_finite_and_accurate_up_to_1e15(x64, p, log_N, log_D):
    want = reference_log_loss(p, log_N, log_D)
    with jax.enable_x64(x64):
        x = {"log_N": jnp.asarray([log_N]), "log_D": jnp.asarray([log_D])}
        got = CHINCHILLA.predict_log_loss(p._asdict(), x)
        assert got.dtype == (jnp.float64 if x64 else jnp.float32)
        got = float(got[0])
    assert math.isfinite(got)
    # float32: rounding of a - alpha*log N (|.| up to ~70) dominates; 3e-5 in log loss is
    # a relative error of 3e-5 in the loss
    tol = 1e-12 * max(1.0, abs(want)) if x64 else 3e-5 * max(1.0, abs(want))
    assert abs(got - want) <= tol, (got, want)


@pytest.mark.parametrize("x64", [True, False], ids=["float64", "float32"])
@MANY
@given(
    p=st.builds(
        ChinchillaParams,
        E=st.floats(0.5, 5, **finite),
        A=st.floats(10, 1e5, **finite),
        B=st.floats(10, 1e5, **finite),
        alpha=st.floats(0.1, 1.0, **finite),
        beta=st.floats(0.1, 1.0, **finite),
    ),
    log10_C=st.floats(15, 30, **finite),
)
def test_allocation_finite_and_accurate_up_to_1e30(x64, p, log10_C):
    C = 10.0**log10_C
    log_N, log_D, log_L = reference_allocation(p, C)
    with jax.enable_x64(x64):
        alloc = allocate(CHINCHILLA, p, jnp.asarray([C]))
        got = {k: float(v[0]) for k, v in alloc._asdict().items()}
    if not x64 and max(abs(log_N), abs(log_D), abs(log_D - log_N)) > math.log(1e37):
        return  # N_opt, D_opt or D/N beyond float32's range: no finite answer exists
    assert all(math.isfinite(v) for v in got.values()), got
    rtol = 1e-11 if x64 else 2e-4 * max(1.0, abs(log_N), abs(log_D)) / 10
    assert got["N_opt"] == pytest.approx(math.exp(log_N), rel=rtol)
    assert got["D_opt"] == pytest.approx(math.exp(log_D), rel=rtol)
    assert got["tokens_per_param"] == pytest.approx(math.exp(log_D - log_N), rel=2 * rtol)
    assert math.log(got["loss"]) == pytest.approx(log_L, abs=1e-12 if x64 else 3e-5)
    assert 6 * got["N_opt"] * got["D_opt"] == pytest.approx(C, rel=1e-13 if x64 else 1e-5)


def test_allocation_of_float32_draws_does_not_overflow_at_1e30():
    """Budgets near the float32 limit: C/6 and N_opt stay finite, D from the constraint."""
    budgets = np.array([1e21, 1e25, 1e30, 1e35])
    with jax.enable_x64(False):
        alloc = allocate(CHINCHILLA, HOFFMANN_PARAMS, jnp.asarray(budgets, jnp.float32))
        arrays = {k: np.asarray(v) for k, v in alloc._asdict().items()}
    for name, v in arrays.items():
        assert np.all(np.isfinite(v)), (name, v)
    with jax.enable_x64(True):
        ref = allocate(CHINCHILLA, HOFFMANN_PARAMS, budgets)
    np.testing.assert_allclose(arrays["N_opt"], np.asarray(ref.N_opt), rtol=1e-4)
    np.testing.assert_allclose(arrays["loss"], np.asarray(ref.loss), rtol=1e-5)


def test_kernel_gradients_finite_in_float32_at_extremes():
    """NUTS needs gradients: finite at N, D = 1 and 1e15 with steep and flat exponents."""
    logs = jnp.log(jnp.asarray([1.0, 1e8, 1e15], jnp.float32))

    def f(theta):
        E, a, b, alpha, beta = theta
        return log_loss_elementwise(E, a, b, alpha, beta, logs, logs[::-1]).sum()

    with jax.enable_x64(False):
        for theta in ([1.7, 6.0, 6.0, 0.34, 0.28], [0.1, 18.0, 0.0, 1.5, 0.05]):
            g = jax.grad(f)(jnp.asarray(theta, jnp.float32))
            assert g.dtype == jnp.float32 and bool(jnp.all(jnp.isfinite(g))), g


def test_float32_fit_at_1e15_scale_recovers_truth():
    """The accelerator path on CPU: a float32 fit of runs up to N ~ 1e15, D ~ 3e16.

    Design: the Chinchilla sweep scaled by 1e5 in both N and D (budgets to 3e31); the truth
    keeps the same losses by scaling A and B, so only the magnitudes change.
    """
    N, D = chinchilla_design()
    s = 1e5
    p = HOFFMANN_PARAMS._replace(
        A=HOFFMANN_PARAMS.A * s**HOFFMANN_PARAMS.alpha,
        B=HOFFMANN_PARAMS.B * s**HOFFMANN_PARAMS.beta,
    )
    data = simulate_runs(p, sigma=0.01, design=(N * s, D * s), seed=2)
    assert data.N.max() > 1e15
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bayescale.SamplingWarning)
        fit = bayescale.fit(
            data, precision="float32", chains=2, warmup=400, draws=400, seed=2, escalate=False
        )
    assert all(np.all(np.isfinite(v)) for v in fit.samples.values())
    assert fit.diagnostics.divergences == 0
    summary = fit.summary(ci=0.99)
    for name in ("E", "alpha", "beta"):
        truth = getattr(p, name)
        assert summary.loc[name, "lo"] <= truth <= summary.loc[name, "hi"], name
    alloc = fit.allocation([1e30, 1e33, 1e40])  # 1e40 FLOPs: beyond float32, fine in float64
    assert np.all(np.isfinite(alloc.drop(columns="budget").to_numpy()))
    with jax.enable_x64(True):
        true_N = np.asarray(allocate(CHINCHILLA, p, np.array([1e30])).N_opt)[0]
    row = fit.allocation([1e30], ci=0.99).iloc[0]
    assert row["N_opt_lo"] <= true_N <= row["N_opt_hi"]
