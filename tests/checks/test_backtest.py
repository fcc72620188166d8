"""Ordered hold-out backtest: the split, the scores, and nominal coverage on synthetic data."""

import math
import warnings

import numpy as np
import pytest

import bayescale
from bayescale.checks.backtest import split_holdout
from bayescale.checks.simulate import HOFFMANN_PARAMS, simulate_runs


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
        ({"frac": 1.0}, r"frac must be a number in \(0, 1\)"),
        ({"frac": 0.97}, "leaves .* training runs"),
    ],
)
def test_split_rejects_bad_requests(synthetic, kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        split_holdout(synthetic, **kwargs)


def test_backtest_reaches_nominal_coverage_on_synthetic_data(synthetic):
    # the runs follow the law exactly, so the law alone (drift=0) must be calibrated; the
    # default extrapolation model is wider than that here, and leans (the population's
    # larger runs beat their smaller runs' law), which runs exactly on the law do not
    result = bayescale.backtest(synthetic, frac=0.25, ci=(0.5, 0.9), seed=21, drift=0)
    drifting = bayescale.backtest(synthetic, frac=0.25, ci=(0.5, 0.9), seed=21)
    row = result.table.iloc[0]
    for level in (0.5, 0.9):
        width = {
            name: np.mean(np.log(r.runs[f"hi_{level:g}"] / r.runs[f"lo_{level:g}"]))
            for name, r in (("law", result), ("drift", drifting))
        }
        assert width["drift"] > width["law"]
    assert np.mean(np.log(drifting.runs["pred_median"] / result.runs["pred_median"])) < 0
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


def test_the_check_refit_starts_from_the_fit_and_agrees_with_a_refit_from_scratch(
    small_fit, monkeypatch
):
    from bayescale.checks import backtest as bt
    from bayescale.inference.fit import WarmStart, sample

    with pytest.raises(ValueError, match="unknown method 'loo'"):
        bt.extrapolation_check(small_fit, method="loo")
    fits = []
    real = bt.sample
    monkeypatch.setattr(bt, "sample", lambda *a, **k: fits.append(real(*a, **k)) or fits[-1])
    warm = bt.extrapolation_check(small_fit, method="refit")
    assert warm.method == "refit" and warm == bt.extrapolation_check(small_fit, method="refit")
    monkeypatch.setattr(bt, "CHECK_WARM_START", False)
    cold = bt.extrapolation_check(small_fit, method="refit")
    # from scratch it is backtest_fit's refit of the same past runs, scored at the
    # population's median m (the check's; a backtest draws m from its prior)
    bt.backtest_fit(small_fit, frac=bt.CHECK_FRAC, ci=(bt.CHECK_LEVEL,))
    warm_fit, _, cold_fit, backtest_fit = fits  # (the second warm refit is the same)
    train, _ = bt.split_holdout(small_fit.data, "largest", bt.CHECK_FRAC)
    future = small_fit.data.subset(~train)
    _, runs = bt.evaluate(
        bt._typical_reach(backtest_fit), future, (bt.CHECK_LEVEL,), seed=small_fit.settings.seed
    )
    y = runs["loss"].to_numpy()
    lo, hi = (runs[f"{k}_{bt.CHECK_LEVEL:g}"].to_numpy() for k in ("lo", "hi"))
    assert cold.coverage == pytest.approx(np.mean((y >= lo) & (y <= hi)))
    np.testing.assert_array_equal(cold_fit.samples["alpha"], backtest_fit.samples["alpha"])
    assert warm_fit.settings.warmup == 200 == cold_fit.settings.warmup  # capped at the fit's
    assert warm_fit.timing["gradients"] < cold_fit.timing["gradients"]
    assert warm_fit.diagnostics.divergences == 0
    # the same posterior: medians within Monte Carlo error of each other
    for p in ("E", "alpha", "beta"):
        a, b = warm_fit.samples[p].ravel(), cold_fit.samples[p].ravel()
        se = np.hypot(
            a.std() / np.sqrt(warm_fit.diagnostics.ess_bulk[p]),
            b.std() / np.sqrt(cold_fit.diagnostics.ess_bulk[p]),
        )
        assert abs(np.median(a) - np.median(b)) < 5 * se, p
    assert abs(warm.excess - cold.excess) < 0.25
    # the verdicts agree unless the tolerance lies between two excesses that agree within
    # Monte Carlo error (measured: 1.47 and 1.56 about the tolerance 1.5 on this fit)
    pair = sorted([warm.excess, cold.excess])
    assert warm.ok == cold.ok or pair[0] <= bt.CHECK_TOLERANCE <= pair[1]
    # a warm start needs every sampled parameter, one start per chain, and no groups
    draws = {k: v.reshape(-1)[:50] for k, v in small_fit.samples.items()}
    starts = {k: v[:, -1] for k, v in small_fit.samples.items()}
    data = small_fit.data
    with pytest.raises(ValueError, match="lacks nu"):
        sample(
            data,
            warmup=5,
            draws=5,
            chains=2,
            warm_start=WarmStart({k: v for k, v in starts.items() if k != "nu"}, draws),
        )
    with pytest.raises(ValueError, match="one value per chain"):
        sample(data, warmup=5, draws=5, chains=3, warm_start=WarmStart(starts, draws))
    grouped = bayescale.ScalingData.from_arrays(
        N=data.N, D=data.D, loss=data.loss, group=np.arange(len(data)) % 2
    )
    with pytest.raises(ValueError, match="ungrouped"):
        sample(grouped, warmup=5, draws=5, chains=2, warm_start=WarmStart(starts, draws))


def test_the_check_refit_runs_the_fits_compiled_sampler(chinchilla, caplog):
    """Padded to the fit's runs and started late in warmup, the refit compiles no sampler.

    A fresh process paid 4-6 s of compile for the refit's own sampler before (measured
    with jax_log_compiles); the same logging counts compiles here. 203 runs: a shape no
    other test fits.
    """
    import logging

    import jax

    from bayescale.checks import backtest as bt

    data = chinchilla.subset(np.arange(203))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bayescale.SamplingWarning)
        fit = bayescale.fit(
            data,
            warmup=100,
            draws=100,
            chains=2,
            seed=0,
            extrapolation_check=False,
            escalate=False,
        )
    assert fit.unconstrained is not None
    with caplog.at_level(logging.WARNING), jax.log_compiles(True):
        check = bt.extrapolation_check(fit, method="refit")
    compiled = [
        r.getMessage() for r in caplog.records if "XLA compilation of jit(run)" in r.getMessage()
    ]
    assert check.method == "refit" and compiled == []
