"""GS1 Digital Link URIs read by the standard's grammar: :func:`parse_digital_link`.

The grammar is that of *GS1 Digital Link: URI Syntax* 1.2 (its ABNF, rules
``customURIstem``, ``gs1path``, ``queryStringComp``), with the key/qualifier
table of the GS1 Barcode Syntax Dictionary (the ``dlpkey`` attributes) and the
checks of GS1's reference parser (GS1 Barcode Syntax Engine, ``dl.c``)::

    uri        = scheme "://" host [":" port] stem gs1path ["?" query] ["#" fragment]
    scheme     = "http" / "https"                       ; any letter case (RFC 3986 §3.1)
    stem       = *( "/" segment )                       ; custom path prefix, may be empty
    gs1path    = "/" key "/" value *( "/" qualifier "/" value )
    query      = param *( ("&" / ";") param )

- **Host**: any domain name, IPv4 address or ``[IPv6]`` literal, optional port;
  no user information.
- **Stem** (custom path prefix): any non-empty segments before the primary key,
  except that no stem segment may read as GS1 data: a segment that *is* an AI
  code (``21``, ``10``, ``17`` ...) or a convenience alpha (``gtin``, ``ser``
  ...) is refused, naming it. The reference engine instead takes the rightmost
  primary key and calls everything before it the stem, which would read
  ``/21/XYZ789/01/09506000134352`` as stem ``/21/XYZ789`` and a bare GTIN: the
  serial would be silently lost. Here the first AI segment must be the primary
  key.
- **Primary key**: exactly one, from :data:`KEY_QUALIFIERS`; then only its key
  qualifiers, each at most once, in the order the standard fixes (e.g. 01 →
  22, 10, 21 or 235 alone). A qualifier before its key, a qualifier of another
  key, a second primary key, a repeated or out-of-order qualifier and a data
  attribute in the path are refused, naming the segment.
- **Query**: a parameter whose name is all digits is an AI and a data
  attribute: it must be a known AI, appear once (path included), not be the
  URI's own primary key nor a qualifier that belongs in its path, and its value
  must match the AI's format, check digit and value rules. Other parameters
  (``linkType``, ``context`` ...) are kept in :attr:`DigitalLink.other_params`
  and otherwise ignored, as the standard says. The ABNF lists the other identification keys
  (``414=``, ``8018=`` ...) among the query parameters, so they are accepted as
  attributes and checked.
- **Values** are percent-decoded (``%2F`` is a ``/`` in a serial; ``+`` is a
  space in the query), then checked against the AI's character set, length,
  check digit and the value rules of :mod:`scanners.ai_rules` (dates, times,
  country codes, IBAN ...), exactly as in an element string. A GTIN of 8, 12
  or 13 digits (ABNF ``gtin-value``) is padded to 14.
- **Convenience alphas** (``/gtin/``, ``/ser/`` ...) were deprecated by URI
  Syntax 1.2 and are refused in the path with the numeric AI to write instead;
  in the query they are non-numeric names and so ignored.

Only uncompressed URIs are read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from biip import ParseError
from biip.gs1_application_identifiers import GS1ApplicationIdentifier

from ledger.ids import InvalidIdentifierError, validate_gtin14, validate_sscc18
from scanners.ai_rules import ai_value_error
from scanners.check_digits import ai_title
from scanners.reasons import reason_of

__all__ = [
    "CONVENIENCE_ALPHAS",
    "KEY_QUALIFIERS",
    "DigitalLink",
    "DigitalLinkError",
    "format_mismatch",
    "parse_digital_link",
]

#: Primary key AI -> the alternative ordered sequences of key qualifiers that may
#: follow it in the path (any in-order subset of one alternative). From the
#: ``dlpkey`` attributes of the GS1 Barcode Syntax Dictionary and the ``gs1path``
#: rules of the URI Syntax 1.2 ABNF (``upui-path``: 01 + 235; ``eoid-path``,
#: ``fid-path``, ``mid-path``: 417, 414, 8004 + 7040).
KEY_QUALIFIERS: dict[str, tuple[tuple[str, ...], ...]] = {
    "00": (),  # SSCC
    "01": (("22", "10", "21"), ("235",)),  # GTIN
    "253": (),  # GDTI
    "255": (),  # GCN
    "401": (),  # GINC
    "402": (),  # GSIN
    "414": (("254",), ("7040",)),  # LOC No. (GLN of a physical location)
    "415": (("8020",),),  # PAY TO (GLN of the invoicing party)
    "417": (("7040",),),  # PARTY (GLN)
    "8003": (),  # GRAI
    "8004": (("7040",),),  # GIAI
    "8006": (("22", "10", "21"),),  # ITIP
    "8010": (("8011",),),  # CPID
    "8013": (),  # GMN
    "8017": (("8019",),),  # GSRN - provider
    "8018": (("8019",),),  # GSRN - recipient
}

#: Deprecated short names of URI Syntax 1.0/1.1 -> their AI (refused in the path).
CONVENIENCE_ALPHAS: dict[str, str] = {
    "cpid": "8010",
    "cpsn": "8011",
    "cpv": "22",
    "gcn": "255",
    "gdti": "253",
    "giai": "8004",
    "ginc": "401",
    "gln": "414",
    "glnx": "254",
    "gmn": "8013",
    "grai": "8003",
    "gsin": "402",
    "gsrn": "8018",
    "gsrnp": "8017",
    "gtin": "01",
    "itip": "8006",
    "lot": "10",
    "party": "417",
    "refno": "8020",
    "ser": "21",
    "srin": "8019",
    "sscc": "00",
}

# Every qualifier AI -> the primary keys it qualifies.
_QUALIFIER_OF: dict[str, tuple[str, ...]] = {}
for _key, _alternatives in KEY_QUALIFIERS.items():
    for _qualifier in sorted({q for alt in _alternatives for q in alt}):
        _QUALIFIER_OF[_qualifier] = (*_QUALIFIER_OF.get(_qualifier, ()), _key)

# RFC 3986 characters: unreserved, reserved and "%" (of percent-encoding).
_URI_CHARS = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~:/?#[]@!$&'()*+,;=%"
)
_SCHEME = re.compile(r"^(https?)://", re.IGNORECASE)
# A DNS name or IPv4 address (letters, digits, "." and "-", as GS1's engine
# allows), or an IPv6 literal; then an optional port (ABNF ``port = *DIGIT``).
_HOST = re.compile(r"^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]*)?$")
_PCT = re.compile(r"%(?![0-9A-Fa-f]{2})")


class DigitalLinkError(ValueError):
    """A URI that breaks the GS1 Digital Link grammar.

    ``component`` names the part at fault in words (``"path segment 3 '21'"``,
    ``"query parameter 17"``, ``"host"`` ...); ``reason`` says what is wrong.
    ``str(error)`` is ``"{component}: {reason}"``.
    """

    def __init__(self, component: str, reason: str) -> None:
        super().__init__(f"{component}: {reason}")
        self.component = component
        self.reason = reason

    @property
    def reason_id(self) -> str:
        """The id of ``str(error)`` in :data:`scanners.reasons.REASON_TEMPLATES`
        (``link_ai_value``: a path segment's AI value is wrong), or ``""`` for a
        reason of a shape without one."""
        said = reason_of(str(self))
        return said[0] if said is not None else ""

    @property
    def values(self) -> dict[str, str]:
        """The named parts of ``str(error)`` filling its id's English; empty without an id."""
        said = reason_of(str(self))
        return said[1] if said is not None else {}


@dataclass(frozen=True, slots=True)
class DigitalLink:
    """A GS1 Digital Link URI that follows the grammar, its values decoded.

    ``path_ais`` is the primary key then its qualifiers in path order;
    ``attributes`` the AI query parameters in the order given; ``other_params``
    the non-AI query parameters (``linkType`` ...), names and values decoded.
    """

    uri: str
    scheme: str
    host: str
    stem: str
    primary_key: str
    path_ais: tuple[tuple[str, str], ...]
    attributes: tuple[tuple[str, str], ...]
    other_params: tuple[tuple[str, str], ...]

    @property
    def ais(self) -> dict[str, str]:
        """Every AI of the URI, path first: ``{"01": "0950…", "21": "S1", "17": "271231"}``."""
        return dict(self.path_ais + self.attributes)


def parse_digital_link(uri: str) -> DigitalLink:
    """Read ``uri`` by the GS1 Digital Link URI Syntax 1.2 grammar (see the module
    docstring for the rules applied).

    Returns a :class:`DigitalLink`; raises :class:`DigitalLinkError` naming the
    part at fault (host, path segment, AI, query parameter) and why.
    """
    for i, char in enumerate(uri):
        if char not in _URI_CHARS:
            raise DigitalLinkError(
                "URI",
                f"character {char!r} at position {i + 1} may not appear in a URI "
                "(RFC 3986); percent-encode it",
            )
    m = _SCHEME.match(uri)
    if m is None:
        raise DigitalLinkError("scheme", "a GS1 Digital Link URI starts with http:// or https://")
    rest = uri[m.end() :]
    rest, _, _fragment = rest.partition("#")
    rest, has_query, query = rest.partition("?")
    slash = rest.find("/")
    host, path = (rest, "") if slash < 0 else (rest[:slash], rest[slash:])
    if not host:
        raise DigitalLinkError("host", "is missing")
    if not _HOST.match(host):
        raise DigitalLinkError(
            "host",
            f"{host!r} is not a domain name, IPv4 address or [IPv6] literal with an optional port",
        )
    stem, key, path_ais = _read_path(path)
    attributes, other = _read_query(query if has_query else "", key, path_ais)
    return DigitalLink(
        uri=uri,
        scheme=m.group(1).lower(),
        host=host,
        stem=stem,
        primary_key=key,
        path_ais=path_ais,
        attributes=attributes,
        other_params=other,
    )


def _read_path(path: str) -> tuple[str, str, tuple[tuple[str, str], ...]]:
    """(stem, primary key AI, path AIs) of the path, or DigitalLinkError."""
    segments = path.split("/")[1:] if path else []
    for i, segment in enumerate(segments):
        if not segment:
            raise DigitalLinkError(
                f"path segment {i + 1}",
                "empty segment (two '/' in a row, or a '/' at the end of the path)",
            )
    start = None
    for i, segment in enumerate(segments):
        where = f"path segment {i + 1} {segment!r}"
        _refuse_alpha(where, segment)
        if _known_ai(segment) is None:
            continue  # part of the custom stem
        if segment in KEY_QUALIFIERS:
            start = i
            break
        if segment in _QUALIFIER_OF:
            raise DigitalLinkError(
                where,
                f"{_label(segment)} is a key qualifier of {_keys(_QUALIFIER_OF[segment])}: it "
                "may only follow its primary key in the path, never come before it",
            )
        raise DigitalLinkError(where, _attribute_in_path(segment))
    if start is None:
        raise DigitalLinkError(
            "path",
            f"{path or '/'!r} holds no GS1 primary key: a Digital Link path names a primary "
            "identifier (01 GTIN, 00 SSCC, 414 GLN ...) followed by its value",
        )
    pairs = segments[start:]
    if len(pairs) % 2:
        last = pairs[-1]
        raise DigitalLinkError(
            f"path segment {len(segments)} {last!r}",
            f"{_label(last) if _known_ai(last) else repr(last)} has no value after it: AI "
            "and value segments come in pairs (an even number of path segments after the "
            "stem)",
        )
    key = pairs[0]
    alternatives = KEY_QUALIFIERS[key]
    order = " or ".join(", ".join(alt) for alt in alternatives)
    seen: list[str] = []
    path_ais: list[tuple[str, str]] = []
    for j in range(0, len(pairs), 2):
        code, raw = pairs[j], pairs[j + 1]
        where = f"path segment {start + j + 1} {code!r}"
        if j:
            _refuse_alpha(where, code)
            if _known_ai(code) is None:
                raise DigitalLinkError(
                    where,
                    f"is not a GS1 Application Identifier: after the primary key {_label(key)} "
                    "the path holds only its key qualifiers"
                    + (f" ({order})" if alternatives else ", and it has none"),
                )
            if code in KEY_QUALIFIERS:
                raise DigitalLinkError(
                    where,
                    f"a second primary key {_label(code)} after {_label(key)}: a Digital Link "
                    "has exactly one",
                )
            if code in seen:
                raise DigitalLinkError(where, f"{_label(code)} is repeated")
            if code not in {q for alt in alternatives for q in alt}:
                if code in _QUALIFIER_OF:
                    raise DigitalLinkError(
                        where,
                        f"{_label(code)} qualifies {_keys(_QUALIFIER_OF[code])}, not this URI's "
                        f"primary key {_label(key)}"
                        + (f" (its qualifiers: {order})" if alternatives else " (it has none)"),
                    )
                raise DigitalLinkError(where, _attribute_in_path(code))
            if not _in_order([*seen, code], alternatives):
                raise DigitalLinkError(
                    where,
                    f"{_label(code)} may not follow {_label(seen[-1])}: the key qualifiers of "
                    f"{_label(key)} come in the order {order}",
                )
            seen.append(code)
        value_at = f"path segment {start + j + 2} (value of AI {code})"
        path_ais.append((code, _check_value(value_at, code, _decode(value_at, raw, query=False))))
    stem = "".join(f"/{s}" for s in segments[:start])
    return stem, key, tuple(path_ais)


def _read_query(
    query: str, key: str, path_ais: tuple[tuple[str, str], ...]
) -> tuple[tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]]:
    """(AI attributes, other parameters) of the query string."""
    path_order = [ai for ai, _ in path_ais]
    seen = set(path_order)
    attributes: list[tuple[str, str]] = []
    other: list[tuple[str, str]] = []
    for param in re.split("[&;]", query) if query else []:
        if not param:
            continue
        raw_name, has_value, raw_value = param.partition("=")
        name = _decode(f"query parameter {raw_name!r}", raw_name, query=True)
        if not (name.isascii() and name.isdigit()):
            other.append((name, _decode(f"query parameter {name!r}", raw_value, query=True)))
            continue
        where = f"query parameter {name}"
        if _known_ai(name) is None:
            raise DigitalLinkError(
                where,
                f"{name} is not a GS1 Application Identifier (numeric parameter names are "
                "reserved for AIs)",
            )
        if name == key:
            raise DigitalLinkError(
                where,
                f"{_label(name)} is this URI's primary key: it stands once, in the path",
            )
        if name in seen:
            raise DigitalLinkError(where, f"{_label(name)} is repeated")
        if _fits_path(path_order, name, KEY_QUALIFIERS[key]):
            order = " or ".join(", ".join(alt) for alt in KEY_QUALIFIERS[key])
            raise DigitalLinkError(
                where,
                f"{_label(name)} is a key qualifier of {_label(key)}: it belongs in the path "
                f"after the key (order {order}), not in the query",
            )
        if not has_value or not raw_value:
            raise DigitalLinkError(where, f"{_label(name)} has no value")
        value = _decode(where, raw_value, query=True)
        attributes.append((name, _check_value(where, name, value)))
        seen.add(name)
    return tuple(attributes), tuple(other)


