"""The parent's half of ``verify --jobs N``: ranges verified apart, folded into one scan.

Each worker returns a :class:`~ledger.verify_range.RangeResult`; :func:`fold`
takes them in log order and leaves an :class:`~ledger.verify_scan.EntryScan` in
the state one pass over the whole log would have left it:

- the tree: each range's root is appended as a complete subtree (RFC 9162 §2.1.1:
  ranges are aligned subtrees, so the log's tree is theirs joined), the last
  range's frontier after it; the nodes this closes at stored levels are compared
  with ``tree_nodes``; the root at a checkpoint size inside a range is the
  frontier before the range joined with the range's frontier at that size;
- chains: a unit's first entry in a range must name its last leaf in the ranges
  before (or nothing, for its first entry of all);
- custody: a unit's custody after a range is what the worker fixed, or what its
  entries before the fixing one give when applied to the custody so far;
- scans: the scans at range borders are joined up and their receipts checked;
- units rows: the workers compared those of the units whose entries all lie in
  their range (:meth:`~ledger.verify_range._RangeScan.check_closed_units`); the
  fold collects their ids and problems for
  :func:`~ledger.verify_derived.check_units` and raises :class:`UnitsAcrossRanges`
  when another range names one of them after all (a log changed so that a unit's
  first entry names no previous one, or its row's head is not its last entry);
- findings: each range's, in order; the first mismatched rows and chain breaks
  kept as one pass keeps them (the first ones by seq), then classified by
  :meth:`~ledger.verify_scan.EntryScan.finish` as one pass would.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from ledger.custody import Custody, UnitState, apply_entry
from ledger.merkle import frontier_levels, frontier_root
from ledger.rows import Row
from ledger.tree import TILE_HEIGHT
from ledger.verify_derived import ReceiptCheck
from ledger.verify_problems import Problem
from ledger.verify_range import RangeResult
from ledger.verify_scan import (
    _KEEP_CHAIN_BREAKS,
    _KEEP_MISMATCHED,
    _KINDS,
    DerivedUnit,
    EntryScan,
    StoredNode,
    group_scans,
)
from ledger.verify_tiles import push_subtree

__all__ = ["Folder", "UnitsAcrossRanges", "fold"]

_STATES = {s.value: s for s in UnitState}


class UnitsAcrossRanges(Exception):
    """A unit compared in one range has entries in another: the ranges cannot be
    folded (the log is then verified in one process)."""


class Folder:
    """Folds ranges into ``scan`` one at a time, in log order (see the module doc)."""

    def __init__(self, scan: EntryScan, level: int, receipts: ReceiptCheck | None) -> None:
        self.scan = scan
        self.level = level
        self.receipts = receipts
        self.carry: list[Row] = []  # the scan still open at the last border
        self.breaks: list[tuple[int, int]] = []
        self.nodes: list[StoredNode] = []
        self.nodes_checked = 0  # stored nodes the workers compared
        self.units_checked: set[int] = set()  # units rows the workers compared
        self.unit_problems: dict[int, Problem] = {}  # of those, the wrong ones by id

    def add(self, part: RangeResult) -> None:
        """Fold the next range; :class:`UnitsAcrossRanges` when a unit its worker
        compared is named by a range before it, or one compared before is named here."""
        scan = self.scan
        checked = self.units_checked
        if part.units_checked:
            here = set(part.units_checked)
            if not scan.units.keys().isdisjoint(here) or not checked.isdisjoint(here):
                raise UnitsAcrossRanges(part.lo)
            checked |= here
            self.unit_problems.update(part.unit_problems)
        if checked and not checked.isdisjoint(part.units.ids):
            raise UnitsAcrossRanges(part.lo)
        for p in part.problems:
            scan.note(p)
        for seq in sorted(part.mismatched):
            if len(scan.mismatched) >= _KEEP_MISMATCHED:
                break
            scan.mismatched[seq] = part.mismatched[seq]
        self.breaks.extend(part.chain_breaks)
        if part.first_tile_mismatch is not None and (
            scan.first_tile_mismatch is None or part.first_tile_mismatch < scan.first_tile_mismatch
        ):
            scan.first_tile_mismatch = part.first_tile_mismatch
        self._tree(part)
        self.nodes_checked += part.nodes_checked
        self._units(part)
        scan.declarations.extend(part.declarations)
        self._scans(part)
        scan.last_row = part.last_row

    def _tree(self, part: RangeResult) -> None:
        scan = self.scan
        for size, frontier in sorted(part.mark_frontiers.items()):
            scan.roots[size] = frontier_root(scan.frontier + frontier)
        nodes = self.nodes

        def on_node(level: int, index: int, h: bytes) -> None:
            if level % TILE_HEIGHT == 0:
                nodes.append((level, index, h))

        rows = part.hi - part.lo
        levels = [self.level] if rows == 1 << self.level else frontier_levels(rows)
        size = scan.size
        for level, h in zip(levels, part.frontier, strict=True):
            push_subtree(scan.frontier, size, level, h, on_node)
            size += 1 << level
        scan.size = scan.expected = size

    def _units(self, part: RangeResult) -> None:
        scan = self.scan
        units = scan.units
        apply = apply_entry
        kinds, states = _KINDS, _STATES
        p = part.units
        for uid, first_seq, first_prev, head_seq, head_hash, state, holder, bound, container, moved, before in zip(
            p.ids, p.first_seq, p.first_prev, p.head_seq, p.head_hash, p.state, p.holder,
            p.bound_for, p.container_id, p.moved, p.before, strict=True,
        ):  # fmt: skip
            u = units.get(uid)
            if u is None:
                u = units[uid] = DerivedUnit()
            if first_prev != u.head_hash:
                if u.head_seq is None:
                    scan._chain_break(first_seq, None)
                else:
                    self.breaks.append((first_seq, u.head_seq))
            if before is None:
                u.custody = Custody(states[state], holder, bound)
            else:
                for kind, party, counterparty, first in before:
                    apply(
                        u.custody,
                        kinds[kind],
                        party,
                        counterparty,
                        is_new=first and u.head_seq is None,
                    )
            if moved:
                u.container_id = container
            u.head_seq, u.head_hash = head_seq, head_hash

    def _scans(self, part: RangeResult) -> None:
        scan = self.scan
        scan.receipts += part.receipts
        if self.receipts is not None:
            self.receipts.matched += part.receipts_matched
        if part.closed:
            self._close(self.carry + part.lead)
            self.carry = list(part.tail)
        else:
            self.carry += part.tail

    def _close(self, rows: list[Row]) -> None:
        if rows:
            groups = group_scans(rows)
            self.scan.receipts += len(groups)
            if self.receipts is not None:
                for p in self.receipts(groups):
                    self.scan.note(p)

    def finish(self, on_nodes: Callable[[list[StoredNode]], list[Problem]]) -> None:
        """After the last range: the last scan's receipt, the stored-level nodes the
        fold closed, the chain breaks in seq order, the error declarations."""
        self._close(self.carry)
        self.carry = []
        if self.nodes:
            for p in on_nodes(self.nodes):
                self.scan.note(p)
        self.breaks.sort()
        self.scan.chain_breaks = self.breaks[:_KEEP_CHAIN_BREAKS]
        if self.scan.declarations:
            self.scan._check_declarations()


def fold(
    scan: EntryScan,
    parts: Iterable[RangeResult],
    level: int,
    on_nodes: Callable[[list[StoredNode]], list[Problem]],
    receipts: ReceiptCheck | None,
) -> None:
    """Fold ``parts`` (every range of the log, in order, each in place) into ``scan``,
    a fresh :class:`~ledger.verify_scan.EntryScan` of the whole log; then check the
    error declarations as its :meth:`~ledger.verify_scan.EntryScan.run` would.
    ``level``: ranges are aligned subtrees of ``2**level`` leaves; ``on_nodes``
    compares the stored-level nodes the fold closes; ``receipts`` checks the scans
    that cross borders (None when ``scan_receipts`` cannot be read)."""
    folder = Folder(scan, level, receipts)
    for part in parts:
        folder.add(part)
    folder.finish(on_nodes)
