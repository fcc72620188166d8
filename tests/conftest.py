"""Shared fixtures: fits are expensive, so each distinct fit runs once per session."""

from __future__ import annotations

import os
import warnings

import pytest
from hypothesis import settings

import bayescale

# Chains in parallel on CPU host devices, as the CLI runs them (must precede any JAX work).
bayescale.use_host_devices()

# Deterministic property tests: same examples on every run and machine.
settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(autouse=True, scope="module")
def _free_compiled_programs():
    """Between test modules, free compiled programs if the process holds many memory maps.

    The suite compiles programs for hundreds of data shapes in one process; the sampler
    frees them itself above 75% of Linux's map limit, which could fall inside a test that
    counts traces. Freeing at module boundaries, earlier, keeps that out of the tests.
    """
    yield
    from bayescale.inference.programs import relieve_map_pressure

    relieve_map_pressure(0.4)


@pytest.fixture(scope="session")
def chinchilla():
    return bayescale.load_dataset("chinchilla")


@pytest.fixture(scope="session")
def chinchilla_huber_fit(chinchilla):
    return bayescale.fit(chinchilla, likelihood="huber", seed=1)


@pytest.fixture(scope="session")
def chinchilla_default_fit(chinchilla):
    return bayescale.fit(chinchilla, seed=0)


@pytest.fixture(scope="session")
def small_fit(chinchilla):
    """A short fit for API tests that do not judge the posterior."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bayescale.SamplingWarning)
        return bayescale.fit(chinchilla, warmup=200, draws=200, chains=2, seed=3, escalate=False)
