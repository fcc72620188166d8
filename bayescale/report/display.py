"""How results show themselves: at the prompt (``repr``) and in Jupyter (``_repr_html_``).

A :class:`~bayescale.FitResult`, a :class:`PlanResult` (the
:class:`~bayescale.decisions.planning_tables.RunPlan` that ``FitResult.plan_runs`` returns) and a
:class:`DecisionTable` (what ``FitResult.allocation``, ``bayes_optimal``, ``regret``,
``compute_for_loss`` and ``data_limited`` return) each build one list of the report's blocks
(:func:`~bayescale.report.summaries.fit_overview`,
:func:`~bayescale.report.decision_report.table_section`), and :class:`Shows` renders that
list as text for ``repr`` and as an HTML fragment for Jupyter: the answer first, then the
checks, in the report's words and numbers.

The decisions wing comes before this one and cannot import it, so the records it makes are
wrapped on their way to the user, by :class:`~bayescale.FitResult` (:meth:`PlanResult.of`,
:func:`decision_table`).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pandas as pd

from bayescale.data.units import FLOPS_PER_PF_DAY
from bayescale.decisions.planning_tables import RunPlan
from bayescale.report.blocks import Block, Heading, Paragraph, Section, Table, render
from bayescale.report.decision_report import SECTIONS, plan_json, table_json, table_section
from bayescale.report.decision_text import plan_sentence
from bayescale.report.summaries import allocation_rows, allocation_table, allocation_title

__all__ = [
    "DISPLAY_CSS",
    "TABLE_KINDS",
    "DecisionTable",
    "PlanResult",
    "Shows",
    "decision_table",
    "html_fragment",
]

#: Styles of the displays, scoped to their own ``div`` so the notebook's page is untouched.
DISPLAY_CSS = (
    ".bayescale-display h3 { font-size: 1.05em; margin: 0.7em 0 0.3em; }\n"
    ".bayescale-display .headline { border-left: 3px solid #2a7a3b; padding-left: 0.7em; }\n"
    ".bayescale-display .headline.failed { border-left-color: #a00; }\n"
    ".bayescale-display .warn { color: #a00; font-weight: bold; }\n"
    ".bayescale-display .note { color: #555; font-size: 0.9em; }\n"
)

#: The tables a :class:`DecisionTable` shows, by the FitResult method that makes them.
TABLE_KINDS = ("allocation", *(k for k in SECTIONS if k != "plan"))

_TABLE_FAILED = (
    "WARNING: the fit behind this table FAILED its checks (see its diagnostics); the numbers "
    "are not trustworthy and must not be used for decisions."
)


def html_fragment(blocks: list[Block]) -> str:
    """Blocks as one self-contained HTML ``div`` for a notebook's output cell."""
    return (
        f'<div class="bayescale-display">\n<style>\n{DISPLAY_CSS}</style>\n'
        f"{render(blocks, 'html')}</div>\n"
    )


class Shows:
    """Mixin: ``repr`` and Jupyter's ``_repr_html_`` rendered from one list of blocks.

    A class using it defines :meth:`_display_blocks` (and :meth:`_brief`, the one line a
    ``repr`` falls back on).
    """

    def _display_blocks(self) -> list[Block]:
        raise NotImplementedError

    def _brief(self) -> str:
        return object.__repr__(self)

    def _repr_html_(self) -> str:
        """The display as HTML (Jupyter calls this)."""
        return html_fragment(self._display_blocks())

    def __repr__(self) -> str:
        try:
            return render(self._display_blocks(), "text")
        except Exception as exc:  # a repr must not raise: debuggers, logs and tracebacks call it
            why = " ".join(str(exc).split())
            return f"{self._brief()} (no summary: {type(exc).__name__}: {why})"


