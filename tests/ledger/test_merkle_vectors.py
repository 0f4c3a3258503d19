"""RFC 9162 Merkle vectors in the style of C2SP / transparency-dev, against ledger.merkle.

The expected values come from a reference written here straight from RFC 9162
§2.1 (MTH, PATH, PROOF / SUBPROOF), without importing anything of ``ledger.merkle``
to compute them: over every tree of 0..64 leaves, every (m, n) consistency proof
and every (i, n) inclusion proof must verify, and every single-bit change of a
root or a proof element, and every wrong size, must be refused.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import cache
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.merkle import (
    ProofError,
    consistency_ranges,
    inclusion_ranges,
    range_hash,
    verify_consistency,
    verify_inclusion,
)

# --- the reference, RFC 9162 §2.1 ---------------------------------------------------

MAX_LEAVES = 64


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def largest_power_of_two_below(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


LEAF_DATA = [f"leaf {i}".encode() for i in range(MAX_LEAVES)]
LEAVES = [sha256(b"\x00" + d) for d in LEAF_DATA]  # §2.1.1: MTH({d0}) = HASH(0x00 || d0)


@cache
def mth(lo: int, hi: int) -> bytes:
    """MTH(D[lo:hi]) of §2.1.1 over LEAVES."""
    n = hi - lo
    if n == 0:
        return sha256(b"")
    if n == 1:
        return LEAVES[lo]
    k = largest_power_of_two_below(n)
    return sha256(b"\x01" + mth(lo, lo + k) + mth(lo + k, hi))


def path(m: int, lo: int, hi: int) -> list[tuple[bytes, str]]:
    """PATH(m, D[lo:hi]) of §2.1.3.1 with each sibling's side ("L" or "R")."""
    n = hi - lo
    if n == 1:
        return []
    k = largest_power_of_two_below(n)
    if m < k:
        return [*path(m, lo, lo + k), (mth(lo + k, hi), "R")]
    return [*path(m - k, lo + k, hi), (mth(lo, lo + k), "L")]


def subproof(m: int, lo: int, hi: int, b: bool) -> list[bytes]:
    """SUBPROOF(m, D[lo:hi], b) of §2.1.4.1."""
    n = hi - lo
    if m == n:
        return [] if b else [mth(lo, hi)]
    k = largest_power_of_two_below(n)
    if m <= k:
        return [*subproof(m, lo, lo + k, b), mth(lo + k, hi)]
    return [*subproof(m - k, lo + k, hi, False), mth(lo, lo + k)]


def proof(m: int, n: int) -> list[bytes]:
    """PROOF(m, D[n]): empty for m == 0 (every tree extends the empty one) and m == n."""
    return [] if m in (0, n) else subproof(m, 0, n, True)


