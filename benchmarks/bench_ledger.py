"""pytest-benchmark suite of the ledger's hot paths (small sizes; see compare_ledger.py
for the side-by-side figures against a plain insert)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pytest_benchmark.fixture import BenchmarkFixture
from sqlalchemy import Engine

from benchmarks.ledger_setup import commissioning, fresh_database, pg_url
from ledger import LedgerSigner, append_hops, inclusion_proof, make_checkpoint, verify_ledger
from ledger.tree import read_head

KINDS = [
    "sqlite",
    pytest.param(
        "postgresql", marks=pytest.mark.skipif(pg_url() is None, reason="no PostgreSQL answers")
    ),
]


@pytest.fixture(params=KINDS)
def engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    with fresh_database(request.param) as e:
        yield e


def test_append_batch_of_1000(benchmark: BenchmarkFixture, engine: Engine) -> None:
    batches = itertools.count()
    benchmark.pedantic(
        lambda: append_hops(engine, commissioning(next(batches) * 1000, 1000)),
        rounds=10,
        iterations=1,
    )


def test_verify_20000_entries(benchmark: BenchmarkFixture, engine: Engine) -> None:
    for i in range(20):
        append_hops(engine, commissioning(i * 1000, 1000))
    signer = LedgerSigner("bench/ledger", Ed25519PrivateKey.generate())
    make_checkpoint(engine, signer)
    report = benchmark(verify_ledger, engine, signer.name, signer.public_key)
    assert report.entries == 20_000


def test_inclusion_proof(benchmark: BenchmarkFixture, engine: Engine) -> None:
    for i in range(20):
        append_hops(engine, commissioning(i * 1000, 1000))
    seqs = itertools.cycle(range(0, 20_000, 997))
    with engine.connect() as conn:
        size = read_head(conn).size
        benchmark(lambda: inclusion_proof(conn, next(seqs), size))
