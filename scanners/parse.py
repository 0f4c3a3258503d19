"""Parse what a scanner sent into a unit identity: :func:`parse` and :class:`ScanResult`.

Accepted inputs, with or without an ISO/IEC 15424 symbology identifier. Every
identifier of a GS1 data carrier (GS1 General Specifications §5.1.2, figure
5.1.2-2) is understood: ``]C1`` GS1-128, ``]e0`` GS1 DataBar, ``]e1``/``]e2`` GS1
Composite, ``]E0`` EAN-13/UPC-A/UPC-E, ``]E1``/``]E2`` 2-/5-digit add-on, ``]E3``
EAN/UPC with add-on, ``]E4`` EAN-8, ``]I1`` ITF-14, ``]d2`` GS1 DataMatrix, ``]Q3``
GS1 QR Code, ``]J1`` GS1 DotCode, and ``]z1`` Aztec with FNC1 in first position (GS1
element strings; ISO/IEC 24778). Other ISO/IEC 15424 identifiers (``]d1``, ``]Q1``
...) are read by content; an identifier nobody assigned is an error naming it.

- GS1 element strings with FNC1 sent as GS (0x1D), e.g. ``0109506000134352211234``;
- the bracketed human-readable form ``(01)09506000134352(21)1234``;
- GS1 Digital Link URIs on any domain and below a custom path prefix, read by the
  standard's grammar (primary key, its qualifiers in order, data attributes in
  the query), see :mod:`scanners.digital_link`;
- plain GTIN-8/12/13/14 and SSCC-18 numbers;
- EPC pure-identity URNs ``urn:epc:id:sgtin:…`` and ``urn:epc:id:sscc:…`` (RFID
  readers and EPCIS documents use them).

An EAN/UPC add-on (``]E3`` packets, or an ``]E1``/``]E2`` packet after the main one)
is split off into :attr:`ScanResult.addon`; it is never part of the GTIN (ISO/IEC
15420, GS1 General Specifications §5.2.3.6).

Every AI whose format carries a GS1 check digit (GS1 General Specifications §3,
the "csum" components of the GS1 Barcode Syntax Dictionary: GDTI 253, GCN 255,
GSIN 402, GLN 410-417, GRAI 8003, ITIP 8006/8026, GSRN 8017/8018 ...) and the GMN
check character pair (8013, §7.9.5) is checked, see :data:`CHECK_DIGIT_SPANS`.
The value rules of the GS1 Barcode Syntax Dictionary (dates and times, country
and currency codes, IBAN, latitude/longitude, winding ...) are checked by
:func:`scanners.ai_rules.ai_value_error`, for every input form alike.

The GS1 tables (application identifiers, their formats and titles) come from
biip; the canonical key and the final check-digit validation from
:mod:`ledger.ids`, so a code accepted here is accepted by the ledger.

Like ``biip.parse``, :func:`parse` never raises on bad input: the result carries
``error`` with the reason. :func:`parse_or_raise` raises :class:`ScanParseError`
for callers who prefer exceptions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any

from biip import ParseConfig, ParseError
from biip.gs1_element_strings import GS1ElementStrings
from biip.gs1_messages import GS1Message
from biip.gtin import Gtin
from biip.sscc import Sscc
from biip.symbology import GS1Symbology, ISOSymbology, SymbologyIdentifier
from biip.upc import Upc

from ledger.ids import (
    InvalidIdentifierError,
    gs1_check_digit,
    sscc_key,
    unit_key,
    validate_gtin14,
    validate_sscc18,
)
from scanners.ai_rules import ai_value_error
from scanners.check_digits import CHECK_DIGIT_SPANS, check_digit_error
from scanners.digital_link import DigitalLinkError, format_mismatch, parse_digital_link
from scanners.reasons import reason_of

__all__ = [
    "CHECK_DIGIT_SPANS",
    "MAX_SCAN_LENGTH",
    "ScanParseError",
    "ScanResult",
    "check_digit_error",
    "parse",
    "parse_or_raise",
]

#: Longer input is refused before any parsing (no barcode holds more than ~7 kB
#: and none of ours more than a URI).
MAX_SCAN_LENGTH = 4096

# Display names of the symbologies; GS1 ones first (they carry FNC1 in first position).
_GS1_SYMBOLOGY_NAMES = {
    GS1Symbology.EAN_13: "EAN-13",
    GS1Symbology.EAN_13_WITH_ADD_ON: "EAN-13",
    GS1Symbology.EAN_TWO_DIGIT_ADD_ON: "EAN-2",
    GS1Symbology.EAN_FIVE_DIGIT_ADD_ON: "EAN-5",
    GS1Symbology.EAN_8: "EAN-8",
    GS1Symbology.ITF_14: "ITF-14",
    GS1Symbology.GS1_128: "GS1-128",
    GS1Symbology.GS1_DATABAR: "GS1 DataBar",
    GS1Symbology.GS1_COMPOSITE_WITH_SEPARATOR_CHAR: "GS1 Composite",
    GS1Symbology.GS1_COMPOSITE_WITH_ESCAPE_CHAR: "GS1 Composite",
    GS1Symbology.GS1_DATAMATRIX: "GS1 DataMatrix",
    GS1Symbology.GS1_QR_CODE: "GS1 QR",
    GS1Symbology.GS1_DOTCODE: "GS1 DotCode",
}
# biip (5.2) lacks the AIM code character "J" (DotCode, AIM ISS DotCode §6.2) and
# names no GS1 Aztec: these identifiers are read here. Modifier "1" of both is FNC1
# in first position, i.e. GS1 element strings.
_LOCAL_SYMBOLOGY_IDS: dict[str, tuple[str, GS1Symbology | None]] = {
    "]J0": ("DotCode", None),
    "]J1": ("GS1 DotCode", GS1Symbology.GS1_DOTCODE),
    "]J2": ("DotCode", None),
    "]J3": ("DotCode", None),
    "]J4": ("DotCode", None),
    "]J5": ("DotCode", None),
    "]J6": ("DotCode", None),
    "]z1": ("GS1 Aztec", None),
}
# Identifiers whose data is a GS1 element string (FNC1 in first position).
_GS1_MESSAGE_IDS = frozenset(
    {f"]{g.value}" for g in GS1Symbology.with_gs1_messages()} | {"]e1", "]e2", "]z1"}
)
_ISO_SYMBOLOGY_NAMES = {
    ISOSymbology.CODE_128: "Code 128",
    ISOSymbology.CODE_39: "Code 39",
    ISOSymbology.EAN_UPC: "EAN/UPC",
    ISOSymbology.ITF: "ITF",
    ISOSymbology.PDF417: "PDF417",
    ISOSymbology.QR_CODE: "QR",
    ISOSymbology.DATA_MATRIX: "DataMatrix",
    ISOSymbology.AZTEC_CODE: "Aztec",
    ISOSymbology.RSS_EAN_UCC_COMPOSITE: "GS1 DataBar",
}
# Names inferred from the data alone, when neither an identifier nor a decoder said.
# Plain digits without an identifier: 8 digits are read as EAN-8 (a GTIN-8),
# never as UPC-E, which only an ]E0/]E3 identifier announces.
_PLAIN_GTIN_NAMES = {8: "EAN-8", 12: "UPC-A", 13: "EAN-13"}
# biip's date check is off: dates and times are checked by scanners.ai_rules, the
# same rules for every form (biip also reads 7007's second date as a time).
_BIIP = ParseConfig(gs1_element_strings_verify_date=False)

_EPC_SGTIN = re.compile(r"^urn:epc:id:sgtin:(\d{6,12})\.(\d{1,7})\.(.+)$")
_EPC_SSCC = re.compile(r"^urn:epc:id:sscc:(\d{6,12})\.(\d{5,11})$")
_DIGITS = re.compile(r"^[0-9]+$")


class ScanParseError(ValueError):
    """A scan that identifies nothing; ``reason`` says why, ``text`` is what was read."""

    def __init__(self, reason: str, text: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.text = text

    @property
    def reason_id(self) -> str:
        """The id of ``reason`` in :data:`scanners.reasons.REASON_TEMPLATES`, or ``""``
        for a reason of a shape without one (:func:`scanners.reasons.reason_of`)."""
        said = reason_of(self.reason)
        return said[0] if said is not None else ""

    @property
    def values(self) -> dict[str, str]:
        """The named parts of ``reason`` that fill its id's English (AI numbers,
        digits, the scanned data); empty when it has no id."""
        said = reason_of(self.reason)
        return said[1] if said is not None else {}


@dataclass(frozen=True, slots=True)
class ScanResult:
    """What one scanned code says.

    ``key`` is the canonical unit key (``01/{gtin14}/21/{serial}`` or
    ``00/{sscc18}``) when the code identifies one unit or logistic unit; a product
    code without a serial (a plain EAN-13, or AI 01 alone) parses fine with
    ``key=None``. ``error`` is set (and ``key`` is None) when the input is not a
    valid code, e.g. a wrong check digit, an unknown AI or a truncated string.
    """

    text: str
    symbology: str | None = None
    key: str | None = None
    ais: dict[str, str] = field(default_factory=dict, hash=False)
    gtin: str | None = None
    serial: str | None = None
    sscc: str | None = None
    error: str | None = None
    #: what the data was: ``element_string``, ``hri``, ``digital_link``, ``gtin``,
    #: ``sscc`` or ``epc_urn``; None when unreadable.
    data_format: str | None = None
    #: the ISO/IEC 15424 symbology identifier that came with the data, e.g. ``]d2``
    symbology_id: str | None = None
    #: the 2- or 5-digit EAN/UPC add-on read with the main symbol (``]E3``, or an
    #: ``]E1``/``]E2`` packet), e.g. ``"51299"``; never part of ``gtin``
    addon: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def reason_id(self) -> str:
        """The id of ``error`` in :data:`scanners.reasons.REASON_TEMPLATES` (pages say
        it in the reader's language from the id and :attr:`reason_values`), or ``""``
        when the code parsed or its reason has a shape without an id."""
        said = reason_of(self.error)
        return said[0] if said is not None else ""

    @property
    def reason_values(self) -> dict[str, str]:
        """The named parts of ``error`` (``{"name": "GTIN", "digit": "3", ...}``):
        ``REASON_TEMPLATES[reason_id] % reason_values == error``; empty without an id."""
        said = reason_of(self.error)
        return said[1] if said is not None else {}

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict; ``error`` only when set."""
        out: dict[str, Any] = {
            "symbology": self.symbology,
            "symbology_id": self.symbology_id,
            "format": self.data_format,
            "text": self.text,
            "key": self.key,
            "ais": dict(self.ais),
            "gtin": self.gtin,
            "serial": self.serial,
            "sscc": self.sscc,
            "addon": self.addon,
        }
        if self.error is not None:
            out["error"] = self.error
        return out


def parse_or_raise(raw: str | bytes, *, symbology: str | None = None) -> ScanResult:
    """Like :func:`parse` but raise :class:`ScanParseError` when the input is invalid."""
    result = parse(raw, symbology=symbology)
    if result.error is not None:
        raise ScanParseError(result.error, result.text)
    return result


def parse(raw: str | bytes, *, symbology: str | None = None) -> ScanResult:
    """Parse one scan. Never raises: invalid input gives a result with ``error``.

    ``symbology`` is a hint from the decoder that read the code (e.g. ``"QR"``),
    used for the result's ``symbology`` when the data carries no identifier.
    """
    text = _to_text(raw)
    try:
        return _parse(text, symbology)
    except Exception as exc:  # a guard against bugs in third-party parsers
        return ScanResult(text=text, symbology=symbology, error=f"unreadable code: {exc!r}")


def _to_text(raw: str | bytes) -> str:
    if isinstance(raw, bytes | bytearray):
        try:
            return bytes(raw).decode("utf-8")
        except UnicodeDecodeError:
            return bytes(raw).decode("latin-1")
    return str(raw)


# The forms nearly every scan takes, read without biip (which costs ~0.2 ms a code,
# as much as appending the hop): GS1 Digital Link, bracketed HRI and element strings
# of a GTIN + plain serial or of an SSCC. Anything else, and any check digit that
# does not add up, takes the general path, so the answers are the same either way.
# The Digital Link forms (no stem, no query, /01/{14}/21/{alnum} or /00/{18}) are
# ones the full grammar of scanners.digital_link accepts with the same AIs.
_SERIAL = r"[0-9A-Za-z]{1,20}"
_COMMON_FORMS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(rf"^https?://[A-Za-z0-9.-]+(?::[0-9]+)?/01/([0-9]{{14}})/21/({_SERIAL})$"), "digital_link"),
    (re.compile(r"^https?://[A-Za-z0-9.-]+(?::[0-9]+)?/00/([0-9]{18})$"), "digital_link"),
    (re.compile(rf"^\(01\)([0-9]{{14}})\(21\)({_SERIAL})$"), "hri"),
    (re.compile(r"^\(00\)([0-9]{18})$"), "hri"),
    (re.compile(rf"^01([0-9]{{14}})\x1d?21({_SERIAL})$"), "element_string"),
)  # fmt: skip
_WITH_GTIN = frozenset(GS1Symbology.with_gtin())
_EAN_UPC = frozenset({GS1Symbology.EAN_13, GS1Symbology.EAN_13_WITH_ADD_ON, GS1Symbology.EAN_8})
_ADD_ONS = {GS1Symbology.EAN_TWO_DIGIT_ADD_ON: 2, GS1Symbology.EAN_FIVE_DIGIT_ADD_ON: 5}
# An add-on sent as its own packet after the main one: "9780735200449]E251299".
_ADD_ON_PACKET = re.compile(r"^([0-9]+)\s*\](E[12])\s*([0-9]+)$")
# ]E3 data without a separator: total length -> length of the main symbol's data
# (13: EAN-13, or UPC-A sent as 13 digits; 12: UPC-A as printed; 8: UPC-E, since
# ]E3 is EAN-13/UPC-A/UPC-E with add-on and EAN-8 takes none, ISO/IEC 15424).
_E3_MAIN_LENGTH = {15: 13, 18: 13, 14: 12, 17: 12, 10: 8, 13: 8}


