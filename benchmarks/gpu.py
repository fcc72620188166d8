"""bayescale on an accelerator: default fit and many-data-set NUTS, timed (issue 24, item 6).

Run through ``benchmarks/gpu.sh`` (which installs the carried wheels and sets PYTHONPATH); see
``benchmarks/GPU.md``. Measures, each ``first`` (compile included) and ``warm`` (same call
again, compiled program reused):

(a) ``bayescale.fit(chinchilla, seed=0)``: the default fit of the bundled Chinchilla runs;
(b) ``bayescale.fit_many(sets, method="nuts", chains=4, seed=0)``: a pilot of a few synthetic
    data sets, then ``--sets`` of them (``simulate_runs`` on ``chinchilla_design(n_sizes=12)``,
    59 runs each), with fits per second and how many passed their diagnostics.

Every step runs under a watchdog within ``--budget-s`` (from process start): a step predicted
not to fit is skipped, a step that overruns ends the script with what it has; on CPU (the
chains run one after another there) ``--sets`` falls back to what fits. The report
(``--out``) is rewritten after every step, so a cut-off run still leaves its numbers.
"""

from __future__ import annotations

import argparse
import datetime
import importlib
import math
import os
import platform
import subprocess
import sys
import threading
import time
import warnings

T0 = time.perf_counter()
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
ESSENTIAL = ("numpy", "jax", "numpyro", "arviz_base", "arviz_stats")


def die(msg: str) -> None:
    print(f"gpu.py: {msg}", file=sys.stderr, flush=True)
    sys.exit(2)


def elapsed() -> float:
    return time.perf_counter() - T0


class Report:
    """The Markdown report, rewritten in full after every step."""

    def __init__(self, path: str, head: list[str]) -> None:
        self.path, self.head, self.rows, self.notes = path, head, [], []

    def row(self, *cells: object) -> None:
        self.rows.append("| " + " | ".join(str(c) for c in cells) + " |")
        self.write()

    def note(self, text: str) -> None:
        print(f"gpu.py: {text}", flush=True)
        self.notes.append(f"- {text}")
        self.write()

    def write(self) -> None:
        lines = [
            *self.head,
            "",
            "| step | data sets | chains | wall (s) | sampler (s) | fits/s | diagnostics ok |",
            "|---|---:|---:|---:|---:|---:|---:|",
            *self.rows,
            "",
            *self.notes,
            f"- total wall of benchmarks/gpu.py so far: {elapsed():.1f} s",
            "",
        ]
        os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
        with open(self.path, "w") as fh:
            fh.write("\n".join(lines))


def watched(fn, limit: float):
    """``fn()`` and its wall time, or None if it is still running after ``limit`` seconds."""
    box: dict = {}

    def work() -> None:
        try:
            t = time.perf_counter()
            box["value"] = fn()
            box["wall"] = time.perf_counter() - t
        except BaseException as e:  # re-raised in the main thread
            box["error"] = e

    th = threading.Thread(target=work, name="gpu-bench-step", daemon=True)
    th.start()
    th.join(max(limit, 1.0))
    if th.is_alive():
        return None
    if "error" in box:
        raise box["error"]
    return box["value"], box["wall"]


def nvidia_smi() -> str:
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=name,memory.total,driver_version", "--format=csv"],
            capture_output=True,
            text=True,
            timeout=20,
        )
        return "; ".join(out.stdout.strip().splitlines()[1:]) or "no output"
    except (OSError, subprocess.SubprocessError):
        return "not found"


