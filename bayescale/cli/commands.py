"""Command line: ``bayescale fit``, ``predict``, ``plan``, ``report``, ``compare``, ``backtest``...

``bayescale fit CSV ...`` prints a budget table; ``bayescale predict CSV --at 70B/1.4T``
fits and predicts the loss of new runs; ``bayescale plan CSV --target-budget C --spend S``
chooses the runs to train next; ``bayescale report CSV ... --out DIR`` also
writes a decision report; ``compare`` and ``backtest`` fit several laws or likelihoods and
rank them; ``bayescale demo`` fits the bundled Chinchilla data and writes a decision report.

Argument parsing and exit codes only; the work is done by the Python API.
Exit codes: 0 success; 2 bad input (unreadable file, bad column, invalid values, bad
option) with one line on stderr; 3 the fit ran but failed its checks (sampling
diagnostics, design, identification; its outputs are still written, with ``"ok": false``).
``compare`` and ``backtest`` fit several models: exit 3 if any of them failed its checks.
1 an internal error (a bug), also reported on one line.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
import warnings
from collections.abc import Iterator, Sequence
from typing import Any

from bayescale.cli.args import (
    EXIT_DIAGNOSTICS,
    EXIT_INPUT,
    EXIT_INTERNAL,
    EXIT_OK,
    InputError,
    build_parser,
)


def _write(path: str, text: str) -> None:
    from bayescale.inference.storage import atomic_write

    try:
        directory = os.path.dirname(os.path.abspath(path))
        os.makedirs(directory, exist_ok=True)
        with atomic_write(path) as fh:  # an interrupted run keeps the previous file
            fh.write(text)
    except OSError as exc:
        raise InputError(f"cannot write {path!r}: {exc.strerror or exc}") from None


def _check_writable(path: str | None) -> None:
    if not path:
        return
    if os.path.isdir(path):
        raise InputError(f"cannot write {path!r}: it is a directory")
    parent = os.path.dirname(os.path.abspath(path))
    while not os.path.exists(parent):
        parent = os.path.dirname(parent)
    if not os.path.isdir(parent):
        raise InputError(f"cannot write {path!r}: {parent!r} is a file, not a directory")


def _run(args: argparse.Namespace) -> int:
    # Bad input is answered before JAX and NumPyro load (1-2 s of imports): the data, the output
    # paths and the command's own options are checked with modules that import neither
    # (bayescale.data, bayescale.data.datasets, bayescale.data.units).
    if args.command == "demo":
        from bayescale.data.datasets import load_dataset

        data = load_dataset("chinchilla")
    else:
        data = _load_data(args)
    points = plan_points = None
    if args.command == "predict":
        points = _check_predict(args, data)
    elif args.command == "plan":
        plan_points = _check_plan(args)
    elif args.command == "compare" and len(args.laws) * len(args.likelihoods) < 2:
        raise InputError("compare needs at least two models (--laws or --likelihoods)")
    for path in (args.json, getattr(args, "report", None), getattr(args, "save", None)):
        _check_writable(path)  # before the fit, not after minutes of sampling

    import bayescale
    from bayescale.inference.programs import enable_compilation_cache, use_host_devices
    from bayescale.report.summaries import markdown_summary, text_summary

    use_host_devices()  # chains in parallel on CPU host devices, before JAX starts
    if not args.no_cache and os.environ.get("BAYESCALE_CACHE", "1") != "0":
        try:
            enable_compilation_cache()
        except OSError:
            pass  # an unwritable cache directory only costs compile time
    if args.command in ("compare", "backtest"):
        return _run_models(args, data)
    if points is not None:
        return _run_predict(args, data, points)
    if args.command == "plan":
        return _run_plan(args, data, plan_points)
    specs = args.budget or list(bayescale.DEFAULT_BUDGETS)
    budgets = [float(b) for b in specs]
    result = _fit(args, data)
    summary = result.to_dict(budgets, args.ci, args.ci_kind)
    _write_json(args.json, summary)
    if args.report:
        _write(args.report, markdown_summary(summary))
    _save(result, args.save)
    report = None
    if args.command in ("report", "demo"):
        report = _write_report(result, args, specs)
    if not args.quiet or not result.ok:
        print(text_summary(summary))
        if report is not None:
            print("\nSummary")
            print("\n".join(f"  - {s}" for s in report["summary"]))
            print(f"\nDecision report: {report['files']['html']} (also report.md, report.json)")
    return EXIT_OK if result.ok else EXIT_DIAGNOSTICS


#: The demo's example decisions: Chinchilla's own run (70B parameters on 1.4T tokens, about
#: Gopher's 5.76e23 FLOPs), two target losses and a 1T-token data cap.
DEMO_PLANS = ("70B/1.4T",)
DEMO_TARGETS = (2.0, 1.9)
DEMO_D_MAX = 1e12


def _write_report(result: Any, args: argparse.Namespace, budgets: list[Any]) -> dict[str, Any]:
    demo = args.command == "demo"
    plans = args.plan or (list(DEMO_PLANS) if demo else None)
    targets = args.target_loss or (list(DEMO_TARGETS) if demo else None)
    d_max = args.d_max if args.d_max is not None else (DEMO_D_MAX if demo else None)
    try:
        return result.report(
            args.out,
            budgets=budgets,
            plans=plans,
            target_loss=targets,
            d_max=d_max,
            cost=args.cost,
            eps=args.eps or (1e-3, 1e-2),
            within=args.within,
            ci=args.ci,
            ci_kind=args.ci_kind,
            figures=not args.no_figures,
            plan=args.plan_spend,
            title="bayescale demo: Chinchilla (Hoffmann et al. 2022, digitised by Besiroglu "
            "et al. 2024)"
            if demo
            else None,
        )
    except OSError as exc:
        raise InputError(f"cannot write report to {args.out!r}: {exc.strerror or exc}") from None


def _fit(args: argparse.Namespace, data: Any) -> Any:
    """The fit every command runs, with the sampler and law options given."""
    import bayescale
    from bayescale.inference.diagnostics import EfficiencyWarning, SamplingWarning

    with warnings.catch_warnings():
        # problems and notes are printed with the command's output (and problems reflected
        # in the exit code)
        warnings.simplefilter("ignore", SamplingWarning)
        warnings.simplefilter("ignore", EfficiencyWarning)
        return bayescale.fit(
            data,
            likelihood=args.likelihood,
            chains=args.chains,
            warmup=args.warmup,
            draws=args.draws,
            seed=args.seed,
            target_accept=args.target_accept,
            drift=args.drift,
            extrapolation_check=not args.no_extrapolation_check,
            escalate=not args.no_retry,
            **_law_options(args),
        )


def _write_json(path: str | None, obj: Any) -> None:
    """``--json``: ``obj`` as indented JSON (NaN written as NaN), if a path was given."""
    if path:
        _write(path, json.dumps(obj, indent=2) + "\n")


def _save(result: Any, path: str | None) -> None:
    """``--save``: the posterior as netCDF, if a path was given."""
    if path:
        try:
            result.save(path)
        except ValueError as exc:
            raise InputError(str(exc)) from None


def _law_options(args: argparse.Namespace) -> dict[str, Any]:
    """``law`` and ``pooling`` for fit(); none for ``demo`` (keeps its defaults)."""
    if getattr(args, "law", None) is None:
        return {}
    return {"law": args.law[0], "pooling": args.pooling}


def _load_data(args: argparse.Namespace) -> Any:
    """Read the runs; data warnings and the checkpoint note are printed on one line each."""
    from bayescale.data.scaling_data import CheckpointWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", CheckpointWarning)
        data = _read_data(args)
    if not args.quiet:
        for w in caught:
            if issubclass(w.category, CheckpointWarning):
                print(f"bayescale: warning: {_one_line(w.message)}", file=sys.stderr)
        if data.checkpoints_set_aside:
            rows = len(data) + data.checkpoints_set_aside
            print(
                f"bayescale: {len(data)} runs in {rows} rows (runs identified by "
                f"{', '.join(args.run_col)}): fitting each run's last checkpoint, "
                f"{data.checkpoints_set_aside} earlier checkpoint rows set aside"
            )
    return data


def _read_data(args: argparse.Namespace) -> Any:
    from bayescale.data.datasets import load_dataset
    from bayescale.data.scaling_data import ScalingData

    extra = dict(args.extra_col or [])
    units = {
        "run_cols": args.run_col,
        "n_unit": args.n_unit,
        "d_unit": args.d_unit,
        "loss_kind": args.loss_kind,
    }
    dataset = getattr(args, "dataset", None)
    if dataset is not None:
        if args.csv is not None:
            raise InputError("give a CSV or --dataset, not both")
        options: dict[str, Any] = {k: v for k, v in units.items() if v is not None}
        if extra:
            options["extra_cols"] = extra
        if args.group_col:
            options["group_col"] = args.group_col
        return load_dataset(dataset, **options)
    if args.csv is None:
        raise InputError("give a CSV file of runs (or --dataset NAME)")
    return ScalingData.from_csv(
        args.csv,
        n_col=args.n_col,
        d_col=args.d_col,
        loss_col=args.loss_col,
        c_col=args.c_col,
        flops_per_param_token=args.flops_per_param_token,
        extra_cols=extra or None,
        group_col=args.group_col,
        **units,
    )


def _prediction_points(args: argparse.Namespace, data: Any) -> tuple[Any, Any, dict[str, Any]]:
    """``--at`` or ``--at-file``: (N, D, per-point covariates read from the file)."""
    import numpy as np

    from bayescale.data.scaling_data import PLAUSIBLE_D_MAX, PLAUSIBLE_N_MAX, read_points_with

    if args.at and args.at_file:
        raise InputError("give --at points or --at-file, not both")
    if args.at_file:
        from bayescale.laws import LAWS

        # a covariate's column is named as the covariate (U_D) or as in the runs' CSV; every
        # law's covariates are read, so that a column the fit would not use is refused
        # (_run_predict) rather than silently ignored
        source = dict(args.extra_col or [])
        known = {c for law in LAWS.values() for c in law.covariates} | set(data.extra)
        names = {c: [c, *([source[c]] if c in source else [])] for c in sorted(known)}
        return read_points_with(args.at_file, names)
    if not args.at:
        raise InputError("give the runs to predict: --at N/D (e.g. 70B/1.4T) or --at-file")
    for n, d in args.at:
        # a bare 7 meant as 7B would be predicted silently at seven parameters
        if n < PLAUSIBLE_N_MAX or d < PLAUSIBLE_D_MAX:
            raise InputError(
                f"--at {n:g}/{d:g}: implausibly few parameters or tokens (N below "
                f"{PLAUSIBLE_N_MAX:g} or D below {PLAUSIBLE_D_MAX:g}); write sizes with a "
                "suffix (70B/1.4T) or in full (7e10/1.4e12)"
            )
    points = np.array(args.at, dtype=np.float64)
    return points[:, 0], points[:, 1], {}


def _check_predict(args: argparse.Namespace, data: Any) -> tuple[Any, Any, dict[str, Any]]:
    """``predict``'s own input, checked before the sampler loads: the group and the points."""
    groups = None if data.group is None else sorted({str(g) for g in data.group})
    if groups is None and args.group is not None:
        raise InputError(
            f"--group {args.group!r} needs a pooled fit: name the column of group labels "
            "with --group-col"
        )
    if groups is not None and args.group is None:
        raise InputError(
            f"a pooled fit predicts for one group: pass --group NAME (one of {', '.join(groups)})"
        )
    if groups is not None and args.group not in groups:
        raise InputError(
            f"--group {args.group!r} is not a group of the runs; groups: {', '.join(groups)}"
        )
    return _prediction_points(args, data)


