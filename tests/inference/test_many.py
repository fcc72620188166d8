import warnings

import numpy as np
import pytest

import bayescale
from bayescale.checks.simulate import HOFFMANN_PARAMS, chinchilla_design, simulate_runs
from bayescale.classic.approach3 import hoffmann_grid
from bayescale.inference import sampler as inference

STARTS = hoffmann_grid()[::45]  # 100 starts keep these tests quick


@pytest.fixture(scope="module")
def ragged():
    N, D = chinchilla_design()
    return {
        "full": simulate_runs(HOFFMANN_PARAMS, sigma=0.01, seed=1),
        "short": simulate_runs(HOFFMANN_PARAMS, sigma=0.01, seed=2, design=(N[:120], D[:120])),
    }


def test_classic_batch_equals_single_fits(ragged):
    many = bayescale.fit_many(ragged, method="classic", init=STARTS)
    assert list(many) == ["full", "short"]
    for name, data in ragged.items():
        single = bayescale.fit_classic(data, init=STARTS)
        # padding runs carry weight 0: the padded fit is the same optimum
        np.testing.assert_allclose(many[name].theta, single.theta, rtol=1e-6, atol=1e-8)
        assert many[name].objective == pytest.approx(single.objective, rel=1e-10)
        assert len(many[name].data) == len(data)


def test_grouped_data_split_by_group(ragged):
    frames = []
    for name, d in ragged.items():
        df = d.to_dataframe()
        df["arch"] = name
        frames.append(df)
    import pandas as pd

    grouped = bayescale.ScalingData.from_dataframe(
        pd.concat(frames, ignore_index=True), group_col="arch"
    )
    fits = bayescale.fit_many(grouped, method="classic", init=STARTS)
    assert list(fits) == ["full", "short"]
    assert [len(f.data) for f in fits.values()] == [len(d) for d in ragged.values()]


def test_nuts_batch_matches_single_fit_and_does_not_retrace(ragged):
    kw = {"warmup": 150, "draws": 150, "chains": 2, "seed": 4, "escalate": False}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bayescale.SamplingWarning)
        fits = bayescale.fit_many(list(ragged.values()), method="nuts", **kw)
        counts = dict(inference.trace_counts)
        other = [
            bayescale.ScalingData.from_arrays(N=d.N, D=d.D, loss=d.loss * 1.01)
            for d in ragged.values()
        ]
        again = bayescale.fit_many(other, method="nuts", **{**kw, "seed": 5})
        assert dict(inference.trace_counts) == counts
    assert len(fits) == len(again) == 2
    for fit, data in zip(fits, ragged.values(), strict=True):
        assert isinstance(fit, bayescale.FitResult)
        assert fit.samples["alpha"].shape == (2, 150)
        assert len(fit.data) == len(data)
        # its own gradients: more than its kept draws' leapfrog steps (warmup counts too)
        assert fit.timing["gradients"] > fit.stats["num_steps"].sum() > 0
        # each data set's posterior sits on its own truth (padding is masked out)
        s = fit.summary(ci=0.99)
        assert s.loc["alpha", "lo"] < HOFFMANN_PARAMS.alpha < s.loc["alpha", "hi"]
    # the short data set's posterior is wider: it has fewer runs and no padded ones
    assert fits[1].summary().loc["beta", "sd"] > 0.8 * fits[0].summary().loc["beta", "sd"]


def test_fit_many_validation(ragged):
    with pytest.raises(ValueError, match="unknown method 'mcmc'"):
        bayescale.fit_many(list(ragged.values()), method="mcmc")
    with pytest.raises(ValueError, match="datasets is empty"):
        bayescale.fit_many([])
    with pytest.raises(ValueError, match="data set 1 must be a ScalingData"):
        bayescale.fit_many([ragged["full"], {"N": [1]}])
    with pytest.raises(ValueError, match="no group column"):
        bayescale.fit_many(ragged["full"])
    with pytest.raises(ValueError, match=r"unknown fit setting.*init"):
        bayescale.fit(ragged["full"], init="classic")  # removed: it changed nothing measured
    with pytest.raises(ValueError, match="unknown fit setting"):
        bayescale.fit_many(list(ragged.values()), method="nuts", n_samples=3)


@pytest.mark.parametrize("law", ["kaplan", "data_constrained", "user"])
def test_nuts_batch_samples_the_law_it_is_given(law):
    """fit_many once sampled the Chinchilla law whatever law it was given (issue 11)."""
    from bayescale.checks.simulate import simulate_law
    from bayescale.laws import KAPLAN_PARAMS, MUENNIGHOFF_PARAMS

    if law == "user":
        import numpyro.distributions as dist

        law = bayescale.define_law(
            "test_many_user_law",
            lambda p, N, D: p["E"] + p["A"] / N ** p["alpha"] + p["B"] / D ** p["alpha"],
            {
                "E": dist.LogNormal(0.5, 0.5),
                "A": dist.LogNormal(7.0, 2.0),
                "B": dist.LogNormal(7.0, 2.0),
                "alpha": dist.LogNormal(-1.0, 0.4),
            },
            register=False,
        )
        truth = {"E": 1.8, "A": 400.0, "B": 400.0, "alpha": 0.3}
    else:
        truth = {"kaplan": KAPLAN_PARAMS, "data_constrained": MUENNIGHOFF_PARAMS}[law]
    cov = {"U_D": chinchilla_design()[1] / 3} if law == "data_constrained" else {}
    sets = [simulate_law(law, truth, sigma=0.01, seed=s, **cov) for s in (1, 2)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bayescale.SamplingWarning)
        fits = bayescale.fit_many(
            sets, method="nuts", law=law, warmup=60, draws=30, chains=1, escalate=False
        )
    law_obj = bayescale.get_law(law)
    for f in fits:
        assert f.fitted_law is law_obj and f.settings.law == law_obj.name
        assert set(law_obj.params) <= set(f.samples)
        assert not {"alpha", "beta"} - set(law_obj.params) & set(f.samples)
        # the checks fit() runs also ran here: design, identification and misfit
        assert isinstance(f.diagnostics.problems, list | tuple)


def test_batches_refuse_what_they_cannot_do(ragged):
    d = next(iter(ragged.values()))
    with pytest.raises(ValueError, match=r"method='classic' is Hoffmann.*law 'kaplan'"):
        bayescale.fit_many([d], method="classic", law="kaplan")
    grouped = bayescale.ScalingData.from_arrays(
        N=d.N, D=d.D, loss=d.loss, group=np.where(np.arange(len(d)) % 2, "a", "b")
    )
    with pytest.raises(ValueError, match="have groups, which fit_many does not pool"):
        bayescale.fit_many([grouped], method="nuts")
