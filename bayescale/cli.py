"""Command line: ``bayescale fit``, ``bayescale report`` and ``bayescale demo``.

``bayescale fit CSV ...`` prints a budget table; ``bayescale report CSV ... --out DIR`` also
writes a decision report; ``bayescale demo`` does both on the bundled Chinchilla data.

Argument parsing and exit codes only; the work is done by the Python API.
Exit codes: 0 success; 2 bad input (unreadable file, bad column, invalid values, bad
option) with one line on stderr; 3 the fit ran but failed its sampling diagnostics
(its outputs are still written, with ``"ok": false``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from collections.abc import Sequence
from typing import Any, NoReturn

EXIT_OK, EXIT_INPUT, EXIT_DIAGNOSTICS = 0, 2, 3


class _InputError(Exception):
    """Bad command-line input: reported on one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # argparse prints usage plus a message over several lines; we promise one line.
        raise _InputError(message)


def _budget(text: str) -> Any:
    # a Budget (float(b) is its FLOPs) so reports can state the unit conversion used
    from bayescale.units import parse_budget_spec

    try:
        return parse_budget_spec(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _parsed(parse: Any) -> Any:
    """An argparse type from a parser that raises ValueError with a one-line message."""

    def convert(text: str) -> Any:
        try:
            return parse(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return convert


def _positive_float(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not v > 0 or v == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a finite number > 0, got {text}")
    return v


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
        help="training compute: FLOPs (1e24), PF-days (5000pf-days) or accelerator time "
        "(2048xH100:30d@40%%); repeat for several budgets",
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


def _factor(text: str) -> float:
    v = _positive_float(text)
    if v <= 1:
        raise argparse.ArgumentTypeError(f"expected a factor > 1, got {text}")
    return v


def _add_report_options(p: argparse.ArgumentParser, *, demo: bool) -> None:
    from bayescale.decisions import parse_plan
    from bayescale.units import parse_cost, parse_count

    p.add_argument(
        "--plan",
        type=_parsed(parse_plan),
        action="append",
        metavar="N/D",
        help="a planned run to assess: N/D (70B/1.4T) or N@C (70B@5.76e23); repeatable"
        + (" (default 70B/1.4T, Chinchilla's own run)" if demo else ""),
    )
    p.add_argument(
        "--target-loss",
        type=_positive_float,
        action="append",
        metavar="L",
        help="a target loss: report the compute needed to reach it; repeatable",
    )
    p.add_argument(
        "--d-max",
        type=_parsed(lambda t: parse_count(t, "--d-max")),
        metavar="TOKENS",
        help="cap on unique training tokens (e.g. 1T): best allocation under the cap",
    )
    p.add_argument(
        "--cost",
        type=_parsed(parse_cost),
        metavar="SPEC",
        help="express budgets and waste in accelerator-hours and money, e.g. H100@40%%,$2.5/h",
    )
    p.add_argument(
        "--eps",
        type=_positive_float,
        action="append",
        help="regret threshold for P(regret < eps); repeatable (default 0.001 and 0.01)",
    )
    p.add_argument(
        "--within",
        type=_factor,
        default=2.0,
        help="report P(plan's N within this factor of N_opt) (default 2)",
    )
    p.add_argument(
        "--out",
        metavar="DIR",
        required=not demo,
        default="demo-report" if demo else None,
        help="directory for report.md, report.html, report.json and figures/"
        + (" (default demo-report)" if demo else ""),
    )
    p.add_argument("--no-figures", action="store_true", help="skip the figures")


def _add_data_options(f: argparse.ArgumentParser) -> None:
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


def build_parser() -> argparse.ArgumentParser:
    """The ``bayescale`` argument parser."""
    parser = _Parser(
        prog="bayescale",
        description="Bayesian scaling-law fits and compute-optimal allocation with intervals.",
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    f = sub.add_parser("fit", help="fit a CSV of training runs")
    _add_data_options(f)
    _add_fit_options(f)
    r = sub.add_parser(
        "report", help="fit a CSV and write a decision report (Markdown, HTML, JSON)"
    )
    _add_data_options(r)
    _add_fit_options(r)
    _add_report_options(r, demo=False)
    d = sub.add_parser(
        "demo",
        help="fit the bundled Chinchilla data, print a budget table, write a decision report",
    )
    _add_fit_options(d)
    _add_report_options(d, demo=True)
    return parser


def _write(path: str, text: str) -> None:
    try:
        directory = os.path.dirname(os.path.abspath(path))
        os.makedirs(directory, exist_ok=True)
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(text)
    except OSError as exc:
        raise _InputError(f"cannot write {path!r}: {exc.strerror or exc}") from None


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
    specs = args.budget or list(bayescale.DEFAULT_BUDGETS)
    budgets = [float(b) for b in specs]
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
            title="bayescale demo: Chinchilla (Hoffmann et al. 2022, digitised by Besiroglu "
            "et al. 2024)"
            if demo
            else None,
        )
    except OSError as exc:
        raise _InputError(f"cannot write report to {args.out!r}: {exc.strerror or exc}") from None


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


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
