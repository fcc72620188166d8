"""Methods for ``benchmarks/calibrate.py --method calibrate_methods:NAME``.

``default_fit`` is what a user runs, ``bayescale.fit`` with every default: unlike the
``realistic`` run (the sampler alone, whose drift is the population prior's), its drift is
updated by the fit-time extrapolation check, so a sweep whose largest runs follow the law
pulls the drift's lean back. Used for the ``realistic-fit`` run::

    .venv/bin/python benchmarks/calibrate.py --runs realistic \\
        --method calibrate_methods:default_fit --name realistic-fit
"""

from __future__ import annotations

import warnings
from typing import Any

import bayescale


def default_fit(data: bayescale.ScalingData, seed: int) -> Any:
    """``bayescale.fit(data, seed=seed)`` with its defaults, warnings silenced (the
    calibration records each fit's ``ok`` flag and problems)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return bayescale.fit(data, seed=seed, progress_bar=False)
