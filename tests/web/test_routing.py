"""web/routing.py: URLs built by rules whose builders compile on first use are
Werkzeug's own, for every rule of the app, with and without extra arguments."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, url_for
from werkzeug.routing import IntegerConverter, Rule

import web.app
from tests.conftest import _made_app
from web.routing import LazyBuilderRule, rule_class


@pytest.fixture(scope="module")
def apps(
    _migrated_sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Flask, Flask]]:
    """The app as built (lazy builders) and the same app with Werkzeug's plain Rule."""
    folder = tmp_path_factory.mktemp("routing")
    url = f"sqlite:///{_migrated_sqlite_template}"
    lazy = next(_made_app(url, folder / "lazy"))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(web.app, "rule_class", lambda: Rule)
        plain = next(_made_app(url, folder / "plain"))
    yield lazy, plain


def _arguments(rule: Rule) -> dict[str, Any]:
    """A value for each of the rule's variables its converter accepts."""
    values: dict[str, Any] = {}
    for name in sorted(rule.arguments):
        converter = rule._converters[name]
        values[name] = 7 if isinstance(converter, IntegerConverter) else "N-1"
    return values


def _every_url(app: Flask, extra: dict[str, Any]) -> dict[str, str]:
    urls: dict[str, str] = {}
    with app.test_request_context("/"):
        for rule in app.url_map.iter_rules():
            args = {**_arguments(rule), **extra}
            urls[f"{rule.endpoint} {rule.rule}"] = url_for(rule.endpoint, **args)
            urls[f"{rule.endpoint} {rule.rule} external"] = url_for(
                rule.endpoint, _external=True, **args
            )
    return urls


def test_the_app_uses_lazy_builders() -> None:
    assert rule_class() is LazyBuilderRule


@pytest.mark.parametrize(
    "extra",
    [{}, {"page": 2, "q": "a b&c"}, {"lang": "zh", "next": "/x?y=1#z"}],
    ids=["none", "query", "reserved"],
)
def test_every_rule_builds_the_url_werkzeug_builds(
    apps: tuple[Flask, Flask], extra: dict[str, Any]
) -> None:
    lazy, plain = apps
    # every rule but Flask's own static one, which Flask adds before the app is configured
    added = [r for r in lazy.url_map.iter_rules() if r.endpoint != "static"]
    assert all(isinstance(r, LazyBuilderRule) for r in added)
    assert not any(isinstance(r, LazyBuilderRule) for r in plain.url_map.iter_rules())
    ours, theirs = _every_url(lazy, extra), _every_url(plain, extra)
    assert len(ours) > 300
    assert ours == theirs


def test_a_builder_is_compiled_once_then_kept(apps: tuple[Flask, Flask]) -> None:
    lazy, _ = apps
    rule = next(r for r in lazy.url_map.iter_rules() if r.arguments)
    args = _arguments(rule)
    with lazy.test_request_context("/"):
        first = url_for(rule.endpoint, **args)
        compiled = rule._build
        assert url_for(rule.endpoint, **args) == first
        assert rule._build is compiled
        assert compiled.__name__ != "build_on_first_use"
