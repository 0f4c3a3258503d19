"""The alert list sorted by value at stake (issue 11): one page of 50, ours beside
grading every alert on each request, in the same run.

    python benchmarks/compare_alert_list.py [--alerts 20000] [--findings 3] [--runs 5]

A SQLite file database gets ``--alerts`` alerts over 500 distributors (a fifth of
them invoicing in JPY, with an EUR->JPY rate for the period), each with
``--findings`` findings on units of 20 priced GTINs. Detection's grading
(``settlement.detection._grade_all``) stores each alert's facts once.

- **ours**: ``settlement.page_alerts(sort="value")``, which orders by the stored
  EUR value in SQL and rebuilds the 50 reasons from columns
  (``settlement.severity.stored_grade``);
- **alternative**: what the list did before: grade every matching alert from its
  findings, prices and FX rates (``settlement.severity.grade_stored_alerts``),
  sort in Python, cut the page.

Both give the same first page (checked). Printed: median seconds of ``--runs``
for the first and a middle page, and the ratio ours / alternative (lower is better).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import create_engine, insert, select
from sqlalchemy.orm import Session

import settlement.models  # noqa: F401  (tables on the shared metadata)
from ledger.models import Base, Party, Unit
from settlement import Actor, AlertQuery, page_alerts
from settlement.detection import _grade_all
from settlement.models import Alert, AlertFinding, FxRate, PriceList
from settlement.severity import SEVERITY_RANK, grade_stored_alerts

PERIOD = "2026-10"
GTINS = [f"0950600013{i:04d}" for i in range(20)]


def build(path: Path, n_alerts: int, findings: int) -> str:
    """Fill a SQLite database at ``path``; returns its URL."""
    url = f"sqlite:///{path}"
    engine = create_engine(url)
    Base.metadata.create_all(engine)
    with engine.begin() as c:
        c.execute(
            insert(Party),
            [
                {
                    "id": i + 1,
                    "code": f"D{i:04d}",
                    "name": f"Distributor {i}",
                    "kind": "distributor",
                    "currency": "JPY" if i % 5 == 0 else "EUR",
                }
                for i in range(500)
            ],
        )
        c.execute(
            insert(PriceList),
            [
                {"gtin": g, "currency": ccy, "valid_from": "2026-01-01",
                 "list_price_minor": (i + 1) * (2_500 if ccy == "EUR" else 4_000)}
                for i, g in enumerate(GTINS) for ccy in ("EUR", "JPY")
            ],
        )  # fmt: skip
        c.execute(
            insert(FxRate),
            [{"period": PERIOD, "currency": "EUR", "reporting_currency": "JPY", "rate": "160"}],
        )
        n_units = n_alerts * findings
        c.execute(
            insert(Unit),
            [
                {"id": u + 1, "key": f"U{u}", "gtin": GTINS[u % 20], "serial": str(u),
                 "state": "sold"}
                for u in range(n_units)
            ],
        )  # fmt: skip
        c.execute(
            insert(Alert),
            [
                {"id": a + 1, "natural_key": f"D{a % 500:04d}|T{a}|{PERIOD}|out_of_zone",
                 "party_id": a % 500 + 1, "territory_code": f"T{a}", "period": PERIOD,
                 "finding_type": "out_of_zone", "status": "open", "severity": "low",
                 "unit_count": findings, "finding_count": findings, "created_ms": a,
                 "updated_ms": a, "detected_tree_size": 1}
                for a in range(n_alerts)
            ],
        )  # fmt: skip
        c.execute(
            insert(AlertFinding),
            [
                {"alert_id": a + 1, "seq": a * findings + f, "unit_id": a * findings + f + 1,
                 "at_ms": a}
                for a in range(n_alerts) for f in range(findings)
            ],
        )  # fmt: skip
    with Session(engine) as s:
        _grade_all(s)
        s.commit()
    engine.dispose()
    return url


def grade_everything(url: str, offset: int, limit: int) -> list[int]:
    """The list before issue 11's columns: grade all alerts per request, sort, cut."""
    engine = create_engine(url)
    with Session(engine) as s:
        alerts = list(s.scalars(select(Alert)))
        grades = grade_stored_alerts(s, alerts)

    def key(a: Alert) -> tuple[int, int, int]:
        g = grades[a.id]
        ref = g.value_reference_minor
        return (ref is None, -(ref or 0), -a.id)

    alerts.sort(key=key)
    page = alerts[offset : offset + limit]
    for a in page:  # the page's reasons, as the list shows them
        _ = grades[a.id].reason, SEVERITY_RANK[grades[a.id].level]
    engine.dispose()
    return [a.id for a in page]


def ours(url: str, offset: int, limit: int) -> list[int]:
    engine = create_engine(url)
    page = page_alerts(
        engine, Actor("bench", "channel_manager"), AlertQuery(sort="value"),
        offset=offset, limit=limit,
    )  # fmt: skip
    for a in page.items:
        _ = page.grades[a.id].reason
    engine.dispose()
    return [a.id for a in page.items]


def median(fn: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--alerts", type=int, default=20_000)
    ap.add_argument("--findings", type=int, default=3)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        url = build(Path(tmp) / "alerts.db", args.alerts, args.findings)
        print(
            f"{args.alerts:,} alerts x {args.findings} findings built and graded in "
            f"{time.perf_counter() - started:.1f} s"
        )
        assert ours(url, 0, 50) == grade_everything(url, 0, 50), "the two lists differ"
        print(f"{'page':<14} {'ours (s)':>10} {'grade all (s)':>14} {'ratio':>8}")
        for name, offset in (("first", 0), ("middle", args.alerts // 2)):
            a = median(lambda o=offset: ours(url, o, 50), args.runs)
            b = median(lambda o=offset: grade_everything(url, o, 50), args.runs)
            print(f"{name:<14} {a:>10.4f} {b:>14.4f} {a / b:>7.3f}x")


if __name__ == "__main__":
    main()
