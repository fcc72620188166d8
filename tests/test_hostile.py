"""Hostile input: every entry point either loads the runs exactly or raises one clear error.

Property tests (hypothesis, derandomised by tests/conftest.py) generate CSV files, DataFrames,
arrays and command lines mixing valid runs with the things real files contain: missing,
duplicated and renamed columns, text, empty cells, NaN, ±inf, zeros, negatives, 1e300,
unicode headers, wrong delimiters, blank lines, stray quotes. An independent oracle below
says what must happen; the code under test must agree, and must never raise anything but
ValueError (CLI: exit 2 with exactly one line on stderr).

The generators are tuned so both outcomes are common: with ``--hypothesis-show-statistics``
about 20-35% of the generated inputs load (CLI: reach the fit in ~7%) and the rest must fail.
"""

from __future__ import annotations

import csv
import io
import math
import os
import re
import signal
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from unittest import mock

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import bayescale
import bayescale.checks.simulate
from bayescale import ScalingData
from bayescale.cli.commands import main
from bayescale.inference.settings import FitSettings

EXAMPLES = settings(
    max_examples=250, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)

# ---------------------------------------------------------------------------- the oracle
HOSTILE_TEXT = [
    "", " ", "nan", "NaN", "inf", "-inf", "Infinity", "0", "-0", "0.0", "-1", "-3.5e9",
    "1e300", "1e400", "1e-320", "abc", "1,5", "True", "NA", "None", "null", "--", "1e9x",
    "١٢٣", "½", "0x10", "\"5\"", "5 6", "∞",
]  # fmt: skip


def cell_value(cell: object) -> float | None:
    """What a cell means: a float, or None when it is not a number (the spec of data.py).

    Text is read as Python's ``float`` reads it after stripping blanks; numbers as numbers;
    booleans, None, NaN and anything else are not numbers.
    """
    if isinstance(cell, bool | np.bool_) or cell is None:
        return None
    if isinstance(cell, str):
        try:
            return float(cell.strip())
        except ValueError:
            return None
    if isinstance(cell, int | float | np.integer | np.floating):
        try:
            x = float(cell)
        except OverflowError:
            return math.inf
        return None if math.isnan(x) else x
    return None


