"""No English left on Chinese pages (issue 11): each role, its profile in Simplified
Chinese, opens the home page and every page of its navigation; a visible English word
(three or more ASCII letters in a text node or a button) fails the test, naming the
page and the text. Codes that are data (party codes, unit keys, currency codes) and
names of standards and formats are allowed. API errors speak the caller's language."""

from __future__ import annotations

import re
from collections.abc import Callable
from html.parser import HTMLParser

from click.testing import Result
from flask import Flask, url_for
from flask.testing import FlaskClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from geo.models import TerritoryRow
from ledger.models import Party
from risk.models import (
    CreditAssessment,
    CreditInvestigation,
    CreditLimit,
    CreditPayment,
    RiskItem,
    TradeInvoice,
)
from settlement.models import Alert, DepositMovement, Product
from sightings.models import ProductImage
from tests._worlds import SMALL_DEMO_2026_09_DETECTED, Ran
from web.models import User
from web.nav import NAV
from web.roles import Role

HAN = re.compile(r"[\u4e00-\u9fff]")

#: Tokens that are the same in every language: standards, formats, the product, the
#: languages' own names in the switcher, time zone and currency codes.
ALLOWED = {
    "GTIN",
    "SSCC",
    "EPCIS",
    "GS1",
    "API",
    "PDF",
    "CSV",
    "XLSX",
    "JSON",
    "URL",
    "ID",
    "TOTP",
    "UTC",
    "IBAN",
    "BIC",
    "FX",
    "hopchain",
    "English",
    "Español",
    "seq",
    "EUR",
    "USD",
    "CNY",
    "JPY",
    "GBP",
    "Digital",
    "Link",
    "Excel",
    "YAML",
    "GeoJSON",
    "FeatureCollection",
    "base64",
    "Ed25519",
    "SHA",
    "aaaa",
}
# a word of 3+ ASCII letters; words that are data (contain digits, dashes within codes
# such as D-ZH, or are written all in capitals up to 5 letters: codes) are not prose
_WORD = re.compile(r"(?<![\w\-/.:@])[A-Za-z][a-z]{2,}(?![\w\-/.:@])")
# what a sentence quotes as code between backticks (a command such as `hopchain handheld
# keygen`, GeoJSON member names such as `parent`, a CSV layout): typed as it stands in
# every language, as a <code> element is (only the quoted span is left out, never the
# sentence around it; an unclosed backtick leaves everything in)
_QUOTED_CODE = re.compile(r"`[^`\n]+`")


