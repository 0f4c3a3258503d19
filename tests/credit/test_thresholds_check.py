"""Credit thresholds (issue 13): defaults on first use, set and disabled by the
right roles and audited, and the check that raises each crossing once: an invoice
overdue 30 then 60 days, a limit nearly used once a month, a health score drop,
sales targets missed two quarters in a row."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from partners.errors import PartnerDenied
from partners.models import PartnerEvent
from partners.values import InvalidField
from risk import thresholds as th
from risk.models import HealthScore
from risk.payments import record_invoice
from settlement.models import PartnerScore
from tests.credit._watch_world import AUDITOR, FINANCE, MANAGER, Watch, make_watch


@pytest.fixture
def watch(engine: Engine, make_user: Callable[..., int]) -> Watch:
    return make_watch(engine, make_user)


def _kinds(report: th.CheckReport) -> list[tuple[str, str]]:
    return sorted((a.kind, a.key) for a in report.new)


def test_defaults_are_made_on_first_use(watch: Watch) -> None:
    rows = th.list_thresholds(watch.engine, AUDITOR)
    assert [(t.kind, t.value) for t in rows] == [
        ("utilisation", 90), ("overdue", 30), ("overdue", 60), ("overdue", 90),
        ("health_drop", 10), ("kpi_miss", 2),
    ]  # fmt: skip
    assert all(t.enabled and t.emails and t.set_by == "hopchain" for t in rows)


def test_setting_a_threshold_is_audited_and_checked(watch: Watch) -> None:
    th.set_threshold(watch.engine, MANAGER, "overdue", "45", emails=False)
    th.disable_threshold(watch.engine, FINANCE, "overdue", 90)
    rows = {(t.kind, t.value): t for t in th.list_thresholds(watch.engine, AUDITOR)}
    assert not rows["overdue", 45].emails and rows["overdue", 45].set_by == "carl"
    assert not rows["overdue", 90].enabled
    with Session(watch.engine) as s:
        details = [
            json.loads(e.detail_json)
            for e in s.scalars(
                select(PartnerEvent).where(PartnerEvent.action == "credit.threshold_set")
            )
        ]
    assert {"kind": "overdue", "value": 90, "enabled": [True, False]} in details
    with pytest.raises(InvalidField) as caught:
        th.set_threshold(watch.engine, FINANCE, "utilisation", "0")
    assert str(caught.value) == "value: 0 is not a whole number from 1 to 1000"
    with pytest.raises(InvalidField) as caught:
        th.set_threshold(watch.engine, FINANCE, "mood", "3")
    assert caught.value.field == "kind"
    with pytest.raises(PartnerDenied):
        th.set_threshold(watch.engine, AUDITOR, "overdue", 10)


def test_an_overdue_invoice_raises_30_then_60_never_twice(watch: Watch) -> None:
    # limit EUR 1,000.00 = 100000 minor; invoice EUR 950.00 = 95000 due 2026-10-01
    watch.limit(watch.d1, 100_000)
    record_invoice(
        watch.engine, watch.d1, "INV-7", issued_on="2026-09-01", due_on="2026-10-01",
        amount_minor=95_000, description="samples", actor=FINANCE,
    )  # fmt: skip
    before = th.check(watch.engine, FINANCE, dt.date(2026, 10, 30))  # 29 days late
    # utilisation 95000 / 100000 = 95 % >= 90 %: once for October
    assert _kinds(before) == [("utilisation", "2026-10|90")]
    first = th.check(watch.engine, FINANCE, dt.date(2026, 10, 31))  # 30 days late
    assert _kinds(first) == [("overdue", "invoice:INV-7|30")]
    (alert,) = first.new
    assert alert.detail == {
        "threshold": 30, "item": "invoice:INV-7", "days_overdue": 30, "due_on": "2026-10-01",
        "open_minor": 95_000, "amount_minor": 95_000, "currency": "EUR", "on": "2026-10-31",
    }  # fmt: skip
    again = th.check(watch.engine, FINANCE, dt.date(2026, 10, 31))  # the same day again
    assert again.new == () and {a.id for a in again.already} >= {alert.id}
    later = th.check(watch.engine, FINANCE, dt.date(2026, 11, 30))  # 60 days late
    assert _kinds(later) == [("overdue", "invoice:INV-7|60"), ("utilisation", "2026-11|90")]


def test_a_first_check_past_two_thresholds_raises_only_the_highest(watch: Watch) -> None:
    record_invoice(
        watch.engine, watch.d2, "INV-9", issued_on="2026-08-01", due_on="2026-09-01",
        amount_minor=10_000, description="", actor=FINANCE,
    )  # fmt: skip
    report = th.check(watch.engine, FINANCE, dt.date(2026, 11, 5))  # 65 days late
    assert _kinds(report) == [("overdue", "invoice:INV-9|60")]
    assert report.parties == 1  # D1 has neither a limit nor open items


def test_health_drop_and_kpi_miss(watch: Watch) -> None:
    watch.limit(watch.d1, 100_000)
    with Session(watch.engine) as s, s.begin():
        for day, score in (("2026-09-30", 71), ("2026-10-31", 60)):  # fell 11 >= 10 points
            s.add(HealthScore(party_id=watch.d1, computed_on=day, score=score,
                              parts_json="{}", created_ms=1))  # fmt: skip
        for quarter, net, target in (("2026-Q1", 120, 100), ("2026-Q2", 80, 100),
                                     ("2026-Q3", 90, 100)):  # fmt: skip
            value = min(net / target, 1)
            breakdown = {"target": {"value": f"{value:.4f}", "weight": "0.30", "points": "0",
                                    "basis": f"{net} of target {target} units"}}  # fmt: skip
            s.add(PartnerScore(party_id=watch.d1, quarter=quarter, score="50",
                               partner_class="B", breakdown_json=json.dumps(breakdown),
                               tree_size=0, created_ms=1))  # fmt: skip
    report = th.check(watch.engine, MANAGER, dt.date(2026, 11, 2))
    assert _kinds(report) == [("health_drop", "2026-10-31"), ("kpi_miss", "2026-Q3")]
    kpi = next(a for a in report.new if a.kind == "kpi_miss")
    assert [q["quarter"] for q in kpi.detail["quarters"]] == ["2026-Q3", "2026-Q2"]
    assert kpi.detail["quarters"][0]["basis"] == "90 of target 100 units"
    assert th.check(watch.engine, MANAGER, dt.date(2026, 11, 3)).new == ()


def test_the_check_is_for_credit_writers(watch: Watch) -> None:
    with pytest.raises(PartnerDenied):
        th.check(watch.engine, AUDITOR, dt.date(2026, 11, 1))
