"""Property tests of the CSV/XLSX price parser: any valid price table, written as a
person's spreadsheet would write it, reads back exactly; any one corrupted cell is
reported at its row and column, and only there."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from ledger.ids import gs1_check_digit
from settlement.imports import parse_import
from settlement.reference_values import minor_to_major

COLUMNS = ("gtin", "currency", "valid_from", "list_price")
CURRENCIES = ("EUR", "USD", "JPY", "KWD", "GBP", "CHF", "BHD", "KRW")


@dataclass(frozen=True)
class PriceRow:
    gtin: str
    currency: str
    valid_from: str
    minor: int

    def cells(self) -> dict[str, str]:
        return {
            "gtin": self.gtin,
            "currency": self.currency,
            "valid_from": self.valid_from,
            "list_price": minor_to_major(self.minor, self.currency),
        }


gtins = st.text("0123456789", min_size=13, max_size=13).map(lambda d: d + str(gs1_check_digit(d)))
days = st.dates(date(2000, 1, 1), date(2099, 12, 31)).map(date.isoformat)
rows = st.builds(PriceRow, gtins, st.sampled_from(CURRENCIES), days, st.integers(0, 10**12))
tables = st.lists(
    rows, min_size=1, max_size=25, unique_by=lambda r: (r.gtin, r.currency, r.valid_from)
)


def _csv(table: list[PriceRow], order: list[str], delimiter: str, bom: bool) -> bytes:
    out = io.StringIO()
    w = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    w.writerow(order)
    for r in table:
        cells = r.cells()
        w.writerow([cells[c] for c in order])
    return (("\ufeff" if bom else "") + out.getvalue()).encode()


def _xlsx(table: list[PriceRow], order: list[str]) -> bytes:
    book = Workbook()
    book.active.append(order)
    for r in table:
        cells = r.cells()
        book.active.append([cells[c] for c in order])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


layouts = st.tuples(
    st.permutations(COLUMNS), st.sampled_from([",", ";"]), st.booleans(), st.booleans()
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables, layouts)
def test_any_valid_price_table_round_trips(table: list[PriceRow], layout: tuple) -> None:
    order, delimiter, bom, as_xlsx = layout
    data = _xlsx(table, list(order)) if as_xlsx else _csv(table, list(order), delimiter, bom)
    parsed = parse_import("prices", "p", data, {})
    assert parsed.problems == ()
    assert parsed.rows == len(table)
    got = [
        PriceRow(v["gtin"], v["currency"], v["valid_from"], v["list_price_minor"])
        for v in (r.values for r in parsed.records)
    ]
    assert got == table
    assert [r.row for r in parsed.records] == list(range(2, len(table) + 2))


def _corrupt(column: str, row: PriceRow, how: int) -> str:
    """A wrong value for ``column`` of ``row`` (several kinds per column)."""
    if column == "gtin":
        wrong_digit = str((int(row.gtin[-1]) + 1 + how % 9) % 10)
        return [row.gtin[:-1] + wrong_digit, row.gtin[:7], row.gtin[:-1] + "X"][how % 3]
    if column == "currency":
        return ["EURO", "E1R", "XAU", "", "ZZZ"][how % 5]
    if column == "valid_from":
        return ["2026-02-30", "2026-13-01", "31/12/2026", "2026-1-1", ""][how % 5]
    too_many = (
        minor_to_major(row.minor, row.currency)
        + ("." if row.currency in ("JPY", "KRW") else "")
        + "5"
    )
    return ["-1", "abc", "1,50", too_many, "1e3", ""][how % 6]


@settings(max_examples=150, deadline=None)
@given(tables, st.data())
def test_any_single_corrupted_cell_is_reported_at_its_row_and_column(
    table: list[PriceRow], data: st.DataObject
) -> None:
    index = data.draw(st.integers(0, len(table) - 1), label="row index")
    column = data.draw(st.sampled_from(COLUMNS), label="column")
    how = data.draw(st.integers(0, 100), label="corruption")
    bad = _corrupt(column, table[index], how)
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(COLUMNS)
    for i, r in enumerate(table):
        cells = r.cells()
        if i == index:
            cells[column] = bad
        w.writerow([cells[c] for c in COLUMNS])
    parsed = parse_import("prices", "p", out.getvalue().encode(), {})
    assert [(p.row, p.column) for p in parsed.problems] == [(index + 2, column)], (
        f"corrupted {column} of row {index + 2} to {bad!r}; problems: {parsed.problems}"
    )
    assert len(parsed.records) == len(table) - 1  # every other row is still fine