def _common_form(body: str) -> tuple[str, dict[str, str]] | None:
    """(format, AIs) of a scan in one of :data:`_COMMON_FORMS` with valid check
    digits, else None."""
    for pattern, fmt in _COMMON_FORMS:
        m = pattern.match(body)
        if m is None:
            continue
        digits = m.group(1)
        try:
            if len(digits) == 18:
                return fmt, {"00": validate_sscc18(digits)}
            return fmt, {"01": validate_gtin14(digits), "21": m.group(2)}
        except InvalidIdentifierError:
            return None
    return None


def _parse(text: str, hint: str | None, *, fast: bool = True) -> ScanResult:
    def fail(reason: str, name: str | None = hint, sid: str | None = None) -> ScanResult:
        return ScanResult(text=text, symbology=name, error=reason, symbology_id=sid)

    if len(text) > MAX_SCAN_LENGTH:
        return fail(f"scan is {len(text)} characters long, more than {MAX_SCAN_LENGTH}")
    # Keyboard-wedge scanners add CR/LF; a leading or trailing GS (FNC1) carries nothing.
    body = text.strip()
    if not body:
        return fail("empty scan")

    sid_value: str | None = None
    gs1: GS1Symbology | None = None
    name = hint
    if body.startswith("]"):
        read = _read_symbology_id(body)
        if isinstance(read, str):
            return fail(read)
        sid_value, sid_name, gs1 = read
        body = body[len(sid_value) :].strip()
        name = sid_name or hint
        if not body:
            return fail(f"no data after symbology identifier {sid_value}", name, sid_value)

    def done(fmt: str, ais: dict[str, str], display: str | None = name) -> ScanResult:
        return _identify(text, display, sid_value, fmt, ais)

    if fast and gs1 not in _WITH_GTIN:
        common = _common_form(body)
        if common is not None:
            fmt, ais = common
            return done(fmt, ais, (name or "Digital Link") if fmt == "digital_link" else name)

    lowered = body[:8].lower()
    if lowered.startswith(("http://", "https://")):
        try:
            link = parse_digital_link(body)
        except DigitalLinkError as exc:
            return fail(f"not a valid GS1 Digital Link URI: {exc}", name, sid_value)
        why = _as_element_string_error(link.ais)
        if why is not None:
            return fail(f"not a valid GS1 Digital Link URI: {why}", name, sid_value)
        return done("digital_link", link.ais, name or "Digital Link")
    if body.startswith("urn:epc:id:"):
        return _parse_epc_urn(text, body, name, sid_value)
    if body.startswith("("):
        return _parse_hri(text, body, name, sid_value)

    if gs1 in _EAN_UPC or gs1 in _ADD_ONS:
        return _parse_ean_upc(text, body, name, sid_value, gs1)
    if gs1 in GS1Symbology.with_gtin():
        return _parse_plain_gtin(text, body, name, sid_value)
    if sid_value not in _GS1_MESSAGE_IDS and gs1 is None and _DIGITS.match(body):
        if len(body) in (8, 12, 13, 14):
            plain = _parse_plain_gtin(text, body, name or _PLAIN_GTIN_NAMES.get(len(body)), None)
            if plain.error is None or not _is_element_string(body):
                return plain
        if len(body) == 18:
            try:
                sscc = Sscc.parse(body)
            except ParseError as exc:
                return fail(str(exc), name, sid_value)
            return done("sscc", {"00": sscc.value})
    try:
        message = GS1Message.parse(body, config=_BIIP)
    except ParseError as exc:
        return fail(f"not a GS1 element string: {_in_words(exc)}", name, sid_value)
    if not message.element_strings:
        return fail("no GS1 application identifiers found", name, sid_value)
    return done("element_string", _ais(message.element_strings))


