"""Error answers: JSON under ``/api/v1``, a page elsewhere, both in the caller's language.

The API answers ``{"error", "status"}`` (plus ``"message"`` in zh or es) (plus ``"parameter"`` for a bad
query parameter, :class:`BadParameter`):

- ``error``: the message in English, unchanged across languages, for programs
  that log or match it (it is what this API has always sent);
- ``message``: only when the request's language is not English (``Accept-Language``
  first for the API, then the token user's profile, see :func:`web.i18n.select_locale`):
  the same message in that language. English answers keep their old shape. The
  response's ``Content-Language`` names the language either way;
- ``status``: the HTTP status code.

Generic answers (not found, forbidden, method not allowed, too large ...) and every
message the code wrote with :func:`refuse` or ``abort(status, N_("..."))`` are
translated; a message built from validation details keeps those details (field
names, values) as they were, inside a translated frame where the code gives one
(:func:`refuse`), else in English.

Handlers are on the app, not the API blueprint, because 404 and 405 are decided
before any blueprint is chosen. A 500 shows a fixed message; the traceback goes
to the log only.
"""

from __future__ import annotations

from typing import Any, NoReturn

from flask import Flask, jsonify, render_template
from flask.typing import ResponseReturnValue
from flask_babel import get_locale, gettext
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import BadRequest, HTTPException, InternalServerError, default_exceptions

from web.i18n import DEFAULT_LOCALE, N_
from web.security import is_api_request

__all__ = ["BadParameter", "init_app", "localized_message", "message_of", "refuse"]


#: werkzeug's status names, as pages title them and as :func:`message_of` lowercases them.
_STATUS_NAMES = (
    N_("Bad Request"),
    N_("Unauthorized"),
    N_("Forbidden"),
    N_("Not Found"),
    N_("Method Not Allowed"),
    N_("Not Acceptable"),
    N_("Request Timeout"),
    N_("Conflict"),
    N_("Gone"),
    N_("Length Required"),
    N_("Precondition Failed"),
    N_("Request Entity Too Large"),
    N_("Request URI Too Large"),
    N_("Unsupported Media Type"),
    N_("Range Not Satisfiable"),
    N_("Unprocessable Entity"),
    N_("Too Many Requests"),
    N_("Request Header Fields Too Large"),
    N_("Internal Server Error"),
    N_("Not Implemented"),
    N_("Service Unavailable"),
)


#: What a form posted without a valid CSRF token (missing, expired, from another site) says.
_CSRF_WORDS = N_(
    "This form has expired or was not sent from this site: reload the page and try again"
)


class BadParameter(BadRequest):
    """400 for one request parameter: the API answers ``{"error", "message", "status", "parameter"}``.

    ``message`` says in words what the parameter must be and what it was
    ("limit must be an integer from 1 to 500, got 'abc'"); ``localized``, when
    given, is the same in the request's language (a ``lazy_gettext`` string or
    one already translated).
    """

    def __init__(self, parameter: str, message: str, localized: Any = None) -> None:
        super().__init__(message)
        self.parameter = parameter
        self.localized = localized


def refuse(status: int, message: str, **values: Any) -> NoReturn:
    """Abort with ``status``: ``message`` (a catalogue message, ``%(name)s``
    placeholders filled from ``values``) in English as the description and in the
    request's language as the API's ``message`` and the error page's text.

    ``refuse(400, N_("query parameter %(name)s must be an integer"), name="'limit'")``.
    Raises the ``HTTPException`` of ``status`` (werkzeug's class for it).
    """
    exc = default_exceptions[status](message % values if values else message)
    exc.hopchain_message = (message, values)  # type: ignore[attr-defined]
    raise exc


def message_of(exc: HTTPException) -> str:
    """The specific description the code gave (``abort(422, "...")``), else the status name,
    in English."""
    default = type(exc).description
    if exc.description and exc.description != default:
        return exc.description
    return (exc.name or "Error").lower()


def localized_message(exc: HTTPException) -> str:
    """:func:`message_of` in the request's language: a :func:`refuse` message or a
    :class:`BadParameter`'s ``localized`` text, a message in the catalogue, a
    status name; any other text stays as the code wrote it."""
    if isinstance(exc, CSRFError):  # Flask-WTF's English reason means nothing to a person
        return str(gettext(_CSRF_WORDS))
    carried = getattr(exc, "hopchain_message", None)
    if carried is not None:
        message, values = carried
        return str(gettext(message, **values))
    localized = getattr(exc, "localized", None)
    if localized is not None:
        return str(localized)
    english = message_of(exc)
    if english == (exc.name or "Error").lower():
        return str(gettext(exc.name or "Error")).lower()
    return str(gettext(english))


def _handle_http(exc: HTTPException) -> ResponseReturnValue:
    status = exc.code or 500
    message = message_of(exc)
    localized = localized_message(exc)
    if is_api_request():
        response = exc.get_response()  # keeps Allow, WWW-Authenticate, ...
        language = str(get_locale() or DEFAULT_LOCALE)
        extra: dict[str, Any] = (
            {"parameter": exc.parameter} if isinstance(exc, BadParameter) else {}
        )
        if language != DEFAULT_LOCALE:
            extra["message"] = localized
        body = jsonify(error=message, status=status, **extra)
        response.set_data(body.get_data())
        response.content_type = "application/json"
        response.headers["Content-Language"] = language.replace("_", "-")
        if status == 401:
            response.headers["WWW-Authenticate"] = 'Bearer realm="hopchain"'
        return response
    name = gettext(exc.name) if exc.name else ""
    return render_template("error.html", status=status, name=name, message=localized), status


def _handle_500(exc: InternalServerError) -> ResponseReturnValue:
    # The original exception has already been logged by Flask; say nothing about it.
    generic = InternalServerError()
    return _handle_http(generic)


def init_app(app: Flask) -> None:
    app.register_error_handler(InternalServerError, _handle_500)
    app.register_error_handler(HTTPException, _handle_http)
