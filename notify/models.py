"""The outbox: every e-mail hopchain means to send, one row per recipient.

Declared on the ledger's :class:`~ledger.models.Base` so one metadata and one
Alembic history cover it. A row is written when an event is composed
(:mod:`notify.compose`) and changed only by delivery (:func:`notify.deliver`):
``sent_ms`` once the SMTP server accepted it, else ``attempts`` and
``last_error`` (the reason in words). ``(kind, reference, recipient)`` is unique,
so composing the same event twice (a retried post, a rerun command) never queues
a second copy. Times are integer milliseconds since the Unix epoch (UTC).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ledger.models import Base

__all__ = ["OutboxMessage"]


class OutboxMessage(Base):
    """One e-mail to one address: its words are fixed when it is queued.

    ``kind`` is one of :data:`notify.compose.MESSAGE_KINDS`; ``reference`` names what
    it is about (``statement:12``, ``alert:7``); ``locale`` the Babel locale it is
    written in (the party's); ``attachment`` the bytes of the one attached file
    (a statement PDF), named ``attachment_name`` with the MIME type
    ``attachment_type``."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    reference: Mapped[str] = mapped_column(String(64))
    recipient: Mapped[str] = mapped_column(String(254))  # RFC 5321 §4.5.3.1.3 path limit
    party_id: Mapped[int | None] = mapped_column(Integer, index=True, default=None)
    locale: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(String(300))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str | None] = mapped_column(Text, default=None)
    attachment_name: Mapped[str | None] = mapped_column(String(200), default=None)
    attachment_type: Mapped[str | None] = mapped_column(String(100), default=None)
    attachment: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    created_ms: Mapped[int] = mapped_column(BigInteger, index=True)
    sent_ms: Mapped[int | None] = mapped_column(BigInteger, default=None)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)

    __table_args__ = (UniqueConstraint("kind", "reference", "recipient"),)
