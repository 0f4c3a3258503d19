"""People are who they say (issue 9, items 8, 9 and 13): server-side sessions that end,
rate limits and lockout against guessing, a password rule with reasons, Secure
cookies and HSTS outside development."""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from flask import Flask
from flask.testing import FlaskClient
from flask_login.utils import encode_cookie  # type: ignore[import-untyped]
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from web import accounts, create_app
from web.account.passwords import password_problem
from web.auth import DEFAULT_LIMITS
from web.cli import CliState, _is_loopback, build_cli
from web.db import get_engine
from web.models import User, UserSession

Csrf = Callable[..., str]
MakeUser = Callable[..., int]
NEW_PASSWORD = "violet tram under quiet harbour"


def _sign_in(
    client: FlaskClient,
    csrf: str,
    username: str,
    password: str,
    address: str = "127.0.0.1",
) -> TestResponse:
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf},
        environ_base={"REMOTE_ADDR": address},
    )


def _signed_in(client: FlaskClient) -> bool:
    return client.get("/api/v1/me").status_code == 200


def _cookie(client: FlaskClient, app: Flask) -> str:
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    assert cookie is not None, "no session cookie"
    return cookie.value


def _user_id(engine: Engine, username: str) -> int:
    with Session(engine) as session:
        found = session.scalar(select(User.id).where(User.username == username))
    assert found is not None
    return found


# --- item 8: sessions end -------------------------------------------------------------


def test_a_copied_cookie_fails_after_logout(
    app: Flask, login_as: Callable[..., FlaskClient], csrf_token: Csrf
) -> None:
    owner = login_as("auditor", username="olga", on=app.test_client())
    thief = app.test_client()
    thief.set_cookie(app.config["SESSION_COOKIE_NAME"], _cookie(owner, app))
    assert _signed_in(thief)  # the copy works while the session is live ...
    assert owner.post("/logout", data={"csrf_token": csrf_token("/", on=owner)}).status_code == 302
    assert not _signed_in(owner)
    assert not _signed_in(thief)  # ... and not after sign-out
    assert thief.get("/").status_code == 302


def test_the_cookie_carries_a_random_session_id_stored_only_as_its_hash(
    app: Flask, engine: Engine, login_as: Callable[..., FlaskClient]
) -> None:
    browser = login_as("warehouse", username="wes")
    serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
    session_id = serializer.loads(_cookie(browser, app))["_user_id"]
    assert len(session_id) >= 40 and session_id != str(_user_id(engine, "wes"))
    with Session(engine) as session:
        rows = session.scalars(select(UserSession)).all()
    assert [r.token_hash for r in rows] == [hashlib.sha256(session_id.encode()).hexdigest()]
    assert rows[0].user_id == _user_id(engine, "wes") and rows[0].address == "127.0.0.1"


def test_a_remember_cookie_signs_no_one_in(
    app: Flask, engine: Engine, login_as: Callable[..., FlaskClient], csrf_token: Csrf
) -> None:
    browser = login_as("auditor", username="rita")
    serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
    session_id = serializer.loads(_cookie(browser, app))["_user_id"]
    browser.post("/logout", data={"csrf_token": csrf_token("/", on=browser)})
    with app.app_context():
        forged = [encode_cookie(str(_user_id(engine, "rita"))), encode_cookie(session_id)]
    for value in forged:  # Flask-Login's "remember me": a user id, or the ended session's id
        stranger = app.test_client()
        stranger.set_cookie("remember_token", value)
        assert not _signed_in(stranger), value


def test_password_change_ends_the_other_sessions_but_not_api_tokens(
    app: Flask,
    engine: Engine,
    make_user: MakeUser,
    csrf_token: Csrf,
    user_password: str,
    bearer: Callable[..., dict[str, str]],
) -> None:
    make_user("cm", "channel_manager")
    token = bearer("channel_manager", user="cm")
    laptop, phone = app.test_client(), app.test_client()
    for browser in (laptop, phone):
        assert _sign_in(browser, csrf_token(on=browser), "cm", user_password).status_code == 302
    changed = laptop.post(
        "/account/password",
        data={
            "current": user_password,
            "new": NEW_PASSWORD,
            "repeat": NEW_PASSWORD,
            "csrf_token": csrf_token("/account/password", on=laptop),
        },
        follow_redirects=True,
    )
    assert changed.status_code == 200
    assert "Your password is changed. 1 other session(s)" in changed.get_data(as_text=True)
    assert _signed_in(laptop)  # the browser that changed it got a new session
    assert not _signed_in(phone)
    assert _sign_in(phone, csrf_token(on=phone), "cm", user_password).status_code == 401
    assert _sign_in(phone, csrf_token(on=phone), "cm", NEW_PASSWORD).status_code == 302
    assert app.test_client().get("/api/v1/me", headers=token).status_code == 200


