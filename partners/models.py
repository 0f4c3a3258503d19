"""Tables of partner management (issue 12): master data beside ``ledger.models.Party``,
the recruitment pipeline and trial, agreements (with the grants and program
enrolment they bring), classes in force, CRM interactions and tasks, and exit.

Dates a person chooses (a due date, an agreement's validity, a visit) are ISO
``YYYY-MM-DD`` strings; instants the system records are epoch milliseconds (UTC).
Money is integer minor units with its ISO 4217 currency. Every change in this
area is also written to :class:`PartnerEvent` (who, what, when).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from ledger.models import Base

__all__ = [
    "AcquisitionCost",
    "Agreement",
    "AgreementDocument",
    "AgreementProgram",
    "AgreementReview",
    "AgreementTerritory",
    "Base",
    "ExitHandover",
    "Interaction",
    "NegotiationTerms",
    "PartnerClass",
    "PartnerEvent",
    "PartnerExit",
    "PartnerTask",
    "PartyAddress",
    "PartyContact",
    "ProgramEnrolment",
    "Prospect",
    "ProspectStage",
    "ScreeningScore",
    "ScreeningWeights",
    "SiteVisit",
    "SiteVisitPhoto",
    "TerritoryGrant",
    "Trial",
]


# ------------------------------------------------------------------ master data


class PartyAddress(Base):
    """A postal address of a party, with its coordinates when known."""

    __tablename__ = "party_addresses"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    party_id: Mapped[int] = mapped_column(ForeignKey("parties.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # registered|billing|warehouse|office|shop
    line1: Mapped[str] = mapped_column(String(200))
    line2: Mapped[str] = mapped_column(String(200), default="")
    city: Mapped[str] = mapped_column(String(100))
    region: Mapped[str] = mapped_column(String(100), default="")
    postal_code: Mapped[str] = mapped_column(String(20), default="")
    country: Mapped[str] = mapped_column(String(2))  # ISO 3166-1 alpha-2
    lat_e6: Mapped[int | None] = mapped_column(Integer, default=None)
    lon_e6: Mapped[int | None] = mapped_column(Integer, default=None)


class PartyContact(Base):
    """A person at a party: who to write to, in which language."""

    __tablename__ = "party_contacts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    party_id: Mapped[int] = mapped_column(ForeignKey("parties.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(100), default="")  # e.g. "owner", "logistics"
    email: Mapped[str] = mapped_column(String(254), default="")
    phone: Mapped[str] = mapped_column(String(40), default="")
    language: Mapped[str] = mapped_column(String(16), default="")  # Babel locale, "" = party's
    primary: Mapped[bool] = mapped_column(Boolean, default=False)


class PartnerEvent(Base):
    """The audit trail of partner management: one row per change, never edited.

    ``action`` is a stable name (``party.created``, ``prospect.stage``,
    ``agreement.signed``, ``exit.completed``...), ``detail_json`` what changed
    (for an edit: ``{"field": [old, new], ...}``).
    """

    __tablename__ = "partner_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    party_id: Mapped[int | None] = mapped_column(ForeignKey("parties.id"), index=True, default=None)
    prospect_id: Mapped[int | None] = mapped_column(
        ForeignKey("prospects.id"), index=True, default=None
    )
    agreement_id: Mapped[int | None] = mapped_column(
        ForeignKey("agreements.id"), index=True, default=None
    )
    action: Mapped[str] = mapped_column(String(40))
    detail_json: Mapped[str] = mapped_column(Text, default="{}")
    actor_name: Mapped[str] = mapped_column(String(64))
    actor_user_id: Mapped[int | None] = mapped_column(Integer, default=None)
    at_ms: Mapped[int] = mapped_column(BigInteger, index=True)


# ------------------------------------------------------------------ recruitment


class Prospect(Base):
    """A company applying (or approached) to become a partner, and where it stands.

    ``stage``: application|screening|site_visit|negotiation|signing (open) and
    signed|rejected|withdrawn (closed). ``channel`` is how it was acquired:
    exhibition|b2b_platform|referral|association|inbound. Signing sets
    ``party_id`` (the party it became, on trial).
    """

    __tablename__ = "prospects"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(24), unique=True)  # shown to the applicant
    company_name: Mapped[str] = mapped_column(String(200))
    local_name: Mapped[str] = mapped_column(String(200), default="")
    kind: Mapped[str] = mapped_column(String(20), default="distributor")
    country: Mapped[str] = mapped_column(String(2))
    city: Mapped[str] = mapped_column(String(100), default="")
    currency: Mapped[str] = mapped_column(String(3), default="")
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("parties.id"), default=None)
    contact_name: Mapped[str] = mapped_column(String(200))
    contact_email: Mapped[str] = mapped_column(String(254))
    contact_phone: Mapped[str] = mapped_column(String(40), default="")
    language: Mapped[str] = mapped_column(String(16), default="")
    website: Mapped[str] = mapped_column(String(200), default="")
    territories_wanted: Mapped[str] = mapped_column(String(500), default="")
    message: Mapped[str] = mapped_column(Text, default="")
    channel: Mapped[str] = mapped_column(String(20), index=True)
    channel_detail: Mapped[str] = mapped_column(String(200), default="")
    source: Mapped[str] = mapped_column(String(10), default="form")  # form|api|manual|demo
    stage: Mapped[str] = mapped_column(String(20), index=True)
    owner_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    due_on: Mapped[str | None] = mapped_column(String(10), default=None)
    stage_since_ms: Mapped[int] = mapped_column(BigInteger)
    closed_reason: Mapped[str] = mapped_column(Text, default="")
    party_id: Mapped[int | None] = mapped_column(ForeignKey("parties.id"), default=None)
    created_ms: Mapped[int] = mapped_column(BigInteger)


class ProspectStage(Base):
    """One step of a prospect's history: the stage it entered, owner and due date."""

    __tablename__ = "prospect_stages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    prospect_id: Mapped[int] = mapped_column(ForeignKey("prospects.id"), index=True)
    stage: Mapped[str] = mapped_column(String(20))
    owner_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    due_on: Mapped[str | None] = mapped_column(String(10), default=None)
    note: Mapped[str] = mapped_column(Text, default="")
    actor_name: Mapped[str] = mapped_column(String(64))
    actor_user_id: Mapped[int | None] = mapped_column(Integer, default=None)
    at_ms: Mapped[int] = mapped_column(BigInteger)


