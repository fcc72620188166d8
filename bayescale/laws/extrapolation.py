r"""Extrapolation uncertainty: the law's effective scale may drift beyond the fitted runs.

A law fitted on small runs is used far beyond them, where nothing pins it down: the law's
form, not its noise, is what is uncertain out there. :func:`extrapolating` turns any law
into the model bayescale ships:

.. math::

    L^{\text{ext}}(N, D) = L\bigl(N e^{\delta_N g},\, D e^{\delta_D g}\bigr), \qquad
    g = u^{p}, \quad u = \max\bigl(0,\ \log ND - \max_i \log N_i D_i\bigr),

    \delta_N = (\lambda - \tau)/2, \quad \delta_D = (\lambda + \tau)/2.

**Level and tilt.** Beyond the largest fitted compute (``u`` nats of it) a run of N
parameters trained on D tokens behaves like one of :math:`N e^{\delta_N g}` and
:math:`D e^{\delta_D g}` under the fitted law. The *level* λ moves both together, which
changes the loss at the optimum; the *tilt* τ trades N against D, which moves the optimum.
The shift grows as ``u`` to the power :data:`GROWTH` (1: linearly in log compute, with a
finite slope at the edge). Every fitted run has ``u = 0``, so the fit, LOO and every
in-range prediction are the law's own; ``u`` is constant along an isoFLOP line, so a
closed-form optimum stays closed-form and a numerical one stays the one solver of
:mod:`bayescale.laws.optimum`: N_opt, D_opt, tokens per parameter, loss and every decision
widen with the same uncertainty. Extra covariates (the data-constrained law's ``U_D``)
pass through unchanged.

**Distance in (N, D): new runs scatter more.** A *new run* beyond the data also scatters
more about the law, beyond the largest compute and beyond the fitted runs' range of N or D
(a larger model at in-range compute is beyond the data too):

.. math::

    \sigma^{\text{ext}} = \sqrt{\sigma^2\bigl(1 + k^2\,(1 - e^{-u/u_0}) + r^2 v\bigr)
    + f^2 \max(0,\ v - u)}, \qquad
    v = \max\bigl(0,\ \log N - \max_i \log N_i,\ \log D - \max_i \log D_i\bigr),

with ``k`` = drift × :data:`MISFIT`, ``u_0`` = :data:`ONSET`, ``r`` = drift ×
:data:`REACH` and ``f`` = drift × :data:`FORM`; the part of ``v`` beyond ``u``,
``w = max(0, v − u)``, is scaled by the sweep's own ``m`` (below): ``r² v`` is
``r² (min(v, u) + m² w)`` and ``f² w`` is ``(f m)² w``. The ``r`` term scales with the runs' own
noise; ``f``, in log loss, does not: the law's form is no more right beyond the fitted N
range for a sweep whose runs are very clean (``σ`` of 0.003 on some public sweeps), and a
noisy sweep does not need it multiplied. ``f`` acts only where a run is further beyond the
N or D range than beyond the compute (a larger model at in-range compute above all): the
drift, which grows with compute, already widens the rest, and a form error there too cost
interval score 10–30× out (``benchmarks/EXTRAPOLATION-form.md``). It is
:attr:`Law.noise_scale`: it widens the
posterior predictive of runs
(``predict(..., kind="new_run")``, backtests, the check, the planner's simulated outcomes)
and their log predictive density, not the law's mean loss, so N_opt and the decisions are
the drift's alone.

**A hierarchical prior, updated by the sweep's own runs.** Across sweeps, level and tilt
are a scale mixture of normals (:func:`drift_values`): a sweep has its own drift scale s,
``log s ~ Normal(0, SPREAD)``, and ``λ ~ Normal(μ_λ, (s s_λ)²)``, ``τ ~ Normal(0, (s s_τ)²)``
(:data:`MEANS`, :data:`SCALES`, :data:`SPREAD`: the population). The runs inside the data
cannot inform λ and τ, but the sweep's own larger runs can: the fit's extrapolation check
refits the smaller runs and scores the larger ones, and their joint density on a grid over
(λ, τ) (:class:`DriftGrid`, :mod:`bayescale.checks.drift_update`) turns the population
prior into this sweep's posterior of its scale and of its drift so far; beyond all its runs
the drift keeps :data:`MEMORY` of that drift's direction and draws the rest afresh at the
sweep's own scale (:func:`drift_grid_draws`). A sweep whose larger runs miss gets a larger
scale and a drift that leans their way; one that extrapolates well a narrower one.

**The sweep's own scatter beyond its N range.** How far a law carries to larger models at
the same compute differs between sweeps as much as its drift does: on clean sweeps the
fitted law predicts models 2× larger within their noise, on others it misses by 3%. Each
sweep has its own multiplier ``m`` (:data:`REACH_SCALE`) of the scatter beyond the N or D
range that compute does not account for (``w``), ``log m ~ Normal(0, REACH_SPREAD)`` across
sweeps; the fit's check refits the sweep without its largest models and their joint
density on the quadrature nodes of that prior gives this sweep's posterior of ``m``
(:func:`bayescale.checks.drift_update.update_reach`). Without that check ``m`` is drawn
from the population prior.

**Calibrated across distances and sources.** The eight constants were chosen on 52
multi-step hold-outs of 13 public sweeps from 8 sources (top 1–3 budgets of isoFLOP sweeps,
largest 10/20/40% of compute of the others, largest 20% of models), by the held-out runs'
mean log predictive density, and validated leaving each source out
(``benchmarks/EXTRAPOLATION.md``, ``make extrapolation``): a narrow population (s_λ 0.17,
s_τ 0.3) leaning towards lower loss (μ_λ 0.4, the largest value searched), growing as
u^0.75, no extra scatter beyond the compute (k = 0) but more beyond the N or D range
(r = 2), and a sweep scale spread of 0.25 (the score alone would take it to 0, one normal
for every sweep; it is kept above 0 so that a sweep's own runs can widen or narrow it). The
ninth, the form error f, was chosen the same way with those eight held: 0.01 with every
sweep at m = 1, 0.015 once each sweep's largest models set its own m (the reach r searched
with it stayed at 2); the spread of log m across sweeps (1) was chosen on the same hold-outs,
in sample (``benchmarks/EXTRAPOLATION-own-reach.md``).

The wrapper is a :class:`~bayescale.laws.Law` (one per base law and settings, cached so
that compiled functions keyed on it are reused); its extra parameters are ``drift_level``,
``drift_tilt`` and the data's edges :data:`EDGES` (constants that ``Posterior.theta``
computes from the fitted runs).
"""