def _run_predict(
    args: argparse.Namespace, data: Any, points: tuple[Any, Any, dict[str, Any]]
) -> int:
    """``predict``: fit, then the posterior predictive of new runs at the given sizes."""
    from bayescale.laws import get_law
    from bayescale.report.summaries import prediction_text, predictions

    N, D, covariates = points
    # before minutes of sampling: a per-point column the law does not take
    law = get_law(args.law[0])
    unused = [c for c in covariates if c not in law.covariates]
    if unused:
        raise InputError(
            f"--at-file has a column for {', '.join(unused)}, which law {law.name!r} does not "
            f"take (its inputs: N, D{''.join(f', {c}' for c in law.covariates)}); drop the "
            "column, or fit a law that takes it (U_D: --law data_constrained)"
        )
    result = _fit(args, data)
    d = predictions(
        result, N, D, ci=args.ci, seed=args.seed, group=args.group, covariates=covariates
    )
    out = {
        "n_runs": len(data),
        "source": data.source,
        "law": result.law.name,
        "likelihood": result.settings.likelihood,
        **d,
        "diagnostics": result.diagnostics.to_dict(),
    }
    _write_json(args.json, out)
    _save(result, args.save)
    if not args.quiet or not result.ok:
        _print_result("predict", data, result, prediction_text(d))
    return EXIT_OK if result.ok else EXIT_DIAGNOSTICS


