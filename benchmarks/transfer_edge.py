"""Where does the drift start? The data's edge by support, a study for issue 25 (not shipped).

The shipped drift starts at the largest log(N·D) of any fitted run (``data_edges``), so one
run far out in compute — an over-trained small model, say — moves the edge for every model
size and the drift beyond it nearly vanishes (``benchmarks/edge_one_run.py``: on Marin comma
one added run took the 90% intervals of the 3e20 budget from 15 of 15 runs held to 2 of 15).
This study scores an edge that needs *support*: the largest log(N·D) of a fitted run that has
a run of another model size within ``w`` nats of its compute (so a lone far run does not
count; an isoFLOP budget with several sizes, or a ladder's neighbouring sizes, does). The
edge stays one number per fit, so the drift stays constant along an isoFLOP line and every
optimum keeps its solver. The price: a lone far run lies beyond the edge although it was
fitted (the fit's invariant that fitted runs have u = 0 no longer holds for it).

On every split of ``make extrapolation`` (its saved fits, ``benchmarks/transfer_raw``), with
the constants chosen there on every source (``EXTRAPOLATION.choices.json``, ``all``; so the
rows are **in-sample** and comparable with one another, not with the leave-one-source-out
numbers of EXTRAPOLATION.md), the fit and the check's refit take each rule's edge, the
check's runs update the drift, and the held-out runs are scored as in
``benchmarks/transfer.py``. Writes ``benchmarks/EXTRAPOLATION-edge.md``; about 5 minutes
per rule::

    .venv/bin/python benchmarks/transfer_edge.py
"""

from __future__ import annotations

import datetime
import json
import math
import platform
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import transfer as T
from extrapolation import shared_dir

import bayescale

bayescale.use_host_devices()

import jax  # noqa: E402
import numpy as np  # noqa: E402

import bayescale.inference.posterior as posterior_module  # noqa: E402
from bayescale.laws.extrapolation import EDGE, data_edges  # noqa: E402

OUT = Path(__file__).with_name("EXTRAPOLATION-edge.md")
#: Windows (nats of compute) within which another model size supports a run's compute.
WINDOWS = (math.log(2.0), math.log(4.0))


def supported_edges(log_n: Any, log_d: Any, window: float) -> dict[str, float]:
    """``data_edges`` with the compute edge at the largest supported run (see the module)."""
    out = data_edges(log_n, log_d)
    log_n = np.asarray(log_n, dtype=np.float64)
    log_c = log_n + np.asarray(log_d, dtype=np.float64)
    other_size = np.abs(log_n[:, None] - log_n[None, :]) > 1e-9
    near = np.abs(log_c[:, None] - log_c[None, :]) <= window
    supported = (other_size & near).any(axis=1)
    if supported.any():
        out[EDGE] = float(log_c[supported].max())
    return out


def rules() -> dict[str, Any]:
    """Each edge rule by name: a function of (log N, log D) as ``data_edges`` is."""
    out: dict[str, Any] = {"largest run (shipped)": data_edges}
    for w in WINDOWS:
        out[f"supported within {math.exp(w):g}x compute"] = lambda n, d, w=w: supported_edges(
            n, d, w
        )
    return out


def main() -> int:
    warnings.simplefilter("ignore")
    t0 = time.perf_counter()
    splits = T.load_splits(T.RAW, shared_dir(None))
    cfg = json.loads(OUT.with_name("EXTRAPOLATION.choices.json").read_text())["all"]
    bins: dict[str, dict[str, Any]] = {}
    per_sweep: dict[str, dict[str, list[float]]] = {}
    moved: dict[str, list[tuple[str, str, float]]] = {}
    for name, rule in rules().items():
        posterior_module.data_edges = rule  # what Posterior.theta computes the edges with
        rows = []
        moved[name] = []
        for i, sp in enumerate(splits):
            sp.log_lik = {}  # the check's grid likelihood depends on the edge
            # the fit's edge, and the edge of the check's refit (its past runs)
            for what, runs in (("fit", sp.train), ("check", sp.past.data)):
                log_n, log_d = np.log(runs.N), np.log(runs.D)
                shift = data_edges(log_n, log_d)[EDGE] - rule(log_n, log_d)[EDGE]
                if shift > 1e-9:
                    moved[name].append((sp.sweep, f"{sp.label} ({what})", shift))
            scores = T.run_scores(T.predictive(sp, cfg, True), sp)
            rows.append((sp, scores))
            per_sweep.setdefault(name, {}).setdefault(sp.sweep, []).extend(
                np.asarray(scores["in90"], dtype=float).tolist()
            )
            if i % 10 == 9:
                jax.clear_caches()
        bins[name] = T.gather(rows)
        print(f"[{time.perf_counter() - t0:4.0f}s] {name}: {len(moved[name])} edges moved")
    posterior_module.data_edges = data_edges
    OUT.write_text(report(bins, per_sweep, moved, cfg, time.perf_counter() - t0))
    print(OUT.read_text())
    return 0


def report(
    bins: dict[str, dict[str, Any]],
    per_sweep: dict[str, dict[str, list[float]]],
    moved: dict[str, list[tuple[str, str, float]]],
    cfg: dict[str, float],
    seconds: float,
) -> str:
    out = [
        "# Where does the drift start? The edge by support (issue 25 study, not shipped)",
        "",
        f"Generated by `benchmarks/transfer_edge.py` on {datetime.date.today()} "
        f"({platform.machine()}, jax {jax.__version__}) in {seconds / 60:.1f} min, from the "
        "fits of `make extrapolation`. Constants: those chosen on every source "
        f"(`{json.dumps(cfg)}`); **in-sample**, so compare the rows with one another. "
        "Interval score = width + 20 × miss (90%); lpd = median log predictive density. "
        "Bins by C_run / C_largest fitted run, as in EXTRAPOLATION.md.",
        "",
        *T.bin_table(bins, "edge"),
    ]
    names = list(per_sweep)
    out += [
        "",
        "## 90% coverage per sweep (all its splits' held-out runs)",
        "",
        "| sweep | " + " | ".join(names) + " |",
        "|---|" + "---|" * len(names),
    ]
    for sweep in per_sweep[names[0]]:
        cells = [f"{np.mean(per_sweep[n][sweep]):.2f}" for n in names]
        out.append(f"| {sweep} | " + " | ".join(cells) + " |")
    out += [
        "",
        "## Edges that moved (nats of compute below the largest run)",
        "",
        "The fit's edge (its training runs) and the check's (the refit of its past runs, "
        "whose edge decides how the check's future runs update the drift).",
        "",
    ]
    for name, rows in moved.items():
        text = "; ".join(f"{s} {lbl} {v:.2f}" for s, lbl, v in rows) if rows else "none"
        out.append(f"- {name}: {len(rows)}: {text}")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    sys.exit(main())
