"""Languages of the pages (issue 11): every template's user-visible text goes through
gettext, every message has a Chinese and a Spanish translation and the catalogues
match the templates, and pages follow the profile, the switcher and Accept-Language."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from flask import Flask
from flask.ctx import RequestContext
from flask.testing import FlaskClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from web.i18n import format_amount, format_money
from web.models import User

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "web" / "templates"
TRANSLATIONS = ROOT / "web" / "translations"
ZH_HEADER = {"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"}
HAN = re.compile(r"[\u4e00-\u9fff]")

# Words that are the same in every language: names of standards, formats and the product.
TECHNICAL = {
    "hopchain",
    "GTIN",
    "SSCC",
    "EPCIS",
    "seq",
    "CSV",
    "XLSX",
    "PDF",
    "PNG",
    "JSON",
    "API",
    "IBAN",
    "BIC",
}
_JINJA = re.compile(r"{{.*?}}|{%.*?%}|{#.*?#}", re.S)
_TAG = re.compile(r"<[^>]*>", re.S)
_ATTR = re.compile(r'\b(title|placeholder|alt|aria-label)="([^"]*)"')
_BUTTON_VALUE = re.compile(r'<input\b[^>]*type="(?:submit|button|reset)"[^>]*\bvalue="([^"]*)"')


def _words(text: str) -> list[str]:
    return [
        w for w in re.findall(r"[A-Za-z][A-Za-z0-9_.\-]*", text) if w.strip(".-") not in TECHNICAL
    ]


def _line_of(source: str, offset: int) -> int:
    return source.count("\n", 0, offset) + 1


def untranslated(path: Path) -> list[str]:
    """``file:line: text`` for each user-visible text of the template outside gettext:
    text between tags, and the words of title/placeholder/alt/aria-label attributes
    and of button values, once Jinja's tags, expressions and comments are removed."""
    source = path.read_text(encoding="utf-8")
    # blank out Jinja (keeping offsets), so what remains is HTML and plain text
    plain = _JINJA.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), source)
    found = []
    name = path.relative_to(ROOT)
    for match in _TAG.finditer(plain):
        tag = match.group(0)
        for attr in _ATTR.finditer(tag):
            if _words(attr.group(2)):
                where = match.start() + attr.start()
                found.append(f"{name}:{_line_of(source, where)}: {attr.group(1)}={attr.group(2)!r}")
        button = _BUTTON_VALUE.search(tag)
        if button and _words(button.group(1)):
            found.append(f"{name}:{_line_of(source, match.start())}: value={button.group(1)!r}")
    text_only = _TAG.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), plain)
    for run in re.finditer(r"[^\s][^\n]*", text_only):
        if _words(run.group(0)):
            found.append(f"{name}:{_line_of(source, run.start())}: {run.group(0).strip()!r}")
    return found


def test_every_template_text_goes_through_gettext() -> None:
    problems = [p for path in sorted(TEMPLATES.rglob("*.html")) for p in untranslated(path)]
    assert not problems, "text outside gettext:\n" + "\n".join(problems)


def test_the_check_finds_text_outside_gettext(tmp_path: Path) -> None:
    page = tmp_path / "web" / "templates" / "page.html"
    page.parent.mkdir(parents=True)
    page.write_text(
        '{% block title %}{{ _("Fine") }}{% endblock %}\n<p>{{ n }} · 42 GTIN</p>\n'
        '<p title="Open it">Not wrapped</p>\n<input type="submit" value="Send">\n'
        "{# a comment #}<em>{{ _('fine') }}</em>\n"
    )
    global ROOT
    saved, ROOT = ROOT, tmp_path
    try:
        problems = untranslated(page)
    finally:
        ROOT = saved
    assert problems == [
        "web/templates/page.html:3: title='Open it'",
        "web/templates/page.html:4: value='Send'",
        "web/templates/page.html:3: 'Not wrapped'",
    ]


def _catalogue(path: Path) -> dict[str, str]:
    with path.open("rb") as handle:
        return {str(m.id): str(m.string) for m in read_po(handle) if m.id}


