"""An imported file's problems in the reader's language (issue 11): a finance user whose
profile is in Chinese uploads a file with bad rows on the import page and reads every
problem in Chinese, next to the row and column it names; the same file through
``hopchain import`` prints the English lines it always printed, and the API keeps the
English ``message`` of each problem and adds ``localized`` and ``message`` in the
caller's language. Field errors of the reference-data API (``_invalid``, ``_text``)
carry a translated ``message`` too, ``error`` staying English."""

from __future__ import annotations

import html
import io
import re
from collections.abc import Callable
from pathlib import Path

from click.testing import Result
from flask.testing import FlaskClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from settlement.models import PriceList
from tests.finance_web._pages import Browser
from web.models import User

HAN = re.compile(r"[\u4e00-\u9fff]")

#: Row 2 is fine; row 3's currency is no ISO 4217 code (an engine reason carried into
#: the problem), row 4's price has a decimal comma (another), row 5 repeats row 2 (a
#: problem the import code finds itself).
BAD = (
    b"gtin,currency,valid_from,list_price\n"
    b"04012345000016,EUR,2026-01-01,12.50\n"
    b"04012345000023,EURO,2026-01-01,12.50\n"
    b'04012345000030,EUR,2026-01-01,"12,50"\n'
    b"04012345000016,EUR,2026-01-01,13.00\n"
)
#: What the command line printed for BAD before problems carried ids, byte for byte.
ENGLISH = [
    "row 3, column currency: 'EURO' is not an ISO 4217 currency code (like EUR, USD, JPY)",
    "row 4, column list_price: '12,50' is not an amount like 12.50 (write the decimal"
    " point as '.', no thousands separator)",
    "row 5, column gtin: repeats row 2 (same gtin, currency and valid_from)",
]


def _in_chinese(engine: Engine, username: str) -> None:
    with Session(engine) as s:
        user = s.scalars(select(User).where(User.username == username)).one()
        user.locale = "zh_Hans_CN"
        s.commit()


def _problems(page: str) -> list[tuple[str, str, str]]:
    rows = re.findall(
        r'<tr><td class="num where">([^<]*)</td><td class="where">([^<]*)</td><td>([^<]*)</td></tr>',
        page,
    )
    return [(r, c, html.unescape(m)) for r, c, m in rows]


def _upload(finance: Browser, data: bytes) -> tuple[int, str]:
    answer = finance.client.post(
        "/finance/import/",
        data={
            "csrf_token": finance.token("/finance/import/"),
            "kind": "prices",
            "file": (io.BytesIO(data), "prices.csv"),
        },
        content_type="multipart/form-data",
    )
    return answer.status_code, answer.get_data(as_text=True)


def test_a_chinese_finance_user_reads_every_problem_in_chinese(
    engine: Engine, finance: Browser
) -> None:
    _in_chinese(engine, "fiona")
    status, page = _upload(finance, BAD)
    assert status == 422
    problems = _problems(page)
    assert [(r, c) for r, c, _ in problems] == [
        ("3", "currency"),
        ("4", "list_price"),
        ("5", "gtin"),
    ], problems
    for _, _, said in problems:
        assert HAN.search(said), said
    currency, price, repeat = (said for _, _, said in problems)
    assert "'EURO'" in currency and "ISO 4217" in currency
    assert "is not an ISO 4217 currency code" not in currency
    assert "'12,50'" in price and "is not an amount" not in price
    assert "2" in repeat and "repeats row" not in repeat
    assert "gtin、currency和valid_from" in repeat  # the key columns listed as Chinese lists
    assert "3 个问题" in page  # the heading counts them in Chinese
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(PriceList)) == 0


def test_an_english_reader_sees_the_lines_the_command_line_prints(finance: Browser) -> None:
    status, page = _upload(finance, BAD)
    assert status == 422
    assert [f"row {r}, column {c}: {said}" for r, c, said in _problems(page)] == ENGLISH


def test_the_command_line_prints_the_same_file_in_english_as_before(
    run_cli: Callable[..., Result], make_user: Callable[..., int], tmp_path: Path
) -> None:
    make_user("fiona", "finance")
    bad = tmp_path / "prices.csv"
    bad.write_bytes(BAD)
    result = run_cli("import", "prices", str(bad))
    assert result.exit_code == 1, result.output
    assert "prices.csv: nothing was imported; 3 problems:" in result.output
    printed = [ln.strip() for ln in result.output.splitlines() if ln.strip().startswith("row ")]
    assert printed == ENGLISH
    assert not HAN.search(result.output)


def test_the_import_api_keeps_english_and_adds_the_callers_language(
    client: FlaskClient, bearer: Callable[..., dict[str, str]]
) -> None:
    auth = bearer("finance")
    english = client.post("/api/v1/imports/prices?filename=prices.csv", data=BAD, headers=auth)
    assert english.status_code == 422
    body = english.get_json()
    assert [f"row {p['row']}, column {p['column']}: {p['message']}" for p in body["problems"]] == (
        ENGLISH
    )
    assert "message" not in body and all("localized" not in p for p in body["problems"])

    chinese = client.post(
        "/api/v1/imports/prices?filename=prices.csv",
        data=BAD,
        headers={**auth, "Accept-Language": "zh-CN"},
    )
    body = chinese.get_json()
    assert chinese.status_code == 422
    assert chinese.headers["Content-Language"] == "zh-Hans-CN"
    assert body["error"] == "prices.csv: nothing was imported"
    assert HAN.search(body["message"]) and "prices.csv" in body["message"]
    assert [p["message"] for p in body["problems"]] == [ln.split(": ", 1)[1] for ln in ENGLISH]
    for p in body["problems"]:
        assert HAN.search(p["localized"]), p


def test_reference_api_field_errors_carry_a_translated_message(
    client: FlaskClient, bearer: Callable[..., dict[str, str]]
) -> None:
    auth = {**bearer("finance"), "Accept-Language": "zh-CN"}
    price = {"gtin": "04012345000016", "currency": "EURO", "valid_from": "2026-01-01"}
    bad_currency = client.post("/api/v1/prices", json={**price, "list_price": "1.00"}, headers=auth)
    body = bad_currency.get_json()
    assert bad_currency.status_code == 422
    assert body["error"] == (
        "currency: 'EURO' is not an ISO 4217 currency code (like EUR, USD, JPY)"
    )
    assert HAN.search(body["message"]) and "'EURO'" in body["message"]
    (problem,) = body["problems"]
    assert problem["column"] == "currency" and HAN.search(problem["localized"])

    number = client.post(
        "/api/v1/prices",
        json={**price, "currency": "EUR", "list_price": 12.5},
        headers=auth,
    )
    body = number.get_json()
    assert number.status_code == 422
    assert body["error"] == (
        "'list_price' must be text; send amounts as decimal text like \"12.50\""
    )
    assert HAN.search(body["message"]) and "'list_price'" in body["message"]

    nobody = client.post(
        "/api/v1/targets",
        json={"party": "NOPE", "period": "2026-10", "units": "10"},
        headers=auth,
    )
    body = nobody.get_json()
    assert nobody.status_code == 422
    assert body["error"] == "party: there is no party with code 'NOPE'"
    assert HAN.search(body["message"]) and "'NOPE'" in body["message"]
