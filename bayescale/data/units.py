r"""Budgets in the units people plan with, converted to FLOPs — and back to hours and money.

Three ways to state a training budget, all parsed by :func:`parse_budget_spec`:

- **FLOPs**: ``"1e24"``, ``"5.76e23 FLOPs"``.
- **petaFLOP/s-days**: ``"5000pf-days"``. One PF-day is :math:`10^{15}` FLOP/s for a day,
  :math:`8.64\times10^{19}` FLOPs — the unit of the GPT-3 and Chinchilla compute charts.
- **accelerator time**: ``"2048xH100:30d@40%"`` — count × accelerator : duration @ model
  FLOPs utilisation (MFU), or ``"1.5e6 H100-hours@35%"``. FLOPs = count × peak × MFU ×
  seconds, with the accelerator's *dense* bf16 peak from :data:`ACCELERATORS` (extend it with
  :func:`register_accelerator`) and MFU :data:`DEFAULT_MFU` (40%) unless given. A price per
  accelerator-hour may follow: ``"2048xH100:30d@40%,$2.5/h"``.

Every parse returns a :class:`Budget` whose ``statement`` spells out the conversion used, so
reports can say exactly how a number of FLOPs was arrived at. :class:`CostModel` (parsed from
``"H100@40%,$2.5/h"`` by :func:`parse_cost`) converts FLOPs — a budget, or compute wasted by
a poor plan — back to accelerator-hours and dollars.

>>> parse_budget("5000pf-days")
4.32e+23
>>> print(parse_budget_spec("2048xH100:30d@40%").statement)
2048 × H100 (989 TFLOP/s dense bf16 peak) × 40% MFU × 30 days = 2.10e+24 FLOPs (24,306 PF-days)
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

__all__ = [
    "ACCELERATORS",
    "DEFAULT_MFU",
    "FLOPS_PER_PF_DAY",
    "Accelerator",
    "Budget",
    "CostModel",
    "Plan",
    "check_k",
    "format_count",
    "format_dollars",
    "format_flops",
    "get_accelerator",
    "parse_budget",
    "parse_budget_spec",
    "parse_cost",
    "parse_count",
    "parse_plan",
    "parse_unit",
    "register_accelerator",
]

#: FLOPs in one petaFLOP/s-day: 1e15 FLOP/s × 86,400 s.
FLOPS_PER_PF_DAY = 1e15 * 86_400.0
#: Model FLOPs utilisation assumed when a budget names an accelerator but no MFU. 40% is a
#: typical well-tuned large dense-transformer run on H100/A100-class hardware (PaLM reports
#: 46% on TPU v4, Llama 3 38–43% on H100); state your own with ``@NN%``.
DEFAULT_MFU = 0.40

_SECONDS = {
    "s": 1.0,
    "sec": 1.0,
    "secs": 1.0,
    "second": 1.0,
    "seconds": 1.0,
    "m": 60.0,
    "min": 60.0,
    "mins": 60.0,
    "minute": 60.0,
    "minutes": 60.0,
    "h": 3600.0,
    "hr": 3600.0,
    "hrs": 3600.0,
    "hour": 3600.0,
    "hours": 3600.0,
    "d": 86_400.0,
    "day": 86_400.0,
    "days": 86_400.0,
    "w": 604_800.0,
    "wk": 604_800.0,
    "week": 604_800.0,
    "weeks": 604_800.0,
}
_DURATION_WORDS = {1.0: "s", 60.0: "min", 3600.0: "h", 86_400.0: "days", 604_800.0: "weeks"}


@dataclass(frozen=True)
class Accelerator:
    """An accelerator's dense bf16 peak throughput.

    Attributes
    ----------
    name : str
        Display name (``"H100"``).
    peak_flops : float
        Dense (no structured sparsity) bf16 peak, FLOP/s per device.
    source : str
        Where the number comes from.
    """

    name: str
    peak_flops: float
    source: str = "user-supplied"


# Vendor datasheets, dense bf16 (matrix / tensor-core) peaks per device. Datasheets often
# headline "with sparsity" numbers, which are exactly twice these; training does not use
# 2:4 sparsity, so the dense number is the right ceiling for MFU.
_BUILTIN = (
    # NVIDIA H100 Tensor Core GPU datasheet (SXM5): BF16 1,979 TFLOPS with sparsity.
    Accelerator("H100", 989e12, "NVIDIA H100 datasheet, SXM5: 1,979 TFLOP/s bf16 with sparsity"),
    # Same datasheet, PCIe card: 1,513 TFLOPS with sparsity.
    Accelerator(
        "H100-PCIe", 756e12, "NVIDIA H100 datasheet, PCIe: 1,513 TFLOP/s bf16 with sparsity"
    ),
    # NVIDIA H200 datasheet (SXM): same GH100 compute as H100 SXM, more memory.
    Accelerator("H200", 989e12, "NVIDIA H200 datasheet, SXM: 1,979 TFLOP/s bf16 with sparsity"),
    # NVIDIA HGX B200 (1,000 W configuration): 2.25 PFLOPS dense bf16, 4.5 with sparsity.
    Accelerator("B200", 2250e12, "NVIDIA HGX B200 specifications: 4.5 PFLOP/s bf16 with sparsity"),
    # NVIDIA A100 Tensor Core GPU datasheet: BF16 312 TFLOPS (624 with sparsity).
    Accelerator("A100", 312e12, "NVIDIA A100 datasheet: 312 TFLOP/s bf16 dense"),
    # NVIDIA V100 datasheet (SXM2): no bf16; 125 TFLOPS fp16 tensor core is its training peak.
    Accelerator("V100", 125e12, "NVIDIA V100 datasheet, SXM2: 125 TFLOP/s fp16 (no bf16)"),
    # NVIDIA L40S datasheet: BF16 362.05 TFLOPS (733 with sparsity).
    Accelerator("L40S", 362e12, "NVIDIA L40S datasheet: 362 TFLOP/s bf16 dense"),
    # AMD Instinct MI300X data sheet: 1,307.4 TFLOPS peak bf16 (2,614.9 with sparsity).
    Accelerator("MI300X", 1307.4e12, "AMD Instinct MI300X data sheet: 1,307.4 TFLOP/s bf16"),
    # AMD Instinct MI250X data sheet: 383 TFLOPS peak bf16.
    Accelerator("MI250X", 383e12, "AMD Instinct MI250X data sheet: 383 TFLOP/s bf16"),
    # Google Cloud TPU system architecture pages: peak compute per chip (bf16).
    Accelerator("TPUv4", 275e12, "Google Cloud TPU v4 docs: 275 TFLOP/s bf16 per chip"),
    Accelerator("TPUv5e", 197e12, "Google Cloud TPU v5e docs: 197 TFLOP/s bf16 per chip"),
    Accelerator("TPUv5p", 459e12, "Google Cloud TPU v5p docs: 459 TFLOP/s bf16 per chip"),
    Accelerator("TPUv6e", 918e12, "Google Cloud TPU v6e (Trillium) docs: 918 TFLOP/s bf16"),
)
_ALIASES = {
    "h100sxm": "H100",
    "h100sxm5": "H100",
    "h100pcie": "H100-PCIe",
    "h200sxm": "H200",
    "a100sxm": "A100",
    "a10080gb": "A100",
    "a10040gb": "A100",
    "v5e": "TPUv5e",
    "v5p": "TPUv5p",
    "v4": "TPUv4",
    "v6e": "TPUv6e",
    "trillium": "TPUv6e",
}


def _key(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


#: Known accelerators by normalised name (case, spaces, dashes ignored): see
#: :func:`get_accelerator`. Extend with :func:`register_accelerator`.
ACCELERATORS: dict[str, Accelerator] = {_key(a.name): a for a in _BUILTIN}
for _alias, _target in _ALIASES.items():
    ACCELERATORS[_alias] = ACCELERATORS[_key(_target)]


def register_accelerator(
    name: str, peak_flops: float, source: str = "user-supplied"
) -> Accelerator:
    """Add (or replace) an accelerator in :data:`ACCELERATORS`.

    Parameters
    ----------
    name : str
        Name used in budget strings (matched ignoring case, spaces and dashes).
    peak_flops : float
        Dense bf16 peak in FLOP/s per device (e.g. ``989e12``).
    source : str
        Where the number comes from; shown in conversion statements' provenance.

    Returns
    -------
    Accelerator
    """
    if not isinstance(name, str) or not _key(name):
        raise ValueError(f"accelerator name must contain letters or digits, got {name!r}")
    peak = positive_number(peak_flops, "peak_flops", "a peak rate in FLOP/s such as 989e12")
    acc = Accelerator(name, peak, source)
    ACCELERATORS[_key(name)] = acc
    return acc


def get_accelerator(
    name: str, accelerators: Mapping[str, Accelerator | float] | None = None
) -> Accelerator:
    """Look an accelerator up by name (``"H100"``, ``"h100-sxm"``, ``"TPU v5p"``...).

    Parameters
    ----------
    name : str
        Accelerator name.
    accelerators : mapping, optional
        Extra accelerators for this call only: name → :class:`Accelerator` or peak FLOP/s.

    Raises
    ------
    ValueError
        Unknown name; the message lists the known ones.
    """
    if accelerators:
        for extra_name, extra in accelerators.items():
            if _key(extra_name) == _key(name):
                if isinstance(extra, Accelerator):
                    return extra
                return Accelerator(extra_name, positive_number(extra, "peak_flops", "FLOP/s > 0"))
    acc = ACCELERATORS.get(_key(name))
    if acc is None:
        known = ", ".join(a.name for a in _BUILTIN)
        raise ValueError(
            f"unknown accelerator {name!r}; known: {known} "
            "(add one with bayescale.data.units.register_accelerator)"
        )
    return acc


def positive_number(value: Any, name: str, expected: str = "a finite number > 0") -> float:
    """``value`` as a finite float > 0, else ValueError "<name> must be <expected>, got ..."."""
    try:
        v = float(value)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"{name} must be {expected}, got {value!r}") from None
    if isinstance(value, bool) or not math.isfinite(v) or v <= 0:
        raise ValueError(f"{name} must be {expected}, got {value!r}")
    return v


# ------------------------------------------------------------------------------ formatting
def format_flops(flops: float) -> str:
    """``"2.10e+24 FLOPs (24,306 PF-days)"``."""
    return f"{flops:.2e} FLOPs ({flops / FLOPS_PER_PF_DAY:,.0f} PF-days)"


def format_dollars(dollars: float) -> str:
    """Money with a magnitude suffix: ``$950``, ``$12.3k``, ``$2.95M``, ``$1.20B``."""
    if not math.isfinite(dollars):
        return "n/a"
    for scale, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(dollars) >= scale:
            return f"${dollars / scale:.3g}{suffix}"
    return f"${dollars:.3g}"


def format_count(x: float) -> str:
    """Parameters or tokens the way people say them: ``82.1B``, ``1.17T``, ``350M``.

    Three significant digits, trailing zeros kept so a column of sizes lines up
    (``70.0B``, ``1.40T``); below 1,000 the plain number, above 999T scientific notation.
    Reports show these; JSON and netCDF keep the exact values.
    """
    x = float(x)
    if not math.isfinite(x):
        return "n/a"
    ax = abs(x)
    if ax >= 999.5e12:
        return f"{x:.2e}"
    for scale, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")):
        # 999.7M rounds to 1.00B, not "1.00e+03M"
        if ax >= scale * (1 - 5e-4):
            return _sig3(x / scale) + suffix
    if ax >= 1:
        return f"{x:.0f}" if ax >= 99.95 else _sig3(x)
    return f"{x:.3g}"


def _sig3(v: float) -> str:
    text = f"{v:#.3g}"
    return text[:-1] if text.endswith(".") else text


def _format_peak(flops_per_s: float) -> str:
    if flops_per_s >= 1e15:
        return f"{flops_per_s / 1e15:.3g} PFLOP/s"
    return f"{flops_per_s / 1e12:.4g} TFLOP/s"


# ------------------------------------------------------------------------------ cost model
@dataclass(frozen=True)
class CostModel:
    """How FLOPs map to accelerator-hours and money.

    Attributes
    ----------
    accelerator : Accelerator
        Device whose dense bf16 peak sets the rate.
    mfu : float
        Model FLOPs utilisation in (0, 1].
    price_per_hour : float or None
        Dollars per accelerator-hour; ``None`` when only hours are wanted.
    """

    accelerator: Accelerator
    mfu: float = DEFAULT_MFU
    price_per_hour: float | None = None

    def __post_init__(self) -> None:
        if not 0.0 < float(self.mfu) <= 1.0:
            raise ValueError(f"mfu must be a fraction in (0, 1], got {self.mfu!r}")
        if self.price_per_hour is not None:
            positive_number(self.price_per_hour, "price_per_hour", "dollars per hour > 0")

    @property
    def flops_per_hour(self) -> float:
        """Useful FLOPs one accelerator delivers in an hour: peak × MFU × 3600."""
        return self.accelerator.peak_flops * self.mfu * 3600.0

    def hours(self, flops: float) -> float:
        """Accelerator-hours needed for ``flops``."""
        return float(flops) / self.flops_per_hour

    def dollars(self, flops: float) -> float | None:
        """Dollars for ``flops`` (``None`` without a price)."""
        if self.price_per_hour is None:
            return None
        return self.hours(flops) * float(self.price_per_hour)

    def describe(self) -> str:
        """One sentence stating the conversion."""
        text = (
            f"{self.accelerator.name} at {_format_peak(self.accelerator.peak_flops)} dense bf16 "
            f"peak × {100 * self.mfu:g}% MFU = {self.flops_per_hour:.3g} FLOPs per "
            f"accelerator-hour"
        )
        if self.price_per_hour is not None:
            per = 1e21 / self.flops_per_hour * self.price_per_hour
            text += f"; at ${self.price_per_hour:g}/h that is {format_dollars(per)} per 1e21 FLOPs"
        return text

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description."""
        return {
            "accelerator": self.accelerator.name,
            "peak_flops": self.accelerator.peak_flops,
            "peak_source": self.accelerator.source,
            "mfu": self.mfu,
            "price_per_hour": self.price_per_hour,
            "flops_per_hour": self.flops_per_hour,
            "statement": self.describe(),
        }