def _print_result(command: str, data: Any, result: Any, body: str) -> None:
    """A command's terminal output: failure banner, what was fitted, body, diagnostics."""
    from bayescale.report.summaries import _FAILED_BANNER, _diag_line, sampler_notes

    diag = {"diagnostics": result.diagnostics.to_dict()}
    lines = [] if result.ok else [_FAILED_BANNER, ""]
    lines += [
        f"bayescale {command}: {len(data)} runs from {data.source}, {result.law.name} law, "
        f"{result.settings.likelihood} likelihood",
        "",
        body,
        "",
        _diag_line(diag),
    ]
    lines += [f"  - {p}" for p in diag["diagnostics"]["problems"]]
    lines += [f"  - {p}" for p in sampler_notes(diag["diagnostics"])]
    print("\n".join(lines))


def _check_plan(args: argparse.Namespace) -> Any:
    """``plan``'s own options and ``--candidates`` file, checked before JAX loads."""
    if args.group_col:
        raise InputError(
            "plan does not take --group-col yet; fit a pooled model in Python and call "
            "FitResult.plan_runs(..., group=...)"
        )
    if args.refit < 0:
        raise InputError(f"--refit must be >= 0, got {args.refit}")
    if not args.candidates:
        return None
    import pandas as pd

    from bayescale.data.scaling_data import read_points

    N, D = read_points(args.candidates, n_col=args.n_col, d_col=args.d_col)
    # exact values of the file's rows, labelled by line (the header is line 1)
    return pd.DataFrame({"N": N, "D": D}, index=range(2, len(N) + 2))


