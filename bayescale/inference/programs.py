"""Compiled programs: where they run, when they compile, when they are freed.

The process-wide settings a user opts into (:func:`use_host_devices`, XLA host devices for
parallel chains on a CPU; :func:`enable_compilation_cache`, compiled programs kept on disk),
and two things the sampler does for every run: compiling its loop while init compiles
(:func:`compile_ahead`) and freeing compiled programs when the process nears Linux's
memory-map limit (:func:`relieve_map_pressure`).
"""

from __future__ import annotations

import functools
import threading
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

__all__ = [
    "MAP_SHARE",
    "chain_sharding",
    "compile_ahead",
    "enable_compilation_cache",
    "relieve_map_pressure",
    "use_host_devices",
]

#: Signatures whose sampler and constrain programs were compiled ahead (one per process).
_AHEAD: set[Any] = set()

#: Share of the process's memory-map limit above which compiled programs are freed.
MAP_SHARE = 0.75


@functools.lru_cache(maxsize=1)
def _map_limit() -> int | None:
    try:
        with open("/proc/sys/vm/max_map_count", "rb") as f:
            return int(f.read())
    except (OSError, ValueError):
        return None


def _map_count() -> int:
    with open("/proc/self/maps", "rb") as f:
        return f.read().count(b"\n")


def relieve_map_pressure(share: float = MAP_SHARE) -> bool:
    """Free JAX's compiled programs when the process nears its memory-map limit.

    Every compiled program keeps its code in memory maps (about 900 per new data shape of a
    default fit on CPU); a process that fits many shapes (a long notebook, a benchmark, a
    test suite) reaches Linux's ``vm.max_map_count`` (65,530 by default) and LLVM aborts
    the process with no Python error. Above ``share`` of the limit this clears JAX's caches
    (later fits compile again) and returns True. Called before every sampler run; a no-op
    where the counts cannot be read (not Linux).
    """
    limit = _map_limit()
    if limit is None:
        return False
    try:
        if _map_count() <= share * limit:
            return False
    except OSError:
        return False
    jax.clear_caches()
    _AHEAD.clear()
    return True


def compile_ahead(
    compiled: tuple[Any, Any, Any], draws: int, where: Any, init_args: tuple[Any, ...]
) -> threading.Thread | None:
    """Compile the sampler's loop and constrain programs while init compiles and runs.

    A fresh process compiles three programs one after another, each on one core; the
    loop's inputs are init's outputs, whose shapes (not values) are known before init
    runs, so a second thread lowers and compiles it (and constrain) at once. XLA releases
    the GIL while it compiles, so the two compiles share the cores. The later calls find
    the programs in JAX's cache; if anything here fails, they compile them as before.

    ``compiled`` is :func:`bayescale.inference.sampler._compiled`'s (init, loop, constrain),
    ``draws`` the draws kept per chain, ``where`` the chains' sharding
    (:func:`chain_sharding`) and ``init_args`` init's arguments (keys, starts, model
    arguments and keywords, metric, first iteration). None when this signature was
    compiled ahead already.
    """
    init, advance, constrain = compiled
    keys, init_z, args, kwargs, metric, begin = init_args
    key = (
        id(compiled),
        jax.tree.structure((init_z, args, kwargs)),
        tuple(
            (np.shape(v), getattr(v, "dtype", type(v)))
            for v in jax.tree.leaves((keys, init_z, args))
        ),
    )
    if key in _AHEAD:
        return None
    _AHEAD.add(key)
    try:
        out = jax.eval_shape(init, keys, dict(init_z), args, kwargs, metric, begin)
    except Exception:  # an optimisation: the calls compile as before
        return None
    x64 = bool(jnp.zeros(()).dtype == jnp.float64)

    def run() -> None:
        try:
            with jax.enable_x64(x64):

                def like(shape: tuple[int, ...], dtype: Any) -> Any:
                    return jax.ShapeDtypeStruct(shape, dtype, sharding=where)

                states = jax.tree.map(lambda v: like(v.shape, v.dtype), out)
                fields = ("z", "diverging", "num_steps", "accept_prob", "energy")
                template = {k: getattr(out, k) for k in (*fields, "potential_energy")}
                kept = jax.tree.map(
                    lambda v: like((v.shape[0], draws, *v.shape[1:]), v.dtype),
                    template,
                )
                steps = like(out.num_steps.shape, out.num_steps.dtype)
                buffers = {"draws": kept, "warmup_steps": steps}
                advance.lower(states, buffers, 0, 0, args, kwargs).compile()
                constrain.lower(kept["z"], args, kwargs).compile()
        except Exception:  # the calls compile as before
            pass

    thread = threading.Thread(target=run, name="bayescale-compile-ahead", daemon=True)
    thread.start()
    return thread


def chain_sharding(n_dev: int) -> Any:
    """Where the compiled init puts the chains' states.

    The default device, or split over the mesh of the sampler's ``_compiled`` (the same
    devices and axis, so an equal sharding).
    """
    if n_dev == 1:
        return jax.sharding.make_single_device_sharding(jax.devices()[0])
    mesh = jax.sharding.Mesh(np.asarray(jax.local_devices()[:n_dev]), ("chains",))
    return jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec("chains"))


def use_host_devices(count: int | None = None) -> int:
    """Run NUTS chains in parallel on the CPU: one XLA host device per chain.

    Measured on 2 cores: 4 chains took 0.8 s on 4 host devices against 1.5 s one after
    another on one device (and 3.8 s vectorised). XLA reads the device count only when
    JAX starts its backend, so call this first thing, before any JAX computation — as
    numpyro's :func:`numpyro.set_host_device_count`, which it calls. It changes the devices
    every JAX program in the process sees, so bayescale never does it on import; the
    command-line tool calls it.

    Parameters
    ----------
    count : int, optional
        Host devices; default ``$BAYESCALE_HOST_DEVICES``, else max(4, CPU cores).
        ``BAYESCALE_HOST_DEVICES=0`` leaves the setting alone.

    Returns
    -------
    int
        The count asked for (0: left alone; a count already in ``XLA_FLAGS`` wins).
    """
    import os

    import numpyro

    if count is None:
        wanted = os.environ.get("BAYESCALE_HOST_DEVICES", "")
        count = int(wanted) if wanted.isdigit() else max(4, os.cpu_count() or 1)
    if count == 0 or "xla_force_host_platform_device_count" in os.environ.get("XLA_FLAGS", ""):
        return 0
    if not isinstance(count, int) or count < 1:
        raise ValueError(f"count must be a whole number >= 1, got {count!r}")
    numpyro.set_host_device_count(count)
    return count


def enable_compilation_cache(path: str | None = None) -> str:
    """Keep compiled samplers on disk so a new process skips most of the compile.

    Parameters
    ----------
    path : str, optional
        Cache directory; default ``$BAYESCALE_CACHE_DIR``, else
        ``$XDG_CACHE_HOME/bayescale/jax`` (``~/.cache/bayescale/jax``).

    Returns
    -------
    str
        The directory used. JAX's own settings are changed, so this is opt-in for library
        users; the command-line tool turns it on (``--no-cache`` turns it off).
    """
    import os

    if path is None:
        path = os.environ.get("BAYESCALE_CACHE_DIR") or os.path.join(
            os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "bayescale", "jax"
        )
    os.makedirs(path, exist_ok=True)
    jax.config.update("jax_compilation_cache_dir", path)
    # cache everything that took measurable time; small entries are cheap to store
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    return path
