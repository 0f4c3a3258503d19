"""Tables of partner evaluation (issue 12): A/B/C class reviews with their weights
and manually entered indicators, and health scores; and of credit and risk (issue
13): credit investigations and their documents, the rating model's weights and the
ratings it gave, the limit table and each party's limit, risk assessments and the
matrix action taken, trade invoices, payments received and what they settled, the
risk register, thresholds and the credit alerts they raise.

A review combines the scorecard's ledger-derived indicators with indicators a
channel manager enters, each with its weight (weights versioned per year); a
confirmed review writes the class in force (``partners.models.PartnerClass``).
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
    "Base",
    "ClassReview",
    "CreditAlert",
    "CreditAllocation",
    "CreditAssessment",
    "CreditDocument",
    "CreditInvestigation",
    "CreditLimit",
    "CreditLimitTable",
    "CreditModelWeights",
    "CreditPayment",
    "CreditRating",
    "HealthScore",
    "ReviewIndicator",
    "ReviewWeights",
    "RiskItem",
    "RiskThreshold",
    "TradeInvoice",
]


class ReviewWeights(Base):
    """A version of a year's review weights (``{"indicator": "0.2", ...}``, decimal
    strings summing to 1); the newest version of the review's year applies."""

    __tablename__ = "review_weights"
    __table_args__ = (UniqueConstraint("year", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    year: Mapped[int] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer)
    weights_json: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(64))
    created_ms: Mapped[int] = mapped_column(BigInteger)


