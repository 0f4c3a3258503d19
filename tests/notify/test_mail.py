"""E-mail to partners in the partner's language (issue 11): a real SMTP server
(aiosmtpd) receives what ``hopchain mail send`` delivers after a run is posted in the
demo data and after an alert is confirmed; a server that refuses keeps the message
pending with the reason; nothing is ever queued or sent twice."""

from __future__ import annotations

import re
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from click.testing import Result
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session

import notify
import settlement
from ledger.models import Party
from settlement.models import Statement
from tests._worlds import DEMO_2026_09, Ran
from web.models import AccountEvent, User

Cli = Callable[..., Result]
World = Callable[..., list[Ran]]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class _Inbox:
    """What the test SMTP server accepted (or, with ``refuse``, refused)."""

    refuse: str | None = None
    messages: list[EmailMessage] = field(default_factory=list)
    rcpt_seen: int = 0

    async def handle_RCPT(  # aiosmtpd's hook names
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any
    ) -> str:
        self.rcpt_seen += 1
        if self.refuse:
            return self.refuse
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(msg, EmailMessage)
        self.messages.append(msg)
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp() -> Iterator[tuple[_Inbox, str]]:
    inbox = _Inbox()
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, f"smtp://127.0.0.1:{port}"
    finally:
        controller.stop()


def _demo(cli_world: World, engine: Engine) -> dict[str, str]:
    """The demo (4 distributors, September 2026), detected; returns the distributor
    users' party codes by username (the demo gives three distributors a user)."""
    init, made, detected = cli_world(*DEMO_2026_09)
    assert init.exit_code == 0
    assert made.exit_code == 0, made.output
    assert detected.exit_code == 0
    with Session(engine) as s:
        rows = s.execute(
            select(User.username, Party.code)
            .join(Party, Party.id == User.party_id)
            .where(User.role == "distributor")
            .order_by(User.username)
        ).all()
    return {str(u): str(c) for u, c in rows}


def _set(engine: Engine, username: str, email: str | None, locale: str | None) -> str:
    """Give ``username`` an e-mail address and its party ``locale``; returns the party code."""
    with Session(engine) as s, s.begin():
        user = s.scalars(select(User).where(User.username == username)).one()
        user.email = email
        party = s.get(Party, user.party_id)
        assert party is not None
        party.locale = locale
        return party.code


def _body(msg: EmailMessage) -> str:
    part = msg.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def _money(minor: int, ccy: str) -> str:
    """Minor units as English and Chinese both write them (CLDR: code first, comma
    thousands, dot decimals), written out by hand; the demo's currencies have cents
    except the yen."""
    sign = "-" if minor < 0 else ""
    if ccy == "JPY":
        return f"JPY {sign}{abs(minor):,}"
    whole, cents = divmod(abs(minor), 100)
    return f"{ccy} {sign}{whole:,}.{cents:02d}"


