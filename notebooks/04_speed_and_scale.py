# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 04 — Speed and scale
#
# A fit that takes seconds can be rerun whenever a new run finishes, refitted on thousands
# of resampled or simulated data sets, and compared across methods. This notebook shows
# where bayescale's speed comes from and how to use it:
#
# 1. the vectorised loss kernel, timed against plain NumPy;
# 2. the classic fit (Hoffmann et al.'s Approach 3) with its bootstrap, beside the Bayesian
#    fit: time, intervals and the compute-optimal model size;
# 3. many data sets in one call (`bayescale.fit_many`);
# 4. running on GPUs, TPUs or several devices, compiled-code caching and reproducibility.
#
# Every time below is measured in this run, on whatever machine executes the notebook (the
# next cell prints it). The committed copy ran on a small CPU-only machine; no GPU has been
# used for anything in this notebook.

# %%
import os
import platform
import subprocess
import sys
import tempfile
import time
import warnings

warnings.filterwarnings("ignore", message="IProgress not found")  # no progress widgets here

import jax
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

import bayescale
from bayescale import law
from bayescale.simulate import simulate_runs

# NUTS chains side by side on the CPU's host devices (first, before any JAX computation)
bayescale.use_host_devices()
pd.set_option("display.precision", 4)
pd.set_option("display.width", 120)

# BAYESCALE_FAST=1 (the test suite) shrinks the sampler; the committed notebook is a full run.
FAST = os.environ.get("BAYESCALE_FAST") == "1"
STEPS = 300 if FAST else 1000  # warmup and kept draws per chain
SAMPLER = dict(chains=4, warmup=STEPS, draws=STEPS, progress_bar=False, seed=0)
N_BOOT = 400 if FAST else 4000  # bootstrap replicas
N_SETS = 2 if FAST else 8  # simulated data sets in section 3

# Keep every program compiled from here on in a throw-away on-disk cache (section 4 explains).
cache_dir = tempfile.TemporaryDirectory(prefix="bayescale-04-")  # removed when the kernel exits
bayescale.enable_compilation_cache(cache_dir.name)

print(f"{platform.platform()}, {os.cpu_count()} CPU cores, Python {platform.python_version()}")
print(f"jax {jax.__version__}, backend {jax.default_backend()}, devices: {jax.devices()}")
print("load average (1, 5, 15 min):", os.getloadavg())
SAMPLER


# %%
def best_of(f, repeats=5):
    """Seconds of the fastest of `repeats` calls of f, after one untimed warm-up call."""
    jax.block_until_ready(f())
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(f())  # JAX returns before it has finished: wait for the result
        times.append(time.perf_counter() - start)
    return min(times)


def timed(f):
    """Result of f() and its wall time in seconds (one call)."""
    start = time.perf_counter()
    out = f()
    return out, time.perf_counter() - start


def fmt_s(seconds):
    return f"{seconds * 1e3:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


# %% [markdown]
# ## 1. The loss kernel: every parameter set × every run in one call
#
# Everything in bayescale that evaluates a law — the NUTS model, the L-BFGS of the classic
# fit, the bootstrap, predictions, allocations — calls the law's one kernel: for the
# Chinchilla law `bayescale.laws.CHINCHILLA`, built on `bayescale.law.log_loss_elementwise`.
# `Law.predict_log_loss` takes parameters with any leading *batch* shape S (posterior draws,
# optimiser starts, bootstrap replicas, or all of them) and per-run data of shape (R,), and
# returns S + (R,): NumPy-style broadcasting, so one call covers a whole batch.
#
# Here are 10,000 random parameter sets evaluated on the 240 Chinchilla runs.

# %%
data = bayescale.load_dataset("chinchilla")
rng = np.random.default_rng(0)
S = 10_000
params = bayescale.ChinchillaParams(
    E=rng.uniform(1.6, 2.0, S),
    A=np.exp(rng.uniform(np.log(200), np.log(1000), S)),
    B=np.exp(rng.uniform(np.log(500), np.log(5000), S)),
    alpha=rng.uniform(0.25, 0.45, S),
    beta=rng.uniform(0.25, 0.45, S),
)
chinchilla = bayescale.get_law("chinchilla")
x_runs = {"log_N": data.log_N, "log_D": data.log_D}
with jax.enable_x64(True):  # float64, as the fits use
    pred = chinchilla.predict_log_loss(params._asdict(), x_runs)
    # any leading shape works, e.g. (chains, draws) of a posterior
    as_chains = {k: np.reshape(x, (4, 2500)) for k, x in params._asdict().items()}
    pred_chains = chinchilla.predict_log_loss(as_chains, x_runs)