def _run_plan(args: argparse.Namespace, data: Any, points: Any) -> int:
    """``plan``: fit, then the runs to train next under ``--spend`` (decisions.planning)."""
    from bayescale.decisions.planning import check_candidates, plan_text

    candidates = None if points is None else check_candidates(points)
    result = _fit(args, data)
    plan = result.plan_runs(
        candidates,
        target_budget=args.target_budget,
        spend=args.spend,
        max_runs=args.max_runs,
        criterion=args.criterion,
        ci=args.ci,
        seed=args.seed,
        refit=args.refit,
    )
    _write_json(args.json, plan.to_dict())
    if not args.quiet or not result.ok:
        _print_result("plan", data, result, plan_text(plan))
    return EXIT_OK if result.ok else EXIT_DIAGNOSTICS


def _run_models(args: argparse.Namespace, data: Any) -> int:
    """``compare`` and ``backtest``: several fits, one table, the same exit codes."""
    import bayescale
    from bayescale.checks.model_checks import ModelCheckWarning
    from bayescale.inference.diagnostics import SamplingWarning
    from bayescale.report.blocks import fmt

    settings = {
        "chains": args.chains,
        "warmup": args.warmup,
        "draws": args.draws,
        "target_accept": args.target_accept,
        "pooling": args.pooling,
        "escalate": not args.no_retry,
    }
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("ignore", SamplingWarning)
        warnings.simplefilter("always", ModelCheckWarning)
        if args.command == "backtest":
            bt = bayescale.backtest(
                data,
                laws=args.laws,
                likelihoods=args.likelihoods,
                holdout=args.holdout,
                frac=args.frac,
                ci=args.levels,
                seed=args.seed,
                **settings,
            )
            out = {"n_runs": len(data), "source": data.source, **bt.to_dict()}
            ok = bt.ok
            table = bt.table
            title = (
                f"Backtest: {len(bt.runs) // len(table)} of {len(data)} runs held out "
                f"({args.holdout}, size >= {fmt(bt.threshold)}), predicted from the rest"
            )
        else:
            fits = {}
            for law in args.laws:
                for lik in args.likelihoods:
                    fits[f"{law}/{lik}"] = bayescale.fit(
                        data, law=law, likelihood=lik, seed=args.seed, **settings
                    )
            table = bayescale.compare(fits)
            ok = all(f.ok for f in fits.values())
            rows = [
                {"model": str(name), **{k: _plain(v) for k, v in r.items()}}
                for name, r in table.iterrows()
            ]
            out = {
                "n_runs": len(data),
                "source": data.source,
                "models": rows,
                "diagnostics": {
                    "ok": ok,
                    "problems": {
                        n: list(f.diagnostics.problems) for n, f in fits.items() if not f.ok
                    },
                },
            }
            title = f"PSIS-LOO comparison of {len(fits)} models on {len(data)} runs (log loss)"
    notes = [_one_line(w.message) for w in caught if issubclass(w.category, ModelCheckWarning)]
    if notes:
        out["notes"] = notes
    _write_json(args.json, out)
    if not args.quiet or not ok:
        print(title)
        print(_table_text(table))
        for n in notes:
            print(f"  note: {n}")
        if not ok:
            for name, problems in out["diagnostics"]["problems"].items():
                print(f"  {name}: diagnostics FAILED — {' '.join(problems)}")
    return EXIT_OK if ok else EXIT_DIAGNOSTICS


