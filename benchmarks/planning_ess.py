"""How many posterior draws carry each plan of ``benchmarks/planning.py``? (issue 26)

The planner scores candidates by importance-reweighting the seed fit's draws with each
simulated outcome. When the chosen runs are informative, the weights collapse onto a few
draws and the plan's scores and promise rest on them (``RunPlan.ess_median``, flagged
``degenerate`` below ``ESS_MIN``). This refits each sweep's seed exactly as section 3 of
``PLANNING.md`` does (same seed, same plan calls, so the same plans) and prints, per spend,
the runs chosen by the n_opt planner, the median and smallest effective sample size over
the evaluation scenarios, and the promised log-width of N_opt's 90% interval. About 30 s
per sweep::

    .venv/bin/python benchmarks/planning_ess.py [--sweeps NAME ...]
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import planning
from extrapolation import shared_dir

from bayescale.decisions.planning import ESS_MIN


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--sweeps", nargs="+", metavar="NAME", help="default: all of section 3")
    ap.add_argument("--shared", help="the shared data folder (default ../shared)")
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    print(f"| sweep | spend | runs | median ESS | smallest ESS | degenerate (< {ESS_MIN:.0f}) "
          "| promised width |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    for task in planning.sweep_tasks(shared_dir(args.shared), args.sweeps):
        pool, C = task.pool, task.pool.C
        seed_idx, cand_idx = planning.seed_split(C)
        fit, _ = planning.fit_default(pool.subset(np.isin(np.arange(len(C)), seed_idx)), {}, 0)
        cand = pd.DataFrame({"N": pool.N[cand_idx], "D": pool.D[cand_idx]})
        cost = C[cand_idx]
        for frac in planning.SPENDS:
            spend = frac * float(cost.sum())
            if spend < cost.min():
                continue
            plan = fit.plan_runs(
                cand, target_budget=task.target, spend=spend, criterion="n_opt", seed=0
            )
            width = planning.log_width(plan.expected_after["lo"], plan.expected_after["hi"])
            print(
                f"| {task.name} | {frac:.0%} | {len(plan.runs)} | {plan.ess_median:.0f} | "
                f"{plan.ess_min:.0f} | {'yes' if plan.degenerate else 'no'} | {width:.2f} |",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
