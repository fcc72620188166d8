"""Does the default fit pass its own sampling diagnostics on the designs people have?

Issue 24's protocol. Every real set (the seven isoFLOP sweeps of the compendium, the bundled
sets, porian-cosine and gemstones-cooldown from ``../shared/data``) is fitted whole and with
its largest budget or compute held out; the synthetic designs are the two the issue names —
a *ladder* (5 sizes over 7× in N at 0.5–10× Chinchilla's 20 tokens per parameter, 25 runs)
and an over-training *grid* (4 sizes over 40× in N at 5–640 tokens per parameter, 32 runs) —
with Student-t noise (ν = 3) and a smooth law misfit, one data set per seed.

Each sampler variant (``--variants``) fits every set with seed 0 and the fit-time
extrapolation check off (it refits with the same sampler; the geometry is the fit's). A fit
*passes* when R-hat ≤ 1.01, bulk and tail ESS ≥ 400 for every parameter, no divergences and
fewer than 1% of draws at the maximum tree depth. Reported per set: leapfrog steps per draw,
ESS per gradient (the smallest bulk ESS over the gradients of the whole fit, warmup and any
retries included), divergences, the attempts the fit made, and wall time.

Writes ``benchmarks/SAMPLER.md`` (``--out``). ``make sampler`` runs it; ``--quick`` fits
three seeds of each synthetic design and the real sets whole only.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import bayescale

sys.path.insert(0, str(Path(__file__).resolve().parent))
import extrapolation as ex

from bayescale.checks.backtest import split_holdout
from bayescale.inference.settings import DEFAULT_BUDGETS
from bayescale.inference.storage import versions

HERE = Path(__file__).resolve().parent
#: The truth of the synthetic sets: Besiroglu et al.'s refit of Chinchilla.
TRUTH = {"E": 1.8172, "A": 482.01, "B": 2085.43, "alpha": 0.3478, "beta": 0.3658}
#: Student-t residual scale and degrees of freedom, and the misfit's amplitude in log loss.
NOISE, NU, MISFIT = 0.005, 3.0, 0.01
#: Sampler variants by name: settings passed to bayescale.fit.
VARIANTS: dict[str, dict[str, Any]] = {
    "diag": {"dense_mass": False, "escalate": False},
    "dense": {"dense_mass": True, "escalate": False},
    "default": {},
    # the product decision: fewer draws where every reported quantity keeps bulk and
    # tail ESS >= 400
    "draws-500": {"draws": 500},
}
LAW_PARAMS = ("E", "A", "B", "alpha", "beta", "sigma", "nu")


def ladder() -> tuple[np.ndarray, np.ndarray]:
    """5 sizes over 7× in N (190M–1.3B), each at 0.5, 1, 2, 5, 10 × 20 tokens per parameter."""
    N, mult = np.meshgrid(np.geomspace(190e6, 1.3e9, 5), [0.5, 1, 2, 5, 10], indexing="ij")
    return N.ravel(), (N * 20 * mult).ravel()


def grid() -> tuple[np.ndarray, np.ndarray]:
    """4 sizes over 40× in N (11M–411M) × 8 token multiples, 5–640 tokens per parameter."""
    tpp = [5, 10, 20, 40, 80, 160, 320, 640]
    N, T = np.meshgrid(np.geomspace(11e6, 411e6, 4), tpp, indexing="ij")
    return N.ravel(), (N * T).ravel()


def synthetic(design: tuple[np.ndarray, np.ndarray], seed: int) -> bayescale.ScalingData:
    """Losses from the law, bent by a smooth misfit in log compute, with Student-t noise."""
    N, D = design
    rng = np.random.default_rng(seed)
    t = TRUTH
    mean = np.log(t["E"] + t["A"] / N ** t["alpha"] + t["B"] / D ** t["beta"])
    u = np.log(N * D)
    u = (u - u.mean()) / u.std()
    log_loss = mean + MISFIT * (u**2 - 1) + NOISE * rng.standard_t(NU, N.shape)
    return bayescale.ScalingData.from_arrays(N=N, D=D, loss=np.exp(log_loss))


def real_sets(shared: Path, whole_only: bool) -> dict[str, bayescale.ScalingData]:
    """Every real set, whole and with its largest budget (or 20% of compute) held out."""
    sets: dict[str, bayescale.ScalingData] = {}
    for sweep in ex.isoflop_sweeps(shared / ex.ISOFLOPS):
        runs = pd.concat([sweep.train.to_dataframe(), sweep.test.to_dataframe()])
        sets[f"{sweep.name}: whole"] = bayescale.ScalingData.from_arrays(
            N=runs["N"].to_numpy(), D=runs["D"].to_numpy(), loss=runs["loss"].to_numpy()
        )
        sets[f"{sweep.name}: top budget out"] = sweep.train
    for name in ex.BUNDLED:
        data = bayescale.load_dataset(name)
        sets[f"{name} (bundled): whole"] = data
        sets[f"{name} (bundled): largest 20% out"] = data.subset(
            split_holdout(data, "largest", 0.2)[0]
        )
    porian = pd.read_csv(shared / "data" / "porian-cosine" / "data.csv")
    for corpus, runs in porian.groupby("dataset", sort=True):
        runs = runs.reset_index(drop=True)
        data = bayescale.ScalingData.from_dataframe(
            runs, n_col="params", d_col="tokens", loss_col="loss", source=f"porian {corpus}"
        )
        sets[f"porian {corpus}: whole"] = data
        sets[f"porian {corpus}: C ≤ 1.6e18"] = data.subset(runs["budget"].to_numpy() <= 1.6e18)
    gem = pd.read_csv(shared / "data" / "gemstones-cooldown" / "data.csv")
    data = bayescale.ScalingData.from_dataframe(
        gem, n_col="params", d_col="tokens", loss_col="loss", source="gemstones-cooldown"
    )
    sets["gemstones: whole"] = data
    sets["gemstones: C ≤ 1e20"] = data.subset(gem["budget"].to_numpy() <= 1e20)
    sets["gemstones: N ≤ 0.55B"] = data.subset(gem["params"].to_numpy() <= 0.55e9)
    if whole_only:
        sets = {k: v for k, v in sets.items() if "whole" in k or "out" not in k}
    return sets


def reported_ess(result: Any) -> tuple[float, float, str]:
    """Smallest bulk and tail ESS over what a fit reports: N_opt, D_opt and loss at every
    default budget (the parameters are in the diagnostics), and which quantity it was."""
    from arviz_stats.base import array_stats

    alloc = result.allocation_draws(DEFAULT_BUDGETS)
    chains, draws = result.settings.chains, result.settings.draws
    bulk, tail, worst = np.inf, np.inf, ""
    for q in ("N_opt", "D_opt", "loss"):
        for j, c in enumerate(DEFAULT_BUDGETS):
            x = np.asarray(alloc[q][:, j], dtype=np.float64).reshape(chains, draws)
            if not np.all(np.isfinite(x)):
                return 0.0, 0.0, f"{q}@{c:.3g} not finite"
            b = float(array_stats.ess(x, chain_axis=0, draw_axis=1, method="bulk"))
            t = float(
                array_stats.ess(x, chain_axis=0, draw_axis=1, method="tail", prob=(0.05, 0.95))
            )
            if min(b, t) < min(bulk, tail):
                worst = f"{q}@{c:.3g}"
            bulk, tail = min(bulk, b), min(tail, t)
    return bulk, tail, worst


def fit_row(name: str, kind: str, data: bayescale.ScalingData, settings: dict) -> dict:
    """One default-settings fit (seed 0, check off) and its sampling numbers."""
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = bayescale.fit(data, seed=0, extrapolation_check=False, **settings)
    wall = time.perf_counter() - start
    d = result.diagnostics
    params = [p for p in LAW_PARAMS if p in d.ess_bulk]
    bulk = min(d.ess_bulk[p] for p in params)
    tail = min(d.ess_tail[p] for p in params)
    rhat = max(d.r_hat[p] for p in params)
    draws = result.settings.chains * result.settings.draws
    attempts = list(d.attempts)
    gradients = float(result.timing["gradients"]) + sum(a["gradients"] for a in attempts)
    passed = (
        rhat <= 1.01
        and bulk >= 400
        and tail >= 400
        and d.divergences == 0
        and d.tree_depth_saturated < 0.01 * draws
    )
    q_bulk, q_tail, q_worst = reported_ess(result)
    return {
        "set": name,
        "kind": kind,
        "runs": len(data),
        "rhat": rhat,
        "ess_bulk": bulk,
        "ess_tail": tail,
        "divergences": int(d.divergences),
        "saturated": int(d.tree_depth_saturated),
        "draws": draws,
        "steps": float(d.mean_steps),
        "gradients": gradients,
        "ess_per_gradient": bulk / gradients,
        "attempts": len(attempts) + 1,
        "final": {k: getattr(result.settings, k) for k in ("warmup", "draws", "dense_mass")},
        "wall_s": wall,
        "passed": bool(passed),
        "reported_bulk": q_bulk,
        "reported_tail": q_tail,
        "reported_worst": q_worst,
    }


def summary(rows: list[dict]) -> dict[str, Any]:
    """Pass rates and medians of one variant, by kind (real / synthetic)."""
    out = {}
    for kind in ("real", "synthetic"):
        part = [r for r in rows if r["kind"] == kind]
        if not part:
            continue
        out[kind] = {
            "n": len(part),
            "passed": sum(r["passed"] for r in part),
            "steps": float(np.median([r["steps"] for r in part])),
            "ess_per_gradient": float(np.median([r["ess_per_gradient"] for r in part])),
            "divergences": sum(r["divergences"] for r in part),
            "saturated_sets": sum(r["saturated"] >= 0.01 * r["draws"] for r in part),
            "retried": sum(r["attempts"] > 1 for r in part),
            # None: rows recorded before the reported quantities were measured
            "reported_ok": (
                sum(min(r["reported_bulk"], r["reported_tail"]) >= 400 for r in part)
                if all("reported_bulk" in r for r in part)
                else None
            ),
            "wall_s": float(np.sum([r["wall_s"] for r in part])),
        }
    return out


def report(results: dict[str, list[dict]], meta: dict[str, Any]) -> str:
    """SAMPLER.md: the summary per variant, then every fit."""
    lines = [
        "# Sampler geometry on the designs people have (issue 24)",
        "",
        "Written by `benchmarks/sampler.py` (`make sampler`); do not edit by hand.",
        "",
        f"- machine: {meta['machine']}; load average before {meta['load_before']}, after "
        f"{meta['load_after']}; versions: {meta['versions']}",
        f"- {meta['when']}; {'quick mode' if meta['quick'] else 'full run'}; "
        f"{meta['seeds']} seeds per synthetic design; seed 0 for every fit, extrapolation "
        "check off",
        "- pass = R-hat ≤ 1.01, bulk and tail ESS ≥ 400 (E, A, B, α, β, σ, ν), no "
        "divergences, < 1% of draws at max tree depth",
        "- ESS/gradient = smallest bulk ESS over every leapfrog step of the fit (warmup and "
        "retries included)",
        "",
        "- reported ESS = smallest bulk and tail ESS of N_opt, D_opt and loss at the six default "
        "budgets (1e21–1e25 FLOPs; the drift's draws are exact, the law's are NUTS's)",
        "",
        "| variant | settings | kind | passed | median steps/draw | median ESS/gradient "
        "| divergences | sets ≥ 1% at max depth | retried | reported ESS ≥ 400 | wall (s) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, rows in results.items():
        for kind, s in summary(rows).items():
            lines.append(
                f"| {name} | `{json.dumps(VARIANTS.get(name, {}))}` | {kind} | "
                f"{s['passed']}/{s['n']} ({s['passed'] / s['n']:.1%}) | {s['steps']:.0f} | "
                f"{s['ess_per_gradient']:.4f} | {s['divergences']} | {s['saturated_sets']} | "
                f"{s['retried']} | {_count(s['reported_ok'], s['n'])} | {s['wall_s']:.0f} |"
            )
    for name, rows in results.items():
        lines += [
            "",
            f"## {name}",
            "",
            "| set | runs | R-hat | bulk ESS | tail ESS | div | at max depth | steps/draw "
            "| ESS/gradient | attempts | final warmup/draws/dense | reported ESS bulk/tail "
            "(lowest) | wall (s) | pass |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for r in rows:
            f = r["final"]
            lines.append(
                f"| {r['set']} | {r['runs']} | {r['rhat']:.3f} | {r['ess_bulk']:.0f} | "
                f"{r['ess_tail']:.0f} | {r['divergences']} | {r['saturated']} | "
                f"{r['steps']:.0f} | {r['ess_per_gradient']:.4f} | {r['attempts']} | "
                f"{f['warmup']}/{f['draws']}/{'dense' if f['dense_mass'] else 'diag'} | "
                f"{_reported(r)} | {r['wall_s']:.1f} | {'yes' if r['passed'] else '**no**'} |"
            )
    return "\n".join(lines) + "\n"


def _count(k: int | None, n: int) -> str:
    return "not measured" if k is None else f"{k}/{n}"


def _reported(row: dict) -> str:
    if "reported_bulk" not in row:  # rows recorded before the column existed
        return "not measured"
    return f"{row['reported_bulk']:.0f}/{row['reported_tail']:.0f} ({row['reported_worst']})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--variants", default="diag,default", help="comma-separated names")
    parser.add_argument("--seeds", type=int, default=20, help="per synthetic design")
    parser.add_argument("--quick", action="store_true", help="3 seeds, real sets whole only")
    parser.add_argument("--shared", default=None, help="the shared data folder")
    parser.add_argument("--out", default=str(HERE / "SAMPLER.md"))
    parser.add_argument("--raw", default=None, help="also write every row as JSON here")
    parser.add_argument(
        "--from-raw",
        default=None,
        help="comma-separated --raw files: render SAMPLER.md from them (variants merged, "
        "later files win) without fitting",
    )
    args = parser.parse_args(argv)
    if args.from_raw:
        results, metas = {}, []
        for path in args.from_raw.split(","):
            saved = json.loads(Path(path).read_text())
            results.update(saved["results"])
            metas.append(saved["meta"])
        meta = dict(metas[-1])
        if len(metas) > 1:  # say when and under which load each part ran
            meta["when"] = "; ".join(m["when"] for m in metas)
            meta["load_before"] = " | ".join(m["load_before"] for m in metas)
            meta["load_after"] = " | ".join(m["load_after"] for m in metas)
        Path(args.out).write_text(report(results, meta), encoding="utf-8")
        print(f"wrote {args.out}")
        return 0
    bayescale.use_host_devices()
    seeds = 3 if args.quick else args.seeds
    sets = [
        (name, "real", d) for name, d in real_sets(ex.shared_dir(args.shared), args.quick).items()
    ]
    for design_name, design in (("ladder", ladder()), ("grid", grid())):
        sets += [
            (f"{design_name} seed {s}", "synthetic", synthetic(design, s)) for s in range(seeds)
        ]
    load_before = " ".join(f"{x:.2f}" for x in os.getloadavg())
    results: dict[str, list[dict]] = {}
    for variant in args.variants.split(","):
        settings = VARIANTS[variant]
        results[variant] = []
        for name, kind, data in sets:
            row = fit_row(name, kind, data, settings)
            results[variant].append(row)
            print(
                f"{variant:8s} {name:45s} pass={row['passed']!s:5s} rhat {row['rhat']:.3f} "
                f"bulk {row['ess_bulk']:.0f} tail {row['ess_tail']:.0f} div "
                f"{row['divergences']} sat {row['saturated']} steps {row['steps']:.0f} "
                f"attempts {row['attempts']} {row['wall_s']:.1f}s",
                flush=True,
            )
    meta = {
        "machine": f"{os.cpu_count()} cores, {sys.platform}",
        "load_before": load_before,
        "load_after": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "versions": ", ".join(f"{k} {v}" for k, v in versions().items()),
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "quick": args.quick,
        "seeds": seeds,
    }
    if args.raw:
        Path(args.raw).write_text(json.dumps({"meta": meta, "results": results}, indent=1))
    Path(args.out).write_text(report(results, meta), encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
