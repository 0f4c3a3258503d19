"""Credit files (issue 13): a party's credit investigations and their documents.

Source: seed 000 "客户资信调查" (《客户资信调查报告》): before credit is given, and
again when it is reviewed, finance investigates the party through the company
register, its bank, trade references, a credit insurer and its financial
statements. One :class:`~risk.models.CreditInvestigation` keeps what each source
said on the day; the newest one feeds the rating model (:mod:`risk.rating`).

Fields of :func:`record_investigation` (``values``: text as typed, a form field, a
JSON member or a command-line option; every bad field is named at once in one
:class:`CreditInputInvalid`, whose ``problems`` hold one
:class:`partners.values.InvalidField` per field):

- ``investigated_on``: ``YYYY-MM-DD``, not after today (UTC); empty: today;
- ``registration``: what the register said (text); ``registration_verified``:
  yes/no (``true``/``false``, ``1``/``0``, ``on``; empty: no);
- ``bank_reference``: good | fair | poor | none (empty: none);
- ``trade_references_good``, ``trade_references_bad``: whole numbers >= 0;
- ``insurer`` (text) and ``insurer_grade``: 0-10 (10 the lowest risk, Coface's
  DRA) or empty (not rated);
- ``statement_year``: the financial statements' year (1900 .. this year) or empty;
- ``currency``: ISO 4217 of the amounts (empty: the party's currency);
- ``revenue`` (>= 0) and ``equity`` (may be negative): major units of
  ``currency`` (``1250000.00``), at most the currency's decimals, stored in minor
  units (:func:`settlement.reference_values.major_to_minor`); empty: not known;
- ``current_ratio``: a decimal >= 0 (current assets / current liabilities), kept
  as typed (``1.35``); empty: not known;
- ``days_payable``: days payable outstanding, a whole number 0-3650; empty: not known;
- ``notes``: text.

Documents (:func:`attach_document`): PDF, PNG, JPEG, XLSX or CSV, recognised by
their bytes' signature (``%PDF-``; the PNG signature; ``FF D8 FF``; a ZIP holding
``[Content_Types].xml`` and ``xl/``; UTF-8 text without NUL bytes whose first line
has a comma, semicolon or tab), never by the name or the type the browser sent;
at most 10 MiB; stored with their SHA-256 and served back with the type found.

Roles: finance and admin record investigations and attach documents (the
investigation is finance's, as the seed's 财务部 does it; partner managers hand
over what they learnt of a prospect in its CRM interactions instead); finance,
channel managers, partner managers, auditors and admins read credit files.
Distributors read none (:func:`partners.errors.require`: 403). Every change is
audited (:func:`partners.audit.record`: ``credit.investigation``,
``credit.document``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from decimal import Decimal, InvalidOperation
from pathlib import PurePosixPath, PureWindowsPath

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from ledger.models import Party
from ledger.said import SaidError
from partners.audit import now_ms, record
from partners.errors import Acting, PartnerError, PartnerNotFound, require
from partners.values import InvalidField, check_choice, check_currency, check_text
from risk.models import CreditDocument, CreditInvestigation
from settlement.reference_values import major_to_minor

__all__ = [
    "BANK_REFERENCES",
    "CREDIT_READERS",
    "CREDIT_WRITERS",
    "DOCUMENT_TYPES",
    "INVESTIGATION_FIELDS",
    "MAX_DOCUMENT_BYTES",
    "CreditInputInvalid",
    "DocumentView",
    "InvestigationView",
    "attach_document",
    "check_investigation",
    "document_data",
    "investigation_json",
    "investigations_of",
    "latest_investigation",
    "party_by_code",
    "record_investigation",
    "sniff_type",
]

CREDIT_READERS = ("finance", "channel_manager", "partner_manager", "auditor", "admin")
CREDIT_WRITERS = ("finance", "admin")
BANK_REFERENCES = ("good", "fair", "poor", "none")
INVESTIGATION_FIELDS = (
    "investigated_on",
    "registration",
    "registration_verified",
    "bank_reference",
    "trade_references_good",
    "trade_references_bad",
    "insurer",
    "insurer_grade",
    "statement_year",
    "currency",
    "revenue",
    "equity",
    "current_ratio",
    "days_payable",
    "notes",
)
MAX_DOCUMENT_BYTES = 10 * 1024 * 1024
#: The types a document may have, as stored and served.
DOCUMENT_TYPES = {
    "pdf": "application/pdf",
    "png": "image/png",
    "jpeg": "image/jpeg",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv",
}
_YES = ("yes", "true", "1", "on", "y")
_NO = ("no", "false", "0", "off", "n", "")


class CreditInputInvalid(PartnerError):
    """Several fields (or table cells) are wrong at once; ``problems`` holds one
    :class:`InvalidField` per bad field, in field order; ``str(exc)`` lists them all."""

    problems: tuple[InvalidField, ...] = ()

    @classmethod
    def of(cls, problems: Sequence[InvalidField]) -> CreditInputInvalid:
        """The error listing ``problems`` (``field: why; field: why``)."""
        exc = CreditInputInvalid.said(
            "credit_input_invalid",
            "%(count)s wrong: %(problems)s",
            count=len(problems),
            problems="; ".join(str(p) for p in problems),
        )
        exc.problems = tuple(problems)
        return exc


@dataclass(frozen=True, slots=True)
class DocumentView:
    """A document's facts (not its bytes): ``size`` in bytes, ``uploaded_ms`` epoch ms."""

    id: int
    investigation_id: int
    filename: str
    content_type: str
    sha256: str
    size: int
    uploaded_by: str
    uploaded_ms: int


