"""Is the run planner's promise kept, and does it beat simple selections? (issue 13)

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
   selections at the same spend.
3. **Real sweeps** (``../shared/data/scaling-law-analysis/transform/isoflops.csv``, the
   loader of ``benchmarks/extrapolation.py``): seed = the cheapest quarter of the runs below
   the top budget, candidates = the rest of those runs (losses hidden from the planner and
   looked up after), target = the top budget, spend 1%, 5%, 10% of the candidates' cost;
   after refitting: width of the N_opt interval at the target, held-out log score (mlpd)
   and 90% coverage of the top budget's runs, against random (5 seeds), cheapest-first and
   a D-optimal design on the linearised law (greedy log-det gain per FLOP at the seed
   fit's posterior median).

All fits use reduced sampler settings (``--chains``, ``--warmup``, ``--draws``; default
2 × (500 + 500)), batched with :func:`bayescale.fit_many`::

    .venv/bin/python benchmarks/planning.py [--quick] [--shared PATH] [--out PATH]
"""

from __future__ import annotations

import argparse
import datetime
import math
import os
import platform
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import bayescale

bayescale.use_host_devices()

import jax  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from extrapolation import isoflop_sweeps, shared_dir  # noqa: E402

from bayescale.checks.backtest import evaluate  # noqa: E402
from bayescale.checks.simulate import HOFFMANN_PARAMS, chinchilla_design, simulate_runs  # noqa: E402
from bayescale.decisions.planning import preposterior_scores  # noqa: E402
from bayescale.inference.storage import versions  # noqa: E402

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
    """Greedy D-optimal design on the law linearised at the posterior median (log-det per FLOP)."""
    theta = {k: float(np.median(v)) for k, v in fit.theta().items()}
    law = fit.law

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
    rng = np.random.default_rng(0)
    S, J, M = 4000, 1000, 64
    mu = rng.normal(0.7, 0.05, (J, S))
    y = rng.normal(0.7, 0.05, (M, J))
    sigma = 0.01 * np.exp(rng.normal(0, 0.1, S))
    aux = {"q": rng.normal(0, 1, S)}
    logw = np.zeros((M, S))
    with jax.enable_x64(True):
        preposterior_scores(logw, mu, y, sigma, None, aux)
        times = []
        for _ in range(3):
            t = time.perf_counter()
            preposterior_scores(logw, mu, y, sigma, None, aux)
            times.append(time.perf_counter() - t)
    return {"seconds": min(times), "loadavg": open("/proc/loadavg").read().split()[:3]}


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
def real_sweeps(shared: Path, fractions: tuple[float, ...], n_random: int, opts: dict) -> list:
    rows = []
    for sweep in isoflop_sweeps(
        shared / "data" / "scaling-law-analysis" / "transform" / "isoflops.csv"
    ):
        t0 = time.time()
        pool = sweep.train
        C = pool.C
        order = np.argsort(C, kind="stable")
        n_seed = max(len(C) // 4, 8)
        seed_idx, cand_idx = np.sort(order[:n_seed]), np.sort(order[n_seed:])
        seed = pool.subset(np.isin(np.arange(len(C)), seed_idx))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = bayescale.fit(seed, seed=0, progress_bar=False, **opts)
        Nc, Dc, cost = pool.N[cand_idx], pool.D[cand_idx], C[cand_idx]
        cand = pd.DataFrame({"N": Nc, "D": Dc})
        selections: dict[str, list[int]] = {}
        for frac in fractions:
            spend = frac * float(cost.sum())
            if spend < cost.min():
                continue
            plan = fit.plan_runs(cand, target_budget=sweep.top_budget, spend=spend, seed=0)
            selections[f"planner@{frac}"] = [int(j) for j in plan.runs["candidate"]]
            for r in range(n_random):
                rng = np.random.default_rng(r)
                selections[f"random{r}@{frac}"] = fill(rng.permutation(len(cost)), cost, spend)
            selections[f"cheapest@{frac}"] = fill(np.argsort(cost, kind="stable"), cost, spend)
            selections[f"d_optimal@{frac}"] = d_optimal(fit, Nc, Dc, cost, spend)
        sets = [
            pool.subset(np.isin(np.arange(len(C)), np.concatenate([seed_idx, cand_idx[idx]])))
            for idx in selections.values()
        ]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            refits = bayescale.fit_many(sets, method="nuts", seed=1, **opts)
        for (key, idx), refit in zip(selections.items(), refits, strict=True):
            method, frac = key.split("@")
            summary, _ = evaluate(refit, sweep.test, (0.9,), seed=0)
            rows.append(
                {
                    "sweep": sweep.name,
                    "method": "random" if method.startswith("random") else method,
                    "frac": float(frac),
                    "n_runs": len(idx),
                    "spent": float(cost[idx].sum()) / float(cost.sum()) if idx else 0.0,
                    "width": n_opt_width(refit, sweep.top_budget),
                    "mlpd": summary["mlpd"],
                    "cov90": summary["coverage_0.9"],
                    "ok": bool(refit.ok),
                }
            )
        rows.append(
            {
                "sweep": sweep.name,
                "method": "seed only",
                "frac": 0.0,
                "n_runs": 0,
                "spent": 0.0,
                "width": n_opt_width(fit, sweep.top_budget),
                "mlpd": evaluate(fit, sweep.test, (0.9,), seed=0)[0]["mlpd"],
                "cov90": evaluate(fit, sweep.test, (0.9,), seed=0)[0]["coverage_0.9"],
                "ok": bool(fit.ok),
            }
        )
        print(
            f"{sweep.name}: {len(seed)} seed runs, {len(cost)} candidates, "
            f"{time.time() - t0:.0f} s",
            flush=True,
        )
    return rows


# ---------------------------------------------------------------------- report
def report(
    args: argparse.Namespace, sp: dict, cal: dict | None, real: list | None, total: float
) -> str:
    v = versions()
    out = [
        "# Run planning: speed, calibration, real sweeps (issue 13)",
        "",
        f"Generated by `benchmarks/planning.py` on {datetime.date.today()} "
        f"({platform.machine()}, {os.cpu_count()} CPUs, jax {v.get('jax')}, "
        f"numpyro {v.get('numpyro')}); "
        f"total {total / 60:.1f} min. Sampler settings of every fit: {args.chains} chains × "
        f"({args.warmup} warmup + {args.draws} draws), the default model "
        f"({DEFAULTS.likelihood} likelihood, drift={DEFAULTS.drift:g} beyond the data), "
        "Chinchilla law; "
        "planner defaults (64 selection scenarios, 256 fresh evaluation scenarios, "
        "criterion n_opt, 90% intervals).",
        "",
        "## 1. Speed",
        "",
        f"Scoring 1,000 candidates against 4,000 draws with 64 simulated outcomes each: "
        f"**{sp['seconds']:.2f} s** (best of 3 after compilation; target ≤ 5 s). Load average "
        f"during the run: {' '.join(sp['loadavg'])} (shared machine, 2 cores).",
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
    if real is not None:
        frame = pd.DataFrame(real)
        out += [
            "## 3. Real isoFLOP sweeps",
            "",
            "Seed = cheapest quarter of the runs below the top budget (at least 8), candidates = "
            "the rest below the top budget, target = the top budget, whose runs are held out. "
            "Random: mean over 5 seeds. Width: log(hi/lo) of the 90% N_opt interval at the target "
            "after refitting; mlpd and 90% coverage of the held-out top-budget runs.",
            "",
            "| sweep | spend | method | runs | share spent | N_opt width | mlpd | cov90 "
            "| refit ok |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        agg = (
            frame.groupby(["sweep", "frac", "method"], sort=True)
            .agg(
                n_runs=("n_runs", "mean"),
                spent=("spent", "mean"),
                width=("width", "mean"),
                mlpd=("mlpd", "mean"),
                cov90=("cov90", "mean"),
                ok=("ok", "mean"),
            )
            .reset_index()
        )
        for r in agg.itertuples():
            out.append(
                f"| {r.sweep} | {r.frac:.0%} | {r.method} | {r.n_runs:.1f} | {r.spent:.1%} | "
                f"{r.width:.3f} | {r.mlpd:.2f} | {r.cov90:.2f} | {r.ok:.0%} |"
            )
        out += [
            "",
            "Margins of the planner's N_opt width over each baseline (mean over sweeps of "
            "width_baseline / width_planner − 1; positive: the planner is narrower):",
            "",
        ]
        piv = agg.pivot_table(index=["sweep", "frac"], columns="method", values="width")
        piv_m = agg.pivot_table(index=["sweep", "frac"], columns="method", values="mlpd")
        for frac in sorted(agg["frac"].unique()):
            if frac == 0:
                continue
            sub = piv.xs(frac, level="frac")
            subm = piv_m.xs(frac, level="frac")
            bits = []
            for m in ("random", "cheapest", "d_optimal"):
                if m in sub and "planner" in sub:
                    margin = float(np.nanmean(sub[m] / sub["planner"] - 1))
                    wins = int(np.sum(sub["planner"] < sub[m]))
                    dm = float(np.nanmean(subm["planner"] - subm[m]))
                    bits.append(
                        f"{m} {margin:+.1%} (narrower on {wins}/{len(sub)} sweeps; mlpd {dm:+.2f})"
                    )
            out.append(f"- spend {frac:.0%}: " + "; ".join(bits))
        out += [
            "",
            "Li et al. 2026 (arXiv 2604.22753) report that their point-fit active selection beats "
            "random, cheapest-first, D-optimal and V-optimal selection by wide margins at 1–10% "
            "of "
            "the pool's cost on their own error metric (target-region prediction error); their "
            "exact numbers could not be checked from this machine (no network), so no number of "
            "theirs is quoted here, and the metrics differ (N_opt interval width here).",
            "",
        ]
    return "\n".join(out) + "\n"


#: The fit settings every fit here uses (bayescale's defaults, sampler sizes aside).
DEFAULTS = bayescale.FitSettings()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="few data sets and sweeps, short chains")
    p.add_argument("--shared", help="the shared data folder (default ../shared)")
    p.add_argument("--out", default=str(REPO / "benchmarks" / "PLANNING.md"))
    p.add_argument("--chains", type=int, default=2)
    p.add_argument("--warmup", type=int, default=500)
    p.add_argument("--draws", type=int, default=500)
    p.add_argument("--sets", type=int, default=20, help="synthetic data sets (calibration)")
    p.add_argument("--skip", nargs="*", default=(), choices=("calibration", "real"))
    args = p.parse_args(argv)
    if args.quick:
        args.chains, args.warmup, args.draws, args.sets = 2, 150, 150, 3
    opts = {"chains": args.chains, "warmup": args.warmup, "draws": args.draws}
    bayescale.enable_compilation_cache()
    t0 = time.time()
    sp = speed()
    print(f"speed: {sp['seconds']:.2f} s", flush=True)
    cal = None
    if "calibration" not in args.skip:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cal = calibration(args.sets, opts)
        print(
            f"calibration: {np.nanmean(cal['realised']['planner'] / cal['promised']):.3f}",
            flush=True,
        )
    real = None
    if "real" not in args.skip:
        fractions = (0.05,) if args.quick else (0.01, 0.05, 0.10)
        real = real_sweeps(shared_dir(args.shared), fractions, 2 if args.quick else 5, opts)
    text = report(args, sp, cal, real, time.time() - t0)
    Path(args.out).write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
