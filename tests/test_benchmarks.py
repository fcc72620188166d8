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
