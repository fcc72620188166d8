"""Several independent data sets fitted in one vectorised run: :func:`fit_many`.

Data sets of different sizes are padded to the largest with runs of weight 0 (the classic
objective) or masked out of the likelihood (NUTS), so one compiled program serves them all
and a second call with the same sizes reuses it.

- ``method="classic"``: every data set's starts (and bootstrap replicas) form one batch of
  shape (data sets × starts) for the batched L-BFGS of :mod:`bayescale.classic`; successive
  halving keeps the best starts of each data set.
- ``method="nuts"``: the chains of all data sets run in one compiled sampler (each chain
  carries its own data), spread over the devices; each data set gets its own step size and
  mass matrix, diagnostics and :class:`~bayescale.FitResult`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from bayescale.data import ScalingData

__all__ = ["METHODS", "fit_many", "split_groups"]

#: Fitting methods of :func:`fit_many`.
METHODS = ("classic", "nuts")


def split_groups(data: ScalingData) -> dict[str, ScalingData]:
    """Split runs with a ``group`` column into one :class:`ScalingData` per group.

    Groups keep the order of their first appearance.
    """
    if data.group is None:
        raise ValueError(
            "data has no group column; pass a list or dict of ScalingData, or read the data "
            "with group_col=... (ScalingData.from_csv / from_dataframe / from_arrays(group=))"
        )
    labels, first = np.unique(data.group, return_index=True)
    out = {}
    for label in labels[np.argsort(first)]:
        part = data.subset(data.group == label)
        out[str(label)] = part
    return out


def _normalise(datasets: Any) -> tuple[list[str] | None, list[ScalingData]]:
    """Names (None for a plain sequence) and the data sets, validated."""
    if isinstance(datasets, ScalingData):
        named = split_groups(datasets)
        names, items = list(named), list(named.values())
    elif isinstance(datasets, Mapping):
        names, items = [str(k) for k in datasets], list(datasets.values())
    elif isinstance(datasets, Sequence) and not isinstance(datasets, str | bytes):
        names, items = None, list(datasets)
    else:
        raise ValueError(
            "datasets must be a list or dict of ScalingData, or one ScalingData with a group "
            f"column; got {type(datasets).__name__}"
        )
    if not items:
        raise ValueError("datasets is empty; give at least one data set")
    for i, d in enumerate(items):
        if not isinstance(d, ScalingData):
            label = repr(names[i]) if names else str(i)
            raise ValueError(f"data set {label} must be a ScalingData, got {type(d).__name__}")
    return names, items


def fit_many(datasets: Any, method: str = "classic", **kwargs: Any) -> Any:
    """Fit several independent data sets in one vectorised run.

    Parameters
    ----------
    datasets : list of ScalingData, dict of str to ScalingData, or ScalingData
        The data sets; a single ScalingData is split by its ``group`` column.
    method : {"classic", "nuts"}
        :func:`bayescale.fit_classic` (batched L-BFGS, optional bootstrap) or
        :func:`bayescale.fit` (NUTS).
    **kwargs
        Arguments of :func:`~bayescale.fit_classic` or :func:`~bayescale.fit`, applied to
        every data set. With NUTS each data set's chains get their own seeds.

    Returns
    -------
    list or dict
        One :class:`~bayescale.ClassicFit` or :class:`~bayescale.FitResult` per data set: a
        list for a list input, a dict (same keys, or the group labels) otherwise.

    Examples
    --------
    >>> import bayescale
    >>> from bayescale.simulate import simulate_runs
    >>> sets = [simulate_runs(seed=s) for s in range(3)]
    >>> fits = bayescale.fit_many(sets, method="classic")  # doctest: +SKIP
    >>> [round(f.params.alpha, 2) for f in fits]  # doctest: +SKIP
    [0.34, 0.33, 0.35]
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    names, items = _normalise(datasets)
    if method == "classic":
        results = _many_classic(items, **kwargs)
    else:
        labels = names if names is not None else [str(i) for i in range(len(items))]
        results = _many_nuts(items, labels, **kwargs)
    return results if names is None else dict(zip(names, results, strict=True))


def _many_classic(
    datasets: list[ScalingData],
    loss: str = "huber",
    delta: float = 1e-3,
    init: Any = "grid",
    n_boot: int = 0,
    seed: int = 0,
    budgets: Any = None,
    **settings: Any,
) -> list[Any]:
    from bayescale.classic import (
        DEFAULT_BUDGETS,
        ClassicFit,
        _check_budgets,
        _fit_batch,
        _settings,
        _starts,
    )

    cfg = _settings(loss=loss, delta=delta, n_boot=n_boot, seed=seed, **settings)
    starts = _starts(init)
    budgets = _check_budgets(DEFAULT_BUDGETS if budgets is None else budgets)
    results = _fit_batch(datasets, starts, cfg)
    return [
        ClassicFit(data=d, settings=cfg, budgets=budgets, **res)
        for d, res in zip(datasets, results, strict=True)
    ]