def expected_runs(
    header: list[str], rows: list[list[object]], *, k: float = 6.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """(N, D, loss) that loading must return with the default column names, or None."""
    names = [str(h).strip() for h in header]
    has = {c: names.count(c) for c in ("N", "D", "loss", "C")}
    if not has["loss"] or not (has["N"] or (has["D"] and has["C"])):
        return None
    if not (has["D"] or (has["N"] and has["C"])):
        return None
    used = ["loss", "N" if has["N"] else "C", "D" if has["D"] else "C"]
    if any(has[c] > 1 for c in used) or len(rows) < 8:
        return None
    cols = {}
    for c in dict.fromkeys(used):
        j = names.index(c)
        vals = [cell_value(r[j]) if j < len(r) else None for r in rows]
        if any(v is None or not math.isfinite(v) or v <= 0 for v in vals):
            return None
        cols[c] = np.array(vals, dtype=np.float64)
    if has["N"] and has["D"]:
        N, D = cols["N"], cols["D"]
    elif has["N"]:
        N = cols["N"]
        D = cols["C"] / (k * N)
    else:
        D = cols["D"]
        N = cols["C"] / (k * D)
    with np.errstate(over="ignore", under="ignore"):
        for x in (N, D, k * N * D):
            if not np.all(np.isfinite(x) & (x > 0)):
                return None
    if len(np.unique(N)) < 3 or len(np.unique(D)) < 3:
        return None
    return N, D, cols["loss"]


# ---------------------------------------------------------------------------- strategies
COLUMN_NAMES = ["N", "D", "loss", "C", "n", "params", "N ", " loss", "Ñ", "损失", "notes", ""]
jitter = st.floats(0.5, 2.0)
good_loss = st.floats(1.5, 6.0)


@st.composite
def run_tables(draw, min_rows=0, max_rows=14, header=None):
    """A header and rows of cells: mostly valid runs, with hostile cells and columns mixed in."""
    base = ["N", "D", "loss"]
    if header is None:
        header = draw(
            st.one_of(
                st.just(base),
                st.just(["N", "C", "loss"]),
                st.just(["D", "C", "loss"]),
                st.just(["N", "D", "C", "loss"]),
                st.lists(st.sampled_from(COLUMN_NAMES), min_size=1, max_size=5),
                st.permutations([*base, draw(st.sampled_from(COLUMN_NAMES))]),
            )
        )
    # at least 8 runs can load; fewer cannot: draw both, the loadable side more often
    n_rows = draw(
        st.sampled_from([*range(max(8, min_rows), max_rows + 1)] * 2 + [*range(min_rows, 8)])
    )
    hostile_rate = draw(st.sampled_from([0.0, 0.0, 0.0, 0.05, 0.3]))
    rows = []
    for i in range(n_rows):
        # a spread of sizes, jittered, so designs are identifiable unless made degenerate
        N = 1e8 * 10 ** (0.25 * i) * draw(jitter)
        D = 1e11 * 10 ** (-0.2 * i) * draw(jitter)
        loss = draw(good_loss)
        good = {"N": N, "D": D, "loss": loss, "C": 6 * N * D}
        row: list[object] = []
        for name in header:
            key = name.strip()
            if key in good and draw(st.floats(0, 1)) >= hostile_rate:
                row.append(repr(good[key]))
            else:
                row.append(draw(st.sampled_from(HOSTILE_TEXT) | st.text(max_size=6)))
        rows.append(row)
    if rows and draw(st.integers(0, 7)) == 0:  # the degenerate designs: one value everywhere
        col = draw(st.integers(0, len(header) - 1))
        value = rows[0][col]
        for r in rows:
            r[col] = value
    return header, rows


def write_csv(path, header, rows, *, delimiter=",", terminator="\n", blank_after=()):
    """Write with csv.writer (so quoting is right); returns the line number of each row."""
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=delimiter, lineterminator=terminator)
    writer.writerow(header)
    lines, line = [], 1
    for i, row in enumerate(rows):
        start = line + 1
        writer.writerow([str(c) for c in row])
        line = start + sum(len(re.findall(r"\r\n|\r|\n", str(c))) for c in row)
        lines.append(start)
        if i in blank_after:
            buf.write(terminator)
            line += 1
    path.write_text(buf.getvalue(), encoding="utf-8")
    return lines


def assert_clear_error(exc: ValueError) -> None:
    message = str(exc)
    assert message and len(message) < 2000, message
    assert "Traceback" not in message


# ---------------------------------------------------------------------------- CSV
@EXAMPLES
@given(
    table=run_tables(),
    delimiter=st.sampled_from([",", ",", ";", "\t", "|"]),
    terminator=st.sampled_from(["\n", "\r\n"]),
    blanks=st.sets(st.integers(0, 13), max_size=3),
)
def test_csv_loads_exactly_or_fails_clearly(
    tmp_path_factory, table, delimiter, terminator, blanks
):
    header, rows = table
    path = tmp_path_factory.mktemp("csv") / "runs.csv"
    lines = write_csv(
        path, header, rows, delimiter=delimiter, terminator=terminator, blank_after=blanks
    )
    want = expected_runs(header, rows)
    # a delimiter the sniffer does not know leaves one column: nothing can load
    sniffable = delimiter != "|" or len(header) == 1
    try:
        data = ScalingData.from_csv(path)
    except ValueError as exc:
        event("rejected")
        assert_clear_error(exc)
        assert want is None or not sniffable, f"valid file rejected: {exc}"
        return
    event("loaded")
    assert want is not None and sniffable, "invalid file loaded silently"
    N, D, loss = want
    np.testing.assert_allclose(data.N, N, rtol=1e-15)
    np.testing.assert_allclose(data.D, D, rtol=1e-15)
    np.testing.assert_array_equal(data.loss, loss)
    assert list(data.rows) == lines  # messages name the right lines, blank lines included


