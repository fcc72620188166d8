"""The record of a calibration run: coverage against binomial bands, pooling, storage, report.

Built by hand from ranks and coverage flags, so no sampler runs; the end-to-end run that
fills one is in tests/checks/test_calibration.py.
"""

from __future__ import annotations

import numpy as np
import pytest

from bayescale.checks import calibration as validate
from bayescale.checks.calibration_result import CalibrationResult, binomial_band

QUANTITIES = ("E", "A", "N_opt@100x")


def record(n_sims=200, seed=0, squeeze=1.0):
    """Uniform ranks among 99 draws; each interval covers when the rank falls in its middle.

    ``squeeze`` < 1 narrows the covered range (an overconfident method).
    """
    rng = np.random.default_rng(seed)
    ranks = rng.integers(0, 100, size=(n_sims, len(QUANTITIES)))
    u = (ranks + 0.5) / 100.0
    covered = {p: np.abs(u - 0.5) <= squeeze * p / 2 for p in (0.5, 0.9)}
    return CalibrationResult(
        quantities=QUANTITIES,
        truth=rng.lognormal(size=(n_sims, len(QUANTITIES))),
        ranks=ranks,
        n_ranks=99,
        covered=covered,
        ok=np.arange(n_sims) % 4 != 0,
        problems=[("2 divergent transitions",) if i % 4 == 0 else () for i in range(n_sims)],
        info={"generator": "prior (SBC)", "method": "hand-made", "budgets": [1e23]},
    )


def test_binomial_band():
    lo, hi = binomial_band(200, 0.9, 0.99)
    assert (lo, hi) == pytest.approx((0.84, 0.95), abs=0.006)
    assert binomial_band(0, 0.9) == (0.0, 1.0)


def test_names_still_importable_from_validate():
    assert validate.CalibrationResult is CalibrationResult
    assert validate.binomial_band is binomial_band
    assert "divergent" in validate.PROBLEM_KINDS


def test_coverage_table_and_verdict():
    good, bad = record(), record(squeeze=1 / 3)
    table = good.coverage_table(0.999)
    assert list(table.index) == list(QUANTITIES) and table.attrs["n"] == 200
    assert good.passed(band=0.999)
    assert not bad.passed(band=0.999)
    assert (bad.coverage_table(0.999)["cov_0.9"] < 0.75).all()
    assert good.coverage_table(only_ok=True).attrs["n"] == int(good.ok.sum()) == 150
    assert good.problem_counts() == {"divergences": 50}


def test_pooling_replicates():
    one = record()
    both = CalibrationResult.pooled([one, one])
    assert both.n_sims == 2 * one.n_sims
    assert both.coverage_table()["cov_0.9"].equals(one.coverage_table()["cov_0.9"])
    other = CalibrationResult(**{**one.__dict__, "n_ranks": 49})
    with pytest.raises(ValueError, match="same quantities and n_ranks"):
        CalibrationResult.pooled([one, other])


def test_storage_round_trip_and_markdown(tmp_path):
    one = record()
    path = tmp_path / "cal.json"
    one.save(path)
    again = CalibrationResult.load(path)
    np.testing.assert_array_equal(again.ranks, one.ranks)
    assert again.coverage_table().equals(one.coverage_table())
    assert again.problems == one.problems and again.info == one.info
    md = record(squeeze=1 / 3).to_markdown(title="t")
    assert md.startswith("### t") and "| `N_opt@100x` |" in md
    assert "Verdict: coverage OUTSIDE its band" in md and "**NO**" in md
