"""Child process for the concurrency and crash tests: appends batches and reports.

Run as ``python -m tests.ledger._appender URL WORKER BATCHES BATCH_SIZE UNITS [READY_FILE]``.
Every worker inspects the same pool of units, so chains overlap on purpose. With
READY_FILE the worker stops inside its first batch's transaction, right after the
entry rows were written and before the commit, writes READY_FILE and waits to be
killed: the crash lands at the worst moment every time, whatever the machine's speed.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from ledger import EntryKind, Hop, append_hops
from ledger.database import make_engine
from tests.ledger.conftest import T0, item


def main(argv: list[str]) -> None:
    url, worker, batches, size, units = (
        argv[0],
        int(argv[1]),
        int(argv[2]),
        int(argv[3]),
        int(argv[4]),
    )
    ready = Path(argv[5]) if len(argv) > 5 else None
    engine = make_engine(url)
    if ready is not None:
        _stall_after_entries(ready)
    for b in range(batches):
        hops = [
            Hop(
                item((worker * 7919 + b * size + i) % units),
                EntryKind.INSPECTING,
                "D-NORTH",
                T0 + b,
                device=f"W{worker}",
                device_seq=b * size + i,
            )
            for i in range(size)
        ]
        results = append_hops(engine, hops)
        assert all(r.status == "accepted" for r in results), results
    engine.dispose()


def _stall_after_entries(ready: Path) -> None:
    import ledger.append

    original = ledger.append.bulk_insert

    def insert_then_stall(conn: Any, table: str, columns: Any, rows: Any) -> None:
        original(conn, table, columns, rows)
        if table == "entries":
            ready.write_text(f"{len(rows)} entry rows written, not committed")
            time.sleep(600)

    ledger.append.bulk_insert = insert_then_stall  # type: ignore[assignment]


if __name__ == "__main__":
    main(sys.argv[1:])