def _in_order(qualifiers: list[str], alternatives: tuple[tuple[str, ...], ...]) -> bool:
    """True when ``qualifiers`` is an in-order subset of one alternative."""
    for alt in alternatives:
        positions = [alt.index(q) if q in alt else -1 for q in qualifiers]
        if -1 not in positions and positions == sorted(set(positions)):
            return True
    return False


def _fits_path(path_order: list[str], ai: str, alternatives: tuple[tuple[str, ...], ...]) -> bool:
    """True when ``ai`` inserted somewhere after the key makes a valid qualifier
    sequence, i.e. it is a qualifier that belongs in this URI's path."""
    qualifiers = path_order[1:]
    return any(
        _in_order([*qualifiers[:i], ai, *qualifiers[i:]], alternatives)
        for i in range(len(qualifiers) + 1)
    )


def _decode(where: str, raw: str, *, query: bool) -> str:
    """Percent-decode ``raw`` (``+`` is a space in the query) as UTF-8."""
    bad = _PCT.search(raw)
    if bad is not None:
        raise DigitalLinkError(
            where,
            f"bad percent-encoding {raw[bad.start() : bad.start() + 3]!r}: '%' must be followed "
            "by two hexadecimal digits",
        )
    if query:
        raw = raw.replace("+", " ")
    data = bytearray()
    i = 0
    while i < len(raw):
        if raw[i] == "%":
            data.append(int(raw[i + 1 : i + 3], 16))
            i += 3
        else:
            data.extend(raw[i].encode("ascii"))
            i += 1
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise DigitalLinkError(where, "percent-encoded bytes are not UTF-8 text") from None