@dataclass(frozen=True, slots=True)
class InvestigationView:
    """One investigation as read; amounts in minor units of ``currency``, None: not
    known; ``current_ratio`` decimal text; ``documents`` oldest first."""

    id: int
    party_id: int
    investigated_on: str
    investigator: str
    registration: str
    registration_verified: bool
    bank_reference: str
    trade_references_good: int
    trade_references_bad: int
    insurer: str
    insurer_grade: int | None
    statement_year: int | None
    currency: str
    revenue_minor: int | None
    equity_minor: int | None
    current_ratio: str | None
    days_payable: int | None
    notes: str
    created_by: str
    created_ms: int
    documents: tuple[DocumentView, ...]


def _doc_view(d: CreditDocument) -> DocumentView:
    return DocumentView(
        d.id, d.investigation_id, d.filename, d.content_type, d.sha256, d.size,
        d.uploaded_by, d.uploaded_ms,
    )  # fmt: skip


def _view(i: CreditInvestigation, docs: Sequence[CreditDocument]) -> InvestigationView:
    return InvestigationView(
        i.id, i.party_id, i.investigated_on, i.investigator, i.registration,
        i.registration_verified, i.bank_reference, i.trade_references_good,
        i.trade_references_bad, i.insurer, i.insurer_grade, i.statement_year, i.currency,
        i.revenue_minor, i.equity_minor, i.current_ratio, i.days_payable, i.notes,
        i.created_by, i.created_ms, tuple(_doc_view(d) for d in docs),
    )  # fmt: skip


def party_by_code(s: Session, code: str) -> Party:
    """The party ``code``; :class:`PartnerNotFound` (404) when there is none."""
    party = s.scalar(select(Party).where(Party.code == code.strip()))
    if party is None:
        raise PartnerNotFound.said("credit_no_party_code", "no party %(code)s", code=code)
    return party


# ------------------------------------------------------------------ checks


def _text(raw: object) -> str:
    return "" if raw is None else str(raw).strip()


