"""``hopchain credit investigate | rate | limit | table``: credit files, ratings and
limits from the command line (issue 13, area A), added to the shared ``credit``
group (:mod:`web.cli_credit`).

Each command acts as a user (``--as USER``; default the first active finance user,
else an admin) through :mod:`risk.credit_files`, :mod:`risk.rating` and
:mod:`risk.limits`, so the checks and audit trail are the pages' and the API's;
a refusal exits 1 with the reason (every bad field named). Output is JSON.

- ``hopchain credit investigate CODE --on 2026-11-20 --bank-reference good
  --verified --good-references 3 --insurer Coface --insurer-grade 7 --revenue
  1000000.00 --equity 250000.00 --current-ratio 1.6 --days-payable 40``
- ``hopchain credit rate CODE [--on DATE]``
- ``hopchain credit limit CODE`` (the limit in force and its history);
  ``--set AMOUNT --days N --reason TEXT`` overrides it (finance only; AMOUNT in
  major units of the party's currency); ``--remove`` ends the override.
- ``hopchain credit table`` prints the table in force; ``--file CSV`` (columns
  ``grade,limit,payment_days``; ``limit`` in major units of ``--currency``, default
  the table's) stores a new version (``--medium-factor``, ``--note``).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import click

from web.cli import in_app_context
from web.cli_credit import AS_OPTION, actor_for, credit, day_option_value, echo_json, said
from web.roles import Role

__all__ = ["COMMANDS"]

_WRITERS = (Role.FINANCE, Role.ADMIN)


def _party_id(code: str) -> int:
    from sqlalchemy.orm import Session

    from risk.credit_files import party_by_code
    from web.db import get_engine

    with Session(get_engine()) as s:
        return said(lambda: party_by_code(s, code)).id


@credit.command("investigate")
@click.argument("code")
@click.option("--on", "on", help="Day of the investigation, YYYY-MM-DD (default: today).")
@click.option("--registration", default="", help="What the company register said.")
@click.option("--verified/--not-verified", default=False, help="Register entry found active.")
@click.option("--bank-reference", type=click.Choice(["good", "fair", "poor", "none"]))
@click.option("--good-references", help="Good trade references (a whole number).")
@click.option("--bad-references", help="Bad trade references (a whole number).")
@click.option("--insurer", default="", help="The credit insurer (Coface, Allianz Trade...).")
@click.option("--insurer-grade", help="The insurer's grade 0-10 (10 the lowest risk).")
@click.option("--statement-year", help="Year of the financial statements.")
@click.option("--currency", help="Currency of the amounts (default: the party's).")
@click.option("--revenue", help="Revenue in major units (1000000.00).")
@click.option("--equity", help="Equity in major units (may be negative).")
@click.option("--current-ratio", help="Current assets / current liabilities (1.35).")
@click.option("--days-payable", help="Days payable outstanding.")
@click.option("--notes", default="")
@AS_OPTION
@in_app_context
def investigate(
    code: str, on: str | None, registration: str, verified: bool, bank_reference: str | None,
    good_references: str | None, bad_references: str | None, insurer: str,
    insurer_grade: str | None, statement_year: str | None, currency: str | None,
    revenue: str | None, equity: str | None, current_ratio: str | None,
    days_payable: str | None, notes: str, username: str | None,
) -> None:  # fmt: skip
    """Record a credit investigation of the party CODE; prints it as JSON."""
    from risk.credit_files import investigation_json, record_investigation
    from web.db import get_engine

    actor = actor_for(username, _WRITERS)
    values: dict[str, str | int | None] = {
        "investigated_on": on, "registration": registration,
        "registration_verified": "yes" if verified else "no", "bank_reference": bank_reference,
        "trade_references_good": good_references, "trade_references_bad": bad_references,
        "insurer": insurer, "insurer_grade": insurer_grade, "statement_year": statement_year,
        "currency": currency, "revenue": revenue, "equity": equity,
        "current_ratio": current_ratio, "days_payable": days_payable, "notes": notes,
    }  # fmt: skip
    pid = _party_id(code)
    view = said(lambda: record_investigation(get_engine(), pid, values, actor))
    echo_json(investigation_json(view))


@credit.command("rate")
@click.argument("code")
@click.option("--on", "on", callback=day_option_value, help="Day rated (default: today, UTC).")
@AS_OPTION
@in_app_context
def rate(code: str, on: dt.date | None, username: str | None) -> None:
    """Rate the party CODE from its newest investigation; prints the rating and the
    limit in force as JSON."""
    from sqlalchemy.orm import Session

    from risk.limits import limit_in_force, limit_json
    from risk.rating import rate_party, rating_json
    from web.db import get_engine

    actor = actor_for(username, _WRITERS)
    pid = _party_id(code)
    view = said(lambda: rate_party(get_engine(), pid, actor, on=on))
    with Session(get_engine()) as s:
        limit = limit_in_force(s, pid)
    echo_json({"rating": rating_json(view), "limit": limit_json(limit)})


@credit.command("limit")
@click.argument("code")
@click.option("--set", "amount", help="Override: the limit in major units of the party's currency.")
@click.option("--days", type=click.IntRange(0, 365), help="Override: payment days.")
@click.option("--reason", default="", help="Override: why (required with --set).")
@click.option("--remove", is_flag=True, help="End the override: the table's limit again.")
@AS_OPTION
@in_app_context
def limit(
    code: str, amount: str | None, days: int | None, reason: str, remove: bool,
    username: str | None,
) -> None:  # fmt: skip
    """Show the limit of the party CODE and its history; or override it (finance)."""
    from sqlalchemy.orm import Session

    from ledger.models import Party
    from risk.limits import limit_history, limit_json, override_limit, remove_override
    from settlement.reference_values import major_to_minor
    from web.db import get_engine

    engine = get_engine()
    pid = _party_id(code)
    if amount is not None or remove:
        actor = actor_for(username, (Role.FINANCE,))
        if remove:
            said(lambda: remove_override(engine, pid, actor))
        else:
            if days is None:
                raise click.UsageError("--set needs --days (payment days, 0-365)")
            with Session(engine) as s:
                party = s.get(Party, pid)
                assert party is not None
                currency = party.currency
            text = amount or ""
            minor = said(lambda: major_to_minor(text, currency, "--set"))
            said(lambda: override_limit(engine, pid, minor, days, reason, actor))
    with Session(engine) as s:
        history = limit_history(s, pid)
    echo_json(
        {
            "limit": limit_json(history[0] if history else None),
            "history": [limit_json(h) for h in history],
        }
    )


def _read_rows(path: Path) -> dict[str, dict[str, object]]:
    """The table's rows from a CSV file (``grade,limit,payment_days``); exit 1 naming
    a missing column."""
    text = path.read_text(encoding="utf-8-sig")
    reader = csv.DictReader(io.StringIO(text))
    wanted = {"grade", "limit", "payment_days"}
    missing = sorted(wanted - set(reader.fieldnames or ()))
    if missing:
        raise click.ClickException(
            f"{path.name}: missing column(s) {', '.join(missing)}; "
            "the columns are grade,limit,payment_days"
        )
    rows: dict[str, dict[str, object]] = {}
    for number, row in enumerate(reader, start=2):
        grade = (row.get("grade") or "").strip().upper()
        if grade in rows:
            raise click.ClickException(f"{path.name}: row {number}, column grade: {grade} twice")
        rows[grade] = {"limit": row.get("limit") or "", "payment_days": row.get("payment_days")}
    return rows


@credit.command("table")
@click.option(
    "--file", "file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A CSV grade,limit,payment_days: stores a new version of the table.",
)  # fmt: skip
@click.option("--currency", help="Currency of the file's limits (default: the table's).")
@click.option("--medium-factor", help="What medium risk multiplies the limit by (0 < f <= 1).")
@click.option("--note", default="", help="Why the table changes.")
@AS_OPTION
@in_app_context
def table(
    file: Path | None, currency: str | None, medium_factor: str | None, note: str,
    username: str | None,
) -> None:  # fmt: skip
    """Print the credit limit table in force; with --file store a new version."""
    from sqlalchemy.orm import Session

    from risk.limits import set_table, table_in_force, table_json
    from web.db import get_engine

    engine = get_engine()
    with Session(engine) as s:
        now = table_in_force(s)
    if file is not None:
        actor = actor_for(username, _WRITERS)
        rows = _read_rows(file)
        factor = medium_factor if medium_factor is not None else str(now.medium_factor)
        now = said(lambda: set_table(engine, currency or now.currency, rows, factor, note, actor))
    echo_json(table_json(now))


COMMANDS: tuple[click.Command, ...] = ()