_BIIP_MISMATCH = re.compile(
    r"Failed to match '(?P<data>[^']*)' with GS1 AI \((?P<ai>\d{2,4})\) pattern"
)


def _in_words(exc: ParseError) -> str:
    """biip's reason, with a format mismatch ("Failed to match ... pattern '^11(...)$'")
    said as the Digital Link reader says it (:func:`scanners.digital_link.format_mismatch`)."""
    found = _BIIP_MISMATCH.search(str(exc))
    if found is None:
        return str(exc)
    ai, data = found["ai"], found["data"]
    return format_mismatch(ai, data.removeprefix(ai))


def _as_element_string_error(ais: dict[str, str]) -> str | None:
    """Why the AIs of a Digital Link would be refused as an element string, or
    None: the URI's AIs are written as one element string (FNC1 after each value)
    and read back by the element-string parser, so both forms meet the same format
    rules (the value rules of :mod:`scanners.ai_rules` run on both in
    :func:`_identify`)."""
    body = "".join(f"{ai}{value}\x1d" for ai, value in ais.items())
    try:
        message = GS1Message.parse(body, config=_BIIP)
    except ParseError as exc:
        return _in_words(exc)
    if _ais(message.element_strings) != ais:
        return f"its AIs {ais} read back as element strings {_ais(message.element_strings)}"
    return None


