"""Checks of single reference-data values, shared by the service, its pages and file imports
(and the one lookup every write needs: the party by id).

Each check takes the text a person typed (or a spreadsheet cell) and the name of the
field or column it came from, and returns the canonical value or raises
:class:`InvalidValue` naming that field in words. None of them touches the database.

Standards: currency codes and their minor-unit exponents from ISO 4217 (``iso4217``
package, read through :func:`settlement.rules.money.minor_exponent`, the one the
engine stores and prints money with), dates ISO 8601 (``YYYY-MM-DD``), GTINs GS1 (check digit),
IBAN ISO 13616 (mod 97) and BIC ISO 9362 (``schwifty``).
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Self

from iso4217 import Currency
from schwifty import BIC, IBAN
from schwifty.exceptions import SchwiftyException
from sqlalchemy.orm import Session

from ledger.ids import InvalidIdentifierError, gs1_check_digit, validate_gtin14
from ledger.models import Party
from settlement.common import SettlementError
from settlement.rules.money import decimal_str, minor_exponent

__all__ = [
    "MAX_MINOR",
    "InvalidValue",
    "check_bic",
    "check_currency",
    "check_date",
    "check_gtin",
    "check_iban",
    "check_month",
    "check_positive_int",
    "check_rate",
    "check_text",
    "date_ms",
    "major_to_minor",
    "minor_to_major",
    "party_by_id",
]

#: Largest amount stored, in minor units: far above any real price or deposit and
#: inside a signed 64-bit column.
MAX_MINOR = 10**15

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
_AMOUNT = re.compile(r"^(?P<sign>-)?(?P<whole>\d+)(?:\.(?P<frac>\d+))?$")
_INT = re.compile(r"^\d+$")


class InvalidValue(SettlementError):
    """A value that cannot be stored; ``field`` names the field or column, ``message``
    says why without repeating it (imports print ``row 7, column list_price: message``)."""

    def __init__(
        self,
        field: str,
        message: str,
        *,
        message_id: str = "",
        values: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(f"{field}: {message}", message_id=message_id, values=values)
        self.field = field
        self.message = message

    @classmethod
    def said(cls, message_id: str, english: str, **values: object) -> Self:
        """:meth:`SettlementError.said` of a field: ``values`` holds ``field`` (the
        field's label or column), ``english`` says why without it; ``str(exc)`` is
        ``field: why`` (the words in ``web/reasons.py`` start with ``%(field)s: ``)."""
        text = {name: str(value) for name, value in values.items()}
        return cls(text["field"], english % text, message_id=message_id, values=text)


def check_text(value: str, field: str, *, required: bool = True, max_length: int = 500) -> str:
    """``value`` stripped; refuses an empty one when ``required`` and one too long."""
    text = value.strip()
    if required and not text:
        raise InvalidValue.said("value_empty", "is empty", field=field)
    if len(text) > max_length:
        raise InvalidValue.said(
            "text_too_long",
            "is %(length)s characters long; at most %(limit)s",
            field=field,
            length=len(text),
            limit=max_length,
        )
    return text


def check_currency(value: str, field: str = "currency") -> str:
    """An active ISO 4217 currency code, upper case (``eur`` -> ``EUR``).

    Fund codes and precious metals (no minor unit in ISO 4217) are refused.
    """
    code = value.strip().upper()
    try:
        known = Currency(code)
    except ValueError:
        known = None
    if known is None or known.exponent is None:
        raise InvalidValue.said(
            "not_currency",
            "%(value)s is not an ISO 4217 currency code (like EUR, USD, JPY)",
            field=field,
            value=repr(value.strip()),
        )
    return code


def _too_many_decimals(
    field: str, text: str, places: int, currency: str, exponent: int
) -> InvalidValue:
    """``text`` has ``places`` decimals, more than ``currency``'s ISO 4217 minor-unit
    exponent: ``"12.505 has 3 decimals; EUR has 2 decimals (ISO 4217)"``."""
    if exponent == 0 and places == 1:
        return InvalidValue.said(
            "amount_one_decimal_none",
            "%(value)s has 1 decimal; %(currency)s has no decimals (ISO 4217)",
            field=field,
            value=text,
            currency=currency,
        )
    if exponent == 0:
        return InvalidValue.said(
            "amount_decimals_none",
            "%(value)s has %(places)s decimals; %(currency)s has no decimals (ISO 4217)",
            field=field,
            value=text,
            places=places,
            currency=currency,
        )
    if exponent == 1:
        return InvalidValue.said(
            "amount_decimals_one",
            "%(value)s has %(places)s decimals; %(currency)s has 1 decimal (ISO 4217)",
            field=field,
            value=text,
            places=places,
            currency=currency,
        )
    return InvalidValue.said(
        "amount_decimals",
        "%(value)s has %(places)s decimals; %(currency)s has %(allowed)s decimals (ISO 4217)",
        field=field,
        value=text,
        places=places,
        currency=currency,
        allowed=exponent,
    )


def major_to_minor(
    value: str, currency: str | None, field: str, *, negative: bool = False, zero: bool = True
) -> int:
    """Decimal text in major units (``12.50``) as integer minor units of ``currency``.

    The currency's minor-unit exponent (2 for EUR, 0 for JPY, 3 for KWD) is the most
    decimals allowed: ``12.345`` EUR is refused rather than rounded. A decimal comma,
    thousands separators or an exponent are refused with a hint. ``negative`` allows a
    leading ``-``; ``zero`` allows 0. With ``currency`` None (not known: its own cell is
    wrong) only the shape and sign are checked and the result is meaningless.
    """
    text = value.strip()
    m = _AMOUNT.match(text)
    if m is None:
        hint = " (write the decimal point as '.', no thousands separator)" if "," in text else ""
        if not text:
            raise InvalidValue.said("value_empty", "is empty", field=field)
        if hint:
            raise InvalidValue.said(
                "not_amount_comma",
                "%(value)s is not an amount like 12.50"
                " (write the decimal point as '.', no thousands separator)",
                field=field,
                value=repr(text),
            )
        raise InvalidValue.said(
            "not_amount", "%(value)s is not an amount like 12.50", field=field, value=repr(text)
        )
    if m["sign"] and not negative:
        raise InvalidValue.said(
            "amount_negative",
            "%(value)s is negative; amounts here are 0 or more",
            field=field,
            value=text,
        )
    frac = m["frac"] or ""
    exponent = len(frac) if currency is None else minor_exponent(currency)
    if len(frac) > exponent:
        raise _too_many_decimals(field, text, len(frac), str(currency), exponent)
    if len(m["whole"].lstrip("0")) > 18:
        raise InvalidValue.said(
            "amount_too_large",
            "%(value)s is larger than any amount hopchain stores",
            field=field,
            value=text[:30],
        )
    minor = int(m["whole"] + frac.ljust(exponent, "0"))
    if m["sign"]:
        minor = -minor
    if minor == 0 and not zero:
        raise InvalidValue.said("amount_zero", "is 0; give an amount other than zero", field=field)
    if abs(minor) > MAX_MINOR:
        raise InvalidValue.said(
            "amount_too_large",
            "%(value)s is larger than any amount hopchain stores",
            field=field,
            value=text,
        )
    return minor


def minor_to_major(amount_minor: int, currency: str) -> str:
    """Integer minor units as decimal text with the currency's decimals (``1250`` -> ``12.50``)."""
    exponent = minor_exponent(currency)
    sign = "-" if amount_minor < 0 else ""
    digits = str(abs(amount_minor)).rjust(exponent + 1, "0")
    if exponent == 0:
        return sign + digits
    return f"{sign}{digits[:-exponent]}.{digits[-exponent:]}"


def check_date(value: str, field: str) -> str:
    """An ISO 8601 calendar date ``YYYY-MM-DD`` that exists (``2026-02-30`` is refused)."""
    text = value.strip()
    if _DATE.match(text):
        try:
            return date.fromisoformat(text).isoformat()
        except ValueError:
            raise InvalidValue.said(
                "not_calendar_day",
                "%(value)s is not a day of the calendar",
                field=field,
                value=text,
            ) from None
    raise InvalidValue.said(
        "not_date",
        "%(value)s is not a date like 2026-10-31 (YYYY-MM-DD)",
        field=field,
        value=repr(text),
    )


def check_month(value: str, field: str) -> str:
    """A month ``YYYY-MM``."""
    text = value.strip()
    if not _MONTH.match(text):
        raise InvalidValue.said(
            "not_month",
            "%(value)s is not a month like 2026-10 (YYYY-MM)",
            field=field,
            value=repr(text),
        )
    return text


def check_gtin(value: str, field: str = "gtin") -> str:
    """A GTIN-8/12/13/14 with a correct GS1 check digit, as 14 digits."""
    text = value.strip()
    try:
        return validate_gtin14(text)
    except InvalidIdentifierError:
        pass
    if not (text.isascii() and text.isdigit() and len(text) in (8, 12, 13, 14)):
        raise InvalidValue.said(
            "not_gtin",
            "%(value)s is not a GTIN (8, 12, 13 or 14 digits)",
            field=field,
            value=repr(text),
        )
    padded = text.zfill(14)
    raise InvalidValue.said(
        "gtin_check_digit",
        "%(value)s has check digit %(digit)s; the GS1 check digit of its other digits is"
        " %(expected)s",
        field=field,
        value=text,
        digit=padded[-1],
        expected=gs1_check_digit(padded[:-1]),
    )


def check_positive_int(value: str, field: str) -> int:
    """A whole number greater than 0 (``120``; no sign, decimals or separators)."""
    text = value.strip()
    if not _INT.match(text):
        raise InvalidValue.said(
            "not_whole_number",
            "%(value)s is not a whole number like 120",
            field=field,
            value=repr(text[:30]),
        )
    if len(text.lstrip("0")) > 18:
        raise InvalidValue.said(
            "number_too_large",
            "%(value)s is larger than hopchain stores",
            field=field,
            value=text[:30],
        )
    n = int(text)
    if n <= 0:
        raise InvalidValue.said("not_positive", "must be greater than 0", field=field)
    if n > MAX_MINOR:
        raise InvalidValue.said(
            "number_too_large", "%(value)s is larger than hopchain stores", field=field, value=text
        )
    return n


def check_rate(value: str, field: str = "rate") -> str:
    """An exchange rate: decimal text greater than 0, returned without trailing zeros."""
    text = value.strip()
    try:
        d = Decimal(text)
    except InvalidOperation:
        raise InvalidValue.said(
            "not_decimal",
            "%(value)s is not a decimal number like 1.0842",
            field=field,
            value=repr(text),
        ) from None
    if not d.is_finite() or "e" in text.lower():
        raise InvalidValue.said(
            "not_decimal",
            "%(value)s is not a decimal number like 1.0842",
            field=field,
            value=repr(text),
        )
    if d <= 0:
        raise InvalidValue.said(
            "rate_not_positive",
            "%(value)s is not greater than 0; a rate must be positive",
            field=field,
            value=text,
        )
    return decimal_str(d)


def check_iban(value: str, field: str = "iban") -> str:
    """An IBAN (ISO 13616: country format and mod-97 check digits), compact upper case."""
    try:
        return str(IBAN(value.strip()).compact)
    except SchwiftyException as exc:
        raise _not_iban(field, repr(value.strip()), str(exc)) from None


def check_bic(value: str, field: str = "bic") -> str:
    """A BIC (ISO 9362: 8 or 11 characters, bank, country, location, branch)."""
    try:
        return str(BIC(value.strip()).compact)
    except SchwiftyException as exc:
        raise _not_bic(field, repr(value.strip()), str(exc)) from None


_IBAN_COUNTRY = re.compile(r"Unknown country-code '(?P<country>[^']*)'")
_IBAN_CHARACTERS = re.compile(r"Invalid characters in IBAN (?P<iban>.*)")
_IBAN_STRUCTURE = re.compile(
    r"Invalid BBAN structure: '(?P<bban>[^']*)' doesn't match '(?P<spec>[^']*)'"
)
_BIC_LENGTH = re.compile(r"Invalid length '(?P<length>\d+)'")
_BIC_STRUCTURE = re.compile(r"Invalid structure '(?P<bic>[^']*)'")
_BIC_COUNTRY = re.compile(r"Invalid country code '(?P<country>[^']*)'")


def _not_iban(field: str, value: str, why: str) -> InvalidValue:
    """``value`` (quoted) is not an IBAN, ``why`` being schwifty's English reason
    (said with an id per reason schwifty gives; any other one kept as ``detail``)."""
    why = why.rstrip(".")
    if why == "Invalid checksum digits":
        return InvalidValue.said(
            "iban_checksum",
            "%(value)s is not a valid IBAN: invalid checksum digits",
            field=field,
            value=value,
        )
    if why == "Invalid IBAN length":
        return InvalidValue.said(
            "iban_length",
            "%(value)s is not a valid IBAN: invalid IBAN length",
            field=field,
            value=value,
        )
    if m := _IBAN_COUNTRY.fullmatch(why):
        return InvalidValue.said(
            "iban_country",
            "%(value)s is not a valid IBAN: unknown country-code '%(country)s'",
            field=field,
            value=value,
            country=m["country"],
        )
    if m := _IBAN_CHARACTERS.fullmatch(why):
        return InvalidValue.said(
            "iban_characters",
            "%(value)s is not a valid IBAN: invalid characters in IBAN %(iban)s",
            field=field,
            value=value,
            iban=m["iban"],
        )
    if m := _IBAN_STRUCTURE.fullmatch(why):
        return InvalidValue.said(
            "iban_structure",
            "%(value)s is not a valid IBAN: invalid BBAN structure: '%(bban)s' doesn't match"
            " '%(spec)s'",
            field=field,
            value=value,
            bban=m["bban"],
            spec=m["spec"],
        )
    return InvalidValue.said(
        "not_iban",
        "%(value)s is not a valid IBAN: %(detail)s",
        field=field,
        value=value,
        detail=_lower(why),
    )


def _not_bic(field: str, value: str, why: str) -> InvalidValue:
    """``value`` (quoted) is not a BIC, ``why`` being schwifty's English reason."""
    why = why.rstrip(".")
    if m := _BIC_LENGTH.fullmatch(why):
        return InvalidValue.said(
            "bic_length",
            "%(value)s is not a valid BIC: invalid length '%(length)s'",
            field=field,
            value=value,
            length=m["length"],
        )
    if m := _BIC_STRUCTURE.fullmatch(why):
        return InvalidValue.said(
            "bic_structure",
            "%(value)s is not a valid BIC: invalid structure '%(bic)s'",
            field=field,
            value=value,
            bic=m["bic"],
        )
    if m := _BIC_COUNTRY.fullmatch(why):
        return InvalidValue.said(
            "bic_country",
            "%(value)s is not a valid BIC: invalid country code '%(country)s'",
            field=field,
            value=value,
            country=m["country"],
        )
    return InvalidValue.said(
        "not_bic",
        "%(value)s is not a valid BIC: %(detail)s",
        field=field,
        value=value,
        detail=_lower(why),
    )


def _lower(text: str) -> str:
    text = text.rstrip(".")
    return text[:1].lower() + text[1:]


def date_ms(day: str) -> int:
    """Midnight UTC of an ISO date ``YYYY-MM-DD``, in epoch milliseconds."""
    d = date.fromisoformat(day)
    return calendar.timegm((d.year, d.month, d.day, 0, 0, 0)) * 1000


def party_by_id(s: Session, party_id: int) -> Party:
    """The party with that id; :class:`InvalidValue` on ``party`` when there is none."""
    p = s.get(Party, party_id)
    if p is None:
        raise InvalidValue.said(
            "no_party_id", "there is no party with id %(party)s", field="party", party=party_id
        )
    return p
