"""web.label.linkset, the resolver's rules without a request: link type names, the
choice between redirect, linkset and 404, and the encoders (linkset JSON, Link
header), with properties over any links."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.label._resolver_schemas import LINKSET_SCHEMA, validate
from web.label.linkset import (
    DEFAULT_LINK,
    GS1_VOC,
    LINKSET_CONTEXT,
    LINKSET_REQUEST,
    PIP,
    TRACEABILITY,
    VERIFICATION_SERVICE,
    Action,
    Link,
    curie,
    decide,
    link_header,
    linkset_document,
    normalise_link_type,
)

VERIFY = Link(VERIFICATION_SERVICE, "https://h.example/label/01/1/21/S", "Check", hreflang=("en",))
PAGE = Link(PIP, "https://h.example/label/01/1", "Product", hreflang=("en", "zh", "es"))
UNIT_LINKS = [Link(DEFAULT_LINK, VERIFY.href, VERIFY.title), VERIFY, PAGE]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("gs1:pip", PIP),
        ("https://gs1.org/voc/pip", PIP),
        ("http://www.gs1.org/voc/pip", PIP),
        ("https://ref.gs1.org/voc/pip", PIP),
        (" gs1:traceability ", TRACEABILITY),
        ("linkset", LINKSET_REQUEST),
        ("all", LINKSET_REQUEST),
        ("schema:url", "schema:url"),
    ],
)
def test_link_type_names(value: str, expected: str) -> None:
    assert normalise_link_type(value) == expected


@given(st.text(max_size=40))
def test_normalising_a_link_type_is_idempotent(value: str) -> None:
    once = normalise_link_type(value)
    assert normalise_link_type(once) == once


@given(st.from_regex(r"\A[a-zA-Z]{1,20}\Z"))
def test_a_gs1_curie_and_its_uri_are_one_link_type(term: str) -> None:
    assert normalise_link_type(f"gs1:{term}") == GS1_VOC + term
    assert curie(normalise_link_type(f"gs1:{term}")) == f"gs1:{term}"


@pytest.mark.parametrize(
    ("link_type", "media", "action", "target"),
    [
        (None, None, Action.REDIRECT, VERIFY.href),
        (None, "text/html", Action.REDIRECT, VERIFY.href),
        (None, "application/json", Action.LINKSET, None),
        (None, "application/linkset+json", Action.LINKSET, None),
        (None, "application/ld+json", Action.LINKSET, None),
        ("gs1:pip", "text/html", Action.REDIRECT, PAGE.href),
        ("gs1:pip", "application/json", Action.REDIRECT, PAGE.href),
        ("gs1:pip", "application/linkset+json", Action.LINKSET, None),
        ("gs1:defaultLink", None, Action.REDIRECT, VERIFY.href),
        ("all", "text/html", Action.LINKSET, None),
        ("gs1:recallStatus", "text/html", Action.NO_SUCH_LINK, None),
        ("gs1:recallStatus", "application/json", Action.NO_SUCH_LINK, None),
    ],
)
def test_decide(
    link_type: str | None, media: str | None, action: Action, target: str | None
) -> None:
    choice = decide(UNIT_LINKS, link_type, media)
    assert choice.action is action
    assert (choice.link.href if choice.link else None) == target
    assert choice.media_type == (media or "text/html")


def test_an_item_without_a_default_link_is_refused() -> None:
    with pytest.raises(ValueError, match="default link"):
        decide([PAGE], None, None)


_terms = st.sampled_from(["pip", "verificationService", "traceability", "recallStatus", "epil"])
_paths = st.from_regex(r"\A(/[A-Za-z0-9._~%-]{1,12}){1,4}\Z")
_titles = st.text(min_size=1, max_size=30).filter(lambda t: "\x00" not in t)
_langs = st.lists(st.sampled_from(["en", "zh", "es", "pt-BR"]), max_size=3, unique=True)
_links = st.builds(
    lambda term, path, title, langs: Link(
        GS1_VOC + term, "https://h.example" + path, title, hreflang=tuple(langs)
    ),
    _terms,
    _paths,
    _titles,
    _langs,
)


@given(st.lists(_links, min_size=1, max_size=6), _paths, st.text(max_size=30))
def test_any_links_make_a_linkset_the_standards_schema_accepts(
    links: list[Link], anchor_path: str, description: str
) -> None:
    default = Link(DEFAULT_LINK, links[0].href, links[0].title)
    anchor = "https://id.example" + anchor_path
    document = linkset_document(anchor, [default, *links], item_description=description)
    validate(LINKSET_SCHEMA, document)
    (context,) = document["linkset"]
    assert context["anchor"] == anchor
    # every link is there once, in order, under its type; the default has a title only
    assert context[DEFAULT_LINK] == [{"href": default.href, "title": default.title}]
    for rel in {link.rel for link in links}:
        assert [t["href"] for t in context[rel]] == [x.href for x in links if x.rel == rel]
    as_ld = linkset_document(anchor, [default, *links], json_ld=True)
    assert as_ld["@context"] == LINKSET_CONTEXT and as_ld["linkset"] == [
        {k: v for k, v in context.items() if k != "itemDescription"}
    ]


_LINK_VALUE = re.compile(r'<([^>]*)>((?:;\s*[a-z*]+="(?:[^"\\]|\\.)*")*)')


@given(st.lists(_links, max_size=6), _paths)
def test_the_link_header_lists_the_linkset_and_every_link(links: list[Link], path: str) -> None:
    header = link_header(links, linkset_href="https://id.example" + path + "?linkType=linkset")
    assert header.isascii()
    parsed = [
        (target, re.findall(r'([a-z*]+)="((?:[^"\\]|\\.)*)"', params))
        for target, params in _LINK_VALUE.findall(header)
    ]
    assert parsed[0] == (
        "https://id.example" + path + "?linkType=linkset",
        [("rel", "linkset"), ("type", "application/linkset+json")],
    )
    assert len(parsed) == len(links) + 1
    for (target, params), link in zip(parsed[1:], links, strict=True):
        assert target == link.href
        assert params == [
            ("rel", link.rel),
            ("type", link.media_type),
            *(("hreflang", tag) for tag in link.hreflang),
        ]


def test_the_schema_refuses_what_the_standard_refuses() -> None:
    good = linkset_document("https://id.example/01/1", UNIT_LINKS)
    validate(LINKSET_SCHEMA, good)
    without_title = {"linkset": [{"anchor": "https://id.example/01/1", PIP: [{"href": PAGE.href}]}]}
    with pytest.raises(AssertionError, match="'title' is a required property"):
        validate(LINKSET_SCHEMA, without_title)
    odd_key = {"linkset": [{"anchor": "https://id.example/01/1", "Not A Rel": []}]}
    with pytest.raises(AssertionError, match="does not match any of the regexes"):
        validate(LINKSET_SCHEMA, odd_key)
    with pytest.raises(AssertionError, match="'anchor' is a required property"):
        validate(LINKSET_SCHEMA, {"linkset": [{PIP: []}]})
