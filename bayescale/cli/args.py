"""The command line's arguments: options, their converters and checks, and the parser.

Nothing here imports JAX or NumPyro, so ``--help`` and bad options are answered at once: the
choices come from :mod:`bayescale.choices` and the converters from :mod:`bayescale.data.units`,
which import neither; :mod:`bayescale.cli` runs the commands.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, NoReturn

from bayescale.choices import (
    BUILTIN_LAWS,
    CI_KINDS,
    DEFAULT_DRIFT,
    DEFAULT_LAW,
    DEFAULT_LIKELIHOOD,
    HOLDOUTS,
    LIKELIHOODS,
    LOSS_KINDS,
    POOLINGS,
)

__all__ = [
    "EXIT_DIAGNOSTICS",
    "EXIT_INPUT",
    "EXIT_INTERNAL",
    "EXIT_OK",
    "InputError",
    "build_parser",
]

EXIT_OK, EXIT_INTERNAL, EXIT_INPUT, EXIT_DIAGNOSTICS = 0, 1, 2, 3


class InputError(Exception):
    """Bad command-line input: reported on one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # argparse prints usage plus a message over several lines; we promise one line.
        raise InputError(message)


def _budget(text: str) -> Any:
    # a Budget (float(b) is its FLOPs) so reports can state the unit conversion used
    from bayescale.data.units import parse_budget_spec

    return _parsed(parse_budget_spec)(text)


def _parsed(parse: Any) -> Any:
    """An argparse type from a parser that raises ValueError with a one-line message."""

    def convert(text: str) -> Any:
        try:
            return parse(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return convert


def _number(cast: Any, what: str, ok: Any, expected: str) -> Any:
    """An argparse type: ``cast(text)`` that must satisfy ``ok``, with a clear message."""

    def convert(text: str) -> Any:
        try:
            v = cast(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if not ok(v):
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text}")
        return v

    return convert


_positive_float = _number(float, "a number", lambda v: 0 < v < float("inf"), "a finite number > 0")
_probability = _number(float, "a probability", lambda v: 0 < v < 1, "a probability in (0, 1)")
_positive_int = _number(int, "a whole number", lambda v: v >= 1, "a number >= 1")


def _names(kind: str) -> Any:
    """Parse a comma-separated list of law or likelihood names."""

    def parse(text: str) -> list[str]:
        names = [t.strip() for t in text.split(",") if t.strip()]
        if not names:
            raise argparse.ArgumentTypeError(f"expected one or more {kind} names")
        if kind == "law":
            for n in names:
                _check_law(n)
        else:
            bad = [n for n in names if n not in LIKELIHOODS]
            if bad:
                raise argparse.ArgumentTypeError(
                    f"unknown likelihood {bad[0]!r}; choose from {', '.join(LIKELIHOODS)}"
                )
        return names

    return parse


def _check_law(name: str) -> None:
    """A law name: built in, or registered by the caller before :func:`bayescale.cli.main`.

    A law of one's own can only have been registered through :mod:`bayescale.laws`; if that
    module is not loaded, the registry holds the built-in laws alone, so the name is checked
    against :data:`~bayescale.choices.BUILTIN_LAWS` without importing JAX.
    """
    if name in BUILTIN_LAWS:
        return
    laws = sys.modules.get("bayescale.laws")
    try:
        if laws is not None:
            laws.get_law(name)
            return
        raise ValueError(
            f"unknown law {name!r}; choose one of {', '.join(BUILTIN_LAWS)} or define_law(...)"
        )
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _extra_col(text: str) -> tuple[str, str]:
    name, sep, col = text.partition("=")
    if not sep or not name.strip() or not col.strip():
        raise argparse.ArgumentTypeError(
            f"expected NAME=COLUMN (e.g. U_D=unique_tokens), got {text!r}"
        )
    return name.strip(), col.strip()


def _add_data_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("csv", nargs="?", help="CSV with one row per training run")
    p.add_argument(
        "--dataset",
        metavar="NAME",
        help="a bundled data set instead of a CSV (chinchilla, datablations, misfitting)",
    )
    p.add_argument("--n-col", default="N", help="parameters column (default N)")
    p.add_argument("--d-col", default="D", help="training tokens column (default D)")
    p.add_argument(
        "--c-col",
        default="C",
        help="training FLOPs column, used when N or D is absent (default C)",
    )
    p.add_argument("--loss-col", default="loss", help="final loss column (default loss)")
    p.add_argument(
        "--flops-per-param-token", type=float, default=6.0, help="k in C = k·N·D (default 6)"
    )
    p.add_argument(
        "--run-col",
        type=_columns,
        metavar="COL[,COL...]",
        help="columns that identify a run in a file of checkpoints: each run's last "
        "checkpoint (largest D) is fitted, e.g. --run-col model,total_steps,peak_lr",
    )
    p.add_argument(
        "--n-unit",
        type=_unit,
        metavar="UNIT",
        help="unit of the N column: 1, K, M, B (or G), T, e.g. M for a params_M column",
    )
    p.add_argument(
        "--d-unit", type=_unit, metavar="UNIT", help="unit of the D column, e.g. B for tokens_B"
    )
    p.add_argument(
        "--loss-kind",
        choices=LOSS_KINDS,
        help="perplexity: fit the log of the loss column; loss: accept losses above 8 nats",
    )
    _add_law_data_options(p)


def _columns(text: str) -> list[str]:
    cols = [t.strip() for t in text.split(",")]
    if not cols or any(not c for c in cols):
        raise argparse.ArgumentTypeError(f"expected COL or COL,COL,..., got {text!r}")
    return cols


def _unit(text: str) -> str:
    from bayescale.data.units import parse_unit

    try:
        parse_unit(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"unknown unit {text!r}; expected 1, K, M, B (or G) or T"
        ) from None
    return text


def _add_law_data_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--extra-col",
        type=_extra_col,
        action="append",
        metavar="NAME=COLUMN",
        help="a per-run column a law needs, e.g. U_D=unique_tokens (repeatable)",
    )
    p.add_argument(
        "--group-col", metavar="COLUMN", help="group label column: pooled fit over groups"
    )
    p.add_argument(
        "--pooling",
        choices=POOLINGS,
        default="partial",
        help="with --group-col: exponents partially pooled (default), shared or separate",
    )


