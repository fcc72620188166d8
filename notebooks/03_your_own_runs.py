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
# # 03 — Your own runs
#
# This notebook is the workflow for a set of training runs of your own:
#
# 1. read them from a CSV with your own column names;
# 2. choose priors, checking what they imply *before* seeing the losses (prior predictive
#    check);
# 3. choose the likelihood (how residuals are distributed);
# 4. compare laws with leave-one-out cross-validation (LOO);
# 5. backtest: fit the smaller runs, predict the larger ones — the honest test of how far
#    the fit can be trusted.
#
# As "your runs" we use a real data set bundled with bayescale: the open_lm runs of Li,
# Kudugunta and Zettlemoyer 2025, *(Mis)Fitting: A Survey of Scaling Laws* (C4 evaluation
# loss of models from 57M to 1.2B parameters; for each (N, D) the run with the best learning
# rate, 81 runs).

# %%
import math
import os
import tempfile
import warnings

warnings.filterwarnings("ignore", message="IProgress not found")  # no progress widgets here

import matplotlib.pyplot as plt
import numpy as np
import numpyro.distributions as dist
import pandas as pd

import bayescale
from bayescale import plotting
from bayescale.priors import PRIOR_NOTES

# NUTS chains side by side on the CPU's host devices (first, before any JAX computation)
bayescale.use_host_devices()
pd.set_option("display.precision", 4)
pd.set_option("display.width", 120)

# BAYESCALE_FAST=1 (the test suite) shrinks the sampler; the committed notebook is a full run.
FAST = os.environ.get("BAYESCALE_FAST") == "1"
STEPS = 300 if FAST else 1000  # warmup and kept draws per chain
SAMPLER = dict(chains=4, warmup=STEPS, draws=STEPS, progress_bar=False, seed=0)
N_PRIOR_DRAWS = 500 if FAST else 4000

# %% [markdown]
# ## 1. Your CSV
#
# We write the runs to a CSV as a user's logging might: one row per run, with the column
# names `params`, `train_tokens`, `flops` and `c4_eval_loss`. (The file goes to a temporary
# directory.)

# %%
runs = bayescale.load_dataset("misfitting").to_dataframe()
mine = runs.rename(
    columns={"N": "params", "D": "train_tokens", "C": "flops", "loss": "c4_eval_loss"}
)
workdir = tempfile.TemporaryDirectory(prefix="bayescale-03-")  # removed when the kernel exits
csv_path = os.path.join(workdir.name, "my_runs.csv")
mine.to_csv(csv_path, index=False)
print(open(csv_path).read()[:300])

# %% [markdown]
# `ScalingData.from_csv` maps your columns onto N, D and the loss, validates every row
# (positive, finite, enough distinct sizes) and reports problems by CSV line number. The
# FLOPs column is only used when N or D is missing (D = C / 6N).

# %%
data = bayescale.ScalingData.from_csv(
    csv_path, n_col="params", d_col="train_tokens", c_col="flops", loss_col="c4_eval_loss"
)
data

# %%
fig, ax = plt.subplots(figsize=(6.4, 4.4), layout="constrained")
sc = ax.scatter(data.C, data.loss, c=data.N, norm="log", cmap="viridis", s=16)
fig.colorbar(sc, ax=ax, label="parameters N")
ax.set(xscale="log", yscale="log", xlabel="training compute C (FLOPs)", ylabel="C4 eval loss")
ax.set_title("Your runs")
plt.show()

# %% [markdown]
# ## 2. Choosing priors: the prior predictive check
#
# A prior is a statement about the parameters before seeing the losses. Parameters such as
# A or β are hard to have intuitions about, but their consequence — the losses the law would
# predict at your (N, D) — is easy to judge. A **prior predictive check** draws parameters
# from the prior, computes the losses they imply at your runs, and asks: do these look like
# losses a language model could have, and are the observed ones among them?
#
# bayescale's defaults (for the Student-t likelihood used below) are weakly informative:

# %%
for name, note in PRIOR_NOTES.items():
    print(f"{name:>6}: {note}")

# %% [markdown]
# For contrast, a tempting alternative: priors centred tightly on Hoffmann et al.'s published
# fit (E 1.69, A 406.4, B 410.7, α 0.34, β 0.28), as if their law carried over to these runs.
#
# `bayescale.prior_predictive` draws from the same NumPyro model `bayescale.fit` samples
# (`bayescale.model`), with the observed losses left out.

