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
# # 02 — Deciding a budget
#
# A posterior is not yet a decision. This notebook follows a team with a fixed amount of
# compute and a planned model, and asks the questions a team lead has to answer:
#
# 1. What should we train with this budget, and how much does the uncertainty matter?
# 2. What does our plan risk compared with the best allocation?
# 3. How much compute would a target loss need?
# 4. What if we cannot get enough unique training tokens?
#
# and ends with the decision report that puts all of it in one document.
#
# Every answer is computed on each posterior draw of the Chinchilla law fitted to the
# bundled Chinchilla runs (see notebook 01), so each comes with an interval.

# %%
import os
import tempfile
import warnings

warnings.filterwarnings("ignore", message="IProgress not found")  # no progress widgets here

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import Markdown, display

import bayescale
from bayescale import plotting

# NUTS chains side by side on the CPU's host devices (first, before any JAX computation)
bayescale.use_host_devices()
pd.set_option("display.precision", 4)
pd.set_option("display.width", 120)

# BAYESCALE_FAST=1 (the test suite) shrinks the sampler; the committed notebook is a full run.
FAST = os.environ.get("BAYESCALE_FAST") == "1"
STEPS = 300 if FAST else 1000  # warmup and kept draws per chain
SAMPLER = dict(chains=4, warmup=STEPS, draws=STEPS, progress_bar=False)

# %% [markdown]
# ## The team, its budget and its plan
#
# The team has 512 H100s for three weeks and expects 40% model FLOPs utilisation.
# `bayescale.parse_budget_spec` turns that into FLOPs and says how.

# %%
budget = bayescale.parse_budget_spec("512xH100:21d@40%")
C = budget.flops
print(budget.statement)

# %% [markdown]
# Their plan is a 30B-parameter model trained on as many tokens as the budget allows,
# D = C / 6N. That is far more tokens per parameter than Chinchilla's rule of thumb: a smaller
# model is cheaper to serve, and the team wants to know what it costs in loss. For
# comparison we also assess the "20 tokens per parameter" rule of thumb at the same budget.

# %%
N_plan = 30e9
N_rule = np.sqrt(C / (6 * 20))  # D = 20 N and C = 6 N D
plans = [
    {"N": N_plan, "C": C, "label": "30B"},
    {"N": N_rule, "C": C, "label": "20 tokens/param"},
]
for p in plans:
    D = p["C"] / (6 * p["N"])
    print(f"{p['label']:>16}: N = {p['N']:.3g}, D = {D:.3g} tokens, {D / p['N']:.0f} tokens/param")

# %% [markdown]
# ## The fit
#
# The Chinchilla law with the robust Huber likelihood on the 240 bundled runs, as in
# notebook 01.

# %%
data = bayescale.load_dataset("chinchilla")
fit = bayescale.fit(data, likelihood="huber", seed=0, **SAMPLER)
print(fit, "|", "; ".join(fit.diagnostics.problems) or "all sampling diagnostics passed")

# %% [markdown]
# ## 1. What to train: Bayes-optimal versus plug-in
#
# There are two ways to turn a posterior into one allocation:
#
# - **plug-in**: take a single "best" set of parameters (the posterior medians) and compute
#   its optimum, as if the law were known exactly;
# - **Bayes-optimal**: choose the N whose loss, *averaged over all posterior draws*, is
#   lowest. This is the choice that minimises the expected loss given what we know.
#
# They differ when the loss penalises errors asymmetrically (too small a model costs more
# than too large a one, or vice versa). The table also gives the posterior of each draw's own
# optimum N_opt and the **expected value of perfect information** (EVPI): how much lower the
# expected loss would be if we knew the law exactly, i.e. the most that better small-scale
# experiments could gain us at this budget.

# %%
best = fit.bayes_optimal([C])
row = best.iloc[0]
pd.DataFrame(
    {
        "N": [row["N_bayes"], row["N_plugin"], row["N_opt"]],
        "D": [row["D_bayes"], row["D_plugin"], row["D_opt"]],
        "expected loss": [
            row["expected_loss_bayes"],
            row["expected_loss_plugin"],
            row["expected_loss_median"],
        ],
    },
    index=["Bayes-optimal", "plug-in (median parameters)", "median of per-draw N_opt"],
)

# %%
print(f"N_opt 90% interval: [{row['N_opt_lo']:.3g}, {row['N_opt_hi']:.3g}]")
print(f"plug-in N / Bayes N = {row['plugin_vs_bayes']:.4f}")
print(f"extra expected loss of the plug-in choice: {row['excess_loss_plugin']:.2g}")
print(f"EVPI: {row['evpi']:.2g} in loss")

# %% [markdown]
# The two choices nearly coincide, and the extra expected loss of the plug-in choice is
# negligible: near the optimum the loss is flat in N, so a model somewhat off the optimum
# loses very little. The isoFLOP profiles show this flatness: the loss against N at fixed
# compute, with the 90% band of each draw's optimum (error bar) and the Bayes choice (star).

