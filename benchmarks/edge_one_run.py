"""One run far out in compute moves the drift's edge for every model size (issue 25/26 finding).

Marin's comma sweep as ``benchmarks/planning.py`` sets it up: the pool is every run below the
top budget, the seed its cheapest quarter, the test the top budget's runs. Fits the seed
alone, then the seed plus the pool's most expensive run (an over-trained small model), and
prints each fit's 90% predictive intervals for the test runs: median width, coverage and the
errors (observed minus predictive median, in log loss, by N). ``--supported W`` takes the
edge that ``benchmarks/transfer_edge.py`` studies instead (a run counts only with another
model size within W× its compute). About a minute::

    .venv/bin/python benchmarks/edge_one_run.py [--sweep NAME] [--supported 2]
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import planning
from extrapolation import shared_dir

import bayescale
from bayescale.checks.model_checks import predictive_draws


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--sweep", default="marin comma")
    ap.add_argument("--shared", help="the shared data folder (default ../shared)")
    ap.add_argument("--supported", type=float, help="the supported edge's window (× compute)")
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    if args.supported:
        import math

        import transfer_edge

        import bayescale.inference.posterior as posterior_module

        w = math.log(args.supported)
        posterior_module.data_edges = lambda n, d: transfer_edge.supported_edges(n, d, w)
    task = planning.sweep_tasks(shared_dir(args.shared), [args.sweep])[0]
    pool, test = task.pool, task.test
    seed, _ = planning.seed_split(pool.C)
    big = int(np.argmax(pool.C))
    print(
        f"{args.sweep}: seed {len(seed)} runs up to {pool.C[seed].max():.3g} FLOPs; the pool's "
        f"largest run N {pool.N[big]:.3g}, D {pool.D[big]:.3g}, C {pool.C[big]:.3g}; test: "
        f"{len(test)} runs at {task.target:.3g} FLOPs, N {test.N.min():.3g}-{test.N.max():.3g}"
    )
    by_n = np.argsort(test.N)
    for name, idx in (("seed", seed), ("seed + largest", np.append(seed, big))):
        mask = np.zeros(len(pool), bool)
        mask[idx] = True
        fit = bayescale.fit(pool.subset(mask), seed=1, progress_bar=False)
        rep = predictive_draws(fit, test, seed=0)
        lo, med, hi = np.quantile(rep, [0.05, 0.5, 0.95], axis=0)
        y = test.log_loss
        inside = (y >= lo) & (y <= hi)
        print(
            f"{name}: median 90% width {np.median(hi - lo):.3f}, {inside.sum()} of {len(y)} "
            f"inside; errors by N {np.round((y - med)[by_n], 3).tolist()}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
