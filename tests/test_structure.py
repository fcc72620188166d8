"""The module order is the data flow: each module imports only modules before it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "bayescale"

#: names (no imports) → data → laws (kernels, priors, optima) → model → sampler → posterior →
#: decisions → checks, I/O, reports, plots → the facade → CLI.
ORDER = (
    "choices",
    "units",
    "_checks",
    "data",
    "datasets",
    "likelihoods",
    "law",
    "optimum",
    "laws.base",
    "laws.chinchilla",
    "laws.kaplan",
    "laws.data_constrained",
    "laws.extrapolation",
    "laws",
    "priors",
    "model",
    "inference",
    "simulate",
    "settings",
    "diagnostics",
    "posterior",
    "decision_core",
    "decisions",
    "decision_tables",
    "_lbfgs",
    "classic",
    "fit",
    "many",
    "planning_tables",
    "planning",
    "io",
    "checking",
    "backtest",
    "calibration_result",
    "validate",
    "report",
    "plotting",
    "decision_text",
    "decision_report",
    "result",
    "",  # bayescale/__init__.py: the public names
    "cli_args",
    "cli",
    "__main__",
)
#: Heavy or optional libraries, and the only modules that may import them (inside a
#: function, so that `import bayescale` stays light).
EDGE = {
    "arviz_stats": {"diagnostics", "posterior", "checking", "backtest"},
    "arviz_base": {"checking", "io", "plotting"},
    "arviz_plots": {"plotting"},
    "arviz": set(),
    "matplotlib": {"plotting", "decision_report", "calibration_result"},
    "xarray": {"io"},
}


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).with_suffix("")
        parts = [p for p in rel.parts if p != "__init__"]
        out[".".join(parts)] = path
    return out


def _imports(path: Path) -> list[tuple[str, bool]]:
    """(imported module, at module level) for every import in the file."""
    tree = ast.parse(path.read_text())
    top = {id(n) for n in tree.body}
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(a.name, id(node) in top) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "bayescale":
                out += [(f"bayescale.{a.name}", id(node) in top) for a in node.names]
            else:
                out.append((node.module, id(node) in top))
    return out


def _internal(name: str, modules: dict[str, Path]) -> str | None:
    if name != "bayescale" and not name.startswith("bayescale."):
        return None
    rest = name.removeprefix("bayescale").removeprefix(".")
    while rest and rest not in modules:
        rest = rest.rpartition(".")[0]
    return rest


def test_order_lists_every_module():
    assert set(_modules()) == set(ORDER)


@pytest.mark.parametrize("module", ORDER)
def test_imports_only_modules_before_it(module):
    modules = _modules()
    rank = {m: i for i, m in enumerate(ORDER)}
    later = []
    for name, _ in _imports(modules[module]):
        target = _internal(name, modules)
        if target is not None and target != module and rank[target] > rank[module]:
            later.append(target)
    assert not later, f"bayescale.{module} imports modules after it: {sorted(set(later))}"


@pytest.mark.parametrize("module", ORDER)
def test_heavy_libraries_only_at_the_edges_and_lazily(module):
    bad = []
    for name, at_top in _imports(_modules()[module]):
        root = name.split(".")[0]
        if root in EDGE and (module not in EDGE[root] or at_top):
            bad.append(name)
        if name.startswith("jax._src"):
            bad.append(name)  # private JAX: no import-time side effects through it
    assert not bad, f"bayescale.{module} imports {bad}"


def test_every_module_has_its_test_module():
    tests = Path(__file__).resolve().parent
    covered_by = {"": "structure", "__main__": "cli"}  # the package's names; `python -m`
    missing = []
    for module in ORDER:
        name = covered_by.get(module, module.split(".")[0].lstrip("_"))
        if not (tests / f"test_{name}.py").is_file():
            missing.append(module)
    assert not missing, f"no tests/test_<module>.py for {missing}"