def _is_element_string(body: str) -> bool:
    try:
        return bool(GS1Message.parse(body, config=_BIIP).element_strings)
    except ParseError:
        return False


def _read_symbology_id(body: str) -> tuple[str, str | None, GS1Symbology | None] | str:
    """(identifier, display name, GS1 symbology) of the ISO/IEC 15424 identifier
    that starts ``body``, or the reason it is not one (naming it)."""
    head = body[:3]
    if head in _LOCAL_SYMBOLOGY_IDS:
        local_name, local_gs1 = _LOCAL_SYMBOLOGY_IDS[head]
        return head, local_name, local_gs1
    try:
        sid = SymbologyIdentifier.extract(body)
    except (ParseError, IndexError, ValueError):
        return (
            f"unknown symbology identifier {head!r}: not an ISO/IEC 15424 code "
            "character and modifier (e.g. ]C1, ]d2, ]Q3, ]J1, ]e0, ]E0)"
        )
    if len(sid.value) < 3 or not sid.modifiers.isalnum():
        return f"truncated symbology identifier {sid.value!r}: a modifier character must follow"
    return sid.value, _symbology_name(sid), sid.gs1_symbology


def _symbology_name(sid: SymbologyIdentifier) -> str | None:
    if sid.gs1_symbology is not None:
        return _GS1_SYMBOLOGY_NAMES.get(sid.gs1_symbology)
    return _ISO_SYMBOLOGY_NAMES.get(sid.iso_symbology, sid.iso_symbology.name.replace("_", " "))


