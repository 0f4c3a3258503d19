"""Every table derived from the entries, compared with what the entries say.

One function per check, each returning the :class:`~ledger.verify_problems.Problem`
list it found (empty when the table agrees). What the entries say comes from the
streaming pass (:mod:`ledger.verify_scan`); each function reads only its own table.

==================  =====================================================================
table               kinds reported
==================  =====================================================================
``checkpoints``     ``bad signature`` (the note does not verify with the ledger key),
                    ``checkpoint changed`` (tree_size or root_hash differ from the note),
                    ``deleted`` (the log is shorter than a checkpoint), ``root mismatch``
``checkpoint file`` the note an auditor kept: ``bad signature``, ``truncated`` (the log
                    is shorter), ``root mismatch``, ``inconsistent`` (the RFC 9162
                    consistency proof from it to the current tree does not verify)
``ledger_head``     ``head missing``, ``head changed`` (size or frontier), ``deleted``
                    and ``inserted`` (the log is shorter or longer than the head)
``tree_nodes``      ``tree node changed`` / ``missing`` / ``extra`` (RFC 6962 §2.1
                    node hashes of the leaves, at every stored level)
``units``           ``unit changed`` (state, holder, bound_for, container, head_seq,
                    head_hash, gtin/serial/sscc), ``unit missing``, ``unit extra``
``scan_receipts``   ``receipt changed`` (first_seq, entry_count, anomaly, content_hash),
                    ``receipt missing``, ``receipt extra``
==================  =====================================================================
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from ledger import merkle
from ledger.checkpoint import SignedCheckpoint, parse_checkpoint
from ledger.database import placeholder
from ledger.keys import CheckpointError
from ledger.proofs import consistency_proof
from ledger.rows import CodeBook
from ledger.tree import TILE_HEIGHT, is_stored_level
from ledger.verify_problems import KeyValue, Problem
from ledger.verify_scan import (
    DerivedReceipt,
    DerivedUnit,
    ScanGroup,
    StoredNode,
    derive_receipt,
    read_rows,
    receipt_anomaly,
    receipt_digest,
)

__all__ = [
    "UNIT_COLUMNS",
    "CheckpointRow",
    "ReceiptCheck",
    "check_checkpoint_roots",
    "check_checkpoint_rows",
    "check_head",
    "check_kept_consistency",
    "check_kept_size_and_root",
    "check_tree_node_extras",
    "check_tree_nodes",
    "check_units",
    "open_kept_checkpoint",
    "party_ids",
    "unit_row_problem",
    "unit_rows",
]

_PER_CHECK = 20  # problems one call reports at most; the first ones tell the story
_IN = 500  # bound on IN (...) lists


def _short(h: bytes | None) -> str:
    return "none" if h is None else f"{bytes(h).hex()[:16]}…"


def _tile(size: int, first_tile_mismatch: int | None) -> int:
    """The first seq of the 16-entry tile to blame for a root that differs at ``size``:
    the first complete tile whose stored node differed, else the last, partial one."""
    tail = size >> TILE_HEIGHT << TILE_HEIGHT
    start = tail if first_tile_mismatch is None else min(first_tile_mismatch, tail)
    return max(0, min(start, size - 1))


# --- checkpoints ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CheckpointRow:
    id: int
    checkpoint: SignedCheckpoint


def check_checkpoint_rows(
    conn: Connection, name: str, public_key: bytes
) -> tuple[list[CheckpointRow], list[Problem]]:
    """Every stored note must verify (C2SP signed-note, Ed25519) and its row's
    ``tree_size`` and ``root_hash`` must be what the note says. Returns the rows
    whose note verifies (their note, not their columns, is what counts) and the
    problems."""
    good: list[CheckpointRow] = []
    problems: list[Problem] = []
    rows = conn.exec_driver_sql(
        "SELECT id, tree_size, root_hash, note FROM checkpoints ORDER BY tree_size, id"
    )
    for row_id, size, root, note in rows:
        key = {"id": int(row_id), "tree_size": int(size)}
        try:
            cp = parse_checkpoint(str(note), name, public_key)
        except CheckpointError as exc:
            problems.append(
                Problem(
                    None,
                    "bad signature",
                    f"the checkpoint of size {size} (row {row_id}) does not verify: {exc}",
                    "checkpoints",
                    key,
                )
            )
            continue
        good.append(CheckpointRow(int(row_id), cp))
        wrong = []
        if cp.tree_size != int(size):
            wrong.append(f"tree_size is {size}, its note says {cp.tree_size}")
        if root is None or bytes(root) != cp.root_hash:
            wrong.append(f"root_hash is {_short(root)}, its note says {_short(cp.root_hash)}")
        if wrong:
            problems.append(
                Problem(
                    None,
                    "checkpoint changed",
                    f"row {row_id}: " + "; ".join(wrong),
                    "checkpoints",
                    key,
                )
            )
    return good, problems


def check_checkpoint_roots(
    checkpoints: Sequence[CheckpointRow],
    roots: dict[int, bytes],
    size: int,
    first_tile_mismatch: int | None,
) -> list[Problem]:
    """The log re-derived from its entries must have each signed root at each signed
    size: a shorter log lost entries (``deleted``), another root means entries were
    rewritten together with their hashes (``root mismatch``, named to the tile)."""
    problems: list[Problem] = []
    for row in checkpoints:
        cp = row.checkpoint
        if cp.tree_size > size:
            problems.append(
                Problem(
                    size,
                    "deleted",
                    f"the log has {size} entries, the signed checkpoint of size"
                    f" {cp.tree_size} covers more",
                )
            )
        elif roots.get(cp.tree_size) != cp.root_hash:
            problems.append(
                Problem(
                    _tile(cp.tree_size, first_tile_mismatch),
                    "root mismatch",
                    f"entries before seq {cp.tree_size} give root"
                    f" {_short(roots.get(cp.tree_size))}, the signed checkpoint says"
                    f" {_short(cp.root_hash)}",
                )
            )
    return problems


# --- the checkpoint an auditor kept -------------------------------------------------------


def open_kept_checkpoint(
    note: str, name: str, public_key: bytes, label: str
) -> tuple[SignedCheckpoint | None, list[Problem]]:
    """Parse and verify the note an auditor kept (``label`` names it, e.g. its file)."""
    try:
        return parse_checkpoint(note, name, public_key), []
    except CheckpointError as exc:
        return None, [
            Problem(
                None,
                "bad signature",
                f"the checkpoint {label} you kept does not verify: {exc}",
                "checkpoint file",
                {"file": label},
            )
        ]


def check_kept_size_and_root(
    kept: SignedCheckpoint,
    roots: dict[int, bytes],
    size: int,
    first_tile_mismatch: int | None,
    label: str,
) -> list[Problem]:
    """The log must be at least as long as the checkpoint the auditor kept, with the
    same root at that size: anything else is a log cut back or rewritten after the
    checkpoint was published, whatever the database's own checkpoints now say."""
    if kept.tree_size > size:
        return [
            Problem(
                size,
                "truncated",
                f"the log has {size} entries but checkpoint {label} you kept covers"
                f" {kept.tree_size}",
            )
        ]
    if roots.get(kept.tree_size) != kept.root_hash:
        return [
            Problem(
                _tile(kept.tree_size, first_tile_mismatch),
                "root mismatch",
                f"entries before seq {kept.tree_size} give root"
                f" {_short(roots.get(kept.tree_size))}, checkpoint {label} you kept says"
                f" {_short(kept.root_hash)}",
            )
        ]
    return []