def test_password_change_page_says_what_is_wrong(
    login_as: Callable[..., FlaskClient], csrf_token: Csrf, user_password: str
) -> None:
    browser = login_as("distributor", party="D-EAST", username="dora")
    assert "Change password" in browser.get("/").get_data(as_text=True)  # in every role's nav
    cases = (
        ("not my password", NEW_PASSWORD, NEW_PASSWORD, "The current password is not right."),
        (user_password, NEW_PASSWORD, NEW_PASSWORD + "x", "The two new passwords differ."),
        (user_password, "aaaaaaaaaa", "aaaaaaaaaa", "Repeats like"),
        (user_password, "dora123456", "dora123456", "should not contain your username"),
        (user_password, "short", "short", "at least 10 characters"),
    )
    for current, new, repeat, reason in cases:
        page = browser.post(
            "/account/password",
            data={
                "current": current,
                "new": new,
                "repeat": repeat,
                "csrf_token": csrf_token("/account/password", on=browser),
            },
        )
        assert page.status_code == 422, reason
        assert reason in page.get_data(as_text=True), reason
    assert _signed_in(browser)


def test_deactivation_ends_sessions_and_refuses_tokens(
    app: Flask,
    engine: Engine,
    login_as: Callable[..., FlaskClient],
    make_user: MakeUser,
    csrf_token: Csrf,
    user_password: str,
    bearer: Callable[..., dict[str, str]],
) -> None:
    lena_id = make_user("lena", "auditor")
    token = bearer("auditor", user="lena")
    lena = app.test_client()
    _sign_in(lena, csrf_token(on=lena), "lena", user_password)
    admin = login_as("admin", on=app.test_client())
    admin.post(f"/admin/users/{lena_id}/deactivate", data={"csrf_token": csrf_token("/", on=admin)})
    assert not _signed_in(lena)
    assert app.test_client().get("/api/v1/me", headers=token).status_code == 401
    with Session(engine) as session:
        rows = session.scalars(select(UserSession).where(UserSession.user_id == lena_id)).all()
    assert rows and all(r.revoked_ms is not None for r in rows)
    admin.post(f"/admin/users/{lena_id}/reactivate", data={"csrf_token": csrf_token("/", on=admin)})
    assert not _signed_in(lena)  # a revoked session stays ended
    assert app.test_client().get("/api/v1/me", headers=token).status_code == 200


@pytest.mark.parametrize("column", ["last_seen_ms", "expires_ms"])
def test_idle_and_expired_sessions_end(
    app: Flask, engine: Engine, login_as: Callable[..., FlaskClient], column: str
) -> None:
    browser = login_as("auditor")
    assert _signed_in(browser)
    now = time.time_ns() // 1_000_000
    # idle for just over the timeout, or past the absolute lifetime
    value = now - app.config["SESSION_IDLE_SECONDS"] * 1000 - 1 if column == "last_seen_ms" else now
    with Session(engine) as session, session.begin():
        session.execute(update(UserSession).values({column: value}))
    assert not _signed_in(browser)
    assert browser.get("/").status_code == 302


def test_a_session_lives_its_configured_lifetime(
    app: Flask, engine: Engine, login_as: Callable[..., FlaskClient]
) -> None:
    app.config.update(SESSION_LIFETIME_SECONDS=600, SESSION_IDLE_SECONDS=300)
    login_as("auditor")
    with Session(engine) as session:
        row = session.scalars(select(UserSession)).one()
    assert row.expires_ms - row.created_ms == 600_000


# --- item 9: guessing is slowed, then stopped ----------------------------------------


