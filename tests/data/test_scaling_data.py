import numpy as np
import pandas as pd
import pytest

import bayescale
from bayescale import ScalingData


def frame(n=10, **overrides):
    N = np.geomspace(1e8, 1e10, n)
    D = np.geomspace(1e9, 1e11, n)[::-1]
    cols = {"N": N, "D": D, "loss": 1.7 + 400 / N**0.34 + 400 / D**0.28}
    cols.update(overrides)
    return pd.DataFrame(cols)


def test_from_dataframe_defaults():
    d = ScalingData.from_dataframe(frame())
    assert len(d) == 10
    np.testing.assert_allclose(d.C, 6 * d.N * d.D)
    assert d.N.dtype == np.float64


def test_custom_columns_and_flops_column():
    f = frame().rename(columns={"N": "params", "loss": "val_loss"})
    f["flops"] = 6 * f["params"] * f["D"]
    d = ScalingData.from_dataframe(
        f.drop(columns="D"), n_col="params", loss_col="val_loss", c_col="flops"
    )
    np.testing.assert_allclose(d.D, f["D"], rtol=1e-12)
    # N derived from C and D when N is absent; the factor k is configurable
    g = frame()
    g["C"] = 8 * g["N"] * g["D"]
    d2 = ScalingData.from_dataframe(g.drop(columns="N"), flops_per_param_token=8)
    np.testing.assert_allclose(d2.N, g["N"], rtol=1e-12)
    assert d2.flops_per_param_token == 8


@pytest.mark.parametrize(
    ("mutate", "pattern"),
    [
        (lambda f: f.drop(columns="D"), r"column 'D' not found.*available columns: 'N', 'loss'"),
        (lambda f: f.drop(columns="loss"), r"column 'loss' not found"),
        (lambda f: f.drop(columns="N"), r"column 'N' not found"),
    ],
)
def test_missing_columns(mutate, pattern):
    with pytest.raises(ValueError, match=pattern):
        ScalingData.from_dataframe(mutate(frame()))


def test_non_numeric_names_rows_and_values():
    f = frame().astype(object)
    f.loc[3, "loss"] = "abc"
    f.loc[7, "loss"] = "2,5"
    with pytest.raises(
        ValueError, match=r"column 'loss' has non-numeric values in rows 3, 7 \('abc', '2,5'\)"
    ):
        ScalingData.from_dataframe(f)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_and_inf(bad):
    f = frame()
    f.loc[[2, 5], "N"] = bad
    if np.isnan(bad):
        match = r"column 'N' is empty in rows 2, 5"
    else:
        match = r"column 'N' has NaN or infinite values in rows 2, 5"
    with pytest.raises(ValueError, match=match):
        ScalingData.from_dataframe(f)


@pytest.mark.parametrize("col", ["N", "D", "loss"])
@pytest.mark.parametrize("bad", [0.0, -3.0])
def test_non_positive(col, bad):
    f = frame()
    f.loc[4, col] = bad
    with pytest.raises(ValueError, match=rf"column '{col}' must be > 0, but rows 4 hold"):
        ScalingData.from_dataframe(f)


def test_non_positive_flops():
    f = frame()
    f["C"] = 6 * f["N"] * f["D"]
    f.loc[1, "C"] = -1
    with pytest.raises(ValueError, match=r"column 'C' must be > 0, but rows 1"):
        ScalingData.from_dataframe(f.drop(columns="D"))


def test_too_few_runs():
    with pytest.raises(ValueError, match=r"has 7 runs; at least 8.*pass min_runs=1"):
        ScalingData.from_dataframe(frame(7))


def test_runs_only_scored_may_be_few_and_share_sizes():
    # held-out or prediction runs: one is enough, and they may all share one N
    one = ScalingData.from_dataframe(frame(1), min_runs=1)
    assert len(one) == 1
    f = frame(4)
    f["N"] = 1e9
    assert len(ScalingData.from_dataframe(f, min_runs=1)) == 4