def check_kept_consistency(
    conn: Connection, kept: SignedCheckpoint, size: int, root: bytes, label: str
) -> list[Problem]:
    """What an auditor's client checks: the RFC 9162 §2.1.4 consistency proof this
    ledger serves (built from its stored tree) proves the kept tree a prefix of the
    current one (``size``, ``root`` as re-derived from the entries)."""
    if kept.tree_size == 0 or kept.tree_size > size:
        return []
    try:
        path = consistency_proof(conn, kept.tree_size, size)
        merkle.verify_consistency(kept.tree_size, size, kept.root_hash, root, path)
    except (merkle.ProofError, LookupError) as exc:
        return [
            Problem(
                None,
                "inconsistent",
                f"the consistency proof from checkpoint {label} you kept (size"
                f" {kept.tree_size}) to the current tree (size {size}) does not verify: {exc}",
                "checkpoint file",
                {"file": label},
            )
        ]
    return []


# --- ledger_head ----------------------------------------------------------------------------


def check_head(
    head: tuple[int, bytes] | None,
    size: int,
    frontier: Sequence[bytes],
    roots: dict[int, bytes],
) -> list[Problem]:
    """The head row (size and right frontier) must be the tree of all entries.

    ``head`` is the stored (tree_size, frontier) or None when the row is gone.
    A head shorter than the log whose root matches the log at its size means
    rows were added beyond it (``inserted``); a head longer than the log means
    rows are missing at the end (``deleted``); otherwise the row itself was
    edited (``head changed``).
    """
    key = {"id": 1}
    if head is None:
        if size == 0:
            return []
        return [
            Problem(
                None,
                "head missing",
                f"no head row, yet the log has {size} entries",
                "ledger_head",
                key,
            )
        ]
    head_size, packed = head
    ours = b"".join(frontier)
    parts = [packed[i : i + 32] for i in range(0, len(packed), 32)]
    well_formed = len(packed) % 32 == 0 and len(parts) == len(
        merkle.frontier_levels(max(0, head_size))
    )
    head_root = merkle.frontier_root(parts) if well_formed else None
    if head_size == size:
        if packed == ours:
            return []
        why = (
            f"its frontier gives root {_short(head_root)}, the entries give"
            f" {_short(merkle.frontier_root(frontier))}"
            if well_formed
            else f"its frontier of {len(packed)} bytes is not {len(frontier)} hashes"
        )
        return [Problem(None, "head changed", why, "ledger_head", key)]
    if head_size < size and well_formed and roots.get(head_size) == head_root:
        return [
            Problem(
                max(0, head_size),
                "inserted",
                f"{size - head_size} entries beyond the ledger head (size {head_size})",
            )
        ]
    if head_size > size and packed != ours:
        return [
            Problem(
                size, "deleted", f"the ledger head says {head_size} entries, the log has {size}"
            )
        ]
    return [
        Problem(
            None,
            "head changed",
            f"it says {head_size} entries with root {_short(head_root)}; the log has {size}"
            f" with root {_short(merkle.frontier_root(frontier))}",
            "ledger_head",
            key,
        )
    ]


