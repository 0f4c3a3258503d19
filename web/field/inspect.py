"""The inspector's pages: scan a unit in a shop and record it, then look back.

- ``inspect.scan`` (``GET/POST /inspect``, ``/inspect/`` too): a page made for a phone. The camera
  reads the label's QR code in the browser (html5-qrcode, served from our static
  files; ``inspect.js`` puts what it read in the code field); without a camera, a
  photo of the label is decoded here (:func:`scanners.decode_image`: a photo
  showing two different units' codes is refused, naming them, as is one showing
  only a case's SSCC); the code may also be typed (Digital Link URI, GS1 element
  string or ``01/…/21/…`` key; a bad one is refused with the scanner's reason, the
  resolver's words: "GTIN … has check digit 4, expected 3"). Shop
  name, note, photos (the phone's camera) and the phone's location (a button; the
  numbers show before sending). Sending records the inspection
  (:func:`sightings.inspection.record_inspection`) and shows its result; for a
  unit sold (or decommissioned) before, the result says so: a unit on a shelf
  with its code is likely a copy, and detection files a cloned-code alert.
- ``inspect.history`` (``/inspect/history``): the inspector's own inspections,
  newest first, paginated.
- ``inspect.detail`` (``/inspect/<id>``): one inspection: in or out of the unit's
  zone, the territory, the ledger entry, the photos, the suspected alerts it
  confirmed or cleared (and the alerts they became), whether its signed record
  verifies with the ledger key.
- ``inspect.photo`` (``/inspect/photos/<id>``): a photo, byte for byte.

Who sees what: an inspector, their own inspections (another's answers 404, as
if there were none: the user name recorded with the inspection is compared, as
the inspection row keeps no user id); channel managers, admins and auditors, every
inspection; anyone else, none (403).

A form posted to ``inspect.scan`` is at most the app's request limit (16 MB) in
all: six phone photos of 2-3 MB fit; ``inspect.js`` warns before sending more.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import format_date, gettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, MultipleFileField
from sqlalchemy import select
from werkzeug.datastructures import FileStorage
from wtforms import HiddenField, StringField, TextAreaField
from wtforms.validators import Length, Optional

from ledger.ids import InvalidIdentifierError, parse_key
from scanners import ImageDecodeError, decode_image, parse
from scanners.batch import to_micro_degrees
from scanners.reasons import reason_of
from sightings import inspection
from sightings.errors import SightingError
from sightings.inspection import InspectionView, Photo
from sightings.models import Inspection, InspectionPhoto
from sightings.suspects import EndOfLife
from web.db import get_engine, get_session
from web.field.suspects import KIND_WORDS, STATUS_WORDS, VERDICT_WORDS
from web.i18n import N_
from web.paging import page_request
from web.reasons import scan_reason_words
from web.roles import Role
from web.security import Principal, current_principal, require_roles
from web.signing import get_signer

__all__ = [
    "END_OF_LIFE_WORDS",
    "INSPECTION_WORDS",
    "READERS",
    "CodeReading",
    "bp",
    "code_words",
    "end_of_life_words",
    "inspection_words",
    "may_read",
    "read_unit_code",
    "unit_key_of",
]

bp = Blueprint("inspect", __name__, url_prefix="/inspect")

#: Who may open an inspection (an inspector only their own, see :func:`may_read`).
READERS = (Role.INSPECTOR, Role.CHANNEL_MANAGER, Role.ADMIN, Role.AUDITOR)
_MAX_LABEL_PHOTO = 16 * 1024 * 1024

#: The words of :mod:`sightings.inspection` refusals, marked for the catalogue here
#: (that package speaks English); a test checks each is the constant's text.
INSPECTION_WORDS = {
    "SHOP_REQUIRED": N_("Shop: type the name of the shop where the unit is"),
    "SHOP_TOO_LONG": N_("Shop: at most %(limit)s characters, got %(length)s"),
    "NOTE_TOO_LONG": N_("Note: at most %(limit)s characters, got %(length)s"),
    "LOCATION_HALF": N_("Location: give both latitude and longitude, or neither"),
    "LATITUDE_RANGE": N_("Latitude: must be between -90 and 90 degrees"),
    "LONGITUDE_RANGE": N_("Longitude: must be between -180 and 180 degrees"),
    "TIME_RANGE": N_("Time: %(problem)s"),
    "TOO_MANY_PHOTOS": N_("Photos: at most %(limit)s photos, got %(count)s"),
    "PHOTO_TOO_BIG": N_("Photo %(number)s: at most %(limit_mb)s MB, got %(size_mb)s MB"),
    "PHOTO_EMPTY": N_("Photo %(number)s: the file is empty"),
    "PHOTO_NOT_IMAGE": N_("Photo %(number)s: not a PNG, JPEG or WebP picture that can be opened"),
    "PHOTO_KIND": N_("Photo %(number)s: a %(format)s picture; send PNG, JPEG or WebP"),
    "PHOTO_TOO_LARGE": N_(
        "Photo %(number)s: larger than %(limit)s megapixels; send a smaller picture"
    ),
    "NOT_INSPECTOR": N_(
        "Party: %(party)s is not an inspection party; ask an admin to fix the account"
    ),
    "NO_PARTY": N_(
        "Party: the account belongs to no inspection party; ask an admin to fix the account"
    ),
    "BAD_CODE": N_("Code: %(code)s is not a unit's code (GTIN and serial)"),
    "CASE_CODE": N_("Code: %(code)s is a case or pallet; scan the label of one unit"),
    "UNKNOWN_CODE": N_("Code: %(code)s is not a code of ours: no unit carries it"),
    "CAPTURE_ID_FORM": N_(
        "Capture id: 1 to 100 letters, digits, dots, colons, dashes or underscores"
    ),
    "CAPTURE_ID_USED": N_("Capture id: %(capture_id)s was already used for another inspection"),
    "LEDGER_REFUSED": N_("The ledger refused the inspection: %(reason)s"),
}

_NO_CODE = N_("Code: scan the label with the camera, type its code or take a photo of it")
_NO_CODE_IN_PHOTO = N_("Label photo: no unit's code found in it; take it closer and straight on")
_CODE_REASON = N_("Code: %(reason)s")
_MANY_CODES = N_(
    "Label photo: the photo shows %(count)s codes: %(codes)s; photograph one label or type the code"
)
_CASE_IN_PHOTO = N_(
    "Label photo: it shows only a case or pallet code (%(codes)s); photograph the label of one unit"
)
_PRODUCT_IN_PHOTO = N_(
    "Label photo: it shows only a product code (%(codes)s), no serial; photograph the unit's "
    "QR code or type the code"
)
_BAD_CODE_IN_PHOTO = N_("Label photo: the code in it is not a unit's code: %(reason)s")

#: What the result says of an inspection of a unit that had left the channel
#: (:attr:`sightings.inspection.InspectionView.end_of_life`), by how it left.
END_OF_LIFE_WORDS = {
    "retail_selling": N_(
        "Sold on %(day)s: a unit on a shelf with this code is likely a copy; "
        "detection files a cloned-code alert."
    ),
    "decommissioning": N_(
        "Decommissioned on %(day)s: a unit on a shelf with this code is likely a copy; "
        "detection files a cloned-code alert."
    ),
}
_PHOTO_UNREADABLE = N_("Label photo: not a picture this page can read")
_PHOTO_TOO_BIG = N_("Label photo: at most 16 MB")
_BAD_DEGREES = N_("%(field)s: a number of degrees such as %(example)s")


def inspection_words(exc: SightingError) -> str:
    """A refusal of :mod:`sightings.inspection` in the request's language."""
    return str(gettext(exc.words, **exc.values) if exc.values else gettext(exc.words))


