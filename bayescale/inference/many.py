"""Several independent data sets sampled in one vectorised run: :func:`sample_many`.

The chains of all data sets run in one compiled sampler (each chain carries its own data), spread
over the devices; each data set gets its own step size and mass matrix, diagnostics and
:class:`~bayescale.inference.posterior.Posterior`. Data sets of different sizes are padded to the
largest and the padding is masked out of the likelihood, so one compiled program serves them all
and a second call with the same sizes reuses it. :func:`bayescale.fit_many` dispatches here
(``method="nuts"``) or to the batched classic fit
(:func:`bayescale.classic.approach3.fit_classic_batch`); the dispatch sits in the facade because it
needs both wings.
"""

from __future__ import annotations

import functools
import time
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from bayescale.data.scaling_data import ScalingData, design_problems
from bayescale.inference.diagnostics import SamplingError, SamplingWarning
from bayescale.inference.escalation import sampling_trouble
from bayescale.inference.fit import _x64, escalated, posterior, prepare, sample_once
from bayescale.inference.sampler import chain_starts, run_nuts
from bayescale.inference.settings import FitSettings
from bayescale.laws import get_law
from bayescale.laws.extrapolation import base_law

__all__ = ["normalise_datasets", "sample_many", "split_groups"]


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


def normalise_datasets(datasets: Any) -> tuple[list[str] | None, list[ScalingData]]:
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


def sample_many(
    datasets: Any, *, strict: bool = False, progress_bar: bool | None = None, **kwargs: Any
) -> Any:
    """NUTS for several independent data sets in one vectorised run (:func:`bayescale.fit_many`).

    Parameters
    ----------
    datasets : list of ScalingData, dict of str to ScalingData, or ScalingData
        The data sets; a single ScalingData is split by its ``group`` column.
    strict : bool
        Raise :class:`~bayescale.SamplingError` when a data set's diagnostics fail, instead of
        warning.
    progress_bar : bool, optional
        Show the sampler's progress bar.
    **kwargs
        Arguments of :func:`bayescale.fit` (``law``, ``priors`` and the settings), applied to every
        data set; each data set's chains get their own seeds.

    Returns
    -------
    list or dict
        One :class:`~bayescale.inference.posterior.Posterior` per data set: a list for a list
        input, a dict (same keys, or the group labels) otherwise.
    """
    names, items = normalise_datasets(datasets)
    labels = names if names is not None else [str(i) for i in range(len(items))]
    results = _many_nuts(items, labels, strict=strict, progress_bar=progress_bar, **kwargs)
    return results if names is None else dict(zip(names, results, strict=True))


def _many_nuts(
    datasets: list[ScalingData],
    labels: list[str],
    *,
    law: Any = "chinchilla",
    priors: Mapping[str, Any] | None = None,
    strict: bool = False,
    progress_bar: bool | None = None,
    **settings: Any,
) -> list[Any]:
    """NUTS for every data set at once: their chains share one compiled sampler.

    The model, priors, starts and checks are those of :func:`bayescale.fit`
    (:func:`bayescale.inference.fit.prepare`, :func:`bayescale.inference.fit.posterior`); only the
    data differ per chain: each data set padded to the largest, its padding masked out.
    """
    law_obj = base_law(get_law(law))
    cfg = FitSettings.from_kwargs(settings, law=law_obj.name)
    pooled = [label for label, d in zip(labels, datasets, strict=True) if _has_groups(d)]
    if pooled:
        raise ValueError(
            f"data set(s) {', '.join(pooled)} have groups, which fit_many does not pool; "
            "fit each with bayescale.fit (pooled), or split them with split_groups()"
        )
    for d in datasets:
        design_problems(d)
    G, C = len(datasets), cfg.chains
    R = max(len(d) for d in datasets)
    start = time.perf_counter()
    with _x64(cfg.precision):
        preps = [prepare(d, law_obj, cfg, priors) for d in datasets]
        # chain c of data set g sits at g * C + c and carries that data set's
        # (x, log_loss, mask, center); padding repeats the first run, masked out
        per_set = []
        init_parts = []
        for g, (d, p) in enumerate(zip(datasets, preps, strict=True)):
            x, log_loss, _, center = p.args
            pad = functools.partial(_pad, n=R - len(d))
            mask = jnp.arange(R) < len(d)
            per_set.append((jax.tree.map(pad, x), pad(log_loss), mask, center))
            init_parts.append(chain_starts(p.spec, p.args, p.kwargs, p.start, C, cfg.seed + g))
        args = jax.tree.map(lambda *v: jnp.repeat(jnp.stack(v), C, axis=0), *per_set)
        init_z = jax.tree.map(lambda *v: np.concatenate(v), *init_parts)  # host arrays
        out = run_nuts(
            preps[0].spec,
            args,
            preps[0].kwargs,
            init_z,
            cfg.nuts(),
            chains=G * C,
            seed=cfg.seed,
            chain_method=cfg.chain_method,
            progress_bar=progress_bar,
            per_chain_args=True,
        )
    wall = time.perf_counter() - start

    def part(x: Any, g: int) -> np.ndarray:
        x = np.asarray(x)
        return x.reshape(G, C, *x.shape[1:])[g]

    results = []
    for g, (d, p) in enumerate(zip(datasets, preps, strict=True)):
        samples = {k: part(v, g) for k, v in out.samples.items()}
        stats = {k: part(v, g) for k, v in out.stats.items()}
        # this data set's gradients (leapfrog steps, warmup included), as sample() records
        gradients = float(part(out.warmup_steps, g).sum() + stats["num_steps"].sum())
        timing = {"wall_s": wall, "batch_size": G, "gradients": gradients}
        results.append(posterior(d, cfg, p, samples, stats, timing))
    if cfg.escalate:
        # a set whose chains struggled is retried on its own, as bayescale.fit would
        results = [
            escalated(r, functools.partial(sample_once, d, law_obj, priors=priors))
            if sampling_trouble(r.diagnostics, r.settings)
            else r
            for d, r in zip(datasets, results, strict=True)
        ]
    for label, r in zip(labels, results, strict=True):
        if not r.ok:
            message = f"data set {label}: diagnostics failed: " + " ".join(r.diagnostics.problems)
            if strict:
                raise SamplingError(message)
            warnings.warn(message, SamplingWarning, stacklevel=3)
    return results


def _pad(v: Any, n: int) -> Any:
    """``v`` followed by ``n`` copies of its first value."""
    return jnp.concatenate([v, jnp.repeat(v[:1], n)])


def _has_groups(data: ScalingData) -> bool:
    return data.group is not None and len(set(np.asarray(data.group).astype(str))) > 1