print("log-loss predictions:", pred.shape, "| with a (4, 2500) batch:", pred_chains.shape)

# %% [markdown]
# The classic fit minimises Hoffmann et al.'s objective, the summed Huber loss (δ = 1e-3)
# of log-loss residuals, over θ = (log A, log B, log E, α, β). `law.huber_objective`
# evaluates it for every parameter set at once: shape S. Below, the same objective is timed
# three ways: written in plain NumPy in this notebook, `law.huber_objective` run by JAX
# operation by operation ("eager"), and the same function compiled with `jax.jit`. Each time
# is the best of five calls after a warm-up call (which, for `jit`, compiles).

# %%
theta = np.column_stack(
    [np.log(params.A), np.log(params.B), np.log(params.E), params.alpha, params.beta]
)
runs = (data.log_N, data.log_D, data.log_loss)


def numpy_objective(theta, log_N, log_D, log_loss, delta=1e-3):
    """Summed Huber loss of log-loss residuals per parameter set, plain NumPy."""
    a, b, e, alpha, beta = (theta[:, i, None] for i in range(5))
    pred = np.log(np.exp(e) + np.exp(a - alpha * log_N) + np.exp(b - beta * log_D))
    r = np.abs(pred - log_loss)
    return np.where(r <= delta, 0.5 * r**2, delta * (r - 0.5 * delta)).sum(axis=-1)


with jax.enable_x64(True):
    objective = jax.jit(law.huber_objective)
    kernel_times = {
        "NumPy": best_of(lambda: numpy_objective(theta, *runs)),
        "JAX, eager": best_of(lambda: law.huber_objective(theta, *runs)),
        "JAX, jit": best_of(lambda: objective(theta, *runs)),
    }
    rel_err = np.max(
        np.abs(np.asarray(objective(theta, *runs)) / numpy_objective(theta, *runs) - 1)
    )

elements = S * len(data)
kernel_table = pd.DataFrame(
    {
        "time": [fmt_s(t) for t in kernel_times.values()],
        "(set, run) pairs per second": [f"{elements / t:.3g}" for t in kernel_times.values()],
        "speed-up vs NumPy": [f"{kernel_times['NumPy'] / t:.1f}×" for t in kernel_times.values()],
    },
    index=list(kernel_times),
)
print(f"{S:,} parameter sets × {len(data)} runs; largest relative difference JAX vs NumPy:")
print(f"{rel_err:.1e}")
kernel_table

# %%
fig, ax = plt.subplots(figsize=(7, 2.6), layout="constrained")
names = list(kernel_times)
ax.barh(names, [t * 1e3 for t in kernel_times.values()], color=["grey", "tab:blue", "tab:green"])
ax.invert_yaxis()
ax.set_xlabel(f"ms per evaluation of {S:,} sets × {len(data)} runs (best of 5)")
ax.set_title("Huber objective, float64, this machine")
for i, t in enumerate(kernel_times.values()):
    ax.text(t * 1e3, i, f" {fmt_s(t)}", va="center")
ax.set_xlim(0, 1.2 * max(kernel_times.values()) * 1e3)
plt.show()