# ------------------------------------------------------------------------------ tables
class DecisionTable(Shows, pd.DataFrame):
    """A decision table that shows itself as the report's table: sizes as people say them.

    A :class:`pandas.DataFrame` in every other way: its columns hold the exact values
    (``table.to_string()`` prints them all), and what is computed from it (a slice, a
    copy) is a plain DataFrame. ``attrs["table"]`` names the kind (:data:`TABLE_KINDS`).
    """

    @property
    def _constructor(self) -> Any:
        # derived frames may lack the columns the display reads: plain DataFrames
        return pd.DataFrame

    def _brief(self) -> str:
        return pd.DataFrame.__repr__(self)

    def _display_blocks(self) -> list[Block]:
        kind = self.attrs.get("table")
        if kind == "allocation":
            title, table, note = self._allocation()
        elif kind in TABLE_KINDS:
            ci = float(self.attrs.get("ci", 0.9))
            d = {"ci": ci, "cost_model": None, SECTIONS[kind][0]: table_json(kind, self)}
            if kind == "bayes_optimal":  # the report's PF-days column
                d["budgets"] = [
                    {"pf_days": float(b) / FLOPS_PER_PF_DAY, "accelerator_hours": None}
                    for b in self["budget"]
                ]
            title, table, note = table_section(kind, d)
        else:
            raise ValueError(f"not a decision table: attrs['table'] is {kind!r}")
        # a failed fit says so before any number, as the report does
        failed = self.attrs.get("fit_ok") is False
        blocks: list[Block] = (
            [Paragraph([(_TABLE_FAILED, None, "strong")], "warn")] if failed else []
        )
        blocks += [Heading(title, 3), table]
        blocks += [Paragraph(note, "note")] if note else []
        n_rows, n_cols = self.shape
        what = f"A pandas DataFrame, {n_rows} rows × {n_cols} columns: .to_string() shows "
        return [*blocks, Paragraph(what + "every column's exact values.", "note")]

    def _allocation(self) -> tuple[str, Table, str]:
        """The allocation table of the fit's summary, with how far beyond the data."""
        rows = allocation_rows(self)
        d: dict[str, Any] = {
            "allocations": rows,
            "data": {"flops_per_param_token": self.attrs.get("flops_per_param_token", 6.0)},
            "allocation_covariates": self.attrs.get("covariates", {}),
        }
        far = "data_C_max" in self.attrs
        if far:  # one ratio per row (allocation_table repeats ratios over a pooled fit's groups)
            c_max = float(self.attrs["data_C_max"])
            d["extrapolation"] = {"budgets_over_C_max": [r["budget"] / c_max for r in rows]}
        ci = f"{100 * float(self.attrs.get('ci', 0.9)):g}%"
        title = f"{allocation_title(d)}, median [{ci} {self.attrs.get('ci_kind', 'eti').upper()}]"
        return title, allocation_table(d, far=far), ""


def decision_table(table: pd.DataFrame, kind: str, **attrs: Any) -> DecisionTable:
    """``table`` (no copy of its data) as a :class:`DecisionTable` of ``kind``.

    Parameters
    ----------
    table : pandas.DataFrame
        A table of a FitResult method; its ``attrs`` are kept.
    kind : str
        One of :data:`TABLE_KINDS`.
    **attrs
        Added to ``attrs``: ``fit_ok`` (False puts a warning first), and for an allocation
        ``data_C_max`` (adds how far beyond the data each budget lies),
        ``flops_per_param_token`` and ``covariates``.
    """
    if kind not in TABLE_KINDS:
        raise ValueError(f"kind must be one of {', '.join(TABLE_KINDS)}, got {kind!r}")
    out = DecisionTable(table)
    out.attrs.update({**table.attrs, "table": kind, **attrs})
    return out


# ------------------------------------------------------------------------------ run plans
@dataclasses.dataclass(frozen=True, eq=False, repr=False)
class PlanResult(Shows, RunPlan):
    """A :class:`~bayescale.decisions.planning_tables.RunPlan` that shows itself as the report.

    The same record (its fields and methods); ``repr`` and Jupyter show the runs to train
    next, what they are expected to buy, and the caveats of that promise.
    """

    @classmethod
    def of(cls, plan: RunPlan) -> PlanResult:
        """The same plan as a PlanResult (no copy of its tables)."""
        if isinstance(plan, cls):
            return plan
        return cls(**{f.name: getattr(plan, f.name) for f in dataclasses.fields(RunPlan)})

    def _brief(self) -> str:
        return RunPlan.__repr__(self)

    def _display_blocks(self) -> list[Block]:
        pj = plan_json(self, candidates=False)
        _, table, note = table_section("plan", {"ci": self.ci, "plan": pj})
        answer: list[Block] = [Paragraph(plan_sentence(pj, f"{100 * self.ci:g}%")), table]
        notes = [f"Spend: {self.spend_statement}."] if self.spend_statement else []
        notes += [f"Note: {n}." for n in self.notes]
        return [
            Paragraph([(self._brief(), None, "strong")]),
            Section(answer, "headline failed" if self.degenerate else "headline"),
            Paragraph(note, "note"),
            *(Paragraph(n, "note") for n in notes),
        ]