def test_run_cols_keep_the_last_checkpoint_of_each_run():
    rows = []
    for run, n in enumerate(np.geomspace(1e8, 1e10, 9)):
        for step in (1, 2, 3):  # D grows with the step; the last row is the final loss
            rows.append(
                {
                    "run": f"r{run}",
                    "lr": 0.001,
                    "step": step,
                    "N": n,
                    "D": 2e9 * step * (1 + run / 3),
                    "loss": 3 - run / 10 - step / 100,
                }
            )
    f = pd.DataFrame(rows).sample(frac=1, random_state=0)  # row order must not matter
    d = ScalingData.from_dataframe(f, run_cols=["run", "lr"])
    assert len(d) == 9 and d.checkpoints_set_aside == 18
    final = pd.DataFrame(rows).query("step == 3").set_index("N")
    np.testing.assert_array_equal(np.sort(d.D), np.sort(final["D"].to_numpy()))
    assert set(f.loc[d.rows, "step"]) == {3}  # row labels point at the kept rows
    with pytest.raises(ValueError, match=r"column 'seed' not found.*run_cols / --run-col"):
        ScalingData.from_dataframe(f, run_cols="seed")
    with pytest.raises(ValueError, match=r"has 3 runs \(from 9 checkpoint rows\)"):
        ScalingData.from_dataframe(f[f.run.isin(["r0", "r1", "r2"])], run_cols="run")
    # without run_cols: a warning that names the checkpoint column
    with pytest.warns(bayescale.data.scaling_data.CheckpointWarning, match=r"'step'.*run_cols"):
        ScalingData.from_dataframe(pd.concat([f, f.assign(lr=0.002)]))


def test_units_and_suffixed_values():
    f = frame().assign(N=lambda x: x.N / 1e6, D=lambda x: x.D / 1e9)
    with pytest.raises(
        ValueError, match=r"column 'N' holds N of at most 9999, implausibly few.*n_unit"
    ):
        ScalingData.from_dataframe(f.assign(N=f.N / 1.0001))
    d = ScalingData.from_dataframe(f, n_unit="M", d_unit="B")
    np.testing.assert_allclose(d.N, frame().N)
    np.testing.assert_allclose(d.D, frame().D)
    assert len(ScalingData.from_dataframe(frame().assign(N=5.0), n_unit="1", min_runs=1)) == 10
    text = frame(8).astype(object)
    text["N"] = ["125M", "350M", "760M", "1.3B", "2.7B", "6.7B", "13B", "30B"]
    text["D"] = ["300B", "1T", "2T", "1.4T", "0.5T", "3T", "1T", "2T"]
    d = ScalingData.from_dataframe(text)
    assert d.N[0] == 1.25e8 and d.N[3] == 1.3e9 and d.D[1] == 1e12
    text.loc[2, "N"] = "7 bn"
    with pytest.raises(ValueError, match=r"column 'N' has non-numeric values in rows 2.*1.3B"):
        ScalingData.from_dataframe(text)
    with pytest.raises(ValueError, match="unknown n_unit / --n-unit 'x'"):
        ScalingData.from_dataframe(frame(), n_unit="x")


def test_perplexity_is_refused_unless_declared():
    f = frame().assign(loss=lambda x: np.exp(x.loss + 1))
    with pytest.raises(ValueError, match=r"looks like perplexity.*loss_kind='perplexity'"):
        ScalingData.from_dataframe(f)
    d = ScalingData.from_dataframe(f, loss_kind="perplexity")
    np.testing.assert_allclose(d.loss, frame().loss + 1)
    assert len(ScalingData.from_dataframe(f, loss_kind="loss")) == 10


def test_read_points(tmp_path):
    from bayescale.data.scaling_data import read_points

    N, D = read_points(pd.DataFrame({"N": ["70B", 7e9], "D": ["1.4T", "2e12"]}))
    assert list(N) == [7e10, 7e9] and list(D) == [1.4e12, 2e12]
    path = tmp_path / "at.csv"
    path.write_text("D,N\n1T,70\n")
    with pytest.raises(ValueError, match=r"column 'N' of at.csv holds 70 in lines 2"):
        read_points(path)
    with pytest.raises(ValueError, match="no such file"):
        read_points(tmp_path / "none.csv")
    # the same file checks as ScalingData.from_csv
    with pytest.raises(ValueError, match="is a directory, expected a CSV file"):
        read_points(tmp_path)
    path.write_bytes(b"N,D\n70B,1T\n\xff,1T\n")
    with pytest.raises(ValueError, match="line 3 is not UTF-8 text"):
        read_points(path)