# %% [markdown]
# Why the compiled kernel is fast:
#
# - **Broadcasting over a batch.** The parameters carry a leading axis and the runs a
#   trailing one, so one call evaluates every (set, run) pair: no Python loop over posterior
#   draws, optimiser starts or bootstrap replicas. The same function serves all of them.
# - **Fusion under `jit`.** Run eagerly (and in NumPy) every operation — two exponentials,
#   a sum, a logarithm, a difference, an absolute value, the Huber branch — reads and writes
#   a full 10,000 × 240 array. Compiled, XLA fuses the whole expression and the sum over
#   runs into one loop: each element is computed in registers and added to its set's total,
#   and nothing of size S × R is stored. (The Huber loss is written without a branch,
#   c·(|r| − c/2) with c = min(|r|, δ), so the loop stays vectorised.)
# - **Log space.** The law is evaluated as log L = log(e^e + e^(a − α log N) + e^(b − β log D))
#   with a = log A, b = log B, e = log E: a log-sum-exp of three terms, with parameters
#   on the log scale where the optimiser and sampler work, and residuals that are
#   differences of log losses. For any realistic parameters the three terms are far from
#   float64's overflow and underflow, so the sum is computed directly, without the max-shift
#   of a general log-sum-exp (which `bayescale.law` measured to be slower).

# %% [markdown]
# ## 2. The classic fit and its bootstrap, beside the Bayesian fit
#
# `bayescale.fit_classic` is Hoffmann et al.'s Approach 3: the Huber objective above,
# minimised by L-BFGS from their grid of 4,500 starting points, all 4,500 as one batch
# (successive halving drops the worst starts every few iterations). With `n_boot` it refits
# the same objective on resamples of the runs — all replicas in one batch — for standard
# errors and percentile intervals. `bayescale.fit` samples the posterior of the same law
# with NUTS; `likelihood="huber"` is the Huber likelihood of Besiroglu et al. (2024), the
# closest Bayesian counterpart of the classic objective.
#
# Each is run twice with the same settings: the first call includes compiling, the second
# reuses the compiled program (as a refit of new runs of the same size would).

# %%
classic_first = bayescale.fit_classic(data, n_boot=N_BOOT, seed=0)  # times itself: .timing
classic = bayescale.fit_classic(data, n_boot=N_BOOT, seed=0)
bayes_first, t_bayes_first = timed(lambda: bayescale.fit(data, likelihood="huber", **SAMPLER))
bayes, t_bayes = timed(lambda: bayescale.fit(data, likelihood="huber", **SAMPLER))

draws = SAMPLER["chains"] * SAMPLER["draws"]
pd.DataFrame(
    {
        "what": [
            "4,500 L-BFGS starts",
            f"{N_BOOT:,} bootstrap replicas",
            f"NUTS, {SAMPLER['chains']} chains × ({STEPS} warmup + {STEPS} draws)",
        ],
        "first call (incl. compile)": [
            fmt_s(classic_first.timing["fit_s"]),
            fmt_s(classic_first.timing["bootstrap_s"]),
            fmt_s(t_bayes_first),
        ],
        "second call": [
            fmt_s(classic.timing["fit_s"]),
            fmt_s(classic.timing["bootstrap_s"]),
            fmt_s(t_bayes),
        ],
    },
    index=["fit_classic", "  its bootstrap", "fit (Huber likelihood)"],
)

# %% [markdown]
# Once compiled, each takes seconds or less. The posterior is a valid sample only if the
# sampler diagnostics pass, and the classic fit is trustworthy only if its starts agree:

# %%
d = bayes.diagnostics
print(
    f"diagnostics ok: {bayes.ok}; max R-hat {d.r_hat_max:.4f}, min bulk ESS {d.ess_bulk_min:.0f}"
)
print(f"divergences {d.divergences}; {draws:,} draws in {fmt_s(t_bayes)}")
print(f"classic fit: objective {classic.objective:.7f}, status {classic.status}")
print(
    f"{classic.n_reached} of {classic.n_finished} finished starts reached it; "
    f"{int(classic.boot_converged.sum()):,} of {classic.n_boot:,} replicas converged"
)

# %% [markdown]
# ### Intervals: bootstrap vs posterior
#
# A **95% credible interval** is a statement about the parameter, given the law, the
# likelihood, the priors and these runs: the posterior puts probability 0.95 inside it. A
# **95% bootstrap percentile interval** is a statement about the estimator: refitted on data
# sets resampled from these runs, the estimate falls inside in 95% of replicas — an
# approximation to a confidence interval, which would contain the true value in 95% of
# repeated experiments. The first answers "how sure should I be?", the second "how much
# would my answer move with other runs?"; with plenty of data they tend to agree.

