"""Storage: a fit as an ArviZ DataTree, written to and read from netCDF.

The file holds the groups ArviZ expects (``posterior``, ``sample_stats``,
``observed_data``, ``constant_data``) plus, in the root attributes, a JSON record of the
bayescale format version, the settings, the priors, the data's provenance and the versions
of bayescale, jax and numpyro that made it. Floats are stored as float64, so a reloaded fit
gives the same summary and allocation to the last bit.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import tempfile
from collections.abc import Iterator
from importlib import metadata
from typing import IO, Any

import numpy as np

from bayescale.data.scaling_data import ScalingData
from bayescale.inference.fit import checked_posterior
from bayescale.inference.posterior import PARAMETERS, Posterior
from bayescale.inference.settings import FitSettings
from bayescale.laws import get_law
from bayescale.laws.extrapolation import DRIFT_PARAMS, extrapolating

__all__ = ["FORMAT", "atomic_path", "atomic_write", "load", "save", "to_datatree"]

#: Identifies bayescale fit files; bumped when the layout changes. Version 2 adds the law,
#: groups, fixed parameters and extra data columns; version-1 files (Chinchilla law) still load.
FORMAT = "bayescale-fit/2"
_READABLE = ("bayescale-fit/1", FORMAT)
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


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[str]:
    """A temporary path beside ``path`` that replaces it only once the block completes.

    The temporary file lives in the destination's folder, so :func:`os.replace` is an atomic
    rename on the same file system: readers see either the previous file or the complete
    new one, never a truncated one. If the block raises (or is interrupted), the temporary
    file is removed and ``path`` is left as it was.

    Parameters
    ----------
    path : str or path-like
        The destination. Its folder must exist.

    Yields
    ------
    str
        The temporary path to write to (an empty file, created with mode 0600 and given the
        permissions a new file would get before the rename).
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    os.close(fd)
    try:
        yield tmp
        _match_permissions(tmp, path)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _match_permissions(tmp: str, path: str) -> None:
    # mkstemp creates 0600; keep an existing file's mode, else what open() would have given
    try:
        mode = os.stat(path).st_mode & 0o7777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    with contextlib.suppress(OSError):
        os.chmod(tmp, mode)


