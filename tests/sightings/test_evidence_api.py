"""GET /api/v1/evidence and ``hopchain evidence``: who gets a pack, and what it holds."""

from __future__ import annotations

import html
import io
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from pypdf import PdfReader
from sqlalchemy import Engine

from tests.sightings import _evidence_world as world
from tests.sightings._evidence_world import U2, U6, EvidenceWorld
from tests.sightings.test_evidence import attachments, check_pack, document

URL = "/api/v1/evidence"


@pytest.fixture
def ev(app: Flask, engine: Engine, make_party: Callable[..., int]) -> EvidenceWorld:
    return world.build(engine, make_party, Path(app.instance_path))


def get(client: FlaskClient, headers: dict[str, str] | None, **query: Any) -> Any:
    return client.get(URL, query_string=query, headers=headers or {})


def test_a_channel_manager_downloads_a_pack_that_verifies(
    ev: EvidenceWorld, client: FlaskClient, bearer: Callable[..., dict[str, str]]
) -> None:
    answer = get(client, bearer("channel_manager", user="cm-ana"), unit=U2, alert=ev.alert_id)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert answer.mimetype == "application/pdf"
    disposition = answer.headers["Content-Disposition"]
    assert disposition == (
        f'attachment; filename="evidence-01-09506000134352-21-U2-alert-{ev.alert_id}.pdf"'
    )
    pdf = answer.get_data()
    doc = document(pdf)
    check_pack(doc, attachments(pdf))
    assert doc["generated_by"] == "cm-ana" and doc["scope"]["alert"] == ev.alert_id


def test_auditors_and_admins_read_any_units_pack(
    ev: EvidenceWorld, client: FlaskClient, bearer: Callable[..., dict[str, str]]
) -> None:
    for role in ("auditor", "admin"):
        answer = get(client, bearer(role), unit=U6)
        assert answer.status_code == 200, role
        assert document(answer.get_data())["unit"] == U6


def test_a_distributor_reads_only_the_pack_of_its_own_alert(
    ev: EvidenceWorld, client: FlaskClient, bearer: Callable[..., dict[str, str]]
) -> None:
    d1 = bearer("distributor", party="D1")
    assert get(client, d1, unit=U2, alert=ev.alert_id).status_code == 200
    for query in (
        {"unit": U2},  # no alert named
        {"unit": U2, "suspect": ev.suspect_id},
        {"unit": U6, "alert": ev.other_alert_id},  # D2's alert
    ):
        refused = get(client, d1, **query)
        assert refused.status_code == 403, query
        assert "own alerts" in refused.get_json()["error"]
    d2 = bearer("distributor", party="D2")
    assert get(client, d2, unit=U2, alert=ev.alert_id).status_code == 403


def test_other_roles_are_refused_and_anonymous_asked_to_sign_in(
    ev: EvidenceWorld, client: FlaskClient, bearer: Callable[..., dict[str, str]]
) -> None:
    for role in ("warehouse", "finance", "partner_manager", "inspector"):
        party = "INSP" if role == "inspector" else None
        assert get(client, bearer(role, party=party), unit=U2).status_code == 403, role
    assert get(client, None, unit=U2).status_code == 401


#: (query, status, parameter named, words): "mine"/"other" stand for the world's ids
ERRORS: list[tuple[dict[str, Any], int, str | None, str]] = [
    ({"unit": "01/09506000134352/21/NOPE"}, 404, None, "No unit 01/09506000134352/21/NOPE"),
    ({"unit": "01/123/21/X"}, 400, "unit", "is not a unit key"),
    ({}, 400, "unit", "unit"),
    ({"unit": U2, "alert": 999}, 404, None, "No alert 999"),
    ({"unit": U2, "alert": "other"}, 400, "alert", "is not in the evidence of alert"),
    ({"unit": U2, "alert": "mine", "suspect": "mine"}, 400, "suspect", "not both"),
    ({"unit": U2, "alert": "x"}, 400, "alert", "alert"),
]


