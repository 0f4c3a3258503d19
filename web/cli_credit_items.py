"""``hopchain credit exposure | invoice | invoice-cancel | payment | write-off``: open
items, payments and exposure from the command line (issue 13, area B), added to the
shared ``credit`` group (:mod:`web.cli_credit`).

Each command acts as a user (``--as USER``; default the first active finance user,
else an admin; ``exposure`` also a channel manager or auditor) through
:mod:`risk.exposure` and :mod:`risk.payments`, so the checks and the audit trail
are the pages' and the API's; a refusal exits 1 with the reason. Amounts are major
units of the party's currency (``1250.00``); output is JSON in minor units.

- ``hopchain credit exposure CODE [--on DATE]``
- ``hopchain credit invoice CODE NUMBER --amount 1250.00 --issued 2026-11-01
  [--due 2026-12-01] [--description TEXT]`` (due default: the payment days in force)
- ``hopchain credit invoice-cancel NUMBER --reason TEXT`` (unpaid invoices only)
- ``hopchain credit payment CODE --amount 500.00 --received 2026-11-05 --reference REF
  [--remittance TEXT]`` (bank statement files: ``hopchain import payments FILE``)
- ``hopchain credit write-off CODE ITEM --reason TEXT [--amount 100.00] [--on DATE]``
  (ITEM as ``invoice:INV-1``, ``statement:12``, ``delivery:2026-11-03``)
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import click

from web.cli import in_app_context
from web.cli_credit import AS_OPTION, actor_for, credit, day_option_value, echo_json, said
from web.roles import Role

__all__ = ["COMMANDS"]

_WRITERS = (Role.FINANCE, Role.ADMIN)
_READERS = (Role.FINANCE, Role.ADMIN, Role.CHANNEL_MANAGER, Role.AUDITOR)


def _party(code: str) -> tuple[int, str]:
    from sqlalchemy.orm import Session

    from risk.exposure import party_by_code
    from web.db import get_engine

    with Session(get_engine()) as s:
        p = said(lambda: party_by_code(s, code))
        return p.id, p.currency


def _minor(text: str | None, currency: str, field: str) -> int | None:
    from settlement.reference_values import major_to_minor

    if text is None:
        return None
    return said(lambda: major_to_minor(text, currency, field, zero=False))


@credit.command("exposure")
@click.argument("code")
@click.option("--on", "on", callback=day_option_value, help="As of this day (default: today).")
@AS_OPTION
@in_app_context
def exposure(code: str, on: dt.date | None, username: str | None) -> None:
    """The exposure of the party CODE: open items, aging, limit and utilisation."""
    from sqlalchemy.orm import Session

    from risk.exposure import exposure_in, exposure_json, readable_party
    from web.db import get_engine

    actor = actor_for(username, _READERS)
    day = on or dt.datetime.now(dt.UTC).date()
    with Session(get_engine()) as s:
        party = said(lambda: readable_party(s, actor, code))
        echo_json({"on": day.isoformat(), **exposure_json(exposure_in(s, party.id, day), code)})


@credit.command("invoice")
@click.argument("code")
@click.argument("number")
@click.option("--amount", required=True, help="Amount in major units (1250.00).")
@click.option("--issued", required=True, help="Issue day, YYYY-MM-DD.")
@click.option("--due", default=None, help="Due day (default: issued + payment days in force).")
@click.option("--description", default="")
@AS_OPTION
@in_app_context
def invoice(
    code: str, number: str, amount: str, issued: str, due: str | None, description: str,
    username: str | None,
) -> None:  # fmt: skip
    """Record the trade invoice NUMBER of the party CODE."""
    from risk.payments import record_invoice
    from web.db import get_engine

    actor = actor_for(username, _WRITERS)
    pid, ccy = _party(code)
    minor = _minor(amount, ccy, "amount") or 0
    view = said(
        lambda: record_invoice(
            get_engine(), pid, number, issued_on=issued, due_on=due, amount_minor=minor,
            description=description, actor=actor,
        )
    )  # fmt: skip
    echo_json(dataclasses.asdict(view))


@credit.command("invoice-cancel")
@click.argument("number")
@click.option("--reason", required=True)
@AS_OPTION
@in_app_context
def invoice_cancel(number: str, reason: str, username: str | None) -> None:
    """Cancel the unpaid invoice NUMBER."""
    from risk.payments import cancel_invoice
    from web.db import get_engine

    actor = actor_for(username, _WRITERS)
    echo_json(dataclasses.asdict(said(lambda: cancel_invoice(get_engine(), number, reason, actor))))


@credit.command("payment")
@click.argument("code")
@click.option("--amount", required=True, help="Amount received, major units (500.00).")
@click.option("--received", required=True, help="Day received, YYYY-MM-DD.")
@click.option("--reference", required=True, help="The bank's reference.")
@click.option("--remittance", default="", help="Remittance text (names what it pays).")
@AS_OPTION
@in_app_context
def payment(
    code: str, amount: str, received: str, reference: str, remittance: str,
    username: str | None,
) -> None:  # fmt: skip
    """Record money received from the party CODE; prints what it settled."""
    from risk.payments import record_payment
    from web.db import get_engine

    actor = actor_for(username, _WRITERS)
    pid, ccy = _party(code)
    minor = _minor(amount, ccy, "amount") or 0
    view = said(
        lambda: record_payment(
            get_engine(), pid, minor, reference, actor, received_on=received,
            remittance=remittance, source="cli",
        )
    )  # fmt: skip
    echo_json(dataclasses.asdict(view))


@credit.command("write-off")
@click.argument("code")
@click.argument("item")
@click.option("--reason", required=True, help="Why it will not be paid.")
@click.option("--amount", default=None, help="Major units (default: all that is open).")
@click.option("--on", "on", callback=day_option_value, help="Day (default: today).")
@AS_OPTION
@in_app_context
def write_off_command(
    code: str, item: str, reason: str, amount: str | None, on: dt.date | None,
    username: str | None,
) -> None:  # fmt: skip
    """Write off (part of) the open ITEM of the party CODE."""
    from risk.payments import write_off
    from web.db import get_engine

    actor = actor_for(username, _WRITERS)
    pid, ccy = _party(code)
    minor = _minor(amount, ccy, "amount")
    day = on or dt.datetime.now(dt.UTC).date()
    view = said(lambda: write_off(get_engine(), pid, item, minor, reason, actor, on=day))
    echo_json(dataclasses.asdict(view))


COMMANDS: tuple[click.Command, ...] = ()