# --- tree_nodes -------------------------------------------------------------------------------


def check_tree_nodes(conn: Connection, computed: Sequence[StoredNode]) -> list[Problem]:
    """Each node at a stored level (every 4th, see :mod:`ledger.tree`) must hold the
    RFC 6962 hash of the leaves below it, as the scan re-derived them. Every node
    that does not is named (the scan keeps the most telling ones), so what is
    reported does not depend on how the log was cut into chunks or ranges."""
    by_level: dict[int, dict[int, bytes]] = {}
    for level, idx, h in computed:
        by_level.setdefault(level, {})[idx] = h
    ph = placeholder(conn)
    problems: list[Problem] = []
    for level, ours in sorted(by_level.items()):
        lo, hi = min(ours), max(ours)
        stored = {
            int(i): bytes(h)
            for i, h in read_rows(
                conn,
                f"SELECT idx, hash FROM tree_nodes WHERE level = {ph} AND idx >= {ph} AND idx <= {ph}",
                (level, lo, hi),
            )
        }
        for idx, h in sorted(ours.items()):
            have = stored.get(idx)
            if have == h:
                continue
            first, last = idx << level, ((idx + 1) << level) - 1
            key = {"level": level, "idx": idx}
            if have is None:
                problems.append(
                    Problem(
                        None,
                        "tree node missing",
                        f"the node over seqs {first}..{last} is not stored",
                        "tree_nodes",
                        key,
                    )
                )
            else:
                problems.append(
                    Problem(
                        None,
                        "tree node changed",
                        f"the node over seqs {first}..{last} holds {_short(have)}, its"
                        f" leaves give {_short(h)}",
                        "tree_nodes",
                        key,
                    )
                )
    return problems


def check_tree_node_extras(conn: Connection, size: int) -> list[Problem]:
    """No node may be stored at a level that is not stored, or beyond the tree."""
    ph = placeholder(conn)
    valid: list[str] = []
    params: list[int] = []
    level = TILE_HEIGHT
    while size >> level:
        if is_stored_level(level):
            valid.append(f"(level = {ph} AND idx >= 0 AND idx < {ph})")
            params += [level, size >> level]
        level += TILE_HEIGHT
    where = f"NOT ({' OR '.join(valid)})" if valid else "1 = 1"
    rows = read_rows(
        conn,
        f"SELECT level, idx FROM tree_nodes WHERE {where} ORDER BY level, idx LIMIT {_PER_CHECK}",
        params,
    )
    return [
        Problem(
            None,
            "tree node extra",
            f"a node at level {lvl}, index {idx} does not exist in a tree of {size} entries",
            "tree_nodes",
            {"level": int(lvl), "idx": int(idx)},
        )
        for lvl, idx in rows
    ]


