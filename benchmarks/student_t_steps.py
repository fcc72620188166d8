"""Load-independent NUTS efficiency of a fit: leapfrog steps per draw, ESS per gradient.

Wall time on a shared machine is noise; the number of gradient evaluations is not. For
each data set (Epoch's 240 Chinchilla runs, the bundled "misfitting" and "datablations"
sweeps under the Chinchilla law, and synthetic sets with varied truths and noise) this
runs the fit's own sampler (:func:`bayescale.inference.fit.prepare`, ``chain_starts``, the compiled
NUTS of :mod:`bayescale.inference`) and reports the mean leapfrog steps per kept draw,
the gradients spent in warmup, the minimum bulk ESS of alpha and beta, ESS per 1,000
gradients (kept draws only, and warmup included), divergences and the largest R-hat.

Warmup runs one iteration per call so that each iteration's step count can be read (the
chunk bounds are traced values: the draws are the same as one call's). ``--variants``
picks sampler settings (:data:`VARIANTS`: dense mass, target acceptance, shorter warmup
or draws); ``--table`` turns the JSON lines of earlier runs into the tables of
``benchmarks/RESULTS.md``: per variant and data set over the seeds, the cost of "dense
first, diagonal where it fails" and the dense medians against the diagonal's in Monte
Carlo standard errors.

    .venv/bin/python benchmarks/student_t_steps.py [--variants diag dense95] [--seeds 0 1 2]
        [--only chinchilla] [--out runs.jsonl]
    .venv/bin/python benchmarks/student_t_steps.py --table runs.jsonl [more.jsonl ...]
"""

from __future__ import annotations

import argparse
import json
import os
import time

import jax
import jax.numpy as jnp
import numpy as np

import bayescale
from bayescale.checks.simulate import HOFFMANN_PARAMS, chinchilla_design, simulate_runs
from bayescale.inference.diagnostics import compute_diagnostics
from bayescale.inference.fit import prepare
from bayescale.inference.sampler import _chain_keys, _compiled, _sorted_fields, chain_starts
from bayescale.inference.settings import FitSettings
from bayescale.laws import get_law
from bayescale.laws.chinchilla import ChinchillaParams

REPORTED = ("E", "A", "B", "alpha", "beta", "sigma", "nu")


def datasets() -> dict[str, bayescale.ScalingData]:
    """The data sets measured: three real sweeps and six synthetic ones."""
    out = {
        "chinchilla (Epoch, 240)": bayescale.load_dataset("chinchilla"),
        "misfitting": bayescale.load_dataset("misfitting"),
        "datablations": bayescale.load_dataset("datablations"),
    }
    N, D = chinchilla_design()
    far1 = ChinchillaParams(E=3.0, A=50.0, B=8000.0, alpha=0.15, beta=0.55)
    far2 = ChinchillaParams(E=0.5, A=2000.0, B=300.0, alpha=0.6, beta=0.25)
    far3 = ChinchillaParams(E=1.2, A=20.0, B=20.0, alpha=0.1, beta=0.1)
    synth = {
        "synth Hoffmann, normal 0.01": dict(sigma=0.01, seed=1),
        "synth Hoffmann, t4 0.01": dict(sigma=0.01, noise="student_t", nu=4.0, seed=2),
        "synth Hoffmann, normal 0.02, 77 runs": dict(sigma=0.02, seed=3, design=(N[::2], D[::2])),
        "synth far-1, t3 0.01": dict(params=far1, sigma=0.01, noise="student_t", nu=3.0, seed=4),
        "synth far-2, normal 0.005": dict(params=far2, sigma=0.005, seed=5),
        "synth far-3, t6 0.02": dict(params=far3, sigma=0.02, noise="student_t", nu=6.0, seed=6),
    }
    for name, kw in synth.items():
        out[name] = simulate_runs(kw.pop("params", HOFFMANN_PARAMS), **kw)
    return out


