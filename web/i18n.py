"""Languages and time zones of the pages (Flask-Babel, gettext catalogues).

The language of a request: the signed-in user's profile (``users.locale``), else
the visitor's choice kept in the session (the switcher on the sign-in page), else
the best match of the browser's ``Accept-Language`` (RFC 9110 §12.5.4) among
:data:`SUPPORTED`, else English. The time zone: the user's ``users.timezone``
(an IANA name), else UTC. Times are stored as UTC milliseconds and shown in it.

Catalogues live in ``web/translations/<locale>/LC_MESSAGES/messages.po``
(``make i18n-extract``, ``make i18n-update``); the ``.mo`` files are built by
``make translations`` (:func:`compile_catalogues`) and never committed.
A new language is a new catalogue plus one entry in :data:`SUPPORTED`.

Template helpers: ``format_money(amount_minor, currency)`` (the amount alone,
exact to the currency's ISO 4217 minor unit, digits as the locale writes them),
``money(amount_minor, currency)`` (with its currency code), ``number`` and
``when`` filters (the latter in the user's time zone).

The engine's texts (statement lines, a program's rules in words, documents) are
written through a :class:`settlement.Words`: :func:`page_words` gives the one of the
request's language, :func:`document_words` the one of a given locale (a party's
documents), both backed by these catalogues.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from babel import Locale
from babel.lists import format_list
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal, parse_pattern
from flask import Flask, g, has_request_context, request, session
from flask_babel import Babel, force_locale, get_locale, get_timezone, get_translations, gettext

import settlement
from ledger import times
from settlement.rules.money import minor_exponent
from web.db import get_session
from web.models import User
from web.security import current_principal, is_api_request

__all__ = [
    "DEFAULT_LOCALE",
    "N_",
    "SUPPORTED",
    "TRANSLATIONS_DIR",
    "Language",
    "compile_catalogues",
    "document_words",
    "format_amount",
    "format_money",
    "format_number",
    "format_when",
    "init_app",
    "is_time_zone",
    "language_names",
    "language_of",
    "page_words",
    "select_locale",
    "select_timezone",
    "time_zones",
]

TRANSLATIONS_DIR = Path(__file__).parent / "translations"
DEFAULT_LOCALE = "en"
_SESSION_KEY = "locale"


@dataclass(frozen=True, slots=True)
class Language:
    code: str  # the Babel locale and the catalogue's folder name
    tag: str  # the primary BCP 47 language subtag browsers send (Accept-Language)
    name: str  # the language's name in itself, as the switcher shows it


#: The languages of the pages. zh is Simplified Chinese (China): ``zh-CN``,
#: ``zh-Hans`` and a bare ``zh`` all choose it (its only Chinese catalogue).
SUPPORTED: tuple[Language, ...] = (
    Language("en", "en", "English"),
    Language("zh_Hans_CN", "zh", "简体中文"),
    Language("es", "es", "Español"),
)


def N_(message: str) -> str:
    """Mark ``message`` for the catalogue (``pybabel extract -k N_``) where it is
    defined; it is translated where it is shown (``gettext(message)``, ``_(label)``)."""
    return message


# Labels defined outside web/ that pages translate with ``_(...)``: the roles'.
_ROLE_LABELS = (
    N_("Administrator"),
    N_("Warehouse"),
    N_("Channel manager"),
    N_("Partner manager"),
    N_("Finance"),
    N_("Distributor"),
    N_("Auditor"),
)

#: Each supported language's name in the reader's language (``_(...)`` where shown).
_LANGUAGE_NAMES = {"en": N_("English"), "zh_Hans_CN": N_("Simplified Chinese"), "es": N_("Spanish")}


def language_names() -> str:
    """The pages' languages named in the request's language, each followed by its
    name in itself: ``"英语（English）、简体中文、西班牙语（Español）"`` in zh."""
    out = []
    for lang in SUPPORTED:
        name = str(gettext(_LANGUAGE_NAMES[lang.code]))
        own = str(gettext("%(name)s (%(own)s)", name=name, own=lang.name))
        out.append(name if name == lang.name else own)
    return format_list(out, style="or", locale=_locale())


_BY_CODE = {lang.code: lang for lang in SUPPORTED}
_BY_TAG = {lang.tag: lang for lang in SUPPORTED}


def language_of(code: str | None) -> Language | None:
    """The supported language of a stored or submitted locale code (``"zh_Hans_CN"``,
    also ``"zh-CN"``, ``"zh"``, ``"es_ES"``); None when none matches."""
    if not code:
        return None
    if code in _BY_CODE:
        return _BY_CODE[code]
    primary = code.replace("-", "_").split("_", 1)[0].lower()
    return _BY_TAG.get(primary)


def _user() -> User | None:
    """The signed-in user's row (once per request), None for visitors and tokens' programs."""
    if "hopchain_i18n_user" not in g:
        principal = current_principal()
        user = None
        if principal is not None and principal.user_id is not None:
            user = get_session().get(User, principal.user_id)
        g.hopchain_i18n_user = user
    found: User | None = g.hopchain_i18n_user
    return found


def select_locale() -> str:
    """The request's locale code: profile, then session, then Accept-Language, then en.

    For the JSON API (``/api/v1``) a supported language in the request's own
    ``Accept-Language`` comes first: a program asks per request."""
    tags = [lang.tag for lang in SUPPORTED]
    if is_api_request() and request.accept_languages:
        asked = request.accept_languages.best_match(tags)
        if asked:
            return _BY_TAG[asked].code
    user = _user()
    for stored in (user.locale if user else None, session.get(_SESSION_KEY)):
        chosen = language_of(stored if isinstance(stored, str) else None)
        if chosen is not None:
            return chosen.code
    best = request.accept_languages.best_match(tags)
    return _BY_TAG[best].code if best else DEFAULT_LOCALE


def select_timezone() -> str:
    """The signed-in user's IANA time zone, else ``"UTC"`` (also for an unknown name)."""
    user = _user()
    name = user.timezone if user else None
    return name if name and is_time_zone(name) else "UTC"