# --- units ---------------------------------------------------------------------------------------


UNIT_COLUMNS = (
    "id, key, gtin, serial, sscc, container_id, holder_id, bound_for_id, state, head_seq, head_hash"
)
"""The columns of a units row that :func:`unit_row_problem` compares, in its order."""


def party_ids(codes: CodeBook) -> dict[str | None, int | None]:
    """Party id by code (None for None): what :func:`unit_row_problem` needs."""
    ids: dict[str | None, int | None] = {code: pid for pid, code in codes.parties.items()}
    ids[None] = None
    return ids


def unit_row_problem(
    row: tuple[Any, ...],
    u: DerivedUnit | None,
    ids: dict[str | None, int | None],
    codes: CodeBook,
) -> Problem | None:
    """What is wrong with a units ``row`` (:data:`UNIT_COLUMNS`) whose entries give
    ``u`` (None: no entry names it), or None when it holds what they give."""
    if u is not None:
        _, key, gtin, serial, sscc, container, holder, bound, state, hseq, hhash = row
        c = u.custody
        if (
            state == c.state._value_
            and holder == ids.get(c.holder, -1)
            and bound == ids.get(c.bound_for, -1)
            and container == u.container_id
            and hseq == u.head_seq
            and hhash == u.head_hash
            and key == _key_of(gtin, serial, sscc)
        ):
            return None
    return _unit_problem(row, u, codes)


def check_units(
    conn: Connection,
    derived: dict[int, DerivedUnit],
    codes: CodeBook,
    chunk: int,
    checked: Collection[int] = frozenset(),
    found: Mapping[int, Problem] | None = None,
) -> list[Problem]:
    """Each unit row must hold what replaying its entries through the custody rules
    (:func:`ledger.custody.apply_entry`, as append applies them) gives: state,
    holder, bound_for, container, head_seq and head_hash; and gtin/serial/sscc as
    its key spells them. Every unit an entry names has a row, and no other row
    exists. Consumes ``derived``. ``checked``: ids of rows compared already (by the
    workers of ``verify --jobs``: units whose entries all lie in one range), not
    compared again; ``found``: what was wrong with those, by id, reported in its
    place (so the problems are those one comparison of every row gives); only the
    rows of ``derived`` are then read, unless the table has rows neither names."""
    ids = party_ids(codes)
    if checked:
        fewer = _rows_of_derived(conn, derived, checked, found or {}, ids, codes)
        if fewer is not None:
            return fewer
    ph = placeholder(conn)
    problems: list[Problem] = []
    last = None
    sql = f"SELECT {UNIT_COLUMNS} FROM units {{where}} ORDER BY id LIMIT {{ph}}"
    while True:
        if last is None:
            rows = read_rows(conn, sql.format(where="", ph=ph), (chunk,))
        else:
            rows = read_rows(conn, sql.format(where=f"WHERE id > {ph}", ph=ph), (last, chunk))
        if not rows:
            break
        last = rows[-1][0]
        for row in rows:
            u = derived.pop(row[0], None)
            if u is None and row[0] in checked:
                wrong = None if found is None else found.get(row[0])
            else:
                wrong = unit_row_problem(row, u, ids, codes)
            if wrong is not None:
                problems.append(wrong)
                if len(problems) >= _PER_CHECK:
                    return problems
    return problems + _missing_units(derived, _PER_CHECK - len(problems))


def unit_rows(conn: Connection, ids: Sequence[int]) -> list[tuple[Any, ...]]:
    """The ``units`` rows (:data:`UNIT_COLUMNS`) of ``ids``, read by id in lists of
    at most ``_IN``; rows in the order the database gives them within each list."""
    ph = placeholder(conn)
    rows: list[tuple[Any, ...]] = []
    for i in range(0, len(ids), _IN):
        part = ids[i : i + _IN]
        marks = ",".join([ph] * len(part))
        rows += read_rows(conn, f"SELECT {UNIT_COLUMNS} FROM units WHERE id IN ({marks})", part)
    return rows


