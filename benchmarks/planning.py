"""Is the run planner's promise kept, and does it beat simple selections? (issues 13, 26)

Three checks, written to ``benchmarks/PLANNING.md``:

1. **Speed**: :func:`bayescale.decisions.planning.preposterior_scores` on 1,000 candidates × 4,000
   draws × 64 simulated outcomes (Gaussian likelihood, criterion ``n_opt``), best of 3
   after compilation, with the machine's load average.
2. **Calibration** on synthetic data from a known Chinchilla law (Hoffmann et al.'s
   Approach-3 values, Gaussian noise sd 0.01): per data set a small seed design is fitted,
   the planner chooses runs from a candidate pool under a cap of 10% of the pool's cost for
   the target 1e23 FLOPs, the chosen runs are *trained* (simulated from the truth) and the
   law refitted. The realised 90% interval width of log N_opt at the target is compared with
   the promised ``expected_after`` width, and with random, cheapest-first and largest-first
   selections at the same spend. Reduced sampler settings (``--chains``, ``--warmup``,
   ``--draws``; default 2 × (500 + 500)), batched with :func:`bayescale.fit_many`.
3. **Real sweeps** (issue 26, item 3): the 7 isoFLOP sweeps of the compendium
   (``../shared/data/scaling-law-analysis/transform/isoflops.csv``), porian-cosine's two
   datasets and gemstones-cooldown, loaded by ``benchmarks/transfer_fits.py``'s
   ``load_sweeps``. Held out: the top budget's runs (gemstones, which has no budgets: the
   runs in the top 10% of compute; target = their median compute). Pool = the rest; seed =
   the pool's cheapest quarter (at least 8 runs); candidates = the rest of the pool, their
   losses hidden from the planner and looked up after selection. Spends 1%, 5%, 10% of the
   candidates' cost. Strategies: the planner with each criterion of
   :data:`PLANNER_CRITERIA`, random (5 seeds; their median is the baseline), cheapest-first,
   largest-first and a D-optimal design. Every refit is ``bayescale.fit(data, seed=1)`` with
   bayescale's default settings (4 chains × (1000 + 1000), escalation, the fit-time
   extrapolation check that updates the drift) unless ``--chains``/``--warmup``/``--draws``
   are given. Scored on the held-out runs: N_opt 90% interval width at the target, the
   90% interval score (width + 20 × miss, log loss), mean log predictive density and the
   R² of the predictive median.

About 1.5 hours on 2 CPU cores, section 3 nearly all of it (``--quick``: 5 minutes)::

    .venv/bin/python benchmarks/planning.py [--quick] [--sweeps NAME ...] [--skip calibration]
        [--shared PATH] [--out PATH]
"""

from __future__ import annotations

import argparse
import collections
import datetime
import json
import math
import os
import platform
import re
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bayescale

bayescale.use_host_devices()

import jax  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from extrapolation import shared_dir  # noqa: E402
from transfer_fits import load_sweeps  # noqa: E402

from bayescale.checks.backtest import split_holdout  # noqa: E402
from bayescale.checks.model_checks import predictive_draws  # noqa: E402
from bayescale.checks.simulate import HOFFMANN_PARAMS, chinchilla_design, simulate_runs  # noqa: E402
from bayescale.decisions.planning import preposterior_scores  # noqa: E402
from bayescale.inference.likelihoods import log_mean_exp  # noqa: E402
from bayescale.inference.storage import versions  # noqa: E402
from bayescale.laws.extrapolation import base_law  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
TARGET = 1e23
SIGMA = 0.01


def log_width(lo: float, hi: float) -> float:
    return math.log(hi / lo) if lo > 0 and hi > 0 else float("nan")


def n_opt_width(fit: Any, budget: float) -> float:
    N = fit.allocation_draws([budget])["N_opt"][:, 0]
    N = N[np.isfinite(N)]
    lo, hi = np.quantile(N, [0.05, 0.95])
    return log_width(lo, hi)


def fill(order: np.ndarray, cost: np.ndarray, spend: float) -> list[int]:
    """Take candidates in ``order`` while they fit in what is left of ``spend``."""
    out, left = [], spend
    for j in order:
        if cost[j] <= left:
            out.append(int(j))
            left -= cost[j]
    return out


def d_optimal(fit: Any, N: np.ndarray, D: np.ndarray, cost: np.ndarray, spend: float) -> list:
    """Greedy D-optimal design on the law linearised at the posterior median (log-det per FLOP).

    The fitted law's own parameters only (E, A, B, α, β): the drift beyond the data is not
    something a run inside the pool identifies, and its tilt may be negative (no log).
    """
    law = base_law(fit.law)
    theta = {k: float(np.median(v)) for k, v in fit.theta().items() if k in law.params}

    def jac(n: np.ndarray, d: np.ndarray) -> np.ndarray:
        def f(logp: dict) -> Any:
            p = {k: jax.numpy.exp(v) for k, v in logp.items()}
            return law.log_loss(p, {"log_N": jax.numpy.log(n), "log_D": jax.numpy.log(d)})

        with jax.enable_x64(True):
            logp = {k: jax.numpy.log(jax.numpy.asarray(v)) for k, v in theta.items()}
            J = jax.jacfwd(f)(logp)
            return np.stack([np.asarray(J[k]) for k in theta], axis=-1)

    F = jac(fit.data.N, fit.data.D)
    info = F.T @ F / SIGMA**2 + 1e-6 * np.eye(F.shape[1])
    Jc = jac(N, D)
    chosen, left = [], spend
    while True:
        base = np.linalg.slogdet(info)[1]
        gains = np.array(
            [np.linalg.slogdet(info + np.outer(j, j) / SIGMA**2)[1] - base for j in Jc]
        )
        ok = (cost <= left) & ~np.isin(np.arange(len(N)), chosen)
        if not ok.any():
            return chosen
        j = int(np.argmax(np.where(ok, gains / cost, -np.inf)))
        chosen.append(j)
        left -= cost[j]
        info = info + np.outer(Jc[j], Jc[j]) / SIGMA**2


