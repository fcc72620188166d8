"""Command line: ``bayescale fit CSV ...`` and ``bayescale demo``.

Argument parsing and exit codes only; the work is done by the Python API.
Exit codes: 0 success; 2 bad input (unreadable file, bad column, invalid values, bad
option) with one line on stderr; 3 the fit ran but failed its checks (sampling
diagnostics, design, identification; its outputs are still written, with ``"ok": false``);
1 an internal error (a bug), also reported on one line.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from collections.abc import Sequence
from typing import Any, NoReturn

EXIT_OK, EXIT_INTERNAL, EXIT_INPUT, EXIT_DIAGNOSTICS = 0, 1, 2, 3


class _InputError(Exception):
    """Bad command-line input: reported on one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # argparse prints usage plus a message over several lines; we promise one line.
        raise _InputError(message)


def _budget(text: str) -> float:
    from bayescale.units import parse_budget

    try:
        return parse_budget(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _probability(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a probability, got {text!r}") from None
    if not 0 < v < 1:
        raise argparse.ArgumentTypeError(f"expected a probability in (0, 1), got {text}")
    return v


def _positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected a number >= 1, got {text}")
    return v


def _add_fit_options(p: argparse.ArgumentParser) -> None:
    from bayescale.law import LIKELIHOODS

    p.add_argument(
        "--budget",
        type=_budget,
        action="append",
        metavar="C",
        help="training compute in FLOPs (e.g. 1e24); repeat for several budgets",
    )
    p.add_argument("--ci", type=_probability, default=0.9, help="credible mass (default 0.9)")
    p.add_argument(
        "--ci-kind",
        choices=("eti", "hdi"),
        default="eti",
        help="equal-tailed (default) or highest-density intervals",
    )
    p.add_argument(
        "--likelihood",
        choices=LIKELIHOODS,
        default="gaussian",
        help="residual distribution on log loss (default gaussian)",
    )
    p.add_argument("--chains", type=_positive_int, default=4)
    p.add_argument("--warmup", type=_positive_int, default=1000)
    p.add_argument("--draws", type=_positive_int, default=1000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--target-accept", type=_probability, default=0.8)
    p.add_argument("--json", metavar="OUT", help="write the results as JSON")
    p.add_argument("--save", metavar="OUT.nc", help="save the posterior (netCDF)")
    p.add_argument("--report", metavar="OUT.md", help="write a Markdown report")
    p.add_argument(
        "--no-cache", action="store_true", help="do not use the on-disk compilation cache"
    )
    p.add_argument("--quiet", action="store_true", help="print nothing on success")


def build_parser() -> argparse.ArgumentParser:
    """The ``bayescale`` argument parser."""
    parser = _Parser(
        prog="bayescale",
        description="Bayesian scaling-law fits and compute-optimal allocation with intervals.",
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    f = sub.add_parser("fit", help="fit a CSV of training runs")
    f.add_argument("csv", help="CSV with one row per training run")
    f.add_argument("--n-col", default="N", help="parameters column (default N)")
    f.add_argument("--d-col", default="D", help="training tokens column (default D)")
    f.add_argument(
        "--c-col",
        default="C",
        help="training FLOPs column, used when N or D is absent (default C)",
    )
    f.add_argument("--loss-col", default="loss", help="final loss column (default loss)")
    f.add_argument(
        "--flops-per-param-token", type=float, default=6.0, help="k in C = k·N·D (default 6)"
    )
    _add_fit_options(f)
    d = sub.add_parser("demo", help="fit the bundled Chinchilla data and print a budget report")
    _add_fit_options(d)
    return parser


def _write(path: str, text: str) -> None:
    try:
        directory = os.path.dirname(os.path.abspath(path))
        os.makedirs(directory, exist_ok=True)
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(text)
    except OSError as exc:
        raise _InputError(f"cannot write {path!r}: {exc.strerror or exc}") from None


def _check_writable(path: str | None) -> None:
    if not path:
        return
    if os.path.isdir(path):
        raise _InputError(f"cannot write {path!r}: it is a directory")
    parent = os.path.dirname(os.path.abspath(path))
    while not os.path.exists(parent):
        parent = os.path.dirname(parent)
    if not os.path.isdir(parent):
        raise _InputError(f"cannot write {path!r}: {parent!r} is a file, not a directory")


def _run(args: argparse.Namespace) -> int:
    import bayescale
    from bayescale.diagnostics import SamplingWarning
    from bayescale.inference import enable_compilation_cache
    from bayescale.report import markdown_summary, text_summary

    if not args.no_cache and os.environ.get("BAYESCALE_CACHE", "1") != "0":
        try:
            enable_compilation_cache()
        except OSError:
            pass  # an unwritable cache directory only costs compile time
    if args.command == "demo":
        data = bayescale.load_dataset("chinchilla")
    else:
        data = bayescale.ScalingData.from_csv(
            args.csv,
            n_col=args.n_col,
            d_col=args.d_col,
            loss_col=args.loss_col,
            c_col=args.c_col,
            flops_per_param_token=args.flops_per_param_token,
        )
    for path in (args.json, args.report, args.save):
        _check_writable(path)  # before the fit, not after minutes of sampling
    budgets = args.budget or list(bayescale.DEFAULT_BUDGETS)
    with warnings.catch_warnings():
        # problems are printed with the table and reflected in the exit code
        warnings.simplefilter("ignore", SamplingWarning)
        result = bayescale.fit(
            data,
            likelihood=args.likelihood,
            chains=args.chains,
            warmup=args.warmup,
            draws=args.draws,
            seed=args.seed,
            target_accept=args.target_accept,
        )
    summary = result.to_dict(budgets, args.ci, args.ci_kind)
    if args.json:
        _write(args.json, json.dumps(summary, indent=2) + "\n")
    if args.report:
        _write(args.report, markdown_summary(summary))
    if args.save:
        try:
            result.save(args.save)
        except ValueError as exc:
            raise _InputError(str(exc)) from None
    if not args.quiet or not result.ok:
        print(text_summary(summary))
    return EXIT_OK if result.ok else EXIT_DIAGNOSTICS


def _one_line(message: Any) -> str:
    return " ".join(str(message).split())


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``bayescale`` command; returns the exit code."""
    try:
        args = build_parser().parse_args(argv)
        return _run(args)
    except (_InputError, ValueError) as exc:
        print(f"bayescale: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_INPUT
    except KeyboardInterrupt:
        print("bayescale: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug, not bad input: still one line, unless debugging
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