@contextlib.contextmanager
def atomic_write(
    path: str | os.PathLike[str], mode: str = "w", *, encoding: str | None = "utf-8"
) -> Iterator[IO[Any]]:
    """Open a temporary file beside ``path``; move it into place when the block completes.

    See :func:`atomic_path`: an interrupted or failed write leaves the previous file intact.

    Parameters
    ----------
    path : str or path-like
        The destination.
    mode : {"w", "wb"}
        Text or binary.
    encoding : str, default "utf-8"
        Text encoding (ignored for ``"wb"``).

    Yields
    ------
    file object
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"mode must be 'w' or 'wb', got {mode!r}")
    with atomic_path(path) as tmp:
        kwargs = {"encoding": encoding} if mode == "w" else {}
        with open(tmp, mode, **kwargs) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())


def to_datatree(result: Posterior, *, log_likelihood: bool = False) -> Any:
    """Convert a fit to an ArviZ DataTree.

    Parameters
    ----------
    result : Posterior
        The fit.
    log_likelihood : bool, default False
        Also include the pointwise ``log_likelihood`` group (needed by LOO and WAIC).

    Returns
    -------
    xarray.DataTree
    """
    from arviz_base import from_dict

    data = result.data
    constant = {
        "N": data.N,
        "D": data.D,
        "loss": data.loss,
        "row": np.asarray(data.rows).astype(str),
    }
    constant.update({f"extra_{k}": np.asarray(v) for k, v in data.extra.items()})
    if data.group is not None:
        constant["group_label"] = np.asarray(data.group).astype(str)
    groups: dict[str, dict[str, Any]] = {
        "posterior": dict(result.samples),
        "sample_stats": {_ARVIZ_STATS[k]: result.stats[k] for k in _STATS if k in result.stats},
        "observed_data": {"log_loss": data.log_loss},
        "constant_data": constant,
    }
    dims: dict[str, list[str]] = {name: ["run"] for name in ("log_loss", *constant)}
    coords = {}
    if result.groups is not None:
        coords["group"] = list(result.groups)
        dims.update({k: ["group"] for k, v in result.samples.items() if v.ndim == 3})
    if log_likelihood:
        groups["log_likelihood"] = {"log_loss": result.log_likelihood()}
    tree = from_dict(groups, dims=dims, coords=coords or None)
    tree.attrs["bayescale"] = json.dumps(_record(result))
    return tree


def _record(result: Posterior) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "versions": versions(),
        "settings": dataclasses.asdict(result.settings),
        "priors": dict(result.priors),
        "data": {
            "source": result.data.source,
            "flops_per_param_token": result.data.flops_per_param_token,
            "extra": list(result.data.extra),
        },
        "law": result.law.name,
        "groups": None if result.groups is None else list(result.groups),
        "fixed": {k: float(v) for k, v in result.fixed.items()},
        "sample_order": list(result.samples),
        "prior_log_sd": result.prior_log_sd,
        "checks": {k: dict(v) for k, v in result.checks.items()},
        "attempts": [dict(a) for a in result.diagnostics.attempts],
        "notes": list(result.diagnostics.notes),
    }


def save(result: Posterior, path: str | os.PathLike[str]) -> None:
    """Write ``result`` to a netCDF file (h5netcdf engine).

    The file is written to a temporary file in the same folder and moved into place when
    complete, so a failed or interrupted save leaves a previous file at ``path`` intact.
    """
    tree = to_datatree(result)
    try:
        # written beside the destination and renamed: a failed write keeps the old file
        with atomic_path(path) as tmp:
            tree.to_netcdf(tmp, engine="h5netcdf")
    except OSError as exc:
        raise ValueError(f"cannot write {os.fspath(path)!r}: {exc}") from None


def load(path: str | os.PathLike[str]) -> Posterior:
    """Read a fit written by :meth:`Posterior.save`.

    Raises
    ------
    ValueError
        Missing, unreadable, corrupted or foreign file, or one from a newer format.
    """
    import xarray as xr

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
    if record.get("format") not in _READABLE:
        raise ValueError(
            f"{path!r} has format {record.get('format')!r}; this bayescale reads "
            f"{' and '.join(repr(f) for f in _READABLE)}"
        )
    law_name = record.get("law", "chinchilla")
    try:
        law = get_law(law_name)
    except (ValueError, TypeError):
        raise ValueError(
            f"{path!r} was fitted with law {law_name!r}, which is not defined in this session; "
            "call bayescale.define_law(...) with that name before loading"
        ) from None
    groups_present = set(tree.children)
    absent = [g for g in ("posterior", "sample_stats", "constant_data") if g not in groups_present]
    if absent:
        raise ValueError(
            f"{path!r} is missing part of a bayescale fit: no {', '.join(absent)} group"
        )
    try:
        post = tree["posterior"].to_dataset()
        stats_ds = tree["sample_stats"].to_dataset()
        const = tree["constant_data"].to_dataset()
        # the order the fit had (version 1: E, A, B, alpha, beta, sigma, nu), not the file's
        order = record.get("sample_order") or [
            k for k in (*PARAMETERS, "sigma", "nu") if k in post.data_vars
        ]
        samples = {k: np.asarray(post[k].values, dtype=np.float64) for k in order}
        lacking = [k for k in (*law.params, "sigma") if k not in samples]
        lacking = [k for k in lacking if k not in record.get("fixed", {})]
        if lacking:
            raise ValueError(f"no posterior draws of {', '.join(lacking)}")
        lead = {v.shape[:2] for v in samples.values()}
        if len(lead) != 1 or any(v.ndim not in (2, 3) for v in samples.values()):
            raise ValueError(f"posterior draws must share one (chain, draw) shape, got {lead}")
        inverse = {v: k for k, v in _ARVIZ_STATS.items()}
        stats = {inverse.get(k, k): np.asarray(stats_ds[k].values) for k in stats_ds.data_vars}
        for k in ("diverging", "num_steps", "energy"):
            if k not in stats or stats[k].shape != next(iter(lead)):
                raise ValueError(f"sample_stats lacks {k!r} of the posterior's shape")
        rows = np.asarray(const["row"].values)
        # files of version 0.1 also record ``init``, a setting since removed (it changed
        # nothing measurable); the draws it produced are read like any others
        stored = {k: v for k, v in dict(record["settings"]).items() if k != "init"}
        # files written before the drift beyond the data existed trusted the law's form
        stored.setdefault("drift", 0.0)
        settings = FitSettings(**stored)
        if settings.drift > 0:
            missing = [k for k in (*DRIFT_PARAMS,) if k not in samples]
            if missing:
                raise ValueError(f"drift {settings.drift} but no draws of {', '.join(missing)}")
            law = extrapolating(law, settings.drift)
        extra_names = record["data"].get("extra", [])
        data = ScalingData(
            N=np.asarray(const["N"].values, dtype=np.float64),
            D=np.asarray(const["D"].values, dtype=np.float64),
            loss=np.asarray(const["loss"].values, dtype=np.float64),
            flops_per_param_token=float(record["data"]["flops_per_param_token"]),
            source=str(record["data"]["source"]),
            rows=_restore_rows(rows),
            extra={k: np.asarray(const[f"extra_{k}"].values) for k in extra_names},
            group=(
                np.asarray(const["group_label"].values).astype(str)
                if "group_label" in const.data_vars
                else None
            ),
        )
        # the stored runs pass the same validation as new ones (a corrupted N is caught)
        _validate_runs(data)
        if len(rows) != len(data):
            raise ValueError("row labels do not match the runs")
        fit_groups = record.get("groups")
        fit_groups = None if fit_groups is None else tuple(str(g) for g in fit_groups)
        priors = {str(k): str(v) for k, v in dict(record["priors"]).items()}
        prior_sd = record.get("prior_log_sd")
        prior_sd = None if prior_sd is None else {str(k): float(v) for k, v in prior_sd.items()}
        fixed = {str(k): float(v) for k, v in dict(record.get("fixed", {})).items()}
        checks = {str(k): dict(v) for k, v in dict(record.get("checks", {})).items()}
        # what the sampler retried, and notes beyond those its stats give (not retried
        # because of the data): none in files written before 2026-12-07
        attempts = tuple(dict(a) for a in record.get("attempts", []))
        notes = record.get("notes")
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ValueError(f"{path!r} is missing part of a bayescale fit ({detail})") from None
    result = checked_posterior(
        data,
        settings,
        samples,
        stats,
        fit_groups,
        law=law,
        priors=priors,
        fixed=fixed,
        prior_log_sd=prior_sd,
        checks=checks,
    )
    diagnostics = dataclasses.replace(
        result.diagnostics,
        attempts=attempts,
        notes=result.diagnostics.notes if notes is None else [str(n) for n in notes],
    )
    return dataclasses.replace(result, diagnostics=diagnostics)


def _validate_runs(data: ScalingData) -> None:
    """Raise ValueError when stored runs would not pass ScalingData's validation."""
    ScalingData.from_arrays(
        N=data.N,
        D=data.D,
        loss=data.loss,
        flops_per_param_token=data.flops_per_param_token,
        min_runs=1,
        # stored values are already in parameters, tokens and nats, whatever they look like
        n_unit=1,
        d_unit=1,
        loss_kind="loss",
    )


def _restore_rows(rows: np.ndarray) -> np.ndarray:
    # row labels are stored as text; integer labels come back as integers
    try:
        as_int = rows.astype(np.int64)
    except ValueError:
        return rows
    return as_int if np.array_equal(as_int.astype(str), rows.astype(str)) else rows
