"""One section of a Markdown results file, owned by one benchmark script.

Each script writes its block between ``<!-- name:start -->`` and ``<!-- name:end -->``
(the block includes both markers) and leaves the rest of the file as it was.
"""

from __future__ import annotations

from pathlib import Path


def write_section(path: str | Path, block: str, start: str, end: str) -> None:
    """Replace the block between ``start`` and ``end`` in ``path``, or append it."""
    path = Path(path)
    old = path.read_text(encoding="utf-8") if path.is_file() else ""
    block = block.rstrip("\n")
    if start in old and end in old:
        new = old[: old.index(start)] + block + old[old.index(end) + len(end) :]
    else:
        new = old.rstrip("\n") + ("\n\n" if old.strip() else "") + block + "\n"
    path.write_text(new, encoding="utf-8")
