"""The names a user chooses among: likelihoods, built-in laws, pooling, intervals, holdouts.

Plain tuples of strings, importing nothing, so the command line can check its options (and print
``--help``) without loading JAX or NumPyro. The modules that use the names
(:mod:`bayescale.inference.likelihoods`, :mod:`bayescale.laws`, :mod:`bayescale.inference.model`,
:mod:`bayescale.inference.posterior`, :mod:`bayescale.checks.backtest`,
:mod:`bayescale.data.validation`) import them from here, so there is one list of each.
"""

from __future__ import annotations

__all__ = [
    "BUILTIN_LAWS",
    "CI_KINDS",
    "DEFAULT_DRIFT",
    "DEFAULT_LAW",
    "DEFAULT_LIKELIHOOD",
    "HOLDOUTS",
    "LIKELIHOODS",
    "LOSS_KINDS",
    "POOLINGS",
]

#: Likelihoods for log-loss residuals, by name.
LIKELIHOODS = ("gaussian", "student_t", "huber")
#: Student-t: it predicted held-out larger runs best on public sweeps
#: (``benchmarks/EXTRAPOLATION-one-step.md``) and PSIS-LOO prefers it on every bundled set.
DEFAULT_LIKELIHOOD = "student_t"

#: Extrapolation uncertainty beyond the largest run, as a multiple of the calibrated
#: default (:mod:`bayescale.laws.extrapolation`); 0 trusts the law's form at any budget.
DEFAULT_DRIFT = 1.0

#: The laws :mod:`bayescale.laws` registers on import, in its order. Laws a user defines
#: join the registry only once :mod:`bayescale.laws` is imported (``define_law``).
BUILTIN_LAWS = ("chinchilla", "kaplan", "data_constrained")
DEFAULT_LAW = "chinchilla"

#: How a grouped fit shares the exponents across groups.
POOLINGS = ("partial", "shared", "none")

#: Credible intervals: equal-tailed or highest-density.
CI_KINDS = ("eti", "hdi")

#: What "largest" is measured by in a backtest: compute C = k·N·D (default), N or D.
HOLDOUTS = ("largest", "largest_N", "largest_D")

#: What the loss column holds: a loss (nats) or a perplexity (its log is fitted).
LOSS_KINDS = ("loss", "perplexity")
