"""The consumer's page: what a scanned label answers (issue 14), public, no account.

``GET /label/01/<gtin>/21/<serial>`` (``label.verify``, the resolver's default
``gs1:verificationService`` link) shows, in the reader's language, whether the
code is one of ours ("Genuine") or not ("Unknown code", answered 404), the
product's name and picture, the market the unit was shipped for (country and
territories named in the reader's language), how often it was verified, and a
warning when the code may have been copied (:func:`sightings.answer.answer_label`).

- Language: ``?lang=zh`` (or ``en``, ``es``; a full code such as ``zh_Hans_CN``
  is accepted too) chooses it; otherwise the signed-in user's, the session's, then
  the browser's ``Accept-Language`` (:func:`web.i18n.select_locale`). The page's
  links carry the short code (``?lang=zh``).
- What is counted (the tally behind "verified N times" and the copy warning): a
  ``GET`` only (``HEAD`` never), and a client address at most once per code in the
  window ``LABEL_VERIFY_COUNT_WINDOW`` (``limits`` notation, default ``1 per day``),
  kept in the app's limiter storage under a digest of address and code, never in
  the database. A repeat view by the same browser is not counted either: a
  first-party cookie (``hopchain_label_seen``, signed, HttpOnly, path ``/label``)
  lists short digests of the codes it verified lately. The page still answers a
  view it does not count, and says so.
- Rate limits (the app's limiter storage, :func:`_allowed`): per client address
  ``LABEL_VERIFY_LIMITS`` and per code ``LABEL_VERIFY_CODE_LIMITS`` for the page,
  ``LABEL_SIGHTING_LIMITS`` and ``LABEL_SIGHTING_CODE_LIMITS`` for sightings.
  Over a limit: 429 with ``Retry-After`` and a page saying when to try again (JSON
  with ``retry_after`` to a client preferring JSON); nothing is counted or stored.
- Errors (400 malformed code, 404 unknown code, 429) answer JSON ``{"error",
  "message", "status"}`` to a client whose ``Accept`` prefers JSON to HTML
  (:func:`prefers_json`), the page otherwise.
- Sighting: only when the reader taps "Share my location" does ``label.js`` ask
  the phone for its position, round it to 0.01° and ``POST`` it with the page's
  one-time token to ``label.sighting`` (JSON ``{"token", "lat", "lon",
  "consent": true}``), which :func:`sightings.public.record_sighting` stores
  rounded to about 1 km. The POST needs no CSRF token: no cookie authenticates
  it, the signed one-time token in its body does.

:func:`unknown_code_response` is the same page for a code that is unknown or
malformed; the resolver (:mod:`web.label.resolver`) answers with it too.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from babel import Locale
from flask import (
    Blueprint,
    Response,
    current_app,
    jsonify,
    make_response,
    render_template,
    request,
    request_finished,
)
from flask.typing import ResponseReturnValue
from flask_babel import force_locale, get_locale, gettext
from itsdangerous import BadSignature, URLSafeSerializer
from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter, RateLimiter
from sqlalchemy.orm import Session

from ledger.ids import InvalidIdentifierError, unit_key, validate_gtin14
from sightings import policy
from sightings.answer import LabelAnswer, answer_label
from sightings.errors import SightingError, UnknownCode
from sightings.public import issue_token, record_sighting
from web.db import get_session
from web.i18n import DEFAULT_LOCALE, N_, SUPPORTED, language_of, select_locale
from web.security import client_address, csrf_exempt, public

__all__ = [
    "DEFAULT_LIMITS",
    "SEEN_COOKIE",
    "bp",
    "cookie_free",
    "country_name",
    "page_locale",
    "prefers_json",
    "public_locale",
    "sighting_secret",
    "unknown_code_response",
]

bp = Blueprint("label", __name__, url_prefix="/label")

#: Rate limits (``limits`` notation, ``;`` between several); each is a config key.
DEFAULT_LIMITS: dict[str, str] = {
    "LABEL_VERIFY_LIMITS": "60 per minute;600 per hour",  # per client address
    "LABEL_VERIFY_CODE_LIMITS": "120 per minute;2000 per day",  # per code
    "LABEL_SIGHTING_LIMITS": "10 per minute;100 per hour",  # per client address
    "LABEL_SIGHTING_CODE_LIMITS": "30 per hour;200 per day",  # per code
    # a client address counts a code's view at most this often (moving window)
    "LABEL_VERIFY_COUNT_WINDOW": "1 per day",
}

#: The cookie listing digests of the codes this browser verified lately.
SEEN_COOKIE = "hopchain_label_seen"
_SEEN_MAX = 50  # codes remembered (oldest forgotten first)
_SEEN_SECONDS = 30 * 24 * 3600
_SEEN_SALT = "hopchain label seen"
_TOKEN_SALT = b"hopchain public sighting token"

#: UN M.49 codes of the world regions the default territories use (geo.world_countries),
#: so Babel names them in the reader's language.
_REGION_M49 = {"AFRICA": "002", "AMERICAS": "019", "ASIA": "142", "EUROPE": "150", "OCEANIA": "009"}

_WARNINGS = {
    "many_verifications": N_(
        "This code has been verified %(count)s times, more than one item usually is "
        "(%(limit)s). It may have been copied onto other items: buy from a seller you trust."
    ),
    "far_apart": N_(
        "This code has been seen in places %(km)s km apart. It may have been copied "
        "onto other items: buy from a seller you trust."
    ),
}


def _config(name: str) -> Any:
    return current_app.config.get(name, DEFAULT_LIMITS.get(name))


def page_locale() -> str:
    """The page's locale code: a supported ``?lang=`` first, else :func:`select_locale`."""
    asked = language_of(request.args.get("lang", type=str))
    return asked.code if asked is not None else select_locale()


