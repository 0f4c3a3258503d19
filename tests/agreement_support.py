"""Signed agreements for engine tests: territory grants and program enrolment come
only from a signed agreement (issue 12), so a test world that detects or settles
signs one per party here, and :func:`partners.in_force.apply_signed` writes the
grants and enrolments exactly as signing through ``partners.agreements`` does.

The agreement is stored as if it went through its workflow (a legal and a business
review by two different reviewers, a one-page PDF); the workflow itself is tested
with ``partners.agreements``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from ledger.models import Party
from partners.in_force import apply_signed, end_in_force
from partners.models import (
    Agreement,
    AgreementDocument,
    AgreementProgram,
    AgreementReview,
    AgreementTerritory,
)
from settlement.common import Actor

__all__ = ["MINIMAL_PDF", "SIGNER", "enrol_distributors", "signed_agreement", "terminate"]

#: Who signs test agreements (``settlement.Actor`` fits ``partners.errors.Acting``).
SIGNER = Actor("agreement-tests", "admin")

#: The smallest file a PDF reader opens: one empty page.
MINIMAL_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)


def _party_id(s: Session, party: int | str) -> tuple[int, str, str]:
    row = s.execute(
        select(Party.id, Party.code, Party.currency).where(
            Party.id == party if isinstance(party, int) else Party.code == party
        )
    ).one_or_none()
    if row is None:
        raise LookupError(f"no party {party!r}")
    return int(row[0]), str(row[1]), str(row[2])


def signed_agreement(
    engine: Engine,
    party: int | str,
    territories: Iterable[str] = (),
    programs: Iterable[str] = (),
    valid_from: str = "2024-01-01",
    valid_to: str = "2030-12-31",
    *,
    kind: str = "main",
    amends: str | None = None,
    number: str | None = None,
) -> str:
    """Store a signed agreement of ``party`` (id or code) granting ``territories`` and
    enrolling it in ``programs`` from ``valid_from`` to ``valid_to`` (inclusive ISO
    dates), and put it in force; returns its number. ``amends`` (a number) makes it a
    supplementary agreement (or ``kind="renewal"``) that supersedes that one from
    ``valid_from``."""
    with Session(engine) as s, s.begin():
        pid, code, currency = _party_id(s, party)
        n = int(s.scalar(select(func.count()).select_from(Agreement)) or 0) + 1
        amended = None
        if amends is not None:
            amended = s.scalar(select(Agreement).where(Agreement.number == amends))
            if amended is None:
                raise LookupError(f"no agreement {amends!r}")
        a = Agreement(
            party_id=pid,
            number=number or f"T-{code}-{n:03d}",
            kind=kind if amends is None or kind != "main" else "supplementary",
            amends_id=None if amended is None else amended.id,
            version=1 if amended is None else amended.version + 1,
            status="signed",
            valid_from=valid_from,
            valid_to=valid_to,
            currency=currency,
            deposit_minor=0,
            credit_limit_minor=0,
            payment_terms_days=30,
            created_by="drafter",
            created_ms=0,
            signed_by=SIGNER.username,
            signed_ms=0,
        )
        s.add(a)
        s.flush()
        for t in dict.fromkeys(territories):
            s.add(AgreementTerritory(agreement_id=a.id, territory_code=t))
        for p in dict.fromkeys(programs):
            s.add(AgreementProgram(agreement_id=a.id, program_code=p))
        for stage, reviewer in (("legal", "lena-legal"), ("business", "bruno-business")):
            s.add(
                AgreementReview(
                    agreement_id=a.id, stage=stage, decision="approved", reviewer_name=reviewer,
                    at_ms=0,
                )
            )  # fmt: skip
        s.add(
            AgreementDocument(
                agreement_id=a.id, filename=f"{a.number}.pdf", content_type="application/pdf",
                sha256=hashlib.sha256(MINIMAL_PDF).hexdigest(), size=len(MINIMAL_PDF),
                data=MINIMAL_PDF, uploaded_by=SIGNER.username, uploaded_ms=0,
            )
        )  # fmt: skip
        s.flush()
        apply_signed(s, a, SIGNER)
        return a.number


def enrol_distributors(
    engine: Engine,
    programs: Iterable[str],
    valid_from: str = "2024-01-01",
    valid_to: str = "2030-12-31",
) -> dict[str, str]:
    """Sign, for every distributor, an agreement enrolling it in ``programs`` (no
    territories): a world where every distributor is paid every program, as before
    enrolment existed. Returns ``{party code: agreement number}``."""
    with Session(engine) as s:
        codes = list(
            s.scalars(select(Party.code).where(Party.kind == "distributor").order_by(Party.code))
        )
    wanted = tuple(programs)
    return {c: signed_agreement(engine, c, (), wanted, valid_from, valid_to) for c in codes}


def terminate(engine: Engine, number: str, end_ms: int) -> None:
    """Terminate agreement ``number``: its grants and enrolments end at ``end_ms``."""
    with Session(engine) as s, s.begin():
        a = s.scalar(select(Agreement).where(Agreement.number == number))
        if a is None:
            raise LookupError(f"no agreement {number!r}")
        a.status = "terminated"
        end_in_force(s, a, end_ms, SIGNER)
