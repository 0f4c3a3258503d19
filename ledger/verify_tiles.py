"""RFC 6962 / RFC 9162 tree hashing a chunk at a time, for verification.

:func:`ledger.merkle.frontier_push` appends one leaf with a Python call per node it
closes; verification appends millions. :func:`push_many` appends a whole chunk
bottom-up instead (one list comprehension per level) and gives the same frontier
and the same closed nodes; :func:`push_subtree` appends the root of a complete
subtree (a worker's range) to a larger tree, which is how ranges verified in
separate processes are folded into one tree. A property test holds both to
:func:`~ledger.merkle.frontier_push` leaf by leaf.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

from ledger.merkle import frontier_levels, node_hash

__all__ = ["OnNode", "push_many", "push_subtree"]

OnNode = Callable[[int, int, bytes], None]
"""``on_node(level, index, hash)``: a complete subtree the append closed (level >= 1)."""


def push_many(
    frontier: list[bytes], size: int, leaves: Sequence[bytes], on_node: OnNode, every: int = 1
) -> None:
    """Append ``leaves`` (leaf hashes) to a tree of ``size`` leaves whose right
    frontier is ``frontier`` (largest subtree first, as
    :func:`~ledger.merkle.frontier_push` keeps it); ``frontier`` becomes that of
    ``size + len(leaves)``. ``on_node`` gets every complete subtree closed at a
    level that is a multiple of ``every``, level by level (within a level, left to
    right)."""
    if not leaves:
        return
    waiting = dict(zip(frontier_levels(size), frontier, strict=True))
    sha = hashlib.sha256
    level, start, hashes = 0, size, list(leaves)
    while hashes:
        if start & 1:  # its left sibling waits in the frontier
            hashes.insert(0, waiting.pop(level))
            start -= 1
        if len(hashes) & 1:
            waiting[level] = hashes.pop()
        hashes = [
            sha(b"\x01" + hashes[i] + hashes[i + 1]).digest() for i in range(0, len(hashes), 2)
        ]
        level += 1
        start >>= 1
        if level % every == 0:
            for offset, h in enumerate(hashes):
                on_node(level, start + offset, h)
    frontier[:] = [waiting[lvl] for lvl in sorted(waiting, reverse=True)]


def push_subtree(
    frontier: list[bytes], size: int, level: int, root: bytes, on_node: OnNode
) -> None:
    """Append the root of a complete subtree of ``2**level`` leaves to a tree of
    ``size`` leaves (a multiple of ``2**level``) whose frontier is ``frontier``."""
    if size & ((1 << level) - 1):
        raise ValueError(f"a subtree of 2**{level} leaves cannot follow {size} leaves")
    h, index = root, size >> level
    while index & 1:
        h = node_hash(frontier.pop(), h)
        level += 1
        index >>= 1
        on_node(level, index, h)
    frontier.append(h)