# ---------------------------------------------------------------------- 1. speed
def speed() -> dict[str, Any]:
    """The core on 1,000 candidates × 4,000 draws × 64 outcomes: one data edge for all, and
    the planner's own case, each candidate scored at the edge it leaves (32 edges, Student-t
    likelihood, as a default fit's plan)."""
    rng = np.random.default_rng(0)
    S, J, M, L = 4000, 1000, 64, 32
    mu = rng.normal(0.7, 0.05, (J, S))
    y = rng.normal(0.7, 0.05, (M, J))
    sigma = 0.01 * np.exp(rng.normal(0, 0.1, S))
    nu = rng.uniform(3, 8, S)
    logw = np.zeros((M, S))
    cases = {
        "one edge, Gaussian, n_opt": ((None, "gaussian"), {"q": rng.normal(0, 1, S)}),
        "32 edges, Student-t, n_opt": (
            (rng.integers(0, L, J), "student_t"),
            {"q": rng.normal(0, 1, (L, S))},
        ),
    }
    out: dict[str, Any] = {}
    with jax.enable_x64(True):
        for name, ((level, lik), aux) in cases.items():
            kw = {"level": level, "likelihood": lik}
            n = nu if lik == "student_t" else None
            preposterior_scores(logw, mu, y, sigma, n, aux, **kw)
            times = []
            for _ in range(3):
                t = time.perf_counter()
                preposterior_scores(logw, mu, y, sigma, n, aux, **kw)
                times.append(time.perf_counter() - t)
            out[name] = min(times)
    return {
        "seconds": max(out.values()),
        "cases": out,
        "loadavg": open("/proc/loadavg").read().split()[:3],
    }


# ---------------------------------------------------------------------- 2. calibration
def calibration(n_sets: int, opts: dict[str, Any]) -> dict[str, Any]:
    Ns, Ds = chinchilla_design(budgets=(6e18, 1e19, 3e19, 6e19), n_sizes=8)
    Nc, Dc = chinchilla_design(budgets=(1e20, 3e20, 6e20, 1e21), n_sizes=8)
    cost = 6 * Nc * Dc
    spend = 0.1 * float(cost.sum())
    seeds = [
        simulate_runs(HOFFMANN_PARAMS, sigma=SIGMA, design=(Ns, Ds), seed=i) for i in range(n_sets)
    ]
    t0 = time.time()
    fits = bayescale.fit_many(seeds, method="nuts", seed=0, **opts)
    t_fit = time.time() - t0
    cand = pd.DataFrame({"N": Nc, "D": Dc})
    methods = ("planner", "random", "cheapest", "largest")
    chosen: dict[str, list[list[int]]] = {m: [] for m in methods}
    promised = []
    t0 = time.time()
    for i, fit in enumerate(fits):  # one plan per data set
        plan = fit.plan_runs(cand, target_budget=TARGET, spend=spend, seed=i)
        chosen["planner"].append([int(j) for j in plan.runs["candidate"]])
        promised.append(log_width(plan.expected_after["lo"], plan.expected_after["hi"]))
        rng = np.random.default_rng(100 + i)
        chosen["random"].append(fill(rng.permutation(len(cost)), cost, spend))
        chosen["cheapest"].append(fill(np.argsort(cost, kind="stable"), cost, spend))
        chosen["largest"].append(fill(np.argsort(-cost, kind="stable"), cost, spend))
    t_plan = time.time() - t0
    # train the chosen runs: losses from the truth with fresh noise, then refit
    sets, keys = [], []
    for m in methods:
        for i, idx in enumerate(chosen[m]):
            # the same outcome of a candidate for every method
            full = simulate_runs(HOFFMANN_PARAMS, sigma=SIGMA, design=(Nc, Dc), seed=10_000 + i)
            loss = full.loss[np.asarray(idx, dtype=int)]
            base = seeds[i]
            sets.append(
                bayescale.ScalingData.from_arrays(
                    N=np.concatenate([base.N, Nc[idx]]),
                    D=np.concatenate([base.D, Dc[idx]]),
                    loss=np.concatenate([base.loss, loss]),
                )
            )
            keys.append((m, i))
    t0 = time.time()
    refits = bayescale.fit_many(sets, method="nuts", seed=1, **opts)
    t_refit = time.time() - t0
    realised = {m: np.full(n_sets, np.nan) for m in methods}
    for (m, i), fit in zip(keys, refits, strict=True):
        realised[m][i] = n_opt_width(fit, TARGET)
    now = np.array([n_opt_width(f, TARGET) for f in fits])
    return {
        "n_sets": n_sets,
        "n_seed_runs": len(Ns),
        "n_candidates": len(Nc),
        "spend": spend,
        "promised": np.array(promised),
        "realised": realised,
        "now": now,
        "n_chosen": {m: [len(c) for c in chosen[m]] for m in methods},
        "ok": {
            m: float(np.mean([f.ok for (mm, _), f in zip(keys, refits, strict=True) if mm == m]))
            for m in methods
        },
        "times": {"seed fits": t_fit, "plans": t_plan, "refits": t_refit},
    }


