"""Names looked up on first use, and the module paths of the flat layout before the wings.

Two mechanisms keep ``import bayescale`` light and old code working:

- :func:`forward` makes a package's ``__getattr__`` that finds a name in one of its modules
  only when it is first asked for (PEP 562), so the CLI's parser and a bad CSV are answered
  before JAX loads. The package, each wing that took over a flat module's name
  (:mod:`bayescale.data`, :mod:`bayescale.inference`, ...) and the old paths use it.
- :data:`MOVED` maps each module of the flat layout (bayescale 0.1.0 before 2026-12-07) to
  the module(s) that now hold its code; :class:`MovedFinder` makes ``import
  bayescale.backtest`` (or ``from bayescale.simulate import chinchilla_design``) give the
  module at its new path, the same module object, so existing scripts and notebooks keep
  working. New code imports the new paths; the structure test checks that the package does.

This module imports nothing from bayescale: it sits below every wing.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import types
from collections.abc import Callable
from typing import Any

__all__ = ["MOVED", "MovedFinder", "forward"]

#: Old module (under ``bayescale.``) → the module(s) holding its names now, first match wins.
#: Old names that are now wings (data, inference, classic, decisions, report, cli) are not
#: listed: the wing itself forwards the old module's names (see each wing's ``__init__``).
MOVED: dict[str, tuple[str, ...]] = {
    "units": ("data.units",),
    "_checks": ("data.validation",),
    "datasets": ("data.datasets",),
    "optimum": ("laws.optimum",),
    "law": ("laws.chinchilla", "classic.objective"),
    "likelihoods": ("inference.likelihoods",),
    "priors": ("inference.priors",),
    "model": ("inference.model",),
    "settings": ("inference.settings",),
    "diagnostics": ("inference.diagnostics",),
    "posterior": ("inference.posterior",),
    "fit": ("inference.fit",),
    "io": ("inference.storage",),
    "many": ("inference.many",),
    "_lbfgs": ("classic.lbfgs",),
    "decision_core": ("decisions.core",),
    "decision_tables": ("decisions.tables",),
    "planning_tables": ("decisions.planning_tables",),
    "planning": ("decisions.planning",),
    "simulate": ("checks.simulate",),
    "checking": ("checks.model_checks",),
    "backtest": ("checks.backtest",),
    "calibration_result": ("checks.calibration_result",),
    "validate": ("checks.calibration",),
    "plotting": ("report.plotting",),
    "decision_text": ("report.decision_text",),
    "decision_report": ("report.decision_report",),
    "cli_args": ("cli.args",),
}


def forward(package: str, *modules: str) -> Callable[[str], Any]:
    """A module-level ``__getattr__`` for ``package`` that finds names in ``modules``.

    The modules (relative to ``package``) are imported when a name is first asked for and
    searched in order. A name that is a submodule of ``package`` is left to the import
    system, so ``from bayescale.inference import fit`` gives the submodule without
    importing the others.
    """

    def __getattr__(name: str) -> Any:
        if not name.startswith("__") and importlib.util.find_spec(f"{package}.{name}") is None:
            for module in modules:
                found = importlib.import_module(f"{package}.{module}")
                if hasattr(found, name):
                    return getattr(found, name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__


class MovedFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Import hook: ``bayescale.<old flat module>`` resolves to its module in a wing."""

    def __init__(self) -> None:
        self._specs: dict[str, Any] = {}

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        """A spec for an old path listed in :data:`MOVED`; None for every other name."""
        package, _, old = fullname.rpartition(".")
        if package != "bayescale" or old not in MOVED:
            return None
        return importlib.machinery.ModuleSpec(fullname, self)

    def create_module(self, spec: Any) -> types.ModuleType:
        """The module at its new path; a view over several where the old one was split."""
        package = spec.name.rpartition(".")[0]
        targets = MOVED[spec.name.rpartition(".")[2]]
        if len(targets) == 1:
            module = importlib.import_module(f"{package}.{targets[0]}")
            self._specs[spec.name] = module.__spec__  # the import system overwrites it
            return module
        view = types.ModuleType(spec.name, f"Former path of {', '.join(targets)}.")
        view.__getattr__ = forward(package, *targets)  # type: ignore[attr-defined]
        return view

    def exec_module(self, module: types.ModuleType) -> None:
        """Nothing to run: the module is loaded already; give it back its own spec."""
        spec = self._specs.pop(module.__spec__.name, None) if module.__spec__ else None
        if spec is not None:
            module.__spec__ = spec