def measure(data: bayescale.ScalingData, priors=None, **settings) -> dict:
    """One fit's efficiency numbers (see the module docstring)."""
    from arviz_stats.base import array_stats

    cfg = FitSettings(**settings)
    with jax.enable_x64(cfg.precision == "float64"):
        prep = prepare(data, get_law(cfg.law), cfg, priors)
        z0 = chain_starts(prep.spec, prep.args, prep.kwargs, prep.start, cfg.chains, cfg.seed)
        init, advance, constrain = _compiled(prep.spec, cfg.nuts(), 1, "sequential", False)
        keys = _chain_keys(cfg.seed, cfg.chains)
        kwargs = _sorted_fields(dict(prep.kwargs))
        size = sum(int(np.prod(np.shape(v)[1:])) for v in z0.values())
        unit = (np.eye(size) if cfg.dense_mass else np.ones(size), 1.0)  # run_nuts' default
        t0 = time.perf_counter()
        st = init(keys, z0, prep.args, kwargs, unit, 0)
        rec = {
            "z": st.z,
            "diverging": st.diverging,
            "num_steps": st.num_steps,
            "accept_prob": st.accept_prob,
            "energy": st.energy,
            "potential_energy": st.potential_energy,
        }
        full = {
            "draws": jax.tree.map(
                lambda v: jnp.zeros((v.shape[0], cfg.draws, *v.shape[1:]), v.dtype), rec
            ),
            "warmup_steps": jnp.zeros_like(st.num_steps),
        }
        per_iter = np.zeros((cfg.chains, cfg.warmup))
        warm_div = np.zeros((cfg.chains, cfg.warmup), bool)
        for i in range(cfg.warmup):
            st, full = advance(st, full, i, i + 1, prep.args, kwargs)
            per_iter[:, i] = np.asarray(full["draws"]["num_steps"][:, 0])
            warm_div[:, i] = np.asarray(full["draws"]["diverging"][:, 0])
        warm_steps = per_iter.sum(axis=1)
        # the sampler's own count of warmup gradients (what run_nuts reports) agrees
        assert np.array_equal(np.asarray(full["warmup_steps"]), warm_steps)
        st, full = advance(st, full, cfg.warmup, cfg.warmup + cfg.draws, prep.args, kwargs)
        buf = full["draws"]
        c = constrain(buf["z"], prep.args, kwargs)
        c, buf = jax.device_get((c, buf))
        wall = time.perf_counter() - t0
    c = {k: np.asarray(v, dtype=np.float64) for k, v in c.items()}
    kept = prep.spec.kept_sites()
    ess = {k: float(array_stats.ess(c[k], chain_axis=0, draw_axis=1, method="bulk")) for k in kept}
    rhat = {k: float(array_stats.rhat(c[k], chain_axis=0, draw_axis=1)) for k in kept}
    steps = np.asarray(buf["num_steps"], dtype=np.float64)
    grads_kept = float(steps.sum())
    grads_all = grads_kept + float(warm_steps.sum())
    ess_ab = min(ess.get("alpha", np.inf), ess.get("beta", np.inf))
    summary = {
        k: [float(np.quantile(c[k], q)) for q in (0.05, 0.5, 0.95)] for k in REPORTED if k in c
    }
    mc_se = {k: float(np.std(c[k]) / np.sqrt(ess[k])) for k in REPORTED if k in ess}
    # the fit's own sampler diagnostics (R-hat, bulk and tail ESS, divergences, depth, E-BFMI)
    diag = compute_diagnostics(
        {k: c[k] for k in kept},
        {k: np.asarray(v) for k, v in buf.items() if k != "z"},
        max_tree_depth=cfg.max_tree_depth,
        target_accept=cfg.target_accept,
    )
    return {
        "steps_per_draw": float(steps.mean()),
        "warmup_steps_per_iter": float(warm_steps.sum() / (cfg.chains * cfg.warmup)),
        "ess_ab": ess_ab,
        "ess_per_1000_grads": 1000 * ess_ab / grads_kept,
        "ess_per_1000_grads_incl_warmup": 1000 * ess_ab / grads_all,
        "divergences": int(np.sum(buf["diverging"])),
        "rhat_max": max(rhat.values()),
        "ess_min": min(ess.values()),
        "ess_tail_min": diag.ess_tail_min,
        "sampler_ok": not diag.problems,
        "sampler_problems": diag.problems,
        "warmup_divergences": int(warm_div.sum()),
        "grads_total": grads_all,
        "step_size": [float(s) for s in np.atleast_1d(st.adapt_state.step_size)],
        "wall_s_chunked": wall,
        "warmup_profile": [float(v) for v in per_iter.mean(axis=0)],
        "quantiles": summary,
        "mc_se": mc_se,
    }


