"""Two versions of bayescale timed side by side: ``python benchmarks/versions.py OLD NEW``.

OLD and NEW are the Python interpreters of two virtual environments (e.g. a worktree of the
previous commit and this one). Each round runs one fresh process of each, alternating, so a
machine that speeds up or slows down during the run affects both alike (measured here: the
same unchanged kernel ran 20-30% slower in one ``make bench`` than in the one before it).
Each process times ``import bayescale``, the first fit (compile included) and the median of
three warm refits of the bundled Chinchilla runs: the default fit (its extrapolation check
included) and the same model without the check. Each round also times the command line,
``python -m bayescale fit --dataset chinchilla``, whole process, with a warm compilation
cache (one per version, filled by an untimed run before the first round).
Writes a Markdown block into ``benchmarks/RESULTS.md`` (kept by ``make bench``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

from _sections import write_section

HERE = os.path.dirname(os.path.abspath(__file__))
START, END = "<!-- versions:start -->", "<!-- versions:end -->"

SCRIPT = """
import json, statistics, time, warnings
t0 = time.perf_counter()
import bayescale
if hasattr(bayescale, "use_host_devices"):  # before issue 11 this happened on import
    bayescale.use_host_devices()
out = {"import": time.perf_counter() - t0}
warnings.simplefilter("ignore")
data = bayescale.load_dataset("chinchilla")
for name, kw in (("default", {}), ("no check", {"extrapolation_check": False})):
    t = time.perf_counter()
    r = bayescale.fit(data, seed=0, **kw)
    out[name + " first fit"] = time.perf_counter() - t
    warm = []
    for s in (1, 2, 3):
        t = time.perf_counter()
        r = bayescale.fit(data, seed=s, **kw)
        warm.append(time.perf_counter() - t)
    out[name + " warm fit"] = statistics.median(warm)
    out[name + " leapfrog steps/draw"] = float(r.stats["num_steps"].mean())
print(json.dumps(out))
"""


def run(python: str) -> dict[str, float]:
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    out = subprocess.run(
        [python, "-c", SCRIPT], capture_output=True, text=True, check=True, env=env, cwd="/"
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_cli(python: str, cache: str) -> float:
    """Wall of one ``bayescale fit --dataset chinchilla`` process with the cache ``cache``."""
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    env["BAYESCALE_CACHE_DIR"] = cache
    with tempfile.TemporaryDirectory() as cwd:  # the report it writes goes here
        t = time.perf_counter()
        subprocess.run(
            [python, "-m", "bayescale", "fit", "--dataset", "chinchilla"],
            capture_output=True,
            check=True,
            env=env,
            cwd=cwd,
        )
        return time.perf_counter() - t


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("old", help="python of the baseline environment")
    p.add_argument("new", help="python of the candidate environment")
    p.add_argument("--rounds", type=int, default=6)
    p.add_argument("--label", default="", help="what OLD and NEW are")
    p.add_argument("--out", default=os.path.join(HERE, "RESULTS.md"))
    args = p.parse_args()
    rows: dict[str, list[dict[str, float]]] = {"old": [], "new": []}
    with tempfile.TemporaryDirectory() as tmp:
        caches = {w: os.path.join(tmp, w) for w in rows}
        for which in rows:  # fill each version's compilation cache (untimed)
            run_cli(getattr(args, which), caches[which])
        load_before = os.getloadavg()
        for i in range(args.rounds):
            order = ("old", "new") if i % 2 == 0 else ("new", "old")
            for which in order:
                row = run(getattr(args, which))
                row["CLI fit --dataset chinchilla, warm cache (process wall)"] = run_cli(
                    getattr(args, which), caches[which]
                )
                rows[which].append(row)
        load_after = os.getloadavg()
    lines = [
        START,
        "## Version against version",
        "",
        f"{args.label} `benchmarks/versions.py`: {args.rounds} rounds, each one fresh process "
        "of each version in alternating order; medians (min–max) over rounds. "
        f"Load {' '.join(f'{x:.2f}' for x in load_before)} before, "
        f"{' '.join(f'{x:.2f}' for x in load_after)} after; 2 cores.",
        "",
        "| quantity | old | new | new / old |",
        "|---|---|---|---|",
    ]
    for key in rows["old"][0]:
        o = [r[key] for r in rows["old"]]
        n = [r[key] for r in rows["new"]]
        unit = "" if "steps" in key else " s"
        lines.append(
            f"| {key} | {statistics.median(o):.2f}{unit} ({min(o):.2f}–{max(o):.2f}) | "
            f"{statistics.median(n):.2f}{unit} ({min(n):.2f}–{max(n):.2f}) | "
            f"{statistics.median(n) / statistics.median(o):.2f} |"
        )
    lines.append(END)
    block = "\n".join(lines)
    write_section(args.out, block, START, END)
    print(block)


if __name__ == "__main__":
    sys.exit(main())