from __future__ import annotations

import math
from typing import Any

import jax.numpy as jnp
import numpy as np
import numpyro.distributions as dist

from bayescale.laws.base import Law

__all__ = [
    "DRIFT_PARAMS",
    "EDGE",
    "EDGES",
    "EXACT_PARAMS",
    "FORM",
    "GRID_HALF_WIDTH",
    "GRID_POINTS",
    "GROWTH",
    "MEANS",
    "MEMORY",
    "MISFIT",
    "ONSET",
    "REACH",
    "REACH_SCALE",
    "REACH_SPREAD",
    "SCALES",
    "SPREAD",
    "DriftGrid",
    "base_law",
    "beyond",
    "data_edges",
    "distance",
    "drift_draws",
    "drift_grid_draws",
    "drift_values",
    "extrapolating",
    "grid_posterior",
    "hull_excess",
    "is_extrapolating",
    "reach_draws",
    "reach_nodes",
    "shifts",
]

Array = Any

#: The drift parameters: level λ and tilt τ of the shift of log N and log D per unit of
#: the distance's growth g(u) beyond the data.
DRIFT_PARAMS = ("drift_level", "drift_tilt")
#: Population sd of level and tilt at ``drift=1`` (for a sweep of typical drift scale).
SCALES = {"drift_level": 0.17, "drift_tilt": 0.3}
#: Population means of level and tilt at ``drift=1``: the law fitted on a sweep's smaller
#: runs over-predicted its larger runs' loss on most public sweeps.
MEANS = {"drift_level": 0.4, "drift_tilt": 0.0}
#: The sd of the log of a sweep's own drift scale: sweeps differ in how far their law
#: carries, so level and tilt are a scale mixture of normals across sweeps.
SPREAD = 0.25
#: The extra scatter of new runs beyond the data, in units of the fitted sigma, at
#: ``drift=1``.
MISFIT = 0.0
#: Nats of distance beyond the data over which the extra scatter sets in (1 − e^{−u/u0}).
ONSET = 0.05
#: Growth of the shift with the distance u beyond the data: g = u ** GROWTH.
GROWTH = 0.75
#: Extra scatter of a new run beyond the fitted runs' range of N or D, in units of the
#: fitted sigma per √nat of that excess, at ``drift=1``: a larger model at in-range
#: compute is beyond the data too.
REACH = 2.0
#: The sd of the law's own form error, in log loss, per √nat by which a new run's excess
#: beyond the fitted runs' range of N or D outruns its excess in compute, at ``drift=1``: it
#: adds to the reach's scatter (which scales with the runs' sigma), so that a sweep of very
#: clean runs is not taken to extrapolate its law exactly. Scaled by the sweep's own
#: :data:`REACH_SCALE`. Chosen with the other constants but the reach held, leaving each
#: source out: 0.015 from every source but one (0.01 without Llama 3)
#: (``benchmarks/EXTRAPOLATION.md``, ``benchmarks/EXTRAPOLATION-form.md``).
FORM = 0.015
#: A sweep's own multiplier ``m`` of the scatter beyond the fitted N or D range that its
#: compute excess does not account for (``w``): a per-draw parameter, drawn, not sampled.
REACH_SCALE = "reach_scale"
#: The sd of ``log m`` across sweeps (the population prior of :data:`REACH_SCALE`), chosen
#: on the 13 public sweeps' hold-outs (``benchmarks/EXTRAPOLATION-own-reach.md``).
REACH_SPREAD = 1.0
#: Parameters of the extrapolation model drawn exactly (their posterior given the runs is
#: known), not sampled with the law's.
EXACT_PARAMS = ("drift_level", "drift_tilt", REACH_SCALE)
#: The data's largest log(N·D): where extrapolation in compute starts.
EDGE = "log_ND_edge"
#: The data's edges: largest log(N·D), log N and log D (constants of a fit, not sampled).
EDGES = (EDGE, "log_N_edge", "log_D_edge")
#: How much of the drift the sweep's own larger runs showed continues beyond the whole data
#: (:func:`drift_grid_draws`): 1 its direction persists, 0 only its scale does.
MEMORY = 0.8
#: Points per axis of the grid on which a sweep's own errors update its level and tilt.
GRID_POINTS = 49
#: Half-width of that grid in units of the population sd at the largest drift scale.
GRID_HALF_WIDTH = 4.0