# ------------------------------------------------------------------------------ budgets
@dataclass(frozen=True)
class Budget:
    """A parsed compute budget.

    Attributes
    ----------
    flops : float
        The budget in FLOPs.
    text : str
        What was parsed.
    statement : str
        The conversion used, in words and numbers.
    cost : CostModel or None
        Set when the budget named an accelerator: converts FLOPs back to hours and dollars.
    count, seconds : float or None
        Accelerators and wall-clock seconds, for accelerator budgets.
    """

    flops: float
    text: str
    statement: str
    cost: CostModel | None = None
    count: float | None = None
    seconds: float | None = None

    def __float__(self) -> float:
        return self.flops

    @property
    def pf_days(self) -> float:
        """The budget in petaFLOP/s-days."""
        return self.flops / FLOPS_PER_PF_DAY

    @property
    def dollars(self) -> float | None:
        """Price of the budget, when the budget carried a price per accelerator-hour."""
        return None if self.cost is None else self.cost.dollars(self.flops)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description."""
        return {
            "flops": self.flops,
            "text": self.text,
            "statement": self.statement,
            "pf_days": self.pf_days,
            "accelerator_hours": None if self.cost is None else self.cost.hours(self.flops),
            "dollars": self.dollars,
        }


_NUM = r"[0-9]*\.?[0-9]+(?:e[+-]?[0-9]+)?"
_FLOPS_RE = re.compile(rf"^(?P<v>[+-]?{_NUM})\s*(?:flops?)?$", re.I)
_PFDAYS_RE = re.compile(
    rf"^(?P<v>{_NUM})\s*(?:pf|pfs|pflops?|pflop/s|petaflops?|petaflop/s)[-_ ]?days?$", re.I
)
_MFU = rf"(?:\s*@\s*(?P<mfu>{_NUM})\s*(?P<pct>%)?)?"
_PRICE = rf"(?:\s*[,;]\s*\$\s*(?P<price>{_NUM})\s*(?:/\s*(?:h|hr|hour))?)?"
_ACC_TIME_RE = re.compile(
    rf"^(?:(?P<count>{_NUM})\s*[x×*]\s*)?(?P<name>[a-z][a-z0-9 _.-]*?)\s*:\s*"
    rf"(?P<dur>{_NUM})\s*(?P<unit>[a-z]+){_MFU}{_PRICE}$",
    re.I,
)
_ACC_HOURS_RE = re.compile(
    rf"^(?P<dur>{_NUM})\s*(?P<name>[a-z][a-z0-9 _.-]*?)[-_ ](?P<unit>hours?|hrs?|h|days?|d)"
    rf"{_MFU}{_PRICE}$",
    re.I,
)
_COST_RE = re.compile(rf"^(?P<name>[a-z][a-z0-9 _.-]*?){_MFU}{_PRICE}$", re.I)


def _mfu(match: re.Match[str], text: str, default: float | None) -> float:
    raw = match.group("mfu")
    if raw is None:
        return DEFAULT_MFU if default is None else float(default)
    v = float(raw)
    if match.group("pct"):
        v /= 100.0
    if not 0.0 < v <= 1.0:
        raise ValueError(
            f"MFU in budget {text!r} must be a percentage in (0, 100] such as 40% or a "
            f"fraction in (0, 1] such as 0.4, got {raw}{match.group('pct') or ''}"
        )
    return v


def _price(match: re.Match[str], default: float | None) -> float | None:
    raw = match.group("price")
    return float(raw) if raw is not None else default


def parse_budget_spec(
    text: str | float,
    *,
    mfu: float | None = None,
    price_per_hour: float | None = None,
    accelerators: Mapping[str, Accelerator | float] | None = None,
) -> Budget:
    """Parse a compute budget in FLOPs, PF-days or accelerator time.

    Parameters
    ----------
    text : str or float
        ``"1e24"``, ``"5000pf-days"``, ``"2048xH100:30d@40%"``, ``"1.5e6 H100-hours"``,
        optionally followed by a price: ``"2048xH100:30d@40%,$2.5/h"``.
    mfu : float, optional
        MFU for accelerator budgets that do not state one (default :data:`DEFAULT_MFU`).
    price_per_hour : float, optional
        Dollars per accelerator-hour for accelerator budgets that do not state one.
    accelerators : mapping, optional
        Extra accelerators for this call: name → :class:`Accelerator` or peak FLOP/s.

    Returns
    -------
    Budget
        FLOPs, the text, a statement of the conversion and (for accelerator budgets) the
        :class:`CostModel`.

    Raises
    ------
    ValueError
        Unreadable text, unknown accelerator, or a non-positive / non-finite result.
    """
    if isinstance(text, int | float) and not isinstance(text, bool):
        raw = repr(text)
        value = float(text)
        if not math.isfinite(value) or value <= 0:
            raise ValueError(f"budget must be a finite number of FLOPs > 0, got {raw!r}")
        return Budget(value, raw, f"{format_flops(value)} as given")
    if not isinstance(text, str):
        raise ValueError(
            f"cannot read budget {text!r}; expected FLOPs such as 1e24, PF-days such as "
            "5000pf-days, or accelerator time such as 2048xH100:30d@40%"
        )
    s = text.strip()
    if m := _FLOPS_RE.match(s):
        value = float(m.group("v"))
        if not math.isfinite(value) or value <= 0:
            raise ValueError(f"budget must be a finite number of FLOPs > 0, got {text!r}")
        return Budget(value, text, f"{format_flops(value)} as given")
    if m := _PFDAYS_RE.match(s):
        pfd = float(m.group("v"))
        value = pfd * FLOPS_PER_PF_DAY
        if not math.isfinite(value) or value <= 0:
            raise ValueError(f"budget must be a finite number of PF-days > 0, got {text!r}")
        statement = f"{pfd:,.6g} PF-days × 8.64e19 FLOPs per PF-day = {value:.2e} FLOPs"
        return Budget(value, text, statement)
    m = _ACC_TIME_RE.match(s) or _ACC_HOURS_RE.match(s)
    if m:
        acc = get_accelerator(m.group("name").strip(), accelerators)
        unit = m.group("unit").lower()
        if unit not in _SECONDS:
            raise ValueError(
                f"unknown time unit {m.group('unit')!r} in budget {text!r}; use s, min, h, "
                "d or w (e.g. 30d)"
            )
        count_raw = m.groupdict().get("count")
        count = float(count_raw) if count_raw else 1.0
        duration = float(m.group("dur"))
        if count <= 0 or duration <= 0:
            raise ValueError(f"accelerator count and duration must be > 0 in budget {text!r}")
        cost = CostModel(acc, _mfu(m, text, mfu), _price(m, price_per_hour))
        seconds = duration * _SECONDS[unit]
        value = count * acc.peak_flops * cost.mfu * seconds
        if not math.isfinite(value):
            raise ValueError(f"budget {text!r} overflows")
        statement = (
            f"{count:g} × {acc.name} ({_format_peak(acc.peak_flops)} dense bf16 peak) × "
            f"{100 * cost.mfu:g}% MFU × {duration:g} {_DURATION_WORDS[_SECONDS[unit]]} = "
            f"{format_flops(value)}"
        )
        if cost.price_per_hour is not None:
            hours = count * seconds / 3600.0
            statement += (
                f"; {hours:,.0f} accelerator-hours × ${cost.price_per_hour:g}/h = "
                f"{format_dollars(hours * cost.price_per_hour)}"
            )
        return Budget(value, text, statement, cost=cost, count=count, seconds=seconds)
    raise ValueError(
        f"cannot read budget {text!r}; expected FLOPs such as 1e24, PF-days such as "
        "5000pf-days, or accelerator time such as 2048xH100:30d@40%"
    )


def parse_budget(text: str | float) -> float:
    """Parse a compute budget and return it in FLOPs.

    Parameters
    ----------
    text : str or float
        FLOPs (``"1e24"``), PF-days (``"5000pf-days"``) or accelerator time
        (``"2048xH100:30d@40%"``); see :func:`parse_budget_spec`.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        Unreadable, or not a finite positive number of FLOPs.
    """
    return parse_budget_spec(text).flops


def parse_cost(
    text: str | CostModel, accelerators: Mapping[str, Accelerator | float] | None = None
) -> CostModel:
    """Parse a cost model ``"H100@40%,$2.5/h"`` (accelerator, optional MFU, optional price).

    Raises
    ------
    ValueError
        Unreadable text or unknown accelerator.
    """
    if isinstance(text, CostModel):
        return text
    if not isinstance(text, str) or not (m := _COST_RE.match(text.strip())):
        raise ValueError(
            f"cannot read cost model {text!r}; expected ACCELERATOR[@MFU%][,$PRICE/h] such "
            "as H100@40%,$2.5/h"
        )
    acc = get_accelerator(m.group("name").strip(), accelerators)
    return CostModel(acc, _mfu(m, text, None), _price(m, None))


_COUNT_RE = re.compile(rf"^(?P<v>{_NUM})\s*(?P<s>[kmbgt]?)$", re.I)
_COUNT_SCALE = {"": 1.0, "k": 1e3, "m": 1e6, "b": 1e9, "g": 1e9, "t": 1e12}


def parse_count(text: str | float, name: str = "count") -> float:
    """Parse a parameter or token count: ``"70B"`` → 7e10, ``"1.4T"`` → 1.4e12, ``"3e8"``.

    Suffixes K, M, B (or G), T (case-insensitive) scale by 1e3, 1e6, 1e9, 1e12.

    Raises
    ------
    ValueError
        Unreadable, non-finite or not > 0; the message names ``name``.
    """
    if isinstance(text, int | float) and not isinstance(text, bool):
        v = float(text)
    else:
        m = _COUNT_RE.match(str(text).strip()) if isinstance(text, str) else None
        if m is None:
            raise ValueError(
                f"cannot read {name} {text!r}; expected a number such as 7e10 or 70B "
                "(suffixes K, M, B, T)"
            )
        v = float(m.group("v")) * _COUNT_SCALE[m.group("s").lower()]
    if not math.isfinite(v) or v <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {text!r}")
    return v


#: Scale of each unit name :func:`parse_unit` accepts (counts logged in millions, billions...).
UNIT_SCALE = {"1": 1.0, "k": 1e3, "m": 1e6, "b": 1e9, "g": 1e9, "t": 1e12}


def parse_unit(unit: str | float | None, name: str = "unit") -> float:
    """The factor a column logged in ``unit`` is multiplied by: ``"M"`` → 1e6, ``"B"`` → 1e9.

    Parameters
    ----------
    unit : {"1", "K", "M", "B", "G", "T"}, number or None
        The unit a count was logged in (case-insensitive; ``"G"`` is ``"B"``); ``None``
        and ``"1"`` mean plain counts. A number is taken as the factor itself.
    name : str
        The option's name, for messages (``"n_unit / --n-unit"``).

    Returns
    -------
    float

    Raises
    ------
    ValueError
        Unknown unit name, or a factor that is not a finite number > 0.
    """
    if unit is None:
        return 1.0
    if isinstance(unit, int | float) and not isinstance(unit, bool):
        return positive_number(unit, name, "a finite factor > 0")
    key = str(unit).strip().lower()
    if key not in UNIT_SCALE:
        raise ValueError(
            f"unknown {name} {unit!r}; expected one of 1, K, M, B (or G), T "
            "(the unit the column was logged in, e.g. M for millions)"
        )
    return UNIT_SCALE[key]


# ------------------------------------------------------------------------------ plans
# here, not in bayescale.decisions.core, because they import no JAX: the command line checks --plan
# before it loads the sampler
def check_k(k: Any) -> float:
    """FLOPs per parameter per token, a finite number > 0."""
    return positive_number(k, "flops_per_param_token", "a number > 0")


class Plan(NamedTuple):
    """A planned run: N parameters on D tokens at compute C = kND."""

    N: float
    D: float
    C: float
    label: str


_PLAN_RE = re.compile(r"^\s*(?P<N>[^/@]+?)\s*(?:/\s*(?P<D>[^/@]+?)|@\s*(?P<C>.+?))\s*$")


def parse_plan(text: str, flops_per_param_token: float = 6.0) -> Plan:
    """Parse a plan: ``"70B/1.4T"`` (N / D) or ``"70B@5.76e23"`` (N at budget C).

    C may be in any unit :func:`bayescale.data.units.parse_budget` reads.

    Raises
    ------
    ValueError
        Unreadable plan, with what was expected.
    """
    m = _PLAN_RE.match(text) if isinstance(text, str) else None
    if m is None:
        raise ValueError(
            f"cannot read plan {text!r}; expected N/D such as 70B/1.4T or N@C such as 70B@5.76e23"
        )
    k = check_k(flops_per_param_token)
    N = parse_count(m.group("N"), "plan N")
    if m.group("D") is not None:
        D = parse_count(m.group("D"), "plan D")
        return Plan(N, D, k * N * D, text.strip())
    C = parse_budget(m.group("C"))
    return Plan(N, C / (k * N), C, text.strip())
