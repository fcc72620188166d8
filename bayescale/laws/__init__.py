"""Scaling laws beside Chinchilla's, and the way to add your own.

Built in (by name, for ``bayescale.fit(data, law=...)``):

- ``"chinchilla"`` (default): L = E + A/N^α + B/D^β (Hoffmann et al. 2022);
- ``"kaplan"``: L = [(N_c/N)^(α_N/α_D) + D_c/D]^α_D (Kaplan et al. 2020, Eq. 1.5);
- ``"data_constrained"``: Muennighoff et al. 2023, with unique tokens ``U_D``.

A law of your own needs only its loss as a JAX function and a prior per parameter; you get
fitting, diagnostics, LOO comparison, backtests and a numerical compute-optimal allocation:

>>> import jax.numpy as jnp, numpyro.distributions as dist
>>> import bayescale
>>> def loss(p, N, D):                       # any jax.numpy expression of N, D
...     return p["E"] + p["A"] / N ** p["alpha"] + p["B"] / D ** p["alpha"]
>>> law = bayescale.define_law(
...     "shared_exponent",
...     loss,
...     priors={"E": dist.LogNormal(0.5, 0.75), "A": dist.LogNormal(7, 3),
...             "B": dist.LogNormal(7, 3), "alpha": dist.LogNormal(-1.05, 0.6)},
...     group_params=("E", "A", "B"),
...     shears=(bayescale.laws.Shear("a_c", "A", "alpha", "log_N"),
...             bayescale.laws.Shear("b_c", "B", "alpha", "log_D")),
...     overwrite=True,
... )
>>> law.params
('E', 'A', 'B', 'alpha')
>>> result = bayescale.fit(data, law="shared_exponent")   # doctest: +SKIP

The wing: :mod:`~bayescale.laws.optimum` (the one compute-optimal solver, closed form or
numerical, for every law, draw and budget), :mod:`~bayescale.laws.base` (:class:`Law`: a
kernel, parameter names, priors and an optional closed-form optimum),
:mod:`~bayescale.laws.chinchilla` (the one Chinchilla kernel and
:class:`~bayescale.ChinchillaParams`), :mod:`~bayescale.laws.kaplan`,
:mod:`~bayescale.laws.data_constrained`, :mod:`~bayescale.laws.extrapolation` (the drift
of the law's scale beyond the fitted runs) and this registry. It imports only
:mod:`bayescale.choices`: a law is data, and the noise model, priors and sampler above it
take any law alike.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import jax.numpy as jnp
import numpyro.distributions as dist

from bayescale.choices import BUILTIN_LAWS
from bayescale.laws.base import Law, Shear, numerical_log_n_opt
from bayescale.laws.chinchilla import CHINCHILLA
from bayescale.laws.data_constrained import DATA_CONSTRAINED, MUENNIGHOFF_PARAMS
from bayescale.laws.kaplan import KAPLAN, KAPLAN_PARAMS

__all__ = [
    "CHINCHILLA",
    "DATA_CONSTRAINED",
    "KAPLAN",
    "KAPLAN_PARAMS",
    "LAWS",
    "MUENNIGHOFF_PARAMS",
    "Law",
    "Shear",
    "define_law",
    "get_law",
    "has_positive_support",
    "numerical_log_n_opt",
    "register_law",
]

#: Registered laws by name.
LAWS: dict[str, Law] = {law.name: law for law in (CHINCHILLA, KAPLAN, DATA_CONSTRAINED)}
# the command line checks --law against BUILTIN_LAWS without importing this module (JAX);
# tests/test_choices.py keeps the two lists equal
_BUILTIN = frozenset(BUILTIN_LAWS)


def get_law(law: str | Law) -> Law:
    """Return a registered law by name (a :class:`Law` passes through).

    Raises
    ------
    ValueError
        Unknown name; the message lists the registered laws.
    """
    if isinstance(law, Law):
        return law
    if isinstance(law, str) and law in LAWS:
        return LAWS[law]
    raise ValueError(f"unknown law {law!r}; choose one of {', '.join(LAWS)} or define_law(...)")


def register_law(law: Law, *, overwrite: bool = False) -> Law:
    """Make ``law`` available by name (``fit(data, law=name)``, :func:`bayescale.load`).

    Raises
    ------
    ValueError
        The name is taken (pass ``overwrite=True`` to replace a user law; built-in laws
        cannot be replaced).
    """
    if not isinstance(law, Law):
        raise ValueError(f"expected a Law, got {type(law).__name__}")
    if law.name in _BUILTIN and LAWS[law.name] is not law:
        raise ValueError(f"{law.name!r} is a built-in law; choose another name")
    if law.name in LAWS and LAWS[law.name] is not law and not overwrite:
        raise ValueError(f"a law named {law.name!r} is registered; pass overwrite=True")
    LAWS[law.name] = law
    return law


def has_positive_support(d: Any) -> bool:
    """Whether distribution ``d`` puts no mass below 0 (its support's lower bound is >= 0)."""
    lower = getattr(d.support, "lower_bound", None)
    try:
        return lower is not None and float(lower) >= 0.0
    except TypeError:
        return False


def define_law(
    name: str,
    loss: Callable[..., Any],
    priors: Mapping[str, dist.Distribution],
    *,
    covariates: tuple[str, ...] = (),
    group_params: tuple[str, ...] = (),
    shears: tuple[Shear, ...] = (),
    offset: str | None = None,
    log_space: bool = False,
    n_opt: Callable[..., Any] | None = None,
    exponents: Callable[..., Any] | None = None,
    init: Callable[[Any], dict[str, float]] | None = None,
    description: str = "",
    reference: str = "",
    register: bool = True,
    overwrite: bool = False,
) -> Law:
    """Make a :class:`Law` from a loss function and priors.

    Parameters
    ----------
    name : str
        Name to fit it by (``fit(data, law=name)``).
    loss : callable
        ``loss(theta, N, D, **covariates)``: the predicted loss (natural scale; or its log
        if ``log_space``), written with :mod:`jax.numpy` so it can be differentiated and
        compiled. ``theta`` maps parameter names to arrays; every argument broadcasts.
    priors : mapping
        One NumPyro distribution over scalars per parameter; their names and order define
        the law's parameters. Parameters whose prior has support in (0, ∞) are treated as
        positive (pooled on the log scale).
    covariates : tuple of str
        Extra per-run columns passed to ``loss`` by name (e.g. ``("U_D",)``).
    group_params : tuple of str
        Parameters given one value per group in a pooled fit (the rest are pooled).
    shears : tuple of Shear
        Power-law terms K·x^(−s) whose coefficient should be sampled at the data's centre
        (:class:`Shear`); with them NUTS needs several times fewer steps on a power law
        (e.g. ``Shear("a_c", "A", "alpha", "log_N")`` for a term A/N^alpha).
    offset : str, optional
        The parameter the shears' terms are added to (``"E"`` in E + A/N^alpha + B/D^beta):
        ungrouped fits then sample the loss, slopes and offset share at the data's centre
        (:mod:`bayescale.inference.anchor`), which NUTS crosses in several times fewer steps
        where the data barely bend. Each shear needs its own coefficient and slope.
    log_space : bool, default False
        ``loss`` returns log loss (more accurate for sums of exponentials).
    n_opt : callable, optional
        Closed-form ``N_opt(theta, C_over_k)``; otherwise found numerically.
    exponents : callable, optional
        ``theta -> {"a": ..., "b": ...}``.
    init : callable, optional
        ``init(data) -> {param: value}`` starting point; default: the best of 1,000 prior
        draws.
    description, reference : str
        Shown in reports.
    register : bool, default True
        Register the law by name.
    overwrite : bool, default False
        Replace a user law of the same name.

    Returns
    -------
    Law
    """
    if not callable(loss):
        raise ValueError("loss must be a function loss(theta, N, D, **covariates)")
    if not isinstance(priors, Mapping) or not priors:
        raise ValueError("priors must map every parameter name to a numpyro distribution")
    for key, prior in priors.items():
        if not isinstance(prior, dist.Distribution):
            raise ValueError(
                f"prior for {key!r} must be a numpyro distribution, got {type(prior).__name__}"
            )
        if prior.batch_shape != () or prior.event_shape != ():
            raise ValueError(f"prior for {key!r} must be over scalars")
    frozen = dict(priors)
    covariates = tuple(covariates)

    def log_loss(theta: Any, x: Any) -> Any:
        extra = {c: jnp.exp(x[f"log_{c}"]) for c in covariates}
        out = loss(theta, jnp.exp(x["log_N"]), jnp.exp(x["log_D"]), **extra)
        return out if log_space else jnp.log(out)

    log_n_opt = None
    if n_opt is not None:

        def log_n_opt(theta: Any, log_c: Any) -> Any:
            return jnp.log(n_opt(theta, jnp.exp(log_c)))

    law = Law(
        name=name,
        params=tuple(frozen),
        log_loss=log_loss,
        priors=lambda: dict(frozen),
        covariates=covariates,
        group_params=tuple(group_params),
        shears=tuple(shears),
        offset=offset,
        positive=tuple(k for k, p in frozen.items() if has_positive_support(p)),
        log_n_opt=log_n_opt,
        exponents=exponents,
        init=init,
        description=description or f"user-defined law {name!r}",
        reference=reference,
    )
    if register:
        register_law(law, overwrite=overwrite)
    return law
