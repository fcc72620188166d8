"""Plans and the shared inputs of the decision functions (bayescale.decisions.core)."""

import pytest
from _synthetic import synthetic_result

from bayescale.decisions.budget import (
    Plan,
    as_plans,
    parse_plan,
)

K = 6.0
S = 64  # one posterior size (and two budgets) throughout, so compiled functions are reused


def test_plans_parse_and_validate():
    assert parse_plan("70B/1.4T") == Plan(7e10, 1.4e12, 6 * 7e10 * 1.4e12, "70B/1.4T")
    q = parse_plan("70B@5.76e23")
    assert q.D == pytest.approx(5.76e23 / (6 * 7e10)) and q.C == 5.76e23
    assert parse_plan("1B@1pf-day").C == pytest.approx(8.64e19)
    assert as_plans({"N": 1e9, "C": 6e19, "label": "x"})[0] == Plan(1e9, 1e10, 6e19, "x")
    assert len(as_plans([(1e9, 2e10), "70B/1.4T"])) == 2
    with pytest.raises(ValueError, match="cannot read plan '70B'"):
        parse_plan("70B")
    with pytest.raises(ValueError, match="exactly one of D"):
        as_plans({"N": 1e9})
    with pytest.raises(ValueError, match="within must be a factor > 1"):
        synthetic_result(S=8).regret("70B/1.4T", within=1.0)
    with pytest.raises(ValueError, match="eps must be finite and > 0"):
        synthetic_result(S=8).regret("70B/1.4T", eps=[-1])