_WRAPPED: dict[tuple[Law, float, float, float, float, float], Law] = {}
_BASE: dict[Law, Law] = {}


def data_edges(log_N: Array, log_D: Array) -> dict[str, float]:
    """The edges of a data set: its largest log N + log D, log N and log D."""
    log_n, log_d = np.asarray(log_N, dtype=np.float64), np.asarray(log_D, dtype=np.float64)
    return {
        EDGE: float(np.max(log_n + log_d)),
        "log_N_edge": float(np.max(log_n)),
        "log_D_edge": float(np.max(log_d)),
    }


def distance(theta: Any, log_n: Array, log_d: Array) -> Array:
    """Nats of compute beyond the fitted runs, ``max(0, log(N·D) − edge_ND)``, elementwise."""
    return jnp.maximum(log_n + log_d - theta[EDGE], 0.0)


def hull_excess(theta: Any, log_n: Array, log_d: Array) -> Array:
    """Nats beyond the fitted runs' range of N or of D, whichever is larger, elementwise.

    ``max(0, log N − edge_N, log D − edge_D)``: positive for a larger model (or a longer
    run) than any fitted one, at any compute; 0 for every fitted run.
    """
    v = jnp.maximum(log_n - theta["log_N_edge"], log_d - theta["log_D_edge"])
    return jnp.maximum(v, 0.0)


