"""The benchmark suite runs end to end in its quick mode (no timing is asserted)."""

import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.e2e
def test_quick_benchmarks_execute(tmp_path):
    out, raw = tmp_path / "RESULTS.md", tmp_path / "results.json"
    proc = subprocess.run(
        [sys.executable, "benchmarks/run.py", "--quick", "--out", str(out), "--json", str(raw)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    text = out.read_text()
    for heading in ("## Kernel", "## Classic fit", "## Bootstrap", "## NUTS", "## Compilation"):
        assert heading in text
    assert "jax " in text and "numpyro " in text  # versions are recorded
    numbers = json.loads(raw.read_text())
    # the kernel agrees with its NumPy reference in the same run
    assert max(r["max_rel_err"] for r in numbers["kernel"] if "max_rel_err" in r) < 1e-12
    # the classic fit in the benchmark lands on the Epoch optimum
    assert abs(numbers["classic"]["objective"] / 0.0010183 - 1) < 5e-3


def test_nutpie_comparison_skips_without_pymc(tmp_path):
    """``make test``'s venv has no pymc/nutpie: the comparison says so and exits 0."""
    import importlib.util

    if importlib.util.find_spec("pymc") and importlib.util.find_spec("nutpie"):
        pytest.skip("pymc and nutpie are installed here: `make bench-nutpie` runs the real thing")
    out = tmp_path / "RESULTS.md"
    proc = subprocess.run(
        [sys.executable, "benchmarks/nutpie_compare.py", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "skipped: cannot import" in proc.stderr and "make bench-nutpie" in proc.stderr
    assert not out.exists()  # nothing measured, nothing written


def test_nutpie_comparison_model_matches_bayescale_priors():
    """The PyMC model's priors are bayescale's defaults: equal log densities, per likelihood."""
    import importlib.util

    if importlib.util.find_spec("pymc") is None:
        pytest.skip("pymc not installed (the `bench` extra)")
    sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
    import numpy as np
    import pymc as pm
    from nutpie_compare import pymc_model

    import bayescale

    for likelihood in ("student_t", "gaussian"):
        model = pymc_model(np.zeros(3), np.zeros(3), np.zeros(3), likelihood)
        priors = bayescale.default_priors(likelihood)
        assert {rv.name for rv in model.free_RVs} == set(priors)
        for name, prior in priors.items():
            for value in (0.05, 0.4, 3.0, 250.0):
                ours = float(prior.log_prob(value))
                theirs = float(pm.logp(model[name], value).eval())
                assert np.isclose(ours, theirs, rtol=1e-6), (name, value)  # numpyro: float32


def test_write_section_replaces_its_own_block_and_keeps_the_rest(tmp_path):
    sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
    from _sections import write_section

    path = tmp_path / "RESULTS.md"
    start, end = "<!-- x:start -->", "<!-- x:end -->"
    write_section(path, f"{start}\nfirst\n{end}\n", start, end)  # a new file
    assert path.read_text() == f"{start}\nfirst\n{end}\n"
    path.write_text(f"# head\n\n{start}\nfirst\n{end}\n\ntail\n")
    write_section(path, f"{start}\nsecond\n{end}", start, end)
    assert path.read_text() == f"# head\n\n{start}\nsecond\n{end}\n\ntail\n"
    other = ("<!-- y:start -->", "<!-- y:end -->")
    write_section(path, f"{other[0]}\nnew\n{other[1]}", *other)  # appended, the rest kept
    assert path.read_text().endswith(f"tail\n\n{other[0]}\nnew\n{other[1]}\n")
    assert f"{start}\nsecond\n{end}" in path.read_text()


def test_drift_calibration_weights_and_moment_matched_predictive():
    """The calibration's hyperposterior: weights from the kept sweeps' joint scores, and a
    predictive whose level, tilt and misfit match the mixture's first two moments."""
    sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
    import numpy as np
    from extrapolation import hyper_weights, predictive_choice

    grid = [(0.1, 0.4, 0.5, 0.0), (0.3, 0.6, 1.0, 0.2)]
    table = {grid[0]: [0.0, 5.0, -1.0], grid[1]: [0.0, 5.0, 1.0]}
    # leaving out sweep 2 (the only one that tells them apart): equal weights
    np.testing.assert_allclose(hyper_weights(table, grid, 2), [0.5, 0.5])
    w = hyper_weights(table, grid, None)
    np.testing.assert_allclose(w, [1 / (1 + np.e**2), np.e**2 / (1 + np.e**2)])
    np.testing.assert_allclose(hyper_weights(table, grid, [0, 1]), w)
    level, tilt, misfit, mean = predictive_choice(np.array([0.5, 0.5]), grid)
    assert mean == pytest.approx(0.1)
    # a mixture of N(0, 0.1²) and N(0.2, 0.3²): variance E[s²] + Var[mean]
    assert level**2 == pytest.approx((0.01 + 0.09) / 2 + 0.01)
    assert tilt**2 == pytest.approx((0.16 + 0.36) / 2)
    assert misfit**2 == pytest.approx((0.25 + 1.0) / 2)
    # one choice with all the weight is that choice
    assert predictive_choice(np.array([0.0, 1.0]), grid) == pytest.approx(grid[1])


def test_sampler_report_counts_reported_ess_only_where_it_was_measured():
    """SAMPLER.md says "not measured" for rows without the reported quantities' ESS, and
    counts sets whose smallest bulk or tail ESS of N_opt, D_opt and loss is at least 400."""
    sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
    import sampler

    row = {
        "set": "s",
        "kind": "real",
        "runs": 10,
        "rhat": 1.0,
        "ess_bulk": 900.0,
        "ess_tail": 800.0,
        "divergences": 0,
        "saturated": 0,
        "draws": 4000,
        "steps": 15.0,
        "gradients": 1e5,
        "ess_per_gradient": 0.009,
        "attempts": 1,
        "final": {"warmup": 1000, "draws": 1000, "dense_mass": True},
        "wall_s": 1.0,
        "passed": True,
    }
    measured = [
        {**row, "reported_bulk": 500.0, "reported_tail": 450.0, "reported_worst": "loss@1e+25"},
        {**row, "reported_bulk": 500.0, "reported_tail": 399.0, "reported_worst": "N_opt@1e+21"},
    ]
    assert sampler.summary(measured)["real"]["reported_ok"] == 1
    assert sampler.summary([row])["real"]["reported_ok"] is None
    meta = {
        "machine": "m",
        "load_before": "0",
        "load_after": "0",
        "versions": "v",
        "when": "t",
        "quick": True,
        "seeds": 1,
    }
    text = sampler.report({"default": measured, "diag": [row]}, meta)
    assert "| 1/2 |" in text and "not measured" in text and "500/399 (N_opt@1e+21)" in text
