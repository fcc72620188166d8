"""Posterior draws to numbers: credible intervals and point summaries.

Draws are NumPy arrays whose leading axis runs over posterior draws (chains × draws
flattened); any further axes (budgets, runs) are carried along. Interval choices are
resolved here, once: ``ci`` is the probability mass, ``ci_kind`` "eti" (equal-tailed, the
default: invariant under monotone transforms such as N ↦ log N) or "hdi" (highest density,
via ArviZ).
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["CI_KINDS", "check_ci", "interval", "summarize"]

CI_KINDS = ("eti", "hdi")


def check_ci(ci: float, ci_kind: str = "eti") -> tuple[float, str]:
    """Validate an interval request; returns ``(ci, ci_kind)``.

    Raises
    ------
    ValueError
        ``ci`` outside (0, 1) or unknown ``ci_kind``.
    """
    try:
        ci = float(ci)
    except (TypeError, ValueError):
        raise ValueError(f"ci must be a probability in (0, 1), got {ci!r}") from None
    if not 0.0 < ci < 1.0:
        raise ValueError(f"ci must be a probability in (0, 1), got {ci}")
    if ci_kind not in CI_KINDS:
        raise ValueError(f"unknown ci_kind {ci_kind!r}; choose one of {', '.join(CI_KINDS)}")
    return ci, ci_kind


def interval(
    draws: Any, ci: float = 0.9, ci_kind: str = "eti", axis: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper bounds of the credible interval of ``draws`` along ``axis``.

    Parameters
    ----------
    draws : array
        Posterior draws.
    ci : float, default 0.9
        Probability mass inside the interval.
    ci_kind : {"eti", "hdi"}
        Equal-tailed or highest-density interval.
    axis : int, default 0
        The draws axis.

    Returns
    -------
    lo, hi : numpy.ndarray
        Bounds, shaped like ``draws`` without ``axis``.
    """
    ci, ci_kind = check_ci(ci, ci_kind)
    x = np.moveaxis(np.asarray(draws, dtype=np.float64), axis, -1)
    if ci_kind == "eti":
        lo, hi = np.quantile(x, [(1.0 - ci) / 2.0, (1.0 + ci) / 2.0], axis=-1)
        return lo, hi
    from arviz_stats.base import array_stats

    bounds = np.asarray(array_stats.hdi(x, ci, axis=-1))
    return bounds[..., 0], bounds[..., 1]


def summarize(
    draws: Any, ci: float = 0.9, ci_kind: str = "eti", axis: int = 0
) -> dict[str, np.ndarray]:
    """Median, mean, sd and interval bounds of ``draws`` along ``axis``.

    Returns
    -------
    dict
        ``{"median", "mean", "sd", "lo", "hi"}``, each shaped like ``draws`` without ``axis``.
    """
    x = np.asarray(draws, dtype=np.float64)
    lo, hi = interval(x, ci, ci_kind, axis)
    return {
        "median": np.median(x, axis=axis),
        "mean": np.mean(x, axis=axis),
        "sd": np.std(x, axis=axis, ddof=1) if x.shape[axis] > 1 else np.zeros_like(lo),
        "lo": lo,
        "hi": hi,
    }