def test_csv_error_names_the_line_after_blank_lines_and_quotes(tmp_path):
    path = tmp_path / "runs.csv"
    good = [f"{10 ** (8 + i / 4)},{10 ** (11 - i / 5)},{2 + i / 10}" for i in range(10)]
    path.write_text(
        'N,D,loss,notes\n' + "\n".join(f"{g},ok" for g in good[:3]) + '\n\n'
        + f'{good[3]},"two\nlines"\n' + "-1,1e10,2.5,x\n" + "\n".join(good[4:])
    )  # fmt: skip
    # header 1, rows 2-4, blank 5, a row spanning lines 6-7, the bad row on line 8
    with pytest.raises(ValueError, match=r"column 'N' must be > 0, but lines 8 hold -1"):
        ScalingData.from_csv(path)


@pytest.mark.parametrize(
    ("content", "pattern"),
    [
        (b"", "is empty"),
        (b"  \n\n", "is empty"),
        (b"\nN,D,loss\n1,2,3\n", "line 1 .* is blank; expected a header row"),
        (b"N,D,loss\n", "has 0 runs; at least 8"),
        (b"N,D,loss\n1,2,3\n", "has 1 runs; at least 8"),
        (b"N,D,loss\n" + b"1,2,3\n" * 3 + b"\xff\xfe,1,1\n", r"line 5 is not UTF-8"),
        (b"N,N,D,loss\n" + b"1,2,3,4\n" * 9, r"column 'N' appears 2 times .*columns 1, 2"),
        (b"# runs\nN,D,loss\n" + b"1,2,3\n" * 9, r"line 2 .* has 3 fields but the header has 1"),
        (b'N,D,loss\n1,2,"3\n' + b"1,2,3\n" * 9, r"row starting at line 2"),
        (b"N|D|loss\n" + b"1|2|3\n" * 9, r"only one column was found"),
        (b"n,D,loss\n" + b"1,2,3\n" * 9, r"column 'N' not found.*did you mean 'n'\?"),
        (
            b"N,D,loss\n" + b"".join(b"1e%d,1e%d,2\n" % (299 - i, 290 - i) for i in range(9)),
            r"training compute 6·N·D overflows \(or underflows to 0\) in lines 2, 3",
        ),
    ],
)
def test_csv_named_failures(tmp_path, content, pattern):
    path = tmp_path / "runs.csv"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=pattern):
        ScalingData.from_csv(path)


@contextmanager
def alarm(seconds):
    def fail(*_):
        raise TimeoutError("hung")

    old = signal.signal(signal.SIGALRM, fail)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_fifo_and_directory_do_not_hang(tmp_path):
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    with alarm(20), pytest.raises(ValueError, match="not a regular file"):
        ScalingData.from_csv(fifo)
    with alarm(20), pytest.raises(ValueError, match="is a directory"):
        ScalingData.from_csv(tmp_path)


# ---------------------------------------------------------------------------- DataFrame
HOSTILE_CELLS = [
    None, np.nan, np.inf, -np.inf, 0, 0.0, -1, -2.5, 1e300, 10**400, True, False, "",
    " 7 ", "abc", "nan", [1], (2,), {"a": 1}, 1 + 2j, b"12", pd.NA, pd.NaT,
]  # fmt: skip


@st.composite
def frames(draw):
    header, rows = draw(run_tables(min_rows=6, max_rows=12))
    # swap text for raw Python objects: numbers as numbers, plus objects no CSV can hold
    out = []
    inject = draw(st.booleans())
    for row in rows:
        cells = []
        for cell in row:
            value = cell_value(cell)
            if inject and draw(st.integers(0, 19)) == 0:
                cells.append(draw(st.sampled_from(HOSTILE_CELLS)))
            elif value is not None and draw(st.booleans()):
                cells.append(value)
            else:
                cells.append(cell)
        out.append(cells)
    return header, out


@EXAMPLES
@given(table=frames(), as_numeric=st.booleans())
def test_dataframe_loads_exactly_or_fails_clearly(table, as_numeric):
    header, rows = table
    frame = pd.DataFrame(rows, columns=header, dtype=object)
    if as_numeric:  # let pandas infer dtypes, as a user's DataFrame would have
        frame = frame.infer_objects()
    want = expected_runs(header, rows)
    try:
        data = ScalingData.from_dataframe(frame)
    except ValueError as exc:
        event("rejected")
        assert_clear_error(exc)
        assert want is None, f"valid frame rejected: {exc}"
        return
    event("loaded")
    assert want is not None, "invalid frame loaded silently"
    for got, expected in zip((data.N, data.D, data.loss), want, strict=True):
        np.testing.assert_allclose(got, expected, rtol=1e-15)


