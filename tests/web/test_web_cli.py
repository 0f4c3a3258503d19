"""The ``hopchain`` command line: init, tokens, users."""

from __future__ import annotations

import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from flask.testing import FlaskClient
from sqlalchemy import inspect

from ledger.database import make_engine
from web.cli import CliState, build_cli

RunCli = Callable[..., Result]


def test_token_create_prints_the_token_alone_on_its_last_line(
    run_cli: RunCli, client: FlaskClient, make_party: Callable[..., int]
) -> None:
    make_party("D-EAST")
    result = run_cli("token", "create", "--role", "distributor", "--party", "D-EAST")
    assert result.exit_code == 0, result.output
    token = result.output.rstrip("\n").splitlines()[-1]
    assert token == token.strip() and " " not in token and len(token) >= 40
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).get_json()
    assert me["role"] == "distributor"
    assert me["party"]["code"] == "D-EAST"


def test_token_revoke(run_cli: RunCli, client: FlaskClient) -> None:
    token = run_cli("token", "create", "--role", "auditor").output.splitlines()[-1]
    token_id = run_cli("token", "list").output.split("\t", 1)[0]
    assert token not in run_cli("token", "list").output
    assert run_cli("token", "revoke", token_id).exit_code == 0
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_token_for_unknown_party_fails_clearly(run_cli: RunCli) -> None:
    failed = run_cli("token", "create", "--role", "distributor", "--party", "NOPE")
    assert failed.exit_code == 1
    assert "no party has the code 'NOPE'" in failed.output


def test_unknown_role_is_refused(run_cli: RunCli) -> None:
    result = run_cli("token", "create", "--role", "superuser")
    assert result.exit_code == 2
    assert "superuser" in result.output


def test_user_create_then_sign_in(
    run_cli: RunCli,
    login_as: Callable[..., FlaskClient],
    csrf_token: Callable[..., str],
    client: FlaskClient,
) -> None:
    result = run_cli(
        "user",
        "create",
        "mei",
        "--role",
        "channel_manager",
        "--password-stdin",
        input="a long enough password\n",
    )
    assert result.exit_code == 0, result.output
    response = client.post(
        "/login",
        data={"username": "mei", "password": "a long enough password", "csrf_token": csrf_token()},
    )
    assert response.status_code == 302
    assert client.get("/api/v1/me").get_json()["role"] == "channel_manager"


def test_user_create_refuses_a_short_password(run_cli: RunCli) -> None:
    result = run_cli("user", "create", "x", "--role", "admin", "--password-stdin", input="short\n")
    assert result.exit_code == 1
    assert "at least" in result.output


def test_init_is_idempotent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    instance = tmp_path / "instance"
    monkeypatch.setenv("HOPCHAIN_INSTANCE", str(instance))
    monkeypatch.delenv("HOPCHAIN_DATABASE_URL", raising=False)
    monkeypatch.delenv("HOPCHAIN_SECRET_KEY", raising=False)
    outputs = []
    for _ in range(2):
        state = CliState()
        result = CliRunner().invoke(build_cli(), ["init"], obj=state, catch_exceptions=False)
        assert result.exit_code == 0, result.output
        outputs.append(result.output)
        with state.app.app_context():
            from web.db import get_engine

            get_engine().dispose()
    key = (instance / "secret_key").read_text()
    assert stat.S_IMODE((instance / "secret_key").stat().st_mode) == 0o600
    engine = make_engine(f"sqlite:///{instance}/hopchain.db")
    try:
        assert {"users", "entries", "alembic_version"} <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert outputs[0] == outputs[1]
    assert (instance / "secret_key").read_text() == key
