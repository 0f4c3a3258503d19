"""Party and user pickers search as you type (issue 11): the finance forms' distributor
field and the administration forms' party and user fields are text inputs that
web/static/party_picker.js turns into pickers, not a <select> of every party.

The server still checks what was typed: a code that names no distributor (a user
that does not exist) is an error next to its field, in words, in the reader's
language; a grant (a user's or a token's role) has no silent default.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

import settlement
from tests.finance_web._pages import Browser
from web.models import User

MANY = 141  # distributors: a <select> of them all was a page of options

FORMS = ("/finance/adjustments/", "/finance/targets/", "/finance/billing/", "/finance/deposits/")


@pytest.fixture
def many(engine: Engine, make_party: Callable[..., int], parties: dict[str, int]) -> None:
    for i in range(MANY - len(parties)):
        make_party(f"D-{i:03d}")


def _error(page: str, field_id: str = "party") -> str:
    match = re.search(rf'<p class="error" id="{field_id}-error">([^<]*)</p>', page)
    assert match, f"no error on {field_id}"
    return html.unescape(match.group(1))


@pytest.mark.parametrize("path", FORMS)
def test_the_forms_render_a_picker_not_every_distributor(
    many: None, finance: Browser, path: str
) -> None:
    page = finance.text(path)
    assert re.search(
        r'<input type="text" id="party" name="party"[^>]*data-party-picker="/api/v1/parties"', page
    )
    assert "D-000" not in page and "D-139" not in page  # no option per distributor
    assert page.count("<option") < 10
    assert 'src="/static/party_picker.js"' in page


def test_an_adjustment_takes_a_typed_code(engine: Engine, many: None, finance: Browser) -> None:
    booked = finance.post(
        "/finance/adjustments/", {"party": " d-north ", "amount": "-10.00", "reason": "damaged"}
    )
    assert booked.status_code == 302
    (adj,), _ = settlement.list_adjustments(engine, settlement.Actor("fiona", "finance"))
    assert (adj.party_code, adj.amount_minor) == ("D-NORTH", -1000)


def test_an_unknown_code_is_named_next_to_the_field(
    engine: Engine, many: None, finance: Browser
) -> None:
    for path, data in (
        ("/finance/adjustments/", {"amount": "1", "reason": "x"}),
        ("/finance/targets/", {"period": "2026-10", "measure": "units", "amount": "5"}),
        ("/finance/billing/", {"legal_name": "X", "address": "", "iban": "", "bic": ""}),
    ):
        answer = finance.post(path, {"party": "D-NOWHERE", **data})
        assert answer.status_code == 422, path
        page = answer.get_data(as_text=True)
        assert _error(page) == "Distributor: no distributor has the code “D-NOWHERE”.", path
        assert 'value="D-NOWHERE"' in page  # kept as typed, to correct it
        empty = finance.post(path, {"party": "", **data}).get_data(as_text=True)
        assert _error(empty) == "Distributor: choose one (type its code or name, then pick it)."
    assert settlement.list_adjustments(engine, settlement.Actor("fiona", "finance"))[1] == 0


def test_a_party_code_of_another_kind_is_no_distributor(
    make_party: Callable[..., int], many: None, finance: Browser
) -> None:
    make_party("MAKER", kind="manufacturer")
    answer = finance.post("/finance/adjustments/", {"party": "MAKER", "amount": "1", "reason": "x"})
    assert _error(answer.get_data(as_text=True)) == (
        "Distributor: no distributor has the code “MAKER”."
    )


def test_the_error_is_in_the_readers_language(engine: Engine, many: None, finance: Browser) -> None:
    with Session(engine) as s:
        fiona = s.scalars(select(User).where(User.username == "fiona")).one()
        fiona.locale = "zh_Hans_CN"
        s.commit()
    answer = finance.post(
        "/finance/adjustments/", {"party": "D-NOWHERE", "amount": "1", "reason": "x"}
    )
    said = _error(answer.get_data(as_text=True))
    assert "D-NOWHERE" in said and "no distributor" not in said
    assert re.search(r"[\u4e00-\u9fff]", said)


def test_deposits_and_targets_open_a_typed_code(
    parties: dict[str, int], many: None, finance: Browser
) -> None:
    opened = finance.get("/finance/deposits/?party=D-TOKYO")
    assert opened.status_code == 302
    assert opened.headers["Location"].endswith(f"/finance/deposits/{parties['D-TOKYO']}")
    nowhere = finance.get("/finance/deposits/?party=D-NOWHERE").get_data(as_text=True)
    assert _error(nowhere) == "Distributor: no distributor has the code “D-NOWHERE”."
    finance.post(
        "/finance/targets/",
        {"party": "D-TOKYO", "period": "2026-10", "measure": "units", "amount": "7"},
    )
    listed = finance.text("/finance/targets/?party=d-tokyo")
    assert 'id="f-party" name="party" value="D-TOKYO"' in listed and "D-TOKYO" in listed
    assert _error(finance.text("/finance/targets/?party=NOPE"), "f-party").endswith("“NOPE”.")


# --- the administration forms ------------------------------------------------------


@pytest.fixture
def admin(login_as: Callable[..., FlaskClient], csrf_token: Callable[..., str]) -> Browser:
    return Browser(login_as("admin", username="ada"), "ada")


def test_a_grant_has_no_silent_role(admin: Browser, make_party: Callable[..., int]) -> None:
    make_party("D-EAST")
    for path in ("/admin/users", "/admin/tokens"):
        page = admin.text(path)
        first = re.search(r'<select[^>]*name="role"[^>]*>\s*<option([^>]*)>([^<]*)</option>', page)
        assert first and 'value=""' in first.group(1) and first.group(2) == "choose…", path
        assert 'data-party-picker="/api/v1/parties"' in page
    assert 'data-user-picker="/api/v1/users"' in admin.text("/admin/tokens")
    answer = admin.post(
        "/admin/users",
        {"username": "dora", "role": "", "party": "D-EAST", "password": "a long enough password 1"},
    )
    assert answer.status_code == 422
    assert "Role: choose the role it is granted." in html.unescape(answer.get_data(as_text=True))


def test_the_admin_forms_name_an_unknown_party_or_user(
    engine: Engine, admin: Browser, make_party: Callable[..., int]
) -> None:
    make_party("D-EAST")
    password = "a long enough password 1"
    bad = admin.post(
        "/admin/users",
        {"username": "dora", "role": "distributor", "party": "D-WEST", "password": password},
    )
    assert bad.status_code == 422
    assert _error(bad.get_data(as_text=True)) == "Party code: no party has the code “D-WEST”."
    made = admin.post(
        "/admin/users",
        {"username": "dora", "role": "distributor", "party": "D-EAST", "password": password},
    )
    assert made.status_code == 302
    token = admin.post("/admin/tokens", {"role": "distributor", "party": "D-EAST", "user": "nora"})
    assert token.status_code == 422
    assert _error(token.get_data(as_text=True), "user") == "User: no user has the username “nora”."
    ok = admin.post("/admin/tokens", {"role": "distributor", "party": "D-EAST", "user": "dora"})
    assert ok.status_code == 201


def test_the_user_look_up_is_for_administrators(
    admin: Browser, make_user: Callable[..., int], finance: Browser
) -> None:
    make_user("dora", "finance")
    make_user("dan", "auditor")
    found = admin.get("/api/v1/users?q=D").get_json()["items"]
    assert [u["username"] for u in found] == ["dan", "dora"]
    assert found[1]["role"] == "finance"
    assert admin.get("/api/v1/users?q=do&limit=1").get_json()["items"][0]["username"] == "dora"
    assert admin.get("/api/v1/users?q=%25").get_json()["items"] == []  # no wildcard
    assert finance.get("/api/v1/users?q=d").status_code == 403
