"""The recruitment pages and the public application form: what people see and do, in
English and Chinese, who may act, the honeypot, the rate limit and CSRF."""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from ledger.models import Party
from partners import recruitment as rc
from partners.models import PartnerEvent, Prospect, Trial
from tests.partners._recruit_world import APPLICATION, PM, image_bytes, sign_agreement, walk_to
from tests.web.test_i18n_pages import HAN, english_left
from web.models import User
from web.nav import NAV

Login = Callable[..., FlaskClient]
Token = Callable[..., str]


def _prospects(engine: Engine) -> int:
    with Session(engine) as s:
        return int(s.scalar(select(func.count(Prospect.id))) or 0)


def _zh(
    engine: Engine, client: FlaskClient, login_as: Login, role: str = "partner_manager"
) -> FlaskClient:
    username = f"zh-{role}"
    browser = login_as(role, username=username, on=client)
    with Session(engine) as s:
        user = s.scalars(select(User).where(User.username == username)).one()
        user.locale = "zh_Hans_CN"
        s.commit()
    return browser


# ------------------------------------------------------------------ the public form


def test_the_form_stores_an_application_and_shows_its_reference(
    client: FlaskClient, engine: Engine, csrf_token: Token
) -> None:
    page = client.get("/apply")
    assert page.status_code == 200 and 'name="website_url"' in page.get_data(as_text=True)
    data = {k: v for k, v in APPLICATION.items() if k != "kind"}
    r = client.post("/apply", data={**data, "csrf_token": csrf_token("/apply")})
    assert r.status_code == 200
    with Session(engine) as s:
        p = s.scalars(select(Prospect)).one()
        assert (p.source, p.channel, p.company_name) == (
            "form",
            "inbound",
            APPLICATION["company_name"],
        )
    assert p.reference in r.get_data(as_text=True)


def test_the_form_names_each_bad_field_and_keeps_what_was_typed(
    client: FlaskClient, engine: Engine, csrf_token: Token
) -> None:
    r = client.post(
        "/apply",
        data={
            "company_name": "Bright Co",
            "country": "",
            "contact_email": "nope",
            "csrf_token": csrf_token("/apply"),
        },
    )
    page = r.get_data(as_text=True)
    assert r.status_code == 422
    # the field is named by its label, as in Chinese, never by its input name (issue 12)
    assert "Country: is empty" in page and "Contact person: is empty" in page
    assert "E-mail: &#39;nope&#39; is not an e-mail address" in page
    assert "country: is empty" not in page and "contact_name:" not in page
    assert "contact_email:" not in page
    said = re.findall(r'<p class="error" id="f-[a-z_]+-error">([^<]*)</p>', page)
    assert said and not any("_" in text for text in said)
    assert 'value="Bright Co"' in page
    assert _prospects(engine) == 0


def test_the_honeypot_answers_like_a_success_and_stores_nothing(
    client: FlaskClient, engine: Engine, csrf_token: Token
) -> None:
    r = client.post(
        "/apply",
        data={
            **APPLICATION,
            "website_url": "http://buy.example",
            "csrf_token": csrf_token("/apply"),
        },
    )
    assert r.status_code == 200
    assert re.search(r"APP-\d{4}-[0-9A-Z]{8}", r.get_data(as_text=True))
    assert _prospects(engine) == 0
    with Session(engine) as s:
        assert s.scalar(select(func.count(PartnerEvent.id))) == 0


def test_the_form_needs_its_csrf_token(client: FlaskClient, engine: Engine) -> None:
    r = client.post("/apply", data=APPLICATION)
    assert r.status_code == 400
    assert _prospects(engine) == 0


def test_the_form_is_rate_limited(
    app: Flask, client: FlaskClient, csrf_token: Token, engine: Engine
) -> None:
    app.config["APPLICATION_LIMITS"] = "2 per hour"
    token = csrf_token("/apply")
    codes = [
        client.post("/apply", data={**APPLICATION, "csrf_token": token}).status_code
        for _ in range(3)
    ]
    assert codes == [200, 200, 429]
    assert _prospects(engine) == 2


def test_the_form_in_chinese(client: FlaskClient, csrf_token: Token) -> None:
    client.post(
        "/language",
        data={"locale": "zh_Hans_CN", "next": "/apply", "csrf_token": csrf_token("/apply")},
    )
    page = client.get("/apply").get_data(as_text=True)
    assert HAN.search(page) and "中国" in page
    assert english_left(page) == []
    r = client.post("/apply", data={"csrf_token": csrf_token("/apply"), "country": "CN"})
    assert r.status_code == 422
    page = r.get_data(as_text=True)
    assert english_left(page) == []
    said = re.findall(r'<p class="error" id="f-[a-z_]+-error">([^<]*)</p>', page)
    assert "公司名称：不能为空" in said and said and not any("_" in text for text in said)