def test_150_wrong_guesses_then_the_right_password_does_not_sign_in(
    app: Flask, engine: Engine, client: FlaskClient, make_user: MakeUser, user_password: str
) -> None:
    assert app.config["LOGIN_LIMITS_PER_ACCOUNT"] == DEFAULT_LIMITS["LOGIN_LIMITS_PER_ACCOUNT"]
    make_user("ana", "auditor")
    csrf = _csrf(client)
    statuses = [_sign_in(client, csrf, "ana", f"guess {i}").status_code for i in range(150)]
    assert statuses[:4] == [401] * 4
    assert statuses[4] == 423  # the fifth failure locks the account
    assert set(statuses[5:]) <= {423, 429} and 429 in statuses
    assert _sign_in(client, csrf, "ana", user_password).status_code in (423, 429)
    assert not _signed_in(client)
    with Session(engine) as session:
        locked = session.scalar(select(User.locked_until_ms).where(User.username == "ana"))
    assert locked is not None and locked > time.time_ns() // 1_000_000


def test_lockout_says_until_when_and_an_admin_unlocks(
    app: Flask,
    engine: Engine,
    client: FlaskClient,
    make_user: MakeUser,
    login_as: Callable[..., FlaskClient],
    csrf_token: Csrf,
    user_password: str,
) -> None:
    app.config["LOGIN_LIMITS_PER_ACCOUNT"] = "1000 per minute"  # lockout alone, no rate limit
    ana_id = make_user("ana", "auditor")
    csrf = _csrf(client)
    for _ in range(5):
        _sign_in(client, csrf, "ana", "wrong password")
    refused = _sign_in(client, csrf, "ana", user_password)
    page = refused.get_data(as_text=True)
    assert refused.status_code == 423
    with Session(engine) as session:
        user = session.get(User, ana_id)
        assert user is not None and user.locked_until_ms is not None
        until = accounts.format_utc(user.locked_until_ms)
        minutes = (user.locked_until_ms - time.time_ns() // 1_000_000) / 60_000
    assert 14 < minutes <= 15
    assert f"locked until {until}" in page and "ask an administrator to unlock it" in page
    assert not _signed_in(client)

    admin = login_as("admin", on=app.test_client())
    users_page = admin.get("/admin/users").get_data(as_text=True)
    assert f"Locked until {until}" in users_page and "Unlock ana" in users_page
    unlocked = admin.post(
        f"/admin/users/{ana_id}/unlock", data={"csrf_token": csrf_token("/", on=admin)}
    )
    assert unlocked.status_code == 302
    assert _sign_in(client, csrf, "ana", user_password).status_code == 302


def test_a_lock_ends_by_itself(
    app: Flask, engine: Engine, client: FlaskClient, make_user: MakeUser, user_password: str
) -> None:
    make_user("ana", "auditor")
    past = time.time_ns() // 1_000_000 - 1
    with Session(engine) as session, session.begin():
        session.execute(update(User).where(User.username == "ana").values(locked_until_ms=past))
    assert _sign_in(client, _csrf(client), "ana", user_password).status_code == 302


def test_the_address_limit_spans_usernames(
    app: Flask, client: FlaskClient, make_user: MakeUser, user_password: str
) -> None:
    make_user("ana", "auditor")
    csrf = _csrf(client)
    per_minute = int(DEFAULT_LIMITS["LOGIN_LIMITS_PER_ADDRESS"].split()[0])
    names = [f"nobody{i}" for i in range(per_minute)]
    assert {_sign_in(client, csrf, name, "x").status_code for name in names} == {401}
    limited = _sign_in(client, csrf, "ana", user_password)
    assert limited.status_code == 429
    assert "Too many sign-in attempts" in limited.get_data(as_text=True)
    assert not _signed_in(client)
    elsewhere = app.test_client()  # another address is not held back
    assert (
        _sign_in(elsewhere, _csrf(elsewhere), "ana", user_password, "10.0.0.9").status_code == 302
    )


def test_the_account_limit_spans_addresses(
    app: Flask, client: FlaskClient, make_user: MakeUser, user_password: str
) -> None:
    app.config["LOCKOUT_FAILURES"] = 1000  # the rate limit alone
    make_user("ana", "auditor")
    csrf = _csrf(client)
    per_minute = int(DEFAULT_LIMITS["LOGIN_LIMITS_PER_ACCOUNT"].split()[0])
    for i in range(per_minute):
        assert _sign_in(client, csrf, "ana", "wrong", f"10.0.1.{i}").status_code == 401
    assert _sign_in(client, csrf, "ANA ", user_password, "10.0.2.1").status_code == 429
    assert _sign_in(client, csrf, "ana", user_password, "10.0.2.2").status_code == 429
    assert not _signed_in(client)


def test_sign_in_events_are_audited_with_who_and_where(
    client: FlaskClient,
    make_user: MakeUser,
    user_password: str,
    csrf_token: Csrf,
    caplog: pytest.LogCaptureFixture,
) -> None:
    make_user("ana", "auditor")
    csrf = _csrf(client)
    with caplog.at_level(logging.INFO, logger="hopchain.audit"):
        _sign_in(client, csrf, "ana", "wrong", "10.1.1.1")
        _sign_in(client, csrf, "ana", user_password, "10.1.1.2")
        client.post("/logout", data={"csrf_token": csrf_token("/")})
    lines = [r.getMessage() for r in caplog.records if r.name == "hopchain.audit"]
    failed = next(line for line in lines if line.startswith("sign-in-failed"))
    assert "user=ana" in failed and "address=10.1.1.1" in failed and "failures=1" in failed
    assert "at=20" in failed  # an ISO time
    assert any(
        line.startswith("signed-in user=ana") and "address=10.1.1.2" in line for line in lines
    )
    assert any(line.startswith("signed-out user=ana") for line in lines)


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("aaaaaaaaaa", 'Repeats like "aaa" are easy to guess'),
        ("Password123!", "similar to a commonly used password"),
        ("qwertyuiop", "a top-100 common password"),
        ("zxcvbnm,./", "Straight rows of keys are easy to guess"),
        ("2026-11-30", "Dates are often easy to guess"),
        ("short", "at least 10 characters"),
    ],
)
def test_trivial_passwords_are_refused_with_a_reason(password: str, reason: str) -> None:
    problem = password_problem(password, ("ana",))
    assert problem is not None and reason in problem