@dataclass(frozen=True, slots=True)
class CodeReading:
    """What a scanned or typed code names. ``key``: the canonical unit key
    (``01/{gtin14}/21/{serial}``), None when it names no unit; ``text``: the code as
    given, stripped; ``kind``: ``unit``, ``case`` (an SSCC: a case or pallet),
    ``product`` (a GTIN without serial) or ``invalid``; ``reason``: for ``invalid``,
    the scanner's English reason (:func:`scanners.parse` or :mod:`ledger.ids`, the
    words the resolver answers with), else ""; ``shown``: the key or GTIN to name
    in a message (the text itself when invalid)."""

    key: str | None
    text: str
    kind: str
    reason: str = ""
    shown: str = ""


def read_unit_code(text: str) -> CodeReading:
    """Read a scanned or typed code: a Digital Link URI, GS1 element string,
    bracketed HRI or ``01/…/21/…`` key (hopchain's spelling, serial unescaped).
    Never raises: a code that names no unit says why (:class:`CodeReading`)."""
    raw = text.strip()
    if raw.startswith(("01/", "/01/", "00/", "/00/")):
        try:
            uid = parse_key(raw)
        except InvalidIdentifierError as exc:
            return CodeReading(None, raw, "invalid", str(exc), raw)
        if uid.sscc is not None:
            return CodeReading(None, raw, "case", shown=f"SSCC {uid.sscc}")
        return CodeReading(raw.removeprefix("/"), raw, "unit", shown=raw.removeprefix("/"))
    result = parse(raw)
    if result.error is not None:
        # text that is no GS1 code at all has no reason worth more than "not a unit's code"
        plain = "Failed to get GS1 Application Identifier" in result.error
        return CodeReading(None, raw, "invalid", "" if plain else result.error, raw)
    if result.key is not None and result.key.startswith("01/") and result.serial is not None:
        return CodeReading(result.key, raw, "unit", shown=result.key)
    if result.sscc is not None:
        return CodeReading(None, raw, "case", shown=f"SSCC {result.sscc}")
    if result.gtin is not None:
        return CodeReading(None, raw, "product", shown=f"GTIN {result.gtin}")
    return CodeReading(None, raw, "invalid", "", raw)


