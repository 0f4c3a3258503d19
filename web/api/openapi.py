"""The OpenAPI 3.1 document, assembled from what each endpoint declares.

:func:`api_route` registers the Flask route, the role check, the validation of
its query parameters and the OpenAPI operation from one declaration, so the
document cannot drift from the code: a route that is not declared this way is
not in the API, and a parameter is checked exactly as documented.

Parameters are validated at the edge, before the handler runs:

- path ids use the ``<id:...>`` / ``<seq:...>`` converters (:mod:`web.converters`):
  out of range is 404 while routing; ``<int:...>`` is refused at declaration;
- query parameters are declared with :func:`query_param` (a JSON schema subset:
  ``type`` integer/number/string/boolean, ``minimum``/``maximum``, ``enum``,
  ``pattern``, ``minLength``/``maxLength``, ``default``); a value that does not
  fit answers 400 ``{"error": ..., "status": 400, "parameter": name}`` and the
  handler reads typed values (:func:`validated_query`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import wraps
from importlib.metadata import PackageNotFoundError, version
from typing import Any, ParamSpec, TypeVar, cast

from flask import Blueprint, g, request
from flask_babel import gettext, lazy_gettext

from web.converters import CONVERTERS, ID_SCHEMA
from web.errors import BadParameter
from web.i18n import N_
from web.roles import Role, parse_role
from web.security import API_PREFIX, public, require_roles

__all__ = [
    "CURSOR_PATTERN",
    "DAY_PATTERN",
    "ERROR_SCHEMA",
    "MONTH_PATTERN",
    "PATTERN_WORDS",
    "PERIOD_PATTERN",
    "QUARTER_PATTERN",
    "Operation",
    "RouteDecorator",
    "build_document",
    "id_param",
    "json_response",
    "make_api_route",
    "parse_query",
    "query_param",
    "validated_query",
]

#: A calendar month ``YYYY-MM`` (months 01-12), as ``settlement.common`` reads periods.
MONTH_PATTERN = r"\d{4}-(0[1-9]|1[0-2])"
#: A settlement period: a month or a quarter ``YYYY-Qn``.
PERIOD_PATTERN = r"\d{4}-((0[1-9]|1[0-2])|Q[1-4])"
#: A day ``YYYY-MM-DD`` (the day of the month is checked again where it is read).
DAY_PATTERN = r"\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])"
#: A quarter ``YYYY-Qn``.
QUARTER_PATTERN = r"\d{4}-Q[1-4]"
#: A page's start: a whole number of items to skip (a ``cursor`` of a ``Link``).
CURSOR_PATTERN = r"\d{1,10}"

#: What a value of each declared pattern must be, in words (catalogue messages): a
#: refusal says these, never the parameter's OpenAPI description (which is written for
#: the document, not for a sentence) nor the regular expression. A pattern without
#: words here is said as "text matching <the expression>".
PATTERN_WORDS: dict[str, str] = {
    MONTH_PATTERN: N_("a month such as 2026-11"),
    PERIOD_PATTERN: N_("a month such as 2026-11 or a quarter such as 2026-Q4"),
    DAY_PATTERN: N_("a day such as 2026-11-30"),
    QUARTER_PATTERN: N_("a quarter such as 2026-Q4"),
    CURSOR_PATTERN: N_("a whole number ≥ 0"),
}

P = ParamSpec("P")
R = TypeVar("R")
RouteDecorator = Callable[[Callable[P, R]], Callable[P, R]]

_RULE_VARIABLE = re.compile(r"<(?:(?P<converter>[a-zA-Z_]+)(?:\([^)]*\))?:)?(?P<name>\w+)>")

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error", "status"],
    "properties": {
        "error": {"type": "string", "description": "What went wrong, for people."},
        "status": {"type": "integer", "description": "The HTTP status, repeated."},
        "parameter": {
            "type": "string",
            "description": "The query parameter that was refused (400 only).",
        },
    },
}
_ERROR_REF = {"$ref": "#/components/schemas/Error"}

# What query_param() accepts in a schema: exactly what parse_query() checks.
_SCHEMA_KEYWORDS = frozenset({"minimum", "maximum", "enum", "pattern", "minLength", "maxLength"})
_TYPES = frozenset({"integer", "number", "string", "boolean"})
_TRUE = frozenset({"true", "1"})
_FALSE = frozenset({"false", "0"})
DEFAULT_MAX_LENGTH = 200  # a free-text query parameter: codes, periods, names
_SHOWN = 40  # characters of a refused value repeated in the error


def query_param(
    name: str,
    type: str = "integer",
    *,
    required: bool = False,
    description: str = "",
    default: Any = None,
    **schema: Any,
) -> dict[str, Any]:
    """An OpenAPI query parameter, validated by :func:`api_route` exactly as declared.

    ``type``: ``integer``, ``number``, ``string`` or ``boolean``. Keywords:
    ``minimum``/``maximum`` (numbers: both required, so every number has a range),
    ``enum``, ``pattern`` (the whole value must match; documented anchored),
    ``minLength``/``maxLength`` (a string
    with neither ``enum`` nor ``maxLength`` gets ``maxLength`` 200), ``default``
    (what the handler reads when the parameter is absent or empty).
    ``ValueError`` names an unknown type or keyword, or a number without a range.
    """
    if type not in _TYPES:
        raise ValueError(f"query parameter {name!r}: type must be one of {sorted(_TYPES)}")
    unknown = set(schema) - _SCHEMA_KEYWORDS
    if unknown:
        raise ValueError(f"query parameter {name!r}: unsupported schema keywords {sorted(unknown)}")
    if (
        type in ("integer", "number")
        and "enum" not in schema
        and ("minimum" not in schema or "maximum" not in schema)
    ):
        raise ValueError(f"query parameter {name!r}: declare its range (minimum and maximum)")
    if type == "string" and "enum" not in schema and "maxLength" not in schema:
        schema["maxLength"] = DEFAULT_MAX_LENGTH
    if "pattern" in schema:  # JSON Schema patterns search; ours match the whole value
        pattern = schema["pattern"].removeprefix("^").removesuffix("$")
        schema["pattern"] = f"^(?:{pattern})$"
    if default is not None:
        schema["default"] = default
    param: dict[str, Any] = {
        "name": name,
        "in": "query",
        "required": required,
        "schema": {"type": type, **schema},
    }
    if description:
        param["description"] = description
    return param


def id_param(name: str, *, required: bool = False, description: str = "") -> dict[str, Any]:
    """A query parameter holding a row id: an integer 1 … 2**31-1 (an ``Integer`` column)."""
    return query_param(
        name,
        required=required,
        description=description,
        minimum=ID_SCHEMA["minimum"],
        maximum=ID_SCHEMA["maximum"],
    )


def _expected(schema: Mapping[str, Any], description: str) -> str:
    """What a value must be, in words: "an integer from 1 to 500"."""
    kind = schema["type"]
    if "enum" in schema:
        return "one of " + ", ".join(str(v) for v in schema["enum"])
    if kind in ("integer", "number"):
        low, high = schema["minimum"], schema["maximum"]
        noun = "an integer" if kind == "integer" else "a number"
        return (
            f"{noun} from {low:g} to {high:g}"
            if kind == "number"
            else f"{noun} from {low} to {high}"
        )
    if kind == "boolean":
        return "true or false"
    if "pattern" in schema:
        words = PATTERN_WORDS.get(_bare(schema["pattern"]))
        return words or f"text matching {_bare(schema['pattern'])}"
    return f"text of at most {schema['maxLength']} characters"


def _bare(pattern: str) -> str:
    """A declared pattern as written, without the anchors :func:`query_param` adds."""
    if pattern.startswith("^(?:") and pattern.endswith(")$"):
        return pattern[4:-2]
    return pattern


def _expected_words(schema: Mapping[str, Any], description: str) -> str:
    """:func:`_expected` in the request's language (a pattern by :data:`PATTERN_WORDS`)."""
    kind = schema["type"]
    if "enum" in schema:
        return str(gettext("one of %(values)s", values=", ".join(str(v) for v in schema["enum"])))
    if kind == "integer":
        low, high = schema["minimum"], schema["maximum"]
        return str(gettext("a whole number from %(low)s to %(high)s", low=low, high=high))
    if kind == "number":
        low, high = schema["minimum"], schema["maximum"]
        return str(gettext("a number from %(low)s to %(high)s", low=f"{low:g}", high=f"{high:g}"))
    if kind == "boolean":
        return str(gettext("true or false"))
    if "pattern" in schema:
        words = PATTERN_WORDS.get(_bare(schema["pattern"]))
        if words is not None:
            return str(gettext(words))
        return str(gettext("text matching %(pattern)s", pattern=_bare(schema["pattern"])))
    return str(gettext("text of at most %(count)s characters", count=schema["maxLength"]))


