"""bayescale beside nutpie and PyMC on the same law, priors and data (issue 14).

The Chinchilla law L = E + A/N^α + B/D^β on log loss with bayescale's default priors
(``bayescale.laws.chinchilla.chinchilla_priors``: E ~ LogNormal(0.5, 0.75), A, B ~
LogNormal(7, 3), α, β ~ LogNormal(log 0.35, 0.6); σ ~ HalfNormal(0.1) and, for Student-t
residuals, ν ~ Gamma(2, 0.1), from ``bayescale.inference.priors.noise_priors``), written in PyMC as
a user would, fitted to Epoch's 240 Chinchilla runs with 4 chains × (1000 warmup + 1000
draws), once per likelihood (``--likelihoods``; default: bayescale's default, Student-t,
then Gaussian), by

- nutpie: ``compile_pymc_model`` then ``sample`` (first: compile + sample; warm: a second
  ``sample`` of the compiled model);
- PyMC's own NUTS (``pm.sample(nuts_sampler="pymc")``, compile included), its chains on
  all cores (PyMC's default takes half the CPUs, assuming hyper-threads: one here);
- bayescale ``fit(likelihood=...)``: warm (second fit in this process) with its
  extrapolation check (what a user gets: the check refits the smaller runs) and without it
  (sampling only, like for like with the others), and first (a fresh Python process, no
  compilation cache, check included; import excluded and reported apart). The drift beyond
  the data is drawn after sampling and changes no sampler's work.

PyTensor and numba compile into an empty temporary cache (``--warm-compiledir`` keeps
``~/.pytensor``), so nutpie's and PyMC's first fits are as cold as bayescale's first fit.

ESS is arviz's bulk ESS of α and β, the same function for every sampler; ESS/s is the
smaller of the two over the wall time. Needs the ``bench`` extra (``make bench-nutpie``
installs it into ``.venv-bench``); without pymc or nutpie it says so and exits 0.

    python benchmarks/nutpie_compare.py [--out benchmarks/RESULTS.md] [--skip-pymc]
"""

from __future__ import annotations

import argparse
import datetime
import importlib
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
import warnings
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
from _sections import write_section

HERE = Path(__file__).resolve().parent
START, END = "<!-- nutpie:start -->", "<!-- nutpie:end -->"


def _missing() -> list[str]:
    out = []
    for name in ("pymc", "nutpie"):
        try:
            importlib.import_module(name)
        except Exception as exc:  # ImportError, or a broken install failing on import
            out.append(f"{name} ({type(exc).__name__}: {exc})")
    return out


def _load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def ess_ab(alpha: np.ndarray, beta: np.ndarray) -> tuple[float, float]:
    """arviz's bulk ESS of (chain, draw) arrays of alpha and beta."""
    import arviz

    out = []
    for x in (alpha, beta):
        x = np.asarray(x, dtype=float)
        assert x.ndim == 2, x.shape  # (chain, draw)
        out.append(float(arviz.ess(x, method="bulk")))
    return out[0], out[1]


def _chains(posterior: Any, name: str) -> np.ndarray:
    """(chain, draw) values of ``name`` from an InferenceData/DataTree posterior."""
    return np.asarray(posterior[name].transpose("chain", "draw").values)


# ------------------------------------------------------------------------------- PyMC
def pymc_model(
    log_N: np.ndarray, log_D: np.ndarray, log_loss: np.ndarray, likelihood: str = "student_t"
) -> Any:
    """The Chinchilla law on log loss with bayescale's default priors, in PyMC."""
    import pymc as pm
    import pytensor.tensor as pt

    with pm.Model() as model:
        E = pm.LogNormal("E", mu=0.5, sigma=0.75)
        A = pm.LogNormal("A", mu=7.0, sigma=3.0)
        B = pm.LogNormal("B", mu=7.0, sigma=3.0)
        alpha = pm.LogNormal("alpha", mu=math.log(0.35), sigma=0.6)
        beta = pm.LogNormal("beta", mu=math.log(0.35), sigma=0.6)
        sigma = pm.HalfNormal("sigma", sigma=0.1)
        # A/N^α as exp(log A − α log N): no overflow of N^α for N ~ 1e10
        mu = pt.log(E + pt.exp(pt.log(A) - alpha * log_N) + pt.exp(pt.log(B) - beta * log_D))
        if likelihood == "student_t":
            nu = pm.Gamma("nu", alpha=2.0, beta=0.1)  # numpyro's Gamma(2, rate 0.1)
            pm.StudentT("obs", nu=nu, mu=mu, sigma=sigma, observed=log_loss)
        elif likelihood == "gaussian":
            pm.Normal("obs", mu=mu, sigma=sigma, observed=log_loss)
        else:
            raise ValueError(f"no PyMC version of likelihood {likelihood!r}")
    return model