def test_errors_name_what_is_wrong(
    ev: EvidenceWorld, client: FlaskClient, bearer: Callable[..., dict[str, str]]
) -> None:
    ids = {
        "alert": {"mine": ev.alert_id, "other": ev.other_alert_id},
        "suspect": {"mine": ev.suspect_id},
    }
    manager = bearer("channel_manager")
    for query, status, parameter, words in ERRORS:
        real = {k: ids.get(k, {}).get(v, v) if isinstance(v, str) else v for k, v in query.items()}
        answer = get(client, manager, **real)
        body = answer.get_json()
        assert answer.status_code == status, (query, body)
        assert words in body["error"], (query, body)
        assert body.get("parameter") == parameter, (query, body)


def test_the_cli_writes_the_pack_with_progress_on_stderr(
    ev: EvidenceWorld, run_cli: Callable[..., Any], tmp_path: Path
) -> None:
    out = tmp_path / "packs" / "u2.pdf"
    result = run_cli("evidence", U2, "--suspect", str(ev.suspect_id), "-o", str(out))
    assert result.exit_code == 0, result.output
    pdf = out.read_bytes()
    check_pack(document(pdf), attachments(pdf))
    assert document(pdf)["scope"] == {"alert": None, "suspect": ev.suspect_id}
    assert len(PdfReader(io.BytesIO(pdf)).pages) >= 5
    assert "proving 7 entries against the checkpoint" in result.stderr
    assert "attaching evidence.json and 2 photos" in result.stderr
    assert f"wrote {out}" in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize(("n", "line"), [(0, "0 photos"), (1, "1 photo"), (2, "2 photos")])
def test_progress_lines_count_in_plural_forms(n: int, line: str) -> None:
    from sightings.evidence import _counted

    said = _counted(
        "attaching evidence.json and %(n)s photo", "attaching evidence.json and %(n)s photos", n
    )
    assert said == f"attaching evidence.json and {line}"


def test_the_cli_names_what_is_wrong_and_writes_nothing(
    ev: EvidenceWorld, run_cli: Callable[..., Any], tmp_path: Path
) -> None:
    out = tmp_path / "nope.pdf"
    result = run_cli("evidence", "01/09506000134352/21/NOPE", "-o", str(out))
    assert result.exit_code == 1
    assert "No unit 01/09506000134352/21/NOPE in the ledger." in result.stderr
    assert not out.exists()
    both = run_cli("evidence", U2, "--alert", "1", "--suspect", "1", "-o", str(out))
    assert both.exit_code == 2 and "not both" in both.stderr


def test_the_alert_page_links_each_finding_to_its_pack(
    ev: EvidenceWorld, login_as: Callable[..., FlaskClient]
) -> None:
    browser = login_as("channel_manager")
    page = browser.get(f"/alerts/{ev.alert_id}").get_data(as_text=True)
    links = re.findall(r'href="(/api/v1/evidence\?[^"]+)" download>Evidence pack \(PDF\)<', page)
    # one per finding of the unit: the dealer's sale and the inspection that confirmed it
    assert len(links) == 2 and len(set(links)) == 1
    answer = browser.get(html.unescape(links[0]))
    assert answer.status_code == 200 and answer.mimetype == "application/pdf"
    assert document(answer.get_data())["scope"]["alert"] == ev.alert_id


def test_the_suspected_alert_page_links_managers_to_its_pack(
    ev: EvidenceWorld, login_as: Callable[..., FlaskClient], app: Flask
) -> None:
    browser = login_as("channel_manager")
    page = browser.get(f"/suspects/{ev.suspect_id}").get_data(as_text=True)
    (link,) = re.findall(r'href="(/api/v1/evidence\?[^"]+)" download>', page)
    answer = browser.get(html.unescape(link))
    assert answer.status_code == 200
    assert document(answer.get_data())["scope"] == {"alert": None, "suspect": ev.suspect_id}
    # an inspector reads the page but not the pack: no link to a 403
    inspector = login_as("inspector", party="INSP", on=app.test_client())
    assert "/api/v1/evidence" not in inspector.get(f"/suspects/{ev.suspect_id}").get_data(
        as_text=True
    )
