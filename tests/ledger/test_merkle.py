"""RFC 6962 hashing and proofs: published vectors and properties."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger import merkle

# The test vectors of RFC 6962's reference implementation (certificate-transparency,
# merkle_tree_test / trillian testonly): leaf inputs, roots for sizes 1..8, proofs.
LEAVES = [
    bytes.fromhex(h)
    for h in [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ]
]
ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
INCLUSION = [  # (leaf index, tree size, path)
    (0, 1, []),
    (
        0,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        [
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (
        1,
        5,
        [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
]
CONSISTENCY = [  # (first, second, path)
    (1, 1, []),
    (
        1,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        [
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
]

LEAF_HASHES = [merkle.leaf_hash(d) for d in LEAVES]


def _reference_root(leaves: list[bytes]) -> bytes:
    """MTH straight from RFC 6962 §2.1, recursion and all."""
    if not leaves:
        return merkle.EMPTY_ROOT
    if len(leaves) == 1:
        return leaves[0]
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    return merkle.node_hash(_reference_root(leaves[:k]), _reference_root(leaves[k:]))


def _proof_hashes(leaves: list[bytes], ranges: list[tuple[int, int]]) -> list[bytes]:
    def node(n: tuple[int, int]) -> bytes:
        level, index = n
        return _reference_root(leaves[index << level : (index + 1) << level])

    return [merkle.range_hash(a, b, node) for a, b in ranges]


def test_empty_tree_root_is_sha256_of_nothing() -> None:
    assert merkle.root_from_leaves([]).hex() == (
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )


@pytest.mark.parametrize("size", range(1, 9))
def test_published_roots(size: int) -> None:
    assert merkle.root_from_leaves(LEAF_HASHES[:size]).hex() == ROOTS[size - 1]


@pytest.mark.parametrize(("index", "size", "path"), INCLUSION)
def test_published_inclusion_proofs(index: int, size: int, path: list[str]) -> None:
    ours = _proof_hashes(LEAF_HASHES[:size], merkle.inclusion_ranges(index, size))
    assert [h.hex() for h in ours] == path
    root = bytes.fromhex(ROOTS[size - 1])
    merkle.verify_inclusion(LEAF_HASHES[index], index, size, [bytes.fromhex(h) for h in path], root)


@pytest.mark.parametrize(("first", "second", "path"), CONSISTENCY)
def test_published_consistency_proofs(first: int, second: int, path: list[str]) -> None:
    if first != second:
        ours = _proof_hashes(LEAF_HASHES[:second], merkle.consistency_ranges(first, second))
        assert [h.hex() for h in ours] == path
    merkle.verify_consistency(
        first,
        second,
        bytes.fromhex(ROOTS[first - 1]),
        bytes.fromhex(ROOTS[second - 1]),
        [bytes.fromhex(h) for h in path],
    )


def test_wrong_root_is_named() -> None:
    with pytest.raises(merkle.ProofError, match="expected"):
        merkle.verify_inclusion(
            LEAF_HASHES[0], 0, 8, [bytes.fromhex(h) for h in INCLUSION[1][2]], b"\0" * 32
        )


def _leaves(n: int) -> list[bytes]:
    return [merkle.leaf_hash(i.to_bytes(4, "big")) for i in range(n)]


@st.composite
def inclusion_case(draw: st.DrawFn) -> tuple[int, int]:
    size = draw(st.integers(1, 300))
    return draw(st.integers(0, size - 1)), size


@st.composite
def consistency_case(draw: st.DrawFn) -> tuple[int, int]:
    second = draw(st.integers(1, 300))
    return draw(st.integers(1, second)), second


@given(inclusion_case())
def test_every_inclusion_proof_verifies(case: tuple[int, int]) -> None:
    index, size = case
    leaves = _leaves(size)
    path = _proof_hashes(leaves, merkle.inclusion_ranges(index, size))
    merkle.verify_inclusion(leaves[index], index, size, path, _reference_root(leaves))


@given(inclusion_case(), st.data())
def test_every_altered_inclusion_proof_fails(case: tuple[int, int], data: st.DataObject) -> None:
    index, size = case
    leaves = _leaves(size)
    root = _reference_root(leaves)
    path = _proof_hashes(leaves, merkle.inclusion_ranges(index, size))
    how = data.draw(st.sampled_from(["flip", "drop", "extra", "index", "leaf"]))
    leaf = leaves[index]
    if how == "flip" and path:
        i = data.draw(st.integers(0, len(path) - 1))
        path[i] = bytes([path[i][0] ^ 1]) + path[i][1:]
    elif how == "drop" and path:
        path.pop(data.draw(st.integers(0, len(path) - 1)))
    elif how == "extra":
        path.append(b"\x42" * 32)
    elif how == "index" and size > 1:
        index = (index + data.draw(st.integers(1, size - 1))) % size
    else:
        leaf = merkle.leaf_hash(b"forged")
    with pytest.raises(merkle.ProofError):
        merkle.verify_inclusion(leaf, index, size, path, root)


@given(consistency_case())
def test_every_consistency_proof_verifies(case: tuple[int, int]) -> None:
    first, second = case
    leaves = _leaves(second)
    path = (
        [] if first == second else _proof_hashes(leaves, merkle.consistency_ranges(first, second))
    )
    merkle.verify_consistency(
        first, second, _reference_root(leaves[:first]), _reference_root(leaves), path
    )


@given(consistency_case(), st.data())
def test_every_altered_consistency_proof_fails(case: tuple[int, int], data: st.DataObject) -> None:
    first, second = case
    leaves = _leaves(second)
    path = (
        [] if first == second else _proof_hashes(leaves, merkle.consistency_ranges(first, second))
    )
    first_root, second_root = _reference_root(leaves[:first]), _reference_root(leaves)
    how = data.draw(st.sampled_from(["flip", "drop", "extra", "first_root", "second_root"]))
    if how == "flip" and path:
        i = data.draw(st.integers(0, len(path) - 1))
        path[i] = bytes([path[i][0] ^ 1]) + path[i][1:]
    elif how == "drop" and path:
        path.pop(data.draw(st.integers(0, len(path) - 1)))
    elif how == "extra":
        path.append(b"\x42" * 32)
    elif how == "first_root":
        first_root = merkle.leaf_hash(b"other")
    else:
        second_root = merkle.leaf_hash(b"other")
    with pytest.raises(merkle.ProofError):
        merkle.verify_consistency(first, second, first_root, second_root, path)


@given(st.integers(0, 5000), st.integers(1, 5000))
def test_complete_nodes_cover_a_range_exactly(lo: int, length: int) -> None:
    # Proof ranges start at a multiple of their left part; emulate that alignment.
    align = 1 << (length.bit_length())
    lo = lo - lo % align
    covered: list[int] = []
    for level, index in merkle.complete_nodes(lo, lo + length):
        covered.extend(range(index << level, (index + 1) << level))
    assert covered == list(range(lo, lo + length))
