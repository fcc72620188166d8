"""Figures of a fit and its decisions — the one module that imports matplotlib.

matplotlib is imported inside each function, so ``import bayescale`` (and even ``import
bayescale.report.plotting``) stays light. Every function takes the :class:`~bayescale.FitResult`,
draws on ``ax`` when given (else on a new figure) and returns what it drew on: an Axes, a pair of
Axes for :func:`plot_residuals`, or the Figure of ArviZ's grid for :func:`plot_pair`. Bands are
equal-tailed credible intervals of the posterior (``ci``, default 0.9). Log axes of parameters
and tokens are labelled in the sizes the tables print (``82B``, ``1.4T``: :func:`tick_count`),
compute in FLOPs as ``1e24`` (:func:`tick_flops`).

>>> import matplotlib
>>> matplotlib.use("Agg")
>>> from bayescale import plotting                         # doctest: +SKIP
>>> ax = plotting.plot_frontier(result)                    # doctest: +SKIP
>>> ax.figure.savefig("frontier.png")                      # doctest: +SKIP
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable
from typing import Any

import jax
import numpy as np

from bayescale.data.units import FLOPS_PER_PF_DAY, format_count
from bayescale.decisions.budget import as_plans, bayes_optimal, loss_profile, regret
from bayescale.inference.posterior import interval
from bayescale.laws import CHINCHILLA
from bayescale.laws.chinchilla import ChinchillaParams
from bayescale.laws.optimum import allocate

__all__ = [
    "REFERENCE_FITS",
    "plot_data",
    "plot_frontier",
    "plot_isoflops",
    "plot_pair",
    "plot_plan",
    "plot_regret",
    "plot_residuals",
    "plot_tokens_per_param",
    "reference_allocation",
    "report_figures",
    "set_count_axis",
    "set_flops_axis",
    "tick_count",
    "tick_flops",
]

#: Published compute-optimal allocations drawn as reference lines.
REFERENCE_FITS: dict[str, dict[str, Any]] = {
    "hoffmann": {
        "label": "Hoffmann et al. 2022, Approach 3",
        # unrounded Approach-3 values (Hoffmann et al. 2022; see Besiroglu et al. 2024)
        "params": ChinchillaParams(1.69337368, 406.401018, 410.722827, 0.33917084, 0.2849083),
    },
    "besiroglu": {
        "label": "Besiroglu et al. 2024 replication",
        "params": ChinchillaParams(1.8172, 482.01, 2085.43, 0.3478, 0.3658),
    },
    "kaplan": {
        # Kaplan et al. 2020, Fig. 14 / Table 6: N_opt = 1.3e9 · (C_min / PF-day)^0.73
        # (non-embedding parameters); D from C = 6ND.
        "label": "Kaplan et al. 2020, N ∝ C^0.73",
        "coef": 1.3e9,
        "exponent": 0.73,
    },
}


def reference_allocation(name: str, budgets: Any, k: float = 6.0) -> tuple[np.ndarray, ...]:
    """``(N_opt, D_opt)`` of a published fit in :data:`REFERENCE_FITS` at ``budgets``."""
    if name not in REFERENCE_FITS:
        raise ValueError(f"unknown reference {name!r}; choose from {', '.join(REFERENCE_FITS)}")
    C = np.asarray(budgets, dtype=np.float64)
    ref = REFERENCE_FITS[name]
    if "params" in ref:
        with jax.enable_x64(True):
            N = np.asarray(allocate(CHINCHILLA, ref["params"], C, k).N_opt)
    else:
        N = ref["coef"] * (C / FLOPS_PER_PF_DAY) ** ref["exponent"]
    return N, C / (k * N)


def _check_refs(references: Any) -> tuple[str, ...]:
    if references is None or references is False:
        return ()
    if isinstance(references, str):
        references = (references,)
    refs = tuple(references)
    for r in refs:
        if r not in REFERENCE_FITS:
            raise ValueError(f"unknown reference {r!r}; choose from {', '.join(REFERENCE_FITS)}")
    return refs


def _new_axes(ax: Any, figsize: tuple[float, float] = (6.4, 4.6)) -> Any:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def _band(ax: Any, x: Any, draws: np.ndarray, ci: float, color: Any, label: str | None):
    lo, hi = interval(draws, ci)
    med = np.median(draws, axis=0)
    ax.fill_between(x, lo, hi, color=color, alpha=0.2, linewidth=0)
    ax.plot(x, med, color=color, label=label)
    return med, lo, hi


def _plain_log_y(ax: Any) -> None:
    # loss spans well under a decade: label log-scale ticks as plain numbers, not 2×10⁰
    from matplotlib.ticker import ScalarFormatter

    for f in (ax.yaxis.set_major_formatter, ax.yaxis.set_minor_formatter):
        fmt = ScalarFormatter()
        fmt.set_scientific(False)
        f(fmt)


# ------------------------------------------------------------------------------ tick labels
def tick_count(x: float) -> str:
    """Parameters or tokens as a tick label: ``100M``, ``1B``, ``2.5B``, ``82.1B``, ``1.4T``.

    :func:`~bayescale.data.units.format_count` (the tables' sizes) without the trailing
    zeros that line up a column of numbers but clutter an axis (``1.00B`` reads ``1B``).
    """
    text = format_count(x)
    mantissa = text.rstrip("KMBT")
    if "e" in mantissa:  # beyond 999T: 1.00e+15 reads 1e+15
        m, _, exp = mantissa.partition("e")
        return _strip_zeros(m) + "e" + exp
    return _strip_zeros(mantissa) + text[len(mantissa) :]


def _strip_zeros(m: str) -> str:
    return m.rstrip("0").rstrip(".") if "." in m else m


def tick_flops(x: float) -> str:
    """Compute in FLOPs as a tick label, as budgets are written: ``1e24``, ``3e21``, ``5.8e23``."""
    if x <= 0 or not math.isfinite(x):
        return ""
    e = math.floor(math.log10(x))
    m = float(f"{x / 10.0**e:.2g}")
    if m >= 10:  # 9.96e23 rounds to 1e24, not 10e23
        m, e = m / 10, e + 1
    return f"{m:g}e{e}"


def _log_formatter(label: Callable[[float], str]) -> Any:
    """A log-axis tick formatter writing ``label(x)``.

    matplotlib's :class:`~matplotlib.ticker.LogFormatter` still decides which ticks carry a
    label (decades; on an axis spanning few decades some minor ticks too).
    """
    from matplotlib.ticker import LogFormatter

    class _Formatter(LogFormatter):
        def _num_to_string(self, x: float, vmin: float, vmax: float) -> str:
            return label(x)

    return _Formatter(labelOnlyBase=False)


def _set_log_labels(axis: Any, label: Callable[[float], str]) -> None:
    axis.set_major_formatter(_log_formatter(label))
    axis.set_minor_formatter(_log_formatter(label))


def set_count_axis(axis: Any) -> None:
    """Label a log axis of parameters or tokens as people say sizes (:func:`tick_count`).

    ``axis``: an :class:`~matplotlib.axis.Axis` (``ax.xaxis``, ``ax.yaxis``, a colour bar's
    ``long_axis``).
    """
    _set_log_labels(axis, tick_count)


def set_flops_axis(axis: Any) -> None:
    """Label a log axis of compute in FLOPs as ``1e24`` (:func:`tick_flops`)."""
    _set_log_labels(axis, tick_flops)


def _flops_label(C: float) -> str:
    return f"{C:.1e}".replace("e+", "e")


# ------------------------------------------------------------------------------ data
def plot_data(
    result: Any, *, ax: Any = None, ci: float = 0.9, n_curves: int = 5, cmap: str = "viridis"
) -> Any:
    """Runs' loss against compute, coloured by N, with the fitted law and its band.

    For ``n_curves`` model sizes spread over the data, the law's posterior median loss
    along C (D = C/(kN)) with its ``ci`` band, in the colour of that N.
    """
    from matplotlib.colors import LogNorm

    ax = _new_axes(ax)
    d = result.data
    norm = LogNorm(vmin=float(d.N.min()), vmax=float(d.N.max()))
    colormap = __import__("matplotlib").colormaps[cmap]
    sc = ax.scatter(d.C, d.loss, c=d.N, norm=norm, cmap=colormap, s=14, zorder=3, lw=0)
    set_count_axis(ax.figure.colorbar(sc, ax=ax, label="parameters N").long_axis)
    logN = np.log(np.unique(d.N))
    sizes = np.exp(np.quantile(logN, np.linspace(0.05, 0.95, max(int(n_curves), 1))))
    k = d.flops_per_param_token
    # each curve over the compute range of runs within a factor 2 of its size
    grids = []
    for N in sizes:
        near = np.abs(np.log(d.N / N)) < np.log(2.0)
        span = d.C[near] if near.any() else d.C
        grids.append(np.geomspace(float(span.min()) / 1.5, float(span.max()) * 1.5, 80))
    C = np.asarray(grids)  # (n_curves, 80)
    Ns = np.broadcast_to(sizes[:, None], C.shape)
    draws = result.predict(Ns.ravel(), (C / (k * Ns)).ravel()).reshape(-1, *C.shape)
    for i, N in enumerate(sizes):  # drawing only
        _band(ax, C[i], draws[:, i], ci, colormap(norm(N)), None)
    ax.set(
        xscale="log",
        yscale="log",
        xlabel="training compute C (FLOPs)",
        ylabel="final loss",
        title=f"Runs and fitted law (median, {100 * ci:g}% band)",
    )
    set_flops_axis(ax.xaxis)
    _plain_log_y(ax)
    return ax


# ------------------------------------------------------------------------------ isoFLOP
def plot_isoflops(
    result: Any,
    budgets: Any = None,
    *,
    ax: Any = None,
    ci: float = 0.9,
    n_grid: int = 100,
    show_data: bool = True,
    mark_bayes: bool = True,
    cmap: str = "plasma",
) -> Any:
    """Loss against N at fixed budgets (isoFLOP profiles) with bands and the optimum.

    Each budget's posterior median profile with its band; the compute-optimal N marked with
    its ``ci`` interval as a horizontal error bar, and the Bayes-optimal N as a star. Runs
    within 15% of a budget are drawn on its profile.
    """
    from matplotlib.colors import LogNorm

    ax = _new_axes(ax)
    d = result.data
    C_all = (
        np.geomspace(float(d.C.min()), float(d.C.max()), 4)
        if budgets is None
        else np.atleast_1d(np.asarray(budgets, dtype=np.float64))
    )
    norm = LogNorm(vmin=float(C_all.min()) / 3, vmax=float(C_all.max()) * 3)
    colormap = __import__("matplotlib").colormaps[cmap]
    law = result.decision_args()
    theta = law.pop("theta")
    with jax.enable_x64(True):
        best = bayes_optimal(theta, C_all, **law)
        N_draws = np.asarray(best.N_draws)
        N_bayes = np.asarray(best.N_bayes)
        n_lo, n_hi = interval(N_draws, ci)
        grids = np.exp(np.linspace(np.log(n_lo / 10), np.log(n_hi * 10), int(n_grid), axis=-1))
        profiles = np.asarray(
            loss_profile(theta, C_all, grids, **law)
        )  # (S, K, G): every draw, budget and grid point at once
        n_med = np.median(N_draws, axis=0)
        for j, C in enumerate(C_all):  # drawing only
            color = colormap(norm(C))
            grid, prof = grids[j], profiles[:, j]
            med, _, _ = _band(ax, grid, prof, ci, color, f"C = {_flops_label(C)}")
            at = float(np.interp(np.log(n_med[j]), np.log(grid), med))
            ax.errorbar(
                [n_med[j]],
                [at],
                xerr=[[n_med[j] - n_lo[j]], [n_hi[j] - n_med[j]]],
                fmt="o",
                color=color,
                capsize=3,
                zorder=4,
            )
            # the optimum's size as people say it (82.1B), above its marker
            ax.annotate(
                format_count(n_med[j]),
                (n_med[j], at),
                xytext=(0, 6),
                textcoords="offset points",
                ha="center",
                fontsize="x-small",
                color=color,
            )
            if mark_bayes:
                at_b = float(np.interp(np.log(N_bayes[j]), np.log(grid), med))
                ax.plot([N_bayes[j]], [at_b], marker="*", ms=11, color="k", ls="none", zorder=5)
            if show_data:
                near = np.abs(np.log(d.C / C)) < np.log(1.15)
                if near.any():
                    ax.scatter(d.N[near], d.loss[near], color=color, s=12, zorder=3, lw=0)
    ax.plot([], [], marker="o", color="grey", ls="none", label=f"N_opt, {100 * ci:g}% interval")
    if mark_bayes:
        ax.plot([], [], marker="*", ms=11, color="k", ls="none", label="Bayes-optimal N")
    ax.set(
        xscale="log",
        yscale="log",
        xlabel="parameters N (D = C / 6N)",
        ylabel="loss",
        title="IsoFLOP profiles",
    )
    set_count_axis(ax.xaxis)
    _plain_log_y(ax)
    ax.legend(fontsize="small")
    return ax


# ------------------------------------------------------------------------------ frontier
def plot_frontier(
    result: Any,
    budgets: Any = None,
    *,
    ax: Any = None,
    ci: float = 0.9,
    references: Any = ("hoffmann", "besiroglu", "kaplan"),
    show_data_range: bool = True,
) -> Any:
    """Compute-optimal N_opt(C) and D_opt(C) with credible bands (default 1e18–1e27 FLOPs).

    ``references`` adds published allocations from :data:`REFERENCE_FITS` ("hoffmann",
    "besiroglu", "kaplan"; ``None`` for none); the fitted runs' compute range is shaded.
    """
    ax, C, draws, refs = _allocation_axes(result, budgets, ax, references)
    _band(ax, C, draws["N_opt"], ci, "C0", "N_opt (parameters)")
    _band(ax, C, draws["D_opt"], ci, "C1", "D_opt (tokens)")
    for name, (N, D) in refs.items():
        label = REFERENCE_FITS[name]["label"]
        ax.plot(C, N, color="C0", ls=_REF_STYLES[name], lw=1, alpha=0.8, label=label)
        ax.plot(C, D, color="C1", ls=_REF_STYLES[name], lw=1, alpha=0.8)
    ax = _finish_compute_axes(
        ax,
        result if show_data_range else None,
        "parameters / tokens",
        f"Compute-optimal allocation (median, {100 * ci:g}% band)",
    )
    set_count_axis(ax.yaxis)  # after the log scale is set, which resets the labels
    return ax


def plot_tokens_per_param(
    result: Any,
    budgets: Any = None,
    *,
    ax: Any = None,
    ci: float = 0.9,
    references: Any = ("hoffmann", "besiroglu"),
    rule_of_thumb: float | None = 20.0,
) -> Any:
    """Compute-optimal tokens per parameter D_opt/N_opt against C, with its band."""
    ax, C, draws, refs = _allocation_axes(result, budgets, ax, references)
    _band(ax, C, draws["tokens_per_param"], ci, "C2", "D_opt / N_opt")
    for name, (N, D) in refs.items():
        label = REFERENCE_FITS[name]["label"]
        ax.plot(C, D / N, color="grey", ls=_REF_STYLES[name], lw=1, label=label)
    if rule_of_thumb:
        label = f"{rule_of_thumb:g} tokens/param"
        ax.axhline(rule_of_thumb, color="k", lw=0.8, alpha=0.5, label=label)
    ax = _finish_compute_axes(
        ax, result, "tokens per parameter", "Compute-optimal tokens per parameter"
    )
    set_count_axis(ax.yaxis)  # a ratio of counts: 20, 100, 1K rather than 10^1
    return ax


_REF_STYLES = {"hoffmann": "--", "besiroglu": ":", "kaplan": "-."}


def _allocation_axes(result: Any, budgets: Any, ax: Any, references: Any) -> tuple[Any, ...]:
    """(axes, budgets, allocation draws, {reference: (N, D)}) for the frontier plots."""
    refs = _check_refs(references)  # before drawing: a bad name fails without a figure
    ax = _new_axes(ax)
    C = np.geomspace(1e18, 1e27, 61) if budgets is None else np.asarray(budgets, np.float64)
    k = result.data.flops_per_param_token
    return ax, C, result.allocation_draws(C), {r: reference_allocation(r, C, k) for r in refs}


def _finish_compute_axes(ax: Any, shade: Any, ylabel: str, title: str) -> Any:
    """Log-log axes over compute, the fitted runs' range shaded (``shade``: the result)."""
    if shade is not None:
        C = shade.data.C
        ax.axvspan(float(C.min()), float(C.max()), color="grey", alpha=0.12, label="fitted runs")
    ax.set(
        xscale="log", yscale="log", xlabel="training compute C (FLOPs)", ylabel=ylabel, title=title
    )
    set_flops_axis(ax.xaxis)
    ax.legend(fontsize="small")
    return ax


# ------------------------------------------------------------------------------ regret
def plot_regret(
    result: Any, plan: Any, *, ax: Any = None, ci: float = 0.9, n_grid: int = 150
) -> Any:
    """Regret against N at a plan's budget, with the plan, the Bayes choice and N_opt.

    The posterior expected regret and the median with its ``ci`` band of
    L(N, C/kN) − L(N_opt) for N across the isoFLOP line of the plan's budget C; the plan's
    N (red), the Bayes-optimal N (black, dashed) and the interval of N_opt (shaded).
    """
    k = result.data.flops_per_param_token
    plans = as_plans(plan, k)
    if len(plans) != 1:
        raise ValueError(f"plot_regret draws one plan, got {len(plans)}")
    p = plans[0]
    ax = _new_axes(ax)
    law = result.decision_args()
    theta = law.pop("theta")
    with jax.enable_x64(True):
        best = bayes_optimal(theta, [p.C], **law)
        N_draws = np.asarray(best.N_draws[:, 0])
        n_lo, n_hi = interval(N_draws, ci)
        grid = np.geomspace(min(p.N, n_lo) / 3, max(p.N, n_hi) * 3, int(n_grid))
        r = regret(theta, grid, C=np.full_like(grid, p.C), waste=False, **law)
        reg = np.asarray(r.regret)
        N_bayes = float(best.N_bayes[0])
    _band(ax, grid, reg, ci, "C0", f"median regret, {100 * ci:g}% band")
    ax.plot(grid, reg.mean(axis=0), color="C0", ls="--", label="expected regret")
    ax.axvspan(n_lo, n_hi, color="C2", alpha=0.12, label=f"N_opt {100 * ci:g}% interval")
    ax.axvline(p.N, color="C3", lw=1.5, label=f"plan {p.label}")
    ax.axvline(
        N_bayes, color="k", ls="--", lw=1, label=f"Bayes-optimal N = {format_count(N_bayes)}"
    )
    ax.set(
        xscale="log",
        xlabel=f"parameters N at C = {_flops_label(p.C)} (D = C / {k:g}N)",
        ylabel="regret: L(N) − L(N_opt)",
        title=f"Regret of {p.label}",
    )
    set_count_axis(ax.xaxis)
    ax.set_ylim(bottom=0)
    ax.legend(fontsize="small")
    return ax


# ------------------------------------------------------------------------------ residuals
def plot_residuals(result: Any, *, ax: Any = None) -> Any:
    """Log-loss residuals (observed − posterior median prediction) against N and against D.

    ``ax``: a pair of Axes (N panel, D panel); by default a new 1×2 figure. Returns the pair.
    """
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(1, 2, figsize=(10, 4), sharey=True, layout="constrained")
    axes = list(np.ravel(np.asarray(ax, dtype=object)))
    if len(axes) != 2:
        raise ValueError(f"plot_residuals needs two Axes (N panel, D panel), got {len(axes)}")
    from matplotlib.colors import LogNorm

    d = result.data
    pred = np.log(result.predict(d.N, d.D))  # (S, R)
    resid = d.log_loss - np.median(pred, axis=0)
    for a, x, other, name, oname in (
        (axes[0], d.N, d.D, "parameters N", "tokens D"),
        (axes[1], d.D, d.N, "tokens D", "parameters N"),
    ):
        sc = a.scatter(x, resid, c=other, norm=LogNorm(), s=12, lw=0, cmap="viridis")
        a.axhline(0.0, color="k", lw=0.8)
        a.set(xscale="log", xlabel=name, title=f"Residuals vs {name.split()[-1]}")
        set_count_axis(a.xaxis)
        set_count_axis(a.figure.colorbar(sc, ax=a, label=oname).long_axis)
    axes[0].set_ylabel("log loss − median prediction")
    return np.asarray(axes, dtype=object)


# ------------------------------------------------------------------------------ pair plot
def plot_pair(result: Any, var_names: Any = None, *, max_draws: int = 1000) -> Any:
    """Posterior pair plot of the law's parameters (ArviZ ``arviz_plots.plot_pair``).

    ArviZ lays out its own grid of Axes, so this function takes no ``ax``; it thins to at
    most ``max_draws`` draws (scatter of thousands of points adds nothing) and returns the
    Figure.
    """
    import arviz_plots as azp
    from arviz_base import from_dict

    names = (
        list(var_names)
        if var_names is not None
        else [n for n in ("E", "A", "B", "alpha", "beta") if n in result.samples]
    )
    missing = [n for n in names if n not in result.samples]
    if missing:
        raise ValueError(f"no parameter(s) {missing}; available: {', '.join(result.samples)}")
    chains, draws = result.samples[names[0]].shape
    step = max(1, int(np.ceil(chains * draws / max(int(max_draws), 1))))
    post = {n: np.asarray(result.samples[n])[:, ::step] for n in names}
    pm = azp.plot_pair(
        from_dict({"posterior": post}),
        backend="matplotlib",
        marginal_kind="hist",
        visuals={"scatter": {"size": 4, "alpha": 0.35}},
        figure_kwargs={"figsize": (9, 9)},
    )
    return pm.viz["figure"].item()


# ------------------------------------------------------------------------------ report
def _plan_parts(plan: Any) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], float, str]:
    """Candidates and chosen runs of a RunPlan or of its report JSON (``d["plan"]``)."""
    if isinstance(plan, dict):
        cands = {k: np.array([c[k] for c in plan["candidates"]], float) for k in ("N", "D")}
        cands["score"] = np.array([np.nan if c["score"] is None else c["score"]
                                   for c in plan["candidates"]], float)  # fmt: skip
        runs = {k: np.array([r[k] for r in plan["runs"]], float) for k in ("N", "D")}
        return cands, runs, float(plan["target_budget"]), str(plan["criterion"])
    cands = {k: plan.candidates[k].to_numpy(float) for k in ("N", "D", "score")}
    runs = {k: plan.runs[k].to_numpy(float) for k in ("N", "D")}
    return cands, runs, float(plan.target_budget), plan.criterion


