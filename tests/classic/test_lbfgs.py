"""The batched L-BFGS behind the classic fit, on problems with known minima."""

import jax
import jax.numpy as jnp
import numpy as np

from bayescale.classic import lbfgs as _lbfgs


def _rosenbrock(x, per_set, shared):
    # per_set: a scale per problem; the minimum is at (1, 1) for any scale
    a, b = x[..., 0], x[..., 1]
    f = per_set * ((1.0 - a) ** 2 + 100.0 * (b - a * a) ** 2)
    g = per_set[..., None] * jnp.stack(
        [-2.0 * (1.0 - a) - 400.0 * a * (b - a * a), 200.0 * (b - a * a)], axis=-1
    )
    return f, g


def test_every_problem_of_a_batch_reaches_its_minimum():
    with jax.enable_x64(True):
        rng = np.random.default_rng(0)
        x0 = jnp.asarray(rng.uniform(-2.0, 2.0, (3, 16, 2)))  # 3 data sets x 16 starts
        scale = jnp.asarray(rng.uniform(0.5, 2.0, (3, 16)))
        settings = _lbfgs.LBFGSSettings()
        state = _lbfgs.init_state(x0, scale, None, _rosenbrock, settings.memory)
        state = _lbfgs.run(
            state,
            scale,
            None,
            jnp.asarray(500),
            _rosenbrock,
            lambda x, p, s: _rosenbrock(x, p, s)[0],
            settings,
        )
        x = np.asarray(state.x)
        status = np.asarray(state.status)
    assert np.all(np.isin(status, (_lbfgs.GTOL, _lbfgs.FTOL)))
    np.testing.assert_allclose(x, 1.0, atol=1e-5)


def test_nonfinite_starts_are_flagged_not_run():
    with jax.enable_x64(True):
        x0 = jnp.asarray([[[0.0, 0.0], [jnp.nan, 0.0]]])
        state = _lbfgs.init_state(x0, jnp.ones((1, 2)), None, _rosenbrock, 5)
        assert np.asarray(state.status).tolist() == [[_lbfgs.RUNNING, _lbfgs.NONFINITE]]
        assert np.isinf(np.asarray(state.f)[0, 1])


def test_keep_best_keeps_the_lowest_objectives_per_data_set():
    with jax.enable_x64(True):
        x0 = jnp.asarray(np.random.default_rng(1).uniform(-2, 2, (2, 8, 2)))
        state = _lbfgs.init_state(x0, jnp.ones((2, 8)), None, _rosenbrock, 5)
        best, per_set = _lbfgs.keep_best(state, jnp.ones((2, 8)), 3)
        f = np.asarray(state.f)
        for g in range(2):
            np.testing.assert_allclose(np.sort(np.asarray(best.f)[g]), np.sort(f[g])[:3])
        assert per_set.shape == (2, 3)