def _many_nuts(
    datasets: list[ScalingData],
    labels: list[str],
    *,
    priors: Mapping[str, Any] | None = None,
    strict: bool = False,
    progress_bar: bool | None = None,
    **settings: Any,
) -> list[Any]:
    """NUTS for every data set at once: their chains share one compiled sampler."""
    import dataclasses
    import time
    import warnings

    import jax.numpy as jnp

    from bayescale.diagnostics import SamplingError, SamplingWarning, compute_diagnostics
    from bayescale.fit import (
        PARAMETERS,
        FitResult,
        FitSettings,
        _classic_initial_values,
        _initial_values,
        _x64,
    )
    from bayescale.inference import BatchModelSpec, ModelSpec, run_nuts, unconstrain
    from bayescale.priors import describe_priors, resolve_priors

    unknown = set(settings) - {f.name for f in dataclasses.fields(FitSettings)}
    if unknown:
        allowed = ", ".join(f.name for f in dataclasses.fields(FitSettings))
        raise ValueError(
            f"unknown fit setting(s) {', '.join(sorted(unknown))}; allowed: {allowed}"
        )
    cfg = FitSettings(**settings)
    resolved = resolve_priors(priors, cfg.likelihood)
    spec = BatchModelSpec(likelihood=cfg.likelihood, delta=float(cfg.delta))
    G, C = len(datasets), cfg.chains
    sizes = [len(d) for d in datasets]
    R = max(sizes)
    sites = ["E", "alpha", "beta", "a_c", "b_c", "sigma"] + (
        ["nu"] if cfg.likelihood == "student_t" else []
    )

    start = time.perf_counter()
    with _x64(cfg.precision):
        dtype = jnp.result_type(float)
        cols = np.zeros((3, G, R))
        mask = np.zeros((G, R), bool)
        for g, d in enumerate(datasets):  # padding repeats the first run, masked out
            for i, col in enumerate((d.log_N, d.log_D, d.log_loss)):
                cols[i, g] = np.concatenate([col, np.full(R - len(d), col[0])])
            mask[g, : len(d)] = True
        centers = [(float(np.mean(d.log_N)), float(np.mean(d.log_D))) for d in datasets]
        if cfg.init == "classic":
            inits = _classic_initial_values(datasets, centers)
        else:
            inits = [_initial_values(d, c) for d, c in zip(datasets, centers, strict=True)]
        # unconstrained starts: one data set at a time (setup only, a few model calls each)
        single = ModelSpec(likelihood=cfg.likelihood, delta=float(cfg.delta))
        rng = np.random.default_rng(cfg.seed)
        init_z: dict[str, list] = {k: [] for k in sites}
        for g, d in enumerate(datasets):
            args_g = tuple(jnp.asarray(x, dtype) for x in (d.log_N, d.log_D, d.log_loss))
            kw_g = {"priors": resolved, "center": centers[g]}
            z = unconstrain(
                single, args_g, kw_g, {k: jnp.asarray(inits[g][k], dtype) for k in sites}
            )
            # over-dispersed starts (±0.5 in unconstrained space), as in fit()
            jitter = rng.uniform(-0.5, 0.5, (C, len(sites)))
            for i, k in enumerate(sites):
                init_z[k].append(np.asarray(z[k]) + jitter[:, i])
        init_zj = {k: jnp.asarray(np.concatenate(v), dtype) for k, v in init_z.items()}
        # chain c of data set g sits at g * C + c and carries that data set
        rep = np.repeat(np.arange(G), C)
        c_arr = np.asarray(centers)
        args = (
            jnp.asarray(cols[0][rep], dtype),
            jnp.asarray(cols[1][rep], dtype),
            jnp.asarray(cols[2][rep], dtype),
            jnp.asarray(mask[rep]),
            jnp.asarray(c_arr[rep, 0], dtype),
            jnp.asarray(c_arr[rep, 1], dtype),
        )
        out = run_nuts(
            spec,
            args,
            {"priors": resolved},
            init_zj,
            cfg.nuts(),
            chains=G * C,
            seed=cfg.seed,
            chain_method=cfg.chain_method,
            progress_bar=progress_bar,
            per_chain_args=True,
        )
    wall = time.perf_counter() - start
    keep = [*PARAMETERS, "sigma"] + (["nu"] if cfg.likelihood == "student_t" else [])

    def part(x: np.ndarray, g: int) -> np.ndarray:
        x = np.asarray(x)
        return x.reshape(G, C, *x.shape[1:])[g]

    results = []
    for g, d in enumerate(datasets):
        samples = {k: np.asarray(part(out.samples[k], g), dtype=np.float64) for k in keep}
        stats = {k: part(v, g) for k, v in out.stats.items()}
        diagnostics = compute_diagnostics(
            samples, stats, max_tree_depth=cfg.max_tree_depth, target_accept=cfg.target_accept
        )
        results.append(
            FitResult(
                data=d,
                settings=cfg,
                samples=samples,
                stats=stats,
                diagnostics=diagnostics,
                priors=describe_priors(resolved),
                prior_distributions=resolved,
                timing={"wall_s": wall, "batch_size": G},
            )
        )
    for label, r in zip(labels, results, strict=True):
        if not r.ok:
            message = f"data set {label}: sampling diagnostics failed: " + " ".join(
                r.diagnostics.problems
            )
            if strict:
                raise SamplingError(message)
            warnings.warn(message, SamplingWarning, stacklevel=3)
    return results