# ---------------------------------------------------------------------- 3. real sweeps
#: Planner criteria compared (``plan_runs(criterion=...)``); one the library does not know
#: (ValueError "unknown criterion") is skipped with a note.
PLANNER_CRITERIA = ("n_opt", "predict")
#: What each criterion is judged on against random's median: the metric it targets (the
#: held-out interval score must also be no worse than random's median).
CRITERION_GOAL = {"n_opt": ("width", "N_opt width"), "predict": ("r2", "target-region R²")}
SPENDS = (0.01, 0.05, 0.10)
#: ``--quick``: these sweeps, one spend, two random seeds.
QUICK_SWEEPS = ("epochai_chinchilla", "porian owt2")
#: Share of the cell's (sweep × spend) that must be met (issue 26).
TARGET_SHARE = 0.8
#: Gemstones has no FLOP budgets: the runs in this top share of compute are its "top budget".
TOP_SHARE = 0.1
#: Li et al. 2026 (arXiv 2604.22753), Table 2, Farseer task (../shared/REFERENCE.md):
#: target-region R² of their active selection and of random selection, per spend.
LI_ET_AL = {0.01: (0.60, -0.77), 0.05: (0.88, 0.78), 0.10: (0.93, 0.79)}
STRATEGIES = (
    *(f"planner ({c})" for c in PLANNER_CRITERIA),
    "random",
    "cheapest",
    "largest",
    "d_optimal",
)


@dataclass(frozen=True)
class Task:
    """One sweep's pool (seed and candidates), held-out runs and target budget."""

    name: str
    pool: bayescale.ScalingData
    test: bayescale.ScalingData
    target: float
    region: str


def sweep_tasks(shared: Path, names: list[str] | None) -> list[Task]:
    """The 7 isoFLOP sweeps, porian's two and gemstones (the bundled sets are skipped)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # gemstones' checkpoint-column warning
        sweeps = [s for s in load_sweeps(shared) if not s.name.endswith("(bundled)")]
    known = [s.name for s in sweeps]
    if names:
        unknown = sorted(set(names) - set(known))
        if unknown:
            sys.exit(
                f"error: unknown sweep(s) {', '.join(unknown)}; choose from {', '.join(known)}"
            )
        by_name = {s.name: s for s in sweeps}
        sweeps = [by_name[n] for n in dict.fromkeys(names)]  # in the order given
    tasks = []
    for sw in sweeps:
        if sw.budget is not None:
            target = float(sw.budget.max())
            top = sw.budget == target
            region = f"top budget, {target:.3g} FLOPs"
        else:
            train, threshold = split_holdout(sw.data, "largest", TOP_SHARE)
            top = ~train
            target = float(np.median(sw.data.C[top]))
            region = (
                f"top {TOP_SHARE:.0%} of compute (C ≥ {threshold:.3g}); target = their "
                f"median compute, {target:.3g} FLOPs"
            )
        tasks.append(Task(sw.name, sw.data.subset(~top), sw.data.subset(top), target, region))
    return tasks


def fit_default(
    data: bayescale.ScalingData, opts: dict[str, int], seed: int
) -> tuple[Any, collections.Counter]:
    """``bayescale.fit`` as a user runs it (``opts``: only the overridden sampler sizes),
    with the warnings it raised counted by category instead of shown."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = bayescale.fit(data, seed=seed, progress_bar=False, **opts)
    return fit, collections.Counter(w.category.__name__ for w in caught)


def held_out_scores(fit: Any, test: bayescale.ScalingData, target: float) -> dict[str, Any]:
    """N_opt width at the target and the held-out runs' interval score, mlpd, R², coverage."""
    rep = predictive_draws(fit, test, seed=0)
    y = test.log_loss
    lo, hi = np.quantile(rep, [0.05, 0.95], axis=0)
    miss = np.maximum(lo - y, 0) + np.maximum(y - hi, 0)
    med = np.median(rep, axis=0)
    ss_tot = float(np.sum((y - np.mean(y)) ** 2))
    ll = fit.log_likelihood(test)
    ll = ll.reshape(-1, ll.shape[-1])
    return {
        "width": n_opt_width(fit, target),
        "iscore": float(np.mean(hi - lo + 20 * miss)),
        "mlpd": float(np.mean(log_mean_exp(ll))),
        "r2": 1 - float(np.sum((y - med) ** 2)) / ss_tot if ss_tot > 0 else float("nan"),
        "cov90": float(np.mean(miss == 0)),
        "ok": bool(fit.ok),
        "attempts": len(fit.diagnostics.attempts),
    }


def select(
    fit: Any,
    task: Task,
    cand: pd.DataFrame,
    cost: np.ndarray,
    spend: float,
    n_random: int,
    state: dict[str, Any],
) -> dict[tuple[str, int], dict[str, Any]]:
    """Each strategy's chosen candidates at ``spend``: {(strategy, random seed): choice}."""
    out: dict[tuple[str, int], dict[str, Any]] = {}
    for crit in PLANNER_CRITERIA:
        if crit in state["skipped"]:
            continue
        t0 = time.perf_counter()
        try:
            # predict: the target region's runs, whose sizes are known and losses not
            aim = pd.DataFrame({"N": task.test.N, "D": task.test.D}) if crit == "predict" else None
            plan = fit.plan_runs(
                cand, target_budget=task.target, spend=spend, criterion=crit, seed=0,
                target_runs=aim,
            )  # fmt: skip
        except ValueError as err:
            if "unknown criterion" not in str(err):
                raise
            state["skipped"][crit] = str(err)
            print(f"  note: criterion {crit!r} skipped: {err}", flush=True)
            continue
        promised = float("nan")
        if crit == "n_opt":
            promised = log_width(plan.expected_after["lo"], plan.expected_after["hi"])
        out[(f"planner ({crit})", 0)] = {
            "idx": [int(j) for j in plan.runs["candidate"]],
            "promised": promised,
            "plan_s": time.perf_counter() - t0,
            "ess": float(plan.ess_median),  # the draws its scores and promise rest on
        }
    for r in range(n_random):
        rng = np.random.default_rng(r)
        out[("random", r)] = {"idx": fill(rng.permutation(len(cost)), cost, spend)}
    out[("cheapest", 0)] = {"idx": fill(np.argsort(cost, kind="stable"), cost, spend)}
    out[("largest", 0)] = {"idx": fill(np.argsort(-cost, kind="stable"), cost, spend)}
    N, D = cand["N"].to_numpy(), cand["D"].to_numpy()
    out[("d_optimal", 0)] = {"idx": d_optimal(fit, N, D, cost, spend)}
    return out


