"""``hopchain party create | update | show | list | status``: parties as master data.

Each command acts as a partner manager (``--as USER``; default the first active
partner manager, else the first active admin) through :mod:`partners.parties`, so
the rules, the checks and the audit trail are the pages' and the API's. A refused
change exits 1 with the reason naming the field (``country: 'XX' is not an ISO
3166 country code``); ``show`` and ``list`` print JSON with ``--json``.
"""

from __future__ import annotations

import dataclasses
import json
from typing import TYPE_CHECKING, Any

import click

from web.cli import in_app_context
from web.roles import Role

if TYPE_CHECKING:
    from settlement.common import Actor

__all__ = ["COMMANDS", "partner_actor"]

_AS = click.option(
    "--as", "username", help="Partner manager or admin who acts (default: the first one)."
)


def partner_actor(username: str | None) -> Actor:
    """The partner manager or admin ``username`` (default: the first active partner
    manager, else the first active admin) as an Actor; exit 1 without one."""
    from settlement.common import Actor
    from web import accounts
    from web.db import get_session

    users = sorted(accounts.list_users(get_session()), key=lambda u: u.id)
    allowed = (Role.PARTNER_MANAGER, Role.ADMIN)
    if username is None:
        for role in allowed:
            for u in users:
                if u.role is role and u.active:
                    return Actor(u.username, role.value, user_id=u.id)
        raise click.ClickException(
            "no active partner manager: hopchain user create NAME --role partner_manager"
        )
    for u in users:
        if u.username == username:
            if not u.active:
                raise click.ClickException(f"user {username} is deactivated")
            if u.role not in allowed:
                raise click.ClickException(
                    f"user {username} is {u.role.value}; parties need a partner manager or admin"
                )
            return Actor(u.username, u.role.value, user_id=u.id)
    raise click.ClickException(f"no user {username}; create one with hopchain user create")


def _run(call: Any) -> Any:
    from partners.errors import PartnerError

    try:
        return call()
    except PartnerError as exc:
        raise click.ClickException(str(exc)) from None


def _echo_party(view: Any) -> None:
    click.echo(
        f"{view.code}  {view.kind}  {view.status}  {view.country or '-'}  {view.currency}"
        f"  parent {view.parent or '-'}  {view.name}"
        + (f" ({view.local_name})" if view.local_name else "")
    )


@click.group("party")
def party_group() -> None:
    """Parties as master data: create, edit, show, list, change status."""


@party_group.command("create")
@click.argument("code")
@click.option("--name", required=True, help="Legal name.")
@click.option(
    "--kind",
    required=True,
    type=click.Choice(["distributor", "dealer", "retailer", "inspector"]),
)
@click.option("--country", required=True, help="ISO 3166-1 alpha-2, e.g. CN.")
@click.option("--currency", required=True, help="ISO 4217, e.g. CNY.")
@click.option("--local-name", default="", help="The name in the partner's own script.")
@click.option("--parent", default="", help="The parent party's code.")
@click.option("--time-zone", default="", help="IANA time zone, e.g. Asia/Shanghai.")
@click.option("--locale", default="", help="Language of its documents: en, zh_Hans_CN, es.")
@click.option(
    "--status",
    default="active",
    type=click.Choice(["prospect", "trial", "active", "suspended"]),
    show_default=True,
)
@_AS
@in_app_context
def create_command(
    code: str,
    name: str,
    kind: str,
    country: str,
    currency: str,
    local_name: str,
    parent: str,
    time_zone: str,
    locale: str,
    status: str,
    username: str | None,
) -> None:
    """Create party CODE."""
    from partners.parties import PartyInput, create_party
    from web.db import get_engine

    actor = partner_actor(username)
    data = PartyInput(
        code=code, name=name, kind=kind, country=country, currency=currency,
        local_name=local_name, time_zone=time_zone, parent=parent, locale=locale, status=status,
    )  # fmt: skip
    view = _run(lambda: create_party(get_engine(), data, actor))
    click.echo(f"created by {actor.username}:")
    _echo_party(view)


