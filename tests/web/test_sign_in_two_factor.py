"""TOTP two-factor sign-in (RFC 6238) for finance and admin (issue 9, item 9): the
password alone starts no session, codes work once, set-up is forced and confirmed
by a code, an admin can reset it."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from web.account import totp
from web.models import User, UserSession

Csrf = Callable[..., str]
MakeUser = Callable[..., int]


def _password(client: FlaskClient, csrf_token: Csrf, username: str, password: str) -> TestResponse:
    return client.post(
        "/login",
        data={
            "username": username,
            "password": password,
            "csrf_token": csrf_token("/login", on=client),
        },
    )


def _code(client: FlaskClient, csrf_token: Csrf, code: str) -> TestResponse:
    return client.post(
        "/login/code", data={"code": code, "csrf_token": csrf_token("/login/code", on=client)}
    )


def _enrolled(engine: Engine, user_id: int) -> pyotp.TOTP:
    secret = pyotp.random_base32()
    authenticator = pyotp.TOTP(secret)
    now = time.time()
    with Session(engine) as session:
        assert totp.enroll(session, user_id, secret, authenticator.at(now - 30), now_s=now)
    return authenticator


def _sessions(engine: Engine) -> int:
    with Session(engine) as session:
        return len(session.scalars(select(UserSession)).all())


@pytest.mark.parametrize("role", ["finance", "admin"])
def test_the_password_alone_starts_no_session(
    app: Flask,
    engine: Engine,
    make_user: MakeUser,
    csrf_token: Csrf,
    user_password: str,
    role: str,
) -> None:
    authenticator = _enrolled(engine, make_user("fin", role))
    client = app.test_client()
    first = _password(client, csrf_token, "fin", user_password)
    assert first.status_code == 302 and first.headers["Location"] == "/login/code"
    assert client.get("/api/v1/me").status_code == 401
    assert client.get("/").status_code == 302
    assert _sessions(engine) == 0
    assert "authenticator app" in client.get("/login/code").get_data(as_text=True)
    wrong = f"{(int(authenticator.now()) + 1) % 1_000_000:06d}"
    assert _code(client, csrf_token, wrong).status_code == 401
    assert _code(client, csrf_token, "12345").status_code == 422  # not 6 digits
    assert client.get("/api/v1/me").status_code == 401
    assert _code(client, csrf_token, authenticator.now()).status_code == 302
    assert client.get("/api/v1/me").get_json()["name"] == "fin"


def test_a_code_works_once(
    app: Flask, engine: Engine, make_user: MakeUser, csrf_token: Csrf, user_password: str
) -> None:
    authenticator = _enrolled(engine, make_user("fin", "finance"))
    code = authenticator.now()
    first, second = app.test_client(), app.test_client()
    _password(first, csrf_token, "fin", user_password)
    assert _code(first, csrf_token, code).status_code == 302
    _password(second, csrf_token, "fin", user_password)
    replayed = _code(second, csrf_token, code)
    assert replayed.status_code == 401
    assert "already used" in replayed.get_data(as_text=True)
    assert second.get("/api/v1/me").status_code == 401
    # the next time step's code is new, so it is accepted (once)
    later = authenticator.at(time.time() + totp.STEP_SECONDS)
    assert _code(second, csrf_token, later).status_code == 302


def test_the_code_step_needs_the_password_step_first(client: FlaskClient, csrf_token: Csrf) -> None:
    response = client.get("/login/code")
    assert response.status_code == 302 and response.headers["Location"] == "/login"


def test_wrong_codes_lock_the_account(
    app: Flask, engine: Engine, make_user: MakeUser, csrf_token: Csrf, user_password: str
) -> None:
    authenticator = _enrolled(engine, make_user("fin", "finance"))
    client = app.test_client()
    _password(client, csrf_token, "fin", user_password)
    for _ in range(4):
        assert _code(client, csrf_token, "000000").status_code == 401
    locked = _code(client, csrf_token, "000000")
    assert locked.status_code == 302 and locked.headers["Location"] == "/login"
    page = client.get("/login").get_data(as_text=True)
    assert "This account is locked until" in page
    refused = _password(client, csrf_token, "fin", user_password)
    assert refused.status_code == 423  # a right password does not start over the count
    assert authenticator.now()  # (the authenticator itself is fine)


def test_without_a_second_factor_finance_is_kept_on_the_set_up_page(
    app: Flask, engine: Engine, make_user: MakeUser, csrf_token: Csrf, user_password: str
) -> None:
    make_user("newfin", "finance")
    client = app.test_client()
    signed = _password(client, csrf_token, "newfin", user_password)
    assert signed.headers["Location"] == "/account/two-factor"
    for path in ("/", "/settlement/", "/account/password"):
        assert client.get(path).headers["Location"] == "/account/two-factor", path
    blocked = client.get("/api/v1/me")
    assert blocked.status_code == 403 and "two-factor" in blocked.get_json()["error"]

    page = client.get("/account/two-factor").get_data(as_text=True)
    assert "<svg" in page and 'aria-label="QR code' in page and "<img" not in page
    secret = re.search(r'<code class="secret">([A-Z2-7]{32})</code>', page)
    uri = re.search(r'<code class="secret">(otpauth://totp/[^<]+)</code>', page)
    assert secret and uri and f"secret={secret.group(1)}" in uri.group(1)
    assert "issuer=hopchain" in uri.group(1)
    authenticator = pyotp.TOTP(secret.group(1))
    post = {"csrf_token": csrf_token("/account/two-factor", on=client)}
    assert client.post("/account/two-factor", data={**post, "code": "000000"}).status_code == 422
    done = client.post("/account/two-factor", data={**post, "code": authenticator.now()})
    assert done.status_code == 302 and done.headers["Location"] == "/"
    assert client.get("/").status_code == 200
    assert client.get("/api/v1/me").status_code == 200
    with Session(engine) as session:
        stored = session.execute(
            select(User.totp_secret, User.totp_last_step).where(User.username == "newfin")
        ).one()
    # the secret is kept, and the step of the code that confirmed it is used up
    assert stored.totp_secret == secret.group(1) and stored.totp_last_step is not None

    # from now on the password alone is not enough
    client.post("/logout", data={"csrf_token": csrf_token("/", on=client)})
    again = _password(client, csrf_token, "newfin", user_password)
    assert again.headers["Location"] == "/login/code"


def test_a_set_up_secret_cannot_be_replaced_from_a_session(
    login_as: Callable[..., FlaskClient], csrf_token: Csrf
) -> None:
    admin = login_as("admin")
    page = admin.get("/account/two-factor").get_data(as_text=True)
    assert "Two-factor sign-in is on" in page and "<svg" not in page


def test_an_admin_resets_a_second_factor(
    app: Flask,
    engine: Engine,
    login_as: Callable[..., FlaskClient],
    csrf_token: Csrf,
    user_password: str,
    user_totp: Callable[[str], pyotp.TOTP],
) -> None:
    fin = login_as("finance", username="fiona", on=app.test_client())
    admin = login_as("admin", username="root", on=app.test_client())
    with Session(engine) as session:
        fiona_id = session.scalar(select(User.id).where(User.username == "fiona"))
        root_id = session.scalar(select(User.id).where(User.username == "root"))
    users = admin.get("/admin/users").get_data(as_text=True)
    assert "Reset the second factor of fiona" in users
    assert "Reset the second factor of root" not in users  # not one's own
    own = admin.post(
        f"/admin/users/{root_id}/reset-two-factor", data={"csrf_token": csrf_token("/", on=admin)}
    )
    assert own.status_code == 409
    reset = admin.post(
        f"/admin/users/{fiona_id}/reset-two-factor", data={"csrf_token": csrf_token("/", on=admin)}
    )
    assert reset.status_code == 302
    assert fin.get("/api/v1/me").status_code == 401  # her sessions ended
    again = _password(fin, csrf_token, "fiona", user_password)
    assert again.headers["Location"] == "/account/two-factor"  # set up a new one
    assert user_totp("fiona").now()  # the old authenticator exists but counts no more
    with Session(engine) as session:
        assert session.scalar(select(User.totp_secret).where(User.id == fiona_id)) is None


def test_login_as_completes_the_code_step_for_every_role(
    app: Flask, login_as: Callable[..., FlaskClient]
) -> None:
    for role in ("admin", "warehouse", "channel_manager", "finance", "auditor"):
        browser = login_as(role, on=app.test_client())
        assert browser.get("/api/v1/me").get_json()["role"] == role
    distributor = login_as("distributor", party="D-EAST", on=app.test_client())
    assert distributor.get("/").status_code == 200
