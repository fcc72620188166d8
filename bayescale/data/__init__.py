"""Training runs in: what enters bayescale, checked once, where it enters.

:mod:`~bayescale.data.units` (budgets and costs in the units people plan with),
:mod:`~bayescale.data.validation` (parsing and checking columns, rows and numbers, with
messages that name what to fix), :mod:`~bayescale.data.scaling_data` (:class:`ScalingData`,
checkpoints, design checks) and :mod:`~bayescale.data.datasets` (the bundled real sweeps
with their provenance). The lowest wing: it imports only :mod:`bayescale.choices`, and no
JAX, so the command line answers bad input before the sampler loads. The names of the
former module ``bayescale.data`` are found here on first use.
"""

from bayescale._lazy import forward

__getattr__ = forward(__name__, "scaling_data")
