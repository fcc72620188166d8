"""The facade: every public entry point hands back FitResults over the same record."""

import warnings

import numpy as np
from _synthetic import synthetic_result

import bayescale
from bayescale.inference.posterior import Posterior
from bayescale.result import FitResult


def test_of_wraps_without_copying_the_draws():
    fit = synthetic_result(S=40)
    post = Posterior(**{k: getattr(fit, k) for k in Posterior.__dataclass_fields__})
    wrapped = FitResult.of(post)
    assert isinstance(wrapped, FitResult) and FitResult.of(wrapped) is wrapped
    assert wrapped.samples is post.samples
    assert repr(wrapped).startswith("FitResult(")


def test_load_and_backtest_return_fit_results(small_fit, tmp_path):
    path = tmp_path / "fit.nc"
    small_fit.save(path)
    again = bayescale.load(path)
    assert isinstance(again, FitResult)
    np.testing.assert_array_equal(again.samples["alpha"], small_fit.samples["alpha"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bayescale.SamplingWarning)
        bt = bayescale.backtest(small_fit.data, chains=1, warmup=60, draws=30, escalate=False)
    (inner,) = bt.fits.values()
    assert isinstance(inner, FitResult)
    assert {"bayes_optimal", "report"} <= set(dir(inner))
