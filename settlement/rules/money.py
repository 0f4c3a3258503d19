"""Money helpers shared by the rules: one rounding, one line type."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

from iso4217 import Currency

__all__ = [
    "CATEGORIES",
    "Line",
    "RuleError",
    "convert",
    "decimal_str",
    "minor_exponent",
    "rate_text",
    "round_minor",
]

#: What a line does to the total; summaries and true-ups group by it.
CATEGORIES = (
    "rebate", "penalty", "reward", "deposit", "trueup", "adjustment", "balance",
)  # fmt: skip


class RuleError(ValueError):
    """A rule's parameters make no sense (negative rate, unordered tiers, unknown class)."""


@functools.cache
def minor_exponent(currency: str) -> int:
    """Decimal places of ``currency``'s minor unit from the ISO 4217 list (``iso4217``):
    2 for EUR, 0 for JPY and XOF, 3 for KWD and JOD, 4 for CLF. Codes without a minor
    unit (gold, SDR) and unknown codes count as 2; imports refuse unknown codes first."""
    try:
        exponent = Currency(currency).exponent
    except ValueError:
        return 2
    return 2 if exponent is None else int(exponent)


def round_minor(value: Decimal) -> int:
    """Round to whole minor units, half to even (banker's rounding), once per line."""
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def to_decimal(value: Decimal | int | str, what: str) -> Decimal:
    """A Decimal from a rule parameter; floats are refused so no binary noise gets in."""
    if isinstance(value, float):
        raise RuleError(f"{what} must be a decimal string or integer, not float {value!r}")
    try:
        d = Decimal(value)
    except (InvalidOperation, ValueError):
        raise RuleError(f"{what} {value!r} is not a decimal number") from None
    if not d.is_finite():
        raise RuleError(f"{what} must be finite, got {value!r}")
    return d


def decimal_str(value: Decimal) -> str:
    """Plain decimal text for a stored rate (no exponent, no trailing zeros)."""
    s = format(value.normalize(), "f")
    return s if s != "-0" else "0"


def rate_text(rate: Decimal) -> str:
    """A rate as a line stores it: exact to 6 decimal places, plain text. The amount is
    always computed from the exact rate; this is what the line shows."""
    return decimal_str(rate.quantize(Decimal("0.000001")))


def convert(amount_minor: int, rate: Decimal, from_currency: str, to_currency: str) -> int:
    """``amount_minor`` of ``from_currency`` in ``to_currency`` minor units.

    ``rate`` is how many units of ``to_currency`` one unit of ``from_currency`` buys;
    the minor-unit exponents of both currencies are honoured.
    """
    if rate <= 0:
        raise RuleError(f"FX rate {from_currency}->{to_currency} must be positive, got {rate}")
    shift = minor_exponent(to_currency) - minor_exponent(from_currency)
    return round_minor(Decimal(amount_minor) * rate * (Decimal(10) ** shift))


@dataclass(frozen=True, slots=True)
class Line:
    """One statement line: which rule, on what basis, at what rate, for how much.

    ``amount`` is signed integer minor units of the statement's currency (rebates
    and rewards positive, penalties negative); ``rate`` is decimal text.
    """

    rule: str
    category: str
    basis: str
    rate: str
    amount: int
    quantity: int = 0  # units or value a tier line pays on; 0 for other lines

    def __post_init__(self) -> None:
        if self.category not in CATEGORIES:
            raise RuleError(f"line category {self.category!r} is not one of {CATEGORIES}")
        if not isinstance(self.amount, int) or isinstance(self.amount, bool):
            raise RuleError(f"line amount must be integer minor units, got {self.amount!r}")