def test_read_points_with_covariates(tmp_path):
    from bayescale.data.scaling_data import read_points_with

    frame = pd.DataFrame({"N": ["7B", 7e9], "D": ["1.4T", 1.4e12], "unique": ["100B", 1.4e12]})
    # a covariate's first column present is read; one with no column is left out
    N, D, found = read_points_with(frame, {"U_D": ["U_D", "unique"], "other": ["x"]})
    assert list(N) == [7e9, 7e9] and list(D) == [1.4e12, 1.4e12]
    assert list(found) == ["U_D"] and list(found["U_D"]) == [1e11, 1.4e12]
    path = tmp_path / "at.csv"
    path.write_text("N,D,U_D\n7B,1T,1T\n7B,1T,-5\n")
    with pytest.raises(ValueError, match=r"column 'U_D' of at.csv is not a count > 0 in lines 3"):
        read_points_with(path, {"U_D": ["U_D"]})


@pytest.mark.parametrize("col,exponent", [("N", "alpha"), ("D", "beta")])
def test_too_few_distinct_values(col, exponent):
    f = frame()
    f[col] = np.where(np.arange(10) % 2, 1e9, 2e9)
    with pytest.raises(ValueError, match=rf"column '{col}' has 2 distinct value\(s\).*{exponent}"):
        ScalingData.from_dataframe(f)


def test_csv_reports_line_numbers_and_sniffs_delimiter(tmp_path):
    f = frame()
    f.loc[4, "D"] = -1.0
    path = tmp_path / "runs.csv"
    f.to_csv(path, index=False, sep=";")
    # data row 4 (0-based) is line 6 of the file: header is line 1
    with pytest.raises(ValueError, match=r"column 'D' must be > 0, but lines 6 hold -1"):
        ScalingData.from_csv(path)


def test_csv_file_errors(tmp_path):
    with pytest.raises(ValueError, match="no such file"):
        ScalingData.from_csv(tmp_path / "missing.csv")
    with pytest.raises(ValueError, match="is a directory"):
        ScalingData.from_csv(tmp_path)
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(ValueError, match="is empty"):
        ScalingData.from_csv(empty)


def test_csv_roundtrip(tmp_path):
    f = frame()
    path = tmp_path / "runs.csv"
    f.to_csv(path, index=False)
    d = ScalingData.from_csv(path)
    np.testing.assert_array_equal(d.N, f["N"].to_numpy())
    assert list(d.rows) == list(range(2, 12))


def test_from_arrays():
    f = frame()
    d = ScalingData.from_arrays(N=f["N"], C=6 * f["N"] * f["D"], loss=f["loss"])
    np.testing.assert_allclose(d.D, f["D"], rtol=1e-12)
    with pytest.raises(ValueError, match="same length"):
        ScalingData.from_arrays(N=f["N"], D=f["D"][:5], loss=f["loss"])
    with pytest.raises(
        ValueError, match=r"column 'loss' has NaN or infinite values in positions 0"
    ):
        ScalingData.from_arrays(N=f["N"], D=f["D"], loss=np.r_[np.inf, f["loss"][1:]])


def test_subset_keeps_row_labels():
    d = ScalingData.from_dataframe(frame(12))
    s = d.subset(d.N > 1e9)
    assert list(s.rows) == list(np.flatnonzero(d.N > 1e9))


def test_bundled_chinchilla():
    d = bayescale.load_dataset("chinchilla")
    full = bayescale.load_dataset("chinchilla", full=True)
    assert (len(d), len(full)) == (240, 245)
    # the 5 excluded runs are the 5 highest-loss ones
    dropped = np.setdiff1d(full.loss, d.loss)
    assert len(dropped) == 5 and dropped.min() >= d.loss.max()
    np.testing.assert_allclose(full.C, full.N * full.D * 6, rtol=1e-12)
    assert "Besiroglu" in bayescale.dataset_info("chinchilla").citation
    with pytest.raises(ValueError, match="unknown data set 'nope'; available: chinchilla"):
        bayescale.load_dataset("nope")


def test_bundled_provenance_is_shipped():
    from importlib import resources

    text = resources.files("bayescale.data.datasets").joinpath("PROVENANCE.md").read_text()
    assert "7e8ceb8817226b086484e6043b222bcd433f058e" in text
    assert "arXiv:2203.15556" in text and "arXiv:2404.10102" in text
