"""bayescale: Bayesian neural scaling laws in JAX.

Fit L(N, D) = E + A/N^α + B/D^β to training runs with NUTS (NumPyro) and turn the
posterior into compute-optimal allocations with credible intervals.

>>> import bayescale
>>> data = bayescale.load_dataset("chinchilla")          # doctest: +SKIP
>>> result = bayescale.fit(data, likelihood="huber")      # doctest: +SKIP
>>> result.allocation([5.76e23, 1e25])                    # doctest: +SKIP
"""

from __future__ import annotations

from bayescale.backtest import BacktestResult
from bayescale.checking import (
    ModelCheckWarning,
    PPCResult,
    PriorPredictive,
    compare,
    loo,
    ppc,
    prior_predictive,
    waic,
)
from bayescale.classic import ClassicFit, fit_classic
from bayescale.data import ScalingData, design_problems
from bayescale.datasets import dataset_info, load_dataset
from bayescale.decisions import (
    Plan,
    bayes_optimal,
    compute_for_loss,
    data_limited,
    parse_plan,
    regret,
)
from bayescale.diagnostics import Diagnostics, SamplingError, SamplingWarning
from bayescale.inference import enable_compilation_cache, use_host_devices
from bayescale.law import ChinchillaParams
from bayescale.laws import LAWS, Law, define_law, get_law, register_law
from bayescale.priors import default_priors
from bayescale.result import FitResult, backtest, fit, fit_many, load
from bayescale.settings import DEFAULT_BUDGETS, FitSettings
from bayescale.units import (
    Budget,
    CostModel,
    parse_budget,
    parse_budget_spec,
    parse_cost,
    register_accelerator,
)
from bayescale.validate import CalibrationResult, MethodOutput, calibration

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_BUDGETS",
    "LAWS",
    "BacktestResult",
    "Budget",
    "CalibrationResult",
    "ChinchillaParams",
    "ClassicFit",
    "CostModel",
    "Diagnostics",
    "FitResult",
    "FitSettings",
    "Law",
    "MethodOutput",
    "ModelCheckWarning",
    "PPCResult",
    "Plan",
    "PriorPredictive",
    "SamplingError",
    "SamplingWarning",
    "ScalingData",
    "__version__",
    "backtest",
    "bayes_optimal",
    "calibration",
    "compare",
    "compute_for_loss",
    "data_limited",
    "dataset_info",
    "default_priors",
    "define_law",
    "design_problems",
    "enable_compilation_cache",
    "fit",
    "fit_classic",
    "fit_many",
    "get_law",
    "load",
    "load_dataset",
    "loo",
    "parse_budget",
    "parse_budget_spec",
    "parse_cost",
    "parse_plan",
    "ppc",
    "prior_predictive",
    "register_accelerator",
    "register_law",
    "regret",
    "use_host_devices",
    "waic",
]
