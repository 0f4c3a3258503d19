"""Credit alerts by e-mail (issue 13): an invoice overdue 30 days mails finance and
the channel manager what the threshold asks for, through a real SMTP server
(aiosmtpd), in each person's language; running the check again sends nothing new;
the 60-day crossing later sends a second; a threshold without e-mail sends none."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from email.message import EmailMessage

import pytest
from click.testing import Result
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from notify.models import OutboxMessage
from risk import thresholds as th
from risk.payments import record_invoice
from tests.credit._watch_world import FINANCE, Watch, make_watch
from tests.notify.test_mail import _Inbox, smtp  # noqa: F401  (the SMTP server fixture)

Cli = Callable[..., Result]


@pytest.fixture
def watch(engine: Engine, make_user: Callable[..., int]) -> Iterator[Watch]:
    w = make_watch(engine, make_user)
    # EUR 1,234.56 = 123456 minor units, due 2026-10-01
    record_invoice(
        engine, w.d1, "INV-42", issued_on="2026-09-01", due_on="2026-10-01",
        amount_minor=123_456, description="display stands", actor=FINANCE,
    )  # fmt: skip
    yield w


def _body(msg: EmailMessage) -> str:
    part = msg.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def test_an_overdue_invoice_mails_finance_and_the_channel_manager_once(
    run_cli: Cli,
    watch: Watch,
    smtp: tuple[_Inbox, str],  # noqa: F811
) -> None:
    inbox, url = smtp
    done = run_cli(
        "credit", "check", "--on", "2026-10-31", "--send", "--smtp", url, "--as", "fiona"
    )
    assert done.exit_code == 0, done.output
    assert "new\t" in done.output and "\tD1\toverdue\tinvoice:INV-42|30" in done.output
    assert "e-mails queued: 2" in done.output and "sent: 2, failed: 0" in done.output
    by_to = {str(m["To"]): m for m in inbox.messages}
    # finance and the channel manager with an address; not the auditor nor the distributor
    assert set(by_to) == {"fiona@maker.example", "carl@maker.example"}
    msg = by_to["carl@maker.example"]
    assert "Item overdue" in str(msg["Subject"]) and "D1" in str(msg["Subject"])
    body = _body(msg)
    # 123456 minor units of EUR (2 decimals) = EUR 1,234.56; 2026-10-31 - 2026-10-01 = 30 days
    assert "Invoice INV-42 of D1 D1 Trading is 30 days overdue (due 2026-10-01)" in body
    assert "EUR 1,234.56 of EUR 1,234.56 is still open (threshold 30 days)" in body
    assert "/credit/alerts/" in body
    with Session(watch.engine) as s:
        locales = dict(
            (r, loc) for r, loc in s.execute(select(OutboxMessage.recipient, OutboxMessage.locale))
        )
    assert locales == {"fiona@maker.example": "zh_Hans_CN", "carl@maker.example": "en"}

    again = run_cli("credit", "check", "--on", "2026-11-02", "--send", "--smtp", url)
    assert again.exit_code == 0, again.output
    assert "0 new alerts" in again.output and "sent: 0" in again.output
    assert len(inbox.messages) == 2

    later = run_cli("credit", "check", "--on", "2026-11-30", "--send", "--smtp", url)
    assert later.exit_code == 0, later.output
    assert "\tD1\toverdue\tinvoice:INV-42|60" in later.output
    assert len(inbox.messages) == 4
    sixty = _body(next(m for m in inbox.messages[2:] if str(m["To"]) == "carl@maker.example"))
    assert "is 60 days overdue" in sixty and "(threshold 60 days)" in sixty


def test_a_threshold_without_email_raises_the_alert_but_mails_nobody(
    run_cli: Cli,
    watch: Watch,
    smtp: tuple[_Inbox, str],  # noqa: F811
) -> None:
    inbox, url = smtp
    th.set_threshold(watch.engine, FINANCE, "overdue", 30, emails=False)
    done = run_cli("credit", "check", "--on", "2026-10-31", "--send", "--smtp", url)
    assert done.exit_code == 0, done.output
    assert "invoice:INV-42|30" in done.output and "e-mails queued: 0" in done.output
    assert inbox.messages == []


def test_without_send_the_mail_waits_in_the_outbox(run_cli: Cli, watch: Watch) -> None:
    done = run_cli("credit", "check", "--on", "2026-10-31")
    assert done.exit_code == 0, done.output
    assert "e-mails queued: 2" in done.output and "sent:" not in done.output
    listed = run_cli("mail", "list", "--status", "pending")
    assert listed.output.count("\tcredit-alert:1\t") == 2