# ------------------------------------------------------------------ the pages


def test_the_board_draws_and_counts(client: FlaskClient, engine: Engine, login_as: Login) -> None:
    walk_to(engine, "screening", channel="exhibition")
    rc.submit_application(engine, APPLICATION)
    rc.record_cost(engine, "exhibition", "2026-11", 300_000, "EUR", "stand", PM)
    browser = login_as("finance", on=client)
    page = browser.get("/partners/recruitment/").get_data(as_text=True)
    assert 'id="chart-stages"' in page and "echarts" in page
    assert '"categories": ["Application", "Screening"' in page
    assert "nobody signed yet" in page
    assert "3,000.00" in page


def test_a_prospect_is_walked_through_the_pages(
    client: FlaskClient, engine: Engine, login_as: Login, csrf_token: Token
) -> None:
    pid = walk_to(engine, "application")
    browser = login_as("partner_manager", on=client)
    path = f"/partners/recruitment/prospects/{pid}"

    def post(action: str, data: dict[str, object], **kw: object) -> str:
        r = browser.post(
            f"{path}/{action}",
            data={**data, "csrf_token": csrf_token(path, on=browser)},
            follow_redirects=True,
            **kw,
        )  # type: ignore[arg-type]
        return r.get_data(as_text=True)

    page = post("move", {"stage": "site_visit"})
    assert "may move to screening, rejected, withdrawn, not to site_visit" in page
    post("move", {"stage": "screening", "due_on": "2026-12-24"})
    page = post(
        "score",
        {
            "score_qualification": "80",
            "reason_qualification": "licensed",
            "score_resources": "300",
            "reason_resources": "big",
        },
    )
    # said under the resources score input, the field named by its label (issue 12)
    assert (
        'aria-describedby="score_resources-error"' in page
        and "Score: 300 is not between 0 and 100" in page
        and "resources.score:" not in page
    )
    post(
        "score",
        {k: v for c in rc.CRITERIA for k, v in ((f"score_{c}", "50"), (f"reason_{c}", "fine"))},
    )
    post("move", {"stage": "site_visit"})
    page = post(
        "visit",
        {
            "visited_on": "2026-11-20",
            "visitor": "Rita",
            "report": "Clean",
            "photos": (io.BytesIO(image_bytes("JPEG")), "shop.jpg"),
        },
        content_type="multipart/form-data",
    )
    match = re.search(rf'src="({path}/photos/\d+)"', page)
    assert match, page
    photo = browser.get(match.group(1))
    assert photo.mimetype == "image/jpeg" and photo.data == image_bytes("JPEG")
    post("move", {"stage": "negotiation"})
    page = post("terms", {"territories": "DE, XX", "currency": "EUR", "deposit": "12.345"})
    assert "Deposit: " in page and "deposit:" not in page
    page = post("terms", {"territories": "DE, XX", "currency": "EUR", "deposit": "5000"})
    assert "Territories [1]: &#39;XX&#39; is not a stored territory" in page
    post(
        "terms",
        {
            "territories": "DE",
            "currency": "EUR",
            "deposit": "5000.00",
            "trial_order_cap_units": "50",
        },
    )
    post("move", {"stage": "signing"})
    page = post("sign", {"code": "CN-BRIGHT"})
    assert "CN-BRIGHT" in page and "AG-CN-BRIGHT-001" in page
    with Session(engine) as s:
        assert s.scalar(select(Party.status).where(Party.code == "CN-BRIGHT")) == "trial"
        trial = s.scalars(select(Trial)).one()
        assert trial.order_cap_units == 50
    trials_page = browser.get("/partners/recruitment/trials").get_data(as_text=True)
    assert "CN-BRIGHT" in trials_page
    r = browser.post(
        "/partners/recruitment/trials/CN-BRIGHT/decide",
        data={
            "decision": "admit",
            "reason": "",
            "csrf_token": csrf_token("/partners/recruitment/trials", on=browser),
        },
    )
    assert r.status_code == 422 and "Reason: is empty" in r.get_data(as_text=True)
    early = browser.post(
        "/partners/recruitment/trials/CN-BRIGHT/decide",
        data={
            "decision": "admit",
            "reason": "good",
            "csrf_token": csrf_token("/partners/recruitment/trials", on=browser),
        },
    )
    assert "no signed agreement in force" in early.get_data(as_text=True)
    sign_agreement(engine, "AG-CN-BRIGHT-001", dt.datetime.now(dt.UTC).date().isoformat())
    browser.post(
        "/partners/recruitment/trials/CN-BRIGHT/decide",
        data={
            "decision": "admit",
            "reason": "good",
            "csrf_token": csrf_token("/partners/recruitment/trials", on=browser),
        },
    )
    with Session(engine) as s:
        assert s.scalar(select(Party.status).where(Party.code == "CN-BRIGHT")) == "active"


