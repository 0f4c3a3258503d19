"""ledger.custody_columns: the columnar chain and custody step gives what
``EntryScan._follow_units`` gives on the same entries, chunk by chunk, and its
transition table is apply_entry's.

The oracle is an EntryScan driven through ``_follow_units`` with tuple rows (no
database): its ``units``, ``chain_breaks``, chain problems and ``declarations``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection

import ledger.custody_columns as cc
from ledger.custody import Custody, UnitState
from ledger.ids import EntryKind
from ledger.rows import CodeBook
from ledger.verify_scan import (
    CONTAINER_ID,
    COUNTERPARTY,
    KIND,
    LEAF,
    PARTY,
    PREV,
    RETRACTS,
    SEQ,
    UNIT_ID,
    EntryScan,
)

# Party 9 and 8 are in no code book: they read as "".
CODES = CodeBook({1: "P1", 2: "P2", 3: "P3", None: ""}, {None: ""})
PARTIES = st.sampled_from([1, 2, 3, 9])
KINDS = [k.value for k in EntryKind] + ["teleporting"]
UNITS = st.sampled_from([0, 1, 2, 3, 7, 40, 3000])


@dataclass
class Entry:
    seq: int
    unit: int
    kind: str
    party: int
    cp: int | None
    container: int | None
    retracts: int | None
    prev: bytes | None
    leaf: bytes


def _row(e: Entry) -> tuple[Any, ...]:
    row: list[Any] = [None] * 18
    row[SEQ], row[KIND], row[PARTY], row[COUNTERPARTY] = e.seq, e.kind, e.party, e.cp
    row[PREV], row[LEAF], row[UNIT_ID] = e.prev, e.leaf, e.unit
    row[RETRACTS], row[CONTAINER_ID] = e.retracts, e.container
    return tuple(row)


@st.composite
def ledgers(draw: st.DrawFn) -> tuple[list[Entry], list[int]]:
    """Entries in seq order (seqs with gaps now and then) whose prev is mostly the
    unit's last leaf, and chunk boundaries."""
    n = draw(st.integers(0, 120))
    heads: dict[int, bytes] = {}
    entries: list[Entry] = []
    seq = draw(st.integers(0, 3))
    for _ in range(n):
        unit = draw(UNITS)
        right = heads.get(unit, b"")
        prev = draw(
            st.one_of(
                st.just(right),
                st.just(right),
                st.just(right),
                st.binary(max_size=40),
                st.none(),
                st.just(right[:-1] + b"x" if right else b"\0" * 32),
            )
        )
        leaf = draw(st.one_of(st.binary(min_size=32, max_size=32), st.binary(max_size=32)))
        entries.append(
            Entry(
                seq,
                unit,
                draw(st.sampled_from(KINDS)),
                draw(PARTIES),
                draw(st.one_of(st.none(), st.none(), PARTIES, st.just(8))),
                draw(st.one_of(st.none(), UNITS)),
                draw(st.one_of(*[st.none()] * 6, st.integers(0, seq + 2))),
                prev,
                leaf,
            )
        )
        heads[unit] = leaf
        seq += draw(st.sampled_from([1, 1, 1, 1, 2, 5]))
    cuts = sorted(set(draw(st.lists(st.integers(0, n), max_size=6))))
    return entries, cuts


def _oracle() -> EntryScan:
    return EntryScan(cast(Connection, None), CODES, set(), lambda _n: [], lambda _s: [], 20_000)


def _hashes(values: list[bytes | None], columnar: bool) -> Any:
    """The list itself, or cc.Hashes of a polars column holding it (sliced out of a
    longer one, so its Arrow buffers start at an offset)."""
    if not columnar:
        return values
    column = pl.Series("h", [b"before", None, *values, b"after"], dtype=pl.Binary)
    return cc.Hashes.of(column.slice(2, len(values)))


