"""The auditor's ledger page: head, signed note, entries, proofs, verify now."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient

from ledger import EntryKind, Hop, ensure_signing_key, make_checkpoint
from ledger.keys import LedgerSigner
from tests.ledger.conftest import Network, item

Login = Callable[..., FlaskClient]


def _setup(app: Flask, network: Network) -> None:
    ensure_signing_key(Path(app.instance_path))
    network.append(*(Hop(item(i), EntryKind.COMMISSIONING, "MFR", network.at()) for i in range(6)))
    network.one(Hop(item(0), EntryKind.RECEIVING, "D-SOUTH", network.at()))
    make_checkpoint(network.engine, LedgerSigner.load(Path(app.instance_path)))


def test_an_auditor_sees_the_head_entries_and_a_proof(
    app: Flask, network: Network, login_as: Login, csrf_token: Callable[..., str]
) -> None:
    _setup(app, network)
    browser = login_as("auditor")
    page = browser.get("/ledger/?seq=3").get_data(as_text=True)
    assert "Entries</dt><dd>7</dd>" in page
    assert "\u2014 " in page  # the signed note's signature line
    assert "received by D-SOUTH but never shipped" in page
    assert "Entry 3 is in the tree of 7 entries" in page

    anomalies = browser.get("/ledger/?anomalies=1").get_data(as_text=True)
    assert anomalies.count('class="row-anomaly"') == 1

    verdict = browser.post("/ledger/", data={"csrf_token": csrf_token("/ledger/", on=browser)})
    assert "Intact: 7 entries of 6 units" in verdict.get_data(as_text=True)

    with network.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE entries SET kind = 'inspecting' WHERE seq = 2")
    verdict = browser.post("/ledger/", data={"csrf_token": csrf_token("/ledger/", on=browser)})
    assert "Tampered at seq 2: changed" in verdict.get_data(as_text=True)


def test_the_ledger_page_is_for_auditors_and_admins_only(
    app: Flask, network: Network, login_as: Login
) -> None:
    _setup(app, network)
    assert login_as("distributor", party="D-NORTH").get("/ledger/").status_code == 403