def run_nutpie(model: Any, warmup: int, draws: int, chains: int, seed: int) -> dict:
    import nutpie

    t0 = time.perf_counter()
    compiled = nutpie.compile_pymc_model(model)
    t1 = time.perf_counter()
    trace = nutpie.sample(
        compiled, draws=draws, tune=warmup, chains=chains, seed=seed, progress_bar=False
    )
    t2 = time.perf_counter()
    ea, eb = ess_ab(_chains(trace.posterior, "alpha"), _chains(trace.posterior, "beta"))
    first = {"compile": t1 - t0, "sample": t2 - t1, "wall": t2 - t0, "ess": (ea, eb)}
    first["divergences"] = int(np.asarray(trace.sample_stats["diverging"]).sum())
    t3 = time.perf_counter()
    trace = nutpie.sample(
        compiled, draws=draws, tune=warmup, chains=chains, seed=seed + 1, progress_bar=False
    )
    t4 = time.perf_counter()
    ea, eb = ess_ab(_chains(trace.posterior, "alpha"), _chains(trace.posterior, "beta"))
    warm = {"wall": t4 - t3, "ess": (ea, eb)}
    warm["divergences"] = int(np.asarray(trace.sample_stats["diverging"]).sum())
    return {"first": first, "warm": warm}


def run_pymc(model: Any, warmup: int, draws: int, chains: int, seed: int) -> dict:
    import pymc as pm

    cpus = os.cpu_count() or 1
    t0 = time.perf_counter()
    with model, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trace = pm.sample(
            draws=draws,
            tune=warmup,
            chains=chains,
            random_seed=seed,
            cores=min(chains, cpus),  # the cores the other samplers use
            nuts_sampler="pymc",  # PyMC's own NUTS: with nutpie installed it may pick nutpie
            progressbar=False,
            compute_convergence_checks=False,
        )
    wall = time.perf_counter() - t0
    ea, eb = ess_ab(_chains(trace.posterior, "alpha"), _chains(trace.posterior, "beta"))
    div = int(np.asarray(trace.sample_stats["diverging"]).sum())
    return {"wall": wall, "ess": (ea, eb), "divergences": div, "cores": min(chains, cpus)}


# -------------------------------------------------------------------------- bayescale
def _bayescale_ess(result: Any) -> tuple[float, float]:
    s = result.samples  # (chain, draw) arrays by parameter
    return ess_ab(s["alpha"], s["beta"])


def run_bayescale_warm(
    data: Any, likelihood: str, check: bool, warmup: int, draws: int, chains: int, seed: int
) -> dict:
    import bayescale

    kw = {"warmup": warmup, "draws": draws, "chains": chains, "likelihood": likelihood}
    kw["extrapolation_check"] = check
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bayescale.SamplingWarning)
        t0 = time.perf_counter()
        bayescale.fit(data, seed=seed, **kw)  # compiles
        t1 = time.perf_counter()
        r = bayescale.fit(data, seed=seed + 1, **kw)
        t2 = time.perf_counter()
    return {
        "first_in_process": t1 - t0,
        "wall": t2 - t1,
        "ess": _bayescale_ess(r),
        "divergences": int(r.diagnostics.divergences),
        "ok": bool(r.ok),
    }


FIRST_FIT = textwrap.dedent(
    """
    import json, sys, time, warnings
    t0 = time.perf_counter()
    import bayescale
    bayescale.use_host_devices()  # as the command line does: chains on host devices
    sys.path.insert(0, sys.argv[4])
    from nutpie_compare import _bayescale_ess
    data = bayescale.load_dataset("chinchilla")
    t1 = time.perf_counter()
    warnings.simplefilter("ignore")
    w, d, c = (int(x) for x in sys.argv[1:4])
    r = bayescale.fit(data, warmup=w, draws=d, chains=c, likelihood=sys.argv[5])
    t2 = time.perf_counter()
    print(json.dumps({"import": t1 - t0, "wall": t2 - t1, "ess": _bayescale_ess(r),
                      "divergences": int(r.diagnostics.divergences)}))
    """
)


