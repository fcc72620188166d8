"""``bayescale compare`` / ``backtest`` and the law options of ``fit``: outputs and exit codes."""

import json
import re

import pandas as pd
import pytest

from bayescale.checks.simulate import simulate_runs
from bayescale.cli.commands import main

# short enough to fail the ESS checks, long enough that chains move (at 20 + 20 a stuck
# chain left PSIS-LOO nothing to smooth on some seeds)
SHORT = ["--warmup", "60", "--draws", "60", "--chains", "2", "--no-retry", "--no-cache"]


@pytest.fixture(scope="module")
def runs_csv(tmp_path_factory):
    data = simulate_runs(seed=5)
    path = tmp_path_factory.mktemp("cli_models") / "runs.csv"
    frame = pd.DataFrame({"params": data.N, "tokens": data.D, "val_loss": data.loss})
    frame["arch"] = ["a" if i % 2 else "b" for i in range(len(frame))]
    frame.to_csv(path, index=False)
    return path


COLS = ["--n-col", "params", "--d-col", "tokens", "--loss-col", "val_loss"]


def run(argv, capsys):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_compare_writes_json_and_exits_3_on_failed_diagnostics(runs_csv, tmp_path, capsys):
    out_json = tmp_path / "cmp.json"
    argv = ["compare", runs_csv, *COLS, "--laws", "chinchilla,kaplan", *SHORT]
    code, out, _ = run([*argv, "--json", out_json], capsys)
    assert code == 3  # 20 draws cannot pass ESS checks
    d = json.loads(out_json.read_text())
    assert d["n_runs"] == len(pd.read_csv(runs_csv))
    # the default likelihood (Student-t) for each law
    assert {m["model"] for m in d["models"]} == {"chinchilla/student_t", "kaplan/student_t"}
    assert {"elpd_loo", "se", "elpd_diff", "dse", "weight", "pareto_k_max"} <= set(d["models"][0])
    assert d["diagnostics"]["ok"] is False and d["diagnostics"]["problems"]
    assert "PSIS-LOO comparison" in out and "diagnostics FAILED" in out


def test_backtest_writes_json_and_exits_3_on_failed_diagnostics(runs_csv, tmp_path, capsys):
    out_json = tmp_path / "bt.json"
    argv = ["backtest", runs_csv, *COLS, "--likelihoods", "gaussian", "--frac", "0.25"]
    code, out, _ = run([*argv, *SHORT, "--levels", "0.5,0.8", "--json", out_json], capsys)
    assert code == 3
    d = json.loads(out_json.read_text())
    (model,) = d["models"]
    assert model["law"] == "chinchilla" and {"coverage_0.5", "coverage_0.8", "mlpd"} <= set(model)
    assert d["holdout"] == "largest" and d["diagnostics"]["ok"] is False
    assert "held out" in out


def test_fit_with_law_and_groups(runs_csv, tmp_path, capsys):
    out_json = tmp_path / "fit.json"
    argv = ["fit", runs_csv, *COLS, "--law", "kaplan", "--group-col", "arch", "--pooling"]
    code, _, _ = run([*argv, "shared", *SHORT, "--budget", "1e22", "--json", out_json], capsys)
    assert code == 3
    d = json.loads(out_json.read_text())
    assert d["law"] == "kaplan" and d["groups"] == ["a", "b"] and d["pooling"] == "shared"
    assert [a["group"] for a in d["allocations"]] == ["a", "b"]


@pytest.mark.parametrize(
    ("argv", "pattern"),
    [
        (["compare", "{csv}", "--laws", "hoffmann"], "unknown law 'hoffmann'"),
        (["compare", "{csv}", "--likelihoods", "laplace"], "unknown likelihood 'laplace'"),
        (["compare", "{csv}", "--laws", "kaplan"], "at least two models"),
        (["compare"], "give a CSV file of runs"),
        (["compare", "{csv}", "--dataset", "chinchilla"], "not both"),
        (["backtest", "--dataset", "nope"], "unknown data set 'nope'"),
        (["backtest", "{csv}", "--frac", "1.5"], r"expected a probability in \(0, 1\)"),
        (["backtest", "{csv}", "--frac", "0.97"], "leaves .* training runs"),
        (["backtest", "{csv}", "--holdout", "smallest"], "invalid choice: 'smallest'"),
        (["fit", "{csv}", "--extra-col", "U_D"], "expected NAME=COLUMN"),
        (["fit", "{csv}", "--law", "data_constrained"], "needs a per-run column 'U_D'"),
        (["fit", "{csv}", "--group-col", "nope"], "column 'nope' not found"),
    ],
)
def test_bad_input_exits_2_with_one_line(argv, pattern, runs_csv, capsys):
    if "{csv}" in argv:  # the CSV's own column names, so only the tested problem remains
        argv = [str(runs_csv) if a == "{csv}" else a for a in argv] + COLS
    code, _, err = run(argv, capsys)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert re.search(pattern, lines[0]), lines[0]


def test_sampling_trouble_that_stops_a_command_exits_3_in_one_line(runs_csv, capsys, monkeypatch):
    import bayescale

    def stuck(fits, **kw):
        raise bayescale.SamplingError("PSIS-LOO cannot be computed for this fit")

    monkeypatch.setattr(bayescale, "compare", stuck)
    argv = ["compare", runs_csv, *COLS, "--laws", "chinchilla,kaplan", *SHORT]
    code, _, err = run(argv, capsys)
    assert code == 3
    assert err.strip().splitlines() == [
        "bayescale: sampling problem: PSIS-LOO cannot be computed for this fit"
    ]