#: Sampler variants measured (``--variants``): FitSettings overrides.
VARIANTS: dict[str, dict] = {
    "diag": {},
    "dense": {"dense_mass": True},
    "dense90": {"dense_mass": True, "target_accept": 0.9},
    "dense95": {"dense_mass": True, "target_accept": 0.95},
    "dense90_w2000": {"dense_mass": True, "target_accept": 0.9, "warmup": 2000},
    "diag_500": {"warmup": 500, "draws": 500},
    "diag_500_1000": {"warmup": 500},
    "dense90_500": {"dense_mass": True, "target_accept": 0.9, "warmup": 500, "draws": 500},
    "dense95_500": {"dense_mass": True, "target_accept": 0.95, "warmup": 500, "draws": 500},
}


def _converged(r: dict) -> bool:
    """No divergence, R-hat <= 1.01, bulk and tail ESS >= 400 (tree depth aside)."""
    return (
        r["divergences"] == 0
        and r["rhat_max"] <= 1.01
        and not any("ESS" in p for p in r["sampler_problems"])
    )


def tables(paths: list[str]) -> list[str]:
    """Markdown tables of the JSON lines in ``paths`` (one per fit)."""
    rows = [json.loads(line) for p in paths for line in open(p)]
    by: dict[tuple[str, str], list[dict]] = {}
    for r in rows:
        by.setdefault((r["variant"], r["data"]), []).append(r)
    sets = list(dict.fromkeys(r["data"] for r in rows))
    variants = list(dict.fromkeys(r["variant"] for r in rows))
    out = [
        "| variant | data set | seeds | steps / draw | warmup steps / iter. | min ESS α, β |"
        " ESS / 1000 grad. (warmup incl.) | divergences per seed | R-hat max |"
        " converged (div 0, R-hat ≤ 1.01, ESS ≥ 400) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for v in variants:
        for name in sets:
            rs = sorted(by.get((v, name), []), key=lambda r: r["seed"])
            if not rs:
                continue
            mean = lambda k, rs=rs: float(np.mean([r[k] for r in rs]))  # noqa: E731
            divs = "/".join(str(r["divergences"]) for r in rs)
            out.append(
                f"| {v} | {name} | {len(rs)} | {mean('steps_per_draw'):.1f} |"
                f" {mean('warmup_steps_per_iter'):.1f} | {mean('ess_ab'):.0f} |"
                f" {mean('ess_per_1000_grads_incl_warmup'):.2f} | {divs} |"
                f" {max(r['rhat_max'] for r in rs):.4f} |"
                f" {sum(_converged(r) for r in rs)}/{len(rs)} |"
            )
    # one row per data set, one column per variant
    out += [
        "",
        "| data set | "
        + " | ".join(
            f"{v}: ESS / 1000 grad. (warmup incl.); divergences; R-hat max" for v in variants
        )
        + " |",
        "|---|" + "---|" * len(variants),
    ]
    for name in sets:
        cells = []
        for v in variants:
            rs = sorted(by.get((v, name), []), key=lambda r: r["seed"])
            if not rs:
                cells.append("–")
                continue
            eff = np.mean([r["ess_per_1000_grads_incl_warmup"] for r in rs])
            divs = "/".join(str(r["divergences"]) for r in rs)
            rhat = max(r["rhat_max"] for r in rs)
            bold = (
                "**"
                if not all(r["divergences"] == 0 and r["rhat_max"] <= 1.01 for r in rs)
                else ""
            )
            cells.append(f"{eff:.2f}; {bold}{divs}; {rhat:.3f}{bold}")
        out.append(f"| {name} | " + " | ".join(cells) + " |")
    # dense first, the diagonal where the dense fit did not converge
    out += [
        "",
        "| dense variant, diagonal where it did not converge | fell back | gradients ÷ diagonal"
        " (all sets, the seeds every set has) | per data set (all its seeds): gradients ÷"
        " diagonal (ESS per gradient × diagonal's) |",
        "|---|---|---|---|",
    ]
    for v in [v for v in variants if v.startswith("dense")]:
        fell = n = 0
        total = total_diag = 0.0
        per = []

        def cost(a: dict, b: dict) -> float:  # the dense fit, and the diagonal if it failed
            return a["grads_total"] + (0 if _converged(a) else b["grads_total"])

        pairs = {}
        for name in sets:
            diag = {r["seed"]: r for r in by.get(("diag", name), [])}
            found = {r["seed"]: (r, diag[r["seed"]]) for r in by.get((v, name), [])}
            pairs[name] = {k: ab for k, ab in found.items() if k in diag}
        pairs = {k: p for k, p in pairs.items() if p}
        common = set.intersection(*(set(p) for p in pairs.values())) if pairs else set()
        for name, p in pairs.items():
            g = sum(cost(a, b) for a, b in p.values())
            gd = sum(b["grads_total"] for _, b in p.values())
            # ESS per gradient of what the rule returns, over the diagonal's
            ess = sum((a if _converged(a) else b)["ess_ab"] for a, b in p.values())
            eff = (ess / g) / (sum(b["ess_ab"] for _, b in p.values()) / gd)
            per.append(f"{name.split(' (')[0]} {g / gd:.2f} ({eff:.1f}×)")
            for seed in common:
                a, b = p[seed]
                fell += not _converged(a)
                n += 1
                total, total_diag = total + cost(a, b), total_diag + b["grads_total"]
        if n:
            out.append(f"| {v} | {fell}/{n} | {total / total_diag:.2f} | {'; '.join(per)} |")
    # posterior medians of converged dense fits against the diagonal's
    params = ("E", "A", "B", "alpha", "beta", "sigma", "nu")
    out += [
        "",
        "| variant | data set | seeds (variant / diag) | (median − diagonal median) / MCSE: "
        + ", ".join(params)
        + " |",
        "|---|---|---|---|",
    ]
    for v in [v for v in variants if v != "diag"]:
        for name in sets:
            a = [r for r in by.get((v, name), []) if _converged(r)]
            b = by.get(("diag", name), [])
            if not a or not b:
                continue
            zs = []
            for p in params:
                # MCSE of a median ~ 1.25 x that of the mean; the mean over seeds
                sa = np.sqrt(sum((1.25 * r["mc_se"][p]) ** 2 for r in a)) / len(a)
                sb = np.sqrt(sum((1.25 * r["mc_se"][p]) ** 2 for r in b)) / len(b)
                ma = np.mean([r["quantiles"][p][1] for r in a])
                mb = np.mean([r["quantiles"][p][1] for r in b])
                zs.append(f"{(ma - mb) / np.hypot(sa, sb):+.1f}")
            out.append(f"| {v} | {name} | {len(a)} / {len(b)} | {', '.join(zs)} |")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--likelihood", default="student_t")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--variants", nargs="+", default=["diag"], choices=sorted(VARIANTS))
    ap.add_argument("--only", nargs="*", help="data set names starting with these")
    ap.add_argument("--out", help="append one JSON line per fit here")
    ap.add_argument("--table", nargs="+", metavar="JSONL", help="print the tables of these")
    args = ap.parse_args()
    if args.table:
        print("\n".join(tables(args.table)))
        return
    bayescale.enable_compilation_cache()  # each variant and data shape compiles once
    print(f"load {open('/proc/loadavg').read().strip()}")
    sets = {
        name: data
        for name, data in datasets().items()
        if not args.only or any(name.startswith(o) for o in args.only)
    }
    for variant in args.variants:
        for name, data in sets.items():
            for seed in args.seeds:
                settings = {"likelihood": args.likelihood, "seed": seed, **VARIANTS[variant]}
                r = measure(data, **settings)
                r.update(data=name, seed=seed, runs=len(data), variant=variant, pid=os.getpid())
                r["load"] = open("/proc/loadavg").read().split()[:3]
                print(
                    f"{variant:14s} {name:38s} s{seed} steps {r['steps_per_draw']:6.1f}"
                    f" warm {r['warmup_steps_per_iter']:6.1f} ess {r['ess_ab']:6.0f}"
                    f" tail {r['ess_tail_min']:5.0f}"
                    f" /1k {r['ess_per_1000_grads']:5.2f}"
                    f" (+wu {r['ess_per_1000_grads_incl_warmup']:5.2f})"
                    f" div {r['divergences']:3d} rhat {r['rhat_max']:.4f}"
                    f" ok {r['sampler_ok']}",
                    flush=True,
                )
                if args.out:
                    with open(args.out, "a") as f:
                        f.write(json.dumps(r) + "\n")
    print(f"load {open('/proc/loadavg').read().strip()}")


if __name__ == "__main__":
    main()