# %%
LIKELIHOOD = "student_t"
default_priors = bayescale.default_priors(LIKELIHOOD)
borrowed_priors = {
    **default_priors,
    "E": dist.LogNormal(math.log(1.69), 0.05),
    "A": dist.LogNormal(math.log(406.4), 0.1),
    "B": dist.LogNormal(math.log(410.7), 0.1),
    "alpha": dist.LogNormal(math.log(0.34), 0.05),
    "beta": dist.LogNormal(math.log(0.28), 0.05),
}


def prior_predictive(priors, n=N_PRIOR_DRAWS, seed=0):
    """Losses (draws × runs) and parameter draws implied by ``priors`` at our runs."""
    with np.errstate(over="ignore"):  # absurd priors imply losses beyond float range: inf
        pp = bayescale.prior_predictive(data, priors=priors, likelihood=LIKELIHOOD, n=n, seed=seed)
    return pp.loss, pp.params


# A model that guesses uniformly among ~50,000 tokens scores ln 50,000 ≈ 10.8 nats; losses
# above that (or below ~1 nat, far below any published LM) are not plausible.
UNIFORM_GUESS = math.log(50_000)
rows, prior_losses, prior_params = {}, {}, {}
for name, priors in [("default", default_priors), ("borrowed from Hoffmann", borrowed_priors)]:
    losses, params = prior_predictive(priors)
    prior_losses[name], prior_params[name] = losses, params
    pit = np.mean(losses < data.loss, axis=0)  # where each observed loss falls in its prior
    q = np.quantile(losses, [0.05, 0.5, 0.95])
    rows[name] = {
        "prior predictive 5%": q[0],
        "median": q[1],
        "95%": q[2],
        "share in [1, 10.8] nats": np.mean((losses > 1) & (losses < UNIFORM_GUESS)),
        "runs outside their 98% interval": np.mean((pit < 0.01) | (pit > 0.99)),
    }
pd.DataFrame.from_dict(rows, orient="index")

# %%
fig, ax = plt.subplots(figsize=(8, 4.6), layout="constrained")
for (name, losses), color, shift in zip(
    prior_losses.items(), ["grey", "C1"], [0.95, 1.05], strict=True
):
    lo, med, hi = np.quantile(losses, [0.05, 0.5, 0.95], axis=0)
    ax.errorbar(data.C * shift, med, yerr=[med - lo, hi - med], fmt="none", color=color, alpha=0.5)
    ax.plot([], [], color=color, label=f"{name} prior: 90% prior predictive")
ax.scatter(data.C, data.loss, color="k", s=10, zorder=3, label="observed")
ax.axhline(UNIFORM_GUESS, color="C3", lw=1, ls="--", label="uniform guess, ln 50,000")
ax.set(xscale="log", yscale="log", xlabel="training compute C (FLOPs)", ylabel="loss")
ax.set_title("Prior predictive check")
ax.legend(fontsize="small")
plt.show()

# %% [markdown]
# Reading the check:
#
# - The **default** priors are vague: a large share of their prior predictive losses are
#   above what a uniform guess would score. But they rule nothing plausible out, and every
#   observed loss sits comfortably inside its prior predictive range. With dozens of runs the
#   data overwhelm such priors (we verify this after fitting).
# - The **borrowed** priors predict plausible losses everywhere and also cover the runs —
#   the check cannot reject them. A prior predictive check catches priors that are absurd,
#   not priors that are wrong. Whether the data agree with such a strong prior is a question
#   for the posterior, in section 3.
#
# We keep the defaults. (Replace any of them with `bayescale.fit(data,
# priors={"E": dist.LogNormal(...)})`; a number instead of a distribution fixes the
# parameter.)
#
# ## 3. Choosing the likelihood
#
# The likelihood says how far a run may fall from the law. The Gaussian penalises large
# residuals quadratically, so a few odd runs (a diverged learning rate, a bad checkpoint) can
# pull the whole fit. The Student-t has heavier tails and a degrees-of-freedom parameter ν
# learnt from the data: small ν means some runs are far off the law. We fit both.

