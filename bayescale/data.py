"""Training runs in, validated once: :class:`ScalingData`.

Every entry point (CSV, DataFrame, arrays) funnels into :func:`ScalingData.from_dataframe`,
which is the one place where input is checked. Errors are :class:`ValueError` naming the
column, the offending rows and what was expected, so a user can fix the file.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["MIN_DISTINCT", "MIN_RUNS", "ScalingData"]

#: Fewer runs than this cannot constrain five law parameters and a noise scale.
MIN_RUNS = 8
#: An exponent needs at least three distinct values of its variable to be identifiable
#: separately from its coefficient and the asymptote E.
MIN_DISTINCT = 3
_MAX_LISTED = 8


def _fmt_rows(labels: Sequence[Any]) -> str:
    shown = ", ".join(str(x) for x in labels[:_MAX_LISTED])
    more = len(labels) - _MAX_LISTED
    return shown + (f" (and {more} more)" if more > 0 else "")


def _fmt_values(values: Sequence[Any]) -> str:
    return ", ".join(repr(v) if isinstance(v, str) else f"{v:g}" for v in values[:3])


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
    """

    N: np.ndarray
    D: np.ndarray
    loss: np.ndarray
    flops_per_param_token: float = 6.0
    source: str = "arrays"
    rows: np.ndarray = field(default=None)  # type: ignore[assignment]
    extra: Mapping[str, np.ndarray] = field(default_factory=dict)
    group: np.ndarray | None = None

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
            Fewest runs accepted.

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
        try:
            with open(path, encoding="utf-8-sig") as fh:
                header = fh.readline()
        except UnicodeDecodeError:
            raise ValueError(f"cannot read {path!r}: not UTF-8 text") from None
        except OSError as exc:
            raise ValueError(f"cannot read {path!r}: {exc.strerror or exc}") from None
        if not header.strip():
            raise ValueError(f"{path!r} is empty, expected a CSV file with a header row")
        # the delimiter that splits the header most: comma, semicolon or tab exports
        sep = max((",", ";", "\t"), key=header.count)
        try:
            frame = pd.read_csv(
                path, sep=sep, dtype=str, skipinitialspace=True, encoding="utf-8-sig"
            )
        except pd.errors.EmptyDataError:
            raise ValueError(f"{path!r} is empty, expected a CSV file with a header row") from None
        except (pd.errors.ParserError, UnicodeDecodeError, csv.Error) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ValueError(f"cannot parse {path!r} as CSV: {first}") from None
        frame.index = frame.index + 2  # line numbers: the header is line 1
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
            fewer than ``min_runs`` runs; fewer than 3 distinct N or D values.
        """
        if not isinstance(frame, pd.DataFrame):
            raise ValueError(f"expected a pandas DataFrame, got {type(frame).__name__}")
        if not np.isfinite(flops_per_param_token) or flops_per_param_token <= 0:
            raise ValueError(
                f"flops_per_param_token must be a finite number > 0, got {flops_per_param_token}"
            )
        frame = frame.copy()
        frame.columns = [str(c).strip() for c in frame.columns]
        have = set(frame.columns)

        def missing(col: str, flag: str, extra: str = "") -> ValueError:
            cols = ", ".join(repr(c) for c in frame.columns) or "none"
            return ValueError(
                f"column {col!r} not found in {source}{extra}; available columns: {cols} "
                f"(choose another with {flag})"
            )

        if loss_col not in have:
            raise missing(loss_col, "loss_col / --loss-col")
        has_n, has_d, has_c = n_col in have, d_col in have, c_col in have
        if not has_n and not (has_d and has_c):
            raise missing(n_col, "n_col / --n-col", f" (nor both {d_col!r} and {c_col!r})")
        if not has_d and not (has_n and has_c):
            raise missing(d_col, "d_col / --d-col", f" (nor a FLOPs column {c_col!r})")

        if len(frame) < min_runs:
            raise ValueError(
                f"{source} has {len(frame)} runs; at least {min_runs} are needed to fit "
                "E, A, B, alpha, beta and the noise scale"
            )

        def column(col: str) -> np.ndarray:
            raw = frame[col]
            values = pd.to_numeric(raw, errors="coerce")
            blank = raw.isna() | (raw.astype(str).str.strip() == "")
            bad = values.isna() & ~blank
            if bad.any():
                rows = list(frame.index[bad.to_numpy()])
                raise ValueError(
                    f"column {col!r} has non-numeric values in {row_word}s {_fmt_rows(rows)} "
                    f"({_fmt_values(list(raw[bad]))}); expected numbers"
                )
            arr = values.to_numpy(dtype=np.float64)
            if blank.any():
                rows = list(frame.index[blank.to_numpy()])
                raise ValueError(
                    f"column {col!r} is empty in {row_word}s {_fmt_rows(rows)}; "
                    "expected a number in every run"
                )
            nonfinite = ~np.isfinite(arr)
            if nonfinite.any():
                rows = list(frame.index[nonfinite])
                raise ValueError(
                    f"column {col!r} has NaN or infinite values in {row_word}s "
                    f"{_fmt_rows(rows)}; expected finite numbers"
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
        k = float(flops_per_param_token)
        if has_n and has_d:
            N, D = column(n_col), column(d_col)
        elif has_n:
            N = column(n_col)
            D = column(c_col) / (k * N)
        else:
            D = column(d_col)
            N = column(c_col) / (k * D)
        for name, arr, col in (("N", N, n_col), ("D", D, d_col)):
            derived = not (has_n if name == "N" else has_d)
            if not np.all(np.isfinite(arr)) or np.any(arr <= 0):
                rows = list(frame.index[~(np.isfinite(arr) & (arr > 0))])
                raise ValueError(
                    f"{name} derived from {c_col!r} is not a finite positive number in "
                    f"{row_word}s {_fmt_rows(rows)}"
                )
            n_distinct = len(np.unique(arr))
            if n_distinct < MIN_DISTINCT:
                what = f"{name} (from {c_col!r})" if derived else f"column {col!r}"
                exponent = "alpha" if name == "N" else "beta"
                raise ValueError(
                    f"{what} has {n_distinct} distinct value(s); at least {MIN_DISTINCT} are "
                    f"needed to identify the exponent {exponent}"
                )

        extras: dict[str, np.ndarray] = {}
        for name, col in (extra_cols or {}).items():
            if col not in have:
                raise missing(col, "extra_cols")
            extras[name] = column(col)
        group = None
        if group_col is not None:
            if group_col not in have:
                raise missing(group_col, "group_col / --group-col")
            g = frame[group_col]
            if g.isna().any():
                rows = list(frame.index[g.isna().to_numpy()])
                raise ValueError(
                    f"column {group_col!r} is empty in {row_word}s {_fmt_rows(rows)}; "
                    "expected a group label in every run"
                )
            group = g.astype(str).to_numpy()

        return cls(
            N=N,
            D=D,
            loss=loss,
            flops_per_param_token=k,
            source=source,
            rows=np.asarray(frame.index),
            extra=extras,
            group=group,
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
        **extra: Any,
    ) -> ScalingData:
        """Build from array-likes; give ``loss`` and two of ``N``, ``D``, ``C``.

        Parameters
        ----------
        N, D, C : array-like, optional
            Parameters, tokens, training FLOPs (two of the three).
        loss : array-like
            Final loss of each run.
        flops_per_param_token : float, default 6
            k in C = k·N·D.
        group : array-like, optional
            Group label per run.
        min_runs : int, default 8
            Fewest runs accepted.
        **extra : array-like
            Further per-run numeric columns (e.g. ``U_D=...``).

        Returns
        -------
        ScalingData
        """
        cols: dict[str, Any] = {"loss": loss}
        for name, val in (("N", N), ("D", D), ("C", C)):
            if val is not None:
                cols[name] = val
        cols.update(extra)
        if group is not None:
            cols["group"] = group
        lengths = {k: np.size(v) for k, v in cols.items()}
        if len(set(lengths.values())) > 1:
            raise ValueError(f"arrays must have the same length, got {lengths}")
        try:
            frame = pd.DataFrame(
                {k: np.ravel(np.asarray(v, dtype=object)) for k, v in cols.items()}
            )
        except (TypeError, ValueError) as exc:
            raise ValueError(f"cannot read arrays: {exc}") from None
        return cls.from_dataframe(
            frame,
            flops_per_param_token=flops_per_param_token,
            extra_cols={k: k for k in extra},
            group_col="group" if group is not None else None,
            min_runs=min_runs,
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
