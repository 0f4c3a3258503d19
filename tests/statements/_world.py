"""A statement written straight into a migrated database, with lines as the engine
stores them today (rule code, basis text with bare minor units, rate text, ref), so
each test states the figures it reads back in words.

Worked figures of :data:`EUR_LINES` (EUR, minor units = cents):
- volume tier: 120 units x EUR 3.00 = 360.00 (rate "300" cents per unit);
- class A multiplier x 1.1 on 360.00: +36.00;
- growth 2 % on 1,000.00 grown: +20.00;
- fine: 5 units x EUR 20.00 x 1.5 (one earlier incident) = -150.00;
- adjustment +12.50; total 360 + 36 + 20 - 150 + 12.50 = 278.50.
"""

from __future__ import annotations

import calendar
import json
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from ledger.models import Party
from settlement.models import (
    PartyBilling,
    Program,
    ProgramVersion,
    SettlementRun,
    Statement,
    StatementLine,
)
from settlement.rules.money import Line as EngineLine
from settlement.statement import StatementLineRef, statement_hash

Line = tuple[str, str, str, str, int, str]  # rule, category, basis, rate, amount, ref

EUR_LINES: tuple[Line, ...] = (
    ("tier_retroactive", "rebate",
     "120 units (tier from 100); sell_in 130 - returned 5 - diverted 5 = 120 units",
     "300", 36000, "program:VOLUME-REBATE"),
    ("class_multiplier", "rebate", "class A on tier rebate 36000", "1.1", 3600,
     "program:VOLUME-REBATE"),
    ("growth", "rebate", "600000 value vs 500000 a year before: +100000", "0.02", 2000,
     "program:VOLUME-REBATE"),
    ("fine", "penalty",
     "5 diverted units, alert 12 (2026-09), 1 earlier incidents in 12 months (x1.5)",
     "3000", -15000, "alert:12"),
    ("adjustment", "adjustment", "credit for the damaged delivery of 2026-08-14", "1", 1250,
     "adjustment:5"),
)  # fmt: skip
EUR_TOTAL = 36000 + 3600 + 2000 - 15000 + 1250  # 27850 = EUR 278.50

ADDRESS = "Hauptstrasse 5\n10115 Berlin\nGermany"


def ms(y: int, mo: int, d: int, h: int = 12) -> int:
    return calendar.timegm((y, mo, d, h, 0, 0)) * 1000


def party(engine: Engine, code: str, currency: str = "EUR") -> int:
    with Session(engine) as s, s.begin():
        found = s.scalar(select(Party.id).where(Party.code == code))
        if found is not None:
            return int(found)
        p = Party(code=code, name=f"{code} Trading", kind="distributor", currency=currency)
        s.add(p)
        s.flush()
        return p.id


def billing(engine: Engine, party_id: int, legal_name: str, address: str = ADDRESS) -> None:
    with Session(engine) as s, s.begin():
        s.add(
            PartyBilling(
                party_id=party_id, legal_name=legal_name, address=address,
                iban="DE89370400440532013000", bic="COBADEFFXXX",
            )
        )  # fmt: skip


def program(engine: Engine, code: str, measure: str, currency: str = "EUR") -> int:
    """A program version with ``measure``; returns its id (what a run records)."""
    rules = {
        "currency": currency, "basis": "sell_in", "measure": measure, "mode": "retroactive",
        "tiers": [{"threshold": 1, "rate": "300" if measure == "volume" else "0.02"}],
    }  # fmt: skip
    with Session(engine) as s, s.begin():
        p = s.scalar(select(Program).where(Program.code == code))
        if p is None:
            p = Program(code=code, name=code.title())
            s.add(p)
            s.flush()
        v = ProgramVersion(
            program_id=p.id, version=1, valid_from="2026-01", rules_json=json.dumps(rules),
            created_ms=0, created_by="f1",
        )  # fmt: skip
        s.add(v)
        s.flush()
        return v.id


def statement(
    engine: Engine,
    party_id: int,
    lines: Sequence[Line] = EUR_LINES,
    *,
    status: str = "posted",
    currency: str = "EUR",
    period: str = "2026-09",
    versions: Sequence[int] = (),
    opening_balance: int = 0,
    fx_note: str = "",
    posted_ms: int = ms(2026, 10, 3),
) -> tuple[int, int]:
    """A run of ``status`` holding one statement of ``party_id``: (run id, statement id).

    The statement's hash is the one the engine would give its lines (a posted
    statement whose hash does not match is refused to every reader)."""
    with Session(engine) as s, s.begin():
        code = s.scalar(select(Party.code).where(Party.id == party_id))
        assert code is not None
        digest = statement_hash(
            period=period, kind="final", tree_size=10, root_hex="00" * 32,
            program_versions=list(versions), party_code=code, currency=currency,
            partner_class="A",
            lines=[StatementLineRef(EngineLine(rule, cat, basis, rate, amount), ref)
                   for rule, cat, basis, rate, amount, ref in lines],
        )  # fmt: skip
        r = SettlementRun(
            period=period, kind="final", status=status, tree_size=10, root_hex="00" * 32,
            program_versions_json=json.dumps(list(versions)), reporting_currency="EUR",
            run_hash="h", created_by="f1", created_ms=posted_ms - 86_400_000,
            approved_by="f2" if status != "draft" else None,
            posted_by="f2" if status == "posted" else None,
            posted_ms=posted_ms if status == "posted" else None,
        )  # fmt: skip
        s.add(r)
        s.flush()
        st = Statement(
            run_id=r.id, party_id=party_id, currency=currency, partner_class="A", region="DE",
            total_minor=sum(ln[4] for ln in lines), deposit_after_minor=0, hash=digest,
            opening_balance_minor=opening_balance, fx_note=fx_note,
        )  # fmt: skip
        s.add(st)
        s.flush()
        for pos, (rule, cat, basis, rate, amount, ref) in enumerate(lines):
            s.add(
                StatementLine(
                    statement_id=st.id, position=pos, rule=rule, category=cat, basis=basis,
                    rate=rate, amount_minor=amount, ref=ref,
                )
            )  # fmt: skip
        return r.id, st.id


def set_status(engine: Engine, run_id: int, status: str, at_ms: int = ms(2026, 10, 3)) -> None:
    """Move a run on (draft -> approved -> posted), as approval and posting would."""
    with Session(engine) as s, s.begin():
        r = s.get(SettlementRun, run_id)
        assert r is not None
        r.status = status
        if status == "posted":
            r.posted_by, r.posted_ms = "f2", at_ms


def pdf_text(data: bytes, tmp_path: Path) -> str:
    """The text of a PDF as ``pdftotext -layout`` reads it (skips the test, saying
    why, where poppler-utils is not installed)."""
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed: apt-get install poppler-utils")
    path = tmp_path / "statement.pdf"
    path.write_bytes(data)
    done = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True, text=True
    )
    return done.stdout