# %%
plotting.plot_isoflops(fit, [1e21, 1e22, C])
plt.show()

# %% [markdown]
# ## 2. What the plan risks
#
# The **regret** of a plan is, for each posterior draw, the loss of the plan minus the lowest
# loss reachable with the same compute. Its posterior says how much worse the plan is likely
# to be. The same gap can be read as **wasted compute**: the share of the budget the
# optimal allocation would not need to reach the plan's loss.

# %%
risk = fit.regret(plans)
risk[
    [
        "label",
        "N",
        "D",
        "loss_plan",
        "loss_opt",
        "regret",
        "regret_lo",
        "regret_hi",
        "p_regret_below_0.01",
        "waste",
        "waste_lo",
        "waste_hi",
        "p_within",
    ]
].set_index("label").T

# %%
plan = risk.iloc[0]
print(
    f"The 30B plan ends {plan['regret']:.2g} (median; 90% interval "
    f"[{plan['regret_lo']:.2g}, {plan['regret_hi']:.2g}]) above the best loss at this budget:"
    f" it spends {100 * plan['waste']:.1f}% [{100 * plan['waste_lo']:.1f}%, "
    f"{100 * plan['waste_hi']:.1f}%] of its compute for nothing."
)

# %%
plotting.plot_regret(fit, plans[0])
plt.show()

# %% [markdown]
# Whether that is worth it depends on what the smaller model saves at inference time — a
# trade-off outside the scaling law. The posterior makes the training side of it explicit:
# the regret in loss, and its equivalent in compute and money.
#
# ## 3. Compute for a target loss
#
# Suppose the team must reach a given loss. `compute_for_loss` finds, on each draw, the
# least compute whose optimal allocation reaches it. A target at or below the irreducible
# loss E is unreachable on that draw at any compute: such draws count as infinite compute
# rather than giving an extrapolated number, and `p_reachable` reports their share.

# %%
targets = fit.compute_for_loss([2.0, 1.95, 1.9, 1.85, 1.82])
targets[["target", "p_reachable", "C", "C_lo", "C_hi", "N", "D", "floor"]].set_index("target")

# %% [markdown]
# Each step down in loss costs far more compute than the last, and the interval on the
# compute widens faster still. Targets approaching E (`floor`, the posterior median of E) are
# reachable only on some draws: the data cannot tell whether they can be reached at all.
#
# ## 4. A data cap
#
# High-quality unique tokens are limited. If the team has at most 1T tokens and does not
# want to repeat data (which this law does not model; see the data-constrained law), the
# best allocation under the cap D ≤ 1T is a bigger model on exactly 1T tokens once the cap
# binds. `data_limited` gives that allocation, what it costs in loss against unlimited data,
# and the budget above which the cap binds.

# %%
capped = fit.data_limited("1T", [1e23, C, 1e24])
display(
    capped[
        [
            "budget",
            "p_binds",
            "N",
            "D",
            "loss",
            "loss_penalty",
            "loss_penalty_lo",
            "loss_penalty_hi",
        ]
    ].set_index("budget")
)
bind = capped.attrs["C_bind"]
print(
    f"The 1T-token cap binds above {bind['median']:.3g} FLOPs [{bind['lo']:.3g}, {bind['hi']:.3g}]"
)

# %% [markdown]
# The team's 30B plan needs about 2T tokens; with a 1T cap it would have to repeat its data
# or change its plan.
#
# ## 5. The decision report
#
# `FitResult.report` writes all of the above for the team's budget, plans, targets and cap
# into one document — Markdown, self-contained HTML (with figures) and JSON carrying the
# same numbers — stating every assumption, including the conversion of the budget into
# FLOPs and, here, into accelerator-hours and dollars at an assumed $2.50 per H100-hour.
# We write it to a temporary directory and show its summary.

# %%
with tempfile.TemporaryDirectory() as tmp:
    report = fit.report(
        tmp,
        budgets=[budget.text],
        plans=plans,
        target_loss=[2.0, 1.9],
        d_max="1T",
        cost="H100@40%,$2.5/h",
        title="Budget decision: 512 H100s for three weeks",
    )
    print("written:", ", ".join(sorted(os.path.relpath(p, tmp) for p in report["files"].values())))
    markdown = open(os.path.join(tmp, "report.md"), encoding="utf-8").read()

display(Markdown("\n".join(f"- {s}" for s in report["summary"])))

# %% [markdown]
# The report's assumptions section lists what the numbers rest on:

# %%
display(Markdown("\n".join(f"- {a}" for a in report["assumptions"])))

# %% [markdown]
# The intervals in every table cover the uncertainty of the parameters and, beyond the
# largest fitted run, the law's drift (`drift=1`: a population prior calibrated on 13 public
# sweeps, `benchmarks/EXTRAPOLATION.md`, then updated by the fit's own largest runs, as the
# Extrapolation section of the report says). They do not cover a law that bends more than
# those sweeps did; notebook 03 shows how to check a fit against its own larger runs with a
# backtest.
