"""Inclusion and consistency proofs served from the stored tree (RFC 9162 §2.1)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection

from ledger import merkle
from ledger.tree import read_head, subtree_hasher

__all__ = ["InclusionProof", "consistency_proof", "inclusion_proof", "root_at"]


@dataclass(frozen=True, slots=True)
class InclusionProof:
    leaf_index: int
    tree_size: int
    leaf_hash: bytes
    path: list[bytes]

    def as_json(self) -> dict[str, object]:
        return {
            "leaf_index": self.leaf_index,
            "tree_size": self.tree_size,
            "leaf_hash": self.leaf_hash.hex(),
            "path": [h.hex() for h in self.path],
        }


def _check_size(conn: Connection, tree_size: int) -> None:
    size = read_head(conn).size
    if not 0 < tree_size <= size:
        raise merkle.ProofError(f"tree size {tree_size} is not between 1 and the ledger's {size}")


def inclusion_proof(conn: Connection, seq: int, tree_size: int) -> InclusionProof:
    _check_size(conn, tree_size)
    ranges = merkle.inclusion_ranges(seq, tree_size)
    node = subtree_hasher(conn, [*ranges, (seq, seq + 1)])  # the leaf comes in the same reads
    path = [merkle.range_hash(a, b, node) for a, b in ranges]
    return InclusionProof(seq, tree_size, node((0, seq)), path)


def consistency_proof(conn: Connection, first: int, second: int) -> list[bytes]:
    _check_size(conn, second)
    if first == second:
        return []
    ranges = merkle.consistency_ranges(first, second)
    node = subtree_hasher(conn, ranges)
    return [merkle.range_hash(a, b, node) for a, b in ranges]


def root_at(conn: Connection, tree_size: int) -> bytes:
    """Root of the tree as it was at ``tree_size`` (the current root without reads)."""
    head = read_head(conn)
    if tree_size == head.size:
        return head.root
    _check_size(conn, tree_size)
    node = subtree_hasher(conn, [(0, tree_size)])
    return merkle.range_hash(0, tree_size, node)
