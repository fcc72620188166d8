"""Is one vmapped NUTS over many data sets faster than fitting them one after another?

Measures, in one process on the same simulated data sets (prior draws on the Chinchilla-like
design): (a) a Python loop of ``bayescale.fit`` — which reuses one compiled sampler for
every data set of the same shape and spreads each fit's chains over the host devices; (b)
one jitted sampler vmapped over data sets × chains (lockstep), split over the host devices
with pmap. Compile time is excluded from both (each is run once on other data first).
Run: ``python benchmarks/batching.py [n_datasets]``.
"""

from __future__ import annotations

import os
import sys
import time
import warnings

import jax
import jax.numpy as jnp
import numpy as np

import bayescale  # noqa: F401  (sets the host device count before JAX starts)
from bayescale.data import ScalingData
from bayescale.diagnostics import SamplingWarning
from bayescale.fit import FitSettings, _initial_values, fit
from bayescale.inference import ModelSpec, _kernel, unconstrain
from bayescale.priors import resolve_priors
from bayescale.simulate import chinchilla_design
from bayescale.validate import simulate_datasets

SITES = ["E", "alpha", "beta", "a_c", "b_c", "sigma"]


def batched_sampler(spec, priors, cfg, n_dev):
    init_kernel, sample_kernel = _kernel(spec)
    warmup, draws = cfg.warmup, cfg.draws

    def one(key, z0, log_N, log_D, log_loss):
        args = (log_N, log_D, log_loss)
        kwargs = {"priors": priors, "center": (jnp.mean(log_N), jnp.mean(log_D))}
        state = init_kernel(
            z0,
            warmup,
            target_accept_prob=cfg.target_accept,
            max_tree_depth=cfg.max_tree_depth,
            model_args=args,
            model_kwargs=kwargs,
            rng_key=key,
        )
        buf = jax.tree.map(lambda v: jnp.zeros((draws, *v.shape), v.dtype), z0)

        def body(i, carry):
            st, b = carry
            st = sample_kernel(st, model_args=args, model_kwargs=kwargs)
            j = jnp.maximum(i - warmup, 0)
            return st, jax.tree.map(lambda bb, v: bb.at[j].set(v), b, st.z)

        _, buf = jax.lax.fori_loop(0, warmup + draws, body, (state, buf))
        return buf

    vm = jax.vmap(one, in_axes=(0, 0, None, None, 0))
    return jax.pmap(vm, in_axes=(0, 0, None, None, 0)) if n_dev > 1 else jax.jit(vm)


def main(n_sets: int = 8) -> None:
    N, D = chinchilla_design()
    priors = resolve_priors(None)
    _truths, losses = simulate_datasets(2 * n_sets, priors, (N, D), seed=123)
    sets = [ScalingData.from_arrays(N=N, D=D, loss=row, min_runs=1) for row in losses]
    warm, timed = sets[:n_sets], sets[n_sets:]
    cfg = FitSettings()
    chains = cfg.chains

    def loop(datasets):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SamplingWarning)
            for i, d in enumerate(datasets):
                fit(d, seed=i, progress_bar=False)

    loop(warm[:1])  # compile
    t = time.perf_counter()
    loop(timed)
    t_loop = time.perf_counter() - t

    spec = ModelSpec()
    n_dev = jax.local_device_count()
    total = n_sets * chains
    while total % n_dev:
        n_dev -= 1
    with jax.enable_x64(True):
        run = batched_sampler(spec, priors, cfg, n_dev)
        log_N, log_D = jnp.log(N), jnp.log(D)

        def inputs(datasets):
            zs, ys = [], []
            rng = np.random.default_rng(0)
            for d in datasets:
                center = (float(np.mean(d.log_N)), float(np.mean(d.log_D)))
                init = _initial_values(d, center)
                args = (log_N, log_D, jnp.asarray(d.log_loss))
                z = unconstrain(
                    spec,
                    args,
                    {"priors": priors, "center": center},
                    {k: jnp.asarray(init[k]) for k in SITES},
                )
                for _ in range(chains):
                    zs.append({k: z[k] + rng.uniform(-0.5, 0.5) for k in SITES})
                    ys.append(d.log_loss)
            z0 = {k: jnp.stack([z[k] for z in zs]) for k in SITES}
            y = jnp.asarray(np.stack(ys))
            keys = jax.random.split(jax.random.key(0), len(ys))
            shape = (n_dev, -1) if n_dev > 1 else (-1,)
            split = lambda v: v.reshape(*shape, *v.shape[1:])  # noqa: E731
            return split(keys), jax.tree.map(split, z0), split(y)

        keys, z0, y = inputs(warm)
        jax.block_until_ready(run(keys, z0, log_N, log_D, y))  # compile
        keys, z0, y = inputs(timed)
        t = time.perf_counter()
        jax.block_until_ready(run(keys, z0, log_N, log_D, y))
        t_batch = time.perf_counter() - t
    print(
        f"{n_sets} prior-drawn data sets x {chains} chains x ({cfg.warmup}+{cfg.draws}) on "
        f"{os.cpu_count()} cores, {jax.local_device_count()} host devices "
        f"(jax {jax.__version__}):"
    )
    print(f"  loop of fit():         {t_loop:7.1f} s  ({t_loop / n_sets:.2f} s per data set)")
    print(f"  one vmapped sampler:   {t_batch:7.1f} s  ({t_batch / n_sets:.2f} s per data set)")
    print(f"  ratio batched / loop:  {t_batch / t_loop:.2f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 8)
