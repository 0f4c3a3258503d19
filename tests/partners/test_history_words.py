"""Partner histories in words (issue 12): the party hub, the agreement page and the
exit page show each audit row as a sentence with its details in the reader's
language: no action key, no ``*_ms`` number, no Python repr, no English on a Chinese
page; the review basis and the prospect's actor likewise."""

from __future__ import annotations

import re
from collections.abc import Callable
from types import SimpleNamespace

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine

from partners import agreements as ag
from partners import exits
from settlement import exit_settlement as xs
from tests.partners._agreements_world import DRAFTER, seed
from tests.partners._exit_world import FINANCE, MANAGER, build
from tests.partners.test_agreements_service import TODAY, signed
from tests.web.test_i18n_pages import english_left
from web.partners.history import basis_words, history_line

ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}
EN = {"Accept-Language": "en"}
ACTION_KEY = re.compile(r"\b[a-z]+\.[a-z_]+\b")


def _history(page: str) -> str:
    """The page's history section (``id="history"``)."""
    start = page.rindex("<", 0, page.index('id="history"'))
    return page[start : page.index("</section>", start)]


def _raw_left(section: str) -> list[str]:
    text = re.sub(r"<[^>]+>", " ", section)
    found = [m for m in ACTION_KEY.findall(text) if not m.endswith(".pdf")]
    found += [w for w in ("_ms", "[", "{", "True", "False", "None") if w in text]
    if re.search(r"[\u4e00-\u9fff]", text):  # Chinese parts with full-width marks
        found += [w for w in (": ", "; ") if w in text]
    return found


def test_agreement_and_party_histories_in_words(
    engine: Engine, client: FlaskClient, login_as: Callable[..., FlaskClient]
) -> None:
    seed(engine)
    number = signed(engine)
    ag.terminate(engine, number, "mutual_consent", "2027-09-01", "both agree", DRAFTER,
                 today=TODAY)  # fmt: skip
    browser = login_as("partner_manager")
    data = frozenset({"D-EAST GmbH", "D-EAST", number, "signed.pdf", "pm-anna", "pm-lee",
                      "fin-bo", "both agree", "terms as negotiated", "DE", "FR", "VOL",
                      "exclusive in DE", "EUR"})  # fmt: skip
    for url in (f"/partners/agreements/{number}", "/partners/parties/D-EAST"):
        zh = _history(browser.get(url, headers=ZH).get_data(as_text=True))
        assert _raw_left(zh) == [], url

        assert english_left(zh, data) == [], url
        assert "→" in zh and "协议" in zh
        en = _history(browser.get(url, headers=EN).get_data(as_text=True))
        assert _raw_left(en) == [], url
        assert "Agreement signed" in en and "Status: approved → signed" in en
        assert "Agreement terminated" in en and "Ground: " in en
    en = _history(browser.get(f"/partners/agreements/{number}", headers=EN).get_data(as_text=True))
    assert "Agreement drafted" in en and "Agreement reviewed" in en
    # a time stored in ms reads as a date and time, not as a number
    assert re.search(r"Ended at: \d{4}-\d\d-\d\d \d\d:\d\d", en), en


def test_exit_history_in_words(
    engine: Engine,
    make_party: Callable[..., int],
    client: FlaskClient,
    login_as: Callable[..., FlaskClient],
) -> None:
    world = build(engine, make_party)
    x = exits.start_exit(engine, "DX", "strategy_change", MANAGER, note="brand leaves",
                         started_on="2026-01-05", buffer_days=30)  # fmt: skip
    exits.record_handover(engine, x.id, MANAGER, units=None, action="return")
    world.owes(120_000)
    xs.final_settlement(engine, x.id, "2026-01", FINANCE)
    exits.complete_exit(engine, x.id, MANAGER, completed_on="2026-02-10")
    browser = login_as("partner_manager")
    data = frozenset({"DX", "DY", "Delta Exit Trading", "pat-partner", "fiona-finance",
                      "brand leaves", world.agreement, "FR", "EUR"})  # fmt: skip
    for url in ("/partners/exits/party/DX", "/partners/parties/DX"):
        zh = _history(browser.get(url, headers=ZH).get_data(as_text=True))
        assert _raw_left(zh) == [], url

        assert english_left(zh, data) == [], url
        assert "退出" in zh
    en = _history(browser.get("/partners/exits/party/DX", headers=EN).get_data(as_text=True))
    assert _raw_left(en) == []
    assert "Exit started" in en and "Reason: Change of strategy" in en
    assert "Hard exit: no" in en and "Plan: return to the manufacturer" in en
    assert "Status changed" in en and "Status: exiting → terminated" in en


def test_unknown_actions_and_values_stay_readable(app: Flask) -> None:
    event = SimpleNamespace(
        action="party.merged_into",
        detail={"into": "DZ", "hard": True, "note": "", "seen_ms": 1754006400000,
                "codes": ["A", "B", "C"], "extra": {"kind": "dealer"}, "id": 7},
        actor_name="applicant",
        at_ms=1754006400000,
    )  # fmt: skip
    with app.test_request_context(headers=EN):
        line = history_line(event)
    assert line.sentence == "party: merged into"
    assert line.actor == "the applicant (public application form)"
    assert line.details == (
        "codes: A, B, C",
        "extra: Kind: Dealer",
        "Hard exit: yes",
        "into: DZ",
        f"seen: {line.when}",
    )
    with app.test_request_context(headers=ZH):
        zh = history_line(event)
    assert zh.actor != line.actor and "是" in zh.details[2]


def test_review_basis_in_the_readers_language(app: Flask) -> None:
    bases = ("not entered", "no scorecard in 2026",
             "scorecard 2026-Q3: 200 of target 110 units", "mean of scorecards 2026-Q1, 2026-Q2",
             "scorecard 2026-Q2: 3 of 40 units returned")  # fmt: skip
    with app.test_request_context(headers=EN):
        assert [basis_words(b) for b in bases] == list(bases)
        assert basis_words("my own note") == "my own note"
    with app.test_request_context(headers=ZH):
        said = [basis_words(b) for b in bases]
    assert all(english_left(f"<p>{s}</p>") == [] for s in said), said
    assert "2026-Q3" in said[2] and "200" in said[2] and "110" in said[2]


def test_stage_steps_and_list_edits_read_as_changes(app: Flask) -> None:
    step = SimpleNamespace(
        action="prospect.stage",
        detail={"from": "screening", "to": "site_visit", "owner_user_id": 4,
                "due_on": "2026-12-10", "note": ""},
        actor_name="pm-anna",
        at_ms=1754006400000,
    )  # fmt: skip
    edit = SimpleNamespace(
        action="agreement.updated",
        detail={"territories": [["DE"], ["DE", "FR"]], "payment_terms_days": [30, 45]},
        actor_name="pm-anna",
        at_ms=1754006400000,
    )
    with app.test_request_context(headers=EN):
        moved, changed = history_line(step), history_line(edit)
    assert moved.sentence == "Stage changed"
    assert moved.details[0] == "Due on: 2026-12-10" and moved.details[1].startswith("Stage: ")
    assert "→" in moved.details[1] and "owner" not in moved.summary
    assert changed.details == ("Payment terms (days): 30 → 45", "Territories: DE → DE, FR")
    with app.test_request_context(headers=ZH):
        zh = history_line(edit)
    assert zh.summary == "付款期限（天）：30 → 45；区域：DE → DE、FR"
