import os
import subprocess
import sys

import pytest


def _run(code: str, **env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if k not in ("XLA_FLAGS",)}
    out = subprocess.run(
        [sys.executable, "-c", code], env={**clean, **env}, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_import_leaves_xla_flags_and_devices_alone():
    # importing bayescale once rewrote XLA_FLAGS (through jax._src), changing the devices
    # every other JAX program in the process saw
    code = "import os, jax, bayescale; print(os.environ.get('XLA_FLAGS'), jax.device_count())"
    assert _run(code) == "None 1"


def test_use_host_devices_is_one_explicit_call():
    code = "import jax, bayescale; bayescale.use_host_devices(3); print(jax.device_count())"
    assert _run(code) == "3"
    code = "import jax, bayescale; print(bayescale.use_host_devices(), jax.device_count())"
    assert _run(code, BAYESCALE_HOST_DEVICES="0") == "0 1"


_LOWER_SAMPLER = """
import hashlib
import jax, jax.numpy as jnp
import bayescale  # noqa: F401
from bayescale.inference.sampler import NUTSSettings, _compiled, _sorted_fields
from bayescale.laws import CHINCHILLA
from bayescale.inference.model import ModelSpec
from bayescale.inference.priors import resolve_priors

jax.config.update("jax_enable_x64", True)
x = {"log_N": jnp.linspace(1.0, 2.0, 10), "log_D": jnp.linspace(1.0, 2.0, 10)}
center = {"log_N": jnp.float64(1.5), "log_D": jnp.float64(1.5)}
args = (x, jnp.linspace(1.0, 2.0, 10), None, center)
spec = ModelSpec(CHINCHILLA, "student_t")
kwargs = {"priors": resolve_priors(spec, None)[0], "fixed": {}}
init, _, _ = _compiled(spec, NUTSSettings(10, 10), 1, "sequential")
sites = {"anchor": (2, 5), "sigma": (2,), "nu": (2,)}
z0 = {k: jnp.zeros(shape) for k, shape in sites.items()}
keys = jax.random.key_data(jax.random.split(jax.random.key(0), 2))
unit = (jnp.ones(7), 1.0)
text = init.lower(keys, z0, args, _sorted_fields(kwargs), unit, 0).as_text()
print(hashlib.sha256(text.encode()).hexdigest())
"""


def test_compiled_sampler_does_not_depend_on_the_hash_seed():
    # NumPyro orders a distribution's pytree fields through a set, so without sorting them
    # the sampler's HLO (the persistent cache key) changed with PYTHONHASHSEED: measured,
    # seeds 1 and 2 lowered to different programs and each new process recompiled.
    import os
    import subprocess
    import sys

    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _LOWER_SAMPLER],
            env={**os.environ, "PYTHONHASHSEED": str(seed)},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for seed in (1, 2, 3)
    ]
    outs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err[-2000:] for _, err in outs]
    digests = {out.strip() for out, _ in outs}
    assert len(digests) == 1, digests


def test_warmup_gradients_are_counted_and_a_given_metric_is_kept(chinchilla):

    import jax
    import numpy as np

    from bayescale.inference.fit import prepare
    from bayescale.inference.sampler import (
        _chain_keys,
        _compiled,
        _sorted_fields,
        chain_starts,
        run_nuts,
    )
    from bayescale.inference.settings import FitSettings
    from bayescale.laws import CHINCHILLA

    cfg = FitSettings(warmup=30, draws=10, chains=2, dense_mass=False)
    with jax.enable_x64():
        prep = prepare(chinchilla, CHINCHILLA, cfg, None)
        z0 = chain_starts(prep.spec, prep.args, prep.kwargs, prep.start, 2, 0)
        nuts = cfg.nuts()
        out = run_nuts(
            *(prep.spec, prep.args, prep.kwargs, z0, nuts),
            chains=2,
            seed=0,
            chain_method="sequential",
        )
        # the same sampler one warmup iteration at a time: the counter is the sum of them
        init, advance, _ = _compiled(prep.spec, cfg.nuts(), 1, "sequential")
        kwargs = _sorted_fields(dict(prep.kwargs))
        size = sum(int(np.prod(np.shape(v)[1:])) for v in z0.values())
        unit = (np.ones(size), 1.0)  # what run_nuts passes by default
        st = init(_chain_keys(0, 2), z0, prep.args, kwargs, unit, 0)
        rec = {k: getattr(st, k) for k in ("z", "diverging", "num_steps", "accept_prob")}
        rec |= {"energy": st.energy, "potential_energy": st.potential_energy}
        full = {
            "draws": jax.tree.map(lambda v: np.zeros((2, 10, *v.shape[1:]), v.dtype), rec),
            "warmup_steps": np.zeros_like(st.num_steps),
        }
        steps = 0
        for i in range(30):
            st, full = advance(st, full, i, i + 1, prep.args, kwargs)
            steps = steps + np.asarray(full["draws"]["num_steps"][:, 0])
        np.testing.assert_array_equal(out.warmup_steps, steps)
        np.testing.assert_array_equal(np.asarray(full["warmup_steps"]), steps)
        # a metric given with start_at in the last window is kept (here with the chains
        # split over host devices); only the step size adapts, over the last 10 iterations
        imm = np.linspace(0.5, 2.0, out.inverse_mass_matrix.shape[-1])
        kept = run_nuts(
            prep.spec,
            prep.args,
            prep.kwargs,
            z0,
            cfg.nuts(),
            chains=2,
            seed=0,
            metric=(imm, 0.1),
            start_at=cfg.warmup - 10,
        )
        with pytest.raises(ValueError, match="start_at"):
            run_nuts(prep.spec, prep.args, prep.kwargs, z0, cfg.nuts(), chains=2, seed=0,
                     start_at=5)  # fmt: skip
    np.testing.assert_array_equal(kept.warmup_steps > 0, True)
    np.testing.assert_array_equal(kept.inverse_mass_matrix, np.stack([imm, imm]))
    assert not np.allclose(kept.step_size, 0.1)


