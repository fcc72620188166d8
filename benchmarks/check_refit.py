"""The extrapolation check's refit: its cost in gradients and its verdicts, per variant.

:func:`bayescale.checks.backtest.extrapolation_check` refits the past runs (the fit's runs below
the largest 20% of compute) when the PSIS weights are unreliable; on Epoch's 240 runs it
always does, so every default fit of them pays for a second fit. This fits each training
set of ``benchmarks/extrapolation.py`` (its ``isoflop_sweeps`` and ``bundled_sweeps``) and
Epoch's 240 runs once with the default settings, then runs the check with the refit
forced (``method="refit"``) under each variant of
:data:`bayescale.checks.backtest.CHECK_WARM_START` and
:data:`~bayescale.checks.backtest.CHECK_WARM_ADAPT`, and records the refit's gradients (leapfrog
steps, warmup included), divergences, R-hat and ESS, and the check's coverage, excess and verdict.
``full_seed1`` is the current refit with another seed: the Monte Carlo noise of the numbers that
the variants are compared against.

    .venv/bin/python benchmarks/check_refit.py [--variants full warm_300] [--out F]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import extrapolation as ex

import bayescale
from bayescale.checks import backtest as bt

#: Refit variants: (step-size-adaptation iterations of a warm-started refit, which runs
#: the fit's compiled sampler from late in its warmup, or None for a refit from scratch
#: with the fit's own settings; the seed's offset from the fit's). The dense-mass and
#: shorter-draws variants recorded in RESULTS.md were measured with the refit's earlier
#: design (its own settings and sampler) and are not rerun by this script.
VARIANTS: dict[str, tuple[int | None, int]] = {
    "full": (None, 0),
    "full_seed1": (None, 1),
    "warm_150": (150, 0),
    "warm_300": (300, 0),
    "warm_300_seed1": (300, 1),
}


def training_sets() -> dict[str, bayescale.ScalingData]:
    """The 10 training sets of benchmarks/extrapolation.py and Epoch's 240 runs."""
    root = ex.shared_dir(None)
    sets = {s.name: s.train for s in ex.isoflop_sweeps(root / ex.ISOFLOPS) + ex.bundled_sweeps()}
    sets["chinchilla (Epoch, all 240)"] = bayescale.load_dataset("chinchilla")
    return sets


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    ap.add_argument("--only", nargs="*", help="training sets whose names start with these")
    ap.add_argument("--out", help="append one JSON line per check here")
    args = ap.parse_args()
    bayescale.enable_compilation_cache()
    warnings.simplefilter("ignore", bayescale.SamplingWarning)
    refits: list = []
    real_sample = bt.sample

    def recording_sample(*a, **k):  # the refit's Posterior, for its gradients and diagnostics
        out = real_sample(*a, **k)
        refits.append(out)
        return out

    bt.sample = recording_sample
    shipped = (bt.CHECK_WARM_START, bt.CHECK_WARM_ADAPT)
    print(f"load {open('/proc/loadavg').read().strip()}", flush=True)
    for name, data in training_sets().items():
        if args.only and not any(name.startswith(o) for o in args.only):
            continue
        fit = bayescale.fit(data, progress_bar=False, extrapolation_check=False)
        bt.CHECK_WARM_START, bt.CHECK_WARM_ADAPT = shipped  # what a default fit's check does
        auto = bt.extrapolation_check(fit)
        for variant in args.variants:
            warm, seed_offset = VARIANTS[variant]
            bt.CHECK_WARM_START = warm is not None
            bt.CHECK_WARM_ADAPT = warm or shipped[1]
            result = fit
            if seed_offset:
                cfg = dataclasses.replace(fit.settings, seed=fit.settings.seed + seed_offset)
                result = dataclasses.replace(fit, settings=cfg)
            refits.clear()
            t0 = time.perf_counter()
            check = bt.extrapolation_check(result, method="refit")
            wall = time.perf_counter() - t0
            (refit,) = refits
            d = refit.diagnostics
            row = {
                "set": name,
                "runs": len(data),
                "variant": variant,
                "fit_gradients": fit.timing["gradients"],
                "refit_gradients": refit.timing["gradients"],
                "refit_divergences": d.divergences,
                "refit_rhat_max": max(d.r_hat.values()),
                "refit_ess_bulk_min": d.ess_bulk_min,
                "refit_ess_tail_min": d.ess_tail_min,
                "refit_problems": list(d.problems),
                "coverage": check.coverage,
                "excess": check.excess,
                "mlpd": check.mlpd,
                "ok": check.ok,
                "auto_method": auto.method,
                "auto_khat": auto.khat,
                "auto_coverage": auto.coverage,
                "auto_excess": auto.excess,
                "wall_s_under_load": wall,
                "load": open("/proc/loadavg").read().split()[:3],
            }
            print(
                f"{name:28s} {variant:22s} grads {row['refit_gradients'] / 1e3:7.0f}k"
                f" (fit {row['fit_gradients'] / 1e3:6.0f}k) div {d.divergences:3d}"
                f" rhat {row['refit_rhat_max']:.3f} ess {d.ess_bulk_min:5.0f}"
                f" cov {check.coverage:.3f} excess {check.excess:.3f} ok {check.ok}"
                f" | auto {auto.method} k {auto.khat:.2f} excess {auto.excess:.3f}"
                f" ({wall:.1f}s)",
                flush=True,
            )
            if args.out:
                with open(args.out, "a") as f:
                    f.write(json.dumps(row) + "\n")
    print(f"load {open('/proc/loadavg').read().strip()}", flush=True)


if __name__ == "__main__":
    main()