# %%
CI = 0.95
boot = classic.summary(ci=CI)
post = pd.concat([bayes.summary(ci=CI), bayes.exponents(ci=CI)])
rows = {}
for name in ["E", "A", "B", "alpha", "beta", "a"]:
    b, p = boot.loc[name], post.loc[name]
    rows[name] = {
        "classic estimate [95% bootstrap]": f"{b['estimate']:.4g} [{b['lo']:.4g}, {b['hi']:.4g}]",
        "posterior median [95% credible]": f"{p['median']:.4g} [{p['lo']:.4g}, {p['hi']:.4g}]",
        "width ratio posterior / bootstrap": (p["hi"] - p["lo"]) / (b["hi"] - b["lo"]),
    }
pd.DataFrame.from_dict(rows, orient="index")

# %% [markdown]
# The point estimates agree; in this run the posterior intervals are the narrower ones (the
# ratio column). The likelihood treats the runs as independent draws around the law with the
# fitted noise; the bootstrap also feels whatever that assumption misses, such as runs that
# sit off the law in a correlated way. The README's backtest shows the Chinchilla law's
# extrapolation errors are larger than its fitted noise, which is why bayescale's intervals
# beyond the data include a drift term (`drift=`, calibrated on public sweeps); the
# bootstrap has no such term.
#
# ### The compute-optimal model size
#
# The same comparison for the compute-optimal N at Chinchilla's budget (5.76e23 FLOPs) and
# beyond: bootstrap percentiles of each replica's optimum, and the posterior of each draw's.

# %%
budgets = [5.76e23, 1e25, 1e27]
alloc_c = classic.allocation(budgets, ci=CI)
alloc_b = bayes.allocation(budgets, ci=CI)
rows = []
for i, C in enumerate(budgets):
    for label, tab in [("classic", alloc_c), ("posterior", alloc_b)]:
        r = tab.iloc[i]
        rows.append(
            {
                "budget (FLOPs)": f"{C:.3g}",
                "× largest run": f"{C / data.C.max():.3g}",
                "method": label,
                "N_opt [95%]": f"{r['N_opt']:.3g} [{r['N_opt_lo']:.3g}, {r['N_opt_hi']:.3g}]",
                "hi / lo": r["N_opt_hi"] / r["N_opt_lo"],
            }
        )
pd.DataFrame(rows).set_index(["budget (FLOPs)", "× largest run", "method"])

# %% [markdown]
# The intervals widen with the budget under both methods. Under this law
# N_opt(C) = G·(C/6)^a with a = β/(α+β), so log N_opt(C) = log N_opt(C₀) + a·log(C/C₀): an
# error in a is multiplied by the distance in log compute from the runs. The optimum near
# the runs' own compute C₀ is well determined; at 1e27 FLOPs, tens of thousands of times the
# largest run's compute, the spread of a accounts for most of the bootstrap's width. The
# posterior adds the law's drift beyond the data, which dominates that far out (notebook 01
# separates the parts). Everything that narrows a — runs over a wider range of compute —
# narrows the law's part of the extrapolation; more runs at the same scale barely do.
#
# All intervals side by side, each scaled by the classic point estimate:


# %%
def interval_panel(ax, title, intervals, ref):
    """Draw (lo, point, hi) per method as bars, scaled by ref."""
    for y, (lo, mid, hi) in enumerate(intervals):
        color = ["grey", "tab:blue"][y]
        ax.plot([lo / ref, hi / ref], [y, y], color=color, lw=4, solid_capstyle="butt")
        ax.plot(mid / ref, y, "o", color="white", mec=color)
    ax.set_title(title)
    ax.set_yticks([0, 1], ["bootstrap", "posterior"] if title == "E" else ["", ""])
    ax.set_ylim(-0.7, 1.7)


fig, axes = plt.subplots(1, 7, figsize=(13, 2.6), layout="constrained")
for ax, name in zip(axes, ["E", "A", "B", "alpha", "beta", "a"], strict=False):
    bt, po = boot.loc[name], post.loc[name]
    intervals = [(bt["lo"], bt["estimate"], bt["hi"]), (po["lo"], po["median"], po["hi"])]
    interval_panel(ax, name, intervals, bt["estimate"])