def _ais(element_strings: GS1ElementStrings) -> dict[str, str]:
    return {es.ai.ai: es.value for es in element_strings}


def _parse_hri(text: str, body: str, name: str | None, sid: str | None) -> ScanResult:
    try:
        message = GS1Message.parse_hri(body, config=_BIIP)
    except ParseError as exc:
        return ScanResult(text=text, symbology=name, symbology_id=sid, error=_in_words(exc))
    # biip skips an AI with no data, e.g. a truncated "(01)…(21)": refuse instead.
    rebuilt = "".join(f"({es.ai.ai}){es.value}" for es in message.element_strings)
    if rebuilt != "".join(body.split()):
        return ScanResult(
            text=text,
            symbology=name,
            symbology_id=sid,
            error=f"bracketed GS1 string {body!r} is truncated or malformed (read {rebuilt!r})",
        )
    return _identify(text, name, sid, "hri", _ais(message.element_strings))


def _parse_ean_upc(
    text: str, body: str, name: str | None, sid: str | None, gs1: GS1Symbology | None
) -> ScanResult:
    """EAN/UPC packets (ISO/IEC 15420): the main symbol's GTIN, with its 2- or
    5-digit add-on split off into ``addon`` (]E3, or an ]E1/]E2 packet after an
    ]E0 one). An add-on packet alone identifies nothing and is an error.

    ISO/IEC 15424: ]E0 and ]E3 carry EAN-13, UPC-A or UPC-E, so 8 digits there
    are a UPC-E, expanded to its UPC-A (biip.upc) for the GTIN; ]E4 is EAN-8,
    which is 8 digits and takes no add-on."""
    if gs1 in _ADD_ONS:
        size = _ADD_ONS[gs1]
        ok = len(body) == size and body.isdigit()
        why = "" if ok else f" (it must be {size} digits, got {body!r})"
        return ScanResult(
            text=text,
            symbology=name,
            symbology_id=sid,
            addon=body if ok else None,
            error=(
                f"{sid} is a {size}-digit EAN/UPC add-on alone{why}: it identifies no "
                "product without the EAN-13/UPC-A symbol it belongs to"
            ),
        )
    main, addon, addon_id = body, None, ""
    packet = _ADD_ON_PACKET.match(body)
    if packet is not None:
        main, addon_id, addon = packet.groups()
        size = 2 if addon_id == "E1" else 5
        if len(addon) != size:
            return _fail_addon(
                text, name, sid, f"]{addon_id} add-on must be {size} digits, got {addon!r}"
            )
    elif gs1 is GS1Symbology.EAN_13_WITH_ADD_ON:
        parts = body.split()
        if len(parts) == 2 and all(p.isdigit() for p in parts):
            main, addon = parts
        elif body.isdigit() and len(body) in _E3_MAIN_LENGTH:
            cut = _E3_MAIN_LENGTH[len(body)]
            main, addon = body[:cut], body[cut:]
        else:
            return _fail_addon(
                text,
                name,
                sid,
                f"]E3 data {body!r} is not an EAN-13/UPC-A (13 or 12 digits) or "
                "EAN-8/UPC-E (8 digits) followed by a 2- or 5-digit add-on",
            )
        if len(addon) not in (2, 5):
            return _fail_addon(text, name, sid, f"add-on must be 2 or 5 digits, got {addon!r}")
    if gs1 is GS1Symbology.EAN_8:
        if addon is not None:
            return _fail_addon(
                text, name, sid, f"]E4 is EAN-8, which takes no add-on (got ]{addon_id} {addon})"
            )
        if len(main) != 8:
            return _fail_addon(
                text, name, sid, f"]E4 is EAN-8: its data is 8 digits, got {len(main)} ({main!r})"
            )
    if gs1 in (GS1Symbology.EAN_13, GS1Symbology.EAN_13_WITH_ADD_ON) and len(main) == 8:
        result = _parse_upc_e(text, main, sid)
    else:
        result = _parse_plain_gtin(text, main, name, sid)
    if addon is None:
        return result
    return replace(result, addon=addon)


