"""The sequencer: appends batches of hops to the log, one writer at a time.

A batch runs in one write transaction that first takes the ledger lock (SQLite
``BEGIN IMMEDIATE``; PostgreSQL ``pg_advisory_xact_lock``), so concurrent writers
(threads, processes, web workers) queue instead of forking a unit chain or the
log, and a process killed mid-batch leaves no trace of the batch at all.

Inside the lock a batch is read once (head, parties, sites, units: one query each,
an array parameter on PostgreSQL), worked out in memory, and written with one
statement per table (SQLite ``executemany``; PostgreSQL ``COPY``, and one
``UPDATE ... FROM unnest`` for the units that changed): the lock is held for as
little time as possible and its cost is shared by every hop in the batch.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import operator
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Connection, Engine

from ledger.canonical import (
    _RETRACTS_TEMPLATE,
    _TEMPLATE,
    _code,
    _format_second,
    _s,
    format_time,
)
from ledger.custody import Custody, UnitState, apply_entry
from ledger.database import (
    bulk_insert,
    bulk_update,
    fetch_all,
    is_sqlite,
    placeholder,
    write_transaction,
)
from ledger.hops import Hop, HopResult, scan_digest
from ledger.ids import EntryKind, InvalidIdentifierError, UnitId, parse_key
from ledger.partitions import declarations_table, ensure_partitions
from ledger.permissions import custody_refusal
from ledger.retraction import DECLARATION, CustodyRow, replay_custody, unit_custody_rows
from ledger.times import MAX_MS, MIN_MS, format_rfc3339, in_range
from ledger.tree import TILE_HEIGHT, Head, read_head
from ledger.verify_tiles import push_many

__all__ = ["LEDGER_LOCK_ID", "append_chosen_hops", "append_hops", "lock_ledger"]

LEDGER_LOCK_ID = 0x486F70436861696E  # "HopChain"

# A hop on a logistic unit covers what is packed in it for these kinds (by value:
# enum members hash in Python, strings in C, and this is checked for every hop).
_COVERS_CONTENTS = frozenset(
    k.value
    for k in (
        EntryKind.SHIPPING,
        EntryKind.RECEIVING,
        EntryKind.RETURNING,
        EntryKind.INSPECTING,
        EntryKind.DECOMMISSIONING,
        EntryKind.RETAIL_SELLING,
    )
)
_PACKING, _UNPACKING = EntryKind.PACKING, EntryKind.UNPACKING
_DECLARATION_KINDS = (EntryKind.ERROR_DECLARATION, DECLARATION)
_STATES = {s.value: s for s in UnitState}
# A unit with no live entry yet: none at all, or every one retracted (custody
# replayed to uncommissioned with no holder, which a first sighting always sets).
_UNCOMMISSIONED = UnitState.UNCOMMISSIONED
# An entry's leaf hash is SHA-256 of 0x00 and its canonical bytes (RFC 9162 2.1.1,
# ledger.merkle.leaf_hash): the 0x00 is formatted in with them, saving a copy.
_LEAF_TEMPLATE = "\x00" + _TEMPLATE
_LEAF_RETRACTS_TEMPLATE = "\x00" + _RETRACTS_TEMPLATE
_sha256 = hashlib.sha256
_CHUNK = 500  # bound on IN (...) list sizes
_UNIT_INSERT = (
    "id", "key", "gtin", "serial", "sscc", "container_id", "holder_id", "bound_for_id",
    "state", "head_seq", "head_hash",
)  # fmt: skip
_UNIT_UPDATE = ("container_id", "holder_id", "bound_for_id", "state", "head_seq", "head_hash")
_UNIT_UPDATE_TYPES = ("integer", "integer", "integer", "varchar(20)", "bigint", "bytea", "integer")
_ALL_CHANGED = (True,) * len(_UNIT_UPDATE)
_ENTRY_COLUMNS = (
    "seq", "unit_id", "kind", "at_ms", "party_id", "counterparty_id", "site_id", "lat_e6",
    "lon_e6", "container_id", "device", "device_seq", "anomaly", "prev_hash", "leaf_hash",
    "retracts_seq",
)  # fmt: skip
_RECEIPT_COLUMNS = ("device", "device_seq", "first_seq", "entry_count", "anomaly", "content_hash")
_MAX_DEVICE_SEQ = 2**63 - 1  # scan_receipts.device_seq and entries.device_seq are BIGINT
_MAX_DEVICE = 64  # characters of entries.device and scan_receipts.device


def lock_ledger(conn: Connection) -> None:
    """Serialize appenders. SQLite already holds the write lock (BEGIN IMMEDIATE)."""
    if not is_sqlite(conn):
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({LEDGER_LOCK_ID})")


def append_hops(engine: Engine, hops: Sequence[Hop]) -> list[HopResult]:
    """Append ``hops`` as one all-or-nothing batch; one result per hop, in order."""
    if not hops:
        return []
    with write_transaction(engine) as conn, _paused_gc():
        lock_ledger(conn)
        return _Batch(conn).run(hops)


def append_chosen_hops(
    engine: Engine, choose: Callable[[Connection], Sequence[Hop]]
) -> list[HopResult]:
    """Append the hops ``choose`` picks, picked with the ledger lock held.

    ``choose(conn)`` runs inside the append's write transaction, after the ledger
    lock is taken and before anything is written: what it reads on ``conn`` (a
    unit's last entry, say) cannot change until its hops are appended and committed,
    so two writers that check, then append, cannot both pass the same check. It
    returns the hops to append, maybe none; the results are theirs, one per hop, in
    order. An exception from ``choose`` rolls the transaction back and propagates.
    The lock is held while ``choose`` runs: it should read little (one query or two).
    """
    with write_transaction(engine) as conn:
        lock_ledger(conn)
        hops = choose(conn)
        if not hops:
            return []
        with _paused_gc():
            return _Batch(conn).run(hops)


def _paused_gc() -> contextlib.AbstractContextManager[None]:
    """No cyclic garbage collection while a batch is worked out: it makes a few
    objects per hop and no cycles, and the collector, triggered by those
    allocations, walked every live object of the process again and again (about
    4 us of the 30-35 us of CPU per hop on SQLite). Reference counting still frees
    everything as usual; the collector resumes when the batch is written."""
    from ledger.verify_scan import paused_gc  # verify_scan imports this module

    return paused_gc()


@dataclass(slots=True)
class _UnitRow:
    id: int
    key: str
    uid: UnitId | None  # parsed for units new in this batch; stored ones were checked on entry
    logistic: bool
    custody: Custody
    container_id: int | None
    head_seq: int | None
    head_hash: bytes
    new: bool = False
    dirty: bool = False
    children: set[int] | None = None  # loaded on demand, kept current in the batch
    # the row's _UNIT_UPDATE columns as stored (None: not stored yet): a write sets
    # only the columns that changed
    stored: tuple[Any, ...] | None = None


@dataclass(slots=True)
class _Party:
    id: int
    code: str
    quoted: str = ""  # the code as a JSON string in canonical bytes

    def __post_init__(self) -> None:
        self.quoted = _code(self.code)


@dataclass(slots=True)
class _Site:
    id: int
    code: str
    lat_e6: int | None
    lon_e6: int | None
    quoted: str = ""  # the code as a JSON string in canonical bytes

    def __post_init__(self) -> None:
        self.quoted = _code(self.code)


# What a hop's entries share: (kind, hop, party, counterparty, site, lat_e6, lon_e6).
# A plain tuple: one is made per hop, and a tuple costs a fraction of an object.
_EntryContext = tuple[EntryKind, Hop, _Party, _Party | None, _Site | None, int | None, int | None]


class _Rejected(Exception):
    pass


# A scan already recorded, as its scan_receipts row: (device, device_seq, first_seq,
# entry_count, anomaly, content_hash); content_hash is None for receipts written
# before digests were kept. A plain tuple: one is made per scan appended.
_ReceiptRow = tuple[str, int, int, int, str, bytes | None]


def _bounds_reason(hop: Hop) -> str:
    """Why ``hop``, outside what the columns or the canonical bytes hold, is refused
    (called for such hops only). Intake checks these and more; this is the last
    guard, so that nothing unencodable is ever stored."""
    if not in_range(hop.at_ms):  # the times canonical bytes (RFC 3339) can spell
        return (
            f"time {hop.at_ms} ms since the epoch is outside the years 1 to 9999, "
            "which a ledger entry (RFC 3339) cannot spell"
        )
    if hop.device_seq is not None and not 0 <= hop.device_seq <= _MAX_DEVICE_SEQ:
        return f"device_seq {hop.device_seq} is outside 0 to 2**63 - 1"
    return f"device id {hop.device[:_MAX_DEVICE]!r}... is longer than {_MAX_DEVICE} characters"


def _safe_time(at_ms: int) -> str:
    return format_rfc3339(at_ms) or f"at_ms={at_ms}"


def loose_unpacking_note(key: str) -> str:
    """The note a scan's result (and receipt) gets for unpacking a unit that is in
    no container; the entry itself carries no anomaly for it."""
    return f"unpacked {key}, which is not packed"


def _chunks(items: Sequence[str | int], size: int = _CHUNK) -> Iterable[Sequence[str | int]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


@dataclass
class _Batch:
    conn: Connection
    head: Head = field(init=False)
    parties: dict[str, _Party] = field(default_factory=dict)
    party_by_id: dict[int, _Party] = field(default_factory=dict)
    sites: dict[str, _Site] = field(default_factory=dict)
    units: dict[str, _UnitRow] = field(default_factory=dict)
    unit_by_id: dict[int, _UnitRow] = field(default_factory=dict)
    entries: list[tuple[object, ...]] = field(default_factory=list)
    nodes: list[tuple[int, int, bytes]] = field(default_factory=list)
    receipts: list[_ReceiptRow] = field(default_factory=list)
    next_unit_id: int = 0
    # seq retracted by this batch -> seq of its declaration
    retracted: dict[int, int] = field(default_factory=dict)
    # keys of units not stored yet, as the prefetch parsed them (each parsed once)
    parsed: dict[str, UnitId] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.ph = placeholder(self.conn)
        self.sqlite = is_sqlite(self.conn)

    # --- reading, once per batch --------------------------------------------------

    def _in(self, n: int) -> str:
        return ",".join([self.ph] * n)

    def _rows_where_in(
        self,
        select: str,
        column: str,
        values: Sequence[str | int],
        before: tuple[object, ...] = (),
    ) -> list[tuple[Any, ...]]:
        """Rows of ``select`` (a statement ending in ``WHERE`` or ``AND``, its own
        parameters ``before``) whose ``column`` is one of ``values``.

        PostgreSQL gets one statement with one array parameter (``= ANY(%s)``),
        parsed and planned alike whatever the count; SQLite gets ``IN`` lists of
        500 (its host-parameter limit is 999 on older builds).
        """
        if not values:
            return []
        if not self.sqlite:
            return fetch_all(self.conn, f"{select} {column} = ANY(%s)", (*before, list(values)))
        out: list[tuple[Any, ...]] = []
        for chunk in _chunks(values):
            sql = f"{select} {column} IN ({self._in(len(chunk))})"
            out.extend(fetch_all(self.conn, sql, (*before, *chunk)))
        return out

    def _load_parties(self, codes: set[str]) -> None:
        todo = sorted(c for c in codes if c not in self.parties)
        for pid, code in self._rows_where_in("SELECT id, code FROM parties WHERE", "code", todo):
            self._remember_party(int(pid), str(code))

    def _remember_party(self, pid: int, code: str) -> None:
        if pid in self.party_by_id:
            return
        p = _Party(pid, code)
        self.parties[code] = p
        self.party_by_id[pid] = p

    def _load_sites(self, codes: set[str]) -> None:
        select = "SELECT id, code, lat_e6, lon_e6 FROM sites WHERE"
        for sid, code, lat, lon in self._rows_where_in(select, "code", sorted(codes)):
            self.sites[str(code)] = _Site(int(sid), str(code), lat, lon)

    _UNIT_COLUMNS = (
        "SELECT u.id, u.key, u.container_id, u.state, u.head_seq, u.head_hash,"
        " u.holder_id, u.bound_for_id FROM units u"
    )

    def _adopt(self, rows: Sequence[Sequence[Any]]) -> list[_UnitRow]:
        """Units read from the database, with their holders' codes.

        The few parties a batch's units are held by are read in one query rather
        than joined to every unit row.
        """
        missing = {
            pid for r in rows for pid in (r[6], r[7]) if pid is not None
        } - self.party_by_id.keys()
        if missing:
            select = "SELECT id, code FROM parties WHERE"
            for pid, code in self._rows_where_in(select, "id", sorted(missing)):
                self._remember_party(int(pid), str(code))
        by_id = self.party_by_id
        out = []
        units, unit_by_id = self.units, self.unit_by_id
        for uid, key, container_id, state, head_seq, head_hash, hid, bid in rows:
            custody = Custody(
                _STATES[state],
                None if hid is None else by_id[hid].code,
                None if bid is None else by_id[bid].code,
            )
            head = b"" if head_hash is None else bytes(head_hash)
            u = _UnitRow(
                uid, key, None, key.startswith("00/"), custody, container_id, head_seq, head,
                False, False, None, (container_id, hid, bid, state, head_seq, head or None),
            )  # fmt: skip
            units[key] = u
            unit_by_id[uid] = u
            out.append(u)
        return out

    def _load_units(self, keys: set[str]) -> None:
        todo = sorted(k for k in keys if k not in self.units)
        self._adopt(self._rows_where_in(f"{self._UNIT_COLUMNS} WHERE", "u.key", todo))

    def _children(self, container: _UnitRow) -> set[int]:
        if container.children is None:
            kids: set[int] = set()
            if not container.new:
                sql = f"{self._UNIT_COLUMNS} WHERE u.container_id = {self.ph}"
                rows = fetch_all(self.conn, sql, (container.id,))
                # Units already in this batch keep their in-batch state.
                fresh = [r for r in rows if r[1] not in self.units]
                self._adopt(fresh)
                for row in rows:
                    u = self.units[row[1]]
                    if u.container_id == container.id:
                        kids.add(u.id)
            # Units this batch already moved into the container are counted too.
            kids.update(u.id for u in self.unit_by_id.values() if u.container_id == container.id)
            container.children = kids
        return container.children

    # --- working out a batch ------------------------------------------------------

    def run(self, hops: Sequence[Hop]) -> list[HopResult]:
        """One result per hop, in order; then every row of the batch is written.

        A hop with a device and ``device_seq`` is a scan: when a receipt of that
        (device, device_seq) is stored already, or an earlier hop of this batch was
        accepted under it, the hop is a replay. A replay that says what was stored
        (same :func:`~ledger.hops.scan_digest`; a receipt without one counts as the
        same) is ``duplicate`` with the original seqs; one that says something else
        is a ``conflict``: nothing is appended and the reason names both scans.
        """
        self.head = read_head(self.conn)
        results: list[HopResult | None] = [None] * len(hops)
        # What the columns and the canonical bytes cannot hold is refused first, so
        # nothing unencodable reaches the rest of the batch (one cheap pass).
        lo, hi = MIN_MS, MAX_MS
        out_of_bounds = [
            i
            for i, h in enumerate(hops)
            if not lo <= h.at_ms <= hi
            or (h.device_seq is not None and not 0 <= h.device_seq <= _MAX_DEVICE_SEQ)
            or len(h.device) > _MAX_DEVICE
        ]
        valid = hops
        if out_of_bounds:
            for i in out_of_bounds:
                results[i] = HopResult("rejected", reason=_bounds_reason(hops[i]))
            valid = [h for h, r in zip(hops, results, strict=True) if r is None]
        self._prefetch(valid)
        known = self._previous_receipts(valid)
        conflicts: list[tuple[int, Hop, _ReceiptRow]] = []
        for i, hop in enumerate(hops):
            if results[i] is not None:
                continue
            if hop.retracts is not None or hop.kind in _DECLARATION_KINDS:
                try:
                    results[i] = self._retract(hop)
                except (_Rejected, InvalidIdentifierError) as why:
                    results[i] = HopResult("rejected", reason=str(why))
                continue
            scan = (
                (hop.device, hop.device_seq) if hop.device and hop.device_seq is not None else None
            )
            if scan is not None and scan in known:
                stored = known[scan]
                try:
                    digest = self._digest(hop)
                except (_Rejected, InvalidIdentifierError) as why:
                    results[i] = HopResult("rejected", reason=str(why))
                    continue
                if stored[5] is None or stored[5] == digest:
                    seqs = tuple(range(stored[2], stored[2] + stored[3]))
                    results[i] = HopResult("duplicate", seqs, stored[4])
                else:
                    conflicts.append((i, hop, stored))
                continue
            try:
                result = self._append_hop(hop)
            except (_Rejected, InvalidIdentifierError) as why:
                results[i] = HopResult("rejected", reason=str(why))
                continue
            results[i] = result
            if scan is not None and result.status == "accepted":
                seqs = result.seqs
                row = (scan[0], scan[1], seqs[0], len(seqs), result.anomaly, self._digest(hop))
                known[scan] = row
                self.receipts.append(row)
        for i, reason in self._conflict_reasons(conflicts):
            results[i] = HopResult("conflict", reason=reason)
        self._write()
        return [r for r in results if r is not None]

    def _prefetch(self, hops: Sequence[Hop]) -> None:
        # comprehensions: a loop of method calls cost twice as much per hop
        codes = {hop.party for hop in hops}
        codes.update([hop.counterparty for hop in hops if hop.counterparty])
        sites = {hop.site for hop in hops if hop.site}
        keys = {hop.unit.removeprefix("/") for hop in hops}
        keys.update([hop.container.removeprefix("/") for hop in hops if hop.container])
        self._load_parties(codes)
        self._load_sites(sites)
        self._load_units(keys)
        # A key written another way (a 13-digit GTIN, say) names the same unit as
        # its canonical form: look those up too, or the unit would be made twice.
        other_forms = set()
        parsed = self.parsed
        for key in keys - self.units.keys():
            try:  # (not contextlib.suppress: a context manager per key cost more)
                uid = parsed[key] = parse_key(key)
            except InvalidIdentifierError:
                continue  # rejected, with its reason, when its hop is worked out
            if uid.key != key:
                other_forms.add(uid.key)
        self._load_units(other_forms)
        row = self.conn.exec_driver_sql("SELECT MAX(id) FROM units").first()
        self.next_unit_id = (int(row[0]) if row and row[0] is not None else 0) + 1

    def _previous_receipts(self, hops: Sequence[Hop]) -> dict[tuple[str, int], _ReceiptRow]:
        """Stored receipts of the batch's scans, content hashes included (one query
        per device; per 500 seqs on SQLite)."""
        by_device: dict[str, list[int]] = {}
        for hop in hops:
            if hop.device and hop.device_seq is not None:
                by_device.setdefault(hop.device, []).append(hop.device_seq)
        found: dict[tuple[str, int], _ReceiptRow] = {}
        for device, seqs in by_device.items():
            select = (
                "SELECT device_seq, first_seq, entry_count, anomaly, content_hash"
                f" FROM scan_receipts WHERE device = {self.ph} AND"
            )
            rows = self._rows_where_in(select, "device_seq", sorted(set(seqs)), (device,))
            for dseq, first, count, anomaly, digest in rows:
                found[(device, int(dseq))] = (
                    device,
                    int(dseq),
                    int(first),
                    int(count),
                    str(anomaly),
                    None if digest is None else bytes(digest),
                )
        return found

    def _digest(self, hop: Hop) -> bytes:
        """What ``hop`` says, as stored in its receipt: :func:`~ledger.hops.scan_digest`
        over the canonical unit key, the kind, the time, the party and counterparty
        codes and, for packing, the canonical key of the container (``""`` for
        every other kind, whose entries record no container of the hop's own).

        Raises :class:`~ledger.ids.InvalidIdentifierError` for a key that names no unit.
        """
        key = hop.unit.removeprefix("/")
        unit = self.units.get(key)
        unit_key = unit.key if unit is not None else parse_key(key).key
        kind = hop.kind._value_ if isinstance(hop.kind, EntryKind) else EntryKind(hop.kind).value
        container = ""
        if kind == _PACKING._value_ and hop.container:
            box_key = hop.container.removeprefix("/")
            box = self.units.get(box_key)
            container = box.key if box is not None else parse_key(box_key).key
        return scan_digest(unit_key, kind, hop.at_ms, hop.party, hop.counterparty, container)

    def _conflict_reasons(
        self, conflicts: Sequence[tuple[int, Hop, _ReceiptRow]]
    ) -> list[tuple[int, str]]:
        """The reason of each conflict, naming the stored scan beside the new one.

        The stored scan is read from its entries (one query for all conflicts, which
        are rare): the entry of the scanned unit is the receipt's first entry, or the
        packing entry after the commissioning of a container new in that scan.
        """
        if not conflicts:
            return []
        wanted = sorted({s for _, _, r in conflicts for s in (r[2], r[2] + 1)})
        stored: dict[int, tuple[str, int, str]] = {}
        start = self.head.size - len(self.entries)  # this batch's first seq
        for seq in wanted:  # scans accepted earlier in this very batch
            if seq >= start and seq - start < len(self.entries):
                row = self.entries[seq - start]
                unit_id, kind, at_ms = row[1], row[2], row[3]
                assert isinstance(unit_id, int) and isinstance(at_ms, int)
                stored[seq] = (str(kind), at_ms, self.unit_by_id[unit_id].key)
        wanted = [seq for seq in wanted if seq < start]
        select = "SELECT e.seq, e.kind, e.at_ms, u.key FROM entries e JOIN units u ON u.id = e.unit_id WHERE"
        for seq, kind, at_ms, key in self._rows_where_in(select, "e.seq", wanted):
            stored[int(seq)] = (str(kind), int(at_ms), str(key))
        out = []
        for i, hop, receipt in conflicts:
            first = stored.get(receipt[2])
            second = stored.get(receipt[2] + 1) if receipt[3] > 1 else None
            was = second if second is not None and second[0] == _PACKING._value_ else first
            kind = hop.kind._value_ if isinstance(hop.kind, EntryKind) else str(hop.kind)
            came = f"{kind} of {hop.unit.removeprefix('/')} at {format_time(hop.at_ms)}"
            held = "a different scan"
            if was is not None:
                held = f"{was[0]} of {was[2]} at {_safe_time(was[1])}"
            out.append(
                (
                    i,
                    f"device {hop.device} already used device_seq {hop.device_seq} for "
                    f"another scan (stored: {held}; this one: {came}); nothing was "
                    "recorded: the device must resync its counter to next_device_seq "
                    "and send this scan again under a new number",
                )
            )
        return out

    def _party(self, code: str | None, role: str) -> _Party | None:
        if code is None or code == "":
            return None
        p = self.parties.get(code)
        if p is None:
            raise _Rejected(f"unknown {role} {code!r}")
        return p

    def _new_unit(self, uid: UnitId) -> _UnitRow:
        """A unit seen for the first time (not commissioned until its first entry says so)."""
        # positional: one is made per new unit, and keywords cost a third more
        uid_ = self.next_unit_id
        sscc = uid.sscc
        key = f"00/{sscc}" if sscc is not None else f"01/{uid.gtin}/21/{uid.serial}"  # uid.key
        u = _UnitRow(
            uid_, key, uid, sscc is not None, Custody(_UNCOMMISSIONED, None, None),
            None, None, b"", True, True,
        )  # fmt: skip
        self.next_unit_id = uid_ + 1
        self.units[key] = u
        self.unit_by_id[uid_] = u
        return u

    def _append_hop(self, hop: Hop) -> HopResult:
        if hop.restricted and (refusal := custody_refusal(hop, self.units)):
            raise _Rejected(refusal)  # a party acting only within its custody
        kind = hop.kind if isinstance(hop.kind, EntryKind) else EntryKind(hop.kind)
        parties = self.parties
        code = hop.party
        party = parties.get(code) if code else None  # self._party, inline: once per hop
        if party is None:
            if code:
                raise _Rejected(f"unknown party {code!r}")
            raise _Rejected("a hop needs the code of the party that made it")
        cp_code = hop.counterparty
        counterparty = parties.get(cp_code) if cp_code else None
        if counterparty is None and cp_code:
            raise _Rejected(f"unknown counterparty {cp_code!r}")
        site = None
        if hop.site:
            site = self.sites.get(hop.site)
            if site is None:
                raise _Rejected(f"unknown site {hop.site!r}")
        lat, lon = hop.lat_e6, hop.lon_e6
        if (lat is None) != (lon is None):
            raise _Rejected("a location needs both latitude and longitude")
        if lat is not None and lon is not None:
            if not (-90_000_000 <= lat <= 90_000_000 and -180_000_000 <= lon <= 180_000_000):
                raise _Rejected(f"location ({lat / 1e6}, {lon / 1e6}) is outside the globe")
        elif site is not None:
            lat, lon = site.lat_e6, site.lon_e6
        if hop.device_seq is not None and not hop.device:
            raise _Rejected("device_seq given without a device")
        unit_key = hop.unit.removeprefix("/")
        unit = self.units.get(unit_key)
        uid = None
        if unit is None:  # validate before creating; find it under its canonical key
            uid = self.parsed.get(unit_key) or parse_key(unit_key)
            unit = self.units.get(uid.key)
        container_key = None
        if kind is _PACKING:
            canonical = unit.key if unit is not None else uid.key if uid is not None else unit_key
            if not hop.container:
                raise _Rejected("packing needs the SSCC of the container")
            container_id = parse_key(hop.container.removeprefix("/"))
            if not container_id.is_logistic:
                raise _Rejected(f"container {container_id.key} is not an SSCC")
            container_key = container_id.key
            if container_key == canonical:
                raise _Rejected("a unit cannot be packed into itself")
        ctx = (kind, hop, party, counterparty, site, lat, lon)
        first_seq = self.head.size
        anomalies: list[str] = []
        if unit is None:
            assert uid is not None
            unit = self._new_unit(uid)
        if kind is _PACKING:
            assert container_key is not None
            self._pack(ctx, unit, container_key, anomalies)
        elif kind is _UNPACKING:
            self._unpack(ctx, unit, anomalies)
        else:
            self._entry(ctx, unit, "", anomalies)
            if unit.logistic and kind._value_ in _COVERS_CONTENTS:
                for child in self._descendants(unit):
                    self._entry(ctx, child, unit.key, anomalies)
        seqs = tuple(range(first_seq, self.head.size))
        return HopResult("accepted", seqs, _summarize(anomalies, len(seqs)) if anomalies else "")

    def _retract(self, hop: Hop) -> HopResult:
        """Append the error declaration ``hop``: one entry on the retracted entry's
        unit naming its seq, then the unit's custody and container replayed without
        it (:func:`ledger.retraction.replay_custody`).

        ``duplicate`` (with the declaration's seq) when the seq is retracted already.
        Rejected: not kind error_declaration, a device_seq, no such entry, an entry of
        this same batch, a declaration, another unit than ``hop.unit``, or (for a
        restricted hop) an entry another party recorded.
        """
        target = hop.retracts
        if target is None:
            raise _Rejected("an error declaration must name the seq of the entry it retracts")
        if hop.kind not in _DECLARATION_KINDS:
            raise _Rejected("only an error_declaration retracts an entry")
        if hop.device_seq is not None:
            raise _Rejected("an error declaration is not a device scan: it takes no device_seq")
        if target in self.retracted:
            return HopResult("duplicate", (self.retracted[target],))
        if not 0 <= target < self.head.size:
            raise _Rejected(f"there is no entry at seq {target} to retract")
        if target >= self.head.size - len(self.entries):
            raise _Rejected(
                f"seq {target} was appended by this same request; declare the error in a later one"
            )
        ph = self.ph
        # entry_retractions on partitioned PostgreSQL: one key probe, not one a partition
        declared_in = declarations_table(self.conn)
        found = fetch_all(
            self.conn,
            f"SELECT e.kind, u.key, p.code, (SELECT d.seq FROM {declared_in} d"
            " WHERE d.retracts_seq = e.seq)"
            " FROM entries e JOIN units u ON u.id = e.unit_id JOIN parties p ON p.id = e.party_id"
            f" WHERE e.seq = {ph}",
            (target,),
        )
        if not found:
            raise _Rejected(f"there is no entry at seq {target} to retract")
        kind_name, key, owner, declared = found[0]
        if declared is not None:
            return HopResult("duplicate", (int(declared),))
        if kind_name == DECLARATION:
            raise _Rejected(f"seq {target} is an error declaration itself, not an observation")
        named = hop.unit.removeprefix("/")
        if named != key and parse_key(named).key != key:
            raise _Rejected(f"seq {target} is an entry of {key}, not of {named}")
        if hop.restricted and owner != hop.party:
            raise _Rejected(
                f"seq {target} was recorded by another party; a party retracts only its own entries"
            )
        party = self._party(hop.party, "party")
        if party is None:
            raise _Rejected("an error declaration needs the code of the party declaring it")
        self._load_units({key})
        unit = self.units[key]
        ctx: _EntryContext = (EntryKind.ERROR_DECLARATION, hop, party, None, None, None, None)
        seq = self.head.size
        self._entry(ctx, unit, container="", anomalies=[], retracts=target)
        self.retracted[target] = seq
        self._replay(unit)
        return HopResult("accepted", (seq,))

    def _replay(self, unit: _UnitRow) -> None:
        """Custody and container of ``unit`` from its stored entries and this batch's."""
        rows: list[CustodyRow] = unit_custody_rows(self.conn, unit.id) if not unit.new else []
        by_id = self.party_by_id
        for row in self.entries:
            if row[1] == unit.id:
                seq, kind, party_id, cp_id, box, retracts = (
                    row[0], row[2], row[4], row[5], row[9], row[15],
                )  # fmt: skip
                rows.append(
                    (
                        int(str(seq)),
                        str(kind),
                        by_id[int(str(party_id))].code,
                        None if cp_id is None else by_id[int(str(cp_id))].code,
                        None if box is None else int(str(box)),
                        None if retracts is None else int(str(retracts)),
                    )
                )
        custody, container = replay_custody(rows)
        self._load_parties({c for c in (custody.holder, custody.bound_for) if c})
        unit.custody = custody
        if unit.container_id != container:
            old = self.unit_by_id.get(unit.container_id) if unit.container_id else None
            if old is not None and old.children is not None:
                old.children.discard(unit.id)
            new = self.unit_by_id.get(container) if container else None
            if new is not None and new.children is not None:
                new.children.add(unit.id)
            unit.container_id = container
        unit.dirty = True

    def _descendants(self, container: _UnitRow) -> list[_UnitRow]:
        out: list[_UnitRow] = []
        stack = [container]
        while stack:
            c = stack.pop()
            for cid in sorted(self._children(c)):
                child = self.unit_by_id[cid]
                out.append(child)
                if child.logistic:
                    stack.append(child)
        return out

    def _pack(
        self, ctx: _EntryContext, unit: _UnitRow, container_key: str, anomalies: list[str]
    ) -> None:
        container = self.units.get(container_key)
        if container is None:
            container = self._new_unit(parse_key(container_key))
            _, hop, party, _, site, lat, lon = ctx
            commissioning = (EntryKind.COMMISSIONING, hop, party, None, site, lat, lon)
            self._entry(commissioning, container, container="", anomalies=anomalies)
        if unit.logistic and any(d.id == container.id for d in self._descendants(unit)):
            raise _Rejected(
                f"{container.key} is packed inside {unit.key}: packing would make a loop"
            )
        if unit.container_id is not None and unit.container_id != container.id:
            old = self.unit_by_id.get(unit.container_id)
            if old is not None:
                self._children(old).discard(unit.id)
        self._children(container).add(unit.id)
        unit.container_id = container.id
        unit.dirty = True
        self._entry(ctx, unit, container=container.key, anomalies=anomalies)

    def _unpack(self, ctx: _EntryContext, unit: _UnitRow, anomalies: list[str]) -> None:
        if unit.logistic and unit.container_id is None:
            # Unpacking a case or pallet releases everything directly inside it.
            kids = sorted(self._children(unit))
            self._entry(ctx, unit, container="", anomalies=anomalies)
            for cid in kids:
                child = self.unit_by_id[cid]
                child.container_id = None
                child.dirty = True
                self._entry(ctx, child, container=unit.key, anomalies=anomalies)
            unit.children = set()
            return
        container = self.unit_by_id.get(unit.container_id) if unit.container_id else None
        if container is None and unit.container_id is not None:
            self._load_units_by_id(unit.container_id)
            container = self.unit_by_id.get(unit.container_id)
        if container is None:
            anomalies.append(loose_unpacking_note(unit.key))
            self._entry(ctx, unit, container="", anomalies=anomalies)
            return
        self._children(container).discard(unit.id)
        unit.container_id = None
        unit.dirty = True
        self._entry(ctx, unit, container=container.key, anomalies=anomalies)

    def _load_units_by_id(self, unit_id: int) -> None:
        self._adopt(
            fetch_all(self.conn, f"{self._UNIT_COLUMNS} WHERE u.id = {self.ph}", (unit_id,))
        )

    def _entry(
        self,
        ctx: _EntryContext,
        unit: _UnitRow,
        container: str,
        anomalies: list[str],
        retracts: int | None = None,
    ) -> None:
        # Runs once per entry: attributes are read once into locals, and the
        # canonical bytes (ledger.canonical's template) are formatted here from
        # codes quoted once per party, site and kind.
        kind, hop, party, counterparty, site, lat, lon = ctx
        cp = counterparty.code if counterparty is not None else None
        if retracts is None:
            c = unit.custody
            unseen = unit.head_seq is None or (c.state is _UNCOMMISSIONED and c.holder is None)
            anomaly = apply_entry(c, kind, party.code, cp, is_new=unseen)
        else:
            anomaly = ""  # a declaration is no observation: custody is replayed after it
        note = hop.note
        if note:  # recorded in the entry itself, so it is signed like the rest
            anomaly = f"{anomaly}; {note}" if anomaly else note
        if anomaly:
            anomalies.append(anomaly)
        head = self.head
        seq = head.size
        kind_value, at_ms, device, device_seq = kind._value_, hop.at_ms, hop.device, hop.device_seq
        prev = unit.head_hash
        values = (
            _code(anomaly),
            _format_second(at_ms // 1000),
            at_ms % 1000,
            _s(container) if container else '""',
            counterparty.quoted if counterparty is not None else '""',
            _code(device),
            "null" if device_seq is None else int(device_seq),
            _code(kind_value),
            "null" if lat is None else int(lat),
            "null" if lon is None else int(lon),
            party.quoted,
            prev.hex(),
            seq,
            site.quoted if site is not None else '""',
            _s(unit.key),
        )
        if retracts is None:
            text = _LEAF_TEMPLATE % values
        else:  # "retracts" stands between "prev" and "seq"
            text = _LEAF_RETRACTS_TEMPLATE % (*values[:12], int(retracts), *values[12:])
        leaf = _sha256(text.encode()).digest()  # RFC 9162 leaf hash: SHA-256(0x00 || bytes)
        self.entries.append(
            (
                seq,
                unit.id,
                kind_value,
                at_ms,
                party.id,
                counterparty.id if counterparty is not None else None,
                site.id if site is not None else None,
                lat,
                lon,
                self.units[container].id if container else None,
                device,
                device_seq,
                anomaly,
                prev,
                leaf,
                retracts,
            )
        )
        head.size = seq + 1
        unit.head_seq = seq
        unit.head_hash = leaf
        unit.dirty = True

    def _close_tree(self) -> None:
        """The batch's leaves into the head's frontier, at once (bottom-up, a level
        at a time); the subtrees they close at stored levels become ``nodes``."""
        nodes = self.nodes

        def keep(level: int, index: int, h: bytes) -> None:
            nodes.append((level, index, h))

        leaves = cast(list[bytes], list(map(operator.itemgetter(14), self.entries)))
        first = self.head.size - len(leaves)
        push_many(self.head.frontier, first, leaves, keep, every=TILE_HEIGHT)

    # --- writing, once per batch --------------------------------------------------

    def _stored(self, u: _UnitRow, container_id: int | None) -> tuple[Any, ...]:
        """The values of ``u``'s ``_UNIT_UPDATE`` columns as they are to be stored."""
        custody, parties = u.custody, self.parties
        holder, bound_for = custody.holder, custody.bound_for
        return (
            container_id,
            None if holder is None else parties[holder].id,
            None if bound_for is None else parties[bound_for].id,
            custody.state._value_,
            u.head_seq,
            u.head_hash or None,
        )

    def _update_units(self, units: Sequence[_UnitRow]) -> None:
        """Write the columns of ``units`` that changed since they were read, one
        statement per set of changed columns (a batch has one or two).

        Only those: on SQLite an ``UPDATE`` that names ``container_id`` checks the
        foreign key into ``units`` itself and the partial index, whatever the value,
        and costed 7.0-7.6 us a row against 2.7-3.0 us for the four columns a
        shipment changes (state, ship-to, head seq and hash; same rows, same run).
        """
        groups: dict[tuple[bool, ...], list[tuple[Any, ...]]] = {}
        stored = self._stored
        for u in units:
            now = stored(u, u.container_id)
            was = u.stored
            if was is None:
                groups.setdefault(_ALL_CHANGED, []).append((*now, u.id))
                continue
            if now == was:
                continue
            changed = tuple(map(operator.ne, now, was))
            groups.setdefault(changed, []).append((*itertools.compress(now, changed), u.id))
        for changed, rows in groups.items():
            pick = [i for i, c in enumerate(changed) if c]
            bulk_update(
                self.conn,
                "units",
                "id",
                [_UNIT_UPDATE[i] for i in pick],
                [*(_UNIT_UPDATE_TYPES[i] for i in pick), _UNIT_UPDATE_TYPES[-1]],
                rows,
            )

    def _write(self) -> None:
        self._close_tree()
        ph = self.ph
        conn = self.conn
        new = sorted((u for u in self.units.values() if u.new), key=operator.attrgetter("id"))
        changed = [u for u in self.units.values() if u.dirty and not u.new]
        late_containers: list[_UnitRow] = []
        if new:
            rows = []
            for u in new:
                container_id = u.container_id
                if container_id is not None and container_id >= u.id:
                    late_containers.append(u)  # container row is inserted after this one
                    container_id = None
                uid = u.uid
                u.stored = stored = self._stored(u, container_id)
                rows.append(
                    (
                        u.id,
                        u.key,
                        uid.gtin if uid else None,
                        uid.serial if uid else None,
                        uid.sscc if uid else None,
                        *stored,
                    )
                )
            bulk_insert(conn, "units", _UNIT_INSERT, rows)
        self._update_units(changed + late_containers)
        # PostgreSQL: a partition for every seq (no catalogue query while the
        # partitions this process last read still reach far enough)
        ensure_partitions(conn, self.head.size, start=self.head.size - len(self.entries))
        bulk_insert(conn, "entries", _ENTRY_COLUMNS, self.entries)
        bulk_insert(conn, "tree_nodes", ("level", "idx", "hash"), self.nodes)
        bulk_insert(conn, "scan_receipts", _RECEIPT_COLUMNS, self.receipts)
        now = int(time.time() * 1000)
        updated = conn.exec_driver_sql(
            f"UPDATE ledger_head SET tree_size = {ph}, frontier = {ph}, updated_ms = {ph} WHERE id = 1",
            (self.head.size, self.head.pack(), now),
        )
        if updated.rowcount == 0:
            conn.exec_driver_sql(
                f"INSERT INTO ledger_head (id, tree_size, frontier, updated_ms) VALUES (1, {ph}, {ph}, {ph})",
                (self.head.size, self.head.pack(), now),
            )


def _summarize(anomalies: list[str], covered: int) -> str:
    if not anomalies:
        return ""
    distinct = list(dict.fromkeys(anomalies))
    text = "; ".join(distinct[:3]) + (
        f"; and {len(distinct) - 3} more" if len(distinct) > 3 else ""
    )
    if covered > 1:
        return f"{len(anomalies)} of {covered} units: {text}"
    return text