def _follow(
    store: cc.UnitStore, chunk: list[Entry], names: bool = True, columnar: bool = False
) -> Any:
    return cc.follow(
        store,
        np.array([e.seq for e in chunk], np.int64),
        np.array([e.unit for e in chunk], np.int64),
        cc.kind_codes(e.kind for e in chunk),
        np.array([e.party for e in chunk], np.int64),
        np.array([-1 if e.cp is None else e.cp for e in chunk], np.int64),
        np.array([-1 if e.container is None else e.container for e in chunk], np.int64),
        np.array([e.retracts is not None for e in chunk], np.bool_),
        np.array([-1 if e.retracts is None else e.retracts for e in chunk], np.int64),
        _hashes([e.prev for e in chunk], columnar),
        _hashes([e.leaf for e in chunk], columnar),
        kind_names=[e.kind for e in chunk] if names else None,
    )


def _same_units(store: cc.UnitStore, scan: EntryScan) -> None:
    derived = store.derived(CODES)
    assert sorted(derived) == sorted(scan.units)
    assert len(store) == len(scan.units)
    for unit_id, want in scan.units.items():
        got = derived[unit_id]
        assert unit_id in store
        assert (got.custody.state, got.custody.holder, got.custody.bound_for) == (
            want.custody.state,
            want.custody.holder,
            want.custody.bound_for,
        ), unit_id
        assert got.container_id == want.container_id
        assert got.head_seq == want.head_seq
        assert got.head_hash == want.head_hash


REPLAYED = [
    Custody(UnitState.IN_STOCK, "P2", None),
    Custody(UnitState.IN_TRANSIT, "P1", "P3"),
    Custody(UnitState.IN_TRANSIT, "", "nobody's code"),
    Custody(UnitState.SOLD, None, None),
]


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(ledgers(), st.data())
def test_chunks_follow_as_follow_units_does(
    ledger: tuple[list[Entry], list[int]], data: st.DataObject
) -> None:
    entries, cuts = ledger
    store, scan = cc.UnitStore(capacity=data.draw(st.sampled_from([1, 8, 4096]))), _oracle()
    breaks: list[tuple[int, int | None]] = []
    declarations: list[tuple[int, int, str, int | None]] = []
    for lo, hi in zip([0, *cuts], [*cuts, len(entries)], strict=True):
        chunk = entries[lo:hi]
        got_breaks, got_declarations = _follow(store, chunk, columnar=data.draw(st.booleans()))
        breaks += got_breaks
        declarations += got_declarations
        scan._follow_units([_row(e) for e in chunk], [e.leaf for e in chunk])
        # What _check_declarations does between chunks' worth of units: a replayed
        # custody (codes the store has no id for) that later entries carry on from.
        if scan.units and data.draw(st.booleans()):
            unit_id = data.draw(st.sampled_from(sorted(scan.units)))
            custody = data.draw(st.sampled_from(REPLAYED))
            container = data.draw(st.sampled_from([None, 5]))
            store.set(unit_id, Custody(custody.state, custody.holder, custody.bound_for), container)
            scan.units[unit_id].custody = Custody(custody.state, custody.holder, custody.bound_for)
            scan.units[unit_id].container_id = container
    assert [b for b in breaks if b[1] is not None] == scan.chain_breaks
    first_breaks = [p.seq for p in scan.problems if p.problem == "chain broken"]
    assert [s for s, p in breaks if p is None] == first_breaks
    assert len(scan.problems) == len(first_breaks)
    assert declarations == scan.declarations
    _same_units(store, scan)


def _entry(seq: int, unit: int, kind: str, **kw: Any) -> Entry:
    fields: dict[str, Any] = {
        "party": 1,
        "cp": None,
        "container": None,
        "retracts": None,
        "prev": b"",
        "leaf": bytes([seq]) * 32,
    }
    fields.update(kw)
    return Entry(seq, unit, kind, **fields)


