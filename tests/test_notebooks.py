"""Every tutorial notebook runs end to end (with BAYESCALE_FAST=1 shrinking sample counts)."""

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "notebooks"))
import build  # noqa: E402

NOTEBOOKS = build.notebooks()


@pytest.mark.e2e
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_executes(path, monkeypatch):
    monkeypatch.setenv("BAYESCALE_FAST", "1")
    nb = build.execute(path, timeout=600)
    errors = [
        out
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
        if out.get("output_type") == "error"
    ]
    assert not errors


def test_executed_copy_is_in_sync_with_its_source():
    import jupytext
    import nbformat

    for path in NOTEBOOKS:
        ipynb = path.with_suffix(".ipynb")
        assert ipynb.exists(), f"run `make notebooks` to create {ipynb.name}"
        source = [c.source for c in jupytext.read(path).cells if c.cell_type == "code"]
        executed = nbformat.read(ipynb, as_version=4)
        committed = [c.source for c in executed.cells if c.cell_type == "code"]
        assert committed == source, f"{ipynb.name} is stale: run `make notebooks`"
        assert all(c.get("outputs") is not None for c in executed.cells if c.cell_type == "code")
