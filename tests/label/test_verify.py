"""The consumer's page (label.verify) and the sighting it may send (label.sighting).

World: tests/label/test_answer.py (D1 in CN holds AA; U2 was shipped to D1; BB is
D2's; "Green tea 250 g").
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, MetaData, select
from sqlalchemy.orm import Session

from sightings.models import PublicSighting, SuspectedAlert, VerificationTally
from tests.label.test_answer import GTIN, NAME, build_world
from web.label.verify import SEEN_COOKIE, _Invalid, parse_sighting

U2 = f"/label/01/{GTIN}/21/U2"
_TOKEN = re.compile(r'data-url="([^"]+)" data-token="([^"]+)"')


@pytest.fixture
def units(engine: Engine, make_party: Callable[..., int]) -> dict[str, int]:
    return build_world(engine, make_party)


def _tally(engine: Engine, unit_id: int) -> int:
    with Session(engine) as session:
        count = session.scalar(
            select(VerificationTally.count).where(VerificationTally.unit_id == unit_id)
        )
    return int(count or 0)


def test_the_page_says_genuine_with_product_and_market(
    client: FlaskClient, engine: Engine, units: dict[str, int]
) -> None:
    page = client.get(U2, headers={"Accept-Language": "en"})
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert '<meta name="viewport"' in text and '<html lang="en">' in text
    assert "Genuine" in text and NAME in text and "U2" in text
    assert "China" in text and "Sold in: Aland" in text  # D1's country and its territory
    assert "1 time" in text
    assert "may have been copied" not in text
    assert page.headers["Cache-Control"] == "no-store"
    assert _tally(engine, units["U2"]) == 1
    (cookie,) = [c for c in page.headers.getlist("Set-Cookie") if c.startswith(SEEN_COOKIE)]
    assert "HttpOnly" in cookie and "Path=/label" in cookie


def test_the_page_speaks_the_readers_language(client: FlaskClient, units: dict[str, int]) -> None:
    zh = client.get(U2, headers={"Accept-Language": "zh-CN,zh;q=0.9"}).get_data(as_text=True)
    assert '<html lang="zh">' in zh and "中国" in zh and "China" not in zh
    # ?lang= wins over the browser's language, and the picker links every language
    en = client.get(U2 + "?lang=en", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert '<html lang="en">' in en and "China" in en and "中国" not in en
    assert f'href="{U2}?lang=zh"' in en and f'href="{U2}?lang=es"' in en
    es = client.get(U2 + "?lang=es").get_data(as_text=True)
    assert '<html lang="es">' in es
    # an unsupported ?lang= falls back to the browser's
    de = client.get(U2 + "?lang=de", headers={"Accept-Language": "zh"}).get_data(as_text=True)
    assert '<html lang="zh">' in de


def test_a_repeat_view_by_the_same_browser_is_not_counted(
    app: Flask, engine: Engine, units: dict[str, int]
) -> None:
    phone = app.test_client()
    phone.get(U2)
    again = phone.get(U2)
    assert "on this phone: it was not counted again" in again.get_data(as_text=True)
    assert not [c for c in again.headers.getlist("Set-Cookie") if c.startswith(SEEN_COOKIE)]
    assert _tally(engine, units["U2"]) == 1
    # another phone (on another network) counts; a forged cookie counts as none
    app.test_client().get(U2, environ_base={"REMOTE_ADDR": "198.51.100.2"})
    forged = app.test_client()
    forged.set_cookie(SEEN_COOKIE, "not-signed", path="/label")
    forged.get(U2, environ_base={"REMOTE_ADDR": "198.51.100.3"})
    assert _tally(engine, units["U2"]) == 3
    # the phone remembers several codes
    phone.get(f"/label/01/{GTIN}/21/U1")
    phone.get(U2)
    assert _tally(engine, units["U2"]) == 3 and _tally(engine, units["U1"]) == 1


def test_an_unknown_code_is_a_404_page(
    client: FlaskClient, engine: Engine, units: dict[str, int]
) -> None:
    page = client.get(f"/label/01/{GTIN}/21/NOPE1")
    text = page.get_data(as_text=True)
    assert page.status_code == 404
    assert "Unknown code" in text and "No product of ours carries this code." in text
    assert "Genuine" not in text and "data-token" not in text
    with Session(engine) as session:
        assert session.scalars(select(VerificationTally)).all() == []


@pytest.mark.parametrize(
    ("path", "words"),
    [
        ("/label/01/09506000134353/21/U2", "09506000134353 is not a valid product number"),
        (f"/label/01/{GTIN}/21/{'x' * 21}", "is not a valid serial number"),
    ],
)
def test_a_malformed_code_is_a_400_page_saying_why(
    client: FlaskClient, units: dict[str, int], path: str, words: str
) -> None:
    page = client.get(path)
    assert page.status_code == 400
    assert "Unknown code" in page.get_data(as_text=True)
    assert words in page.get_data(as_text=True)


def test_unknown_code_response_is_the_same_page(app: Flask) -> None:
    from web.label.verify import unknown_code_response

    with app.test_request_context("/01/123?lang=zh"):
        response = unknown_code_response("这个代码不是我们的。")
    text = response.get_data(as_text=True)
    assert response.status_code == 404
    assert '<html lang="zh">' in text and "这个代码不是我们的。" in text
    with app.test_request_context("/01/123"):
        assert unknown_code_response("bad", 400).status_code == 400


def test_the_copy_warning_is_shown(app: Flask, engine: Engine, units: dict[str, int]) -> None:
    # threshold 2: the third verification (3 > 2), from a third client, warns
    app.config["SIGHTINGS_COPY_WARNING_VERIFICATIONS"] = 2
    answers = [
        app.test_client().get(U2, environ_base={"REMOTE_ADDR": f"198.51.100.{n}"}) for n in range(3)
    ]
    pages = [a.get_data(as_text=True) for a in answers]
    assert ["may have been copied" in p for p in pages] == [False, False, True]
    assert "verified 3 times, more than one item usually is (2)" in pages[2]


def test_a_retired_code_is_said_to_be_withdrawn(
    client: FlaskClient, engine: Engine, units: dict[str, int]
) -> None:
    from ledger import EntryKind, Hop, append_hops
    from tests.territories_web import _territories_world as world

    hop = Hop(world.unit(3), EntryKind.DECOMMISSIONING, "D1", world.ms(2026, 4, 3))
    assert append_hops(engine, [hop])[0].status != "rejected"
    text = client.get(f"/label/01/{GTIN}/21/U3").get_data(as_text=True)
    assert "withdrawn from circulation" in text and "Genuine code" in text


def test_too_many_views_from_one_client_are_refused(
    app: Flask, engine: Engine, units: dict[str, int]
) -> None:
    app.config["LABEL_VERIFY_LIMITS"] = "2 per minute"
    phone = app.test_client()
    assert phone.get(f"/label/01/{GTIN}/21/U1").status_code == 200
    assert phone.get(f"/label/01/{GTIN}/21/U6").status_code == 200
    refused = phone.get(U2)
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert "Please try again in" in refused.get_data(as_text=True)
    assert _tally(engine, units["U2"]) == 0  # nothing counted when refused
    # another address is not limited
    other = app.test_client().get(U2, environ_base={"REMOTE_ADDR": "198.51.100.9"})
    assert other.status_code == 200


def test_too_many_views_of_one_code_are_refused(
    app: Flask, engine: Engine, units: dict[str, int]
) -> None:
    app.config["LABEL_VERIFY_CODE_LIMITS"] = "2 per minute"
    codes = [
        app.test_client().get(U2, environ_base={"REMOTE_ADDR": f"198.51.100.{i}"}).status_code
        for i in range(3)
    ]
    assert codes == [200, 200, 429]
    assert _tally(engine, units["U2"]) == 2
    assert app.test_client().get(f"/label/01/{GTIN}/21/U1").status_code == 200


# --- sightings -------------------------------------------------------------------------


def _post(
    client: FlaskClient, body: object, path: str = U2, **kw: object
) -> tuple[int, dict[str, Any]]:
    raw = body if isinstance(body, str) else json.dumps(body)
    response = client.post(
        path if "/sighting" in path else path + "/sighting",
        data=raw,
        content_type="application/json",
        **kw,
    )
    return response.status_code, response.get_json()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ("not json", "body"),
        ([], "body"),
        ({"token": "t", "lat": 51, "lon": 21}, "consent"),
        ({"token": "t", "lat": 51, "lon": 21, "consent": "true"}, "consent"),
        ({"token": "t", "lat": 51, "lon": 21, "consent": False}, "consent"),
        ({"lat": 51, "lon": 21, "consent": True}, "token"),
        ({"token": " ", "lat": 51, "lon": 21, "consent": True}, "token"),
        ({"token": 7, "lat": 51, "lon": 21, "consent": True}, "token"),
        ({"token": "t", "lon": 21, "consent": True}, "lat"),
        ({"token": "t", "lat": "51", "lon": 21, "consent": True}, "lat"),
        ({"token": "t", "lat": True, "lon": 21, "consent": True}, "lat"),
        ({"token": "t", "lat": 90.5, "lon": 21, "consent": True}, "lat"),
        ({"token": "t", "lat": 51, "lon": -180.01, "consent": True}, "lon"),
        ({"token": "t", "lat": 51, "lon": None, "consent": True}, "lon"),
        ('{"token": "t", "lat": NaN, "lon": 21, "consent": true}', "lat"),
    ],
)
def test_a_bad_sighting_names_its_field(
    client: FlaskClient, units: dict[str, int], body: object, field: str
) -> None:
    status, answer = _post(client, body)
    assert status == 400
    assert answer["field"] == field and answer["recorded"] is False
    assert answer["message"]
    assert field in answer["error"] or (field == "body" and "JSON object" in answer["error"])


def _json_values() -> st.SearchStrategy[object]:
    leaf = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8)
    return st.recursive(
        leaf,
        lambda inner: (
            st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
        ),
        max_leaves=6,
    )


@given(
    st.fixed_dictionaries(
        {},
        optional={
            "token": _json_values(),
            "lat": _json_values(),
            "lon": _json_values(),
            "consent": _json_values(),
        },
    )
    | _json_values()
)
def test_any_json_is_parsed_or_refused_by_name(body: object) -> None:
    try:
        token, lat, lon = parse_sighting(body)
    except _Invalid as bad:
        assert bad.field in {"body", "consent", "token", "lat", "lon"}
        return
    assert isinstance(body, dict) and body["consent"] is True
    assert token == body["token"] and token.strip()
    assert -90 <= lat <= 90 and -180 <= lon <= 180
    assert lat == body["lat"] and lon == body["lon"]


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.fixed_dictionaries(
        {"consent": st.just(True), "token": st.text(min_size=1, max_size=30)},
        optional={"lat": _json_values(), "lon": _json_values()},
    )
)
def test_any_sighting_body_gets_a_json_answer_never_a_crash(
    app: Flask, units: dict[str, int], body: dict[str, object]
) -> None:
    app.config["LABEL_SIGHTING_LIMITS"] = "10000 per minute"
    app.config["LABEL_SIGHTING_CODE_LIMITS"] = "10000 per minute"
    status, answer = _post(app.test_client(), body)
    assert status in (400, 409)
    assert answer["recorded"] is False and answer["message"]
    if status == 409:  # well formed: the token (made up here) is refused
        assert answer["field"] == "token"


def test_a_shared_location_is_recorded_coarsely_and_once(
    app: Flask, engine: Engine, units: dict[str, int]
) -> None:
    phone = app.test_client()
    address = "203.0.113.77"
    page = phone.get(U2 + "?lang=zh", environ_base={"REMOTE_ADDR": address})
    token = _TOKEN.search(page.get_data(as_text=True))
    assert token is not None
    # in BB, D2's territory: out of D1's zone
    url = token.group(1).replace("&amp;", "&")
    assert url == U2 + "/sighting?lang=zh"  # the short code, as the docs say
    body = {"token": token.group(2), "lat": 51.123456, "lon": 21.987654, "consent": True}
    status, answer = _post(phone, body, path=url, environ_base={"REMOTE_ADDR": address})
    assert (status, answer["recorded"], answer["verdict"]) == (200, True, "out_of_zone")
    with Session(engine) as session:
        rows = session.scalars(select(PublicSighting)).all()
        assert [(r.lat_e6, r.lon_e6, r.territory_code, r.locale) for r in rows] == [
            (51_120_000, 21_990_000, "BB", "zh_Hans_CN")
        ]
        assert session.scalars(select(SuspectedAlert.kind)).all() == ["out_of_zone"]
    # the same page's token again: refused, nothing more stored
    status, answer = _post(phone, body, path=url, environ_base={"REMOTE_ADDR": address})
    assert (status, answer["field"]) == (409, "token")
    # the reader's address is stored nowhere
    assert address not in _everything_stored(engine)


def _everything_stored(engine: Engine) -> str:
    meta = MetaData()
    meta.reflect(engine)
    parts = []
    with engine.connect() as conn:
        for table in meta.sorted_tables:
            for row in conn.execute(table.select()):
                parts.append(repr(tuple(row)))
    return "\n".join(parts)


def test_a_sighting_of_an_unknown_code_is_404(app: Flask, units: dict[str, int]) -> None:
    import time

    from sightings.public import issue_token
    from web.label.verify import sighting_secret

    path = f"/label/01/{GTIN}/21/NOPE1"
    with app.test_request_context(path):
        token = issue_token(sighting_secret(), f"01/{GTIN}/21/NOPE1", time.time_ns() // 10**6)
    body = {"token": token, "lat": 51, "lon": 21, "consent": True}
    status, answer = _post(app.test_client(), body, path=path)
    assert (status, answer["recorded"]) == (404, False)
    assert answer["message"] == "No product of ours carries this code."


@pytest.mark.parametrize(
    ("key", "limit", "addresses"),
    [
        ("LABEL_SIGHTING_LIMITS", "1 per minute", ["192.0.2.1", "192.0.2.1"]),
        ("LABEL_SIGHTING_CODE_LIMITS", "1 per minute", ["192.0.2.1", "192.0.2.2"]),
    ],
)
def test_too_many_sightings_are_refused(
    app: Flask, units: dict[str, int], key: str, limit: str, addresses: list[str]
) -> None:
    app.config[key] = limit
    body = {"token": "t", "lat": 51, "lon": 21, "consent": True}
    first, _ = _post(app.test_client(), body, environ_base={"REMOTE_ADDR": addresses[0]})
    status, answer = _post(app.test_client(), body, environ_base={"REMOTE_ADDR": addresses[1]})
    assert first == 409  # counted, then refused for its made-up token
    assert status == 429 and 1 <= answer["retry_after"] <= 60
    assert answer["recorded"] is False and "try again" in answer["message"]


def test_a_unit_shared_too_often_in_an_hour_is_refused(
    app: Flask, engine: Engine, units: dict[str, int]
) -> None:
    # SIGHTINGS_PER_UNIT_HOUR = 1: the second page's sighting within the hour is refused
    app.config["SIGHTINGS_PER_UNIT_HOUR"] = 1
    answers = []
    for _ in range(2):
        phone = app.test_client()
        found = _TOKEN.search(phone.get(U2).get_data(as_text=True))
        assert found is not None
        body = {"token": found.group(2), "lat": 51.0, "lon": 11.0, "consent": True}
        answers.append(_post(phone, body, path=found.group(1).replace("&amp;", "&")))
    assert answers[0][0] == 200 and answers[0][1]["verdict"] == "in_zone"
    assert answers[1][0] == 429 and "at most 1 times an hour" in answers[1][1]["message"]
    with Session(engine) as session:
        assert len(session.scalars(select(PublicSighting)).all()) == 1


def test_a_market_that_is_one_country_is_named_once(
    client: FlaskClient, engine: Engine, units: dict[str, int]
) -> None:
    # D2 in country BB (Barbados to CLDR) holds only the country-level territory BB,
    # which the page names by CLDR too: the market is said once, with no "Sold in"
    from sqlalchemy import update

    from ledger.models import Party

    with Session(engine) as session, session.begin():
        session.execute(update(Party).where(Party.code == "D2").values(country="BB"))
    text = client.get(f"/label/01/{GTIN}/21/U6").get_data(as_text=True)
    assert text.count("Barbados") == 1 and "Sold in" not in text


def test_the_distance_threshold_is_configurable(
    app: Flask, engine: Engine, units: dict[str, int]
) -> None:
    # sightings at (51 N, 11 E) and (51 N, 12 E) are about 70 km apart: no warning with
    # the default 300 km, a warning once SIGHTINGS_COPY_WARNING_KM is 50
    from tests.label.test_answer import _sighting

    with Session(engine) as session:
        _sighting(session, units["U2"], 51, 11, 1)
        _sighting(session, units["U2"], 51, 12, 2)
        session.commit()
    assert "may have been copied" not in app.test_client().get(U2).get_data(as_text=True)
    app.config["SIGHTINGS_COPY_WARNING_KM"] = 50
    text = app.test_client().get(U2).get_data(as_text=True)
    assert "This code has been seen in places 70 km apart." in text