class ScreeningWeights(Base):
    """A version of the screening criteria's weights (``{"criterion": "0.3", ...}``,
    decimal strings summing to 1); the newest version scores new screenings."""

    __tablename__ = "screening_weights"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, unique=True)
    weights_json: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(64))
    created_ms: Mapped[int] = mapped_column(BigInteger)


class ScreeningScore(Base):
    """One criterion's score (0-100) for a prospect, with the reason; a later row for
    the same criterion replaces it in the total (history is kept)."""

    __tablename__ = "screening_scores"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    prospect_id: Mapped[int] = mapped_column(ForeignKey("prospects.id"), index=True)
    weights_id: Mapped[int] = mapped_column(ForeignKey("screening_weights.id"))
    criterion: Mapped[str] = mapped_column(String(40))
    score: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    scored_by: Mapped[str] = mapped_column(String(64))
    scored_ms: Mapped[int] = mapped_column(BigInteger)


class SiteVisit(Base):
    """The dated report of a visit to a prospect's premises."""

    __tablename__ = "site_visits"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    prospect_id: Mapped[int] = mapped_column(ForeignKey("prospects.id"), index=True)
    visited_on: Mapped[str] = mapped_column(String(10))
    visitor: Mapped[str] = mapped_column(String(200))
    report: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(64))
    created_ms: Mapped[int] = mapped_column(BigInteger)


class SiteVisitPhoto(Base):
    """A photo attached to a site-visit report (the bytes, their type and digest)."""

    __tablename__ = "site_visit_photos"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("site_visits.id"), index=True)
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    sha256: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = mapped_column(LargeBinary)


