"""Sampling diagnostics from ArviZ, with the advice a user needs when one fails.

This is the one module that imports ArviZ (lazily: importing bayescale stays fast).
Thresholds follow Vehtari et al. 2021 (rank-normalised R-hat ≤ 1.01, bulk and tail ESS
≥ 400) and Betancourt 2017 (no divergences, E-BFMI ≥ 0.3).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

__all__ = [
    "BFMI_MIN",
    "ESS_MIN",
    "IDENTIFIED_MIN_SD",
    "IDENTIFIED_RATIO",
    "MISFIT_RATIO",
    "RHAT_MAX",
    "Diagnostics",
    "EfficiencyWarning",
    "SamplingError",
    "SamplingWarning",
    "compute_diagnostics",
    "identification_problems",
    "misfit_problems",
    "with_exact_draws",
]

RHAT_MAX = 1.01
ESS_MIN = 400.0
BFMI_MIN = 0.3
#: A parameter whose posterior sd (of its log) exceeds this fraction of the prior's is
#: "not identified by the data": its interval, and everything computed from it, reflect the
#: prior. 0.5 means less than 75% of the prior variance was removed (posterior
#: contraction, Betancourt 2018). Measured: clean synthetic fits give 0.02-0.1; pure noise
#: (sigma 0.5) and collinear designs 0.5-0.9.
IDENTIFIED_RATIO = 0.5
#: ... and only when the posterior is also imprecise in absolute terms: sd of the log above
#: 0.15 (a 90% interval wider than a factor 1.6). An informative prior the data merely
#: confirm is not a failure: in simulation-based calibration with priors of sd 0.1-0.15,
#: posteriors of sd 0.05-0.09 were flagged without this floor.
IDENTIFIED_MIN_SD = 0.15
#: The typical residual should be within this factor of the noise scale the likelihood
#: fitted (median |residual| against its expected value); beyond it, the priors force a
#: noise level the data contradict.
MISFIT_RATIO = 3.0


class SamplingWarning(UserWarning):
    """The sampler's output fails a diagnostic; the numbers may not be trustworthy."""


class EfficiencyWarning(UserWarning):
    """The draws are valid but the sampler was slow (trajectories at the maximum depth)."""


class SamplingError(RuntimeError):
    """Raised instead of :class:`SamplingWarning` when a fit is run with ``strict=True``."""


