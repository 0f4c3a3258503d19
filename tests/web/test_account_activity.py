"""The account audit trail: every sign-in event and every change to an account or token
is a row of ``account_events`` naming who did it, and administrators read it on the
"Account activity" page (paged, newest first, filtered by account and event)."""

from __future__ import annotations

import re
from collections.abc import Callable

from click.testing import Result
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from web.models import AccountEvent, ApiToken, User

Csrf = Callable[..., str]
LoginAs = Callable[..., FlaskClient]
MakeUser = Callable[..., int]
RunCli = Callable[..., Result]


def _events(engine: Engine, username: str) -> list[tuple[str, str, str]]:
    """(event, actor, address) of the account's events, oldest first."""
    with Session(engine) as session:
        rows = session.execute(
            select(AccountEvent.event, AccountEvent.actor, AccountEvent.address)
            .where(AccountEvent.username == username)
            .order_by(AccountEvent.id)
        )
        return [(e, a, addr) for e, a, addr in rows]


def _sign_in(client: FlaskClient, csrf: str, username: str, password: str) -> int:
    data = {"username": username, "password": password, "csrf_token": csrf}
    return client.post("/login", data=data).status_code


def test_failed_sign_ins_a_lockout_and_an_admins_unlock_are_recorded(
    app: Flask,
    engine: Engine,
    client: FlaskClient,
    make_user: MakeUser,
    login_as: LoginAs,
    csrf_token: Csrf,
) -> None:
    app.config["LOCKOUT_FAILURES"] = 2
    ana_id = make_user("ana", "auditor")
    csrf = csrf_token("/login")
    assert _sign_in(client, csrf, "nobody", "wrong password") == 401
    assert _sign_in(client, csrf, "ana", "wrong password") == 401
    assert _sign_in(client, csrf, "ana", "wrong password") == 423
    assert _events(engine, "nobody") == [("sign-in-failed", "nobody", "127.0.0.1")]
    assert _events(engine, "ana") == [
        ("user-created", "cli", ""),
        ("sign-in-failed", "ana", "127.0.0.1"),
        ("sign-in-failed", "ana", "127.0.0.1"),
        ("account-locked", "ana", "127.0.0.1"),
    ]

    admin = login_as("admin", username="root", on=app.test_client())
    unlocked = admin.post(
        f"/admin/users/{ana_id}/unlock", data={"csrf_token": csrf_token("/", on=admin)}
    )
    assert unlocked.status_code == 302
    assert _events(engine, "ana")[-1] == ("account-unlocked", "root", "127.0.0.1")


def test_a_password_change_and_a_two_factor_reset_name_who_did_them(
    app: Flask,
    engine: Engine,
    client: FlaskClient,
    login_as: LoginAs,
    csrf_token: Csrf,
    user_password: str,
) -> None:
    login_as("finance", username="fay")
    new = "violet tram under quiet harbour"
    changed = client.post(
        "/account/password",
        data={
            "current": user_password,
            "new": new,
            "repeat": new,
            "csrf_token": csrf_token("/account/password"),
        },
    )
    assert changed.status_code == 302
    admin = login_as("admin", username="root", on=app.test_client())
    with Session(engine) as session:
        fay_id = session.scalar(select(User.id).where(User.username == "fay"))
    reset = admin.post(
        f"/admin/users/{fay_id}/reset-two-factor", data={"csrf_token": csrf_token("/", on=admin)}
    )
    assert reset.status_code == 302
    events = _events(engine, "fay")
    assert ("password-changed", "fay", "127.0.0.1") in events
    assert events[-1] == ("two-factor-reset", "root", "127.0.0.1")


