"""Tables of the batch engine, declared on the ledger's :class:`~ledger.models.Base`
so one metadata (and one Alembic history) covers the whole database.

Money is integer minor units (BIGINT) of the row's currency everywhere; rates and
FX rates are decimal text so that no float ever touches an amount. Times are
integer milliseconds since the Unix epoch (UTC), like the ledger's.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from ledger.models import Base
from partners.models import TerritoryGrant

__all__ = [
    "Adjustment",
    "Alert",
    "AlertEvent",
    "AlertFinding",
    "DepositAgreement",
    "DepositMovement",
    "FxRate",
    "IncidentCharge",
    "PartnerScore",
    "PartyBilling",
    "PriceList",
    "Product",
    "Program",
    "ProgramVersion",
    "ReceivableMovement",
    "ReferenceChange",
    "SalesTarget",
    "SettlementRun",
    "Statement",
    "StatementDispute",
    "StatementLine",
    "StatementResponse",
    "TerritoryGrant",
    "TopUpRequest",
    "WhistleblowerReport",
]


class Product(Base):
    __tablename__ = "products"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    gtin: Mapped[str] = mapped_column(String(14), unique=True)
    name: Mapped[str] = mapped_column(String(200))


class PartyBilling(Base):
    """What finance needs to invoice and pay a party: legal name, postal address and
    bank account (IBAN and BIC, ISO 13616 / ISO 9362) for credit transfers."""

    __tablename__ = "party_billing"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    party_id: Mapped[int] = mapped_column(ForeignKey("parties.id"), unique=True)
    legal_name: Mapped[str] = mapped_column(String(200), default="")
    address: Mapped[str] = mapped_column(Text, default="")  # lines separated by newlines
    iban: Mapped[str] = mapped_column(String(34), default="")
    bic: Mapped[str] = mapped_column(String(11), default="")


class PriceList(Base):
    """List price of a product in one currency from ``valid_from`` (ISO date) until the
    next version's ``valid_from``: the value basis. A period uses the version in force
    on its last day."""

    __tablename__ = "price_lists"
    __table_args__ = (UniqueConstraint("gtin", "currency", "valid_from"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    gtin: Mapped[str] = mapped_column(String(14), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    valid_from: Mapped[str] = mapped_column(String(10))  # YYYY-MM-DD
    list_price_minor: Mapped[int] = mapped_column(BigInteger)
    created_by: Mapped[str] = mapped_column(String(64), default="")
    created_ms: Mapped[int] = mapped_column(BigInteger, default=0)


class SalesTarget(Base):
    """What a distributor is expected to sell in (net) in a month: the KPI gate's target.

    ``measure`` is ``units`` (``units`` set) or ``value`` (``value_minor`` in
    ``currency`` set); the gate compares the program's net units or net value with it.
    """

    __tablename__ = "sales_targets"
    __table_args__ = (UniqueConstraint("party_id", "period"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    party_id: Mapped[int] = mapped_column(ForeignKey("parties.id"))
    period: Mapped[str] = mapped_column(String(7))
    units: Mapped[int | None] = mapped_column(BigInteger, default=None)
    measure: Mapped[str] = mapped_column(String(10), default="units")
    value_minor: Mapped[int | None] = mapped_column(BigInteger, default=None)
    currency: Mapped[str | None] = mapped_column(String(3), default=None)


class Alert(Base):
    """Findings of one type, for one responsible party, territory and period.

    ``natural_key`` is ``{party code}|{territory}|{period}|{finding type}``: detection
    upserts on it, so running detection again adds findings instead of alerts.
    """

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    natural_key: Mapped[str] = mapped_column(String(200), unique=True)
    party_id: Mapped[int | None] = mapped_column(ForeignKey("parties.id"), index=True)
    territory_code: Mapped[str] = mapped_column(String(64))
    period: Mapped[str] = mapped_column(String(7), index=True)
    finding_type: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default="open", index=True)
    severity: Mapped[str] = mapped_column(String(10))
    assignee: Mapped[str | None] = mapped_column(String(64), default=None)
    unit_count: Mapped[int] = mapped_column(Integer, default=0)
    finding_count: Mapped[int] = mapped_column(Integer, default=0)
    appealed: Mapped[bool] = mapped_column(Boolean, default=False)
    created_ms: Mapped[int] = mapped_column(BigInteger)
    updated_ms: Mapped[int] = mapped_column(BigInteger)
    detected_tree_size: Mapped[int] = mapped_column(BigInteger)
    penalized_run_id: Mapped[int | None] = mapped_column(
        ForeignKey("settlement_runs.id"), default=None
    )
    penalty_minor: Mapped[int | None] = mapped_column(BigInteger, default=None)
    penalty_currency: Mapped[str | None] = mapped_column(String(3), default=None)
    # The facts of the severity grade as of detection's last run (settlement.severity:
    # grade_stored_alerts writes them, stored_grade reads them back without a query).
    # value_minor: units x list price in value_currency minor units, None when no unit
    # has a list price; value_fx_rate: EUR -> value_currency rate the value steps were
    # converted with (decimal text), None when no rate was on file; value_reference_minor:
    # the value in EUR minor units (what lists sort by), None when value or rate is
    # unknown; unpriced_units: units without a list price; prior_offences: confirmed
    # alerts of the party in the 12 months before. Rows from before these columns carry
    # None/0 until detection's next run fills them.
    value_minor: Mapped[int | None] = mapped_column(BigInteger, default=None)
    value_currency: Mapped[str | None] = mapped_column(String(3), default=None)
    value_fx_rate: Mapped[str | None] = mapped_column(String(40), default=None)
    value_reference_minor: Mapped[int | None] = mapped_column(BigInteger, default=None)
    unpriced_units: Mapped[int] = mapped_column(Integer, default=0)
    prior_offences: Mapped[int] = mapped_column(Integer, default=0)
    # hex SHA-256 over the alert's identity and its findings' evidence (seq, unit,
    # time, leaf hash); detection writes it and seals all of them in a signed note
    evidence_hash: Mapped[str] = mapped_column(String(64), default="")


class AlertFinding(Base):
    """One finding: the entry (``seq``) that is the evidence, and its unit."""

    __tablename__ = "alert_findings"
    __table_args__ = (UniqueConstraint("alert_id", "seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"), index=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    at_ms: Mapped[int] = mapped_column(BigInteger)


class AlertEvent(Base):
    """The alert's history: detection, status changes, assignment, notes, files, appeals."""

    __tablename__ = "alert_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"), index=True)
    at_ms: Mapped[int] = mapped_column(BigInteger)
    actor: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(20))
    from_status: Mapped[str | None] = mapped_column(String(20), default=None)
    to_status: Mapped[str | None] = mapped_column(String(20), default=None)
    text: Mapped[str] = mapped_column(Text, default="")
    attachment_ref: Mapped[str | None] = mapped_column(String(500), default=None)


