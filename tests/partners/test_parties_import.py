"""``hopchain import parties FILE``: new parties from CSV or XLSX, all or nothing,
every bad row and column named (partners/imports.py through settlement.imports)."""

from __future__ import annotations

import io
import json
import string
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import Workbook
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, aliased

from ledger.models import Party
from partners.imports import check_party_rows
from partners.models import PartnerEvent, PartyContact
from partners.values import InvalidField, check_country, check_currency, check_phone
from settlement import Actor, ImportRejected, import_file
from settlement.common import PermissionDenied

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"
PM = Actor("pat", "partner_manager")
HEADER = "code,name,kind,country,currency,parent"


def _count(engine: Engine, model: type) -> int:
    with Session(engine) as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def _problems(engine: Engine, body: str, **kw: object) -> list[str]:
    with pytest.raises(ImportRejected) as refused:
        import_file(engine, "parties", "parties.csv", body.encode(), PM, **kw)  # type: ignore[arg-type]
    return [str(p) for p in refused.value.problems]


def test_the_example_file_imports_with_parents_after_their_children(engine: Engine) -> None:
    data = (EXAMPLES / "parties.csv").read_bytes()
    report = import_file(engine, "parties", "parties.csv", data, PM)
    assert (report.rows, report.created) == (4, 4)
    with Session(engine) as s:
        got = {
            p.code: (p.kind, p.status, p.local_name, p.time_zone, p.locale)
            for p in s.scalars(select(Party))
        }
        up = aliased(Party)
        parents = dict(
            s.execute(select(Party.code, up.code).outerjoin(up, up.id == Party.parent_id)).all()
        )
        contacts = {(c.name, c.email, c.phone, c.primary) for c in s.scalars(select(PartyContact))}
        sources = [
            json.loads(e.detail_json).get("source")
            for e in s.scalars(select(PartnerEvent).where(PartnerEvent.action == "party.created"))
        ]
    assert got["CN-EAST-01"] == (
        "distributor",
        "active",
        "华东仪器有限公司",
        "Asia/Shanghai",
        "zh_Hans_CN",
    )
    assert got["CN-EAST-01-SH1"][:2] == ("dealer", "trial")
    assert got["ES-01"][1] == "prospect"
    assert parents == {
        "CN-NA": None,
        "CN-EAST-01": "CN-NA",
        "CN-EAST-01-SH1": "CN-EAST-01",
        "ES-01": None,
    }
    assert ("Li Wei", "li.wei@huadong.example.cn", "+862155550101", True) in contacts
    assert len(contacts) == 3
    assert sorted(sources) == [f"import parties.csv row {n}" for n in (2, 3, 4, 5)]
    # each parent was stored before its child (rows 3 and 2 come after the rows naming them)
    with Session(engine) as s:
        ids = dict(s.execute(select(Party.code, Party.id)).all())
    assert ids["CN-NA"] < ids["CN-EAST-01"] < ids["CN-EAST-01-SH1"]


def test_an_xlsx_file_reads_the_same(engine: Engine, make_party: Callable[..., int]) -> None:
    make_party("NA", kind="distributor")
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["code", "name", "kind", "country", "currency", "parent", "status"])
    sheet.append(["DL-1", "Dealer One", "dealer", "de", "eur", "NA", ""])
    sheet.append(["DL-2", "Dealer Two", "dealer", "DE", "EUR", "NA", "suspended"])
    buf = io.BytesIO()
    book.save(buf)
    report = import_file(engine, "parties", "parties.xlsx", buf.getvalue(), PM)
    assert (report.format, report.created) == ("xlsx", 2)
    with Session(engine) as s:
        rows = dict(s.execute(select(Party.code, Party.status).where(Party.kind == "dealer")).all())
    assert rows == {"DL-1": "active", "DL-2": "suspended"}


def test_every_bad_row_and_column_is_named_and_nothing_is_stored(
    engine: Engine, make_party: Callable[..., int]
) -> None:
    make_party("OLD", kind="distributor")
    make_party("SHOP", kind="dealer")
    body = "\n".join(
        [
            HEADER + ",email,phone,contact_name",
            "A,Alpha,distributor,CN,CNY,,,,",  # row 2: fine
            "B,Beta,distributor,XX,CNY,,,,",  # 3: country
            "C,Gamma,distributor,CN,EURO,,,,",  # 4: currency
            "A,Alpha again,distributor,CN,CNY,,,,",  # 5: duplicate in file
            "OLD,Old again,distributor,CN,CNY,,,,",  # 6: already stored
            "D,Delta,dealer,CN,CNY,NOPE,,,",  # 7: unknown parent
            "E,Epsilon,distributor,CN,CNY,SHOP,,,",  # 8: parent of the wrong kind
            "F,Phi,dealer,CN,CNY,,,,",  # 9: dealer without parent
            "G,Gee,manufacturer,CN,CNY,,,,",  # 10: kind
            "H,Aitch,distributor,CN,CNY,,not-mail,12,",  # 11: email, phone, contact name
            "L1,Loop one,distributor,CN,CNY,L2,,,",  # 12: loop
            "L2,Loop two,distributor,CN,CNY,L1,,,",  # 13: loop
        ]
    )
    problems = _problems(engine, body)
    assert problems == [
        "row 3, column country: 'XX' is not an ISO 3166 country code (like DE, CN, US)",
        "row 4, column currency: 'EURO' is not an ISO 4217 currency code (like EUR, USD, JPY)",
        "row 5, column code: A is also the code of row 2",
        "row 6, column code: OLD is already the code of a party",
        "row 7, column parent: there is no party with code 'NOPE', stored or in this file",
        "row 8, column parent: SHOP is a dealer; the parent of a distributor is a"
        " manufacturer or distributor",
        "row 9, column parent: a dealer needs a parent of kind distributor",
        "row 10, column kind: 'manufacturer' is not one of distributor, dealer, retailer,"
        " inspector",
        "row 11, column contact_name: is empty",
        "row 11, column email: 'not-mail' is not an e-mail address (like name@example.com)",
        "row 11, column phone: '12' is not a telephone number in international form"
        " (like +49 30 1234567)",
        "row 12, column parent: the parents of L1 -> L2 -> L1 go round in a loop",
        "row 13, column parent: the parents of L1 -> L2 -> L1 go round in a loop",
    ]
    assert _count(engine, Party) == 2 and _count(engine, PartnerEvent) == 0


