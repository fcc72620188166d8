"""Monte Carlo error of the drift calibration in ``extrapolation.py``.

The calibration weighs each grid choice of (s_λ, s_τ, k, μ_λ) by the joint density of a
sweep's held-out runs, estimated from the fit's 4,000 draws, each with one draw of the
drift's standard normals. Few draws carry that estimate on some sweeps, so this script
redraws the standard normals (``--sets`` fresh sets, the law's draws kept), recomputes the
all-sweep predictive for each set and for all sets pooled, and prints them beside the one
the benchmark computes (set 0: the fit's own draws). About 17 minutes on one core::

    .venv/bin/python benchmarks/drift_mc_error.py [--sets 4] [--shared PATH]
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
import warnings
from pathlib import Path

import numpy as np

import bayescale
from bayescale.inference.likelihoods import log_mean_exp
from bayescale.laws.extrapolation import MEANS, SCALES

sys.path.insert(0, str(Path(__file__).resolve().parent))
import extrapolation as X


def redrawn(fit: bayescale.FitResult, z: np.ndarray) -> bayescale.FitResult:
    """The fit with its drift's standard normals replaced by ``z`` (2, chains, draws)."""
    samples = dict(fit.samples)
    for i, p in enumerate(("drift_level", "drift_tilt")):
        samples[p] = MEANS[p] + SCALES[p] * z[i]
    return dataclasses.replace(fit, samples=samples)


def main(argv: list[str] | None = None) -> int:
    """Print the all-sweep predictive for each set of drift draws and for all pooled."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--sets", type=int, default=4, help="fresh sets of drift draws")
    ap.add_argument("--shared", help="the shared data folder (default <repo>/../shared)")
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore", bayescale.SamplingWarning)
    root = X.shared_dir(args.shared)
    sweeps = X.isoflop_sweeps(root / X.ISOFLOPS) + X.bundled_sweeps()
    grid = X.calibration_grid()
    # joint[s][c]: per sweep, the joint log density under draw set s (0: the fit's own)
    joint = np.empty((args.sets + 2, len(sweeps), len(grid)))
    for i, sw in enumerate(sweeps):
        t0 = time.perf_counter()
        fit = bayescale.fit(sw.train, progress_bar=False, extrapolation_check=False)
        shape = fit.samples["drift_level"].shape
        fits = [fit] + [
            redrawn(fit, np.random.default_rng([s, 99]).standard_normal((2, *shape)))
            for s in range(1, args.sets + 1)
        ]
        for j, c in enumerate(grid):
            sums = []
            for s, f in enumerate(fits):
                ll = X.with_scales(f, *c).log_likelihood(sw.test)
                ll = ll.reshape(-1, ll.shape[-1]).sum(axis=1)
                joint[s, i, j] = float(log_mean_exp(ll[:, None])[0])
                if s > 0:
                    sums.append(ll)
            joint[-1, i, j] = float(log_mean_exp(np.concatenate(sums)[:, None])[0])
        print(f"{sw.name}: {time.perf_counter() - t0:.0f} s", flush=True)
    names = ["0 (the benchmark's)", *map(str, range(1, args.sets + 1)), f"1-{args.sets} pooled"]
    print("\n| draw set | s_λ | s_τ | k | μ_λ | effective choices |\n|---|---|---|---|---|---|")
    for name, t in zip(names, joint, strict=True):
        table = {c: list(t[:, j]) for j, c in enumerate(grid)}
        w = X.hyper_weights(table, grid, None)
        pick = X.predictive_choice(w, grid)
        print(f"| {name} | " + " | ".join(f"{v:.3f}" for v in pick) + f" | {1 / (w @ w):.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