def _parse_upc_e(text: str, body: str, sid: str | None) -> ScanResult:
    """An 8-digit UPC-E (number system 0 or 1, 6 digits, check digit) expanded
    to UPC-A by biip (GS1 General Specifications §5.2.2.4.2) for its GTIN-14."""
    try:
        upc = Upc.parse(body)
    except ParseError as exc:
        return ScanResult(text=text, symbology="UPC-E", symbology_id=sid, error=str(exc))
    return _identify(text, "UPC-E", sid, "gtin", {"01": upc.as_gtin_14()})


def _fail_addon(text: str, name: str | None, sid: str | None, reason: str) -> ScanResult:
    return ScanResult(text=text, symbology=name, symbology_id=sid, error=reason)


def _parse_plain_gtin(text: str, body: str, name: str | None, sid: str | None) -> ScanResult:
    try:
        gtin = Gtin.parse(body)
    except ParseError as exc:
        return ScanResult(text=text, symbology=name, symbology_id=sid, error=str(exc))
    return _identify(text, name, sid, "gtin", {"01": gtin.as_gtin_14()})


def _parse_epc_urn(text: str, body: str, name: str | None, sid: str | None) -> ScanResult:
    """EPC Tag Data Standard pure identities: SGTIN and SSCC only."""
    m = _EPC_SGTIN.match(body)
    if m and len(m.group(1)) + len(m.group(2)) == 13:
        prefix, item_ref, serial = m.groups()
        base = item_ref[0] + prefix + item_ref[1:]
        gtin = base + str(gs1_check_digit(base))
        return _identify(text, name, sid, "epc_urn", {"01": gtin, "21": _unescape_epc(serial)})
    m = _EPC_SSCC.match(body)
    if m and len(m.group(1)) + len(m.group(2)) == 17:
        prefix, serial_ref = m.groups()
        base = serial_ref[0] + prefix + serial_ref[1:]
        return _identify(text, name, sid, "epc_urn", {"00": base + str(gs1_check_digit(base))})
    return ScanResult(
        text=text,
        symbology=name,
        symbology_id=sid,
        error=(
            f"EPC URN {body!r} is neither urn:epc:id:sgtin:<company>.<item>.<serial> "
            "nor urn:epc:id:sscc:<company>.<serial ref> with 13 / 17 digits"
        ),
    )


