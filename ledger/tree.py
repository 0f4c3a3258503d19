"""The stored Merkle tree: the head row, persisted subtree hashes and node reads.

Storage follows the idea of C2SP tlog-tiles: leaf hashes (level 0) live in
``entries.leaf_hash``; of the interior levels only every ``TILE_HEIGHT``-th is
stored (``tree_nodes``), about one row per 2**TILE_HEIGHT leaves. Any complete
subtree hash is then at most 2**(TILE_HEIGHT-1) stored hashes away, so a proof
costs O(log n) hashes fetched in two queries, and an append writes only the nodes
it closes. The head row keeps the right frontier, so the root of the current
tree never needs a read beyond that row.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection

from ledger import merkle
from ledger.database import fetch_all, placeholder

__all__ = ["TILE_HEIGHT", "Head", "fetch_nodes", "is_stored_level", "read_head", "subtree_hasher"]

TILE_HEIGHT = 4

Node = merkle.Node


def is_stored_level(level: int) -> bool:
    return level > 0 and level % TILE_HEIGHT == 0


class Head:
    """Tree size and right frontier as of the last committed append."""

    __slots__ = ("frontier", "size")

    def __init__(self, size: int, frontier: list[bytes]) -> None:
        self.size = size
        self.frontier = frontier

    @property
    def root(self) -> bytes:
        return merkle.frontier_root(self.frontier)

    def pack(self) -> bytes:
        return b"".join(self.frontier)


def read_head(conn: Connection) -> Head:
    row = conn.exec_driver_sql("SELECT tree_size, frontier FROM ledger_head WHERE id = 1").first()
    if row is None:
        return Head(0, [])
    size, packed = int(row[0]), bytes(row[1])
    return Head(size, [packed[i : i + 32] for i in range(0, len(packed), 32)])


def _base(node: Node) -> tuple[int, int, int]:
    """Stored level below ``node`` and the index range of its descendants there."""
    level, index = node
    base = level - level % TILE_HEIGHT
    span = level - base
    return base, index << span, (index + 1) << span


def _merged(ranges: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted ranges with overlapping or touching ones joined: a proof's siblings
    within one tile become one span, so one index probe reads them all."""
    out: list[tuple[int, int]] = []
    for lo, hi in sorted(ranges):
        if out and lo <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out


def fetch_nodes(conn: Connection, nodes: Iterable[Node]) -> dict[Node, bytes]:
    """Hashes of complete subtrees, each computed from the stored level below it."""
    wanted = {node: _base(node) for node in nodes}
    by_base: dict[int, list[tuple[int, int]]] = {}
    for base, lo, hi in wanted.values():
        by_base.setdefault(base, []).append((lo, hi))
    # Raw SQL through the driver: proofs are a hot path, and an OR of ranges
    # compiles differently every time, so SQLAlchemy's statement cache cannot help.
    ph = placeholder(conn)
    stored: dict[Node, bytes] = {}
    leaf_spans = _merged(by_base.pop(0, []))
    if leaf_spans:
        where = " OR ".join([f"(seq >= {ph} AND seq < {ph})"] * len(leaf_spans))
        sql = f"SELECT seq, leaf_hash FROM entries WHERE {where}"
        for seq, h in fetch_all(conn, sql, [v for span in leaf_spans for v in span]):
            stored[(0, seq)] = bytes(h)
    node_spans = [(base, lo, hi) for base, rs in by_base.items() for lo, hi in _merged(rs)]
    if node_spans:
        where = " OR ".join([f"(level = {ph} AND idx >= {ph} AND idx < {ph})"] * len(node_spans))
        sql = f"SELECT level, idx, hash FROM tree_nodes WHERE {where}"
        for level, idx, h in fetch_all(conn, sql, [v for span in node_spans for v in span]):
            stored[(level, idx)] = bytes(h)
    out: dict[Node, bytes] = {}
    node_hash = merkle.node_hash
    for node, (base, lo, hi) in wanted.items():
        try:
            hashes = [stored[(base, i)] for i in range(lo, hi)]
        except KeyError as missing:
            raise LookupError(f"tree node {missing.args[0]} is not stored") from None
        while len(hashes) > 1:
            hashes = [node_hash(hashes[i], hashes[i + 1]) for i in range(0, len(hashes), 2)]
        out[node] = hashes[0]
    return out


def subtree_hasher(conn: Connection, ranges: Iterable[tuple[int, int]]) -> merkle.NodeHasher:
    """Fetch, in one go, every complete node the given leaf ranges decompose into."""
    needed = [n for lo, hi in ranges for n in merkle.complete_nodes(lo, hi)]
    hashes = fetch_nodes(conn, needed)
    return hashes.__getitem__
