"""Schemathesis against ``/api/v1/openapi.json``: no 5xx, and every answer as documented.

Each operation of the OpenAPI document gets a bounded number of generated
requests, sent through WSGI (no network) with an API token of a role the
operation allows, drawn per example, so a distributor's scoped view is fuzzed
as well as finance's or an auditor's. ``make test`` sends a few per operation
(every operation, both modes: ``QUICK``) on SQLite; the quick budget on PostgreSQL
and the full budget (``FULL``, about 1,250 requests) on both are marked slow and
run in CI and ``make test-all``:

- positive: path ids, query parameters and bodies drawn from their declared
  schemas (every documented input must be answered without a server error);
- negative: values that break the declared schema (an id past 2**31-1, a limit
  of -1, text where a number belongs), which must be refused with a 4xx.

Every answer must

- not be a server error (5xx),
- have a status code the operation documents,
- have a documented content type and a body matching the documented schema
  (errors included: ``{"error", "status"}``).

The world is small but real (``hopchain demo``: parties, units, a ledger with a
checkpoint, alerts, a posted and a draft run, a dispute, an adjustment, a
whistleblower report). Generated values are half the time swapped for ones
that exist (an id of a real run, a unit's key, a period with scans), so
requests reach the code behind the lookups instead of only answering 404. On
PostgreSQL (``HOPCHAIN_TEST_PG_URL``), where an id beyond 2**31-1 used to
answer 500, the same test runs again.
"""

from __future__ import annotations

import traceback
import zlib
from collections.abc import Callable
from typing import Any

import pytest
import schemathesis
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Err
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import Engine, text

import settlement
from tests._worlds import Ran
from web.roles import ALL_ROLES, Role

Bearer = Callable[..., dict[str, str]]
Operation = schemathesis.APIOperation[Any, Any, Any, Any]
Case = schemathesis.Case[Any]

#: Examples per operation and mode: the full budget, about 1,250 requests in all
#: (slow), and the quick one of every ``make test``, about a quarter of it.
FULL = {GenerationMode.POSITIVE: 12, GenerationMode.NEGATIVE: 6}
QUICK = {GenerationMode.POSITIVE: 3, GenerationMode.NEGATIVE: 2}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
DISTRIBUTOR = "D-ET"  # one of the demo's distributors (seed 5)

# Operations not fuzzed, and why. Each is tested with real inputs elsewhere.
EXCLUDED = {
    # Authenticated by a device signature over the raw body, which a generated
    # body never carries: every example would be the same 401. Signed batches,
    # good and bad, are tested in tests/scans_web.
    "POST /api/v1/scans": "needs a device signature over the body",
}


#: The demo network the fuzzing reads (built once per session and engine, copied).
DEMO: tuple[tuple[str, ...], ...] = (
    ("init",),
    ("demo", "--units", "40", "--distributors", "3", "--months", "2", "--seed", "5"),
    ("detect",),
)


@pytest.fixture
def world(
    cli_world: Callable[..., list[Ran]], client: FlaskClient, bearer: Bearer, engine: Engine
) -> None:
    """A demo network (2 months) with alerts, a posted and a draft run, a dispute of
    a posted statement line, a pending adjustment and a whistleblower report."""
    init, demo, detect = cli_world(*DEMO)
    assert init.exit_code == 0, init.output
    assert demo.exit_code == 0, demo.output
    assert detect.exit_code == 0, f"detect failed: {detect.output}"
    creator, approver = bearer("finance"), bearer("finance")

    def ok(method: str, path: str, headers: dict[str, str], **body: Any) -> Any:
        answer = client.open(path, method=method, json=body or None, headers=headers)
        assert answer.status_code in (200, 201), f"{path}: {answer.get_data(as_text=True)}"
        return answer.get_json()

    run = ok("POST", "/api/v1/runs", creator, period="2026-08")["id"]
    ok("POST", f"/api/v1/runs/{run}/approve", approver)
    ok("POST", f"/api/v1/runs/{run}/post", creator)
    ok("POST", "/api/v1/runs", creator, period="2026-09")
    distributor = bearer("distributor", party=DISTRIBUTOR)
    statements = ok("GET", "/api/v1/statements", distributor)
    assert statements, "the posted run has no statement for the distributor"
    ok(
        "POST",
        f"/api/v1/statements/{statements[0]['id']}/response",
        distributor,
        disputes=[{"line": 1, "reason": "not ours"}],
    )
    ok("POST", "/api/v1/adjustments", creator, party=DISTRIBUTOR, amount="-10.00", reason="fee")
    with engine.connect() as conn:
        key = conn.execute(text("SELECT key FROM units ORDER BY id DESC LIMIT 1")).scalar_one()
    ok("POST", "/api/v1/reports", distributor, unit=key, seen_at="2026-09-10T12:00")