def beyond(u: Array, growth: float = GROWTH) -> Array:
    """The drift's growth ``g = u ** growth`` at distance ``u`` ≥ 0, elementwise.

    Its derivative is taken as 0 at and inside the edge (``√u`` has none at 0), so
    gradients through an in-range point stay finite.
    """
    out = u > 0
    return jnp.where(out, jnp.where(out, u, 1.0) ** growth, 0.0)


def shifts(theta: Any) -> tuple[Array, Array]:
    """δ_N and δ_D, the shift of log N and log D per unit of growth, from level and tilt."""
    level, tilt = theta["drift_level"], theta["drift_tilt"]
    return 0.5 * (level - tilt), 0.5 * (level + tilt)


def drift_values(z: np.ndarray, drift: float, spread: float = SPREAD) -> dict[str, np.ndarray]:
    """Level and tilt from standard normals ``z`` at ``drift``: the population prior's map.

    ``z`` has one row per drift parameter and a third for the sweep's drift scale
    ``s = exp(spread · z₃)``: level = :data:`MEANS` + drift · s · :data:`SCALES` · z₁ and
    tilt likewise, a scale mixture of normals (heavier-tailed than one normal: some sweeps
    carry far, some do not). Without the third row, s = 1. ``drift`` widens the spread, not
    the lean; ``drift=0`` is no drift at all (the law alone), so it gives zeros.
    """
    z = np.asarray(z, dtype=np.float64)
    if drift == 0:
        return {p: np.zeros_like(z[i]) for i, p in enumerate(DRIFT_PARAMS)}
    s = np.exp(spread * z[2]) if len(z) > 2 else 1.0
    return {p: MEANS[p] + drift * s * SCALES[p] * z[i] for i, p in enumerate(DRIFT_PARAMS)}


def reach_nodes(spread: float = REACH_SPREAD) -> tuple[np.ndarray, np.ndarray]:
    """Quadrature nodes of the population prior of :data:`REACH_SCALE` and their weights.

    ``log m ~ Normal(0, spread)`` by 15-point Gauss–Hermite quadrature, as
    :class:`DriftGrid` integrates the drift's scale.
    """
    nodes, w = np.polynomial.hermite_e.hermegauss(15)
    return np.exp(spread * nodes), w / w.sum()


def reach_draws(
    shape: tuple[int, ...], seed: int, weights: np.ndarray | None = None
) -> np.ndarray:
    """Draws of :data:`REACH_SCALE` on the nodes of :func:`reach_nodes`.

    ``weights`` are the nodes' posterior weights (None: the prior's). From their own stream
    of ``seed``: same seed, same draws.
    """
    m, prior = reach_nodes()
    p = prior if weights is None else np.asarray(weights, dtype=np.float64)
    rng = np.random.default_rng([seed, 0x7265616368])  # "reach"
    return m[rng.choice(m.size, size=int(np.prod(shape)), p=p / p.sum())].reshape(shape)


def drift_draws(shape: tuple[int, ...], drift: float, seed: int) -> dict[str, np.ndarray]:
    """Draws of level and tilt from the population prior at scale ``drift``.

    In-range runs do not inform them (their posterior is the prior, independent of the
    law's parameters), so a fit draws them exactly rather than sampling them; from their
    own stream of ``seed`` (same seed, same draws), as fixed standard normals mapped by
    :func:`drift_values`, so fits that differ only in ``drift`` share them up to scale
    about the mean. The fit's extrapolation check then updates them with the sweep's own
    larger runs (:func:`grid_posterior`).
    """
    rng = np.random.default_rng([seed, 0x6472696674])  # "drift"
    out = drift_values(rng.standard_normal((len(DRIFT_PARAMS) + 1, *shape)), drift)
    if drift != 0:  # the sweep's own scatter beyond its N range, from the population prior
        out[REACH_SCALE] = reach_draws(shape, seed)
    return out


