"""``bayescale predict``, ``--run-col``, the unit options and ``--quiet``: the new user's path."""

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import optimize, stats

import bayescale
from bayescale.checks.simulate import simulate_runs
from bayescale.cli.commands import main
from bayescale.report.summaries import predictions

SMALL = ["--warmup", "200", "--draws", "200", "--chains", "2", "--no-retry", "--no-cache"]
EXCERPT = Path(__file__).parents[1] / "fixtures" / "misfitting_checkpoints_excerpt.csv"


def run(argv, capsys):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def runs_csv(tmp_path_factory):
    data = simulate_runs(seed=4)
    path = tmp_path_factory.mktemp("predict") / "runs.csv"
    pd.DataFrame({"N": data.N, "D": data.D, "loss": data.loss}).to_csv(path, index=False)
    return path


def test_predict_points_json_and_table(runs_csv, tmp_path, capsys):
    out_json = tmp_path / "p.json"
    argv = ["predict", runs_csv, "--at", "70B/1.4T", "--at", "7e9/2e12", *SMALL]
    code, out, err = run([*argv, "--seed", "1", "--json", out_json], capsys)
    assert code in (0, 3), err
    d = json.loads(out_json.read_text())
    first, second = d["predictions"]
    assert (first["N"], first["D"], first["C"]) == (7e10, 1.4e12, 6 * 7e10 * 1.4e12)
    assert (second["N"], second["D"]) == (7e9, 2e12)
    for p in d["predictions"]:
        new, law = p["loss"], p["law_loss"]
        assert new["lo"] < new["median"] < new["hi"] and law["lo"] <= law["median"] <= law["hi"]
        # a new run carries the fitted noise on top of the law's uncertainty
        assert new["hi"] - new["lo"] > law["hi"] - law["lo"]
        assert p["extrapolation"] == pytest.approx(p["C"] / d["data_C_max"])
    assert d["ci"] == 0.9 and d["n_runs"] == 153 and "diagnostics" in d
    # sizes read as people write them; the JSON keeps the exact values
    assert "70.0B  1.40T" in out and "new run's loss, 90%" in out and "extrapolates" in out
    # same data and seed: the same bytes
    code2, _, _ = run([*argv, "--seed", "1", "--json", tmp_path / "q.json"], capsys)
    assert code2 == code
    assert (tmp_path / "q.json").read_bytes() == out_json.read_bytes()


def test_predict_at_file_one_point(runs_csv, tmp_path, capsys):
    at = tmp_path / "at.csv"
    at.write_text("N,D,name\n1.3B,26B,small\n")
    code, out, err = run(
        ["predict", runs_csv, "--at-file", at, "--ci", "0.5", "--quiet", *SMALL], capsys
    )
    assert code in (0, 3), err
    assert err == ""
    if code == 0:
        assert out == ""


@pytest.mark.parametrize(
    ("extra", "pattern"),
    [
        ([], "give the runs to predict: --at N/D"),
        (["--at", "70B"], r"expected N/D .* got '70B'"),
        (["--at", "70/1.4"], "implausibly few parameters or tokens"),
        (["--at", "lots/1T"], "cannot read N 'lots'"),
        (["--at", "7B/1T", "--at-file", "x.csv"], "not both"),
        (["--at-file", "{bad}"], r"column 'D' of bad.csv is not a count > 0 in lines 3"),
        (["--at-file", "{small}"], r"column 'N' of small.csv holds 7 in lines 2"),
    ],
)
def test_predict_bad_input_one_line_exit_2(extra, pattern, runs_csv, tmp_path, capsys):
    (tmp_path / "bad.csv").write_text("N,D\n7B,1T\n7B,many\n")
    (tmp_path / "small.csv").write_text("N,D\n7,1T\n")
    extra = [a.format(bad=tmp_path / "bad.csv", small=tmp_path / "small.csv") for a in extra]
    code, _out, err = run(["predict", runs_csv, *extra, *SMALL], capsys)
    assert code == 2
    (line,) = err.strip().splitlines()
    assert line.startswith("bayescale: error: ")
    import re

    assert re.search(pattern, line), line


