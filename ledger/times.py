"""Stored times made readable, whatever was stored.

Every time in the database is an integer of milliseconds since the Unix epoch,
UTC (``entries.at_ms``, ``*_ms`` columns). Intake keeps new scans inside a sane
window, but rows imported, written by older versions or edited by hand can hold
any 64-bit value, and Python's ``datetime`` covers only the years 1 to 9999.
Pages, exports and reports turn ms into text through :func:`format_ms` only,
which never raises: a time outside that range reads ``out of range
(at_ms=…)``, naming the stored value so that an auditor can find the row.

Conversions use integer arithmetic from the epoch, never ``fromtimestamp``
(local time, C ``time_t`` limits, float rounding: 253402300799999 / 1000 rounds
up into the year 10000) and never "+1 day" past the last representable day.

Bucketing (months, days) uses :func:`month_of_ms`, which answers None for a time
outside the range: callers skip such rows and say how many they skipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, text

from ledger.canonical import format_time

__all__ = [
    "MAX_MS",
    "MIN_MS",
    "EntryTimeOutOfRange",
    "OddTimes",
    "entries_outside_calendar",
    "format_day",
    "format_ms",
    "format_rfc3339",
    "in_range",
    "month_of_ms",
    "out_of_range_text",
    "to_datetime",
]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: 0001-01-01T00:00:00.000Z, the first millisecond ``datetime`` can hold.
MIN_MS = -62_135_596_800_000
#: 9999-12-31T23:59:59.999Z, the last millisecond ``datetime`` can hold.
MAX_MS = 253_402_300_799_999

DEFAULT_FORMAT = "%Y-%m-%d %H:%M UTC"


class EntryTimeOutOfRange(ValueError):
    """An entry's stored ``at_ms`` lies outside what its canonical bytes can spell
    (RFC 3339: years 1 to 9999), so no leaf hash can match it: the row was written
    or changed outside the ledger. ``seq`` and ``at_ms`` name it."""

    def __init__(self, seq: int, at_ms: int) -> None:
        self.seq = seq
        self.at_ms = at_ms
        super().__init__(
            f"entry seq {seq} holds at_ms={at_ms}, outside the years 1 to 9999 that an "
            "entry's canonical bytes can spell: the row was changed outside the ledger "
            "(hopchain ledger verify reports it)"
        )


def in_range(at_ms: int) -> bool:
    """Whether ``at_ms`` lies in 0001-01-01T00:00:00.000Z … 9999-12-31T23:59:59.999Z."""
    return MIN_MS <= at_ms <= MAX_MS


def to_datetime(at_ms: int) -> datetime | None:
    """The aware UTC datetime of ``at_ms`` (ms precision), None when out of range."""
    if not in_range(at_ms):
        return None
    return _EPOCH + timedelta(milliseconds=at_ms)


def out_of_range_text(at_ms: int) -> str:
    """What a page shows for a time no calendar date can hold, with the stored value."""
    return f"out of range (at_ms={at_ms})"


def format_ms(at_ms: int | None, fmt: str = DEFAULT_FORMAT) -> str:
    """``at_ms`` as text in UTC by the ``strftime`` pattern ``fmt``; never raises.

    ``%Y`` is always four digits (``0001``, not ``1`` as some C libraries print).
    None gives ``""``; a time outside :data:`MIN_MS` … :data:`MAX_MS` gives
    :func:`out_of_range_text`. Used as the ``when`` template filter.
    """
    if at_ms is None:
        return ""
    moment = to_datetime(int(at_ms))
    if moment is None:
        return out_of_range_text(int(at_ms))
    return moment.strftime(fmt.replace("%Y", f"{moment.year:04d}"))


def format_rfc3339(at_ms: int) -> str | None:
    """The entry's RFC 3339 time (``2026-10-01T08:30:00.000Z``, as in its canonical
    bytes) for JSON; None for a time no calendar date holds (JSON shows null)."""
    return format_time(at_ms) if in_range(at_ms) else None


def format_day(at_ms: int | None) -> str:
    """``YYYY-MM-DD`` (UTC) of ``at_ms``, as :func:`format_ms` (never raises)."""
    return format_ms(at_ms, "%Y-%m-%d")


def month_of_ms(at_ms: int) -> str | None:
    """The month ``YYYY-MM`` (UTC) holding ``at_ms``; None when out of range."""
    moment = to_datetime(at_ms)
    return None if moment is None else f"{moment.year:04d}-{moment.month:02d}"


@dataclass(frozen=True, slots=True)
class OddTimes:
    """Entries whose ``at_ms`` no calendar date holds: how many, and the first few
    as (seq, at_ms), lowest seqs first."""

    count: int
    first: list[tuple[int, int]]

    def describe(self) -> str:
        """``2 entries with a time no calendar holds (seq 7 at_ms=…, seq 9 at_ms=…)``."""
        shown = ", ".join(f"seq {seq} at_ms={at}" for seq, at in self.first)
        more = f" and {self.count - len(self.first)} more" if self.count > len(self.first) else ""
        noun = "entry" if self.count == 1 else "entries"
        return f"{self.count} {noun} with a time no calendar holds ({shown}{more})"


def entries_outside_calendar(
    conn: Connection, below_seq: int | None = None, *, shown: int = 5
) -> OddTimes:
    """Entries (``seq < below_seq`` when given) whose ``at_ms`` lies outside
    :data:`MIN_MS` … :data:`MAX_MS`: legacy or edited rows that batch jobs count
    in the nearest month and pages show as ``out of range (at_ms=…)``."""
    where = "(at_ms < :lo OR at_ms > :hi)"
    params: dict[str, int] = {"lo": MIN_MS, "hi": MAX_MS}
    if below_seq is not None:
        where += " AND seq < :below"
        params["below"] = below_seq
    count = int(
        conn.execute(text(f"SELECT COUNT(*) FROM entries WHERE {where}"), params).scalar_one()
    )
    first = (
        [
            (int(seq), int(at))
            for seq, at in conn.execute(
                text(
                    f"SELECT seq, at_ms FROM entries WHERE {where} ORDER BY seq LIMIT {int(shown)}"
                ),
                params,
            )
        ]
        if count
        else []
    )
    return OddTimes(count, first)
