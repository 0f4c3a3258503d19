"""``hopchain party create | update | show | list | status`` (web/cli_parties.py):
the service's rules from the command line, acting as a partner manager."""

from __future__ import annotations

import json
from collections.abc import Callable

from click.testing import Result
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from ledger.models import Party
from partners.models import PartnerEvent
from partners.values import LOCALES
from web.i18n import SUPPORTED

Run = Callable[..., Result]


def test_the_document_languages_are_the_pages_languages() -> None:
    assert tuple(lang.code for lang in SUPPORTED) == LOCALES


def _create(run_cli: Run, code: str, *extra: str) -> Result:
    return run_cli(
        "party", "create", code, "--name", f"{code} Ltd", "--kind", "distributor",
        "--country", "CN", "--currency", "CNY", *extra,
    )  # fmt: skip


def test_create_show_update_status_list(
    engine: Engine, run_cli: Run, make_user: Callable[..., int]
) -> None:
    make_user("pam", "partner_manager")
    made = _create(run_cli, "NA", "--local-name", "中国精密", "--time-zone", "Asia/Shanghai")
    assert made.exit_code == 0, made.output
    assert "created by pam:" in made.output and "NA  distributor  active  CN  CNY" in made.output
    child = run_cli(
        "party", "create", "SH1", "--name", "Shop", "--kind", "dealer", "--country", "CN",
        "--currency", "CNY", "--parent", "NA", "--status", "trial",
    )  # fmt: skip
    assert child.exit_code == 0, child.output
    bad = _create(run_cli, "XX-1", "--parent", "NOPE")
    assert bad.exit_code == 1 and "parent: there is no party with code 'NOPE'" in bad.output
    wrong = run_cli(
        "party", "create", "D9", "--name", "x", "--kind", "distributor", "--country", "ZZ",
        "--currency", "CNY",
    )  # fmt: skip
    assert wrong.exit_code == 1 and "country: 'ZZ' is not an ISO 3166 country code" in wrong.output

    updated = run_cli(
        "party", "update", "NA", "--set", "name=China Precision", "--set", "time_zone="
    )
    assert updated.exit_code == 0, updated.output
    with Session(engine) as s:
        p = s.scalars(select(Party).where(Party.code == "NA")).one()
        assert (p.name, p.time_zone) == ("China Precision", None)
    fixed = run_cli("party", "update", "NA", "--set", "code=OTHER")
    assert fixed.exit_code == 1 and "code: a party's code never changes" in fixed.output

    admitted = run_cli("party", "status", "SH1", "active", "--reason", "trial passed")
    assert admitted.exit_code == 0 and "SH1 is now active" in admitted.output
    again = run_cli("party", "status", "SH1", "trial", "--reason", "back")
    assert again.exit_code == 1 and "SH1 is active; it cannot become trial" in again.output

    shown = run_cli("party", "show", "SH1", "--json")
    assert shown.exit_code == 0, shown.output
    body = json.loads(shown.output)
    assert body["party"]["parent"] == "NA" and body["parent"]["code"] == "NA"
    assert [e["action"] for e in body["history"]] == ["party.status", "party.created"]
    text = run_cli("party", "show", "NA")
    assert "children: 1" in text.output and "party.updated by pam" in text.output

    listed = run_cli("party", "list", "--status", "active")
    assert listed.exit_code == 0
    assert "2 of 2 parties (2 active)" in listed.output
    dealers = run_cli("party", "list", "--kind", "dealer")
    assert "SH1  dealer" in dealers.output and "1 of 1 parties (1 active)" in dealers.output
    as_json = json.loads(run_cli("party", "list", "--json").output)
    assert as_json["total"] == 2 and [i["code"] for i in as_json["items"]] == ["NA", "SH1"]
    with Session(engine) as s:
        names = {e.actor_name for e in s.scalars(select(PartnerEvent))}
    assert names == {"pam"}


def test_as_names_a_partner_manager_or_admin_only(
    run_cli: Run, make_user: Callable[..., int]
) -> None:
    none = _create(run_cli, "NA")
    assert none.exit_code == 1 and "no active partner manager" in none.output
    make_user("fiona", "finance")
    make_user("root", "admin")
    refused = _create(run_cli, "NA", "--as", "fiona")
    assert refused.exit_code == 1 and "fiona is finance" in refused.output
    ok = _create(run_cli, "NA", "--as", "root")
    assert ok.exit_code == 0 and "created by root" in ok.output
    assert _create(run_cli, "NB").exit_code == 0  # the first admin when no partner manager
