"""Credit files (risk/credit_files.py): investigations checked field by field (every
bad field named at once) and documents recognised by their bytes."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from partners.errors import PartnerDenied, PartnerError
from risk.credit_files import (
    CreditInputInvalid,
    attach_document,
    check_investigation,
    document_data,
    investigations_of,
    record_investigation,
    sniff_type,
)
from settlement import Actor

FINANCE = Actor("fiona", "finance")
PM = Actor("pia", "partner_manager")
TODAY = dt.date(2026, 12, 1)

PDF = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 20
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 20


def _xlsx() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.xml", "<workbook/>")
    return buf.getvalue()


def test_every_bad_field_is_named_at_once() -> None:
    with pytest.raises(CreditInputInvalid) as bad:
        check_investigation(
            {
                "investigated_on": "2026-12-02",  # tomorrow
                "bank_reference": "excellent",
                "trade_references_good": "-1",
                "insurer_grade": "11",
                "revenue": "12.345",  # three decimals in EUR
                "current_ratio": "high",
                "days_payable": "3651",
                "colour": "red",
            },
            "EUR",
            TODAY,
        )
    fields = [p.field for p in bad.value.problems]
    assert fields == [
        "colour", "investigated_on", "bank_reference", "trade_references_good",
        "insurer_grade", "revenue", "current_ratio", "days_payable",
    ]  # fmt: skip
    text = str(bad.value)
    assert text.startswith("8 wrong: colour: is not a field of an investigation")
    assert "investigated_on: 2026-12-02 is in the future (today is 2026-12-01)" in text
    assert "insurer_grade: '11' is not a whole number from 0 to 10" in text


def test_values_as_stored() -> None:
    clean = check_investigation(
        {"revenue": "1000", "equity": "-20", "currency": "jpy", "current_ratio": "1.20"},
        "EUR",
        TODAY,
    )
    assert (clean["currency"], clean["revenue_minor"], clean["equity_minor"]) == ("JPY", 1000, -20)
    assert clean["current_ratio"] == "1.20"
    with pytest.raises(CreditInputInvalid, match="revenue"):
        check_investigation({"revenue": "1000.5", "currency": "JPY"}, "EUR", TODAY)
    clean = check_investigation({"revenue": "1000.50", "equity": "-20.00"}, "EUR", TODAY)
    assert (clean["revenue_minor"], clean["equity_minor"]) == (100_050, -2_000)
    assert clean["investigated_on"] == "2026-12-01" and clean["bank_reference"] == "none"
    assert clean["insurer_grade"] is None and clean["trade_references_good"] == 0


@given(st.text(max_size=12))
def test_whole_number_fields_never_crash(text: str) -> None:
    try:
        clean = check_investigation({"days_payable": text, "insurer_grade": text}, "EUR", TODAY)
    except CreditInputInvalid as exc:
        assert {p.field for p in exc.problems} <= {"days_payable", "insurer_grade"}
    else:
        assert clean["days_payable"] is None or 0 <= int(str(clean["days_payable"])) <= 10


def test_record_and_list(engine: Engine, make_party: Callable[..., int]) -> None:
    pid = make_party("DIST")
    first = record_investigation(engine, pid, {"investigated_on": "2025-01-10"}, FINANCE)
    second = record_investigation(
        engine, pid, {"investigated_on": "2026-01-10", "bank_reference": "good"}, FINANCE
    )
    with pytest.raises(PartnerDenied):
        record_investigation(engine, pid, {}, PM)
    attach_document(engine, second.id, "bank letter.pdf", "application/pdf", PDF, FINANCE)
    with Session(engine) as s:
        listed = investigations_of(s, pid)
    assert [i.id for i in listed] == [second.id, first.id]
    assert listed[0].documents[0].filename == "bank letter.pdf"
    assert listed[0].currency == "EUR" and listed[0].investigator == "fiona"


def test_documents_by_signature(engine: Engine, make_party: Callable[..., int]) -> None:
    assert sniff_type(PDF) == "application/pdf"
    assert sniff_type(PNG) == "image/png" and sniff_type(JPEG) == "image/jpeg"
    assert sniff_type(_xlsx()).endswith("spreadsheetml.sheet")  # type: ignore[union-attr]
    assert sniff_type(b"a,b\n1,2\n") == "text/csv"
    assert sniff_type(b"MZ\x90\x00 not a pdf") is None
    pid = make_party("DIST")
    inv = record_investigation(engine, pid, {}, FINANCE)
    # a program named .pdf is refused; a PDF named .txt is stored as a PDF
    with pytest.raises(PartnerError, match=r"evil\.pdf is not a PDF, PNG, JPEG, XLSX or CSV"):
        attach_document(engine, inv.id, "evil.pdf", "application/pdf", b"MZ\x90\x00", FINANCE)
    with pytest.raises(PartnerError, match="a document may have at most 10485760"):
        attach_document(engine, inv.id, "big.pdf", "", PDF + b"0" * (10 * 1024 * 1024), FINANCE)
    doc = attach_document(engine, inv.id, "../../x/statements.txt", "text/plain", PDF, FINANCE)
    assert (doc.filename, doc.content_type, doc.size) == (
        "statements.txt",
        "application/pdf",
        len(PDF),
    )
    assert doc.sha256 == __import__("hashlib").sha256(PDF).hexdigest()
    _doc, party_id, data = document_data(engine, doc.id, PM)
    assert (party_id, data) == (pid, PDF)
    with pytest.raises(PartnerDenied):
        document_data(engine, doc.id, Actor("dina", "distributor", party_id=pid))