def code_words(reading: CodeReading) -> str:
    """Why ``reading`` names no unit, in the request's language, naming the field
    (``Code: …``): the scanner's reason said as the resolver says it
    (:func:`web.reasons.scan_reason_words`: "GTIN … has check digit 4, expected 3"),
    a case or pallet code, or a code that is not a unit's."""
    if reading.kind == "case":
        return str(gettext(INSPECTION_WORDS["CASE_CODE"], code=reading.text[:80]))
    if reading.kind == "invalid" and reason_of(reading.reason) is not None:
        return str(gettext(_CODE_REASON, reason=scan_reason_words(reading.reason)))
    return str(gettext(INSPECTION_WORDS["BAD_CODE"], code=reading.text[:80]))


def unit_key_of(text: str) -> tuple[str | None, str]:
    """(canonical key, "") of a scanned or typed code (Digital Link URI, GS1
    element string, bracketed HRI or ``01/…/21/…`` key); (None, the text) when it
    names no unit (a GTIN alone, an SSCC, nonsense). :func:`read_unit_code` says why."""
    reading = read_unit_code(text)
    return (reading.key, "") if reading.key is not None else (None, reading.text)


def end_of_life_words(ended: EndOfLife | None) -> str:
    """What an inspection's result says of a unit sold or decommissioned before it
    (:data:`END_OF_LIFE_WORDS`, the day in the request's language); "" when the unit
    was still in the channel."""
    if ended is None or ended.kind not in END_OF_LIFE_WORDS:
        return ""
    day = datetime.fromtimestamp(ended.at_ms / 1000, UTC).date()
    return str(gettext(END_OF_LIFE_WORDS[ended.kind], day=format_date(day, "medium")))


def may_read(me: Principal, view: InspectionView) -> bool:
    """Whether ``me`` may open ``view``: managers, admins and auditors any; an
    inspector their own (same user name and party)."""
    if me.role is Role.INSPECTOR:
        return view.user_name == me.name and view.party_code == me.party_code
    return me.role in READERS


class InspectForm(FlaskForm):  # type: ignore[misc]
    code = StringField(
        _l("Unit code"),
        validators=[Optional(), Length(max=500)],
        description=_l("Filled in by the camera scan; you may also type or paste the code."),
    )
    label_photo = FileField(
        _l("Or a photo of the label"),
        description=_l("Used when the camera cannot read the label: the code is read here."),
    )
    # checked by sightings.inspection (its words name the field); the browser's limits only
    shop = StringField(_l("Shop"), render_kw={"maxlength": inspection.MAX_SHOP})
    note = TextAreaField(_l("Note"), render_kw={"maxlength": inspection.MAX_NOTE, "rows": 3})
    photos = MultipleFileField(
        _l("Photos"),
        description=_l("Shelf, label, receipt: at most 6 photos, 5 MB each, 16 MB in all."),
    )
    lat = StringField(_l("Latitude"), validators=[Optional(), Length(max=40)])
    lon = StringField(_l("Longitude"), validators=[Optional(), Length(max=40)])
    capture_id = HiddenField()


_FIELD_OF = {
    "shop": "shop",
    "note": "note",
    "lat": "lat",
    "lon": "lon",
    "unit": "code",
    "photos": "photos",
}