@pytest.mark.parametrize(
    ("column", "pattern"),
    [
        (np.ones(10, dtype=bool), "holds booleans"),
        (pd.date_range("2000", periods=10, freq="D"), "holds dates"),
        (pd.to_timedelta(np.arange(1, 11), unit="s"), "holds time spans"),
        (np.arange(1, 11) + 1j, "holds complex numbers"),
    ],
)
def test_dataframe_rejects_non_numeric_dtypes(column, pattern):
    frame = pd.DataFrame(
        {"N": np.geomspace(1e8, 1e10, 10), "D": np.geomspace(1e9, 1e11, 10), "loss": 2.5}
    )
    frame["N"] = column
    with pytest.raises(ValueError, match=rf"column 'N' in DataFrame {pattern}"):
        ScalingData.from_dataframe(frame)


# ---------------------------------------------------------------------------- arrays
array_kinds = st.sampled_from(["list", "ndarray", "series"] * 6 + ["2d", "scalar", "str"])


def as_kind(values, kind):
    if kind == "list":
        return list(values)
    if kind == "ndarray":
        return np.asarray(
            values, dtype=object if any(isinstance(v, str) for v in values) else None
        )
    if kind == "series":
        return pd.Series(values)
    if kind == "2d":
        return np.asarray(values, dtype=object).reshape(1, -1)
    if kind == "scalar":
        return values[0] if values else 1.0
    return "1,2,3"


@EXAMPLES
@given(
    table=run_tables(min_rows=6, max_rows=12, header=["N", "D", "C", "loss"]),
    given_cols=st.sampled_from(
        [("N", "D"), ("N", "C"), ("D", "C")] * 3 + [("N", "D", "C"), ("N",)]
    ),
    kinds=st.lists(array_kinds, min_size=4, max_size=4),
    trim=st.sampled_from([0] * 8 + [1, 2]),
)
def test_arrays_load_exactly_or_fail_clearly(table, given_cols, kinds, trim):
    header, rows = table
    names = [h.strip() for h in header]
    values = {}
    for c in (*given_cols, "loss"):
        j = names.index(c) if c in names else None
        values[c] = [r[j] if j is not None else "x" for r in rows]
    if trim:  # one array shorter than the others
        values["loss"] = values["loss"][:-trim]
    args = {c: as_kind(v, kinds[i]) for i, (c, v) in enumerate(values.items())}
    shapes_ok = (
        all(kinds[i] in ("list", "ndarray", "series") for i in range(len(values)))
        and len(given_cols) == 2
        and not trim
    )
    want = (
        expected_runs(
            [*given_cols, "loss"],
            [[values[c][i] for c in (*given_cols, "loss")] for i in range(len(rows))],
        )
        if shapes_ok
        else None
    )
    try:
        data = ScalingData.from_arrays(**args)
    except ValueError as exc:
        event("rejected")
        assert_clear_error(exc)
        assert want is None, f"valid arrays rejected: {exc}"
        return
    event("loaded")
    assert want is not None, "invalid arrays loaded silently"
    for got, expected in zip((data.N, data.D, data.loss), want, strict=True):
        np.testing.assert_allclose(got, expected, rtol=1e-15)


# ---------------------------------------------------------------------------- CLI
class _Reached(BaseException):
    """Raised by the stand-in for fit(): validation passed and the fit would start."""


def _fit_stub(data, **kwargs):
    FitSettings(**kwargs)  # the CLI's settings must be valid too
    assert isinstance(data, ScalingData) and len(data) >= 8
    raise _Reached


OPTION_VALUES = {
    "--budget": (["1e24", "5.76e23", "3e30"], ["nan", "-1", "inf", "0", "abc", "1e400", ""]),
    "--ci": (["0.9", "0.5"], ["0", "1", "nan", "abc", "-0.5", "90"]),
    "--chains": (["4", "2"], ["0", "-1", "x", "1.5"]),
    "--seed": (["0", "7"], ["-1", "x"]),
    "--flops-per-param-token": (["6", "8"], ["0", "nan", "-6", "x", "inf"]),
    "--likelihood": (["gaussian", "huber"], ["laplace"]),
    "--ci-kind": (["eti", "hdi"], ["mode"]),
}


