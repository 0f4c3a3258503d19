"""One unit as the units API and the trace page show it, with who may see it.

The manufacturer's channel managers, auditors, admins and warehouse staff see
every unit. A distributor (or anyone acting for a channel partner) sees a unit
only when :func:`ledger.access.may_read_unit` allows it: custody was handed to its
party, never because its party wrote an entry. Any other unit answers "not
found" exactly like a unit that does not exist, so that a distributor cannot
learn which serial numbers exist.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

from ledger import (
    InvalidIdentifierError,
    UnitStatus,
    contents,
    parse_key,
    unit_history,
    unit_status,
)
from ledger.access import require_readable
from ledger.checkpoint import latest_checkpoint
from ledger.queries import EntryView
from scanners import parse
from scanners.epcis_events import Retraction, retractions

__all__ = ["UnitReport", "load_unit", "resolve_key"]


@dataclass(frozen=True, slots=True)
class UnitReport:
    """Custody now, what is packed in it, every entry, and the newest signed tree size."""

    status: UnitStatus
    contents: list[str]
    history: list[EntryView]
    checkpoint_size: int | None  # entries with seq below it are in a signed checkpoint
    # retracted entries (by seq): which declaration, when, why, corrective events
    retracted: dict[int, Retraction] = field(default_factory=dict)

    @property
    def is_logistic(self) -> bool:
        return self.status.key.startswith("00/")

    @property
    def unit_count(self) -> int:
        """Trade items (not cases or pallets) packed in it now, at any depth."""
        return sum(1 for key in self.contents if key.startswith("01/"))

    def status_json(self) -> dict[str, Any]:
        out: dict[str, Any] = dict(self.status.as_json())
        if self.is_logistic:
            out["contents"] = self.contents
            out["unit_count"] = self.unit_count
        return out

    def history_json(self) -> dict[str, Any]:
        return {
            "key": self.status.key,
            "custody": self.status.as_json(),
            "checkpoint_tree_size": self.checkpoint_size,
            "entries": [self._entry_json(e) for e in self.history],
        }

    def _entry_json(self, e: EntryView) -> dict[str, Any]:
        out = dict(e.as_json())  # has retracts and retracted_by (ledger.queries)
        if e.seq in self.retracted:
            out["retracted"] = self.retracted[e.seq].as_json()
        return out


def resolve_key(text: str) -> str:
    """The canonical key of ``text``: a key (``01/…/21/…``, ``00/…``), a GS1 Digital
    Link URL, an element string or anything else a scanner reads.

    Raises :class:`~ledger.InvalidIdentifierError` naming the problem.
    """
    text = text.strip()
    if not text:
        raise InvalidIdentifierError("enter a unit key, a Digital Link URL or a scanned code")
    looks_like_key = text.removeprefix("/")[:3] in ("00/", "01/")
    try:
        return parse_key(text).key
    except InvalidIdentifierError as exc:
        key_error = exc
    scanned = parse(text)
    if scanned.key is not None:
        return scanned.key
    if looks_like_key:
        raise key_error
    if scanned.error is not None:
        raise InvalidIdentifierError(scanned.error)
    raise InvalidIdentifierError(
        f"{text!r} names a product ({scanned.gtin or 'no GTIN'}) but no unit: "
        "it has no serial number"
    )


def load_unit(engine: Engine, key: str, *, only_party: str | None = None) -> UnitReport:
    """The report of the unit with canonical ``key``.

    ``only_party``: answer only if that party may read the unit
    (:func:`ledger.access.may_read_unit`; ``""`` reads nothing). Raises
    :class:`~ledger.UnitNotFoundError` for an unknown unit, or one the party may
    not read (the same words); :class:`~ledger.InvalidIdentifierError` for a
    malformed key.
    """
    with engine.connect() as conn:
        if only_party is not None:
            require_readable(conn, key, only_party)
        history = unit_history(conn, key)
        status = unit_status(conn, key)
        inside = contents(conn, key) if status.key.startswith("00/") else []
        retracted = retractions(conn, [e.seq for e in history if e.retracted_by is not None])
    latest = latest_checkpoint(engine)
    return UnitReport(
        status=status,
        contents=inside,
        history=history,
        checkpoint_size=None if latest is None else latest[0],
        retracted=retracted,
    )
