"""The partner list (issue 12): one filtered page of 50 parties with the counts per
status, ours beside loading every party and filtering in Python, in the same run.

    python benchmarks/compare_party_list.py [--distributors 500] [--dealers 99] [--runs 5]

A SQLite file database gets ``--distributors`` distributors, each the parent of
``--dealers`` dealers (50,000 parties by default), a tenth of them suspended and
some in each other status.

- **ours**: ``partners.parties.page_parties`` (what the Partners page and
  ``GET /api/v1/partners`` call): the page's rows with their parents' codes, the
  total and the counts per status, three SQL queries whatever the page;
- **alternative**: what an ORM list view does without server-side paging: load
  every ``Party`` object, filter and count statuses in Python, cut the page, and
  look each row's parent up through the session (``Session.get``).

Both give the same page, total and counts (checked). Printed: median seconds of
``--runs`` for a middle page of active dealers whose name contains a word, and the
ratio ours / alternative (lower is better).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, create_engine, insert, select
from sqlalchemy.orm import Session

import partners.models  # noqa: F401  (tables on the shared metadata)
import settlement.models  # noqa: F401
import web.models  # noqa: F401
from ledger.models import Base, Party
from partners.parties import STATUSES, page_parties


@dataclass(frozen=True)
class _Actor:
    username: str = "bench"
    role: str = "partner_manager"
    party_id: int | None = None
    user_id: int | None = None


def build(path: Path, distributors: int, dealers: int) -> Engine:
    engine = create_engine(f"sqlite:///{path}")
    Base.metadata.create_all(engine)
    statuses = ("active",) * 7 + ("suspended", "trial", "exiting")
    with engine.begin() as conn:
        conn.execute(insert(Party), [{"code": "MFR", "name": "Maker", "kind": "manufacturer"}])
        conn.execute(
            insert(Party),
            [
                {"code": f"D{d:04d}", "name": f"Distributor {d} Trading", "kind": "distributor",
                 "country": "DE", "currency": "EUR", "parent_id": 1, "status": "active"}
                for d in range(distributors)
            ],
        )  # fmt: skip
        rows = []
        for d in range(distributors):
            for k in range(dealers):
                rows.append(
                    {"code": f"R{d:04d}-{k:03d}", "name": f"Dealer {k} of {d} Retail",
                     "kind": "dealer", "country": "DE", "currency": "EUR", "parent_id": d + 2,
                     "status": statuses[(d + k) % len(statuses)]}
                )  # fmt: skip
        conn.execute(insert(Party), rows)
    return engine


def ours(engine: Engine, offset: int) -> tuple[list[tuple[str, str | None]], int, dict[str, int]]:
    page = page_parties(
        engine, _Actor(), q="retail", kind="dealer", status="active", limit=50, offset=offset
    )
    return [(r.code, r.parent) for r in page.rows], page.total, dict(page.by_status)


def alternative(
    engine: Engine, offset: int
) -> tuple[list[tuple[str, str | None]], int, dict[str, int]]:
    with Session(engine) as s:
        everyone = s.scalars(select(Party).order_by(Party.code)).all()

        def matches(p: Party) -> bool:
            text = f"{p.code} {p.name} {p.local_name}".lower()
            return p.kind == "dealer" and "retail" in text

        others = [p for p in everyone if matches(p)]
        counts = Counter(p.status for p in others)
        chosen = [p for p in others if p.status == "active"]
        rows = []
        for p in chosen[offset : offset + 50]:
            parent = s.get(Party, p.parent_id) if p.parent_id is not None else None
            rows.append((p.code, None if parent is None else parent.code))
        return rows, len(chosen), {st: counts.get(st, 0) for st in STATUSES}


def _median(fn: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--distributors", type=int, default=500)
    ap.add_argument("--dealers", type=int, default=99)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        engine = build(Path(tmp) / "bench.db", args.distributors, args.dealers)
        n = args.distributors * (args.dealers + 1) + 1
        first = ours(engine, 0)
        offset = (first[1] // 2) // 50 * 50
        a, b = ours(engine, offset), alternative(engine, offset)
        assert a == b, "the two ways disagree"
        t_ours = _median(lambda: ours(engine, offset), args.runs)
        t_alt = _median(lambda: alternative(engine, offset), args.runs)
        print(f"{n} parties, {a[1]} active dealers matching, page at offset {offset}")
        print(f"ours (page_parties, 3 queries):          {t_ours:.4f} s")
        print(f"alternative (load all, filter in Python): {t_alt:.4f} s")
        print(f"ratio ours / alternative: {t_ours / t_alt:.3f}")
        engine.dispose()


if __name__ == "__main__":
    main()