def public_locale() -> str:
    """The locale code of a supported ``?lang=``, else the best of the browser's
    ``Accept-Language``, else English; never the signed-in user's or the session's
    language: for answers that shared caches keep (``Vary: Accept-Language``)."""
    asked = language_of(request.args.get("lang", type=str))
    if asked is not None:
        return asked.code
    chosen = language_of(request.accept_languages.best_match([x.tag for x in SUPPORTED]))
    return chosen.code if chosen is not None else DEFAULT_LOCALE


def lang_tag(code: str) -> str:
    """The short ``?lang=`` value of a locale code: ``"zh_Hans_CN"`` -> ``"zh"``."""
    language = language_of(code)
    return language.tag if language is not None else code


def prefers_json() -> bool:
    """Whether the request's ``Accept`` rates JSON above HTML (``application/json``
    alone, or first): its errors are answered as JSON then. ``*/*``, no ``Accept``
    and a browser's get the page."""
    accept = request.accept_mimetypes
    return accept.quality("application/json") > accept.quality("text/html")


def cookie_free(response: Response) -> Response:
    """``response``, marked as not depending on the reader's cookie: when shared
    caches may keep it (``Cache-Control: public``) and it sets no cookie, it goes
    out without the ``Vary: Cookie`` Flask adds whenever a request read the
    session (every request does, to know who is signed in: the two-factor gate,
    Flask-Login's remember cookie). Call it only for answers built without the
    session: resolver redirects and linksets, the description file, a picture."""
    setattr(response, _COOKIE_FREE, True)
    return response


_COOKIE_FREE = "hopchain_cookie_free"


def _drop_cookie_vary(sender: Any, response: Response, **extra: Any) -> None:
    """``request_finished``: after the session was saved (which adds ``Vary:
    Cookie``), take it off a :func:`cookie_free` public answer that sets no cookie."""
    if (
        getattr(response, _COOKIE_FREE, False)
        and response.cache_control.public
        and "Set-Cookie" not in response.headers
    ):
        kept = [h for h in response.vary if h.lower() != "cookie"]
        if kept:
            response.headers["Vary"] = ", ".join(kept)
        else:
            del response.headers["Vary"]


@bp.record_once
def _on_register(state: Any) -> None:
    request_finished.connect(_drop_cookie_vary, state.app, weak=False)


@contextmanager
def _in_page_language() -> Iterator[str]:
    code = page_locale()
    with force_locale(code):
        yield code


def country_name(code: str | None) -> str:
    """An ISO 3166 alpha-2 code (or a world region of the default territories) named
    in the request's language by CLDR (Babel): ``"CN"`` -> ``"中国"`` in zh,
    ``"China"`` in en; ``""`` for None, the code itself when CLDR has no name."""
    if not code:
        return ""
    locale = get_locale() or Locale.parse("en")
    names = locale.territories
    return str(names.get(code.upper()) or names.get(_REGION_M49.get(code.upper(), "")) or code)


def _territory_label(code: str, name: str, level: str) -> str:
    if level in ("country", "region"):
        localized = country_name(code)
        if localized != code:
            return localized
    return name or code


