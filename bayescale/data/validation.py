"""Where data enter: parsing and checking runs, once, with messages that name what to fix.

:func:`validate_frame` is the one place input is checked: every constructor of
:class:`~bayescale.ScalingData` (CSV, DataFrame, arrays) funnels into it. Errors are
:class:`ValueError` naming the column, the offending rows and what was expected; data that
look like checkpoints of fewer runs warn (:class:`CheckpointWarning`); sizes and losses that
look like another unit are refused with the option that fixes them.
"""

from __future__ import annotations

import csv
import decimal
import difflib
import io
import math
import numbers
import re
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from bayescale.choices import LOSS_KINDS
from bayescale.data.units import parse_unit, positive_number

__all__ = [
    "MIN_DISTINCT",
    "MIN_RUNS",
    "CheckpointWarning",
    "check_points",
    "positive_1d",
    "read_csv_text",
    "validate_frame",
]

#: Fewer runs than this cannot constrain five law parameters and a noise scale.
MIN_RUNS = 8
#: An exponent needs at least three distinct values of its variable to be identifiable
#: separately from its coefficient and the asymptote E.
MIN_DISTINCT = 3
_MAX_LISTED = 8
#: Largest N (parameters) and D (tokens) below these are implausible as plain counts: the
#: smallest language models studied have ~1e4 parameters and train on ~1e6 tokens, so a
#: column topping out lower was almost surely logged in millions or billions.
PLAUSIBLE_N_MAX, PLAUSIBLE_D_MAX = 1e4, 1e6
#: A loss in nats above this on every run looks like a perplexity (exp of the loss): even a
#: uniform guess over a 50k vocabulary is ln(50257) ≈ 10.8 nats, and fitted runs sit lower.
PERPLEXITY_MIN = 8.0
# column names that say a row is one checkpoint of a longer run
_CHECKPOINT_NAME = re.compile(r"step|ckpt|checkpoint|portion|iter|progress|elapsed|current", re.I)
# ...unless the name says it is a setting of the whole run
_RUN_SETTING_NAME = re.compile(r"total|max|num_|schedule", re.I)


class CheckpointWarning(UserWarning):
    """The rows look like several checkpoints per run but no run columns were given."""


def _fmt_rows(labels: Sequence[Any]) -> str:
    shown = ", ".join(str(x) for x in labels[:_MAX_LISTED])
    more = len(labels) - _MAX_LISTED
    return shown + (f" (and {more} more)" if more > 0 else "")


def _fmt_value(v: Any) -> str:
    if isinstance(v, float | np.floating):
        return f"{v:g}"
    text = repr(v)
    return text if len(text) <= 40 else text[:37] + "..."


def _fmt_values(values: Sequence[Any]) -> str:
    return ", ".join(_fmt_value(v) for v in values[:3])


def _refuse_rows(frame: pd.DataFrame, mask: Any, before: str, after: str) -> None:
    """Raise ``ValueError("<before> <rows where mask holds><after>")`` if there are any."""
    if np.any(mask):
        raise ValueError(f"{before} {_fmt_rows(list(frame.index[np.asarray(mask)]))}{after}")


def _blank(values: pd.Series) -> np.ndarray:
    """Cells that are missing or only white space (a run or group label left out)."""
    return values.isna().to_numpy() | (values.astype(str).str.strip() == "").to_numpy()


# cell classes of _parse_cells
_OK, _MISSING, _BAD = 0, 1, 2


_SUFFIXED = re.compile(r"^([0-9]*\.?[0-9]+(?:e[+-]?[0-9]+)?)\s*([kmbgt])$", re.I)
_SUFFIX_SCALE = {"k": 1e3, "m": 1e6, "b": 1e9, "g": 1e9, "t": 1e12}


def _parse_cell(v: Any, suffixes: bool = False) -> tuple[float, int]:
    """One cell to (float, class): numbers and numeric text parse; booleans and the rest don't.

    With ``suffixes`` (parameter and token columns), text such as ``125M`` or ``1.3B`` reads
    as 1.25e8 and 1.3e9.
    """
    if v is None or v is pd.NA or v is pd.NaT:
        return math.nan, _MISSING
    if isinstance(v, bool | np.bool_):  # True is an int to Python, not a model size to us
        return math.nan, _BAD
    if isinstance(v, str):
        s = v.strip()
        if not s:
            return math.nan, _MISSING
        try:
            return float(s), _OK  # "nan" and "inf" parse, and are reported as such later
        except ValueError:
            m = _SUFFIXED.match(s) if suffixes else None
            if m is None:
                return math.nan, _BAD
            return float(m.group(1)) * _SUFFIX_SCALE[m.group(2).lower()], _OK
    if isinstance(v, numbers.Real | decimal.Decimal):
        try:
            x = float(v)
        except OverflowError:  # an integer beyond float range
            return (math.inf if v > 0 else -math.inf), _OK
        # a NaN inside a DataFrame is pandas' marker for a missing value
        return x, (_MISSING if math.isnan(x) else _OK)
    return math.nan, _BAD


