"""The posterior record and interval maths: pure functions, no sampler."""

import dataclasses

import numpy as np
import pytest
from _synthetic import CENTRE, synthetic_result

from bayescale.inference.posterior import (
    Posterior,
    check_budgets,
    check_ci,
    flat_samples,
    interval,
    summarize,
)


def test_equal_tailed_interval_is_the_quantiles():
    x = np.random.default_rng(0).standard_normal((4000, 3))
    lo, hi = interval(x, 0.9)
    np.testing.assert_allclose(lo, np.quantile(x, 0.05, axis=0))
    np.testing.assert_allclose(hi, np.quantile(x, 0.95, axis=0))
    s = summarize(x, 0.5)
    np.testing.assert_allclose(s["median"], np.median(x, axis=0))
    np.testing.assert_allclose(s["sd"], np.std(x, axis=0), rtol=1e-3)


def test_hdi_is_narrower_than_eti_on_a_skewed_posterior():
    x = np.random.default_rng(1).lognormal(0.0, 1.0, 20_000)
    e_lo, e_hi = interval(x, 0.9, "eti")
    h_lo, h_hi = interval(x, 0.9, "hdi")
    assert h_hi - h_lo < e_hi - e_lo
    assert np.mean((x >= h_lo) & (x <= h_hi)) == pytest.approx(0.9, abs=0.01)


@pytest.mark.parametrize(
    ("args", "pattern"),
    [((1.5,), r"ci must be a probability in \(0, 1\)"), ((0.9, "hpd"), "ci_kind")],
)
def test_bad_interval_requests(args, pattern):
    with pytest.raises(ValueError, match=pattern):
        check_ci(*args)


def test_budgets_are_checked_where_they_enter():
    np.testing.assert_array_equal(check_budgets(1e24), [1e24])
    for bad, pattern in (("1e24", "must be numbers"), ([], "1-d"), ([1e24, -1], r"> 0 \(FLOPs\)")):
        with pytest.raises(ValueError, match=pattern):
            check_budgets(bad)


def test_flat_samples_splits_per_group_parameters():
    out = flat_samples({"E": np.zeros((2, 5, 3)), "alpha": np.ones((2, 5))}, ("a", "b", "c"))
    assert set(out) == {"E[a]", "E[b]", "E[c]", "alpha"}
    assert out["E[b]"].shape == (2, 5)


def test_the_record_alone_gives_draws_allocation_and_predictions():
    fit = synthetic_result(S=200)
    post = Posterior(**{f.name: getattr(fit, f.name) for f in dataclasses.fields(Posterior)})
    assert not hasattr(post, "bayes_optimal")  # decisions live on the facade
    assert post.n_draws == 200 and post.theta()["alpha"].shape == (200,)
    np.testing.assert_allclose(np.median(post.draws("E")), CENTRE.E, rtol=0.02)
    table = post.allocation([1e23, 1e24])
    assert list(table["budget"]) == [1e23, 1e24]
    assert (table["N_opt_lo"] < table["N_opt"]).all() and (
        table["N_opt"] < table["N_opt_hi"]
    ).all()
    law = post.predict([7e10], [1.4e12])
    new = post.predict([7e10], [1.4e12], kind="new_run")
    assert law.shape == new.shape == (200, 1)
    assert np.std(np.log(new)) > np.std(np.log(law))  # a new run adds the fitted noise
