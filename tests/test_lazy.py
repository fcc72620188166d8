"""Names found on first use, and the module paths of the flat layout (bayescale._lazy)."""

import importlib
import subprocess
import sys

import pytest

import bayescale
from bayescale._lazy import MOVED

#: Old paths the README, notebooks and benchmarks documented, with a name each held.
DOCUMENTED = [
    ("bayescale.backtest", "evaluate"),
    ("bayescale.backtest", "extrapolation_check"),
    ("bayescale.backtest", "split_holdout"),
    ("bayescale.backtest", "CHECK_WARM_START"),
    ("bayescale.report", "predictions"),
    ("bayescale.simulate", "chinchilla_design"),
    ("bayescale.simulate", "simulate_runs"),
    ("bayescale.fit", "prepare"),
    ("bayescale.law", "log_loss_elementwise"),
    ("bayescale.law", "ChinchillaParams"),
    ("bayescale.law", "huber_objective"),
    ("bayescale.optimum", "log_n_opt"),
    ("bayescale.validate", "realistic_truths"),
    ("bayescale.priors", "noise_priors"),
    ("bayescale.planning", "preposterior_scores"),
    ("bayescale.units", "register_accelerator"),
    ("bayescale.model", "ModelSpec"),
    ("bayescale.inference", "trace_counts"),
    ("bayescale.inference", "use_host_devices"),
    ("bayescale.data", "CheckpointWarning"),
    ("bayescale.data", "read_points"),
    ("bayescale.classic", "fit_classic_batch"),
    ("bayescale.decisions", "loss_profile"),
    ("bayescale.cli", "main"),
    ("bayescale.io", "FORMAT"),
    ("bayescale.datasets", "load_dataset"),
    ("bayescale.checking", "predictive_draws"),
    ("bayescale.decision_report", "build_report"),
    ("bayescale.cli_args", "build_parser"),
]


@pytest.mark.parametrize(("path", "name"), DOCUMENTED)
def test_documented_old_paths_still_import(path, name):
    assert getattr(importlib.import_module(path), name) is not None


@pytest.mark.parametrize("old", sorted(MOVED))
def test_an_old_path_is_the_module_at_its_new_path(old):
    module = importlib.import_module(f"bayescale.{old}")
    targets = [importlib.import_module(f"bayescale.{t}") for t in MOVED[old]]
    if len(targets) == 1:
        assert module is targets[0]
        assert module.__spec__.name == targets[0].__name__  # its own spec, not the alias's
    else:  # a view over the modules it was split into
        for target in targets:
            for name in getattr(target, "__all__", ()):
                assert getattr(module, name) is getattr(target, name)


def test_old_paths_keep_the_functions_of_the_same_name():
    importlib.import_module("bayescale.fit")
    importlib.import_module("bayescale.backtest")
    assert callable(bayescale.fit) and bayescale.fit.__module__ == "bayescale.result"
    assert bayescale.backtest.__module__ == "bayescale.result"


def test_every_public_name_resolves():
    assert len(bayescale.__all__) == 50  # the 49 names and __version__
    for name in bayescale.__all__:
        assert getattr(bayescale, name) is not None


def test_unknown_names_raise_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        bayescale.inference.nope  # noqa: B018
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        importlib.import_module("bayescale.law").nope  # noqa: B018
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("bayescale.nope")


def test_a_wing_gives_its_submodules_without_loading_the_forwarded_module():
    code = (
        "import sys; from bayescale.data import validation, units;"
        "from bayescale.inference import settings as _;"  # settings needs the sampler
        "from bayescale.cli import args;"
        "print(sorted(m for m in ('bayescale.cli.commands', 'bayescale.data.scaling_data')"
        " if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_old_paths_import_in_a_fresh_process():
    code = (
        "from bayescale.simulate import chinchilla_design;"
        "from bayescale.backtest import evaluate;"
        "import bayescale.report;"
        "print(bayescale.report.predictions.__module__)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "bayescale.report.summaries"