def git_rev() -> str:
    try:
        rev = subprocess.run(
            ["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
        return (rev + (" + uncommitted changes" if dirty else "")) if rev else "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sets", type=int, default=1000, help="synthetic data sets for fit_many")
    p.add_argument("--n-sizes", type=int, default=12, help="model sizes per isoFLOP budget")
    p.add_argument("--pilot", type=int, default=None, help="pilot sets (default min(32, N//4))")
    p.add_argument("--budget-s", type=float, default=480.0, help="total time budget")
    p.add_argument("--allow-cpu", action="store_true", help="run on a CPU-only JAX (rehearsal)")
    p.add_argument("--out", default=None, help="report path (default by backend)")
    args = p.parse_args()
    if args.sets < 1:
        die("--sets must be >= 1")

    for name in ESSENTIAL:
        try:
            importlib.import_module(name)
        except ImportError as e:
            die(
                f"essential package {name} does not import ({e}); run `make gpu-wheels` where "
                "PyPI is reachable and carry .whl, or use benchmarks/gpu.sh, which installs it"
            )
    try:
        import bayescale
    except ImportError as e:
        die(f"bayescale does not import ({e}); put the repository on PYTHONPATH")
    import jax
    import numpy as np
    import numpyro

    from bayescale.checks.simulate import chinchilla_design, simulate_runs

    backend = jax.default_backend()
    if backend == "cpu" and not args.allow_cpu:
        die(f"JAX sees no accelerator (devices: {jax.devices()}); --allow-cpu to rehearse on CPU")
    rehearsal = backend == "cpu"
    out = args.out or os.path.join(
        HERE, "RESULTS-gpu-rehearsal-cpu.md" if rehearsal else "RESULTS-gpu.md"
    )
    dev = jax.devices()[0]
    optional = []
    for name in ("arviz_plots", "h5netcdf"):
        try:
            importlib.import_module(name)
        except ImportError:
            optional.append(f"{name} missing (not needed here)")

    def ver(mod: str) -> str:
        try:
            return importlib.import_module(mod).__version__
        except Exception:
            return "?"

    head = [
        "# bayescale on an accelerator (benchmarks/gpu.sh)"
        if not rehearsal
        else "# bayescale GPU benchmark: REHEARSAL ON CPU (no GPU; says nothing about GPU speed)",
        "",
        f"Machine: {dev.platform.upper()}: {dev.device_kind} ({len(jax.devices())} device(s), "
        f"backend {backend}); {os.cpu_count()} CPU cores; nvidia-smi: {nvidia_smi()}.",
        "",
        f"Versions: Python {platform.python_version()}, jax {jax.__version__}, "
        f"jaxlib {ver('jaxlib')}, numpyro {numpyro.__version__}, numpy {np.__version__}, "
        f"arviz-base {ver('arviz_base')}, arviz-stats {ver('arviz_stats')} "
        f"(from {os.path.dirname(os.path.dirname(sys.modules['arviz_stats'].__file__))}), "
        f"bayescale {bayescale.__version__} from {os.path.dirname(bayescale.__file__)} "
        f"(commit {git_rev()}). {'; '.join(optional)}",
        "",
        f"Run {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC: "
        f"`benchmarks/gpu.py {' '.join(sys.argv[1:])}` (budget {args.budget_s:.0f} s). "
        "Default settings: 4 chains x (1000 warmup + 1000 draws), float64, chain_method auto "
        "(vectorised on an accelerator, one chain after another on CPU). `wall`: the call, "
        "diagnostics included; `sampler`: the fit's own `timing['wall_s']`.",
    ]
    if rehearsal:
        head.insert(2, "**Rehearsal on CPU**: the backend was cpu. Not a GPU result.")
        head.insert(3, "")
    rep = Report(out, head)
    rep.write()
    print(f"gpu.py: {head[0][2:]}; writing {out}", flush=True)
    warnings.simplefilter("ignore", bayescale.SamplingWarning)  # counted from the results

    def remaining() -> float:
        return args.budget_s - elapsed()

    def stop(what: str) -> None:
        rep.note(f"stopped: {what} was still running at the budget ({args.budget_s:.0f} s)")
        rep.write()
        sys.stdout.flush()
        os._exit(0)  # the step's thread cannot be interrupted

    # (a) default fit of the bundled Chinchilla runs
    data = bayescale.load_dataset("chinchilla")
    rep.note(f"bundled data read from the source tree: chinchilla, {data.n_runs} runs")
    first_fit = None
    for label in ("first (compile included)", "warm"):
        if first_fit is not None and first_fit > remaining():
            rep.note(f"fit(chinchilla) {label} skipped: predicted over the budget")
            break
        got = watched(lambda: bayescale.fit(data, seed=0, progress_bar=False), remaining())
        if got is None:
            stop(f"fit(chinchilla) {label}")
        r, wall = got
        first_fit = first_fit or wall
        rep.row(
            f"fit(chinchilla) {label}",
            1,
            r.settings.chains,
            f"{wall:.2f}",
            f"{r.timing.get('wall_s', math.nan):.2f}",
            f"{1 / wall:.3f}",
            "yes" if r.diagnostics.ok else "no: " + " ".join(r.diagnostics.problems)[:120],
        )

    # (b) fit_many over synthetic data sets: a pilot, then --sets (or what fits)
    design = chinchilla_design(n_sizes=args.n_sizes)
    n_want = args.sets
    pilot = args.pilot or max(1, min(32, n_want // 4))
    pilot = min(pilot, n_want)
    t = time.perf_counter()
    sets = [simulate_runs(seed=s, design=design) for s in range(n_want)]
    rep.note(
        f"{n_want} synthetic data sets of {len(design[0])} runs each "
        f"(simulate_runs, Hoffmann parameters, sigma 0.01), "
        f"made in {time.perf_counter() - t:.1f} s"
    )

    def many(n: int, label: str, limit: float):
        got = watched(
            lambda: bayescale.fit_many(
                sets[:n], method="nuts", chains=4, seed=0, progress_bar=False
            ),
            limit,
        )
        if got is None:
            stop(f"fit_many({n} sets) {label}")
        fits, wall = got
        ok = sum(bool(f.diagnostics.ok) for f in fits)
        rep.row(
            f"fit_many nuts {label}",
            n,
            4 * n,
            f"{wall:.2f}",
            f"{fits[0].timing.get('wall_s', math.nan):.2f}",
            f"{n / wall:.2f}",
            f"{ok}/{n}",
        )
        return wall

    p_first = many(pilot, "pilot, first (compile included)", remaining())
    if p_first > remaining():
        rep.note("pilot warm run and the full run skipped: predicted over the budget")
        rep.write()
        return
    p_warm = many(pilot, "pilot, warm", remaining())
    compile_s = max(0.0, p_first - p_warm)
    per_set = p_warm / pilot
    n = n_want
    if n > pilot:
        # chains of one data set after another on CPU: time grows with the sets; on an
        # accelerator they run side by side, so the linear guess is only an upper bound
        linear = compile_s + 2 * n * per_set
        if linear > remaining() and rehearsal:
            n = int((remaining() - compile_s) / (2 * per_set))
            if n <= pilot:
                rep.note(
                    f"fit_many({n_want}) skipped: predicted {linear:.0f} s, over the budget; "
                    f"the pilot ({pilot} sets) stands for it"
                )
                rep.write()
                return
            rep.note(
                f"fell back to {n} of {n_want} sets: {n_want} were predicted to take "
                f"{linear:.0f} s (first + warm), over the {remaining():.0f} s left"
            )
        elif linear > remaining():
            rep.note(
                f"fit_many({n_want}) tried although a linear guess from the pilot says "
                f"{linear:.0f} s (first + warm) for {remaining():.0f} s left: vectorised chains "
                "grow slower than that; if it overruns, the pilot's rows are what there is"
            )
        first = many(n, "first (compile included)", remaining())
        if first - compile_s > remaining():
            rep.note(
                f"fit_many({n}) warm skipped: predicted {first - compile_s:.0f} s, over the budget"
            )
        else:
            many(n, "warm", remaining())
    stats = getattr(dev, "memory_stats", lambda: None)()
    if stats and "peak_bytes_in_use" in stats:
        rep.note(f"peak device memory in use: {stats['peak_bytes_in_use'] / 2**30:.2f} GiB")
    rep.note("done")
    print(open(out).read(), flush=True)


if __name__ == "__main__":
    main()