def _whole(raw: object, field: str, low: int, high: int) -> int | None:
    """A whole number ``low``..``high`` from text or an int; None for empty."""
    if isinstance(raw, bool):
        raw = str(raw)
    if isinstance(raw, int):
        value: int | None = raw
    else:
        text = _text(raw)
        if not text:
            return None
        value = int(text) if text.isascii() and text.lstrip("-").isdigit() else None
    if value is None or not low <= value <= high:
        raise InvalidField.said(
            "credit_not_whole",
            "%(value)s is not a whole number from %(low)s to %(high)s",
            field=field,
            value=repr(_text(raw)),
            low=low,
            high=high,
        )
    return value


def _day(raw: object, field: str, today: dt.date) -> str:
    text = _text(raw)
    if not text:
        return today.isoformat()
    try:
        day = dt.date.fromisoformat(text) if len(text) == 10 else None
    except ValueError:
        day = None
    if day is None:
        raise InvalidField.said(
            "credit_not_date",
            "%(value)s is not a date like 2026-12-01",
            field=field,
            value=repr(text),
        )
    if day > today:
        raise InvalidField.said(
            "credit_date_future",
            "%(day)s is in the future (today is %(today)s)",
            field=field,
            day=day.isoformat(),
            today=today.isoformat(),
        )
    return day.isoformat()


def _flag(raw: object, field: str) -> bool:
    if isinstance(raw, bool):
        return raw
    text = _text(raw).lower()
    if text in _YES:
        return True
    if text in _NO:
        return False
    raise InvalidField.said(
        "credit_not_yes_no", "%(value)s is not yes or no", field=field, value=repr(_text(raw))
    )


def _ratio(raw: object, field: str) -> str | None:
    text = _text(raw)
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite() or value < 0 or len(text) > 20:
        raise InvalidField.said(
            "credit_not_ratio",
            "%(value)s is not a decimal of 0 or more like 1.35",
            field=field,
            value=repr(text),
        )
    return text


def _amount(raw: object, currency: str | None, field: str, *, negative: bool) -> int | None:
    text = _text(raw)
    if not text:
        return None
    try:
        return major_to_minor(text, currency, field, negative=negative)
    except SaidError as exc:  # settlement's InvalidValue: the same field words
        raise InvalidField(
            field,
            getattr(exc, "message", str(exc)),
            message_id=exc.message_id,
            values=exc.values,
        ) from None


def check_investigation(
    values: Mapping[str, str | int | None], party_currency: str, today: dt.date
) -> dict[str, object]:
    """The columns of an investigation from ``values`` (see the module's list), or
    :class:`CreditInputInvalid` naming every bad field (and any unknown one)."""
    problems: list[InvalidField] = []
    unknown = sorted(set(values) - set(INVESTIGATION_FIELDS))
    for name in unknown:
        problems.append(
            InvalidField.said(
                "credit_unknown_field",
                "is not a field of an investigation; known: %(known)s",
                field=name,
                known=", ".join(INVESTIGATION_FIELDS),
            )
        )
    out: dict[str, object] = {}

    def take(name: str, check: object, *args: object, **kw: object) -> None:
        try:
            out[name] = check(*args, **kw)  # type: ignore[operator]
        except InvalidField as exc:
            problems.append(exc)

    v = {n: values.get(n) for n in INVESTIGATION_FIELDS}
    take("investigated_on", _day, v["investigated_on"], "investigated_on", today)
    take("registration", check_text, _text(v["registration"]), "registration", required=False,
         max_length=2000)  # fmt: skip
    take("registration_verified", _flag, v["registration_verified"], "registration_verified")
    take("bank_reference", check_choice, _text(v["bank_reference"]).lower() or "none",
         "bank_reference", BANK_REFERENCES)  # fmt: skip
    take("trade_references_good", _whole, v["trade_references_good"], "trade_references_good",
         0, 1000)  # fmt: skip
    take("trade_references_bad", _whole, v["trade_references_bad"], "trade_references_bad",
         0, 1000)  # fmt: skip
    take("insurer", check_text, _text(v["insurer"]), "insurer", required=False, max_length=100)
    take("insurer_grade", _whole, v["insurer_grade"], "insurer_grade", 0, 10)
    take("statement_year", _whole, v["statement_year"], "statement_year", 1900, today.year)
    currency: str | None = party_currency
    if _text(v["currency"]):
        try:
            currency = check_currency(_text(v["currency"]))
        except InvalidField as exc:
            problems.append(exc)
            currency = None
    out["currency"] = currency
    take("revenue_minor", _amount, v["revenue"], currency, "revenue", negative=False)
    take("equity_minor", _amount, v["equity"], currency, "equity", negative=True)
    take("current_ratio", _ratio, v["current_ratio"], "current_ratio")
    take("days_payable", _whole, v["days_payable"], "days_payable", 0, 3650)
    take("notes", check_text, _text(v["notes"]), "notes", required=False, max_length=10000)
    for count in ("trade_references_good", "trade_references_bad"):
        if out.get(count, 0) is None:
            out[count] = 0
    if problems:
        raise CreditInputInvalid.of(problems)
    return out


