"""Query parameters and form fields of pages, checked and refused in words.

A page that parses what a person typed (``?seq=``, ``?month=``, ``?quarter=``,
``?period=``, ``?day=``) checks it here first, so a malformed value is
refused naming the field and the parameter in the reader's language, never with
Python's exception text (``invalid literal for int()``). Each function returns the
value checked or raises :class:`web.errors.BadParameter` (400): its ``message``
in English, its ``localized`` text in the request's language; a page with a
problem display shows ``localized_message(exc)`` there, others let the error page
say it. The shapes of periods are the settlement engine's
(:func:`settlement.period_bounds`: ``YYYY-MM`` months, ``YYYY-Qn`` quarters,
years 0001 to 9999).
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from flask_babel import gettext

import settlement
from web.errors import BadParameter
from web.i18n import N_

__all__ = ["day", "period", "whole_number"]

_NOT_WHOLE = N_("%(field)s (%(name)s): %(value)s is not a whole number")
_OUTSIDE = N_("%(field)s (%(name)s): %(value)s is not from %(low)s to %(high)s")
_NONE_YET = N_("%(field)s (%(name)s): %(value)s names nothing, there are none yet")
_NOT_MONTH = N_(
    "%(field)s (%(name)s): %(value)s is not a month; write it as YYYY-MM, such as 2026-10"
)
_NOT_QUARTER = N_(
    "%(field)s (%(name)s): %(value)s is not a quarter; write it as YYYY-Qn, such as 2026-Q4"
)
_NOT_PERIOD = N_(
    "%(field)s (%(name)s): %(value)s is neither a month (YYYY-MM, such as 2026-10)"
    " nor a quarter (YYYY-Qn, such as 2026-Q4)"
)
_NOT_DAY = N_(
    "%(field)s (%(name)s): %(value)s is not a date; write it as YYYY-MM-DD, such as 2026-11-30"
)


def _refuse(name: str, label: str, message: str, **values: Any) -> BadParameter:
    """The 400 for parameter ``name`` (shown as ``label``, an ``N_`` message) with ``message``."""
    english = message % {"field": label, "name": name, **values}
    localized = gettext(message, field=gettext(label), name=name, **values)
    return BadParameter(name, english, localized)


def whole_number(name: str, label: str, text: str, low: int, high: int) -> int:
    """``text`` as an integer from ``low`` to ``high`` (inclusive; ASCII digits, a
    leading ``-`` allowed); :class:`BadParameter` naming ``name`` otherwise:
    "Entry seq (seq): '1.5' is not a whole number", "... '-5' is not from 0 to
    17481", or, when ``high < low`` (nothing to choose), "... names nothing"."""
    raw = text.strip()
    digits = raw[1:] if raw.startswith("-") else raw
    if not (digits.isascii() and digits.isdigit()):
        raise _refuse(name, label, _NOT_WHOLE, value=repr(raw))
    value = int(raw) if len(digits) <= 19 else high + 1
    if low <= value <= high:
        return value
    if high < low:
        raise _refuse(name, label, _NONE_YET, value=repr(raw))
    raise _refuse(name, label, _OUTSIDE, value=repr(raw), low=low, high=high)


def period(
    name: str, label: str, text: str, kind: Literal["month", "quarter", "either"] = "either"
) -> str:
    """``text`` (stripped) as a settlement period of ``kind``: ``"month"`` (``YYYY-MM``),
    ``"quarter"`` (``YYYY-Qn``) or ``"either"``; :class:`BadParameter` naming ``name``
    and saying the shape otherwise (``2026-13`` is not a month)."""
    raw = text.strip()
    try:
        settlement.period_bounds(raw)
        ok = kind == "either" or (("Q" in raw) == (kind == "quarter"))
    except settlement.SettlementError:
        ok = False
    if ok:
        return raw
    message = {"month": _NOT_MONTH, "quarter": _NOT_QUARTER, "either": _NOT_PERIOD}[kind]
    raise _refuse(name, label, message, value=repr(raw))


def day(name: str, label: str, text: str) -> date:
    """``text`` as an ISO date (``YYYY-MM-DD``); :class:`BadParameter` naming ``name``
    otherwise."""
    raw = text.strip()
    try:
        if len(raw) == 10:
            return date.fromisoformat(raw)
    except ValueError:
        pass
    raise _refuse(name, label, _NOT_DAY, value=repr(raw))