def test_a_short_history() -> None:
    """Spelled out once: commission, ship to P2, receive, a wrong prev, an unknown
    kind that retracts, packing into 9."""
    leaf = [bytes([i]) * 32 for i in range(6)]
    chunk = [
        _entry(0, 4, "commissioning", leaf=leaf[0]),
        _entry(1, 4, "shipping", cp=2, prev=leaf[0], leaf=leaf[1]),
        _entry(2, 4, "receiving", party=2, prev=leaf[1], leaf=leaf[2]),
        _entry(3, 4, "inspecting", party=3, prev=b"wrong", leaf=leaf[3]),
        _entry(4, 4, "teleporting", retracts=3, prev=leaf[3], leaf=leaf[4]),
        _entry(5, 4, "packing", party=2, container=9, prev=leaf[4], leaf=leaf[5]),
    ]
    store = cc.UnitStore()
    breaks, declarations = _follow(store, chunk)
    assert breaks == [(3, 2)]
    assert declarations == [(4, 4, "teleporting", 3)]
    (u,) = store.derived(CODES).values()
    assert (u.custody.state, u.custody.holder, u.custody.bound_for) == (
        UnitState.IN_STOCK,
        "P2",
        None,
    )
    assert (u.container_id, u.head_seq, u.head_hash) == (9, 5, leaf[5])


def test_fixed_width_leaves_as_one_array() -> None:
    chunk = [_entry(i, i % 3, "commissioning" if i < 3 else "inspecting") for i in range(9)]
    for e in chunk[3:]:
        e.prev = chunk[e.seq - 3].leaf
    a = np.frombuffer(b"".join(e.leaf for e in chunk), np.uint8).reshape(9, 32)
    by_array, by_list = cc.UnitStore(), cc.UnitStore()
    leaves = cc.Hashes(a.reshape(-1), np.arange(10, dtype=np.int64) * 32)
    assert _follow_with(by_array, chunk, leaves) == ([], [])
    assert _follow_with(by_list, chunk, [e.leaf for e in chunk]) == ([], [])
    got, want = by_array.derived(CODES), by_list.derived(CODES)
    assert [(u.head_seq, u.head_hash) for u in got.values()] == [
        (u.head_seq, u.head_hash) for u in want.values()
    ]
    assert [u.head_seq for u in got.values()] == [6, 7, 8]


def test_an_unknown_kind_that_retracts_needs_its_name() -> None:
    store = cc.UnitStore()
    with pytest.raises(ValueError, match="kind_names"):
        _follow(store, [_entry(0, 1, "teleporting", retracts=0)], names=False)
    assert len(store) == 0 and store.rows == 0
    _, declarations = _follow(store, [_entry(0, 1, "error_declaration", retracts=0)], names=False)
    assert declarations == [(0, 1, "error_declaration", 0)]


@pytest.mark.parametrize("unit_id", [-1, -(2**40), 2**20 + 13, 2**40])
def test_a_unit_id_the_arrays_cannot_index_is_refused(unit_id: int) -> None:
    store = cc.UnitStore()
    _follow(store, [_entry(0, 3, "commissioning")])
    with pytest.raises(ValueError, match=f"unit id {unit_id} is outside"):
        _follow(store, [_entry(1, 5, "commissioning"), _entry(2, unit_id, "shipping")])
    # Nothing of the refused chunk was followed.
    assert store.rows == 1 and 5 not in store and sorted(store.derived(CODES)) == [3]


def test_the_id_limit_grows_with_the_entries_seen() -> None:
    store = cc.UnitStore()
    big = 2**20 + 40
    with pytest.raises(ValueError):
        _follow(store, [_entry(0, big, "commissioning")])
    _follow(store, [_entry(i, 1, "inspecting") for i in range(10)])
    _follow(store, [_entry(10, big, "commissioning")])
    assert big in store and store.capacity > big


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"leaf": b"\1" * 33}, "leaves"),
        ({"party": -1}, "party_id"),
        ({"cp": -2}, "counterparty_id"),
        ({"container": -3}, "container_id"),
    ],
)
def test_values_the_kernel_cannot_hold_are_refused(change: dict[str, Any], match: str) -> None:
    store = cc.UnitStore()
    with pytest.raises(ValueError, match=match):
        _follow(store, [_entry(0, 1, "commissioning", **change)])
    assert store.rows == 0 and len(store) == 0