# ------------------------------------------------------------------ investigations


def record_investigation(
    engine: Engine, party_id: int, values: Mapping[str, str | int | None], actor: Acting
) -> InvestigationView:
    """Store a new investigation of the party ``party_id`` (fields: the module's list)
    and audit it (``credit.investigation``). Raises :class:`CreditInputInvalid` (422)
    naming every bad field, :class:`PartnerNotFound` (404) for no such party,
    :class:`partners.errors.PartnerDenied` (403) unless finance or admin."""
    require(actor, *CREDIT_WRITERS, action="record credit investigations")
    today = dt.datetime.now(dt.UTC).date()
    with Session(engine) as s, s.begin():
        party = s.get(Party, party_id)
        if party is None:
            raise PartnerNotFound.said("no_credit_party", "no party %(party)s", party=party_id)
        clean = check_investigation(values, party.currency, today)
        row = CreditInvestigation(
            party_id=party_id,
            investigator=actor.username,
            created_by=actor.username,
            created_ms=now_ms(),
            **clean,
        )
        s.add(row)
        s.flush()
        record(
            s,
            "credit.investigation",
            actor,
            party_id=party_id,
            detail={"investigation": row.id, **{k: v for k, v in clean.items() if k != "notes"}},
        )
        return _view(row, [])


def _documents(s: Session, ids: Sequence[int]) -> dict[int, list[CreditDocument]]:
    by: dict[int, list[CreditDocument]] = {i: [] for i in ids}
    if ids:
        q = select(CreditDocument).where(CreditDocument.investigation_id.in_(ids))
        for d in s.scalars(q.order_by(CreditDocument.id)):
            by[d.investigation_id].append(d)
    return by


def investigations_of(s: Session, party_id: int) -> list[InvestigationView]:
    """The party's investigations, newest first (by day, then as recorded), each with
    its documents (their facts, oldest first). No role check: the caller's."""
    rows = list(
        s.scalars(
            select(CreditInvestigation)
            .where(CreditInvestigation.party_id == party_id)
            .order_by(CreditInvestigation.investigated_on.desc(), CreditInvestigation.id.desc())
        )
    )
    docs = _documents(s, [r.id for r in rows])
    return [_view(r, docs[r.id]) for r in rows]


def latest_investigation(s: Session, party_id: int) -> InvestigationView | None:
    """The party's newest investigation (what :mod:`risk.rating` rates), or None."""
    found = investigations_of(s, party_id)
    return found[0] if found else None


# ------------------------------------------------------------------ documents


def sniff_type(data: bytes) -> str | None:
    """The stored content type of ``data`` from its signature (see the module's
    list), or None when it is none of PDF, PNG, JPEG, XLSX, CSV."""
    if data.startswith(b"%PDF-"):
        return DOCUMENT_TYPES["pdf"]
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return DOCUMENT_TYPES["png"]
    if data.startswith(b"\xff\xd8\xff"):
        return DOCUMENT_TYPES["jpeg"]
    if data.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                names = z.namelist()
        except (zipfile.BadZipFile, OSError, ValueError):
            return None
        if "[Content_Types].xml" in names and any(n.startswith("xl/") for n in names):
            return DOCUMENT_TYPES["xlsx"]
        return None
    if not data or b"\x00" in data:
        return None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None
    first = text.splitlines()[0] if text.splitlines() else ""
    if any(sep in first for sep in (",", ";", "\t")):
        return DOCUMENT_TYPES["csv"]
    return None