# ---------------------------------------------------------------------- the sweep's own update
class DriftGrid:
    """A grid over (level, tilt) and the population prior's log density on it.

    The prior is the scale mixture of :func:`drift_values` at ``drift`` and ``spread``,
    integrated over the sweep's scale s by Gauss–Hermite quadrature in log s;
    :meth:`scale_weights` keeps the joint over (s, level, tilt) so that the posterior of
    a sweep's own scale can be reported. The axes span ``half_width`` population sds (times
    the scale mixture's spread, up to 2.5) about the means, ``points`` each, unless given
    (``axes``: one grid for several priors, as the calibration weighs them).
    """

    def __init__(
        self,
        drift: float = 1.0,
        spread: float = SPREAD,
        *,
        points: int = GRID_POINTS,
        half_width: float = GRID_HALF_WIDTH,
        means: dict[str, float] | None = None,
        scales: dict[str, float] | None = None,
        axes: dict[str, np.ndarray] | None = None,
    ) -> None:
        if drift <= 0:
            raise ValueError(f"drift must be > 0 for a drift grid, got {drift}")
        self.drift, self.spread = float(drift), float(spread)
        self.means = dict(MEANS if means is None else means)
        self.scales = dict(SCALES if scales is None else scales)
        nodes, w = np.polynomial.hermite_e.hermegauss(15)
        self.scale_nodes = np.exp(self.spread * nodes)
        self.scale_prior = w / w.sum()
        top = float(self.scale_nodes.max()) if self.spread > 0 else 1.0
        self.axes = (
            {p: np.asarray(axes[p], dtype=np.float64) for p in DRIFT_PARAMS}
            if axes is not None
            else {
                p: self.means[p]
                + np.linspace(-1.0, 1.0, points)
                * half_width
                * self.drift
                * self.scales[p]
                * min(top, 2.5)
                for p in DRIFT_PARAMS
            }
        )
        self.step = {p: float(a[1] - a[0]) for p, a in self.axes.items()}
        lv, tv = np.meshgrid(self.axes["drift_level"], self.axes["drift_tilt"], indexing="ij")
        self.level, self.tilt = lv.ravel(), tv.ravel()

    def _log_joint(self) -> np.ndarray:
        """Log p(s_k) + log N(level) + log N(tilt) for each scale node k and grid point."""
        out = np.log(self.scale_prior)[:, None]
        for p, v in (("drift_level", self.level), ("drift_tilt", self.tilt)):
            sd = self.drift * self.scale_nodes[:, None] * self.scales[p]
            z = (v[None, :] - self.means[p]) / sd
            out = out - 0.5 * z * z - np.log(sd) - 0.5 * math.log(2 * math.pi)
        return out

    def log_prior(self) -> np.ndarray:
        """The prior's log density at each grid point (scale integrated out)."""
        j = self._log_joint()
        m = j.max(axis=0)
        return m + np.log(np.exp(j - m).sum(axis=0))

    def scale_weights(self, log_lik: np.ndarray | None = None) -> np.ndarray:
        """Posterior weights of the scale nodes given the grid's log-likelihood (None: prior)."""
        j = self._log_joint()
        if log_lik is not None:
            j = j + log_lik[None, :]
        m = j.max()
        w = np.exp(j - m).sum(axis=1)
        return w / w.sum()


def grid_posterior(grid: DriftGrid, log_lik: np.ndarray | None = None) -> np.ndarray:
    """Normalised posterior weights of the grid's points (None: the prior's)."""
    lp = grid.log_prior() + (0.0 if log_lik is None else log_lik)
    w = np.exp(lp - np.max(lp))
    return w / w.sum()