def is_time_zone(name: str) -> bool:
    """Whether ``name`` is an IANA time zone this system knows (``Asia/Shanghai``)."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def time_zones() -> list[str]:
    """Every IANA time zone name (``UTC`` first, then sorted), for the profile form."""
    return ["UTC", *sorted(z for z in available_timezones() if "/" in z)]


def _locale() -> Locale:
    """The request's locale; English outside a request (CLI output stays stable)."""
    if has_request_context():
        found = get_locale()
        if isinstance(found, Locale):
            return found
    return Locale.parse(DEFAULT_LOCALE)


def _zone() -> tzinfo:
    if has_request_context():
        found = get_timezone()
        if isinstance(found, tzinfo):
            return found
    return UTC


def format_number(value: int | Decimal | float) -> str:
    """``1234567`` -> ``"1,234,567"`` (en), ``"1.234.567"`` (es): the locale's grouping."""
    return str(format_decimal(value, locale=_locale()))


def format_amount(amount_minor: int, currency: str) -> str:
    """The amount alone, exact to ``currency``'s ISO 4217 minor unit, digits and
    separators as the locale writes them: ``123456, "EUR"`` -> ``"1,234.56"`` (en),
    ``"1.234,56"`` (es); ``-1500, "JPY"`` -> ``"-1,500"``."""
    exponent = minor_exponent(currency)
    locale = _locale()
    pattern = parse_pattern(locale.decimal_formats[None].pattern)
    pattern.frac_prec = (exponent, exponent)
    return str(pattern.apply(Decimal(amount_minor).scaleb(-exponent), locale))


def format_money(amount_minor: int, currency: str) -> str:
    """The amount with its ISO 4217 code where the locale puts its currency:
    ``"EUR 1,234.56"`` (en, zh), ``"1.234,56 EUR"`` (es)."""
    amount = format_amount(amount_minor, currency)
    code_first = _locale().currency_formats["standard"].pattern.lstrip().startswith("¤")
    return f"{currency} {amount}" if code_first else f"{amount} {currency}"


def _utc_label(moment: datetime) -> str:
    offset = moment.utcoffset() or timedelta(0)
    if not offset:
        return "UTC"
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours:02d}:{rest:02d}"