def _clean_filename(name: str) -> str:
    base = PureWindowsPath(PurePosixPath(name.strip()).name).name
    base = "".join(c for c in base if c.isprintable() and c not in '"\\/')
    return base[:200] or "document"


def attach_document(
    engine: Engine,
    investigation_id: int,
    filename: str,
    content_type: str,
    data: bytes,
    actor: Acting,
) -> DocumentView:
    """Attach ``data`` to the investigation; its type is found from the bytes
    (``content_type``, what the sender claimed, is kept only in the audit row).

    Raises :class:`PartnerError` (422) for an empty file, one over
    :data:`MAX_DOCUMENT_BYTES` or not PDF/PNG/JPEG/XLSX/CSV by its signature;
    :class:`PartnerNotFound` (404); :class:`PartnerDenied` (403) unless finance or admin."""
    require(actor, *CREDIT_WRITERS, action="attach credit documents")
    name = _clean_filename(filename)
    if not data:
        raise PartnerError.said("credit_document_empty", "%(name)s is empty", name=name)
    if len(data) > MAX_DOCUMENT_BYTES:
        raise PartnerError.said(
            "credit_document_large",
            "%(name)s is %(size)s bytes; a document may have at most %(most)s (10 MiB)",
            name=name,
            size=len(data),
            most=MAX_DOCUMENT_BYTES,
        )
    found = sniff_type(data)
    if found is None:
        raise PartnerError.said(
            "credit_document_type",
            "%(name)s is not a PDF, PNG, JPEG, XLSX or CSV file (judged by its content)",
            name=name,
        )
    with Session(engine) as s, s.begin():
        inv = s.get(CreditInvestigation, investigation_id)
        if inv is None:
            raise PartnerNotFound.said(
                "no_credit_investigation",
                "no credit investigation %(investigation)s",
                investigation=investigation_id,
            )
        doc = CreditDocument(
            investigation_id=investigation_id,
            filename=name,
            content_type=found,
            sha256=hashlib.sha256(data).hexdigest(),
            size=len(data),
            data=data,
            uploaded_by=actor.username,
            uploaded_ms=now_ms(),
        )
        s.add(doc)
        s.flush()
        record(
            s,
            "credit.document",
            actor,
            party_id=inv.party_id,
            detail={
                "investigation": investigation_id, "document": doc.id, "filename": name,
                "content_type": found, "claimed_type": content_type[:100], "sha256": doc.sha256,
                "size": doc.size,
            },
        )  # fmt: skip
        return _doc_view(doc)


def document_data(
    engine: Engine, document_id: int, actor: Acting
) -> tuple[DocumentView, int, bytes]:
    """A document's facts, its party's id and its bytes, for a download. Raises
    :class:`PartnerNotFound` (404), :class:`PartnerDenied` (403) for a non-reader."""
    require(actor, *CREDIT_READERS, action="read credit files")
    with Session(engine) as s:
        doc = s.get(CreditDocument, document_id)
        inv = None if doc is None else s.get(CreditInvestigation, doc.investigation_id)
        if doc is None or inv is None:
            raise PartnerNotFound.said(
                "no_credit_document", "no credit document %(document)s", document=document_id
            )
        return _doc_view(doc), inv.party_id, bytes(doc.data)


def investigation_json(v: InvestigationView) -> dict[str, object]:
    """An investigation as JSON (amounts in minor units of ``currency``; documents
    without their bytes)."""
    out = asdict(v)
    out["documents"] = [asdict(d) for d in v.documents]
    return out
