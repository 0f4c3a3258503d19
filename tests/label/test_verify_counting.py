"""What the label page counts (issue 14 fixes): a HEAD never, one client address once
per code a day (in the limiter's storage, not the database), so that only many
different clients raise the copy warning; errors answered as JSON to a client that
prefers JSON; ``?lang=`` links with the short codes.

World: tests/label/test_answer.py (U2 shipped to D1; "Green tea 250 g").
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from sightings import policy
from sightings.models import VerificationTally
from tests.label.test_answer import GTIN, build_world
from tests.label.test_verify import _everything_stored
from web import create_app
from web.db import get_engine
from web.label.verify import SEEN_COOKIE

U2 = f"/label/01/{GTIN}/21/U2"
U1 = f"/label/01/{GTIN}/21/U1"
NOT_COUNTED = "this view was not counted again"
WARNING = "may have been copied"


@pytest.fixture
def units(engine: Engine, make_party: Callable[..., int]) -> dict[str, int]:
    return build_world(engine, make_party)


def _tally(engine: Engine, unit_id: int) -> int:
    with Session(engine) as session:
        count = session.scalar(
            select(VerificationTally.count).where(VerificationTally.unit_id == unit_id)
        )
    return int(count or 0)


def _from(app: Flask, address: str, path: str = U2, **kw: object) -> str:
    """One cookieless GET (a fresh client, as curl) from ``address``: the page's text."""
    page = app.test_client().get(path, environ_base={"REMOTE_ADDR": address}, **kw)
    assert page.status_code == 200
    return page.get_data(as_text=True)


def test_a_head_request_is_never_counted(app: Flask, engine: Engine, units: dict[str, int]) -> None:
    # curl -sI twice: answered, nothing counted, no cookie given
    for _ in range(2):
        head = app.test_client().head(U2)
        assert head.status_code == 200 and head.headers["Content-Type"].startswith("text/html")
        assert not [c for c in head.headers.getlist("Set-Cookie") if c.startswith(SEEN_COOKIE)]
    assert _tally(engine, units["U2"]) == 0
    # nor does it use up the address's count: the GET after it is counted
    assert "1 time" in _from(app, "127.0.0.1") and _tally(engine, units["U2"]) == 1
    app.test_client().head(U2)
    assert _tally(engine, units["U2"]) == 1


def test_one_client_counts_once_however_often_it_asks(
    app: Flask, engine: Engine, units: dict[str, int]
) -> None:
    # five cookieless GETs from one address: one verification; the page still answers
    pages = [_from(app, "203.0.113.5") for _ in range(5)]
    assert _tally(engine, units["U2"]) == 1
    assert all("Genuine" in p and "1 time" in p for p in pages)
    assert [NOT_COUNTED in p for p in pages] == [False, True, True, True, True]
    # a second client counts: 2; and the first one's other code is a code of its own
    assert "2 times" in _from(app, "203.0.113.6")
    _from(app, "203.0.113.5", U1)
    assert (_tally(engine, units["U2"]), _tally(engine, units["U1"])) == (2, 1)


def test_the_count_window_is_a_setting(app: Flask, engine: Engine, units: dict[str, int]) -> None:
    app.config["LABEL_VERIFY_COUNT_WINDOW"] = "2 per day"
    for _ in range(4):
        _from(app, "203.0.113.7")
    assert _tally(engine, units["U2"]) == 2


def test_with_rate_limits_off_a_client_still_counts_once(
    engine: Engine, db_url: str, tmp_path: Path, units: dict[str, int]
) -> None:
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": db_url,
            "INSTANCE_PATH": tmp_path / "instance",
            "SECRET_KEY": "test-only-secret",
            "SECURE_COOKIES": False,
            "RATELIMIT_ENABLED": False,
        }
    )
    try:
        for _ in range(3):
            _from(app, "203.0.113.9")
        _from(app, "203.0.113.10")
        assert _tally(engine, units["U2"]) == 2
    finally:
        with app.app_context():
            get_engine().dispose()


