"""What a fit does when its sampler struggles: retry with other settings, bounded, recorded.

A default fit that misses a sampling check — R-hat, bulk or tail ESS, divergences, E-BFMI —
or spends more than :data:`SATURATION_SHARE` of its draws at the maximum tree depth is run
again by :func:`bayescale.inference.fit.sample` with the settings :func:`next_settings`
chooses, at most :data:`MAX_RETRIES` times, before the fit is reported as failed. Each step
answers one kind of trouble:

- **divergences**: the other metric (dense → diagonal, the fallback; diagonal → dense),
  with a longer warmup and ``target_accept`` 0.95;
- chains of the dense metric that disagree or mix slowly: the **diagonal metric** (a dense
  metric adapted on a curved ridge can mislead every chain alike);
- a ridge under the diagonal metric (trajectories at the maximum depth, or too few
  effective draws for many leapfrog steps): the **dense metric**, which follows correlated
  parameters (the E–exponent ridge) in a few steps;
- chains that disagree (R-hat): a **longer warmup** and more draws;
- too few effective draws only: **more draws**.

The seed stays the user's, so the same data and settings give the same attempts and the
same answer. The fit keeps the settings of the attempt it returns (``result.settings``
reproduce it without retries) and lists the earlier attempts in
:attr:`~bayescale.inference.diagnostics.Diagnostics.attempts`. Only the sampler's checks
trigger a retry. Problems of the data are not chased: a collinear design is not retried, and
draws that show a parameter the data barely constrain, or a misfit, only try the other
metric (``grow=False``): more iterations would not change them
(:func:`bayescale.inference.fit.escalated`).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from bayescale.inference.diagnostics import BFMI_MIN, ESS_MIN, RHAT_MAX, Diagnostics
from bayescale.inference.settings import FitSettings

__all__ = [
    "ESCALATED_SETTINGS",
    "MAX_RETRIES",
    "SATURATION_SHARE",
    "next_settings",
    "sampling_trouble",
]

#: The settings a retry may change.
ESCALATED_SETTINGS = ("warmup", "draws", "dense_mass", "target_accept")
#: Retries after the first attempt, at most.
MAX_RETRIES = 3
#: Share of draws at the maximum tree depth from which a fit is retried (an efficiency
#: problem: the draws are valid, but the next fit of this shape will be slow again).
SATURATION_SHARE = 0.01
#: Warmup and draws are at most this multiple of the user's.
MAX_GROWTH = 4
#: A diagonal fit whose effective draws are low while trajectories are this long is on a
#: ridge: a dense metric is tried before more draws.
LONG_TRAJECTORY = 127


def sampling_trouble(diag: Diagnostics, settings: FitSettings) -> tuple[str, ...]:
    """The kinds of sampling trouble in ``diag``, in the order they are answered.

    ``"divergences"``, ``"r_hat"``, ``"ess"``, ``"bfmi"``, ``"tree_depth"`` (at least
    :data:`SATURATION_SHARE` of the draws at the maximum depth); empty when the sampler did
    its job. R-hat is not judged with one chain (no retry can change that).
    """
    out = []
    if diag.divergences:
        out.append("divergences")
    if settings.chains > 1 and not all(v <= RHAT_MAX for v in diag.r_hat.values()):
        out.append("r_hat")
    ess = [*diag.ess_bulk.values(), *diag.ess_tail.values()]
    if not all(v >= ESS_MIN for v in ess):
        out.append("ess")
    if any(b < BFMI_MIN for b in diag.bfmi):
        out.append("bfmi")
    draws = settings.chains * settings.draws
    if diag.tree_depth_saturated >= SATURATION_SHARE * draws:
        out.append("tree_depth")
    return tuple(out)


def next_settings(
    settings: FitSettings,
    trouble: tuple[str, ...],
    diag: Diagnostics,
    tried: list[FitSettings],
    user: FitSettings,
    *,
    grow: bool = True,
) -> tuple[str, dict[str, Any]] | None:
    """The next attempt's changed settings and why, or None when nothing is left to try.

    Parameters
    ----------
    settings : FitSettings
        The attempt that just ran.
    trouble : tuple of str
        Its :func:`sampling_trouble`.
    diag : Diagnostics
        Its diagnostics (mean trajectory length, ESS).
    tried : list of FitSettings
        Every attempt so far, this one included: a setting is never run twice.
    user : FitSettings
        The settings the user asked for: warmup and draws grow at most :data:`MAX_GROWTH`
        times theirs.
    grow : bool, default True
        False keeps warmup and draws as they are (only the metric and ``target_accept``
        change): for data whose problems more iterations cannot fix.
    """
    if not trouble:
        return None
    cap_w, cap_d = MAX_GROWTH * user.warmup, MAX_GROWTH * user.draws
    longer = {"warmup": min(2 * settings.warmup, cap_w)}
    more = {"draws": min(2 * settings.draws, cap_d)}
    ridge = "tree_depth" in trouble or (
        "ess" in trouble and diag.mean_steps >= LONG_TRAJECTORY and not settings.dense_mass
    )
    steps: list[tuple[str, dict[str, Any]]] = []
    if "divergences" in trouble or "bfmi" in trouble:
        steps.append(
            (
                "divergences: the other metric, a longer warmup and target_accept 0.95",
                {
                    "dense_mass": not settings.dense_mass,
                    "target_accept": max(0.95, settings.target_accept),
                    **longer,
                },
            )
        )
        steps.append(
            (
                "divergences: a longer warmup and target_accept 0.95",
                {"target_accept": max(0.95, settings.target_accept), **longer},
            )
        )
    if settings.dense_mass and ({"r_hat", "ess"} & set(trouble)):
        # a dense metric adapted on a curved ridge can mislead every chain the same way
        steps.append(("the dense metric mixed poorly: the diagonal one", {"dense_mass": False}))
    if ridge and not settings.dense_mass:
        steps.append(("a ridge: a dense metric", {"dense_mass": True}))
    if "r_hat" in trouble:
        steps.append(("chains disagree: a longer warmup and more draws", {**longer, **more}))
    if "ess" in trouble or "r_hat" in trouble:
        lowest = min([*diag.ess_bulk.values(), *diag.ess_tail.values()])
        factor = 2 if not lowest > 0 else min(4, math.ceil(1.2 * ESS_MIN / lowest))
        draws = min(max(factor, 2) * settings.draws, cap_d)
        steps.append(("too few effective draws: more draws", {"draws": draws}))
    if "tree_depth" in trouble and settings.dense_mass:
        steps.append(("a ridge: a longer warmup for the dense metric", longer))
    if not grow:
        steps = [
            (why, kept)
            for why, change in steps
            if (kept := {k: v for k, v in change.items() if k not in ("warmup", "draws")})
        ]
    seen = {_key(s) for s in tried}
    for why, change in steps:
        candidate = dataclasses.replace(settings, **change)
        if _key(candidate) not in seen:
            return why, change
    return None


def _key(settings: FitSettings) -> tuple[Any, ...]:
    return tuple(getattr(settings, k) for k in ESCALATED_SETTINGS)