@pytest.mark.parametrize(
    ("extra", "pattern"),
    [
        (["--group", "a"], r"--group 'a' needs a pooled fit: .* --group-col"),
        (["--group-col", "arch"], r"pass --group NAME \(one of a, b\)"),
        (["--group-col", "arch", "--group", "c"], "--group 'c' is not a group of the runs"),
        (["--law", "data_constrained", "--at-file", "{words}"], r"column 'U_D' of words.csv .*3"),
        (["--law", "data_constrained", "--at-file", "{zero}"], r"column 'unique' of zero.csv"),
        (["--at-file", "{fresh}"], r"column for U_D, which law 'chinchilla' does not take"),
    ],
)
def test_predict_bad_group_or_U_D_one_line_exit_2(extra, pattern, grouped_csv, tmp_path, capsys):
    files = {
        "words": "N,D,U_D\n7B,1T,1T\n7B,1T,lots\n",
        "zero": "N,D,unique\n7B,1T,0\n",  # the runs' own column name works too
        "fresh": "N,D,U_D\n7B,1T,1T\n",
    }
    for name, body in files.items():
        (tmp_path / f"{name}.csv").write_text(body)
    extra = [a.format(**{n: tmp_path / f"{n}.csv" for n in files}) for a in extra]
    if "--at-file" not in extra:
        extra += ["--at", "7B/1T"]
    argv = ["predict", grouped_csv, "--extra-col", "U_D=unique", *extra, *SMALL]
    code, _out, err = run(argv, capsys)
    assert code == 2, err
    (line,) = err.strip().splitlines()
    assert line.startswith("bayescale: error: ")
    import re

    assert re.search(pattern, line), line


@pytest.fixture(scope="module")
def grouped_csv(tmp_path_factory):
    """Runs of two architectures, with the unique tokens each saw (every token fresh)."""
    data = simulate_runs(seed=4)
    path = tmp_path_factory.mktemp("predict_groups") / "runs.csv"
    frame = pd.DataFrame({"N": data.N, "D": data.D, "loss": data.loss, "unique": data.D})
    frame["arch"] = ["a" if i % 2 else "b" for i in range(len(frame))]
    frame.to_csv(path, index=False)
    return path


def test_predict_for_one_group_of_a_pooled_fit(grouped_csv, tmp_path, capsys):
    out_json, out_nc = tmp_path / "p.json", tmp_path / "p.nc"
    argv = ["predict", grouped_csv, "--group-col", "arch", "--group", "b"]
    argv += ["--at", "7B/140B", "--at", "70B/1.4T", *SMALL, "--no-extrapolation-check"]
    code, out, err = run([*argv, "--json", out_json, "--save", out_nc], capsys)
    assert code in (0, 3), err
    d = json.loads(out_json.read_text())
    assert d["group"] == "b" and [p["N"] for p in d["predictions"]] == [7e9, 7e10]
    assert "For group 'b' of the pooled fit:" in out
    # the numbers are group b's of the fitted posterior, not another group's
    fit = bayescale.load(out_nc)
    assert fit.groups == ("a", "b")
    N, D = [7e9, 7e10], [1.4e11, 1.4e12]
    assert predictions(fit, N, D, group="b")["predictions"] == d["predictions"]
    assert predictions(fit, N, D, group="a")["predictions"] != d["predictions"]


def test_predict_refuses_a_U_D_column_the_runs_and_law_do_not_use(grouped_csv, tmp_path, capsys):
    # runs read without their unique-token column, a Chinchilla fit: the points' U_D would
    # be ignored, so the prediction would not be what the file asks for
    at = tmp_path / "points.csv"
    at.write_text("N,D,U_D\n7B,1T,100B\n")
    code, _out, err = run(["predict", grouped_csv, "--at-file", str(at), *SMALL], capsys)
    assert code == 2, err
    (line,) = err.strip().splitlines()
    assert "column for U_D, which law 'chinchilla' does not take" in line


def test_predict_takes_a_per_point_U_D(grouped_csv, tmp_path, capsys):
    at = tmp_path / "at.csv"
    # the same run on fresh tokens, then on 100B unique tokens repeated 14 times
    at.write_text("N,D,U_D\n7B,1.4T,1.4T\n7B,1.4T,100B\n")
    out_json = tmp_path / "p.json"
    argv = ["predict", grouped_csv, "--law", "data_constrained", "--extra-col", "U_D=unique"]
    argv += ["--at-file", at, *SMALL, "--no-extrapolation-check", "--json", out_json]
    code, out, err = run(argv, capsys)
    assert code in (0, 3), err
    fresh, repeated = json.loads(out_json.read_text())["predictions"]
    assert (fresh["U_D"], repeated["U_D"]) == (1.4e12, 1e11)
    # repeated tokens are worth less: the law's loss is higher on every draw, so at the median
    assert repeated["law_loss"]["median"] > fresh["law_loss"]["median"]
    header = next(ln for ln in out.splitlines() if ln.startswith("N "))
    assert header.split()[:3] == ["N", "D", "U_D"] and "7.00B  1.40T  100B" in out