def test_the_copy_warning_needs_more_than_ten_different_clients(
    app: Flask, engine: Engine, units: dict[str, int]
) -> None:
    # the tester's case: 70 GETs from one address used to count 62 and warn everyone.
    # Now they count 1, and 1 > 10 is false: no warning.
    assert policy.COPY_WARNING_VERIFICATIONS == 10
    app.config["LABEL_VERIFY_LIMITS"] = "1000 per minute"  # not refused: counted or not
    for _ in range(70):
        text = _from(app, "192.0.2.200")
    assert _tally(engine, units["U2"]) == 1 and WARNING not in text
    # clients 2..10: 10 verifications, and 10 > 10 is still false: no warning
    for n in range(2, 11):
        text = _from(app, f"192.0.2.{n}")
    assert _tally(engine, units["U2"]) == 10 and WARNING not in text
    # the 11th different client: 11 > 10, the warning is shown, to it and after it
    assert WARNING in _from(app, "192.0.2.11")
    assert _tally(engine, units["U2"]) == 11
    assert WARNING in _from(app, "192.0.2.200")  # shown even where not counted


def test_no_address_is_kept_in_the_database_or_in_clear(
    app: Flask, engine: Engine, units: dict[str, int]
) -> None:
    address = "198.51.100.77"
    _from(app, address)
    _from(app, address)
    assert address not in _everything_stored(engine)
    # what counts once per address is kept under a digest of address and code
    storage = app.extensions["hopchain_limiter"].limiter.storage
    kept = [k for k in repr(vars(storage)).split("'") if "label-verify-counted" in k]
    assert kept and not [k for k in kept if address in k]


def test_too_many_views_answer_json_to_a_client_preferring_json(
    app: Flask, units: dict[str, int]
) -> None:
    app.config["LABEL_VERIFY_LIMITS"] = "1 per minute"
    phone = app.test_client()
    assert phone.get(U2).status_code == 200
    refused = phone.get(U2, headers={"Accept": "application/json"})
    assert refused.status_code == 429 and refused.mimetype == "application/json"
    body = refused.get_json()
    assert body["status"] == 429 and 1 <= body["retry_after"] <= 60
    assert "try again in" in body["message"] and "recorded" not in body
    assert refused.headers["Retry-After"] == str(body["retry_after"])
    # a browser, */* and no Accept get the page
    for accept in ("text/html,application/xhtml+xml,*/*;q=0.8", "*/*", None):
        headers = {"Accept": accept} if accept else {}
        page = phone.get(U2, headers=headers)
        assert (page.status_code, page.mimetype) == (429, "text/html"), accept
        assert "Please try again in" in page.get_data(as_text=True)


@pytest.mark.parametrize(
    ("path", "status", "error"),
    [
        (f"/label/01/{GTIN}/21/NOPE1", 404, "unknown code"),
        ("/label/01/09506000134353/21/U2", 400, "malformed code"),
        ("/label/01/04012345000016", 404, "unknown code"),
        ("/label/01/123", 400, "malformed code"),
    ],
)
def test_a_code_that_is_not_ours_answers_json_to_a_client_preferring_json(
    client: FlaskClient, units: dict[str, int], path: str, status: int, error: str
) -> None:
    answer = client.get(path, headers={"Accept": "application/json, text/html;q=0.5"})
    assert (answer.status_code, answer.mimetype) == (status, "application/json")
    body = answer.get_json()
    assert (body["status"], body["error"]) == (status, error) and body["message"]
    assert answer.headers["Cache-Control"] == "no-store"
    page = client.get(path, headers={"Accept": "*/*"})
    assert (page.status_code, page.mimetype) == (status, "text/html")


_HREF = re.compile(r'(?:href|data-url)="([^"]*lang=[^"]*)"')


@pytest.mark.parametrize("asked", ["zh", "zh_Hans_CN", "zh-CN"])
def test_page_links_use_the_short_language_codes(
    client: FlaskClient, units: dict[str, int], asked: str
) -> None:
    text = client.get(f"{U2}?lang={asked}").get_data(as_text=True)
    assert '<html lang="zh">' in text  # every form of the code is accepted
    links = [h.replace("&amp;", "&") for h in _HREF.findall(text)]
    assert f"/label/01/{GTIN}?lang=zh" in links  # the product page
    assert f"{U2}/sighting?lang=zh" in links  # where a sighting is sent
    assert f"{U2}?lang=en" in links and f"{U2}?lang=es" in links  # the picker
    assert all(re.search(r"lang=(en|zh|es)(&|$)", h) for h in links), links