def _shown(raw: str) -> str:
    return repr(raw if len(raw) <= _SHOWN else raw[:_SHOWN] + "…")


def _convert(name: str, raw: str, schema: Mapping[str, Any], description: str) -> Any:
    """``raw`` as the declared type, within the declared range; BadParameter otherwise."""
    kind = schema["type"]

    def refuse() -> BadParameter:
        return BadParameter(
            name,
            f"{name} must be {_expected(schema, description)}, got {_shown(raw)}",
            lazy_gettext(
                "%(name)s must be %(what)s, got %(value)s",
                name=name,
                what=_expected_words(schema, description),
                value=_shown(raw),
            ),
        )

    value: Any
    if kind == "integer":
        if not re.fullmatch(r"[+-]?\d{1,25}", raw):
            raise refuse()
        value = int(raw)
    elif kind == "number":
        try:
            value = float(raw) if len(raw) <= 50 else math.nan
        except ValueError:
            raise refuse() from None
        if not math.isfinite(value):
            raise refuse()
    elif kind == "boolean":
        lowered = raw.lower()
        if lowered not in _TRUE | _FALSE:
            raise refuse()
        value = lowered in _TRUE
    else:
        value = raw
        if any(ord(c) < 32 or ord(c) == 127 for c in raw):
            raise BadParameter(
                name,
                f"{name} must not contain control characters",
                lazy_gettext("%(name)s must not contain control characters", name=name),
            )
        if len(raw) > schema.get("maxLength", len(raw)):
            raise BadParameter(
                name,
                f"{name} must be at most {schema['maxLength']} characters, got {len(raw)}",
                lazy_gettext(
                    "%(name)s must be at most %(most)s characters, got %(count)s",
                    name=name,
                    most=schema["maxLength"],
                    count=len(raw),
                ),
            )
        if len(raw) < schema.get("minLength", 0):
            raise BadParameter(
                name,
                f"{name} must be at least {schema['minLength']} characters, got {_shown(raw)}",
                lazy_gettext(
                    "%(name)s must be at least %(least)s characters, got %(value)s",
                    name=name,
                    least=schema["minLength"],
                    value=_shown(raw),
                ),
            )
        if "pattern" in schema and not re.fullmatch(schema["pattern"], raw, re.ASCII):
            raise refuse()
    if "enum" in schema and value not in schema["enum"]:
        raise refuse()
    if kind in ("integer", "number") and not schema.get("minimum", value) <= value <= schema.get(
        "maximum", value
    ):
        raise refuse()
    return value


