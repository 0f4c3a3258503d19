"""The pain.001.001.03 payment file of a posted run: one credit transfer per payable
EUR statement, the statement named in each, the control sum right, exclusions listed."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from settlement.common import Actor, PermissionDenied
from settlement.models import ReferenceChange
from settlement.payments import (
    Debtor,
    PaymentError,
    debtor_from_env,
    exclusions_csv,
    payment_file,
    payment_plan,
)
from settlement.runs import RunStateError
from tests.money._world import BIC_DE, BIC_FR, IBAN_BAD, IBAN_DE, IBAN_FR, Stmt, billing, run

NS = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.001.001.03"}
FINANCE = Actor("fiona", "finance")
DEBTOR = Debtor("Hopchain Manufacturing SA", "BE68539007547034", "GEBABEBB")
TOMORROW = datetime.now(UTC).date() + timedelta(days=1)


@pytest.fixture
def world(engine: Engine) -> tuple[int, dict[str, int]]:
    billing(engine, "D-AT", IBAN_DE, BIC_DE, "Alpentrade GmbH")
    billing(engine, "D-FR", IBAN_FR, BIC_FR, "Distribution Française SARL")
    billing(engine, "D-BAD", IBAN_BAD, BIC_DE)
    billing(engine, "D-NOBIC", IBAN_DE, "")
    return run(
        engine,
        [
            Stmt("D-AT", [("rebate", 10_000), ("penalty", -1_200)]),  # pays 88.00
            Stmt("D-FR", [("rebate", 125_050)]),  # pays 1250.50
            Stmt("D-OWES", [("penalty", -2_000)]),  # owes 20.00: a receivable, not paid
            Stmt("D-US", [("rebate", 5_000)], currency="USD"),  # excluded: not EUR
            Stmt("D-NONE", [("rebate", 3_000)]),  # excluded: no billing record
            Stmt("D-BAD", [("rebate", 4_000)]),  # excluded: IBAN check digits wrong
            Stmt("D-NOBIC", [("rebate", 700)]),  # excluded: no BIC
            Stmt("D-ZERO", [("rebate", 0)]),  # nothing to pay, nothing to exclude
        ],
    )


def test_one_transfer_per_payable_eur_statement(
    engine: Engine, world: tuple[int, dict[str, int]]
) -> None:
    run_id, sid = world
    xml = payment_file(engine, run_id, FINANCE, debtor=DEBTOR, execution_date=TOMORROW)
    doc = ET.fromstring(xml)
    assert doc.tag == "{urn:iso:std:iso:20022:tech:xsd:pain.001.001.03}Document"
    txs = doc.findall(".//p:CdtTrfTxInf", NS)
    got = {
        tx.findtext("p:CdtrAcct/p:Id/p:IBAN", namespaces=NS): (
            tx.findtext("p:Amt/p:InstdAmt", namespaces=NS),
            tx.find("p:Amt/p:InstdAmt", NS).get("Ccy"),  # type: ignore[union-attr]
            tx.findtext("p:PmtId/p:EndToEndId", namespaces=NS),
            tx.findtext("p:RmtInf/p:Ustrd", namespaces=NS),
            tx.findtext("p:Cdtr/p:Nm", namespaces=NS),
            tx.findtext("p:CdtrAgt/p:FinInstnId/p:BIC", namespaces=NS),
        )
        for tx in txs
    }
    at, fr = sid["D-AT"], sid["D-FR"]
    assert got == {
        IBAN_DE: ("88.00", "EUR", f"HC-S{at}-R{run_id}-2026-10",
                  f"hopchain statement {at} run {run_id} 2026-10", "Alpentrade GmbH", BIC_DE),
        # The creditor name is transliterated to the SEPA character set.
        IBAN_FR: ("1250.50", "EUR", f"HC-S{fr}-R{run_id}-2026-10",
                  f"hopchain statement {fr} run {run_id} 2026-10", "Distribution Francaise SARL",
                  BIC_FR),
    }  # fmt: skip
    # Control sum: 88.00 + 1250.50 = 1338.50, in the group header and the payment block.
    assert doc.findtext("p:CstmrCdtTrfInitn/p:GrpHdr/p:CtrlSum", namespaces=NS) == "1338.50"
    assert doc.findtext("p:CstmrCdtTrfInitn/p:GrpHdr/p:NbOfTxs", namespaces=NS) == "2"
    assert doc.findtext(".//p:PmtInf/p:CtrlSum", namespaces=NS) == "1338.50"
    assert doc.findtext(".//p:PmtInf/p:ReqdExctnDt", namespaces=NS) == TOMORROW.isoformat()
    assert doc.findtext(".//p:DbtrAcct/p:Id/p:IBAN", namespaces=NS) == DEBTOR.iban
    assert doc.findtext(".//p:DbtrAgt/p:FinInstnId/p:BIC", namespaces=NS) == DEBTOR.bic
    # Who made the file, and what it held, is in the audit trail.
    with Session(engine) as s:
        audit = s.scalars(
            select(ReferenceChange).where(ReferenceChange.kind == "payment_file")
        ).one()
    after = json.loads(audit.after_json)
    assert (audit.actor, audit.key, after["transfers"], after["ctrl_sum_minor"]) == (
        "fiona",
        f"run:{run_id}",
        2,
        133_850,
    )
    assert after["msg_id"] == doc.findtext(".//p:GrpHdr/p:MsgId", namespaces=NS)


def test_exclusions_are_listed_with_their_reason(
    engine: Engine, world: tuple[int, dict[str, int]]
) -> None:
    run_id, sid = world
    plan = payment_plan(engine, run_id, FINANCE)
    assert [t.party_code for t in plan.transfers] == ["D-AT", "D-FR"]
    assert plan.total_minor == 8_800 + 125_050
    reasons = {e.party_code: e.reason for e in plan.exclusions}
    assert set(reasons) == {"D-US", "D-NONE", "D-BAD", "D-NOBIC"}  # D-OWES, D-ZERO pay nothing
    assert reasons["D-US"].startswith(
        "statement in USD: SEPA credit transfers (pain.001) carry EUR only"
    )
    assert reasons["D-NONE"] == "no billing record (legal name, IBAN, BIC) for this party"
    assert reasons["D-BAD"].startswith(f"IBAN '{IBAN_BAD}' is not valid (")
    assert reasons["D-NOBIC"] == "no BIC on file"
    rows = list(csv.DictReader(io.StringIO(exclusions_csv(plan).decode())))
    assert [(r["party"], r["amount"], r["currency"]) for r in rows] == [
        ("D-BAD", "40.00", "EUR"), ("D-NOBIC", "7.00", "EUR"), ("D-NONE", "30.00", "EUR"),
        ("D-US", "50.00", "USD"),
    ]  # fmt: skip
    assert rows[0]["statement"] == str(sid["D-BAD"])


def test_a_draft_run_has_no_payment_file(engine: Engine) -> None:
    billing(engine, "D-AT", IBAN_DE, BIC_DE)
    run_id, _ = run(engine, [Stmt("D-AT", [("rebate", 100)])], status="draft")
    with pytest.raises(RunStateError, match=f"run {run_id} is draft"):
        payment_file(engine, run_id, FINANCE, debtor=DEBTOR, execution_date=TOMORROW)


def test_nothing_to_pay_is_an_error_naming_the_exclusions(engine: Engine) -> None:
    run_id, _ = run(engine, [Stmt("D-NONE", [("rebate", 100)]), Stmt("D-OWES", [("penalty", -5)])])
    with pytest.raises(PaymentError, match=r"no EUR statement to pay \(1 payable statements "
                       r"excluded: D-NONE: no billing record"):  # fmt: skip
        payment_file(engine, run_id, FINANCE, debtor=DEBTOR, execution_date=TOMORROW)


def test_a_past_execution_date_is_refused(
    engine: Engine, world: tuple[int, dict[str, int]]
) -> None:
    with pytest.raises(PaymentError, match="execution date 2020-01-02 is in the past"):
        payment_file(engine, world[0], FINANCE, debtor=DEBTOR, execution_date=date(2020, 1, 2))


def test_only_finance_makes_payment_files(
    engine: Engine, world: tuple[int, dict[str, int]]
) -> None:
    for role in ("admin", "auditor", "channel_manager"):
        with pytest.raises(PermissionDenied):
            payment_file(engine, world[0], Actor("u", role), debtor=DEBTOR, execution_date=TOMORROW)
    assert payment_plan(engine, world[0], Actor("u", "auditor")).transfers
    with pytest.raises(PermissionDenied):
        payment_plan(engine, world[0], Actor("u", "distributor", 1))


def test_the_debtor_comes_from_the_environment() -> None:
    env = {
        "HOPCHAIN_DEBTOR_NAME": " Hopchain Manufacturing SA ",
        "HOPCHAIN_DEBTOR_IBAN": "BE68 5390 0754 7034",
        "HOPCHAIN_DEBTOR_BIC": "gebabebb",
    }
    assert debtor_from_env(env) == DEBTOR
    with pytest.raises(PaymentError, match="set HOPCHAIN_DEBTOR_IBAN, HOPCHAIN_DEBTOR_BIC"):
        debtor_from_env({"HOPCHAIN_DEBTOR_NAME": "x"})
    with pytest.raises(
        PaymentError, match="HOPCHAIN_DEBTOR_IBAN: IBAN 'BE00539007547034' is not valid"
    ):
        debtor_from_env({**env, "HOPCHAIN_DEBTOR_IBAN": "BE00539007547034"})