def format_when(at_ms: int | None, fmt: str = times.DEFAULT_FORMAT) -> str:
    """A stored UTC time in the user's time zone by the ``strftime`` pattern ``fmt``
    (the ``when`` filter): ``"UTC"`` in the pattern becomes the zone's offset
    (``2026-10-01 16:30 UTC+08:00``). Never raises: None gives ``""``, a time no
    calendar holds reads as :func:`ledger.times.format_ms` says, and one that the
    zone would push past year 1 or 9999 is shown in UTC."""
    zone = _zone()
    if at_ms is None or zone in (UTC, ZoneInfo("UTC")) or str(zone) == "UTC":
        return times.format_ms(at_ms, fmt)
    moment = times.to_datetime(int(at_ms))
    if moment is None:
        return times.format_ms(at_ms, fmt)
    try:
        local = moment.astimezone(zone)
    except OverflowError:
        return times.format_ms(at_ms, fmt)
    if not 1 <= local.year <= 9999:  # pragma: no cover - astimezone raises first
        return times.format_ms(at_ms, fmt)
    pattern = fmt.replace("%Y", f"{local.year:04d}").replace("UTC", _utc_label(local))
    return local.strftime(pattern)


def document_words(locale: str) -> settlement.Words:
    """The engine's words in ``locale`` (a supported Babel code, ``"zh_Hans_CN"``) from
    these catalogues, whatever the request's own language: for a party's documents
    (:func:`settlement.statement_pdf` and the other exports, which never import Flask).
    Needs an application context; an unsupported code raises
    :class:`babel.UnknownLocaleError` or reads as English (no catalogue)."""
    with force_locale(locale):
        return _words(locale)


def _words(locale: str) -> settlement.Words:
    t = get_translations()
    return settlement.Words(locale, t.gettext, t.ngettext, t.pgettext)


def page_words() -> settlement.Words:
    """The engine's words in the request's language (:func:`select_locale`), for
    what a page prints from the engine: statement lines, a program's rules. English
    outside a request."""
    if not has_request_context():
        return settlement.Words()
    return _words(str(_locale()))


def _helpers() -> dict[str, Any]:
    return {
        "languages": SUPPORTED,
        "current_language": language_of(str(_locale())) or _BY_CODE[DEFAULT_LOCALE],
        "money": format_money,
    }


def compile_catalogues(directory: Path = TRANSLATIONS_DIR, *, force: bool = False) -> list[Path]:
    """Write ``messages.mo`` beside each ``messages.po`` under ``directory`` that lacks
    one or is older than its ``.po`` (every one with ``force``), as ``pybabel
    compile`` does (fuzzy entries left out). Returns the files written."""
    written = []
    for po_path in sorted(directory.glob("*/LC_MESSAGES/messages.po")):
        mo_path = po_path.with_suffix(".mo")
        if not force and mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        with po_path.open("rb") as source:
            catalog = read_po(source, locale=po_path.parents[1].name)
        partial = mo_path.with_name(f".{mo_path.name}.{os.getpid()}")
        with partial.open("wb") as target:
            write_mo(target, catalog)
        os.replace(partial, mo_path)  # readers (parallel test workers) see whole files
        written.append(mo_path)
    return written


def init_app(app: Flask) -> None:
    """Install Flask-Babel with the selectors above, the template helpers, and
    the ``when`` and ``number`` filters."""
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LOCALE)
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS_DIR))
    Babel(app, locale_selector=select_locale, timezone_selector=select_timezone)
    app.context_processor(_helpers)
    app.add_template_filter(format_when, "when")
    app.add_template_filter(format_number, "number")
    from web.words import value_words, words  # web.words marks its values with this module's N_

    app.add_template_filter(words, "words")
    app.add_template_filter(value_words, "value_words")
    from web.reasons import anomaly_words, reason_words  # marked the same way

    app.add_template_filter(reason_words, "reason_words")
    app.add_template_filter(anomaly_words, "anomaly_words")
    from web.partners.history import actor_words, basis_words, history_line

    app.add_template_filter(history_line, "history")
    app.add_template_filter(actor_words, "actor_words")
    app.add_template_filter(basis_words, "basis_words")
