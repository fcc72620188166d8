import doctest
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bayescale.data import units
from bayescale.data.units import (
    FLOPS_PER_PF_DAY,
    format_dollars,
    parse_budget,
    parse_budget_spec,
    parse_cost,
    parse_count,
)

H100 = 989e12


def test_doctests():
    assert doctest.testmod(units).failed == 0


@pytest.mark.parametrize(
    ("text", "flops"),
    [
        ("1e24", 1e24),
        ("5.76e23", 5.76e23),
        ("5.76e23 FLOPs", 5.76e23),
        (" 3e21flop ", 3e21),
        ("1pf-day", 8.64e19),
        ("5000pf-days", 5000 * 8.64e19),
        ("5000 PF-days", 4.32e23),
        ("5e3 pfs-day", 4.32e23),
        ("5000 petaflop/s-days", 4.32e23),
        # count × peak (dense bf16) × MFU × seconds, by hand
        ("2048xH100:30d@40%", 2048 * 989e12 * 0.40 * 30 * 86400),
        ("2048 x H100 : 30 days @ 40%", 2048 * 989e12 * 0.40 * 30 * 86400),
        ("H100:1h", 989e12 * 0.40 * 3600),  # default MFU 40%
        ("8xA100:24h@50%", 8 * 312e12 * 0.5 * 86400),
        ("64 x TPU v5p : 2w @ 0.5", 64 * 459e12 * 0.5 * 14 * 86400),
        ("1.5e6 H100-hours@35%", 1.5e6 * 3600 * 989e12 * 0.35),
        ("16xh100-sxm:90min", 16 * 989e12 * 0.4 * 5400),
        ("4096xB200:10d@45%", 4096 * 2.25e15 * 0.45 * 10 * 86400),
    ],
)
def test_parse_budget_hand_computed(text, flops):
    assert parse_budget(text) == pytest.approx(flops, rel=1e-12)


def test_statement_and_money():
    b = parse_budget_spec("2048xH100:30d@40%,$2.5/h")
    assert b.flops == pytest.approx(2.1000094e24, rel=1e-7)
    assert "2048 × H100 (989 TFLOP/s dense bf16 peak) × 40% MFU × 30 days" in b.statement
    assert "24,306 PF-days" in b.statement
    hours = 2048 * 30 * 24
    assert b.cost.hours(b.flops) == pytest.approx(hours, rel=1e-12)
    assert b.dollars == pytest.approx(hours * 2.5, rel=1e-12)
    assert "1,474,560 accelerator-hours × $2.5/h = $3.69M" in b.statement
    pf = parse_budget_spec("5000pf-days")
    assert "5,000 PF-days × 8.64e19 FLOPs per PF-day" in pf.statement
    assert pf.cost is None and pf.dollars is None
    assert pf.pf_days == pytest.approx(5000)


@given(st.floats(1e-3, 1e9, allow_nan=False))
def test_pf_days_round_trip(pf):
    flops = parse_budget(f"{pf!r}pf-days")
    assert flops / FLOPS_PER_PF_DAY == pytest.approx(pf, rel=1e-14)
    assert parse_budget(repr(flops)) == flops


@given(
    count=st.integers(1, 100_000),
    hours=st.floats(0.01, 1e4, allow_nan=False),
    mfu=st.floats(0.01, 1.0),
)
def test_accelerator_time_round_trip(count, hours, mfu):
    b = parse_budget_spec(f"{count}xA100:{hours!r}h@{mfu!r}")
    assert b.cost.hours(b.flops) == pytest.approx(count * hours, rel=1e-12)
    assert b.flops == pytest.approx(count * 312e12 * mfu * hours * 3600, rel=1e-12)


def test_cost_model():
    c = parse_cost("H100@40%,$2.5/h")
    assert c.flops_per_hour == pytest.approx(H100 * 0.4 * 3600)
    assert c.dollars(c.flops_per_hour) == pytest.approx(2.5)
    assert c.hours(1e24) == pytest.approx(1e24 / (H100 * 0.4 * 3600))
    assert parse_cost("tpu-v5e").mfu == units.DEFAULT_MFU
    assert parse_cost("A100@0.5").dollars(1e20) is None
    assert "$2.5/h" in c.describe()