def _check_value(where: str, ai: str, value: str) -> str:
    """The value of ``ai`` checked by its format (biip's AI pattern, as for
    element strings), its check digit and value rules
    (:func:`scanners.ai_rules.ai_value_error`, the same as for element strings),
    a GTIN-8/12/13 padded to 14 digits; or DigitalLinkError naming ``where``."""
    label = _label(ai)
    if not value:
        raise DigitalLinkError(where, f"{label} has no value")
    try:
        if ai == "01":
            return validate_gtin14(value)
        if ai == "00":
            return validate_sscc18(value)
    except InvalidIdentifierError as exc:
        raise DigitalLinkError(where, f"{label}: {exc}") from None
    definition = _known_ai(ai)
    assert definition is not None
    if _value_pattern(ai).fullmatch(value) is None:
        raise DigitalLinkError(where, format_mismatch(ai, value))
    why = ai_value_error(ai, value)
    if why is not None:
        raise DigitalLinkError(where, why)
    return value


def format_mismatch(ai: str, value: str) -> str:
    """In words: ``value`` does not have the format GS1 fixes for ``ai`` (GS1 General
    Specifications §3, e.g. N6 = six digits). One wording for every input form."""
    definition = _known_ai(ai)
    fmt = definition.format.split("+", 1)[-1] if definition is not None else "?"
    return (
        f"{_label(ai)} value {value!r} does not have the AI's format {fmt} (N: digits, "
        "X: GS1 character set 82, then the length)"
    )


