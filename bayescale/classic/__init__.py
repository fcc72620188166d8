"""The frequentist answer beside the Bayesian one: Hoffmann et al.'s Approach 3.

:mod:`~bayescale.classic.objective` (the Huber objective and its gradient over the one
Chinchilla kernel), :mod:`~bayescale.classic.lbfgs` (batched L-BFGS, many problems in
lockstep) and :mod:`~bayescale.classic.approach3` (:func:`fit_classic` with its grid of
starts and bootstrap). Imports :mod:`bayescale.data`, :mod:`bayescale.laws` and
:mod:`bayescale.inference` (the Huber loss, interval summaries). The names of the former
module ``bayescale.classic`` are found here.
"""

from bayescale._lazy import forward

__getattr__ = forward(__name__, "approach3")
