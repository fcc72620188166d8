import pytest

import bayescale

# Besiroglu et al. 2024, Table 1: 95% bootstrap intervals on the 240-run data
BESIROGLU_95 = {
    "E": (1.769, 1.871),
    "A": (285.2, 743.6),
    "B": (1042.4, 5810.3),
    "alpha": (0.317, 0.373),
    "beta": (0.331, 0.415),
}


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({"likelihood": "laplace"}, "unknown likelihood 'laplace'"),
        ({"chains": 0}, "chains must be >= 1"),
        ({"target_accept": 1.5}, r"target_accept must be in \(0, 1\)"),
        ({"draws": 2.5}, "draws must be an integer"),
        ({"n_samples": 10}, "unknown fit setting.*n_samples"),
    ],
)
def test_bad_settings(chinchilla, kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        bayescale.fit(chinchilla, **kwargs)
