"""The app factory: configuration from the environment, secrets kept out of the repo."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from web import create_app
from web.db import get_engine


def _dispose(app: Flask) -> None:
    with app.app_context():
        get_engine().dispose()


def test_importing_the_package_creates_nothing(tmp_path: Path) -> None:
    instance = tmp_path / "instance"
    code = "import web, web.api, web.cli, web.db, web.security"
    subprocess.run(
        [sys.executable, "-c", code],
        check=True,
        cwd=tmp_path,
        env={"HOPCHAIN_INSTANCE": str(instance), "PATH": "/usr/bin:/bin"},
    )
    assert not instance.exists()


def test_instance_and_database_default_from_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOPCHAIN_INSTANCE", str(tmp_path / "inst"))
    monkeypatch.delenv("HOPCHAIN_DATABASE_URL", raising=False)
    monkeypatch.delenv("HOPCHAIN_SECRET_KEY", raising=False)
    app = create_app()
    try:
        assert app.instance_path == str(tmp_path / "inst")
        assert app.config["DATABASE_URL"] == f"sqlite:///{tmp_path / 'inst'}/hopchain.db"
    finally:
        _dispose(app)


def test_database_url_from_environment_wins_over_the_instance(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOPCHAIN_INSTANCE", str(tmp_path / "inst"))
    monkeypatch.setenv("HOPCHAIN_DATABASE_URL", f"sqlite:///{tmp_path}/elsewhere.db")
    app = create_app()
    try:
        with app.app_context():
            assert get_engine().url.database == f"{tmp_path}/elsewhere.db"
    finally:
        _dispose(app)


def test_secret_key_is_generated_once_private_and_reused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HOPCHAIN_SECRET_KEY", raising=False)
    config = {"INSTANCE_PATH": tmp_path / "inst", "DATABASE_URL": "sqlite://"}
    first = create_app(config)
    second = create_app(config)
    key_file = tmp_path / "inst" / "secret_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"]
    assert len(first.config["SECRET_KEY"]) >= 32


def test_secret_key_from_environment_writes_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOPCHAIN_SECRET_KEY", "from-the-environment")
    app = create_app({"INSTANCE_PATH": tmp_path / "inst", "DATABASE_URL": "sqlite://"})
    assert app.config["SECRET_KEY"] == "from-the-environment"
    assert not (tmp_path / "inst" / "secret_key").exists()


def test_test_config_is_applied(app: Flask) -> None:
    assert app.config["TESTING"] is True
    assert app.config["SECRET_KEY"] == "test-only-secret"


def test_pages_forbid_framing_and_sniffing(client: FlaskClient) -> None:
    response = client.get("/login")
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]


def test_stylesheet_is_served_locally(client: FlaskClient) -> None:
    page = client.get("/login").get_data(as_text=True)
    assert "/static/hopchain.css" in page
    assert "http://" not in page and "https://" not in page  # no CDN: works offline
    assert client.get("/static/hopchain.css").status_code == 200
