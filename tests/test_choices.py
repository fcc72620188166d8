"""The light lists of names (bayescale.choices) agree with the modules that use them."""

import subprocess
import sys

from bayescale import choices


def test_names_are_the_ones_the_heavy_modules_use():
    from bayescale import _checks, likelihoods, model, posterior, settings
    from bayescale.checks.backtest import HOLDOUTS  # bayescale.backtest is the function
    from bayescale.laws import CHINCHILLA, DATA_CONSTRAINED, KAPLAN, LAWS

    # the same objects, not copies: one list of each
    assert likelihoods.LIKELIHOODS is choices.LIKELIHOODS
    assert model.POOLINGS is choices.POOLINGS
    assert posterior.CI_KINDS is choices.CI_KINDS
    assert HOLDOUTS is choices.HOLDOUTS
    assert _checks.LOSS_KINDS is choices.LOSS_KINDS
    # built-in laws are named by their Law objects; the command line checks the names here
    assert tuple(law.name for law in (CHINCHILLA, KAPLAN, DATA_CONSTRAINED)) == (
        choices.BUILTIN_LAWS
    )
    assert tuple(LAWS)[: len(choices.BUILTIN_LAWS)] == choices.BUILTIN_LAWS  # registry order
    assert settings.FitSettings().likelihood == choices.DEFAULT_LIKELIHOOD
    assert settings.FitSettings().law == choices.DEFAULT_LAW
    assert choices.DEFAULT_LIKELIHOOD in choices.LIKELIHOODS
    assert choices.DEFAULT_LAW in choices.BUILTIN_LAWS


def test_importing_the_names_loads_nothing_heavy():
    code = (
        "import sys, bayescale.choices, bayescale.data.units;"
        "heavy = [m for m in ('jax', 'numpyro', 'numpy', 'pandas') if m in sys.modules];"
        "assert not heavy, heavy"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
