"""API tokens belong to users and act as them (issue 9, item 10): a label names no one,
service users hold tokens made without a user and cannot sign in."""

from __future__ import annotations

import time
from collections.abc import Callable

from click.testing import Result
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from web import accounts
from web.models import ApiToken, User

RunCli = Callable[..., Result]
Csrf = Callable[..., str]


def _token(result: Result) -> dict[str, str]:
    assert result.exit_code == 0, result.output
    return {"Authorization": f"Bearer {result.output.splitlines()[-1]}"}


def _me(client: FlaskClient, headers: dict[str, str]) -> dict[str, object]:
    response = client.get("/api/v1/me", headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    data = response.get_json()
    assert isinstance(data, dict)
    return data


def test_a_token_labelled_like_another_user_acts_as_its_own_user(
    client: FlaskClient, run_cli: RunCli, make_user: Callable[..., int]
) -> None:
    make_user("finance1", "finance")
    make_user("finance2", "finance")
    made = run_cli(
        "token", "create", "--role", "finance", "--user", "finance1", "--label", "finance2"
    )
    assert "acts as user finance1" in made.output
    me = _me(client, _token(made))
    assert me["name"] == "finance1" and me["display_name"] == "finance1"
    listed = run_cli("token", "list").output.splitlines()[0].split("\t")
    assert listed[3:] == ["user=finance1", "active", "finance2"]


def test_the_principal_of_a_token_carries_its_users_id(
    app: Flask, engine: Engine, make_user: Callable[..., int]
) -> None:
    from web.security import current_principal

    user_id = make_user("ivy", "auditor")
    with Session(engine) as session:
        token = accounts.create_token(session, "auditor", user="ivy", label="someone else")
    with app.test_request_context(headers={"Authorization": f"Bearer {token.secret}"}):
        principal = current_principal()
        assert principal is not None
        assert (principal.kind, principal.name, principal.user_id) == ("token", "ivy", user_id)


def test_token_create_refuses_a_user_of_another_role_or_party(
    run_cli: RunCli, make_user: Callable[..., int], make_party: Callable[..., int]
) -> None:
    make_user("dist", "distributor", "D-EAST")
    make_party("D-WEST")
    make_user("aud", "auditor")
    cases = (
        (("--role", "finance", "--user", "aud"), "has the role auditor, not finance"),
        (
            ("--role", "distributor", "--party", "D-WEST", "--user", "dist"),
            "acts for party D-EAST, not party D-WEST",
        ),
        (("--role", "distributor", "--user", "dist"), "must belong to a party"),
        (("--role", "auditor", "--party", "D-WEST", "--user", "aud"), "acts for no party"),
        (("--role", "auditor", "--user", "nobody"), "no user has the username 'nobody'"),
    )
    for args, reason in cases:
        result = run_cli("token", "create", *args)
        assert result.exit_code == 1 and reason in result.output, (args, result.output)


def test_tokens_of_a_deactivated_user_are_refused(
    engine: Engine, client: FlaskClient, run_cli: RunCli, make_user: Callable[..., int]
) -> None:
    user_id = make_user("aud", "auditor")
    headers = _token(run_cli("token", "create", "--role", "auditor", "--user", "aud"))
    with Session(engine) as session:
        accounts.set_user_active(session, user_id, False)
    assert client.get("/api/v1/me", headers=headers).status_code == 401
    refused = run_cli("token", "create", "--role", "auditor", "--user", "aud")
    assert refused.exit_code == 1 and "the user 'aud' is deactivated" in refused.output


def test_a_token_without_a_user_belongs_to_one_service_user_per_role_and_party(
    engine: Engine, client: FlaskClient, run_cli: RunCli, make_party: Callable[..., int]
) -> None:
    make_party("D-EAST")
    first = _me(client, _token(run_cli("token", "create", "--role", "auditor")))
    second = _me(client, _token(run_cli("token", "create", "--role", "auditor")))
    east = _me(
        client, _token(run_cli("token", "create", "--role", "distributor", "--party", "D-EAST"))
    )
    assert first["name"] == second["name"] == "service:auditor"
    assert east["name"] == "service:distributor:D-EAST"
    with Session(engine) as session:
        service = session.scalars(select(User).where(User.service.is_(True))).all()
        people = accounts.list_users(session)
    assert sorted(u.username for u in service) == ["service:auditor", "service:distributor:D-EAST"]
    assert people == []  # listed apart from people


def test_a_service_user_cannot_sign_in(
    app: Flask,
    engine: Engine,
    run_cli: RunCli,
    csrf_token: Csrf,
    login_as: Callable[..., FlaskClient],
) -> None:
    run_cli("token", "create", "--role", "auditor")
    with Session(engine) as session:
        user = session.scalars(select(User).where(User.service.is_(True))).one()
        stored_hash = user.password_hash
    browser = app.test_client()
    for password in ("", stored_hash, "correct horse battery staple"):
        response = browser.post(
            "/login",
            data={
                "username": "service:auditor",
                "password": password,
                "csrf_token": csrf_token(on=browser),
            },
        )
        assert response.status_code in (401, 422), password  # empty: the form refuses it
        assert browser.get("/api/v1/me").status_code == 401
    page = login_as("admin").get("/admin/users").get_data(as_text=True)
    assert "Service users" in page and "service:auditor" in page


def test_a_token_made_before_tokens_belonged_to_users_acts_as_the_service_user(
    engine: Engine, client: FlaskClient
) -> None:
    secret = "legacy-token-secret-0123456789-abcdefghijklmnop"
    with Session(engine) as session, session.begin():
        session.add(
            ApiToken(
                token_hash=accounts.hash_token(secret),
                role="auditor",
                label="old",
                created_ms=time.time_ns() // 1_000_000,
            )
        )
    me = _me(client, {"Authorization": f"Bearer {secret}"})
    assert me["name"] == "service:auditor"
    with Session(engine) as session:
        token = session.scalars(select(ApiToken)).one()
        assert token.user_id is not None


def test_the_admin_token_page_creates_lists_and_revokes(
    app: Flask,
    login_as: Callable[..., FlaskClient],
    make_user: Callable[..., int],
    csrf_token: Csrf,
) -> None:
    make_user("ops", "warehouse")
    admin = login_as("admin")
    assert "API tokens" in admin.get("/").get_data(as_text=True)
    form = {"csrf_token": csrf_token("/admin/tokens", on=admin)}
    refused = admin.post("/admin/tokens", data={**form, "role": "auditor", "user": "ops"})
    assert refused.status_code == 422
    assert "has the role Warehouse, not Auditor" in refused.get_data(as_text=True)
    made = admin.post(
        "/admin/tokens", data={**form, "role": "warehouse", "user": "ops", "label": "dock 4"}
    )
    assert made.status_code == 201 and made.headers["Cache-Control"] == "no-store"
    page = made.get_data(as_text=True)
    assert "It acts as <strong>ops</strong>" in page
    start = page.index('id="new-token">') + len('id="new-token">')
    secret = page[start : page.index("</code>", start)]
    headers = {"Authorization": f"Bearer {secret}"}
    assert _me(app.test_client(), headers)["name"] == "ops"
    listing = admin.get("/admin/tokens").get_data(as_text=True)
    assert "dock 4" in listing and secret not in listing
    token_id = int(page.split("Token ", 1)[1].split(" ", 1)[0])
    revoked = admin.post(f"/admin/tokens/{token_id}/revoke", data=form)
    assert revoked.status_code == 302
    assert app.test_client().get("/api/v1/me", headers=headers).status_code == 401
