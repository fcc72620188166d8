"""Training runs in, validated once: :class:`ScalingData`.

Every entry point (CSV, DataFrame, arrays) funnels into :func:`ScalingData.from_dataframe`, whose
checks (:func:`bayescale.data.validation.validate_frame`) are the one place input is checked.
Errors are :class:`ValueError` naming the column, the offending rows and what was expected, so a
user can fix the file.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from bayescale.data.validation import (
    _OK,
    MIN_DISTINCT,
    MIN_RUNS,
    PLAUSIBLE_D_MAX,
    PLAUSIBLE_N_MAX,
    CheckpointWarning,
    _fmt_values,
    _parse_cells,
    _refuse_rows,
    read_csv_text,
    validate_frame,
)

__all__ = [
    "COLLINEAR_CORR",
    "MIN_DISTINCT",
    "MIN_RUNS",
    "CheckpointWarning",
    "ScalingData",
    "design_problems",
    "read_points",
    "read_points_with",
]


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
            Fewest runs accepted. 8 (and at least 3 distinct N and D) is what a fit needs; runs
            that are only predicted or scored (held-out runs for
            :func:`bayescale.checks.backtest.evaluate`, :meth:`FitResult.log_likelihood`) may be as
            few as one: pass ``min_runs=1``, which also skips the design checks.
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
        return cls.from_dataframe(
            _read_csv_file(path),
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
        return cls(
            **validate_frame(
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
                source=source,
                row_word=row_word,
            )
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


def _read_csv_file(path: str) -> pd.DataFrame:
    """A CSV file's rows by line number (:func:`read_csv_text`); clear errors when unreadable."""
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
    return read_csv_text(text, path)


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
    N, D, _ = read_points_with(source, n_col=n_col, d_col=d_col)
    return N, D


def read_points_with(
    source: str | os.PathLike[str] | pd.DataFrame,
    covariates: Mapping[str, Sequence[str]] | None = None,
    *,
    n_col: str = "N",
    d_col: str = "D",
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """New points with the per-point values of a law's covariates (data-constrained: U_D).

    As :func:`read_points`, and for each covariate the first of its candidate columns that
    the source has: its values, counts > 0 written as numbers or with a suffix (25B).

    Parameters
    ----------
    source : path or pandas.DataFrame
        The points.
    covariates : mapping of str to sequence of str, optional
        Covariate name → the columns that may hold it, in order (``{"U_D": ["U_D",
        "unique_tokens"]}``). A covariate none of whose columns is present is left out.
    n_col, d_col : str
        Column names of N and D.

    Returns
    -------
    N, D : numpy.ndarray
        float64 arrays of the same length.
    values : dict of str to numpy.ndarray
        Per-point values of the covariates found, by name.

    Raises
    ------
    ValueError
        As :func:`read_points`; a covariate cell that is not a number > 0, naming its
        column and the lines (rows of a DataFrame).
    """
    if isinstance(source, pd.DataFrame):
        frame, name, word = source.copy(), "DataFrame", "row"
        frame.columns = [str(c).strip() for c in frame.columns]
    else:
        path = os.fspath(source)
        frame, name, word = _read_csv_file(path), os.path.basename(path), "line"
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
        values = _positive_counts(frame, col, name, word)
        small = values < floor
        _refuse_rows(
            frame,
            small,
            f"column {col!r} of {name} holds {_fmt_values(list(values[small]))} in {word}s",
            f": implausibly few {what} (< {floor:g}); write sizes in full or with a suffix, "
            "e.g. 7B or 7e9",
        )
        out.append(values)
    if not len(out[0]):
        raise ValueError(f"{name} has no rows; give at least one N, D point to predict at")
    found = {}
    for cov, cols in (covariates or {}).items():
        col = next((c for c in cols if c in frame.columns), None)
        if col is not None:
            found[cov] = _positive_counts(frame, col, name, word)
    return out[0], out[1], found


def _positive_counts(frame: pd.DataFrame, col: str, name: str, word: str) -> np.ndarray:
    """A column of counts > 0 (7e9 or 7B), or an error naming the column and the lines."""
    values, classes = _parse_cells(frame[col], col, name, suffixes=True)
    bad = (classes != _OK) | ~np.isfinite(values) | (values <= 0)
    _refuse_rows(
        frame,
        bad,
        f"column {col!r} of {name} is not a count > 0 in {word}s",
        f" ({_fmt_values(list(frame[col][bad]))}); expected numbers such as 7e9 or 7B",
    )
    return values


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