def run_bayescale_first(likelihood: str, warmup: int, draws: int, chains: int) -> dict:
    """A fresh process without the compilation cache: tracing and XLA compile included."""
    env = {k: v for k, v in os.environ.items() if k not in ("XLA_FLAGS",)}
    env["BAYESCALE_CACHE"] = "0"
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            FIRST_FIT,
            *(str(x) for x in (warmup, draws, chains, HERE, likelihood)),
        ],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


# ----------------------------------------------------------------------------- report
def _versions() -> str:
    names = ("bayescale", "jax", "numpyro", "pymc", "pytensor", "nutpie", "numba", "arviz")
    parts = []
    for n in names:
        try:
            parts.append(f"{n} {metadata.version(n)}")
        except metadata.PackageNotFoundError:
            pass
    return ", ".join(parts)


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{platform.node()}, {cpu}, {os.cpu_count()} cores, python {platform.python_version()}"


def _rate(r: dict) -> float:
    return min(r["ess"]) / r["wall"]


def _table(one: dict, cfg: dict, likelihood: str) -> list[str]:
    """One likelihood's rows: bayescale's runs, then nutpie's and PyMC's."""
    bw, bn = one["bayescale_warm"], one["bayescale_warm_nocheck"]
    rows = [
        ("bayescale `fit()`, warm: second fit in this process, extrapolation check included", bw),
        ("bayescale `fit(extrapolation_check=False)`, warm: sampling only", bn),
    ]
    if "bayescale_first" in one:
        rows.append(
            (
                "bayescale `fit()`, first fit in a fresh process, no cache, check included "
                f"(+ {one['bayescale_first']['import']:.2f} s import and data, not in wall)",
                one["bayescale_first"],
            )
        )
    if "nutpie" in one:
        nf = one["nutpie"]["first"]
        rows.append(
            (
                f"nutpie, compile + sample ({nf['compile']:.2f} s + {nf['sample']:.2f} s; "
                f"PyTensor cache {one['compiledir']})",
                nf,
            )
        )
        rows.append(("nutpie, warm: sample of the compiled model", one["nutpie"]["warm"]))
    if "pymc" in one:
        rows.append(
            (
                f"PyMC NUTS `pm.sample` (compile included; {one['pymc']['cores']} cores)",
                one["pymc"],
            )
        )
    name = {"student_t": "Student-t (bayescale's default)", "gaussian": "Gaussian"}
    lines = [
        f"**{name.get(likelihood, likelihood)} residuals**",
        "",
        "| Chinchilla, 240 runs, "
        f"{cfg['chains']} chains × ({cfg['warmup']} + {cfg['draws']}) | wall | ESS α / β "
        "(bulk) | ESS/s (min of α, β) | bayescale warm (check included) ESS/s ÷ this | "
        "divergences |",
        "|---|---|---|---|---|---|",
    ]
    for label, r in rows:
        lines.append(
            f"| {label} | {r['wall']:.2f} s | {r['ess'][0]:.0f} / {r['ess'][1]:.0f} | "
            f"{_rate(r):.1f} | {_rate(bw) / _rate(r):.2f}× | {r.get('divergences', '–')} |"
        )
    ratios = []
    if "nutpie" in one:
        nw, nf = one["nutpie"]["warm"], one["nutpie"]["first"]
        ratios.append(
            f"bayescale warm / nutpie warm: **{_rate(bw) / _rate(nw):.1f}×** ESS/s with the "
            f"check, {_rate(bn) / _rate(nw):.1f}× sampling only (goal ≥ 20×)"
        )
        if "bayescale_first" in one:
            ratios.append(
                "bayescale first fit / nutpie compile + sample: "
                f"**{_rate(one['bayescale_first']) / _rate(nf):.1f}×** ESS/s (goal ≥ 5×)"
            )
    if "pymc" in one:
        ratios.append(
            f"bayescale warm / PyMC NUTS: **{_rate(bw) / _rate(one['pymc']):.0f}×** "
            f"({_rate(bn) / _rate(one['pymc']):.0f}× sampling only)"
        )
    return [*lines, "", "; ".join(ratios) + "." if ratios else "", ""]