# %%
fits = {}
for lik in ["gaussian", "student_t"]:
    fits[f"chinchilla/{lik}"] = bayescale.fit(data, likelihood=lik, **SAMPLER)
for name, f in fits.items():
    print(f"{name}: {f}")
    for problem in f.diagnostics.problems:
        print("   ", problem)

# %% [markdown]
# A posterior predictive check asks whether the fitted model could have produced the data:
# for each run, the central 50% and 90% *predictive* intervals (law plus residual noise)
# should hold about 50% and 90% of the runs. In-sample coverage is optimistic; the
# leave-one-out (LOO-PIT) coverage judges each run by a fit that did not see it.

# %%
coverage = pd.concat(
    {name: f.ppc().coverage.set_index("level") for name, f in fits.items()}, names=["fit"]
)
coverage

# %%
nu = fits["chinchilla/student_t"].summary().loc["nu"]
print(f"Student-t degrees of freedom ν: {nu['median']:.2f} [{nu['lo']:.2f}, {nu['hi']:.2f}]")

# %% [markdown]
# ν far below 10 means the residuals are heavy-tailed: most runs sit very close to the law
# and a few sit far away. The Gaussian compromises between them, with a residual scale too
# large for most runs and too small for the outliers. The residuals of the Student-t fit:

# %%
plotting.plot_residuals(fits["chinchilla/student_t"])
plt.show()

# %% [markdown]
# ### Did the data overwhelm the priors?
#
# Compare, for each parameter, the prior's 90% interval with the posterior's. *Contraction*
# is 1 − (posterior variance / prior variance) of its logarithm: near 1 the data decided,
# near 0 the prior did. The last column is the borrowed (Hoffmann-centred) prior.

# %%
student = fits["chinchilla/student_t"]
default_draws = prior_params["default"]
borrowed_draws = prior_params["borrowed from Hoffmann"]


def interval(x):
    lo, hi = np.quantile(x, [0.05, 0.95])
    return f"[{lo:.3g}, {hi:.3g}]"


names = ["E", "A", "B", "alpha", "beta", "sigma"]
contraction = pd.Series(
    {p: 1 - np.var(np.log(student.draws(p))) / np.var(np.log(default_draws[p])) for p in names}
)
pd.DataFrame(
    {
        "default prior, 90%": [interval(default_draws[p]) for p in names],
        "posterior, 90%": [interval(student.draws(p)) for p in names],
        "contraction": contraction,
        "borrowed prior, 90%": [interval(borrowed_draws[p]) for p in names],
    },
    index=names,
)

# %%
order = contraction.sort_values()
print("least determined by the data:", ", ".join(f"{p} ({c:.2f})" for p, c in order[:2].items()))
print(
    "posterior correlation of E with alpha:",
    f"{np.corrcoef(student.draws('E'), student.draws('alpha'))[0, 1]:.2f}",
)
lo, hi = np.quantile(borrowed_draws["beta"], [0.005, 0.995])
inside = np.mean((student.draws("beta") > lo) & (student.draws("beta") < hi))
print(f"posterior draws of beta inside the borrowed prior's 99% interval: {inside:.1%}")

# %% [markdown]
# Contraction near 1 for most parameters means the runs, not the default priors, decided
# them. The least determined are E — the loss of an infinitely large model trained on
# infinite data — and the N term: a lower E can be traded for a larger, flatter A/N^α, which
# makes the posterior a long curved ridge (bayescale samples it in coordinates that follow the
# ridge — the loss, slopes and E's share at the runs' centre — so NUTS crosses it in a few
# dozen steps, but the ridge, and E's wide interval, are the data's). Where it matters, a
# tighter prior on E that you can justify is the remedy.
#
# The posterior of β conflicts with the borrowed prior: had we used it, the fit would have
# been held near Hoffmann et al.'s exponent whatever these runs say. A published fit of other
# data, another tokenizer and another training recipe is no prior for your runs unless it is
# widened a lot.
#
# ## 4. Comparing laws with LOO
#
# Kaplan et al.'s law, L = [(N_c/N)^(α_N/α_D) + D_c/D]^α_D, has no irreducible loss E. Which
# law describes these runs better?
#
# **LOO** (leave-one-out cross-validation) scores a model by how well it predicts each run
# when that run is left out of the fit: the sum over runs of the log predictive density,
# `elpd_loo` (higher is better). PSIS-LOO estimates it from a single fit by reweighting the
# posterior draws; runs with a high Pareto k are the ones where this approximation is shaky
# (influential runs) and bayescale names them. A difference in elpd smaller than about twice
# its standard error (`dse`) is not a clear preference. All fits are scored on the log loss,
# so different laws and likelihoods are comparable.