def test_threads_give_the_draws_of_chains_run_in_sequence(chinchilla):
    """Chains dispatched from host threads on one device run the same per-chain program
    with the same keys: the draws equal those of the chains run one after another, in
    float64 too (a thread-local setting the workers must take from the caller)."""
    import jax
    import numpy as np

    from bayescale.inference.fit import prepare
    from bayescale.inference.sampler import chain_starts, run_nuts
    from bayescale.inference.settings import FitSettings
    from bayescale.laws import CHINCHILLA

    cfg = FitSettings(warmup=40, draws=20, chains=4)
    with jax.enable_x64():
        prep = prepare(chinchilla, CHINCHILLA, cfg, None)
        z0 = chain_starts(prep.spec, prep.args, prep.kwargs, prep.start, 4, 0)
        runs = {
            how: run_nuts(
                *(prep.spec, prep.args, prep.kwargs, z0, cfg.nuts()),
                chains=4,
                seed=3,
                chain_method=how,
            )
            for how in ("sequential", "threads")
        }
    seq, thr = runs["sequential"], runs["threads"]
    assert thr.samples["E"].dtype == np.float64
    for k in seq.samples:
        np.testing.assert_array_equal(thr.samples[k], seq.samples[k])
    np.testing.assert_array_equal(thr.warmup_steps, seq.warmup_steps)
    np.testing.assert_array_equal(thr.inverse_mass_matrix, seq.inverse_mass_matrix)
    assert seq.placement == "4 chains one after another on one device"
    assert thr.placement.startswith("4 chains side by side on ") or os.cpu_count() == 1


_COUNT_COMPILES = """
import logging, sys, warnings
import bayescale
if sys.argv[1] == "host_devices":
    bayescale.use_host_devices(4)
import jax
warnings.simplefilter("ignore")
compiled = []
class Count(logging.Handler):
    def emit(self, record):
        if "Finished XLA compilation of jit(run)" in record.getMessage():
            compiled.append(1)
logger = logging.getLogger("jax._src.dispatch")
logger.addHandler(Count())
logger.setLevel(logging.DEBUG)
logger.propagate = False
with jax.log_compiles(True):
    bayescale.fit(bayescale.load_dataset("chinchilla"), chains=4, warmup=37, draws=11,
                  chain_method="auto", progress_bar=True, extrapolation_check=False,
                  escalate=False)
print(len(compiled))
"""


@pytest.mark.parametrize("where", ["host_devices", "threads"])
def test_the_sampler_compiles_once_per_program_with_a_progress_bar(where):
    """A progress bar advances the chains in chunks; the second chunk must find the program
    the first compiled (its inputs committed like the outputs: on host devices the whole
    sampler compiled twice before), and threads must not each compile it: init, advance
    and constrain compile once each."""
    out = subprocess.run(
        [sys.executable, "-c", _COUNT_COMPILES, where],
        env={k: v for k, v in os.environ.items() if k != "XLA_FLAGS"},
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "3"