def test_a_posted_run_mails_each_party_in_its_language_once(
    run_cli: Cli, cli_world: World, engine: Engine, smtp: tuple[_Inbox, str]
) -> None:
    inbox, url = smtp
    users = _demo(cli_world, engine)
    zh_user, en_user, silent_user = sorted(users)
    zh_code = _set(engine, zh_user, "li.wei@example.cn", "zh_Hans_CN")
    en_code = _set(engine, en_user, "Ana.Silva@Example.com", "en")
    _set(engine, silent_user, None, "es")  # no address: told nothing

    made = run_cli("settle", "--period", "2026-09", "--as", "finance")
    assert made.exit_code == 0, made.output
    run_id = int(re.search(r"^run (\d+):", made.output, re.MULTILINE).group(1))  # type: ignore[union-attr]
    assert run_cli("settle", "approve", str(run_id), "--as", "finance2").exit_code == 0
    posted = run_cli("settle", "post", str(run_id), "--as", "finance")
    assert posted.exit_code == 0, posted.output
    assert "e-mails queued: 2, already queued before: 0" in posted.output
    # the fourth distributor has no user at all, the third a user without an address
    assert "2 parties have nobody with an e-mail address" in posted.output
    assert users[silent_user] in posted.output

    sent = run_cli("mail", "send", "--smtp", url)
    assert sent.exit_code == 0, sent.output
    assert "sent: 2, failed: 0" in sent.output
    by_to = {str(m["To"]): m for m in inbox.messages}
    assert set(by_to) == {"li.wei@example.cn", "Ana.Silva@Example.com"}

    with Session(engine) as s:
        totals = {
            code: (st_id, total, ccy)
            for code, st_id, total, ccy in s.execute(
                select(Party.code, Statement.id, Statement.total_minor, Statement.currency)
                .join(Party, Party.id == Statement.party_id)
                .where(Statement.run_id == run_id)
            )
        }

    zh = by_to["li.wei@example.cn"]
    st_id, total, ccy = totals[zh_code]
    assert str(zh["Subject"]) == "您的 2026-09 对账单已出具"
    assert zh["Content-Language"] == "zh-Hans-CN"
    text = _body(zh)
    assert f"合计 {_money(total, ccy)}" in text
    assert re.search(r"请于 \d{4}年\d{1,2}月\d{1,2}日 前", text), text  # Chinese date
    assert f"http://localhost:8000/partner/statements/{st_id}" in text
    for english in ("Hello", "statement", "respond", "total", "hopchain."):  # none left
        assert english not in text.replace(f"/partner/statements/{st_id}", ""), english
    pdf = next(zh.iter_attachments())
    assert pdf.get_filename() == f"statement-{st_id}-{zh_code}.pdf"
    assert pdf.get_content_type() == "application/pdf"
    assert pdf.get_content().startswith(b"%PDF")

    en = by_to["Ana.Silva@Example.com"]
    st_id, total, ccy = totals[en_code]
    assert str(en["Subject"]) == "Your statement for 2026-09 is ready"
    text = _body(en)
    assert f"total {_money(total, ccy)}, respond by 20" in text  # ISO date in English
    assert re.search(r"respond by \d{4}-\d{2}-\d{2}\.", text)
    assert next(en.iter_attachments()).get_filename() == f"statement-{st_id}-{en_code}.pdf"

    # Posting's e-mails queued again, and sent again: nothing new reaches anyone.
    again = run_cli("mail", "queue", "--run", str(run_id))
    assert again.exit_code == 0, again.output
    assert "e-mails queued: 0, already queued before: 2" in again.output
    resent = run_cli("mail", "send", "--smtp", url)
    assert resent.exit_code == 0 and "sent: 0, failed: 0" in resent.output
    assert len(inbox.messages) == 2

    listed = run_cli("mail", "list")
    assert listed.exit_code == 0
    assert listed.output.count("\tsent\t1\tstatement-ready\t") == 2
    assert "zh_Hans_CN\tli.wei@example.cn\t您的 2026-09 对账单已出具" in listed.output


def _queue_one(engine: Engine, recipient: str = "someone@example.com") -> int:
    with Session(engine) as s, s.begin():
        row = notify.OutboxMessage(
            kind=notify.STATEMENT_READY, reference="statement:1", recipient=recipient,
            locale="en", subject="Your statement", body_text="Hello", created_ms=1,
        )  # fmt: skip
        s.add(row)
        s.flush()
        return row.id


def test_a_refusing_server_keeps_the_message_pending_with_the_reason(
    engine: Engine, run_cli: Cli, smtp: tuple[_Inbox, str]
) -> None:
    inbox, url = smtp
    inbox.refuse = "550 5.1.1 mailbox unavailable"
    message_id = _queue_one(engine)

    failed = run_cli("mail", "send", "--smtp", url, "--max-attempts", "2")
    assert failed.exit_code == 1
    assert "1 message(s) not sent" in failed.output
    assert "refused the recipient" in failed.output and "550" in failed.output
    with Session(engine) as s:
        row = s.get(notify.OutboxMessage, message_id)
        assert row is not None
        assert row.sent_ms is None and row.attempts == 1
        assert row.last_error is not None
        assert "someone@example.com: 550 5.1.1 mailbox unavailable" in row.last_error

    # the second try is the last; a third send tries nothing more
    assert notify.deliver(engine, url, sender="a@example.com", max_attempts=2).given_up == 1
    seen = inbox.rcpt_seen
    assert notify.deliver(engine, url, sender="a@example.com", max_attempts=2).failed == 0
    assert inbox.rcpt_seen == seen
    rows, total = notify.page_outbox(engine, status="failed", max_attempts=2)
    assert total == 1 and rows[0].status == "failed" and rows[0].attempts == 2

    # a server that accepts now: a message with tries left goes, the given-up one waits
    inbox.refuse = None
    _queue_one(engine, "other@example.com")
    done = notify.deliver(engine, url, sender="a@example.com", max_attempts=2)
    assert (done.sent, done.failed) == (1, 0)
    assert [str(m["To"]) for m in inbox.messages] == ["other@example.com"]


