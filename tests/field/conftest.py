"""Fixtures of the inspector page tests: the inspection world of
tests/sightings/test_inspection.py with the app's signing key, and its inspector signed in."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine

from ledger import ensure_signing_key
from tests.sightings.test_inspection import InspectionWorld, build_world


@pytest.fixture
def world(engine: Engine, app: Flask) -> InspectionWorld:
    ensure_signing_key(Path(app.instance_path), "test.hopchain/ledger")
    return build_world(engine)


@pytest.fixture
def inspector(login_as: Callable[..., FlaskClient], world: InspectionWorld) -> FlaskClient:
    return login_as("inspector", party="INSP-1", username="ines")
