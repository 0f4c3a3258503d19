"""Signing in and out, CSRF, role enforcement on pages, the admin users page."""

from __future__ import annotations

import time
from collections.abc import Callable

import pyotp
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from web import accounts
from web.account import totp
from web.security import unguarded_endpoints

Csrf = Callable[..., str]


def _sign_in(
    client: FlaskClient, csrf_token: Csrf, username: str, password: str, path: str = "/login"
) -> TestResponse:
    return client.post(
        path,
        data={
            "username": username,
            "password": password,
            "csrf_token": csrf_token("/login", on=client),
        },
    )


def _with_second_factor(engine: Engine, user_id: int) -> pyotp.TOTP:
    """Give the user a TOTP secret (as the set-up page does) and return their authenticator."""
    secret = pyotp.random_base32()
    authenticator = pyotp.TOTP(secret)
    now = time.time()
    with Session(engine) as session:
        assert totp.enroll(session, user_id, secret, authenticator.at(now - 30), now_s=now)
    return authenticator


def _code(client: FlaskClient, csrf_token: Csrf, authenticator: pyotp.TOTP) -> TestResponse:
    return client.post(
        "/login/code",
        data={"code": authenticator.now(), "csrf_token": csrf_token("/login/code", on=client)},
    )


def test_anonymous_page_visit_goes_to_login_and_back(
    client: FlaskClient,
    engine: Engine,
    make_user: Callable[..., int],
    csrf_token: Csrf,
    user_password: str,
) -> None:
    response = client.get("/admin/users")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")
    authenticator = _with_second_factor(engine, make_user("ana", "admin"))
    signed_in = _sign_in(client, csrf_token, "ana", user_password, response.headers["Location"])
    assert signed_in.status_code == 302
    assert signed_in.headers["Location"] == "/login/code"  # an admin's password is not enough
    coded = _code(client, csrf_token, authenticator)
    assert coded.status_code == 302
    assert coded.headers["Location"] == "/admin/users"


def test_login_greets_by_name_and_role(
    client: FlaskClient,
    engine: Engine,
    make_user: Callable[..., int],
    csrf_token: Csrf,
    user_password: str,
) -> None:
    authenticator = _with_second_factor(engine, make_user("wang", "finance"))
    _sign_in(client, csrf_token, "wang", user_password)
    _code(client, csrf_token, authenticator)
    home = client.get("/").get_data(as_text=True)
    assert "Welcome, wang" in home
    assert "Finance" in home
    assert "Settlement runs" in home


def test_wrong_password_is_refused_without_saying_which_part(
    client: FlaskClient, make_user: Callable[..., int], csrf_token: Csrf, user_password: str
) -> None:
    make_user("ana", "admin")
    for username, password in (("ana", "not the password"), ("nobody", user_password)):
        response = _sign_in(client, csrf_token, username, password)
        assert response.status_code == 401
        assert "do not match an active account" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302  # still signed out


def test_login_form_without_csrf_token_is_refused(
    client: FlaskClient, make_user: Callable[..., int], user_password: str
) -> None:
    make_user("ana", "admin")
    response = client.post("/login", data={"username": "ana", "password": user_password})
    assert response.status_code == 400
    assert "This form has expired or was not sent from this site" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_logout_needs_the_csrf_token_then_ends_the_session(
    login_as: Callable[..., FlaskClient], csrf_token: Csrf
) -> None:
    client = login_as("auditor")
    assert client.post("/logout").status_code == 400
    assert client.get("/").status_code == 200
    response = client.post("/logout", data={"csrf_token": csrf_token("/")})
    assert response.status_code == 302
    assert client.get("/").status_code == 302


def test_login_refuses_to_redirect_to_another_site(
    app: Flask, make_user: Callable[..., int], csrf_token: Csrf, user_password: str
) -> None:
    make_user("ana", "auditor")
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        browser = app.test_client()
        response = _sign_in(browser, csrf_token, "ana", user_password, f"/login?next={target}")
        assert response.headers["Location"] == "/", target


def test_wrong_role_gets_the_403_page(login_as: Callable[..., FlaskClient]) -> None:
    client = login_as("warehouse")
    response = client.get("/admin/users")
    assert response.status_code == 403
    assert "Your role does not give access" in response.get_data(as_text=True)


def test_navigation_follows_the_role(login_as: Callable[..., FlaskClient]) -> None:
    page = login_as("distributor", party="D-EAST").get("/").get_data(as_text=True)
    assert "My statements" in page and "My alerts" in page
    assert "Users" not in page and "Settlement runs" not in page
    assert "D-EAST" in page


def test_every_input_has_a_label(login_as: Callable[..., FlaskClient]) -> None:
    page = login_as("admin").get("/admin/users").get_data(as_text=True)
    for field in ("username", "display_name", "role", "party", "password"):
        assert f'<label for="{field}">' in page
        assert f'id="{field}"' in page


def test_admin_creates_a_user_who_can_sign_in_until_deactivated(
    app: Flask,
    engine: Engine,
    login_as: Callable[..., FlaskClient],
    csrf_token: Csrf,
    make_party: Callable[..., int],
    user_password: str,
) -> None:
    admin = login_as("admin")
    make_party("D-NORTH")
    created = admin.post(
        "/admin/users",
        data={
            "username": "lena",
            "display_name": "Lena Berg",
            "role": "distributor",
            "party": "D-NORTH",
            "password": user_password,
            "csrf_token": csrf_token("/admin/users"),
        },
        follow_redirects=True,
    )
    assert created.status_code == 200
    assert "User lena created." in created.get_data(as_text=True)
    assert "Lena Berg" in created.get_data(as_text=True)

    lena = app.test_client()  # her own browser
    _sign_in(lena, csrf_token, "lena", user_password)
    assert lena.get("/api/v1/me").get_json()["party"]["code"] == "D-NORTH"

    with Session(engine) as session:
        lena_id = next(u.id for u in accounts.list_users(session) if u.username == "lena")
    deactivated = admin.post(
        f"/admin/users/{lena_id}/deactivate", data={"csrf_token": csrf_token("/admin/users")}
    )
    assert deactivated.status_code == 302
    assert lena.get("/api/v1/me").status_code == 401  # her open session ended
    assert _sign_in(lena, csrf_token, "lena", user_password).status_code == 401


def test_admin_form_refuses_a_distributor_without_party(
    login_as: Callable[..., FlaskClient], csrf_token: Csrf, user_password: str
) -> None:
    admin = login_as("admin")
    response = admin.post(
        "/admin/users",
        data={
            "username": "nopart",
            "role": "distributor",
            "password": user_password,
            "csrf_token": csrf_token("/admin/users"),
        },
    )
    assert response.status_code == 422
    assert "must belong to a party" in response.get_data(as_text=True)


def test_admin_cannot_lock_themselves_out(
    engine: Engine, login_as: Callable[..., FlaskClient], csrf_token: Csrf
) -> None:
    admin = login_as("admin", username="root")
    with Session(engine) as session:
        root_id = next(u.id for u in accounts.list_users(session) if u.username == "root")
    response = admin.post(
        f"/admin/users/{root_id}/deactivate", data={"csrf_token": csrf_token("/admin/users")}
    )
    assert response.status_code == 409
    assert admin.get("/").status_code == 200


def test_every_page_and_endpoint_is_guarded_or_declared_public(words_app: Flask) -> None:
    """Forgetting @require_roles on a new page or endpoint fails here, not in production."""
    unguarded = unguarded_endpoints(words_app)
    assert not unguarded, f"add @require_roles(...) or @public to: {unguarded}"
