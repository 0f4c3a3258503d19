"""The credit pages (web/credit/files.py): the board, a party's credit file with its
forms (errors beside the field), documents served back as stored, the model and
the limit table; a distributor is refused."""

from __future__ import annotations

import io
import re
from collections.abc import Callable

from flask.testing import FlaskClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from risk.models import CreditDocument

PDF = b"%PDF-1.7\n%%EOF\n"


def _post(
    browser: FlaskClient, csrf_token: Callable[..., str], page: str, path: str, **data: object
) -> object:
    return browser.post(path, data={**data, "csrf_token": csrf_token(page, on=browser)})


def test_a_credit_file_from_investigation_to_override(
    login_as: Callable[..., FlaskClient],
    make_party: Callable[..., int],
    csrf_token: Callable[..., str],
    engine: Engine,
) -> None:
    make_party("DIST", name="Distribution GmbH")
    fin = login_as("finance")
    page = "/credit/parties/DIST"
    assert fin.get(page).status_code == 200
    bad = fin.post(
        page + "/investigations",
        data={"investigated_on": "2026-11-20", "insurer_grade": "12", "revenue": "1,5",
              "csrf_token": csrf_token(page, on=fin)},
    )  # fmt: skip
    assert bad.status_code == 422
    html = bad.get_data(as_text=True)
    # each problem beside its field
    assert re.search(r'id="insurer_grade-error">[^<]*12[^<]*not a whole number from 0 to 10', html)
    assert re.search(r'id="revenue-error">[^<]*not an amount', html)
    ok = fin.post(
        page + "/investigations",
        data={"investigated_on": "2026-11-20", "registration_verified": "yes",
              "bank_reference": "good", "insurer_grade": "6", "current_ratio": "1.3",
              "csrf_token": csrf_token(page, on=fin)},
    )  # fmt: skip
    assert ok.status_code == 302
    html = fin.get(page).get_data(as_text=True)
    assert "Investigation of 2026-11-20" in html
    inv_id = re.search(r"/investigations/(\d+)/documents", html)
    assert inv_id is not None
    upload = page + f"/investigations/{inv_id.group(1)}/documents"
    refused = fin.post(
        upload,
        data={"document": (io.BytesIO(b"MZ\x90\x00"), "letter.pdf"),
              "csrf_token": csrf_token(page, on=fin)},
        content_type="multipart/form-data",
    )  # fmt: skip
    assert refused.status_code == 422
    assert "letter.pdf is not a PDF, PNG, JPEG, XLSX or CSV file" in refused.get_data(as_text=True)
    stored = fin.post(
        upload,
        data={"document": (io.BytesIO(PDF), "bank.txt"), "csrf_token": csrf_token(page, on=fin)},
        content_type="multipart/form-data",
    )
    assert stored.status_code == 302
    with Session(engine) as s:
        doc_id = s.scalars(select(CreditDocument.id)).one()
    got = fin.get(f"/credit/documents/{doc_id}")
    assert got.status_code == 200 and got.data == PDF
    assert got.mimetype == "application/pdf"  # by its bytes, not its name
    assert got.headers["Content-Disposition"].startswith("attachment")

    rated = fin.post(page + "/rate", data={"csrf_token": csrf_token(page, on=fin)})
    assert rated.status_code == 302
    html = fin.get(page).get_data(as_text=True)
    # 10 + 10 + 0 + 12 (6 x 10 x 0.20) + 9 (60 x 0.15) + 0 + 0 + 15 = 56 -> BB
    assert "Grade BB, score 56 of 100" in html

    no_reason = fin.post(
        page + "/limit",
        data={"limit": "9000.00", "payment_days": "20", "reason": "",
              "csrf_token": csrf_token(page, on=fin)},
    )  # fmt: skip
    assert no_reason.status_code == 422
    assert 'id="reason-error">Say why the limit is overridden.' in no_reason.get_data(as_text=True)
    done = fin.post(
        page + "/limit",
        data={"limit": "9000.00", "payment_days": "20", "reason": "parent guarantee",
              "csrf_token": csrf_token(page, on=fin)},
    )  # fmt: skip
    assert done.status_code == 302
    html = fin.get(page).get_data(as_text=True)
    assert "parent guarantee" in html and "An override is in force" in html

    board = fin.get("/credit/?q=distrib").get_data(as_text=True)
    assert "DIST" in board and "BB" in board
    assert "DIST" not in fin.get("/credit/?q=zzz").get_data(as_text=True).split("<tbody>")[1]


