"""Is the fit right? Checks against data the fit did not see, and against known truth.

:mod:`~bayescale.checks.simulate` (synthetic runs with known truth),
:mod:`~bayescale.checks.model_checks` (PSIS-LOO, WAIC, ``compare``, posterior predictive
checks), :mod:`~bayescale.checks.drift_update` (the sweep's own larger runs update its
drift beyond the data), :mod:`~bayescale.checks.backtest` (fit the small runs, score the
large ones; the fit-time extrapolation check), :mod:`~bayescale.checks.calibration_result` and
:mod:`~bayescale.checks.calibration` (simulation-based calibration). Imports the wings
before it up to :mod:`bayescale.classic` (the classic fit is one calibrated method);
ArviZ and matplotlib only inside functions.
"""
