"""Synthetic training runs with known truth, for recovery tests and calibration.

The default design imitates Hoffmann et al. 2022's isoFLOP sweeps: nine budgets from
6e18 to 3e21 FLOPs, model sizes spread log-uniformly between 5e7 and 1.6e10 parameters,
and at each budget only the runs whose tokens-per-parameter ratio lies between 1 and 1000
(as in real sweeps, where tiny models on huge data and huge models on tiny data are
skipped).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jax
import numpy as np
from numpyro.infer import Predictive

from bayescale.data.scaling_data import ScalingData
from bayescale.inference.model import ModelSpec
from bayescale.laws import CHINCHILLA, get_law
from bayescale.laws.chinchilla import ChinchillaParams

__all__ = [
    "CHINCHILLA_BUDGETS",
    "HOFFMANN_PARAMS",
    "chinchilla_design",
    "simulate_datasets",
    "simulate_law",
    "simulate_runs",
]

#: The isoFLOP budgets of Hoffmann et al. 2022, Figure 3.
CHINCHILLA_BUDGETS = (6e18, 1e19, 3e19, 6e19, 1e20, 3e20, 6e20, 1e21, 3e21)
#: Hoffmann et al. 2022, Approach 3, unrounded.
HOFFMANN_PARAMS = ChinchillaParams(
    E=1.69337368, A=406.401018, B=410.722827, alpha=0.33917084, beta=0.2849083
)


def chinchilla_design(
    budgets: Any = CHINCHILLA_BUDGETS,
    n_sizes: int = 30,
    N_range: tuple[float, float] = (5e7, 1.6e10),
    ratio_range: tuple[float, float] = (1.0, 1000.0),
    flops_per_param_token: float = 6.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Model sizes and token counts of an isoFLOP design.

    Parameters
    ----------
    budgets : sequence of float
        Compute budgets (FLOPs).
    n_sizes : int
        Model sizes tried per budget, log-spaced over ``N_range``.
    N_range : (float, float)
        Smallest and largest model.
    ratio_range : (float, float)
        Kept runs have D/N in this range.
    flops_per_param_token : float
        k in C = k·N·D.

    Returns
    -------
    N, D : numpy.ndarray
        One entry per run (about 200 with the defaults).
    """
    sizes = np.geomspace(N_range[0], N_range[1], n_sizes)
    C = np.asarray(budgets, dtype=np.float64)[:, None]
    N = np.broadcast_to(sizes, (C.shape[0], n_sizes))
    D = C / (flops_per_param_token * N)
    keep = (D / N >= ratio_range[0]) & (D / N <= ratio_range[1])
    return N[keep].copy(), D[keep].copy()


def simulate_runs(
    params: ChinchillaParams = HOFFMANN_PARAMS,
    *,
    sigma: float = 0.01,
    design: tuple[np.ndarray, np.ndarray] | None = None,
    seed: int = 0,
    noise: str = "gaussian",
    nu: float = 4.0,
) -> ScalingData:
    """Draw losses from the law with noise on log loss.

    Parameters
    ----------
    params : ChinchillaParams
        True parameters (scalars).
    sigma : float, default 0.01
        Residual standard deviation of log loss ("gaussian"), or scale ("student_t").
    design : (N, D), optional
        Run sizes; default :func:`chinchilla_design`.
    seed : int
        Random seed.
    noise : {"gaussian", "student_t"}
        Residual distribution.
    nu : float
        Student-t degrees of freedom.

    Returns
    -------
    ScalingData
    """
    N, D = _design(design)
    E, A, B, alpha, beta = (float(x) for x in params)
    mean = np.log(E + A / N**alpha + B / D**beta)
    return ScalingData.from_arrays(N=N, D=D, loss=np.exp(mean + _noise(N, sigma, seed, noise, nu)))