def _known(engine: Engine) -> dict[str, list[Any]]:
    """Values that name something in the world, by parameter or body field name."""

    def column(sql: str) -> list[Any]:
        with engine.connect() as conn:
            return list(conn.execute(text(sql)).scalars())

    size = column("SELECT COUNT(*) FROM entries")[0]
    keys = column("SELECT key FROM units ORDER BY id LIMIT 6")
    codes = column("SELECT code FROM parties ORDER BY id")
    return {
        "run_id": column("SELECT id FROM settlement_runs"),
        "statement_id": column("SELECT id FROM statements"),
        "alert_id": column("SELECT id FROM alerts"),
        "party_id": column("SELECT id FROM parties"),
        "dispute_id": column("SELECT id FROM statement_disputes"),
        "adjustment_id": column("SELECT id FROM adjustments"),
        "report_id": column("SELECT id FROM whistleblower_reports"),
        "key": keys,
        "unit": keys,
        "party_code": codes,
        "party": codes,
        "kind": list(settlement.IMPORT_KINDS),
        "gtin": column("SELECT DISTINCT gtin FROM units WHERE gtin IS NOT NULL LIMIT 3"),
        "seq": [0, size // 2, size - 1],
        "start": [0, size - 2],
        "end": [1, size],
        "tree_size": [1, size],
        "first": [1, size // 2],
        "second": [size // 2, size],
        "period": ["2026-08", "2026-09"],
        "month": ["2026-08"],
        "quarter": ["2026-Q3"],
        "day": ["2026-08-15"],
        "currency": ["EUR"],
    }


def _json_properties(operation: Operation) -> set[str]:
    body = operation.definition.raw.get("requestBody", {})
    schema = body.get("content", {}).get("application/json", {}).get("schema", {})
    return set(schema.get("properties", {}))


def _use_known(case: Case, picks: dict[str, Any], fields: set[str]) -> None:
    """Put each picked value where the operation takes a parameter or field of that name."""
    for name, value in picks.items():
        if value is None:
            continue
        if case.path_parameters is not None and name in case.path_parameters:
            case.path_parameters[name] = value
        elif name in fields and isinstance(case.body, dict):
            case.body[name] = str(value) if name in ("unit", "party", "period") else value
        else:
            case.query = {**(case.query or {}), name: value}


def _operation_names(operation: Operation) -> set[str]:
    params = {p["name"] for p in operation.definition.raw.get("parameters", [])}
    return params | _json_properties(operation)


def _fuzz(
    operation: Operation,
    mode: GenerationMode,
    tokens: dict[str, dict[str, str]],
    known: dict[str, list[Any]],
    examples: int,
) -> str | None:
    """Run generated requests of ``operation`` in ``mode``; the failure, if any.

    Positive: values as documented, half of them swapped for known ones.
    Negative: values that break the documented schema (an id past 2**31-1, a
    limit of -1, a string where a number belongs); they must be refused with a
    documented 4xx, never a 5xx.
    """
    roles: list[str | None] = list(operation.definition.raw.get("x-roles") or [None])
    fields = _json_properties(operation)
    positive = mode is GenerationMode.POSITIVE
    names = sorted(_operation_names(operation) & set(known)) if positive else []
    picks = st.fixed_dictionaries({n: st.none() | st.sampled_from(known[n]) for n in names})

    @given(
        case=operation.as_strategy(generation_mode=mode),
        role=st.sampled_from(roles),
        picks=picks,
    )
    @settings(
        max_examples=examples,
        deadline=None,  # bounded by the number of examples, not by the clock
        database=None,
        phases=(Phase.explicit, Phase.generate),
        suppress_health_check=list(HealthCheck),
    )
    def fuzz(case: Case, role: str | None, picks: dict[str, Any]) -> None:
        _use_known(case, picks, fields)
        headers = tokens[role] if role is not None else {}
        case.call_and_validate(headers=headers, checks=CHECKS)

    try:
        fuzz()
    except (Exception, BaseExceptionGroup) as exc:  # failed checks (a group), or a 500's error
        return "".join(traceback.format_exception_only(exc))
    return None


#: The operations are fuzzed in this many tests (each its own world), so that xdist's
#: workers share them instead of one worker running them all.
SHARDS = 3


def _shard(label: str) -> int:
    """The shard an operation belongs to: stable across runs and processes."""
    return zlib.crc32(label.encode()) % SHARDS


# make test fuzzes every operation quickly on SQLite (the handlers and checks are the
# same on both engines; the rest of the suite runs on PostgreSQL too); CI runs the
# quick and the full budget on both (about 70 s of CPU on PostgreSQL).
@pytest.mark.slow_on_postgres
@pytest.mark.parametrize(
    "budget",
    [pytest.param(QUICK, id="quick"), pytest.param(FULL, id="full", marks=pytest.mark.slow)],
)
@pytest.mark.parametrize("shard", range(SHARDS))
def test_every_operation_answers_as_documented(
    app: Flask,
    bearer: Bearer,
    engine: Engine,
    world: None,
    shard: int,
    budget: dict[GenerationMode, int],
) -> None:
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    tokens = {
        role.value: bearer(role.value, party=DISTRIBUTOR if role is Role.DISTRIBUTOR else None)
        for role in ALL_ROLES
    }
    known = {name: values for name, values in _known(engine).items() if values}
    failures: list[str] = []
    fuzzed = 0
    for result in schema.get_all_operations():
        if isinstance(result, Err):
            failures.append(f"the document has an invalid operation: {result.err()}")
            continue
        operation = result.ok()
        label = f"{operation.method.upper()} {operation.path}"
        if label in EXCLUDED or _shard(label) != shard:
            continue
        raw = operation.definition.raw
        for mode, examples in budget.items():
            if mode is GenerationMode.NEGATIVE and not (
                raw.get("parameters") or raw.get("requestBody")
            ):
                continue  # nothing to break
            problem = _fuzz(operation, mode, tokens, known, examples)
            if problem is not None:  # every failure is reported, not only the first
                failures.append(f"{label} ({mode.value}): {problem}")
        fuzzed += 1
    assert fuzzed > 50 // SHARDS, f"only {fuzzed} operations were fuzzed in shard {shard}"
    assert not failures, f"{len(failures)} operations failed:\n\n" + "\n\n".join(failures)
    if shard == 0:
        _tampered_statement_answers_as_documented(schema, engine, tokens["finance"])


def _tampered_statement_answers_as_documented(
    schema: schemathesis.BaseSchema, engine: Engine, finance: dict[str, str]
) -> None:
    """What no generated request provokes: a posted statement changed in the database
    is never served (409), and the 409 is documented like every other answer."""
    with engine.begin() as conn:
        run, statement = conn.execute(
            text(
                "SELECT r.id, s.id FROM settlement_runs r JOIN statements s ON s.run_id = r.id"
                " WHERE r.status = 'posted' ORDER BY s.id LIMIT 1"
            )
        ).one()
        conn.execute(
            text(
                "UPDATE statement_lines SET amount_minor = amount_minor + 100 WHERE statement_id = :s"
            ),
            {"s": statement},
        )
    paths = {
        "/api/v1/statements/{statement_id}": {"statement_id": statement},
        "/api/v1/statements/{statement_id}/download": {"statement_id": statement},
        "/api/v1/runs/{run_id}/journal.csv": {"run_id": run},
        "/api/v1/runs/{run_id}/payments": {"run_id": run},
        "/api/v1/runs/{run_id}/payments/exclusions.csv": {"run_id": run},
    }
    for path, ids in paths.items():
        case = schema[path]["GET"].Case(path_parameters=ids)
        response = case.call_and_validate(headers=finance, checks=CHECKS)
        assert response.status_code == 409, f"{path}: {response.status_code}"


def test_the_shards_cover_every_operation(app: Flask) -> None:
    """Every operation of the document falls in one of the shards, and each shard
    has some: none is left unfuzzed by the split."""
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    labels = []
    for result in schema.get_all_operations():
        assert not isinstance(result, Err), result.err()
        labels.append(f"{result.ok().method.upper()} {result.ok().path}")
    counts = [sum(1 for label in labels if _shard(label) == n) for n in range(SHARDS)]
    assert sum(counts) == len(labels) > 50
    assert min(counts) > 50 // SHARDS, counts
