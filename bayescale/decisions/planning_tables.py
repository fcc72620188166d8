"""What run planning reads and returns: candidate runs, the :class:`RunPlan`, its text.

:func:`bayescale.decisions.planning.plan_runs` scores candidate runs (N, D):
:func:`default_candidates` is the grid it uses when none are given, :func:`check_candidates` reads
and checks the ones a user gives (a DataFrame, a mapping or a pair of arrays). Its answer is a
:class:`RunPlan`, with :meth:`RunPlan.to_dict` (the JSON of ``bayescale plan --json``) and
:func:`plan_text` (what the CLI prints). Nothing here loads JAX.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from bayescale.data.units import format_count, format_flops
from bayescale.data.validation import _refuse_rows, positive_1d

__all__ = [
    "EDGE_LEVELS",
    "QUANTITY",
    "RunPlan",
    "check_candidates",
    "default_candidates",
    "edge_levels",
    "interval_bounds",
    "interval_probs",
    "plan_text",
]

#: Quantity whose interval is reported, per criterion.
QUANTITY = {
    "n_opt": "N_opt",
    "loss": "optimal loss",
    "regret": "regret of the Bayes choice",
    "predict": "loss of the target run(s)",
}


# ------------------------------------------------------------------------------ candidates
def default_candidates(
    N_runs: Any, n_sizes: int = 24, n_ratios: int = 16, ratio: tuple[float, float] = (1.0, 400.0)
) -> pd.DataFrame:
    """The default candidate grid: N from the smallest run to 10× the largest, D/N 1–400.

    Both log-spaced (``n_sizes`` × ``n_ratios`` runs). Returns a DataFrame with N and D.
    """
    N_runs = positive_1d(N_runs, "N of the fitted runs", "parameters")
    sizes = np.geomspace(float(N_runs.min()), 10.0 * float(N_runs.max()), n_sizes)
    ratios = np.geomspace(ratio[0], ratio[1], n_ratios)
    N = np.repeat(sizes, n_ratios)
    return pd.DataFrame({"N": N, "D": N * np.tile(ratios, n_sizes)})


def check_candidates(candidates: Any, n_col: str = "N", d_col: str = "D") -> pd.DataFrame:
    """Candidate runs as a DataFrame with float columns N and D (its index kept as labels).

    Parameters
    ----------
    candidates : DataFrame, mapping or (N, D) pair of arrays
        Runs the user can train; a DataFrame needs columns ``n_col`` and ``d_col``.
    n_col, d_col : str
        Column names of N (parameters) and D (tokens).

    Raises
    ------
    ValueError
        A missing column, no rows, or values that are not finite numbers > 0 (naming the
        column and the rows).
    """
    if isinstance(candidates, pd.DataFrame):
        frame = candidates
    elif isinstance(candidates, Mapping):
        frame = pd.DataFrame({k: np.atleast_1d(v) for k, v in candidates.items()})
    elif isinstance(candidates, tuple | list) and len(candidates) == 2:
        frame = pd.DataFrame(
            {n_col: np.atleast_1d(candidates[0]), d_col: np.atleast_1d(candidates[1])}
        )
    else:
        raise ValueError(
            "candidates must be a DataFrame with columns "
            f"{n_col!r} and {d_col!r}, a mapping of them, or a pair of arrays (N, D); "
            f"got {type(candidates).__name__}"
        )
    out = {}
    for col, what in ((n_col, "parameters"), (d_col, "tokens")):
        if col not in frame.columns:
            have = ", ".join(repr(str(c)) for c in frame.columns) or "none"
            raise ValueError(
                f"candidates have no column {col!r} ({what}); columns present: {have}; "
                f"expected columns {n_col!r} and {d_col!r}"
            )
        v = pd.to_numeric(frame[col], errors="coerce").to_numpy(dtype=np.float64)
        bad = ~np.isfinite(v) | (v <= 0)
        _refuse_rows(
            frame,
            bad,
            f"candidate column {col!r} must hold finite {what} > 0; rows",
            f" do not ({', '.join(str(x) for x in list(frame[col][bad])[:3])})",
        )
        out[col] = v
    if not len(frame):
        raise ValueError("candidates have no rows; give at least one (N, D) run to train")
    return pd.DataFrame({"N": out[n_col], "D": out[d_col]}, index=frame.index)


def interval_probs(ci: float) -> tuple[float, float, float]:
    """Probabilities of the lower bound, median and upper bound of a central ``ci`` interval."""
    return ((1.0 - ci) / 2.0, 0.5, (1.0 + ci) / 2.0)


def interval_bounds(lo: float, med: float, hi: float) -> dict[str, float]:
    """A plan's interval as ``{"median", "lo", "hi"}`` of floats."""
    return {"median": float(med), "lo": float(lo), "hi": float(hi)}