def test_header_problems_name_the_columns(engine: Engine) -> None:
    problems = _problems(
        engine, "code,name,kind,country,currency,colour\nA,B,distributor,CN,CNY,red\n"
    )
    assert (
        "row 1, column colour: unknown column; a parties file has the columns code, name,"
        in problems[0]
    )
    assert "local_name, time_zone, locale, status, email, phone, contact_name" in problems[0]
    assert "row 1, column parent: missing column" in problems


def test_a_dry_run_counts_and_stores_nothing(engine: Engine) -> None:
    data = (EXAMPLES / "parties.csv").read_bytes()
    report = import_file(engine, "parties", "parties.csv", data, PM, dry_run=True)
    assert (report.dry_run, report.created) == (True, 4)
    assert _count(engine, Party) == 0 and _count(engine, PartnerEvent) == 0
    assert _count(engine, PartyContact) == 0


def test_only_partner_managers_and_admins_import_parties(engine: Engine) -> None:
    data = (EXAMPLES / "parties.csv").read_bytes()
    with pytest.raises(PermissionDenied, match="needs one of: partner_manager, admin"):
        import_file(engine, "parties", "parties.csv", data, Actor("fin", "finance"))
    assert import_file(engine, "parties", "p.csv", data, Actor("root", "admin")).created == 4


def test_the_command_line_imports_as_a_partner_manager(
    engine: Engine, run_cli: Callable[..., Result], make_user: Callable[..., int], tmp_path: Path
) -> None:
    make_user("fiona", "finance")
    refused = run_cli("import", "parties", str(EXAMPLES / "parties.csv"))
    assert refused.exit_code == 1 and "no active partner manager" in refused.output
    make_user("pam", "partner_manager")
    dry = run_cli("import", "parties", str(EXAMPLES / "parties.csv"), "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert (
        "as pam: 4 rows read; 4 created" in dry.output
        and "dry run: nothing was stored" in dry.output
    )
    assert _count(engine, Party) == 0
    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + "\nX,Ex,distributor,ZZ,CNY,\nY,Why,dealer,CN,CNY,\n", encoding="utf-8")
    result = run_cli("import", "parties", str(bad))
    assert result.exit_code == 1
    assert "bad.csv: nothing was imported; 2 problems:" in result.output
    assert "row 2, column country: 'ZZ' is not an ISO 3166 country code" in result.output
    assert "row 3, column parent: a dealer needs a parent of kind distributor" in result.output
    ok = run_cli("import", "parties", str(EXAMPLES / "parties.csv"))
    assert ok.exit_code == 0 and "row 3     created  CN-NA" in ok.output
    assert _count(engine, Party) == 4


# ------------------------------------------------------------------ properties

_CODES = st.text(alphabet=string.ascii_uppercase, min_size=1, max_size=3)


@given(st.lists(st.tuples(_CODES, st.one_of(st.just(""), _CODES)), min_size=1, max_size=12))
def test_parents_always_come_first_or_the_file_is_refused(pairs: list[tuple[str, str]]) -> None:
    """Whatever the parent links of a file: either every row is ordered after its
    parent (and codes are unique), or there are problems and no rows."""
    rows = [
        (
            n,
            {
                "code": c,
                "name": c,
                "kind": "distributor",
                "country": "CN",
                "currency": "CNY",
                "parent": p,
            },
        )
        for n, (c, p) in enumerate(pairs, start=2)
    ]
    ordered, problems = check_party_rows(rows, {})
    assert bool(ordered) != bool(problems)
    if ordered:
        seen: set[str] = set()
        for prow in ordered:
            parent = prow.party.parent
            assert not parent or parent in seen
            seen.add(prow.party.code)
        assert len(seen) == len(pairs)
    for p in problems:
        assert p.column in ("code", "parent") and p.row >= 2


@given(st.text(max_size=4))
def test_a_country_is_two_letters_of_iso_3166_or_refused(text: str) -> None:
    try:
        code = check_country(text)
    except InvalidField as exc:
        assert exc.field == "country" and str(exc).startswith("country: ")
    else:
        assert len(code) == 2 and code == text.strip().upper()


@given(st.text(max_size=5))
def test_a_currency_is_three_letters_or_refused(text: str) -> None:
    try:
        code = check_currency(text)
    except InvalidField as exc:
        assert exc.field == "currency"
    else:
        assert len(code) == 3 and code.isalpha() and code.isupper()


@given(st.text(alphabet="+0123456789 ()-.x", max_size=24))
def test_a_phone_is_e164_or_refused(text: str) -> None:
    try:
        number = check_phone(text)
    except InvalidField as exc:
        assert exc.field == "phone"
    else:
        assert number == "" or (
            number[0] == "+" and number[1:].isdigit() and 8 <= len(number) <= 16
        )