def sighting_secret() -> str:
    """The key signing the pages' one-time sighting tokens: config
    ``SIGHTING_TOKEN_SECRET``, else derived from the app's ``SECRET_KEY`` (HMAC-SHA256)."""
    own = current_app.config.get("SIGHTING_TOKEN_SECRET")
    if own:
        return str(own)
    key = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(key, _TOKEN_SALT, hashlib.sha256).hexdigest()


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


# --- rate limits ------------------------------------------------------------------------


def _allowed(config_key: str, scope: str, identifier: str) -> int:
    """Count one request against the limits of ``config_key`` for ``identifier``;
    0 when allowed, else the seconds until the tightest exceeded limit resets."""
    extension = current_app.extensions["hopchain_limiter"]
    if not extension.enabled:  # RATELIMIT_ENABLED = False
        return 0
    limiter = extension.limiter
    wait = 0
    for item in _limits(str(_config(config_key))):
        if not limiter.hit(item, scope, identifier):
            reset = limiter.get_window_stats(item, scope, identifier).reset_time
            wait = max(wait, max(1, math.ceil(reset - time.time())))
    return wait


@functools.lru_cache(maxsize=64)
def _limits(spec: str) -> tuple[RateLimitItem, ...]:
    return tuple(parse_many(spec))


def _code_id(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:32]


# --- the repeat-view cookie -------------------------------------------------------------


def _seen_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:12]


def _seen_serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=_SEEN_SALT)


def _seen_codes() -> list[str]:
    raw = request.cookies.get(SEEN_COOKIE)
    if not raw:
        return []
    try:
        value = _seen_serializer().loads(raw)
    except BadSignature:
        return []
    if not isinstance(value, list):
        return []
    return [v for v in value if isinstance(v, str)][-_SEEN_MAX:]


def _remember(response: Response, seen: list[str], digest: str) -> None:
    codes = [c for c in seen if c != digest] + [digest]
    response.set_cookie(
        SEEN_COOKIE,
        _seen_serializer().dumps(codes[-_SEEN_MAX:]),
        max_age=_SEEN_SECONDS,
        path="/label",
        secure=bool(current_app.config.get("SECURE_COOKIES", True)),
        httponly=True,
        samesite="Lax",
    )


# --- pages ------------------------------------------------------------------------------


def _page(status: int, **context: Any) -> Response:
    context["lang_tag"] = lang_tag(context["lang"])
    response = make_response(render_template("label/answer.html", **context), status)
    response.headers["Cache-Control"] = "no-store"  # counted, carries a one-time token
    return response


def unknown_code_response(text: str, status: int = 404) -> Response:
    """The consumer's page for a code that is unknown or malformed: "Unknown code",
    ``text`` (one sentence saying why, already in the reader's language) and the
    advice to the reader, in the page's language (:func:`page_locale`), with
    ``status`` (404 by default; 400 suits a malformed code). To a client preferring
    JSON (:func:`prefers_json`): ``{"error": "unknown code" | "malformed code",
    "message": text, "status": status}``."""
    if prefers_json():
        english = "malformed code" if status == 400 else "unknown code"
        return _json_error(status, english, text, recorded=None)
    with _in_page_language() as code:
        return _page(status, answer=None, reason=text, lang=code, token=None)


def _bad_code_words(gtin: str, serial: str) -> str:
    try:
        validate_gtin14(gtin)
    except InvalidIdentifierError:
        return str(
            gettext(
                "%(gtin)s is not a valid product number (GTIN): it must have 8, 12, 13 or "
                "14 digits and a correct check digit.",
                gtin=gtin[:40],
            )
        )
    return str(
        gettext(
            "%(serial)s is not a valid serial number: 1 to 20 letters, digits or GS1 punctuation.",
            serial=serial[:40],
        )
    )


def _too_many(wait: int, *, json: bool, recorded: bool | None = False) -> Response:
    words = gettext(
        "Too many requests for this code or from your network. Please try again in "
        "%(seconds)s seconds.",
        seconds=wait,
    )
    if json:
        body: dict[str, Any] = {
            "error": "too many requests; try again later",
            "message": words,
            "retry_after": wait,
            "status": 429,
        }
        if recorded is not None:  # the sighting's answers say whether it was recorded
            body = {"recorded": recorded, **body}
        response = jsonify(body)
        response.status_code = 429
    else:
        response = make_response(render_template("label/busy.html", words=words), 429)
    response.headers["Retry-After"] = str(wait)
    response.headers["Cache-Control"] = "no-store"
    return response


def _market_words(answer: LabelAnswer) -> dict[str, Any]:
    zone = answer.market
    if zone is None or zone.allocated_party_id is None:
        return {"country": "", "territories": []}
    territories = [_territory_label(t.code, t.name, t.level) for t in answer.market_territories]
    return {"country": country_name(zone.allocated_country), "territories": territories}