class NegotiationTerms(Base):
    """A version of the terms proposed to a prospect (``terms_json``: territories,
    programs, deposit, credit terms, trial order cap...)."""

    __tablename__ = "negotiation_terms"
    __table_args__ = (UniqueConstraint("prospect_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    prospect_id: Mapped[int] = mapped_column(ForeignKey("prospects.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    terms_json: Mapped[str] = mapped_column(Text)
    note: Mapped[str] = mapped_column(Text, default="")
    proposed_by: Mapped[str] = mapped_column(String(64))
    proposed_ms: Mapped[int] = mapped_column(BigInteger)


class AcquisitionCost(Base):
    """Money spent on one acquisition channel in a month (stands, platform fees,
    referral bonuses): the board divides it by the partners signed."""

    __tablename__ = "acquisition_costs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(20), index=True)
    period: Mapped[str] = mapped_column(String(7))  # YYYY-MM
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    note: Mapped[str] = mapped_column(String(200), default="")
    created_by: Mapped[str] = mapped_column(String(64))
    created_ms: Mapped[int] = mapped_column(BigInteger)


class Trial(Base):
    """A signed party's trial period (default 90 days) with its order cap, and how
    it ended: ``running`` | ``admitted`` (party active) | ``ended`` (eliminated)."""

    __tablename__ = "trials"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    party_id: Mapped[int] = mapped_column(ForeignKey("parties.id"), index=True)
    prospect_id: Mapped[int | None] = mapped_column(ForeignKey("prospects.id"), default=None)
    starts_on: Mapped[str] = mapped_column(String(10))
    ends_on: Mapped[str] = mapped_column(String(10))
    order_cap_units: Mapped[int | None] = mapped_column(BigInteger, default=None)
    status: Mapped[str] = mapped_column(String(12), default="running")
    decided_by: Mapped[str] = mapped_column(String(64), default="")
    decided_ms: Mapped[int | None] = mapped_column(BigInteger, default=None)
    reason: Mapped[str] = mapped_column(Text, default="")


# ------------------------------------------------------------------ agreements


class Agreement(Base):
    """A version of a party's agreement: what it grants and requires, and its review.

    ``kind``: main|supplementary|renewal; a supplementary agreement or a renewal
    ``amends_id`` the agreement it changes or extends. ``status``:
    draft -> legal_review -> business_review -> signed, then terminated or
    superseded (a later signed version took its place); returned reviews go back
    to draft. ``valid_from``/``valid_to`` are inclusive dates. Deposit and credit
    limit are minor units of ``currency``.
    """

    __tablename__ = "agreements"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    party_id: Mapped[int] = mapped_column(ForeignKey("parties.id"), index=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    kind: Mapped[str] = mapped_column(String(16), default="main")
    amends_id: Mapped[int | None] = mapped_column(ForeignKey("agreements.id"), default=None)
    version: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(20), index=True, default="draft")
    valid_from: Mapped[str] = mapped_column(String(10))
    valid_to: Mapped[str] = mapped_column(String(10))
    currency: Mapped[str] = mapped_column(String(3))
    deposit_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    credit_limit_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    payment_terms_days: Mapped[int] = mapped_column(Integer, default=30)
    notes: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(64))
    created_ms: Mapped[int] = mapped_column(BigInteger)
    signed_by: Mapped[str] = mapped_column(String(64), default="")
    signed_ms: Mapped[int | None] = mapped_column(BigInteger, default=None)
    terminated_on: Mapped[str | None] = mapped_column(String(10), default=None)
    # material_breach|failing_business|violation_of_law|force_majeure|mutual_consent
    termination_ground: Mapped[str] = mapped_column(String(30), default="")
    termination_note: Mapped[str] = mapped_column(Text, default="")
    reminded_ms: Mapped[int | None] = mapped_column(BigInteger, default=None)


class AgreementTerritory(Base):
    """A territory (``geo`` code) an agreement grants."""

    __tablename__ = "agreement_territories"
    __table_args__ = (UniqueConstraint("agreement_id", "territory_code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreements.id"), index=True)
    territory_code: Mapped[str] = mapped_column(String(64))


class AgreementProgram(Base):
    """A rebate program (``settlement`` program code) an agreement enrols the party in."""

    __tablename__ = "agreement_programs"
    __table_args__ = (UniqueConstraint("agreement_id", "program_code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreements.id"), index=True)
    program_code: Mapped[str] = mapped_column(String(64))


class AgreementReview(Base):
    """A legal or business review of an agreement: approved or returned, by whom."""

    __tablename__ = "agreement_reviews"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreements.id"), index=True)
    stage: Mapped[str] = mapped_column(String(12))  # legal|business
    decision: Mapped[str] = mapped_column(String(12))  # approved|returned
    reviewer_name: Mapped[str] = mapped_column(String(64))
    reviewer_user_id: Mapped[int | None] = mapped_column(Integer, default=None)
    note: Mapped[str] = mapped_column(Text, default="")
    at_ms: Mapped[int] = mapped_column(BigInteger)


class AgreementDocument(Base):
    """The signed document (PDF) of an agreement."""

    __tablename__ = "agreement_documents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreements.id"), index=True)
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    uploaded_by: Mapped[str] = mapped_column(String(64))
    uploaded_ms: Mapped[int] = mapped_column(BigInteger)