def plot_plan(result: Any, plan: Any, *, ax: Any = None, cmap: str = "viridis") -> Any:
    """Candidate runs in (N, D) coloured by score, the chosen runs, the existing runs.

    ``plan`` is a :class:`~bayescale.decisions.planning.RunPlan` (or the report's ``plan`` JSON).
    The colour is each candidate's score alone (the reduction of the criterion it would bring as
    the first run); the chosen runs are numbered in the order chosen; dotted lines are iso-compute
    lines C = kND, one per decade of FLOPs.
    """
    ax = _new_axes(ax)
    cands, runs, target, criterion = _plan_parts(plan)
    d = result.data
    k = d.flops_per_param_token
    score = np.where(np.isfinite(cands["score"]), np.maximum(cands["score"], 0.0), 0.0)
    sc = ax.scatter(cands["N"], cands["D"], c=score, cmap=cmap, s=22, lw=0, zorder=2,
                    label="candidates")  # fmt: skip
    ax.figure.colorbar(sc, ax=ax, label=f"score alone (criterion {criterion})")
    ax.scatter(d.N, d.D, c="black", s=10, marker="o", zorder=3, label="existing runs")
    ax.scatter(runs["N"], runs["D"], s=120, marker="*", facecolor="tab:red",
               edgecolor="black", lw=0.6, zorder=4, label="chosen runs")  # fmt: skip
    for i, (n, dd) in enumerate(zip(runs["N"], runs["D"], strict=True)):  # labels only
        ax.annotate(str(i + 1), (n, dd), xytext=(5, 4), textcoords="offset points", fontsize=8)
    N_all = np.concatenate([cands["N"], d.N])
    D_all = np.concatenate([cands["D"], d.D])
    n_lo, n_hi = float(N_all.min()) / 1.5, float(N_all.max()) * 1.5
    C_all = k * N_all * D_all
    decades = np.arange(np.floor(np.log10(C_all.min())), np.ceil(np.log10(C_all.max())) + 1)
    Ns = np.geomspace(n_lo, n_hi, 50)
    for e in decades:  # iso-compute lines D = C/(kN)
        ax.plot(Ns, 10.0**e / (k * Ns), ":", color="0.6", lw=0.8, zorder=1)
        ax.annotate(f"1e{int(e)}", (Ns[-1], 10.0**e / (k * Ns[-1])), fontsize=7, color="0.5")
    ax.set(
        xscale="log",
        yscale="log",
        xlim=(n_lo, n_hi),
        ylim=(float(D_all.min()) / 1.5, float(D_all.max()) * 1.5),
        xlabel="parameters N",
        ylabel="training tokens D",
        title=f"What to train next (target {target:.2g} FLOPs; dotted: iso-compute)",
    )
    set_count_axis(ax.xaxis)
    set_count_axis(ax.yaxis)
    ax.legend(loc="upper left", fontsize=8)
    return ax