@pytest.mark.parametrize("role", ["finance", "channel_manager", "auditor"])
def test_readers_see_but_cannot_act(
    client: FlaskClient, engine: Engine, login_as: Login, csrf_token: Token, role: str
) -> None:
    pid = walk_to(engine, "application")
    browser = login_as(role, on=client)
    path = f"/partners/recruitment/prospects/{pid}"
    page = browser.get(path).get_data(as_text=True)
    assert APPLICATION["company_name"] in page and "/move" not in page
    r = browser.post(
        f"{path}/move", data={"stage": "screening", "csrf_token": csrf_token(path, on=browser)}
    )
    assert r.status_code == 403
    assert rc.get_prospect(engine, pid, PM).prospect.stage == "application"


def test_a_distributor_cannot_see_the_pipeline(client: FlaskClient, login_as: Login) -> None:
    browser = login_as("distributor", party="D-1", on=client)
    assert browser.get("/partners/recruitment/").status_code == 403
    assert browser.get("/partners/recruitment/prospects").status_code == 403


def test_costs_and_weights_forms(
    client: FlaskClient, engine: Engine, login_as: Login, csrf_token: Token
) -> None:
    browser = login_as("partner_manager", on=client)
    r = browser.post(
        "/partners/recruitment/costs",
        data={
            "channel": "referral",
            "period": "2026-11",
            "amount": "12,50",
            "currency": "EUR",
            "csrf_token": csrf_token("/partners/recruitment/costs", on=browser),
        },
    )
    assert r.status_code == 422 and "write the decimal point" in r.get_data(as_text=True)
    browser.post(
        "/partners/recruitment/costs",
        data={
            "channel": "referral",
            "period": "2026-11",
            "amount": "12.50",
            "currency": "EUR",
            "csrf_token": csrf_token("/partners/recruitment/costs", on=browser),
        },
    )
    assert rc.list_costs(engine, PM)[0][0].amount_minor == 1250
    r = browser.post(
        "/partners/recruitment/weights",
        data={
            "qualification": "0.5",
            "sales_capability": "0.5",
            "resources": "0.5",
            "willingness": "0",
            "csrf_token": csrf_token("/partners/recruitment/weights", on=browser),
        },
    )
    assert r.status_code == 422 and "add up to 1.5; they must add up to 1" in r.get_data(
        as_text=True
    )
    browser.post(
        "/partners/recruitment/weights",
        data={
            "qualification": "0.4",
            "sales_capability": "0.3",
            "resources": "0.2",
            "willingness": "0.1",
            "csrf_token": csrf_token("/partners/recruitment/weights", on=browser),
        },
    )
    assert rc.screening_weights(engine)[0] == 1


def test_the_pages_in_chinese_have_no_english_left(
    client: FlaskClient, engine: Engine, login_as: Login
) -> None:
    signed = walk_to(engine, "signing", channel="referral")
    rc.sign(engine, signed, "CN-BRIGHT", PM)
    visited = walk_to(engine, "negotiation", channel="exhibition")
    rc.record_cost(engine, "exhibition", "2026-11", 300_000, "EUR", "", PM)
    browser = _zh(engine, client, login_as)
    names = frozenset(
        {
            APPLICATION["company_name"],
            APPLICATION["contact_name"],
            "Shanghai",
            "Rita",
            "CN-BRIGHT",
            "zh-partner_manager",
            "pm-rita",
            APPLICATION["message"],
            "Warehouse of 2000 m2, 12 staff.",
        }
    )
    # the other areas' navigation labels are their authors' to translate
    names |= frozenset(item.label for item in NAV if item.endpoint != "recruitment.board")
    with Session(engine) as s:
        names |= frozenset(s.scalars(select(Prospect.reference)))
        names |= frozenset(f"{c} seen" for c in rc.CRITERIA)
    problems = []
    for path in (
        "/partners/recruitment/",
        "/partners/recruitment/prospects",
        f"/partners/recruitment/prospects/{signed}",
        f"/partners/recruitment/prospects/{visited}",
        "/partners/recruitment/trials",
        "/partners/recruitment/costs",
        "/partners/recruitment/weights",
    ):
        r = browser.get(path)
        page = r.get_data(as_text=True)
        assert r.status_code == 200 and HAN.search(page), path
        problems += [(path, t) for t in english_left(page, names)]
    assert not problems, "\n".join(map(str, problems))
