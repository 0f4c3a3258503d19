"""Child process for the concurrency and crash tests: appends batches and reports.

Run as ``python -m tests.ledger._appender URL WORKER BATCHES BATCH_SIZE UNITS [READY_FILE]``.
Every worker inspects the same pool of units, so chains overlap on purpose.
"""

from __future__ import annotations

import sys
from pathlib import Path

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
        if ready is not None:
            ready.write_text("appending")
        results = append_hops(engine, hops)
        assert all(r.status == "accepted" for r in results), results
    engine.dispose()


if __name__ == "__main__":
    main(sys.argv[1:])
