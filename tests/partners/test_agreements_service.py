"""The agreement workflow (partners.agreements): draft -> legal review -> business
review -> signed with the PDF, four eyes, supplementary agreements and renewals,
expiry reminders and termination on the grounds seed 003 names."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from ledger.models import Party
from partners import agreements as ag
from partners.errors import PartnerDenied, PartnerNotFound, PartnerStateError
from partners.in_force import enrolments_in_force, grants_in_force
from partners.models import Agreement, AgreementDocument, PartnerTask
from partners.tasks import close_task, open_tasks
from partners.values import InvalidField
from tests.partners._agreements_world import (
    AUDITOR,
    BUSINESS,
    CHANNEL,
    DRAFTER,
    LEGAL,
    PDF,
    Person,
    seed,
)

TODAY = dt.date(2027, 6, 1)


def terms(**over: object) -> ag.AgreementInput:
    base: dict[str, object] = {
        "valid_from": "2027-01-01",
        "valid_to": "2027-12-31",
        "territories": ("DE", "FR"),
        "programs": ("VOL",),
        "deposit_minor": 500_000,
        "credit_limit_minor": 2_000_000,
        "payment_terms_days": 45,
        "notes": "exclusive in DE",
    }
    base.update(over)
    return ag.AgreementInput(**base)  # type: ignore[arg-type]


def signed(engine: Engine, party: str = "D-EAST", **over: object) -> str:
    """An agreement through the whole workflow, signed on 2026-12-20."""
    number = ag.draft(engine, party, terms(**over), DRAFTER)
    ag.submit(engine, number, DRAFTER)
    ag.review(engine, number, "legal", True, "", LEGAL)
    ag.review(engine, number, "business", True, "terms as negotiated", BUSINESS)
    ag.sign(engine, number, "2026-12-20", DRAFTER, ("signed.pdf", PDF), today=TODAY)
    return number


@pytest.fixture
def world(engine: Engine) -> Engine:
    seed(engine)
    return engine


def test_the_whole_workflow_signs_grants_and_files_the_pdf(world: Engine) -> None:
    number = ag.draft(world, "D-EAST", terms(), DRAFTER)
    assert number == "AG-D-EAST-001"
    assert ag.get_agreement(world, number, AUDITOR).agreement.status == "draft"
    assert ag.submit(world, number, DRAFTER).status == "legal_review"
    assert ag.review(world, number, "legal", True, "", LEGAL).status == "business_review"
    view = ag.review(world, number, "business", True, "ok", BUSINESS)
    assert view.status == "approved"
    view = ag.sign(
        world, number, "2026-12-20", DRAFTER, ("C:\\scans\\signed.pdf", PDF), today=TODAY
    )
    assert (view.status, view.signed_on, view.in_force_to) == ("signed", "2026-12-20", "2027-12-31")
    assert view.territories == ("DE", "FR") and view.programs == ("VOL",)
    assert (view.deposit_minor, view.credit_limit_minor, view.payment_terms_days) == (
        500_000, 2_000_000, 45,
    )  # fmt: skip

    detail = ag.get_agreement(world, number, CHANNEL)
    assert [(r.stage, r.decision, r.reviewer_name) for r in detail.reviews] == [
        ("legal", "approved", "pm-lee"),
        ("business", "approved", "fin-bo"),
    ]
    (doc,) = detail.documents
    assert (doc.filename, doc.size, doc.sha256) == (
        "signed.pdf", len(PDF), hashlib.sha256(PDF).hexdigest(),
    )  # fmt: skip
    meta, data = ag.get_document(world, number, AUDITOR)
    assert data == PDF and meta.content_type == "application/pdf"
    actions = [e.action for e in detail.history]
    for action in (
        "agreement.drafted", "agreement.submitted", "agreement.reviewed", "agreement.signed",
        "agreement.in_force",
    ):  # fmt: skip
        assert action in actions

    with Session(world) as s:
        party_id = detail.agreement.party_id
        assert [g.territory_code for g in grants_in_force(s, party_id, "2027-03-01")] == [
            "DE", "FR",
        ]  # fmt: skip
        assert [e.program_code for e in enrolments_in_force(s, party_id, "2027-03-01")] == ["VOL"]
        assert grants_in_force(s, party_id, "2028-01-01") == []
    in_force = ag.agreement_in_force(world, "D-EAST", "2027-07-01", AUDITOR)
    assert in_force is not None and in_force.number == number
    assert ag.agreement_in_force(world, "D-EAST", "2026-12-31", AUDITOR) is None


def test_a_returned_review_sends_the_draft_back_with_its_note(world: Engine) -> None:
    number = ag.draft(world, "D-EAST", terms(), DRAFTER)
    ag.submit(world, number, DRAFTER)
    with pytest.raises(InvalidField) as no_note:
        ag.review(world, number, "legal", False, "  ", LEGAL)
    assert no_note.value.field == "note"
    view = ag.review(world, number, "legal", False, "clause 7 conflicts with EU law", LEGAL)
    assert view.status == "draft"
    detail = ag.get_agreement(world, number, AUDITOR)
    assert detail.reviews[-1].note == "clause 7 conflicts with EU law"
    assert detail.reviews[-1].decision == "returned"
    # edited and submitted again, it goes through both reviews again
    ag.update_draft(world, number, ag.AgreementChanges(notes="clause 7 rewritten"), DRAFTER)
    ag.submit(world, number, DRAFTER)
    assert ag.review(world, number, "legal", True, "", LEGAL).status == "business_review"


def test_four_eyes_drafter_and_legal_reviewer_may_not_review_again(world: Engine) -> None:
    number = ag.draft(world, "D-EAST", terms(), DRAFTER)
    ag.submit(world, number, DRAFTER)
    with pytest.raises(PartnerStateError) as own:
        ag.review(world, number, "legal", True, "", DRAFTER)
    assert str(own.value) == (
        f"pm-anna drafted, edited or submitted agreement {number}; another person reviews it"
    )
    # the same user under another name (a token's label) is still the same person
    alias = Person("anna-token", "admin", DRAFTER.user_id)
    with pytest.raises(PartnerStateError):
        ag.review(world, number, "legal", True, "", alias)
    ag.review(world, number, "legal", True, "", LEGAL)
    same_legal = Person("lee-as-admin", "admin", LEGAL.user_id)
    with pytest.raises(PartnerStateError) as twice:
        ag.review(world, number, "business", True, "", same_legal)
    assert "gave the legal review" in str(twice.value)
    assert ag.get_agreement(world, number, AUDITOR).agreement.status == "business_review"


def test_without_user_ids_people_are_compared_by_name(world: Engine) -> None:
    cli = Person("admin", "admin", None)
    number = ag.draft(world, "D-EAST", terms(), cli)
    ag.submit(world, number, cli)
    with pytest.raises(PartnerStateError):
        ag.review(world, number, "legal", True, "", Person("admin", "admin", None))


def test_roles_of_each_step(world: Engine) -> None:
    with pytest.raises(PartnerDenied):
        ag.draft(world, "D-EAST", terms(), BUSINESS)
    number = ag.draft(world, "D-EAST", terms(), DRAFTER)
    ag.submit(world, number, DRAFTER)
    with pytest.raises(PartnerDenied):  # no legal review by finance
        ag.review(world, number, "legal", True, "", BUSINESS)
    ag.review(world, number, "legal", True, "", LEGAL)
    with pytest.raises(PartnerDenied):  # no business review by a partner manager
        ag.review(world, number, "business", True, "", Person("pm-x", "partner_manager", 999))
    ag.review(world, number, "business", True, "", CHANNEL)
    with pytest.raises(PartnerDenied):
        ag.sign(world, number, "2026-12-20", AUDITOR, ("a.pdf", PDF), today=TODAY)
    with pytest.raises(PartnerDenied):
        ag.page_agreements(world, Person("d", "distributor", 7, party_id=1))
    assert ag.page_agreements(world, AUDITOR)[1] == 1


def test_signing_needs_the_approved_status_and_a_pdf(world: Engine) -> None:
    number = ag.draft(world, "D-EAST", terms(), DRAFTER)
    with pytest.raises(PartnerStateError) as early:
        ag.sign(world, number, "2026-12-20", DRAFTER, ("a.pdf", PDF), today=TODAY)
    assert "is draft" in str(early.value)
    ag.submit(world, number, DRAFTER)
    ag.review(world, number, "legal", True, "", LEGAL)
    ag.review(world, number, "business", True, "", BUSINESS)
    for document, words in (
        (None, "document: the signed agreement (a PDF file) is required"),
        (("a.pdf", b""), "document: the signed agreement (a PDF file) is required"),
        (("scan.png", b"\x89PNG\r\n\x1a\n...."), "document: scan.png is not a PDF file"),
        (("big.pdf", b"%PDF-" + b"0" * ag.MAX_DOCUMENT_BYTES), "bytes is more than"),
    ):
        with pytest.raises(InvalidField) as refused:
            ag.sign(world, number, "2026-12-20", DRAFTER, document, today=TODAY)
        assert words in str(refused.value)
    with pytest.raises(InvalidField) as future:
        ag.sign(world, number, "2027-06-02", DRAFTER, ("a.pdf", PDF), today=TODAY)
    assert future.value.field == "signed_on"
    with Session(world) as s:  # nothing stored by the refusals
        assert s.scalar(select(Agreement.status).where(Agreement.number == number)) == "approved"
        assert s.scalars(select(AgreementDocument)).all() == []


def test_a_signed_agreement_is_immutable(world: Engine) -> None:
    number = signed(world)
    with pytest.raises(PartnerStateError) as refused:
        ag.update_draft(world, number, ag.AgreementChanges(deposit_minor=0), DRAFTER)
    assert str(refused.value) == f"agreement {number} is signed; only a draft can be edited"
    with pytest.raises(PartnerStateError):
        ag.submit(world, number, DRAFTER)
    assert ag.get_agreement(world, number, AUDITOR).agreement.deposit_minor == 500_000


def test_unknown_territory_or_program_is_named(world: Engine) -> None:
    with pytest.raises(InvalidField) as territory:
        ag.draft(world, "D-EAST", terms(territories=("DE", "XX")), DRAFTER)
    assert territory.value.field == "territories[1]"
    assert "XX is not a stored territory" in str(territory.value)
    with pytest.raises(InvalidField) as program:
        ag.draft(world, "D-EAST", terms(programs=("NOPE",)), DRAFTER)
    assert str(program.value) == (
        "programs[0]: NOPE is not a rebate program (Reference data > Programs)"
    )
    with pytest.raises(InvalidField) as twice:
        ag.draft(world, "D-EAST", terms(territories=("DE", "DE")), DRAFTER)
    assert twice.value.field == "territories[1]"
    with pytest.raises(InvalidField) as backwards:
        ag.draft(world, "D-EAST", terms(valid_to="2026-12-31"), DRAFTER)
    assert backwards.value.field == "valid_to"
    with pytest.raises(PartnerNotFound):
        ag.draft(world, "NOBODY", terms(), DRAFTER)
    assert ag.page_agreements(world, AUDITOR) == ([], 0)


def test_supplementary_agreement_supersedes_from_its_start(world: Engine) -> None:
    main = signed(world)
    with pytest.raises(PartnerStateError):  # a second main agreement over the same year
        signed(world, valid_from="2027-03-01")
    supp = ag.draft(
        world, "D-EAST",
        terms(kind="supplementary", amends=main, valid_from="2027-07-01",
              territories=("DE", "AT"), programs=("VOL", "GROWTH")),
        DRAFTER,
    )  # fmt: skip
    assert supp == f"{main}-S1"
    with pytest.raises(PartnerStateError):  # one amendment on its way at a time
        ag.draft(world, "D-EAST", terms(kind="supplementary", amends=main,
                                        valid_from="2027-08-01"), DRAFTER)  # fmt: skip
    ag.submit(world, supp, DRAFTER)
    ag.review(world, supp, "legal", True, "", LEGAL)
    ag.review(world, supp, "business", True, "", BUSINESS)
    ag.sign(world, supp, "2027-05-30", DRAFTER, ("supp.pdf", PDF), today=TODAY)

    old = ag.get_agreement(world, main, AUDITOR)
    assert old.agreement.status == "superseded"
    assert old.superseded_by == supp and old.agreement.in_force_to == "2027-06-30"
    assert ag.agreement_in_force(world, "D-EAST", "2027-06-30", AUDITOR).number == main  # type: ignore[union-attr]
    assert ag.agreement_in_force(world, "D-EAST", "2027-07-01", AUDITOR).number == supp  # type: ignore[union-attr]
    with Session(world) as s:
        party_id = old.agreement.party_id
        assert [g.territory_code for g in grants_in_force(s, party_id, "2027-06-15")] == [
            "DE", "FR",
        ]  # fmt: skip
        assert [g.territory_code for g in grants_in_force(s, party_id, "2027-07-15")] == [
            "AT", "DE",
        ]  # fmt: skip
    # a supplementary agreement to the supplementary counts on: -S2 of the main number
    supp2 = ag.draft(world, "D-EAST", terms(kind="supplementary", amends=supp,
                                            valid_from="2027-09-01"), DRAFTER)  # fmt: skip
    assert supp2 == f"{main}-S2"
    with pytest.raises(PartnerStateError):  # the superseded one is amended no more
        ag.draft(world, "D-EAST", terms(kind="supplementary", amends=main,
                                        valid_from="2027-09-01"), DRAFTER)  # fmt: skip


def test_renewal_copies_the_terms_and_follows_on(world: Engine) -> None:
    main = signed(world)
    renewal = ag.renew(world, main, "2028-12-31", DRAFTER)
    assert renewal == "AG-D-EAST-002"
    view = ag.get_agreement(world, renewal, AUDITOR).agreement
    assert (view.kind, view.amends_number, view.valid_from, view.valid_to, view.version) == (
        "renewal", main, "2028-01-01", "2028-12-31", 2,
    )  # fmt: skip
    assert view.territories == ("DE", "FR") and view.deposit_minor == 500_000
    ag.submit(world, renewal, DRAFTER)
    ag.review(world, renewal, "legal", True, "", LEGAL)
    ag.review(world, renewal, "business", True, "", BUSINESS)
    ag.sign(world, renewal, "2027-05-30", DRAFTER, ("r.pdf", PDF), today=TODAY)
    assert ag.agreement_in_force(world, "D-EAST", "2027-12-31", AUDITOR).number == main  # type: ignore[union-attr]
    assert ag.agreement_in_force(world, "D-EAST", "2028-01-01", AUDITOR).number == renewal  # type: ignore[union-attr]
    history = ag.party_agreements(world, "D-EAST", AUDITOR)
    assert [(v.number, v.status) for v in history] == [
        (main, "superseded"), (renewal, "signed"),
    ]  # fmt: skip


def test_reminders_raise_one_task_per_agreement(world: Engine) -> None:
    main = signed(world)  # ends 2027-12-31
    assert ag.reminders_due(world, dt.date(2027, 10, 1)) == []  # 91 days left
    (first,) = ag.reminders_due(world, dt.date(2027, 11, 1))  # 60 days left
    assert (first.number, first.days_left, first.threshold) == (main, 60, 60)
    assert first.task.kind == "agreement_expiry" and first.task.due_on == "2027-12-31"
    assert ag.reminders_due(world, dt.date(2027, 11, 1)) == []  # run again: nothing new
    assert ag.reminders_due(world, dt.date(2027, 11, 20)) == []  # same threshold
    with Session(world) as s:
        assert len(open_tasks(s, kind="agreement_expiry")) == 1
    (second,) = ag.reminders_due(world, dt.date(2027, 12, 1))  # 30 days left
    assert second.task.id == first.task.id  # the open task stands for both
    with Session(world) as s, s.begin():
        close_task(s, first.task.id, DRAFTER, "renewal under way")
    assert ag.reminders_due(world, dt.date(2027, 12, 5)) == []
    with Session(world) as s:
        assert s.scalars(select(PartnerTask)).all()[0].status == "done"
        assert len(s.scalars(select(PartnerTask)).all()) == 1


def test_terminating_a_material_breach_needs_notice_and_a_passed_cure_deadline(
    world: Engine,
) -> None:
    number = signed(world)
    with pytest.raises(InvalidField) as no_notice:
        ag.terminate(world, number, "material_breach", "2027-06-01", "sold outside DE",
                     DRAFTER, today=TODAY)  # fmt: skip
    assert no_notice.value.field == "notice_on"
    with pytest.raises(InvalidField) as pending:
        ag.terminate(world, number, "material_breach", "2027-06-20", "sold outside DE",
                     DRAFTER, notice_on="2027-05-20", cure_by="2027-06-10", today=TODAY)  # fmt: skip
    assert pending.value.field == "cure_by" and "2027-06-10" in str(pending.value)
    with pytest.raises(InvalidField) as bad_ground:
        ag.terminate(world, number, "bored", "2027-06-01", "x", DRAFTER, today=TODAY)
    assert bad_ground.value.field == "ground"
    assert ag.get_agreement(world, number, AUDITOR).agreement.status == "signed"

    view = ag.terminate(world, number, "material_breach", "2027-05-25", "sold outside DE",
                        DRAFTER, notice_on="2027-04-20", cure_by="2027-05-20", today=TODAY)  # fmt: skip
    assert (view.status, view.terminated_on, view.in_force_to) == (
        "terminated", "2027-05-25", "2027-05-24",
    )  # fmt: skip
    detail = ag.get_agreement(world, number, AUDITOR)
    assert (detail.notice_on, detail.cure_by) == ("2027-04-20", "2027-05-20")
    with Session(world) as s:
        party_id = view.party_id
        assert [g.territory_code for g in grants_in_force(s, party_id, "2027-05-24")] == [
            "DE", "FR",
        ]  # fmt: skip
        assert grants_in_force(s, party_id, "2027-05-25") == []
    with pytest.raises(PartnerStateError):
        ag.terminate(world, number, "mutual_consent", "2027-06-01", "again", DRAFTER, today=TODAY)


def test_other_grounds_need_only_a_reason(world: Engine) -> None:
    number = signed(world)
    view = ag.terminate(world, number, "force_majeure", "2027-09-01", "port closed", DRAFTER,
                        today=TODAY)  # fmt: skip
    assert view.termination_ground == "force_majeure"
    assert ag.agreement_in_force(world, "D-EAST", "2027-09-01", AUDITOR) is None


def test_expiring_filter_and_paging(world: Engine) -> None:
    main = signed(world)
    ag.draft(world, "D-EAST", terms(valid_from="2028-01-01", valid_to="2028-12-31"), DRAFTER)
    rows, total = ag.page_agreements(world, AUDITOR, expiring_within=60,
                                     today=dt.date(2027, 11, 15))  # fmt: skip
    assert (total, [r.number for r in rows]) == (1, [main])
    assert (
        ag.page_agreements(world, AUDITOR, expiring_within=30, today=dt.date(2027, 11, 15))[1] == 0
    )
    rows, total = ag.page_agreements(world, AUDITOR, status="draft")
    assert total == 1 and rows[0].number == "AG-D-EAST-002"
    rows, total = ag.page_agreements(world, AUDITOR, offset=1, limit=1)
    assert total == 2 and len(rows) == 1
    with pytest.raises(InvalidField):
        ag.page_agreements(world, AUDITOR, status="nonsense")


@given(st.text(max_size=12))
def test_only_calendar_dates_pass_the_date_check(value: str) -> None:
    try:
        day = ag._check_day(value, "valid_from")
    except InvalidField as exc:
        assert exc.field == "valid_from" and repr(value) in str(exc)
    else:
        assert dt.date.fromisoformat(day).isoformat() == value


def test_a_supplementary_agreement_keeps_what_it_does_not_restate(world: Engine) -> None:
    """A change restates only what changes: the supplementary agreement below names
    its territories alone, and keeps the main agreement's program, deposit (500,000),
    credit limit (2,000,000), payment terms (45 days) and currency (EUR)."""
    main = signed(world)
    supp = ag.draft(
        world,
        "D-EAST",
        ag.AgreementInput(
            valid_from="2027-07-01",
            valid_to="2027-12-31",
            kind="supplementary",
            amends=main,
            territories=("DE", "AT"),
        ),
        DRAFTER,
    )
    view = ag.get_agreement(world, supp, AUDITOR).agreement
    assert sorted(view.territories) == ["AT", "DE"]
    assert (view.programs, view.currency) == (("VOL",), "EUR")
    assert (view.deposit_minor, view.credit_limit_minor, view.payment_terms_days) == (
        500_000,
        2_000_000,
        45,
    )
    # a term given as nothing is nothing: no program from 2027-07-01
    ag.update_draft(world, supp, ag.AgreementChanges(programs=()), DRAFTER)
    assert ag.get_agreement(world, supp, AUDITOR).agreement.programs == ()


def test_an_overlapping_agreement_is_refused_before_anyone_reviews_it(world: Engine) -> None:
    signed(world)  # 2027-01-01 .. 2027-12-31
    second = ag.draft(world, "D-EAST", terms(valid_from="2027-03-01"), DRAFTER)
    with pytest.raises(PartnerStateError, match="is in force during"):
        ag.submit(world, second, DRAFTER)
    assert ag.get_agreement(world, second, AUDITOR).agreement.status == "draft"


@pytest.mark.parametrize("status", ["exiting", "terminated"])
def test_a_party_leaving_or_gone_takes_no_new_agreement(world: Engine, status: str) -> None:
    waiting = ag.draft(world, "D-EAST", terms(), DRAFTER)
    ag.submit(world, waiting, DRAFTER)
    ag.review(world, waiting, "legal", True, "", LEGAL)
    ag.review(world, waiting, "business", True, "", BUSINESS)
    with Session(world) as s, s.begin():
        party = s.scalar(select(Party).where(Party.code == "D-EAST"))
        assert party is not None
        party.status = status
    with pytest.raises(PartnerStateError, match=f"D-EAST is {status}: it takes no new agreement"):
        ag.draft(world, "D-EAST", terms(valid_from="2028-01-01", valid_to="2028-12-31"), DRAFTER)
    with pytest.raises(PartnerStateError, match="takes no new agreement"):
        ag.sign(world, waiting, "2026-12-20", DRAFTER, ("signed.pdf", PDF), today=TODAY)
    with Session(world) as s:
        assert s.scalar(select(Agreement.status).where(Agreement.number == waiting)) == "approved"
        assert s.scalar(select(func.count(Agreement.id))) == 1
