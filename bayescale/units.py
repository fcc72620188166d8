"""Budgets in the units people plan with, converted to FLOPs.

For now plain FLOPs ("1e24", "5.76e23"); named units (petaFLOP/s-days, accelerator-hours)
are parsed here as they are added.
"""

from __future__ import annotations

import math

__all__ = ["parse_budget"]


def parse_budget(text: str | float) -> float:
    """Parse a compute budget and return it in FLOPs.

    Parameters
    ----------
    text : str or float
        A number of FLOPs, e.g. ``"1e24"``.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        Not a finite positive number.
    """
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise ValueError(f"cannot read budget {text!r}; expected FLOPs such as 1e24") from None
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"budget must be a finite number of FLOPs > 0, got {text!r}")
    return value