class _Text(HTMLParser):
    """The visible text of a page: text nodes outside script/style, and button values."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.texts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "code", "kbd", "samp", "pre"):
            self._skip += 1
        values = dict(attrs)
        if tag == "input" and values.get("type") in ("submit", "button") and values.get("value"):
            self.texts.append(values["value"] or "")
        for name in ("title", "placeholder", "aria-label"):
            if values.get(name):
                self.texts.append(values[name] or "")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "code", "kbd", "samp", "pre") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip and data.strip():
            self.texts.append(data.strip())


def english_left(page: str, data: frozenset[str] = frozenset()) -> list[str]:
    """Each visible text of ``page`` that holds an English word outside :data:`ALLOWED`,
    once the names in ``data`` (parties, users, territories: what people typed) are
    taken out."""
    parser = _Text()
    parser.feed(page)
    found = []
    longest_first = sorted(data, key=len, reverse=True)
    # a name is taken out only where it stands as a whole (India, not the "India" of
    # "America/Indianapolis", which would leave "napolis" behind as a word)
    names = (
        re.compile(
            "(?<![A-Za-z0-9])(?:"
            + "|".join(re.escape(n) for n in longest_first)
            + ")(?![A-Za-z0-9])"
        )
        if longest_first
        else None
    )
    for text in parser.texts:
        rest = _QUOTED_CODE.sub(" ", text)
        if names is not None:
            rest = names.sub(" ", rest)
        words = [w for w in _WORD.findall(rest) if w not in ALLOWED]
        if words:
            found.append(text)
    return found


def test_the_check_finds_english_and_passes_codes() -> None:
    page = (
        "<html><head><title>首页</title><style>body{color:red}</style></head><body>"
        "<p>经销商 D-ZH · EUR 1,234.56 · GTIN 09506000134352</p>"
        "<p>Statement confirmed</p><input type='submit' value='Send'>"
        "<script>var x = 'hello world';</script><code>hopchain scan parse</code>"
        "<span>2026-10-01 16:30 UTC+08:00</span></body></html>"
    )
    assert english_left(page) == ["Statement confirmed", "Send"]
    # backticks quote code inside a sentence; the words around them still count
    quoted = "<p>即 `hopchain handheld keygen` 的输出</p><p>run `hopchain scan` first</p>"
    assert english_left(quoted) == ["run `hopchain scan` first"]
    assert english_left("<p>an `unclosed quote</p>") == ["an `unclosed quote"]
    # names that are data come out whole, not out of the middle of a word
    zones = "<option>America/Indiana/Indianapolis</option><p>India 经销商</p>"
    assert english_left(zones, frozenset({"India"})) == []
    assert english_left("<p>Indianapolis sales</p>", frozenset({"India"})) == ["Indianapolis sales"]


def _set_locale(engine: Engine, username: str, locale: str) -> None:
    with Session(engine) as session:
        user = session.scalars(select(User).where(User.username == username)).one()
        user.locale = locale
        session.commit()


#: Roles that see alerts, and the page of one alert each opens.
ALERT_PAGES = {
    Role.CHANNEL_MANAGER: "alerts.detail",
    Role.ADMIN: "alerts.detail",
    Role.DISTRIBUTOR: "partner.alert",
}


def test_chinese_pages_have_no_english_left(
    login_as: Callable[..., FlaskClient],
    engine: Engine,
    app: Flask,
    cli_world: Callable[..., list[Ran]],
    csrf_token: Callable[..., str],
) -> None:
    """Every role's pages over a small demo network (alerts, runs, statements, entries),
    and one alert's page for each role that sees alerts (its severity reason, facts and
    the history detection wrote), the channel manager's after starting to investigate
    it (the flash). The demo world is built once per session and engine and copied."""
    init, demo, detect = cli_world(*SMALL_DEMO_2026_09_DETECTED)
    assert init.exit_code == 0, init.output
    assert demo.exit_code == 0, demo.output
    # alerts: the list's severity reasons, one alert's page
    assert detect.exit_code == 0, detect.output
    with Session(engine) as session:
        # the distributor with an open alert (its alert page is crawled too)
        party, alert_id = session.execute(
            select(Party.code, Alert.id)
            .join(Alert, Alert.party_id == Party.id)
            .where(Party.kind == "distributor", Alert.status == "open")
            .order_by(Party.code, Alert.id)
        ).first() or (None, None)
        assert alert_id is not None, "the demo raised no open alert on a distributor"
        data = frozenset(
            name
            for column in (
                Party.name,
                Party.code,
                TerritoryRow.name,
                User.username,
                User.display_name,
                DepositMovement.reason,  # what finance typed when recording a movement
                # what people typed into credit files, invoices, payments and the register
                RiskItem.title,
                RiskItem.description,
                RiskItem.response_plan,
                TradeInvoice.description,
                CreditPayment.reference,
                CreditPayment.remittance,
                CreditInvestigation.registration,
                CreditInvestigation.insurer,
                CreditInvestigation.notes,
                CreditLimit.reason,
                CreditAssessment.reason,
                # product names and who set a product's picture (the label pages)
                Product.name,
                ProductImage.updated_by,
            )
            for name in session.scalars(select(column))
            if name
        )
    problems = []
    for role in Role:
        username = f"{role.value}-crawl"
        browser = login_as(
            role.value,
            party=party if role is Role.DISTRIBUTOR else None,
            username=username,
            on=app.test_client(),
        )
        _set_locale(engine, username, "zh_Hans_CN")
        with app.test_request_context("/"):
            paths = ["/"] + [
                url_for(item.endpoint)
                for item in NAV
                if role in item.roles and item.endpoint in app.view_functions
            ]
            if role in ALERT_PAGES:
                paths.append(url_for(ALERT_PAGES[role], alert_id=alert_id))
        with Session(engine) as session:
            # the parties logging in made (an inspector's inspection party) are data too
            parties = session.execute(select(Party.code, Party.name)).all()
        names = data | {f"{role.value}-crawl"} | {n for row in parties for n in row if n}
        for path in paths:
            answer = browser.get(path)
            page = answer.get_data(as_text=True)
            if answer.status_code != 200 or not HAN.search(page):
                problems.append(f"{role.value} {path}: {answer.status}")
            problems += [f"{role.value} {path}: {text!r}" for text in english_left(page, names)]
        if role is Role.CHANNEL_MANAGER:
            path = f"/alerts/{alert_id}"
            answer = browser.post(
                f"{path}/investigate",
                data={"csrf_token": csrf_token(path, on=browser)},
                follow_redirects=True,
            )
            page = answer.get_data(as_text=True)
            if answer.status_code != 200 or "正在调查" not in page:
                problems.append(f"{role.value} {path}/investigate: {answer.status}, no flash")
            problems += [f"{role.value} {path}: {text!r}" for text in english_left(page, names)]
    assert not problems, "English on Chinese pages:\n" + "\n".join(problems)


def test_api_errors_speak_the_callers_language(client: FlaskClient) -> None:
    """``error`` stays English for programs; ``message`` is added in the language asked for."""
    default = client.get("/api/v1/no-such-thing")
    assert default.status_code == 404
    body = default.get_json()
    assert body == {"error": "not found", "status": 404}  # the shape English callers know
    assert body["status"] == 404 and default.headers["Content-Language"] == "en"
    chinese = client.get("/api/v1/no-such-thing", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    body = chinese.get_json()
    assert body["error"] == "not found" and body["message"] == "未找到"
    assert chinese.headers["Content-Language"] == "zh-Hans-CN"
    spanish = client.delete("/api/v1/openapi.json", headers={"Accept-Language": "es"})
    assert spanish.status_code == 405
    assert spanish.get_json()["message"] == "método no permitido"
    page = client.get("/no-such-page", headers={"Accept-Language": "zh"}).get_data(as_text=True)
    assert "未找到" in page and "Not Found" not in page


def test_engine_reasons_in_the_readers_language(app: Flask) -> None:
    """An engine error with a message id is said in the reader's language; its English
    text (the CLI's, the API's ``error``) is unchanged; one without an id stays English."""
    from settlement import MissingFxRates, SettlementError
    from web.reasons import reason_words

    missing = MissingFxRates("2026-11", [("EUR", "JPY")])
    assert str(missing).startswith("no FX rate for 2026-11: EUR->JPY. Import rates with")
    with app.test_request_context("/", headers={"Accept-Language": "zh-CN"}):
        said = reason_words(missing)
        assert said.startswith("2026-11 缺少汇率：EUR->JPY。") and "2026-11,EUR,JPY" in said
        assert english_left(f"<p>{said}</p>") == []
        assert reason_words(SettlementError("some reason")) == "some reason"
    with app.test_request_context("/", headers={"Accept-Language": "es"}):
        assert reason_words(missing).startswith("no hay tipo de cambio para 2026-11")


def test_chinese_detail_pages_have_no_english_left(
    login_as: Callable[..., FlaskClient],
    engine: Engine,
    app: Flask,
    run_cli: Callable[..., Result],
    cli_world: Callable[..., list[Ran]],
) -> None:
    """The detail pages of a posted run read in Chinese (issue 11): the run with its
    totals, a statement as finance reads it and as its distributor reads it (line
    titles, bases and rates written by the engine in the reader's language; the rule's
    rate column 费率, not an exchange rate's 汇率), and a program with its tiers in words."""
    import settlement
    from settlement.models import (
        FxRate,
        PartyBilling,
        Program,
        ProgramVersion,
        Statement,
        StatementLine,
    )
    from web.i18n import page_words

    init, demo, detect = cli_world(*SMALL_DEMO_2026_09_DETECTED)
    assert init.exit_code == 0
    assert demo.exit_code == 0, demo.output
    assert detect.exit_code == 0, detect.output
    made = run_cli("settle", "--period", "2026-09", "--as", "finance")
    assert made.exit_code == 0, made.output
    found = re.search(r"^run (\d+):", made.output, re.MULTILINE)
    assert found, made.output
    run_id = int(found.group(1))
    for step, user in (("approve", "finance2"), ("post", "finance")):
        done = run_cli("settle", step, str(run_id), "--as", user)
        assert done.exit_code == 0, done.output
    with Session(engine) as session:
        statement_id, party = session.execute(
            select(Statement.id, Party.code)
            .join(Party, Party.id == Statement.party_id)
            .join(StatementLine, StatementLine.statement_id == Statement.id)
            .where(Statement.run_id == run_id)
            .order_by(Statement.id)
        ).first() or (None, None)
        assert statement_id is not None, "the run has no statement with lines"
        program = session.scalars(select(Program.code).order_by(Program.id)).first()
        assert program is not None, "the demo made no program"
        typed = (
            Party.name,
            Party.code,
            User.username,
            Program.code,
            Program.name,
            ProgramVersion.created_by,
            PartyBilling.legal_name,
            FxRate.source,  # quoted in a statement's FX note
        )
        data = frozenset(
            name for column in typed for name in session.scalars(select(column)) if name
        ) | {
            line.strip()
            for address in session.scalars(select(PartyBilling.address))
            for line in address.splitlines()
            if line.strip()
        }
    with app.test_request_context("/", headers={"Accept-Language": "zh-CN"}):
        zh = page_words()
        lines = settlement.get_statement(
            engine, statement_id, settlement.Actor("t", "finance"), zh
        ).lines
        titles = {ln.text.title for ln in lines}
        rules = next(p for p in settlement.list_programs(engine, settlement.Actor("t", "finance"))
                     if p.code == program).versions[-1].rules  # fmt: skip
        tiers = settlement.describe_rules(settlement.parse_rules(rules), zh).tiers
    english = {ln.text.title for ln in settlement.get_statement(
        engine, statement_id, settlement.Actor("t", "finance")).lines}  # fmt: skip
    assert all(HAN.search(t) for t in titles) and not titles & english
    assert tiers and all(HAN.search(t.rate) for t in tiers)

    pages = {
        Role.FINANCE: [
            f"/settlement/runs/{run_id}",
            f"/settlement/statements/{statement_id}",
            f"/finance/programs/{program}",
            "/settlement/",
        ],
        Role.DISTRIBUTOR: [f"/partner/statements/{statement_id}", "/partner/statements"],
    }
    problems = []
    for role, paths in pages.items():
        username = f"{role.value}-detail"
        browser = login_as(
            role.value,
            party=party if role is Role.DISTRIBUTOR else None,
            username=username,
            on=app.test_client(),
        )
        _set_locale(engine, username, "zh_Hans_CN")
        for path in paths:
            answer = browser.get(path)
            page = answer.get_data(as_text=True)
            if answer.status_code != 200 or not HAN.search(page):
                problems.append(f"{role.value} {path}: {answer.status}")
            # the program document typed in YAML (its keys are the file format's) is code
            shown = re.sub(r"<textarea[^>]*>.*?</textarea>", "", page, flags=re.S)
            left = english_left(shown, data | {username})
            problems += [f"{role.value} {path}: {text!r}" for text in left]
            if "/statements/" in path:
                if not all(t in page for t in titles):
                    problems.append(f"{role.value} {path}: line titles not in Chinese")
                if '<th scope="col" class="num">费率</th>' not in page:
                    problems.append(f"{role.value} {path}: the rate column is not 费率")
            if "/programs/" in path and not all(t.rate in page for t in tiers):
                problems.append(f"{role.value} {path}: tiers not in Chinese")
    assert not problems, "English on Chinese pages:\n" + "\n".join(problems)
