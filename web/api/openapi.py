"""The OpenAPI 3.1 document, assembled from what each endpoint declares.

:func:`api_route` registers the Flask route, the role check and the OpenAPI
operation from one declaration, so the document cannot drift from the code: a
route that is not declared this way is not in the API.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from typing import Any, ParamSpec, TypeVar, cast

from flask import Blueprint

from web.roles import Role, parse_role
from web.security import API_PREFIX, public, require_roles

__all__ = [
    "Operation",
    "RouteDecorator",
    "build_document",
    "json_response",
    "make_api_route",
    "query_param",
]

P = ParamSpec("P")
R = TypeVar("R")
RouteDecorator = Callable[[Callable[P, R]], Callable[P, R]]

_CONVERTER_TYPES = {"int": "integer", "float": "number"}
_RULE_VARIABLE = re.compile(r"<(?:(?P<converter>[a-zA-Z_]+)(?:\([^)]*\))?:)?(?P<name>\w+)>")

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error", "status"],
    "properties": {
        "error": {"type": "string", "description": "What went wrong, for people."},
        "status": {"type": "integer", "description": "The HTTP status, repeated."},
    },
}
_ERROR_REF = {"$ref": "#/components/schemas/Error"}


def query_param(
    name: str,
    type: str = "integer",
    *,
    required: bool = False,
    description: str = "",
    **schema: Any,
) -> dict[str, Any]:
    """An OpenAPI query parameter; extra keywords go into its schema (``minimum=0``)."""
    param: dict[str, Any] = {
        "name": name,
        "in": "query",
        "required": required,
        "schema": {"type": type, **schema},
    }
    if description:
        param["description"] = description
    return param


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


def _openapi_path(rule: str) -> tuple[str, list[dict[str, Any]]]:
    params: list[dict[str, Any]] = []

    def replace(match: re.Match[str]) -> str:
        name = match["name"]
        kind = _CONVERTER_TYPES.get(match["converter"] or "", "string")
        params.append({"name": name, "in": "path", "required": True, "schema": {"type": kind}})
        return "{" + name + "}"

    return API_PREFIX + _RULE_VARIABLE.sub(replace, rule), params


def _responses(
    declared: Mapping[int | str, str | Mapping[str, Any]] | None,
    roles: tuple[Role, ...] | None,
    has_input: bool,
) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for status, value in (declared or {200: "OK"}).items():
        out[str(status)] = {"description": value} if isinstance(value, str) else dict(value)
    implied: dict[str, str] = {}
    if has_input:
        implied["400"] = "Malformed request"
        implied["422"] = "Well-formed but invalid request"
    if roles is not None:
        implied["401"] = "Not authenticated"
        implied["403"] = "Authenticated, but the role may not do this"
    for status, description in implied.items():
        out.setdefault(
            status,
            {"description": description, "content": {"application/json": {"schema": _ERROR_REF}}},
        )
    return out


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
        all_params = tuple(path_params) + tuple(dict(p) for p in params)

        def decorate(view: Callable[P, R]) -> Callable[P, R]:
            guarded = public(view) if role_tuple is None else require_roles(*role_tuple)(view)
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
                            responses, role_tuple, bool(all_params) or request_body is not None
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