def _plain(v: Any) -> Any:
    return v.item() if hasattr(v, "item") else v


def _table_text(table: Any) -> str:
    from bayescale.report.blocks import fmt

    def cell(v: Any) -> str:
        if isinstance(v, bool):
            return "yes" if v else "NO"
        if isinstance(v, float):
            return fmt(v, 3)
        return str(v)

    frame = table.reset_index() if table.index.name else table
    header = [str(c) for c in frame.columns]
    rows = [[cell(_plain(v)) for v in r] for r in frame.itertuples(index=False)]
    widths = [max(len(x) for x in col) for col in zip(header, *rows, strict=False)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(lines)


def _one_line(message: Any) -> str:
    return " ".join(str(message).split())


@contextlib.contextmanager
def _silenced() -> Iterator[None]:
    """``--quiet``: no warnings (JAX's compilation-cache ones included) and no JAX log lines.

    Problems that matter still reach the user: failed diagnostics print the table and set
    exit code 3, bad input prints one line and exits 2.
    """
    loggers = [logging.getLogger(name) for name in ("jax", "jax._src", "absl")]
    levels = [lg.level for lg in loggers]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for lg in loggers:
            lg.setLevel(logging.ERROR)
        try:
            yield
        finally:
            for lg, level in zip(loggers, levels, strict=True):
                lg.setLevel(level)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``bayescale`` command; returns the exit code."""
    try:
        args = build_parser().parse_args(argv)
        if getattr(args, "quiet", False):
            with _silenced():
                return _run(args)
        return _run(args)
    except (InputError, ValueError) as exc:
        print(f"bayescale: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_INPUT
    except KeyboardInterrupt:
        print("bayescale: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug, not bad input: still one line, unless debugging
        if type(exc).__name__ == "SamplingError":  # by name: no JAX import at start-up
            # sampling trouble that stops a command (LOO of stuck chains): reported, exit 3
            print(f"bayescale: sampling problem: {_one_line(exc)}", file=sys.stderr)
            return EXIT_DIAGNOSTICS
        if os.environ.get("BAYESCALE_DEBUG", "0") not in ("", "0"):
            raise
        print(
            f"bayescale: internal error: {type(exc).__name__}: {_one_line(exc)} (please "
            "report it; BAYESCALE_DEBUG=1 shows the traceback)",
            file=sys.stderr,
        )
        return EXIT_INTERNAL


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
