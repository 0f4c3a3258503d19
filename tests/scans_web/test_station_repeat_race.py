"""Two scan stations scanning the same step of the same unit at the same moment
record it once: the repeat check runs with the ledger lock held (issue 11).

Each station has done everything it does before appending (parsed the scan,
checked commissioning) when both ask to append at once (a barrier); the one that
gets the lock second must see the first one's entry and answer "already recorded".
Before the check moved inside the lock, both had read the unit's last entry
before either appended, and both appended. Runs on SQLite and on PostgreSQL
(``HOPCHAIN_TEST_PG_URL``).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from _scans_web import entry_count, hri, now_ms, rfc3339, unit
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from ledger import HopResult
from ledger.append import append_chosen_hops
from ledger.models import Entry, Unit
from scanners import record_station_scans
from scanners.station import ChooseHops


def _scan_at_once(
    network: Engine, stations: Sequence[str], event: dict[str, Any]
) -> list[dict[str, Any]]:
    """Each of ``stations`` (device names) scans ``event`` as DIST-A, in its own
    thread and session, all reaching the append together; their answers in order."""
    together = threading.Barrier(len(stations), timeout=30)

    def append(choose: ChooseHops) -> list[HopResult]:
        together.wait()  # every station has done its work before the lock
        return append_chosen_hops(network, choose)

    def scan(device: str) -> dict[str, Any]:
        with Session(network) as session:
            response = record_station_scans(
                session, device, [event], "DIST-A", append,
                now_ms=now_ms(), party_kind="distributor",
            )  # fmt: skip
        (row,) = response.results
        return row

    with ThreadPoolExecutor(len(stations)) as pool:
        return list(pool.map(scan, stations))


def _entries_of(network: Engine, serial: str) -> list[tuple[int, str]]:
    with Session(network) as session:
        rows = session.execute(
            select(Entry.seq, Entry.kind)
            .join(Unit, Unit.id == Entry.unit_id)
            .where(Unit.key == unit(serial))
            .order_by(Entry.seq)
        )
        return [(int(seq), str(kind)) for seq, kind in rows]


def test_two_stations_receiving_one_unit_at_once_record_it_once(network: Engine) -> None:
    before = entry_count(network)
    event = {
        "device_seq": 1, "scanned_at": rfc3339(now_ms()), "kind": "receive",
        "code": hri("U1"), "counterparty": "MFR", "container": None,
    }  # fmt: skip
    answers = _scan_at_once(network, ["station:anna", "station:ben"], event)

    assert entry_count(network) == before + 1
    assert sorted(a["status"] for a in answers) == ["accepted", "duplicate"]
    first = next(a for a in answers if a["status"] == "accepted")
    again = next(a for a in answers if a["status"] == "duplicate")
    (seq,) = first["seqs"]
    assert again["repeat"]["seq"] == seq
    assert again["reason"].startswith(f"already recorded (seq {seq} at ")
    assert _entries_of(network, "U1")[-1] == (seq, "receiving")
    assert [kind for _, kind in _entries_of(network, "U1")].count("receiving") == 1
    with Session(network) as session:  # and the recorded one carries no anomaly
        assert session.scalar(select(Entry.anomaly).where(Entry.seq == seq)) in (None, "")


def test_different_steps_at_once_are_both_recorded(network: Engine) -> None:
    # Not a repeat: U2 received by one station while another receives U3.
    before = entry_count(network)
    events = [
        {"device_seq": 1, "scanned_at": rfc3339(now_ms()), "kind": "receive",
         "code": hri(serial), "counterparty": "MFR", "container": None}
        for serial in ("U2", "U3")
    ]  # fmt: skip
    together = threading.Barrier(2, timeout=30)

    def append(choose: ChooseHops) -> list[HopResult]:
        together.wait()
        return append_chosen_hops(network, choose)

    def scan(i: int) -> str:
        with Session(network) as session:
            response = record_station_scans(
                session, f"station:{i}", [events[i]], "DIST-A", append,
                now_ms=now_ms(), party_kind="distributor",
            )  # fmt: skip
        return str(response.results[0]["status"])

    with ThreadPoolExecutor(2) as pool:
        assert list(pool.map(scan, (0, 1))) == ["accepted", "accepted"]
    assert entry_count(network) == before + 2