#: Most data edges a plan tells apart (:func:`edge_levels`).
EDGE_LEVELS = 32


def edge_levels(
    edge: float | None, log_nd: Any, max_levels: int = EDGE_LEVELS
) -> tuple[np.ndarray, np.ndarray]:
    """The data edges a plan can reach, and the one each candidate run would leave.

    A trained run beyond the data's largest log(N·D) moves that edge to its own, and the
    refit's drift starts there (:mod:`bayescale.laws.extrapolation`). Returns ``(levels,
    index)``: ``levels`` (L,) ascending with ``levels[0] = edge`` (where a run inside the
    data leaves it), ``index`` (J,) each candidate's level. With more than ``max_levels``
    distinct edges the candidates' are rounded down onto an even grid, so a run is never
    credited with more than it moves the edge. ``edge`` None (a law without drift): one
    level.
    """
    log_nd = np.asarray(log_nd, dtype=np.float64)
    if edge is None:
        return np.zeros(1), np.zeros(log_nd.shape, np.int32)
    after = np.maximum(log_nd, edge)
    levels = np.unique(np.concatenate([[edge], after]))
    if levels.size > max_levels:
        levels = np.linspace(edge, float(after.max()), max_levels)
    index = np.searchsorted(levels, after, side="right") - 1
    return levels, np.clip(index, 0, len(levels) - 1).astype(np.int32)


# ------------------------------------------------------------------------------ the plan
@dataclass(frozen=True, eq=False)
class RunPlan:
    """Which runs to train next, and what they are expected to buy at the target budget.

    Attributes
    ----------
    runs : pandas.DataFrame
        The chosen runs in the order chosen: N, D, C (FLOPs), ``share`` (of ``spend``),
        ``score`` (the reduction of the expected criterion it added, in the criterion's
        units: sd of log N_opt, sd of the loss, expected regret in loss, or mean squared
        error of the target runs' predicted log loss), ``candidate``
        (the candidate's index label).
    criterion : str
        ``"n_opt"``, ``"loss"``, ``"regret"`` or ``"predict"``.
    target_budget, spend : float
        FLOPs.
    current, expected_after : dict
        ``{"median", "lo", "hi"}`` of the criterion's quantity (N_opt in parameters, the
        optimal loss, the regret of the Bayes choice, or the target runs' loss, their
        geometric mean for several) now and, averaged over simulated
        outcomes of the chosen runs, after them (``ci`` interval).
    criterion_current, criterion_after : float
        The criterion's value now and expected after the runs.
    regret_current, regret_after, regret_reduction : float
        Expected regret of the Bayes-optimal choice at the target (loss), now, after, and
        the difference (the expected value of the runs' information for that decision).
    ess_median, ess_min : float
        Effective sample size of the reweighted draws over the evaluation scenarios.
    degenerate : bool
        ``ess_median < ESS_MIN``: the reweighting rests on few draws; refit to check.
    method : str
        ``"reweighting"`` or ``"refit"`` (``expected_after`` from refits).
    candidates : pandas.DataFrame
        Every candidate: N, D, C, ``affordable``, ``score`` (its reduction alone, first step).
    spend_statement : str
        How ``spend`` was converted to FLOPs.
    error_current, error_after : float
        The root mean squared error of the predicted (posterior-mean) log loss of the
        target runs, now and expected after the runs: in log loss, so about the relative
        error of the predicted loss. Whatever the criterion, every plan states it.
    target_runs : pandas.DataFrame
        The runs at the target budget that the error (and ``"predict"``) is about: N, D.
    edge_before, edge_after : float or None
        The data's largest compute (FLOPs) now and after the chosen runs: beyond it the
        drift of the law sets in (None for a law without drift).
    """

    runs: pd.DataFrame
    criterion: str
    target_budget: float
    spend: float
    ci: float
    current: dict[str, float]
    expected_after: dict[str, float]
    criterion_current: float
    criterion_after: float
    regret_current: float
    regret_after: float
    regret_reduction: float
    ess_median: float
    ess_min: float
    degenerate: bool
    candidates: pd.DataFrame
    n_draws: int
    n_scenarios: int
    greedy: str
    method: str = "reweighting"
    spend_statement: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)
    error_current: float = float("nan")
    error_after: float = float("nan")
    target_runs: pd.DataFrame | None = None
    edge_before: float | None = None
    edge_after: float | None = None

    @property
    def quantity(self) -> str:
        """What ``current`` and ``expected_after`` are intervals of."""
        return QUANTITY[self.criterion]

    @property
    def spent(self) -> float:
        """FLOPs of the chosen runs (never more than ``spend``)."""
        return float(self.runs["C"].sum())

    def __repr__(self) -> str:
        # one line, not the two DataFrames a dataclass repr would print; the plan in full
        # is plan_text(plan), or the display of FitResult.plan_runs' PlanResult
        return (
            f"{type(self).__name__}({len(self.runs)} runs, {self.spent:.3g} of {self.spend:.3g} "
            f"FLOPs, criterion {self.criterion}, target {self.target_budget:.3g} FLOPs"
            f"{', degenerate' if self.degenerate else ''})"
        )

    def to_dict(self) -> dict[str, Any]:
        """The plan as JSON-ready types: the keys of ``bayescale plan --json``."""
        return {
            "target_budget": float(self.target_budget),
            "spend": float(self.spend),
            "criterion": self.criterion,
            "runs": [
                {"N": float(r.N), "D": float(r.D), "C": float(r.C), "score": float(r.score)}
                for r in self.runs.itertuples()
            ],
            "current": {k: float(v) for k, v in self.current.items()},
            "expected_after": {k: float(v) for k, v in self.expected_after.items()},
            "regret_reduction": float(self.regret_reduction),
            "expected_error": {
                "current": float(self.error_current),
                "after": float(self.error_after),
            },
            "data_edge": {"current": self.edge_before, "after": self.edge_after},
        }


