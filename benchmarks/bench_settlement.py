"""pytest-benchmark: the settlement kernels and rules at small sizes.

The 20-million-entry comparison with polars is ``compare_settlement.py``.
"""

from __future__ import annotations

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from benchmarks.compare_settlement import World, run_ours, synthesize


@pytest.fixture(scope="module")
def world() -> World:
    w = synthesize(400_000, 500, 200, 3)
    run_ours(synthesize(4_000, 20, 40, 1))  # compile (or load the cache) outside the timing
    return w


def test_bench_detection_and_aggregation(benchmark: BenchmarkFixture, world: World) -> None:
    result = benchmark(run_ours, world, False)
    assert result.flags.shape[0] == world.snap.n_entries
    assert (result.flags != 0).any()


def test_bench_full_run_with_statements(benchmark: BenchmarkFixture, world: World) -> None:
    result = benchmark(run_ours, world, True)
    assert "statements" in result.seconds