rc, rb = alloc_c.iloc[0], alloc_b.iloc[0]
intervals = [
    (rc["N_opt_lo"], rc["N_opt"], rc["N_opt_hi"]),
    (rb["N_opt_lo"], rb["N_opt"], rb["N_opt_hi"]),
]
interval_panel(axes[-1], "N_opt at 5.76e23", intervals, rc["N_opt"])
fig.supxlabel("value / classic estimate (95% intervals; dot: estimate or posterior median)")
plt.show()

# %% [markdown]
# ## 3. Many data sets at once
#
# `bayescale.fit_many` fits several independent data sets in one call: a list, a dict, or one
# `ScalingData` with a group column. Data sets of different sizes are padded (padded runs get
# weight 0), so one compiled program serves them all. `method="classic"` stacks every data
# set's 4,500 starts into one L-BFGS batch; `method="nuts"` runs all data sets' chains in one
# compiled sampler, spread over the devices, each data set with its own adaptation and
# diagnostics.
#
# As data sets we simulate runs at the Chinchilla design (the same 240 (N, D) pairs) from the
# classic fit above, with Gaussian noise of the posterior's scale: what another sweep like
# Hoffmann et al.'s might have given, if the law held exactly.

# %%
truth = classic.params
sigma = float(np.median(bayes.draws("sigma")))
sets = [simulate_runs(truth, sigma=sigma, design=(data.N, data.D), seed=s) for s in range(N_SETS)]
print(f"{N_SETS} data sets of {len(sets[0])} runs, noise sd {sigma:.4f} in log loss")

many_classic, t_many_classic_first = timed(lambda: bayescale.fit_many(sets, method="classic"))
many_classic, t_many_classic = timed(lambda: bayescale.fit_many(sets, method="classic"))
loop_classic, t_loop_classic = timed(lambda: [bayescale.fit_classic(d) for d in sets])

NUTS = dict(likelihood="huber", **SAMPLER)
with warnings.catch_warnings():
    warnings.simplefilter("ignore", bayescale.SamplingWarning)  # reported in a table below
    many_nuts, t_many_nuts_first = timed(lambda: bayescale.fit_many(sets, method="nuts", **NUTS))
    many_nuts, t_many_nuts = timed(lambda: bayescale.fit_many(sets, method="nuts", **NUTS))
    loop_nuts, t_loop_nuts = timed(lambda: [bayescale.fit(d, **NUTS) for d in sets])

many_times = pd.DataFrame(
    {
        "fit_many, first call (incl. compile)": [
            fmt_s(t_many_classic_first),
            fmt_s(t_many_nuts_first),
        ],
        "fit_many, second call": [fmt_s(t_many_classic), fmt_s(t_many_nuts)],
        "loop of single fits (compiled)": [fmt_s(t_loop_classic), fmt_s(t_loop_nuts)],
        "loop / fit_many": [
            f"{t_loop_classic / t_many_classic:.2f}",
            f"{t_loop_nuts / t_many_nuts:.2f}",
        ],
    },
    index=[
        f"classic, {N_SETS} × 4,500 starts",
        f"NUTS (Huber), {N_SETS} × {SAMPLER['chains']} chains",
    ],
)
many_times

# %% [markdown]
# The single fits of the loop reuse the programs compiled in section 2 (same number of runs,
# same settings), so the comparison is between compiled code in both columns. On a CPU the
# batch buys little or nothing: one data set's 4,500 starts, or one chain, already keep the
# cores busy, and a batch runs as long as its slowest member. What `fit_many` saves is
# writing the loop, compiling once for ragged sizes, and — on an accelerator, or with
# several devices — filling the hardware (the chains of all data sets are split over the
# devices). Whether it is faster on a GPU has not been measured here.
#
# Each data set gets its own result. Both methods recover the allocation exponent
# a = β/(α+β) of the law the data came from:

# %%
a_true = truth.beta / (truth.alpha + truth.beta)
rows = []
for i, (c, b) in enumerate(zip(many_classic, many_nuts, strict=True)):
    ex = b.exponents(ci=0.9).loc["a"]
    s = c.summary().loc["a"]
    rows.append(
        {
            "data set": i,
            "classic a": s["estimate"],
            "posterior a, median": ex["median"],
            "90% credible": f"[{ex['lo']:.3f}, {ex['hi']:.3f}]",
            "covers truth": ex["lo"] <= a_true <= ex["hi"],
            "diagnostics ok": b.ok,
        }
    )