def test_user_accelerators(monkeypatch):
    monkeypatch.setattr(units, "ACCELERATORS", dict(units.ACCELERATORS))
    units.register_accelerator("MyChip 9", 1e15, "lab measurement")
    assert parse_budget("4xmychip-9:1h@50%") == pytest.approx(4 * 1e15 * 0.5 * 3600)
    # per-call table, not registered globally
    b = parse_budget_spec("2xFoo:1h@50%", accelerators={"foo": 2e14})
    assert b.flops == pytest.approx(2 * 2e14 * 0.5 * 3600)
    with pytest.raises(ValueError, match="peak_flops must be"):
        units.register_accelerator("bad", -1)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("lots", "cannot read budget 'lots'; expected FLOPs such as 1e24"),
        ("-5", "budget must be a finite number of FLOPs > 0, got '-5'"),
        ("0", "budget must be a finite number of FLOPs > 0"),
        ("1e400", "budget must be a finite number of FLOPs > 0"),
        ("inf", "cannot read budget 'inf'"),
        ("2048xFoo:30d", "unknown accelerator 'Foo'; known: H100, H100-PCIe"),
        ("H100:30q", "unknown time unit 'q' in budget 'H100:30q'"),
        ("H100:30d@140%", r"MFU in budget 'H100:30d@140%' must be a percentage in \(0, 100\]"),
        ("H100:30d@40", r"MFU .* fraction in \(0, 1\]"),
        ("0xH100:1d", "count and duration must be > 0"),
        ("-3pf-days", "cannot read budget"),
    ],
)
def test_budget_errors(text, message):
    with pytest.raises(ValueError, match=message):
        parse_budget(text)


def test_parse_count_and_format():
    assert parse_count("70B") == 7e10
    assert parse_count("1.4T") == pytest.approx(1.4e12)
    assert parse_count("350m") == 3.5e8
    assert parse_count("2k") == 2e3
    assert parse_count("3e8") == 3e8
    assert parse_count(5) == 5.0
    with pytest.raises(ValueError, match="cannot read d_max 'lots'"):
        parse_count("lots", "d_max")
    with pytest.raises(ValueError, match="must be a finite number > 0"):
        parse_count(-1)
    assert units.format_count(7e10) == "70.0B"
    assert units.format_count(1.4e12) == "1.40T"


@pytest.mark.parametrize(
    ("x", "text"),
    [
        (8.21e10, "82.1B"),
        (1.17e12, "1.17T"),
        (3.5e8, "350M"),
        (999.7e6, "1.00B"),  # rounds up into the next suffix, never "1.00e+03M"
        (1.25e3, "1.25K"),
        (512, "512"),
        (5.5, "5.50"),
        (2e15, "2.00e+15"),
        (float("nan"), "n/a"),
    ],
)
def test_format_count_reads_like_people_write_sizes(x, text):
    assert units.format_count(x) == text


def test_parse_unit():
    assert units.parse_unit("M") == 1e6
    assert units.parse_unit("b") == units.parse_unit("G") == 1e9
    assert units.parse_unit("T") == 1e12
    assert units.parse_unit("1") == units.parse_unit(None) == 1.0
    assert units.parse_unit(1e3) == 1e3
    with pytest.raises(ValueError, match=r"unknown --n-unit 'millions'.*1, K, M, B"):
        units.parse_unit("millions", "--n-unit")
    assert format_dollars(3_686_400) == "$3.69M"
    assert format_dollars(950) == "$950"
    assert format_dollars(math.nan) == "n/a"
    with pytest.raises(ValueError, match="cannot read cost model"):
        parse_cost("@40%")
    with pytest.raises(ValueError, match=r"unknown accelerator 'H100 at forty percent'"):
        parse_cost("H100 at forty percent")


@pytest.mark.parametrize("bad", [0, -1.0, math.inf, math.nan, "x", None, True, 10**400])
def test_positive_number_is_the_one_positive_check(bad):
    # check_k, peak rates, prices and the data's k all go through it, with their own words
    with pytest.raises(ValueError, match=r"^k must be a number > 0, got "):
        units.positive_number(bad, "k", "a number > 0")
    with pytest.raises(ValueError, match="flops_per_param_token must be a number > 0"):
        units.check_k(bad)
    assert units.positive_number("6", "k") == units.check_k(6) == 6.0
