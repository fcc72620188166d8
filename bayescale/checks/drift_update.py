r"""The sweep's own larger runs update its drift beyond the data: a hierarchical model.

The population prior of the drift (:mod:`bayescale.laws.extrapolation`) was calibrated on
public sweeps; a user's sweep may carry further or less far than they did. The fit-time
extrapolation check refits the sweep's smaller runs (the *past*) and predicts its largest
ones (the *future*). Level λ and tilt τ are a property of the sweep (they scale with the
distance beyond whatever edge the data have), so the future runs' joint density,

.. math::

    p(y_{\text{future}} \mid \lambda, \tau) = \mathbb E_{\theta \sim p(\theta \mid
    y_{\text{past}})} \prod_r p(y_r \mid \theta, \lambda, \tau),

is the likelihood of this sweep's λ and τ. Times the population prior — a scale mixture of
normals over the sweep's own scale s — it is their posterior, computed on a grid
(:class:`~bayescale.laws.extrapolation.DriftGrid`): exact up to the grid's resolution and
the Monte Carlo error of the expectation over :data:`LAW_DRAWS` past draws, deterministic,
and with no importance weights that could degenerate. The fit's drift draws are then drawn
from it (:func:`update_drift`), so every interval beyond the data, N_opt and every decision
follow. A sweep whose larger runs beat the law gets a level that says so and a larger
scale; one whose runs land on the law keeps a narrower drift than the population's.

The future runs are scored once, by the population prior (the check's verdict), before
they inform the drift: the check stays an honest held-out test and the update is not
judged on the runs it learned from.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from bayescale.data.scaling_data import ScalingData
from bayescale.inference.likelihoods import log_mean_exp
from bayescale.inference.posterior import Posterior
from bayescale.laws.extrapolation import (
    EXACT_PARAMS,
    GRID_HALF_WIDTH,
    REACH_SCALE,
    DriftGrid,
    drift_grid_draws,
    grid_posterior,
    reach_draws,
    reach_nodes,
)

__all__ = [
    "EDGE_MASS",
    "GRID_WIDENINGS",
    "LAW_DRAWS",
    "DriftUpdate",
    "ReachUpdate",
    "describe_reach",
    "drift_log_likelihood",
    "reach_log_likelihood",
    "update_drift",
    "update_reach",
]

#: Past-fit draws over which the likelihood of each grid point is averaged.
LAW_DRAWS = 128
#: Times the grid may double its width when the posterior reaches its border.
GRID_WIDENINGS = 3
#: Posterior mass on the grid's two outer rings above which the grid widens.
EDGE_MASS = 0.01
#: Draws × grid points × runs evaluated at once (memory of one chunk, in float64 values).
_CHUNK = 4_000_000


def drift_log_likelihood(
    past_fit: Posterior,
    future: ScalingData,
    grid: DriftGrid,
    *,
    n_law: int = LAW_DRAWS,
    weights: np.ndarray | None = None,
) -> np.ndarray:
    """Log p(future runs | level, tilt) at each point of ``grid``.

    Parameters
    ----------
    past_fit : Posterior
        The fit of the past runs with drift beyond them (its law is an extrapolating one;
        its edges are the past runs').
    future : ScalingData
        The runs beyond the past ones.
    grid : DriftGrid
        Where to evaluate.
    n_law : int, default :data:`LAW_DRAWS`
        Past draws, evenly spaced over the chains, that the expectation averages.
    weights : numpy.ndarray, optional
        Weights of the past fit's draws (a PSIS check): the draws are resampled by them.

    Returns
    -------
    numpy.ndarray
        One log-likelihood per grid point, shape ``(grid.level.size,)``.
    """
    n = past_fit.n_draws
    if weights is None:
        idx = np.unique(np.linspace(0, n - 1, min(n, n_law)).astype(int))
    else:  # systematic resampling: deterministic
        u = (np.arange(n_law) + 0.5) / n_law
        idx = np.minimum(np.searchsorted(np.cumsum(weights), u), n - 1)
    law_draws = {
        k: v.reshape(n, *v.shape[2:])[idx]
        for k, v in past_fit.samples.items()
        if k not in EXACT_PARAMS  # the compute check's runs: the sweep's m is not yet known
    }
    s, g = idx.size, grid.level.size
    per = min(g, max(1, _CHUNK // max(1, s * len(future))))
    # every chunk the same size (the last padded with its final point), so the compiled
    # log-likelihood sees one shape per fit, not a second one for the remainder
    n_chunks = -(-g // per)
    pad = np.minimum(np.arange(n_chunks * per), g - 1)
    levels, tilts = grid.level[pad], grid.tilt[pad]
    samples = {k: np.tile(v, (per,) + (1,) * (v.ndim - 1))[None] for k, v in law_draws.items()}
    out = np.empty(n_chunks * per)
    for start in range(0, n_chunks * per, per):
        samples["drift_level"] = np.repeat(levels[start : start + per], s)[None]
        samples["drift_tilt"] = np.repeat(tilts[start : start + per], s)[None]
        part = dataclasses.replace(past_fit, samples=dict(samples), unconstrained=None)
        ll = part.log_likelihood(future).reshape(per, s, len(future)).sum(axis=-1)
        out[start : start + per] = log_mean_exp(ll.T)
    return out[:g]
    return out


@dataclass(frozen=True)
class DriftUpdate:
    """What the sweep's own larger runs did to its drift.

    Attributes
    ----------
    n_future : int
        Runs that informed it.
    level_prior, level_post : tuple of float
        Mean and sd of the level λ beyond the whole data, before and after (the fit's
        draws; :func:`~bayescale.laws.extrapolation.drift_grid_draws`).
    tilt_prior, tilt_post : tuple of float
        Mean and sd of the tilt τ likewise.
    scale_prior, scale_post : float
        Mean of the sweep's own drift scale s before and after (> 1 after: the runs
        missed by more than the population expects; < 1: they extrapolated better).
    edge_mass : float
        Posterior mass on the grid's two outer rings, after the grid widened (up to
        :data:`GRID_WIDENINGS` times) until it was at most :data:`EDGE_MASS`: more would
        mean the grid cut the posterior off.
    """

    n_future: int
    level_prior: tuple[float, float]
    level_post: tuple[float, float]
    tilt_prior: tuple[float, float]
    tilt_post: tuple[float, float]
    scale_prior: float
    scale_post: float
    edge_mass: float

    def to_dict(self) -> dict[str, Any]:
        """Plain values (pairs as lists, as JSON and a saved fit give them back)."""
        return {
            k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()
        }


def describe_update(u: dict[str, Any]) -> str:
    """One sentence on what a :class:`DriftUpdate` (as :meth:`DriftUpdate.to_dict`) did."""
    lp, lq, tp, tq = u["level_prior"], u["level_post"], u["tilt_prior"], u["tilt_post"]
    way = "wider" if u["scale_post"] > u["scale_prior"] else "narrower"
    return (
        f"The {u['n_future']} largest runs updated this sweep's drift beyond all its runs: "
        f"level {lp[0]:.2f} ± {lp[1]:.2f} → {lq[0]:.2f} ± {lq[1]:.2f}, tilt {tp[0]:.2f} ± "
        f"{tp[1]:.2f} → {tq[0]:.2f} ± {tq[1]:.2f}; its drift scale {u['scale_prior']:.2f} → "
        f"{u['scale_post']:.2f}, {way} than the population's."
    )


def _moments(v: np.ndarray) -> tuple[float, float]:
    return float(np.mean(v)), float(np.std(v))


def update_drift(
    result: Posterior,
    past_fit: Posterior,
    future: ScalingData,
    *,
    weights: np.ndarray | None = None,
) -> tuple[dict[str, np.ndarray], DriftUpdate]:
    """Draws of level and tilt from this sweep's posterior, and a summary of the update.

    Parameters
    ----------
    result : Posterior
        The full fit (its ``drift`` setting scales the population prior; > 0).
    past_fit, future, weights
        As :func:`drift_log_likelihood`.

    Returns
    -------
    draws : dict
        ``drift_level`` and ``drift_tilt`` of the fit's (chains, draws) shape, from the
        fit's seed.
    update : DriftUpdate
    """
    for widen in range(GRID_WIDENINGS + 1):
        # a posterior at the grid's border: the runs missed by more than the grid spans
        grid = DriftGrid(result.settings.drift, half_width=GRID_HALF_WIDTH * 2.0**widen)
        log_lik = drift_log_likelihood(past_fit, future, grid, weights=weights)
        post = grid_posterior(grid, log_lik)
        k = len(grid.axes["drift_level"])
        ring = np.ones((k, k), bool)
        ring[2:-2, 2:-2] = False
        if post[ring.ravel()].sum() <= EDGE_MASS:
            break
    shape = result.samples["sigma"].shape[:2]
    draws = drift_grid_draws(grid, log_lik, shape, result.settings.seed)
    before = drift_grid_draws(grid, None, shape, result.settings.seed)
    update = DriftUpdate(
        n_future=len(future),
        level_prior=_moments(before["drift_level"]),
        level_post=_moments(draws["drift_level"]),
        tilt_prior=_moments(before["drift_tilt"]),
        tilt_post=_moments(draws["drift_tilt"]),
        scale_prior=float(grid.scale_weights() @ grid.scale_nodes),
        scale_post=float(grid.scale_weights(log_lik) @ grid.scale_nodes),
        edge_mass=float(post[ring.ravel()].sum()),
    )
    return draws, update


# ---------------------------------------------------------------------- beyond the N range
def reach_log_likelihood(past_fit: Posterior, larger: ScalingData) -> np.ndarray:
    """Log p(larger models | m) at each node of the population prior of the sweep's ``m``.

    ``past_fit`` is the fit of the sweep without its largest models (its edges are its own
    runs'), ``larger`` those models; the joint density of their losses, averaged over the
    past fit's draws, at each :func:`~bayescale.laws.extrapolation.reach_nodes` value of
    :data:`~bayescale.laws.extrapolation.REACH_SCALE` (the drift as the past fit drew it).
    """
    nodes, _ = reach_nodes()
    n = past_fit.n_draws
    out = np.empty(nodes.size)
    for j, m in enumerate(nodes):
        samples = {**past_fit.samples, REACH_SCALE: np.full(past_fit.samples["sigma"].shape, m)}
        part = dataclasses.replace(past_fit, samples=samples, unconstrained=None)
        ll = part.log_likelihood(larger).reshape(n, len(larger)).sum(axis=1)
        out[j] = float(log_mean_exp(ll[:, None])[0])
    return out


@dataclass(frozen=True)
class ReachUpdate:
    """What the sweep's own largest models did to its scatter beyond its N range.

    Attributes
    ----------
    n_larger : int
        Models (runs) held out: the largest 20% by N, predicted from the rest.
    threshold_N : float
        They have N ≥ this.
    coverage : float
        Share of them inside their 90% predictive interval under the population's ``m``
        (the verdict, before they inform ``m``).
    scale_prior, scale_post : float
        Geometric mean of the sweep's ``m`` before (1, the population's median) and after
        (< 1: the law carried to larger models better than on the population's sweeps;
        > 1: worse).
    """

    n_larger: int
    threshold_N: float
    coverage: float
    scale_prior: float
    scale_post: float

    def to_dict(self) -> dict[str, Any]:
        """Plain values, as JSON and a saved fit give them back."""
        return dataclasses.asdict(self)


def describe_reach(u: dict[str, Any]) -> str:
    """One sentence on what a :class:`ReachUpdate` (as :meth:`ReachUpdate.to_dict`) did."""
    way = "wider" if u["scale_post"] > u["scale_prior"] else "narrower"
    return (
        f"Its {u['n_larger']} largest models (N ≥ {u['threshold_N']:.3g}), predicted from "
        f"the smaller ones ({u['coverage']:.0%} inside their 90% intervals), set its scatter "
        f"beyond the N range: scale {u['scale_prior']:.2f} → {u['scale_post']:.2f}, {way} "
        "than the population's."
    )


def update_reach(
    result: Posterior,
    past_fit: Posterior,
    larger: ScalingData,
    threshold: float,
    coverage: float,
) -> tuple[np.ndarray, ReachUpdate]:
    """Draws of the sweep's ``m`` from its posterior given its largest models, and a summary.

    ``coverage`` is the check's verdict on those models, made before they inform ``m``
    (:func:`bayescale.checks.backtest.with_extrapolation_check`).

    Returns
    -------
    draws : numpy.ndarray
        :data:`~bayescale.laws.extrapolation.REACH_SCALE` of the fit's (chains, draws)
        shape, from the fit's seed.
    update : ReachUpdate
    """
    nodes, prior = reach_nodes()
    log_lik = reach_log_likelihood(past_fit, larger)
    post = prior * np.exp(log_lik - np.max(log_lik))
    post = post / post.sum()
    update = ReachUpdate(
        n_larger=len(larger),
        threshold_N=float(threshold),
        coverage=float(coverage),
        scale_prior=float(np.exp(prior @ np.log(nodes))),
        scale_post=float(np.exp(post @ np.log(nodes))),
    )
    shape = result.samples["sigma"].shape[:2]
    return reach_draws(shape, result.settings.seed, post), update