def report_figures(result: Any, d: dict[str, Any]) -> dict[str, bytes]:
    """The decision report's figures as PNG bytes, drawn without pyplot's global state.

    Parameters
    ----------
    result : FitResult
        The fit.
    d : dict
        The report's JSON (:func:`bayescale.report.decision_report.build_report`): its ``ci``,
        budgets (``bayes_optimal``) and first plan (``plans``) choose what is drawn.

    Returns
    -------
    dict
        Figure name (``frontier``, ``tokens_per_param``, ``isoflops``, ``data``, ``regret``
        when a plan was given, ``plan`` with a run plan, ``residuals``, ``pair``) → PNG bytes.
    """
    from matplotlib.figure import Figure

    ci = d["ci"]
    iso = sorted(r["budget"] for r in d["bayes_optimal"])
    if len(iso) > 4:  # four profiles stay readable
        iso = [iso[round(i)] for i in np.linspace(0, len(iso) - 1, 4)]
    draw: dict[str, Callable[[Any], Any]] = {
        "frontier": lambda ax: plot_frontier(result, ax=ax, ci=ci),
        "tokens_per_param": lambda ax: plot_tokens_per_param(result, ax=ax, ci=ci),
        "isoflops": lambda ax: plot_isoflops(result, iso, ax=ax, ci=ci),
        "data": lambda ax: plot_data(result, ax=ax, ci=ci),
    }
    if d["plans"]:
        first = {k: d["plans"][0][k] for k in ("N", "D", "label")}
        draw["regret"] = lambda ax: plot_regret(result, first, ax=ax, ci=ci)
    if d.get("plan"):
        draw["plan"] = lambda ax: plot_plan(result, d["plan"], ax=ax)
    out: dict[str, bytes] = {}
    for name, fn in draw.items():
        fig = Figure(figsize=(7.0, 4.8), layout="constrained")
        fn(fig.subplots())
        out[name] = _png(fig)
    fig = Figure(figsize=(11.0, 4.2), layout="constrained")
    plot_residuals(result, ax=fig.subplots(1, 2, sharey=True))
    out["residuals"] = _png(fig)
    import matplotlib.pyplot as plt

    fig = plot_pair(result)  # ArviZ draws on a pyplot figure: close it
    out["pair"] = _png(fig)
    plt.close(fig)
    return out


def _png(fig: Any) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    return buf.getvalue()
