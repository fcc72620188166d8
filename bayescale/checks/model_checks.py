r"""Model checking and comparison: PSIS-LOO, WAIC, ``compare`` and posterior predictive checks.

All on the scale the models are fitted on, the log of the loss, so fits of the *same runs*
with different laws or likelihoods are comparable; fits of different runs are not (and
:func:`compare` refuses them).

- :func:`loo`: Pareto-smoothed importance-sampling leave-one-out (Vehtari, Gelman and Gabry
  2017) through ArviZ; runs whose Pareto k exceeds ArviZ's threshold
  (min(1 − 1/log10 S, 0.7) for S draws) are named in a :class:`ModelCheckWarning`: their LOO
  estimate is unreliable (refit without them, or use the backtest).
- :func:`waic`: the widely applicable information criterion, computed here (ArviZ 1.x
  dropped it), with the warning for pointwise posterior variances of the log-likelihood
  above 0.4.
- :func:`compare`: ranks fits by LOO elpd with ArviZ's ``compare`` (stacking weights), adds
  WAIC, Pareto-k counts and sampling diagnostics.
- :func:`ppc`: replicated log losses from the posterior predictive, per-run predictive
  intervals, their coverage in sample and leave-one-out (LOO-PIT), and posterior
  predictive p-values of summary statistics.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from bayescale.data.scaling_data import ScalingData
from bayescale.inference.diagnostics import SamplingError
from bayescale.inference.likelihoods import check_likelihood, log_mean_exp
from bayescale.inference.model import ModelSpec
from bayescale.inference.posterior import Posterior, check_ci
from bayescale.inference.priors import fixed_params, resolve_priors
from bayescale.inference.storage import to_datatree
from bayescale.laws import get_law

__all__ = [
    "WAIC_VAR_MAX",
    "ModelCheckWarning",
    "PPCResult",
    "PriorPredictive",
    "compare",
    "loo",
    "ppc",
    "predictive_draws",
    "prior_predictive",
    "waic",
]

#: Pointwise posterior variance of the log-likelihood above which WAIC is unreliable
#: (Vehtari, Gelman and Gabry 2017).
WAIC_VAR_MAX = 0.4
_MAX_LISTED = 8


class ModelCheckWarning(UserWarning):
    """A model-checking estimate (LOO, WAIC) is unreliable for some runs."""


def _rows(result: Posterior, mask: np.ndarray) -> str:
    rows = [str(r) for r in np.asarray(result.data.rows)[mask]]
    more = len(rows) - _MAX_LISTED
    return ", ".join(rows[:_MAX_LISTED]) + (f" (and {more} more)" if more > 0 else "")


def _check_fit(result: Any) -> None:
    if not isinstance(result, Posterior):
        raise ValueError(f"expected a FitResult, got {type(result).__name__}")


def loo(result: Posterior, *, warn: bool = True) -> Any:
    """PSIS-LOO estimate of the expected log predictive density of a fit.

    Parameters
    ----------
    result : Posterior
        The fit.
    warn : bool, default True
        Warn (:class:`ModelCheckWarning`) when some runs have a high Pareto k.

    Returns
    -------
    arviz_stats.ELPDData
        ``elpd``, ``se``, ``p`` (effective parameters), pointwise ``elpd_i`` and
        ``pareto_k`` over runs, ``good_k`` (the threshold).

    Raises
    ------
    SamplingError
        The draws cannot be smoothed (a run's log-likelihood is the same in every tail
        draw: stuck chains).
    """
    _check_fit(result)
    from arviz_stats import loo as az_loo

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # replaced by the warning below
        tree = to_datatree(result, log_likelihood=True)
        try:
            elpd = az_loo(tree, pointwise=True, var_name="log_loss")
        except ValueError as exc:
            # Pareto smoothing needs a tail of distinct log-likelihood values; identical
            # ones mean chains that did not move: sampling trouble, not bad input
            raise SamplingError(
                f"PSIS-LOO cannot be computed for this fit ({exc}): its draws of the "
                "log-likelihood do not vary, as when chains are stuck; check its "
                "diagnostics and sample longer"
            ) from None
    k = np.asarray(elpd.pareto_k)
    bad = k > elpd.good_k
    if warn and bad.any():
        warnings.warn(
            f"PSIS-LOO is unreliable for {int(bad.sum())} of {k.size} runs (Pareto k > "
            f"{elpd.good_k:.2f}; max {k.max():.2f}) at rows {_rows(result, bad)}: these runs "
            "are influential or poorly fitted; check them, try likelihood='student_t', or "
            "judge the law by a backtest instead",
            ModelCheckWarning,
            stacklevel=2,
        )
    return elpd


def waic(result: Posterior, *, warn: bool = True) -> dict[str, Any]:
    r"""Widely applicable information criterion (Watanabe 2010) of a fit.

    :math:`\widehat{elpd}_{waic} = \sum_i \log \overline{p(y_i|\theta)} - \sum_i
    \mathrm{Var}_\theta \log p(y_i|\theta)`.

    Returns
    -------
    dict
        ``elpd_waic``, ``se``, ``p_waic``, ``waic`` (= −2 elpd), ``n_high_variance`` (runs
        whose posterior variance of the log-likelihood exceeds 0.4) and ``pointwise``
        (elpd per run).
    """
    _check_fit(result)
    ll = result.log_likelihood()
    ll = ll.reshape(-1, ll.shape[-1])
    lppd = log_mean_exp(ll)
    var = np.var(ll, axis=0, ddof=1)
    pointwise = lppd - var
    high = var > WAIC_VAR_MAX
    if warn and high.any():
        warnings.warn(
            f"WAIC is unreliable: {int(high.sum())} runs have posterior log-likelihood "
            f"variance > {WAIC_VAR_MAX} (rows {_rows(result, high)}); prefer PSIS-LOO",
            ModelCheckWarning,
            stacklevel=2,
        )
    n = pointwise.size
    return {
        "elpd_waic": float(pointwise.sum()),
        "se": float(np.sqrt(n * np.var(pointwise, ddof=1))) if n > 1 else float("nan"),
        "p_waic": float(var.sum()),
        "waic": float(-2.0 * pointwise.sum()),
        "n_high_variance": int(high.sum()),
        "pointwise": pointwise,
    }


def _same_runs(a: ScalingData, b: ScalingData) -> bool:
    return (
        len(a) == len(b)
        and np.array_equal(a.N, b.N)
        and np.array_equal(a.D, b.D)
        and np.array_equal(a.loss, b.loss)
    )


def compare(
    fits: Mapping[str, Posterior], *, method: str = "stacking", warn: bool = True
) -> pd.DataFrame:
    """Rank fits of the same runs by PSIS-LOO (ArviZ ``compare``), with WAIC beside it.

    Parameters
    ----------
    fits : mapping of str to Posterior
        At least two fits of identical runs (different laws, likelihoods, priors...).
    method : {"stacking", "BB-pseudo-BMA", "pseudo-BMA"}
        How ArviZ weights the models.
    warn : bool, default True
        Warn about runs with high Pareto k in any fit.

    Returns
    -------
    pandas.DataFrame
        One row per fit, best first: ``rank``, ``elpd_loo``, ``se``, ``p_loo``,
        ``elpd_diff`` and its standard error ``dse`` (against the best), ``weight``,
        ``elpd_waic``, ``p_waic``, ``pareto_k_max``, ``n_high_k``, ``law``, ``likelihood``,
        ``sampling_ok``. A difference smaller than about 2·dse is not a clear preference.

    Raises
    ------
    ValueError
        Fewer than two fits, a value that is not a Posterior, fits of different runs, or
        an unknown method.
    """
    from arviz_stats import compare as az_compare

    if not isinstance(fits, Mapping) or len(fits) < 2:
        raise ValueError("compare needs a mapping of at least two named fits")
    methods = ("stacking", "BB-pseudo-BMA", "pseudo-BMA")
    if method not in methods:
        raise ValueError(f"unknown method {method!r}; choose one of {', '.join(methods)}")
    names = [str(k) for k in fits]
    first = None
    for name, f in fits.items():
        _check_fit(f)
        if first is None:
            first = f
        elif not _same_runs(first.data, f.data):
            raise ValueError(
                f"fit {name!r} is of different runs than {names[0]!r}; LOO compares fits of "
                "the same data only"
            )
    elpds = {str(k): loo(f, warn=False) for k, f in fits.items()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # Pareto-k: reported per fit below
        table = az_compare(elpds, method=method, round_to="none")
    extra = {}
    for name, f in fits.items():
        e = elpds[str(name)]
        k = np.asarray(e.pareto_k)
        w = waic(f, warn=False)
        extra[str(name)] = {
            "elpd_waic": w["elpd_waic"],
            "p_waic": w["p_waic"],
            "pareto_k_max": float(k.max()),
            "n_high_k": int((k > e.good_k).sum()),
            "law": f.law.name,
            "likelihood": f.settings.likelihood,
            "sampling_ok": bool(f.ok),
        }
        if warn and (k > e.good_k).any():
            warnings.warn(
                f"fit {name!r}: PSIS-LOO is unreliable for {int((k > e.good_k).sum())} runs "
                f"(Pareto k up to {k.max():.2f}); its elpd may be optimistic",
                ModelCheckWarning,
                stacklevel=2,
            )
    table = table.rename(columns={"elpd": "elpd_loo", "p": "p_loo"})
    keep = ["rank", "elpd_loo", "se", "p_loo", "elpd_diff", "dse", "weight"]
    out = table[keep].join(pd.DataFrame.from_dict(extra, orient="index"))
    out.index.name = "model"
    return out


# ------------------------------------------------------------------ posterior predictive
def predictive_draws(
    result: Posterior, data: ScalingData | None = None, *, seed: int = 0
) -> np.ndarray:
    """Replicated log losses from the posterior predictive: (n_draws, runs).

    For each draw, the law's prediction at each run of ``data`` (default: the fitted
    runs) plus a residual from the fit's likelihood (Gaussian, Student-t or Huber) with that
    draw's σ (and ν), times the law's noise scale beyond the fitted runs.
    """
    pred = result.predict_log_loss_draws(data)
    return pred + result._residual_draws(result.residual_scales(data), seed)


def check_levels(ci: Any) -> tuple[float, ...]:
    """Interval levels as a tuple of floats in (0, 1), at least one."""
    levels = tuple(float(check_ci(c)[0]) for c in np.atleast_1d(np.asarray(ci, dtype=float)))
    if not levels:
        raise ValueError("give at least one interval level")
    return levels


@dataclass(frozen=True)
class PPCResult:
    """Posterior predictive check of a fit.

    Attributes
    ----------
    runs : pandas.DataFrame
        Per run: N, D, observed loss, predictive median, ``lo_<level>``/``hi_<level>``
        bounds of the central predictive intervals (on the loss scale), ``pit`` (share of
        replicated log losses below the observed one, in sample) and ``loo_pit``.
    coverage : pandas.DataFrame
        Per level: nominal level, share of runs inside their in-sample predictive
        interval, and inside their leave-one-out interval (from LOO-PIT).
    statistics : pandas.DataFrame
        Summary statistics of the residual log losses (observed minus the posterior
        median prediction): observed value, median over replicates, and the posterior
        predictive p-value P(T(y_rep) ≥ T(y)); values near 0 or 1 flag misfit.
    """

    runs: pd.DataFrame
    coverage: pd.DataFrame
    statistics: pd.DataFrame

    def to_dict(self) -> dict[str, Any]:
        """Coverage and statistics as plain Python types."""
        return {
            "coverage": self.coverage.to_dict(orient="records"),
            "statistics": self.statistics.reset_index().to_dict(orient="records"),
        }


def ppc(result: Posterior, ci: Any = (0.5, 0.9), *, seed: int = 0) -> PPCResult:
    """Posterior predictive check: observed vs replicated losses and interval calibration.

    Parameters
    ----------
    result : Posterior
        The fit.
    ci : float or sequence of float
        Central predictive-interval levels to check.
    seed : int
        Seed of the replicated residuals.

    Returns
    -------
    PPCResult
        For a calibrated model about ``level`` of the runs fall inside their level
        interval; in sample this is optimistic, the leave-one-out coverage is the honest
        number.
    """
    _check_fit(result)
    levels = check_levels(ci)
    y = result.data.log_loss
    rep = predictive_draws(result, seed=seed)
    pit = np.mean(rep < y, axis=0)
    loo_pit = _loo_pit(result, rep)
    cols: dict[str, Any] = {
        "N": result.data.N,
        "D": result.data.D,
        "loss": result.data.loss,
        "pred_median": np.exp(np.median(rep, axis=0)),
    }
    cov_rows = []
    for c in levels:
        lo, hi = np.quantile(rep, [(1 - c) / 2, (1 + c) / 2], axis=0)
        cols[f"lo_{c:g}"], cols[f"hi_{c:g}"] = np.exp(lo), np.exp(hi)
        inside_loo = (loo_pit >= (1 - c) / 2) & (loo_pit <= (1 + c) / 2)
        cov_rows.append(
            {
                "level": c,
                "in_sample": float(np.mean((y >= lo) & (y <= hi))),
                "loo": float(np.mean(inside_loo)),
            }
        )
    cols["pit"] = pit
    cols["loo_pit"] = loo_pit
    runs = pd.DataFrame(cols, index=pd.Index(result.data.rows, name="row"))
    center = np.median(result.predict_log_loss_draws(), axis=0)
    stats = {}
    for name, fn in (
        ("sd", lambda r: np.std(r, axis=-1)),
        ("min", lambda r: np.min(r, axis=-1)),
        ("max", lambda r: np.max(r, axis=-1)),
        ("mean", lambda r: np.mean(r, axis=-1)),
    ):
        t_obs = float(fn(y - center))
        t_rep = fn(rep - center)
        stats[name] = {
            "observed": t_obs,
            "replicated_median": float(np.median(t_rep)),
            "p_value": float(np.mean(t_rep >= t_obs)),
        }
    return PPCResult(
        runs=runs,
        coverage=pd.DataFrame(cov_rows),
        statistics=pd.DataFrame.from_dict(stats, orient="index"),
    )


def _loo_pit(result: Posterior, rep: np.ndarray) -> np.ndarray:
    """LOO-PIT values through ArviZ, from the replicated draws."""
    from arviz_base import from_dict
    from arviz_stats import loo_pit

    chains, draws = result.samples["sigma"].shape[:2]
    tree = to_datatree(result, log_likelihood=True)
    pp = from_dict(
        {"posterior_predictive": {"log_loss": rep.reshape(chains, draws, -1)}},
        dims={"log_loss": ["run"]},
    )
    tree["posterior_predictive"] = pp["posterior_predictive"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ArviZ repeats the Pareto-k warning of loo()
        values = loo_pit(tree, var_names="log_loss")
    return np.asarray(values["log_loss"]).reshape(-1)


# ------------------------------------------------------------------ prior predictive
@dataclass(frozen=True)
class PriorPredictive:
    """Runs simulated from the prior alone: what the model believes before seeing losses.

    Attributes
    ----------
    loss : numpy.ndarray
        Simulated final losses, shape (n, runs), at the runs' N and D (and covariates).
    params : dict of numpy.ndarray
        The parameter draws behind them, each of shape (n,).
    observed : numpy.ndarray
        The runs' observed losses, for comparison.
    """

    loss: np.ndarray
    params: dict[str, np.ndarray]
    observed: np.ndarray

    def summary(self, ci: float = 0.9) -> pd.DataFrame:
        """How the prior predictive compares with the data.

        Returns
        -------
        pandas.DataFrame
            One row per statistic: the median and central ``ci`` interval of simulated
            losses over all runs and draws, the share of observed losses inside their run's
            prior predictive interval (a prior that cannot produce the data shows up here),
            and the share of simulated losses above 10 and 100 nats (implausible for
            language-model cross-entropy).
        """
        ci = check_ci(ci)[0]
        q = np.quantile(self.loss, [(1 - ci) / 2, 0.5, (1 + ci) / 2], axis=0)
        inside = (self.observed >= q[0]) & (self.observed <= q[2])
        flat = self.loss.reshape(-1)
        lo, med, hi = np.quantile(flat, [(1 - ci) / 2, 0.5, (1 + ci) / 2])
        rows = {
            "simulated loss: median": med,
            f"simulated loss: {ci:.0%} lower": lo,
            f"simulated loss: {ci:.0%} upper": hi,
            f"observed inside their {ci:.0%} prior interval": inside.mean(),
            "simulated losses > 10": (flat > 10).mean(),
            "simulated losses > 100": (flat > 100).mean(),
        }
        return pd.DataFrame({"value": pd.Series(rows, dtype=float)})


def prior_predictive(
    data: ScalingData,
    *,
    law: Any = "chinchilla",
    priors: Mapping[str, Any] | None = None,
    likelihood: str = "gaussian",
    delta: float = 1e-3,
    n: int = 1000,
    seed: int = 0,
) -> PriorPredictive:
    """Simulate the runs of ``data`` from the prior (a prior predictive check).

    Uses the same NumPyro model as :func:`bayescale.fit` with the observed losses left
    out, so it shows exactly what the priors (defaults merged with ``priors``) imply for
    runs of these sizes. Group labels are ignored (the ungrouped model).

    Parameters
    ----------
    data : ScalingData
        The runs whose N, D (and covariates) are simulated; their losses are only used for
        comparison.
    law, priors, likelihood, delta
        As in :func:`bayescale.fit`.
    n : int, default 1000
        Number of prior draws.
    seed : int, default 0
        Random seed.

    Returns
    -------
    PriorPredictive
    """
    from numpyro.infer import Predictive

    check_likelihood(likelihood)
    if not isinstance(n, int | np.integer) or isinstance(n, bool) or n < 1:
        raise ValueError(f"n must be a whole number >= 1, got {n!r}")
    law_obj = get_law(law)
    fixed = fixed_params(law_obj, priors)
    spec = ModelSpec(law_obj, likelihood, float(delta), None, tuple(sorted(fixed)))
    resolved, fixed = resolve_priors(spec, priors)
    with jax.enable_x64(True):
        x = law_obj.covariates_of(data, jnp.float64)
        draws = Predictive(spec, num_samples=int(n))(
            jax.random.key(seed), x, priors=resolved, fixed=fixed
        )
        draws = {k: np.asarray(v) for k, v in draws.items()}
    params = {p: draws[p] for p in (*law_obj.params, "sigma", "nu") if p in draws}
    for p, v in fixed.items():
        params[p] = np.full(int(n), v)
    return PriorPredictive(
        loss=np.exp(draws["log_loss"]), params=params, observed=np.asarray(data.loss)
    )
