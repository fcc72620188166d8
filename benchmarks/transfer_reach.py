"""Can a sweep's own larger runs choose its reach r? A study for issue 25 (not shipped).

The shipped model widens a new run's scatter beyond the fitted runs' N or D range by
``√(1 + r² v)`` with one population value of r (``REACH``). Issue 25 asks that the sweep's
own runs inform its extrapolation; they already update the drift (level and tilt). This
study asks whether the same fit-time check could also choose r per sweep: on every split
of ``make extrapolation`` (its saved fits, ``benchmarks/transfer_raw``) and with the
constants chosen there on every source (``EXTRAPOLATION.choices.json``, ``all``), the
check's future runs give a marginal likelihood of each r on a grid (the drift's grid
likelihood at that r, times the population prior, summed); the per-sweep model draws r
per posterior draw from its posterior under a uniform prior on the grid's values, and the
drift given that r. Every held-out run is then scored as in ``benchmarks/transfer.py``.
The constants were chosen on these same sweeps, so every row is in-sample; the rows are
comparable with one another, not with the leave-one-source-out numbers of
``EXTRAPOLATION.md``. Writes ``benchmarks/EXTRAPOLATION-reach.md``; about 4 minutes::

    .venv/bin/python benchmarks/transfer_reach.py
"""

from __future__ import annotations

import datetime
import json
import math
import platform
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import transfer as T
from extrapolation import shared_dir

import bayescale

bayescale.use_host_devices()

import jax  # noqa: E402
import numpy as np  # noqa: E402

from bayescale.checks.model_checks import predictive_draws  # noqa: E402

#: Values of r the study weighs (the shipped one, 2, among them).
REACHES = (0.0, 0.5, 1.0, 2.0, 3.0, 4.0)
OUT = Path(__file__).with_name("EXTRAPOLATION-reach.md")


def per_reach(sp: T.Split, cfg: dict[str, float]) -> dict[float, tuple[float, Any, Any]]:
    """Per r: the check's log marginal likelihood, predictive draws and log-likelihoods."""
    log_prior = T.grid_for(cfg).log_prior()  # the sweep's scale integrated out
    out = {}
    for r in REACHES:
        c = {**cfg, "reach": r}
        j = log_prior + T.own_log_lik(sp, c)
        m = float(j.max())
        log_z = m + math.log(float(np.exp(j - m).sum()))
        res = T.predictive(sp, c, True)
        with jax.enable_x64(True):
            ll = np.asarray(res.log_likelihood(sp.test)).reshape(-1, len(sp.test))
            rep = np.asarray(predictive_draws(res, sp.test, seed=0))
        out[r] = (log_z, rep, ll)
    return out


def mixed(got: dict[float, tuple[float, Any, Any]], prior: dict[float, float], seed: int) -> Any:
    """Draws of the model whose r is drawn per draw from its posterior under ``prior``."""
    rs = list(prior)
    lz = np.array([got[r][0] + math.log(prior[r]) for r in rs])
    w = np.exp(lz - lz.max())
    w /= w.sum()
    n = got[rs[0]][1].shape[0]
    pick = np.random.default_rng(seed).choice(len(rs), size=n, p=w)
    # draw i comes from the model at r = rs[pick[i]]: one gather, no loop over draws
    rep = np.stack([got[r][1] for r in rs])[pick, np.arange(n)]
    ll = np.stack([got[r][2] for r in rs])[pick, np.arange(n)]
    return rep, ll, float(np.dot(w, rs))


def main() -> int:
    warnings.simplefilter("ignore")
    t0 = time.perf_counter()
    splits = T.load_splits(T.RAW, shared_dir(None))
    cfg = json.loads(OUT.with_name("EXTRAPOLATION.choices.json").read_text())["all"]
    models = {f"r = {r:g}": {r: 1.0} for r in REACHES}
    models["r per sweep (uniform prior)"] = {r: 1 / len(REACHES) for r in REACHES}
    rows: dict[str, list] = {k: [] for k in models}
    chosen: list[tuple[Any, ...]] = []
    for i, sp in enumerate(splits):
        got = per_reach(sp, cfg)
        inr = sp.x <= 1.0
        best: dict[float, float] = {}
        r_mean = float("nan")
        for name, prior in models.items():
            rep, ll, r_post = mixed(got, prior, seed=i)
            if len(prior) > 1:
                r_mean = r_post
            scores = T._score_draws(rep, ll, sp.test.log_loss)
            rows[name].append((sp, scores))
            if len(prior) == 1 and inr.any():
                best[next(iter(prior))] = float(np.mean(scores["is90"][inr]))
        if inr.any():
            boot = float(np.mean(T.bootstrap_scores(sp)["is90"][inr]))
            chosen.append((sp.sweep, sp.label, r_mean, best, int(inr.sum()), boot))
        print(f"[{time.perf_counter() - t0:4.0f}s] {sp.key}: posterior mean r {r_mean:.2f}")
        if i % 10 == 9:
            jax.clear_caches()  # one compiled program per law setting and shape
    bins = {k: T.gather(v) for k, v in rows.items()}
    OUT.write_text(report(bins, chosen, cfg, time.perf_counter() - t0))
    print(OUT.read_text())
    return 0


def report(
    bins: dict[str, dict[str, Any]],
    chosen: list[tuple[Any, ...]],
    cfg: dict[str, float],
    seconds: float,
) -> str:
    out = [
        "# Can a sweep's own runs choose its reach? (issue 25 study, not shipped)",
        "",
        f"Generated by `benchmarks/transfer_reach.py` on {datetime.date.today()} "
        f"({platform.machine()}, jax {jax.__version__}) in {seconds / 60:.1f} min, from the "
        "fits of `make extrapolation`. Constants: those chosen on every source "
        f"(`{json.dumps(cfg)}`), r replaced as each row says; **in-sample** (chosen on these "
        "sweeps), so compare the rows with one another, not with EXTRAPOLATION.md's "
        "leave-one-source-out numbers. Interval score = width + 20 × miss (90%), lpd = "
        "median log predictive density.",
        "",
        *T.bin_table(bins, "model"),
    ]
    out += [
        "",
        "## Runs at in-range compute with a larger N or D, per split",
        "",
        "The posterior mean of r from the check's own runs; the r (of the fixed values) with "
        "the lowest interval score on the split's held-out runs at in-range compute; their "
        "mean 90% interval score with r = 0 (there the law alone: the drift grows with "
        "compute only), the shipped r = 2, that best r, and the classic bootstrap of "
        "`EXTRAPOLATION.md`; `weight` is the split's share of the bin's summed score at "
        "r = 2 (what the bin's mean is made of).",
        "",
        "| sweep | split | runs | r chosen by the check | best fixed r | IS r = 0 | IS r = 2 "
        "| IS best r | IS bootstrap | weight |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    total = sum(c[4] * c[3][2.0] for c in chosen)
    for sweep, label, r_mean, best, n, boot in chosen:
        b = min(best, key=best.get)
        out.append(
            f"| {sweep} | {label} | {n} | {r_mean:.2f} | {b:g} | {best[0.0]:.3f} | "
            f"{best[2.0]:.3f} | {best[b]:.3f} | {boot:.3f} | {n * best[2.0] / total:.0%} |"
        )
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    sys.exit(main())
