"""Posted settlement through the app: four eyes by user id over the API (a token is
its user, whatever its label), a statement changed in the database is refused (409)
instead of served, ``hopchain settlement verify`` names it, and a distributor never
sees a statement of a run that is not posted, wherever it looks."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from _settlement_web import Demo
from click.testing import Result
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, text
from werkzeug.test import TestResponse

import settlement
from ledger.keys import LedgerSigner
from tests._user_tokens import user_token

Bearer = Callable[..., dict[str, str]]


def client_get(app: Flask, path: str, headers: dict[str, str]) -> TestResponse:
    return app.test_client().get(path, headers=headers)


def _signer(tmp_path: Path) -> LedgerSigner:
    """The app's ledger key (``hopchain init`` made it in the test's instance)."""
    return LedgerSigner.load(tmp_path / "instance")


def test_a_token_acts_as_its_user_in_four_eyes(
    engine: Engine, demo: Demo, client: FlaskClient, make_user: Callable[..., int]
) -> None:
    fiona, frank = make_user("fiona", "finance"), make_user("frank", "finance")
    as_fiona = user_token(engine, fiona, "fiona's batch job")
    # a token fiona made for herself, labelled like a colleague
    disguised = user_token(engine, fiona, "finance2")
    made = client.post("/api/v1/runs", json={"period": "2026-09"}, headers=as_fiona)
    assert made.status_code == 201, made.get_json()
    run = made.get_json()
    assert (run["created_by"], run["created_by_id"]) == ("fiona", fiona)
    refused = client.post(f"/api/v1/runs/{run['id']}/approve", headers=disguised)
    assert refused.status_code == 409
    assert "a different finance user must approve it" in refused.get_json()["error"]
    assert settlement.get_run(engine, run["id"]).status == "draft"
    approved = client.post(
        f"/api/v1/runs/{run['id']}/approve", headers=user_token(engine, frank, "fiona")
    )
    assert approved.status_code == 200, approved.get_json()
    assert (approved.get_json()["approved_by"], approved.get_json()["approved_by_id"]) == (
        "frank",
        frank,
    )
    posted = client.post(f"/api/v1/runs/{run['id']}/post", headers=as_fiona)
    assert posted.status_code == 200 and posted.get_json()["posted_by_id"] == fiona


def test_a_changed_statement_is_refused_and_verify_names_it(
    app: Flask,
    engine: Engine,
    demo: Demo,
    run_cli: Callable[..., Result],
    make_user: Callable[..., int],
    login_as: Callable[..., FlaskClient],
    bearer: Bearer,
    tmp_path: Path,
) -> None:
    make_user("fiona", "finance")
    make_user("frank", "finance")
    created = run_cli("settle", "--period", "2026-09", "--as", "fiona")
    assert created.exit_code == 0, created.output
    run_id = int(created.stdout.split("run ", 1)[1].split(":", 1)[0])  # stderr: the stages
    assert run_cli("settle", "approve", str(run_id), "--as", "frank").exit_code == 0
    assert run_cli("settle", "post", str(run_id), "--as", "fiona").exit_code == 0
    good = run_cli("settlement", "verify")
    assert good.exit_code == 0, good.output
    report = json.loads(good.output.strip().splitlines()[-1])
    assert report["ok"] is True and report["posted_runs"] == 1 and report["alerts"] > 0
    with engine.begin() as conn:  # as if posted before runs were sealed
        conn.execute(text("DELETE FROM seals WHERE kind = 'settlement_run'"))
    assert run_cli("settlement", "verify").exit_code == 1
    sealed = run_cli("settlement", "seal")
    assert sealed.exit_code == 0, sealed.output
    assert json.loads(sealed.output.strip().splitlines()[-1]) == {"ok": True, "sealed": [run_id]}
    assert run_cli("settlement", "verify").exit_code == 0
    assert run_cli("ledger", "verify", "--quiet", "--all").exit_code == 0

    auditor = settlement.Actor("audrey", "auditor")
    statements = settlement.list_statements(engine, auditor, run_id=run_id)
    st = statements[0]
    other = next(s for s in statements if s.party_code != st.party_code)
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE statement_lines SET amount_minor = amount_minor + 100000 "
                 "WHERE statement_id = :s AND position = 0"),
            {"s": st.id},
        )  # fmt: skip
    bad = run_cli("settlement", "verify")
    assert bad.exit_code == 1
    answer = json.loads(bad.output.strip().splitlines()[-1])
    assert (answer["ok"], answer["table"], answer["id"], answer["problem"]) == (
        False,
        "statements",
        st.id,
        "hash_mismatch",
    )
    assert f"statement {st.id} of run {run_id}" in answer["detail"]
    # the log itself is intact; `ledger verify --all` covers what is sealed beside it
    assert run_cli("ledger", "verify", "--quiet").exit_code == 0
    everything = run_cli("ledger", "verify", "--quiet", "--all")
    assert everything.exit_code == 1
    found = json.loads(everything.output.strip().splitlines()[-1])
    assert (found["ok"], found["table"], found["key"], found["problem"]) == (
        False,
        "statements",
        {"id": st.id},
        "hash_mismatch",
    )

    wanted = f"statement {st.id} does not match its sealed hash"
    finance = bearer("finance")
    for path in (
        f"/api/v1/statements/{st.id}",
        f"/api/v1/statements/{st.id}/download?format=csv",
        f"/api/v1/statements/{st.id}/download?format=pdf",
        f"/api/v1/runs/{run_id}/payments",
        f"/api/v1/runs/{run_id}/journal.csv",
        f"/api/v1/runs/{run_id}",  # its totals would add the tampered line up
    ):
        answered = client_get(app, path, finance)
        assert answered.status_code == 409, path
        assert wanted in answered.get_json()["error"], path
        assert "hopchain settlement verify" in answered.get_json()["error"]
    owner = bearer("distributor", party=st.party_code)
    assert client_get(app, f"/api/v1/statements/{st.id}", owner).status_code == 409
    # another distributor learns nothing: it is not theirs, tampered or not
    stranger = bearer("distributor", party=other.party_code)
    assert client_get(app, f"/api/v1/statements/{st.id}", stranger).status_code == 404
    auditor_browser = login_as("auditor")
    page = auditor_browser.get(f"/settlement/statements/{st.id}")
    assert page.status_code == 409 and wanted.capitalize() in page.get_data(as_text=True)
    # the run's page would show totals that add the tampered line up: refused too
    run_page = auditor_browser.get(f"/settlement/runs/{run_id}")
    assert run_page.status_code == 409 and wanted.capitalize() in run_page.get_data(as_text=True)
    portal = login_as("distributor", party=st.party_code, on=app.test_client())
    assert portal.get(f"/partner/statements/{st.id}").status_code == 409
    # the untouched statements of the same run are served as before
    assert client_get(app, f"/api/v1/statements/{other.id}", finance).status_code == 200


def test_a_distributor_never_sees_a_statement_of_a_run_not_posted(
    app: Flask,
    engine: Engine,
    demo: Demo,
    login_as: Callable[..., FlaskClient],
    bearer: Bearer,
    make_user: Callable[..., int],
    tmp_path: Path,
) -> None:
    fiona = settlement.Actor("fiona", "finance", user_id=make_user("fiona", "finance"))
    frank = settlement.Actor("frank", "finance", user_id=make_user("frank", "finance"))
    code = sorted(demo.distributors)[0]
    party = demo.distributors[code]
    token = bearer("distributor", party=code)
    portal = login_as("distributor", party=code)

    def mine(run_id: int) -> int:
        rows = settlement.list_statements(engine, fiona, run_id=run_id)
        return next(r.id for r in rows if r.party_code == code)

    def hidden(statement_id: int, status: str) -> None:
        api = app.test_client()
        listed = api.get("/api/v1/statements", headers=token).get_json()
        assert statement_id not in {r["id"] for r in listed}, status
        for path in (
            f"/api/v1/statements/{statement_id}",
            f"/api/v1/statements/{statement_id}/download?format=csv",
            f"/api/v1/statements/{statement_id}/download?format=xlsx",
            f"/api/v1/statements/{statement_id}/download?format=pdf",
        ):
            assert api.get(path, headers=token).status_code == 404, (status, path)
        answer = api.post(
            f"/api/v1/statements/{statement_id}/response", json={"confirm": True}, headers=token
        )
        assert answer.status_code == 404, (status, answer.get_json())
        assert portal.get(f"/partner/statements/{statement_id}").status_code == 404, status
        assert f'/partner/statements/{statement_id}"' not in portal.get(
            "/partner/statements"
        ).get_data(as_text=True)
        with_settlement = settlement.list_statements(
            engine, settlement.Actor(code, "distributor", party)
        )
        assert statement_id not in {s.id for s in with_settlement}, status
        account = api.get(f"/api/v1/accounts/{party}", headers=token)
        assert account.status_code == 200
        assert f"statement:{statement_id}" not in account.get_data(as_text=True), status

    first = settlement.create_run(engine, "2026-09", "final", fiona)
    hidden(mine(first.id), "draft")
    settlement.approve_run(engine, first.id, frank)
    hidden(mine(first.id), "approved")
    plan = app.test_client().get(f"/api/v1/runs/{first.id}/payments", headers=token)
    assert plan.status_code in (403, 404)
    second = settlement.create_run(engine, "2026-09", "final", fiona)
    assert settlement.get_run(engine, first.id).status == "superseded"
    hidden(mine(first.id), "superseded")
    hidden(mine(second.id), "draft after a superseded one")
    gone = mine(second.id)
    settlement.discard_run(engine, second.id, fiona)
    hidden(gone, "discarded")

    third = settlement.create_run(engine, "2026-09", "final", fiona)
    settlement.approve_run(engine, third.id, frank)
    settlement.post_run(engine, third.id, fiona, signer=_signer(tmp_path))
    shown = mine(third.id)
    assert app.test_client().get(f"/api/v1/statements/{shown}", headers=token).status_code == 200
    assert portal.get(f"/partner/statements/{shown}").status_code == 200