def test_an_unreachable_server_counts_a_try_and_says_where(engine: Engine) -> None:
    message_id = _queue_one(engine)
    port = _free_port()  # nobody listens there
    done = notify.deliver(engine, f"smtp://127.0.0.1:{port}", sender="a@example.com")
    assert (done.sent, done.failed) == (0, 1)
    with Session(engine) as s:
        row = s.get(notify.OutboxMessage, message_id)
        assert row is not None and row.attempts == 1 and row.sent_ms is None
        assert f"could not reach the SMTP server 127.0.0.1:{port}" in (row.last_error or "")


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("http://mail.example.com", "must start with smtp:// or smtps://"),
        ("smtp://", "names no host"),
        ("smtp://mail.example.com:99999", "port is not a number"),
    ],
)
def test_a_wrong_smtp_url_is_named_before_anything_is_tried(
    engine: Engine, url: str, words: str
) -> None:
    message_id = _queue_one(engine)
    with pytest.raises(notify.NotifyError, match=words):
        notify.deliver(engine, url, sender="a@example.com")
    with Session(engine) as s:
        row = s.get(notify.OutboxMessage, message_id)
        assert row is not None and row.attempts == 0


def test_smtps_url_with_user_and_password() -> None:
    got = notify.parse_smtp_url("smtps://mailer:p%40ss@mail.example.com")
    assert got == notify.SmtpSettings("mail.example.com", 465, True, "mailer", "p@ss")
    assert notify.parse_smtp_url("smtp://relay:2525").port == 2525


def test_send_without_a_server_says_how_to_set_one(run_cli: Cli) -> None:
    result = run_cli("mail", "send")
    assert result.exit_code == 1
    assert "set HOPCHAIN_SMTP_URL" in result.output


