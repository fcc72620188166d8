"""How far the default fit's gradient is from the floor of its own arithmetic (issue 14).

A warm default fit is two NUTS runs (the fit, then the extrapolation check's refit), and
almost all of its wall time is gradient evaluations (cProfile: Python outside the sampler
is about 0.1 s of 3.8 s). So its time is (gradients) × (time per gradient). This script
measures the second factor, one thread, in one process, ``jit`` of a ``fori_loop`` of
``value_and_grad`` so that no dispatch is timed:

- ``model``: the potential NUTS differentiates — ``numpyro.infer.util.potential_energy`` of
  the fit's own model (``bayescale.inference.fit.prepare``: priors, shears, run mask included);
- ``minimal``: the same per-run arithmetic written by hand (law on log loss, residual
  density; no priors, no mask), differentiated by JAX;
- ``analytic``: ``minimal``'s value and gradient derived by hand, one pass;

on Epoch's 240 runs tiled 1×, 4× and 16× (a per-run cost that stays flat is arithmetic,
not overhead), for the Student-t default and the Gaussian. Then one warm default fit
(``fit.timing``, chains on host devices as the CLI runs them) gives the sampler's own time
per gradient: wall × cores used over gradients.

    python benchmarks/gradient_floor.py [--out benchmarks/RESULTS.md]
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from _sections import write_section

HERE = Path(__file__).resolve().parent
START, END = "<!-- gradient-floor:start -->", "<!-- gradient-floor:end -->"
REPS = (1, 4, 16)
CALLS = 20000
REPEATS = 7  # best of: the VM stalls now and then


def _per_call(fn: Any, arg: Any, calls: int) -> float:
    """Seconds per call of ``fn(arg)`` (a (value, grad) pair), best of REPEATS loops."""

    @jax.jit
    def loop(a: Any) -> Any:
        def body(i: Any, c: Any) -> Any:
            # a tiny shift per step, so XLA cannot hoist the call out of the loop
            v, g = fn(jax.tree.map(lambda x: x + 1e-12 * i, a))
            return c + v + jnp.ravel(jax.tree.leaves(g)[0])[0]

        return jax.lax.fori_loop(0, calls, body, 0.0)

    loop(arg).block_until_ready()
    best = np.inf
    for _ in range(REPEATS):
        t = time.perf_counter()
        loop(arg).block_until_ready()
        best = min(best, time.perf_counter() - t)
    return best / calls


def _minimal(x: Any, y: Any, obs: Any, likelihood: str) -> tuple[Any, Any]:
    def pot(p: Any) -> Any:
        pred = jnp.log(jnp.exp(p[0]) + jnp.exp(p[1] - p[3] * x) + jnp.exp(p[2] - p[4] * y))
        r = (obs - pred) * jnp.exp(-p[5])
        if likelihood == "gaussian":
            return 0.5 * jnp.sum(r * r) + x.size * p[5]
        return 0.5 * (p[6] + 1) * jnp.sum(jnp.log1p(r * r / p[6])) + x.size * p[5]

    def analytic(p: Any) -> Any:
        e_e, t1, t2 = jnp.exp(p[0]), jnp.exp(p[1] - p[3] * x), jnp.exp(p[2] - p[4] * y)
        s = e_e + t1 + t2
        inv = jnp.exp(-p[5])
        r = (obs - jnp.log(s)) * inv
        if likelihood == "gaussian":
            val = 0.5 * jnp.sum(r * r) + x.size * p[5]
            w, g_ls, g_nu = r * inv, -jnp.sum(r * r) + x.size, None
        else:
            nu = p[6]
            u = r * r / nu
            lp = jnp.log1p(u)
            val = 0.5 * (nu + 1) * jnp.sum(lp) + x.size * p[5]
            w = (nu + 1) * r * inv / (nu * (1 + u))
            g_ls = -(nu + 1) * jnp.sum(u / (1 + u)) + x.size
            g_nu = 0.5 * jnp.sum(lp) - 0.5 * (nu + 1) * jnp.sum(u / (nu * (1 + u)))
        q = -w / s
        qa, qb = q * t1, q * t2
        grads = [jnp.sum(q) * e_e, jnp.sum(qa), jnp.sum(qb), -jnp.sum(qa * x)]
        grads += [-jnp.sum(qb * y), g_ls] + ([] if g_nu is None else [g_nu])
        return val, jnp.stack(grads)

    return jax.value_and_grad(pot), analytic


def measure() -> dict[str, Any]:
    from numpyro.infer.util import potential_energy

    import bayescale
    from bayescale.data.scaling_data import ScalingData
    from bayescale.inference.fit import prepare
    from bayescale.inference.sampler import chain_starts
    from bayescale.inference.settings import FitSettings
    from bayescale.laws import get_law

    base = bayescale.load_dataset("chinchilla")
    rows = []
    with jax.enable_x64(True):
        for likelihood in ("student_t", "gaussian"):
            for rep in REPS:
                data = base
                if rep > 1:
                    tile = {k: np.tile(getattr(base, k), rep) for k in ("N", "D", "loss")}
                    data = ScalingData.from_arrays(**tile)
                prep = prepare(
                    data, get_law("chinchilla"), FitSettings(likelihood=likelihood), None
                )
                z = chain_starts(prep.spec, prep.args, prep.kwargs, prep.start, 1, 0)
                z = {k: v[0] for k, v in z.items()}

                def model(z: Any, prep: Any = prep) -> Any:
                    return potential_energy(prep.spec, prep.args, prep.kwargs, z)

                x = jnp.asarray(data.log_N - data.log_N.mean())
                y = jnp.asarray(data.log_D - data.log_D.mean())
                obs = jnp.asarray(data.log_loss)
                auto, analytic = _minimal(x, y, obs, likelihood)
                p = jnp.array([0.5, 0.1, 0.2, 0.3, 0.3, -5.0] + [3.0] * (likelihood != "gaussian"))
                v_auto, g_auto = auto(p)
                v_hand, g_hand = analytic(p)
                assert np.allclose(v_auto, v_hand) and np.allclose(g_auto, g_hand, rtol=1e-9)
                calls = CALLS // rep

                row = {
                    "likelihood": likelihood,
                    "runs": len(data),
                    "model": _per_call(jax.value_and_grad(model), z, calls),
                    "minimal": _per_call(auto, p, calls),
                    "analytic": _per_call(analytic, p, calls),
                }
                rows.append(row)
                print(row, flush=True)
    bayescale.fit(base, progress_bar=False)  # compiles
    fit = bayescale.fit(base, progress_bar=False, seed=1, extrapolation_check=False)
    sampler = {
        "wall": fit.timing["wall_s"],
        "gradients": fit.timing["gradients"],
        "cores": min(jax.local_device_count(), os.cpu_count() or 1),
    }
    return {"rows": rows, "sampler": sampler, "load": os.getloadavg()}


def report(res: dict[str, Any]) -> str:
    us = 1e6
    lines = [
        START,
        "## The default fit's gradient against its arithmetic floor",
        "",
        f"`benchmarks/gradient_floor.py` ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())};"
        f" {platform.node()}, {os.cpu_count()} cores; load "
        f"{' '.join(f'{v:.2f}' for v in res['load'])} at the end; one thread, best of {REPEATS} "
        "loops). Per `value_and_grad` call and, in brackets, per run; see the script's "
        "docstring for the three columns.",
        "",
        "| likelihood | runs | model (the fit's potential) | minimal (autodiff) | "
        "analytic | model ÷ minimal |",
        "|---|---|---|---|---|---|",
    ]
    for r in res["rows"]:
        cells = [
            f"{r[k] * us:.2f} µs ({r[k] / r['runs'] * 1e9:.1f} ns)"
            for k in ("model", "minimal", "analytic")
        ]
        lines.append(
            f"| {r['likelihood']} | {r['runs']} | {' | '.join(cells)} | "
            f"{r['model'] / r['minimal']:.2f} |"
        )
    s = res["sampler"]
    per = s["wall"] * s["cores"] / s["gradients"]
    st = next(r for r in res["rows"] if r["likelihood"] == "student_t" and r["runs"] == 240)
    ratios = [r["model"] / r["minimal"] for r in res["rows"]]
    lines += [
        "",
        f"The sampler, warm default fit without the check (Student-t, 240 runs): "
        f"{s['gradients'] / 1e3:.0f}k gradients in {s['wall']:.2f} s on {s['cores']} cores, "
        f"{per * us:.2f} µs per gradient per core against {st['model'] * us:.2f} µs for the "
        f"potential alone: NUTS adds {max(per / st['model'] - 1, 0) * 100:.0f}%. With no "
        f"sampler overhead at all these gradients would take "
        f"{s['gradients'] * st['model'] / s['cores']:.2f} s; the potential costs "
        f"{np.median(ratios):.2f}× a hand-written minimal one (median of the rows; "
        f"{min(ratios):.2f}–{max(ratios):.2f}). A warm default "
        "fit of 1 s (issue 14) needs fewer gradients, not a cheaper gradient.",
        END,
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default=str(HERE / "RESULTS.md"))
    args = p.parse_args()
    import bayescale

    bayescale.use_host_devices()  # before JAX starts: the fit's chains as the CLI runs them
    text = report(measure())
    print(text)
    write_section(args.out, text, START, END)


if __name__ == "__main__":
    main()