print(f"true a = {a_true:.4f}")
pd.DataFrame(rows).set_index("data set")

# %% [markdown]
# ## 4. GPUs, TPUs and several devices
#
# bayescale runs wherever JAX runs. Install JAX for the accelerator (for example
# `pip install -U "jax[cuda12]"` for NVIDIA GPUs, or `"jax[tpu]"`); nothing in bayescale
# changes. What JAX sees:

# %%
print("backend:", jax.default_backend())
print("devices:", jax.devices())
print("XLA_FLAGS:", os.environ.get("XLA_FLAGS", "(not set)"))

# %% [markdown]
# **CPU host devices.** On a CPU, XLA normally shows one device. `bayescale.use_host_devices()`
# (called in this notebook's first cell, and by the command-line tool) sets
# `--xla_force_host_platform_device_count` to the number of cores (at least 4), so NUTS
# chains can run side by side on the host; the `XLA_FLAGS` printed above show it. It must
# come before any JAX computation, and changes the devices every JAX program in the process
# sees, so importing bayescale never does it. `use_host_devices(8)` or
# `BAYESCALE_HOST_DEVICES=8` picks another count; `BAYESCALE_HOST_DEVICES=0` leaves
# `XLA_FLAGS` alone (`benchmarks/gpu.sh` sets it to 0 on accelerators).
#
# **Where chains run: `chain_method`** (a setting of `fit` and `fit_many`):
#
# - `"auto"` (default): split the chains evenly over the visible devices (the largest number
#   of devices that divides the chain count). Within a device, chains run one after another
#   on a CPU — batched NUTS would make every chain wait for the longest trajectory — and as
#   one vectorised batch on a GPU or TPU, where the batch is what keeps the device busy. On
#   a single CPU device (no `use_host_devices()`) the chains are dispatched from one host
#   thread per core instead: XLA releases the GIL while it runs, so they run side by side,
#   as fast as on host devices (1.69 s against 1.75 s warm on Chinchilla's 240 runs, 3.04 s
#   one after another, measured before the anchored coordinates made a warm fit 2.5–4×
#   faster; `benchmarks/RESULTS.md`, "Where the chains run on a CPU") and with the same
#   draws as in sequence.
# - `"threads"`: that, on one device, whatever the device count.
# - `"parallel"`: the same split, with a warning if there is only one device.
# - `"sequential"`: one device, chains one after another.
# - `"vectorized"`: one device, all chains as one batch.
#
# Several GPUs or TPUs are used the same way: chains (with `fit_many`, the chains of all
# data sets) are split over them by one compiled `jit(shard_map)` program. `precision=
# "float32"` is available for accelerators, where float64 is slow; neither its speed nor its
# accuracy on a GPU has been measured for this notebook. `benchmarks/gpu.sh` runs the
# benchmark suite on an accelerator into `benchmarks/RESULTS-gpu.md`; it has not been run
# yet, so there are no GPU numbers to quote.
#
# The chain methods on this machine, with the Huber fit of section 2 (each timed on its
# second call, after compiling):

# %%
chains = SAMPLER["chains"]
# "auto" uses the largest number of devices that divides the chains evenly
n_auto = max(k for k in range(1, min(jax.local_device_count(), chains) + 1) if chains % k == 0)
methods = ["sequential"] if FAST else ["sequential", "vectorized"]
by_method = {"auto": (bayes, t_bayes)}
for method in methods:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bayescale.SamplingWarning)  # printed below instead
        bayescale.fit(data, likelihood="huber", chain_method=method, **SAMPLER)
        by_method[method] = timed(
            lambda m=method: bayescale.fit(data, likelihood="huber", chain_method=m, **SAMPLER)
        )
pd.DataFrame(
    {
        "devices used": [n_auto if m == "auto" else 1 for m in by_method],
        "wall": [fmt_s(t) for _, t in by_method.values()],
        "diagnostics ok": [f.ok for f, _ in by_method.values()],
        "problems": ["; ".join(f.diagnostics.problems) for f, _ in by_method.values()],
    },
    index=list(by_method),
)