def test_model_and_table_pages(
    login_as: Callable[..., FlaskClient], csrf_token: Callable[..., str]
) -> None:
    fin = login_as("finance")
    html = fin.get("/credit/model").get_data(as_text=True)
    assert "Weights in force: version 1" in html and "good 100, fair 60, poor 20, none 0" in html
    weights = {
        "registration": "0.20", "bank_reference": "0.10", "trade_references": "0.10",
        "insurer_grade": "0.20", "current_ratio": "0.15", "equity_ratio": "0.10",
        "days_payable": "0.10", "payment_history": "0.15",
    }  # fmt: skip
    summed = fin.post(
        "/credit/model", data={**weights, "csrf_token": csrf_token("/credit/model", on=fin)}
    )
    assert summed.status_code == 422
    assert "the weights add up to 1.10, not 1" in summed.get_data(as_text=True)
    weights["registration"] = "zero"
    bad = fin.post(
        "/credit/model", data={**weights, "csrf_token": csrf_token("/credit/model", on=fin)}
    )
    assert re.search(r'id="registration-error">[^<]*zero', bad.get_data(as_text=True))

    html = fin.get("/credit/limit-table").get_data(as_text=True)
    assert 'name="AAA.limit" value="500000.00"' in html
    cells = {f"{g}.limit": "100.00" for g in ("AAA", "AA", "A", "BBB", "BB", "B", "CCC")}
    cells |= {f"{g}.payment_days": "30" for g in ("AAA", "AA", "A", "BBB", "BB", "B", "CCC")}
    wrong = fin.post(
        "/credit/limit-table",
        data={**cells, "BB.payment_days": "400", "currency": "EUR", "medium_factor": "0.5",
              "csrf_token": csrf_token("/credit/limit-table", on=fin)},
    )  # fmt: skip
    assert wrong.status_code == 422
    assert re.search(r'id="BB.payment_days-error">[^<]*400', wrong.get_data(as_text=True))
    saved = fin.post(
        "/credit/limit-table",
        data={**cells, "currency": "EUR", "medium_factor": "0.5",
              "csrf_token": csrf_token("/credit/limit-table", on=fin)},
    )  # fmt: skip
    assert saved.status_code == 302
    assert "In force: version 2" in fin.get("/credit/limit-table").get_data(as_text=True)


def test_who_may_see_and_do_what(
    login_as: Callable[..., FlaskClient],
    make_party: Callable[..., int],
    client: FlaskClient,
    csrf_token: Callable[..., str],
) -> None:
    make_party("D1")
    dist = login_as("distributor", party="D1")
    for path in ("/credit/", "/credit/parties/D1", "/credit/model", "/credit/limit-table"):
        assert dist.get(path).status_code in (403, 404), path
    other = FlaskClient(client.application, client.response_wrapper, use_cookies=True)
    auditor = login_as("auditor", on=other)
    assert auditor.get("/credit/parties/D1").status_code == 200
    page = auditor.get("/credit/parties/D1").get_data(as_text=True)
    assert "Record an investigation" not in page and "Override the limit" not in page
    assert auditor.get("/credit/parties/NOPE").status_code == 404
    refused = auditor.post(
        "/credit/parties/D1/rate", data={"csrf_token": csrf_token("/credit/", on=auditor)}
    )
    assert refused.status_code == 403
