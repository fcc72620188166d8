"""Every setting of a fit, with its default, in one place: :class:`FitSettings`.

Validated when built (messages list the allowed values), hashable, and stored with every
fit; the subset that shapes the compiled sampler is :meth:`FitSettings.nuts`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from bayescale.choices import DEFAULT_DRIFT, DEFAULT_LAW, DEFAULT_LIKELIHOOD, LIKELIHOODS, POOLINGS
from bayescale.inference.sampler import CHAIN_METHODS, NUTSSettings

__all__ = ["DEFAULT_BUDGETS", "DEFAULT_DRIFT", "PRECISIONS", "FitSettings"]

#: Budgets (FLOPs) reported when none are given: 1e21…1e25 and Gopher/Chinchilla's 5.76e23.
DEFAULT_BUDGETS = (1e21, 1e22, 1e23, 5.76e23, 1e24, 1e25)
PRECISIONS = ("float64", "float32")


@dataclass(frozen=True)
class FitSettings:
    """Every setting of a fit, with its default, in one place.

    Attributes
    ----------
    likelihood : {"student_t", "gaussian", "huber"}
        Distribution of log-loss residuals; Student-t by default (it predicted held-out
        larger runs best on public sweeps, ``benchmarks/EXTRAPOLATION-one-step.md``, and PSIS-LOO
        prefers it on every bundled set). "huber" is the normalised Huber density of
        Besiroglu et al. 2024 (threshold ``delta`` in standardised units).
    delta : float
        Huber threshold.
    chains, warmup, draws : int
        NUTS chains, warmup and kept iterations per chain.
    seed : int
        Random seed; same data, settings and seed give identical draws.
    target_accept : float
        Dual-averaging target acceptance probability.
    dense_mass : bool
        Dense mass matrix (the default): it follows the correlated law parameters in 5–10×
        fewer leapfrog steps than a diagonal one on real sweeps (``benchmarks/SAMPLER.md``);
        where it diverges or mixes poorly, ``escalate`` falls back to the diagonal one.
    max_tree_depth : int
        NUTS doubling limit.
    chain_method : {"auto", "parallel", "sequential", "threads", "vectorized"}
        Where chains run (see :func:`bayescale.inference.sampler.run_nuts`); "auto" runs
        them side by side on the host's cores without any process-level setting.
    precision : {"float64", "float32"}
        Floating-point precision of the fit; float32 is for accelerators.
    law : str
        Name of the scaling law (``fit(data, law=...)`` sets it; see :mod:`bayescale.laws`).
    pooling : {"partial", "shared", "none"}
        For data with groups: how exponents are shared between groups (see
        :mod:`bayescale.inference.model`); ignored without groups.
    drift : float
        Extrapolation uncertainty beyond the largest fitted run, as a multiple of the
        default calibrated on public sweeps (:mod:`bayescale.laws.extrapolation`,
        ``benchmarks/EXTRAPOLATION.md``): 1 the calibrated default, 2 twice as wary,
        0 trusts the law's form at any budget.
    extrapolation_check : bool
        Run the fit-time extrapolation check
        (:func:`bayescale.checks.backtest.extrapolation_check`): the fit's own largest runs
        predicted from its smaller ones; they then update this sweep's drift beyond the
        data (:mod:`bayescale.checks.drift_update`). False keeps the population's drift.
    escalate : bool
        Retry a fit whose sampler struggles (R-hat, ESS, divergences, E-BFMI, trajectories
        at the maximum depth) with other settings, at most 3 times
        (:mod:`bayescale.inference.escalation`); the attempts are listed in
        ``diagnostics.attempts``. False keeps the first attempt whatever it gives.
    """

    # defaults from bayescale.choices, which the command line reads without JAX
    likelihood: str = DEFAULT_LIKELIHOOD
    delta: float = 1e-3
    chains: int = 4
    warmup: int = 1000
    draws: int = 1000
    seed: int = 0
    target_accept: float = 0.8
    dense_mass: bool = True
    max_tree_depth: int = 10
    chain_method: str = "auto"
    precision: str = "float64"
    law: str = DEFAULT_LAW
    pooling: str = "partial"
    drift: float = DEFAULT_DRIFT
    extrapolation_check: bool = True
    escalate: bool = True

    def __post_init__(self) -> None:
        def need(cond: bool, msg: str) -> None:
            if not cond:
                raise ValueError(msg)

        def one_of(name: str, choices: tuple[str, ...]) -> None:
            v = getattr(self, name)
            need(v in choices, f"unknown {name} {v!r}; choose one of {', '.join(choices)}")

        one_of("likelihood", LIKELIHOODS)
        for name in ("chains", "warmup", "draws", "max_tree_depth", "seed"):
            v = getattr(self, name)
            need(
                isinstance(v, int | np.integer) and not isinstance(v, bool),
                f"{name} must be an integer, got {v!r}",
            )
        need(self.chains >= 1, f"chains must be >= 1, got {self.chains}")
        need(self.warmup >= 1, f"warmup must be >= 1, got {self.warmup}")
        need(self.draws >= 4, f"draws must be >= 4, got {self.draws}")
        need(self.seed >= 0, f"seed must be >= 0, got {self.seed}")
        need(1 <= self.max_tree_depth <= 15, "max_tree_depth must be in 1..15")
        need(
            0.0 < float(self.target_accept) < 1.0,
            f"target_accept must be in (0, 1), got {self.target_accept}",
        )
        need(float(self.delta) > 0, f"delta must be > 0, got {self.delta}")
        one_of("chain_method", CHAIN_METHODS)
        one_of("precision", PRECISIONS)
        need(
            isinstance(self.law, str) and bool(self.law),
            f"law must be a law's name, got {self.law!r}",
        )
        one_of("pooling", POOLINGS)
        for flag in ("extrapolation_check", "escalate"):
            need(
                isinstance(getattr(self, flag), bool | np.bool_),
                f"{flag} must be True or False, got {getattr(self, flag)!r}",
            )
        need(
            isinstance(self.drift, int | float | np.floating)
            and not isinstance(self.drift, bool)
            and np.isfinite(self.drift)
            and self.drift >= 0,
            f"drift must be a finite number >= 0, got {self.drift!r}",
        )

    @classmethod
    def from_kwargs(cls, settings: Mapping[str, Any], **fixed: Any) -> FitSettings:
        """Settings from keyword arguments, naming any unknown ones and the allowed."""
        names = [f.name for f in dataclasses.fields(cls)]
        unknown = set(settings) - set(names)
        if unknown:
            raise ValueError(
                f"unknown fit setting(s) {', '.join(sorted(unknown))}; allowed: {', '.join(names)}"
            )
        return cls(**{**settings, **fixed})

    def nuts(self) -> NUTSSettings:
        """The subset that shapes the compiled sampler."""
        return NUTSSettings(
            warmup=int(self.warmup),
            draws=int(self.draws),
            target_accept=float(self.target_accept),
            dense_mass=bool(self.dense_mass),
            max_tree_depth=int(self.max_tree_depth),
        )
