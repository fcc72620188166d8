"""Where compiled programs run, compile and are freed (bayescale.inference.programs)."""


def test_compiled_programs_are_freed_near_the_memory_map_limit(monkeypatch):
    from bayescale.inference import programs

    limit, count = programs._map_limit(), programs._map_count()
    # the real counts of this process: readable (Linux), and below the limit
    assert 0 < count < (limit or 10**9)
    cleared = []
    monkeypatch.setattr(programs.jax, "clear_caches", lambda: cleared.append(1))
    monkeypatch.setattr(programs, "_map_limit", lambda: 1000)
    monkeypatch.setattr(programs, "_map_count", lambda: 700)
    assert programs.relieve_map_pressure() is False and not cleared
    monkeypatch.setattr(programs, "_map_count", lambda: 800)
    assert programs.relieve_map_pressure() is True and cleared == [1]
    # where the limit cannot be read (not Linux) nothing happens
    monkeypatch.setattr(programs, "_map_limit", lambda: None)
    assert programs.relieve_map_pressure() is False and cleared == [1]


def test_the_sampler_loop_compiles_once_while_init_compiles(chinchilla, caplog):
    """The loop and constrain programs are compiled ahead, on a second thread, from init's
    output shapes; the calls then find them: one program each, and the same draws."""
    import logging

    import jax
    import numpy as np

    from bayescale.inference import programs
    from bayescale.inference.fit import prepare
    from bayescale.inference.sampler import _compiled, chain_starts, run_nuts
    from bayescale.inference.settings import FitSettings
    from bayescale.laws import CHINCHILLA

    cfg = FitSettings(warmup=20, draws=10, chains=2, dense_mass=False, max_tree_depth=6)
    # a shape no other test uses, so the programs are new here
    data = chinchilla.subset(np.arange(len(chinchilla)) < 37)
    with jax.enable_x64():
        prep = prepare(data, CHINCHILLA, cfg, None)
        z0 = chain_starts(prep.spec, prep.args, prep.kwargs, prep.start, 2, 0)
        before = set(programs._AHEAD)
        args = (prep.spec, prep.args, prep.kwargs, z0, cfg.nuts())
        # a process-wide setting: the compile-ahead thread does not see a context manager's
        jax.config.update("jax_log_compiles", True)
        try:
            with caplog.at_level(logging.WARNING):
                out = run_nuts(*args, chains=2, seed=0, chain_method="sequential")
        finally:
            jax.config.update("jax_log_compiles", False)
        assert len(programs._AHEAD - before) == 1
        # init, the loop and constrain: three sampler programs (all named "run"), each
        # compiled once, the loop and constrain on the compile-ahead thread
        compiled = [r for r in caplog.records if r.getMessage().startswith("Compiling jit(run)")]
        assert len(compiled) == 3
        assert sum(r.threadName == "bayescale-compile-ahead" for r in compiled) == 2
        _, advance, constrain = _compiled(prep.spec, cfg.nuts(), 1, "sequential", False)
        assert advance._cache_size() == 1 and constrain._cache_size() == 1
        # the same run again (nothing compiled ahead now): the same draws
        again = run_nuts(*args, chains=2, seed=0, chain_method="sequential")
        assert len(programs._AHEAD - before) == 1
        for k, v in out.samples.items():
            np.testing.assert_array_equal(v, again.samples[k])