def _rows_of_derived(
    conn: Connection,
    derived: dict[int, DerivedUnit],
    checked: Collection[int],
    found: Mapping[int, Problem],
    ids: dict[str | None, int | None],
    codes: CodeBook,
) -> list[Problem] | None:
    """:func:`check_units` reading only the rows of ``derived`` (by id), when the rows
    in ``checked`` were compared already; None (``derived`` untouched) when the
    table holds more rows than both name: the full pass names those in order."""
    rows = unit_rows(conn, sorted(uid for uid in derived if uid is not None))
    total = int(conn.exec_driver_sql("SELECT COUNT(*) FROM units").scalar_one())
    if total != len(rows) + len(checked):
        return None
    wrong = list(found.items())
    for row in rows:
        problem = unit_row_problem(row, derived.pop(row[0]), ids, codes)
        if problem is not None:
            wrong.append((row[0], problem))
    wrong.sort(key=lambda pair: pair[0])
    problems = [problem for _, problem in wrong[:_PER_CHECK]]
    return problems + _missing_units(derived, _PER_CHECK - len(problems))


def _missing_units(derived: dict[int, DerivedUnit], room: int) -> list[Problem]:
    """``unit missing`` for the first ``room`` units of ``derived`` (those without a row)."""
    return [
        Problem(
            None,
            "unit missing",
            f"entries up to seq {derived[uid].head_seq} name unit id {uid}, which has no row",
            "units",
            {"id": uid},
        )
        for uid in sorted(derived, key=lambda i: (i is None, i or 0))[: max(0, room)]
    ]


def _key_of(gtin: str | None, serial: str | None, sscc: str | None) -> str | None:
    """The key gtin/serial/sscc spell (None when they spell none)."""
    if sscc is not None:
        return f"00/{sscc}" if gtin is None and serial is None else None
    return None if gtin is None or serial is None else f"01/{gtin}/21/{serial}"


def _unit_problem(row: tuple[Any, ...], u: DerivedUnit | None, codes: CodeBook) -> Problem:
    uid, key, gtin, serial, sscc, container, holder, bound, state, hseq, hhash = row
    ref: dict[str, KeyValue] = {"id": int(uid), "key": str(key)}
    if u is None:
        return Problem(None, "unit extra", f"unit {key}: no entry names it", "units", ref)

    def party(pid: int | None) -> str | None:
        return None if pid is None else codes.parties.get(pid, f"party id {pid}")

    c = u.custody
    wrong = []
    if state != c.state.value:
        wrong.append(f"state is {state}, the entries give {c.state.value}")
    if party(holder) != c.holder:
        wrong.append(f"holder is {party(holder)}, the entries give {c.holder}")
    if party(bound) != c.bound_for:
        wrong.append(f"bound_for is {party(bound)}, the entries give {c.bound_for}")
    if container != u.container_id:
        wrong.append(f"container_id is {container}, the entries give {u.container_id}")
    if hseq != u.head_seq:
        wrong.append(f"head_seq is {hseq}, the entries give {u.head_seq}")
    if hhash != u.head_hash:
        wrong.append(f"head_hash is {_short(hhash)}, the entries give {_short(u.head_hash)}")
    if key != _key_of(gtin, serial, sscc):
        wrong.append(f"gtin/serial/sscc ({gtin}, {serial}, {sscc}) do not spell its key")
    return Problem(None, "unit changed", f"unit {key}: " + "; ".join(wrong), "units", ref)


# --- scan_receipts ----------------------------------------------------------------------------------