def drift_grid_draws(
    grid: DriftGrid,
    log_lik: np.ndarray | None,
    shape: tuple[int, ...],
    seed: int,
    memory: float = MEMORY,
) -> dict[str, np.ndarray]:
    """Draws of level and tilt beyond the whole data, from the sweep's posterior on ``grid``.

    The joint posterior over the sweep's scale s (the quadrature nodes) and its drift
    beyond its smaller runs (λ', τ') (the grid's points, jittered within their cell) is
    ``p(s) N(λ', τ' | s) p(runs | λ', τ')``. Beyond the whole data the drift keeps
    ``memory`` ρ of that deviation from the mean and draws the rest afresh at the sweep's
    own scale, ``λ = μ + ρ(λ' − μ) + √(1 − ρ²) · drift · s · s_λ · z``, and τ likewise:
    ρ = 1 continues the direction the sweep's own runs showed, ρ = 0 keeps only their
    scale (a random walk's independent increments). Without ``log_lik`` (None) this is the
    population prior. Deterministic for a seed.
    """
    rng = np.random.default_rng([seed, 0x7570646174])  # "updat"
    j = grid._log_joint()
    if log_lik is not None:
        j = j + log_lik[None, :]
    w = np.exp(j - j.max()).ravel()
    n = int(np.prod(shape))
    pick = rng.choice(w.size, size=n, p=w / w.sum())
    k, g = np.divmod(pick, grid.level.size)
    rho = float(memory)
    out = {}
    for p, v in (("drift_level", grid.level), ("drift_tilt", grid.tilt)):
        past = v[g] + (rng.random(n) - 0.5) * grid.step[p]
        fresh = grid.drift * grid.scale_nodes[k] * grid.scales[p] * rng.standard_normal(n)
        m = grid.means[p]
        out[p] = (m + rho * (past - m) + math.sqrt(1.0 - rho * rho) * fresh).reshape(shape)
    return out


# ---------------------------------------------------------------------- the wrapper
def is_extrapolating(law: Law) -> bool:
    """Whether ``law`` is a wrapper made by :func:`extrapolating`."""
    return law in _BASE


def base_law(law: Law) -> Law:
    """The fitted law under a wrapper (the law itself when it is not one)."""
    return _BASE.get(law, law)


def extrapolating(
    law: Law,
    drift: float = 1.0,
    *,
    misfit: float | None = None,
    growth: float | None = None,
    reach: float | None = None,
    form: float | None = None,
) -> Law:
    """``law`` with drift beyond the data at scale ``drift`` (1: the calibrated default).

    Parameters
    ----------
    law : Law
        The fitted law (a wrapper is unwrapped first).
    drift : float, default 1
        Multiplies the prior sds of level and tilt (:data:`SCALES`) and the extra scatter
        of new runs (:data:`MISFIT`); > 0. The level's mean (:data:`MEANS`) stays: a wider
        drift is less sure of the lean, not more.
    misfit : float, optional
        The extra scatter ``k`` itself (default ``drift`` × :data:`MISFIT`); ≥ 0.
    growth, reach : float, optional
        The growth exponent (default :data:`GROWTH`, > 0) and the extra scatter per √nat
        beyond the fitted runs' N or D range (default :data:`REACH`, ≥ 0; it scales with
        ``drift`` like ``misfit``). For calibrating them: a fit's settings record ``drift``
        only, so a saved fit loads with the defaults.
    form : float, optional
        The sd of the law's own form error, in log loss whatever the runs' noise, per √nat
        by which a run's excess beyond the fitted N or D range outruns its excess in
        compute (default ``drift`` × :data:`FORM`; ≥ 0).

    Returns
    -------
    Law
        The same object for the same arguments.
    """
    law = base_law(law)
    sd = float(drift)
    if not np.isfinite(sd) or sd <= 0:
        raise ValueError(f"drift must be finite and > 0, got {drift}")
    k = sd * MISFIT if misfit is None else float(misfit)
    if not np.isfinite(k) or k < 0:
        raise ValueError(f"misfit must be finite and >= 0, got {misfit}")
    p = GROWTH if growth is None else float(growth)
    if not np.isfinite(p) or p <= 0:
        raise ValueError(f"growth must be finite and > 0, got {growth}")
    r = sd * REACH if reach is None else float(reach)
    if not np.isfinite(r) or r < 0:
        raise ValueError(f"reach must be finite and >= 0, got {reach}")
    f = sd * FORM if form is None else float(form)
    if not np.isfinite(f) or f < 0:
        raise ValueError(f"form must be finite and >= 0, got {form}")
    key = (law, sd, k, p, r, f)
    if key not in _WRAPPED:
        wrapper = _wrap(law, sd, k, p, r, f)
        _WRAPPED[key] = wrapper
        _BASE[wrapper] = law
    return _WRAPPED[key]