@dataclass
class _Problems:
    form: InspectForm
    general: list[str]

    def add(self, field: str, message: str) -> None:
        target = _FIELD_OF.get(field.split("[", 1)[0], field)
        f = getattr(self.form, target, None)
        if f is None or target in ("capture_id",):
            self.general.append(message)
        else:
            f.errors = [*f.errors, message] if isinstance(f.errors, list) else [message]

    def __bool__(self) -> bool:
        return bool(self.general) or any(f.errors for f in self.form)


def _me() -> Principal:
    me = current_principal()
    assert me is not None  # require_roles
    return me


def _label_code(form: InspectForm, problems: _Problems) -> str | None:
    """The unit key from the code field, else from the label photo.

    A photo must show exactly one unit's code (the same code twice, as a QR code
    and a DataMatrix, is one): two different units' codes are refused, naming
    them, and so is a photo with only a case's SSCC, a product's GTIN or a code
    that does not read; nothing is recorded then."""
    typed = (form.code.data or "").strip()
    if typed:
        reading = read_unit_code(typed)
        if reading.key is None:
            problems.add("code", code_words(reading))
        return reading.key
    photo = form.label_photo.data
    if not isinstance(photo, FileStorage) or not photo.filename:
        problems.add("code", gettext(_NO_CODE))
        return None
    data = photo.read(_MAX_LABEL_PHOTO + 1)
    if len(data) > _MAX_LABEL_PHOTO:
        problems.add("label_photo", gettext(_PHOTO_TOO_BIG))
        return None
    try:
        found = decode_image(data)
    except ImageDecodeError:
        problems.add("label_photo", gettext(_PHOTO_UNREADABLE))
        return None
    readings = [read_unit_code(result.text) for result in found]
    units = {r.key: r for r in readings if r.key is not None}  # in reading order
    if len(units) > 1:
        problems.add(
            "label_photo",
            gettext(_MANY_CODES, count=len(units), codes=", ".join(units)),
        )
        return None
    if units:
        (key, reading), *_ = units.items()
        form.code.data = reading.text
        return key
    for kind, words in (("case", _CASE_IN_PHOTO), ("product", _PRODUCT_IN_PHOTO)):
        shown = list(dict.fromkeys(r.shown for r in readings if r.kind == kind))
        if shown:
            problems.add("label_photo", gettext(words, codes=", ".join(shown)))
            return None
    bad = [r for r in readings if r.kind == "invalid" and reason_of(r.reason) is not None]
    if bad:
        reason = scan_reason_words(bad[0].reason)
        problems.add("label_photo", gettext(_BAD_CODE_IN_PHOTO, reason=reason))
        return None
    problems.add("label_photo", gettext(_NO_CODE_IN_PHOTO))
    return None


def _degrees(form: InspectForm, problems: _Problems) -> tuple[int | None, int | None]:
    out: list[int | None] = []
    for name, limit, label, example in (
        ("lat", 90, _l("Latitude"), "48.8566"),
        ("lon", 180, _l("Longitude"), "2.3522"),
    ):
        raw = (getattr(form, name).data or "").strip()
        if not raw:
            out.append(None)
            continue
        try:
            out.append(to_micro_degrees(raw, limit))
        except ValueError:
            problems.add(name, gettext(_BAD_DEGREES, field=label, example=example))
            out.append(None)
    return out[0], out[1]


def _photos(form: InspectForm) -> list[Photo]:
    files = [f for f in (form.photos.data or []) if isinstance(f, FileStorage) and f.filename]
    return [Photo(f.mimetype or "", f.read(inspection.MAX_PHOTO_BYTES + 1)) for f in files]


def _render_scan(form: InspectForm, general: list[str], status: int) -> ResponseReturnValue:
    return (
        render_template(
            "inspect/scan.html",
            form=form,
            general=general,
            max_photos=inspection.MAX_PHOTOS,
            max_total=16 * 1024 * 1024,
            max_each=inspection.MAX_PHOTO_BYTES,
        ),
        status,
    )


