"""Many phones at once: counting label views and recording sightings never fail
with "database is locked" (ledger.database.begin_writing; SQLite refuses at once to
turn a stale read transaction into a write one, so without it about a third of
concurrent views answered 500). PostgreSQL runs the same threads."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from ledger import unit_key
from sightings.answer import answer_label
from sightings.models import PublicSighting, VerificationTally
from sightings.public import issue_token, record_sighting
from tests.label.test_answer import APRIL, GTIN, build_world
from tests.territories_web import _territories_world as world

THREADS = 8
PER_THREAD = 12
SECRET = "concurrency-secret"


def test_concurrent_views_all_count(engine: Engine, make_party: Callable[..., int]) -> None:
    build_world(engine, make_party)

    def view(n: int) -> int:
        with Session(engine) as session:
            answer = answer_label(session, GTIN, "U1", now_ms=APRIL + n)
            session.commit()
            return answer.verifications

    with ThreadPoolExecutor(THREADS) as pool:
        counts = list(pool.map(view, range(THREADS * PER_THREAD)))
    # 8 x 12 = 96 views, each counted once: the answers saw 1..96, each once
    assert sorted(counts) == list(range(1, THREADS * PER_THREAD + 1))
    with Session(engine) as session:
        assert session.scalar(select(func.sum(VerificationTally.count))) == 96


def test_concurrent_sightings_are_all_recorded(
    engine: Engine, make_party: Callable[..., int]
) -> None:
    build_world(engine, make_party)
    keys = [unit_key(GTIN, f"U{n}") for n in (1, 2, 3, 6)]
    jobs = [(keys[i % len(keys)], i) for i in range(40)]
    tokens = {i: issue_token(SECRET, key, APRIL) for key, i in jobs}
    lat_e6, lon_e6 = round(world.IN_AA[1] * 1e6), round(world.IN_AA[0] * 1e6)

    def post(job: tuple[str, int]) -> str:
        key, i = job
        with Session(engine) as session:
            result = record_sighting(
                session,
                unit_key=key,
                lat_e6=lat_e6,
                lon_e6=lon_e6,
                token=tokens[i],
                secret=SECRET,
                locale="en",
                now_ms=APRIL + 60_000 + i,
            )
            session.commit()
            return result.verdict

    with ThreadPoolExecutor(THREADS) as pool:
        verdicts = list(pool.map(post, jobs))
    assert len(verdicts) == 40
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(PublicSighting)) == 40