class TerritoryGrant(Base):
    """A party's right to sell in a territory from ``valid_from_ms`` until ``valid_to_ms``
    (open: None), made by the signed agreement ``agreement_id``
    (:func:`partners.in_force.apply_signed`); detection judges scans against it.

    Grants are never deleted: ending one sets ``valid_to_ms``, so old scans are
    judged against the grants of their own date. (Declared here so that partners,
    which may not import settlement, writes them; ``settlement.models`` re-exports it.)
    """

    __tablename__ = "territory_grants"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    party_id: Mapped[int] = mapped_column(ForeignKey("parties.id"), index=True)
    territory_code: Mapped[str] = mapped_column(String(64))
    valid_from_ms: Mapped[int] = mapped_column(BigInteger)
    valid_to_ms: Mapped[int | None] = mapped_column(BigInteger, default=None)
    # the signed agreement that granted it; None only for grants made before
    # agreements existed
    agreement_id: Mapped[int | None] = mapped_column(
        ForeignKey("agreements.id"), index=True, default=None
    )


class ProgramEnrolment(Base):
    """A party's enrolment in a rebate program from ``valid_from_ms`` until
    ``valid_to_ms`` (open: None), made by the signed agreement ``agreement_id``;
    settlement pays a program only to parties enrolled in it during the period.
    Like territory grants, enrolments are ended, never deleted."""

    __tablename__ = "program_enrolments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    party_id: Mapped[int] = mapped_column(ForeignKey("parties.id"), index=True)
    program_code: Mapped[str] = mapped_column(String(64))
    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreements.id"), index=True)
    valid_from_ms: Mapped[int] = mapped_column(BigInteger)
    valid_to_ms: Mapped[int | None] = mapped_column(BigInteger, default=None)


# ------------------------------------------------------------------ evaluation


class PartnerClass(Base):
    """A party's class (A/B/C) in force from ``valid_from`` (a date) until the next
    row of the same party; written when a manager confirms a review
    (``risk.reviews``), read by settlement's class multipliers."""

    __tablename__ = "partner_classes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    party_id: Mapped[int] = mapped_column(ForeignKey("parties.id"), index=True)
    partner_class: Mapped[str] = mapped_column(String(1))
    valid_from: Mapped[str] = mapped_column(String(10))
    review_id: Mapped[int | None] = mapped_column(Integer, default=None)
    reason: Mapped[str] = mapped_column(Text)
    confirmed_by: Mapped[str] = mapped_column(String(64))
    confirmed_user_id: Mapped[int | None] = mapped_column(Integer, default=None)
    confirmed_ms: Mapped[int] = mapped_column(BigInteger)


