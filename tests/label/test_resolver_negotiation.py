"""The resolver's content negotiation and caching headers (issue 14 fixes):

- ``?linkType=linkset`` (and ``all``) with ``Accept: */*`` or no ``Accept`` answers the
  linkset as ``application/linkset+json``, the type the redirect's ``Link`` header
  advertises for that URL; only a client asking for HTML first (a browser) gets it as
  a page (GS1-Conformant Resolver 1.2, 2.9 and 2.10);
- public, cacheable answers (redirects, the JSON linkset, the description file, a
  product's picture) carry no ``Vary: Cookie``, even for a signed-in reader, and the
  linkset's titles never follow the reader's cookie.

World: tests/label/test_resolver.py.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from flask.testing import FlaskClient
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine, update
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from sightings.answer import set_product_image
from tests.label._resolver_schemas import LINKSET_SCHEMA, validate
from tests.label.test_products import ACTOR, picture
from tests.label.test_resolver import ANY, BROWSER, GTIN, JSON, LINKSET, UNIT, VERIFY, world
from web.label.linkset import (
    DEFAULT_LINK,
    MEDIA_TYPES,
    PIP,
    VERIFICATION_SERVICE,
    Action,
    Link,
    decide,
    preferred_media_type,
)
from web.models import User

__all__ = ["world"]  # the fixture, imported for pytest

LD = "application/ld+json"


@pytest.mark.usefixtures("world")
@pytest.mark.parametrize("link_type", ["linkset", "all"])
@pytest.mark.parametrize(
    ("accept", "media"),
    [
        (ANY, LINKSET),
        (None, LINKSET),
        ("application/*", LINKSET),
        ("image/png", LINKSET),  # nothing of ours named: the linkset's own type
        ("text/html;q=0.5, */*", LINKSET),  # anything rather than HTML
        (BROWSER, "text/html"),
        ("text/html, */*", "text/html"),
        (JSON, JSON),
        (LINKSET, LINKSET),
        (LD, LD),
    ],
)
def test_a_linkset_request_under_each_accept_header(
    client: FlaskClient, link_type: str, accept: str | None, media: str
) -> None:
    headers = {"Accept": accept} if accept is not None else {}
    response = client.get(f"{UNIT}?linkType={link_type}", headers=headers)
    assert (response.status_code, response.mimetype) == (200, media)
    if media == "text/html":
        assert "What this code links to" in response.get_data(as_text=True)
        return
    document = response.get_json(force=True)
    validate(LINKSET_SCHEMA, {k: v for k, v in document.items() if k != "@context"})
    assert document["linkset"][0]["anchor"] == f"http://localhost{UNIT}"
    assert response.headers["Cache-Control"].startswith("public")
    assert {"Accept", "Accept-Language"} <= set(response.vary)


@pytest.mark.usefixtures("world")
@pytest.mark.parametrize("accept", [ANY, None])
def test_the_linkset_the_redirect_advertises_is_what_its_url_answers(
    client: FlaskClient, accept: str | None
) -> None:
    headers = {"Accept": accept} if accept is not None else {}
    redirect = client.get(UNIT, headers=headers)
    assert redirect.status_code == 307  # no link type: still the default link
    found = re.search(r'<([^>]+)>; rel="linkset"; type="([^"]+)"', redirect.headers["Link"])
    assert found is not None
    url, advertised = found.groups()
    assert advertised == LINKSET
    followed = client.get(url.removeprefix("http://localhost"), headers=headers)
    assert (followed.status_code, followed.mimetype) == (200, advertised)
    validate(LINKSET_SCHEMA, followed.get_json())


# ------------------------------------------------------------------- preferred_media_type


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ([], None),
        ([("*/*", 1)], None),
        ([("image/png", 1)], None),
        ([("text/html", 0)], None),
        ([("text/html", 1), ("application/xhtml+xml", 1), ("*/*", 0.8)], "text/html"),
        ([("text/html", 1), ("*/*", 1)], "text/html"),
        ([("text/html", 0.5), ("*/*", 1)], None),
        ([("text/*", 1)], "text/html"),
        ([("application/*", 1)], LINKSET),
        ([("application/json", 1)], JSON),
        ([("Application/JSON; charset=utf-8", 1)], JSON),
        ([("application/json", 0.9), ("text/html", 1)], "text/html"),
        ([("application/json", 1), ("text/html", 0.9)], JSON),
        ([("application/json", 1), (LINKSET, 1)], LINKSET),
        ([(LD, 1), ("*/*", 0.1)], LD),
        ([("application/*", 0.5), ("application/json", 0)], LINKSET),
    ],
)
def test_the_media_type_an_accept_header_asks_for(
    accept: list[tuple[str, float]], expected: str | None
) -> None:
    assert preferred_media_type(accept) == expected


_ranges = st.sampled_from([*MEDIA_TYPES, "*/*", "text/*", "application/*", "image/png"])
_qualities = st.sampled_from([0, 0.1, 0.5, 0.9, 1])


def _quality(media: str, accept: list[tuple[str, float]]) -> tuple[float, bool]:
    """RFC 9110 12.5.1: the quality of the most specific range matching ``media``, and
    whether that range names it (not ``*/*``)."""
    ranges: dict[str, float] = {}
    for value, q in accept:
        ranges[value] = max(q, ranges.get(value, 0.0))
    for candidate, named in ((media, True), (media.split("/")[0] + "/*", True), ("*/*", False)):
        if candidate in ranges:
            return ranges[candidate], named
    return 0.0, False


@given(st.lists(st.tuples(_ranges, _qualities), max_size=6))
def test_the_answer_is_a_named_type_of_the_best_quality(accept: list[tuple[str, float]]) -> None:
    rated = {media: _quality(media, accept) for media in MEDIA_TYPES}
    top = max(q for q, _ in rated.values())
    best_named = [m for m in MEDIA_TYPES if rated[m] == (top, True)]
    chosen = preferred_media_type(accept)
    if top == 0 or not best_named:
        assert chosen is None
    else:
        assert chosen == best_named[0]  # the first of MEDIA_TYPES among them


def test_decide_answers_a_linkset_request_without_preference_as_linkset_json() -> None:
    verify = Link(VERIFICATION_SERVICE, "https://h.example/v", "Check")
    links = [Link(DEFAULT_LINK, verify.href, verify.title), verify, Link(PIP, "https://p", "P")]
    for link_type in ("linkset", "all"):
        choice = decide(links, link_type, None)
        assert (choice.action, choice.media_type) == (Action.LINKSET, LINKSET)
        assert decide(links, link_type, "text/html").media_type == "text/html"
        assert decide(links, link_type, JSON).media_type == JSON
    # no link type and no preference: the default link, as before
    assert decide(links, None, None).action is Action.REDIRECT


# ------------------------------------------------------------------- Vary: Cookie


def _public_answers(client: FlaskClient) -> dict[str, TestResponse]:
    return {
        "redirect": client.get(UNIT, headers={"Accept": BROWSER}),
        "redirect, any": client.get(UNIT),
        "linkset": client.get(f"{UNIT}?linkType=linkset", headers={"Accept": ANY}),
        "description": client.get("/.well-known/gs1resolver"),
        "picture": client.get(f"/label/products/{GTIN}/image"),
    }


@pytest.mark.usefixtures("world")
@pytest.mark.parametrize("signed_in", [False, True])
def test_public_cacheable_answers_do_not_vary_on_the_cookie(
    client: FlaskClient,
    engine: Engine,
    login_as: Callable[..., FlaskClient],
    signed_in: bool,
) -> None:
    with Session(engine) as session:
        set_product_image(session, GTIN, picture(), actor=ACTOR, now_ms=1)
        session.commit()
    reader = login_as("channel_manager", username="cm-vary") if signed_in else client
    for name, response in _public_answers(reader).items():
        assert response.status_code in (200, 307), name
        assert response.headers["Cache-Control"].startswith("public"), name
        assert "Cookie" not in response.vary, name
    # answers that may depend on who reads them keep it (the label page, no-store)
    page = reader.get(VERIFY)
    assert page.headers["Cache-Control"] == "no-store"


@pytest.mark.usefixtures("world")
def test_the_linkset_titles_follow_the_request_never_the_readers_cookie(
    engine: Engine, login_as: Callable[..., FlaskClient]
) -> None:
    reader = login_as("channel_manager", username="cm-zh")
    with Session(engine) as session, session.begin():
        session.execute(update(User).where(User.username == "cm-zh").values(locale="zh_Hans_CN"))
    # the signed-in reader's own pages are in Chinese ...
    assert '<html lang="zh">' in reader.get(VERIFY).get_data(as_text=True)
    # ... but the shared linkset follows Accept-Language (or ?lang=) alone
    headers = {"Accept": LINKSET, "Accept-Language": "en"}
    english = reader.get(f"{UNIT}?linkType=linkset", headers=headers).get_json()
    titles = [t["title"] for t in english["linkset"][0][PIP]]
    assert titles == ["Product information"]
    spanish = reader.get(f"{UNIT}?linkType=linkset&lang=es", headers=headers).get_json()
    assert spanish["linkset"][0][PIP][0]["title"] != "Product information"