def test_strong_passwords_pass_the_rule() -> None:
    for password in ("correct horse battery staple", NEW_PASSWORD, "Tq7#vL2!pZ9@wX"):
        assert password_problem(password, ("ana", "Ana Lima")) is None


def test_admin_page_and_cli_refuse_a_trivial_password(
    login_as: Callable[..., FlaskClient], csrf_token: Csrf, run_cli: Callable[..., Result]
) -> None:
    admin = login_as("admin")
    page = admin.post(
        "/admin/users",
        data={
            "username": "weak",
            "role": "auditor",
            "password": "aaaaaaaaaa",
            "csrf_token": csrf_token("/admin/users", on=admin),
        },
    )
    assert page.status_code == 422
    assert "this password is too easy to guess: Repeats like" in page.get_data(as_text=True)
    cli = run_cli(
        "user", "create", "weak", "--role", "auditor", "--password-stdin", input="aaaaaaaaaa\n"
    )
    assert cli.exit_code == 1 and "too easy to guess" in cli.output


def test_service_usernames_are_kept_for_service_users(run_cli: Callable[..., Result]) -> None:
    result = run_cli(
        "user",
        "create",
        "service:admin",
        "--role",
        "admin",
        "--password-stdin",
        input="correct horse battery staple\n",
    )
    assert result.exit_code == 1 and "kept for service users" in result.output


# --- item 13: Secure cookies and HSTS ------------------------------------------------


def _production_app(db_url: str, tmp_path: Path) -> Flask:
    return create_app(
        {
            "TESTING": True,
            "DATABASE_URL": db_url,
            "INSTANCE_PATH": tmp_path / "instance",
            "SECRET_KEY": "test-only-secret",
        }
    )