def _wrap(law: Law, sd: float, k: float, p: float, r: float, f: float) -> Law:
    def log_loss(theta: Any, x: Any) -> Array:
        g = beyond(distance(theta, x["log_N"], x["log_D"]), p)
        d_n, d_d = shifts(theta)
        shifted = dict(x)
        shifted["log_N"] = x["log_N"] + d_n * g
        shifted["log_D"] = x["log_D"] + d_d * g
        return law.log_loss(theta, shifted)

    # The shift's distance is in compute only: constant along an isoFLOP line, so a
    # closed-form optimum stays closed-form (the one solver handles the rest).
    log_n_opt = None
    if law.log_n_opt is not None:
        base_opt = law.log_n_opt

        def log_n_opt(theta: Any, log_c: Array) -> Array:
            g = beyond(jnp.maximum(log_c - theta[EDGE], 0.0), p)
            d_n, d_d = shifts(theta)
            return base_opt(theta, log_c + (d_n + d_d) * g) - d_n * g

    noise_scale = None
    if k > 0 or r > 0 or f > 0:

        def noise_scale(theta: Any, x: Any, sigma: Array) -> Array:
            u = distance(theta, x["log_N"], x["log_D"])
            v = hull_excess(theta, x["log_N"], x["log_D"])
            base = law.residual_scale(theta, x, sigma)
            # the part of the N or D excess that outruns the compute excess, which the drift
            # (growing with compute only) does not cover; the sweep's own m scales it (a
            # fit without it, saved before it existed, takes the population's median 1)
            w = jnp.maximum(v - u, 0.0)
            m2 = jnp.square(theta[REACH_SCALE]) if REACH_SCALE in theta else 1.0
            factor = 1.0 + k * k * -jnp.expm1(-u / ONSET) + r * r * (v - w + m2 * w)
            # exactly sigma inside the data: a fit and its LOO never depend on this
            return jnp.where(
                (u > 0) | (v > 0), jnp.sqrt(base * base * factor + f * f * m2 * w), base
            )

    def priors() -> dict[str, Any]:
        # each parameter's marginal of the scale mixture, by the quadrature DriftGrid uses
        nodes, w = np.polynomial.hermite_e.hermegauss(15)
        mix = dist.Categorical(probs=jnp.asarray(w / w.sum()))
        s = np.exp(SPREAD * nodes)
        drift = {
            p_: dist.MixtureSameFamily(
                mix, dist.Normal(jnp.full(s.shape, MEANS[p_]), jnp.asarray(sd * SCALES[p_] * s))
            )
            for p_ in DRIFT_PARAMS
        }
        reach = dist.LogNormal(0.0, REACH_SPREAD)
        return {**law.priors(), **drift, REACH_SCALE: reach}

    what = {"drift_level": "log N and log D together", "drift_tilt": "log D against log N"}
    notes = {
        p_: f"Normal({MEANS[p_]:g}, {sd * SCALES[p_]:g} × s), log s ~ Normal(0, {SPREAD:g}): "
        f"shifts {what[p_]} per unit of u^{p:g}, u the distance beyond the data; updated by "
        "the fit's own larger runs"
        for p_ in DRIFT_PARAMS
    }
    notes[REACH_SCALE] = (
        f"LogNormal(0, {REACH_SPREAD:g}): the sweep's own multiplier of the scatter beyond its "
        "N or D range that compute does not account for; updated by the fit's own largest models"
    )
    return Law(
        name=law.name,
        params=(*law.params, *EXACT_PARAMS, *EDGES),
        log_loss=log_loss,
        priors=priors,
        covariates=law.covariates,
        group_params=law.group_params,
        shears=law.shears,
        offset=law.offset,
        positive=law.positive,
        log_n_opt=log_n_opt,
        exponents=law.exponents,
        init=law.init,
        noise_scale=noise_scale,
        prior_notes={**law.prior_notes, **notes},
        description=law.description,
        reference=law.reference,
    )
