"""What ledger.partitions decides without a database: which seq ranges to create
(whatever partitions exist, however their size changed) and how PostgreSQL's
printed bounds read."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.partitions import PartitionError, missing_ranges, parse_bound

Bounds = list[tuple[str, int | None, int | None]]


@st.composite
def existing(draw: st.DrawFn) -> Bounds:
    """Contiguous partitions from MINVALUE, each with its own size (the setting
    changed over time); sometimes none at all."""
    sizes = draw(st.lists(st.integers(1, 50), max_size=6))
    out: Bounds = []
    lo: int | None = None
    edge = 0
    for size in sizes:
        edge += size
        out.append((f"entries_p{lo or 0}", lo, edge))
        lo = edge
    return out


def _holder(parts: list[tuple[int | None, int]], seq: int) -> int | None:
    for i, (lo, hi) in enumerate(parts):
        if (lo is None or lo <= seq) and seq < hi:
            return i
    return None


@given(bounds=existing(), upto=st.integers(0, 400), rows=st.integers(1, 40))
def test_the_ranges_cover_the_next_seq_and_one_whole_partition_after_it(
    bounds: Bounds, upto: int, rows: int
) -> None:
    made = missing_ranges(bounds, upto, rows)
    end = bounds[-1][2] if bounds else 0
    assert end is not None
    # contiguous from the last existing partition, rows seqs each
    assert [lo for lo, _ in made] == list(range(end, end + rows * len(made), rows))
    assert all(hi - lo == rows for lo, hi in made)
    parts: list[tuple[int | None, int]] = [(lo, hi) for _, lo, hi in bounds if hi is not None]
    if not bounds and made:
        parts.append((None, made[0][1]))  # the first one made takes everything below
        made = made[1:]
    parts += made
    i = _holder(parts, upto)
    assert i is not None, "the next seq has no partition"
    assert i + 1 < len(parts), "no partition after the one the next seq goes to"
    after_lo, after_hi = parts[i + 1]
    assert after_lo == parts[i][1] and after_hi - (after_lo or 0) >= 1
    # and nothing beyond that: without the last range made, the rule would not hold
    if made:
        assert _holder(parts[:-1], upto) is None or _holder(parts[:-1], upto) == len(parts) - 2


def test_nothing_is_made_where_enough_exists_or_one_partition_has_no_end() -> None:
    bounds: Bounds = [("entries_p0", None, 64), ("entries_p64", 64, 128)]
    assert missing_ranges(bounds, 63, 64) == []  # 63 in p0, p64 after it
    assert missing_ranges(bounds, 64, 64) == [(128, 192)]
    assert missing_ranges(bounds, 300, 64) == [(128, 192), (192, 256), (256, 320), (320, 384)]
    assert missing_ranges([("entries_p0", None, None)], 10**12, 64) == []  # to MAXVALUE
    assert missing_ranges([("entries_p0", 0, None)], 10**12, 64) == []
    assert missing_ranges([], 0, 10) == [(0, 10), (10, 20)]


def test_a_seq_far_beyond_the_partitions_is_refused_not_planned() -> None:
    bounds: Bounds = [("entries_p0", None, 10_000_000)]
    assert len(missing_ranges(bounds, 9_000_000_000, 10_000_000)) == 901
    with pytest.raises(PartitionError, match=r"seq 90,000,000,000 lies 9,001 partitions of"):
        missing_ranges(bounds, 90_000_000_000, 10_000_000)


@given(lo=st.integers(-(2**63), 2**63 - 1), hi=st.integers(-(2**63), 2**63 - 1))
def test_printed_bounds_read_back(lo: int, hi: int) -> None:
    assert parse_bound(f"FOR VALUES FROM ('{lo}') TO ('{hi}')") == (lo, hi)
    assert parse_bound(f"FOR VALUES FROM ({lo}) TO ({hi})") == (lo, hi)
    assert parse_bound(f"FOR VALUES FROM (MINVALUE) TO ('{hi}')") == (None, hi)
    assert parse_bound(f"FOR VALUES FROM ('{lo}') TO (MAXVALUE)") == (lo, None)


def test_default_and_foreign_bounds() -> None:
    assert parse_bound("DEFAULT") == (None, None)
    with pytest.raises(
        PartitionError, match="not a range bound on seq: \"FOR VALUES IN \\('a'\\)\""
    ):
        parse_bound("FOR VALUES IN ('a')")