def test_production_cookies_are_secure_and_pages_send_hsts(
    engine: Engine,
    db_url: str,
    tmp_path: Path,
    make_user: MakeUser,
    user_password: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("HOPCHAIN_SECURE_COOKIES", raising=False)
    app = _production_app(db_url, tmp_path)
    try:
        make_user("ana", "auditor")
        client = app.test_client()
        page = client.get("/login", base_url="https://hopchain.example")
        assert page.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
        csrf = _csrf(client, base_url="https://hopchain.example")
        response = client.post(
            "/login",
            data={"username": "ana", "password": user_password, "csrf_token": csrf},
            base_url="https://hopchain.example",
            headers={"Referer": "https://hopchain.example/login"},
        )
        assert response.status_code == 302
        cookie = response.headers["Set-Cookie"]
        assert cookie.startswith("hopchain_session=")
        assert "; Secure" in cookie and "; HttpOnly" in cookie and "SameSite=Lax" in cookie
        assert app.config["REMEMBER_COOKIE_SECURE"] is True
    finally:
        with app.app_context():
            get_engine().dispose()


def test_development_and_tests_turn_secure_off_explicitly(
    app: Flask, login_as: Callable[..., FlaskClient]
) -> None:
    assert app.config["SECURE_COOKIES"] is False  # tests/conftest.py says so
    browser = login_as("auditor")
    page = browser.get("/")
    assert "Strict-Transport-Security" not in page.headers
    cookie = app.test_client().get("/login").headers.get("Set-Cookie", "")
    assert "Secure" not in cookie


def test_serve_on_a_loopback_host_is_development(
    db_url: str, engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import waitress  # type: ignore[import-untyped]

    import web.checkpointer

    monkeypatch.delenv("HOPCHAIN_SECURE_COOKIES", raising=False)
    served: list[Flask] = []
    monkeypatch.setattr(waitress, "serve", lambda app, **_: served.append(app))
    monkeypatch.setattr(web.checkpointer, "start_checkpointer", lambda app: None)
    config = {"DATABASE_URL": db_url, "INSTANCE_PATH": tmp_path / "i", "SECRET_KEY": "t"}
    outputs = []
    for host in ("127.0.0.1", "0.0.0.0"):
        state = CliState(test_config=dict(config))
        result = CliRunner().invoke(
            build_cli(), ["serve", "--host", host], obj=state, catch_exceptions=False
        )
        assert result.exit_code == 0, result.output
        outputs.append(result.output)
    assert [a.config["SECURE_COOKIES"] for a in served] == [False, True]
    assert "development: cookies without Secure" in outputs[0]
    assert "cookies are Secure" in outputs[1]
    for a in served:
        with a.app_context():
            get_engine().dispose()
    assert _is_loopback("localhost") and _is_loopback("::1") and _is_loopback("127.0.0.2")
    assert not _is_loopback("192.168.1.10") and not _is_loopback("hopchain.example")


def _csrf(client: FlaskClient, base_url: str = "http://localhost") -> str:
    import re

    page = client.get("/login", base_url=base_url).get_data(as_text=True)
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    assert match
    return match.group(1)


def test_passwords_built_on_the_service_name_are_refused() -> None:
    """NIST SP 800-63B: context-specific words such as the service's name are tried first."""
    for guessable in ("hopchain2026", "Hopchain!2026", "hopchain123456"):
        said = password_problem(guessable, ["ana", "Ana Silva"])
        assert said is not None and "service's name" in said, guessable
    assert password_problem("vivid-otter-lantern-42", ["ana"]) is None


def test_an_unknown_or_deactivated_name_locks_like_a_real_account(
    engine: Engine,
    client: FlaskClient,
    make_user: Callable[..., int],
    csrf_token: Callable[..., str],
) -> None:
    """Lockout must not tell which names are accounts: after as many failures, an
    unknown username and a deactivated user get the same "locked" answer as a real
    one (OWASP: the same response for existing and non-existing users)."""
    gone = make_user("gone", "auditor")
    with Session(engine) as session:
        accounts.set_user_active(session, gone, active=False)
    make_user("real", "auditor")
    answers: dict[str, list[int]] = {}
    for name in ("real", "nobody-here", "gone"):
        answers[name] = []
        for _ in range(6):
            token = csrf_token("/login", on=client)
            r = client.post(
                "/login", data={"csrf_token": token, "username": name, "password": "wrong guess 1"}
            )
            answers[name].append(r.status_code)
    assert answers["real"] == answers["nobody-here"] == answers["gone"], answers
    assert answers["real"][-1] == 423
