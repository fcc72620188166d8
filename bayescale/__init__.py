"""bayescale: Bayesian neural scaling laws in JAX.

Fit L(N, D) = E + A/N^α + B/D^β to training runs with NUTS (NumPyro) and turn the
posterior into compute-optimal allocations with credible intervals.

>>> import bayescale
>>> data = bayescale.load_dataset("chinchilla")          # doctest: +SKIP
>>> result = bayescale.fit(data, likelihood="huber")      # doctest: +SKIP
>>> result.allocation([5.76e23, 1e25])                    # doctest: +SKIP

The names are imported on first use (PEP 562): ``import bayescale`` and the modules that
read data or options (:mod:`bayescale.data`, :mod:`bayescale.units`, the command line's
parser) load neither JAX nor NumPyro, so ``bayescale --help`` and a bad CSV are answered
in well under a second; ``bayescale.fit`` loads the sampler when first looked up.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from typing import Any

__version__ = "0.1.0"

#: The public names, by the module that defines them.
_EXPORTS: dict[str, tuple[str, ...]] = {
    "backtest": ("BacktestResult",),
    "calibration_result": ("CalibrationResult",),
    "checking": (
        "ModelCheckWarning",
        "PPCResult",
        "PriorPredictive",
        "compare",
        "loo",
        "ppc",
        "prior_predictive",
        "waic",
    ),
    "classic": ("ClassicFit", "fit_classic"),
    "data": ("ScalingData", "design_problems"),
    "datasets": ("dataset_info", "load_dataset"),
    "decisions": (
        "Plan",
        "bayes_optimal",
        "compute_for_loss",
        "data_limited",
        "parse_plan",
        "regret",
    ),
    "diagnostics": ("Diagnostics", "SamplingError", "SamplingWarning"),
    "inference": ("enable_compilation_cache", "use_host_devices"),
    "law": ("ChinchillaParams",),
    "laws": ("LAWS", "Law", "define_law", "get_law", "register_law"),
    "priors": ("default_priors",),
    "result": ("FitResult", "backtest", "fit", "fit_many", "load"),
    "settings": ("DEFAULT_BUDGETS", "FitSettings"),
    "units": (
        "Budget",
        "CostModel",
        "parse_budget",
        "parse_budget_spec",
        "parse_cost",
        "register_accelerator",
    ),
    "validate": ("MethodOutput", "calibration"),
}
_ORIGIN = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = sorted(["__version__", *_ORIGIN])


def __getattr__(name: str) -> Any:
    """A public name, imported from its module on first use; else a submodule."""
    module = _ORIGIN.get(name)
    if module is not None:
        value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    elif not name.startswith("__") and importlib.util.find_spec(f"{__name__}.{name}"):
        # ``bayescale.laws.Shear`` after a bare ``import bayescale``, as when it was eager
        value = importlib.import_module(f"{__name__}.{name}")
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value  # looked up once
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


class _Package(types.ModuleType):
    """The package module; keeps ``bayescale.fit`` and ``bayescale.backtest`` functions.

    Importing a submodule binds it as an attribute of its package, and two submodules
    share a name with a function exported here (:mod:`bayescale.fit`, the sampler's
    front; :mod:`bayescale.backtest`). Eager imports bound the functions last; imported
    lazily, the submodule would win whenever it was loaded first, so those bindings are
    ignored and the name still resolves to the function.
    """

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _ORIGIN and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
