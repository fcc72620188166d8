"""The straightforward NumPyro fit that bayescale's NUTS is compared with.

Raw parameters (log A, log B, alpha, beta, E, sigma) with bayescale's default priors,
``MCMC(NUTS(model))`` with default settings. Run as a script it is a fresh process that has
not imported bayescale, so JAX sees one CPU device and the chains run one after another,
as for a user who writes this model from scratch:

    python benchmarks/numpyro_baseline.py data.npz WARMUP DRAWS CHAINS

(``data.npz`` holds log_N, log_D, log_loss); it prints one line of JSON.
"""

from __future__ import annotations

import json
import math
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist
from numpyro.diagnostics import effective_sample_size
from numpyro.infer import MCMC, NUTS


def raw_model(log_N, log_D, log_loss=None):
    """The law with raw log A, log B and the same priors as bayescale's defaults."""
    E = numpyro.sample("E", dist.LogNormal(0.5, 0.75))
    log_A = numpyro.sample("log_A", dist.Normal(7.0, 3.0))
    log_B = numpyro.sample("log_B", dist.Normal(7.0, 3.0))
    alpha = numpyro.sample("alpha", dist.LogNormal(math.log(0.35), 0.6))
    beta = numpyro.sample("beta", dist.LogNormal(math.log(0.35), 0.6))
    sigma = numpyro.sample("sigma", dist.HalfNormal(0.1))
    pred = jnp.log(E + jnp.exp(log_A - alpha * log_N) + jnp.exp(log_B - beta * log_D))
    numpyro.sample("obs", dist.Normal(pred, sigma), obs=log_loss)


def run(log_N, log_D, log_loss, warmup: int, draws: int, chains: int, seed: int = 0) -> dict:
    """Fit with default MCMC settings (float64); wall includes numpyro's compile."""
    with jax.enable_x64(True):
        args = tuple(jnp.asarray(x, jnp.float64) for x in (log_N, log_D, log_loss))
        mcmc = MCMC(
            NUTS(raw_model),
            num_warmup=warmup,
            num_samples=draws,
            num_chains=chains,
            progress_bar=False,
        )
        t = time.perf_counter()
        mcmc.run(jax.random.key(seed), *args, extra_fields=("num_steps", "diverging"))
        jax.block_until_ready(mcmc.get_samples())
        wall = time.perf_counter() - t
        samples = {k: np.asarray(v) for k, v in mcmc.get_samples(group_by_chain=True).items()}
        extra = {k: np.asarray(v) for k, v in mcmc.get_extra_fields(group_by_chain=True).items()}
    return {
        "wall": wall,
        "ess_alpha": float(effective_sample_size(samples["alpha"])),
        "ess_beta": float(effective_sample_size(samples["beta"])),
        "steps": float(np.mean(extra["num_steps"])),
        "divergences": int(np.sum(extra["diverging"])),
        "devices": jax.local_device_count(),
    }


if __name__ == "__main__":
    import warnings

    warnings.simplefilter("ignore")  # numpyro's "not enough devices: sequential chains"
    d = np.load(sys.argv[1])
    w, n, c = (int(x) for x in sys.argv[2:5])
    print(json.dumps(run(d["log_N"], d["log_D"], d["log_loss"], w, n, c)))