def parse_query(params: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The declared query parameters of this request, typed and checked.

    Returns name → value for every declared query parameter: the converted value,
    else its ``default`` (``None`` when it has none). An empty value counts as
    absent. Raises :class:`web.errors.BadParameter` (400) naming the first
    parameter that is not declared (a misspelt filter must not silently widen
    what is listed), missing (``required``) or does not fit its schema.
    """
    declared = [p["name"] for p in params if p.get("in") == "query"]
    for name in request.args:
        if name not in declared:
            _refuse_unknown(name, declared)
    values: dict[str, Any] = {}
    for param in params:
        if param.get("in") != "query":
            continue
        name, schema = param["name"], param["schema"]
        description = str(param.get("description", ""))
        raw = request.args.get(name, "")
        if raw == "":
            if param.get("required"):
                what = _expected(schema, description)
                raise BadParameter(
                    name,
                    f"{name} is required: {what}",
                    lazy_gettext(
                        "%(name)s is required: %(what)s",
                        name=name,
                        what=_expected_words(schema, description),
                    ),
                )
            values[name] = schema.get("default")
            continue
        values[name] = _convert(name, raw, schema, description)
    return values


def _refuse_unknown(name: str, declared: list[str]) -> None:
    shown = _shown(name)
    if not declared:
        raise BadParameter(
            name,
            f"unknown query parameter {shown}: this endpoint takes none",
            lazy_gettext("unknown query parameter %(name)s: this endpoint takes none", name=shown),
        )
    names = ", ".join(declared)
    raise BadParameter(
        name,
        f"unknown query parameter {shown}: this endpoint takes {names}",
        lazy_gettext(
            "unknown query parameter %(name)s: this endpoint takes %(names)s",
            name=shown,
            names=names,
        ),
    )


def validated_query() -> dict[str, Any]:
    """The current API request's query values as :func:`parse_query` made them
    (empty outside an endpoint declared with :func:`api_route`)."""
    return cast(dict[str, Any], g.get("hopchain_query", {}))


def json_response(description: str, schema: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """An OpenAPI response with an ``application/json`` body described by ``schema``."""
    return {
        "description": description,
        "content": {"application/json": {"schema": dict(schema or {})}},
    }


@dataclass(frozen=True, slots=True)
class Operation:
    path: str  # OpenAPI form: /api/v1/proof/{seq}
    method: str  # lower case
    operation_id: str
    summary: str
    description: str
    parameters: tuple[dict[str, Any], ...]
    request_body: dict[str, Any] | None
    responses: dict[str, dict[str, Any]]
    roles: tuple[Role, ...] | None  # None: public
    tags: tuple[str, ...] = field(default_factory=tuple)

    def as_openapi(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "operationId": self.operation_id,
            "summary": self.summary,
            "responses": self.responses,
        }
        if self.description:
            doc["description"] = self.description
        if self.tags:
            doc["tags"] = list(self.tags)
        if self.parameters:
            doc["parameters"] = list(self.parameters)
        if self.request_body is not None:
            doc["requestBody"] = self.request_body
        if self.roles is None:
            doc["security"] = []  # public: no credentials needed
        else:
            names = [r.value for r in self.roles]
            # OpenAPI 3.1 lets non-OAuth schemes list required role names.
            doc["security"] = [{"bearerAuth": names}, {"sessionCookie": names}]
            doc["x-roles"] = names
        return doc


def _path_schema(rule: str, converter: str | None) -> dict[str, Any]:
    if converter in CONVERTERS:
        return dict(CONVERTERS[converter][1])
    if converter in (None, "string", "path"):
        return {"type": "string", "minLength": 1}
    raise ValueError(
        f"{rule}: use <id:...> (a row id) or <seq:...> (a ledger seq) for numbers in a "
        f"path, not <{converter}:...>: an id out of the database's range must be 404"
    )


def _openapi_path(rule: str) -> tuple[str, list[dict[str, Any]]]:
    params: list[dict[str, Any]] = []

    def replace(match: re.Match[str]) -> str:
        name = match["name"]
        schema = _path_schema(rule, match["converter"])
        params.append({"name": name, "in": "path", "required": True, "schema": schema})
        return "{" + name + "}"

    return API_PREFIX + _RULE_VARIABLE.sub(replace, rule), params


def _error_response(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ERROR_REF}}}


def _responses(
    declared: Mapping[int | str, str | Mapping[str, Any]] | None,
    roles: tuple[Role, ...] | None,
    *,
    has_query: bool,
    has_path: bool,
    has_body: bool,
) -> dict[str, dict[str, Any]]:
    """Declared responses plus the ones every such operation can answer.

    An error status declared by its description alone gets the JSON error body
    (``{"error", "status"}``), which is what :mod:`web.errors` answers.
    """
    out: dict[str, dict[str, Any]] = {}
    for status, value in (declared or {200: "OK"}).items():
        error = int(status) >= 400
        if isinstance(value, str):
            out[str(status)] = _error_response(value) if error else {"description": value}
        else:
            out[str(status)] = dict(value)
            if error and "content" not in value:
                out[str(status)]["content"] = _error_response("")["content"]
    implied: dict[str, str] = {}
    if has_query or has_body:
        implied["400"] = "Malformed request (a query parameter names `parameter`)"
        implied["422"] = "Well-formed but invalid request"
    if has_path:
        implied["404"] = "Nothing with that id or key (or not visible to the caller)"
    if has_body:
        implied["413"] = "The body is too large"
    if roles is not None:
        implied["401"] = "Not authenticated"
        implied["403"] = "Authenticated, but the role may not do this"
    for status, description in implied.items():
        out.setdefault(status, _error_response(description))
    return out


def _with_query(view: Callable[P, R], params: tuple[dict[str, Any], ...]) -> Callable[P, R]:
    """``view`` preceded by :func:`parse_query` of its declared query parameters."""
    query = tuple(p for p in params if p.get("in") == "query")

    @wraps(view)
    def validated(*args: P.args, **kwargs: P.kwargs) -> R:
        g.hopchain_query = parse_query(query)
        return view(*args, **kwargs)

    return validated


def make_api_route(
    blueprint: Blueprint, registry: list[Operation]
) -> Callable[..., RouteDecorator[..., Any]]:
    """Build the ``api_route`` decorator bound to ``blueprint`` and ``registry``."""

    def api_route(
        rule: str,
        methods: Iterable[str] = ("GET",),
        *,
        summary: str,
        description: str = "",
        params: Iterable[Mapping[str, Any]] = (),
        request_body: Mapping[str, Any] | None = None,
        responses: Mapping[int | str, str | Mapping[str, Any]] | None = None,
        roles: Iterable[Role | str] | None,
        tags: Iterable[str] = (),
    ) -> RouteDecorator[P, R]:
        """Register an endpoint of ``/api/v1``: Flask route, role check and OpenAPI operation.

        ``roles=None`` declares the endpoint public (it then must reveal nothing
        that is not public); otherwise callers need one of ``roles`` (use
        ``ALL_ROLES`` for "anyone signed in"). ``roles`` has no default so every
        endpoint states its choice.
        """
        role_tuple = None if roles is None else tuple(parse_role(r) for r in roles)
        if role_tuple == ():
            raise ValueError(f"{rule}: roles=() is ambiguous; use ALL_ROLES or None (public)")
        method_list = [m.upper() for m in methods]
        path, path_params = _openapi_path(rule)
        query = tuple(dict(p) for p in params)
        for p in query:  # headers are documented here and checked by the view
            if p.get("in") == "query" and p.get("schema", {}).get("type") not in _TYPES:
                raise ValueError(f"{rule}: declare {p.get('name')!r} with query_param()")
            if p.get("in") not in ("query", "header"):
                raise ValueError(f"{rule}: {p.get('name')!r}: only query and header parameters")
        all_params = tuple(path_params) + query

        def decorate(view: Callable[P, R]) -> Callable[P, R]:
            # Roles first (401/403 before 400), then the parameters, then the view.
            checked = _with_query(view, all_params)
            guarded = public(checked) if role_tuple is None else require_roles(*role_tuple)(checked)
            blueprint.add_url_rule(rule, view_func=cast(Any, guarded), methods=method_list)
            for method in method_list:
                registry.append(
                    Operation(
                        path=path,
                        method=method.lower(),
                        operation_id=view.__name__
                        if len(method_list) == 1
                        else f"{view.__name__}_{method.lower()}",
                        summary=summary,
                        description=description,
                        parameters=all_params,
                        request_body=None if request_body is None else dict(request_body),
                        responses=_responses(
                            responses,
                            role_tuple,
                            has_query=any(p["in"] == "query" for p in query),
                            has_path=bool(path_params),
                            has_body=request_body is not None,
                        ),
                        roles=role_tuple,
                        tags=tuple(tags),
                    )
                )
            return guarded

        return decorate

    return api_route


def _package_version() -> str:
    try:
        return version("hopchain")
    except PackageNotFoundError:
        return "0+unknown"


def build_document(operations: Iterable[Operation]) -> dict[str, Any]:
    """The OpenAPI 3.1 document for ``operations``, paths and methods sorted."""
    paths: dict[str, dict[str, Any]] = {}
    for op in sorted(operations, key=lambda o: (o.path, o.method)):
        paths.setdefault(op.path, {})[op.method] = op.as_openapi()
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "hopchain API",
            "version": _package_version(),
            "description": (
                "Serial-number ledger, diversion alerts and rebate settlement. "
                "Programs authenticate with `Authorization: Bearer TOKEN` "
                "(`hopchain token create`); people's browsers with the session cookie. "
                'Every error answers `{"error": ..., "status": ...}`.'
            ),
        },
        "paths": paths,
        "components": {
            "schemas": {"Error": ERROR_SCHEMA},
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer"},
                "sessionCookie": {"type": "apiKey", "in": "cookie", "name": "hopchain_session"},
            },
        },
    }