def test_users_and_tokens_made_and_revoked_on_the_command_line_and_the_page(
    app: Flask,
    engine: Engine,
    run_cli: RunCli,
    login_as: LoginAs,
    csrf_token: Csrf,
    user_password: str,
) -> None:
    made = run_cli(
        "user", "create", "ivy", "--role", "auditor", "--password-stdin", input=user_password
    )
    assert made.exit_code == 0, made.output
    cli_token = run_cli("token", "create", "--role", "auditor", "--user", "ivy")
    assert cli_token.exit_code == 0, cli_token.output
    token_id = int(re.search(r"token (\d+):", cli_token.output).group(1))  # type: ignore[union-attr]
    assert run_cli("token", "revoke", str(token_id)).exit_code == 0
    assert run_cli("token", "create", "--role", "warehouse").exit_code == 0

    admin = login_as("admin", username="root", on=app.test_client())
    created = admin.post(
        "/admin/tokens",
        data={
            "role": "auditor",
            "user": "ivy",
            "csrf_token": csrf_token("/admin/tokens", on=admin),
        },
    )
    assert created.status_code == 201
    with Session(engine) as session:
        page_token = session.scalar(select(ApiToken.id).order_by(ApiToken.id.desc()).limit(1))
    revoked = admin.post(
        f"/admin/tokens/{page_token}/revoke", data={"csrf_token": csrf_token("/", on=admin)}
    )
    assert revoked.status_code == 302
    # revoking again changes nothing, so records nothing
    admin.post(f"/admin/tokens/{page_token}/revoke", data={"csrf_token": csrf_token("/", on=admin)})

    assert _events(engine, "ivy") == [
        ("user-created", "cli", ""),
        ("token-created", "cli", ""),
        ("token-revoked", "cli", ""),
        ("token-created", "root", "127.0.0.1"),
        ("token-revoked", "root", "127.0.0.1"),
    ]
    assert _events(engine, "service:warehouse") == [
        ("user-created", "cli", ""),
        ("token-created", "cli", ""),
    ]


def test_the_activity_page_pages_newest_first_and_filters(
    engine: Engine, login_as: LoginAs
) -> None:
    with Session(engine) as session:
        session.add_all(
            AccountEvent(
                at_ms=1_700_000_000_000 + i * 60_000,
                event="sign-in-failed",
                username="zed",
                actor="zed",
                address="10.0.0.7",
                detail=f'{{"reason": "wrong password", "try": {i}}}',
            )
            for i in range(55)
        )
        session.add(
            AccountEvent(
                at_ms=1_700_000_000_000,
                event="account-locked",
                username="amy",
                actor="amy",
                address="10.0.0.8",
                detail="{}",
            )
        )
        session.commit()
    admin = login_as("admin", username="root")
    first = admin.get("/admin/activity?username=zed").get_data(as_text=True)
    assert "1–50 of 55" in first and "try: 54" in first and "try: 4<" not in first
    assert first.index("try: 54") < first.index("try: 53")  # newest first
    assert "Sign-in failed" in first and "reason: wrong password" in first
    second = admin.get("/admin/activity?username=zed&page=2").get_data(as_text=True)
    assert "51–55 of 55" in second and "try: 4<" in second and "try: 5<" not in second
    assert "amy" not in first + second

    locked = admin.get("/admin/activity?event=account-locked").get_data(as_text=True)
    assert "Account locked" in locked and "10.0.0.8" in locked and "zed" not in locked
    assert "2023-11-14 22:13 UTC" in locked  # at_ms through the `when` filter
    everything = admin.get("/admin/activity").get_data(as_text=True)
    assert "root" in everything and 'href="/admin/activity"' in everything  # in the admin nav
    assert admin.get("/admin/activity?event=no-such-event").status_code == 400


def test_only_admins_see_the_activity(login_as: LoginAs, client: FlaskClient) -> None:
    assert client.get("/admin/activity").status_code == 302  # to the sign-in page
    login_as("auditor")
    assert client.get("/admin/activity").status_code == 403


def test_an_admin_manages_accounts_from_the_command_line(
    engine: Engine, make_user: Callable[..., int], run_cli: Callable[..., Result]
) -> None:
    """Unlock, deactivate, reactivate and reset two-factor without the admin pages
    (which themselves need a second factor), each audited as done by ``cli``."""
    uid = make_user("carla", "finance")
    with Session(engine) as s:
        s.execute(
            update(User).where(User.id == uid).values(locked_until_ms=2**53, totp_secret="A" * 32)
        )
        s.commit()
    for action, said in (
        ("unlock", "user carla unlocked"),
        ("deactivate", "user carla deactivated"),
        ("activate", "user carla reactivated"),
        ("reset-two-factor", "user carla has no second factor now"),
    ):
        done = run_cli("user", action, "carla")
        assert done.exit_code == 0, done.output
        assert said in done.output, done.output
    with Session(engine) as s:
        user = s.get(User, uid)
        assert user is not None
        assert (user.locked_until_ms, user.active, user.totp_secret) == (None, True, None)
        events = s.scalars(
            select(AccountEvent.event).where(
                AccountEvent.username == "carla", AccountEvent.actor == "cli"
            )
        ).all()
    assert {"account-unlocked", "user-deactivated", "user-reactivated", "two-factor-reset"} <= set(
        events
    ), events
    unknown = run_cli("user", "unlock", "nobody")
    assert unknown.exit_code == 1 and "no user is called 'nobody'" in unknown.output
