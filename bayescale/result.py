"""What users hold: :class:`FitResult`, and the entry points that return it.

A :class:`FitResult` is the :class:`~bayescale.inference.posterior.Posterior` record of a fit with
methods that wire the pure functions of every module below it: decisions
(:mod:`bayescale.decisions.tables`), model checks (:mod:`bayescale.checks.model_checks`),
backtests, reports and storage. :func:`fit`, :func:`fit_many`, :func:`backtest` and :func:`load`
call the same functions of :mod:`bayescale.inference.fit`, :mod:`bayescale.inference.many`,
:mod:`bayescale.checks.backtest` and :mod:`bayescale.inference.storage` and hand back FitResults;
this module is the top of the module order, so nothing below imports it.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from bayescale.checks import backtest as _backtest
from bayescale.checks.backtest import BacktestResult, backtest_fit
from bayescale.checks.model_checks import loo, ppc, waic
from bayescale.classic.approach3 import fit_classic_batch
from bayescale.data.scaling_data import ScalingData
from bayescale.decisions.planning import default_candidates
from bayescale.decisions.planning import plan_runs as _plan_runs
from bayescale.decisions.planning_refit import refit_expected_after
from bayescale.decisions.tables import (
    bayes_optimal_table,
    compute_for_loss_table,
    data_limited_table,
    regret_table,
)
from bayescale.inference import storage
from bayescale.inference.fit import sample
from bayescale.inference.many import normalise_datasets, sample_many
from bayescale.inference.posterior import Posterior, check_budgets, check_ci
from bayescale.inference.settings import DEFAULT_BUDGETS
from bayescale.inference.storage import to_datatree, versions
from bayescale.laws import Law
from bayescale.report.blocks import Block
from bayescale.report.decision_report import write_report
from bayescale.report.display import DecisionTable, PlanResult, Shows, decision_table
from bayescale.report.summaries import allocation_rows, fit_overview

__all__ = ["FitResult", "backtest", "fit", "fit_many", "load"]

#: Fitting methods of :func:`fit_many`.
METHODS = ("classic", "nuts")


@dataclasses.dataclass(frozen=True, eq=False, repr=False)
class FitResult(Shows, Posterior):
    """Posterior of a scaling-law fit and everything computed from it.

    The fields are those of :class:`~bayescale.inference.posterior.Posterior` (``data``,
    ``settings``, ``samples``, ``stats``, ``diagnostics``, ``priors``, ``law``, ``groups``,
    ``fixed``...), as are the methods on draws, summaries, allocations and predictions; the methods
    here add decisions, model checks, backtests, reports and storage.

    At the prompt and in Jupyter a FitResult shows its answer first — the compute-optimal N, D,
    tokens per parameter and loss at each of :data:`~bayescale.DEFAULT_BUDGETS`, with intervals
    and how far beyond the data each budget lies — then its checks, in the words and numbers of
    ``bayescale fit`` (:func:`~bayescale.report.summaries.fit_overview`). The decision tables and
    :meth:`plan_runs` show themselves the same way (:mod:`bayescale.report.display`).
    """

    @classmethod
    def of(cls, posterior: Posterior) -> FitResult:
        """The same record as a FitResult (no copy of the draws)."""
        if isinstance(posterior, cls):
            return posterior
        fields = dataclasses.fields(Posterior)
        return cls(**{f.name: getattr(posterior, f.name) for f in fields})

    def with_drift(self, drift: float) -> FitResult:
        """The same fit with another extrapolation uncertainty, without refitting.

        See :meth:`Posterior.with_drift`; a fit that had the extrapolation check runs it
        again under the new drift.
        """
        out = super().with_drift(drift)
        if "extrapolation" in self.checks:
            out = FitResult.of(_backtest.with_extrapolation_check(out))
        return out

    # ------------------------------------------------------------------ display
    @functools.cached_property
    def _overview(self) -> dict[str, Any]:
        # computed once per object: the allocation over every draw is what costs
        return self.to_dict()

    def _brief(self) -> str:
        return Posterior.__repr__(self)

    def _display_blocks(self) -> list[Block]:
        return fit_overview(self._overview, self._brief())

    def allocation(
        self,
        budgets: Any = DEFAULT_BUDGETS,
        ci: float = 0.9,
        ci_kind: str = "eti",
        *,
        group: str | None = None,
        **covariates: Any,
    ) -> DecisionTable:
        """Compute-optimal N and D with credible intervals at each budget.

        See :meth:`Posterior.allocation <bayescale.inference.posterior.Posterior.allocation>`
        for the arguments and columns; the table shows itself as the fit's summary does, with
        how far beyond the data each budget lies
        (:class:`~bayescale.report.display.DecisionTable`).
        """
        table = super().allocation(budgets, ci, ci_kind, group=group, **covariates)
        return decision_table(
            table,
            "allocation",
            fit_ok=self.ok,
            data_C_max=float(np.max(self.data.C)),
            flops_per_param_token=float(self.data.flops_per_param_token),
            covariates=self._covariates(covariates),
        )

    # ------------------------------------------------------------------ decisions
    def decision_args(self, group: str | None = None, **covariates: Any) -> dict[str, Any]:
        """What every decision function takes from this fit, as keyword arguments.

        ``theta``, ``law``, ``covariates`` (default the data's largest) and
        ``flops_per_param_token``; a pooled fit must name its ``group``.
        """
        if self.groups is not None and group is None:
            raise ValueError(
                f"this fit has groups ({', '.join(self.groups)}); pass group= to decide for one"
            )
        return {
            "theta": self.theta(group),
            "law": self.law,
            "covariates": self._covariates(covariates),
            "flops_per_param_token": self.data.flops_per_param_token,
        }

    def bayes_optimal(
        self,
        budgets: Any = DEFAULT_BUDGETS,
        ci: float = 0.9,
        ci_kind: str = "eti",
        *,
        group: str | None = None,
        **covariates: Any,
    ) -> pd.DataFrame:
        """Bayes-optimal N beside the plug-in and per-draw optima at each budget.

        The Bayes-optimal N minimises the posterior expected loss; the per-draw optima are those of
        :meth:`allocation`. ``group``: one group of a pooled fit; ``**covariates``: the law's extra
        covariates (default the data's largest, as in :meth:`allocation`). See
        :func:`bayescale.decisions.tables.bayes_optimal_table` for the columns.
        """
        table = bayes_optimal_table(
            budgets=check_budgets(budgets),
            ci=ci,
            ci_kind=ci_kind,
            **self.decision_args(group, **covariates),
        )
        return decision_table(table, "bayes_optimal", fit_ok=self.ok)

    def regret(
        self,
        plans: Any,
        *,
        eps: Any = (1e-3, 1e-2),
        within: float = 2.0,
        ci: float = 0.9,
        ci_kind: str = "eti",
        group: str | None = None,
        **covariates: Any,
    ) -> pd.DataFrame:
        """Posterior regret of planned runs in loss and in wasted compute.

        ``plans``: ``"70B/1.4T"``, ``"70B@5.76e23"``, ``(N, D)``, ``{"N": .., "C": ..}`` or a list
        of these; see :func:`bayescale.decisions.tables.regret_table` for the columns (``group``
        and ``**covariates`` as in :meth:`bayes_optimal`).
        """
        table = regret_table(
            plans=plans,
            eps=eps,
            within=within,
            ci=ci,
            ci_kind=ci_kind,
            **self.decision_args(group, **covariates),
        )
        return decision_table(table, "regret", fit_ok=self.ok)

    def compute_for_loss(
        self,
        target_loss: Any,
        ci: float = 0.9,
        *,
        group: str | None = None,
        **covariates: Any,
    ) -> pd.DataFrame:
        """Least compute reaching each target loss, with P(reachable).

        Unreachable draws count as infinite compute; see
        :func:`bayescale.decisions.tables.compute_for_loss_table` (``group`` and ``**covariates``
        as in :meth:`bayes_optimal`).
        """
        table = compute_for_loss_table(
            targets=target_loss, ci=ci, **self.decision_args(group, **covariates)
        )
        return decision_table(table, "compute_for_loss", fit_ok=self.ok)

    def data_limited(
        self,
        D_max: float,
        budgets: Any = DEFAULT_BUDGETS,
        ci: float = 0.9,
        ci_kind: str = "eti",
        *,
        group: str | None = None,
        **covariates: Any,
    ) -> pd.DataFrame:
        """Best allocation with at most ``D_max`` training tokens at each budget.

        ``table.attrs["C_bind"]`` is the budget above which the cap binds; see
        :func:`bayescale.decisions.tables.data_limited_table` (``group`` and ``**covariates`` as in
        :meth:`bayes_optimal`).
        """
        table = data_limited_table(
            D_max=D_max,
            budgets=check_budgets(budgets),
            ci=ci,
            ci_kind=ci_kind,
            **self.decision_args(group, **covariates),
        )
        return decision_table(table, "data_limited", fit_ok=self.ok)

    def plan_runs(
        self,
        candidates: Any = None,
        *,
        target_budget: Any,
        spend: Any,
        max_runs: int | None = None,
        criterion: str = "n_opt",
        ci: float = 0.9,
        seed: int = 0,
        group: str | None = None,
        refit: int = 0,
        target_runs: Any = None,
        **covariates: Any,
    ) -> PlanResult:
        """Which runs to train next under a compute cap (:func:`~.planning.plan_runs`).

        ``candidates``: a DataFrame (columns N and D), a mapping or an (N, D) pair of arrays, or
        None for the default grid (N from the smallest run to 10× the largest, 1–400 tokens per
        parameter). ``target_budget`` and ``spend`` take FLOPs, PF-days or accelerator time
        (``"256xH100:2d@40%"``). ``criterion``: ``"n_opt"`` (spread of log N_opt at the target:
        to pin down the allocation), ``"loss"`` (spread of the optimal loss there),
        ``"regret"`` (expected regret of the Bayes-optimal choice there) or ``"predict"``
        (expected error of the predicted loss of ``target_runs``, default the Bayes-optimal
        run at the target: to predict the big run well). Outcomes are simulated from this
        fit's model with each draw's sigma (and nu), the drift beyond the data included; a
        run beyond the data's largest compute moves the edge the refit's drift starts from.
        ``refit``: when the reweighted draws degenerate
        (``plan.degenerate``), re-estimate ``expected_after`` from this many refits of simulated
        outcomes (:func:`~bayescale.decisions.planning_refit.refit_expected_after`); 0 (default)
        only flags it. The plan is a :class:`~bayescale.report.display.PlanResult`: a RunPlan that
        shows itself as the report's "what to train next" section.
        """
        args = self.decision_args(group, **covariates)
        if candidates is None:
            candidates = default_candidates(self.data.N)
        plan = _plan_runs(
            candidates=candidates,
            target_budget=target_budget,
            spend=spend,
            sigma=self.draws("sigma"),
            nu=self.draws("nu") if "nu" in self.samples else None,
            likelihood=self.settings.likelihood,
            delta=float(self.settings.delta),
            max_runs=max_runs,
            criterion=criterion,
            ci=ci,
            seed=seed,
            target_runs=target_runs,
            **args,
        )
        if refit and plan.degenerate:
            plan = refit_expected_after(self, plan, refit, seed=seed)
        return PlanResult.of(plan)

    def report(
        self,
        out: str | os.PathLike[str],
        *,
        budgets: Any = DEFAULT_BUDGETS,
        plans: Any = None,
        target_loss: Any = None,
        d_max: float | None = None,
        cost: Any = None,
        eps: Any = (1e-3, 1e-2),
        within: float = 2.0,
        ci: float = 0.9,
        ci_kind: str = "eti",
        figures: bool = True,
        title: str | None = None,
        plan: Any = None,
    ) -> dict[str, Any]:
        """Write a decision report to directory ``out``: Markdown, self-contained HTML, JSON.

        Parameters
        ----------
        out : path
            Output directory (created): ``report.md``, ``report.html``, ``report.json``
            and ``figures/*.png``.
        budgets : sequence
            Budgets as FLOPs or strings in any unit (``"5000pf-days"``, ``"2048xH100:30d@40%"``);
            see :mod:`bayescale.data.units`.
        plans : optional
            Planned runs to assess (``"70B/1.4T"``...; see :meth:`regret`).
        target_loss : float or sequence, optional
            Target losses for compute-for-loss.
        d_max : float, optional
            Cap on unique training tokens.
        cost : str or CostModel, optional
            ``"H100@40%,$2.5/h"``: express budgets and waste in accelerator-hours and money.
        eps, within : optional
            Regret thresholds and the factor for P(N within a factor of N_opt).
        ci, ci_kind : optional
            Credible mass and interval kind.
        figures : bool, default True
            Draw and embed figures (needs matplotlib).
        title : str, optional
            Report title.
        plan : RunPlan or budget, optional
            A "what to train next" section: a :meth:`plan_runs` result, or a spend (any
            budget unit) planned for at the largest budget.

        Returns
        -------
        dict
            The JSON content, with ``"files"`` listing what was written.
        """
        return write_report(
            self,
            out,
            budgets=budgets,
            plans=plans,
            target_loss=target_loss,
            d_max=d_max,
            cost=cost,
            eps=eps,
            within=within,
            ci=ci,
            ci_kind=ci_kind,
            figures=figures,
            title=title,
            plan=plan,
        )

    # ------------------------------------------------------------------ model checking
    def loo(self, *, warn: bool = True) -> Any:
        """PSIS-LOO of this fit (:func:`bayescale.checks.model_checks.loo`)."""
        return loo(self, warn=warn)

    def waic(self, *, warn: bool = True) -> dict[str, Any]:
        """WAIC of this fit (:func:`bayescale.checks.model_checks.waic`)."""
        return waic(self, warn=warn)

    def ppc(self, ci: Any = (0.5, 0.9), *, seed: int = 0) -> Any:
        """Posterior predictive check (:func:`bayescale.checks.model_checks.ppc`)."""
        return ppc(self, ci, seed=seed)

    def backtest(self, holdout: str = "largest", frac: float = 0.2, **kwargs: Any) -> Any:
        """Refit on the smaller runs and predict the held-out ones (:func:`bayescale.backtest`).

        Uses this fit's law, likelihood, priors and sampler settings unless overridden.
        """
        return _with_fit_results(backtest_fit(self, holdout=holdout, frac=frac, **kwargs))

    # ------------------------------------------------------------------ export
    def to_dict(
        self, budgets: Any = DEFAULT_BUDGETS, ci: float = 0.9, ci_kind: str = "eti"
    ) -> dict[str, Any]:
        """Everything the CLI's ``--json`` writes, as plain Python types."""
        ci, ci_kind = check_ci(ci, ci_kind)
        summary = self.summary(ci, ci_kind)
        parameters = {
            name: {
                "median": float(row["median"]),
                "mean": float(row["mean"]),
                "sd": float(row["sd"]),
                "lo": float(row["lo"]),
                "hi": float(row["hi"]),
                "r_hat": float(row["r_hat"]),
                "ess_bulk": float(row["ess_bulk"]),
                "ess_tail": float(row["ess_tail"]),
            }
            for name, row in summary.iterrows()
        }
        exps = self.exponents(ci, ci_kind)
        exponents = {
            k: {"median": float(r["median"]), "lo": float(r["lo"]), "hi": float(r["hi"])}
            for k, r in exps.iterrows()
        }
        allocations = allocation_rows(self.allocation(budgets, ci, ci_kind))
        c_max = float(np.max(self.data.C))
        extrapolation = {
            "drift": float(self.settings.drift),
            "data_C_max": c_max,
            "budgets_over_C_max": [float(b) / c_max for b in check_budgets(budgets)],
            "check": dict(self.checks["extrapolation"])
            if "extrapolation" in self.checks
            else None,
        }
        out = {
            "n_runs": len(self.data),
            "ci": float(ci),
            "ci_kind": ci_kind,
            "likelihood": self.settings.likelihood,
            "law": self.law.name,
            "parameters": parameters,
            "exponents": exponents,
            "allocations": allocations,
            "diagnostics": self.diagnostics.to_dict(),
            "extrapolation": extrapolation,
            "settings": dataclasses.asdict(self.settings),
            "priors": dict(self.priors),
            "data": {
                "source": self.data.source,
                "flops_per_param_token": float(self.data.flops_per_param_token),
            },
            "versions": versions(),
        }
        if self.fixed:
            out["fixed"] = {k: float(v) for k, v in self.fixed.items()}
        if self.law.covariates:
            out["allocation_covariates"] = self._covariates({})
        if self.groups is not None:
            out["groups"] = list(self.groups)
            out["pooling"] = self.settings.pooling
        return out

    def to_json(
        self,
        budgets: Any = DEFAULT_BUDGETS,
        ci: float = 0.9,
        ci_kind: str = "eti",
        *,
        indent: int | None = 2,
    ) -> str:
        """:meth:`to_dict` as a JSON string (deterministic: same fit, same bytes)."""
        return json.dumps(self.to_dict(budgets, ci, ci_kind), indent=indent, allow_nan=True)

    def to_datatree(self, *, log_likelihood: bool = False) -> Any:
        """The posterior as an ArviZ :class:`xarray.DataTree` (posterior, sample_stats...)."""
        return to_datatree(self, log_likelihood=log_likelihood)

    @property
    def posterior(self) -> Any:
        """ArviZ DataTree of this fit (alias of :meth:`to_datatree`)."""
        return self.to_datatree()

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the fit to a netCDF file; :func:`bayescale.load` reads it back exactly."""
        storage.save(self, path)


def _with_fit_results(result: BacktestResult) -> BacktestResult:
    return dataclasses.replace(result, fits={k: FitResult.of(v) for k, v in result.fits.items()})


def fit(
    data: ScalingData,
    *,
    law: str | Law = "chinchilla",
    priors: Mapping[str, Any] | None = None,
    strict: bool = False,
    progress_bar: bool | None = None,
    **settings: Any,
) -> FitResult:
    """Fit a scaling law (default L(N, D) = E + A/N^α + B/D^β) to training runs with NUTS.

    Parameters
    ----------
    data : ScalingData
        Validated runs (:func:`bayescale.load_dataset`, :meth:`ScalingData.from_csv`...).
        With a ``group`` column the fit is pooled over groups (see ``pooling``).
    law : str or Law, default "chinchilla"
        ``"chinchilla"``, ``"kaplan"``, ``"data_constrained"`` (needs a ``U_D`` column), a
        registered user law or a :class:`~bayescale.laws.Law` (:func:`bayescale.define_law`).
    priors : mapping, optional
        NumPyro distributions replacing defaults for any of the law's parameters, sigma (and nu for
        Student-t; ``tau_<p>`` for the group spread of a pooled parameter); see
        :mod:`bayescale.inference.priors` and the law's module. A number instead of a distribution
        holds that law parameter fixed, e.g. ``priors={"E": 1.69}``; a tight prior such as
        ``dist.LogNormal(math.log(1.69), 0.02)`` lets it move a little.
    strict : bool, default False
        Raise :class:`~bayescale.SamplingError` instead of warning when a diagnostic fails.
    progress_bar : bool, optional
        Show progress; default: only in interactive sessions.
    **settings
        Any field of :class:`~bayescale.FitSettings`: ``likelihood``, ``chains``,
        ``warmup``, ``draws``, ``seed``, ``target_accept``, ``dense_mass``, ``pooling``...

    Returns
    -------
    FitResult

    Raises
    ------
    ValueError
        Bad data, settings or priors.
    SamplingError
        With ``strict=True``, if R-hat > 1.01, ESS < 400, or any divergence.

    Warns
    -----
    SamplingWarning
        When a diagnostic fails (``diagnostics.ok`` is then False).
    """
    post = sample(data, law=law, priors=priors, progress_bar=progress_bar, **settings)
    if post.settings.extrapolation_check:
        post = _backtest.with_extrapolation_check(post)
    result = FitResult.of(post)
    result.diagnostics.report(strict=strict, stacklevel=2)
    return result


def fit_many(datasets: Any, method: str = "classic", **kwargs: Any) -> Any:
    """Fit several independent data sets in one vectorised run.

    Parameters
    ----------
    datasets : list of ScalingData, dict of str to ScalingData, or ScalingData
        The data sets; a single ScalingData is split by its ``group`` column.
    method : {"classic", "nuts"}
        :func:`bayescale.fit_classic` (batched L-BFGS, optional bootstrap) or :func:`bayescale.fit`
        (NUTS).
    **kwargs
        Arguments of :func:`~bayescale.fit_classic` or :func:`~bayescale.fit`, applied to every
        data set. With NUTS each data set's chains get their own seeds.

    Returns
    -------
    list or dict
        One :class:`~bayescale.ClassicFit` or :class:`FitResult` per data set: a list for a list
        input, a dict (same keys, or the group labels) otherwise.

    Examples
    --------
    >>> import bayescale
    >>> from bayescale.checks.simulate import simulate_runs
    >>> sets = [simulate_runs(seed=s) for s in range(3)]
    >>> fits = bayescale.fit_many(sets, method="classic")  # doctest: +SKIP
    >>> [round(f.params.alpha, 2) for f in fits]  # doctest: +SKIP
    [0.34, 0.33, 0.35]
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    if method == "nuts":
        out = sample_many(datasets, **kwargs)
        if isinstance(out, dict):
            return {k: FitResult.of(v) for k, v in out.items()}
        return [FitResult.of(v) for v in out]
    names, items = normalise_datasets(datasets)
    fits = fit_classic_batch(items, **kwargs)
    return fits if names is None else dict(zip(names, fits, strict=True))


def backtest(data: ScalingData, **kwargs: Any) -> BacktestResult:
    """Fit each law × likelihood on the smaller runs and score predictions of the largest.

    See :func:`bayescale.checks.backtest.backtest`; ``fits`` are :class:`FitResult`.
    """
    return _with_fit_results(_backtest.backtest(data, **kwargs))


def load(path: str | os.PathLike[str]) -> FitResult:
    """Read a fit written by :meth:`FitResult.save` (see :func:`~.storage.load`)."""
    return FitResult.of(storage.load(path))
