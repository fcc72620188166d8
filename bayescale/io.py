"""Storage: a fit as an ArviZ DataTree, written to and read from netCDF.

The file holds the groups ArviZ expects (``posterior``, ``sample_stats``,
``observed_data``, ``constant_data``) plus, in the root attributes, a JSON record of the
bayescale format version, the settings, the priors, the data's provenance and the versions
of bayescale, jax and numpyro that made it. Floats are stored as float64, so a reloaded fit
gives the same summary and allocation to the last bit.
"""

from __future__ import annotations

import dataclasses
import json
import os
from importlib import metadata
from typing import TYPE_CHECKING, Any

import numpy as np

from bayescale.data import ScalingData

if TYPE_CHECKING:
    from bayescale.fit import FitResult

__all__ = ["FORMAT", "load", "save", "to_datatree"]

#: Identifies bayescale fit files; bumped when the layout changes.
FORMAT = "bayescale-fit/1"
_STATS = ("diverging", "num_steps", "accept_prob", "energy", "potential_energy")
# ArviZ's names for numpyro's sampler statistics
_ARVIZ_STATS = {
    "diverging": "diverging",
    "num_steps": "n_steps",
    "accept_prob": "acceptance_rate",
    "energy": "energy",
    "potential_energy": "potential_energy",
}


def _version(pkg: str) -> str:
    try:
        return metadata.version(pkg)
    except metadata.PackageNotFoundError:
        return "unknown"


def versions() -> dict[str, str]:
    """Versions of the packages that determine a fit's numbers."""
    return {p: _version(p) for p in ("bayescale", "jax", "jaxlib", "numpyro", "arviz")}


def to_datatree(result: FitResult, *, log_likelihood: bool = False) -> Any:
    """Convert a fit to an ArviZ DataTree.

    Parameters
    ----------
    result : FitResult
        The fit.
    log_likelihood : bool, default False
        Also include the pointwise ``log_likelihood`` group (needed by LOO and WAIC).

    Returns
    -------
    xarray.DataTree
    """
    from arviz_base import from_dict

    data = result.data
    groups: dict[str, dict[str, Any]] = {
        "posterior": dict(result.samples),
        "sample_stats": {_ARVIZ_STATS[k]: result.stats[k] for k in _STATS if k in result.stats},
        "observed_data": {"log_loss": data.log_loss},
        "constant_data": {
            "N": data.N,
            "D": data.D,
            "loss": data.loss,
            "row": np.asarray(data.rows).astype(str),
        },
    }
    dims = {name: ["run"] for name in ("log_loss", "N", "D", "loss", "row")}
    if log_likelihood:
        groups["log_likelihood"] = {"log_loss": result.log_likelihood()}
    tree = from_dict(groups, dims=dims)
    tree.attrs["bayescale"] = json.dumps(_record(result))
    return tree


def _record(result: FitResult) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "versions": versions(),
        "settings": dataclasses.asdict(result.settings),
        "priors": dict(result.priors),
        "data": {
            "source": result.data.source,
            "flops_per_param_token": result.data.flops_per_param_token,
        },
        "prior_log_sd": result.prior_log_sd,
    }


def save(result: FitResult, path: str | os.PathLike[str]) -> None:
    """Write ``result`` to a netCDF file (h5netcdf engine)."""
    tree = to_datatree(result)
    try:
        tree.to_netcdf(os.fspath(path), engine="h5netcdf")
    except OSError as exc:
        raise ValueError(f"cannot write {os.fspath(path)!r}: {exc}") from None


