"""Degenerate designs and failed sampling must never look like a confident answer.

Each case must (1) say what is wrong and what to do, (2) set ``diagnostics.ok`` False and
warn (``strict=True`` raises), (3) make the CLI exit 3 with a warning banner above the
table. A clean design with the same settings must pass, so the checks are not just noise.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import numpyro.distributions as dist
import pandas as pd
import pytest

import bayescale
from bayescale import ScalingData
from bayescale.checks.simulate import HOFFMANN_PARAMS, simulate_runs
from bayescale.cli.commands import main
from bayescale.data.scaling_data import design_problems

N_SIZES = np.geomspace(1e8, 1e10, 40)


def collinear_runs(spread=0.0, seed=1):
    """Every run at ~20 tokens per parameter: log D = log N + const (+ spread)."""
    rng = np.random.default_rng(seed)
    D = 20 * N_SIZES * np.exp(rng.normal(0, spread, N_SIZES.size))
    return simulate_runs(HOFFMANN_PARAMS, sigma=0.01, design=(N_SIZES, D), seed=seed)


def fit_quietly(data, **kwargs):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", bayescale.SamplingWarning)
        result = bayescale.fit(data, **kwargs)
    messages = [
        str(w.message) for w in caught if issubclass(w.category, bayescale.SamplingWarning)
    ]
    return result, messages


def test_one_model_size_is_rejected_with_advice():
    D = np.geomspace(1e9, 1e11, 10)
    with pytest.raises(ValueError, match=r"column 'N' has 1 distinct.*add runs at other values"):
        ScalingData.from_arrays(N=np.full(10, 1e9), D=D, loss=np.linspace(2, 3, 10))
    # a ScalingData built directly skips validation; fit() checks the design itself
    raw = ScalingData(N=np.full(10, 1e9), D=D, loss=np.linspace(2, 3, 10))
    with pytest.raises(ValueError, match=r"N has 1 distinct value.*identify the exponent alpha"):
        bayescale.fit(raw)


def test_design_check_flags_collinear_but_not_isoflop_designs():
    (problem,) = design_problems(collinear_runs(0.0))
    assert "almost collinear" in problem and "isoFLOP" in problem
    assert design_problems(collinear_runs(0.05))  # corr 0.999: still flagged
    assert design_problems(simulate_runs(seed=0)) == []  # Chinchilla-like sweep
    assert design_problems(bayescale.load_dataset("chinchilla")) == []


# The default path (retries on, the check on) at a third of the default draws: the design
# fails the fit at any length, and the full default took 40 s of the suite here.
SHORT = {"warmup": 300, "draws": 300}


@pytest.fixture(scope="module")
def collinear_fit():
    return fit_quietly(collinear_runs(0.0), seed=1, **SHORT)


def test_collinear_design_fails_the_fit_and_strict_raises(collinear_fit):
    result, messages = collinear_fit
    assert not result.ok
    assert any("almost collinear" in m for m in messages), messages
    assert result.to_dict()["diagnostics"]["ok"] is False
    # the sampler struggles here too, but retrying cannot fix the data: it is not retried
    assert result.diagnostics.attempts == ()
    assert any(n.startswith("Not retried") for n in result.diagnostics.notes)
    with pytest.raises(bayescale.SamplingError, match="almost collinear"):
        result.diagnostics.report(strict=True)  # what fit(strict=True) calls


# Shorter sampling for the cases below: they assert the specific problem, not ok alone
# (ESS may also fall short), and the clean control asserts that problem is absent.
FAST = {"chains": 2, "warmup": 300, "draws": 300, "escalate": False}
MODEL_CHECKS = ("barely constrain", "residuals are", "collinear")


def test_noise_far_larger_than_signal_is_not_identified():
    data = simulate_runs(HOFFMANN_PARAMS, sigma=0.5, seed=1)
    result, messages = fit_quietly(data, seed=1, **FAST)
    assert not result.ok
    assert any("barely constrain" in m and "alpha" in m for m in messages), messages


def test_clean_design_raises_none_of_the_model_checks():
    """Negative control: the same settings on a good sweep report none of these problems."""
    result, _ = fit_quietly(simulate_runs(HOFFMANN_PARAMS, sigma=0.01, seed=1), seed=1, **FAST)
    assert not [p for p in result.diagnostics.problems if any(c in p for c in MODEL_CHECKS)]


def test_absurd_priors_fail_loudly():
    """A prior that contradicts the data (E ~ 10 nats, above every observed loss).

    The sampler cannot follow the resulting posterior (divergences), and with E forced
    far too high the data no longer pin down the exponents.
    """
    data = simulate_runs(HOFFMANN_PARAMS, sigma=0.01, seed=1)
    result, messages = fit_quietly(
        data, seed=1, priors={"E": dist.LogNormal(np.log(10.0), 0.01)}, **FAST
    )
    assert not result.ok
    assert any("divergent transitions" in m and "tighter priors" in m for m in messages)
    assert any("barely constrain alpha, beta" in m for m in messages), messages


def test_prior_excluding_the_default_start_still_samples():
    """alpha ~ Uniform(2, 3) excludes the default start 0.3: chains used to sit at NaN."""
    data = simulate_runs(HOFFMANN_PARAMS, sigma=0.01, seed=1)
    result, _ = fit_quietly(data, seed=0, priors={"alpha": dist.Uniform(2.0, 3.0)}, **FAST)
    assert all(np.all(np.isfinite(v)) for v in result.samples.values())
    alpha = result.draws("alpha")
    assert alpha.min() > 2.0 and alpha.max() < 3.0
    assert not result.ok  # the data want alpha near 0.34: the fit is still flagged


def test_prior_forcing_tiny_noise_is_a_misfit():
    data = simulate_runs(HOFFMANN_PARAMS, sigma=0.01, seed=1)
    result, messages = fit_quietly(data, seed=0, priors={"sigma": dist.HalfNormal(1e-6)}, **FAST)
    assert not result.ok
    assert any("residuals are" in m and "larger than the fitted noise" in m for m in messages)


def test_cli_exits_3_with_a_banner_for_a_collinear_design(tmp_path, capsys):
    data = collinear_runs(0.0)
    path = tmp_path / "runs.csv"
    pd.DataFrame({"N": data.N, "D": data.D, "loss": data.loss}).to_csv(path, index=False)
    out_json, out_md = tmp_path / "o.json", tmp_path / "o.md"
    code = main(
        ["fit", str(path), "--seed", "1", "--no-cache", "--json", str(out_json),
         "--report", str(out_md), "--warmup", "300", "--draws", "300"]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 3
    first = out.splitlines()[0]
    assert first.startswith("WARNING: this fit FAILED its checks"), first
    assert out.index("WARNING") < out.index("Compute-optimal allocation")
    d = json.loads(out_json.read_text())
    assert d["diagnostics"]["ok"] is False
    assert any("collinear" in p for p in d["diagnostics"]["problems"])
    assert "**WARNING: this fit FAILED its checks" in out_md.read_text()


def test_reloaded_failed_fit_keeps_its_problems(tmp_path, collinear_fit):
    result, _ = collinear_fit
    path = tmp_path / "fit.nc"
    result.save(path)
    loaded = bayescale.load(path)
    assert not loaded.ok
    assert loaded.diagnostics.problems == result.diagnostics.problems
    assert loaded.to_json() == result.to_json()
