"""web.ingest: concurrent batches are appended in groups, each answered its own."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import pytest
from _scans_web import entry_count, now_ms, unit
from sqlalchemy import Engine

import web.ingest
from ledger import EntryKind, Hop, HopResult
from web.ingest import GroupAppender, _Pending


def _batch(thread: int, size: int = 5) -> list[Hop]:
    at = now_ms() - 1000
    return [
        Hop(unit(f"T{thread}x{i}"), EntryKind.COMMISSIONING, "MFR", at, site="MFR-PLANT")
        for i in range(size)
    ]


def test_concurrent_batches_each_get_their_own_results(network: Engine) -> None:
    appender = GroupAppender(network, max_group_hops=40)
    before = entry_count(network)
    answers: dict[int, list[HopResult]] = {}
    start = threading.Barrier(16)

    def run(thread: int) -> None:
        start.wait()
        answers[thread] = appender.append(_batch(thread))

    threads = [threading.Thread(target=run, args=(t,)) for t in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(answers) == list(range(16))
    seqs = [s for results in answers.values() for r in results for s in r.seqs]
    assert all(r.status == "accepted" for results in answers.values() for r in results)
    assert sorted(seqs) == list(range(before, before + 80))
    for results in answers.values():  # a batch's hops stay together and in order
        own = [r.seqs[0] for r in results]
        assert own == sorted(own)
    assert entry_count(network) == before + 80
    assert appender.append([]) == []


def test_a_failing_batch_does_not_fail_the_others_of_its_group(
    network: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = web.ingest.append_hops

    def fragile(engine: Engine, hops: Sequence[Hop]) -> list[HopResult]:
        if any(h.unit.endswith("poison") for h in hops):
            raise RuntimeError("database says no")
        return real(engine, hops)

    monkeypatch.setattr(web.ingest, "append_hops", fragile)
    appender = GroupAppender(network)
    good = _Pending(_batch(1, 2))
    bad = _Pending([Hop(unit("poison"), EntryKind.COMMISSIONING, "MFR", now_ms())])
    appender._append_group([good, bad])
    assert good.done and good.results is not None
    assert [r.status for r in good.results] == ["accepted", "accepted"]
    assert bad.done and isinstance(bad.error, RuntimeError)
    with pytest.raises(RuntimeError, match="database says no"):
        appender.append(bad.hops)
