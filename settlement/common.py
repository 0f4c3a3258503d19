"""Things every service of the engine shares: who is acting, periods, errors."""

from __future__ import annotations

import calendar
import re
import time
from dataclasses import dataclass

from ledger.said import SaidError
from ledger.times import MAX_MS, MIN_MS, month_of_ms

__all__ = [
    "Actor",
    "NotComputable",
    "PermissionDenied",
    "SettlementError",
    "month_of",
    "now_ms",
    "period_bounds",
    "prior_year_period",
    "quarter_of",
]

_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")


class SettlementError(SaidError):
    """A settlement request that cannot be carried out, with the reason
    (:class:`ledger.said.SaidError`: English in ``str(exc)``, a ``message_id`` and
    ``values`` for pages in the reader's language)."""


class NotComputable(SettlementError):
    """The request is well formed but the figures cannot be computed yet: data they
    need is not on file (FX rates, a signed checkpoint, a valid program) or the
    period has not started. The reason names what to add."""


class PermissionDenied(SettlementError):
    """The acting user's role or party does not allow this action."""


@dataclass(frozen=True, slots=True)
class Actor:
    """The user on whose behalf a service acts, as ``web`` authenticated them.

    ``role`` is one of the design's roles (admin, warehouse, channel_manager,
    finance, distributor, auditor); ``party_id`` is set for distributor users.
    """

    username: str
    role: str
    party_id: int | None = None
    #: ``users.id`` of the person acting (a token acts as its user); rules that
    #: need two different people (four eyes) compare this, never names. None for
    #: the command line and the demo, which act as no signed-in user.
    user_id: int | None = None

    def require(self, *roles: str, action: str) -> None:
        if self.role not in roles:
            raise PermissionDenied(
                f"{self.username} ({self.role}) may not {action}; needs one of: {', '.join(roles)}"
            )


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def _ms(year: int, month: int) -> int:
    """First ms of a month (UTC); 10000-01, the end of 9999-12, is one past
    :data:`ledger.times.MAX_MS` (``calendar.timegm`` stops at the year 9999)."""
    if (year, month) == (10000, 1):
        return MAX_MS + 1
    return calendar.timegm((year, month, 1, 0, 0, 0)) * 1000


def _year(period: str, text: str) -> int:
    year = int(text)
    if year < 1:
        raise SettlementError(f"period {period!r}: years run from 0001 to 9999")
    return year


def period_bounds(period: str) -> tuple[int, int]:
    """``[start_ms, end_ms)`` of a ``YYYY-MM`` month or a ``YYYY-Qn`` quarter (UTC),
    years 0001 to 9999 (the end of 9999-12 is the ms after 9999-12-31T23:59:59.999Z).

    Raises :class:`SettlementError` naming a malformed period or the year 0000.
    """
    m = _MONTH.match(period)
    if m:
        y, mo = _year(period, m.group(1)), int(m.group(2))
        return _ms(y, mo), _ms(y + (mo == 12), mo % 12 + 1)
    q = _QUARTER.match(period)
    if q:
        y, n = _year(period, q.group(1)), int(q.group(2))
        first = 3 * (n - 1) + 1
        return _ms(y, first), _ms(y + (n == 4), (first + 2) % 12 + 1)
    raise SettlementError(f"period {period!r} is neither YYYY-MM nor YYYY-Qn")


def prior_year_period(period: str) -> str:
    """The same month or quarter a year earlier (for growth); SettlementError for
    the year 0001, which has none."""
    period_bounds(period)
    if period.startswith("0001-"):
        raise SettlementError(
            f"period {period!r} has no year before it to measure growth against: "
            "settle periods from 0002 on"
        )
    return f"{int(period[:4]) - 1:04d}{period[4:]}"


def month_of(at_ms: int) -> str:
    """The month ``YYYY-MM`` (UTC) holding ``at_ms``.

    A stored time outside 0001-01-01 … 9999-12-31 (a legacy or edited row; intake
    refuses such times) counts in the nearest month a calendar holds, 0001-01 or
    9999-12, so that what was observed stays visible instead of failing the
    whole batch; pages show such a time as ``out of range (at_ms=…)``
    (:func:`ledger.times.format_ms`).
    """
    month = month_of_ms(min(max(at_ms, MIN_MS), MAX_MS))
    assert month is not None  # clamped into range
    return month


def quarter_of(period: str) -> str:
    period_bounds(period)
    if "Q" in period:
        return period
    return f"{period[:4]}-Q{(int(period[5:7]) - 1) // 3 + 1}"


def months_of(period: str) -> list[str]:
    """The months a period covers (itself, or the three of a quarter)."""
    period_bounds(period)
    if "Q" not in period:
        return [period]
    y, n = period[:4], int(period[-1])
    return [f"{y}-{m:02d}" for m in range(3 * n - 2, 3 * n + 1)]