class ClassReview(Base):
    """An annual or event-triggered review of one party and the class it proposes.

    ``kind``: annual|event (``trigger`` says what, e.g. the confirmed alert).
    ``status``: open -> confirmed (``confirmed_class`` and ``reason`` by a manager).
    ``breakdown_json`` holds every indicator's value (0-100), weight and points.
    """

    __tablename__ = "class_reviews"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    party_id: Mapped[int] = mapped_column(ForeignKey("parties.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    year: Mapped[int] = mapped_column(Integer)
    trigger: Mapped[str] = mapped_column(String(300), default="")
    trigger_alert_id: Mapped[int | None] = mapped_column(Integer, default=None)
    weights_id: Mapped[int | None] = mapped_column(ForeignKey("review_weights.id"), default=None)
    breakdown_json: Mapped[str] = mapped_column(Text, default="{}")
    score: Mapped[str] = mapped_column(String(20), default="")
    proposed_class: Mapped[str] = mapped_column(String(1), default="")
    status: Mapped[str] = mapped_column(String(12), index=True, default="open")
    confirmed_class: Mapped[str | None] = mapped_column(String(1), default=None)
    reason: Mapped[str] = mapped_column(Text, default="")
    confirmed_by: Mapped[str] = mapped_column(String(64), default="")
    confirmed_ms: Mapped[int | None] = mapped_column(BigInteger, default=None)
    created_by: Mapped[str] = mapped_column(String(64))
    created_ms: Mapped[int] = mapped_column(BigInteger)


class ReviewIndicator(Base):
    """An indicator a channel manager enters for a review (market promotion,
    customer service quality, team stability, compliance): 0-100 with a note."""

    __tablename__ = "review_indicators"
    __table_args__ = (UniqueConstraint("review_id", "indicator"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("class_reviews.id"), index=True)
    indicator: Mapped[str] = mapped_column(String(40))
    value: Mapped[int] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(Text, default="")
    entered_by: Mapped[str] = mapped_column(String(64))
    entered_ms: Mapped[int] = mapped_column(BigInteger)


class HealthScore(Base):
    """A party's health score (0-100) on a day, with its parts (``parts_json``:
    scorecard trend, diversion record, open receivables, target achievement,
    interaction recency, each value and weight)."""

    __tablename__ = "health_scores"
    __table_args__ = (UniqueConstraint("party_id", "computed_on"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    party_id: Mapped[int] = mapped_column(ForeignKey("parties.id"), index=True)
    computed_on: Mapped[str] = mapped_column(String(10))
    score: Mapped[int] = mapped_column(Integer)
    parts_json: Mapped[str] = mapped_column(Text)
    created_ms: Mapped[int] = mapped_column(BigInteger)


# --- credit and risk (issue 13; seed 000 "客户资信调查", "风险矩阵模型") -----------------


class CreditInvestigation(Base):
    """One credit investigation of a party (《客户资信调查报告》): what each source said.

    Sources: the company register (``registration``: register, number, status as
    read; ``registration_verified`` when the entry was found active), the bank
    reference (``bank_reference``: good | fair | poor | none), trade references
    (how many good, how many bad), the credit insurer's rating (``insurer`` and
    ``insurer_grade`` 0-10, 10 the lowest risk, as Coface's DRA; None: not rated) and
    financial statements of ``statement_year`` in ``currency``: revenue and equity
    (minor units), current ratio (decimal text, current assets / current
    liabilities) and days payable outstanding. None: not known."""

    __tablename__ = "credit_investigations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    party_id: Mapped[int] = mapped_column(ForeignKey("parties.id"), index=True)
    investigated_on: Mapped[str] = mapped_column(String(10))  # YYYY-MM-DD
    investigator: Mapped[str] = mapped_column(String(64))  # username
    registration: Mapped[str] = mapped_column(Text, default="")
    registration_verified: Mapped[bool] = mapped_column(Boolean, default=False)
    bank_reference: Mapped[str] = mapped_column(String(10), default="none")
    trade_references_good: Mapped[int] = mapped_column(Integer, default=0)
    trade_references_bad: Mapped[int] = mapped_column(Integer, default=0)
    insurer: Mapped[str] = mapped_column(String(100), default="")
    insurer_grade: Mapped[int | None] = mapped_column(Integer, default=None)
    statement_year: Mapped[int | None] = mapped_column(Integer, default=None)
    currency: Mapped[str] = mapped_column(String(3))
    revenue_minor: Mapped[int | None] = mapped_column(BigInteger, default=None)
    equity_minor: Mapped[int | None] = mapped_column(BigInteger, default=None)
    current_ratio: Mapped[str | None] = mapped_column(String(20), default=None)
    days_payable: Mapped[int | None] = mapped_column(Integer, default=None)
    notes: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(64))
    created_ms: Mapped[int] = mapped_column(BigInteger)


class CreditDocument(Base):
    """A document attached to an investigation (register extract, bank letter,
    financial statements, insurer report): its bytes, checked type and SHA-256."""

    __tablename__ = "credit_documents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    investigation_id: Mapped[int] = mapped_column(
        ForeignKey("credit_investigations.id"), index=True
    )
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    uploaded_by: Mapped[str] = mapped_column(String(64))
    uploaded_ms: Mapped[int] = mapped_column(BigInteger)


class CreditModelWeights(Base):
    """A version of the rating model's weights (``{"factor": "0.2", ...}``, decimal
    strings summing to 1); the newest version rates, older ratings keep theirs."""

    __tablename__ = "credit_model_weights"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, unique=True)
    weights_json: Mapped[str] = mapped_column(Text)
    note: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(64))
    created_ms: Mapped[int] = mapped_column(BigInteger)


class CreditRating(Base):
    """A rating given to a party: ``score`` 0-100 and ``grade`` (AAA .. CCC) from the
    model ``weights_version``, with every input and its contribution
    (``inputs_json``: factor -> value as read; ``contributions_json``: factor ->
    {"score", "weight", "points"}). Ratings are never edited: a new one supersedes."""

    __tablename__ = "credit_ratings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    party_id: Mapped[int] = mapped_column(ForeignKey("parties.id"), index=True)
    investigation_id: Mapped[int | None] = mapped_column(
        ForeignKey("credit_investigations.id"), default=None
    )
    weights_version: Mapped[int] = mapped_column(Integer)
    score: Mapped[int] = mapped_column(Integer)
    grade: Mapped[str] = mapped_column(String(4))
    inputs_json: Mapped[str] = mapped_column(Text)
    contributions_json: Mapped[str] = mapped_column(Text)
    rated_on: Mapped[str] = mapped_column(String(10))
    rated_by: Mapped[str] = mapped_column(String(64))
    created_ms: Mapped[int] = mapped_column(BigInteger)


class CreditLimitTable(Base):
    """A version of the table finance edits: per grade the credit limit (minor units
    of ``currency``, converted to a party's currency at the latest FX rate) and the
    payment terms in days (``rows_json``: grade -> {"limit_minor", "payment_days"});
    ``medium_factor`` (decimal text, e.g. ``"0.5"``) is what a medium risk level
    multiplies the limit by. The newest version applies."""

    __tablename__ = "credit_limit_tables"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, unique=True)
    currency: Mapped[str] = mapped_column(String(3))
    rows_json: Mapped[str] = mapped_column(Text)
    medium_factor: Mapped[str] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(64))
    created_ms: Mapped[int] = mapped_column(BigInteger)


