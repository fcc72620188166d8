from bayescale.checks.simulate import chinchilla_design

# Besiroglu et al. 2024, Table 1: 95% bootstrap intervals on the 240-run data
BESIROGLU_95 = {
    "E": (1.769, 1.871),
    "A": (285.2, 743.6),
    "B": (1042.4, 5810.3),
    "alpha": (0.317, 0.373),
    "beta": (0.331, 0.415),
}


def test_design_matches_chinchilla_scale():
    N, _D = chinchilla_design()
    assert 100 < len(N) < 300
    assert N.min() >= 5e7 and N.max() <= 1.6e10
