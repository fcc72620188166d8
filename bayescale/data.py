"""Training runs in, validated once: :class:`ScalingData`.

Every entry point (CSV, DataFrame, arrays) funnels into :func:`ScalingData.from_dataframe`,
which is the one place where input is checked. Errors are :class:`ValueError` naming the
column, the offending rows and what was expected, so a user can fix the file.
"""

from __future__ import annotations

import csv
import decimal
import difflib
import io
import math
import numbers
import os
import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from bayescale.units import parse_unit

__all__ = [
    "COLLINEAR_CORR",
    "MIN_DISTINCT",
    "MIN_RUNS",
    "CheckpointWarning",
    "ScalingData",
    "design_problems",
    "read_points",
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


def _positive_float(value: Any, name: str) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}") from None
    if isinstance(value, bool) or not math.isfinite(x) or x <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return x


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


def _read_csv_text(text: str, path: str) -> pd.DataFrame:
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
        values = frame[col]
        empty = values.isna().to_numpy() | (values.astype(str).str.strip() == "").to_numpy()
        if empty.any():
            rows = list(frame.index[empty])
            raise ValueError(
                f"run column {col!r} is empty in {row_word}s {_fmt_rows(rows)} of {source}; "
                "every checkpoint row needs the values that identify its run"
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


@dataclass(frozen=True, eq=False)
class ScalingData:
    """Validated training runs: model size ``N``, training tokens ``D``, final ``loss``.

    Build it with :meth:`from_csv`, :meth:`from_dataframe` or :meth:`from_arrays`;
    the constructors validate, the dataclass itself trusts its arrays.

    Attributes
    ----------
    N, D, loss : numpy.ndarray
        Parameters, training tokens and loss of each run (float64, all > 0).
    flops_per_param_token : float
        The k in C = k·N·D (6 for dense transformers: forward + backward pass).
    source : str
        Where the runs came from (file name, data set name, or "arrays").
    rows : numpy.ndarray
        The label of each run in its source (CSV line number, DataFrame index), used in
        messages and kept through subsetting.
    extra : dict of numpy.ndarray
        Further per-run numeric columns a law may need (e.g. unique tokens ``U_D``).
    group : numpy.ndarray or None
        Optional group label per run (architecture, data mix) for pooled models.
    checkpoints_set_aside : int
        Checkpoint rows not fitted because ``run_cols`` grouped them with a later
        checkpoint of the same run (0 without ``run_cols``).
    """

    N: np.ndarray
    D: np.ndarray
    loss: np.ndarray
    flops_per_param_token: float = 6.0
    source: str = "arrays"
    rows: np.ndarray = field(default=None)  # type: ignore[assignment]
    extra: Mapping[str, np.ndarray] = field(default_factory=dict)
    group: np.ndarray | None = None
    checkpoints_set_aside: int = 0

    def __post_init__(self) -> None:
        if self.rows is None:
            object.__setattr__(self, "rows", np.arange(len(self.N)))

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_csv(
        cls,
        path: str | os.PathLike[str],
        *,
        n_col: str = "N",
        d_col: str = "D",
        loss_col: str = "loss",
        c_col: str = "C",
        flops_per_param_token: float = 6.0,
        extra_cols: Mapping[str, str] | None = None,
        group_col: str | None = None,
        min_runs: int = MIN_RUNS,
        run_cols: str | Sequence[str] | None = None,
        n_unit: str | float | None = None,
        d_unit: str | float | None = None,
        loss_kind: str | None = None,
    ) -> ScalingData:
        """Read runs from a CSV file (comma, semicolon or tab separated).

        Parameters
        ----------
        path : str or path-like
            The CSV file. Rows are reported by their line number in the file.
        n_col, d_col, loss_col, c_col : str
            Column names for parameters, tokens, loss and training FLOPs. The FLOPs column
            is used only when the N or D column is absent: D = C / (k·N) or N = C / (k·D).
        flops_per_param_token : float, default 6
            k in C = k·N·D.
        extra_cols : mapping, optional
            ``{name in bayescale: column in file}`` for further numeric columns.
        group_col : str, optional
            Column holding a group label per run.
        min_runs : int, default 8
            Fewest runs accepted. 8 (and at least 3 distinct N and D) is what a fit needs;
            runs that are only predicted or scored (held-out runs for
            :func:`bayescale.backtest.evaluate`, :meth:`FitResult.log_likelihood`) may be
            as few as one: pass ``min_runs=1``, which also skips the design checks.
        run_cols : str or sequence of str, optional
            Columns that identify a run when the file logs several checkpoints per run:
            rows sharing all their values are one run, of which only the last checkpoint
            (largest D) is kept; :attr:`checkpoints_set_aside` counts the others. Without
            it, data that look like checkpoints (many rows per N and a column named like
            ``step``, ``checkpoint`` or ``portion``) raise a :class:`CheckpointWarning`.
        n_unit, d_unit : {"1", "K", "M", "B", "G", "T"} or float, optional
            Unit the N and D columns are logged in (``"M"``: millions of parameters,
            ``"B"``: billions of tokens). Values may also carry their own suffix
            (``125M``, ``1.3B``). Without a unit, a largest N below 1e4 or a largest D below
            1e6 is refused as implausible for counts; ``"1"`` declares plain counts.
        loss_kind : {"loss", "perplexity"}, optional
            ``"perplexity"`` fits the log of the column. Without it, a loss above 8 on every
            run is refused as a likely perplexity; ``"loss"`` declares it a loss.

        Returns
        -------
        ScalingData

        Raises
        ------
        ValueError
            If the file cannot be read or any check in :meth:`from_dataframe` fails.
        """
        path = os.fspath(path)
        if os.path.isdir(path):
            raise ValueError(f"{path!r} is a directory, expected a CSV file")
        if not os.path.exists(path):
            raise ValueError(f"no such file: {path!r}")
        if not os.path.isfile(path):
            # a FIFO or device would block or be read only once; ask for a real file
            raise ValueError(f"{path!r} is not a regular file, expected a CSV file")
        try:
            with open(path, "rb") as fh:
                raw = fh.read()
        except OSError as exc:
            raise ValueError(f"cannot read {path!r}: {exc.strerror or exc}") from None
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = raw[: exc.start].count(b"\n") + 1
            raise ValueError(
                f"cannot read {path!r}: line {line} is not UTF-8 text "
                f"(byte 0x{raw[exc.start]:02x}); save the file as UTF-8"
            ) from None
        frame = _read_csv_text(text, path)
        return cls.from_dataframe(
            frame,
            n_col=n_col,
            d_col=d_col,
            loss_col=loss_col,
            c_col=c_col,
            flops_per_param_token=flops_per_param_token,
            extra_cols=extra_cols,
            group_col=group_col,
            min_runs=min_runs,
            run_cols=run_cols,
            n_unit=n_unit,
            d_unit=d_unit,
            loss_kind=loss_kind,
            source=os.path.basename(path),
            row_word="line",
        )

    @classmethod
    def from_dataframe(
        cls,
        frame: pd.DataFrame,
        *,
        n_col: str = "N",
        d_col: str = "D",
        loss_col: str = "loss",
        c_col: str = "C",
        flops_per_param_token: float = 6.0,
        extra_cols: Mapping[str, str] | None = None,
        group_col: str | None = None,
        min_runs: int = MIN_RUNS,
        run_cols: str | Sequence[str] | None = None,
        n_unit: str | float | None = None,
        d_unit: str | float | None = None,
        loss_kind: str | None = None,
        source: str = "DataFrame",
        row_word: str = "row",
    ) -> ScalingData:
        """Validate a :class:`pandas.DataFrame` of runs; the one place input is checked.

        Parameters
        ----------
        frame : pandas.DataFrame
            One row per training run. Rows are reported by their index label.
        n_col, d_col, loss_col, c_col, flops_per_param_token, extra_cols, group_col, min_runs
            As in :meth:`from_csv`.
        run_cols, n_unit, d_unit, loss_kind
            As in :meth:`from_csv`.
        source : str
            Name used in messages.
        row_word : str
            How rows are called in messages ("row" for index labels, "line" for files).

        Returns
        -------
        ScalingData

        Raises
        ------
        ValueError
            Missing or non-numeric column; NaN or infinite values; N, D, C or loss not > 0;
            fewer than ``min_runs`` runs; fewer than 3 distinct N or D values (when
            ``min_runs`` >= 8); sizes or losses that look like another unit.

        Warns
        -----
        CheckpointWarning
            The rows look like checkpoints of fewer runs and ``run_cols`` is not given.
        """
        if not isinstance(frame, pd.DataFrame):
            raise ValueError(f"expected a pandas DataFrame, got {type(frame).__name__}")
        k = _positive_float(flops_per_param_token, "flops_per_param_token")
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
        if loss_kind not in (None, "loss", "perplexity"):
            raise ValueError(
                f"loss_kind must be 'loss' or 'perplexity' (or None to check), got {loss_kind!r}"
            )
        keys = _run_keys(frame, run_cols, source, row_word, missing)

        def column(col: str, suffixes: bool = False) -> np.ndarray:
            raw = frame[col]
            arr, cls_ = _parse_cells(raw, col, source, suffixes)
            bad = cls_ == _BAD
            if bad.any():
                rows = list(frame.index[bad])
                hint = " such as 1.3e9 or 1.3B" if suffixes else ""
                raise ValueError(
                    f"column {col!r} has non-numeric values in {row_word}s {_fmt_rows(rows)} "
                    f"({_fmt_values(list(raw[bad]))}); expected numbers{hint}"
                )
            blank = cls_ == _MISSING
            if blank.any():
                rows = list(frame.index[blank])
                raise ValueError(
                    f"column {col!r} is empty in {row_word}s {_fmt_rows(rows)} (missing or "
                    "NaN); expected a number in every run"
                )
            nonfinite = ~np.isfinite(arr)
            if nonfinite.any():
                rows = list(frame.index[nonfinite])
                raise ValueError(
                    f"column {col!r} has NaN or infinite values in {row_word}s "
                    f"{_fmt_rows(rows)} ({_fmt_values(list(raw[nonfinite]))}); "
                    "expected finite numbers"
                )
            nonpos = arr <= 0
            if nonpos.any():
                rows = list(frame.index[nonpos])
                raise ValueError(
                    f"column {col!r} must be > 0, but {row_word}s {_fmt_rows(rows)} hold "
                    f"{_fmt_values(list(arr[nonpos]))}"
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
            if not np.all(np.isfinite(arr)) or np.any(arr <= 0):
                rows = list(frame.index[~(np.isfinite(arr) & (arr > 0))])
                raise ValueError(
                    f"{name} derived from {c_col!r} is not a finite positive number in "
                    f"{row_word}s {_fmt_rows(rows)}"
                )
        with np.errstate(over="ignore", under="ignore"):
            C = k * N * D
        overflow = ~(np.isfinite(C) & (C > 0))
        if overflow.any():
            rows = list(frame.index[overflow])
            raise ValueError(
                f"training compute {k:g}·N·D overflows (or underflows to 0) in {row_word}s "
                f"{_fmt_rows(rows)} "
                f"(N {_fmt_values(list(N[overflow]))}, D {_fmt_values(list(D[overflow]))}); "
                "expected N and D in parameters and tokens"
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
            g = frame[group_col]
            empty = g.isna().to_numpy() | (g.astype(str).str.strip() == "").to_numpy()
            if empty.any():
                rows = list(frame.index[empty])
                raise ValueError(
                    f"column {group_col!r} is empty in {row_word}s {_fmt_rows(rows)}; "
                    "expected a group label in every run"
                )
            group = g.astype(str).to_numpy()

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

        return cls(
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

    @classmethod
    def from_arrays(
        cls,
        *,
        N: Any = None,
        D: Any = None,
        loss: Any,
        C: Any = None,
        flops_per_param_token: float = 6.0,
        group: Any = None,
        min_runs: int = MIN_RUNS,
        n_unit: str | float | None = None,
        d_unit: str | float | None = None,
        loss_kind: str | None = None,
        **extra: Any,
    ) -> ScalingData:
        """Build from array-likes; give ``loss`` and two of ``N``, ``D``, ``C``.

        Parameters
        ----------
        N, D, C : array-like, optional
            Parameters, tokens, training FLOPs: exactly two of the three, 1-d.
        loss : array-like
            Final loss of each run.
        flops_per_param_token : float, default 6
            k in C = k·N·D.
        group : array-like, optional
            Group label per run.
        min_runs : int, default 8
            Fewest runs accepted (1 for runs that are only predicted or scored).
        n_unit, d_unit, loss_kind : optional
            As in :meth:`from_csv`.
        **extra : array-like
            Further per-run numeric columns (e.g. ``U_D=...``).

        Returns
        -------
        ScalingData
        """
        given = [name for name, val in (("N", N), ("D", D), ("C", C)) if val is not None]
        if len(given) != 2:
            raise ValueError(
                f"give exactly two of N, D and C (C = k·N·D), got {', '.join(given) or 'none'}"
            )
        cols: dict[str, Any] = {"loss": loss}
        cols.update({name: val for name, val in (("N", N), ("D", D), ("C", C)) if val is not None})
        cols.update(extra)
        if group is not None:
            cols["group"] = group
        arrays: dict[str, np.ndarray] = {}
        for name, val in cols.items():
            if isinstance(val, str | bytes | Mapping):
                raise ValueError(f"{name} must be a 1-d array, got {type(val).__name__}")
            try:
                arr = val.to_numpy() if isinstance(val, pd.Series | pd.Index) else np.asarray(val)
            except (TypeError, ValueError) as exc:
                raise ValueError(f"cannot read {name} as a 1-d array: {exc}") from None
            if arr.ndim != 1:
                raise ValueError(f"{name} must be a 1-d array, got shape {arr.shape}")
            arrays[name] = arr
        lengths = {k: len(v) for k, v in arrays.items()}
        if len(set(lengths.values())) > 1:
            raise ValueError(f"arrays must have the same length, got {lengths}")
        frame = pd.DataFrame(arrays)
        return cls.from_dataframe(
            frame,
            flops_per_param_token=flops_per_param_token,
            extra_cols={k: k for k in extra},
            group_col="group" if group is not None else None,
            min_runs=min_runs,
            n_unit=n_unit,
            d_unit=d_unit,
            loss_kind=loss_kind,
            source="arrays",
            row_word="position",
        )

    # ------------------------------------------------------------------ views
    def __len__(self) -> int:
        return len(self.N)

    @property
    def n_runs(self) -> int:
        """Number of runs."""
        return len(self.N)

    @property
    def C(self) -> np.ndarray:
        """Training compute of each run, k·N·D FLOPs."""
        return self.flops_per_param_token * self.N * self.D

    @property
    def log_N(self) -> np.ndarray:
        """Natural log of N."""
        return np.log(self.N)

    @property
    def log_D(self) -> np.ndarray:
        """Natural log of D."""
        return np.log(self.D)

    @property
    def log_loss(self) -> np.ndarray:
        """Natural log of the loss (the model's response)."""
        return np.log(self.loss)

    def subset(self, mask: Any) -> ScalingData:
        """Return the runs selected by a boolean mask or index array (no re-validation)."""
        idx = np.arange(len(self))[np.asarray(mask)]
        return ScalingData(
            N=self.N[idx],
            D=self.D[idx],
            loss=self.loss[idx],
            flops_per_param_token=self.flops_per_param_token,
            source=self.source,
            rows=self.rows[idx],
            extra={k: v[idx] for k, v in self.extra.items()},
            group=None if self.group is None else self.group[idx],
        )

    def to_dataframe(self) -> pd.DataFrame:
        """The runs as a DataFrame with columns N, D, C, loss (and extras, group)."""
        cols: dict[str, Any] = {"N": self.N, "D": self.D, "C": self.C, "loss": self.loss}
        cols.update(self.extra)
        if self.group is not None:
            cols["group"] = self.group
        return pd.DataFrame(cols, index=pd.Index(self.rows, name="row"))

    def __repr__(self) -> str:
        return (
            f"ScalingData({len(self)} runs from {self.source}: "
            f"N {self.N.min():.3g}–{self.N.max():.3g}, D {self.D.min():.3g}–{self.D.max():.3g}, "
            f"loss {self.loss.min():.3g}–{self.loss.max():.3g})"
        )


def read_points(
    source: str | os.PathLike[str] | pd.DataFrame, *, n_col: str = "N", d_col: str = "D"
) -> tuple[np.ndarray, np.ndarray]:
    """New (N, D) points to predict at, from a CSV file or a DataFrame: any number >= 1.

    Parameters
    ----------
    source : path or pandas.DataFrame
        Columns ``n_col`` and ``d_col``; values are counts, written as numbers (7e9) or
        with a suffix (7B, 2T). Other columns are ignored.
    n_col, d_col : str
        Column names.

    Returns
    -------
    N, D : numpy.ndarray
        float64 arrays of the same length.

    Raises
    ------
    ValueError
        Unreadable file, missing column, a value that is not a count > 0, no rows, or sizes
        too small to be parameters (< 1e4) or tokens (< 1e6), which are likely in the wrong
        unit.
    """
    if isinstance(source, pd.DataFrame):
        frame, name, word = source.copy(), "DataFrame", "row"
        frame.columns = [str(c).strip() for c in frame.columns]
    else:
        path = os.fspath(source)
        if not os.path.isfile(path):
            raise ValueError(
                f"no such file: {path!r}"
                if not os.path.exists(path)
                else f"{path!r} is not a regular file, expected a CSV file"
            )
        try:
            with open(path, encoding="utf-8-sig") as fh:
                text = fh.read()
        except (OSError, UnicodeDecodeError) as exc:
            raise ValueError(f"cannot read {path!r}: {exc}") from None
        frame, name, word = _read_csv_text(text, path), os.path.basename(path), "line"
    out = []
    for col, what, floor in (
        (n_col, "parameters", PLAUSIBLE_N_MAX),
        (d_col, "tokens", PLAUSIBLE_D_MAX),
    ):
        if col not in frame.columns:
            cols = ", ".join(repr(c) for c in frame.columns) or "none"
            raise ValueError(
                f"column {col!r} not found in {name}; available columns: {cols}; expected "
                "columns N and D (parameters and tokens) of the runs to predict"
            )
        values, classes = _parse_cells(frame[col], col, name, suffixes=True)
        bad = (classes != _OK) | ~np.isfinite(values) | (values <= 0)
        if bad.any():
            rows = list(frame.index[bad])
            raise ValueError(
                f"column {col!r} of {name} is not a count > 0 in {word}s {_fmt_rows(rows)} "
                f"({_fmt_values(list(frame[col][bad]))}); expected numbers such as 7e9 or 7B"
            )
        small = values < floor
        if small.any():
            rows = list(frame.index[small])
            raise ValueError(
                f"column {col!r} of {name} holds {_fmt_values(list(values[small]))} in "
                f"{word}s {_fmt_rows(rows)}: implausibly few {what} (< {floor:g}); write "
                "sizes in full or with a suffix, e.g. 7B or 7e9"
            )
        out.append(values)
    if not len(out[0]):
        raise ValueError(f"{name} has no rows; give at least one N, D point to predict at")
    return out[0], out[1]


#: |corr(log N, log D)| above this means the runs scale N and D together too closely for
#: the data to tell the N term from the D term (measured: 0.999 gave R-hat 1.05 and
#: intervals for N_opt spanning 5 orders of magnitude; 0.94 fitted cleanly).
COLLINEAR_CORR = 0.99


def design_problems(data: ScalingData) -> list[str]:
    """Check that a design can identify the law; one sentence per problem, saying what to do.

    Parameters
    ----------
    data : ScalingData
        The runs.

    Returns
    -------
    list of str
        Empty when the design is fine. A nearly collinear log N and log D (all runs at about
        the same tokens per parameter) is reported here: the fit still runs, but its alpha,
        beta and allocations come from the priors, so :func:`bayescale.fit` marks it failed.

    Raises
    ------
    ValueError
        Fewer than 3 distinct N or D values (possible only for a :class:`ScalingData` built
        directly or subset, which skip validation): the exponent cannot be identified at all.
    """
    for name, arr, exponent in (("N", data.N, "alpha"), ("D", data.D, "beta")):
        n_distinct = len(np.unique(arr))
        if n_distinct < MIN_DISTINCT:
            raise ValueError(
                f"{name} has {n_distinct} distinct value(s) in {data.source}; at least "
                f"{MIN_DISTINCT} are needed to identify the exponent {exponent}: add runs at "
                f"other values of {name}"
            )
    problems = []
    x, y = data.log_N, data.log_D
    corr = float(np.corrcoef(x, y)[0, 1])
    if abs(corr) > COLLINEAR_CORR:
        ratio = np.log(data.D / data.N)
        spread = float(np.exp(ratio.max() - ratio.min()))
        problems.append(
            f"log N and log D are almost collinear (correlation {corr:.4f}; tokens per "
            f"parameter vary only by a factor {spread:.2f} across runs): the data cannot "
            "separate the N term from the D term, so alpha, beta and the compute-optimal "
            "split come from the priors. Add runs that vary N at fixed compute (isoFLOP "
            "sweeps) or D at fixed N."
        )
    return problems