def _add_sampler_options(p: argparse.ArgumentParser, *, likelihood: bool = False) -> None:
    if likelihood:  # commands that fit one model (compare/backtest take --likelihoods)
        p.add_argument(
            "--likelihood",
            choices=LIKELIHOODS,
            default=DEFAULT_LIKELIHOOD,
            help=f"residual distribution on log loss (default {DEFAULT_LIKELIHOOD})",
        )
    p.add_argument("--chains", type=_positive_int, default=4)
    p.add_argument("--warmup", type=_positive_int, default=1000)
    p.add_argument("--draws", type=_positive_int, default=1000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--target-accept", type=_probability, default=0.8)
    p.add_argument(
        "--drift",
        type=_number(float, "a number", lambda v: 0 <= v < float("inf"), "a finite number >= 0"),
        default=DEFAULT_DRIFT,
        help="extrapolation uncertainty beyond the largest run, as a multiple of the "
        "calibrated default (1); 0 trusts the law's form at any budget",
    )
    p.add_argument(
        "--no-extrapolation-check",
        action="store_true",
        help="skip the fit-time check that predicts the largest runs from the smaller ones "
        "(and so the update of the drift beyond the data by them)",
    )
    p.add_argument(
        "--no-retry",
        action="store_true",
        help="keep the first sampling attempt even when it fails a check (by default a "
        "struggling sampler is retried with other settings, at most 3 times)",
    )
    p.add_argument("--json", metavar="OUT", help="write the results as JSON")
    p.add_argument(
        "--no-cache", action="store_true", help="do not use the on-disk compilation cache"
    )
    p.add_argument("--quiet", action="store_true", help="print nothing on success")


def _levels(text: str) -> list[float]:
    out = []
    for t in text.split(","):
        out.append(_probability(t.strip()))
    return out


def _add_fit_options(p: argparse.ArgumentParser) -> None:
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
        choices=CI_KINDS,
        default="eti",
        help="equal-tailed (default) or highest-density intervals",
    )
    _add_sampler_options(p, likelihood=True)
    p.add_argument("--save", metavar="OUT.nc", help="save the posterior (netCDF)")
    p.add_argument("--report", metavar="OUT.md", help="write a Markdown report")


def _point(text: str) -> tuple[float, float]:
    from bayescale.data.units import parse_count

    n, sep, d = text.partition("/")
    if not sep:
        raise argparse.ArgumentTypeError(
            f"expected N/D (parameters/tokens, e.g. 70B/1.4T or 7e9/2e12), got {text!r}"
        )
    try:
        return parse_count(n.strip(), "N"), parse_count(d.strip(), "D")
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{exc} (in --at {text!r})") from None


def _add_predict_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--at",
        type=_point,
        action="append",
        metavar="N/D",
        help="a new run: parameters/tokens, e.g. 70B/1.4T or 7e9/2e12; repeatable",
    )
    p.add_argument(
        "--at-file",
        metavar="FILE",
        help="CSV of new runs with columns N and D (sizes like 70B allowed); for a law with "
        "covariates also a per-run column of each, e.g. U_D (unique tokens) for "
        "data_constrained, named as the covariate or as its --extra-col column",
    )
    p.add_argument(
        "--group",
        metavar="NAME",
        help="with --group-col (a pooled fit): the group whose new runs to predict",
    )
    p.add_argument("--ci", type=_probability, default=0.9, help="credible mass (default 0.9)")
    _add_sampler_options(p, likelihood=True)
    p.add_argument("--save", metavar="OUT.nc", help="save the posterior (netCDF)")


