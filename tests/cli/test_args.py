"""The command line's parser and converters (no fit: bayescale.cli.args)."""

import argparse
import json
import re
import subprocess
import sys

import pytest

from bayescale.cli import args as cli_args


def parse(*argv):
    return cli_args.build_parser().parse_args(list(argv))


def test_fit_options_parse_into_numbers():
    args = parse("fit", "runs.csv", "--budget", "1e24", "--budget", "5000pf-days", "--seed", "3")
    assert args.command == "fit" and args.seed == 3
    assert [float(b) for b in args.budget] == pytest.approx([1e24, 5000 * 8.64e19])


def test_predict_points_read_sizes_people_write():
    args = parse("predict", "runs.csv", "--at", "70B/1.4T", "--at", "7e9/2e12")
    assert args.at == [(7e10, 1.4e12), (7e9, 2e12)]


@pytest.mark.parametrize(
    "argv",
    [
        ("fit", "runs.csv", "--budget", "lots"),
        ("predict", "runs.csv", "--at", "70B"),
        ("fit", "runs.csv", "--chains", "0"),
        ("frobnicate",),
    ],
)
def test_bad_options_are_input_errors(argv):
    with pytest.raises(cli_args.InputError):
        parse(*argv)


def test_exit_codes_are_distinct():
    codes = {cli_args.EXIT_OK, cli_args.EXIT_INTERNAL, cli_args.EXIT_INPUT}
    assert len(codes | {cli_args.EXIT_DIAGNOSTICS}) == 4


# ---------------------------------------------------------------- answered without JAX
# Each case runs the command line in a fresh interpreter and checks, after main() returns,
# that neither JAX nor NumPyro was imported: --help and bad input are answered before the
# sampler loads (issue 14; the wall time is in benchmarks/RESULTS.md, not asserted here).
_NO_JAX = """
import json, sys
from bayescale.cli.commands import main
try:
    code = main(sys.argv[1:])
except SystemExit as exc:  # --help
    code = exc.code
heavy = sorted(m for m in ("jax", "numpyro", "arviz_stats") if m in sys.modules)
print(json.dumps({"code": code, "heavy": heavy}), file=sys.stdout)
"""


def run_fresh(argv, cwd):
    proc = subprocess.run(
        [sys.executable, "-c", _NO_JAX, *map(str, argv)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=60,
    )
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    return result["code"], result["heavy"], proc.stdout, proc.stderr


def subcommands():
    (sub,) = [
        a for a in cli_args.build_parser()._actions if isinstance(a, argparse._SubParsersAction)
    ]
    return sorted(sub.choices)


def test_every_subcommand_is_covered():
    assert {"fit", "predict", "report", "compare", "backtest", "demo"} <= set(subcommands())


@pytest.mark.parametrize("command", subcommands())
def test_help_without_jax(command, tmp_path):
    code, heavy, out, err = run_fresh([command, "--help"], tmp_path)
    assert code == 0 and f"usage: bayescale {command}" in out, err
    assert heavy == [], f"--help imported {heavy}"


@pytest.fixture(scope="module")
def csvs(tmp_path_factory):
    d = tmp_path_factory.mktemp("csvs")
    rows = [(10 ** (7 + i / 4), 10 ** (9 + (i * 7 % 12) / 4), 2 + 1 / (i + 1)) for i in range(16)]
    good = "N,D,loss\n" + "\n".join(f"{n:.6g},{t:.6g},{loss:.6g}" for n, t, loss in rows)
    (d / "good.csv").write_text(good + "\n")
    (d / "no_loss.csv").write_text("N,D\n" + "\n".join(f"{n:.6g},{t:.6g}" for n, t, _ in rows))
    (d / "bad.csv").write_text(good.replace(f"{rows[1][0]:.6g},", "x,", 1) + "\n")
    return d


@pytest.mark.parametrize(
    ("argv", "pattern"),
    [
        (["fit", "good.csv", "--frobnicate"], "unrecognized arguments: --frobnicate"),
        (["fit", "good.csv", "--chains", "0"], "expected a number >= 1"),
        (["fit", "good.csv", "--likelihood", "laplace"], "invalid choice: 'laplace'"),
        (["fit", "good.csv", "--law", "nope"], "unknown law 'nope'; choose one of chinchilla"),
        (["fit", "missing.csv"], "no such file: 'missing.csv'"),
        (["fit", "no_loss.csv"], "column 'loss' not found"),
        (["fit", "bad.csv"], "column 'N' has non-numeric values"),
        (["fit", "good.csv", "--json", "."], "is a directory"),
        (["fit", "--dataset", "nope"], "nope"),
        (["predict", "good.csv", "--at", "70B"], "expected N/D"),
        (["predict", "good.csv", "--at", "7/1"], "implausibly few parameters"),
        (["predict", "missing.csv", "--at", "70B/1.4T"], "no such file"),
        (["report", "good.csv", "--out", "o", "--plan", "zz"], "cannot read plan 'zz'"),
        (["report", "missing.csv", "--out", "o"], "no such file"),
        (["compare", "good.csv"], "compare needs at least two models"),
        (["compare", "good.csv", "--laws", "chinchilla,nope"], "unknown law 'nope'"),
        (["compare", "missing.csv", "--laws", "chinchilla,kaplan"], "no such file"),
        (["backtest", "good.csv", "--holdout", "q"], "invalid choice: 'q'"),
        (["backtest", "bad.csv"], "non-numeric values"),
        (["demo", "--ci", "3"], r"expected a probability in \(0, 1\)"),
        (["demo", "--budget", "lots"], "cannot read budget 'lots'"),
    ],
)
def test_bad_input_answered_without_jax(argv, pattern, csvs):
    code, heavy, _out, err = run_fresh(argv, csvs)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1, err
    assert lines[0].startswith("bayescale: error: ") and re.search(pattern, lines[0]), err
    assert heavy == [], f"{argv} imported {heavy} before answering"


def test_registered_law_names_are_accepted(monkeypatch):
    # a law registered before main() is called (bayescale.laws loaded) resolves by name
    from bayescale import laws

    monkeypatch.setitem(laws.LAWS, "mine", laws.CHINCHILLA)
    assert parse("fit", "runs.csv", "--law", "mine").law == ["mine"]
    with pytest.raises(cli_args.InputError, match="unknown law 'other'"):
        parse("fit", "runs.csv", "--law", "other")