@pytest.mark.parametrize("locale", ["zh_Hans_CN", "es"])
def test_every_message_is_translated(locale: str) -> None:
    template = _catalogue(TRANSLATIONS / "messages.pot")
    catalogue = _catalogue(TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po")
    missing = sorted(set(template) - {k for k, v in catalogue.items() if v.strip()})
    assert not missing, f"{locale} lacks a translation of: {missing}"
    placeholder = re.compile(r"%\((\w+)\)s")
    wrong = [
        (msgid, text)
        for msgid, text in catalogue.items()
        if not set(placeholder.findall(text)) <= set(placeholder.findall(msgid))
    ]
    assert not wrong, f"{locale}: translations name placeholders their message lacks: {wrong}"


@pytest.mark.parametrize("locale", ["zh_Hans_CN", "es"])
def test_every_plural_form_is_translated(locale: str) -> None:
    """ngettext messages need each of the language's plural forms (Spanish has three
    in CLDR: one, many, other); an empty one would show English for that count."""
    path = TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as handle:
        catalogue = read_po(handle, locale=locale)
    short = [
        str(m.id[0])
        for m in catalogue
        if isinstance(m.id, tuple)
        and (len(m.string) < catalogue.num_plurals or not all(f.strip() for f in m.string))
    ]
    assert not short, f"{locale}: plural forms missing for {short}"


def test_catalogue_template_matches_the_code(tmp_path: Path) -> None:
    """messages.pot holds exactly what pybabel extracts now (run `make i18n-update`)."""
    fresh = tmp_path / "messages.pot"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "_l",
            "-k",
            "lazy_gettext",
            "-k",
            "N_",
            "--no-location",
            "-o",
            str(fresh),
            ".",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    committed = set(_catalogue(TRANSLATIONS / "messages.pot"))
    extracted = set(_catalogue(fresh))
    assert extracted == committed, (
        f"not in messages.pot: {sorted(extracted - committed)}; "
        f"no longer in the code: {sorted(committed - extracted)} (run make i18n-update)"
    )


def _set_profile(engine: Engine, username: str, locale: str | None, tz: str | None = None) -> None:
    with Session(engine) as session:
        user = session.scalars(select(User).where(User.username == username)).one()
        user.locale, user.timezone = locale, tz
        session.commit()


def test_accept_language_chooses_chinese_for_visitors(client: FlaskClient) -> None:
    page = client.get("/login", headers=ZH_HEADER).get_data(as_text=True)
    assert "<h1>登录</h1>" in page and 'lang="zh"' in page
    assert "用户名" in page  # the form's label (lazy_gettext)
    for header in ("zh", "zh-Hans", "zh-TW"):
        assert "登录" in client.get("/login", headers={"Accept-Language": header}).get_data(
            as_text=True
        )
    english = client.get("/login", headers={"Accept-Language": "de-DE,fr;q=0.8"}).get_data(
        as_text=True
    )
    assert "<h1>Sign in</h1>" in english and not HAN.search(english.replace("简体中文", ""))


def test_switcher_stores_a_visitors_choice_in_the_session(
    client: FlaskClient, csrf_token: Callable[..., str]
) -> None:
    assert client.post("/language", data={"locale": "es"}).status_code == 400  # no CSRF token
    answer = client.post(
        "/language", data={"locale": "es", "next": "/login", "csrf_token": csrf_token("/login")}
    )
    assert answer.status_code == 302 and answer.headers["Location"] == "/login"
    page = client.get("/login", headers=ZH_HEADER).get_data(as_text=True)
    assert "<h1>Iniciar sesión</h1>" in page
    bad = client.post("/language", data={"locale": "xx", "csrf_token": csrf_token("/login")})
    assert bad.status_code == 400
    offsite = client.post(
        "/language",
        data={"locale": "en", "next": "https://evil.example/", "csrf_token": csrf_token("/login")},
    )
    assert offsite.headers["Location"] == "/"


PAGES_BY_ROLE = {
    "channel_manager": ["/", "/alerts/"],
    "distributor": ["/", "/partner/statements", "/partner/alerts"],
    "auditor": ["/", "/finance/reference/"],
    "admin": ["/", "/admin/users", "/admin/activity"],
    "finance": ["/", "/settlement/", "/finance/reference/"],
}


@pytest.mark.parametrize("role", sorted(PAGES_BY_ROLE))
def test_pages_follow_the_users_profile(
    role: str, login_as: Callable[..., FlaskClient], engine: Engine
) -> None:
    party = "D-ZH" if role == "distributor" else None
    browser = login_as(role, party=party, username=f"{role}-zh")
    for path in PAGES_BY_ROLE[role]:  # English first: no Chinese on the page
        english = browser.get(path).get_data(as_text=True)
        assert not HAN.search(english.replace("简体中文", "")), (path, HAN.findall(english))
    _set_profile(engine, f"{role}-zh", "zh_Hans_CN")
    for path in PAGES_BY_ROLE[role]:
        answer = browser.get(path, headers={"Accept-Language": "en"})
        page = answer.get_data(as_text=True)
        assert answer.status_code == 200, (path, answer.status)
        assert 'lang="zh"' in page and "退出" in page, path  # "Sign out"
    spanish = browser.get("/", headers={"Accept-Language": "es"})
    assert "Cerrar sesión" not in spanish.get_data(as_text=True)  # the profile wins


def test_switcher_saves_the_signed_in_users_language(
    login_as: Callable[..., FlaskClient],
    csrf_token: Callable[..., str],
    engine: Engine,
    app: Flask,
) -> None:
    browser = login_as("channel_manager", username="cm-switch")
    answer = browser.post(
        "/language",
        data={
            "locale": "zh_Hans_CN",
            "next": "/alerts/",
            "csrf_token": csrf_token("/", on=browser),
        },
    )
    assert answer.headers["Location"] == "/alerts/"
    with Session(engine) as session:
        assert (
            session.scalars(select(User.locale).where(User.username == "cm-switch")).one()
            == "zh_Hans_CN"
        )
    assert "窜货警报" in browser.get("/alerts/").get_data(as_text=True)
    activity = login_as("admin", on=app.test_client()).get("/admin/activity").get_data(as_text=True)
    assert "Language or time zone changed" in activity


def test_preferences_page_sets_language_and_time_zone(
    login_as: Callable[..., FlaskClient], csrf_token: Callable[..., str], engine: Engine
) -> None:
    browser = login_as("auditor", username="aud-prefs")
    form = browser.get("/account/preferences").get_data(as_text=True)
    assert "Asia/Shanghai" in form
    token = csrf_token("/account/preferences", on=browser)
    refused = browser.post(
        "/account/preferences", data={"locale": "es", "timezone": "Mars/Base", "csrf_token": token}
    )
    assert refused.status_code == 422
    saved = browser.post(
        "/account/preferences",
        data={"locale": "es", "timezone": "Asia/Shanghai", "csrf_token": token},
    )
    assert saved.status_code == 302
    with Session(engine) as session:
        row = session.scalars(select(User).where(User.username == "aud-prefs")).one()
        assert (row.locale, row.timezone) == ("es", "Asia/Shanghai")
    page = browser.get("/account/preferences").get_data(as_text=True)
    assert "Se guardaron su idioma y su zona horaria." in page and "Idioma" in page


@pytest.fixture
def request_in(app: Flask) -> Iterator[Callable[[str], object]]:
    """``request_in("es")``: a request of that Accept-Language is current (one at a time)."""
    contexts: list[RequestContext] = []

    def enter(language: str) -> object:
        if contexts:
            contexts.pop().pop()
        ctx = app.test_request_context("/", headers={"Accept-Language": language})
        ctx.push()
        contexts.append(ctx)
        return ctx

    yield enter
    for ctx in contexts:
        ctx.pop()


def test_money_and_numbers_follow_the_locale(request_in: Callable[[str], object]) -> None:
    assert format_amount(123456, "EUR") == "1,234.56"  # outside a request: English
    request_in("es")
    assert format_amount(123456789, "EUR") == "1.234.567,89"
    assert format_money(-1500, "JPY") == "-1.500 JPY"
    assert format_amount(1234567, "KWD") == "1.234,567"
    request_in("zh-CN")
    assert format_money(123456, "EUR") == "EUR 1,234.56"
    assert format_amount(5, "CNY") == "0.05"


def test_times_show_in_the_users_time_zone(
    login_as: Callable[..., FlaskClient], engine: Engine, app: Flask
) -> None:
    from web.i18n import format_when

    with app.test_request_context("/"):
        assert format_when(1_700_000_000_000) == "2023-11-14 22:13 UTC"
    browser = login_as("admin", username="admin-tz")
    _set_profile(engine, "admin-tz", None, "Asia/Shanghai")
    page = browser.get("/admin/activity").get_data(as_text=True)
    assert "UTC+08:00" in page