# ------------------------------------------------------------------------------ text
def _target_runs_text(plan: RunPlan) -> str:
    runs = plan.target_runs
    if runs is None or runs.empty:
        return "the target run"
    if len(runs) == 1:
        r = runs.iloc[0]
        return f"the target run ({format_count(r['N'])} parameters, {format_count(r['D'])} tokens)"
    return f"the {len(runs)} target runs"


def _interval_text(d: Mapping[str, float], kind: str) -> str:
    f = format_count if kind == "count" else (lambda v: f"{v:.4g}")
    return f"{f(d['median'])} [{f(d['lo'])}, {f(d['hi'])}]"


def plan_text(plan: RunPlan) -> str:
    """The plan as the CLI prints it: the runs in order, then the promise."""
    pct = f"{100 * plan.ci:g}%"
    kind = "count" if plan.criterion == "n_opt" else "num"
    aim = (
        f"predict the {plan.quantity}"
        if plan.criterion == "predict"
        else f"shrink the {plan.quantity}"
    )
    lines = [
        f"Runs to train next: {len(plan.runs)} run(s), {format_flops(plan.spent)} of "
        f"{format_flops(plan.spend)} spend ({100 * plan.spent / plan.spend:.1f}%), chosen to "
        f"{aim} at {format_flops(plan.target_budget)} (criterion {plan.criterion})",
        "",
    ]
    head = ["#", "N", "D", "C (FLOPs)", "share of spend", "score added"]
    rows = [
        [
            str(i + 1),
            format_count(r.N),
            format_count(r.D),
            f"{r.C:.3e}",
            f"{100 * r.share:.2f}%",
            f"{r.score:.3g}",
        ]
        for i, r in enumerate(plan.runs.itertuples())
    ]
    widths = [max(len(x) for x in col) for col in zip(head, *rows, strict=False)]
    lines.append("  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)))
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    lines += [
        "",
        f"{plan.quantity}, {pct}: now {_interval_text(plan.current, kind)}; expected after "
        f"these runs {_interval_text(plan.expected_after, kind)}",
        f"expected regret of the Bayes choice at the target: {plan.regret_current:.3g} now, "
        f"reduced by {plan.regret_reduction:.3g} (loss)",
    ]
    if np.isfinite(plan.error_current):
        lines.append(
            f"expected error of the predicted loss of {_target_runs_text(plan)}: "
            f"{100 * plan.error_current:.2g}% now, {100 * plan.error_after:.2g}% after "
            "(root mean square, in log loss)"
        )
    if plan.edge_before is not None and plan.edge_after is not None:
        moved = (
            f"moves from {format_flops(plan.edge_before)} to {format_flops(plan.edge_after)}"
            if plan.edge_after > plan.edge_before
            else f"stays at {format_flops(plan.edge_before)}"
        )
        lines.append(
            f"the data's edge (largest compute, where the law's drift sets in) {moved}; the "
            "promise counts the drift the refit will have beyond the new edge"
        )
    lines += [
        f"(importance reweighting of {plan.n_draws} draws over {plan.n_scenarios} fresh "
        f"simulated outcome scenarios, not those that chose the runs; median effective "
        f"sample size {plan.ess_median:.0f}; how the promise held against refits on real "
        "sweeps: benchmarks/PLANNING.md)",
    ]
    lines += [f"note: {n}" for n in plan.notes]
    return "\n".join(lines)
