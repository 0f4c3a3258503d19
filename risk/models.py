"""Tables of partner evaluation (issue 12): A/B/C class reviews with their weights
and manually entered indicators, and health scores.

A review combines the scorecard's ledger-derived indicators with indicators a
channel manager enters, each with its weight (weights versioned per year); a
confirmed review writes the class in force (``partners.models.PartnerClass``).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ledger.models import Base

__all__ = ["Base", "ClassReview", "HealthScore", "ReviewIndicator", "ReviewWeights"]


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
