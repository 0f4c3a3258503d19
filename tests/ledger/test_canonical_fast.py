"""Verification's chunk encoder and chunk tree hashing give what the reference gives.

``rows.encode_rows`` (a chunk of stored rows at once) must produce the canonical
bytes byte for byte: compared with ``json.dumps(sort_keys=True, separators=(",",
":"), ensure_ascii=False)`` of the entry's fields and with ``canonical_bytes``, on
generated rows with non-ASCII text, quotes, backslashes, control characters,
missing coordinates and error declarations. ``verify_tiles.push_many`` and
``push_subtree`` must give the frontier and the stored nodes that
``merkle.frontier_push`` gives leaf by leaf.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from ledger import merkle
from ledger.canonical import EntryFields
from ledger.rows import CodeBook, canonical_bytes, encode_rows
from ledger.verify_tiles import push_many, push_subtree

# Text that needs escaping: quotes, backslashes, C0 controls, DEL, non-ASCII,
# line and paragraph separators (which json.dumps leaves as they are).
tricky = st.text(
    alphabet=st.sampled_from(['"', "\\", "\n", "\t", "\x00", "\x1f", "\x7f", "é", "中", "\u2028"])
    | st.characters(codec="utf-8", exclude_categories=["Cs"]),
    max_size=12,
)
maybe_int = st.none() | st.integers(-(2**62), 2**62)


@st.composite
def rows(draw: st.DrawFn) -> tuple[tuple[Any, ...], CodeBook]:
    """A stored row (verify_scan's column order) and the code book it refers to."""
    parties: dict[int | None, str] = {None: "", 1: draw(tricky), 2: draw(tricky)}
    sites: dict[int | None, str] = {None: "", 7: draw(tricky)}
    retracts = draw(st.none() | st.integers(0, 2**62))
    row = (
        draw(st.integers(0, 2**62)),  # seq
        "error_declaration" if retracts is not None else draw(tricky),  # kind
        draw(st.integers(0, 253_402_300_799_999)),  # at_ms, up to 9999-12-31
        draw(tricky),  # unit key
        draw(st.sampled_from([1, 2])),  # party id
        draw(st.sampled_from([None, 1, 2])),  # counterparty id
        draw(st.sampled_from([None, 7])),  # site id
        draw(maybe_int),  # lat_e6
        draw(maybe_int),  # lon_e6
        draw(st.none() | tricky),  # container key
        draw(tricky),  # device
        draw(maybe_int),  # device_seq
        draw(tricky),  # anomaly
        draw(st.binary(min_size=32, max_size=32) | st.just(b"")),  # prev hash
        b"\0" * 32,  # leaf hash (not encoded)
        3,  # unit id
        retracts,
        None,  # container id
    )
    return row, CodeBook(parties, sites)


def _reference(row: tuple[Any, ...], codes: CodeBook) -> bytes:
    f = EntryFields(
        seq=row[0],
        kind=row[1],
        at_ms=row[2],
        unit=row[3],
        party=codes.parties[row[4]],
        counterparty=codes.parties[row[5]],
        site=codes.sites[row[6]],
        lat_e6=row[7],
        lon_e6=row[8],
        container=row[9] or "",
        device=row[10],
        device_seq=row[11],
        anomaly=row[12],
        prev=row[13].hex(),
        retracts=row[16],
    )
    doc = f.as_json_object()
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


@given(st.lists(rows(), min_size=1, max_size=6))
def test_the_chunk_encoder_gives_the_reference_bytes(chunk: list[Any]) -> None:
    for row, codes in chunk:
        (fast,) = encode_rows([row], codes)
        assert fast == _reference(row, codes)
        assert fast == canonical_bytes(row, codes)
    # a chunk of rows sharing one code book encodes each as it would alone
    codes = chunk[0][1]
    same_book = [(r, codes) for r, _ in chunk if r[4] in codes.parties]
    assert encode_rows([r for r, _ in same_book], codes) == [
        _reference(r, codes) for r, _ in same_book
    ]


def test_an_error_declaration_puts_retracts_between_prev_and_seq() -> None:
    codes = CodeBook({None: "", 1: "MFR"}, {None: ""})
    row = (9, "error_declaration", 0, "01/x", 1, None, None, None, None, None, "", None, "",
           b"\x01" * 32, b"", 3, 4, None)  # fmt: skip
    (raw,) = encode_rows([row], codes)
    assert b'"prev":"' + b"01" * 32 + b'","retracts":4,"seq":9,' in raw
    assert b'"lat":null,"lon":null' in raw


def _by_leaf(leaves: list[bytes]) -> tuple[list[bytes], list[tuple[int, int, bytes]]]:
    frontier: list[bytes] = []
    nodes: list[tuple[int, int, bytes]] = []
    for i, leaf in enumerate(leaves):
        merkle.frontier_push(frontier, i, leaf, lambda lvl, idx, h: nodes.append((lvl, idx, h)))
    return frontier, nodes


@given(
    sizes=st.lists(st.integers(0, 70), min_size=1, max_size=5),
    every=st.sampled_from([1, 2, 4]),
)
def test_chunked_tree_hashing_gives_the_leaf_by_leaf_tree(sizes: list[int], every: int) -> None:
    total = sum(sizes)
    leaves = [merkle.leaf_hash(i.to_bytes(4, "big")) for i in range(total)]
    want_frontier, want_nodes = _by_leaf(leaves)
    frontier: list[bytes] = []
    nodes: list[tuple[int, int, bytes]] = []
    done = 0
    for n in sizes:
        push_many(frontier, done, leaves[done : done + n], lambda *node: nodes.append(node), every)
        done += n
    assert frontier == want_frontier
    assert sorted(nodes) == sorted(n for n in want_nodes if n[0] % every == 0)
    assert merkle.frontier_root(frontier) == merkle.root_from_leaves(leaves)


@given(level=st.integers(0, 5), count=st.integers(1, 9), tail=st.integers(0, 31))
def test_ranges_folded_as_subtrees_give_the_whole_tree(level: int, count: int, tail: int) -> None:
    """What ``verify --jobs`` does: ranges of 2**level leaves, then a shorter last one."""
    span = 1 << level
    tail %= span
    leaves = [merkle.leaf_hash(i.to_bytes(4, "big")) for i in range(count * span + tail)]
    want_frontier, want_nodes = _by_leaf(leaves)
    frontier: list[bytes] = []
    nodes: list[tuple[int, int, bytes]] = []
    size = 0
    for lo in range(0, len(leaves), span):
        part = leaves[lo : lo + span]
        local: list[bytes] = []
        push_many(
            local, 0, part, lambda lvl, idx, h, lo=lo: nodes.append((lvl, idx + (lo >> lvl), h))
        )
        levels = merkle.frontier_levels(len(part))
        for lvl, h in zip(levels, local, strict=True):
            push_subtree(frontier, size, lvl, h, lambda *node: nodes.append(node))
            size += 1 << lvl
    assert frontier == want_frontier
    assert sorted(nodes) == sorted(want_nodes)
