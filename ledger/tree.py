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


def fetch_nodes(conn: Connection, nodes: Iterable[Node]) -> dict[Node, bytes]:
    """Hashes of complete subtrees, each computed from the stored level below it."""
    wanted = set(nodes)
    leaf_ranges: list[tuple[int, int]] = []
    node_ranges: list[tuple[int, int, int]] = []
    for node in wanted:
        base, lo, hi = _base(node)
        if base == 0:
            leaf_ranges.append((lo, hi))
        else:
            node_ranges.append((base, lo, hi))
    # Raw SQL: proofs are on the hot path, and an OR of ranges compiles differently
    # every time, so SQLAlchemy's statement cache would not help.
    ph = "?" if conn.dialect.name == "sqlite" else "%s"
    stored: dict[Node, bytes] = {}
    if leaf_ranges:
        where = " OR ".join([f"(seq >= {ph} AND seq < {ph})"] * len(leaf_ranges))
        params = tuple(v for r in leaf_ranges for v in r)
        for seq, h in conn.exec_driver_sql(
            f"SELECT seq, leaf_hash FROM entries WHERE {where}", params
        ):
            stored[(0, int(seq))] = bytes(h)
    if node_ranges:
        where = " OR ".join([f"(level = {ph} AND idx >= {ph} AND idx < {ph})"] * len(node_ranges))
        params = tuple(v for r in node_ranges for v in r)
        sql = f"SELECT level, idx, hash FROM tree_nodes WHERE {where}"
        for level, idx, h in conn.exec_driver_sql(sql, params):
            stored[(int(level), int(idx))] = bytes(h)
    out: dict[Node, bytes] = {}
    for node in wanted:
        base, lo, hi = _base(node)
        try:
            hashes = [stored[(base, i)] for i in range(lo, hi)]
        except KeyError as missing:
            raise LookupError(f"tree node {missing.args[0]} is not stored") from None
        while len(hashes) > 1:
            hashes = [merkle.node_hash(hashes[i], hashes[i + 1]) for i in range(0, len(hashes), 2)]
        out[node] = hashes[0]
    return out


def subtree_hasher(conn: Connection, ranges: Iterable[tuple[int, int]]) -> merkle.NodeHasher:
    """Fetch, in one go, every complete node the given leaf ranges decompose into."""
    needed = [n for lo, hi in ranges for n in merkle.complete_nodes(lo, hi)]
    hashes = fetch_nodes(conn, needed)
    return hashes.__getitem__
