"""A bad IBAN, BIC, GTIN or amount on the reference-data forms is named in the
reader's language (issue 11 follow-up): ``settlement.reference_values`` raises them
with reason ids (``InvalidValue.said``), ``web/reasons.py`` keeps the words; the
English (what the CLI and the API's ``error`` say) is unchanged."""

from __future__ import annotations

import html
import re

import pytest
from flask import Flask
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

import settlement
from tests.finance_web._pages import Browser
from tests.web.test_i18n_pages import english_left
from web.models import User
from web.reasons import reason_words

FINANCE = settlement.Actor("setup", "finance")
HAN = re.compile(r"[\u4e00-\u9fff]")


def _in_chinese(engine: Engine, username: str) -> None:
    with Session(engine) as s:
        user = s.scalars(select(User).where(User.username == username)).one()
        user.locale = "zh_Hans_CN"
        s.commit()


def _error(page: str, name: str) -> str:
    found = re.search(rf'id="{name}-error">([^<]*)<', page)
    assert found is not None, f"no error next to {name}"
    return html.unescape(found.group(1))


def test_a_chinese_finance_user_reads_a_bad_iban_and_bic_in_chinese(
    engine: Engine, parties: dict[str, int], finance: Browser
) -> None:
    _in_chinese(engine, finance.username)
    fields: dict[str, object] = {
        "party": "D-NORTH",
        "legal_name": "Nordhandel GmbH",
        "address": "Hafenstrasse 1",
        "iban": "DE89 3704 0044 0532 0130 01",  # last digit changed: mod-97 fails
        "bic": "COBADEF",  # 7 characters
    }
    bad = finance.post("/finance/billing/", fields)
    assert bad.status_code == 422
    page = bad.get_data(as_text=True)
    iban, bic = _error(page, "iban"), _error(page, "bic")
    assert iban.endswith("'DE89 3704 0044 0532 0130 01' 不是有效的 IBAN：校验位错误"), iban
    assert "'COBADEF' 不是有效的 BIC：长度 7 无效" in bic, bic
    for said in (iban, bic):
        assert HAN.search(said) and english_left(f"<p>{said}</p>") == [], said
    assert settlement.get_party_billing(engine, parties["D-NORTH"], FINANCE) is None


@pytest.mark.parametrize(
    ("check", "value", "english", "message_id"),
    [
        (
            settlement.check_iban,
            "DE89 3704 0044 0532 0130 01",
            "iban: 'DE89 3704 0044 0532 0130 01' is not a valid IBAN: invalid checksum digits",
            "iban_checksum",
        ),
        (
            settlement.check_iban,
            "XX89370400440532013000",
            "iban: 'XX89370400440532013000' is not a valid IBAN: unknown country-code 'XX'",
            "iban_country",
        ),
        (
            settlement.check_bic,
            "DEUTXXFF",
            "bic: 'DEUTXXFF' is not a valid BIC: invalid country code 'XX'",
            "bic_country",
        ),
        (
            settlement.check_gtin,
            "9506000134353",
            "gtin: 9506000134353 has check digit 3; the GS1 check digit of its other digits is 2",
            "gtin_check_digit",
        ),
    ],
)
def test_the_english_is_unchanged_and_carries_an_id(
    check: object, value: str, english: str, message_id: str
) -> None:
    assert callable(check)
    with pytest.raises(settlement.InvalidValue) as refused:
        check(value)
    assert (str(refused.value), refused.value.message_id) == (english, message_id)


def test_too_many_decimals_in_chinese_and_spanish(app: Flask) -> None:
    with pytest.raises(settlement.InvalidValue) as refused:
        settlement.major_to_minor("12.5", "JPY", "amount")
    assert str(refused.value) == "amount: 12.5 has 1 decimal; JPY has no decimals (ISO 4217)"
    with app.test_request_context("/", headers={"Accept-Language": "zh-CN"}):
        assert reason_words(refused.value).endswith("12.5 有 1 位小数；JPY 没有小数位（ISO 4217）")
    with app.test_request_context("/", headers={"Accept-Language": "es"}):
        assert reason_words(refused.value).endswith(
            "12.5 tiene 1 decimal; JPY no tiene decimales (ISO 4217)"
        )
