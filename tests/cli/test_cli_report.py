"""``bayescale report``: decision report from the command line, exit codes 0 / 2 / 3."""

import json
import re

import pandas as pd
import pytest

from bayescale.checks.simulate import simulate_runs
from bayescale.cli.commands import main

FAST = ["--warmup", "300", "--draws", "500", "--chains", "4", "--seed", "2", "--no-cache"]


@pytest.fixture(scope="module")
def runs_csv(tmp_path_factory):
    data = simulate_runs(seed=4)
    path = tmp_path_factory.mktemp("cli_report") / "runs.csv"
    pd.DataFrame({"params": data.N, "flops": data.C, "val_loss": data.loss}).to_csv(
        path, index=False
    )
    return path


COLS = ["--n-col", "params", "--c-col", "flops", "--loss-col", "val_loss"]


def run(argv, capsys):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_report_writes_md_html_json(runs_csv, tmp_path, capsys):
    out_dir = tmp_path / "rep"
    code, out, err = run(
        [
            "report",
            runs_csv,
            *COLS,
            "--budget",
            "5000pf-days",
            "--budget",
            "64xH100:7d@45%",
            "--plan",
            "5B/100B",
            "--target-loss",
            "2.3",
            "--d-max",
            "200B",
            "--cost",
            "H100@45%,$2/h",
            "--eps",
            "0.002",
            "--no-figures",
            "--out",
            out_dir,
            *FAST,
        ],
        capsys,
    )
    assert code == 0, err
    d = json.loads((out_dir / "report.json").read_text())
    assert [b["text"] for b in d["budgets"]] == ["5000pf-days", "64xH100:7d@45%"]
    assert d["budgets"][0]["flops"] == pytest.approx(4.32e23)
    assert d["budgets"][1]["flops"] == pytest.approx(64 * 989e12 * 0.45 * 7 * 86400)
    assert d["plans"][0]["label"] == "5B/100B"
    assert [e["eps"] for e in d["plans"][0]["p_regret_below"]] == [0.002]
    assert d["targets"][0]["target"] == 2.3 and d["data_cap"]["D_max"] == 2e11
    assert d["cost_model"]["price_per_hour"] == 2.0
    assert d["fit"]["diagnostics"]["ok"] is True
    # the terminal gets the budget table, the summary and where the report is
    assert "Compute-optimal allocation" in out and "Your plan 5B/100B" in out
    assert str(out_dir / "report.html") in out
    assert (out_dir / "report.md").exists() and (out_dir / "report.html").exists()


@pytest.mark.parametrize(
    ("argv", "pattern"),
    [
        (["--plan", "70B"], r"argument --plan: cannot read plan '70B'"),
        (["--budget", "2048xFoo:1d"], r"unknown accelerator 'Foo'"),
        (["--d-max", "lots"], r"cannot read --d-max 'lots'"),
        (["--cost", "H100@140%"], r"MFU .* must be a percentage"),
        (["--target-loss", "-1"], r"expected a finite number > 0"),
        (["--within", "1"], r"expected a factor > 1"),
        (["--no-out"], r"unrecognized arguments|required: --out"),
    ],
)
def test_report_bad_input_exits_2_with_one_line(argv, pattern, runs_csv, tmp_path, capsys):
    base = ["report", runs_csv, *COLS]
    if argv != ["--no-out"]:
        base += ["--out", tmp_path / "x"]
    code, _out, err = run([*base, *(a for a in argv if a != "--no-out")], capsys)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("bayescale: error: "), err
    assert re.search(pattern, lines[0]), lines[0]
    assert not (tmp_path / "x").exists()  # rejected before any fitting or writing


def test_report_failed_diagnostics_exit_3_still_written(runs_csv, tmp_path, capsys):
    out_dir = tmp_path / "rep"
    code, out, _err = run(
        [
            "report",
            runs_csv,
            *COLS,
            "--warmup",
            "20",
            "--draws",
            "20",
            "--chains",
            "2",
            "--no-cache",
            "--no-figures",
            "--out",
            out_dir,
        ],
        capsys,
    )
    assert code == 3
    d = json.loads((out_dir / "report.json").read_text())
    assert d["fit"]["diagnostics"]["ok"] is False
    assert d["summary"][-1].startswith("WARNING: sampling diagnostics failed")
    assert "WARNING" in (out_dir / "report.html").read_text()
    assert "Diagnostics: FAILED" in out
