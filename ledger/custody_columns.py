"""Each unit's chain and custody over a chunk of entries held as numpy columns.

The columnar twin of :meth:`ledger.verify_scan.EntryScan._follow_units`: the same
per-entry steps (chain check, declaration record, custody transition, container,
head), in seq order, in one compiled loop over arrays instead of a Python loop over
tuples. Per-unit state lives in :class:`UnitStore` (arrays indexed by unit id);
:meth:`UnitStore.derived` turns it back into the
:class:`~ledger.verify_scan.DerivedUnit` records that
:func:`ledger.verify_derived.check_units` compares with the units table.

The custody rules are not restated here. :data:`NEW_STATE`, :data:`HOLDER_FROM`
and :data:`BOUND_FOR_FROM` are derived at import by running
:func:`ledger.custody.apply_entry` itself on marker party codes for every
(is_new, state, kind, counterparty is None) and reading back where the new holder
and bound_for came from; a rule the table cannot express raises
:class:`ImportError`. :func:`derive_table` with ``aliases`` runs the same cases
again with party codes that coincide (a holder that is the party, two unknown
parties that both read "", ...) and checks that no transition depends on comparing
codes (only the anomaly sentences do): the tests run it.

numba is imported on the first :func:`follow`, not with this module.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, cast

import numpy as np
import numpy.typing as npt

from ledger.custody import Custody, UnitState, apply_entry
from ledger.encode_kernel import readonly
from ledger.ids import EntryKind
from ledger.rows import CodeBook

if TYPE_CHECKING:
    import polars as pl

    from ledger.verify_scan import DerivedUnit

__all__ = [
    "BOUND_FOR_FROM",
    "FROM_BOUND_FOR",
    "FROM_COUNTERPARTY",
    "FROM_HOLDER",
    "FROM_NONE",
    "FROM_PARTY",
    "HOLDER_FROM",
    "KIND_CODES",
    "NEW_STATE",
    "STATES",
    "UNKNOWN_KIND",
    "Hashes",
    "UnitStore",
    "derive_table",
    "follow",
    "follow_frame",
    "kind_codes",
]

I64 = npt.NDArray[np.int64]
B1 = npt.NDArray[np.bool_]
U8 = npt.NDArray[np.uint8]

#: Unit states by code (the code is the index).
STATES: tuple[UnitState, ...] = tuple(UnitState)
_STATE_CODE = {s: i for i, s in enumerate(STATES)}

#: Kind name -> code: ``EntryKind.code`` for every kind; any other name is
#: :data:`UNKNOWN_KIND` (the entry changes no custody, as in ``_follow_units``).
KIND_CODES: dict[str, int] = {k.value: k.code for k in EntryKind}
UNKNOWN_KIND = len(EntryKind)
_KIND_NAMES: tuple[str, ...] = tuple(sorted(KIND_CODES, key=KIND_CODES.__getitem__))
_DECLARATION = EntryKind.ERROR_DECLARATION.code
_PACKING = EntryKind.PACKING.code
_UNPACKING = EntryKind.UNPACKING.code
if sorted(KIND_CODES.values()) != list(range(UNKNOWN_KIND)):  # pragma: no cover
    raise ImportError("EntryKind.code is not 0..n-1: the kind codes of custody_columns clash")

#: Where a new holder / bound_for comes from (values of :data:`HOLDER_FROM`,
#: :data:`BOUND_FOR_FROM`): the entry's party, its counterparty, the unit's holder
#: or bound_for before the entry, or nobody.
FROM_PARTY, FROM_COUNTERPARTY, FROM_HOLDER, FROM_BOUND_FOR, FROM_NONE = range(5)
_ROLES = ("party", "counterparty", "holder", "bound_for")
_MARKERS = tuple(f"\x00{r}\x00" for r in _ROLES)

# The maximum head hash length a store keeps (leaf hashes are SHA-256).
_HASH = 32


def _source(value: str | None, roles: Sequence[str | None]) -> int:
    """Which role ``value`` came from: the index of the first role holding it, or
    FROM_NONE for None."""
    if value is None:
        return FROM_NONE
    for i, r in enumerate(roles):
        if r is not None and r == value:
            return i
    raise ImportError(
        f"ledger.custody.apply_entry set a party code {value!r} that is neither the"
        " entry's party, its counterparty, the old holder nor the old bound_for:"
        " ledger.custody_columns cannot express that rule"
    )


def _run(is_new: bool, state: UnitState, kind: EntryKind, roles: Sequence[str | None]) -> Custody:
    c = Custody(state, roles[FROM_HOLDER], roles[FROM_BOUND_FOR])
    party = roles[FROM_PARTY]
    assert party is not None
    apply_entry(c, kind, party, roles[FROM_COUNTERPARTY], is_new=is_new)
    return c


def _pick(source: int, roles: Sequence[str | None]) -> str | None:
    return None if source == FROM_NONE else roles[source]


# Party codes that coincide: every role takes one of these (holder and bound_for
# also None); "" is what an unknown party id reads as.
_ALIASES: tuple[str | None, ...] = ("A", "B", "")


def _alias_cases(cp_none: bool) -> Iterable[tuple[str | None, ...]]:
    cps: tuple[str | None, ...] = (None,) if cp_none else _ALIASES
    olds = (*_ALIASES, None)
    yield from itertools.product(_ALIASES, cps, olds, olds)


def derive_table(
    aliases: bool = False,
) -> tuple[npt.NDArray[np.int8], npt.NDArray[np.int8], npt.NDArray[np.int8]]:
    """(new state, holder source, bound_for source), each an int8 array of shape
    ``(2, len(STATES), UNKNOWN_KIND + 1, 2)`` indexed by [is_new, state code, kind
    code, counterparty is None], from :func:`ledger.custody.apply_entry`.

    Error declarations and unknown kinds get the identity (state kept, holder and
    bound_for from the old ones): no custody change. With ``aliases``, every case is
    also run with party codes that coincide (and a None old holder / bound_for) and
    must give the same state and the codes of the same sources.

    Raises ImportError when apply_entry sets a holder or bound_for none of the
    sources give, or when a transition depends on which codes are equal.
    """
    shape = (2, len(STATES), UNKNOWN_KIND + 1, 2)
    new_state = np.empty(shape, np.int8)
    holder = np.full(shape, FROM_HOLDER, np.int8)
    bound = np.full(shape, FROM_BOUND_FOR, np.int8)
    for s in range(len(STATES)):
        new_state[:, s] = s
    for kind in EntryKind:
        if kind is EntryKind.ERROR_DECLARATION:
            continue
        k = kind.code
        for is_new, (s, state), cp_none in itertools.product(
            (False, True), enumerate(STATES), (False, True)
        ):
            roles: list[str | None] = list(_MARKERS)
            if cp_none:
                roles[FROM_COUNTERPARTY] = None
            c = _run(is_new, state, kind, roles)
            hs, bs = _source(c.holder, roles), _source(c.bound_for, roles)
            key = (int(is_new), s, k, int(cp_none))
            new_state[key], holder[key], bound[key] = _STATE_CODE[c.state], hs, bs
            if not aliases:
                continue
            for alias in _alias_cases(cp_none):
                a = _run(is_new, state, kind, alias)
                if (a.state, a.holder, a.bound_for) != (
                    c.state,
                    _pick(hs, alias),
                    _pick(bs, alias),
                ):
                    raise ImportError(
                        f"ledger.custody.apply_entry's custody after {kind.value} (is_new="
                        f"{is_new}, state {state.value}) depends on which party codes are"
                        f" equal (party, counterparty, holder, bound_for = {alias!r}):"
                        " ledger.custody_columns cannot express that rule"
                    )
    return new_state, holder, bound


#: [is_new, state code, kind code, counterparty is None] -> new state code / where
#: the new holder and bound_for come from (FROM_*). Derived from apply_entry at
#: import (about a millisecond); the slower check with coinciding codes
#: (``derive_table(aliases=True)``, a quarter of a second) runs in the tests.
NEW_STATE, HOLDER_FROM, BOUND_FOR_FROM = derive_table()


class UnitStore:
    """Per-unit chain and custody state in arrays indexed by unit id (the units
    table's integer ids), grown by doubling as larger ids arrive.

    Arrays, all of length :attr:`capacity`: ``seen`` (bool: an entry named the
    unit), ``state`` (int8 code into :data:`STATES`), ``holder`` and ``bound_for``
    (int64 party ids; -1 is None; ids below -1 are party codes :meth:`set` was
    given, see :meth:`derived`), ``container`` (int64 unit id, -1 is None),
    ``head_seq`` (int64, -1 is None), ``head_hash`` (``(capacity, 32)`` uint8) and
    ``head_len`` (int8 bytes of head_hash used; 0 is b"" before the first entry).
    """

    def __init__(self, capacity: int = 1024) -> None:
        self.capacity = 0
        self.rows = 0  # entries followed so far
        self.seen = np.zeros(0, np.bool_)
        self.state = np.zeros(0, np.int8)
        self.holder = np.zeros(0, np.int64)
        self.bound_for = np.zeros(0, np.int64)
        self.container = np.zeros(0, np.int64)
        self.head_seq = np.zeros(0, np.int64)
        self.head_hash = np.zeros((0, _HASH), np.uint8)
        self.head_len = np.zeros(0, np.int8)
        self._codes: dict[str, int] = {}  # party code given to set() -> its id (< -1)
        self._grow(max(1, capacity))

    def _grow(self, capacity: int) -> None:
        old = self.capacity
        if capacity <= old:
            return
        size = max(2 * old, capacity)  # doubling, or straight to a far larger id
        unseen = _STATE_CODE[UnitState.UNCOMMISSIONED]  # DerivedUnit's first custody
        for name, fill in (
            ("seen", False),
            ("state", unseen),
            ("holder", -1),
            ("bound_for", -1),
            ("container", -1),
            ("head_seq", -1),
            ("head_len", 0),
        ):
            arr = getattr(self, name)
            grown = np.full(size, fill, arr.dtype)
            grown[:old] = arr
            setattr(self, name, grown)
        hashes = np.zeros((size, _HASH), np.uint8)
        hashes[:old] = self.head_hash
        self.head_hash = hashes
        self.capacity = size

    def check_ids(self, unit_ids: I64, more_rows: int) -> None:
        """Raise ValueError unless every id is >= 0 and at most
        ``4 * (rows followed + more_rows) + 2**20`` (ids far beyond the entries seen
        would make the arrays absurdly large: the caller falls back to a dict)."""
        if not len(unit_ids):
            return
        lo, hi = int(unit_ids.min()), int(unit_ids.max())
        limit = 4 * (self.rows + more_rows) + 2**20
        if lo < 0 or hi > limit:
            bad = lo if lo < 0 else hi
            raise ValueError(f"unit id {bad} is outside 0..{limit}: cannot index per-unit arrays")

    def __contains__(self, unit_id: object) -> bool:
        return (
            isinstance(unit_id, int | np.integer)
            and 0 <= int(unit_id) < self.capacity
            and bool(self.seen[int(unit_id)])
        )

    def __len__(self) -> int:
        """Units an entry has named."""
        return int(np.count_nonzero(self.seen))

    def _party(self, code: str | None) -> int:
        if code is None:
            return -1
        return self._codes.setdefault(code, -2 - len(self._codes))

    def set(self, unit_id: int, custody: Custody, container_id: int | None) -> None:
        """Replace a seen unit's custody (party codes, as
        :func:`ledger.retraction.replay_custody` gives them) and container: what
        ``EntryScan._check_declarations`` does for units with error declarations.
        Head seq and hash stay. The codes are kept as ids below -1, so later
        :func:`follow` calls carry them like any party id.

        Raises KeyError for a unit no entry named (``unit_id in store`` is False).
        """
        if unit_id not in self:
            raise KeyError(unit_id)
        self.state[unit_id] = _STATE_CODE[custody.state]
        self.holder[unit_id] = self._party(custody.holder)
        self.bound_for[unit_id] = self._party(custody.bound_for)
        self.container[unit_id] = -1 if container_id is None else container_id

    def derived(self, codes: CodeBook, ids: I64 | None = None) -> dict[int, DerivedUnit]:
        """Every seen unit as the :class:`~ledger.verify_scan.DerivedUnit`
        ``EntryScan._follow_units`` would hold, by unit id: party ids read as
        ``codes.parties.get(id, "")``, -1 as None, codes given to :meth:`set` as
        they were given; head_hash as bytes (b"" before any entry). ``ids``: only
        these units (each must be seen), in their order."""
        from ledger.verify_scan import DerivedUnit  # here: verify_scan may import this module

        # One lookup a party: the code book's codes, -1 as None, set()'s codes;
        # an id in neither reads "" as parties.get(id, "") does.
        names: dict[int | None, str | None] = dict(codes.parties)
        names.update({v: k for k, v in self._codes.items()})
        names[-1] = None
        name = names.get
        ids = np.flatnonzero(self.seen) if ids is None else np.asarray(ids, np.int64)
        hashes = self.head_hash[ids].tobytes()
        states = STATES
        new = DerivedUnit.__new__
        out: dict[int, DerivedUnit] = {}
        at = 0
        for u, s, h, b, c, hs, hl in zip(
            ids.tolist(),
            self.state[ids].tolist(),
            self.holder[ids].tolist(),
            self.bound_for[ids].tolist(),
            self.container[ids].tolist(),
            self.head_seq[ids].tolist(),
            self.head_len[ids].tolist(),
            strict=True,
        ):
            d = new(DerivedUnit)  # every slot is set here: skip __init__'s defaults
            d.custody = Custody(states[s], name(h, ""), name(b, ""))
            d.container_id = None if c < 0 else c
            d.head_seq = None if hs < 0 else hs
            d.head_hash = hashes[at : at + hl]
            at += _HASH
            out[u] = d
        return out


def kind_codes(names: Iterable[str]) -> I64:
    """Kind names -> int64 codes (:data:`KIND_CODES`, :data:`UNKNOWN_KIND` for any
    other name)."""
    get = KIND_CODES.get
    unknown = UNKNOWN_KIND
    return np.fromiter((get(n, unknown) for n in names), np.int64)


class Hashes(NamedTuple):
    """A column of byte strings laid out as Arrow's large_binary: string ``i`` is
    ``data[offsets[i]:offsets[i + 1]]``; ``null`` (bool, or None for no nulls)
    marks None. :func:`follow` takes one instead of a list of bytes to skip a
    Python call per string (about 60 ns an entry for each hash column).

    ``data``: uint8, ``offsets``: int64 of length n + 1, ``null``: bool of length n.
    Fixed-width hashes held as an ``(n, 32)`` uint8 array ``a``:
    ``Hashes(a.reshape(-1), np.arange(n + 1, dtype=np.int64) * 32)``."""

    data: U8
    offsets: I64
    null: B1 | None = None

    @classmethod
    def of(cls, column: pl.Series) -> Hashes:
        """A polars Binary column's buffers (no copy when it is one chunk; null
        strings as None). Raises ValueError for a column of another dtype."""
        import polars as pl

        if column.dtype != pl.Binary:
            raise ValueError(f"{column.name}: dtype {column.dtype}, expected Binary")
        arr = column.rechunk().to_arrow()
        _, offsets, data = arr.buffers()
        n = len(arr)
        return cls(
            np.frombuffer(data, np.uint8) if data is not None else np.zeros(0, np.uint8),
            np.frombuffer(offsets, np.int64, n + 1, arr.offset * 8),
            column.is_null().to_numpy() if arr.null_count else None,
        )


def _flat(
    hashes: Sequence[bytes | memoryview | None] | Hashes, n: int, what: str
) -> tuple[U8, I64, I64]:
    """(uint8 buffer, offsets, lengths) of ``n`` byte strings; None has length -1.

    Raises ValueError when there are not ``n`` of them or a Hashes is malformed."""
    if isinstance(hashes, Hashes):
        data = np.ascontiguousarray(hashes.data, np.uint8)
        ends = np.ascontiguousarray(hashes.offsets, np.int64)
        if ends.shape != (n + 1,):
            raise ValueError(f"{what}: {ends.shape} offsets, expected ({n + 1},)")
        lens = np.diff(ends)
        if n and (int(ends[0]) < 0 or int(lens.min()) < 0 or int(ends[-1]) > len(data)):
            raise ValueError(f"{what}: offsets outside the data or decreasing")
        if hashes.null is not None:
            null = np.ascontiguousarray(hashes.null, np.bool_)
            if null.shape != (n,):
                raise ValueError(f"{what}: null of shape {null.shape}, expected ({n},)")
            lens = np.where(null, -1, lens)
        return data, ends[:-1], lens
    if len(hashes) != n:
        raise ValueError(f"{what}: {len(hashes)} hashes, expected {n}")
    try:
        buf = b"".join(cast(Sequence[bytes], hashes))
        lens = np.fromiter(map(len, cast(Sequence[bytes], hashes)), np.int64, n)
    except TypeError:
        parts = [b"" if h is None else bytes(h) for h in hashes]
        buf = b"".join(parts)
        lens = np.fromiter(
            (-1 if h is None else len(p) for h, p in zip(hashes, parts, strict=True)),
            np.int64,
            n,
        )
    offsets = np.zeros(n, np.int64)
    if n > 1:
        np.cumsum(np.maximum(lens[:-1], 0), out=offsets[1:])
    return np.frombuffer(buf, np.uint8), offsets, lens


def _column(values: Any, n: int, name: str, low: int | None) -> I64:
    arr = np.ascontiguousarray(values, np.int64)
    if arr.shape != (n,):
        raise ValueError(f"{name}: shape {arr.shape}, expected ({n},)")
    if n and low is not None and int(arr.min()) < low:
        raise ValueError(f"{name}: {int(arr.min())} is below {low}")
    return arr


def follow(
    store: UnitStore,
    seq: I64,
    unit_id: I64,
    kind_code: I64,
    party_id: I64,
    counterparty_id: I64,
    container_id: I64,
    retracts_is_set: B1,
    retracts: I64,
    prev: Sequence[bytes | memoryview | None] | Hashes,
    leaves: Sequence[bytes] | Hashes,
    *,
    kind_names: Sequence[str] | None = None,
) -> tuple[list[tuple[int, int | None]], list[tuple[int, int, str, int | None]]]:
    """Follow one chunk of entries (in seq order) into ``store``, exactly as
    ``EntryScan._follow_units`` follows rows: per entry, a chain break when ``prev``
    differs from the unit's head hash; an error declaration or an entry with
    ``retracts`` set is recorded and changes no custody; any other known kind
    advances custody as :func:`ledger.custody.apply_entry` does (through
    :data:`NEW_STATE` etc.; is_new when the unit has no head yet), packing sets the
    container, unpacking clears it; then the unit's head becomes (seq, leaf).

    Columns, all of length n: ``seq`` (int64, >= 0), ``unit_id`` (int64 >= 0),
    ``kind_code`` (:data:`KIND_CODES` values or :data:`UNKNOWN_KIND`),
    ``party_id`` (int64 >= 0; an id missing from the code book reads as ""),
    ``counterparty_id`` and ``container_id`` (int64, -1 for None),
    ``retracts_is_set`` (bool) with ``retracts`` (int64, read where set),
    ``prev`` (bytes of any length, or None) and ``leaves`` (bytes of at most 32),
    each a sequence or a :class:`Hashes` (e.g. ``Hashes.of(frame["prev_hash"])``).
    ``kind_names`` (the kind column as stored) is needed only when a row of an
    unknown kind has ``retracts`` set: its declaration record names that kind.

    Returns (chain breaks as (seq, the unit's previous head seq or None), in seq
    order; declarations as (seq, unit id, kind name, retracts or None)).

    Raises ValueError, leaving ``store`` unchanged, for a column of the wrong
    shape or length or out of range, a unit id the store cannot index
    (:meth:`UnitStore.check_ids`), a leaf longer than 32 bytes, or an unknown
    kind's declaration without ``kind_names``.
    """
    n = len(np.asarray(seq))
    seq_a = _column(seq, n, "seq", 0)
    unit_a = _column(unit_id, n, "unit_id", None)  # check_ids below
    kind_a = _column(kind_code, n, "kind_code", 0)
    if n and int(kind_a.max()) > UNKNOWN_KIND:
        raise ValueError(f"kind_code: {int(kind_a.max())} is no kind code")
    party_a = _column(party_id, n, "party_id", 0)
    cp_a = _column(counterparty_id, n, "counterparty_id", -1)
    container_a = _column(container_id, n, "container_id", -1)
    retracting = np.ascontiguousarray(retracts_is_set, np.bool_)
    if retracting.shape != (n,):
        raise ValueError(f"retracts_is_set: shape {retracting.shape}, expected ({n},)")
    retracts_a = _column(retracts, n, "retracts", None)
    store.check_ids(unit_a, n)
    prev_buf, prev_off, prev_len = _flat(prev, n, "prev")
    leaf_buf, leaf_off, leaf_len = _flat(leaves, n, "leaves")
    if n and (int(leaf_len.max()) > _HASH or int(leaf_len.min()) < 0):
        raise ValueError("leaves: a leaf hash that is None or longer than 32 bytes")
    needs_names = retracting & (kind_a == UNKNOWN_KIND)
    if kind_names is None and needs_names.any():
        raise ValueError("an entry of an unknown kind retracts a seq: pass kind_names")
    if kind_names is not None and len(kind_names) != n:
        raise ValueError(f"kind_names: {len(kind_names)} names, expected {n}")
    if n:
        store._grow(int(unit_a.max()) + 1)
    store.rows += n
    breaks = np.empty(n, np.int64)
    break_prev = np.empty(n, np.int64)
    decls = np.empty(n, np.int64)
    inputs: tuple[Any, ...] = (seq_a, unit_a, kind_a, party_a, cp_a, container_a, retracting)
    inputs += (prev_buf, prev_off, prev_len, leaf_buf, leaf_off, leaf_len)
    nb, nd = _kernel()(
        *map(readonly, inputs),  # one compiled version whatever the callers hand over
        store.seen,
        store.state,
        store.holder,
        store.bound_for,
        store.container,
        store.head_seq,
        store.head_hash,
        store.head_len,
        NEW_STATE,
        HOLDER_FROM,
        BOUND_FOR_FROM,
        breaks,
        break_prev,
        decls,
    )
    chain_breaks = [
        (s, None if p < 0 else p)
        for s, p in zip(seq_a[breaks[:nb]].tolist(), break_prev[:nb].tolist(), strict=True)
    ]
    declarations: list[tuple[int, int, str, int | None]] = []
    for i in decls[:nd].tolist():
        k = int(kind_a[i])
        name = kind_names[i] if kind_names is not None else _KIND_NAMES[k]
        declarations.append(
            (int(seq_a[i]), int(unit_a[i]), name, int(retracts_a[i]) if retracting[i] else None)
        )
    return chain_breaks, declarations


def follow_frame(
    store: UnitStore, frame: pl.DataFrame, leaves: Sequence[bytes] | Hashes
) -> tuple[list[tuple[int, int | None]], list[tuple[int, int, str, int | None]]] | None:
    """:func:`follow` over a chunk held as polars columns
    (:data:`ledger.entry_columns.SCHEMA`) and its ``leaves``: the kind names
    coded, null counterparty and container ids as -1. None, ``store`` unchanged,
    when the chunk cannot be followed in arrays (a null unit, party or seq, an id
    the store cannot index: :func:`follow`'s ValueError); the caller then follows
    it row by row, which names what is wrong."""
    import polars as pl

    cols = frame.select(
        pl.col("seq"),
        pl.col("unit_id"),
        pl.col("kind").replace_strict(KIND_CODES, default=UNKNOWN_KIND, return_dtype=pl.Int64),
        pl.col("party_id"),
        pl.col("counterparty_id").fill_null(-1),
        pl.col("container_id").fill_null(-1),
        pl.col("retracts_seq").is_not_null().alias("retracting"),
        pl.col("retracts_seq").fill_null(-1),
    )
    if cols.null_count().sum_horizontal()[0]:
        return None
    seq, unit, kind, party, cp, container, retracting, retracts = (
        cols.to_series(i).to_numpy() for i in range(8)
    )
    names = frame["kind"].to_list() if (retracting & (kind == UNKNOWN_KIND)).any() else None
    try:
        return follow(
            store, seq, unit, kind, party, cp, container, retracting, retracts,
            frame["prev_hash"].to_list(), leaves, kind_names=names,
        )  # fmt: skip
    except ValueError:
        return None


def _follow_kernel(
    seq: I64,
    unit: I64,
    kind: I64,
    party: I64,
    cp: I64,
    container: I64,
    retracting: B1,
    prev_buf: Any,
    prev_off: I64,
    prev_len: I64,
    leaf_buf: Any,
    leaf_off: I64,
    leaf_len: I64,
    seen: B1,
    state: Any,
    holder: I64,
    bound_for: I64,
    container_of: I64,
    head_seq: I64,
    head_hash: Any,
    head_len: Any,
    new_state: Any,
    holder_from: Any,
    bound_from: Any,
    breaks: I64,
    break_prev: I64,
    decls: I64,
) -> tuple[int, int]:
    """The loop of :func:`follow` (compiled by numba; plain Python works the same).
    Writes row indices of chain breaks (with the unit's head seq before) and of
    declarations; returns their counts."""
    nb = 0
    nd = 0
    for i in range(seq.shape[0]):
        u = unit[i]
        seen[u] = True
        hl = head_len[u]
        broken = prev_len[i] != hl
        if not broken:
            o = prev_off[i]
            for j in range(hl):
                if prev_buf[o + j] != head_hash[u, j]:
                    broken = True
                    break
        if broken:
            breaks[nb] = i
            break_prev[nb] = head_seq[u]
            nb += 1
        k = kind[i]
        if k == _DECLARATION or retracting[i]:
            decls[nd] = i
            nd += 1
        else:
            is_new = 1 if head_seq[u] < 0 else 0
            q = cp[i]
            c = 1 if q < 0 else 0
            s = state[u]
            p = party[i]
            h = holder[u]
            b = bound_for[u]
            src = holder_from[is_new, s, k, c]
            if src == 0:
                holder[u] = p
            elif src == 1:
                holder[u] = q
            elif src == 3:
                holder[u] = b
            elif src == 4:
                holder[u] = -1
            src = bound_from[is_new, s, k, c]
            if src == 0:
                bound_for[u] = p
            elif src == 1:
                bound_for[u] = q
            elif src == 2:
                bound_for[u] = h
            elif src == 4:
                bound_for[u] = -1
            state[u] = new_state[is_new, s, k, c]
            if k == _PACKING:
                container_of[u] = container[i]
            elif k == _UNPACKING:
                container_of[u] = -1
        head_seq[u] = seq[i]
        ll = leaf_len[i]
        o = leaf_off[i]
        for j in range(ll):
            head_hash[u, j] = leaf_buf[o + j]
        head_len[u] = ll
    return nb, nd


# The source codes the kernel's branches spell out as literals.
if (FROM_PARTY, FROM_COUNTERPARTY, FROM_HOLDER, FROM_BOUND_FOR, FROM_NONE) != (
    0,
    1,
    2,
    3,
    4,
):  # pragma: no cover
    raise ImportError("custody_columns: FROM_* codes changed without the kernel")


@functools.cache
def _kernel() -> Callable[..., tuple[int, int]]:
    """:func:`_follow_kernel` compiled (numba imported here, on first use)."""
    import numba

    return cast(Callable[..., tuple[int, int]], numba.njit(cache=True, nogil=True)(_follow_kernel))
