"""The folder tree is the data flow: each wing imports only wings before it, each module
only modules before it, imports inside functions included."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "bayescale"
TESTS = Path(__file__).resolve().parent

#: The wings in data-flow order: data → laws → inference → classic → decisions → checks →
#: report → the facade → CLI. Top-level modules are wings of their own ("" is the package's
#: ``__init__``, the public names).
WINGS = (
    "_lazy",
    "choices",
    "data",
    "laws",
    "inference",
    "classic",
    "decisions",
    "checks",
    "report",
    "result",
    "",
    "cli",
    "__main__",
)
#: Every module in import order, wing by wing (a wing's ``__init__`` is named by the wing).
ORDER = (
    "_lazy",
    "choices",
    # data
    "data",
    "data.units",
    "data.validation",
    "data.scaling_data",
    "data.datasets",
    # laws
    "laws.optimum",
    "laws.base",
    "laws.chinchilla",
    "laws.kaplan",
    "laws.data_constrained",
    "laws.extrapolation",
    "laws",
    # inference
    "inference",
    "inference.likelihoods",
    "inference.priors",
    "inference.anchor",
    "inference.model",
    "inference.programs",
    "inference.sampler",
    "inference.settings",
    "inference.diagnostics",
    "inference.escalation",
    "inference.posterior",
    "inference.fit",
    "inference.storage",
    "inference.many",
    # classic
    "classic",
    "classic.objective",
    "classic.lbfgs",
    "classic.approach3",
    # decisions
    "decisions",
    "decisions.core",
    "decisions.budget",
    "decisions.tables",
    "decisions.planning_tables",
    "decisions.planning",
    "decisions.planning_refit",
    # checks
    "checks",
    "checks.simulate",
    "checks.model_checks",
    "checks.drift_update",
    "checks.backtest",
    "checks.calibration_result",
    "checks.calibration",
    # report
    "report",
    "report.blocks",
    "report.summaries",
    "report.plotting",
    "report.decision_text",
    "report.decision_report",
    "report.display",
    # the facade, the public names, the command line
    "result",
    "",
    "cli",
    "cli.args",
    "cli.commands",
    "__main__",
)
#: Heavy or optional libraries, and the only modules that may import them (inside a
#: function, so that `import bayescale` stays light).
EDGE = {
    "arviz_stats": {
        "inference.diagnostics",
        "inference.posterior",
        "checks.model_checks",
        "checks.backtest",
    },
    "arviz_base": {"checks.model_checks", "inference.storage", "report.plotting"},
    "arviz_plots": {"report.plotting"},
    "arviz": set(),
    "matplotlib": {"report.plotting", "report.decision_report", "checks.calibration_result"},
    "xarray": {"inference.storage"},
}
#: At most this many modules directly in bayescale/: the rest live in wings.
MAX_TOP_LEVEL = 8


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).with_suffix("")
        parts = [p for p in rel.parts if p != "__init__"]
        out[".".join(parts)] = path
    return out


def _imports(path: Path, module: str) -> list[tuple[str, bool]]:
    """(imported module, at module level) for every import in the file, relative ones too."""
    tree = ast.parse(path.read_text())
    top = {id(n) for n in tree.body}
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(a.name, id(node) in top) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = ["bayescale", *package[: len(package) - node.level + 1]]
                stem = ".".join([p for p in base if p] + ([node.module] if node.module else []))
            else:
                stem = node.module or ""
            if stem.startswith("bayescale"):
                # ``from bayescale.x import y`` may import the module bayescale.x.y
                out += [(f"{stem}.{a.name}", id(node) in top) for a in node.names]
            else:
                out.append((stem, id(node) in top))
    return out


def _internal(name: str, modules: dict[str, Path]) -> str | None:
    if name != "bayescale" and not name.startswith("bayescale."):
        return None
    rest = name.removeprefix("bayescale").removeprefix(".")
    while rest and rest not in modules:
        rest = rest.rpartition(".")[0]
    return rest


def _wing(module: str) -> str:
    return module if module in WINGS else module.split(".")[0]


def _edges() -> list[tuple[str, str]]:
    modules = _modules()
    edges = []
    for module, path in modules.items():
        for name, _ in _imports(path, module):
            target = _internal(name, modules)
            if target is not None and target != module and not module.startswith(f"{target}."):
                edges.append((module, target))
    return edges


def test_order_lists_every_module():
    assert set(_modules()) == set(ORDER)
    assert {_wing(m) for m in ORDER} == set(WINGS)
    ranks = [WINGS.index(_wing(m)) for m in ORDER]
    assert ranks == sorted(ranks), "ORDER must list the modules wing by wing, in WINGS order"


def test_few_modules_at_the_top():
    top = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(top) <= MAX_TOP_LEVEL, f"{len(top)} modules directly in bayescale/: {top}"


@pytest.mark.parametrize("wing", [w for w in WINGS if (PACKAGE / w / "__init__.py").is_file()])
def test_every_wing_says_what_it_holds_and_may_import(wing):
    doc = ast.get_docstring(ast.parse((PACKAGE / wing / "__init__.py").read_text()))
    assert doc and "import" in doc.lower(), f"bayescale/{wing}/__init__.py needs a docstring"
    for module in (m for m in ORDER if m.startswith(f"{wing}.")):
        assert module.split(".", 1)[1].split(".")[0] in doc, f"{wing}'s docstring omits {module}"


def test_wings_import_only_wings_before_them():
    rank = {w: i for i, w in enumerate(WINGS)}
    upward = sorted(
        {(a, b) for a, b in _edges() if rank[_wing(b)] > rank[_wing(a)]},
    )
    assert not upward, "wings importing wings after them: " + ", ".join(
        f"{a} -> {b}" for a, b in upward
    )
    pairs = {(_wing(a), _wing(b)) for a, b in _edges() if _wing(a) != _wing(b)}
    mutual = sorted((a, b) for a, b in pairs if (b, a) in pairs and a < b)
    assert not mutual, f"wings importing each other: {mutual}"


@pytest.mark.parametrize("module", ORDER)
def test_imports_only_modules_before_it(module):
    rank = {m: i for i, m in enumerate(ORDER)}
    later = sorted({b for a, b in _edges() if a == module and rank[b] > rank[module]})
    assert not later, f"bayescale.{module} imports modules after it: {later}"


def test_the_package_uses_no_old_flat_paths():
    """Old paths (bayescale.backtest, ...) work for users; the package imports the new ones."""
    from bayescale._lazy import MOVED

    old = sorted(
        (module, name)
        for module, path in _modules().items()
        for name, _ in _imports(path, module)
        if name.startswith("bayescale.") and name.split(".")[1] in MOVED
    )
    assert not old, f"imports through old flat paths: {old}"


@pytest.mark.parametrize("module", ORDER)
def test_heavy_libraries_only_at_the_edges_and_lazily(module):
    bad = []
    for name, at_top in _imports(_modules()[module], module):
        root = name.split(".")[0]
        if root in EDGE and (module not in EDGE[root] or at_top):
            bad.append(name)
        if name.startswith("jax._src"):
            bad.append(name)  # private JAX: no import-time side effects through it
    assert not bad, f"bayescale.{module} imports {bad}"


#: Modules whose tests live in another module's test file, and where.
COVERED_BY = {
    "": "test_structure.py",  # the package's names
    "_lazy": "test_lazy.py",
    "__main__": "cli/test_commands.py",  # `python -m bayescale`
    "laws": "laws/test_laws.py",  # the registry
    "laws.base": "laws/test_laws.py",  # Law, define_law and the registry are tested together
    "laws.chinchilla": "laws/test_laws.py",
    "laws.kaplan": "laws/test_laws.py",
    "laws.data_constrained": "laws/test_laws.py",
}


def _test_file(module: str) -> str:
    if module in COVERED_BY:
        return COVERED_BY[module]
    wing, _, rest = module.partition(".")
    if not rest:  # a top-level module, or a wing's __init__ (the names it forwards)
        return "test_lazy.py" if (PACKAGE / wing).is_dir() else f"test_{wing}.py"
    return f"{wing}/test_{rest.replace('.', '_')}.py"


def test_tests_mirror_the_tree():
    missing = [(m, _test_file(m)) for m in ORDER if not (TESTS / _test_file(m)).is_file()]
    assert not missing, f"modules without their test file: {missing}"