class CreditLimit(Base):
    """A party's credit limit and payment terms from ``created_ms`` on (the newest row
    is in force). ``source``: rating (from the table and the rating ``rating_id``),
    override (a finance approver's, ``reason`` required) or risk (lowered by the
    risk matrix, ``assessment_id``). ``limit_minor`` is in the party's currency."""

    __tablename__ = "credit_limits"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    party_id: Mapped[int] = mapped_column(ForeignKey("parties.id"), index=True)
    limit_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    payment_days: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(10))
    rating_id: Mapped[int | None] = mapped_column(ForeignKey("credit_ratings.id"), default=None)
    table_version: Mapped[int | None] = mapped_column(Integer, default=None)
    assessment_id: Mapped[int | None] = mapped_column(Integer, default=None)
    reason: Mapped[str] = mapped_column(Text, default="")
    approved_by: Mapped[str] = mapped_column(String(64))
    created_ms: Mapped[int] = mapped_column(BigInteger)


class CreditAssessment(Base):
    """A party's risk level (high | medium | low) on a day, from its rating and its
    behaviour (``basis_json``: grade, most days overdue, limit utilisation in
    per mille, confirmed diversion alerts), and the risk matrix's action taken
    (``action_json``: cash only, the limit before and after, tasks raised).
    ``cash_only``: shipments to the party on credit are anomalies. The newest row
    is in force; a finance user may set one by hand (``manual``, ``reason``)."""

    __tablename__ = "credit_assessments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    party_id: Mapped[int] = mapped_column(ForeignKey("parties.id"), index=True)
    level: Mapped[str] = mapped_column(String(6))
    cash_only: Mapped[bool] = mapped_column(Boolean, default=False)
    basis_json: Mapped[str] = mapped_column(Text)
    action_json: Mapped[str] = mapped_column(Text, default="{}")
    manual: Mapped[bool] = mapped_column(Boolean, default=False)
    reason: Mapped[str] = mapped_column(Text, default="")
    assessed_on: Mapped[str] = mapped_column(String(10))
    assessed_by: Mapped[str] = mapped_column(String(64))
    created_ms: Mapped[int] = mapped_column(BigInteger)


class TradeInvoice(Base):
    """An invoice finance recorded against a party (goods, services, samples, not a
    rebate statement): ``number`` as printed, issued and due dates, the amount in
    the party's currency. ``status``: open (settled by allocations) | cancelled."""

    __tablename__ = "trade_invoices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(64), unique=True)
    party_id: Mapped[int] = mapped_column(ForeignKey("parties.id"), index=True)
    issued_on: Mapped[str] = mapped_column(String(10))
    due_on: Mapped[str] = mapped_column(String(10))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(10), default="open")
    created_by: Mapped[str] = mapped_column(String(64))
    created_ms: Mapped[int] = mapped_column(BigInteger)


class CreditPayment(Base):
    """Money received from a party, by hand or from a bank statement line: the day,
    the amount (minor units of ``currency``), the bank's reference and remittance
    text, the payer's IBAN when the bank gave it, and where it came from
    (``source``: page | api | the imported file's name). What it settled is in
    :class:`CreditAllocation`; the part that went to the rebate receivable is also
    a ``payment`` receivable movement (``receivable_movement_id``)."""

    __tablename__ = "credit_payments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    party_id: Mapped[int] = mapped_column(ForeignKey("parties.id"), index=True)
    received_on: Mapped[str] = mapped_column(String(10))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    reference: Mapped[str] = mapped_column(String(200))
    remittance: Mapped[str] = mapped_column(Text, default="")
    payer_iban: Mapped[str] = mapped_column(String(34), default="")
    source: Mapped[str] = mapped_column(String(200), default="")
    receivable_movement_id: Mapped[int | None] = mapped_column(Integer, default=None)
    created_by: Mapped[str] = mapped_column(String(64))
    created_ms: Mapped[int] = mapped_column(BigInteger)