@st.composite
def cli_options(draw):
    argv, valid = [], True
    hostile = draw(st.booleans())
    for flag, (good, bad) in OPTION_VALUES.items():
        choice = draw(
            st.sampled_from(["skip", "skip", "good", "bad"] if hostile else ["skip", "good"])
        )
        if choice == "skip":
            continue
        use_bad = choice == "bad"
        argv += [flag, draw(st.sampled_from(bad if use_bad else good))]
        valid &= not use_bad
    return argv, valid


@EXAMPLES
@given(table=run_tables(), options=cli_options(), delimiter=st.sampled_from([",", ";", "|"]))
def test_cli_exits_2_with_one_line_or_reaches_the_fit(tmp_path_factory, table, options, delimiter):
    header, rows = table
    path = tmp_path_factory.mktemp("cli") / "runs.csv"
    write_csv(path, header, rows, delimiter=delimiter)
    argv, options_ok = options
    k = 6.0
    if "--flops-per-param-token" in argv and options_ok:
        k = float(argv[argv.index("--flops-per-param-token") + 1])
    sniffable = delimiter != "|" or len(header) == 1
    data_ok = expected_runs(header, rows, k=k) is not None and sniffable
    err, out = io.StringIO(), io.StringIO()
    with (
        mock.patch.object(bayescale, "fit", _fit_stub),
        redirect_stderr(err),
        redirect_stdout(out),
    ):
        try:
            code = main(["fit", str(path), "--no-cache", *argv])
        except _Reached:
            code = None
    event("reached the fit" if code is None else f"exit {code}")
    if code is None:
        assert data_ok and options_ok, "bad input reached the fit"
        return
    assert code == 2, (code, err.getvalue())
    lines = err.getvalue().splitlines()
    assert len(lines) == 1 and lines[0].startswith("bayescale: error: "), err.getvalue()
    assert not out.getvalue()
    assert not (data_ok and options_ok), f"good input rejected: {err.getvalue()}"


def _empty_file(p):
    (p / "empty.csv").write_text("")
    return p / "empty.csv"


@pytest.mark.parametrize(
    ("make", "pattern"),
    [
        (lambda p: p, "is a directory, expected a CSV file"),
        (lambda p: p / "missing.csv", "no such file"),
        (_empty_file, "is empty"),
    ],
)
def test_cli_file_failures_one_line(tmp_path, capsys, make, pattern):
    code = main(["fit", str(make(tmp_path)), "--no-cache"])
    err = capsys.readouterr().err
    assert code == 2 and len(err.splitlines()) == 1 and pattern in err, err


def test_cli_refuses_unwritable_outputs_before_fitting(tmp_path, capsys):
    csv_path = tmp_path / "runs.csv"
    bayescale.checks.simulate.simulate_runs(seed=1).to_dataframe().to_csv(csv_path)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    for flag, target in (("--json", tmp_path), ("--report", blocker / "r.md")):
        with mock.patch.object(bayescale, "fit", _fit_stub):
            code = main(["fit", str(csv_path), "--no-cache", flag, str(target)])
        err = capsys.readouterr().err
        assert code == 2 and err.startswith("bayescale: error: cannot write"), err


def test_cli_internal_error_is_one_line_exit_1(tmp_path, capsys, monkeypatch):
    csv_path = tmp_path / "runs.csv"
    bayescale.checks.simulate.simulate_runs(seed=1).to_dataframe().to_csv(csv_path)

    def broken(*_a, **_k):
        raise KeyError("boom")

    monkeypatch.setattr(bayescale, "fit", broken)
    monkeypatch.delenv("BAYESCALE_DEBUG", raising=False)
    assert main(["fit", str(csv_path), "--no-cache"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "internal error: KeyError" in err
    monkeypatch.setenv("BAYESCALE_DEBUG", "1")
    with pytest.raises(KeyError):
        main(["fit", str(csv_path), "--no-cache"])
