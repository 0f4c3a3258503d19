"""What verification reports: one :class:`Problem` per thing that does not verify.

A problem tied to an entry names its ``seq``; one in a derived table (tree nodes,
head, units, scan receipts, checkpoints) names the ``table`` and the row's
``key`` instead. Problems sort by seq first (the lowest bad seq is the most
useful finding: everything after it may only be its consequence; a ``root
mismatch`` only when no row says more), then the problems not tied to an entry,
in the order of :data:`TABLES`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

__all__ = ["KINDS", "TABLES", "KeyValue", "Problem", "first_problems"]

KeyValue = int | str | None

# Every kind a check may report, in the order that explains most when several
# name the same seq: a structural change (a row gone, added or moved) explains a
# changed hash or a broken chain at that seq, not the other way round; a broken
# chain says more than "changed" (which column).
KINDS: tuple[str, ...] = (
    # entries (seq-tied)
    "deleted",
    "inserted",
    "reordered",
    "truncated",
    "chain broken",
    "changed",
    "bad declaration",
    "root mismatch",
    # checkpoints, the checkpoint file an auditor kept
    "bad signature",
    "checkpoint changed",
    "inconsistent",
    # derived tables
    "head missing",
    "head changed",
    "tree node changed",
    "tree node missing",
    "tree node extra",
    "unit changed",
    "unit missing",
    "unit extra",
    "receipt changed",
    "receipt missing",
    "receipt extra",
    # a table that cannot be read at all, or a check that stopped
    "unreadable",
)

TABLES: tuple[str, ...] = (
    "entries",
    "checkpoints",
    "checkpoint file",
    "ledger_head",
    "tree_nodes",
    "units",
    "scan_receipts",
)

_KIND_RANK = {k: i for i, k in enumerate(KINDS)}
_TABLE_RANK = {t: i for i, t in enumerate(TABLES)}


@dataclass(frozen=True, slots=True, eq=False)
class Problem:
    """One finding.

    ``seq``: the first entry involved, or None when the problem is in a row of a
    derived table (then ``table`` and ``key`` name the row); ``problem``: one of
    :data:`KINDS` (other checks, e.g. settlement, may add their own kinds);
    ``detail``: what is wrong, in words; ``table``: where it is; ``key``: the
    row's key columns (empty for entries: ``seq`` says which).
    """

    seq: int | None
    problem: str
    detail: str
    table: str = "entries"
    key: Mapping[str, KeyValue] = field(default_factory=dict)

    def sort_key(
        self,
    ) -> tuple[int, int, int, int, tuple[tuple[str, tuple[int, int, str]], ...], str]:
        # A root mismatch is what is left when no row tells what changed: any other
        # finding about entries explains more, whatever its seq.
        tier = 2 if self.seq is None else 1 if self.problem == "root mismatch" else 0
        return (
            tier,
            self.seq if self.seq is not None else 0,
            _KIND_RANK.get(self.problem, len(KINDS)),
            _TABLE_RANK.get(self.table, len(TABLES)),
            tuple(
                (k, (0, v, "") if isinstance(v, int) else (1, 0, str(v)))
                for k, v in self.key.items()
            ),
            # Two findings about one row (a scan split in two names its receipt
            # twice) come in one order however the log was read.
            self.detail,
        )

    def as_json(self) -> dict[str, object]:
        return {
            "seq": self.seq,
            "problem": self.problem,
            "detail": self.detail,
            "table": self.table,
            "key": dict(self.key),
        }

    def __str__(self) -> str:
        if self.seq is not None:
            return f"seq {self.seq}: {self.problem}: {self.detail}"
        where = ", ".join(f"{k} {v}" for k, v in self.key.items())
        return f"{self.table}{f' ({where})' if where else ''}: {self.problem}: {self.detail}"


def first_problems(problems: Iterable[Problem], limit: int) -> list[Problem]:
    """The ``limit`` most telling problems, most telling first: those of entries by
    seq, then the first of each kind in each other table, then the rest (so that
    one table's many rows do not hide another table)."""
    ordered = sorted(problems, key=Problem.sort_key)
    first: list[Problem] = []
    rest: list[Problem] = []
    kinds: set[tuple[str, str]] = set()
    for p in ordered:
        kind = (p.table, p.problem)
        if p.seq is not None or kind not in kinds:
            first.append(p)
            kinds.add(kind)
        else:
            rest.append(p)
    return (first + rest)[:limit]
