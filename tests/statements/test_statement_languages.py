"""A statement's documents are in its party's language (``parties.locale``), whoever
downloads them: Chinese headings, labels and lines, money with its currency and
dates as the locale writes them; ``?lang=`` asks for another language; the
``parties`` import sets the language and refuses one that is not offered."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from openpyxl import load_workbook
from sqlalchemy import Engine, update
from sqlalchemy.orm import Session

import settlement
from ledger.models import Party
from settlement.common import Actor
from settlement.import_tables import ImportRejected
from settlement.imports import import_file
from tests.statements._world import party, pdf_text, statement

Login = Callable[..., FlaskClient]
FINANCE = Actor("fiona", "finance")


def _with_locale(engine: Engine, code: str, locale: str | None) -> tuple[int, int]:
    pid = party(engine, code)
    with Session(engine) as s, s.begin():
        s.execute(update(Party).where(Party.id == pid).values(locale=locale))
    _, sid = statement(engine, pid)
    return pid, sid


def _csv_rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def test_document_languages_are_the_pages_languages() -> None:
    from web.i18n import SUPPORTED

    assert set(settlement.DOCUMENT_LOCALES) == {lang.code for lang in SUPPORTED}


def test_a_chinese_distributor_gets_chinese_documents_whoever_downloads(
    engine: Engine, login_as: Login, tmp_path: Path
) -> None:
    _, sid = _with_locale(engine, "D-CN", "zh_Hans_CN")
    finance = login_as("finance")  # a finance user whose pages are in English
    pdf = finance.get(f"/api/v1/statements/{sid}/download?format=pdf")
    assert pdf.status_code == 200 and pdf.headers["Content-Language"] == "zh-Hans-CN"
    text = pdf_text(pdf.data, tmp_path)
    for seen in ("返利对账单", "签发日期", "2026年10月3日", "合计", "EUR 278.50", "EUR -150.00",
                 "EUR 3.00", "第 1 页，共 1 页", "费率"):  # fmt: skip
        assert seen in text, seen
    assert "Rebate statement" not in text and "Issue date" not in text

    rows = _csv_rows(finance.get(f"/api/v1/statements/{sid}/download?format=csv").data)
    assert ["对账单", str(sid)] in rows and ["签发日期", "2026年10月3日"] in rows
    header = rows[rows.index([]) + 1]
    assert header == ["行", "说明", "基数", "费率", "金额", "币种", "关联"]
    total = rows[-1]
    assert total[1] == "合计" and total[4:6] == ["278.50", "EUR"]  # machine-readable amount

    book = finance.get(f"/api/v1/statements/{sid}/download?format=xlsx")
    ws = load_workbook(io.BytesIO(book.data)).active
    assert ws is not None
    cells = [[c.value for c in row] for row in ws.iter_rows()]
    assert ["行", "说明", "基数", "费率", "金额", "币种", "关联"] in cells
    assert ws.cell(row=1, column=1).value == "对账单"

    # finance asks for English: the same statement in English
    english = _csv_rows(finance.get(f"/api/v1/statements/{sid}/download?format=csv&lang=en").data)
    assert ["Statement", str(sid)] in english and ["Issue date", "2026-10-03"] in english
    bad = finance.get(f"/api/v1/statements/{sid}/download?format=csv&lang=fr")
    assert bad.status_code == 400


def test_an_english_party_gets_english_and_a_spanish_one_spanish(engine: Engine) -> None:
    _, en_sid = _with_locale(engine, "D-EN", "en")
    _, none_sid = _with_locale(engine, "D-XX", None)
    for sid in (en_sid, none_sid):
        st = settlement.get_statement(engine, sid, FINANCE)
        assert st.party_locale in ("en", None)
        rows = _csv_rows(settlement.statement_csv(engine, sid, FINANCE))
        assert rows[0] == ["Statement", str(sid)]
        assert ["Line", "Description", "Basis", "Rate", "Amount", "Currency", "Refers to"] in rows


def test_spanish_works_through_the_catalogue_alone(
    engine: Engine, login_as: Login, tmp_path: Path
) -> None:
    _, sid = _with_locale(engine, "D-ES", "es")
    dist = login_as("distributor", party="D-ES")
    rows = _csv_rows(dist.get(f"/api/v1/statements/{sid}/download?format=csv").data)
    assert rows[0] == ["Extracto", str(sid)]
    assert ["Fecha de emisión", "3 oct 2026"] in rows
    text = pdf_text(dist.get(f"/api/v1/statements/{sid}/download?format=pdf").data, tmp_path)
    assert "278,50 EUR" in text and "-150,00 EUR" in text and "Total" in text


def test_the_party_locales_import_sets_and_refuses_languages(engine: Engine) -> None:
    party(engine, "D-1")
    party(engine, "D-2")
    data = b"party,locale\nD-1,zh-CN\nD-2,\n"
    report = import_file(engine, "party-locales", "parties.csv", data, FINANCE)
    assert (report.updated, report.unchanged) == (1, 1)
    with Session(engine) as s:
        got = dict(s.query(Party.code, Party.locale).filter(Party.code.in_(["D-1", "D-2"])))
    assert got == {"D-1": "zh_Hans_CN", "D-2": None}

    with pytest.raises(ImportRejected) as refused:
        import_file(
            engine, "party-locales", "parties.csv", b"party,locale\nD-1,es\nD-2,fr\n", FINANCE
        )
    (problem,) = refused.value.problems
    assert (problem.row, problem.column) == (3, "locale")
    assert "'fr'" in problem.message and "zh_Hans_CN" in problem.message
    with Session(engine) as s:  # all or nothing: D-1 kept its language
        assert s.query(Party.locale).filter(Party.code == "D-1").scalar() == "zh_Hans_CN"