def flip(h: bytes, bit: int) -> bytes:
    bit %= len(h) * 8
    return h[: bit // 8] + bytes([h[bit // 8] ^ (1 << (bit % 8))]) + h[bit // 8 + 1 :]


def refused(call: Callable[..., None], *args: Any) -> bool:
    try:
        call(*args)
    except ProofError:
        return True
    return False


SIZES = range(MAX_LEAVES + 1)
EMPTY = sha256(b"")

# --- the vectors ---------------------------------------------------------------------


def test_reference_matches_the_published_empty_and_single_leaf_roots() -> None:
    # RFC 9162 §2.1.1 and the transparency-dev vectors: the empty tree's root is
    # SHA-256 of nothing; one leaf's root is its leaf hash.
    assert mth(0, 0).hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert mth(0, 1) == sha256(b"\x00leaf 0")


@pytest.mark.parametrize("n", SIZES)
def test_every_consistency_proof_verifies_and_every_corruption_is_refused(n: int) -> None:
    for m in range(n + 1):
        good = proof(m, n)
        old, new = mth(0, m), mth(0, n)
        verify_consistency(m, n, old, new, good)
        bit = 31 * m + 7 * n  # a different bit in each case, over all bytes
        assert refused(verify_consistency, m, n, flip(old, bit), new, good), (m, n, "old root")
        # from the empty tree (m == 0 < n) any new root is consistent; else refused
        new_refused = refused(verify_consistency, m, n, old, flip(new, bit), good)
        assert new_refused == (m > 0 or n == 0), (m, n, "new root")
        for j in range(len(good)):
            bad = [*good[:j], flip(good[j], bit + j), *good[j + 1 :]]
            assert refused(verify_consistency, m, n, old, new, bad), (m, n, "element", j)
        for extra in (good[:-1], [*good, good[-1] if good else new], [new, *good]):
            if extra != good:
                assert refused(verify_consistency, m, n, old, new, extra), (m, n, len(extra))
        for m2, n2 in ((m - 1, n), (m + 1, n), (m, n - 1), (m, n + 1), (m, 2 * n)):
            if (m2, n2) != (m, n):  # negative sizes included: refused
                outcome = not refused(verify_consistency, m2, n2, old, new, good)
                assert outcome == fits(m2, n2, m, n), (m, n, m2, n2)


def subproof_ranges(m: int, lo: int, hi: int, b: bool) -> list[tuple[int, int]]:
    """SUBPROOF of §2.1.4.1 as the leaf ranges whose MTH it lists."""
    if m == hi - lo:
        return [] if b else [(lo, hi)]
    k = largest_power_of_two_below(hi - lo)
    if m <= k:
        return [*subproof_ranges(m, lo, lo + k, b), (lo + k, hi)]
    return [*subproof_ranges(m - k, lo + k, hi, False), (lo, lo + k)]


Recipe = int | str | tuple["Recipe", "Recipe"]


def recipe(m: int, n: int) -> tuple[int, Recipe, Recipe]:
    """How PROOF(m, D[n]) rebuilds MTH(D[0:m]) and MTH(D[0:n]) (0 < m < n): the
    proof's length and each root as a tree over proof positions ("old": the old
    root itself, which a proof from a power-of-two size leaves out)."""
    ranges = subproof_ranges(m, 0, n, True)

    def build(lo: int, hi: int) -> Recipe:
        if (lo, hi) in ranges:
            return ranges.index((lo, hi))
        if (lo, hi) == (0, m):
            return "old"
        if hi - lo == 1:
            return "?"
        k = largest_power_of_two_below(hi - lo)
        return (build(lo, lo + k), build(lo + k, hi))

    return len(ranges), build(0, m), build(0, n)


def fits(m2: int, n2: int, m: int, n: int) -> bool:
    """Whether PROOF(m, D[n]) with the roots of sizes m and n also proves sizes m2 <= n2.

    RFC 9162 binds sizes only through the roots (checkpoints sign them), so a proof
    fits other sizes exactly when it rebuilds both roots the same way there. From
    the empty tree every tree is consistent, so m == 0 fixes no new size.
    """
    if m2 > n2:
        return False
    if m in (0, n):  # an empty proof, and roots MTH(D[0:m]) and MTH(D[0:n])
        if m2 == n2:
            return m == n and (m2 > 0 or m == 0)
        return m2 == 0 and m == 0
    return 0 < m2 < n2 and recipe(m2, n2) == recipe(m, n)


def sides(i: int, n: int) -> list[str]:
    """The sides of PATH(i, D[n])'s siblings, leaf upward (§2.1.3.1, shape only)."""
    if n == 1:
        return []
    k = largest_power_of_two_below(n)
    return [*sides(i, k), "R"] if i < k else [*sides(i - k, n - k), "L"]


@pytest.mark.parametrize("n", SIZES)
def test_every_inclusion_proof_verifies_and_every_corruption_is_refused(n: int) -> None:
    root = mth(0, n)
    if n == 0:
        assert refused(verify_inclusion, EMPTY, 0, 0, [], root)  # nothing is in it
    for i in range(n):
        good = [h for h, _ in path(i, 0, n)]
        verify_inclusion(LEAVES[i], i, n, good, root)
        bit = 29 * i + 5 * n
        assert refused(verify_inclusion, LEAVES[i], i, n, good, flip(root, bit)), (i, n, "root")
        assert refused(verify_inclusion, flip(LEAVES[i], bit), i, n, good, root), (i, n, "leaf")
        for j in range(len(good)):
            bad = [*good[:j], flip(good[j], bit + j), *good[j + 1 :]]
            assert refused(verify_inclusion, LEAVES[i], i, n, bad, root), (i, n, "element", j)
        for extra in (good[:-1], [*good, root]):
            if extra != good:
                assert refused(verify_inclusion, LEAVES[i], i, n, extra, root), (i, n, len(extra))
        for i2 in (i - 1, i + 1, i ^ 2):
            if i2 != i:
                assert refused(verify_inclusion, LEAVES[i], i2, n, good, root), (i, n, i2)
        assert refused(verify_inclusion, LEAVES[i], n, n, good, root)  # index == size
        # RFC 9162 binds the size only through the root: a path fits another size
        # exactly when that tree has the same shape along it (same sides, leaf up).
        for n2 in (n - 1, n + 1, 2 * n, n // 2, 0):
            if n2 != n:
                same_shape = i < n2 and sides(i, n2) == sides(i, n)
                outcome = not refused(verify_inclusion, LEAVES[i], i, n2, good, root)
                assert outcome == same_shape, (i, n, n2)


def test_the_issue_cases_and_the_size_edges() -> None:
    one = mth(0, 1)
    # issue 10: from size 0 only the empty root is accepted
    verify_consistency(0, 1, EMPTY, one, [])
    with pytest.raises(ProofError, match="not the root of the empty tree"):
        verify_consistency(0, 1, sha256(b"anything"), one, [])
    with pytest.raises(ProofError, match="first root"):
        verify_consistency(0, 0, one, one, [])
    with pytest.raises(ProofError, match="second root"):
        verify_consistency(0, 0, EMPTY, one, [])
    verify_consistency(0, 0, EMPTY, EMPTY, [])
    with pytest.raises(ProofError, match="from the empty tree must be empty"):
        verify_consistency(0, 5, EMPTY, mth(0, 5), [mth(0, 1)])
    with pytest.raises(ProofError, match="equal sizes must be empty"):
        verify_consistency(5, 5, mth(0, 5), mth(0, 5), [mth(0, 1)])
    with pytest.raises(ProofError, match="different roots"):
        verify_consistency(5, 5, mth(0, 5), mth(0, 4), [])
    with pytest.raises(ProofError, match="cannot precede"):
        verify_consistency(6, 5, mth(0, 6), mth(0, 5), proof(5, 6))
    with pytest.raises(ProofError, match="negative"):
        verify_consistency(-1, 5, EMPTY, mth(0, 5), [])
    with pytest.raises(ProofError, match="consistency proof is empty"):
        verify_consistency(3, 5, mth(0, 3), mth(0, 5), [])
    with pytest.raises(ProofError, match="proof element 1 is 31 bytes"):
        verify_consistency(3, 5, mth(0, 3), mth(0, 5), [proof(3, 5)[0], b"\x00" * 31])
    with pytest.raises(ProofError, match="second_root is 0 bytes"):
        verify_consistency(3, 5, mth(0, 3), b"", proof(3, 5))
    with pytest.raises(ProofError, match="leaf index 4 is not in a tree of size 4"):
        verify_inclusion(LEAVES[4], 4, 4, [], mth(0, 4))
    with pytest.raises(ProofError, match="leaf index 0 is not in a tree of size 0"):
        verify_inclusion(LEAVES[0], 0, 0, [], EMPTY)
    with pytest.raises(ProofError, match="leaf index -1"):
        verify_inclusion(LEAVES[0], -1, 4, [], mth(0, 4))
    with pytest.raises(ProofError, match="leaf is 33 bytes"):
        verify_inclusion(LEAVES[0] + b"\x00", 0, 1, [], one)
    verify_inclusion(LEAVES[0], 0, 1, [], one)


def stored(lo: int, hi: int) -> bytes:
    """What storage would give for a range, built from the complete subtrees."""
    return range_hash(lo, hi, lambda node: mth(node[1] << node[0], (node[1] + 1) << node[0]))


@pytest.mark.parametrize("n", range(1, MAX_LEAVES + 1))
def test_generated_proofs_are_the_rfc_proofs(n: int) -> None:
    for i in range(n):
        assert [stored(lo, hi) for lo, hi in inclusion_ranges(i, n)] == [
            h for h, _ in path(i, 0, n)
        ], (i, n)
    for m in range(1, n + 1):
        assert [stored(lo, hi) for lo, hi in consistency_ranges(m, n)] == proof(m, n), (m, n)


# --- properties over the same 64 leaves ------------------------------------------------

sizes = st.integers(min_value=0, max_value=MAX_LEAVES)


@settings(max_examples=50, deadline=None)
@given(n=sizes, m=sizes, bit=st.integers(min_value=0, max_value=255), data=st.data())
def test_consistency_holds_exactly_for_the_true_prefix_root(
    n: int, m: int, bit: int, data: st.DataObject
) -> None:
    m, n = min(m, n), max(m, n)
    good = proof(m, n)
    verify_consistency(m, n, mth(0, m), mth(0, n), good)
    # another tree's root for the old size is refused (unless it is the same tree)
    other = data.draw(st.integers(min_value=0, max_value=MAX_LEAVES), label="other")
    claimed = mth(other, other + m) if other + m <= MAX_LEAVES else flip(mth(0, m), bit)
    assert refused(verify_consistency, m, n, claimed, mth(0, n), good) == (claimed != mth(0, m))


@settings(max_examples=50, deadline=None)
@given(n=st.integers(min_value=1, max_value=MAX_LEAVES), data=st.data())
def test_inclusion_holds_exactly_for_the_leaf_at_the_index(n: int, data: st.DataObject) -> None:
    i = data.draw(st.integers(min_value=0, max_value=n - 1), label="index")
    j = data.draw(st.integers(min_value=0, max_value=MAX_LEAVES - 1), label="claimed leaf")
    good = [h for h, _ in path(i, 0, n)]
    assert refused(verify_inclusion, LEAVES[j], i, n, good, mth(0, n)) == (j != i)
