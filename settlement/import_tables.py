"""Reading an uploaded table: CSV (UTF-8, BOM tolerated, ``,`` or ``;``) or XLSX (first
sheet), chosen by the file's content rather than its name.

Rows are numbered as a spreadsheet shows them (the first line is row 1); the first
non-empty row is the header; empty rows are skipped. Header names are stripped and
compared case-insensitively; a trailing unnamed column whose cells are all empty
(the ECB's files end every line with a comma) is dropped. What cannot be read is
reported as :class:`ImportProblem` entries, never as Python exception text.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from settlement.common import SettlementError

__all__ = [
    "MAX_PROBLEMS",
    "MAX_ROWS",
    "ImportProblem",
    "ImportRejected",
    "Row",
    "Table",
    "cell_text",
    "read_table",
]

MAX_ROWS = 200_000
#: Problems listed in one answer; past this one line says how many more there are.
MAX_PROBLEMS = 1000
_XLSX_MAGIC = b"PK\x03\x04"


@dataclass(frozen=True, slots=True)
class ImportProblem:
    """Something wrong in a file: ``row`` as a spreadsheet numbers it (header = 1; None:
    the whole file), ``column`` the header name (None: the whole row), ``message`` why,
    in English (the CLI prints ``row 7, column list_price: why``, the API sends it).

    ``message_id`` and ``values`` let pages say it in the reader's language
    (``web/reasons.py``): a problem the import code finds itself is built with
    :meth:`worded` (its words are ``english``), one from an engine error with
    :meth:`of` (the error's own id and values; its words name the field). ``""``:
    no id, the English is shown. Neither takes part in equality.
    """

    row: int | None
    column: str | None
    message: str
    message_id: str = field(default="", compare=False)
    values: Mapping[str, str] = field(default_factory=dict, compare=False, hash=False)

    @classmethod
    def worded(
        cls,
        row: int | None,
        column: str | None,
        message_id: str,
        english: str,
        /,
        **values: object,
    ) -> ImportProblem:
        """The problem whose ``message`` is ``english`` (``%(name)s`` placeholders)
        filled from ``values`` (each as ``str``), carrying ``message_id`` and those values."""
        text = {name: str(value) for name, value in values.items()}
        return cls(row, column, english % text, message_id, text)

    @classmethod
    def of(
        cls,
        row: int | None,
        column: str | None,
        exc: SettlementError,
        message: str | None = None,
    ) -> ImportProblem:
        """The problem of engine error ``exc`` at ``row`` and ``column``, with its
        ``message_id`` and ``values``; ``message`` is the English (default
        ``str(exc)``; a field error passes its why without the field,
        ``InvalidValue.message``, as the column already names it)."""
        english = str(exc) if message is None else message
        return cls(row, column, english, exc.message_id, dict(exc.values))

    def __str__(self) -> str:
        where = ", ".join(
            part
            for part in (
                f"row {self.row}" if self.row is not None else "",
                f"column {self.column}" if self.column is not None else "",
            )
            if part
        )
        return f"{where}: {self.message}" if where else self.message


class ImportRejected(SettlementError):
    """A file refused as a whole (nothing was stored); ``problems`` lists every bad row and
    column, and ``str()`` one problem per line."""

    def __init__(self, problems: Sequence[ImportProblem]) -> None:
        listed = list(problems[:MAX_PROBLEMS])
        if len(problems) > MAX_PROBLEMS:
            listed.append(
                ImportProblem.worded(
                    None,
                    None,
                    "more_problems",
                    "... and %(count)s more problems",
                    count=len(problems) - MAX_PROBLEMS,
                )
            )
        super().__init__("\n".join(str(p) for p in listed))
        self.problems = listed


@dataclass(frozen=True, slots=True)
class Row:
    number: int
    cells: dict[str, str]  # header name (lower case) -> stripped text


@dataclass(frozen=True, slots=True)
class Table:
    """``format`` is ``csv`` or ``xlsx``; ``header`` the stripped lower-case names in file
    order; ``header_row`` the header's row number."""

    format: str
    header: tuple[str, ...]
    header_row: int
    rows: tuple[Row, ...]


def cell_text(value: Any) -> str:
    """A spreadsheet cell as the text a person sees: numbers without float noise
    (``12.5``, ``0.00001``), dates ``YYYY-MM-DD``, empty cells ``""``."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return format(Decimal(repr(value)), "f")
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value).strip()


def _csv_rows(data: bytes) -> list[tuple[int, list[str]]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ImportRejected(
            [
                ImportProblem.worded(
                    line,
                    None,
                    "not_utf8",
                    "the file is not UTF-8 text; save it as 'CSV UTF-8' or as an XLSX workbook",
                )
            ]
        ) from None
    first = next((ln for ln in text.splitlines() if ln.strip()), "")
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    out: list[tuple[int, list[str]]] = []
    start = 1
    try:
        for cells in reader:
            out.append((start, [c.strip() for c in cells]))
            start = reader.line_num + 1
            if len(out) > MAX_ROWS + 1:
                break
    except csv.Error as exc:
        raise ImportRejected(
            [
                ImportProblem.worded(
                    start, None, "not_csv", "cannot be read as CSV (%(error)s)", error=exc
                )
            ]
        ) from None
    return out


def _xlsx_rows(data: bytes) -> list[tuple[int, list[str]]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=False, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError):
        raise ImportRejected(
            [
                ImportProblem.worded(
                    None,
                    None,
                    "zip_not_xlsx",
                    "the file is a ZIP archive but not an XLSX workbook",
                )
            ]
        ) from None
    if not book.worksheets:
        raise ImportRejected(
            [ImportProblem.worded(None, None, "no_sheet", "the workbook has no sheet")]
        )
    sheet = book.worksheets[0]
    out: list[tuple[int, list[str]]] = []
    for number, values in enumerate(sheet.iter_rows(min_row=1, values_only=True), start=1):
        out.append((number, [cell_text(v) for v in values]))
        if len(out) > MAX_ROWS + 1:
            break
    return out


def _drop_empty_trailing(header: list[str], rows: Iterable[tuple[int, list[str]]]) -> int:
    """How many header columns to keep: trailing unnamed columns with no data go."""
    keep = len(header)
    rows = list(rows)
    while keep > 0 and header[keep - 1] == "":
        col = keep - 1
        if any(col < len(cells) and cells[col] for _, cells in rows):
            break
        keep -= 1
    return keep


def _single_csv_in_zip(data: bytes) -> bytes | None:
    """The CSV of a ZIP archive that holds exactly one ``.csv`` and is not a workbook
    (as the ECB publishes ``eurofxref.zip``), or None."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            names = z.namelist()
            if "[Content_Types].xml" in names:
                return None  # an XLSX workbook
            csvs = [n for n in names if n.lower().endswith(".csv")]
            if len(csvs) != 1 or z.getinfo(csvs[0]).file_size > 64 * 1024 * 1024:
                return None
            return z.read(csvs[0])
    except (zipfile.BadZipFile, OSError):
        return None


def read_table(filename: str, data: bytes) -> Table:
    """Read ``data`` as XLSX (ZIP content) or CSV; raises :class:`ImportRejected` naming the
    row for an unreadable file, an empty one, a header with unnamed or repeated columns,
    a row with more cells than the header or too many rows."""
    if not data.strip():
        problem = (
            ImportProblem.worded(None, None, "named_file_empty", "%(file)s is empty", file=filename)
            if filename
            else ImportProblem.worded(None, None, "file_empty", "the file is empty")
        )
        raise ImportRejected([problem])
    is_xlsx = data[:4] == _XLSX_MAGIC
    if is_xlsx and (inner := _single_csv_in_zip(data)) is not None:
        data, is_xlsx = inner, False  # the ECB's eurofxref.zip: one CSV inside
    raw = _xlsx_rows(data) if is_xlsx else _csv_rows(data)
    non_empty = [(n, cells) for n, cells in raw if any(cells)]
    if not non_empty:
        raise ImportRejected(
            [
                ImportProblem.worded(
                    None, None, "no_header_no_rows", "the file has no header and no rows"
                )
            ]
        )
    header_row, header_cells = non_empty[0]
    body = non_empty[1:]
    if len(body) > MAX_ROWS:
        raise ImportRejected(
            [
                ImportProblem.worded(
                    None,
                    None,
                    "too_many_rows",
                    "the file has more than %(limit)s rows; split it",
                    limit=f"{MAX_ROWS:,}",
                )
            ]
        )
    names = [h.strip().lower() for h in header_cells]
    width = _drop_empty_trailing(names, body)
    names = names[:width]
    problems: list[ImportProblem] = []
    seen: set[str] = set()
    for i, name in enumerate(names):
        if not name:
            problems.append(
                ImportProblem.worded(
                    header_row,
                    None,
                    "column_unnamed",
                    "column %(number)s has no name",
                    number=i + 1,
                )
            )
        elif name in seen:
            problems.append(
                ImportProblem.worded(
                    header_row, name, "column_twice", "appears twice in the header"
                )
            )
        seen.add(name)
    rows: list[Row] = []
    for number, cells in body:
        extra = [c for c in cells[width:] if c]
        if extra:
            problems.append(
                ImportProblem.worded(
                    number,
                    None,
                    "row_too_wide",
                    "has %(cells)s cells; the header has %(columns)s columns",
                    cells=width + len(extra),
                    columns=width,
                )
            )
            continue
        padded = cells[:width] + [""] * (width - min(width, len(cells)))
        rows.append(Row(number, dict(zip(names, padded, strict=True))))
    if problems:
        raise ImportRejected(problems)
    return Table("xlsx" if is_xlsx else "csv", tuple(names), header_row, tuple(rows))