def _warning_words(answer: LabelAnswer, limit: int) -> str:
    if answer.copy_warning == "many_verifications":
        return str(
            gettext(_WARNINGS["many_verifications"], count=answer.verifications, limit=limit)
        )
    if answer.copy_warning == "far_apart":
        return str(gettext(_WARNINGS["far_apart"], km=round(answer.farthest_km)))
    return ""


def _issue_token(key: str) -> str:
    return issue_token(sighting_secret(), key, _now_ms())


@bp.get("/01/<gtin>/21/<path:serial>")
@public
def verify(gtin: str, serial: str) -> ResponseReturnValue:
    """The consumer's answer to the label ``01/<gtin>/21/<serial>``."""
    with _in_page_language() as lang:
        try:
            key = unit_key(gtin, serial)
        except InvalidIdentifierError:
            return unknown_code_response(_bad_code_words(gtin, serial), 400)
        wait = _allowed("LABEL_VERIFY_LIMITS", "label-verify", client_address())
        wait = wait or _allowed("LABEL_VERIFY_CODE_LIMITS", "label-verify-code", _code_id(key))
        if wait:
            return _too_many(wait, json=prefers_json(), recorded=None)
        seen = _seen_codes()
        digest = _seen_digest(key)
        repeat = digest in seen
        looked = request.method == "HEAD"  # a HEAD only looks: never counted
        counted = not looked and not repeat and _first_from_address(key)
        limit = int(
            current_app.config.get(
                "SIGHTINGS_COPY_WARNING_VERIFICATIONS", policy.COPY_WARNING_VERIFICATIONS
            )
        )
        km = float(current_app.config.get("SIGHTINGS_COPY_WARNING_KM", policy.COPY_WARNING_KM))
        session = _writable_session()
        answer = answer_label(
            session, gtin, serial, now_ms=_now_ms(), count=counted, warn_after=limit, warn_km=km
        )
        if not answer.known:
            session.rollback()
            return unknown_code_response(gettext("No product of ours carries this code."))
        session.commit()
        response = _page(
            200,
            answer=answer,
            market=_market_words(answer),
            warning=_warning_words(answer, limit),
            repeat=repeat,
            counted=counted or looked,
            lang=lang,
            token=_issue_token(key),
        )
        if not repeat and not looked:
            _remember(response, seen, digest)
        return response


def _first_from_address(key: str) -> bool:
    """Whether this view of the code ``key`` is the first from the client's address
    within ``LABEL_VERIFY_COUNT_WINDOW`` (``limits`` notation, ``1 per day`` by
    default): one phone, or one program, reloading a code counts once a day, so
    only many different clients make a code look copied.

    Kept in the app's limiter storage (moving window), keyed by a SHA-256 digest of
    address and code: no address is written to the database or kept in clear.
    """
    limiter = _count_limiter()
    identifier = hashlib.sha256(f"{client_address()}\x00{key}".encode()).hexdigest()[:32]
    spec = str(_config("LABEL_VERIFY_COUNT_WINDOW"))
    hits = [limiter.hit(item, "label-verify-counted", identifier) for item in _limits(spec)]
    return all(hits)


def _count_limiter() -> RateLimiter:
    """The app's limiter (its storage: memory, Redis ...); with rate limits switched
    off (``RATELIMIT_ENABLED = False``, the limiter then has none) a moving-window
    limiter in this process's memory, so a view is still counted once per address."""
    extension = current_app.extensions["hopchain_limiter"]
    if extension.enabled:
        limiter: RateLimiter = extension.limiter
        return limiter
    own: RateLimiter | None = current_app.extensions.get(_OWN_COUNT_LIMITER)
    if own is None:
        own = MovingWindowRateLimiter(MemoryStorage())
        current_app.extensions[_OWN_COUNT_LIMITER] = own
    return own


_OWN_COUNT_LIMITER = "hopchain_label_count_limiter"


# --- the sighting -----------------------------------------------------------------------

_FIELD_WORDS = {
    "body": N_("Send a JSON object with token, lat, lon and consent."),
    "consent": N_("consent must be true: a location is only recorded when you agree."),
    "token": N_("token is missing: reload the page and try again."),
    "lat": N_("lat must be a number of degrees from -90 to 90."),
    "lon": N_("lon must be a number of degrees from -180 to 180."),
}
_FIELD_ENGLISH = {
    "body": "the body must be a JSON object with token, lat, lon and consent",
    "consent": "consent must be true",
    "token": "token must be a non-empty text of at most 2000 characters",
    "lat": "lat must be a number from -90 to 90",
    "lon": "lon must be a number from -180 to 180",
}


