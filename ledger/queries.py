"""Read-side questions about units: where is it, what is in it, what happened to it."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection

from ledger.database import placeholder
from ledger.ids import parse_key
from ledger.partitions import declarations_table
from ledger.rows import canonical_bytes, fetch_rows, load_codebook
from ledger.times import EntryTimeOutOfRange, format_rfc3339, in_range

__all__ = [
    "EntryView",
    "UnitNotFoundError",
    "UnitStatus",
    "contents",
    "recent_entries",
    "unit_history",
    "unit_status",
]


class UnitNotFoundError(LookupError):
    """No unit with that key has ever been seen."""


@dataclass(frozen=True, slots=True)
class UnitStatus:
    key: str
    state: str
    holder: str | None
    bound_for: str | None
    container: str | None  # the case or pallet directly holding it
    outermost: str | None  # the pallet at the top of its containers
    entries: int
    head_seq: int | None

    def as_json(self) -> dict[str, object]:
        return {
            "key": self.key,
            "state": self.state,
            "holder": self.holder,
            "bound_for": self.bound_for,
            "container": self.container,
            "outermost_container": self.outermost,
            "entries": self.entries,
            "head_seq": self.head_seq,
        }


@dataclass(frozen=True, slots=True)
class EntryView:
    seq: int
    kind: str
    at_ms: int
    party: str
    counterparty: str | None
    site: str | None
    lat_e6: int | None
    lon_e6: int | None
    container: str | None
    device: str
    device_seq: int | None
    anomaly: str
    prev_hash: bytes
    leaf_hash: bytes
    unit: str = ""
    retracts: int | None = None  # an error declaration: the seq it retracts
    retracted_by: int | None = None  # a retracted observation: its declaration's seq

    def as_json(self) -> dict[str, object]:
        return {
            "seq": self.seq,
            "unit": self.unit,
            "kind": self.kind,
            "at": format_rfc3339(self.at_ms),  # null when no calendar date holds it
            "at_ms": self.at_ms,
            "party": self.party,
            "counterparty": self.counterparty,
            "site": self.site,
            "lat": None if self.lat_e6 is None else self.lat_e6 / 1e6,
            "lon": None if self.lon_e6 is None else self.lon_e6 / 1e6,
            "container": self.container,
            "device": self.device or None,
            "device_seq": self.device_seq,
            "anomaly": self.anomaly or None,
            "prev": self.prev_hash.hex(),
            "leaf_hash": self.leaf_hash.hex(),
            "retracts": self.retracts,
            "retracted_by": self.retracted_by,
        }


def _unit_row(
    conn: Connection, key: str
) -> tuple[int, str, str | None, str | None, int | None, int | None]:
    key = parse_key(key).key
    ph = placeholder(conn)
    row = conn.exec_driver_sql(
        "SELECT u.id, u.state, h.code, b.code, u.container_id, u.head_seq FROM units u"
        " LEFT JOIN parties h ON h.id = u.holder_id LEFT JOIN parties b ON b.id = u.bound_for_id"
        f" WHERE u.key = {ph}",
        (key,),
    ).first()
    if row is None:
        raise UnitNotFoundError(f"no unit {key} in the ledger")
    return (int(row[0]), str(row[1]), row[2], row[3], row[4], row[5])


def unit_status(conn: Connection, key: str) -> UnitStatus:
    """Custody and containment now: "which pallet holds this unit" in one answer."""
    unit_id, state, holder, bound_for, container_id, head_seq = _unit_row(conn, key)
    ph = placeholder(conn)
    chain: list[str] = []
    seen = {unit_id}
    while container_id is not None and container_id not in seen:
        seen.add(container_id)
        row = conn.exec_driver_sql(
            f"SELECT key, container_id FROM units WHERE id = {ph}", (container_id,)
        ).first()
        if row is None:
            break
        chain.append(str(row[0]))
        container_id = row[1]
    count = conn.exec_driver_sql(
        f"SELECT COUNT(*) FROM entries WHERE unit_id = {ph}", (unit_id,)
    ).scalar_one()
    return UnitStatus(
        key=parse_key(key).key,
        state=state,
        holder=holder,
        bound_for=bound_for,
        container=chain[0] if chain else None,
        outermost=chain[-1] if chain else None,
        entries=int(count),
        head_seq=None if head_seq is None else int(head_seq),
    )


def contents(conn: Connection, key: str, *, recursive: bool = True) -> list[str]:
    """Keys packed in a case or pallet now, depth first ("what is in this pallet")."""
    unit_id = _unit_row(conn, key)[0]
    ph = placeholder(conn)
    out: list[str] = []
    stack = [unit_id]
    seen = {unit_id}
    while stack:
        parent = stack.pop()
        rows = conn.exec_driver_sql(
            f"SELECT id, key FROM units WHERE container_id = {ph} ORDER BY key", (parent,)
        ).all()
        for child_id, child_key in rows:
            out.append(str(child_key))
            if recursive and child_id not in seen and str(child_key).startswith("00/"):
                seen.add(int(child_id))
                stack.append(int(child_id))
    return out


_ENTRY_VIEW_SQL = (
    "SELECT e.seq, e.kind, e.at_ms, p.code, cp.code, s.code, e.lat_e6, e.lon_e6, c.key,"
    " e.device, e.device_seq, e.anomaly, e.prev_hash, e.leaf_hash, u.key, e.retracts_seq,"
    " (SELECT d.seq FROM {declarations} d WHERE d.retracts_seq = e.seq) FROM entries e"
    " JOIN units u ON u.id = e.unit_id"
    " JOIN parties p ON p.id = e.party_id LEFT JOIN parties cp ON cp.id = e.counterparty_id"
    " LEFT JOIN sites s ON s.id = e.site_id LEFT JOIN units c ON c.id = e.container_id"
)


def _views(conn: Connection, where: str, params: tuple[object, ...], tail: str) -> list[EntryView]:
    view = _ENTRY_VIEW_SQL.format(declarations=declarations_table(conn))
    rows = conn.exec_driver_sql(f"{view} WHERE {where} {tail}", params).all()
    return [
        EntryView(
            seq=int(r[0]),
            kind=str(r[1]),
            at_ms=int(r[2]),
            party=str(r[3]),
            counterparty=r[4],
            site=r[5],
            lat_e6=r[6],
            lon_e6=r[7],
            container=r[8],
            device=str(r[9]),
            device_seq=r[10],
            anomaly=str(r[11]),
            prev_hash=bytes(r[12]),
            leaf_hash=bytes(r[13]),
            unit=str(r[14]),
            retracts=None if r[15] is None else int(r[15]),
            retracted_by=None if r[16] is None else int(r[16]),
        )
        for r in rows
    ]


def unit_history(conn: Connection, key: str) -> list[EntryView]:
    """Every entry of one unit, oldest first, with hashes to check the chain."""
    unit_id = _unit_row(conn, key)[0]
    return _views(conn, f"e.unit_id = {placeholder(conn)}", (unit_id,), "ORDER BY e.seq")


def recent_entries(
    conn: Connection, limit: int = 50, *, anomalies_only: bool = False
) -> list[EntryView]:
    """The newest entries, newest first (what an auditor looks at first)."""
    where = "e.anomaly <> ''" if anomalies_only else "1 = 1"
    return _views(conn, where, (), f"ORDER BY e.seq DESC LIMIT {int(limit)}")


def canonical_entries(conn: Connection, start: int, end: int) -> list[tuple[int, bytes, bytes]]:
    """(seq, canonical bytes re-encoded from the columns, stored leaf hash) for
    start <= seq < end: what an outside verifier needs to recompute the tree.

    Raises :class:`~ledger.times.EntryTimeOutOfRange` for the first row whose time
    no canonical bytes can spell (a row changed outside the ledger).
    """
    codes = load_codebook(conn)
    rows = fetch_rows(conn, start, end)
    for r in rows:
        if not in_range(int(r[2])):
            raise EntryTimeOutOfRange(int(r[0]), int(r[2]))
    return [(int(r[0]), canonical_bytes(r, codes), bytes(r[14])) for r in rows]