def _parse_cells(
    raw: pd.Series, col: str, source: str, suffixes: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Values (float64) and cell classes of one column; rejects non-numeric dtypes outright."""
    dtype = raw.dtype
    kind = getattr(dtype, "kind", "O")
    if pd.api.types.is_bool_dtype(dtype):
        raise ValueError(f"column {col!r} in {source} holds booleans; expected numbers")
    if kind in "mMc" or isinstance(dtype, pd.PeriodDtype | pd.IntervalDtype):
        what = {"m": "time spans", "M": "dates", "c": "complex numbers"}.get(kind, str(dtype))
        raise ValueError(f"column {col!r} in {source} holds {what} ({dtype}); expected numbers")
    if kind in "iuf" and not isinstance(dtype, pd.CategoricalDtype):
        values = raw.to_numpy(dtype=np.float64, na_value=np.nan)
        return values, np.where(np.isnan(values), _MISSING, _OK)
    parsed = [_parse_cell(v, suffixes) for v in raw.astype(object).to_numpy()]
    values = np.array([x for x, _ in parsed], dtype=np.float64)
    classes = np.array([c for _, c in parsed], dtype=np.int8)
    return values, classes


def read_csv_text(text: str, path: str) -> pd.DataFrame:
    """Parse CSV text into a DataFrame of strings indexed by line number.

    Python's ``csv`` module (strict quoting) rather than pandas: it keeps exact line numbers
    across blank lines and quoted newlines, keeps duplicated header names visible (pandas
    renames them ``N.1``), and reports a row with too many fields by its line.
    """
    if not text.strip():
        raise ValueError(f"{path!r} is empty, expected a CSV file with a header row")
    first = text.splitlines()[0]
    if not first.strip():
        raise ValueError(
            f"line 1 of {path!r} is blank; expected a header row with the column names"
        )
    # the delimiter that splits the header most: comma, semicolon or tab exports
    sep = max((",", ";", "\t"), key=first.count)
    reader = csv.reader(
        io.StringIO(text, newline=""), delimiter=sep, strict=True, skipinitialspace=True
    )
    rows: list[list[str]] = []
    lines: list[int] = []
    last = 0
    try:
        header = next(reader)
        last = reader.line_num
        for row in reader:
            start, last = last + 1, reader.line_num
            if not row or (len(row) == 1 and not row[0].strip()):
                continue  # a blank line
            if len(row) > len(header):
                raise ValueError(
                    f"line {start} of {path!r} has {len(row)} fields but the header has "
                    f"{len(header)} (delimiter {sep!r}); check quoting and the delimiter"
                )
            rows.append(row + [""] * (len(header) - len(row)))
            lines.append(start)
    except csv.Error as exc:
        raise ValueError(
            f"cannot parse {path!r} as CSV: {exc} in the row starting at line {last + 1}"
        ) from None
    frame = pd.DataFrame(rows, columns=header, index=pd.Index(lines, dtype=np.int64), dtype=object)
    if not rows:  # keep the columns of a header-only file
        frame = pd.DataFrame(columns=header, dtype=object)
    return frame


def _run_keys(
    frame: pd.DataFrame, run_cols: Any, source: str, row_word: str, missing: Any
) -> np.ndarray | None:
    """One integer per row naming its run (rows sharing all ``run_cols`` values), or None."""
    if run_cols is None:
        return None
    cols = [run_cols] if isinstance(run_cols, str) else list(run_cols)
    cols = [str(c).strip() for c in cols]
    if not cols or any(not c for c in cols):
        raise ValueError(f"run_cols must name one or more columns, got {run_cols!r}")
    for col in cols:
        if col not in frame.columns:
            raise missing(col, "run_cols / --run-col")
        _refuse_rows(
            frame,
            _blank(frame[col]),
            f"run column {col!r} is empty in {row_word}s",
            f" of {source}; every checkpoint row needs the values that identify its run",
        )
    # text values, so 0.002 and "0.002" in two exports name the same run
    as_text = frame[cols].astype(str).apply(lambda c: c.str.strip())
    return as_text.groupby(cols, sort=False).ngroup().to_numpy()


def _last_checkpoints(keys: np.ndarray, D: np.ndarray) -> np.ndarray:
    """Positions of each run's last checkpoint (largest D; the later row on a tie), in order."""
    order = np.lexsort((np.arange(len(D)), D, keys))  # by run, then D, then position
    last = np.r_[keys[order][1:] != keys[order][:-1], True]
    return np.sort(order[last])


def _warn_checkpoints(frame: pd.DataFrame, N: np.ndarray, used: list[str], source: str) -> None:
    """Warn when rows look like checkpoints of fewer runs (many rows per N, a step column)."""
    per_n = len(N) / len(np.unique(N))
    if per_n < 4:
        return
    # position in a run (current_steps, portion_elapsed) vs its configuration (total_steps)
    likely = [
        c
        for c in frame.columns
        if c not in used
        and _CHECKPOINT_NAME.search(str(c))
        and not _RUN_SETTING_NAME.search(str(c))
        and frame[c].nunique() > 1
    ]
    # a position equal to a run total on every row (current_steps == total_steps) says each
    # row is already its run's final checkpoint
    totals = [c for c in frame.columns if _RUN_SETTING_NAME.search(str(c))]
    likely = [
        c
        for c in likely
        if not any(frame[c].astype(str).equals(frame[t].astype(str)) for t in totals)
    ]
    if not likely:
        return
    # a run's settings take few distinct values: show those first
    counts = {c: frame[c].nunique() for c in frame.columns if c not in used and c not in likely}
    ids = sorted((c for c, n in counts.items() if 1 < n <= len(frame) / 4), key=counts.get)
    shown = ", ".join(repr(c) for c in likely[:4])
    hint = f", perhaps among {', '.join(repr(c) for c in ids[:6])}" if ids else ""
    warnings.warn(
        f"{source} has {len(N)} rows but only {len(np.unique(N))} distinct N "
        f"({per_n:.0f} rows per N) and checkpoint-like column(s) {shown}: these look like "
        "several checkpoints per run, which the fit would treat as independent final "
        "losses. Name the columns that identify a run with run_cols= / --run-col"
        f"{hint}, to fit each run's last checkpoint.",
        CheckpointWarning,
        stacklevel=4,
    )


def _check_units(
    N: np.ndarray,
    D: np.ndarray,
    loss: np.ndarray,
    *,
    n_col: str,
    d_col: str,
    loss_col: str,
    n_unit: Any,
    d_unit: Any,
    loss_kind: str | None,
) -> None:
    """Refuse sizes and losses whose magnitude says they are in another unit.

    An answer in the wrong units is worse than none, so only an explicit unit (``n_unit``,
    ``d_unit``, ``loss_kind``) lets such data through.
    """
    for name, arr, col, unit, floor, opt, what in (
        ("N", N, n_col, n_unit, PLAUSIBLE_N_MAX, "n_unit / --n-unit", "parameters"),
        ("D", D, d_col, d_unit, PLAUSIBLE_D_MAX, "d_unit / --d-unit", "tokens"),
    ):
        top = float(np.max(arr))
        if unit is None and top < floor:
            raise ValueError(
                f"{col} holds {name} of at most {top:g}, implausibly few {what} "
                f"(expected the largest above {floor:g}); if the sizes are logged in "
                f"millions or billions say so with {opt} M or B (or {opt} 1 if these are "
                "plain counts)"
            )
    if loss_kind is None and float(np.min(loss)) > PERPLEXITY_MIN:
        raise ValueError(
            f"column {loss_col!r} is above {PERPLEXITY_MIN:g} in every run (lowest "
            f"{float(np.min(loss)):.4g}): that looks like perplexity, not a loss in nats; "
            "pass loss_kind='perplexity' / --loss-kind perplexity to fit its log (or "
            "loss_kind='loss' / --loss-kind loss if these are losses)"
        )


def validate_frame(
    frame: pd.DataFrame,
    *,
    n_col: str,
    d_col: str,
    loss_col: str,
    c_col: str,
    flops_per_param_token: float,
    extra_cols: Mapping[str, str] | None,
    group_col: str | None,
    min_runs: int,
    run_cols: str | Sequence[str] | None,
    n_unit: str | float | None,
    d_unit: str | float | None,
    loss_kind: str | None,
    source: str,
    row_word: str,
) -> dict[str, Any]:
    """Check a frame of runs and return the fields of a :class:`~bayescale.ScalingData`.

    See :meth:`ScalingData.from_dataframe`, whose parameters these are.
    """
    if not isinstance(frame, pd.DataFrame):
        raise ValueError(f"expected a pandas DataFrame, got {type(frame).__name__}")
    k = positive_number(flops_per_param_token, "flops_per_param_token")
    frame = frame.copy()
    frame.columns = [str(c).strip() for c in frame.columns]
    have = set(frame.columns)
    names = list(frame.columns)

    def missing(col: str, flag: str, extra: str = "") -> ValueError:
        cols = ", ".join(repr(c) for c in frame.columns) or "none"
        lower = {str(c).lower(): str(c) for c in frame.columns}
        close = difflib.get_close_matches(col.lower(), list(lower), n=1, cutoff=0.75)
        hint = f" (did you mean {lower[close[0]]!r}?)" if close else ""
        if len(frame.columns) == 1 and any(s in names[0] for s in "|: "):
            hint += " (only one column was found: is the file split by another delimiter?)"
        return ValueError(
            f"column {col!r} not found in {source}{extra}; available columns: {cols}{hint}; "
            f"choose another with {flag}"
        )

    if loss_col not in have:
        raise missing(loss_col, "loss_col / --loss-col")
    has_n, has_d, has_c = n_col in have, d_col in have, c_col in have
    if not has_n and not (has_d and has_c):
        raise missing(n_col, "n_col / --n-col", f" (nor both {d_col!r} and {c_col!r})")
    if not has_d and not (has_n and has_c):
        raise missing(d_col, "d_col / --d-col", f" (nor a FLOPs column {c_col!r})")
    used = [loss_col, n_col if has_n else c_col, d_col if has_d else c_col]
    used += list((extra_cols or {}).values()) + ([group_col] if group_col else [])
    used += [run_cols] if isinstance(run_cols, str) else list(run_cols or [])
    for col in dict.fromkeys(used):
        if names.count(col) > 1:
            where = ", ".join(str(i + 1) for i, c in enumerate(names) if c == col)
            raise ValueError(
                f"column {col!r} appears {names.count(col)} times in {source} (columns "
                f"{where}); rename or drop the duplicates so it is clear which one to use"
            )
    if len({loss_col, used[1], used[2]}) < 3:
        raise ValueError(
            f"the loss, N and D columns must differ, got loss {loss_col!r}, "
            f"N {used[1]!r}, D {used[2]!r} (with C {c_col!r})"
        )

    n_scale = parse_unit(n_unit, "n_unit / --n-unit")
    d_scale = parse_unit(d_unit, "d_unit / --d-unit")
    if loss_kind is not None and loss_kind not in LOSS_KINDS:
        raise ValueError(
            f"loss_kind must be 'loss' or 'perplexity' (or None to check), got {loss_kind!r}"
        )
    keys = _run_keys(frame, run_cols, source, row_word, missing)

    def column(col: str, suffixes: bool = False) -> np.ndarray:
        raw = frame[col]
        arr, cls_ = _parse_cells(raw, col, source, suffixes)
        bad = cls_ == _BAD
        hint = " such as 1.3e9 or 1.3B" if suffixes else ""
        _refuse_rows(
            frame,
            bad,
            f"column {col!r} has non-numeric values in {row_word}s",
            f" ({_fmt_values(list(raw[bad]))}); expected numbers{hint}",
        )
        _refuse_rows(
            frame,
            cls_ == _MISSING,
            f"column {col!r} is empty in {row_word}s",
            " (missing or NaN); expected a number in every run",
        )
        nonfinite = ~np.isfinite(arr)
        _refuse_rows(
            frame,
            nonfinite,
            f"column {col!r} has NaN or infinite values in {row_word}s",
            f" ({_fmt_values(list(raw[nonfinite]))}); expected finite numbers",
        )
        nonpos = arr <= 0
        _refuse_rows(
            frame,
            nonpos,
            f"column {col!r} must be > 0, but {row_word}s",
            f" hold {_fmt_values(list(arr[nonpos]))}",
        )
        return arr

    loss = column(loss_col)
    if loss_kind == "perplexity":
        loss = np.log(loss)
    if has_n and has_d:
        N, D = column(n_col, True) * n_scale, column(d_col, True) * d_scale
    elif has_n:
        N = column(n_col, True) * n_scale
        D = column(c_col) / (k * N)
    else:
        D = column(d_col, True) * d_scale
        N = column(c_col) / (k * D)
    for name, arr in (("N", N), ("D", D)):
        _refuse_rows(
            frame,
            ~(np.isfinite(arr) & (arr > 0)),
            f"{name} derived from {c_col!r} is not a finite positive number in {row_word}s",
            "",
        )
    with np.errstate(over="ignore", under="ignore"):
        C = k * N * D
    overflow = ~(np.isfinite(C) & (C > 0))
    _refuse_rows(
        frame,
        overflow,
        f"training compute {k:g}·N·D overflows (or underflows to 0) in {row_word}s",
        f" (N {_fmt_values(list(N[overflow]))}, D {_fmt_values(list(D[overflow]))}); "
        "expected N and D in parameters and tokens",
    )

    extras: dict[str, np.ndarray] = {}
    for name, col in (extra_cols or {}).items():
        if col not in have:
            raise missing(col, "extra_cols")
        extras[name] = column(col, True)
    group = None
    if group_col is not None:
        if group_col not in have:
            raise missing(group_col, "group_col / --group-col")
        _refuse_rows(
            frame,
            _blank(frame[group_col]),
            f"column {group_col!r} is empty in {row_word}s",
            "; expected a group label in every run",
        )
        group = frame[group_col].astype(str).to_numpy()

    labels = np.asarray(frame.index)
    set_aside = 0
    if keys is not None:
        # the last checkpoint (largest D; the later row on a tie) of each run
        keep = _last_checkpoints(keys, D)
        set_aside = len(D) - len(keep)
        N, D, loss, labels = N[keep], D[keep], loss[keep], labels[keep]
        extras = {name: v[keep] for name, v in extras.items()}
        group = None if group is None else group[keep]
    elif len(frame) >= 2 * MIN_RUNS:
        _warn_checkpoints(frame, N, used, source)

    n_runs = len(N)
    if n_runs < min_runs:
        what = "runs" if keys is None else f"runs (from {len(frame)} checkpoint rows)"
        raise ValueError(
            f"{source} has {n_runs} {what}; at least {min_runs} are needed to fit "
            "E, A, B, alpha, beta and the noise scale (runs that are only predicted or "
            "scored need just one: pass min_runs=1)"
        )
    if min_runs >= MIN_RUNS:  # fittable data: check the design too
        for name, arr, col in (("N", N, n_col), ("D", D, d_col)):
            n_distinct = len(np.unique(arr))
            if n_distinct < MIN_DISTINCT:
                derived = not (has_n if name == "N" else has_d)
                what = f"{name} (from {c_col!r})" if derived else f"column {col!r}"
                exponent = "alpha" if name == "N" else "beta"
                raise ValueError(
                    f"{what} has {n_distinct} distinct value(s); at least {MIN_DISTINCT} "
                    f"are needed to identify the exponent {exponent}: add runs at other "
                    f"values of {name}"
                )
    if n_runs:
        _check_units(
            N,
            D,
            loss,
            n_col=f"column {n_col!r}" if has_n else f"N derived from {c_col!r}",
            d_col=f"column {d_col!r}" if has_d else f"D derived from {c_col!r}",
            loss_col=loss_col,
            n_unit=n_unit,
            d_unit=d_unit,
            loss_kind=loss_kind,
        )

    return dict(
        N=N,
        D=D,
        loss=loss,
        flops_per_param_token=k,
        source=source,
        rows=labels,
        extra=extras,
        group=group,
        checkpoints_set_aside=set_aside,
    )


def check_points(N: Any, D: Any) -> tuple[np.ndarray, np.ndarray]:
    """Sizes (N, D) to predict at: float64 arrays of the same shape, finite and > 0."""
    N = np.atleast_1d(np.asarray(N, dtype=np.float64))
    D = np.atleast_1d(np.asarray(D, dtype=np.float64))
    if N.shape != D.shape or np.any(~np.isfinite(N) | (N <= 0) | ~np.isfinite(D) | (D <= 0)):
        raise ValueError("N and D must be arrays of the same shape with finite values > 0")
    return N, D


def positive_1d(x: Any, name: str, expected: str) -> np.ndarray:
    """A number or 1-d sequence as a float64 array of finite values > 0."""
    if isinstance(x, str):
        raise ValueError(f"{name} must be numbers ({expected}), got {x!r}")
    try:
        a = np.atleast_1d(np.asarray(x, dtype=np.float64))
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be numbers ({expected}), got {x!r}") from None
    if a.ndim != 1 or a.size == 0:
        raise ValueError(f"{name} must be a number or a 1-d sequence of numbers, got {x!r}")
    bad = ~np.isfinite(a) | (a <= 0)
    if bad.any():
        raise ValueError(f"{name} must be finite and > 0 ({expected}), got {a[bad].tolist()}")
    return a


def open_unit(x: Any, name: str, what: str = "a number") -> float:
    """``x`` as a float strictly between 0 and 1 (a probability, a fraction of the runs)."""
    try:
        v = float(x)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be {what} in (0, 1), got {x!r}") from None
    if not 0.0 < v < 1.0:
        raise ValueError(f"{name} must be {what} in (0, 1), got {v}")
    return v