@dataclass(frozen=True)
class Diagnostics:
    """Convergence diagnostics of a NUTS fit.

    Attributes
    ----------
    r_hat, ess_bulk, ess_tail : dict of str to float
        Per parameter (rank-normalised split R-hat; bulk and tail effective sample size).
    divergences : int
        Divergent transitions after warmup, all chains.
    tree_depth_saturated : int
        Draws whose trajectory hit ``max_tree_depth``.
    bfmi : list of float
        Energy Bayesian fraction of missing information, per chain.
    problems : list of str
        One sentence per failed check, saying what to do. A fit with problems is not ``ok``.
    notes : list of str
        Efficiency findings that do not invalidate the draws (trajectories at the maximum
        tree depth: Stan treats them as a speed concern; R-hat and ESS judge the draws).
    attempts : tuple of dict
        Earlier attempts of an escalated fit (:mod:`bayescale.inference.escalation`), oldest
        first: ``settings`` (those that differ from the final fit's), ``trouble`` (what
        failed), ``why`` (what the next attempt changed) and ``gradients`` (leapfrog steps).
        Empty when the first attempt was kept.
    """

    r_hat: dict[str, float]
    ess_bulk: dict[str, float]
    ess_tail: dict[str, float]
    divergences: int
    tree_depth_saturated: int
    bfmi: list[float]
    mean_steps: float
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    attempts: tuple[dict[str, Any], ...] = ()

    @property
    def ok(self) -> bool:
        """True when every check passed."""
        return not self.problems

    @property
    def r_hat_max(self) -> float:
        """Largest R-hat over the parameters."""
        return max(self.r_hat.values())

    @property
    def ess_bulk_min(self) -> float:
        """Smallest bulk ESS over the parameters."""
        return min(self.ess_bulk.values())

    @property
    def ess_tail_min(self) -> float:
        """Smallest tail ESS over the parameters."""
        return min(self.ess_tail.values())

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (the CLI's ``diagnostics`` block)."""
        return {
            "r_hat_max": float(self.r_hat_max),
            "ess_bulk_min": float(self.ess_bulk_min),
            "ess_tail_min": float(self.ess_tail_min),
            "divergences": int(self.divergences),
            "tree_depth_saturated": int(self.tree_depth_saturated),
            "bfmi_min": float(min(self.bfmi)),
            "mean_leapfrog_steps": float(self.mean_steps),
            "ok": bool(self.ok),
            "problems": list(self.problems),
            "notes": list(self.notes),
            "attempts": [dict(a) for a in self.attempts],
        }

    def report(self, *, strict: bool = False, stacklevel: int = 3) -> None:
        """Warn (or raise :class:`SamplingError` if ``strict``) when any check failed.

        A fit that passed but was slow warns :class:`EfficiencyWarning` with its notes,
        ``strict`` or not: slowness does not invalidate the draws.
        """
        if self.ok:
            if self.notes:
                warnings.warn(" ".join(self.notes), EfficiencyWarning, stacklevel=stacklevel)
            return
        message = "sampling diagnostics failed: " + " ".join(self.problems)
        if strict:
            raise SamplingError(message)
        warnings.warn(message, SamplingWarning, stacklevel=stacklevel)


def preload() -> None:
    """Start importing ArviZ's statistics in the background.

    The import takes about a second; a fit calls this before compiling its sampler, so the
    import overlaps XLA's compile (which releases the GIL) instead of following it.
    """
    import sys
    import threading

    if "arviz_stats" in sys.modules:
        return

    def _import() -> None:
        try:
            import arviz_stats.base  # noqa: F401
        except Exception:
            pass

    threading.Thread(target=_import, name="bayescale-arviz-import", daemon=True).start()


def with_exact_draws(
    diagnostics: Diagnostics,
    draws: Mapping[str, Any],
    stats: Mapping[str, Any],
    *,
    max_tree_depth: int,
    target_accept: float,
) -> Diagnostics:
    """``diagnostics`` with the R-hat and ESS of draws made exactly, not by the sampler.

    The extrapolation model's drift is drawn independently per draw (its posterior given
    the runs is known in closed form), so its chains are i.i.d. by construction: their
    statistics are reported beside the sampled parameters' but are never a problem (a short
    fit's i.i.d. chains can show an R-hat above 1.01 by chance).
    """
    if not draws:
        return diagnostics
    d = compute_diagnostics(
        dict(draws), stats, max_tree_depth=max_tree_depth, target_accept=target_accept
    )
    return replace(
        diagnostics,
        r_hat={**diagnostics.r_hat, **d.r_hat},
        ess_bulk={**diagnostics.ess_bulk, **d.ess_bulk},
        ess_tail={**diagnostics.ess_tail, **d.ess_tail},
    )


def compute_diagnostics(
    samples: Mapping[str, np.ndarray],
    stats: Mapping[str, np.ndarray],
    *,
    max_tree_depth: int,
    target_accept: float,
) -> Diagnostics:
    """Run ArviZ's diagnostics on ``(chain, draw)`` arrays and collect the problems.

    Parameters
    ----------
    samples : mapping
        Parameter draws, each of shape (chains, draws).
    stats : mapping
        Sampler statistics with keys ``diverging``, ``num_steps``, ``energy``.
    max_tree_depth : int
        The NUTS depth limit used.
    target_accept : float
        The target acceptance used (for the advice on divergences).

    Returns
    -------
    Diagnostics
    """
    from arviz_stats.base import array_stats

    chains, draws = next(iter(samples.values())).shape[:2]
    r_hat, ess_bulk, ess_tail = {}, {}, {}
    for name, x in samples.items():
        x = np.asarray(x, dtype=np.float64)
        if chains > 1 and draws > 3:
            r_hat[name] = float(array_stats.rhat(x, chain_axis=0, draw_axis=1))
        else:  # R-hat needs several chains; one chain cannot show non-convergence
            r_hat[name] = float("nan")
        ess_bulk[name] = float(array_stats.ess(x, chain_axis=0, draw_axis=1, method="bulk"))
        ess_tail[name] = float(
            array_stats.ess(x, chain_axis=0, draw_axis=1, method="tail", prob=(0.05, 0.95))
        )
    divergences = int(np.sum(stats["diverging"]))
    saturated = int(np.sum(np.asarray(stats["num_steps"]) >= 2**max_tree_depth - 1))
    bfmi = [
        float(v)
        for v in np.atleast_1d(
            array_stats.bfmi(
                np.asarray(stats["energy"], dtype=np.float64), chain_axis=0, draw_axis=1
            )
        )
    ]
    problems = []
    nonfinite = {
        k: int(np.sum(~np.isfinite(np.asarray(x, dtype=np.float64)))) for k, x in samples.items()
    }
    nonfinite = {k: v for k, v in nonfinite.items() if v}
    if nonfinite:
        listed = ", ".join(f"{k} ({v})" for k, v in nonfinite.items())
        problems.append(
            f"non-finite draws in {listed}: the sampler left the range floating point can "
            "represent; use precision='float64' and check the data's units and the priors."
        )
    bad_rhat = {k: v for k, v in r_hat.items() if not (v <= RHAT_MAX)}
    if chains < 2:
        problems.append("R-hat needs at least 2 chains; run chains=4 to check convergence.")
    elif bad_rhat:
        worst = max(bad_rhat, key=lambda k: np.nan_to_num(bad_rhat[k], nan=np.inf))
        problems.append(
            f"R-hat {bad_rhat[worst]:.3f} for {worst} exceeds {RHAT_MAX} "
            f"({', '.join(sorted(bad_rhat))}): the chains disagree; run longer "
            "(more warmup and draws) or check that the data identify every parameter."
        )
    for label, ess in (("bulk", ess_bulk), ("tail", ess_tail)):
        low = {k: v for k, v in ess.items() if not (v >= ESS_MIN)}
        if low:
            worst = min(low, key=lambda k: np.nan_to_num(low[k], nan=-np.inf))
            problems.append(
                f"{label} ESS {low[worst]:.0f} for {worst} is below {ESS_MIN:.0f}: "
                "intervals are imprecise; increase draws."
            )
    if divergences:
        problems.append(
            f"{divergences} divergent transitions: the sampler could not follow the posterior; "
            f"raise target_accept above {target_accept} (e.g. 0.95) or use tighter priors."
        )
    notes = []
    if saturated:
        # validity is judged by R-hat and ESS above; long trajectories only cost time
        notes.append(
            f"{saturated} of {chains * draws} draws hit max_tree_depth={max_tree_depth} "
            "(efficiency, not validity): the posterior is a long, curved ridge, often E "
            "against an exponent, so each draw took many gradients; data that reach lower "
            "losses, or a tighter prior on E, shorten it."
        )
    low_bfmi = [b for b in bfmi if b < BFMI_MIN]
    if low_bfmi:
        problems.append(
            f"E-BFMI {min(low_bfmi):.2f} below {BFMI_MIN} in {len(low_bfmi)} chain(s): "
            "momentum resampling explores the energy poorly; consider tighter priors."
        )
    steps = np.asarray(stats["num_steps"], dtype=np.float64)
    return Diagnostics(
        r_hat=r_hat,
        ess_bulk=ess_bulk,
        ess_tail=ess_tail,
        divergences=divergences,
        tree_depth_saturated=saturated,
        bfmi=bfmi,
        mean_steps=float(steps.mean()),
        problems=problems,
        notes=notes,
    )


def identification_problems(
    samples: Mapping[str, np.ndarray], prior_log_sd: Mapping[str, float]
) -> list[str]:
    """Parameters whose posterior is nearly as wide as their prior (on the log scale).

    Flagged when the posterior sd of log(parameter) exceeds both ``IDENTIFIED_RATIO`` times
    the prior's and ``IDENTIFIED_MIN_SD``.

    Parameters
    ----------
    samples : mapping
        Posterior draws (any shape) of positive parameters.
    prior_log_sd : mapping
        Standard deviation of log(parameter) under its prior, for the parameters to check.

    Returns
    -------
    list of str
        One sentence naming the parameters, their sd ratio and what to do; empty if none.
    """
    weak = {}
    for name, prior_sd in prior_log_sd.items():
        if name not in samples or not prior_sd > 0:
            continue
        x = np.asarray(samples[name], dtype=np.float64).reshape(-1)
        if not np.all(np.isfinite(x) & (x > 0)):
            continue  # reported as non-finite draws
        sd = float(np.std(np.log(x)))
        ratio = sd / float(prior_sd)
        if ratio > IDENTIFIED_RATIO and sd > IDENTIFIED_MIN_SD:
            weak[name] = ratio
    if not weak:
        return []
    listed = ", ".join(f"{k} ({v:.2f})" for k, v in weak.items())
    return [
        f"the data barely constrain {', '.join(weak)}: posterior sd of the log over prior sd "
        f"{listed} exceeds {IDENTIFIED_RATIO}, so these intervals (and allocations computed "
        "from them) mostly restate the prior. Check the design (a wide range of N and of D, "
        "tokens per parameter varied at fixed compute) and the noise level, or give "
        "informative priors."
    ]


def misfit_problems(ratio: float) -> list[str]:
    """A sentence when residuals are far from the noise scale the likelihood fitted.

    Parameters
    ----------
    ratio : float
        Posterior median of (median |residual|) / (its expected value under the fitted
        likelihood); near 1 when the model fits.
    """
    if not np.isfinite(ratio):
        return ["the residuals of the fit are not finite: check the data's units and the priors."]
    if ratio > MISFIT_RATIO:
        return [
            f"residuals are {ratio:.1f} times larger than the fitted noise scale: the law "
            "cannot fit these data under these priors (a prior on sigma, E, A, B, alpha or "
            "beta that contradicts the data?); check the priors and plot the runs."
        ]
    if ratio < 1.0 / MISFIT_RATIO:
        return [
            f"residuals are {1.0 / ratio:.1f} times smaller than the fitted noise scale: the "
            "prior on sigma forces more noise than the data show, so intervals are too wide; "
            "relax the prior on sigma."
        ]
    return []
