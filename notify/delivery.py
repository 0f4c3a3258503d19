"""Sending the outbox over SMTP, and reading it back.

:func:`deliver` sends every pending message (not sent, fewer than ``max_attempts``
tries) through one SMTP connection (Python's :mod:`smtplib`, messages built with
:mod:`email.message`), oldest first, and commits each outcome at once: ``sent_ms``
when the server accepted the message (RFC 5321 ``250``), else one more attempt and
the reason in words in ``last_error``. A message that failed ``max_attempts``
times is left alone (``failed``) until someone looks. Delivery is at least once:
a crash between the server's acceptance and the commit sends that one message
again next time; run one ``hopchain mail send`` at a time.

SMTP URLs: ``smtp://host[:port]`` (port 25, plain, STARTTLS when the server offers
it), ``smtps://[user:password@]host[:port]`` (port 465, TLS from the start);
``smtp://user:password@host:587`` signs in after STARTTLS. User and password are
percent-decoded (RFC 3986).
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from urllib.parse import unquote, urlsplit

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement

from notify.compose import NotifyError
from notify.models import OutboxMessage
from settlement.common import now_ms

__all__ = [
    "DEFAULT_MAX_ATTEMPTS",
    "OUTBOX_STATUSES",
    "Delivery",
    "OutboxRow",
    "SmtpSettings",
    "deliver",
    "normalize_address",
    "page_outbox",
    "parse_smtp_url",
]

#: Tries before a message is given up (each ``hopchain mail send`` is one try).
DEFAULT_MAX_ATTEMPTS = 5
#: ``pending`` (to be sent), ``sent``, ``failed`` (tried ``max_attempts`` times).
OUTBOX_STATUSES = ("pending", "sent", "failed")
_TIMEOUT_S = 30
_MAX_ERROR = 1000


def normalize_address(text: str) -> str:
    """An e-mail address as people type it, checked and normalized by email-validator
    (RFC 5322 / RFC 6531 syntax; the domain is not looked up): ``" Ana@Example.COM "``
    -> ``"Ana@example.com"``. Raises :class:`NotifyError` with the validator's reason."""
    try:
        return str(validate_email(text.strip(), check_deliverability=False).normalized)
    except EmailNotValidError as exc:
        raise NotifyError(f"{text.strip()!r} is not an e-mail address: {exc}") from None


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    """Where to send: ``tls`` True for smtps (TLS from the first byte)."""

    host: str
    port: int
    tls: bool
    username: str | None
    password: str | None


