"""From runs and a law to posterior draws: the noise model, priors, the one model, NUTS.

In data-flow order: :mod:`~bayescale.inference.likelihoods` (residual distributions of log
loss), :mod:`~bayescale.inference.priors` (resolved in one place),
:mod:`~bayescale.inference.anchor` (the coordinates NUTS samples a law with an offset in),
:mod:`~bayescale.inference.model` (the one NumPyro model, any law, optionally pooled),
:mod:`~bayescale.inference.programs` (where compiled programs run, compile and are freed),
:mod:`~bayescale.inference.sampler` (compiled NUTS, cached per shape, chains over devices),
:mod:`~bayescale.inference.settings` (:class:`FitSettings`, every default),
:mod:`~bayescale.inference.diagnostics`, :mod:`~bayescale.inference.escalation` (what a
fit retries when its sampler struggles), :mod:`~bayescale.inference.posterior` (the
:class:`Posterior` record and draws to numbers), :mod:`~bayescale.inference.fit` (the steps of
one fit), :mod:`~bayescale.inference.storage` (the posterior as an ArviZ DataTree and
netCDF; here rather than in ``report/`` because model checks read it) and
:mod:`~bayescale.inference.many` (many data sets in one sampler). Imports
:mod:`bayescale.data` and :mod:`bayescale.laws`; ArviZ and xarray only inside functions.
The names of the former module ``bayescale.inference`` (the sampler, and the device and
cache settings now in ``programs``) are found here.
"""

from bayescale._lazy import forward

__getattr__ = forward(__name__, "sampler", "programs")