class WhistleblowerReport(Base):
    """A distributor's or inspector's report of a unit seen out of its zone."""

    __tablename__ = "whistleblower_reports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reporter_id: Mapped[int] = mapped_column(ForeignKey("parties.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    seen_ms: Mapped[int] = mapped_column(BigInteger)
    lat_e6: Mapped[int | None] = mapped_column(Integer, default=None)
    lon_e6: Mapped[int | None] = mapped_column(Integer, default=None)
    territory_code: Mapped[str] = mapped_column(String(64), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default="open")
    malicious: Mapped[bool] = mapped_column(Boolean, default=False)
    malicious_reason: Mapped[str] = mapped_column(Text, default="")
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id"), default=None)
    created_ms: Mapped[int] = mapped_column(BigInteger)
    created_by: Mapped[str] = mapped_column(String(64))
    reward_run_id: Mapped[int | None] = mapped_column(
        ForeignKey("settlement_runs.id"), default=None
    )


class Program(Base):
    __tablename__ = "programs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))


class ProgramVersion(Base):
    """Immutable rules of a program for a span of periods; edits make a new version."""

    __tablename__ = "program_versions"
    __table_args__ = (UniqueConstraint("program_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"))
    version: Mapped[int] = mapped_column(Integer)
    valid_from: Mapped[str] = mapped_column(String(7))  # first period, YYYY-MM
    valid_to: Mapped[str | None] = mapped_column(String(7), default=None)  # last period
    rules_json: Mapped[str] = mapped_column(Text)
    created_ms: Mapped[int] = mapped_column(BigInteger)
    created_by: Mapped[str] = mapped_column(String(64))