class ReceiptCheck:
    """The receipt of every device scan (one per run of entries sharing a device and
    device_seq) must hold that run's first seq, length, summed anomaly and, unless
    written before content hashes existed (NULL), the scan's digest
    (:func:`ledger.hops.scan_digest` of the scanned unit's entry). Called once per
    chunk with the scans it closed, it names every receipt that differs (the scan
    keeps the most telling ones, so what is reported does not depend on how the log
    was cut into chunks or ranges); :meth:`extras` then finds receipts no scan
    explains."""

    def __init__(self, conn: Connection, codes: CodeBook) -> None:
        self.conn = conn
        self.codes = codes
        self.ph = placeholder(conn)
        self.matched = 0
        self.reported = 0

    def __call__(self, scans: Sequence[ScanGroup]) -> list[Problem]:
        by_device: dict[str, list[ScanGroup]] = {}
        for g in scans:
            by_device.setdefault(g[0], []).append(g)
        codes = self.codes
        problems: list[Problem] = []
        for device, ours in by_device.items():
            stored = self._stored(device, sorted({g[1] for g in ours}))
            for g in ours:
                have = stored.get(g[1])
                if have is not None:
                    self.matched += 1
                    _, first, count, anomaly, digest = have
                    if (
                        first == g[2]
                        and count == g[3] - g[2]
                        and anomaly == receipt_anomaly(g)
                        and (digest is None or bytes(digest) == receipt_digest(g, codes))
                    ):
                        continue
                p = _compare_receipt(derive_receipt(g, codes), have)
                if p is not None:
                    self.reported += 1
                    problems.append(p)
        return problems

    def _stored(self, device: str, seqs: list[int]) -> dict[int, tuple[Any, ...]]:
        """Stored receipts of ``device`` by device_seq: (device_seq, first_seq,
        entry_count, anomaly, content_hash)."""
        ph = self.ph
        cols = "SELECT device_seq, first_seq, entry_count, anomaly, content_hash FROM scan_receipts"
        found: dict[int, tuple[Any, ...]] = {}
        if seqs[-1] - seqs[0] < 4 * len(seqs) + 64:
            batches: Iterable[tuple[str, Sequence[object]]] = [
                (
                    f"{cols} WHERE device = {ph} AND device_seq >= {ph} AND device_seq <= {ph}",
                    (device, seqs[0], seqs[-1]),
                )
            ]
        else:
            batches = (
                (
                    f"{cols} WHERE device = {ph} AND device_seq IN ({','.join([ph] * len(part))})",
                    (device, *part),
                )
                for part in (seqs[i : i + _IN] for i in range(0, len(seqs), _IN))
            )
        for sql, params in batches:
            found.update({r[0]: r for r in read_rows(self.conn, sql, params)})
        return found

    def extras(self) -> list[Problem]:
        """Receipts that no scan in the log explains: their first_seq is not an entry
        of that device and device_seq."""
        total = int(self.conn.exec_driver_sql("SELECT COUNT(*) FROM scan_receipts").scalar_one())
        if total <= self.matched:
            return []
        rows = read_rows(
            self.conn,
            "SELECT r.device, r.device_seq, r.first_seq FROM scan_receipts r"
            " LEFT JOIN entries e ON e.seq = r.first_seq"
            " WHERE e.seq IS NULL OR e.device <> r.device OR e.device_seq IS NULL"
            " OR e.device_seq <> r.device_seq"
            f" ORDER BY r.device, r.device_seq LIMIT {_PER_CHECK}",
            (),
        )
        if not rows:
            return [
                Problem(
                    None,
                    "receipt extra",
                    f"{total} receipts but {self.matched} scans in the log",
                    "scan_receipts",
                    {},
                )
            ]
        return [
            Problem(
                None,
                "receipt extra",
                f"device {device} scan {dseq}: no entry of that scan at seq {first}",
                "scan_receipts",
                {"device": str(device), "device_seq": int(dseq)},
            )
            for device, dseq, first in rows
        ]


def _compare_receipt(r: DerivedReceipt, have: tuple[Any, ...] | None) -> Problem | None:
    key: dict[str, KeyValue] = {"device": r.device, "device_seq": r.device_seq}
    name = f"device {r.device} scan {r.device_seq}"
    if have is None:
        return Problem(
            None,
            "receipt missing",
            f"{name}: entries {r.first_seq}..{r.first_seq + r.entry_count - 1} have no receipt"
            " (a replay would be appended again)",
            "scan_receipts",
            key,
        )
    _, first, count, anomaly, digest = have
    wrong = []
    if first != r.first_seq:
        wrong.append(f"first_seq is {first}, the entries give {r.first_seq}")
    if count != r.entry_count:
        wrong.append(f"entry_count is {count}, the entries give {r.entry_count}")
    if anomaly != r.anomaly:
        wrong.append(f"anomaly is {anomaly!r}, the entries give {r.anomaly!r}")
    if digest is not None and bytes(digest) != r.content_hash:
        wrong.append(
            f"content_hash is {_short(digest)}, the scanned entry gives {_short(r.content_hash)}"
        )
    if not wrong:
        return None
    return Problem(None, "receipt changed", f"{name}: " + "; ".join(wrong), "scan_receipts", key)
