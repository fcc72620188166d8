"""Ordered hold-out backtest: the split, the scores, and nominal coverage on synthetic data."""

import math
import warnings

import numpy as np
import pytest

import bayescale
from bayescale.backtest import split_holdout
from bayescale.simulate import HOFFMANN_PARAMS, simulate_runs


@pytest.fixture(scope="module")
def synthetic():
    return simulate_runs(HOFFMANN_PARAMS, sigma=0.01, seed=21)


def test_split_holds_out_the_largest_runs(synthetic):
    train, threshold = split_holdout(synthetic, "largest", 0.2)
    C = synthetic.C
    assert (C[train] < threshold).all() and (C[~train] >= threshold).all()
    assert (~train).sum() >= math.ceil(0.2 * len(synthetic))
    train_n, _ = split_holdout(synthetic, "largest_N", 0.3)
    assert synthetic.N[train_n].max() < synthetic.N[~train_n].min()


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({"holdout": "smallest"}, "unknown holdout 'smallest'"),
        ({"frac": 1.0}, r"frac must be in \(0, 1\)"),
        ({"frac": 0.97}, "leaves .* training runs"),
    ],
)
def test_split_rejects_bad_requests(synthetic, kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        split_holdout(synthetic, **kwargs)


def test_backtest_reaches_nominal_coverage_on_synthetic_data(synthetic):
    # the runs follow the law exactly, so the law alone (drift=0) must be calibrated; the
    # default extrapolation model is wider than that here (next assertion)
    result = bayescale.backtest(synthetic, frac=0.25, ci=(0.5, 0.9), seed=21, drift=0)
    wide = bayescale.backtest(synthetic, frac=0.25, ci=(0.5, 0.9), seed=21).table.iloc[0]
    row = result.table.iloc[0]
    for level in (0.5, 0.9):
        assert wide[f"coverage_{level:g}"] >= row[f"coverage_{level:g}"]
    assert result.ok and row["law"] == "chinchilla" and row["likelihood"] == "gaussian"
    n = int(row["n_test"])
    assert n == int((~split_holdout(synthetic, "largest", 0.25)[0]).sum())
    for level in (0.5, 0.9):
        band = 2.58 * math.sqrt(level * (1 - level) / n)  # binomial 99%
        assert abs(row[f"coverage_{level:g}"] - level) <= band, row
    assert row["rmse_log"] < 0.02 and abs(row["bias_log"]) < 0.01
    assert np.isfinite(row["mlpd"])
    runs = result.runs
    assert len(runs) == n and (runs["C"] >= result.threshold).all()
    d = result.to_dict()
    assert d["models"][0]["n_test"] == n and d["diagnostics"]["ok"] is True


def test_fit_backtest_reuses_the_fit_settings(small_fit):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bayescale.SamplingWarning)
        result = small_fit.backtest(frac=0.2)
    (fit,) = result.fits.values()
    assert fit.settings.draws == small_fit.settings.draws == 200
    assert fit.settings.chains == 2 and len(fit.data) == 192


@pytest.mark.slow
def test_backtest_coverage_over_many_synthetic_data_sets():
    covered, total = {0.5: 0, 0.9: 0}, 0
    for seed in range(10):
        data = simulate_runs(HOFFMANN_PARAMS, sigma=0.01, seed=100 + seed)
        result = bayescale.backtest(data, frac=0.25, seed=seed)
        row = result.table.iloc[0]
        total += int(row["n_test"])
        for level in covered:
            covered[level] += round(row[f"coverage_{level:g}"] * row["n_test"])
    for level, k in covered.items():
        # held-out runs of one data set share a posterior, so allow twice the binomial band
        band = 2 * 2.58 * math.sqrt(level * (1 - level) / total)
        assert abs(k / total - level) <= band, (level, k, total)
