"""A fit whose sampler struggles retries with other settings, bounded, and says so."""

import dataclasses
import warnings

import numpy as np
import pytest

import bayescale
from bayescale.checks.simulate import simulate_runs
from bayescale.inference.diagnostics import Diagnostics
from bayescale.inference.escalation import (
    MAX_GROWTH,
    next_settings,
    sampling_trouble,
)
from bayescale.inference.settings import FitSettings
from bayescale.report.summaries import text_summary


def _diag(**kw):
    base = dict(
        r_hat={"alpha": 1.002},
        ess_bulk={"alpha": 1500.0},
        ess_tail={"alpha": 1500.0},
        divergences=0,
        tree_depth_saturated=0,
        bfmi=[0.9] * 4,
        mean_steps=31.0,
    )
    return Diagnostics(**{**base, **kw})


def test_trouble_is_read_from_the_numbers():
    cfg = FitSettings()
    assert sampling_trouble(_diag(), cfg) == ()
    assert sampling_trouble(_diag(divergences=3), cfg) == ("divergences",)
    assert sampling_trouble(_diag(r_hat={"alpha": 1.05}), cfg) == ("r_hat",)
    assert sampling_trouble(_diag(ess_tail={"alpha": 137.0}), cfg) == ("ess",)
    assert sampling_trouble(_diag(bfmi=[0.9, 0.1]), cfg) == ("bfmi",)
    # 1% of 4,000 draws at the maximum depth triggers a retry; 39 does not
    assert sampling_trouble(_diag(tree_depth_saturated=40), cfg) == ("tree_depth",)
    assert sampling_trouble(_diag(tree_depth_saturated=39), cfg) == ()
    # one chain cannot show disagreement, and no retry could change that
    one = dataclasses.replace(cfg, chains=1)
    assert sampling_trouble(_diag(r_hat={"alpha": float("nan")}), one) == ()


def test_each_kind_of_trouble_gets_its_step():
    dense = FitSettings()  # the default metric
    diag = dataclasses.replace(dense, dense_mass=False)

    def step(d, c=dense, tried=()):
        return next_settings(c, sampling_trouble(d, c), d, [c, *tried], c)

    assert dense.dense_mass and step(_diag()) is None
    # divergences on the dense metric fall back to the diagonal one, and back again
    why, change = step(_diag(divergences=2))
    assert change == {"dense_mass": False, "target_accept": 0.95, "warmup": 2000}
    assert step(_diag(divergences=2), diag)[1]["dense_mass"] is True
    # dense chains that disagree: the diagonal metric first, then a longer run
    why, change = step(_diag(r_hat={"alpha": 1.03}))
    assert change == {"dense_mass": False} and "diagonal" in why
    tried = [diag]
    assert step(_diag(r_hat={"alpha": 1.03}), dense, tried)[1] == {"warmup": 2000, "draws": 2000}
    # a ridge under the diagonal metric: the dense one
    why, change = step(_diag(tree_depth_saturated=500, mean_steps=700), diag)
    assert change == {"dense_mass": True} and "ridge" in why
    # ... and a ridge the dense metric still saturates on: a longer warmup
    assert step(_diag(tree_depth_saturated=500), dense)[1] == {"warmup": 2000}
    # low ESS alone: enough draws for 400 (with a margin), at most MAX_GROWTH times more
    assert step(_diag(ess_bulk={"alpha": 250.0}), diag)[1] == {"draws": 2000}
    assert step(_diag(ess_bulk={"alpha": 20.0}), diag)[1] == {"draws": MAX_GROWTH * 1000}
    # a setting already tried is not tried again; nothing left is None
    tried = [dataclasses.replace(diag, dense_mass=True)]
    assert step(_diag(tree_depth_saturated=500, mean_steps=700), diag, tried) is None


@pytest.fixture(scope="module")
def escalated_fit():
    """A fit made to struggle: depth 3 saturates nearly every trajectory."""
    data = simulate_runs(seed=2, noise="student_t", nu=3.0, sigma=0.01)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        kw = dict(warmup=150, draws=150, chains=2, max_tree_depth=3, dense_mass=False, seed=4)
        return data, kw, bayescale.fit(data, extrapolation_check=False, **kw)


def test_a_struggling_fit_is_retried_and_records_its_attempts(escalated_fit):
    result = escalated_fit[2]
    d = result.diagnostics
    assert 1 <= len(d.attempts) <= 3
    first = d.attempts[0]
    assert "tree_depth" in first["trouble"] and first["why"]
    assert first["gradients"] > 0
    # the kept attempt's settings are the fit's settings; the others differ from them
    assert all(a["settings"] for a in d.attempts)
    assert (result.settings.warmup, result.settings.draws) != (150, 150) or (
        result.settings.dense_mass
    )
    assert result.samples["alpha"].shape == (2, result.settings.draws)
    # the JSON, the text summary and a saved file say what was retried
    out = result.to_dict()["diagnostics"]
    assert out["attempts"] == [dict(a) for a in d.attempts]
    assert "The sampler was retried" in text_summary(result.to_dict())


def test_retries_are_deterministic_and_survive_a_round_trip(escalated_fit, tmp_path):
    data, kw, result = escalated_fit
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        again = bayescale.fit(data, extrapolation_check=False, **kw)
    assert again.diagnostics.attempts == result.diagnostics.attempts
    np.testing.assert_array_equal(again.samples["alpha"], result.samples["alpha"])
    path = tmp_path / "fit.nc"
    result.save(path)
    assert bayescale.load(path).diagnostics.attempts == result.diagnostics.attempts


def test_escalate_false_keeps_the_first_attempt(escalated_fit):
    data, kw, _ = escalated_fit
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plain = bayescale.fit(data, extrapolation_check=False, escalate=False, **kw)
    assert plain.diagnostics.attempts == ()
    assert plain.settings.max_tree_depth == 3 and not plain.settings.dense_mass
    assert plain.diagnostics.tree_depth_saturated > 0


def test_without_growth_only_the_metric_changes():
    """Data the fit flags (a parameter barely constrained, a misfit): no longer runs."""
    dense = FitSettings()
    diag = dataclasses.replace(dense, dense_mass=False)
    why, change = next_settings(
        dense, ("divergences",), _diag(divergences=2), [dense], dense, grow=False
    )
    assert change == {"dense_mass": False, "target_accept": 0.95} and "divergences" in why
    low = _diag(ess_bulk={"alpha": 100.0})
    assert next_settings(dense, ("ess",), low, [dense], dense, grow=False)[1] == {
        "dense_mass": False
    }
    assert next_settings(diag, ("ess",), low, [diag], diag, grow=False) is None
