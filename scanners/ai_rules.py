"""Value rules of GS1 AIs beyond their format: :func:`ai_value_error`.

One function checks an AI value the same way whatever form it came in (element
string, bracketed HRI, GS1 Digital Link path or query), so the forms can never
disagree. The format itself (length, character set) is biip's AI pattern; the
rules here are the *linters* of the GS1 Barcode Syntax Dictionary, applied per
component of the value as the dictionary lays it out:

- ``csum``, ``csumalpha``: check digits and the GMN check character pair
  (:func:`scanners.check_digits.check_digit_error`);
- ``yymmd0`` (day 00 allowed: "end of month"), ``yymmdd``, ``yymmddhh``,
  ``hhmm``, ``mmoptss``: dates and times (11-17, 4324-4326, 7003, 7006, 7007,
  7011, 8008). February 29th needs a year divisible by 4, as in GS1's reference
  linters;
- ``iso3166``, ``iso3166list``, ``iso3166999``, ``iso3166alpha2``: ISO 3166-1
  numeric / alpha-2 country codes (421-426, 4307, 4317, 7030-7039), from
  pycountry;
- ``iso4217``: ISO 4217 numeric currency codes (391n, 393n), from pycountry;
- ``latitude``/``longitude`` (4309), ``winding`` and ``nonzero`` (8001),
  ``zero`` (8003), ``pieceoftotal`` (8006, 8026), ``yesno`` (4321-4323),
  ``hyphen`` (4330-4333), ``mediatype`` (7241), ``importeridx`` (7040),
  ``nozeroprefix`` (8011), ``pcenc`` (4300-4320 texts);
- ``iban`` (8007): ISO 13616 — letters and digits, 5-34 characters, an ISO 3166
  alpha-2 country, two check digits, mod 97 (ISO 7064 MOD 97-10, schwifty).

Not applied: ``key`` and ``gcppos1``/``gcppos2`` (they need GS1's list of
company prefixes), ``couponcode``/``couponposoffer`` (8110/8112 coupon
structures), and the dictionary's ``req``/``ex`` pairing rules between AIs.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

from scanners.check_digits import ai_title, check_digit_error

__all__ = ["LINTED_AIS", "ai_value_error"]

# A component of a value: (start, length or None for "to the end", linter, optional).
_Component = tuple[int, int | None, str, bool]


def _spec(*parts: tuple[int, int | None, str]) -> tuple[_Component, ...]:
    """Required components (start, length, linter)."""
    return tuple((start, length, linter, False) for start, length, linter in parts)


def _optional(start: int, length: int | None, linter: str) -> _Component:
    return (start, length, linter, True)


_PCENC = _spec((0, None, "pcenc"))
#: AI -> the linted components of its value (GS1 Barcode Syntax Dictionary).
_RULES: dict[str, tuple[_Component, ...]] = {
    **{ai: _spec((0, 6, "yymmd0")) for ai in ("11", "12", "13", "15", "16", "17")},
    **{f"391{n}": _spec((0, 3, "iso4217")) for n in range(10)},
    **{f"393{n}": _spec((0, 3, "iso4217")) for n in range(10)},
    "421": _spec((0, 3, "iso3166")),
    "422": _spec((0, 3, "iso3166")),
    "423": _spec((0, None, "iso3166list")),
    "424": _spec((0, 3, "iso3166")),
    "425": _spec((0, None, "iso3166list")),
    "426": _spec((0, 3, "iso3166")),
    **{f"43{n:02d}": _PCENC for n in (*range(7), *range(10, 17), 20)},
    "4307": _spec((0, 2, "iso3166alpha2")),
    "4317": _spec((0, 2, "iso3166alpha2")),
    "4309": _spec((0, 10, "latitude"), (10, 10, "longitude")),
    **{f"432{n}": _spec((0, 1, "yesno")) for n in (1, 2, 3)},
    "4324": _spec((0, 6, "yymmd0"), (6, 4, "hhmm")),
    "4325": _spec((0, 6, "yymmd0"), (6, 4, "hhmm")),
    "4326": _spec((0, 6, "yymmdd")),
    **{f"433{n}": (_optional(6, 1, "hyphen"),) for n in range(4)},
    "7003": _spec((0, 6, "yymmdd"), (6, 4, "hhmm")),
    "7006": _spec((0, 6, "yymmdd")),
    "7007": (*_spec((0, 6, "yymmdd")), _optional(6, 6, "yymmdd")),
    "7011": (*_spec((0, 6, "yymmdd")), _optional(6, 4, "hhmm")),
    **{f"703{n}": _spec((0, 3, "iso3166999")) for n in range(10)},
    "7040": _spec((3, 1, "importeridx")),
    "7241": _spec((0, 2, "mediatype")),
    "8001": _spec((0, 4, "nonzero"), (4, 5, "nonzero"), (9, 3, "nonzero"), (12, 1, "winding")),
    "8003": _spec((0, 1, "zero")),
    "8006": _spec((14, 4, "pieceoftotal")),
    "8007": _spec((0, None, "iban")),
    "8008": (*_spec((0, 8, "yymmddhh")), _optional(8, None, "mmoptss")),
    "8011": _spec((0, None, "nozeroprefix")),
    "8026": _spec((14, 4, "pieceoftotal")),
}
#: The AIs with a value rule besides their format and check digit.
LINTED_AIS = frozenset(_RULES)

_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_IMPORTER_INDEX = re.compile(r"[0-9A-Za-z_-]")
_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_IBAN_CHARS = re.compile(r"[A-Z]{2}[0-9]{2}[A-Z0-9]+")


def ai_value_error(ai: str, value: str) -> str | None:
    """Why ``value`` breaks a value rule of ``ai``, naming the AI, its GS1 data
    title and the rule in words, e.g. ``"AI 422 (ORIGIN) country 999 is not an
    ISO 3166-1 numeric country code"``; None when every rule holds.

    Checks the check digit (or GMN check pair) and the GS1 Barcode Syntax
    Dictionary linters listed in the module docstring. The value's format (its
    length and character set) must already match the AI's pattern.
    """
    why = check_digit_error(ai, value)
    if why is not None:
        return why
    for start, length, linter, optional in _RULES.get(ai, ()):
        part = value[start:] if length is None else value[start : start + length]
        if not part:
            if optional:
                continue
            return f"{_label(ai)} is too short: it has no {linter} part at position {start + 1}"
        reason = _LINTERS[linter](part)
        if reason is not None:
            return f"{_label(ai)} {reason}"
    return None


def _label(ai: str) -> str:
    return f"AI {ai} ({ai_title(ai)})"


def _date(part: str, *, day_zero: bool) -> str | None:
    if len(part) != 6 or not part.isdigit():
        return f"date {part!r} is not six digits YYMMDD"
    yy, mm, dd = int(part[:2]), int(part[2:4]), int(part[4:])
    if not 1 <= mm <= 12:
        return f"date {part} has month {mm:02d}: months are 01-12"
    last = 28 if mm == 2 and yy % 4 else _DAYS[mm - 1]
    if dd == 0 and day_zero:
        return None
    if not 1 <= dd <= last:
        zero = " (or 00 for the end of the month)" if day_zero else ""
        return f"date {part} has day {dd:02d}: month {mm:02d} of year {yy:02d} has days 01-{last}{zero}"
    return None


def _two(part: str, what: str, top: int) -> str | None:
    if not part.isdigit() or int(part) > top:
        return f"{what} {part}, not 00-{top}"
    return None


def _hhmm(part: str) -> str | None:
    return _two(part[:2], f"time {part} has hour", 23) or _two(
        part[2:], f"time {part} has minute", 59
    )


def _yymmddhh(part: str) -> str | None:
    return _date(part[:6], day_zero=False) or _two(part[6:], f"date and hour {part} has hour", 23)


def _mmoptss(part: str) -> str | None:
    if len(part) not in (2, 4):
        return f"minutes and seconds {part!r} are not MM or MMSS"
    return _two(part[:2], "time has minute", 59) or (
        _two(part[2:], "time has second", 59) if part[2:] else None
    )


@lru_cache(maxsize=1)
def _countries() -> tuple[frozenset[str], frozenset[str]]:
    """(ISO 3166-1 numeric codes, alpha-2 codes), from pycountry."""
    import pycountry

    countries = list(pycountry.countries)
    return frozenset(c.numeric for c in countries), frozenset(c.alpha_2 for c in countries)


@lru_cache(maxsize=1)
def _currencies() -> frozenset[str]:
    import pycountry

    return frozenset(c.numeric for c in pycountry.currencies if getattr(c, "numeric", None))


def _iso3166(part: str) -> str | None:
    if part not in _countries()[0]:
        return f"country {part} is not an ISO 3166-1 numeric country code"
    return None


def _iso3166999(part: str) -> str | None:
    if part != "999" and part not in _countries()[0]:
        return f"country {part} is neither an ISO 3166-1 numeric country code nor 999"
    return None


def _iso3166list(part: str) -> str | None:
    if len(part) % 3 or not 3 <= len(part) <= 15:
        return f"{part!r} is not a list of one to five 3-digit ISO 3166-1 country codes"
    for i in range(0, len(part), 3):
        why = _iso3166(part[i : i + 3])
        if why is not None:
            return f"{why} (code {i // 3 + 1} of the list)"
    return None


def _iso3166alpha2(part: str) -> str | None:
    if part not in _countries()[1]:
        return f"country {part!r} is not an ISO 3166-1 alpha-2 country code"
    return None


def _iso4217(part: str) -> str | None:
    if part not in _currencies():
        return f"currency {part} is not an ISO 4217 numeric currency code"
    return None


def _degrees(part: str, what: str, top: int) -> str | None:
    if not part.isdigit() or int(part) > top:
        half = top // 20_000_000
        return (
            f"{what} {part} is more than {top}: it is written as (degrees + {half}) times "
            f"10^7, i.e. -{half} to +{half} degrees"
        )
    return None


def _iban(part: str) -> str | None:
    if not 5 <= len(part) <= 34 or not _IBAN_CHARS.fullmatch(part):
        return (
            f"IBAN {part!r} is not 5-34 capital letters and digits: country code, two check "
            "digits, account (ISO 13616)"
        )
    if part[:2] not in _countries()[1]:
        return f"IBAN {part!r} starts with {part[:2]!r}, not an ISO 3166-1 alpha-2 country code"
    from schwifty.checksum import ISO7064_mod97_10

    if not ISO7064_mod97_10().validate([part[4:], part[:2]], part[2:4]):
        expected = ISO7064_mod97_10().compute([part[4:], part[:2]])
        return f"IBAN {part} check digits {part[2:4]} are wrong (ISO 13616 mod 97); expected {expected}"
    return None


def _piece_of_total(part: str) -> str | None:
    piece, total = int(part[:2]), int(part[2:])
    if piece == 0 or total == 0 or piece > total:
        return f"piece {part[:2]} of total {part[2:]} is not a piece 01-{part[2:]} of a total 01-99"
    return None


def _one_of(allowed: str, words: str) -> Callable[[str], str | None]:
    def lint(part: str) -> str | None:
        return (
            None
            if part in allowed.split()
            else f"{words} {part!r} is not one of {allowed.replace(' ', ', ')}"
        )

    return lint


def _mediatype(part: str) -> str | None:
    if part.isdigit() and (1 <= int(part) <= 10 or 80 <= int(part) <= 99):
        return None
    return f"AIDC media type {part!r} is not a GS1 code 01-10 or a company code 80-99"


_LINTERS: dict[str, Callable[[str], str | None]] = {
    "yymmd0": lambda p: _date(p, day_zero=True),
    "yymmdd": lambda p: _date(p, day_zero=False),
    "yymmddhh": _yymmddhh,
    "hhmm": _hhmm,
    "mmoptss": _mmoptss,
    "iso3166": _iso3166,
    "iso3166999": _iso3166999,
    "iso3166list": _iso3166list,
    "iso3166alpha2": _iso3166alpha2,
    "iso4217": _iso4217,
    "latitude": lambda p: _degrees(p, "latitude", 1_800_000_000),
    "longitude": lambda p: _degrees(p, "longitude", 3_600_000_000),
    "winding": _one_of("0 1 9", "winding direction"),
    "nonzero": lambda p: f"dimension {p} is zero" if p.strip("0") == "" else None,
    "zero": _one_of("0", "the first digit"),
    "pieceoftotal": _piece_of_total,
    "yesno": _one_of("0 1", "flag"),
    "hyphen": _one_of("-", "the sign"),
    "mediatype": _mediatype,
    "importeridx": lambda p: (
        None
        if _IMPORTER_INDEX.fullmatch(p)
        else f"importer index {p!r} is not 0-9, A-Z, a-z, _ or -"
    ),
    "nozeroprefix": lambda p: (
        f"{p!r} starts with a zero (only the value 0 itself may)"
        if len(p) > 1 and p[0] == "0"
        else None
    ),
    "pcenc": lambda p: (
        f"text {p!r} has a '%' not followed by two hexadecimal digits (percent-encoding)"
        if _BAD_PERCENT.search(p)
        else None
    ),
    "iban": _iban,
}
