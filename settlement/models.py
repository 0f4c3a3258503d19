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

__all__ = [
    "Adjustment",
    "Alert",
    "AlertEvent",
    "AlertFinding",
    "DepositMovement",
    "FxRate",
    "PartnerScore",
    "PriceList",
    "Product",
    "Program",
    "ProgramVersion",
    "SalesTarget",
    "SettlementRun",
    "Statement",
    "StatementLine",
    "TerritoryGrant",
    "WhistleblowerReport",
]


class Product(Base):
    __tablename__ = "products"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    gtin: Mapped[str] = mapped_column(String(14), unique=True)
    name: Mapped[str] = mapped_column(String(200))


class PriceList(Base):
    """List price of a product in one currency for one period: the value basis."""

    __tablename__ = "price_lists"
    __table_args__ = (UniqueConstraint("gtin", "currency", "period"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    gtin: Mapped[str] = mapped_column(String(14), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    period: Mapped[str] = mapped_column(String(7))  # YYYY-MM
    list_price_minor: Mapped[int] = mapped_column(BigInteger)


class TerritoryGrant(Base):
    """A party's right to sell in a territory from ``valid_from_ms`` until ``valid_to_ms``.

    Grants are never deleted: ending one sets ``valid_to_ms``, so old scans are
    judged against the grants of their own date.
    """

    __tablename__ = "territory_grants"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    party_id: Mapped[int] = mapped_column(ForeignKey("parties.id"), index=True)
    territory_code: Mapped[str] = mapped_column(String(64))
    valid_from_ms: Mapped[int] = mapped_column(BigInteger)
    valid_to_ms: Mapped[int | None] = mapped_column(BigInteger, default=None)


class SalesTarget(Base):
    """Units a distributor is expected to sell in (net) in a month: the KPI gate's target."""

    __tablename__ = "sales_targets"
    __table_args__ = (UniqueConstraint("party_id", "period"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    party_id: Mapped[int] = mapped_column(ForeignKey("parties.id"))
    period: Mapped[str] = mapped_column(String(7))
    units: Mapped[int] = mapped_column(BigInteger)


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