def report(res: dict, cfg: dict) -> str:
    # the load before is other people's; the one after includes this script's own samplers
    load_note = (
        "**measured under load** (1-minute load above 1.5 before the run: other jobs shared "
        "the cores, so every wall is longer than on a quiet machine)"
        if float(res["load_before"].split()[0]) > 1.5
        else "quiet before the run (the load after includes this script's own chains)"
    )
    head = [
        START,
        f"## bayescale beside nutpie and PyMC ({res['date']})",
        "",
        "`make bench-nutpie` (benchmarks/nutpie_compare.py): the same law (Chinchilla on "
        "log loss) and bayescale's default priors written in PyMC, on Epoch's 240 runs, per "
        "likelihood, all in one run of the script. bayescale's extrapolation check (a warm "
        "refit of the smaller runs, on by default) is work the others do not do: its rows "
        "with and without it bracket the comparison. ESS: `arviz.ess(method='bulk')` for "
        "every sampler.",
        "",
        f"Machine: {res['machine']}. Versions: {res['versions']}. Load "
        f"{res['load_before']} before, {res['load_after']} after: {load_note}.",
        "",
    ]
    body: list[str] = []
    for likelihood, one in res["by_likelihood"].items():
        body += _table({**one, "compiledir": res["compiledir"]}, cfg, likelihood)
    return "\n".join([*head, *body, END]) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--warmup", type=int, default=1000)
    p.add_argument("--draws", type=int, default=1000)
    p.add_argument("--chains", type=int, default=4)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--skip-pymc", action="store_true", help="nutpie only (PyMC's NUTS is slow)")
    p.add_argument(
        "--likelihoods",
        default="student_t,gaussian",
        help="comma-separated: student_t (bayescale's default), gaussian",
    )
    p.add_argument(
        "--warm-compiledir",
        action="store_true",
        help="use PyTensor's own on-disk cache (~/.pytensor) instead of an empty one",
    )
    p.add_argument("--out", default=None, help="write the section into this Markdown file")
    p.add_argument("--json", default=None, help="also write the raw numbers as JSON")
    args = p.parse_args(argv)
    cache = None
    if not args.warm_compiledir:
        # before pytensor is imported: it reads its flags once
        cache = tempfile.mkdtemp(prefix="nutpie-compare-")
        flags = os.environ.get("PYTENSOR_FLAGS", "")
        os.environ["PYTENSOR_FLAGS"] = f"base_compiledir={cache}" + (f",{flags}" if flags else "")
        os.environ["NUMBA_CACHE_DIR"] = cache
    try:
        return _main(args)
    finally:
        if cache is not None:
            shutil.rmtree(cache, ignore_errors=True)


def _main(args: argparse.Namespace) -> int:
    missing = _missing()
    if missing:
        print(
            "nutpie_compare: skipped: cannot import " + "; ".join(missing) + ". Install the "
            "`bench` extra in a separate venv (`make bench-nutpie` makes .venv-bench).",
            file=sys.stderr,
        )
        return 0
    import bayescale

    bayescale.use_host_devices()  # before JAX starts: chains in parallel, as the CLI runs
    cfg = {"warmup": args.warmup, "draws": args.draws, "chains": args.chains}
    data = bayescale.load_dataset("chinchilla")
    res: dict[str, Any] = {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": _machine(),
        "versions": _versions(),
        "load_before": _load(),
        "config": cfg,
        "compiledir": "warm (~/.pytensor)" if args.warm_compiledir else "empty (cold)",
    }
    print(f"load {res['load_before']}; {res['versions']}", flush=True)
    res["by_likelihood"] = {}
    for likelihood in args.likelihoods.split(","):
        one: dict[str, Any] = {}
        one["bayescale_first"] = run_bayescale_first(likelihood, **cfg)
        print(likelihood, "bayescale first:", one["bayescale_first"], flush=True)
        for key, check in (("bayescale_warm", True), ("bayescale_warm_nocheck", False)):
            one[key] = run_bayescale_warm(data, likelihood, check, seed=args.seed, **cfg)
            print(likelihood, key, one[key], flush=True)
        model = pymc_model(data.log_N, data.log_D, data.log_loss, likelihood)
        one["nutpie"] = run_nutpie(model, seed=args.seed, **cfg)
        print(likelihood, "nutpie:", one["nutpie"], flush=True)
        if not args.skip_pymc:
            one["pymc"] = run_pymc(model, seed=args.seed, **cfg)
            print(likelihood, "pymc:", one["pymc"], flush=True)
        res["by_likelihood"][likelihood] = one
    res["load_after"] = _load()
    text = report(res, cfg)
    print(text)
    if args.out:
        write_section(args.out, text, START, END)
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=2, default=float), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