@bp.route("/", methods=("GET", "POST"), endpoint="scan")  # the same page with a slash
@bp.route("", methods=("GET", "POST"), endpoint="scan")  # first: url_for builds this one
@require_roles(Role.INSPECTOR)
def scan() -> ResponseReturnValue:
    form = InspectForm()
    if not form.is_submitted():
        form.capture_id.data = secrets.token_urlsafe(16)
        return _render_scan(form, [], 200)
    problems = _Problems(form, [])
    if not form.validate():
        if form.csrf_token.errors:
            problems.general.append(gettext("This form has expired: reload the page and try again"))
        return _render_scan(form, problems.general, 400)
    key = _label_code(form, problems)
    lat, lon = _degrees(form, problems)
    if problems or key is None:
        return _render_scan(form, problems.general, 400)
    me = _me()
    capture = (form.capture_id.data or "").strip() or None
    try:
        result = inspection.record_inspection(
            get_engine(), user_name=me.name, inspector_party_id=me.party_id or 0,
            unit_key=key, shop_name=form.shop.data or "", note=form.note.data or "",
            lat_e6=lat, lon_e6=lon, at_ms=time.time_ns() // 1_000_000,
            photos=_photos(form), signer=get_signer(), capture_id=capture,
        )  # fmt: skip
    except SightingError as exc:
        problems.add(exc.field, inspection_words(exc))
        return _render_scan(form, problems.general, 400)
    if result.replayed:
        flash(gettext("This inspection was already recorded: here it is."), "info")
    else:
        flash(gettext("Inspection recorded as ledger entry %(seq)s.", seq=result.seq), "success")
    return redirect(url_for("inspect.detail", inspection_id=result.inspection_id), 303)


@bp.get("/history", endpoint="history")
@require_roles(Role.INSPECTOR)
def history() -> ResponseReturnValue:
    me = _me()
    pager = page_request()
    rows, total = inspection.list_inspections(
        get_session(), user_name=me.name, offset=pager.offset, limit=pager.size
    )
    pager = pager.with_total(total)
    if pager.offset and not rows and total:
        rows, _ = inspection.list_inspections(
            get_session(), user_name=me.name, offset=pager.offset, limit=pager.size
        )
    return render_template("inspect/history.html", rows=rows, p=pager, verdict_words=VERDICT_WORDS)


def _visible(inspection_id: int) -> InspectionView:
    view = inspection.get_inspection(get_session(), inspection_id)
    if view is None or not may_read(_me(), view):
        abort(404)
    return view


def _verifies(view: InspectionView) -> bool:
    """Whether the stored record still matches its photos and the ledger key's signature."""
    session = get_session()
    row = session.get(Inspection, view.id)
    assert row is not None
    photos = list(
        session.scalars(select(InspectionPhoto).where(InspectionPhoto.inspection_id == view.id))
    )
    signer = get_signer()
    try:
        inspection.verify_inspection_record(
            row, photos, signer.public_key, name=signer.name, unit_key=view.unit_key
        )
    except inspection.InspectionRecordError:
        return False
    return True


@bp.get("/<id:inspection_id>", endpoint="detail")
@require_roles(*READERS)
def detail(inspection_id: int) -> ResponseReturnValue:
    view = _visible(inspection_id)
    me = _me()
    return render_template(
        "inspect/detail.html",
        i=view,
        verifies=_verifies(view),
        verdict_words=VERDICT_WORDS,
        status_words=STATUS_WORDS,
        kind_words=KIND_WORDS,
        links_alerts=me.role in (Role.CHANNEL_MANAGER, Role.ADMIN, Role.AUDITOR),
        links_suspects=me.role in (Role.CHANNEL_MANAGER, Role.ADMIN, Role.INSPECTOR),
        mine=me.role is Role.INSPECTOR,
        ended_words=end_of_life_words(view.end_of_life),
    )


@bp.get("/photos/<id:photo_id>", endpoint="photo")
@require_roles(*READERS)
def photo(photo_id: int) -> ResponseReturnValue:
    found = inspection.photo_data(get_session(), photo_id)
    if found is None:
        abort(404)
    inspection_id, content_type, data = found
    _visible(inspection_id)
    response = Response(data, mimetype=content_type)
    response.headers["Cache-Control"] = "private, max-age=86400, immutable"
    response.headers["Content-Disposition"] = (
        f'inline; filename="inspection-{inspection_id}-{photo_id}"'
    )
    return response


def _degrees_text(value_e6: int | None) -> str:
    return "" if value_e6 is None else f"{value_e6 / 1e6:.6f}"


@bp.app_template_filter("inspect_deg")
def inspect_deg(value_e6: int | None) -> str:
    """Micro-degrees as decimal degrees with six places ("" for None)."""
    return _degrees_text(value_e6)