@lru_cache(maxsize=1024)
def _known_ai(code: str) -> GS1ApplicationIdentifier | None:
    """The GS1 AI whose code is exactly ``code`` (biip's AI table), else None."""
    if not (2 <= len(code) <= 4 and code.isascii() and code.isdigit()):
        return None
    try:
        found = GS1ApplicationIdentifier.extract(code)
    except ParseError:
        return None
    return found if found.ai == code else None


@lru_cache(maxsize=1024)
def _value_pattern(ai: str) -> re.Pattern[str]:
    """The value part of the AI's pattern (biip's ``^{ai}(...)$``)."""
    definition = _known_ai(ai)
    assert definition is not None
    pattern = definition.pattern
    body = pattern[1 + len(ai) :] if pattern.startswith(f"^{ai}") else pattern.lstrip("^")
    return re.compile(body.rstrip("$"))


def _refuse_alpha(where: str, segment: str) -> None:
    ai = CONVENIENCE_ALPHAS.get(segment)
    if ai is not None:
        raise DigitalLinkError(
            where,
            f"{segment!r} is the convenience alpha of {_label(ai)}, deprecated by GS1 Digital "
            f"Link URI Syntax 1.2: write /{ai}/ instead",
        )


def _attribute_in_path(ai: str) -> str:
    return (
        f"{_label(ai)} is a data attribute, not a key qualifier: it belongs in the query "
        f"(?{ai}=...), not in the path"
    )


def _label(ai: str) -> str:
    return f"AI {ai} ({ai_title(ai)})"


def _keys(keys: tuple[str, ...]) -> str:
    return " and ".join(_label(k) for k in keys)