@party_group.command("update")
@click.argument("code")
@click.option(
    "--set",
    "pairs",
    multiple=True,
    metavar="FIELD=VALUE",
    help="A field to change (name, local_name, kind, country, currency, time_zone, parent, "
    "locale); FIELD= clears an optional one. Repeat for several.",
)
@_AS
@in_app_context
def update_command(code: str, pairs: tuple[str, ...], username: str | None) -> None:
    """Change fields of party CODE (its code never changes; status: party status)."""
    from partners.parties import update_party
    from web.db import get_engine

    if not pairs:
        raise click.UsageError("name at least one --set FIELD=VALUE")
    changes: dict[str, object] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise click.UsageError(f"--set {pair!r}: write FIELD=VALUE")
        changes[name.strip()] = value
    actor = partner_actor(username)
    view = _run(lambda: update_party(get_engine(), code, changes, actor))
    _echo_party(view)


@party_group.command("status")
@click.argument("code")
@click.argument(
    "status",
    type=click.Choice(["prospect", "trial", "active", "suspended", "exiting", "terminated"]),
)
@click.option("--reason", required=True, help="Why (kept in the party's history).")
@_AS
@in_app_context
def status_command(code: str, status: str, reason: str, username: str | None) -> None:
    """Move party CODE to STATUS (prospect -> trial -> active <-> suspended;
    trial/active/suspended -> exiting -> terminated; trial -> terminated)."""
    from partners.parties import set_status
    from web.db import get_engine

    actor = partner_actor(username)
    view = _run(lambda: set_status(get_engine(), code, status, actor, reason))
    click.echo(f"{view.code} is now {view.status}")


@party_group.command("show")
@click.argument("code")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@_AS
@in_app_context
def show_command(code: str, as_json: bool, username: str | None) -> None:
    """Party CODE: master data, parent, children, addresses, contacts, history."""
    from partners.parties import get_party, party_history
    from web.db import get_engine

    actor = partner_actor(username)
    detail = _run(lambda: get_party(get_engine(), code, actor))
    events = _run(lambda: party_history(get_engine(), code, actor, limit=20))
    if as_json:
        out = dataclasses.asdict(detail)
        out["history"] = [dataclasses.asdict(e) for e in events]
        click.echo(json.dumps(out, ensure_ascii=False, indent=2))
        return
    _echo_party(detail.party)
    p = detail.party
    click.echo(f"  time zone {p.time_zone or '-'}, documents in {p.locale or 'the default'}")
    click.echo(f"  children: {detail.children}")
    for a in detail.addresses:
        where = f" ({a.lat_e6 / 1e6:.6f}, {a.lon_e6 / 1e6:.6f})" if a.lat_e6 is not None else ""
        click.echo(f"  address {a.id} {a.kind}: {a.line1}, {a.city}, {a.country}{where}")
    for c in detail.contacts:
        click.echo(
            f"  contact {c.id}{' (primary)' if c.primary else ''}: {c.name}"
            f" {c.role} {c.email} {c.phone}".rstrip()
        )
    for e in events:
        click.echo(f"  {e.action} by {e.actor_name}: {json.dumps(e.detail, ensure_ascii=False)}")


@party_group.command("list")
@click.option("--q", default="", help="Part of the code, name or local name.")
@click.option("--kind", default="", help="Only this kind.")
@click.option("--status", default="", help="Only this status.")
@click.option("--country", default="", help="Only this country (ISO 3166 alpha-2).")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000))
@click.option("--offset", default=0, type=click.IntRange(0))
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@_AS
@in_app_context
def list_command(
    q: str,
    kind: str,
    status: str,
    country: str,
    limit: int,
    offset: int,
    as_json: bool,
    username: str | None,
) -> None:
    """Parties by code, with the count in each status."""
    from partners.parties import page_parties
    from web.db import get_engine

    actor = partner_actor(username)
    page = _run(
        lambda: page_parties(
            get_engine(), actor, q=q, kind=kind, status=status, country=country,
            limit=limit, offset=offset,
        )
    )  # fmt: skip
    if as_json:
        out = {
            "total": page.total,
            "by_status": dict(page.by_status),
            "items": [dataclasses.asdict(r) for r in page.rows],
        }
        click.echo(json.dumps(out, ensure_ascii=False, indent=2))
        return
    for row in page.rows:
        _echo_party(row)
    counts = ", ".join(f"{n} {s}" for s, n in page.by_status.items() if n)
    click.echo(f"{len(page.rows)} of {page.total} parties ({counts or 'none'})")


COMMANDS = (party_group,)
