"""bayescale: Bayesian neural scaling laws in JAX.

Fit L(N, D) = E + A/N^α + B/D^β to training runs with NUTS (NumPyro) and turn the
posterior into compute-optimal allocations with credible intervals.

>>> import bayescale
>>> data = bayescale.load_dataset("chinchilla")          # doctest: +SKIP
>>> result = bayescale.fit(data, likelihood="huber")      # doctest: +SKIP
>>> result.allocation([5.76e23, 1e25])                    # doctest: +SKIP

The names are imported on first use (PEP 562): ``import bayescale`` and the modules that read data
or options (:mod:`bayescale.data`, the command line's parser) load neither JAX nor NumPyro, so
``bayescale --help`` and a bad CSV are answered in well under a second; ``bayescale.fit`` loads the
sampler when first looked up.

The code is laid out in wings, in the order data flows (each imports only those before it):
:mod:`~bayescale.data` → :mod:`~bayescale.laws` → :mod:`~bayescale.inference` →
:mod:`~bayescale.classic` → :mod:`~bayescale.decisions` → :mod:`~bayescale.checks` →
:mod:`~bayescale.report` → :mod:`bayescale.result` (the facade, :class:`FitResult`) →
:mod:`~bayescale.cli`. The module paths of the earlier flat layout (``bayescale.backtest``,
``bayescale.simulate``, ...) still import (:data:`bayescale._lazy.MOVED`).
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from typing import Any

from bayescale._lazy import MovedFinder

__version__ = "0.1.0"

#: The public names, by the module that defines them.
_EXPORTS: dict[str, tuple[str, ...]] = {
    "data.scaling_data": ("ScalingData", "design_problems"),
    "data.datasets": ("dataset_info", "load_dataset"),
    "data.units": (
        "Budget",
        "CostModel",
        "parse_budget",
        "parse_budget_spec",
        "parse_cost",
        "register_accelerator",
    ),
    "laws": ("LAWS", "Law", "define_law", "get_law", "register_law"),
    "laws.chinchilla": ("ChinchillaParams",),
    "inference.priors": ("default_priors",),
    "inference.programs": ("enable_compilation_cache", "use_host_devices"),
    "inference.settings": ("DEFAULT_BUDGETS", "FitSettings"),
    "inference.diagnostics": ("Diagnostics", "SamplingError", "SamplingWarning"),
    "classic.approach3": ("ClassicFit", "fit_classic"),
    "decisions.budget": (
        "Plan",
        "bayes_optimal",
        "compute_for_loss",
        "data_limited",
        "parse_plan",
        "regret",
    ),
    "checks.model_checks": (
        "ModelCheckWarning",
        "PPCResult",
        "PriorPredictive",
        "compare",
        "loo",
        "ppc",
        "prior_predictive",
        "waic",
    ),
    "checks.backtest": ("BacktestResult",),
    "checks.calibration_result": ("CalibrationResult",),
    "checks.calibration": ("MethodOutput", "calibration"),
    "result": ("FitResult", "backtest", "fit", "fit_many", "load"),
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

    Importing a submodule binds it as an attribute of its package, and two old module paths share a
    name with a function exported here (``bayescale.fit``, now :mod:`bayescale.inference.fit`;
    ``bayescale.backtest``, now :mod:`bayescale.checks.backtest`). Were those bindings kept,
    importing the old path would replace the function, so they are ignored and the name resolves to
    the function.
    """

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _ORIGIN and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
if not any(isinstance(finder, MovedFinder) for finder in sys.meta_path):
    sys.meta_path.append(MovedFinder())