def _token(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match
    return match.group(1)


def test_a_confirmed_alert_tells_the_party_without_internal_notes(
    cli_world: World, engine: Engine, app: Flask, login_as: Callable[..., FlaskClient]
) -> None:
    users = _demo(cli_world, engine)
    manager_view = settlement.Actor("t", "channel_manager")
    alert = None
    for username in sorted(users):
        with Session(engine) as s:
            party_id = s.scalar(select(User.party_id).where(User.username == username))
        found = settlement.list_alerts(engine, manager_view, party_id=party_id)
        if found:
            alert, user = found[0], username
            break
    assert alert is not None, "the demo raised no alert against a distributor with a user"
    code = _set(engine, user, "zhang@example.cn", "zh_Hans_CN")

    manager = login_as("channel_manager")
    url = f"/alerts/{alert.id}"
    token = _token(manager.get(url).get_data(as_text=True))
    manager.post(f"{url}/investigate", data={"csrf_token": token, "note": "ask the dealer"})
    manager.post(f"{url}/note", data={"csrf_token": token, "text": "INTERNAL: carla suspects"})
    done = manager.post(f"{url}/confirm", data={"csrf_token": token, "note": "INTERNAL verdict"})
    assert done.status_code == 302

    with Session(engine) as s:
        rows = s.scalars(select(notify.OutboxMessage)).all()
    assert [(r.kind, r.reference, r.recipient, r.locale) for r in rows] == [
        ("alert-confirmed", f"alert:{alert.id}:1", "zhang@example.cn", "zh_Hans_CN")
    ]
    msg = rows[0]
    assert msg.subject == f"窜货预警 {alert.id} 已确认"
    assert "INTERNAL" not in msg.body_text and "carla" not in msg.body_text
    assert f"http://localhost:8000/partner/alerts/{alert.id}" in msg.body_text
    assert alert.territory_code in msg.body_text and "2026-09" in msg.body_text
    from web.i18n import document_words

    with app.app_context(), Session(engine) as s:
        penalty = notify.penalty_words(s, "2026-09", document_words("zh_Hans_CN"))
    # the demo's program fines per unit, escalates and forfeits: the rule is told
    assert len(penalty) == 3 and all(sentence in msg.body_text for sentence in penalty)
    assert "对每件窜货产品罚款 EUR 25.00" in msg.body_text
    assert f"关于 {alert.territory_code} 区域 2026-09 期间" in msg.body_text
    # the party's locale chose Chinese, not the manager's pages (English)
    assert code and "Hello" not in msg.body_text


def test_people_set_their_address_and_admins_set_anyones(
    engine: Engine,
    client: FlaskClient,
    login_as: Callable[..., FlaskClient],
    make_user: Callable[..., int],
) -> None:
    person = login_as("distributor", party="DI-MAIL", username="dina")
    page = person.get("/account/preferences").get_data(as_text=True)
    person_token = _token(page)
    form = {"csrf_token": person_token, "locale": "en", "timezone": "UTC"}
    bad = person.post("/account/preferences", data={**form, "email": "dina@"})
    assert bad.status_code == 422
    assert "Enter an e-mail address such as name@example.com." in bad.get_data(as_text=True)
    ok = person.post("/account/preferences", data={**form, "email": " Dina@Example.COM "})
    assert ok.status_code == 302
    with Session(engine) as s:
        assert s.scalar(select(User.email).where(User.username == "dina")) == "Dina@example.com"

    from flask.testing import FlaskClient as _Client

    admin = login_as("admin", on=_Client(client.application, use_cookies=True))
    users_page = admin.get("/admin/users").get_data(as_text=True)
    assert 'value="Dina@example.com"' in users_page
    with Session(engine) as s:
        dina = s.scalars(select(User).where(User.username == "dina")).one()
    token = _token(users_page)
    refused = admin.post(f"/admin/users/{dina.id}/email", data={"csrf_token": token, "email": "x"})
    assert refused.status_code == 422
    cleared = admin.post(f"/admin/users/{dina.id}/email", data={"csrf_token": token, "email": ""})
    assert cleared.status_code == 302
    with Session(engine) as s:
        assert s.scalar(select(User.email).where(User.id == dina.id)) is None
        audited = s.scalar(
            select(func.count())
            .select_from(AccountEvent)
            .where(AccountEvent.event == "email-changed", AccountEvent.user_id == dina.id)
        )
    assert audited == 1
    # only administrators change other people's addresses
    denied = person.post(f"/admin/users/{dina.id}/email", data={"csrf_token": person_token})
    assert denied.status_code == 403


def test_the_outbox_page_is_for_administrators_and_pages_its_list(
    engine: Engine, login_as: Callable[..., FlaskClient], client: FlaskClient
) -> None:
    with Session(engine) as s, s.begin():
        for n in range(55):
            s.add(
                notify.OutboxMessage(
                    kind=notify.STATEMENT_READY, reference=f"statement:{n}",
                    recipient=f"p{n}@example.com", locale="zh_Hans_CN", subject=f"对账单 {n}",
                    body_text="…", created_ms=1_700_000_000_000 + n,
                )
            )  # fmt: skip
        s.flush()
        given_up = dict(attempts=notify.DEFAULT_MAX_ATTEMPTS, last_error="the SMTP server x:25 refused the recipient")  # fmt: skip
        s.execute(update(notify.OutboxMessage).where(notify.OutboxMessage.recipient == "p0@example.com").values(**given_up))  # fmt: skip
    assert login_as("finance").get("/admin/outbox").status_code == 403

    from flask.testing import FlaskClient as _Client

    admin = login_as("admin", on=_Client(client.application, use_cookies=True))
    first = admin.get("/admin/outbox").get_data(as_text=True)
    assert "p54@example.com" in first and "p4@example.com" not in first  # newest first, 50
    second = admin.get("/admin/outbox?page=2").get_data(as_text=True)
    assert "p4@example.com" in second and "refused the recipient" in second
    assert admin.get("/admin/outbox?status=lost").status_code == 400
    failed = admin.get("/admin/outbox?status=failed").get_data(as_text=True)
    assert "p0@example.com" in failed and "p1@example.com" not in failed
    assert "failed (no more tries)" in failed
    pending = admin.get("/admin/outbox?status=pending&page=2").get_data(as_text=True)
    assert "p1@example.com" in pending and "p0@example.com" not in pending
    assert 'href="/admin/outbox"' in admin.get("/").get_data(as_text=True)  # in the navigation