class CreditAllocation(Base):
    """What settled part of an open item: ``item`` names it (``statement:12``,
    ``invoice:INV-2026-001``, ``delivery:2026-11-03``), ``amount_minor`` (> 0, the
    item's currency) how much; ``kind``: payment (``payment_id``) | write_off
    (``reason``, a finance user's decision that it will not be paid)."""

    __tablename__ = "credit_allocations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    party_id: Mapped[int] = mapped_column(ForeignKey("parties.id"), index=True)
    item: Mapped[str] = mapped_column(String(100), index=True)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    kind: Mapped[str] = mapped_column(String(10))
    payment_id: Mapped[int | None] = mapped_column(
        ForeignKey("credit_payments.id"), index=True, default=None
    )
    reason: Mapped[str] = mapped_column(Text, default="")
    applied_on: Mapped[str] = mapped_column(String(10))  # YYYY-MM-DD it took effect
    created_by: Mapped[str] = mapped_column(String(64))
    created_ms: Mapped[int] = mapped_column(BigInteger)


class RiskItem(Base):
    """One risk in the register, of a party or of a program (or of the channel as a
    whole, both None): likelihood and impact 1-5 each (the heat map's cell), the
    owner (a username), the response plan, ``status`` (open | mitigating |
    accepted | closed) and the day it is next reviewed."""

    __tablename__ = "risk_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    party_id: Mapped[int | None] = mapped_column(ForeignKey("parties.id"), index=True)
    program_code: Mapped[str | None] = mapped_column(String(64), default=None)
    category: Mapped[str] = mapped_column(String(20))  # credit|market|cooperation|brand
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    likelihood: Mapped[int] = mapped_column(Integer)
    impact: Mapped[int] = mapped_column(Integer)
    owner: Mapped[str] = mapped_column(String(64))
    response_plan: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(12), default="open", index=True)
    review_on: Mapped[str] = mapped_column(String(10))
    created_by: Mapped[str] = mapped_column(String(64))
    created_ms: Mapped[int] = mapped_column(BigInteger)
    updated_ms: Mapped[int] = mapped_column(BigInteger)


class RiskThreshold(Base):
    """A threshold finance or a channel manager set: ``kind`` utilisation (``value``
    per cent of the limit), overdue (days an item is past due: 30, 60, 90),
    health_drop (points the health score fell since the previous one) or kpi_miss
    (quarters in a row below target); ``emails`` whether crossing it also sends
    e-mail. One row per (kind, value)."""

    __tablename__ = "risk_thresholds"
    __table_args__ = (UniqueConstraint("kind", "value"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    value: Mapped[int] = mapped_column(Integer)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    emails: Mapped[bool] = mapped_column(Boolean, default=True)
    set_by: Mapped[str] = mapped_column(String(64))
    set_ms: Mapped[int] = mapped_column(BigInteger)


class CreditAlert(Base):
    """A credit alert for finance: ``kind`` (see :data:`risk.credit_alerts.ALERT_KINDS`)
    about one party, once per ``key`` (a shipment day, an invoice, a threshold
    crossing); ``detail_json`` the figures that raised it. ``status``: open ->
    acknowledged -> closed (``note`` by whom closed it)."""

    __tablename__ = "credit_alerts"
    __table_args__ = (UniqueConstraint("party_id", "kind", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    party_id: Mapped[int] = mapped_column(ForeignKey("parties.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    key: Mapped[str] = mapped_column(String(100))
    detail_json: Mapped[str] = mapped_column(Text, default="{}")
    status: Mapped[str] = mapped_column(String(12), default="open", index=True)
    raised_ms: Mapped[int] = mapped_column(BigInteger, index=True)
    closed_ms: Mapped[int | None] = mapped_column(BigInteger, default=None)
    closed_by: Mapped[str] = mapped_column(String(64), default="")
    note: Mapped[str] = mapped_column(Text, default="")