# %%
fits["kaplan/student_t"] = bayescale.fit(data, law="kaplan", likelihood="student_t", **SAMPLER)
kaplan_problems = fits["kaplan/student_t"].diagnostics.problems
print(fits["kaplan/student_t"], "|", "; ".join(kaplan_problems) or "diagnostics passed")
comparison = bayescale.compare(fits)
comparison[["rank", "elpd_loo", "se", "elpd_diff", "dse", "weight", "pareto_k_max", "sampling_ok"]]

# %%
best, runner_up = comparison.index[:2]
diff, dse = comparison.loc[runner_up, ["elpd_diff", "dse"]]
verdict = "a clear preference" if abs(diff) > 2 * dse else "not a clear preference"
print(
    f"{best} ranks first; {runner_up} is {abs(diff):.1f} ± {dse:.1f} behind "
    f"({abs(diff) / dse:.1f} standard errors: {verdict})"
)

# %% [markdown]
# LOO measures how well a law *interpolates*: every left-out run has neighbours of similar
# size in the fit. That is not what we use a scaling law for.
#
# ## 5. The backtest: how far can the fit be trusted?
#
# A scaling law is used to *extrapolate*. The honest test imitates that: sort the runs by
# compute, fit on the smallest 80%, and score the predictions of the largest 20%. The
# backtest reports, over the held-out runs, the coverage of the 50% and 90% predictive
# intervals (a calibrated model covers about that share), the mean log predictive density
# (mlpd, higher is better), and the error of the median prediction (RMSE and bias of log
# loss, mean absolute percentage error of the loss).

# %%
backtest = bayescale.backtest(
    data, laws=["chinchilla", "kaplan"], likelihoods=["student_t"], frac=0.2, **SAMPLER
)
train_max = data.C[data.C < backtest.threshold].max()
print(
    f"held out: {int(backtest.table['n_test'].iloc[0])} runs with C ≥ {backtest.threshold:.2g} "
    f"FLOPs, up to {data.C.max() / train_max:.1f}× the largest training run"
)
backtest.table

# %%
fig, ax = plt.subplots(figsize=(8, 4.6), layout="constrained")
for (law, held), color, shift in zip(
    backtest.runs.groupby("law"), ["C0", "C1"], [0.97, 1.03], strict=True
):
    ratio = held["pred_median"] / held["loss"]
    ax.errorbar(
        held["C"] * shift,
        ratio,
        yerr=[ratio - held["lo_0.9"] / held["loss"], held["hi_0.9"] / held["loss"] - ratio],
        fmt="o",
        ms=4,
        color=color,
        alpha=0.8,
        label=f"{law}: median and 90% predictive interval",
    )
ax.axhline(1.0, color="k", lw=0.8)
ax.set(
    xscale="log",
    xlabel="training compute C of the held-out run (FLOPs)",
    ylabel="predicted / observed loss",
    title="Backtest: predictions for the largest 20% of runs",
)
ax.legend(fontsize="small")
plt.show()
for law, held in backtest.runs.groupby("law"):
    last = held.loc[held["C"].idxmax()]
    print(
        f"{law}: the largest held-out run ({last['C']:.2g} FLOPs) is predicted "
        f"{100 * (last['pred_median'] / last['loss'] - 1):+.1f}% off"
    )

# %% [markdown]
# Read the table against its purpose: the error columns say how close the median prediction
# came a few times beyond the training runs' compute, and the coverage columns say whether
# the stated uncertainty can be believed there. Coverage well below the nominal level means
# the intervals are too narrow for extrapolation. The fits here include bayescale's default
# drift beyond the data (`drift=1`: the law's effective N and D may shift beyond the largest
# fitted run, by an amount calibrated on public sweeps, `benchmarks/EXTRAPOLATION.md`, and
# updated by each fit's own largest runs) and a new run's extra scatter about the law beyond
# the fitted compute and the fitted N and D range (how much, beyond the N range, set by each
# fit's own largest models), which is what widens them beyond the training runs; `drift=0`
# would trust the law's form. The held-out runs are only a few times larger than the
# training runs, so predictions 100× or 1000× beyond the data rest on that calibration,
# which no backtest on these runs can check.
#
# ### Beyond the data: the allocation
#
# A good loss backtest does not validate everything the fit implies. The compute-optimal
# allocation depends on the *balance* of the N and D terms, extrapolated along lines of
# constant compute. Here is what both laws say it is, at the largest run's compute and
# beyond:

