"""Checks of single partner master-data values, shared by the services, the file
import and (through them) the pages and the API.

Each check takes the text a person typed (a form field, a JSON member, a
spreadsheet cell) and the name of the field or column it came from, and returns
the canonical value or raises :class:`InvalidField` naming that field. None of
them touches the database.

Standards: country codes ISO 3166-1 alpha-2 and currency codes ISO 4217 (the
``pycountry`` package; a currency must also have a minor unit in ISO 4217, as
settlement books money in minor units, ``iso4217`` package), time zones from the
IANA database (:func:`zoneinfo.available_timezones`), e-mail addresses RFC 5321/5322
(``email-validator``, syntax only, no DNS), telephone numbers in the ITU-T E.164
form (``+`` country code and number, at most 15 digits).
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Mapping
from functools import cache
from typing import Self

import pycountry
from email_validator import EmailNotValidError, validate_email
from iso4217 import Currency

from partners.errors import PartnerError

__all__ = [
    "LOCALES",
    "InvalidField",
    "check_choice",
    "check_code",
    "check_coordinate",
    "check_country",
    "check_currency",
    "check_email",
    "check_locale",
    "check_phone",
    "check_text",
    "check_time_zone",
]

#: The languages a partner's documents may be written in: the Babel locales of the
#: pages' catalogues (``web.i18n.SUPPORTED``; a test keeps the two equal).
LOCALES = ("en", "zh_Hans_CN", "es")

_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_PHONE_SEPARATORS = re.compile(r"[\s().-]")
_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")


class InvalidField(PartnerError):
    """A value that cannot be stored; ``field`` names the field, JSON member or file
    column, ``message`` says why without repeating it (a file import prints
    ``row 7, column country: message``); ``str(exc)`` is ``field: message``."""

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
        """The error of a field: ``values`` holds ``field``; ``english`` says why without
        it (the words in ``web/partners/reasons.py`` start with ``%(field)s: ``)."""
        text = {name: str(value) for name, value in values.items()}
        return cls(text["field"], english % text, message_id=message_id, values=text)


def check_text(value: str, field: str, *, required: bool = True, max_length: int = 200) -> str:
    """``value`` stripped; refuses an empty one when ``required`` and one longer than
    ``max_length`` characters (the column's width)."""
    text = value.strip()
    if required and not text:
        raise InvalidField.said("value_empty", "is empty", field=field)
    if len(text) > max_length:
        raise InvalidField.said(
            "text_too_long",
            "is %(length)s characters long; at most %(limit)s",
            field=field,
            length=len(text),
            limit=max_length,
        )
    return text


def check_code(value: str, field: str = "code") -> str:
    """A party code: 1-64 letters, digits, ``.``, ``_`` or ``-``, starting with a letter
    or digit (it appears in addresses such as ``/partners/CODE``), kept as written."""
    code = value.strip()
    if not _CODE.match(code):
        raise InvalidField.said(
            "party_code_form",
            "%(value)s is not a party code: 1 to 64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit",
            field=field,
            value=repr(code),
        )
    return code


def check_choice(value: str, field: str, choices: tuple[str, ...]) -> str:
    """``value`` (stripped) when it is one of ``choices``."""
    text = value.strip()
    if text not in choices:
        raise InvalidField.said(
            "not_a_choice",
            "%(value)s is not one of %(choices)s",
            field=field,
            value=repr(text),
            choices=", ".join(choices),
        )
    return text


def check_country(value: str, field: str = "country") -> str:
    """An ISO 3166-1 alpha-2 country code, upper case (``de`` -> ``DE``)."""
    code = value.strip().upper()
    if len(code) != 2 or pycountry.countries.get(alpha_2=code) is None:
        raise InvalidField.said(
            "not_country",
            "%(value)s is not an ISO 3166 country code (like DE, CN, US)",
            field=field,
            value=repr(value.strip()),
        )
    return code


def check_currency(value: str, field: str = "currency") -> str:
    """An ISO 4217 currency code with a minor unit, upper case (``eur`` -> ``EUR``).

    Fund codes and precious metals (no minor unit) are refused: a party's money is
    booked in minor units of its currency."""
    code = value.strip().upper()
    known = len(code) == 3 and pycountry.currencies.get(alpha_3=code) is not None
    if known:
        try:
            known = Currency(code).exponent is not None
        except ValueError:
            known = False
    if not known:
        raise InvalidField.said(
            "not_currency",
            "%(value)s is not an ISO 4217 currency code (like EUR, USD, JPY)",
            field=field,
            value=repr(value.strip()),
        )
    return code


@cache
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def check_time_zone(value: str, field: str = "time_zone") -> str | None:
    """An IANA time zone name (``Asia/Shanghai``), None for an empty value."""
    name = value.strip()
    if not name:
        return None
    if name not in _zones():
        raise InvalidField.said(
            "not_time_zone",
            "%(value)s is not an IANA time zone (like Europe/Berlin, Asia/Shanghai)",
            field=field,
            value=repr(name),
        )
    return name


def check_locale(value: str, field: str = "locale") -> str | None:
    """One of :data:`LOCALES`, None for an empty value (the deployment's default)."""
    name = value.strip()
    if not name:
        return None
    if name not in LOCALES:
        raise InvalidField.said(
            "not_locale",
            "%(value)s is not a language hopchain writes in: %(choices)s",
            field=field,
            value=repr(name),
            choices=", ".join(LOCALES),
        )
    return name


def check_email(value: str, field: str = "email", *, required: bool = False) -> str:
    """An e-mail address in its normalized form (domain lower case), "" when empty
    and not ``required``. Syntax only: no DNS look-up."""
    text = value.strip()
    if not text:
        if required:
            raise InvalidField.said("value_empty", "is empty", field=field)
        return ""
    try:
        return validate_email(text, check_deliverability=False).normalized
    except EmailNotValidError:
        raise InvalidField.said(
            "not_email",
            "%(value)s is not an e-mail address (like name@example.com)",
            field=field,
            value=repr(text),
        ) from None


def check_phone(value: str, field: str = "phone") -> str:
    """A telephone number in E.164 form, ``+`` and 7 to 15 digits, the first not 0;
    spaces, dots, dashes and brackets between digits are dropped
    (``+86 (10) 1234-5678`` -> ``+861012345678``); "" when empty."""
    text = value.strip()
    if not text:
        return ""
    number = _PHONE_SEPARATORS.sub("", text)
    if not _E164.match(number):
        raise InvalidField.said(
            "not_phone",
            "%(value)s is not a telephone number in international form (like +49 30 1234567)",
            field=field,
            value=repr(text),
        )
    return number


def check_coordinate(value: str, field: str, *, limit: int) -> int | None:
    """A latitude (``limit`` 90) or longitude (``limit`` 180) in decimal degrees as
    integer micro-degrees (``48.137154`` -> ``48137154``), None for an empty value.

    At most 6 decimals; rounding is not done (the value is what the person typed)."""
    text = value.strip()
    if not text:
        return None
    match = re.fullmatch(r"(-)?([0-9]{1,3})(?:\.([0-9]{1,6}))?", text)
    if match is None:
        raise InvalidField.said(
            "not_coordinate",
            "%(value)s is not a coordinate in decimal degrees (like 48.137154)",
            field=field,
            value=repr(text),
        )
    sign, whole, frac = match.groups()
    e6 = int(whole) * 1_000_000 + int((frac or "").ljust(6, "0"))
    if e6 > limit * 1_000_000:
        raise InvalidField.said(
            "coordinate_range",
            "%(value)s is outside -%(limit)s to %(limit)s degrees",
            field=field,
            value=text,
            limit=limit,
        )
    return -e6 if sign else e6
