"""A FitResult built from synthetic posterior draws: decision and plotting tests without NUTS."""

from __future__ import annotations

import numpy as np

from bayescale.checks.simulate import simulate_runs
from bayescale.inference.diagnostics import Diagnostics
from bayescale.inference.settings import FitSettings
from bayescale.laws.chinchilla import ChinchillaParams
from bayescale.result import FitResult

#: Besiroglu et al. 2024's estimate, the centre of the synthetic posterior.
CENTRE = ChinchillaParams(E=1.8172, A=482.01, B=2085.43, alpha=0.3478, beta=0.3658)


def synthetic_draws(S: int = 400, seed: int = 0, spread: float = 1.0) -> ChinchillaParams:
    """Draws scattered around CENTRE (spread 0 gives a point mass)."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((5, S)) * spread
    E, A, B, alpha, beta = CENTRE
    return ChinchillaParams(
        E=E + 0.03 * z[0],
        A=A * np.exp(0.2 * z[1]),
        B=B * np.exp(0.3 * z[2]),
        alpha=alpha + 0.012 * z[3],
        beta=beta + 0.012 * z[4],
    )


def synthetic_result(S: int = 400, seed: int = 0, spread: float = 1.0, ok: bool = True):
    """A FitResult over simulated Chinchilla-like runs with the synthetic draws (2 chains)."""
    draws = synthetic_draws(S, seed, spread)
    data = simulate_runs(CENTRE, seed=seed)
    chains = 2
    samples = {k: np.asarray(v, float).reshape(chains, -1) for k, v in draws._asdict().items()}
    samples["sigma"] = np.full((chains, S // chains), 0.01)
    names = list(samples)
    diag = Diagnostics(
        r_hat=dict.fromkeys(names, 1.001),
        ess_bulk=dict.fromkeys(names, 1000.0),
        ess_tail=dict.fromkeys(names, 1000.0),
        divergences=0,
        tree_depth_saturated=0,
        bfmi=[1.0, 1.0],
        mean_steps=30.0,
        problems=[] if ok else ["R-hat of alpha is 1.2 (> 1.01): run longer chains."],
    )
    return FitResult(
        data=data,
        # Gaussian draws of the law alone: no nu, no drift beyond the data
        settings=FitSettings(chains=chains, draws=S // chains, likelihood="gaussian", drift=0.0),
        samples=samples,
        stats={"diverging": np.zeros((chains, S // chains), bool)},
        diagnostics=diag,
        priors={k: "synthetic" for k in names},
    )


# ---- plain-NumPy references for the decision tests (loops over draws)
K = 6.0


def scalar_loss(p, N, D):
    E, A, B, alpha, beta = (float(x) for x in p)
    return E + A / N**alpha + B / D**beta


def np_optimum(p, C):
    """Closed-form optimum of one draw, plain NumPy (the reference for loops)."""
    _, A, B, alpha, beta = (float(x) for x in p)
    G = (alpha * A / (beta * B)) ** (1 / (alpha + beta))
    N = G * (C / K) ** (beta / (alpha + beta))
    return N, C / (K * N), scalar_loss(p, N, C / (K * N))


def draw(params, s):
    return ChinchillaParams(*(float(np.asarray(x)[s]) for x in params))
