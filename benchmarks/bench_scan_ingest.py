"""pytest-benchmark: scan ingest over HTTP (``hopchain serve``, 50 concurrent signed
handhelds) beside ``append_hops`` of the same hops in the same batches. Small
sizes; compare_scan_ingest.py prints the side-by-side figures and the ratio."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pytest_benchmark.fixture import BenchmarkFixture
from sqlalchemy import Engine

from benchmarks.ledger_setup import pg_url
from benchmarks.scan_ingest_setup import (
    Client,
    append_directly,
    database_url,
    make_clients,
    post_concurrently,
    prepare_database,
    same_hops,
    serials,
    serve,
    ship_to_d1,
)
from ledger.database import make_engine

CLIENTS = 50
PER_BATCH = 20
HOPS_PER_ROUND = 2000  # 50 handhelds x 2 batches of 20
ROUNDS = 3

KINDS = [
    "sqlite",
    pytest.param(
        "postgresql", marks=pytest.mark.skipif(pg_url() is None, reason="no PostgreSQL answers")
    ),
]


@dataclass
class Instance:
    engine: Engine
    url: str
    instance: Path
    keys: list[Ed25519PrivateKey]
    rounds: Iterator[int]

    def next_clients(self) -> list[Client]:
        """Fresh units, commissioned and shipped to D1 (untimed), as signed batches."""
        start = next(self.rounds) * HOPS_PER_ROUND
        units = serials(start, HOPS_PER_ROUND)
        ship_to_d1(self.engine, units)
        return make_clients(self.keys, units, PER_BATCH, seq_start=start)


@pytest.fixture(params=KINDS)
def instance(request: pytest.FixtureRequest) -> Iterator[Instance]:
    with database_url(request.param) as (url, folder):
        keys = prepare_database(url, folder, CLIENTS)
        engine = make_engine(url)
        yield Instance(engine, url, folder, keys, itertools.count())
        engine.dispose()


def test_post_scans_50_concurrent_handhelds(
    benchmark: BenchmarkFixture, instance: Instance
) -> None:
    with serve(instance.url, instance.instance) as server:
        result = benchmark.pedantic(
            lambda clients: post_concurrently(server, clients),
            setup=lambda: ((instance.next_clients(),), {}),
            rounds=ROUNDS,
            iterations=1,
        )
    assert result.hops == HOPS_PER_ROUND
    benchmark.extra_info["unit_hops_per_round"] = HOPS_PER_ROUND


def test_append_hops_same_batches(benchmark: BenchmarkFixture, instance: Instance) -> None:
    result = benchmark.pedantic(
        lambda batches: append_directly(instance.engine, batches),
        setup=lambda: ((same_hops(instance.next_clients()),), {}),
        rounds=ROUNDS,
        iterations=1,
    )
    assert result.hops == HOPS_PER_ROUND
    benchmark.extra_info["unit_hops_per_round"] = HOPS_PER_ROUND
