"""GET /api/v1/ledger/entries pages like RFC 6962 §4.6 get-entries: a range wider
than a page is answered with the page that starts at ``start``, never refused."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine

from ledger import EntryKind, Hop, append_hops
from tests.ledger.conftest import T0, item
from web.api import ledger as ledger_api

Bearer = Callable[..., dict[str, str]]
SIZE = 25


@pytest.fixture
def auditor(engine: Engine, make_party: Callable[..., int], bearer: Bearer) -> dict[str, str]:
    make_party("MFR")
    append_hops(engine, [Hop(item(i), EntryKind.COMMISSIONING, "MFR", T0 + i) for i in range(SIZE)])
    return bearer("auditor")


def get(client: FlaskClient, headers: dict[str, str], query: str) -> Any:
    response = client.get(f"/api/v1/ledger/entries?{query}", headers=headers)
    return response.status_code, response.get_json()


def test_the_issue_range_is_answered_not_refused(
    client: FlaskClient, auditor: dict[str, str]
) -> None:
    status, body = get(client, auditor, "start=0&end=13115")
    assert status == 200
    assert [e["seq"] for e in body] == list(range(SIZE))  # ends early at the log's end


def test_a_wide_range_gives_one_page_from_start_and_the_rest_on_asking_again(
    client: FlaskClient, auditor: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, whole = get(client, auditor, f"start=0&end={SIZE}")
    monkeypatch.setattr(ledger_api, "MAX_ENTRIES", 10)
    pages = []
    start = 0
    while start < SIZE:
        status, page = get(client, auditor, f"start={start}&end={SIZE}")
        assert status == 200
        assert page[0]["seq"] == start and len(page) == min(10, SIZE - start)
        pages.append(page)
        start = page[-1]["seq"] + 1
    assert [len(p) for p in pages] == [10, 10, 5]
    assert [e for p in pages for e in p] == whole
    # a range within a page is answered whole, exactly
    status, page = get(client, auditor, "start=3&end=7")
    assert (status, [e["seq"] for e in page]) == (200, [3, 4, 5, 6])
    # past the end of the log: an empty page, not an error
    assert get(client, auditor, f"start={SIZE}&end={SIZE + 50}") == (200, [])


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ("start=5&end=3", "'end'"),
        ("start=5&end=5", "'end'"),
        ("start=-1&end=3", "start"),
        ("start=0&end=0", "end"),
        ("start=0&end=x", "end"),
        ("start=0", "end"),
        ("end=3", "start"),
    ],
)
def test_ranges_that_are_not_ranges_are_still_400(
    client: FlaskClient, auditor: dict[str, str], query: str, names: str
) -> None:
    status, body = get(client, auditor, query)
    assert status == 400
    assert names in body["error"]
    # every such 400 names the parameter at fault, as the API's other 400s do
    assert body["parameter"] == names.strip("'")


def test_the_paging_is_in_the_openapi_description(client: FlaskClient) -> None:
    doc = client.get("/api/v1/openapi.json").get_json()
    operation = doc["paths"]["/api/v1/ledger/entries"]["get"]
    assert "RFC 6962 section 4.6" in operation["description"]
    assert "asks again" in operation["description"]
    assert "400" in operation["responses"]


@pytest.mark.parametrize(
    ("query", "parameter"),
    [("first=5&second=3", "first"), ("first=0&second=3", "first"), ("first=2", "second")],
)
def test_consistency_proof_ranges_that_are_not_ranges_name_the_parameter(
    client: FlaskClient, auditor: dict[str, str], query: str, parameter: str
) -> None:
    response = client.get(f"/api/v1/ledger/proof/consistency?{query}")
    assert response.status_code == 400
    body = response.get_json()
    assert parameter in body["error"]
    assert body["parameter"] == parameter