class _Invalid(Exception):
    def __init__(self, field: str) -> None:
        super().__init__(field)
        self.field = field


def _number(value: object, field: str, bound: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _Invalid(field)
    number = float(value)
    if not math.isfinite(number) or not -bound <= number <= bound:
        raise _Invalid(field)
    return number


def parse_sighting(body: object) -> tuple[str, float, float]:
    """``(token, lat, lon)`` of a sighting's JSON body; raises ``_Invalid`` naming the
    first bad field in the order body, consent, token, lat, lon."""
    if not isinstance(body, dict):
        raise _Invalid("body")
    if body.get("consent") is not True:
        raise _Invalid("consent")
    token = body.get("token")
    if not isinstance(token, str) or not token.strip() or len(token) > 2000:
        raise _Invalid("token")
    return token, _number(body.get("lat"), "lat", 90.0), _number(body.get("lon"), "lon", 180.0)


def _json_error(
    status: int, english: str, words: str, field: str = "", *, recorded: bool | None = False
) -> Response:
    body: dict[str, Any] = {"error": english, "message": words, "status": status}
    if recorded is not None:  # the sighting's answers say whether it was recorded
        body = {"recorded": recorded, **body}
    if field:
        body["field"] = field
    response = jsonify(body)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/01/<gtin>/21/<path:serial>/sighting")
@public
@csrf_exempt
def sighting(gtin: str, serial: str) -> ResponseReturnValue:
    """Record a public sighting of the unit: JSON ``{"token", "lat", "lon",
    "consent": true}`` (degrees, WGS 84) -> ``{"recorded": true, "verdict": ...}``.

    400 names the bad field (``field``: body, consent, token, lat, lon); 404 for
    a code that is not ours; 409 when the token was used, expired or belongs to
    another code; 429 past a rate limit (``retry_after`` seconds) or when the
    unit was shared more than ``SIGHTINGS_PER_UNIT_HOUR`` times in the last hour."""
    with _in_page_language() as lang:
        try:
            key = unit_key(gtin, serial)
        except InvalidIdentifierError:
            return _json_error(
                404, "unknown code", gettext("No product of ours carries this code.")
            )
        wait = _allowed("LABEL_SIGHTING_LIMITS", "label-sighting", client_address())
        wait = wait or _allowed("LABEL_SIGHTING_CODE_LIMITS", "label-sighting-code", _code_id(key))
        if wait:
            return _too_many(wait, json=True)
        try:
            token, lat, lon = parse_sighting(request.get_json(silent=True))
        except _Invalid as bad:
            return _json_error(
                400, _FIELD_ENGLISH[bad.field], gettext(_FIELD_WORDS[bad.field]), bad.field
            )
        per_unit = {}
        if current_app.config.get("SIGHTINGS_PER_UNIT_HOUR") is not None:
            per_unit["per_unit_hour"] = int(current_app.config["SIGHTINGS_PER_UNIT_HOUR"])
        session = _writable_session()
        try:
            result = record_sighting(
                session,
                unit_key=key,
                lat_e6=round(lat * 1e6),
                lon_e6=round(lon * 1e6),
                token=token,
                secret=sighting_secret(),
                locale=lang,
                now_ms=_now_ms(),
                **per_unit,
            )
        except UnknownCode:
            session.rollback()
            return _json_error(
                404, "unknown code", gettext("No product of ours carries this code.")
            )
        except SightingError as refused:
            session.rollback()
            words = (
                gettext(refused.words, **refused.values)
                if refused.values
                else gettext(refused.words)
            )
            # token used/expired/not this code's: 409; the unit's hourly cap: 429
            status = 409 if refused.field else 429
            if refused.field in ("lat", "lon"):
                status = 400
            return _json_error(status, str(refused), words, refused.field)
        session.commit()
        response = jsonify(
            {
                "recorded": True,
                "verdict": result.verdict,
                "message": gettext("Thank you: your sighting helps us stop counterfeits."),
            }
        )
        response.headers["Cache-Control"] = "no-store"
        return response


def _writable_session() -> Session:
    """The request's session with no transaction begun, so counting a view or
    recording a sighting can take SQLite's write lock before its first read
    (ledger.database.begin_writing). A signed-in reader's own look-ups (session,
    user) already ran in it: they only read, so ending them here changes nothing."""
    session = get_session()
    if session.in_transaction():
        session.commit()
    return session
