"""Stage 1 of ``make extrapolation``: fit every multi-step hold-out of every shared sweep.

For each of the 13 sweeps (the 7 isoFLOP sweeps of the compendium, the bundled chinchilla,
datablations and misfitting sets, porian-cosine's two datasets and gemstones-cooldown) and
each hold-out split (isoFLOP-style sweeps: top 1, 2 and 3 budgets; the others: largest
10, 20 and 40% of compute; every sweep: its largest 20% of models by N), this fits the
training runs with the default settings (seed 0, no extrapolation check) and refits the
check's past runs exactly as the fit-time check does (:func:`check_refit`), both the
compute check's (without the largest 20% of compute) and the second one's (without the
largest 20% of models by N), and saves the fits as netCDF with the split's masks. The
drift is not sampled with the law's parameters, so ``benchmarks/transfer.py`` scores every
drift model on these fits without fitting again. About 3 to 20 minutes on 2 CPU cores, as
the machine runs::

    .venv/bin/python benchmarks/transfer_fits.py [--quick] [--shared PATH] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import bayescale

bayescale.use_host_devices()

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from extrapolation import ISOFLOPS, shared_dir, sweep_name  # noqa: E402

from bayescale.checks.backtest import CHECK_FRAC, check_refit, split_holdout  # noqa: E402
from bayescale.inference.diagnostics import EfficiencyWarning  # noqa: E402
from bayescale.inference.fit import sample  # noqa: E402

RAW = Path(__file__).with_name("transfer_raw")
#: Run counts the fits are padded to (masked runs): one compiled sampler per size.
PADS = (64, 128, 256, 1024)

#: Sweeps that share a source (the same runs, or one lab's code and data pipeline).
SOURCES = {
    "chinchilla": ("epochai_chinchilla", "chinchilla (bundled)"),
    "marin": ("marin comma", "marin dclm", "marin nemotron"),
    "misfitting": ("misfitting", "misfitting (bundled)"),
    "porian": ("porian owt2", "porian refinedweb"),
}


def source_of(sweep: str) -> str:
    """The source of a sweep (:data:`SOURCES`; else the sweep is its own)."""
    return next((k for k, v in SOURCES.items() if sweep in v), sweep)


@dataclass(frozen=True)
class SweepData:
    """All runs of one sweep and its FLOP budgets (None: not an isoFLOP design)."""

    name: str
    data: bayescale.ScalingData
    budget: np.ndarray | None


def load_sweeps(root: Path) -> list[SweepData]:
    """The 13 sweeps, each with every run (outliers and Llama 3 conditions as before)."""
    out = []
    frame = pd.read_csv(root / ISOFLOPS)
    frame = frame[~frame["outlier"].astype(bool)]
    llama = frame["source"] == "llama_3"
    frame = frame[~llama | (frame["condition"] == "raw_loss")]
    for experiment, runs in frame.groupby("experiment", sort=True):
        runs = runs.reset_index(drop=True)
        data = bayescale.ScalingData.from_dataframe(
            runs, n_col="params", d_col="tokens", loss_col="loss", source=str(experiment)
        )
        out.append(SweepData(sweep_name(str(experiment)), data, runs["budget"].to_numpy(float)))
    for name in ("chinchilla", "datablations", "misfitting"):
        out.append(SweepData(f"{name} (bundled)", bayescale.load_dataset(name), None))
    porian = pd.read_csv(root / "data" / "porian-cosine" / "data.csv")
    for ds, runs in porian.groupby("dataset", sort=True):
        runs = runs.reset_index(drop=True)
        data = bayescale.ScalingData.from_dataframe(
            runs, n_col="params", d_col="tokens", loss_col="loss", source=f"porian-cosine {ds}"
        )
        short = "owt2" if ds == "openwebtext2" else str(ds)
        out.append(SweepData(f"porian {short}", data, runs["budget"].to_numpy(float)))
    gem = pd.read_csv(root / "data" / "gemstones-cooldown" / "data.csv")
    data = bayescale.ScalingData.from_dataframe(
        gem, n_col="params", d_col="tokens", loss_col="loss", source="gemstones-cooldown"
    )
    out.append(SweepData("gemstones", data, None))
    return out


def splits(sweep: SweepData) -> list[tuple[str, np.ndarray]]:
    """(label, training mask) of each hold-out of the sweep; the rest is held out."""
    out = []
    if sweep.budget is not None:
        budgets = np.unique(sweep.budget)
        for k in (1, 2, 3):
            train = sweep.budget < budgets[-k]
            out.append((f"top {k} budget{'s' if k > 1 else ''}", train))
    else:
        for frac in (0.1, 0.2, 0.4):
            train, _ = split_holdout(sweep.data, "largest", frac)
            out.append((f"largest {frac:.0%} of compute", train))
    train, _ = split_holdout(sweep.data, "largest_N", 0.2)
    out.append(("largest 20% of N", train))
    return out


def main(argv: list[str] | None = None) -> int:
    """Fit every split, save the fits and an index."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--quick", action="store_true", help="2 sweeps, 300 + 300 draws")
    ap.add_argument("--shared", help="the shared data folder (default <repo>/../shared)")
    ap.add_argument("--out", default=str(RAW), help=f"folder of the fits (default {RAW})")
    args = ap.parse_args(argv)
    root = shared_dir(args.shared)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    settings = {"warmup": 300, "draws": 300} if args.quick else {}
    warnings.simplefilter("ignore", bayescale.SamplingWarning)
    warnings.simplefilter("ignore", EfficiencyWarning)
    sweeps = load_sweeps(root)
    if args.quick:
        sweeps = [sweeps[0], sweeps[-1]]
    index = []
    t_start = time.perf_counter()
    for sw in sweeps:
        for j, (label, train) in enumerate(splits(sw)):
            key = f"{sw.name.replace(' ', '_').replace('(', '').replace(')', '')}-{j}"
            t0 = time.perf_counter()
            data = sw.data.subset(train)
            # padded to a few sizes, so the compiled sampler is reused across sweeps
            pad = next(b for b in PADS if b >= len(data))
            fit = bayescale.FitResult.of(
                sample(data, progress_bar=False, extrapolation_check=False, pad_to=pad, **settings)
            )
            past_mask, _ = split_holdout(data, "largest", CHECK_FRAC)
            past = check_refit(fit, data.subset(past_mask), pad_to=pad)
            fit.save(out / f"{key}-fit.nc")
            bayescale.FitResult.of(past).save(out / f"{key}-past.nc")
            # the check's second refit: without the largest 20% of models by N (its update
            # of the sweep's own m beyond its N range)
            try:
                small_mask, _ = split_holdout(data, "largest_N", CHECK_FRAC)
            except ValueError:
                small_mask = None
            if small_mask is not None:
                small = check_refit(fit, data.subset(small_mask), pad_to=pad)
                bayescale.FitResult.of(small).save(out / f"{key}-small.nc")
            row = {
                "key": key,
                "sweep": sw.name,
                "source": source_of(sw.name),
                "split": label,
                "train": np.flatnonzero(train).tolist(),
                "past": np.flatnonzero(past_mask).tolist(),
                "small": None if small_mask is None else np.flatnonzero(small_mask).tolist(),
                "fit_ok": bool(fit.diagnostics.ok),
                "past_ok": bool(past.diagnostics.ok),
                "attempts": len(fit.diagnostics.attempts),
                "wall_s": time.perf_counter() - t0,
            }
            index.append(row)
            print(
                f"[{time.perf_counter() - t_start:6.0f}s] {sw.name:22s} {label:26s} "
                f"train {train.sum():4d} test {(~train).sum():4d} ok {row['fit_ok']}/"
                f"{row['past_ok']} ({row['wall_s']:.1f}s)",
                flush=True,
            )
            (out / "index.json").write_text(json.dumps(index, indent=1))
    print(f"done in {time.perf_counter() - t_start:.0f}s: {len(index)} splits in {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
