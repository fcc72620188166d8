"""Where data enter (bayescale.data.validation): one frame in, the fields of ScalingData out."""

import numpy as np
import pandas as pd
import pytest

from bayescale.data.validation import CheckpointWarning, validate_frame


def fields(frame, **kw):
    opts = dict(
        n_col="N",
        d_col="D",
        loss_col="loss",
        c_col="C",
        flops_per_param_token=6.0,
        extra_cols=None,
        group_col=None,
        min_runs=1,
        run_cols=None,
        n_unit=None,
        d_unit=None,
        loss_kind=None,
        source="test",
        row_word="row",
    )
    return validate_frame(frame, **{**opts, **kw})


def test_suffixes_units_and_derived_tokens():
    frame = pd.DataFrame({"N": ["125M", "1.3B"], "C": [6 * 1.25e8 * 2e9, 6 * 1.3e9 * 3e10]})
    frame["loss"] = [3.1, 2.6]
    out = fields(frame)
    np.testing.assert_allclose(out["N"], [1.25e8, 1.3e9])
    np.testing.assert_allclose(out["D"], [2e9, 3e10])
    millions = fields(
        pd.DataFrame({"N": [125, 1300], "D": [2e9, 3e10], "loss": [3.1, 2.6]}), n_unit="M"
    )
    np.testing.assert_allclose(millions["N"], [1.25e8, 1.3e9])


def test_the_last_checkpoint_of_each_run_is_kept():
    frame = pd.DataFrame(
        {
            "run": ["a", "a", "b", "b", "b"],
            "N": [1e8, 1e8, 4e8, 4e8, 4e8],
            "D": [1e9, 2e9, 1e9, 4e9, 8e9],
            "loss": [3.5, 3.2, 3.4, 3.0, 2.8],
        }
    )
    out = fields(frame, run_cols="run")
    np.testing.assert_allclose(out["D"], [2e9, 8e9])
    assert out["checkpoints_set_aside"] == 3


def test_checkpoint_like_data_warn_and_name_the_column():
    rng = np.random.default_rng(0)
    N = np.repeat([1e8, 2e8, 4e8, 8e8], 6)
    step = np.tile(np.arange(1, 7) * 1000, 4)
    frame = pd.DataFrame({"N": N, "D": step * 1e6, "step": step, "loss": 3 + rng.random(24)})
    with pytest.warns(CheckpointWarning, match="step"):
        fields(frame)


@pytest.mark.parametrize(
    ("frame", "pattern"),
    [
        (pd.DataFrame({"N": [1, -2], "D": [1e9, 1e9], "loss": [3, 3]}), r"'N' must be > 0"),
        (pd.DataFrame({"N": [1e8, 1e9], "D": [1e9, 1e9], "loss": [300, 200]}), "perplexity"),
        (pd.DataFrame({"N": [125, 1300], "D": [2e9, 3e10], "loss": [3, 2]}), "n-unit"),
        (pd.DataFrame({"N": [1e8, "x"], "D": [1e9, 1e9], "loss": [3, 3]}), "non-numeric"),
    ],
)
def test_bad_values_are_named_with_their_rows(frame, pattern):
    with pytest.raises(ValueError, match=pattern):
        fields(frame)


def test_check_points():
    from bayescale.data.validation import check_points

    N, D = check_points(7e9, [1.4e12])
    assert N.dtype == D.dtype == np.float64 and N.shape == D.shape == (1,)
    for bad in ((7e9, [1e12, 2e12]), (-1.0, 1e12), (7e9, np.nan)):
        with pytest.raises(ValueError, match="same shape with finite values > 0"):
            check_points(*bad)


@pytest.mark.parametrize("bad", [0, 1, -0.5, 2.0, "x", None, float("nan")])
def test_open_unit_refuses_outside_zero_one(bad):
    from bayescale.data.validation import open_unit

    with pytest.raises(ValueError, match=r"frac must be a number in \(0, 1\)"):
        open_unit(bad, "frac")


def test_open_unit_returns_a_float():
    from bayescale.data.validation import open_unit

    assert open_unit("0.25", "frac") == 0.25 and isinstance(open_unit(0.5, "ci"), float)
