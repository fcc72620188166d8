"""Compiled NUTS, cached per model and data shape, with chains mapped over devices.

numpyro's ``MCMC.run`` traces and compiles its sampler on every call (3–15 s on the
2-core machines this was measured on) while sampling itself takes about a second. Here
the NUTS kernel (numpyro's functional ``hmc`` API) is driven by two jitted functions whose
data enter as arguments and whose settings are static, so refitting data of the same
shape reuses the compiled code (one init, one advance and one constrain function per
model, settings, device count and chain placement). The sampler advances in chunks only
to report progress; the chunk bounds are traced values, so chunking never recompiles.

Chains are split over the visible devices with ``jit(shard_map)`` (GPUs, TPUs, or the CPU
host devices of :func:`use_host_devices`); within a device they run one after another
(``lax.map``) on CPU, where batched NUTS waits for every chain's longest tree, and batched
(``vmap``) on accelerators. Each chain's key comes from the seed alone, but floating-point
reductions may compile differently for different device counts, so the same seed gives
identical draws on the same machine and device count, and draws equal in distribution
(not bit for bit) elsewhere. ``jit(shard_map)``, unlike ``pmap``, is kept by the
persistent compilation cache (:func:`enable_compilation_cache`).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import functools
import itertools
import os
import sys
import threading
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from numpyro.infer.hmc import hmc
from numpyro.infer.hmc_util import build_adaptation_schedule
from numpyro.infer.util import constrain_fn, potential_energy, unconstrain_fn

from bayescale.inference.model import ModelSpec, initial_point
from bayescale.inference.programs import chain_sharding, compile_ahead, relieve_map_pressure

__all__ = [
    "CHAIN_METHODS",
    "NUTSSettings",
    "SamplerOutput",
    "chain_starts",
    "run_nuts",
    "sites_at",
    "trace_counts",
]

CHAIN_METHODS = ("auto", "parallel", "sequential", "threads", "vectorized")

#: Number of times each compiled function has been traced (tests assert refits reuse them).
trace_counts: dict[str, int] = {"init": 0, "advance": 0, "constrain": 0}


@jax.tree_util.register_pytree_node_class
class _SortedFields:
    """A NumPyro distribution whose pytree lists its fields in sorted order.

    NumPyro gathers a distribution's pytree fields in a Python ``set``, so their order (and
    with it the compiled sampler's argument order and cache key) changes with
    ``PYTHONHASHSEED``: every new process missed the persistent compilation cache. Wrapping
    the priors before they enter a jitted function makes the order the same in every process.
    """

    def __init__(self, distribution: Any) -> None:
        self.distribution = distribution

    def tree_flatten(self) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
        cls = type(self.distribution)
        data, aux = self.distribution.tree_flatten()
        data_fields = dict(zip(cls.gather_pytree_data_fields(), data, strict=True))
        aux_fields = dict(zip(cls.gather_pytree_aux_fields(), aux, strict=True))
        names = tuple(sorted(data_fields))
        children = tuple(_sorted_fields(data_fields[k]) for k in names)
        return children, (cls, names, tuple(sorted(aux_fields.items())))

    @classmethod
    def tree_unflatten(cls, aux: tuple[Any, ...], children: tuple[Any, ...]) -> _SortedFields:
        dist_cls, names, aux_items = aux
        data_fields = dict(zip(names, (_plain(c) for c in children), strict=True))
        aux_fields = dict(aux_items)
        distribution = dist_cls.tree_unflatten(
            tuple(aux_fields[k] for k in dist_cls.gather_pytree_aux_fields()),
            tuple(data_fields[k] for k in dist_cls.gather_pytree_data_fields()),
        )
        return cls(distribution)


def _sorted_fields(tree: Any) -> Any:
    """Wrap every NumPyro distribution in ``tree`` (priors) in :class:`_SortedFields`."""
    from numpyro.distributions import Distribution

    if isinstance(tree, Distribution):
        return _SortedFields(tree)
    if isinstance(tree, Mapping):
        return {k: _sorted_fields(v) for k, v in tree.items()}
    if isinstance(tree, (list, tuple)) and not hasattr(tree, "_fields"):
        return type(tree)(_sorted_fields(v) for v in tree)
    return tree


def _plain(tree: Any) -> Any:
    """Undo :func:`_sorted_fields`."""
    return jax.tree.map(
        lambda x: x.distribution if isinstance(x, _SortedFields) else x,
        tree,
        is_leaf=lambda x: isinstance(x, _SortedFields),
    )


@dataclass(frozen=True)
class NUTSSettings:
    """NUTS settings that shape the compiled sampler.

    Attributes
    ----------
    warmup, draws : int
        Adaptation and kept iterations per chain.
    target_accept : float
        Dual-averaging target acceptance probability.
    dense_mass : bool
        Adapt a dense (rather than diagonal) inverse mass matrix.
    max_tree_depth : int
        NUTS doubling limit; trajectories of 2**depth − 1 steps are "saturated".
    """

    warmup: int = 1000
    draws: int = 1000
    target_accept: float = 0.8
    dense_mass: bool = False
    max_tree_depth: int = 10


class SamplerOutput(NamedTuple):
    """Draws and per-iteration statistics, each with leading axes (chain, draw).

    ``warmup_steps`` holds each chain's leapfrog steps (gradient evaluations) in warmup;
    those of the kept draws are ``stats["num_steps"]``. ``z`` holds the kept draws of the
    sampled sites in unconstrained space (where a warm-started refit begins);
    ``placement`` says how the chains ran (devices, threads or one after another).
    """

    samples: dict[str, np.ndarray]
    stats: dict[str, np.ndarray]
    step_size: np.ndarray
    inverse_mass_matrix: np.ndarray
    warmup_steps: np.ndarray
    z: dict[str, np.ndarray]
    placement: str = ""


@functools.lru_cache(maxsize=64)
def _kernel(spec: ModelSpec, settings: NUTSSettings) -> tuple[Any, Any]:
    # One (init, sample) pair per model and settings: numpyro's sample_kernel reads what
    # its init_kernel stored last (the warmup adapter, dense or diagonal), so the two must
    # come from the same hmc() call, and a pair shared by a dense and a diagonal program
    # (a retry switches the metric) traces one program's sampler with the other's adapter.
    def potential_fn_gen(*args: Any, **kwargs: Any) -> Any:
        return functools.partial(potential_energy, spec, args, kwargs)

    return hmc(potential_fn_gen=potential_fn_gen, algo="NUTS")


@functools.lru_cache(maxsize=64)
def _compiled(
    spec: ModelSpec,
    settings: NUTSSettings,
    n_devices: int,
    mode: str,
    per_chain_args: bool = False,
) -> tuple[Any, Any, Any]:
    init_kernel, sample_kernel = _kernel(spec, settings)

    # the last adaptation window, where a warm-started refit begins (see _start_at)
    last_window = len(build_adaptation_schedule(settings.warmup)) - 1

    def init_one(key: Any, z0: Any, args: Any, kwargs: Any, metric: Any, start_at: Any) -> Any:
        # metric: (inverse mass matrix, step size); run_nuts passes the unit one by default
        trace_counts["init"] += 1
        kwargs = _plain(kwargs)
        inverse_mass_matrix, step_size = metric
        key = jax.random.wrap_key_data(key)  # passed as raw data, sliced on the host
        state = init_kernel(
            z0,
            settings.warmup,
            step_size=step_size,
            inverse_mass_matrix=inverse_mass_matrix,
            dense_mass=settings.dense_mass,
            target_accept_prob=settings.target_accept,
            max_tree_depth=settings.max_tree_depth,
            model_args=args,
            model_kwargs=kwargs,
            rng_key=key,
        )
        return _start_at(state, start_at, last_window)

    def advance_one(state: Any, buffers: Any, start: Any, stop: Any, args: Any, kwargs: Any):
        trace_counts["advance"] += 1
        kwargs = _plain(kwargs)

        def body(i: Any, carry: Any) -> Any:
            state, buffers = carry
            state = sample_kernel(state, model_args=args, model_kwargs=kwargs)
            # gradients spent in warmup, which keeps no draws
            warm = buffers["warmup_steps"] + jnp.where(i < settings.warmup, state.num_steps, 0)
            # Warmup iterations write to slot 0, which the first kept draw overwrites.
            j = jnp.maximum(i - settings.warmup, 0)
            record = {
                "z": state.z,
                "diverging": state.diverging,
                "num_steps": state.num_steps,
                "accept_prob": state.accept_prob,
                "energy": state.energy,
                "potential_energy": state.potential_energy,
            }
            buffers = jax.tree.map(lambda b, v: b.at[j].set(v), buffers["draws"], record)
            return state, {"draws": buffers, "warmup_steps": warm}

        return jax.lax.fori_loop(start, stop, body, (state, buffers))

    def constrain_one(z: Any, args: Any, kwargs: Any) -> Any:
        trace_counts["constrain"] += 1
        kwargs = _plain(kwargs)
        return jax.vmap(
            lambda zi: constrain_fn(spec, args, kwargs, zi, return_deterministic=True)
        )(z)

    # which arguments run over chains (0) and which are shared (None); with per-chain
    # args every chain also carries its own data set
    a = 0 if per_chain_args else None
    in_axes = {
        init_one: (0, 0, a, None, None, None),
        advance_one: (0, 0, None, None, a, None),
    }
    in_axes[constrain_one] = (0, a, None)

    def per_device(fn: Any) -> Any:
        """Map ``fn`` over the chains on one device: lax.map (one after another) or vmap."""
        axes = in_axes[fn]
        if mode == "vectorized":
            return jax.vmap(fn, in_axes=axes)
        mapped = [i for i, ax in enumerate(axes) if ax == 0]

        def run(*args: Any) -> Any:
            def one(m: Any) -> Any:
                full = list(args)
                for i, v in zip(mapped, m, strict=True):
                    full[i] = v
                return fn(*full)

            return jax.lax.map(one, tuple(args[i] for i in mapped))

        return run

    fns = (init_one, advance_one, constrain_one)
    if n_devices == 1:
        compiled = [jax.jit(per_device(f)) for f in fns]
    else:
        # chains split evenly over a mesh of devices, each device running its share; jit of
        # shard_map (unlike pmap) is kept by the persistent compilation cache
        mesh = jax.sharding.Mesh(np.asarray(jax.local_devices()[:n_devices]), ("chains",))
        chain, shared = jax.sharding.PartitionSpec("chains"), jax.sharding.PartitionSpec()
        compiled = [
            jax.jit(
                jax.shard_map(
                    per_device(f),
                    mesh=mesh,
                    in_specs=tuple(chain if ax == 0 else shared for ax in in_axes[f]),
                    out_specs=chain,
                    check_vma=False,
                )
            )
            for f in fns
        ]
    init, advance, constrain = compiled
    return init, advance, constrain


def _n_devices(chains: int, chain_method: str) -> int:
    if chain_method not in CHAIN_METHODS:
        raise ValueError(
            f"unknown chain_method {chain_method!r}; choose one of {', '.join(CHAIN_METHODS)}"
        )
    if chain_method in ("vectorized", "sequential", "threads"):
        return 1
    available = jax.local_device_count()
    # the largest device count that divides the chains evenly
    n = max(d for d in range(1, min(available, chains) + 1) if chains % d == 0)
    if chain_method == "parallel" and n == 1 and chains > 1:
        warnings.warn(
            f"chain_method='parallel' needs several devices, found {available}; "
            "running them one after another on one device",
            stacklevel=3,
        )
    return n


def _progress_bar_class() -> Any:
    """The notebook widget of tqdm when ipywidgets is installed, else its text bar.

    ``tqdm.auto`` picks the widget in any Jupyter kernel and, without ipywidgets, warns
    ("IProgress not found") and draws nothing useful.
    """
    import importlib.util

    if "ipykernel" in sys.modules and importlib.util.find_spec("ipywidgets") is not None:
        from tqdm.notebook import tqdm
    else:
        from tqdm.std import tqdm
    return tqdm


def interactive() -> bool:
    return "ipykernel" in sys.modules or (hasattr(sys.stderr, "isatty") and sys.stderr.isatty())


def chain_starts(
    spec: ModelSpec,
    args: tuple,
    kwargs: Mapping[str, Any],
    start: Mapping[str, Any],
    chains: int,
    seed: int,
) -> dict[str, Any]:
    """Unconstrained starting points of every chain: ``start`` jittered by ±0.5.

    ``start`` holds the law parameters and noise (:func:`bayescale.inference.model.start_values`);
    mapping them to the model's sites and to unconstrained space is one compiled function per
    model. Over-dispersed starts (uniform ±0.5 in unconstrained space) let R-hat detect chains that
    have not mixed.
    """
    z = jax.device_get(_start_jit(spec)(args, _sorted_fields(dict(kwargs)), dict(start), seed))
    rng = np.random.default_rng(seed)
    # jittered on the host: eager JAX ops here would each compile a small program
    return {
        k: v + rng.uniform(-0.5, 0.5, (chains, *np.shape(v))).astype(v.dtype)
        for k, v in sorted(z.items())
    }


@functools.lru_cache(maxsize=64)
def _start_jit(spec: Any) -> Any:
    def start(args: tuple, kwargs: Any, values: Any, seed: Any) -> Any:
        kwargs = _plain(kwargs)
        sites = initial_point(spec, args, kwargs, values, jax.random.key(seed))
        return unconstrain_fn(spec, args, kwargs, sites)

    return jax.jit(start)


def _chain_keys(seed: int, chains: int) -> np.ndarray:
    """Every chain's random key as raw key data on the host, one row per chain.

    The keys of ``jax.random.split(jax.random.key(seed), chains)``, made by one compiled
    program; as host data they are sliced per thread without compiling a slice.
    """
    return np.asarray(_split_jit(seed, chains))


@functools.partial(jax.jit, static_argnums=1)
def _split_jit(seed: Any, chains: int) -> Any:
    return jax.random.key_data(jax.random.split(jax.random.key(seed), chains))


def sites_at(spec: ModelSpec, args: tuple, kwargs: Mapping[str, Any], values: Mapping[str, Any]):
    """Unconstrained sampled sites at each of several parameter values (a warm start).

    ``values`` holds law parameters and noise as :func:`chain_starts` takes them, each with
    a leading axis (draws); the result has the same leading axis. One compiled function
    per model and shape.
    """
    return _sites_jit(spec)(args, _sorted_fields(dict(kwargs)), dict(values))


@functools.lru_cache(maxsize=64)
def _sites_jit(spec: Any) -> Any:
    def at(args: tuple, kwargs: Any, values: Any) -> Any:
        kwargs = _plain(kwargs)
        key = jax.random.key(0)  # only replaces values outside a prior's support

        def one(v: Any) -> Any:
            return unconstrain_fn(spec, args, kwargs, initial_point(spec, args, kwargs, v, key))

        return jax.vmap(one)(values)

    return jax.jit(at)


def run_nuts(
    spec: ModelSpec,
    args: tuple,
    kwargs: Mapping[str, Any],
    init_z: dict[str, Any],
    settings: NUTSSettings,
    *,
    chains: int,
    seed: int,
    chain_method: str = "auto",
    progress_bar: bool | None = None,
    per_chain_args: bool = False,
    metric: tuple[Any, Any] | None = None,
    start_at: int = 0,
) -> SamplerOutput:
    """Run NUTS chains with the compiled, cached sampler.

    Parameters
    ----------
    spec : ModelSpec
        Which model (static; :class:`bayescale.inference.model.ModelSpec`).
    args, kwargs : tuple, mapping
        Model arguments: data arrays and priors (traced, so new values do not recompile).
    init_z : dict
        Unconstrained initial values, each with a leading chain axis.
    settings : NUTSSettings
        Static sampler settings.
    chains : int
        Number of chains.
    seed : int
        Random seed; each chain's key is derived from it, so the draws do not depend on how
        chains are placed on devices.
    chain_method : {"auto", "parallel", "sequential", "threads", "vectorized"}
        Where chains run. "auto" and "parallel" split them over the visible devices (one
        after another within a device on CPU, batched on accelerators; "parallel" warns
        when there is only one device); on a single CPU device "auto" dispatches them from
        one host thread per core ("threads"); "sequential" runs them one after another,
        and "vectorized" as one batch, on one device.
    progress_bar : bool, optional
        Show a progress bar; default: only in interactive use.
    per_chain_args : bool, default False
        ``args`` carry a leading chain axis: every chain samples its own data set (all of
        the same padded shape), as in :func:`bayescale.fit_many`.
    metric : (inverse mass matrix, step size), optional
        Where adaptation starts, shared by every chain: the inverse mass matrix over the
        sampled sites flattened in sorted order (diagonal, or dense with ``dense_mass``),
        and the step size. Default: the unit matrix and step size 1.
    start_at : int, default 0
        The warmup iteration the chains begin at. Above 0 (needs ``metric``) the chains
        skip the mass-matrix windows: the metric is kept and the step size adapts over the
        last ``settings.warmup - start_at`` warmup iterations, as a refit that starts where
        a related fit ended needs. The compiled functions are the same as for
        ``start_at=0`` (the iteration is part of the sampler's state), so such a refit of
        data of the same shape compiles nothing.

    Returns
    -------
    SamplerOutput
    """
    relieve_map_pressure()
    n_dev = _n_devices(chains, chain_method)
    mode = chain_method
    threads = 1
    if mode in ("auto", "parallel"):
        # Measured on CPU: batched NUTS runs all chains in lockstep (every chain waits for
        # the longest tree), 2.5x slower than running them one after another. On
        # accelerators the batch is what keeps the device busy.
        mode = "sequential" if jax.default_backend() == "cpu" else "vectorized"
        if mode == "sequential" and n_dev == 1:
            threads = _host_threads(chains)
    elif mode == "threads":
        mode, threads = "sequential", _host_threads(chains)
    if not 0 <= start_at <= settings.warmup or (start_at and metric is None):
        raise ValueError(
            f"start_at must lie in [0, warmup={settings.warmup}] and needs a metric, "
            f"got {start_at}"
        )
    compiled = _compiled(spec, settings, n_dev, mode, per_chain_args)
    where = chain_sharding(n_dev)
    keys = _chain_keys(seed, chains)
    kwargs = _sorted_fields(dict(kwargs))
    # Host (NumPy) values from here to the compiled programs: an eager JAX op on the way
    # (a cast, a slice, a sum) compiles a small program of its own in a fresh process.
    dtype = np.dtype(jnp.result_type(float))
    init_z = {k: np.asarray(v) for k, v in init_z.items()}
    if metric is None:
        # the unit metric numpyro starts from, passed explicitly so that a fit and a
        # warm-started refit share one compiled init
        size = sum(int(np.prod(np.shape(v)[1:])) for v in init_z.values())
        metric = (np.eye(size) if settings.dense_mass else np.ones(size), 1.0)
    metric = (np.asarray(metric[0], dtype), np.asarray(metric[1], dtype))
    begin = np.int32(start_at)
    total = settings.warmup + settings.draws
    show = interactive() if progress_bar is None else progress_bar
    bounds = np.unique(np.linspace(start_at, total, 21).astype(int)) if show else [start_at, total]
    desc = f"NUTS ({chains} chains{f', {threads} threads' if threads > 1 else ''})"
    bar = _progress_bar_class()(total=total * threads, desc=desc, unit="it") if show else None

    x64 = bool(jnp.zeros(()).dtype == jnp.float64)
    lock = threading.Lock() if threads > 1 else contextlib.nullcontext()

    def one_group(sl: slice) -> tuple[Any, ...]:
        """Init, advance and constrain the chains ``sl`` (one thread's share)."""
        z0 = {k: v[sl] for k, v in init_z.items()}
        a = jax.tree.map(lambda v: v[sl], args) if per_chain_args and threads > 1 else args
        # float64 is a thread-local setting: a worker thread takes the caller's
        with jax.enable_x64(x64):
            return _run_chains(
                compiled,
                settings,
                keys[sl],
                z0,
                a,
                kwargs,
                metric,
                begin,
                bounds,
                bar,
                lock,
                where,
            )

    try:
        if threads == 1:
            parts = [one_group(slice(None))]
        else:
            # One CPU device runs several programs at once, each on its own host thread
            # (XLA releases the GIL while it runs), so chains dispatched from separate
            # threads use the cores without the process-wide host devices of
            # use_host_devices(). Each chain's key and program are the same as in sequence.
            per = chains // threads
            groups = [slice(i * per, (i + 1) * per) for i in range(threads)]
            with concurrent.futures.ThreadPoolExecutor(threads) as pool:
                parts = list(pool.map(one_group, groups))
    finally:
        if bar is not None:
            bar.close()
    constrained, draws, (step_size, inverse_mass_matrix) = (
        parts[0] if len(parts) == 1 else jax.tree.map(lambda *v: np.concatenate(v), *parts)
    )
    z = {k: np.asarray(v) for k, v in draws["draws"]["z"].items()}
    stats = {k: np.asarray(v) for k, v in draws["draws"].items() if k != "z"}
    return SamplerOutput(
        samples={k: np.asarray(v) for k, v in constrained.items()},
        stats=stats,
        step_size=np.asarray(step_size),
        inverse_mass_matrix=np.asarray(inverse_mass_matrix),
        warmup_steps=np.asarray(draws["warmup_steps"]),
        z=z,
        placement=_placement(chains, n_dev, mode, threads),
    )


def _placement(chains: int, n_dev: int, mode: str, threads: int) -> str:
    """How the chains ran, in words (recorded with a fit's timing)."""
    within = "one after another" if mode == "sequential" else "batched"
    if n_dev > 1:
        return f"{chains} chains on {n_dev} devices, {within} within each"
    if threads > 1:
        return f"{chains} chains side by side on {threads} host threads"
    return f"{chains} chains {within} on one device"


def _host_threads(chains: int) -> int:
    """Host threads for ``chains`` on one CPU device.

    The most that divide the chains evenly, up to the CPU cores this process may use.
    """
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    top = min(chains, cores or 1)
    return max(t for t in range(1, top + 1) if chains % t == 0)


def _run_chains(
    compiled: tuple[Any, Any, Any],
    settings: NUTSSettings,
    keys: Any,
    init_z: Mapping[str, Any],
    args: Any,
    kwargs: Any,
    metric: tuple[Any, Any],
    begin: Any,
    bounds: Any,
    bar: Any,
    lock: Any,
    where: Any = None,
) -> tuple[Any, Any, Any]:
    """Run a block of chains through warmup and sampling.

    ``where`` is the sharding of the chains' states (:func:`_chain_sharding`); given, the
    sampler's loop compiles while init does (:func:`_compile_ahead`).

    Returns host arrays: (constrained draws, buffers, (step size, inverse mass matrix)).
    """
    init, advance, constrain = compiled
    # Threads calling a jitted function for the first time at once would each compile it;
    # under the lock the first compiles and the others find it cached. A zero-length
    # advance compiles the sampler's loop the same way.
    with lock:
        init_args = (keys, init_z, args, kwargs, metric, begin)
        ahead = (
            None if where is None else compile_ahead(compiled, settings.draws, where, init_args)
        )
        states = init(keys, dict(init_z), args, kwargs, metric, begin)
        if ahead is not None:
            ahead.join()
    template = {
        "z": states.z,
        "diverging": states.diverging,
        "num_steps": states.num_steps,
        "accept_prob": states.accept_prob,
        "energy": states.energy,
        "potential_energy": states.potential_energy,
    }
    # zeros made on the host and placed, not by jnp.zeros (one small program per shape)
    buffers = {
        "draws": jax.tree.map(
            lambda v: np.zeros((v.shape[0], settings.draws, *v.shape[1:]), v.dtype), template
        ),
        "warmup_steps": np.zeros(states.num_steps.shape, states.num_steps.dtype),
    }
    # placed (committed) as the sampler's outputs are, so that its second call (the next
    # chunk of a progress bar, or the first after the zero-length one) finds the program
    # the first compiled: uncommitted inputs compiled a second copy of the whole sampler
    buffers = jax.device_put(buffers, jax.tree.leaves(states.z)[0].sharding)
    states = jax.device_put(states, jax.tree.leaves(states.z)[0].sharding)
    if not isinstance(lock, contextlib.nullcontext):
        with lock:
            start = int(bounds[0])
            states, buffers = advance(states, buffers, start, start, args, kwargs)
    for lo, hi in itertools.pairwise(bounds):
        states, buffers = advance(states, buffers, int(lo), int(hi), args, kwargs)
        if bar is not None:
            jax.block_until_ready(buffers)
            bar.set_postfix_str("warmup" if hi <= settings.warmup else "sampling")
            bar.update(int(hi - lo))
    with lock:
        constrained = constrain(buffers["draws"]["z"], args, kwargs)
    adapt = states.adapt_state
    return jax.device_get((constrained, buffers, (adapt.step_size, adapt.inverse_mass_matrix)))


def _start_at(state: Any, start_at: Any, last_window: int) -> Any:
    """A chain's initial state moved to warmup iteration ``start_at`` (0: unchanged).

    numpyro's windowed adaptation (``warmup_adapter``) keeps the iteration in the state
    (``i``) and the window in ``adapt_state.window_idx``; in the last window the mass
    matrix is left alone and only dual averaging of the step size runs, ending at the final
    warmup iteration. ``start_at`` is traced, so fits and refits share the compiled init.
    """
    moved = start_at > 0
    window = jnp.where(moved, last_window, state.adapt_state.window_idx)
    window = window.astype(state.adapt_state.window_idx.dtype)
    adapt = state.adapt_state._replace(window_idx=window)
    i = jnp.where(moved, start_at, state.i).astype(state.i.dtype)
    return state._replace(i=i, adapt_state=adapt)