def load(path: str | os.PathLike[str]) -> FitResult:
    """Read a fit written by :meth:`FitResult.save`.

    Raises
    ------
    ValueError
        Missing, unreadable, corrupted or foreign file, or one from a newer format.
    """
    import xarray as xr

    from bayescale.fit import PARAMETERS, FitResult, FitSettings, diagnose

    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ValueError(f"no such file: {path!r}")
    try:
        tree = xr.open_datatree(path, engine="h5netcdf")
        tree.load()
    except Exception as exc:  # h5py and xarray raise many types for a bad file
        raise ValueError(
            f"{path!r} is not a readable netCDF file ({type(exc).__name__})"
        ) from None
    raw = tree.attrs.get("bayescale")
    if raw is None:
        raise ValueError(f"{path!r} is not a bayescale fit file (no 'bayescale' record)")
    try:
        record = json.loads(raw)
    except (json.JSONDecodeError, TypeError, UnicodeDecodeError):
        raise ValueError(f"{path!r} has a corrupted bayescale record") from None
    if not isinstance(record, dict):
        raise ValueError(f"{path!r} has a corrupted bayescale record (not a mapping)")
    if record.get("format") != FORMAT:
        raise ValueError(
            f"{path!r} has format {record.get('format')!r}; this bayescale reads {FORMAT!r}"
        )
    groups = set(tree.children)
    absent = [g for g in ("posterior", "sample_stats", "constant_data") if g not in groups]
    if absent:
        raise ValueError(
            f"{path!r} is missing part of a bayescale fit: no {', '.join(absent)} group"
        )
    try:
        post = tree["posterior"].to_dataset()
        stats_ds = tree["sample_stats"].to_dataset()
        const = tree["constant_data"].to_dataset()
        # the canonical order (E, A, B, alpha, beta, sigma, nu), not the file's
        order = [k for k in (*PARAMETERS, "sigma", "nu") if k in post.data_vars]
        lacking = [k for k in (*PARAMETERS, "sigma") if k not in order]
        if lacking:
            raise ValueError(f"no posterior draws of {', '.join(lacking)}")
        samples = {k: np.asarray(post[k].values, dtype=np.float64) for k in order}
        shapes = {v.shape for v in samples.values()}
        if len(shapes) != 1 or len(next(iter(shapes))) != 2:
            raise ValueError(f"posterior draws must share one (chain, draw) shape, got {shapes}")
        inverse = {v: k for k, v in _ARVIZ_STATS.items()}
        stats = {inverse.get(k, k): np.asarray(stats_ds[k].values) for k in stats_ds.data_vars}
        for k in ("diverging", "num_steps", "energy"):
            if k not in stats or stats[k].shape != next(iter(shapes)):
                raise ValueError(f"sample_stats lacks {k!r} of the posterior's shape")
        rows = np.asarray(const["row"].values)
        settings = FitSettings(**record["settings"])
        data = ScalingData.from_arrays(
            N=np.asarray(const["N"].values, dtype=np.float64),
            D=np.asarray(const["D"].values, dtype=np.float64),
            loss=np.asarray(const["loss"].values, dtype=np.float64),
            flops_per_param_token=float(record["data"]["flops_per_param_token"]),
            min_runs=1,
        )
        data = dataclasses.replace(
            data, source=str(record["data"]["source"]), rows=_restore_rows(rows)
        )
        if len(rows) != len(data):
            raise ValueError("row labels do not match the runs")
        priors = {str(k): str(v) for k, v in dict(record["priors"]).items()}
        prior_sd = record.get("prior_log_sd")
        prior_sd = None if prior_sd is None else {str(k): float(v) for k, v in prior_sd.items()}
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ValueError(f"{path!r} is missing part of a bayescale fit ({detail})") from None
    diagnostics = diagnose(data, settings, samples, stats, prior_sd)
    return FitResult(
        data=data,
        settings=settings,
        samples=samples,
        stats=stats,
        diagnostics=diagnostics,
        priors=priors,
        prior_distributions=None,
        timing={},
        prior_log_sd=prior_sd,
    )


def _restore_rows(rows: np.ndarray) -> np.ndarray:
    # row labels are stored as text; integer labels come back as integers
    try:
        as_int = rows.astype(np.int64)
    except ValueError:
        return rows
    return as_int if np.array_equal(as_int.astype(str), rows.astype(str)) else rows