def test_new_run_draws_add_the_fitted_noise(small_fit):
    N, D = [7e10, 1e9], [1.4e12, 2e10]
    law = small_fit.predict(N, D)
    assert np.array_equal(law, small_fit.predict(N, D, kind="law"))
    new = small_fit.predict(N, D, kind="new_run", seed=5)
    assert new.shape == law.shape == (small_fit.n_draws, 2)
    assert np.array_equal(new, small_fit.predict(N, D, kind="new_run", seed=5))
    assert not np.array_equal(new, small_fit.predict(N, D, kind="new_run", seed=6))
    # the residual is the fit's Student-t noise: each draw's residual scale (sigma, times
    # the extra scatter beyond the data) times a t(nu) variate; 20 points x 400 draws put
    # the sample median of |t| within about 1.5% (sd) of the mixture's
    Nz, Dz = np.repeat(N, 10), np.repeat(D, 10)
    points = bayescale.ScalingData.from_arrays(N=Nz, D=Dz, loss=np.full(20, 2.0), min_runs=1)
    scale = small_fit.residual_scales(points)
    assert np.all(scale >= small_fit.draws("sigma")[:, None])
    new_z = small_fit.predict(Nz, Dz, kind="new_run", seed=5)
    z = (np.log(new_z) - np.log(small_fit.predict(Nz, Dz))) / scale
    # the median of |t| over the mixture of the draws' nu (t.ppf at the median nu is not it)
    nu = small_fit.draws("nu")
    expected = optimize.brentq(lambda m: np.mean(2 * stats.t.cdf(m, nu) - 1) - 0.5, 1e-3, 1e3)
    assert np.median(np.abs(z)) == pytest.approx(expected, rel=0.06)
    with pytest.raises(ValueError, match="kind must be 'law' or 'new_run'"):
        small_fit.predict(N, D, kind="mean")
    # predictions() is what the CLI prints: one point is enough
    # (the same seed and shape: the same draws, so the same median)
    d = predictions(small_fit, 7e10, 1.4e12, ci=0.8, seed=5)
    (p,) = d["predictions"]
    one = small_fit.predict([7e10], [1.4e12], kind="new_run", seed=5)[:, 0]
    assert p["loss"]["median"] == pytest.approx(np.median(one), rel=1e-12)
    assert p["loss"]["median"] == pytest.approx(np.median(new[:, 0]), rel=0.01)


@pytest.mark.parametrize("likelihood", ["student_t", "huber"])
def test_new_run_noise_follows_the_likelihood(small_fit, likelihood):
    import dataclasses

    samples = dict(small_fit.samples)
    if likelihood == "student_t":
        samples["nu"] = np.full_like(samples["sigma"], 3.0)
    fit = dataclasses.replace(
        small_fit,
        settings=dataclasses.replace(small_fit.settings, likelihood=likelihood),
        samples=samples,
    )
    N = np.full(50, 1e9)
    resid = np.log(fit.predict(N, N * 20, kind="new_run")) - np.log(fit.predict(N, N * 20))
    sigma = np.median(fit.draws("sigma"))
    # Student-t with nu=3 and scale sigma has sd sigma·sqrt(3); Huber's sd is sigma itself
    expected = sigma * (np.sqrt(3.0) if likelihood == "student_t" else 1.0)
    assert np.std(resid) == pytest.approx(expected, rel=0.2)


def test_run_col_fits_each_runs_last_checkpoint(capsys, tmp_path):
    out_json = tmp_path / "o.json"
    argv = ["fit", EXCERPT, "--run-col", "model,total_steps,peak_lr", "--budget", "1e21"]
    code, out, err = run([*argv, *SMALL, "--json", out_json], capsys)
    assert code in (0, 3), err
    assert "bayescale: 10 runs in 105 rows" in out and "95 earlier checkpoint rows" in out
    assert json.loads(out_json.read_text())["n_runs"] == 10
    assert "warning" not in err
    # the same file without --run-col: warned, naming the checkpoint columns
    data_warning = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        bayescale.ScalingData.from_csv(EXCERPT)
    data_warning = [
        w for w in caught if issubclass(w.category, bayescale.data.scaling_data.CheckpointWarning)
    ]
    (w,) = data_warning
    text = str(w.message)
    assert "'portion_steps_elapsed', 'current_steps'" in text and "--run-col" in text
    assert "'model'" in text and "'total_steps'" in text  # the run-identifying candidates


