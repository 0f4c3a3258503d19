"""The demo network's agreements: every distributor signs a main agreement.

Issue 12: "territory grants and program enrolment come from the signed agreement
in force on each date (...) the demo creates agreements for its network". Each
demo distributor's agreement grants its own country (the territory it was granted
before agreements existed), enrols it in the demo's programs, requires the deposit
the demo pays in, gives 30 days' credit up to ten times the deposit, and is valid
from a year before the demo's first month until a year after its last. It went
through both reviews (by two different people) and carries a signed one-page PDF;
:func:`partners.in_force.apply_signed` then writes its grants and enrolments, as
signing through the agreements workflow does.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from partners.in_force import apply_signed
from partners.models import (
    Agreement,
    AgreementDocument,
    AgreementProgram,
    AgreementReview,
    AgreementTerritory,
)
from settlement.common import Actor

__all__ = ["DemoAgreement", "agreement_pdf", "sign_demo_agreements"]

#: Who reviews and signs the demo's agreements.
LEGAL_REVIEWER = "demo-legal"
BUSINESS_REVIEWER = "demo-business"
SIGNER = Actor("demo", "admin")
CREDIT_MULTIPLE = 10  # credit limit = this many deposits
PAYMENT_TERMS_DAYS = 30

#: (party code, party id, country (its territory), currency, deposit in minor units)
DemoAgreement = tuple[str, int, str, str, int]


def agreement_pdf(number: str, party: str, territory: str, programs: Sequence[str]) -> bytes:
    """A one-page PDF naming the agreement (what the demo attaches as signed)."""
    text = f"Distribution agreement {number}: {party}, territory {territory}, programs " + (
        ", ".join(programs) or "none"
    )
    safe = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    stream = f"BT /F1 11 Tf 50 780 Td ({safe}) Tj ET".encode("latin-1", "replace")
    objects = [
        b"<</Type/Catalog/Pages 2 0 R>>",
        b"<</Type/Pages/Kids[3 0 R]/Count 1>>",
        b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]/Resources<</Font<</F1 5 0 R>>>>"
        b"/Contents 4 0 R>>",
        b"<</Length " + str(len(stream)).encode() + b">>stream\n" + stream + b"\nendstream",
        b"<</Type/Font/Subtype/Type1/BaseFont/Helvetica>>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer<</Size {len(objects) + 1}/Root 1 0 R>>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def _ms(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()) * 1000


def sign_demo_agreements(
    engine: Engine,
    parties: Sequence[DemoAgreement],
    programs: Sequence[str],
    valid_from: str,
    valid_to: str,
    *,
    numbers: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Store and put in force one signed main agreement per party in ``parties``,
    enrolling it in ``programs`` from ``valid_from`` to ``valid_to`` (inclusive ISO
    dates). Numbers are ``DA-{party code}-1`` unless ``numbers`` names them.
    Returns ``{party code: agreement number}``. One transaction."""
    start = date.fromisoformat(valid_from)
    signed_on = start - timedelta(days=7)
    legal_ms = _ms(signed_on - timedelta(days=14))
    business_ms = _ms(signed_on - timedelta(days=10))
    signed_ms = _ms(signed_on) + 10 * 3_600_000
    out: dict[str, str] = {}
    with Session(engine) as s, s.begin():
        for code, party_id, country, currency, deposit in parties:
            number = (numbers or {}).get(code, f"DA-{code}-1")
            a = Agreement(
                party_id=party_id,
                number=number,
                kind="main",
                version=1,
                status="signed",
                valid_from=valid_from,
                valid_to=valid_to,
                currency=currency,
                deposit_minor=deposit,
                credit_limit_minor=deposit * CREDIT_MULTIPLE,
                payment_terms_days=PAYMENT_TERMS_DAYS,
                notes="demo network: main distribution agreement",
                created_by=SIGNER.username,
                created_ms=legal_ms - 86_400_000,
                signed_by=SIGNER.username,
                signed_ms=signed_ms,
            )
            s.add(a)
            s.flush()
            s.add(AgreementTerritory(agreement_id=a.id, territory_code=country))
            for program in programs:
                s.add(AgreementProgram(agreement_id=a.id, program_code=program))
            s.add_all(
                [
                    AgreementReview(
                        agreement_id=a.id, stage="legal", decision="approved",
                        reviewer_name=LEGAL_REVIEWER, note="standard terms", at_ms=legal_ms,
                    ),
                    AgreementReview(
                        agreement_id=a.id, stage="business", decision="approved",
                        reviewer_name=BUSINESS_REVIEWER, note="deposit and territory agreed",
                        at_ms=business_ms,
                    ),
                ]
            )  # fmt: skip
            pdf = agreement_pdf(number, code, country, programs)
            s.add(
                AgreementDocument(
                    agreement_id=a.id, filename=f"{number}.pdf", content_type="application/pdf",
                    sha256=hashlib.sha256(pdf).hexdigest(), size=len(pdf), data=pdf,
                    uploaded_by=SIGNER.username, uploaded_ms=signed_ms,
                )
            )  # fmt: skip
            s.flush()
            apply_signed(s, a, SIGNER)
            out[code] = number
    return out