def _design(design: tuple[np.ndarray, np.ndarray] | None) -> tuple[np.ndarray, np.ndarray]:
    N, D = chinchilla_design() if design is None else design
    return np.asarray(N, dtype=np.float64), np.asarray(D, dtype=np.float64)


def _noise(N: np.ndarray, sigma: float, seed: int, noise: str, nu: float) -> np.ndarray:
    """Residuals on log loss, one per run."""
    rng = np.random.default_rng(seed)
    if noise == "gaussian":
        return rng.normal(0.0, sigma, N.shape)
    if noise == "student_t":
        return sigma * rng.standard_t(nu, N.shape)
    raise ValueError(f"unknown noise {noise!r}; choose 'gaussian' or 'student_t'")


def simulate_law(
    law: Any,
    theta: Any,
    *,
    design: tuple[np.ndarray, np.ndarray] | None = None,
    sigma: float = 0.01,
    seed: int = 0,
    noise: str = "gaussian",
    nu: float = 4.0,
    group: Any = None,
    **covariates: Any,
) -> ScalingData:
    """Draw losses from any law (:mod:`bayescale.laws`) with noise on log loss.

    Parameters
    ----------
    law : str or Law
        The law (name or object).
    theta : mapping
        True parameters: scalars, or for grouped runs arrays with one value per group
        (indexed by the integer ``group`` codes).
    design : (N, D), optional
        Run sizes; default :func:`chinchilla_design`.
    sigma, seed, noise, nu
        As in :func:`simulate_runs`.
    group : array-like of int, optional
        Group code of each run (0..G−1); the data's group labels are ``"g0"``, ``"g1"``...
    **covariates : array-like
        The law's extra per-run columns (e.g. ``U_D=...``), stored in the data.

    Returns
    -------
    ScalingData
    """
    law = get_law(law)
    N, D = _design(design)
    cov = {
        k: np.broadcast_to(np.asarray(v, dtype=np.float64), N.shape) for k, v in covariates.items()
    }
    x = {"log_N": np.log(N), "log_D": np.log(D), **{f"log_{k}": np.log(v) for k, v in cov.items()}}
    th = {k: np.asarray(v, dtype=np.float64) for k, v in theta.items()}
    if group is not None:
        g = np.asarray(group, dtype=int)
        th = {k: (v[g] if v.ndim == 1 else v) for k, v in th.items()}
    with jax.enable_x64():
        mean = np.asarray(law.log_loss(th, x))
    eps = _noise(N, sigma, seed, noise, nu)
    labels = None if group is None else np.array([f"g{i}" for i in np.asarray(group, dtype=int)])
    return ScalingData.from_arrays(N=N, D=D, loss=np.exp(mean + eps), group=labels, **cov)


def simulate_datasets(
    n_sims: int,
    generator: Mapping[str, Any],
    design: tuple[np.ndarray, np.ndarray],
    *,
    likelihood: str = "gaussian",
    delta: float = 1e-3,
    seed: int = 0,
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Draw truths from ``generator`` and log losses from the model, all at once.

    The bayescale model itself generates the data (NumPyro ``Predictive`` with no
    observations), so simulation and fit share one likelihood by construction.

    Returns
    -------
    truths : dict of str to numpy.ndarray
        E, A, B, alpha, beta, sigma (and nu), each of shape (n_sims,).
    loss : numpy.ndarray, shape (n_sims, n_runs)
        Simulated final losses.
    """
    N, D = design
    spec = ModelSpec(CHINCHILLA, likelihood, float(delta))
    with jax.enable_x64(True):
        x = {"log_N": jax.numpy.asarray(np.log(N)), "log_D": jax.numpy.asarray(np.log(D))}
        pred = Predictive(spec, num_samples=n_sims)(
            jax.random.key(seed), x, priors=dict(generator)
        )
        out = {k: np.asarray(v, dtype=np.float64) for k, v in pred.items()}
    truths = {k: out[k] for k in (*CHINCHILLA.params, "sigma", "nu") if k in out}
    return truths, np.exp(out["log_loss"])
