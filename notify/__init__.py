"""E-mails to partners, in the partner's language: the outbox, composing, delivery.

Events queue messages (:func:`compose_statements_ready` after a run is posted,
:func:`compose_alert_confirmed` after an alert is confirmed) into the ``outbox``
table (:class:`OutboxMessage`); :func:`deliver` sends them over SMTP
(``hopchain mail send``). This package imports ``ledger`` and ``settlement``, never
``web`` (and ``risk`` for credit alerts, :func:`compose_credit_alerts`): the web layer passes the recipients' addresses and the catalogues' words.
"""

from notify.compose import (
    ALERT_CONFIRMED,
    CREDIT_ALERT,
    CREDIT_ALERT_KIND_WORDS,
    CREDIT_ALERT_ROLES,
    MESSAGE_KINDS,
    RESPONSE_DAYS,
    STATEMENT_READY,
    Composed,
    CreditRecipient,
    NotifyError,
    compose_alert_confirmed,
    compose_credit_alerts,
    compose_statements_ready,
    credit_alert_sentence,
    penalty_words,
)
from notify.delivery import (
    DEFAULT_MAX_ATTEMPTS,
    OUTBOX_STATUSES,
    Delivery,
    OutboxRow,
    SmtpSettings,
    deliver,
    normalize_address,
    page_outbox,
    parse_smtp_url,
)
from notify.models import OutboxMessage

__all__ = [
    "ALERT_CONFIRMED",
    "CREDIT_ALERT",
    "CREDIT_ALERT_KIND_WORDS",
    "CREDIT_ALERT_ROLES",
    "DEFAULT_MAX_ATTEMPTS",
    "MESSAGE_KINDS",
    "OUTBOX_STATUSES",
    "RESPONSE_DAYS",
    "STATEMENT_READY",
    "Composed",
    "CreditRecipient",
    "Delivery",
    "NotifyError",
    "OutboxMessage",
    "OutboxRow",
    "SmtpSettings",
    "compose_alert_confirmed",
    "compose_credit_alerts",
    "compose_statements_ready",
    "credit_alert_sentence",
    "deliver",
    "normalize_address",
    "page_outbox",
    "parse_smtp_url",
    "penalty_words",
]