#: Finished sweeps of section 3, so that a long run can resume (``--resume``; not committed).
ROWS = Path(__file__).with_name("planning_rows.json")


def _load_done(path: Path | None, key: dict[str, Any]) -> dict[str, Any]:
    """The finished sweeps saved under the same settings ``key`` (else none)."""
    if path is None or not path.is_file():
        return {}
    saved = json.loads(path.read_text())
    return saved["sweeps"] if saved.get("key") == key else {}


def seed_split(C: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Indices of a pool's seed (its cheapest quarter, at least 8 runs) and candidates."""
    order = np.argsort(C, kind="stable")
    n_seed = max(len(C) // 4, 8)
    return np.sort(order[:n_seed]), np.sort(order[n_seed:])


def real_sweeps(
    tasks: list[Task],
    fractions: tuple[float, ...],
    n_random: int,
    opts: dict[str, int],
    resume: Path | None = None,
) -> dict[str, Any]:
    """Seed fit, selections and refits of each sweep: a row per (sweep, spend, strategy, seed).

    With ``resume``, each finished sweep is saved there and a sweep saved under the same
    settings is read back instead of fitted again.
    """
    rows: list[dict[str, Any]] = []
    info: list[dict[str, Any]] = []
    state: dict[str, Any] = {"skipped": {}}
    warned: collections.Counter = collections.Counter()
    fit_times: list[float] = []
    fits_ok: list[bool] = []
    t_start = time.perf_counter()
    key = {"fractions": list(fractions), "n_random": n_random, "opts": opts}
    done = _load_done(resume, key)
    for task in tasks:
        if task.name in done:
            got = done[task.name]
            rows += got["rows"]
            info += got["info"]
            warned.update(got["warnings"])
            fit_times += got["fit_times"]
            fits_ok += got["fits_ok"]
            state["skipped"].update(got["skipped"])
            print(f"{task.name}: read back from {resume}", flush=True)
            continue
        marks = (len(rows), len(info), len(fit_times), collections.Counter(warned))
        t_sweep = time.perf_counter()
        pool = task.pool
        C = pool.C
        seed_idx, cand_idx = seed_split(C)
        n_seed = len(seed_idx)
        in_seed = np.isin(np.arange(len(C)), seed_idx)
        t0 = time.perf_counter()
        fit, caught = fit_default(pool.subset(in_seed), opts, seed=0)
        fit_times.append(time.perf_counter() - t0)
        fits_ok.append(bool(fit.ok))
        warned.update(caught)
        cand = pd.DataFrame({"N": pool.N[cand_idx], "D": pool.D[cand_idx]})
        cost = C[cand_idx]
        base = {"sweep": task.name, "n_warnings": sum(caught.values())}
        rows.append(
            {**base, "strategy": "seed only", "seed": 0, "frac": 0.0, "n_runs": 0, "spent": 0.0}
            | held_out_scores(fit, task.test, task.target)
        )
        info.append(
            {
                "sweep": task.name,
                "seed": n_seed,
                "candidates": len(cand_idx),
                "test": len(task.test),
                "region": task.region,
            }
        )
        refits: dict[tuple[int, ...], dict[str, Any]] = {}  # the same runs are refitted once
        for frac in fractions:
            spend = frac * float(cost.sum())
            if spend < cost.min():
                print(f"  {task.name}: {frac:.0%} buys no candidate; skipped", flush=True)
                continue
            chosen = select(fit, task, cand, cost, spend, n_random, state)
            for (strategy, r), choice in chosen.items():
                idx = choice["idx"]
                runs_key = tuple(sorted(idx))
                if runs_key not in refits:
                    keep = in_seed | np.isin(np.arange(len(C)), cand_idx[idx])
                    t0 = time.perf_counter()
                    refit, caught = fit_default(pool.subset(keep), opts, seed=1)
                    fit_times.append(time.perf_counter() - t0)
                    fits_ok.append(bool(refit.ok))
                    warned.update(caught)
                    refits[runs_key] = held_out_scores(refit, task.test, task.target) | {
                        "n_warnings": sum(caught.values())
                    }
                rows.append(
                    {
                        "sweep": task.name,
                        "strategy": strategy,
                        "seed": r,
                        "frac": frac,
                        "n_runs": len(idx),
                        "spent": float(cost[idx].sum()) / float(cost.sum()) if idx else 0.0,
                        "promised": choice.get("promised", float("nan")),
                        "plan_s": choice.get("plan_s", float("nan")),
                        "ess": choice.get("ess", float("nan")),
                    }
                    | refits[runs_key]
                )
            print(
                f"  [{time.perf_counter() - t_start:6.0f}s] {task.name} {frac:.0%}: "
                f"{len(chosen)} selections, {len(refits)} refits so far",
                flush=True,
            )
        print(
            f"[{time.perf_counter() - t_start:6.0f}s] {task.name}: {n_seed} seed runs, "
            f"{len(cand_idx)} candidates, {len(task.test)} held out, {len(refits) + 1} fits, "
            f"{time.perf_counter() - t_sweep:.0f} s",
            flush=True,
        )
        if resume is not None:
            done[task.name] = {
                "rows": rows[marks[0] :],
                "info": info[marks[1] :],
                "warnings": dict(warned - marks[3]),
                "fit_times": fit_times[marks[2] :],
                "fits_ok": fits_ok[marks[2] :],
                "skipped": state["skipped"],
            }
            tmp = resume.with_suffix(".tmp")
            tmp.write_text(json.dumps({"key": key, "sweeps": done}, default=float))
            tmp.replace(resume)
        # every run count and law setting is its own compiled program; hundreds of them
        # exhaust the process's memory maps (LLVM: "Cannot allocate memory")
        jax.clear_caches()
    return {
        "rows": rows,
        "info": info,
        "skipped": state["skipped"],
        "warnings": warned,
        "fit_times": fit_times,
        "fits_ok": fits_ok,
        "seconds": time.perf_counter() - t_start,
        "n_random": n_random,
        "opts": opts,
    }


# ---------------------------------------------------------------------- report
#: Per-metric aggregation over random's seeds (the median is the baseline).
METRICS = ("n_runs", "spent", "width", "iscore", "mlpd", "r2", "cov90")


def cell_table(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per (sweep, spend, strategy): random's median over seeds per metric."""
    frame = pd.DataFrame(rows)
    agg = {m: (m, "median") for m in METRICS} | {"ok": ("ok", "mean"), "k": ("seed", "size")}
    return frame.groupby(["sweep", "frac", "strategy"], sort=False).agg(**agg).reset_index()


def target_verdicts(cells: pd.DataFrame, criteria: list[str]) -> dict[str, dict[str, Any]]:
    """Per planner criterion: the (sweep, spend) cells where its goal metric beats random's
    median and its interval score is no worse than random's median. The share is over every
    cell (a cell the planner did not run counts as not met)."""
    n_cells = len(cells[cells["frac"] > 0][["sweep", "frac"]].drop_duplicates())
    out = {}
    for crit in criteria:
        metric, _ = CRITERION_GOAL[crit]
        planner = cells[cells["strategy"] == f"planner ({crit})"].set_index(["sweep", "frac"])
        rand = cells[cells["strategy"] == "random"].set_index(["sweep", "frac"])
        both = planner.merge(rand, left_index=True, right_index=True, suffixes=("_p", "_r"))
        if metric == "width":
            better = both["width_p"] < both["width_r"]
            margin = both["width_r"] - both["width_p"]
        else:
            better = both[f"{metric}_p"] > both[f"{metric}_r"]
            margin = both[f"{metric}_p"] - both[f"{metric}_r"]
        no_worse = both["iscore_p"] <= both["iscore_r"]
        met = better & no_worse
        n = len(both)
        out[crit] = {
            "n": n,
            "better": int(better.sum()),
            "no_worse": int(no_worse.sum()),
            "met": int(met.sum()),
            "share": float(met.sum()) / n_cells if n_cells else float("nan"),
            "margin": float(np.nanmedian(margin)) if n else float("nan"),
            "is_margin": float(np.nanmedian(both["iscore_r"] - both["iscore_p"]))
            if n
            else float("nan"),
            "per_frac": {
                f: (int(met.xs(f, level="frac").sum()), len(met.xs(f, level="frac")))
                for f in sorted(both.index.get_level_values("frac").unique())
            },
        }
    return out


def _g(x: float, spec: str) -> str:
    return "–" if x is None or not np.isfinite(x) else format(x, spec)


def sampler_words(opts: dict[str, int]) -> str:
    d = bayescale.FitSettings()
    c, w, n = (opts.get(k, getattr(d, k)) for k in ("chains", "warmup", "draws"))
    which = "bayescale's defaults" if not opts else "overridden by the command line"
    return f"{c} chains × ({w} warmup + {n} draws), {which}"


def real_lines(real: dict[str, Any]) -> list[str]:
    """Section 3 of the report."""
    rows, n_random = real["rows"], real["n_random"]
    cells = cell_table(rows)
    fracs = sorted(f for f in cells["frac"].unique() if f > 0)
    criteria = [c for c in PLANNER_CRITERIA if c not in real["skipped"]]
    fits_ok = np.asarray(real["fits_ok"], dtype=bool)
    times = np.asarray(real["fit_times"])
    out = [
        "## 3. Real sweeps (issue 26)",
        "",
        "Sweeps: the 7 isoFLOP sweeps of the compendium, porian-cosine's two datasets and "
        "gemstones-cooldown (`load_sweeps` of `benchmarks/transfer_fits.py`; the bundled sets "
        "are not used). Held out: the top budget's runs (gemstones, which has no budgets: the "
        f"runs in the top {TOP_SHARE:.0%} of compute, target = their median compute); they are "
        "the test set. Pool = every other run; seed = the pool's cheapest quarter (at least 8 "
        "runs); candidates = the rest of the pool, their losses hidden from the planner and "
        "looked up after selection. Spend = a share of the candidates' total cost; each "
        "strategy takes runs while they fit in what is left. Strategies: the planner "
        f"(`fit.plan_runs(..., criterion=c, seed=0)`, c in {', '.join(PLANNER_CRITERIA)}; "
        "`predict` with `target_runs=` the held-out runs' N and D, the target region whose "
        "sizes a team knows and whose losses it does not), "
        f"random picks ({n_random} seeds; the table shows the **median over seeds** of each "
        "metric, the baseline), cheapest-first, largest-first and a D-optimal design on the "
        "law linearised at the seed fit's posterior median (greedy log-det gain per FLOP).",
        "",
        "Every fit is `bayescale.fit(data, seed=...)` as a user runs it (seed fit: seed 0, "
        f"refits: seed 1): {sampler_words(real['opts'])}, with escalation when the sampler "
        "struggles and the fit-time extrapolation check that updates the drift. "
        "(`bayescale.fit_many` samples the same model but runs no extrapolation check, so "
        "its drift would not be the one a user gets.) A selection equal to another's is "
        "refitted once. Scores on the held-out runs: **width** = log(hi/lo) of the 90% "
        "interval of N_opt at the target budget; **IS** = mean 90% interval score of the "
        "held-out runs' log loss (interval width + 20 × its miss), from posterior-predictive "
        "draws; **mlpd** = mean log predictive density; **R²** = 1 − Σ(y − ŷ)² / Σ(y − ȳ)² "
        "over the held-out runs, y = log loss, ŷ = median of the predictive draws; "
        "**cov90** = share inside their 90% intervals; **ok** = share of the refits passing "
        "their sampling diagnostics.",
        "",
        "| sweep | seed runs | candidates | held out | target region |",
        "|---|---|---|---|---|",
    ]
    for i in real["info"]:
        out.append(
            f"| {i['sweep']} | {i['seed']} | {i['candidates']} | {i['test']} | {i['region']} |"
        )
    out += [
        "",
        "| sweep | spend | strategy | runs | share spent | width | IS | mlpd | R² | cov90 | ok |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in cells.itertuples():
        name = f"random (median of {r.k})" if r.strategy == "random" else r.strategy
        out.append(
            f"| {r.sweep} | {r.frac:.0%} | {name} | {r.n_runs:g} | {r.spent:.1%} | "
            f"{_g(r.width, '.3f')} | {_g(r.iscore, '.3f')} | {_g(r.mlpd, '.2f')} | "
            f"{_g(r.r2, '.2f')} | {_g(r.cov90, '.2f')} | {r.ok:.0%} |"
        )
    verdicts = target_verdicts(cells, criteria)
    n_cells = len(cells[cells["frac"] > 0][["sweep", "frac"]].drop_duplicates())
    out += [
        "",
        "### Target",
        "",
        f"On ≥ {TARGET_SHARE:.0%} of the sweep × spend cells the planner's criterion beats "
        "random's median on the metric it is for, and its held-out interval score is no worse "
        "than random's median. Compared per criterion: "
        + "; ".join(
            f"**{c}** → {CRITERION_GOAL[c][1]} ({'lower' if c == 'n_opt' else 'higher'} is "
            "better) and IS"
            for c in PLANNER_CRITERIA
        )
        + ".",
        "",
    ]
    for crit in PLANNER_CRITERIA:
        if crit in real["skipped"]:
            out.append(f"- planner ({crit}): not run — {real['skipped'][crit]}")
            continue
        v = verdicts[crit]
        status = "MET" if v["share"] >= TARGET_SHARE else "NOT MET"
        unit = "(random − planner)" if crit == "n_opt" else "(planner − random)"
        out.append(
            f"- planner ({crit}): **{status}** — {v['met']} of {n_cells} cells "
            f"({_g(v['share'], '.0%')}; planned in {v['n']}). Better {CRITERION_GOAL[crit][1]}"
            f" in {v['better']}, IS no worse in {v['no_worse']}; per spend "
            + ", ".join(f"{f:.0%} {m}/{k}" for f, (m, k) in v["per_frac"].items())
            + f". Median margin {unit} {_g(v['margin'], '+.3f')}, IS (random − planner) "
            f"{_g(v['is_margin'], '+.3f')}."
        )
    # every strategy against random's median, per spend
    out += [
        "",
        "Every strategy against random's median: cells (of those run) where it is narrower "
        "(width), no worse (IS), higher (mlpd, R²); median R² over sweeps.",
        "",
        "| spend | strategy | width | IS | mlpd | R² | median R² |",
        "|---|---|---|---|---|---|---|",
    ]
    rand = cells[cells["strategy"] == "random"].set_index(["sweep", "frac"])
    for frac in fracs:
        for s in STRATEGIES:
            sub = cells[(cells["strategy"] == s) & (cells["frac"] == frac)]
            if sub.empty:
                continue
            b = sub.set_index(["sweep", "frac"]).merge(
                rand, left_index=True, right_index=True, suffixes=("", "_r")
            )
            k = len(b)
            wins = (
                int((b["width"] < b["width_r"]).sum()),
                int((b["iscore"] <= b["iscore_r"]).sum()),
                int((b["mlpd"] > b["mlpd_r"]).sum()),
                int((b["r2"] > b["r2_r"]).sum()),
            )
            if s == "random":
                wins = ("–",) * 4  # type: ignore[assignment]
            out.append(
                f"| {frac:.0%} | {s} | "
                + " | ".join(w if isinstance(w, str) else f"{w}/{k}" for w in wins)
                + f" | {_g(float(np.nanmedian(sub['r2'])), '.2f')} |"
            )
    # Li et al.
    out += [
        "",
        "### Beside Li et al. 2026",
        "",
        'Li et al. 2026 ("Spend Less, Fit Better", arXiv 2604.22753; numbers from '
        "`../shared/REFERENCE.md`, their Table 2) choose runs greedily by the predicted "
        "reduction of target-region error per unit cost, from an ensemble of point fits. On "
        "their Farseer task they report target-region R² of 0.60 / 0.88 / 0.93 at 1 / 5 / 10% "
        "of the pool's cost, against −0.77 / 0.78 / 0.79 for random selection. Ours: median "
        "over our sweeps of the held-out runs' R² (random: the median over sweeps of each "
        "sweep's median over seeds). **The tasks differ**: theirs is their Farseer task (its "
        "models, its target region, an ensemble of point fits); ours is one held-out budget "
        "(gemstones: the top 10% of compute) per sweep, 5 to 20 runs along one isoFLOP curve "
        "or a few model sizes, whose spread in log loss is small, fitted with the Chinchilla "
        "law by NUTS. A small offset of the whole curve therefore drives R² here far below "
        "0; read it beside the interval score and mlpd.",
        "",
        "| spend | planner (predict) | planner (n_opt) | random (median) | Li et al.: theirs "
        "| Li et al.: random |",
        "|---|---|---|---|---|---|",
    ]
    for frac in fracs:
        med = {}
        for s in ("planner (predict)", "planner (n_opt)", "random"):
            sub = cells[(cells["strategy"] == s) & (cells["frac"] == frac)]
            med[s] = float(np.nanmedian(sub["r2"])) if len(sub) else float("nan")
        theirs, their_rand = LI_ET_AL.get(round(frac, 4), (float("nan"), float("nan")))
        out.append(
            f"| {frac:.0%} | {_g(med['planner (predict)'], '.2f')} | "
            f"{_g(med['planner (n_opt)'], '.2f')} | {_g(med['random'], '.2f')} | "
            f"{_g(theirs, '.2f')} | {_g(their_rand, '.2f')} |"
        )
    # diagnostics, warnings, promise, times
    frame = pd.DataFrame(rows)
    by = frame[frame["frac"] > 0].groupby("strategy", sort=False)["ok"].mean()
    seed_ok = frame[frame["strategy"] == "seed only"]["ok"]
    promised = frame[frame["strategy"] == "planner (n_opt)"]
    ratio = (promised["width"] / promised["promised"]).to_numpy(float) if len(promised) else []
    warned = real["warnings"]
    out += [
        "",
        "### Diagnostics, warnings, time",
        "",
        f"- Fits passing their sampling diagnostics: **{fits_ok.mean():.0%}** of "
        f"{len(fits_ok)} distinct fits (seed fits {seed_ok.mean():.0%} of {len(seed_ok)}); "
        "per strategy (share of its refits): "
        + ", ".join(f"{s} {v:.0%}" for s, v in by.items())
        + ". A failing refit's numbers are themselves uncertain.",
        "- Warnings raised during the fits (suppressed, counted): "
        + (", ".join(f"{k} {v}" for k, v in warned.most_common()) if warned else "none")
        + ".",
    ]
    if len(ratio) and np.isfinite(ratio).any():
        out.append(
            "- Planner (n_opt): realised / promised N_opt width after refitting, median over "
            f"cells {np.nanmedian(ratio):.2f} (min {np.nanmin(ratio):.2f}, "
            f"max {np.nanmax(ratio):.2f})."
        )
    for crit, why in real["skipped"].items():
        out.append(f"- Criterion {crit!r} was skipped: {why}")
    out += [
        f"- {len(times)} fits in {real['seconds'] / 60:.1f} min (fit wall time median "
        f"{np.median(times):.1f} s, max {np.max(times):.0f} s; includes the extrapolation "
        "check's refit, escalations and compiling each new run count).",
        "",
    ]
    return out


def previous_section(path: Path, number: int) -> list[str] | None:
    """Section ``## <number>.`` of an earlier report at ``path``, to keep it when skipped."""
    if not path.is_file():
        return None
    text = path.read_text()
    m = re.search(rf"^## {number}\. .*?(?=^## |\Z)", text, flags=re.S | re.M)
    if m is None:
        return None
    lines = m.group(0).rstrip("\n").split("\n")
    earlier = [x for x in lines if x.startswith("*Not rerun")]  # kept before: keep its note
    lines = [x for x in lines if not x.startswith("*Not rerun")]
    while len(lines) > 1 and not lines[1].strip():
        del lines[1]
    made = re.search(r"Generated by `benchmarks/planning.py` on (\S+) ", text)
    when = f" (generated {made.group(1)})" if made else ""
    settings = (
        "reduced sampler settings, 2 chains × (500 warmup + 500 draws) unless that run set others"
        if number == 2
        else "the sampler settings that report stated"
    )
    note = (
        f"*Not rerun on {datetime.date.today()} (`--skip`): kept unchanged from the previous "
        f"report in this file{when}; its fits used {settings}.*"
    )
    return [lines[0], "", earlier[0] if earlier else note, "", *lines[1:], ""]


def report(
    args: argparse.Namespace,
    sp: dict,
    cal: dict | None,
    real: dict | None,
    total: float,
    cal_opts: dict[str, int],
) -> str:
    v = versions()
    kept = {n: previous_section(Path(args.out), n) for n in (2, 3)}
    out = [
        "# Run planning: speed, calibration, real sweeps (issues 13, 26)",
        "",
        f"Generated by `benchmarks/planning.py` on {datetime.date.today()} "
        f"({platform.machine()}, {os.cpu_count()} CPUs, jax {v.get('jax')}, "
        f"numpyro {v.get('numpyro')}); "
        f"total {total / 60:.1f} min. The default model "
        f"({DEFAULTS.likelihood} likelihood, drift={DEFAULTS.drift:g} beyond the data), "
        "Chinchilla law; "
        "planner defaults (64 selection scenarios, 256 fresh evaluation scenarios, "
        "criterion n_opt in section 2, 90% intervals). Sampler settings: "
        + (
            "the calibration (section 2) uses reduced ones, "
            f"{cal_opts['chains']} chains × ({cal_opts['warmup']} warmup + "
            f"{cal_opts['draws']} draws), batched with `bayescale.fit_many` (no extrapolation "
            "check); "
            if cal is not None
            else ""
        )
        + "the real sweeps (section 3) use `bayescale.fit` with "
        + (sampler_words(real["opts"]) if real is not None else "bayescale's defaults")
        + ".",
        "",
        "## 1. Speed",
        "",
        "Scoring 1,000 candidates against 4,000 draws with 64 simulated outcomes each (best of "
        "3 after compilation; target ≤ 5 s): "
        + "; ".join(f"{k} **{v:.2f} s**" for k, v in sp.get("cases", {}).items())
        + (f"**{sp['seconds']:.2f} s**" if "cases" not in sp else "")
        + f". Load average during the run: {' '.join(sp['loadavg'])} (2 cores; nothing else "
        "of ours ran).",
        "",
    ]
    if cal is not None:
        p, r = cal["promised"], cal["realised"]
        ratio = r["planner"] / p
        mean_ratio = float(np.nanmean(ratio))
        ratio_of_means = float(np.nanmean(r["planner"]) / np.nanmean(p))
        out += [
            "## 2. Calibration on synthetic data",
            "",
            f"{cal['n_sets']} data sets from Hoffmann et al.'s Approach-3 law (Gaussian noise sd "
            f"{SIGMA}); seed design: {cal['n_seed_runs']} runs at 6e18–6e19 FLOPs; pool: "
            f"{cal['n_candidates']} runs at 1e20–1e21 FLOPs; spend 10% of the pool's cost "
            f"({cal['spend']:.3g} FLOPs); target {TARGET:g} FLOPs. Width = log(hi/lo) of the 90% "
            "interval of N_opt at the target. The chosen runs are simulated from the truth "
            "(each candidate's outcome is the same for every method) and the law refitted.",
            "",
            f"- Realised / promised width, mean over data sets: **{mean_ratio:.3f}** "
            f"(ratio of the means {ratio_of_means:.3f}; target 0.8–1.2: "
            f"{'met' if 0.8 <= mean_ratio <= 1.2 else 'NOT met'}). Per data set: min "
            f"{np.nanmin(ratio):.2f}, median {np.nanmedian(ratio):.2f}, "
            f"max {np.nanmax(ratio):.2f}.",
            f"- Width before the new runs (seed fit): mean {np.nanmean(cal['now']):.3f}.",
            "",
            "| selection | mean realised width | vs planner | runs chosen (mean) "
            "| refits passing diagnostics |",
            "|---|---|---|---|---|",
        ]
        base = float(np.nanmean(r["planner"]))
        for m in ("planner", "random", "cheapest", "largest"):
            w = float(np.nanmean(r[m]))
            out.append(
                f"| {m} | {w:.3f} | {w / base - 1:+.1%} | {np.mean(cal['n_chosen'][m]):.1f} | "
                f"{cal['ok'][m]:.0%} |"
            )
        wins = {m: int(np.sum(r["planner"] < r[m])) for m in ("random", "cheapest", "largest")}
        out += [
            "",
            "Planner narrower than the baseline on "
            + ", ".join(f"{m} {k}/{cal['n_sets']}" for m, k in wins.items())
            + " data sets. Times: "
            + ", ".join(f"{k} {v:.0f} s" for k, v in cal["times"].items())
            + ".",
            "",
        ]
    elif kept[2]:
        out += kept[2]
    if real is not None:
        out += real_lines(real)
    elif kept[3]:
        out += kept[3]
    return "\n".join(out) + "\n"


#: The fit settings every fit here uses (bayescale's defaults, sampler sizes aside).
DEFAULTS = bayescale.FitSettings()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument(
        "--quick",
        action="store_true",
        help=f"few data sets, short chains for the calibration; sweeps {', '.join(QUICK_SWEEPS)}, "
        "spend 5%%, 2 random seeds",
    )
    p.add_argument("--shared", help="the shared data folder (default ../shared)")
    p.add_argument("--out", default=str(REPO / "benchmarks" / "PLANNING.md"))
    p.add_argument(
        "--sweeps",
        nargs="+",
        metavar="NAME",
        help="only these sweeps (section 3), e.g. 'marin dclm'",
    )
    for name, reduced in (("chains", 2), ("warmup", 500), ("draws", 500)):
        p.add_argument(
            f"--{name}",
            type=int,
            default=None,
            help=f"sampler {name} (default: {reduced} for the calibration, bayescale's "
            "default for the real sweeps)",
        )
    p.add_argument("--sets", type=int, default=20, help="synthetic data sets (calibration)")
    p.add_argument("--skip", nargs="*", default=(), choices=("calibration", "real"))
    p.add_argument(
        "--resume",
        action="store_true",
        help=f"save each finished sweep of section 3 to {ROWS.name} and read back the ones "
        "saved there under the same settings",
    )
    args = p.parse_args(argv)
    given = {k: getattr(args, k) for k in ("chains", "warmup", "draws")}
    cal_opts = {"chains": 2, "warmup": 500, "draws": 500}
    if args.quick:
        cal_opts.update(warmup=150, draws=150)
        args.sets = 3
    cal_opts.update({k: v for k, v in given.items() if v is not None})
    real_opts = {k: v for k, v in given.items() if v is not None}
    bayescale.enable_compilation_cache()
    t0 = time.time()
    sp = speed()
    print(f"speed: {sp['seconds']:.2f} s", flush=True)
    cal = None
    if "calibration" not in args.skip:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cal = calibration(args.sets, cal_opts)
        print(
            f"calibration: {np.nanmean(cal['realised']['planner'] / cal['promised']):.3f}",
            flush=True,
        )
    real = None
    if "real" not in args.skip:
        names = args.sweeps or (list(QUICK_SWEEPS) if args.quick else None)
        tasks = sweep_tasks(shared_dir(args.shared), names)
        fractions = (0.05,) if args.quick else SPENDS
        real = real_sweeps(
            tasks, fractions, 2 if args.quick else 5, real_opts, ROWS if args.resume else None
        )
    text = report(args, sp, cal, real, time.time() - t0, cal_opts)
    Path(args.out).write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