def parse_smtp_url(url: str) -> SmtpSettings:
    """``smtp://host:port`` or ``smtps://user:pass@host:port`` (see the module's text).
    Raises :class:`NotifyError` naming what is wrong with the URL."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("smtp", "smtps"):
        raise NotifyError(
            f"the SMTP URL must start with smtp:// or smtps://, got {parts.scheme or 'nothing'!r}"
        )
    if not parts.hostname:
        raise NotifyError("the SMTP URL names no host (smtp://host:port)")
    try:
        port = parts.port
    except ValueError:
        raise NotifyError("the SMTP URL's port is not a number from 1 to 65535") from None
    tls = parts.scheme == "smtps"
    return SmtpSettings(
        host=parts.hostname,
        port=port or (465 if tls else 25),
        tls=tls,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )


@dataclass(frozen=True, slots=True)
class Delivery:
    """One :func:`deliver`: messages ``sent``, ``failed`` this time (kept pending with
    their error, or given up when that was their last try), and ``given_up``: how
    many of those just reached ``max_attempts``."""

    sent: int
    failed: int
    given_up: int


def _message(row: OutboxMessage, sender: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = row.recipient
    msg["Subject"] = row.subject
    msg["Date"] = formatdate(row.created_ms / 1000, usegmt=True)
    msg["Message-ID"] = make_msgid("hopchain.outbox." + str(row.id))
    msg.set_content(row.body_text)
    if row.body_html:
        msg.add_alternative(row.body_html, subtype="html")
    if row.attachment is not None and row.attachment_name:
        maintype, _, subtype = (row.attachment_type or "application/octet-stream").partition("/")
        msg.add_attachment(
            row.attachment, maintype=maintype, subtype=subtype, filename=row.attachment_name
        )
    # RFC 3282, a BCP 47 tag; set last: making the message multipart moves the
    # Content-* headers set before into its first part
    msg["Content-Language"] = row.locale.replace("_", "-")
    return msg


def _said(answer: bytes | str) -> str:
    return answer.decode(errors="replace") if isinstance(answer, bytes) else answer


def _reason(exc: BaseException, settings: SmtpSettings) -> str:
    """An SMTP failure in words (kept in ``last_error``)."""
    where = f"{settings.host}:{settings.port}"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        said = "; ".join(
            f"{addr}: {code} {_said(text)}" for addr, (code, text) in exc.recipients.items()
        )
        text = f"the SMTP server {where} refused the recipient ({said})"
    elif isinstance(exc, smtplib.SMTPSenderRefused):
        answer = _said(exc.smtp_error)
        text = f"the SMTP server {where} refused the sender {exc.sender} ({exc.smtp_code} {answer})"
    elif isinstance(exc, smtplib.SMTPAuthenticationError):
        text = f"the SMTP server {where} refused the user name or password ({exc.smtp_code})"
    elif isinstance(exc, smtplib.SMTPResponseException):
        answer = _said(exc.smtp_error)
        text = f"the SMTP server {where} refused the message ({exc.smtp_code} {answer})"
    elif isinstance(exc, smtplib.SMTPException):
        text = f"the SMTP conversation with {where} failed: {exc}"
    else:
        text = f"could not reach the SMTP server {where}: {exc}"
    return text[:_MAX_ERROR]


def _connect(settings: SmtpSettings) -> smtplib.SMTP:
    context = ssl.create_default_context()
    smtp: smtplib.SMTP
    if settings.tls:
        smtp = smtplib.SMTP_SSL(settings.host, settings.port, timeout=_TIMEOUT_S, context=context)
    else:
        smtp = smtplib.SMTP(settings.host, settings.port, timeout=_TIMEOUT_S)
        smtp.ehlo()
        if smtp.has_extn("starttls"):
            smtp.starttls(context=context)
            smtp.ehlo()
    if settings.username:
        smtp.login(settings.username, settings.password or "")
    return smtp


def _pending(max_attempts: int) -> list[ColumnElement[bool]]:
    return [OutboxMessage.sent_ms.is_(None), OutboxMessage.attempts < max_attempts]


def deliver(
    engine: Engine,
    smtp_url: str,
    *,
    sender: str,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    on_progress: Callable[[int, int], None] | None = None,
) -> Delivery:
    """Send the pending messages over ``smtp_url`` from ``sender`` (an address, or
    ``"Name <address>"``; ``hopchain@localhost`` is fine for a local relay).

    ``on_progress(done, total)`` hears each message. A server that cannot be reached
    counts one failed try for every pending message, with the reason. Raises
    :class:`NotifyError` for a wrong URL, sender or ``max_attempts`` (< 1) before
    anything is tried."""
    settings = parse_smtp_url(smtp_url)
    _, address = parseaddr(sender)
    if "@" not in address or "\r" in sender or "\n" in sender:
        raise NotifyError(
            f"the sender {sender!r} is not an address like hopchain@example.com"
            " or 'hopchain <noreply@example.com>'"
        )
    if max_attempts < 1:
        raise NotifyError(f"max_attempts must be at least 1, got {max_attempts}")
    with Session(engine) as s:
        ids = list(
            s.scalars(
                select(OutboxMessage.id).where(*_pending(max_attempts)).order_by(OutboxMessage.id)
            )
        )
    sent = failed = given_up = 0
    smtp: smtplib.SMTP | None = None
    connect_error: str | None = None
    try:
        for done, message_id in enumerate(ids, 1):
            with Session(engine) as s, s.begin():
                row = s.get(OutboxMessage, message_id)
                if row is None or row.sent_ms is not None or row.attempts >= max_attempts:
                    continue  # another sender took it meanwhile
                row.attempts += 1
                error = connect_error
                if error is None:
                    try:
                        if smtp is None:
                            smtp = _connect(settings)
                        smtp.send_message(_message(row, sender))
                    except (smtplib.SMTPException, OSError) as exc:
                        error = _reason(exc, settings)
                        if smtp is None:  # could not connect: no use trying the others
                            connect_error = error
                        elif isinstance(exc, smtplib.SMTPServerDisconnected | OSError):
                            smtp = None  # reconnect for the next one
                if error is None:
                    row.sent_ms = now_ms()
                    row.last_error = None
                    sent += 1
                else:
                    row.last_error = error
                    failed += 1
                    given_up += row.attempts >= max_attempts
            if on_progress is not None:
                on_progress(done, len(ids))
    finally:
        if smtp is not None:
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                smtp.close()
    return Delivery(sent, failed, given_up)


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """One outbox message without its body, for lists. ``status`` is one of
    :data:`OUTBOX_STATUSES`."""

    id: int
    kind: str
    reference: str
    recipient: str
    locale: str
    subject: str
    created_ms: int
    sent_ms: int | None
    attempts: int
    last_error: str | None
    attachment_name: str | None
    status: str


def page_outbox(
    engine: Engine,
    *,
    status: str = "",
    offset: int = 0,
    limit: int = 50,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
) -> tuple[list[OutboxRow], int]:
    """The outbox, newest first, optionally only one status: ``(rows, total)``.
    Raises :class:`NotifyError` for a status not in :data:`OUTBOX_STATUSES`."""
    if status and status not in OUTBOX_STATUSES:
        raise NotifyError(f"status must be one of {', '.join(OUTBOX_STATUSES)}, got {status!r}")
    where: list[ColumnElement[bool]] = []
    if status == "sent":
        where = [OutboxMessage.sent_ms.is_not(None)]
    elif status == "pending":
        where = _pending(max_attempts)
    elif status == "failed":
        where = [OutboxMessage.sent_ms.is_(None), OutboxMessage.attempts >= max_attempts]
    with Session(engine) as s:
        total = s.scalar(select(func.count()).select_from(OutboxMessage).where(*where))
        rows = s.scalars(
            select(OutboxMessage)
            .where(*where)
            .order_by(OutboxMessage.id.desc())
            .offset(offset)
            .limit(limit)
        ).all()
        return [
            OutboxRow(
                id=r.id, kind=r.kind, reference=r.reference, recipient=r.recipient,
                locale=r.locale, subject=r.subject, created_ms=r.created_ms, sent_ms=r.sent_ms,
                attempts=r.attempts, last_error=r.last_error, attachment_name=r.attachment_name,
                status="sent" if r.sent_ms is not None
                else "failed" if r.attempts >= max_attempts else "pending",
            )
            for r in rows
        ], int(total or 0)  # fmt: skip