class PartnerScore(Base):
    """A distributor's quarterly score and class, with the breakdown that produced it."""

    __tablename__ = "partner_scores"
    __table_args__ = (UniqueConstraint("party_id", "quarter"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    party_id: Mapped[int] = mapped_column(ForeignKey("parties.id"))
    quarter: Mapped[str] = mapped_column(String(7))  # YYYY-Qn
    score: Mapped[str] = mapped_column(String(20))
    partner_class: Mapped[str] = mapped_column(String(1))
    breakdown_json: Mapped[str] = mapped_column(Text)
    tree_size: Mapped[int] = mapped_column(BigInteger)
    created_ms: Mapped[int] = mapped_column(BigInteger)


class FxRate(Base):
    """One unit of ``currency`` is worth ``rate`` units of ``reporting_currency`` in ``period``."""

    __tablename__ = "fx_rates"
    __table_args__ = (UniqueConstraint("period", "currency", "reporting_currency"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    period: Mapped[str] = mapped_column(String(7))
    currency: Mapped[str] = mapped_column(String(3))
    reporting_currency: Mapped[str] = mapped_column(String(3))
    rate: Mapped[str] = mapped_column(String(40))
    source: Mapped[str] = mapped_column(String(200), default="")
    as_of: Mapped[str] = mapped_column(String(10), default="")  # YYYY-MM-DD of the quote


class DepositMovement(Base):
    """A movement of a distributor's deposit; the balance is the sum of its movements."""

    __tablename__ = "deposit_movements"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    party_id: Mapped[int] = mapped_column(ForeignKey("parties.id"), index=True)
    at_ms: Mapped[int] = mapped_column(BigInteger)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    reason: Mapped[str] = mapped_column(Text)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("settlement_runs.id"), default=None)
    # receipt | refund | deduction (penalties or receivables taken by a run)
    kind: Mapped[str] = mapped_column(String(20), default="receipt")
    created_by: Mapped[str] = mapped_column(String(64), default="")


class DepositAgreement(Base):
    """The deposit level a distributor agreed to hold from ``valid_from`` (ISO date)."""

    __tablename__ = "deposit_agreements"
    __table_args__ = (UniqueConstraint("party_id", "valid_from"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    party_id: Mapped[int] = mapped_column(ForeignKey("parties.id"), index=True)
    valid_from: Mapped[str] = mapped_column(String(10))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    created_by: Mapped[str] = mapped_column(String(64))
    created_ms: Mapped[int] = mapped_column(BigInteger)


class TopUpRequest(Base):
    """A request that a distributor bring its deposit back to the agreed level by ``deadline``."""

    __tablename__ = "topup_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    party_id: Mapped[int] = mapped_column(ForeignKey("parties.id"), index=True)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    deadline: Mapped[str] = mapped_column(String(10))  # YYYY-MM-DD
    status: Mapped[str] = mapped_column(String(10), default="open")  # open | met | cancelled
    reason: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(64))
    created_ms: Mapped[int] = mapped_column(BigInteger)
    closed_ms: Mapped[int | None] = mapped_column(BigInteger, default=None)


class ReceivableMovement(Base):
    """A movement of what a distributor owes: positive raises it, negative settles it.

    A posted statement with a negative total books its amount owed; the next
    statement's balance brought forward, a payment received or a deposit deduction
    settles it. The open receivable is the sum of a party's movements.
    """

    __tablename__ = "receivable_movements"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    party_id: Mapped[int] = mapped_column(ForeignKey("parties.id"), index=True)
    at_ms: Mapped[int] = mapped_column(BigInteger)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    # statement | brought_forward | payment | deposit
    kind: Mapped[str] = mapped_column(String(20))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("settlement_runs.id"), default=None)
    ref: Mapped[str] = mapped_column(String(200), default="")
    created_by: Mapped[str] = mapped_column(String(64), default="")


class ReferenceChange(Base):
    """Audit trail of finance's reference data: who changed what, when, and the value before.

    ``kind`` is the data kind (``prices``, ``fx``, ``programs``, ``targets``,
    ``deposits``, ``adjustments``...), ``key`` the natural key of the row changed;
    ``before_json`` is ``null`` for a new row.
    """

    __tablename__ = "reference_changes"
    __table_args__ = (Index("ix_reference_changes_kind_key", "kind", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    key: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(20))  # create | update | import | approve ...
    actor: Mapped[str] = mapped_column(String(64))
    at_ms: Mapped[int] = mapped_column(BigInteger)
    before_json: Mapped[str] = mapped_column(Text, default="null")
    after_json: Mapped[str] = mapped_column(Text, default="null")
    source: Mapped[str] = mapped_column(String(300), default="")  # page, cli, api, file name


class SettlementRun(Base):
    """One settlement of one period as of one checkpoint: draft -> approved -> posted."""

    __tablename__ = "settlement_runs"
    __table_args__ = (Index("ix_settlement_runs_period_kind", "period", "kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    period: Mapped[str] = mapped_column(String(7))
    kind: Mapped[str] = mapped_column(String(10))  # partial | final
    status: Mapped[str] = mapped_column(String(10), default="draft")
    tree_size: Mapped[int] = mapped_column(BigInteger)
    root_hex: Mapped[str] = mapped_column(String(64))
    program_versions_json: Mapped[str] = mapped_column(Text)  # [program_version ids]
    reporting_currency: Mapped[str] = mapped_column(String(3))
    run_hash: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(String(64))
    created_ms: Mapped[int] = mapped_column(BigInteger)
    approved_by: Mapped[str | None] = mapped_column(String(64), default=None)
    approved_ms: Mapped[int | None] = mapped_column(BigInteger, default=None)
    posted_by: Mapped[str | None] = mapped_column(String(64), default=None)
    posted_ms: Mapped[int | None] = mapped_column(BigInteger, default=None)
    superseded_by: Mapped[int | None] = mapped_column(Integer, default=None)
    note: Mapped[str] = mapped_column(Text, default="")
    # who acted, as users.id (no foreign key: settlement does not import web; the
    # *_by names are what pages show); the four-eyes
    # rule compares these, never names
    created_by_id: Mapped[int | None] = mapped_column(Integer, default=None)
    approved_by_id: Mapped[int | None] = mapped_column(Integer, default=None)
    posted_by_id: Mapped[int | None] = mapped_column(Integer, default=None)


class Statement(Base):
    """One party's statement in a run; ``total_minor`` is the sum of its lines."""

    __tablename__ = "statements"
    __table_args__ = (UniqueConstraint("run_id", "party_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("settlement_runs.id"), index=True)
    party_id: Mapped[int] = mapped_column(ForeignKey("parties.id"), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    partner_class: Mapped[str] = mapped_column(String(1))
    region: Mapped[str] = mapped_column(String(64), default="")
    total_minor: Mapped[int] = mapped_column(BigInteger)
    deposit_after_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    hash: Mapped[str] = mapped_column(String(64))
    # what the party owed when the run was made (a negative balance brought forward)
    opening_balance_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    # the FX rates the statement used: "1 EUR = 1.0840 USD (ECB, 2026-11-30)"; "" if none
    fx_note: Mapped[str] = mapped_column(Text, default="")


class StatementResponse(Base):
    """A distributor's answer to a posted statement: ``confirmed`` or ``disputed``."""

    __tablename__ = "statement_responses"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    statement_id: Mapped[int] = mapped_column(ForeignKey("statements.id"), unique=True, index=True)
    status: Mapped[str] = mapped_column(String(10))
    actor: Mapped[str] = mapped_column(String(64))
    at_ms: Mapped[int] = mapped_column(BigInteger)


class StatementDispute(Base):
    """One disputed line of a posted statement, with the distributor's reason.

    Finance resolves it by an adjustment in a later run (``adjusted``, the
    adjustment referenced) or a written rejection (``rejected``).
    """

    __tablename__ = "statement_disputes"
    __table_args__ = (UniqueConstraint("statement_id", "line_position"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    statement_id: Mapped[int] = mapped_column(ForeignKey("statements.id"), index=True)
    line_position: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default="open")  # open | adjusted | rejected
    created_by: Mapped[str] = mapped_column(String(64))
    created_ms: Mapped[int] = mapped_column(BigInteger)
    resolution: Mapped[str] = mapped_column(Text, default="")
    resolved_by: Mapped[str | None] = mapped_column(String(64), default=None)
    resolved_ms: Mapped[int | None] = mapped_column(BigInteger, default=None)
    adjustment_id: Mapped[int | None] = mapped_column(ForeignKey("adjustments.id"), default=None)


class StatementLine(Base):
    __tablename__ = "statement_lines"
    __table_args__ = (UniqueConstraint("statement_id", "position"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    statement_id: Mapped[int] = mapped_column(ForeignKey("statements.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    rule: Mapped[str] = mapped_column(String(64))
    category: Mapped[str] = mapped_column(String(20))
    basis: Mapped[str] = mapped_column(Text)
    rate: Mapped[str] = mapped_column(String(40))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    ref: Mapped[str] = mapped_column(String(64), default="")
    # units (volume) or value (minor units) a tier line pays on; 0 for other lines
    quantity: Mapped[int] = mapped_column(BigInteger, default=0)


class Adjustment(Base):
    """A correction to a posted run, paid as a line of the next run that picks it up."""

    __tablename__ = "adjustments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    party_id: Mapped[int] = mapped_column(ForeignKey("parties.id"), index=True)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    reason: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(64))
    created_ms: Mapped[int] = mapped_column(BigInteger)
    applied_run_id: Mapped[int | None] = mapped_column(
        ForeignKey("settlement_runs.id"), default=None
    )
    # pending until a second finance user approves it; only approved ones reach a run
    status: Mapped[str] = mapped_column(String(10), default="pending")
    approved_by: Mapped[str | None] = mapped_column(String(64), default=None)
    approved_ms: Mapped[int | None] = mapped_column(BigInteger, default=None)
    created_by_id: Mapped[int | None] = mapped_column(Integer, default=None)
    approved_by_id: Mapped[int | None] = mapped_column(Integer, default=None)


class IncidentCharge(Base):
    """What a posted run charged for one incident: one responsible party's findings
    about one unit in one period, whatever number of alerts they are in.

    A unit is fined once per incident; the charge keeps the escalation applied so
    that a later run can correct it when the incidents before it change (an alert
    dismissed, an appeal upheld).
    """

    __tablename__ = "incident_charges"
    __table_args__ = (UniqueConstraint("run_id", "party_id", "unit_id", "period"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("settlement_runs.id"), index=True)
    party_id: Mapped[int] = mapped_column(ForeignKey("parties.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    period: Mapped[str] = mapped_column(String(7))
    fine_minor: Mapped[int] = mapped_column(BigInteger)  # >= 0, what was charged
    forfeit_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    currency: Mapped[str] = mapped_column(String(3))
    # the rebate this unit earned in a posted run was clawed back (once per unit)
    clawed: Mapped[bool] = mapped_column(Boolean, default=False)
    # the unit's fine before escalation, exact, in ``currency`` when first charged:
    # later corrections of the escalation step reuse it, so FX drift is never charged
    base_fine: Mapped[str] = mapped_column(String(40), default="")


class Seal(Base):
    """A signed note over derived records the ledger does not cover itself.

    ``kind`` is ``settlement_run`` (``subject`` = run id: the run hash and a Merkle
    root over its statements' hashes, signed when the run is posted) or ``alerts``
    (``subject`` = the tree size detection ran at: a root over every alert's
    evidence hash). The note is a C2SP signed note by the ledger key, so an auditor
    checks it with the same public key as checkpoints.
    """

    __tablename__ = "seals"
    __table_args__ = (UniqueConstraint("kind", "subject"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    subject: Mapped[int] = mapped_column(BigInteger)
    note: Mapped[str] = mapped_column(Text)
    created_ms: Mapped[int] = mapped_column(BigInteger)
