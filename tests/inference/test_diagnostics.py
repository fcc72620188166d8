"""Sampler diagnostics on chains whose behaviour is known (no NUTS needed)."""

import numpy as np
import pytest

from bayescale.inference.diagnostics import (
    EfficiencyWarning,
    SamplingError,
    SamplingWarning,
    compute_diagnostics,
    identification_problems,
    misfit_problems,
    with_exact_draws,
)


def _stats(chains, draws, diverging=0):
    div = np.zeros((chains, draws), bool)
    div.flat[:diverging] = True
    rng = np.random.default_rng(3)
    return {
        "diverging": div,
        "num_steps": np.full((chains, draws), 15),
        "energy": rng.standard_normal((chains, draws)),
    }


def test_well_mixed_chains_pass():
    rng = np.random.default_rng(0)
    d = compute_diagnostics(
        {"alpha": rng.standard_normal((4, 1000))},
        _stats(4, 1000),
        max_tree_depth=10,
        target_accept=0.8,
    )
    assert d.ok and d.problems == []
    assert d.r_hat["alpha"] < 1.01 and d.ess_bulk["alpha"] > 3000


def test_exact_draws_are_reported_but_never_a_problem():
    """The drift is drawn i.i.d. (not sampled): its statistics join the record, and a short
    fit's chance R-hat above 1.01 on them is not a failed fit."""
    rng = np.random.default_rng(0)
    kw = {"max_tree_depth": 10, "target_accept": 0.8}
    d = compute_diagnostics({"alpha": rng.standard_normal((2, 150))}, _stats(2, 150), **kw)
    shifted = rng.standard_normal((2, 150)) + np.array([[0.0], [1.0]])  # chains disagree
    both = with_exact_draws(d, {"drift_tilt": shifted}, _stats(2, 150), **kw)
    assert both.r_hat["drift_tilt"] > 1.01 and "drift_tilt" in both.ess_bulk
    assert both.problems == d.problems and both.ok == d.ok
    assert with_exact_draws(d, {}, _stats(2, 150), **kw) is d


def test_disagreeing_chains_and_divergences_are_reported():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 500)) + np.array([[0.0], [0.0], [0.0], [3.0]])
    d = compute_diagnostics(
        {"beta": x}, _stats(4, 500, diverging=7), max_tree_depth=10, target_accept=0.8
    )
    assert not d.ok
    text = " ".join(d.problems)
    assert "R-hat" in text and "beta" in text and "7 divergent transitions" in text
    with pytest.warns(SamplingWarning, match="R-hat"):
        d.report()
    with pytest.raises(SamplingError, match="R-hat"):
        d.report(strict=True)


def test_identification_compares_posterior_and_prior_spread():
    rng = np.random.default_rng(0)
    tight = np.exp(0.01 * rng.standard_normal((4, 500)))
    loose = np.exp(0.6 * rng.standard_normal((4, 500)))
    assert identification_problems({"E": tight}, {"E": 0.75}) == []
    (problem,) = identification_problems({"E": loose}, {"E": 0.75})
    assert "barely constrain E" in problem


def test_misfit_flags_residuals_far_from_the_noise():
    assert misfit_problems(1.0) == []
    assert misfit_problems(5.0) and "residual" in misfit_problems(5.0)[0]


def test_tree_depth_saturation_alone_is_an_efficiency_note_not_a_failure():
    rng = np.random.default_rng(0)
    stats = _stats(4, 1000)
    stats["num_steps"][:, :50] = 2**10 - 1  # 200 of 4000 draws at the maximum depth
    d = compute_diagnostics(
        {"alpha": rng.standard_normal((4, 1000))}, stats, max_tree_depth=10, target_accept=0.8
    )
    assert d.ok and d.problems == []
    assert d.tree_depth_saturated == 200
    (note,) = d.notes
    assert "200 of 4000 draws hit max_tree_depth=10" in note and "efficiency" in note
    assert d.to_dict()["notes"] == [note] and d.to_dict()["ok"] is True
    with pytest.warns(EfficiencyWarning, match="max_tree_depth"):
        d.report(strict=True)  # slow is not invalid: strict does not raise
