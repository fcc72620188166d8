"""Load-independent NUTS efficiency of a fit: leapfrog steps per draw, ESS per gradient.

Wall time on a shared machine is noise; the number of gradient evaluations is not. For
each data set (Epoch's 240 Chinchilla runs, the bundled "misfitting" and "datablations"
sweeps under the Chinchilla law, and synthetic sets with varied truths and noise) this
runs the fit's own sampler (:func:`bayescale.fit.prepare`, ``chain_starts``, the compiled
NUTS of :mod:`bayescale.inference`) and reports the mean leapfrog steps per kept draw,
the gradients spent in warmup, the minimum bulk ESS of alpha and beta, ESS per 1,000
gradients (kept draws only, and warmup included), divergences and the largest R-hat.

Warmup runs one iteration per call so that each iteration's step count can be read (the
chunk bounds are traced values: the draws are the same as one call's).

    .venv/bin/python benchmarks/student_t_steps.py [--likelihood student_t] [--seeds 0 1]
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
from bayescale.diagnostics import compute_diagnostics
from bayescale.fit import prepare
from bayescale.inference import _compiled, _sorted_fields, chain_starts
from bayescale.law import ChinchillaParams
from bayescale.laws import get_law
from bayescale.settings import FitSettings
from bayescale.simulate import HOFFMANN_PARAMS, chinchilla_design, simulate_runs

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
        keys = jax.random.split(jax.random.key(cfg.seed), cfg.chains)
        kwargs = _sorted_fields(dict(prep.kwargs))
        t0 = time.perf_counter()
        st = init(keys, z0, prep.args, kwargs, None)
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--likelihood", default="student_t")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--variants", nargs="+", default=["diag"], choices=sorted(VARIANTS))
    ap.add_argument("--only", nargs="*", help="data set names starting with these")
    ap.add_argument("--out", help="append one JSON line per fit here")
    args = ap.parse_args()
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
