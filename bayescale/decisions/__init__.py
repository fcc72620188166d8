"""Decisions from posterior draws: what to train, how big, how long, and what next.

:mod:`~bayescale.decisions.core` (validated inputs, the law over draws, bisection),
:mod:`~bayescale.decisions.budget` (Bayes-optimal allocation, regret, compute for a target
loss, data caps — every draw at once), :mod:`~bayescale.decisions.tables` (those per budget
as tables), :mod:`~bayescale.decisions.planning_tables` and
:mod:`~bayescale.decisions.planning` (which runs to train next) and
:mod:`~bayescale.decisions.planning_refit` (its promise re-estimated by refits). Imports
the wings above it up to :mod:`bayescale.inference` (planning refits through the one
sampler); never :mod:`bayescale.checks` or :mod:`bayescale.report`. The names of the former module
``bayescale.decisions`` are found here.
"""

from bayescale._lazy import forward

__getattr__ = forward(__name__, "budget")
