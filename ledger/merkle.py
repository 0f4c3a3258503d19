"""RFC 6962 / RFC 9162 Merkle tree hashing, proofs and their verification.

Pure functions over hashes and sizes; nothing here knows about the database.
Proof *generation* is split in two steps so storage can fetch everything a proof
needs in one round trip: :func:`inclusion_ranges` / :func:`consistency_ranges`
say which subtree hashes (as leaf ranges) the proof consists of, and
:func:`complete_nodes` breaks a range into the complete subtrees that are stored.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence

__all__ = [
    "EMPTY_ROOT",
    "ProofError",
    "complete_nodes",
    "consistency_ranges",
    "frontier_levels",
    "frontier_push",
    "frontier_root",
    "inclusion_ranges",
    "leaf_hash",
    "node_hash",
    "range_hash",
    "root_from_leaves",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()  # RFC 9162 §2.1.1: MTH({}) = HASH()

Node = tuple[int, int]  # (level, index): leaves [index << level, (index + 1) << level)
NodeHasher = Callable[[Node], bytes]


class ProofError(ValueError):
    """A proof that does not prove what it claims; the message says which check failed."""


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _check_hashes(path: Sequence[bytes], **named: bytes) -> None:
    """Refuse anything that is not a 32-byte SHA-256 hash, naming it."""
    for name, value in named.items():
        if len(value) != HASH_SIZE:
            raise ProofError(f"{name} is {len(value)} bytes, a SHA-256 hash is {HASH_SIZE}")
    for i, value in enumerate(path):
        if len(value) != HASH_SIZE:
            raise ProofError(
                f"proof element {i} is {len(value)} bytes, a SHA-256 hash is {HASH_SIZE}"
            )


def _split(n: int) -> int:
    """Largest power of two strictly smaller than ``n`` (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


# --- the right frontier: roots of the perfect subtrees of a tree of size n ---------


def frontier_levels(size: int) -> list[int]:
    """Levels of the perfect subtrees a tree of ``size`` leaves decomposes into,
    largest first (the set bits of ``size``)."""
    return [b for b in range(size.bit_length() - 1, -1, -1) if size >> b & 1]


def frontier_push(
    frontier: list[bytes], size: int, leaf: bytes, on_node: Callable[[int, int, bytes], None]
) -> None:
    """Append ``leaf`` to a tree of ``size`` leaves whose frontier is ``frontier``.

    ``on_node(level, index, hash)`` is called for every complete subtree that the
    append closes (levels >= 1), which is how storage learns what to persist.
    Amortized O(1): appending never recomputes what is already hashed.
    """
    h = leaf
    level = 0
    index = size
    while index & 1:
        h = node_hash(frontier.pop(), h)
        level += 1
        index >>= 1
        on_node(level, index, h)
    frontier.append(h)


def frontier_root(frontier: Sequence[bytes]) -> bytes:
    if not frontier:
        return EMPTY_ROOT
    root = frontier[-1]
    for h in reversed(frontier[:-1]):
        root = node_hash(h, root)
    return root


def root_from_leaves(leaves: Iterable[bytes]) -> bytes:
    frontier: list[bytes] = []
    for size, leaf in enumerate(leaves):
        frontier_push(frontier, size, leaf, lambda _l, _i, _h: None)
    return frontier_root(frontier)


# --- proof generation as leaf ranges ---------------------------------------------


def inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """Leaf ranges whose subtree hashes form the RFC 6962 audit path, leaf upward."""
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is not in a tree of size {size}")
    out: list[tuple[int, int]] = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = _split(hi - lo)
        if index - lo < k:
            out.append((lo + k, hi))
            hi = lo + k
        else:
            out.append((lo, lo + k))
            lo += k
    out.reverse()
    return out


def consistency_ranges(first: int, second: int) -> list[tuple[int, int]]:
    """Leaf ranges whose subtree hashes form the RFC 6962 consistency proof."""
    if not 0 < first <= second:
        raise ProofError(f"no consistency proof from size {first} to size {second}")
    out: list[tuple[int, int]] = []
    lo, hi, m, complete = 0, second, first, True
    while m != hi - lo:
        k = _split(hi - lo)
        if m <= k:
            out.append((lo + k, hi))
            hi = lo + k
        else:
            out.append((lo, lo + k))
            lo += k
            m -= k
            complete = False
    if not complete:
        out.append((lo, hi))
    out.reverse()
    return out


def complete_nodes(lo: int, hi: int) -> list[Node]:
    """The perfect, aligned subtrees that make up leaves [lo, hi), left to right.

    Every range a proof asks for starts at a multiple of a power of two at least as
    large as its left part, so this is the usual binary decomposition.
    """
    out: list[Node] = []
    while lo < hi:
        level = (lo & -lo).bit_length() - 1 if lo else (hi - lo).bit_length() - 1
        while (1 << level) > hi - lo:
            level -= 1
        out.append((level, lo >> level))
        lo += 1 << level
    return out


def range_hash(lo: int, hi: int, node: NodeHasher) -> bytes:
    """MTH of leaves [lo, hi) from the hashes of its complete subtrees."""
    hashes = [node(n) for n in complete_nodes(lo, hi)]
    return frontier_root(hashes)


# --- verification (RFC 9162 §2.1.3.2 and §2.1.4.2) -------------------------------


def verify_inclusion(
    leaf: bytes, index: int, size: int, path: Sequence[bytes], root: bytes
) -> None:
    """Raise :class:`ProofError` unless ``path`` proves ``leaf`` at ``index`` under ``root``.

    ``leaf``, ``root`` and every path element are 32-byte SHA-256 hashes; ``index`` is
    0-based and must be below ``size`` (so a tree of size 0 proves nothing). The walk
    is RFC 9162 §2.1.3.2. Like every RFC 9162 verifier this binds the size only
    through ``root``: a path can also fit another size whose tree has the same shape
    along it, which is why sizes come from a signed checkpoint.
    """
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is not in a tree of size {size}")
    _check_hashes(leaf=leaf, root=root, path=path)
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            raise ProofError("inclusion path is longer than the tree is deep")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("inclusion path is shorter than the tree is deep")
    if r != root:
        raise ProofError(f"inclusion path leads to root {r.hex()}, expected {root.hex()}")


def verify_consistency(
    first: int, second: int, first_root: bytes, second_root: bytes, path: Sequence[bytes]
) -> None:
    """Raise :class:`ProofError` unless ``path`` proves the tree of size ``first``
    with ``first_root`` is a prefix of the tree of size ``second`` with ``second_root``.

    Roots and path elements are 32-byte SHA-256 hashes; sizes count leaves. The walk
    is RFC 9162 §2.1.4.2, with its edge cases made explicit:

    - ``first > second`` or a negative size: refused.
    - a tree of size 0 has the root SHA-256("") (RFC 9162 §2.1.1, :data:`EMPTY_ROOT`);
      any other root claimed for it is refused.
    - ``first == 0``: every tree extends the empty one, so the proof must be empty
      and ``first_root`` must be the empty root.
    - ``first == second``: the proof must be empty and the two roots equal.
    """
    if first < 0 or second < 0:
        raise ProofError(f"tree sizes cannot be negative (first {first}, second {second})")
    if first > second:
        raise ProofError(f"size {first} cannot precede size {second}")
    _check_hashes(first_root=first_root, second_root=second_root, path=path)
    for name, size, root in (("first", first, first_root), ("second", second, second_root)):
        if size == 0 and root != EMPTY_ROOT:
            raise ProofError(
                f"{name} root {root.hex()} is not the root of the empty tree "
                f"({EMPTY_ROOT.hex()}, RFC 9162 §2.1.1)"
            )
    if first == second:
        if path:
            raise ProofError(f"a proof between equal sizes must be empty, got {len(path)} hashes")
        if first_root != second_root:
            raise ProofError(
                f"equal sizes {first} with different roots {first_root.hex()} "
                f"and {second_root.hex()}"
            )
        return
    if first == 0:
        if path:
            raise ProofError(f"a proof from the empty tree must be empty, got {len(path)} hashes")
        return
    if not path:
        raise ProofError("consistency proof is empty")
    hashes = list(path)
    if first & (first - 1) == 0:
        hashes.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = hashes[0]
    for c in hashes[1:]:
        if sn == 0:
            raise ProofError("consistency proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("consistency proof is shorter than the tree is deep")
    if fr != first_root:
        raise ProofError(f"proof rebuilds first root {fr.hex()}, expected {first_root.hex()}")
    if sr != second_root:
        raise ProofError(f"proof rebuilds second root {sr.hex()}, expected {second_root.hex()}")
