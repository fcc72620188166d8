import numpy as np
import pytest

import bayescale
from bayescale.checks.simulate import HOFFMANN_PARAMS, simulate_runs
from bayescale.classic import approach3 as classic
from bayescale.classic.approach3 import fit_classic, hoffmann_grid

# The plain summed-Huber optimum (Hoffmann et al.'s objective, delta 1e-3) that Epoch's
# code reaches on the 240 runs (Besiroglu et al. 2024).
EPOCH_HUBER_OPTIMUM = {"A": 477.8, "B": 2143.0, "E": 1.8172, "alpha": 0.3473, "beta": 0.3672}
EPOCH_OBJECTIVE = 0.001018


@pytest.fixture(scope="module")
def chinchilla_classic(chinchilla):
    return fit_classic(chinchilla, n_boot=200, seed=1)


def test_grid_is_hoffmanns():
    grid = hoffmann_grid()
    assert grid.shape == (4500, 5)
    a, b, e, alpha, beta = grid.T
    assert sorted(set(a)) == sorted(set(b)) == [0.0, 5.0, 10.0, 15.0, 20.0, 25.0]
    assert sorted(set(e)) == [-1.0, -0.5, 0.0, 0.5, 1.0]
    assert sorted(set(alpha)) == sorted(set(beta)) == [0.0, 0.5, 1.0, 1.5, 2.0]
    assert len(np.unique(grid, axis=0)) == 4500


def test_reproduces_epoch_huber_optimum(chinchilla_classic):
    fit = chinchilla_classic
    p = fit.params._asdict()
    for name, want in EPOCH_HUBER_OPTIMUM.items():
        assert p[name] == pytest.approx(want, rel=5e-3), name
    assert fit.objective == pytest.approx(EPOCH_OBJECTIVE, rel=5e-3)
    assert fit.converged
    assert fit.n_starts == 4500
    assert 1 <= fit.n_reached <= fit.n_finished < fit.n_starts
    # the survivors that reached the best agree on it
    at_best = np.abs(fit.finished_objective - fit.objective) <= 1e-8 * fit.objective
    assert at_best.sum() == fit.n_reached


def test_without_halving_every_start_runs(chinchilla):
    starts = hoffmann_grid()[::50]  # 90 starts, all run to convergence
    fit = fit_classic(chinchilla, init=starts, survivors=128)
    assert fit.n_finished == 90
    assert fit.params.A == pytest.approx(EPOCH_HUBER_OPTIMUM["A"], rel=5e-3)


def test_bootstrap_tables(chinchilla_classic):
    fit = chinchilla_classic
    assert fit.n_boot == 200
    assert fit.boot_converged.mean() > 0.95
    s = fit.summary(ci=0.95)
    assert list(s.index) == ["E", "A", "B", "alpha", "beta", "a", "b"]
    assert (s["lo"] < s["estimate"]).all() and (s["estimate"] < s["hi"]).all()
    assert (s["se"] > 0).all()
    se = fit.se()
    # Besiroglu et al.'s bootstrap SEs; 200 replicas are noisy, so only the order of magnitude
    for name, ref in {"E": 0.0257, "alpha": 0.0154, "beta": 0.0206}.items():
        assert ref / 2 < se[name] < ref * 2, name
    alloc = fit.allocation([5.76e23, 1e25], ci=0.8)
    assert list(alloc["budget"]) == [5.76e23, 1e25]
    assert (alloc["N_opt_lo"] < alloc["N_opt"]).all() and (
        alloc["N_opt"] < alloc["N_opt_hi"]
    ).all()
    np.testing.assert_allclose(6 * alloc["N_opt"] * alloc["D_opt"], alloc["budget"], rtol=1e-12)
    d = fit.to_dict()
    assert d["n_boot"] == 200 and set(d["parameters"]) == set(s.index)


def test_no_bootstrap_means_no_intervals(chinchilla):
    fit = fit_classic(chinchilla, init=hoffmann_grid()[::100])
    with pytest.raises(ValueError, match="n_boot >= 2"):
        fit.se()
    assert fit.summary()["se"].isna().all()
    assert "N_opt_lo" not in fit.allocation().columns
    np.testing.assert_allclose(
        fit.predict([1e9], [2e10]),
        np.exp(
            np.log(
                fit.params.E
                + fit.params.A / 1e9**fit.params.alpha
                + fit.params.B / 2e10**fit.params.beta
            )
        ),
        rtol=1e-12,
    )


def test_bootstrap_covers_truth_on_synthetic_data():
    # Eight synthetic Chinchilla-like data sets in one batch, 300 replicas each: the 90%
    # percentile intervals of the five parameters must cover the truth about 90% of the time.
    datasets = [simulate_runs(HOFFMANN_PARAMS, sigma=0.02, seed=100 + i) for i in range(8)]
    fits = bayescale.fit_many(datasets, method="classic", init=hoffmann_grid()[::9], n_boot=300)
    truth = HOFFMANN_PARAMS._asdict()
    hits = []
    for fit in fits:
        s = fit.summary(ci=0.9)
        hits += [s.loc[k, "lo"] <= v <= s.loc[k, "hi"] for k, v in truth.items()]
    # 40 intervals at nominal 0.9: P(fewer than 30 covered) < 0.1% if calibrated
    assert np.mean(hits) >= 0.75, np.mean(hits)


def test_refit_of_same_shape_does_not_retrace(chinchilla):
    starts = hoffmann_grid()[::45]
    fit_classic(chinchilla, init=starts, n_boot=16)
    counts = dict(classic.trace_counts)
    other = bayescale.ScalingData.from_arrays(
        N=chinchilla.N, D=chinchilla.D, loss=chinchilla.loss * 1.01
    )
    fit_classic(other, init=starts + 0.1, n_boot=16, seed=3, delta=2e-3)
    assert classic.trace_counts == counts


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({"loss": "l2"}, "unknown loss 'l2'"),
        ({"delta": 0}, "delta must be a finite number > 0"),
        ({"n_boot": 1}, "n_boot must be 0"),
        ({"n_boot": -3}, "n_boot must be >= 0"),
        ({"init": "random"}, "unknown init 'random'"),
        ({"init": np.zeros((3, 4))}, r"init must have shape \(K, 5\)"),
        ({"init": np.full((2, 5), np.nan)}, "init must hold finite values"),
        ({"budgets": [1e24, -1]}, "budgets must be finite and > 0"),
        ({"halving_keep": 0}, r"halving_keep must be in \(0, 1\]"),
        ({"maxiter": 5}, "unknown classic-fit setting.*maxiter"),
    ],
)
def test_bad_arguments(chinchilla, kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        fit_classic(chinchilla, **kwargs)


def test_bad_data():
    with pytest.raises(ValueError, match="must be a ScalingData"):
        fit_classic({"N": [1, 2, 3]})
