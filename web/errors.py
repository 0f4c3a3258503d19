"""Error answers: JSON under ``/api/v1`` (``{"error", "status"}``), a page elsewhere.

Handlers are on the app, not the API blueprint, because 404 and 405 are decided
before any blueprint is chosen. A 500 shows a fixed message; the traceback goes
to the log only.
"""

from __future__ import annotations

from flask import Flask, jsonify, render_template
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import BadRequest, HTTPException, InternalServerError

from web.security import is_api_request

__all__ = ["BadParameter", "init_app", "message_of"]


class BadParameter(BadRequest):
    """400 for one request parameter: the API answers ``{"error", "status", "parameter"}``.

    ``message`` says in words what the parameter must be and what it was
    ("limit must be an integer from 1 to 500, got 'abc'").
    """

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(message)
        self.parameter = parameter


def message_of(exc: HTTPException) -> str:
    """The specific description the code gave (``abort(422, "...")``), else the status name."""
    default = type(exc).description
    if exc.description and exc.description != default:
        return exc.description
    return (exc.name or "Error").lower()


def _handle_http(exc: HTTPException) -> ResponseReturnValue:
    status = exc.code or 500
    message = message_of(exc)
    if is_api_request():
        response = exc.get_response()  # keeps Allow, WWW-Authenticate, ...
        extra = {"parameter": exc.parameter} if isinstance(exc, BadParameter) else {}
        body = jsonify(error=message, status=status, **extra)
        response.set_data(body.get_data())
        response.content_type = "application/json"
        if status == 401:
            response.headers["WWW-Authenticate"] = 'Bearer realm="hopchain"'
        return response
    return render_template("error.html", status=status, name=exc.name, message=message), status


def _handle_500(exc: InternalServerError) -> ResponseReturnValue:
    # The original exception has already been logged by Flask; say nothing about it.
    generic = InternalServerError()
    return _handle_http(generic)


def init_app(app: Flask) -> None:
    app.register_error_handler(InternalServerError, _handle_500)
    app.register_error_handler(HTTPException, _handle_http)