# %%
budgets = [data.C.max(), 1e22, 1e24]
laws = ["chinchilla/student_t", "kaplan/student_t"]
print("exponent a of N_opt ∝ C^a, median [90% interval]:")
for name in laws:
    a = fits[name].exponents().loc["a"]
    print(f"  {name:>20}: {a['median']:.2f} [{a['lo']:.2f}, {a['hi']:.2f}]")
pd.concat(
    {
        name: fits[name]
        .allocation(budgets)
        .set_index("budget")[["N_opt", "N_opt_lo", "N_opt_hi", "tokens_per_param"]]
        for name in laws
    },
    names=["fit"],
)

# %% [markdown]
# Both laws agree — and both say the optimal model at these budgets is trained on very few
# tokens per parameter, with N_opt growing almost in proportion to compute. Published
# large-scale studies find a ≈ 0.5 and about 20 tokens per parameter. Agreement between two
# laws fitted to the same runs is not evidence that the runs are right for the question.
#
# ### Which runs follow the law?
#
# The Student-t's small ν said some runs sit far from the law. The residuals against D
# (section 3) show which: the shortest runs. These runs all take 2^20 ≈ 1M tokens per
# optimizer step (the `total_steps` column of the bundled file), so D = 1e8 tokens is only
# 100 steps, where the learning-rate warmup and schedule still shape the final loss.
# Refitting without the shortest runs shows how much the conclusions depend on them (the
# full run tries several cut-offs; the fast test run one).

# %%
cutoffs = [2e9] if FAST else [5e8, 1e9, 2e9]
rows = {}
for d_min in [None, *cutoffs]:
    if d_min is None:
        f, subset = fits["chinchilla/student_t"], data
    else:
        subset = data.subset(data.D >= d_min)
        f = bayescale.fit(subset, likelihood="student_t", **SAMPLER)
    a = f.exponents().loc["a"]
    nu = f.summary().loc["nu"]
    tpp = f.allocation([1e22]).iloc[0]
    rows["all runs" if d_min is None else f"D ≥ {d_min:.0e}"] = {
        "runs": len(subset),
        "ν (median)": nu["median"],
        "a": f"{a['median']:.2f} [{a['lo']:.2f}, {a['hi']:.2f}]",
        "tokens/param at 1e22": (
            f"{tpp['tokens_per_param']:.2g} "
            f"[{tpp['tokens_per_param_lo']:.2g}, {tpp['tokens_per_param_hi']:.2g}]"
        ),
        "sampling ok": f.ok,
    }
pd.DataFrame.from_dict(rows, orient="index")

# %% [markdown]
# As the cut-off rises the residuals stop being heavy-tailed (ν rises) and the exponent a
# moves towards the published value of about 0.5, while its interval widens, because fewer
# runs over a narrow range of sizes remain. The honest summary of these runs: they predict
# the *loss* of somewhat larger runs to about a per cent, but they do not pin down how to
# *allocate* compute far beyond them, and the answer depends on a data-curation choice that
# no credible interval includes. Make that choice before looking at the allocation (for
# example: discard runs shorter than a fixed number of optimizer steps), and report the
# sensitivity.
#
# ## Checklist for your own runs
#
# - run a prior predictive check, and change priors only for reasons you could state without
#   the losses;
# - read `fit.diagnostics` before any number; refit longer, or give a weakly identified
#   parameter (often E) a tighter prior you can justify, when they fail;
# - choose the likelihood and the law with `bayescale.compare` (LOO), and believe
#   differences of more than about two standard errors;
# - look at the residuals: runs that do not follow the law (very short ones, diverged ones)
#   can decide the extrapolation;
# - backtest with `bayescale.backtest` or `fit.backtest()` before trusting an extrapolation,
#   and read its coverage as a measure of how honest the intervals are out of sample.