# %% [markdown]
# **Reproducibility.** Each chain's random key comes from the seed alone, so the same data,
# settings and seed give identical draws on the same machine with the same number of devices
# — the second Huber fit of section 2 repeated the first bit for bit. With another device
# count the compiled program differs, floating-point sums may round differently, and after a
# few steps the chains follow different paths: the draws are then equal in distribution, not
# identical. Hence a fit on one device and on four:

# %%
one_device = by_method["sequential"][0]
print(
    "same seed, same device count, identical draws:",
    all(np.array_equal(bayes_first.samples[k], bayes.samples[k]) for k in bayes.samples),
)
print(
    f"same seed, 1 device vs {n_auto}, identical draws:",
    all(np.array_equal(one_device.samples[k], bayes.samples[k]) for k in bayes.samples),
)
cols = ["median", "lo", "hi"]
pd.concat(
    {
        f"{n_auto} devices": bayes.summary(ci=0.9)[cols],
        "1 device": one_device.summary(ci=0.9)[cols],
    },
    axis=1,
)

# %% [markdown]
# The medians and 90% intervals agree to within Monte Carlo error (the differences are of
# the order of the posterior sd divided by the square root of the effective sample size).
# The diagnostics belong to each set of chains: a different but equally valid run can pass
# or narrowly miss a threshold such as R-hat ≤ 1.01, which the table of chain methods above
# reports per run.
#
# **Compiled-code cache.** A new Python process compiles its samplers again — seconds per
# model and data shape, often more than the sampling itself. The first cell of this notebook
# turned on JAX's persistent compilation cache with
# `bayescale.enable_compilation_cache(path)` (default path
# `$BAYESCALE_CACHE_DIR`, else `~/.cache/bayescale/jax`), so every program compiled here is
# on disk, and a new process with the same cache, data shapes and device count loads them
# instead of compiling. The `bayescale` command line turns the cache on by itself
# (`--no-cache` turns it off); in Python it is opt-in, because it changes JAX's global
# settings. Here, a fresh process runs the Huber fit of section 2 twice, without and with
# the cache; its second fit shows the time left once nothing needs compiling:

# %%
entries = os.listdir(cache_dir.name)
print(f"{len(entries)} compiled programs in the cache")
script = f"""
import sys, time, warnings
import bayescale
bayescale.use_host_devices()
if sys.argv[1] == "cache":
    bayescale.enable_compilation_cache({cache_dir.name!r})
warnings.simplefilter("ignore")
data = bayescale.load_dataset("chinchilla")
for _ in range(2):
    start = time.perf_counter()
    bayescale.fit(data, likelihood="huber", **{SAMPLER!r})
    print(time.perf_counter() - start)
"""
fresh = {}
for mode in ["cache"] if FAST else ["no cache", "cache"]:  # FAST: skip the slow baseline
    out = subprocess.run(
        [sys.executable, "-c", script, mode.replace(" ", "-")],
        capture_output=True,
        text=True,
        check=True,
    )
    first, second = (float(x) for x in out.stdout.split()[-2:])
    fresh[mode] = {"first fit (compile or load + sample)": fmt_s(first)}
    fresh[mode]["second fit (sample)"] = fmt_s(second)
pd.DataFrame.from_dict(fresh, orient="index")

# %% [markdown]
# ## Summary
#
# - The loss kernel evaluates every parameter set against every run in one fused, compiled
#   loop; the timings above put it against the same computation in NumPy on this machine.
# - The classic Approach-3 fit (4,500 starts) with its bootstrap and the Bayesian posterior
#   each take seconds once compiled; they agree on the estimates, and their intervals answer
#   different questions. Far beyond the data the exponent a dominates the uncertainty of the
#   compute-optimal size under either method.
# - `fit_many` fits many data sets with one program; on a CPU it saves writing and compiling
#   the loop more than time (compare the table in section 3).
# - On accelerators and several devices, chains are split over devices by `chain_method`;
#   the same seed reproduces draws on the same device count; the persistent cache spares a
#   new process the compile. No GPU or TPU timing has been measured for this notebook.