def test_run_col_missing_column_exit_2(capsys):
    code, _out, err = run(["fit", EXCERPT, "--run-col", "model,seed", *SMALL], capsys)
    assert code == 2 and "column 'seed' not found" in err and "--run-col" in err


@pytest.mark.parametrize(
    ("options", "pattern"),
    [
        ([], r"column 'params_M' holds N of at most 7000.*--n-unit M or B"),
        (["--n-unit", "M"], r"column 'tokens_B' holds D of at most 2000.*--d-unit"),
        (["--n-unit", "millions"], "unknown unit 'millions'"),
    ],
)
def test_units_refused_until_stated(options, pattern, tmp_path, capsys):
    path = tmp_path / "sizes.csv"
    N = np.geomspace(10, 7000, 10)
    D = np.geomspace(2000, 1, 10)
    pd.DataFrame({"params_M": N, "tokens_B": D, "loss": np.linspace(3, 2, 10)}).to_csv(
        path, index=False
    )
    argv = ["fit", path, "--n-col", "params_M", "--d-col", "tokens_B", *options, *SMALL]
    code, _out, err = run(argv, capsys)
    assert code == 2
    (line,) = err.strip().splitlines()
    import re

    assert re.search(pattern, line), line


def test_units_and_suffixes_scale_the_sizes(tmp_path, capsys):
    data = simulate_runs(seed=4)
    path = tmp_path / "sizes.csv"
    pd.DataFrame({"params_M": data.N / 1e6, "tokens_B": data.D / 1e9, "loss": data.loss}).to_csv(
        path, index=False
    )
    out_json = tmp_path / "o.json"
    argv = ["fit", path, "--n-col", "params_M", "--d-col", "tokens_B", "--n-unit", "M"]
    code, out, err = run(
        [*argv, "--d-unit", "B", "--budget", "1e23", *SMALL, "--json", out_json], capsys
    )
    assert code in (0, 3), err
    n_opt = json.loads(out_json.read_text())["allocations"][0]["N_opt"]["median"]
    assert 1e9 < n_opt < 1e12  # in parameters, not millions of them
    assert "B [" in out  # the table reads sizes like 32.9B [28.8B, 37.7B]


def test_perplexity_refused_then_logged(tmp_path, capsys):
    data = simulate_runs(seed=4)
    path = tmp_path / "ppl.csv"
    pd.DataFrame({"N": data.N, "D": data.D, "ppl": np.exp(data.loss)}).to_csv(path, index=False)
    code, _out, err = run(["fit", path, "--loss-col", "ppl", *SMALL], capsys)
    assert code == 2 and "looks like perplexity" in err and "--loss-kind perplexity" in err
    out_json = tmp_path / "o.json"
    argv = ["fit", path, "--loss-col", "ppl", "--loss-kind", "perplexity", *SMALL]
    code, _out, err = run([*argv, "--json", out_json], capsys)
    assert code in (0, 3), err
    E = json.loads(out_json.read_text())["parameters"]["E"]["median"]
    assert 1 < E < 3  # fitted on log perplexity = loss in nats


@pytest.mark.e2e  # two fresh-process fits (about 40 s): with the end-to-end set CI runs
def test_quiet_is_silent_even_with_a_corrupt_cache(runs_csv, tmp_path):
    cache = tmp_path / "cache"
    env = {**os.environ, "BAYESCALE_CACHE_DIR": str(cache), "JAX_PLATFORMS": "cpu"}
    argv = [sys.executable, "-m", "bayescale", "fit", str(runs_csv), *SMALL[:-1], "--quiet"]
    first = subprocess.run(argv, capture_output=True, text=True, timeout=300, env=env)
    entries = [p for p in cache.rglob("*") if p.is_file()]
    assert entries, "the first run should fill the compilation cache"
    for p in entries:
        p.write_bytes(b"not a compiled program")  # what a torn write leaves behind
    second = subprocess.run(argv, capture_output=True, text=True, timeout=300, env=env)
    assert second.returncode == first.returncode
    # JAX warns about every unreadable entry (a UserWarning each, on stderr) and recompiles;
    # --quiet must show none of it (a short fit may fail its checks: then the table prints)
    assert second.stderr == "", second.stderr
    if second.returncode == 0:
        assert second.stdout == ""
