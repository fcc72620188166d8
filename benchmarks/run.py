"""bayescale benchmarks: ``make bench`` (full) or ``python benchmarks/run.py --quick``.

Sections (each baseline is measured in the same run, on the same data):

1. kernel   the summed Huber objective, and objective + gradient, over (parameter sets ×
            runs): NumPy (float64 reference, in blocks) vs ``jax.jit`` vs ``jax.jit(vmap)``,
            float32 and float64, throughput in (set·run)/s, and the "floor": one exp and
            one log per element of an array of the same size, summed the same way.
2. classic  ``fit_classic`` (4,500 Hoffmann starts, batched L-BFGS with successive halving)
            vs scipy L-BFGS-B with analytic gradients looping over the same starts
            (a random sample of starts, extrapolated to 4,500).
3. bootstrap 4,000 replicas in one batch vs the scipy loop (sampled, extrapolated).
4. nuts     ``bayescale.fit`` defaults vs a straightforward NumPyro model (raw log A, log B,
            default ``MCMC``): wall, compile, leapfrog steps, ESS/s for alpha and beta;
            NUTS settings over synthetic data sets (divergences); cold vs warm-cache start of
            a fresh process.

Writes a Markdown report (default ``benchmarks/RESULTS.md``) with the machine, date and
versions, and prints it. Timings are medians of repeats after a warm-up call; the machine's
load average is recorded before and after, because other work on the cores slows
everything (ratios measured in the same run stay meaningful).
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402

import bayescale  # noqa: E402

bayescale.use_host_devices()  # chains on CPU host devices, as the CLI runs them

from bayescale import law  # noqa: E402
from bayescale.classic.approach3 import fit_classic, hoffmann_grid  # noqa: E402

BESIROGLU_SE = {"A": 124.52, "B": 1293.28, "E": 0.0257, "alpha": 0.0154, "beta": 0.0206}
DELTA = 1e-3


# ----------------------------------------------------------------------------- helpers
def timeit(
    fn: Callable[[], Any], *, min_total: float = 0.3, min_reps: int = 3, max_reps: int = 20
):
    """(first-call seconds, median seconds of repeats) with ``block_until_ready``."""
    t = time.perf_counter()
    jax.block_until_ready(fn())
    first = time.perf_counter() - t
    times: list[float] = []
    while len(times) < max_reps and (len(times) < min_reps or sum(times) < min_total):
        t = time.perf_counter()
        jax.block_until_ready(fn())
        times.append(time.perf_counter() - t)
    return first, statistics.median(times)


def fmt_s(x: float | None) -> str:
    if x is None or not math.isfinite(x):
        return "–"
    if x >= 100:
        return f"{x:.0f} s"
    if x >= 1:
        return f"{x:.2f} s"
    if x >= 1e-3:
        return f"{x * 1e3:.1f} ms"
    return f"{x * 1e6:.0f} µs"


def fmt_rate(x: float | None) -> str:
    if x is None or not math.isfinite(x):
        return "–"
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if x >= scale:
            return f"{x / scale:.2f} {unit}"
    return f"{x:.1f}"


def table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def machine_info() -> dict[str, Any]:
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = ""
    try:
        with open("/proc/meminfo") as fh:
            kb = int(fh.readline().split()[1])
            mem = f"{kb / 2**20:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    import numpyro
    import scipy

    devices = jax.devices()
    return {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "host": platform.node(),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory": mem,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "jax": jax.__version__,
        "jaxlib": getattr(__import__("jaxlib"), "__version__", "?"),
        "numpyro": numpyro.__version__,
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "bayescale": bayescale.__version__,
        "backend": jax.default_backend(),
        "devices": f"{len(devices)} × {devices[0].device_kind}",
        "load_before": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


# ----------------------------------------------------------------------------- kernel
def numpy_objective(theta, lN, lD, y, delta, *, grad=False, block=2048):
    """Float64 NumPy reference (blocks of sets, so memory stays bounded)."""
    S = theta.shape[0]
    f = np.empty(S)
    g = np.empty((S, 5)) if grad else None
    for lo in range(0, S, block):
        a, b, e, al, be = (theta[lo : lo + block, i, None] for i in range(5))
        E = np.exp(e)
        pn = np.exp(a - al * lN)
        pd = np.exp(b - be * lD)
        tot = E + pn + pd
        r = np.log(tot) - y
        ar = np.abs(r)
        f[lo : lo + block] = np.where(ar <= delta, 0.5 * r * r, delta * (ar - 0.5 * delta)).sum(-1)
        if grad:
            q = np.clip(r, -delta, delta) / tot
            qn, qd = q * pn, q * pd
            g[lo : lo + block] = np.stack(
                [
                    qn.sum(-1),
                    qd.sum(-1),
                    E[:, 0] * q.sum(-1),
                    -(qn * lN).sum(-1),
                    -(qd * lD).sum(-1),
                ],
                -1,
            )
    return (f, g) if grad else f


def kernel_problem(S: int, R: int, dtype: Any, rng: np.random.Generator):
    if R == 240:
        d = bayescale.load_dataset("chinchilla")
        lN, lD, y = d.log_N, d.log_D, d.log_loss
    else:
        lN = rng.uniform(np.log(5e7), np.log(2e10), R)
        lD = rng.uniform(np.log(1e9), np.log(5e11), R)
        y = np.log(1.82 + 478 / np.exp(lN) ** 0.347 + 2143 / np.exp(lD) ** 0.367)
        y = y + rng.normal(0, 0.02, R)
    center = np.array([6.169, 7.670, 0.597, 0.3473, 0.3672])
    theta = center + rng.normal(0, [0.3, 0.3, 0.05, 0.01, 0.01], (S, 5))
    return tuple(np.asarray(x, dtype) for x in (theta, lN, lD, y))


def kernel_case(S: int, R: int, precision: str, rng: np.random.Generator, numpy_max: int):
    """Time every implementation on one (sets × runs) size; a dict of seconds."""
    dt = np.float64 if precision == "float64" else np.float32
    theta, lN, lD, y = kernel_problem(S, R, dt, rng)
    jt, jN, jD, jy = (jnp.asarray(x) for x in (theta, lN, lD, y))

    def one(t5):
        return law.huber_objective(t5, jN, jD, jy, DELTA)

    obj = jax.jit(lambda t: law.huber_objective(t, jN, jD, jy, DELTA))
    objgrad = jax.jit(lambda t: law.huber_objective_and_grad(t, jN, jD, jy, DELTA))
    vobj = jax.jit(jax.vmap(one))
    vgrad = jax.jit(jax.vmap(jax.value_and_grad(one)))
    # the floor: one exp and one log per (set, run) element, generated by broadcasting and
    # summed over runs exactly like the objective
    floor = jax.jit(lambda t: jnp.sum(jnp.log(jnp.exp(t[:, 3:4] * jN) + 1.0), -1))

    res: dict[str, Any] = {"precision": precision, "S": S, "R": R}
    res["floor"] = timeit(lambda: floor(jt))[1]
    res["jit_obj_compile"], res["jit_obj"] = timeit(lambda: obj(jt))
    res["vmap_obj"] = timeit(lambda: vobj(jt))[1]
    res["jit_grad_compile"], res["jit_grad"] = timeit(lambda: objgrad(jt))
    # autodiff through vmap keeps S × R intermediates: skip where they would exceed 2 GB
    res["vmap_grad"] = timeit(lambda: vgrad(jt))[1] if S * R * 8 * 6 <= 2e9 else None
    if precision == "float64":
        # NumPy on a sample of at most numpy_max × 240 elements, scaled to S (marked * when
        # extrapolated), timed like JAX: a warm-up call, then the median of repeats (one cold
        # call, with its page faults, read NumPy slow and overstated the speed-ups)
        Sn = min(S, max(256, numpy_max * 240 // R))
        tn = theta[:Sn]
        t_obj = timeit(lambda: numpy_objective(tn, lN, lD, y, DELTA), min_total=0.0)[1]
        t_grad = timeit(lambda: numpy_objective(tn, lN, lD, y, DELTA, grad=True), min_total=0.0)[1]
        res["numpy_obj"] = t_obj * S / Sn
        res["numpy_grad"] = t_grad * S / Sn
        res["numpy_extrapolated"] = Sn < S
        # correctness in the same run: JAX vs the NumPy reference
        k = min(Sn, 256)
        f_ref = numpy_objective(tn[:k], lN, lD, y, DELTA)
        f_jax = np.asarray(obj(jt))[:k]
        res["max_rel_err"] = float(np.max(np.abs(f_jax - f_ref) / np.abs(f_ref)))
    return res


def bench_kernel(sizes: list[tuple[int, int]], numpy_max: int) -> tuple[str, list[dict]]:
    rng = np.random.default_rng(0)
    rows: list[dict] = []
    for precision in ("float64", "float32"):
        with jax.enable_x64(precision == "float64"):
            for S, R in sizes:
                res = kernel_case(S, R, precision, rng, numpy_max)
                rows.append(res)
                print(
                    f"  kernel {precision} {S}x{R}: jit {fmt_s(res['jit_obj'])}, "
                    f"floor {fmt_s(res['floor'])}",
                    flush=True,
                )

    out = []
    header = [
        "precision",
        "sets × runs",
        "NumPy",
        "jax.jit",
        "jit(vmap)",
        "floor (exp+log)",
        "jit / floor",
        "throughput jit",
        "speed-up vs NumPy",
    ]
    body = []
    for r in rows:
        star = "*" if r.get("numpy_extrapolated") else ""
        np_t = r.get("numpy_obj")
        body.append(
            [
                r["precision"],
                f"{r['S']:.0e} × {r['R']}",
                (fmt_s(np_t) + star) if np_t else "–",
                fmt_s(r["jit_obj"]),
                fmt_s(r["vmap_obj"]),
                fmt_s(r["floor"]),
                f"{r['jit_obj'] / r['floor']:.2f}",
                fmt_rate(r["S"] * r["R"] / r["jit_obj"]) + "/s",
                f"{np_t / r['jit_obj']:.0f}×" if np_t else "–",
            ]
        )
    out.append("**Objective** (summed Huber, δ = 1e-3), per evaluation:\n\n" + table(header, body))
    header = [
        "precision",
        "sets × runs",
        "NumPy",
        "jax.jit (analytic, blocked)",
        "jit(vmap(value_and_grad))",
        "jit / floor",
        "throughput jit",
        "speed-up vs NumPy",
    ]
    body = []
    for r in rows:
        star = "*" if r.get("numpy_extrapolated") else ""
        np_t = r.get("numpy_grad")
        body.append(
            [
                r["precision"],
                f"{r['S']:.0e} × {r['R']}",
                (fmt_s(np_t) + star) if np_t else "–",
                fmt_s(r["jit_grad"]),
                fmt_s(r["vmap_grad"]) if r["vmap_grad"] else "skipped (memory)",
                f"{r['jit_grad'] / r['floor']:.2f}",
                fmt_rate(r["S"] * r["R"] / r["jit_grad"]) + "/s",
                f"{np_t / r['jit_grad']:.0f}×" if np_t else "–",
            ]
        )
    out.append(
        "**Objective + gradient** (5 partial derivatives per set):\n\n" + table(header, body)
    )
    errs = [r["max_rel_err"] for r in rows if "max_rel_err" in r]
    out.append(
        f"NumPy is timed like JAX (warm-up call, then the median of repeats); `*` timed on the "
        f"first {numpy_max * 240:,} (set, run) elements and scaled linearly. Largest relative "
        f"difference between the float64 JAX objective and the NumPy reference: "
        f"{max(errs):.1e}. Compile (first call) of `jax.jit` objective: "
        + ", ".join(f"{fmt_s(r['jit_obj_compile'])}" for r in rows[:2])
        + "."
    )
    return "\n\n".join(out), rows


# ----------------------------------------------------------------------------- classic
def _np_obj_grad(x, lN, lD, y, delta, w, scale):
    f, g = (
        numpy_objective(x[None], lN, lD, y, delta, grad=True)
        if w is None
        else _np_weighted(x, lN, lD, y, delta, w)
    )
    return float(f[0]) * scale, g[0] * scale


def _np_weighted(x, lN, lD, y, delta, w):
    a, b, e, al, be = x
    E = math.exp(e)
    pn = np.exp(a - al * lN)
    pd = np.exp(b - be * lD)
    tot = E + pn + pd
    r = np.log(tot) - y
    ar = np.abs(r)
    f = np.sum(w * np.where(ar <= delta, 0.5 * r * r, delta * (ar - 0.5 * delta)))
    q = w * np.clip(r, -delta, delta) / tot
    qn, qd = q * pn, q * pd
    g = np.array([qn.sum(), qd.sum(), E * q.sum(), -(qn * lN).sum(), -(qd * lD).sum()])
    return np.array([f]), g[None]


def scipy_loop(starts, lN, lD, y, *, scale=1.0, weights=None):
    """scipy L-BFGS-B with analytic gradients over ``starts``; (seconds, results)."""
    from scipy.optimize import minimize

    out = []
    t = time.perf_counter()
    # far-off starts and trial steps overflow exp: inf objectives, which L-BFGS-B rejects
    with np.errstate(over="ignore", invalid="ignore"):
        for i, x0 in enumerate(starts):
            w = None if weights is None else weights[i]
            res = minimize(
                _np_obj_grad, x0, args=(lN, lD, y, DELTA, w, scale), jac=True, method="L-BFGS-B"
            )
            out.append((res.fun / scale, res.x, res.nit))
    return time.perf_counter() - t, out


def bench_classic(n_scipy: int, naive: bool) -> tuple[str, dict]:
    data = bayescale.load_dataset("chinchilla")
    lN, lD, y = data.log_N, data.log_D, data.log_loss
    t = time.perf_counter()
    fit = fit_classic(data)
    first = time.perf_counter() - t
    warm = []
    for _ in range(3):
        t = time.perf_counter()
        fit = fit_classic(data)
        warm.append(time.perf_counter() - t)
    warm_t = statistics.median(warm)
    grid = hoffmann_grid()
    sample = grid[np.random.default_rng(1).choice(len(grid), n_scipy, replace=False)]
    t_plain, res_plain = scipy_loop(sample, lN, lD, y)
    t_scaled, res_scaled = scipy_loop(sample, lN, lD, y, scale=1 / DELTA)
    per_plain, per_scaled = t_plain / n_scipy, t_scaled / n_scipy
    est_plain, est_scaled = per_plain * len(grid), per_scaled * len(grid)
    best_scipy = min(r[0] for r in res_plain + res_scaled)
    r: dict[str, Any] = {
        "first": first,
        "warm": warm_t,
        "scipy_per_start": per_plain,
        "scipy_per_start_scaled": per_scaled,
        "scipy_est": est_plain,
        "scipy_est_scaled": est_scaled,
        "scipy_median_iter": float(np.median([x[2] for x in res_plain])),
        "objective": fit.objective,
        "best_scipy_sample": best_scipy,
        "params": fit.params._asdict(),
        "n_reached": fit.n_reached,
        "n_finished": fit.n_finished,
    }
    rows = [
        ["bayescale `fit_classic` (halving), warm", fmt_s(warm_t), "1×"],
        [
            "bayescale `fit_classic`, first call (incl. compile)",
            fmt_s(first),
            f"{first / warm_t:.1f}×",
        ],
    ]
    if naive:
        t = time.perf_counter()
        fit_classic(data, halving_keep=1.0)
        t = time.perf_counter()
        naive_fit = fit_classic(data, halving_keep=1.0)
        r["naive"] = time.perf_counter() - t
        r["naive_reached"] = naive_fit.n_reached
        rows.append(
            [
                "same batch without halving (every start to convergence), warm",
                fmt_s(r["naive"]),
                f"{r['naive'] / warm_t:.0f}×",
            ]
        )
    rows += [
        [
            f"scipy L-BFGS-B loop, analytic gradient (est. from {n_scipy} starts)",
            fmt_s(est_plain),
            f"{est_plain / warm_t:.0f}×",
        ],
        [
            "scipy L-BFGS-B loop on objective / δ (est.)",
            fmt_s(est_scaled),
            f"{est_scaled / warm_t:.0f}×",
        ],
    ]
    p = fit.params
    text = table(["4,500 Hoffmann starts on the 240 Chinchilla runs", "wall", "relative"], rows)
    text += (
        f"\n\nscipy: {fmt_s(per_plain)} per start (median {r['scipy_median_iter']:.0f} "
        f"iterations), {fmt_s(per_scaled)} per start on the scaled objective. "
        f"bayescale's optimum: A {p.A:.1f}, B {p.B:.1f}, E {p.E:.4f}, α {p.alpha:.4f}, "
        f"β {p.beta:.4f}, objective {fit.objective:.7f} ({fit.n_reached} of {fit.n_finished} "
        f"surviving starts reach it); best objective in the scipy sample {best_scipy:.7f}."
    )
    if naive:
        text += f" Without halving {r['naive_reached']} of 4,500 starts reach the optimum."
    return text, r


def bench_bootstrap(n_boot: int, n_scipy: int) -> tuple[str, dict]:
    data = bayescale.load_dataset("chinchilla")
    lN, lD, y = data.log_N, data.log_D, data.log_loss
    fit = fit_classic(data, n_boot=n_boot, seed=0)
    first = fit.timing["bootstrap_s"]
    fit = fit_classic(data, n_boot=n_boot, seed=1)
    warm = fit.timing["bootstrap_s"]
    rng = np.random.default_rng(2)
    counts = rng.multinomial(len(data), np.full(len(data), 1 / len(data)), size=n_scipy)
    starts = np.broadcast_to(fit.theta, (n_scipy, 5))
    t_loop, _ = scipy_loop(starts, lN, lD, y, scale=1 / DELTA, weights=counts.astype(float))
    est = t_loop / n_scipy * n_boot
    se = fit.se()
    rows = [
        [f"bayescale, {n_boot:,} replicas in one batch, warm", fmt_s(warm), "1×"],
        ["bayescale, first call (incl. compile)", fmt_s(first), f"{first / warm:.1f}×"],
        [
            f"scipy L-BFGS-B loop, warm-started, objective / δ (est. from {n_scipy})",
            fmt_s(est),
            f"{est / warm:.0f}×",
        ],
    ]
    text = table(["bootstrap of the classic fit", "wall", "relative"], rows)
    s95 = fit.summary(ci=0.95)
    rows = []
    for k, ref in BESIROGLU_SE.items():
        rows.append(
            [
                k,
                f"{s95.loc[k, 'estimate']:.4g}",
                f"{se[k]:.4g}",
                f"{ref:.4g}",
                f"{se[k] / ref:.2f}",
                f"[{s95.loc[k, 'lo']:.4g}, {s95.loc[k, 'hi']:.4g}]",
            ]
        )
    rows.append(
        [
            "a = β/(α+β)",
            f"{s95.loc['a', 'estimate']:.4f}",
            f"{se['a']:.4f}",
            "0.020",
            f"{se['a'] / 0.020:.2f}",
            f"[{s95.loc['a', 'lo']:.4f}, {s95.loc['a', 'hi']:.4f}]",
        ]
    )
    text += "\n\n" + table(
        [
            "parameter",
            "estimate",
            f"bootstrap SE ({n_boot:,})",
            "Besiroglu et al. SE",
            "ratio",
            "95% percentile interval",
        ],
        rows,
    )
    text += (
        f"\n\n{int(fit.boot_converged.sum()):,} of {n_boot:,} replicas converged "
        f"(median {np.median(fit.boot_n_iter):.0f} iterations)."
    )
    return text, {
        "first": first,
        "warm": warm,
        "scipy_est": est,
        "se": {k: float(v) for k, v in se.items()},
    }


# ----------------------------------------------------------------------------- NUTS
def ess_ab(samples: dict[str, np.ndarray]) -> tuple[float, float]:
    from numpyro.diagnostics import effective_sample_size

    return tuple(float(effective_sample_size(np.asarray(samples[k]))) for k in ("alpha", "beta"))


def run_baseline(data, warmup: int, draws: int, chains: int, fresh: bool) -> dict:
    """The NumPyro baseline in this process (bayescale's host devices: parallel chains) or
    in a fresh one that never imported bayescale (one device: sequential chains)."""
    if not fresh:
        from numpyro_baseline import run

        return run(data.log_N, data.log_D, data.log_loss, warmup, draws, chains)
    env = {k: v for k, v in os.environ.items() if k not in ("XLA_FLAGS", "JAX_ENABLE_X64")}
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "data.npz")
        np.savez(path, log_N=data.log_N, log_D=data.log_D, log_loss=data.log_loss)
        out = subprocess.run(
            [sys.executable, os.path.join(HERE, "numpyro_baseline.py"), path]
            + [str(x) for x in (warmup, draws, chains)],
            capture_output=True,
            text=True,
            check=True,
            env=env,
        )
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_bayescale(data, seed: int = 0, **kw) -> dict:
    from bayescale.inference.sampler import trace_counts

    traced = sum(trace_counts.values())
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bayescale.SamplingWarning)
        r = bayescale.fit(data, seed=seed, **kw)
    wall = time.perf_counter() - t
    ea, eb = ess_ab(r.samples)
    return {
        "wall": wall,
        "ess_alpha": ea,
        "ess_beta": eb,
        "steps": r.diagnostics.mean_steps,
        "divergences": r.diagnostics.divergences,
        "ok": r.ok,
        # False: this fit reused a sampler an earlier one compiled (cold − warm is noise)
        "compiled": sum(trace_counts.values()) > traced,
    }


def bench_nuts(
    warmup: int,
    draws: int,
    chains: int,
    n_sweep: int,
    likelihoods: tuple[str, ...],
    quick: bool = False,
) -> tuple[str, dict]:
    data = bayescale.load_dataset("chinchilla")
    out: dict[str, Any] = {}
    rows = []
    # the default fit (Student-t, drift, the extrapolation check with its refit), then the
    # sampler alone per likelihood (check off)
    cases = [("default", "`fit()` — the default, extrapolation check included", {})]
    cases += [
        (lik, f"`fit(likelihood='{lik}', extrapolation_check=False)`", {"likelihood": lik})
        for lik in likelihoods
    ]
    for key, label, kw in cases:
        if key != "default":
            kw = {**kw, "extrapolation_check": False}
        cold = run_bayescale(data, seed=0, warmup=warmup, draws=draws, chains=chains, **kw)
        warm = run_bayescale(data, seed=1, warmup=warmup, draws=draws, chains=chains, **kw)
        out[f"bayescale_{key}"] = {"cold": cold, "warm": warm}
        ess = min(warm["ess_alpha"], warm["ess_beta"])
        rows.append(
            [
                f"bayescale {label}",
                fmt_s(warm["wall"]),
                fmt_s(cold["wall"] - warm["wall"])
                if cold["compiled"]
                else "– (sampler compiled by a row above)",
                f"{warm['steps']:.0f}",
                f"{warm['ess_alpha']:.0f} / {warm['ess_beta']:.0f}",
                f"{ess / warm['wall']:.0f}",
                warm["divergences"],
            ]
        )
    baselines = [("fresh process, default devices", True)]
    if not quick:
        baselines.append(("in this process, 4 host devices", False))
    for label, fresh in baselines:
        base = run_baseline(data, warmup, draws, chains, fresh)
        out[f"baseline_{'fresh' if fresh else 'inprocess'}"] = base
        ess_b = min(base["ess_alpha"], base["ess_beta"])
        rows.append(
            [
                f"NumPyro baseline (raw log A, log B; `MCMC(NUTS(model))`), {label}",
                fmt_s(base["wall"]),
                "(in wall: recompiles per run)",
                f"{base['steps']:.0f}",
                f"{base['ess_alpha']:.0f} / {base['ess_beta']:.0f}",
                f"{ess_b / base['wall']:.1f}",
                base["divergences"],
            ]
        )
    base = out["baseline_fresh"]
    ess_b = min(base["ess_alpha"], base["ess_beta"])
    g = out["bayescale_gaussian"]["warm"]
    ratio = min(g["ess_alpha"], g["ess_beta"]) / g["wall"] / (ess_b / base["wall"])
    out["ess_per_s_ratio"] = ratio
    d = out["bayescale_default"]["warm"]
    ratio_d = min(d["ess_alpha"], d["ess_beta"]) / d["wall"] / (ess_b / base["wall"])
    out["ess_per_s_ratio_default"] = ratio_d
    text = table(
        [
            f"Chinchilla, {chains} chains × ({warmup} + {draws})",
            "wall (warm)",
            "compile (cold − warm)",
            "leapfrog steps / draw",
            "ESS α / β",
            "ESS/s (min of α, β)",
            "divergences",
        ],
        rows,
    )
    text += (
        "\n\nESS/s against the fresh-process baseline (a Gaussian model): the Gaussian fit "
        f"**{ratio:.0f}×** (like for like); the default fit **{ratio_d:.1f}×** (a Student-t "
        "model, whose wall also holds the extrapolation check's refit, against the "
        "Gaussian baseline). ESS by `numpyro.diagnostics.effective_sample_size` for all. "
        "All in float64; the baseline's wall includes its compile, because `MCMC.run` "
        "recompiles on every call."
    )
    if n_sweep:
        text += "\n\n" + bench_nuts_settings(n_sweep, draws, chains)
    return text, out


def bench_nuts_settings(n_sets: int, draws: int, chains: int) -> str:
    """Defaults vs alternatives over synthetic data sets: divergences decide what ships."""
    from bayescale.checks.simulate import HOFFMANN_PARAMS, chinchilla_design, simulate_runs

    # noise 0.005 / 0.01 / 0.02 on log loss, all ~153 runs of the isoFLOP design or every
    # other one: the wider posteriors (0.02, fewer runs) are where dense metrics diverged
    N, D = chinchilla_design()
    sets = [
        simulate_runs(
            HOFFMANN_PARAMS,
            sigma=(0.005, 0.01, 0.02)[i % 3],
            seed=500 + i,
            design=None if i % 2 == 0 else (N[::2], D[::2]),
        )
        for i in range(n_sets)
    ]
    variants = [
        ("default (Student-t, heuristic init, dense mass, retries, warmup 1000)", {}),
        ("warmup 500", {"warmup": 500}),
        (
            "diagonal mass, no retries (the default before 2026-12-07)",
            {"dense_mass": False, "escalate": False},
        ),
        ("dense mass, no retries", {"escalate": False}),
        ("dense mass, huber likelihood", {"likelihood": "huber"}),
        ("diagonal mass, huber likelihood", {"dense_mass": False, "likelihood": "huber"}),
        ("dense mass, target_accept 0.95", {"target_accept": 0.95}),
    ]
    rows = []
    for name, kw in variants:
        # the sampler's settings alone: the extrapolation check (a second fit) is off
        kw = {"warmup": 1000, "draws": draws, "chains": chains, "extrapolation_check": False, **kw}
        run_bayescale(sets[0], seed=99, **kw)  # compile
        res = [run_bayescale(d, seed=1, **kw) for d in sets]
        walls = [r["wall"] for r in res]
        ess_s = [min(r["ess_alpha"], r["ess_beta"]) / r["wall"] for r in res]
        rows.append(
            [
                name,
                f"{sum(r['divergences'] > 0 for r in res)} / {n_sets}",
                sum(r["divergences"] for r in res),
                f"{statistics.median(walls):.2f} s",
                f"{statistics.median([r['steps'] for r in res]):.0f}",
                f"{statistics.median(ess_s):.0f}",
                f"{sum(not r['ok'] for r in res)}",
            ]
        )
        print(f"  nuts variant {name}: {rows[-1]}", flush=True)
    return table(
        [
            f"{n_sets} synthetic data sets (Gaussian noise 0.005-0.02)",
            "fits with divergences",
            "divergences",
            "median wall",
            "median steps",
            "median ESS/s",
            "failed diagnostics",
        ],
        rows,
    )


COLD_SCRIPT = textwrap.dedent(
    """
    import json, sys, time
    t0 = time.perf_counter()
    import bayescale
    from bayescale.inference.programs import enable_compilation_cache
    bayescale.use_host_devices()  # as the CLI does
    if sys.argv[1] != "-":
        enable_compilation_cache(sys.argv[1])
    t1 = time.perf_counter()
    data = bayescale.load_dataset("chinchilla")
    import warnings
    warnings.simplefilter("ignore")
    w, d, c = (int(x) for x in sys.argv[2:5])
    r = bayescale.fit(data, warmup=w, draws=d, chains=c)
    t2 = time.perf_counter()
    print(json.dumps({"import": t1 - t0, "fit": t2 - t1, "total": t2 - t0}))
    """
)


def bench_cache(warmup: int, draws: int, chains: int, no_cache: bool = True) -> tuple[str, dict]:
    def fresh(cache: str) -> dict:
        t = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-c", COLD_SCRIPT, cache, str(warmup), str(draws), str(chains)],
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
        )
        res = json.loads(out.stdout.strip().splitlines()[-1])
        res["process"] = time.perf_counter() - t
        return res

    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        if no_cache:
            runs.append(("no cache", fresh("-")))
        runs.append(("empty cache (compile + write)", fresh(tmp)))
        runs.append(("warm cache", fresh(tmp)))  # reads everything back
    rows = [[name, fmt_s(r["import"]), fmt_s(r["fit"]), fmt_s(r["process"])] for name, r in runs]
    text = table(
        [
            f"fresh process: import + `fit` ({chains} × ({warmup} + {draws}))",
            "import",
            "fit",
            "process wall",
        ],
        rows,
    )
    return text, dict(runs)


# ----------------------------------------------------------------------------- main
def _kept_sections(path: str) -> str:
    """Sections other tools own (``make calibrate``'s, ``versions.py``'s,
    ``cli_startup.py``'s, ``nutpie_compare.py``'s, ``student_t_steps.py``'s,
    ``gradient_floor.py``'s, ``chain_threads.py``'s), carried over."""
    try:
        with open(path, encoding="utf-8") as fh:
            old = fh.read()
    except OSError:
        return ""
    kept = ""
    for name in (
        "calibration",
        "versions",
        "cli-startup",
        "nutpie",
        "studentt",
        "gradient-floor",
        "threads",
    ):
        start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
        if start in old and end in old:
            kept += "\n" + old[old.index(start) : old.index(end) + len(end)] + "\n"
    return kept


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="tiny sizes: check that it all runs")
    p.add_argument("--out", default=os.path.join(HERE, "RESULTS.md"), help="Markdown report")
    p.add_argument("--json", default=None, help="also write raw numbers as JSON")
    p.add_argument(
        "--only", default="kernel,classic,bootstrap,nuts,cache", help="comma-separated sections"
    )
    p.add_argument("--label", default="", help="a note for the report's heading (e.g. GPU)")
    args = p.parse_args(argv)
    sections = set(args.only.split(","))
    q = args.quick
    info = machine_info()
    print(
        f"bayescale benchmarks ({'quick' if q else 'full'}), load {info['load_before']}",
        flush=True,
    )
    parts: list[tuple[str, str]] = []
    raw: dict[str, Any] = {"machine": info, "quick": q}
    if "kernel" in sections:
        sizes = (
            [(1000, 240), (100, 1000)]
            if q
            else [(1000, 240), (10_000, 240), (100_000, 240), (1_000_000, 240), (10_000, 10_000)]
        )
        text, raw["kernel"] = bench_kernel(sizes, numpy_max=200 if q else 20_000)
        parts.append(("Kernel", text))
    if "classic" in sections:
        text, raw["classic"] = bench_classic(n_scipy=3 if q else 150, naive=not q)
        parts.append(("Classic fit (Hoffmann Approach 3)", text))
    if "bootstrap" in sections:
        text, raw["bootstrap"] = bench_bootstrap(n_boot=40 if q else 4000, n_scipy=4 if q else 100)
        parts.append(("Bootstrap", text))
    nuts_cfg = (50, 50, 2) if q else (1000, 1000, 4)
    if "nuts" in sections:
        text, raw["nuts"] = bench_nuts(
            *nuts_cfg,
            n_sweep=0 if q else 12,
            likelihoods=("gaussian",) if q else ("student_t", "gaussian", "huber"),
            quick=q,
        )
        parts.append(("NUTS", text))
    if "cache" in sections:
        text, raw["cache"] = bench_cache(*nuts_cfg, no_cache=not q)
        parts.append(("Compilation cache", text))
    info["load_after"] = " ".join(f"{x:.2f}" for x in os.getloadavg())

    head = f"# bayescale benchmarks{' — ' + args.label if args.label else ''}"
    mach = ", ".join(f"{k} {v}" for k, v in info.items() if k not in ("date",))
    report = [
        head,
        "",
        f"Generated by `{'python benchmarks/run.py --quick' if q else 'make bench'}`"
        f" on {info['date']}.",
        "",
        f"Machine: {mach}.",
        "",
        "Load averages are the machine's before and after: other processes on the cores "
        "slow every timing; ratios within one run remain comparable.",
    ]
    for title, text in parts:
        report += ["", f"## {title}", "", text]
    md = "\n".join(report) + "\n"
    md += _kept_sections(args.out)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as fh:
        fh.write(md)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(raw, fh, indent=2, default=float)
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
