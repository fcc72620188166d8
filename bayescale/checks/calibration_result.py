"""The record of a simulation-based calibration run: ranks, coverage and their reports.

:func:`bayescale.checks.calibration.calibration` returns a :class:`CalibrationResult`: the rank of
each simulation's truth among thinned posterior draws, and whether each central interval held it.
From these it computes the coverage of each level against its binomial band
(:func:`binomial_band`), a chi-square test of rank uniformity, a count of the fits' own problems, a
Markdown report and rank histograms (matplotlib, imported lazily), and stores itself as JSON.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["PROBLEM_KINDS", "CalibrationResult", "binomial_band"]

#: The problems a fit can report, by the words that identify them (for the summary).
PROBLEM_KINDS = {
    "divergent": "divergences",
    "R-hat": "R-hat > 1.01",
    "ESS": "ESS < 400",
    "max_tree_depth": "tree depth saturated",
    "E-BFMI": "low E-BFMI",
    "barely constrain": "not identified by the data",
    "residuals": "residual misfit",
    "collinear": "collinear design",
    "non-finite": "non-finite draws",
}


def binomial_band(n: int, p: float, prob: float = 0.99) -> tuple[float, float]:
    """Central ``prob`` range of the fraction of ``n`` Bernoulli(``p``) trials that succeed.

    Coverage of a calibrated p-interval over n independent simulations lies in this band
    with probability at least ``prob``.
    """
    from scipy.stats import binom

    if n <= 0:
        return (0.0, 1.0)
    lo = binom.ppf((1.0 - prob) / 2.0, n, p)
    hi = binom.ppf((1.0 + prob) / 2.0, n, p)
    return float(lo) / n, float(hi) / n


@dataclass(frozen=True)
class CalibrationResult:
    """Ranks and coverage of one calibration run.

    Attributes
    ----------
    quantities : tuple of str
        What was calibrated: E, A, B, alpha, beta, (sigma), then N_opt, D_opt and loss at
        each budget (``"N_opt@100x"``: 100 times the largest simulated run's compute).
    truth : numpy.ndarray, shape (n_sims, Q)
        The true value of each quantity in each simulation.
    ranks : numpy.ndarray of int, shape (n_sims, Q)
        Rank of the truth among ``n_ranks`` thinned draws (0…n_ranks; uniform if calibrated).
    n_ranks : int
        Number of thinned draws L.
    covered : dict of float to numpy.ndarray of bool, shape (n_sims, Q)
        Whether the central equal-tailed interval of each level held the truth.
    ok : numpy.ndarray of bool, shape (n_sims,)
        Whether each fit passed its own checks.
    problems : list of tuple of str
        The failed checks of each fit.
    info : dict
        How the run was made: generator, method, settings, design, budgets, timing.
    """

    quantities: tuple[str, ...]
    truth: np.ndarray
    ranks: np.ndarray
    n_ranks: int
    covered: dict[float, np.ndarray]
    ok: np.ndarray
    problems: list[tuple[str, ...]] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def n_sims(self) -> int:
        """Number of simulated data sets."""
        return int(self.truth.shape[0])

    def coverage_table(self, band: float = 0.99, *, only_ok: bool = False) -> pd.DataFrame:
        """Coverage of each interval level for each quantity, with its binomial band.

        Parameters
        ----------
        band : float, default 0.99
            Probability of the binomial band around each nominal level.
        only_ok : bool, default False
            Restrict to fits that passed their checks (conditioning on the data, so *not*
            guaranteed by SBC; shown to see whether failed fits carry the miscoverage).

        Returns
        -------
        pandas.DataFrame
            Index: quantities. For each level p: ``cov_p`` (observed coverage) and
            ``in_band_p`` (within the band); attrs ``bands`` {p: (lo, hi)} and ``n``.
        """
        keep = self.ok if only_ok else np.ones(self.n_sims, dtype=bool)
        n = int(keep.sum())
        cols: dict[str, Any] = {}
        bands = {}
        for level, cov in sorted(self.covered.items()):
            lo, hi = binomial_band(n, level, band)
            bands[level] = (lo, hi)
            frac = cov[keep].mean(axis=0) if n else np.full(len(self.quantities), np.nan)
            cols[f"cov_{level:g}"] = frac
            cols[f"in_band_{level:g}"] = (frac >= lo) & (frac <= hi)
        table = pd.DataFrame(cols, index=list(self.quantities))
        table.attrs.update(bands=bands, n=n, band=band)
        return table

    def rank_uniformity(self, bins: int = 20) -> pd.Series:
        """Chi-square p-value of the rank histogram of each quantity against uniform."""
        from scipy.stats import chisquare

        edges = np.linspace(-0.5, self.n_ranks + 0.5, bins + 1)
        out = {}
        for j, name in enumerate(self.quantities):
            counts, _ = np.histogram(self.ranks[:, j], bins=edges)
            out[name] = float(chisquare(counts).pvalue)
        return pd.Series(out, name="rank_chi2_p")

    def passed(self, band: float = 0.99) -> bool:
        """True when every coverage lies within its binomial band."""
        table = self.coverage_table(band)
        return bool(table[[c for c in table if c.startswith("in_band")]].to_numpy().all())

    def problem_counts(self) -> dict[str, int]:
        """How many fits reported each kind of problem."""
        counts = dict.fromkeys(PROBLEM_KINDS.values(), 0)
        for probs in self.problems:
            seen = {label for key, label in PROBLEM_KINDS.items() if any(key in p for p in probs)}
            for label in seen:
                counts[label] += 1
        return {k: v for k, v in counts.items() if v}

    # ------------------------------------------------------------------ export
    def to_dict(self) -> dict[str, Any]:
        """JSON-ready record (raw ranks and coverage, so tables can be recomputed)."""
        return {
            "quantities": list(self.quantities),
            "truth": self.truth.tolist(),
            "ranks": self.ranks.tolist(),
            "n_ranks": self.n_ranks,
            "covered": {f"{k:g}": v.astype(int).tolist() for k, v in self.covered.items()},
            "ok": self.ok.astype(int).tolist(),
            "problems": [list(p) for p in self.problems],
            "info": self.info,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> CalibrationResult:
        """Inverse of :meth:`to_dict`."""
        return cls(
            quantities=tuple(d["quantities"]),
            truth=np.asarray(d["truth"], dtype=np.float64),
            ranks=np.asarray(d["ranks"], dtype=np.int64),
            n_ranks=int(d["n_ranks"]),
            covered={float(k): np.asarray(v, dtype=bool) for k, v in d["covered"].items()},
            ok=np.asarray(d["ok"], dtype=bool),
            problems=[tuple(p) for p in d.get("problems", [])],
            info=dict(d.get("info", {})),
        )

    @classmethod
    def pooled(cls, results: Sequence[CalibrationResult]) -> CalibrationResult:
        """One result from several runs of the same quantities (e.g. replicates by seed)."""
        first = results[0]
        if any(r.quantities != first.quantities or r.n_ranks != first.n_ranks for r in results):
            raise ValueError("only runs with the same quantities and n_ranks can be pooled")
        info = dict(first.info)
        info["wall_s"] = sum(r.info.get("wall_s", 0.0) for r in results)
        info["seed"] = [r.info.get("seed") for r in results]
        return cls(
            quantities=first.quantities,
            truth=np.concatenate([r.truth for r in results]),
            ranks=np.concatenate([r.ranks for r in results]),
            n_ranks=first.n_ranks,
            covered={p: np.concatenate([r.covered[p] for r in results]) for p in first.covered},
            ok=np.concatenate([r.ok for r in results]),
            problems=[p for r in results for p in r.problems],
            info=info,
        )

    def save(self, path: str) -> None:
        """Write :meth:`to_dict` as JSON."""
        with open(path, "w", encoding="utf-8") as fh:
            json.dump(self.to_dict(), fh)

    @classmethod
    def load(cls, path: str) -> CalibrationResult:
        """Read a result written by :meth:`save`."""
        with open(path, encoding="utf-8") as fh:
            return cls.from_dict(json.load(fh))

    def to_markdown(self, title: str = "Calibration", band: float = 0.99) -> str:
        """A Markdown report: settings, coverage table with bands, rank tests, fit checks."""
        info = self.info
        table = self.coverage_table(band)
        ok_table = self.coverage_table(band, only_ok=True)
        unif = self.rank_uniformity()
        levels = sorted(self.covered)
        lines = [f"### {title}", ""]
        lines += [
            f"- generator: {info.get('generator', '?')}; method: {info.get('method', '?')}",
            f"- {self.n_sims} simulated data sets of {info.get('n_runs', '?')} runs "
            f"(design: {info.get('design', '?')}); budgets "
            + ", ".join(f"{b:.3g}" for b in info.get("budgets", []))
            + " FLOPs ("
            + ", ".join(f"{f:g}×" for f in info.get("budget_factors", []))
            + " the largest run)",
            f"- fit settings: {info.get('settings', {})}",
            f"- ranks among L = {self.n_ranks} thinned draws; intervals equal-tailed from all "
            f"draws; bands: binomial {100 * band:g}% for n = {self.n_sims}: "
            + ", ".join(
                f"{100 * p:g}% → [{table.attrs['bands'][p][0]:.3f}, "
                f"{table.attrs['bands'][p][1]:.3f}]"
                for p in levels
            ),
            f"- wall time {info.get('wall_s', float('nan')):.0f} s "
            f"({info.get('wall_s', float('nan')) / max(self.n_sims, 1):.2f} s per data set"
            f"{', ' + info['note'] if info.get('note') else ''})",
            f"- fits passing every check: {int(self.ok.sum())} of {self.n_sims}"
            + (
                " (" + ", ".join(f"{k}: {v}" for k, v in self.problem_counts().items()) + ")"
                if self.problem_counts()
                else ""
            ),
            "",
        ]
        header = ["quantity"]
        for p in levels:
            header += [f"{100 * p:g}% coverage", "in band"]
        header += ["rank χ² p"]
        for p in levels:
            header += [f"{100 * p:g}% (ok fits only)"]
        lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for q in self.quantities:
            row = [f"`{q}`"]
            for p in levels:
                row += [f"{table.loc[q, f'cov_{p:g}']:.3f}"]
                row += ["yes" if table.loc[q, f"in_band_{p:g}"] else "**NO**"]
            row += [f"{unif[q]:.3f}"]
            for p in levels:
                row += [f"{ok_table.loc[q, f'cov_{p:g}']:.3f}"]
            lines.append("| " + " | ".join(row) + " |")
        verdict = (
            "every coverage lies in its band"
            if self.passed(band)
            else (
                "coverage OUTSIDE its band for: "
                + ", ".join(
                    f"{q} ({100 * p:g}%)"
                    for p in levels
                    for q in self.quantities
                    if not table.loc[q, f"in_band_{p:g}"]
                )
            )
        )
        lines += ["", f"Verdict: {verdict}.", ""]
        return "\n".join(lines)

    def plot(self, path: str | None = None, *, bins: int = 20, band: float = 0.99) -> Any:
        """Rank histograms with their binomial band, and coverage against nominal.

        Returns the matplotlib Figure (saved to ``path`` if given; Agg backend, no display).
        """
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt
        from scipy.stats import binom

        q = len(self.quantities)
        ncol = 6
        nrow = math.ceil((q + 1) / ncol)
        fig, axes = plt.subplots(nrow, ncol, figsize=(2.6 * ncol, 2.2 * nrow), squeeze=False)
        edges = np.linspace(-0.5, self.n_ranks + 0.5, bins + 1)
        n = self.n_sims
        lo = binom.ppf((1 - band) / 2, n, 1 / bins)
        hi = binom.ppf((1 + band) / 2, n, 1 / bins)
        for j, name in enumerate(self.quantities):
            ax = axes.flat[j]
            ax.axhspan(lo, hi, color="0.85", zorder=0)
            ax.axhline(n / bins, color="0.5", lw=0.8)
            ax.hist(self.ranks[:, j], bins=edges, color="C0", zorder=1)
            ax.set_title(name, fontsize=9)
            ax.set_yticks([])
            ax.set_xticks([])
        ax = axes.flat[q]
        table = self.coverage_table(band)
        for i, p in enumerate(sorted(self.covered)):
            cov = table[f"cov_{p:g}"].to_numpy()
            b_lo, b_hi = table.attrs["bands"][p]
            ax.axhspan(b_lo, b_hi, color=f"C{i + 1}", alpha=0.2)
            ax.plot(np.arange(q), cov, "o", color=f"C{i + 1}", ms=3, label=f"{100 * p:g}%")
        ax.set_ylim(0, 1)
        ax.set_xticks([])
        ax.set_title("coverage (band: binomial 99%)", fontsize=9)
        ax.legend(fontsize=7, loc="lower left")
        for ax in axes.flat[q + 1 :]:
            ax.axis("off")
        generator = str(self.info.get("generator", "")).split(" (")[0]
        fig.suptitle(
            f"SBC rank histograms, {n} data sets (truths: {generator}; "
            f"{self.info.get('method', '')}); grey: 99% band for a uniform histogram",
            fontsize=10,
        )
        fig.tight_layout()
        if path is not None:
            fig.savefig(path, dpi=110)
        return fig
