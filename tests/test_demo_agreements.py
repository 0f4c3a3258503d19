"""``hopchain demo``: every distributor of the demo network signs a main agreement,
and its territory grant and program enrolment come from it (issue 12: "no grant
without a signed agreement; the demo creates agreements for its network")."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from ledger.models import Party
from partners.in_force import day_end_ms, day_start_ms
from partners.models import (
    Agreement,
    AgreementDocument,
    AgreementProgram,
    AgreementReview,
    AgreementTerritory,
    ProgramEnrolment,
    TerritoryGrant,
)
from settlement.models import DepositAgreement
from tests._worlds import SMALL_DEMO_2026_08_TWO_MONTHS, Ran


def test_each_demo_distributor_signs_a_main_agreement_that_grants_and_enrols(
    cli_world: Callable[..., list[Ran]], engine: Engine
) -> None:
    init, out = cli_world(*SMALL_DEMO_2026_08_TWO_MONTHS)  # the exits test reads it too
    assert init.exit_code == 0, init.output
    assert out.exit_code == 0, out.output
    with Session(engine) as s:
        network = s.scalars(
            select(Party).where(Party.kind == "distributor", Party.code.like("D-%"))
        ).all()
        assert len(network) == 3
        for party in network:
            (a,) = s.scalars(
                select(Agreement).where(
                    Agreement.party_id == party.id, Agreement.number == f"DA-{party.code}-1"
                )
            )
            assert (a.kind, a.status, a.currency) == ("main", "signed", party.currency)
            # from the territory's old grant date (a year before August 2026) to a year
            # after the last demo month (September 2026)
            assert (a.valid_from, a.valid_to) == ("2025-08-01", "2027-09-30")
            deposit = s.scalars(
                select(DepositAgreement.amount_minor).where(DepositAgreement.party_id == party.id)
            ).one()
            assert a.deposit_minor == deposit > 0
            assert (a.credit_limit_minor, a.payment_terms_days) == (10 * deposit, 30)
            territories = s.scalars(
                select(AgreementTerritory.territory_code).where(
                    AgreementTerritory.agreement_id == a.id
                )
            ).all()
            assert territories == [party.country]
            programs = s.scalars(
                select(AgreementProgram.program_code).where(AgreementProgram.agreement_id == a.id)
            ).all()
            assert programs == ["VOLUME-REBATE"]
            reviews = s.execute(
                select(AgreementReview.stage, AgreementReview.reviewer_name).where(
                    AgreementReview.agreement_id == a.id
                )
            ).all()
            assert sorted(stage for stage, _ in reviews) == ["business", "legal"]
            assert len({name for _, name in reviews}) == 2  # two different reviewers
            (doc,) = s.scalars(
                select(AgreementDocument).where(AgreementDocument.agreement_id == a.id)
            )
            assert doc.data.startswith(b"%PDF-") and doc.size == len(doc.data)
            assert doc.sha256 == hashlib.sha256(doc.data).hexdigest()
            window = (day_start_ms(a.valid_from), day_end_ms(a.valid_to))
            grants = s.execute(
                select(
                    TerritoryGrant.territory_code,
                    TerritoryGrant.valid_from_ms,
                    TerritoryGrant.valid_to_ms,
                ).where(TerritoryGrant.agreement_id == a.id)
            ).all()
            assert [tuple(g) for g in grants] == [(party.country, *window)]
            enrolments = s.execute(
                select(
                    ProgramEnrolment.program_code,
                    ProgramEnrolment.valid_from_ms,
                    ProgramEnrolment.valid_to_ms,
                ).where(ProgramEnrolment.agreement_id == a.id)
            ).all()
            assert [tuple(e) for e in enrolments] == [("VOLUME-REBATE", *window)]
        # no grant without a signed agreement
        orphans = s.scalars(
            select(TerritoryGrant.id)
            .outerjoin(Agreement, Agreement.id == TerritoryGrant.agreement_id)
            .where((Agreement.id.is_(None)) | (Agreement.status.not_in(["signed", "superseded",
                                                                          "terminated"])))
        ).all()  # fmt: skip
        assert orphans == []
