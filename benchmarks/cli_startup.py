"""Wall time of the command line's quick answers: ``--help`` and bad input (issue 14).

Each command runs in a fresh process (the installed ``bayescale`` entry point) ``--runs``
times; the table gives the median and the range, and whether JAX was imported (checked
with ``python -X importtime``, once per command). The goal is <= 0.8 s per answer.

``--before DIR`` also times another copy of the package (a directory holding a
``bayescale/`` folder, e.g. ``git archive OLD bayescale | tar -x -C DIR``), put first on
``PYTHONPATH``; the two alternate run by run, so both see the same load.

    python benchmarks/cli_startup.py [--runs 10] [--before DIR] [--out RESULTS.md]
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _sections import write_section

START, END = "<!-- cli-startup:start -->", "<!-- cli-startup:end -->"
COMMANDS = {
    "bayescale fit --help": ["fit", "--help"],
    "bayescale fit missing.csv": ["fit", "missing.csv"],
    "bayescale fit bad.csv": ["fit", "bad.csv"],
}


def _bad_csv(path: Path) -> None:
    # a non-numeric N on line 3: the CSV check must answer it before the sampler loads
    rows = [f"{10 ** (8 + i / 5)},{10 ** (10 - i / 7)},{2 + i / 10}" for i in range(10)]
    rows[1] = "x" + rows[1][rows[1].index(",") :]
    path.write_text("N,D,loss\n" + "\n".join(rows) + "\n")


def _entry_point() -> list[str]:
    exe = Path(sys.executable).with_name("bayescale")
    return [str(exe)] if exe.is_file() else [sys.executable, "-m", "bayescale"]


def _env(pythonpath: str | None) -> dict[str, str]:
    env = dict(os.environ)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath  # ahead of the editable install
    return env


def _imports_jax(argv: list[str], cwd: str, env: dict[str, str]) -> bool:
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "bayescale", *argv],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    # lines read "import time: self | cumulative | <indent>module"
    return any(line.split("|")[-1].strip() == "jax" for line in proc.stderr.splitlines())


def _load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--before", help="directory with the old bayescale/ to compare with")
    ap.add_argument("--before-label", default="before", help="its name in the table")
    ap.add_argument("--out", help="write the table into this Markdown file (its own section)")
    args = ap.parse_args()
    versions = {"this tree": None}
    if args.before:
        versions = {args.before_label: str(Path(args.before).resolve()), **versions}
    exe = _entry_point()
    load_before = _load()
    walls: dict[tuple[str, str], list[float]] = {}
    last: dict[tuple[str, str], subprocess.CompletedProcess] = {}
    jax: dict[tuple[str, str], bool] = {}
    with tempfile.TemporaryDirectory() as tmp:
        _bad_csv(Path(tmp) / "bad.csv")
        for label, argv in COMMANDS.items():
            for _ in range(args.runs):
                for version, path in versions.items():  # alternate: the same load for both
                    t0 = time.perf_counter()
                    proc = subprocess.run(
                        [*exe, *argv],
                        cwd=tmp,
                        capture_output=True,
                        text=True,
                        check=False,
                        env=_env(path),
                    )
                    walls.setdefault((label, version), []).append(time.perf_counter() - t0)
                    last[label, version] = proc
            for version, path in versions.items():
                jax[label, version] = _imports_jax(argv, tmp, _env(path))
    load_after = _load()
    date = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        START,
        f"## Command-line answers before JAX ({date})",
        "",
        "`python benchmarks/cli_startup.py"
        + (f" --before DIR ({args.before_label})" if args.before else "")
        + f"`: each command {args.runs} times in a fresh process through the installed "
        "entry point, versions alternating run by run; median (min–max). Machine: "
        f"{platform.node()}, {os.cpu_count()} cores, python {platform.python_version()}; "
        f"load {load_before} before, {load_after} after"
        + (
            " (**under load**: 1-minute load above 1.5)"
            if max(float(load_before.split()[0]), float(load_after.split()[0])) > 1.5
            else ""
        )
        + ". Goal: <= 0.8 s.",
        "",
        "| command | version | median | min–max | exit | jax imported | answer |",
        "|---|---|---|---|---|---|---|",
    ]
    for label in COMMANDS:
        for version in versions:
            w = walls[label, version]
            proc = last[label, version]
            answer = (proc.stderr.strip() or proc.stdout.strip().splitlines()[0])[:60]
            lines.append(
                f"| `{label}` | {version} | {statistics.median(w):.2f} s | "
                f"{min(w):.2f}–{max(w):.2f} s | {proc.returncode} | "
                f"{'yes' if jax[label, version] else 'no'} | {answer.replace('|', '/')} |"
            )
    lines.append(END)
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        write_section(args.out, text, START, END)


if __name__ == "__main__":
    main()
