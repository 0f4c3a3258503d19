"""``hopchain demo`` seeds credit and risk (issue 13, "Must show": credit files for its
parties, a few overdue items and one party on cash only): a small demo (the sizes of
tests/test_demo.py) has a credit file and a rating for each active distributor,
items overdue, one cash-only party whose later shipment entry names the credit
problem, credit alerts, and ratings with an outcome for the accuracy page."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

from click.testing import Result
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from ledger.models import Entry, Party
from risk.accuracy import accuracy_in
from risk.assessment import is_cash_only
from risk.credit_alerts import list_alerts
from risk.models import CreditAlert, CreditInvestigation, CreditPayment, CreditRating, RiskItem
from risk.open_items import items_in
from settlement.common import Actor
from tests._worlds import DEMO_TWO_MONTHS, Ran


def test_the_demo_seeds_credit_files_overdue_items_and_a_cash_only_party(
    run_cli: Callable[..., Result], cli_world: Callable[..., list[Ran]], engine: Engine
) -> None:
    init, out = cli_world(*DEMO_TWO_MONTHS)  # tests/test_demo.py reads the same demo
    assert init.exit_code == 0
    assert out.exit_code == 0, out.output
    line = re.search(r"^credit: .*$", out.output, re.M)
    assert line, out.output
    today = dt.datetime.now(dt.UTC).date()
    with Session(engine) as s:
        active = list(
            s.scalars(select(Party).where(Party.kind == "distributor", Party.status == "active"))
        )
        filed = set(s.scalars(select(CreditInvestigation.party_id)))
        rated = set(s.scalars(select(CreditRating.party_id)))
        assert {p.id for p in active} <= filed and {p.id for p in active} <= rated
        # overdue items (invoices and deliveries), some of them paid from the bank statement
        overdue = [
            (i.item, i.days_overdue(today))
            for found in items_in(s, None, today).values()
            for i in found.items
            if i.days_overdue(today) > 0
        ]
        assert any(d > 90 for _, d in overdue) and any(30 < d <= 90 for _, d in overdue)
        assert s.scalar(
            select(func.count()).where(CreditPayment.source.like("import bank-statement-%"))
        )
        cash_only = [p for p in active if is_cash_only(s, p.id)]
        assert len(cash_only) == 1
        party = cash_only[0]
        assert f"on cash only: {party.code}" in line.group(0)
        # its later shipment through the credit gate: the entry names the credit problem
        shipped = s.scalars(
            select(Entry).where(Entry.kind == "shipping", Entry.counterparty_id == party.id)
        ).all()
        flagged = [e for e in shipped if "credit" in (e.anomaly or "")]
        assert flagged and all(
            e.anomaly == f"credit: shipped on credit to cash-only party {party.code}"
            for e in flagged
        )
        assert max(e.at_ms for e in flagged) >= max(e.at_ms for e in shipped)
        kinds = set(s.scalars(select(CreditAlert.kind).where(CreditAlert.party_id == party.id)))
        assert {"cash_only_shipment", "high_risk"} <= kinds
        assert (s.scalar(select(func.count()).select_from(RiskItem)) or 0) >= 3
        # ratings with an outcome, so the accuracy page is not empty
        report = accuracy_in(s, on=today)
        assert report.rated >= 2 and report.accuracy_percent is not None
    alerts, total = list_alerts(engine, Actor("fiona", "finance"), kind="overdue")
    assert total >= 1 and alerts
    verify = run_cli("ledger", "verify", "--quiet")
    assert verify.exit_code == 0, verify.output