def _unescape_epc(serial: str) -> str:
    """EPC URNs percent-escape some GS1 characters (TDS §6.4)."""
    return re.sub(r"%([0-9A-Fa-f]{2})", lambda m: chr(int(m.group(1), 16)), serial)


def _identify(
    text: str, name: str | None, sid: str | None, fmt: str, ais: dict[str, str]
) -> ScanResult:
    """Validate the identifying AIs with :mod:`ledger.ids` and build the key."""
    gtin = serial = sscc = key = None
    try:
        for ai, value in ais.items():
            # 00 and 01 are checked by ledger.ids below, in the ledger's words; every
            # other AI by its check digit and GS1 Syntax Dictionary value rules.
            if ai not in ("00", "01") and (why := ai_value_error(ai, value)) is not None:
                raise InvalidIdentifierError(why)
        if "00" in ais:
            sscc = validate_sscc18(ais["00"])
            key = sscc_key(sscc)
        if "01" in ais:
            gtin = validate_gtin14(ais["01"])
        if "21" in ais:
            serial = ais["21"]
            if gtin is None:
                raise InvalidIdentifierError(f"serial (21) {serial!r} without a GTIN (01)")
            if key is None:
                key = unit_key(gtin, serial)
    except InvalidIdentifierError as exc:
        return ScanResult(
            text=text,
            symbology=name,
            ais=ais,
            error=str(exc),
            data_format=fmt,
            symbology_id=sid,
        )
    return ScanResult(
        text=text,
        symbology=name,
        key=key,
        ais=ais,
        gtin=gtin,
        serial=serial,
        sscc=sscc,
        data_format=fmt,
        symbology_id=sid,
    )