def _factor(text: str) -> float:
    v = _positive_float(text)
    if v <= 1:
        raise argparse.ArgumentTypeError(f"expected a factor > 1, got {text}")
    return v


def _add_report_options(p: argparse.ArgumentParser, *, demo: bool) -> None:
    from bayescale.data.units import parse_cost, parse_count, parse_plan

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
    p.add_argument(
        "--plan-spend",
        type=_budget,
        metavar="S",
        help="add a 'what to train next' section: the runs to train with this much compute "
        "(FLOPs, PF-days or accelerator time) to shrink the N_opt interval at the largest "
        "budget",
    )


def _add_plan_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--target-budget",
        type=_budget,
        required=True,
        metavar="C",
        help="the budget whose decision the runs should inform: FLOPs, PF-days or "
        "accelerator time (e.g. 1e24)",
    )
    p.add_argument(
        "--spend",
        type=_budget,
        required=True,
        metavar="S",
        help="compute for the new runs, in the same units (e.g. 2e22 or 256xH100:2d@40%%)",
    )
    p.add_argument(
        "--candidates",
        metavar="FILE",
        help="CSV of runs you could train, columns N and D (--n-col/--d-col names); default "
        "a grid from the smallest run to 10x the largest, 1-400 tokens per parameter",
    )
    p.add_argument("--max-runs", type=_positive_int, metavar="K", help="at most K runs")
    p.add_argument(
        "--criterion",
        choices=("n_opt", "loss", "regret", "predict"),
        default="n_opt",
        help="shrink the spread of log N_opt (default: to pin down the allocation), of the "
        "optimal loss, the expected regret of the Bayes choice, or the expected error of the "
        "predicted loss of the Bayes-optimal run (predict: to predict the big run well), at "
        "the target budget",
    )
    p.add_argument(
        "--refit",
        type=int,
        default=0,
        metavar="R",
        help="if the reweighted draws degenerate, re-estimate the expected interval from R "
        "refits of simulated outcomes (default 0: only flag it)",
    )
    p.add_argument("--ci", type=_probability, default=0.9, help="credible mass (default 0.9)")
    _add_sampler_options(p, likelihood=True)


def _add_law_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--law",
        type=_names("law"),
        default=[DEFAULT_LAW],
        help=f"scaling law: {', '.join(BUILTIN_LAWS)} (default {DEFAULT_LAW})",
    )


def _add_models_options(p: argparse.ArgumentParser, laws: str, likelihoods: str) -> None:
    """``--laws`` and ``--likelihoods`` of the commands that fit several models."""
    p.add_argument("--laws", type=_names("law"), default=[DEFAULT_LAW], help=laws)
    p.add_argument(
        "--likelihoods", type=_names("likelihood"), default=[DEFAULT_LIKELIHOOD], help=likelihoods
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
    _add_law_option(f)
    pr = sub.add_parser(
        "predict",
        help="fit a CSV and predict the loss of new runs at given sizes, with intervals",
    )
    _add_data_options(pr)
    _add_predict_options(pr)
    _add_law_option(pr)
    r = sub.add_parser(
        "report", help="fit a CSV and write a decision report (Markdown, HTML, JSON)"
    )
    _add_data_options(r)
    _add_fit_options(r)
    _add_law_option(r)
    _add_report_options(r, demo=False)
    c = sub.add_parser("compare", help="fit several laws/likelihoods and rank them by PSIS-LOO")
    _add_data_options(c)
    _add_models_options(
        c,
        f"comma-separated laws, e.g. chinchilla,kaplan (default {DEFAULT_LAW})",
        "comma-separated likelihoods, e.g. gaussian,student_t,huber "
        f"(default {DEFAULT_LIKELIHOOD})",
    )
    _add_sampler_options(c)
    b = sub.add_parser(
        "backtest", help="fit the smaller runs, score predictions of the largest held-out runs"
    )
    _add_data_options(b)
    _add_models_options(b, "as for compare", "as for compare")
    b.add_argument(
        "--holdout",
        choices=HOLDOUTS,
        default="largest",
        help="hold out the runs with the largest compute (default), N or D",
    )
    b.add_argument(
        "--frac", type=_probability, default=0.2, help="share of runs held out (default 0.2)"
    )
    b.add_argument(
        "--levels",
        type=_levels,
        default=[0.5, 0.9],
        help="predictive-interval levels to score (default 0.5,0.9)",
    )
    _add_sampler_options(b)
    pl = sub.add_parser(
        "plan",
        help="fit a CSV and choose the next runs to train under a compute cap, to shrink "
        "the uncertainty at a target budget",
    )
    _add_data_options(pl)
    _add_plan_options(pl)
    _add_law_option(pl)
    d = sub.add_parser(
        "demo",
        help="fit the bundled Chinchilla data, print a budget table, write a decision report",
    )
    _add_fit_options(d)
    _add_report_options(d, demo=True)
    return parser