# ------------------------------------------------------------------ CRM


class Interaction(Base):
    """A meeting, call, visit, e-mail or training with a party, and its next step."""

    __tablename__ = "partner_interactions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    party_id: Mapped[int] = mapped_column(ForeignKey("parties.id"), index=True)
    kind: Mapped[str] = mapped_column(String(12))  # meeting|call|visit|email|training
    happened_on: Mapped[str] = mapped_column(String(10))
    subject: Mapped[str] = mapped_column(String(200))
    notes: Mapped[str] = mapped_column(Text, default="")
    next_step: Mapped[str] = mapped_column(String(300), default="")
    next_due_on: Mapped[str | None] = mapped_column(String(10), default=None)
    recorded_by: Mapped[str] = mapped_column(String(64))
    recorded_user_id: Mapped[int | None] = mapped_column(Integer, default=None)
    recorded_ms: Mapped[int] = mapped_column(BigInteger)


class PartnerTask(Base):
    """Something a partner manager must do about a party (``kind``: health_drop,
    quarterly_meeting, agreement_expiry, trial_end, exit_handover...), open or done."""

    __tablename__ = "partner_tasks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    party_id: Mapped[int] = mapped_column(ForeignKey("parties.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    title: Mapped[str] = mapped_column(String(300))
    detail_json: Mapped[str] = mapped_column(Text, default="{}")
    due_on: Mapped[str | None] = mapped_column(String(10), default=None)
    assignee_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    status: Mapped[str] = mapped_column(String(10), index=True, default="open")  # open|done
    created_ms: Mapped[int] = mapped_column(BigInteger)
    closed_ms: Mapped[int | None] = mapped_column(BigInteger, default=None)
    closed_by: Mapped[str] = mapped_column(String(64), default="")


# ------------------------------------------------------------------ exit


class PartnerExit(Base):
    """A party's exit: why, the buffer period, and how far it has got.

    ``reason``: under_target (two consecutive quarters), serious_diversion,
    agreement_terminated (hard) or strategy_change (soft). ``status``:
    buffer -> settled -> completed (party terminated), or cancelled.
    Deposit amounts are minor units of the party's currency.
    """

    __tablename__ = "partner_exits"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    party_id: Mapped[int] = mapped_column(ForeignKey("parties.id"), index=True)
    reason: Mapped[str] = mapped_column(String(30))
    hard: Mapped[bool] = mapped_column(Boolean)
    note: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(12), default="buffer")
    started_on: Mapped[str] = mapped_column(String(10))
    buffer_ends_on: Mapped[str] = mapped_column(String(10))
    final_run_id: Mapped[int | None] = mapped_column(Integer, default=None)
    deposit_held_minor: Mapped[int | None] = mapped_column(BigInteger, default=None)
    deposit_deducted_minor: Mapped[int | None] = mapped_column(BigInteger, default=None)
    deposit_refunded_minor: Mapped[int | None] = mapped_column(BigInteger, default=None)
    completed_on: Mapped[str | None] = mapped_column(String(10), default=None)
    started_by: Mapped[str] = mapped_column(String(64))
    completed_by: Mapped[str] = mapped_column(String(64), default="")
    created_ms: Mapped[int] = mapped_column(BigInteger)


class ExitHandover(Base):
    """One thing an exiting party hands over: a unit still in its custody (returned
    to the manufacturer or handed to another party) or a customer (handed over)."""

    __tablename__ = "exit_handovers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    exit_id: Mapped[int] = mapped_column(ForeignKey("partner_exits.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # unit|customer
    unit_key: Mapped[str] = mapped_column(String(100), default="")
    customer: Mapped[str] = mapped_column(String(200), default="")
    action: Mapped[str] = mapped_column(String(10))  # return|handover
    to_party_id: Mapped[int | None] = mapped_column(ForeignKey("parties.id"), default=None)
    done_ms: Mapped[int | None] = mapped_column(BigInteger, default=None)
    note: Mapped[str] = mapped_column(Text, default="")
