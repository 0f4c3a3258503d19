"""Posted runs, statements, billing records and account movements written straight
into a migrated database, so each money test states exactly the figures it checks."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from ledger.ids import EntryKind as E
from ledger.models import Party
from settlement import Actor, add_program_version, create_program, set_price
from settlement.models import (
    DepositMovement,
    PartyBilling,
    ReceivableMovement,
    SettlementRun,
    Statement,
    StatementLine,
)
from settlement.rules.money import Line
from settlement.statement import StatementLineRef, statement_hash
from tests.agreement_support import enrol_distributors
from tests.settlement.engine_world import GTIN, PARIS, EngineWorld, ms

# Valid IBANs and BICs (ISO 13616 check digits, ISO 9362 structure).
IBAN_DE = "DE89370400440532013000"
BIC_DE = "COBADEFFXXX"
IBAN_FR = "FR1420041010050500013M02606"
BIC_FR = "BNPAFRPPXXX"
IBAN_BAD = "DE00370400440532013000"  # wrong check digits


def party(engine: Engine, code: str, currency: str = "EUR", kind: str = "distributor") -> int:
    with Session(engine) as s, s.begin():
        found = s.scalar(select(Party.id).where(Party.code == code))
        if found is not None:
            return int(found)
        p = Party(code=code, name=f"{code} Trading", kind=kind, currency=currency)
        s.add(p)
        s.flush()
        return p.id


def billing(engine: Engine, code: str, iban: str, bic: str, legal_name: str = "") -> None:
    pid = party(engine, code)
    with Session(engine) as s, s.begin():
        s.add(
            PartyBilling(
                party_id=pid, legal_name=legal_name or f"{code} GmbH", address="", iban=iban,
                bic=bic,
            )
        )  # fmt: skip


@dataclass(frozen=True)
class Stmt:
    """A statement to write: ``lines`` are (category, amount); ``total`` defaults to
    their sum (the engine's only total: another one makes the statement tampered)."""

    party: str
    lines: Sequence[tuple[str, int]]
    currency: str = "EUR"
    total: int | None = None


def run(
    engine: Engine,
    statements: Sequence[Stmt],
    *,
    period: str = "2026-10",
    status: str = "posted",
    posted_ms: int = ms(2026, 11, 3),
) -> tuple[int, dict[str, int]]:
    """A run of ``status`` with these statements; (run id, statement id by party code)."""
    ids = {st.party: party(engine, st.party, st.currency) for st in statements}
    with Session(engine) as s, s.begin():
        r = SettlementRun(
            period=period, kind="final", status=status, tree_size=10, root_hex="00" * 32,
            program_versions_json="[]", reporting_currency="EUR", run_hash="h", created_by="f1",
            created_ms=posted_ms - 1000, posted_by="f2" if status == "posted" else None,
            posted_ms=posted_ms if status == "posted" else None,
        )  # fmt: skip
        s.add(r)
        s.flush()
        out = {}
        for st in statements:
            total = sum(a for _, a in st.lines) if st.total is None else st.total
            digest = statement_hash(
                period=period, kind="final", tree_size=10, root_hex="00" * 32,
                program_versions=[], party_code=st.party, currency=st.currency,
                partner_class="B",
                lines=[StatementLineRef(Line(f"rule_{c}", c, "", "1", a), "") for c, a in st.lines],
            )  # fmt: skip
            row = Statement(
                run_id=r.id, party_id=ids[st.party], currency=st.currency, partner_class="B",
                total_minor=total, hash=digest,
                opening_balance_minor=sum(a for c, a in st.lines if c == "balance"),
            )  # fmt: skip
            s.add(row)
            s.flush()
            for pos, (cat, amount) in enumerate(st.lines):
                s.add(
                    StatementLine(
                        statement_id=row.id, position=pos, rule=f"rule_{cat}", category=cat,
                        basis="", rate="1", amount_minor=amount, ref="",
                    )
                )  # fmt: skip
            out[st.party] = row.id
        return r.id, out


def receivable(
    engine: Engine, code: str, at: int, amount: int, kind: str, run_id: int | None = None,
    ref: str = "",
) -> None:  # fmt: skip
    pid = party(engine, code)
    with Session(engine) as s, s.begin():
        s.add(
            ReceivableMovement(
                party_id=pid, at_ms=at, amount_minor=amount, currency="EUR", kind=kind,
                run_id=run_id, ref=ref, created_by="f1",
            )
        )  # fmt: skip


def deposit(
    engine: Engine, code: str, at: int, amount: int, kind: str, reason: str,
    run_id: int | None = None,
) -> None:  # fmt: skip
    pid = party(engine, code)
    with Session(engine) as s, s.begin():
        s.add(
            DepositMovement(
                party_id=pid, at_ms=at, amount_minor=amount, currency="EUR", reason=reason,
                run_id=run_id, kind=kind, created_by="f1",
            )
        )  # fmt: skip


# EUR 3.00 per unit from 10 units, EUR 5.00 per unit from 40 (retroactive, sell-in).
VOLUME_RULES = {
    "currency": "EUR",
    "basis": "sell_in",
    "measure": "volume",
    "mode": "retroactive",
    "tiers": [{"threshold": 10, "rate": "300"}, {"threshold": 40, "rate": "500"}],
}


def october(engine: Engine) -> EngineWorld:
    """A ledger for October 2026: the manufacturer ships D-AT 28 units on the 3rd and
    12 more on the 20th, and D-BE 4 units on the 3rd; list price EUR 100.00; program
    VOL pays :data:`VOLUME_RULES` to both distributors (enrolled by their signed
    agreements); a checkpoint signs it all."""
    finance = Actor("fiona", "finance")
    w = EngineWorld(engine)
    w.party("MFR", "manufacturer")
    w.party("D-AT", "distributor")
    w.party("D-BE", "distributor")
    set_price(engine, GTIN, "EUR", "2026-01-01", 10_000, finance)
    create_program(engine, "VOL", "Volume rebate", finance)
    add_program_version(engine, "VOL", "2026-01", None, VOLUME_RULES, finance)
    enrol_distributors(engine, ["VOL"])  # each distributor's signed agreement enrols it
    n = 0
    for code, count, day in (("D-AT", 28, 3), ("D-AT", 12, 20), ("D-BE", 4, 3)):
        for _ in range(count):
            serial = f"s{n}"
            n += 1
            w.unit(serial)
            w.event(serial, E.COMMISSIONING, "MFR", ms(2026, 10, 1))
            w.event(serial, E.SHIPPING, "MFR", ms(2026, 10, day), code)
            w.event(serial, E.RECEIVING, code, ms(2026, 10, day, 14), "MFR", PARIS)
    w.flush()
    return w