def test_hashes_of_the_wrong_shape_are_refused() -> None:
    store = cc.UnitStore()
    chunk = [_entry(0, 1, "commissioning"), _entry(1, 1, "inspecting")]
    with pytest.raises(ValueError, match="prev: 1 hashes, expected 2"):
        cc.follow(
            store,
            *(np.array(v, np.int64) for v in ([0, 1], [1, 1], [0, 6], [1, 1], [-1, -1], [-1, -1])),
            np.zeros(2, np.bool_),
            np.zeros(2, np.int64),
            [b""],
            [e.leaf for e in chunk],
        )
    leaves = cc.Hashes(np.zeros(64, np.uint8), np.array([0, 32, 65], np.int64))
    with pytest.raises(ValueError, match="leaves: offsets outside the data"):
        _follow_with(store, chunk, leaves=leaves)
    with pytest.raises(ValueError, match="Binary"):
        cc.Hashes.of(pl.Series("h", ["text"]))
    assert store.rows == 0 and len(store) == 0


def _follow_with(store: cc.UnitStore, chunk: list[Entry], leaves: Any) -> Any:
    n = len(chunk)
    return cc.follow(
        store,
        np.array([e.seq for e in chunk], np.int64),
        np.array([e.unit for e in chunk], np.int64),
        cc.kind_codes(e.kind for e in chunk),
        np.array([e.party for e in chunk], np.int64),
        np.full(n, -1, np.int64),
        np.full(n, -1, np.int64),
        np.zeros(n, np.bool_),
        np.zeros(n, np.int64),
        [e.prev for e in chunk],
        leaves,
    )


def test_set_needs_a_unit_an_entry_named() -> None:
    store = cc.UnitStore()
    with pytest.raises(KeyError):
        store.set(2, Custody(UnitState.SOLD, None, None), None)


def test_the_table_is_apply_entrys_whatever_codes_coincide() -> None:
    """Run with party codes that coincide (and old holder / bound_for None): the
    same table, so no transition depends on comparing codes."""
    tables = cc.derive_table(aliases=True)
    for got, want in zip(tables, (cc.NEW_STATE, cc.HOLDER_FROM, cc.BOUND_FOR_FROM), strict=True):
        assert np.array_equal(got, want)
    shipping = EntryKind.SHIPPING.code
    in_stock = cc.STATES.index(UnitState.IN_STOCK)
    assert cc.HOLDER_FROM[0, in_stock, shipping, 0] == cc.FROM_PARTY
    assert cc.BOUND_FOR_FROM[0, in_stock, shipping, 0] == cc.FROM_COUNTERPARTY
    assert cc.NEW_STATE[0, in_stock, shipping, 0] == cc.STATES.index(UnitState.IN_TRANSIT)


def _patched(monkeypatch: pytest.MonkeyPatch, rule: Callable[..., str]) -> None:
    monkeypatch.setattr(cc, "apply_entry", rule)


def test_a_rule_the_table_cannot_express_fails_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    def hands_to_a_stranger(
        c: Custody, kind: EntryKind, party: str, cp: str | None, *, is_new: bool
    ) -> str:
        c.holder = "someone else"
        return ""

    _patched(monkeypatch, hands_to_a_stranger)
    with pytest.raises(ImportError, match="cannot express"):
        cc.derive_table()


def test_a_rule_that_compares_codes_fails_the_alias_check(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def keeps_bound_for_unless_holder(
        c: Custody, kind: EntryKind, party: str, cp: str | None, *, is_new: bool
    ) -> str:
        if c.holder == party:
            c.bound_for = None
        return ""

    _patched(monkeypatch, keeps_bound_for_unless_holder)
    cc.derive_table()  # distinct markers never compare equal
    with pytest.raises(ImportError, match="depends on which party codes are equal"):
        cc.derive_table(aliases=True)
