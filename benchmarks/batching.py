"""Is one batched NUTS over many data sets faster than fitting them one after another?

Measures, in one process on the same simulated data sets (prior draws on the Chinchilla-like
design): (a) a Python loop of ``bayescale.fit``, which reuses one compiled sampler for every
data set of the same shape and spreads each fit's chains over the host devices; (b)
``bayescale.fit_many(method="nuts")``, whose chains of all data sets share one compiled
sampler (each chain carrying its own data set). Compile time is excluded from both (each
is run once on other data first). Run: ``python benchmarks/batching.py [n_datasets]``.
"""

from __future__ import annotations

import os
import sys
import time
import warnings

import bayescale

bayescale.use_host_devices()  # chains on CPU host devices, as the CLI runs them

import jax  # noqa: E402

from bayescale.checks.simulate import chinchilla_design, simulate_datasets  # noqa: E402
from bayescale.data.scaling_data import ScalingData  # noqa: E402
from bayescale.inference.priors import default_priors  # noqa: E402


def main(n_sets: int = 8) -> None:
    N, D = chinchilla_design()
    _truths, losses = simulate_datasets(2 * n_sets, default_priors(), (N, D), seed=123)
    sets = [
        ScalingData.from_arrays(N=N, D=D, loss=row, min_runs=1, loss_kind="loss") for row in losses
    ]
    warm, timed = sets[:n_sets], sets[n_sets:]
    settings = bayescale.FitSettings()

    def loop(datasets):
        for i, d in enumerate(datasets):
            bayescale.fit(d, seed=i, progress_bar=False)

    def batch(datasets):
        bayescale.fit_many(datasets, method="nuts", progress_bar=False)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bayescale.SamplingWarning)
        timings = {}
        for name, run in (("loop", loop), ("batch", batch)):
            run(warm if name == "batch" else warm[:1])  # compile
            t = time.perf_counter()
            run(timed)
            timings[name] = time.perf_counter() - t
    print(
        f"{n_sets} prior-drawn data sets x {settings.chains} chains x "
        f"({settings.warmup}+{settings.draws}) on {os.cpu_count()} cores, "
        f"{jax.local_device_count()} host devices (jax {jax.__version__}):"
    )
    for name, label in (("loop", "loop of fit()"), ("batch", "fit_many(method='nuts')")):
        t = timings[name]
        print(f"  {label:25s} {t:7.1f} s  ({t / n_sets:.2f} s per data set)")
    print(f"  ratio batched / loop:     {timings['batch'] / timings['loop']:.2f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 8)
