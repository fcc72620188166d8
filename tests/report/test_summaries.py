"""The fit summaries on the report's blocks (bayescale.report.summaries)."""

from bayescale.report.summaries import law_formula, markdown_summary, text_summary


def test_law_formula_names_the_fitted_law():
    assert law_formula("chinchilla") == "L(N, D) = E + A/N^α + B/D^β"
    assert law_formula("kaplan").startswith("L(N, D) = [(N_c/N)")
    assert law_formula("mine") == "the 'mine' law"


def _fit_dict(ok=True):
    q = {"median": 1.0, "lo": 0.5, "hi": 2.0}
    return {
        "n_runs": 3,
        "ci": 0.9,
        "ci_kind": "eti",
        "likelihood": "gaussian",
        "law": "kaplan",
        "parameters": {"E": {**q, "r_hat": 1.001, "ess_bulk": 900.0}},
        "exponents": {},
        "allocations": [
            {"budget": 1e21, **{k: q for k in ("N_opt", "D_opt", "tokens_per_param", "loss")}}
        ],
        "diagnostics": {
            "ok": ok,
            "r_hat_max": 1.001,
            "ess_bulk_min": 900.0,
            "divergences": 0,
            "mean_leapfrog_steps": 7.0,
            "problems": [] if ok else ["R-hat too high."],
        },
        "settings": {"chains": 2, "draws": 10, "seed": 0},
        "priors": {"E": "Normal(0, 1)"},
        "data": {"source": "runs.csv", "flops_per_param_token": 6.0},
    }


def test_fit_summaries():
    text = text_summary(_fit_dict())
    assert text.startswith("bayescale: 3 runs from runs.csv, gaussian likelihood")
    assert "Parameters (posterior median, 90% ETI)\nparam" in text
    assert "Exponents" not in text  # a law without exponents has no such table
    md = markdown_summary(_fit_dict())
    assert md.startswith("# bayescale fit\n\n3 runs from `runs.csv`; law L(N, D) = [(N_c/N)")
    assert "| E | 1.000 | [0.5000, 2.000] | 1.001 | 900 |" in md
    assert "## Priors\n\n- E: Normal(0, 1)\n" in md


def test_failed_fit_warns_first():
    text = text_summary(_fit_dict(ok=False))
    assert text.startswith("WARNING: this fit FAILED its checks")
    assert text.endswith("7 leapfrog steps/draw\n  - R-hat too high.")
    md = markdown_summary(_fit_dict(ok=False))
    assert md.split("\n\n")[1].startswith("**WARNING: this fit FAILED")
