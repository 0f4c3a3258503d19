"""File imports: every example of docs/imports.md imports, every kind of bad file is
refused naming its row and column, and a refused file (or a dry run) stores nothing."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from openpyxl import Workbook
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from settlement import ImportRejected, import_file, list_fx_rates, list_prices
from settlement.models import (
    Adjustment,
    DepositAgreement,
    DepositMovement,
    FxRate,
    PartyBilling,
    ProgramVersion,
    ReceivableMovement,
    ReferenceChange,
    SalesTarget,
)
from settlement.reference import ECB_SOURCE
from tests.finance._reference_world import (
    FIN,
    GTIN_A,
    GTIN_B,
    GTIN_C,
    add_parties,
    example,
    snapshot,
)

EXAMPLE_FILES = [
    ("prices", "prices.csv", 6),
    ("prices", "prices.xlsx", 5),
    ("fx", "fx.csv", 3),
    ("fx", "ecb-eurofxref.csv", 30),
    ("fx", "ecb-eurofxref-hist.csv", 16),
    ("programs", "program.yaml", 1),
    ("targets", "targets.csv", 3),
    ("deposit-agreements", "deposit-agreements.csv", 3),
    ("deposits", "deposits.csv", 3),
    ("adjustments", "adjustments.csv", 2),
    ("payments", "payments.csv", 2),
    ("billing", "billing.csv", 2),
]


@pytest.mark.parametrize(("kind", "name", "created"), EXAMPLE_FILES)
def test_every_example_file_imports_and_again_changes_nothing(
    engine: Engine, kind: str, name: str, created: int
) -> None:
    add_parties(engine)
    first = import_file(engine, kind, name, example(name), FIN)
    assert (first.created, first.updated, first.unchanged) == (created, 0, 0)
    assert not first.dry_run
    audit_rows = len(snapshot(engine)["reference_changes"])
    assert audit_rows >= created

    again = import_file(engine, kind, name, example(name), FIN)
    assert (again.created, again.updated, again.unchanged) == (0, 0, created)
    assert len(snapshot(engine)["reference_changes"]) == audit_rows  # no audit row for nothing


def test_prices_become_minor_units_with_each_currencys_exponent(engine: Engine) -> None:
    import_file(engine, "prices", "prices.csv", example("prices.csv"), FIN)
    prices, total = list_prices(engine, FIN, limit=100)
    got = {(p.gtin, p.currency, p.valid_from): p.list_price_minor for p in prices}
    assert total == 6
    assert got[(GTIN_A, "EUR", "2026-01-01")] == 1250  # 12.50 EUR = 1250 cents
    assert got[(GTIN_A, "EUR", "2026-07-01")] == 1320
    assert got[(GTIN_A, "JPY", "2026-01-01")] == 2100  # yen have no minor unit
    assert got[(GTIN_B, "KWD", "2026-01-01")] == 29750  # 29.750 KWD = 29750 fils
    assert got[(GTIN_C, "USD", "2026-01-01")] == 799  # the GTIN-13 is stored as GTIN-14
    in_force, _ = list_prices(engine, FIN, gtin=GTIN_A, currency="EUR", on="2026-06-30")
    assert [(p.valid_from, p.valid_until) for p in in_force] == [("2026-01-01", "2026-07-01")]
    changes = snapshot(engine)["reference_changes"]
    assert any("import prices.csv row 2" in str(c) for c in changes)


def test_xlsx_numbers_dates_and_empty_rows_read_as_people_typed_them(engine: Engine) -> None:
    report = import_file(engine, "prices", "prices.xlsx", example("prices.xlsx"), FIN)
    assert report.format == "xlsx"
    assert report.rows == 5  # the empty row 4 is skipped
    prices, _ = list_prices(engine, FIN, limit=100)
    got = {(p.gtin, p.currency, p.valid_from): p.list_price_minor for p in prices}
    assert got[(GTIN_A, "EUR", "2026-01-01")] == 1250  # a number cell 12.5, not 12.4999...
    assert got[(GTIN_A, "EUR", "2026-07-01")] == 1320  # a date cell
    assert got[(GTIN_B, "EUR", "2026-01-01")] == 8900  # a GTIN typed as a number
    lines = {ln.row for ln in report.lines}
    assert lines == {2, 3, 5, 6, 7}  # rows numbered as the spreadsheet shows them


def test_ecb_daily_file_stores_units_per_euro_with_source_and_day(engine: Engine) -> None:
    report = import_file(engine, "fx", "eurofxref.csv", example("ecb-eurofxref.csv"), FIN)
    assert report.format == "ecb-csv"
    rates, total = list_fx_rates(engine, FIN, currency="USD")
    assert total == 1
    usd = rates[0]
    # 1 EUR = 1.0842 USD on 30 October 2026, the month-end reference rate of 2026-10
    assert (usd.period, usd.currency, usd.reporting_currency) == ("2026-10", "EUR", "USD")
    assert (usd.rate, usd.source, usd.as_of) == ("1.0842", ECB_SOURCE, "2026-10-30")


def test_the_ecb_zip_loads_as_downloaded(engine: Engine) -> None:
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:  # eurofxref.zip as the ECB serves it
        z.writestr("eurofxref.csv", example("ecb-eurofxref.csv"))
    report = import_file(engine, "fx", "eurofxref.zip", buf.getvalue(), FIN)
    assert report.format == "ecb-csv" and report.created == 30
    rates, _ = list_fx_rates(engine, FIN, currency="USD")
    assert [(r.rate, r.as_of) for r in rates] == [("1.0842", "2026-10-30")]


def test_ecb_history_keeps_the_last_quote_of_each_month_and_skips_na(engine: Engine) -> None:
    import_file(engine, "fx", "eurofxref-hist.csv", example("ecb-eurofxref-hist.csv"), FIN)
    with Session(engine) as s:
        rows = {
            (r.period, r.reporting_currency): (r.rate, r.as_of) for r in s.scalars(select(FxRate))
        }
    assert rows[("2026-10", "USD")] == ("1.0842", "2026-10-30")  # not the 29th's 1.0831
    assert rows[("2026-09", "JPY")] == ("160.42", "2026-09-30")
    assert not any(ccy == "CYP" for _, ccy in rows)  # N/A all along: no rate, no error
    assert len(rows) == 16  # 8 currencies x 2 months

    older = b"Date,USD,\n2026-10-29,1.0831,\n"
    report = import_file(engine, "fx", "older.csv", older, FIN)
    assert (report.created, report.updated, report.unchanged) == (0, 0, 1)
    with Session(engine) as s:
        usd = s.scalar(
            select(FxRate).where(FxRate.period == "2026-10", FxRate.reporting_currency == "USD")
        )
        assert usd is not None and (usd.rate, usd.as_of) == ("1.0842", "2026-10-30")


def test_a_newer_ecb_quote_replaces_the_older_and_keeps_it_in_the_audit(engine: Engine) -> None:
    import_file(engine, "fx", "a.csv", b"Date,USD\n2026-10-29,1.0831\n", FIN)
    report = import_file(engine, "fx", "b.csv", b"Date,USD\n2026-10-30,1.0842\n", FIN)
    assert report.updated == 1
    with Session(engine) as s:
        change = s.scalars(select(ReferenceChange).order_by(ReferenceChange.id.desc())).first()
    assert change is not None and change.action == "update"
    assert '"rate":"1.0831"' in change.before_json and '"rate":"1.0842"' in change.after_json


def test_every_example_row_lands_where_the_docs_say(engine: Engine) -> None:
    ids = add_parties(engine)
    for kind, name, _ in EXAMPLE_FILES:
        if kind not in ("prices", "fx"):
            import_file(engine, kind, name, example(name), FIN)
    with Session(engine) as s:
        targets = {(t.party_id, t.period): t for t in s.scalars(select(SalesTarget))}
        de = targets[(ids["DIST-DE"], "2026-10")]
        assert (de.measure, de.value_minor, de.currency) == ("value", 2_500_000, "EUR")
        assert targets[(ids["DIST-FR"], "2026-10")].units == 400
        moves = s.scalars(select(DepositMovement).order_by(DepositMovement.id)).all()
        # DIST-DE: 8000.00 received, 1500.00 refunded -> balance 6500.00
        assert sum(m.amount_minor for m in moves if m.party_id == ids["DIST-DE"]) == 650_000
        assert {m.kind for m in moves} == {"receipt", "refund"}
        assert all(m.created_by == "fiona" for m in moves)
        assert (
            s.scalar(
                select(DepositAgreement.amount_minor).where(
                    DepositAgreement.valid_from == "2026-10-15"
                )
            )
            == 650_000
        )
        adjustments = s.scalars(select(Adjustment)).all()
        assert sorted(a.amount_minor for a in adjustments) == [-6000, 12540]
        assert {a.status for a in adjustments} == {"pending"}  # a second user approves
        payments = s.scalars(select(ReceivableMovement)).all()
        assert sorted(p.amount_minor for p in payments) == [
            -124_000,
            -31_055,
        ]  # lowers what is owed
        assert {p.kind for p in payments} == {"payment"}
        billing = s.scalars(select(PartyBilling)).all()
        assert {b.iban for b in billing} == {
            "FR1420041010050500013M02606",
            "DE89370400440532013000",
        }
        assert any("75002 Paris" in b.address for b in billing)
        version = s.scalars(select(ProgramVersion)).one()
        assert (version.valid_from, version.valid_to, version.version) == ("2026-10", None, 1)


def test_a_changed_program_file_adds_a_version(engine: Engine) -> None:
    import_file(engine, "programs", "program.yaml", example("program.yaml"), FIN)
    changed = example("program.yaml").replace(b'rate: "120"', b'rate: "130"')
    report = import_file(engine, "programs", "program.yaml", changed, FIN)
    assert (report.created, report.updated, report.format) == (0, 1, "yaml")
    with Session(engine) as s:
        assert [v.version for v in s.scalars(select(ProgramVersion))] == [1, 2]


def test_dry_run_counts_like_the_real_thing_and_stores_nothing(engine: Engine) -> None:
    add_parties(engine)
    before = snapshot(engine)
    report = import_file(
        engine, "deposits", "deposits.csv", example("deposits.csv"), FIN, dry_run=True
    )
    assert (report.created, report.dry_run) == (3, True)
    assert snapshot(engine) == before


# ------------------------------------------------------------------ refused files

HEADER = "gtin,currency,valid_from,list_price\n"
GOOD = f"{GTIN_A},EUR,2026-01-01,12.50\n"

BAD_FILES = [
    # (id, kind, content, [(row, column, words in the message)])
    ("wrong column name", "prices", "gtin,currency,valid_from,price\n" + GOOD,
     [(1, "price", "unknown column"), (1, "list_price", "missing column")]),
    ("missing column", "prices", f"gtin,currency,list_price\n{GTIN_A},EUR,12.50\n",
     [(1, "valid_from", "missing column")]),
    ("a file of another kind", "fx", HEADER + GOOD,
     [(1, "gtin", "unknown column"), (1, None, "hopchain import prices FILE")]),
    ("GTIN check digit", "prices", HEADER + "04012345000017,EUR,2026-01-01,12.50\n",
     [(2, "gtin", "check digit 7")]),
    ("GTIN length", "prices", HEADER + "1234,EUR,2026-01-01,12.50\n", [(2, "gtin", "not a GTIN")]),
    ("unknown currency", "prices", HEADER + f"{GTIN_A},EURO,2026-01-01,12.50\n",
     [(2, "currency", "not an ISO 4217 currency code")]),
    ("negative price", "prices", HEADER + f"{GTIN_A},EUR,2026-01-01,-1.00\n",
     [(2, "list_price", "negative")]),
    ("decimal comma", "prices", HEADER + f'{GTIN_A},EUR,2026-01-01,"12,50"\n',
     [(2, "list_price", "decimal point")]),
    ("not a number", "prices", HEADER + f"{GTIN_A},EUR,2026-01-01,twelve\n",
     [(2, "list_price", "not an amount")]),
    ("cents of a cent", "prices", HEADER + f"{GTIN_A},EUR,2026-01-01,12.505\n",
     [(2, "list_price", "3 decimals; EUR has 2 decimals")]),
    ("yen have no decimals", "prices", HEADER + f"{GTIN_A},JPY,2026-01-01,2100.5\n",
     [(2, "list_price", "JPY has no decimals")]),
    ("dinar have three", "prices", HEADER + f"{GTIN_A},KWD,2026-01-01,29.7505\n",
     [(2, "list_price", "KWD has 3 decimals")]),
    ("no such day", "prices", HEADER + f"{GTIN_A},EUR,2026-02-30,12.50\n",
     [(2, "valid_from", "not a day of the calendar")]),
    ("not ISO date", "prices", HEADER + f"{GTIN_A},EUR,01/02/2026,12.50\n",
     [(2, "valid_from", "YYYY-MM-DD")]),
    ("same row twice", "prices", HEADER + GOOD + f"{GTIN_B},EUR,2026-01-01,1.00\n" + GOOD,
     [(4, "gtin", "repeats row 2")]),
    ("every bad row", "prices",
     HEADER + GOOD + f"{GTIN_A},EUR,2026-13-01,1\n" + f"{GTIN_B},XXX,2026-01-01,1\n"
     + f"{GTIN_C},EUR,2026-01-01,1.001\n",
     [(3, "valid_from", "not a day of the calendar"), (4, "currency", "ISO 4217"), (5, "list_price", "decimals")]),
    ("unknown party", "targets", "party,period,units,value,currency\nNOPE,2026-10,10,,\n",
     [(2, "party", "no party with code 'NOPE'")]),
    ("units and value", "targets", "party,period,units,value,currency\nDIST-FR,2026-10,10,5.00,\n",
     [(2, "units", "either units or value")]),
    ("value in another currency", "targets",
     "party,period,units,value,currency\nDIST-FR,2026-10,,5.00,USD\n",
     [(2, "currency", "settled in EUR")]),
    ("rate zero", "fx", "period,currency,reporting_currency,rate,source\n2026-10,USD,EUR,0,T\n",
     [(2, "rate", "not greater than 0")]),
    ("rate negative", "fx", "period,currency,reporting_currency,rate,source\n2026-10,USD,EUR,-1.1,T\n",
     [(2, "rate", "not greater than 0")]),
    ("rate to itself", "fx", "period,currency,reporting_currency,rate,source\n2026-10,EUR,EUR,1,T\n",
     [(2, "reporting_currency", "two currencies")]),
    ("bad month", "fx", "period,currency,reporting_currency,rate,source\n2026-13,USD,EUR,0.9,T\n",
     [(2, "period", "YYYY-MM")]),
    ("ECB bad rate", "fx", "Date, USD, JPY, \n30 October 2026, 1.0842, abc, \n",
     [(2, "JPY", "not a decimal number")]),
    ("ECB bad date", "fx", "Date,USD\n2026-10-32,1.08\n", [(2, "Date", "not a date")]),
    ("ECB EUR column", "fx", "Date,USD,EUR\n2026-10-30,1.08,1\n", [(1, "EUR", "not a rate")]),
    ("deposit kind", "deposits", "party,date,kind,amount,reason\nDIST-FR,2026-10-01,gift,1.00,x\n",
     [(2, "kind", "receipt, refund")]),
    ("refund beyond the balance", "deposits",
     "party,date,kind,amount,reason\nDIST-FR,2026-10-01,receipt,10.00,in\n"
     "DIST-FR,2026-10-02,refund,10.01,out\n",
     [(3, "amount", "below zero")]),
    ("adjustment of nothing", "adjustments", "party,amount,reason\nDIST-FR,0.00,nothing\n",
     [(2, "amount", "zero")]),
    ("adjustment without reason", "adjustments", "party,amount,reason\nDIST-FR,5.00,\n",
     [(2, "reason", "empty")]),
    ("payment of yen cents", "payments",
     "party,received_on,amount,reference\nDIST-JP,2026-11-01,100.5,SEPA 1\n",
     [(2, "amount", "JPY has no decimals")]),
    ("IBAN check digits", "billing",
     "party,legal_name,address,iban,bic\nDIST-DE,Vertrieb GmbH,Berlin,DE89 3704 0044 0532 0130 01,\n",
     [(2, "iban", "not a valid IBAN")]),
    ("BIC shape", "billing",
     "party,legal_name,address,iban,bic\nDIST-DE,Vertrieb GmbH,Berlin,DE89370400440532013000,COBA\n",
     [(2, "bic", "not a valid BIC")]),
    ("more cells than columns", "prices", HEADER + GOOD.strip() + ",extra\n",
     [(2, None, "the header has 4 columns")]),
    ("header only", "prices", HEADER, [(None, None, "no rows")]),
    ("not UTF-8", "prices", (HEADER + f"{GTIN_A},EUR,2026-01-01,12.50\n").encode("utf-16"),
     [(1, None, "not UTF-8")]),
    ("program with a bad tier", "programs",
     example("program.yaml").replace(b'rate: "80"', b'rate: "eighty"'),
     [(None, "rules", "tiers[1]")]),
    ("program without a code", "programs", b'{"name": "x", "valid_from": "2026-10", "rules": {}}',
     [(None, "code", "missing")]),
    ("program span backwards", "programs",
     example("program.yaml").replace(b"valid_to: null", b'valid_to: "2026-01"'),
     [(None, "valid_to", "before valid_from")]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("kind", "content", "expected"),
    [pytest.param(k, c, e, id=i) for i, k, c, e in BAD_FILES],
)
@pytest.mark.parametrize("dry_run", [False, True], ids=["import", "dry-run"])
def test_a_bad_file_names_row_and_column_and_stores_nothing(
    engine: Engine,
    kind: str,
    content: str | bytes,
    expected: list[tuple[int | None, str | None, str]],
    dry_run: bool,
) -> None:
    add_parties(engine)
    import_file(engine, "prices", "prices.csv", example("prices.csv"), FIN)  # something to keep
    before = snapshot(engine)
    data = content.encode() if isinstance(content, str) else content
    with pytest.raises(ImportRejected) as caught:
        import_file(engine, kind, "bad.csv", data, FIN, dry_run=dry_run)
    problems = caught.value.problems
    for row, column, words in expected:
        assert any(p.row == row and p.column == column and words in p.message for p in problems), (
            f"no problem at row {row}, column {column} saying {words!r} in:\n{caught.value}"
        )
    for p in problems:  # words for people, never Python's
        assert "Traceback" not in p.message and "Error(" not in p.message
    text = str(caught.value)
    if expected[0][0] is not None and expected[0][1] is not None:
        assert f"row {expected[0][0]}, column {expected[0][1]}: " in text
    assert snapshot(engine) == before


def _xlsx(rows: list[list[object]]) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_xlsx_with_empty_rows_names_the_spreadsheet_row(engine: Engine) -> None:
    before = snapshot(engine)
    data = _xlsx(
        [
            ["gtin", "currency", "valid_from", "list_price"],
            [GTIN_A, "EUR", "2026-01-01", 12.5],
            [],
            [],
            [GTIN_B, "EUR", "2026-01-01", 12.345],  # row 5: a float with 3 decimals
        ]
    )
    with pytest.raises(ImportRejected) as caught:
        import_file(engine, "prices", "prices.xlsx", data, FIN)
    assert [str(p) for p in caught.value.problems] == [
        "row 5, column list_price: 12.345 has 3 decimals; EUR has 2 decimals (ISO 4217)"
    ]
    assert snapshot(engine) == before


def test_semicolons_and_a_byte_order_mark_are_read_like_commas(engine: Engine) -> None:
    data = "\ufeffgtin;currency;valid_from;list_price\r\n" + f"{GTIN_A};EUR;2026-01-01;12.50\r\n"
    report = import_file(engine, "prices", "excel.csv", data.encode(), FIN)
    assert (report.created, report.format) == (1, "csv")
    assert list_prices(engine, FIN)[0][0].list_price_minor == 1250


def test_a_zip_that_is_not_a_workbook_is_refused_in_words(engine: Engine) -> None:
    with pytest.raises(ImportRejected, match="not an XLSX workbook"):
        import_file(engine, "prices", "prices.xlsx", b"PK\x03\x04garbage", FIN)


def test_only_finance_imports(engine: Engine) -> None:
    from settlement import Actor, PermissionDenied

    with pytest.raises(PermissionDenied):
        import_file(
            engine, "prices", "p.csv", example("prices.csv"), Actor("carla", "channel_manager")
        )
    assert snapshot(engine)["price_lists"] == []


def test_rate_text_is_kept_exactly(engine: Engine) -> None:
    import_file(engine, "fx", "fx.csv", example("fx.csv"), FIN)
    rates, _ = list_fx_rates(engine, FIN, currency="JPY")
    assert Decimal(rates[0].rate) == Decimal("0.00612")
    assert rates[0].as_of == "2026-10-31"  # a monthly rate is as of the month's last day
