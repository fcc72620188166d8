"""Execute the jupytext notebooks and write the ``.ipynb`` beside each (``make notebooks``).

Usage: ``python notebooks/build.py [--fast] [--check] [NAME ...]``.

``--fast`` sets ``BAYESCALE_FAST=1``, which the notebooks read to shrink sample counts (the
test suite runs them this way); the committed ``.ipynb`` come from a full run. ``--check``
executes without writing (what the tests do).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def notebooks(names: list[str] | None = None) -> list[Path]:
    """The percent-format sources, in order (``01_*.py``, ``02_*.py``, ...)."""
    paths = sorted(p for p in HERE.glob("[0-9][0-9]_*.py"))
    if names:
        paths = [p for p in paths if any(n in p.name for n in names)]
    return paths


def execute(path: Path, *, timeout: int = 1200) -> object:
    """Run one notebook top to bottom in a fresh kernel; returns the executed notebook."""
    import jupytext
    from nbclient import NotebookClient

    nb = jupytext.read(path)
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    client = NotebookClient(
        nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(HERE)}}
    )
    client.execute()
    return nb


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("names", nargs="*")
    parser.add_argument("--fast", action="store_true")
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    if args.fast:
        os.environ["BAYESCALE_FAST"] = "1"
    import nbformat

    for path in notebooks(args.names):
        start = time.perf_counter()
        nb = execute(path)
        if not args.check:
            nbformat.write(nb, path.with_suffix(".ipynb"))
        print(f"{path.name}: executed in {time.perf_counter() - start:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
