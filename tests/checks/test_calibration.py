"""Simulation-based calibration: the machinery (exact controls) and a small NUTS run for CI.

The recorded run (>= 200 data sets, ``make calibrate``) lives in benchmarks/CALIBRATION.md;
here a small version checks NUTS against looser (99.9%) binomial bands, and two controls
that need no sampler check that the ranks and bands can tell calibrated from
overconfident intervals.
"""

from __future__ import annotations

import numpy as np
import pytest

from bayescale.checks.calibration import (
    CalibrationResult,
    MethodOutput,
    calibration,
    realistic_truths,
)
from bayescale.inference.priors import default_priors

SITES = ("E", "A", "B", "alpha", "beta", "sigma")


def prior_draws(seed, n=400, shrink=1.0):
    """Fresh draws from the default priors (NumPy: cheap), ignoring the data.

    ``shrink`` < 1 narrows them around the prior median in log space.
    """
    priors = default_priors()
    rng = np.random.default_rng(seed)
    draws = {s: rng.lognormal(float(priors[s].loc), float(priors[s].scale), n) for s in SITES[:5]}
    draws["sigma"] = np.abs(rng.normal(0.0, float(priors["sigma"].scale), n))
    if shrink != 1.0:
        draws = {
            s: np.exp(np.median(np.log(v)) + shrink * (np.log(v) - np.median(np.log(v))))
            for s, v in draws.items()
        }
    return draws


def prior_as_posterior(data, seed):
    """Exactly calibrated under SBC from the prior: with no information, posterior = prior."""
    return MethodOutput(prior_draws(seed + 10_000))


def overconfident(data, seed):
    """The same draws squeezed to a third of their spread: intervals far too narrow."""
    return MethodOutput(prior_draws(seed + 10_000, shrink=1 / 3), ok=False, problems=("x",))


@pytest.fixture(scope="module")
def exact():
    return calibration(200, method=prior_as_posterior, seed=1, progress=False)


def test_positive_control_is_calibrated(exact):
    assert exact.n_sims == 200 and exact.ranks.shape == (200, 12)
    assert exact.quantities[:6] == SITES
    assert exact.passed(band=0.999), exact.coverage_table(0.999)
    assert (exact.rank_uniformity() > 1e-3).all(), exact.rank_uniformity()
    assert exact.ranks.min() >= 0 and exact.ranks.max() <= exact.n_ranks


def test_negative_control_fails():
    bad = calibration(60, method=overconfident, seed=1, progress=False)
    assert not bad.passed(band=0.999)
    table = bad.coverage_table(0.999)
    assert (table["cov_0.9"] < 0.75).all(), table
    assert (bad.rank_uniformity() < 1e-3).all()
    assert bad.problem_counts() == {} and not bad.ok.any()


def test_small_nuts_calibration_for_ci(tmp_path):
    """NUTS on 20 realistic data sets (valid SBC: the generator is the fit's prior)."""
    result = calibration(
        20,
        generator=realistic_truths(),
        priors=realistic_truths(),
        chains=2,
        warmup=300,
        draws=300,
        escalate=False,
        seed=3,
        progress=False,
    )
    assert result.passed(band=0.999), result.coverage_table(0.999)
    assert result.info["settings"]["chains"] == 2
    assert np.all(np.isfinite(result.truth)) and np.all(result.truth > 0)
    # reports and storage
    path = tmp_path / "cal.json"
    result.save(path)
    again = CalibrationResult.load(path)
    np.testing.assert_array_equal(again.ranks, result.ranks)
    assert again.coverage_table().equals(result.coverage_table())
    md = result.to_markdown(title="ci")
    assert "| `N_opt@1000x` |" in md and "Verdict:" in md
    result.plot(tmp_path / "cal.png")
    assert (tmp_path / "cal.png").stat().st_size > 10_000


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({"n_sims": 0}, "n_sims must be a positive integer"),
        ({"generator": "posterior"}, "generator must be 'prior' or a mapping"),
        ({"levels": (0.5, 1.5)}, r"levels must be probabilities in \(0, 1\)"),
        ({"chains": 0}, "chains must be >= 1"),
        ({"method": lambda data, seed: 42}, "a calibration method must return"),
    ],
)
def test_bad_arguments(kwargs, pattern):
    kwargs = {"n_sims": 2, **kwargs}
    with pytest.raises(ValueError, match=pattern):
        calibration(progress=False, **kwargs)


@pytest.mark.slow
def test_recorded_size_nuts_calibration_from_the_prior():
    """The recorded run's size (200 data sets, default settings): ~10 min on 2 cores."""
    result = calibration(200, seed=0, progress=False)
    table = result.coverage_table(0.999)
    assert result.passed(band=0.999), table
