"""Parties as master data (issue 12): the service's rules, seen through what it
stores and what it refuses (partners/parties.py)."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from sqlalchemy import Engine, event, func, select
from sqlalchemy.orm import Session

from ledger.models import Party
from partners.errors import PartnerDenied, PartnerNotFound, PartnerStateError
from partners.models import PartnerEvent, PartyContact
from partners.parties import (
    STATUSES,
    TRANSITIONS,
    AddressInput,
    ContactInput,
    PartyInput,
    add_address,
    add_contact,
    create_party,
    create_party_in,
    get_party,
    page_parties,
    party_history,
    remove_address,
    remove_contact,
    set_status,
    update_address,
    update_contact,
    update_party,
)
from partners.values import InvalidField
from settlement import Actor

PM = Actor("pat", "partner_manager", user_id=None)
ADMIN = Actor("root", "admin")
FINANCE = Actor("fin", "finance")


def _input(code: str = "D-CN-1", **kw: str) -> PartyInput:
    values = {
        "name": "Huadong Trading Co., Ltd.",
        "kind": "distributor",
        "country": "CN",
        "currency": "CNY",
    }
    values.update(kw)
    return PartyInput(code=code, **values)


def _events(engine: Engine, code: str) -> list[tuple[str, dict[str, object]]]:
    with Session(engine) as s:
        pid = s.scalar(select(Party.id).where(Party.code == code))
        return [
            (e.action, json.loads(e.detail_json))
            for e in s.scalars(
                select(PartnerEvent).where(PartnerEvent.party_id == pid).order_by(PartnerEvent.id)
            )
        ]


def test_create_stores_every_field_and_audits_it(engine: Engine) -> None:
    view = create_party(
        engine,
        _input(
            local_name="华东贸易有限公司",
            time_zone="Asia/Shanghai",
            locale="zh_Hans_CN",
            country="cn",
            currency="cny",
        ),
        PM,
    )
    assert (view.code, view.country, view.currency, view.status) == (
        "D-CN-1",
        "CN",
        "CNY",
        "active",
    )
    with Session(engine) as s:
        p = s.scalars(select(Party).where(Party.code == "D-CN-1")).one()
        assert (p.local_name, p.time_zone, p.locale, p.kind) == (
            "华东贸易有限公司",
            "Asia/Shanghai",
            "zh_Hans_CN",
            "distributor",
        )
    [(action, detail)] = _events(engine, "D-CN-1")
    assert action == "party.created"
    assert detail["code"] == "D-CN-1" and detail["local_name"] == "华东贸易有限公司"


def test_create_in_an_open_session_rolls_back_with_it(engine: Engine) -> None:
    with Session(engine) as s:
        pid = create_party_in(s, _input("T-1", status="trial"), PM)
        assert s.get(Party, pid) is not None
        s.rollback()
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(Party)) == 0
        assert s.scalar(select(func.count()).select_from(PartnerEvent)) == 0


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"country": "XX"}, "country", "'XX' is not an ISO 3166 country code"),
        ({"currency": "XAU"}, "currency", "'XAU' is not an ISO 4217 currency code"),
        ({"currency": "EURO"}, "currency", "not an ISO 4217"),
        ({"time_zone": "Mars/Olympus"}, "time_zone", "not an IANA time zone"),
        ({"locale": "fr"}, "locale", "'fr' is not a language hopchain writes in"),
        ({"kind": "manufacturer"}, "kind", "'manufacturer' is not one of"),
        ({"status": "terminated"}, "status", "'terminated' is not one of"),
        ({"name": "  "}, "name", "is empty"),
        ({"parent": "NOPE"}, "parent", "there is no party with code 'NOPE'"),
    ],
)
def test_create_refuses_a_bad_field_naming_it(
    engine: Engine, changes: dict[str, str], field: str, words: str
) -> None:
    with pytest.raises(InvalidField) as caught:
        create_party(engine, _input(**changes), PM)
    assert caught.value.field == field
    assert str(caught.value).startswith(f"{field}: ") and words in str(caught.value)
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(Party)) == 0


def test_code_is_checked_and_unique(engine: Engine) -> None:
    with pytest.raises(InvalidField, match=r"^code: 'a b' is not a party code"):
        create_party(engine, _input("a b"), PM)
    create_party(engine, _input("D-1"), PM)
    with pytest.raises(InvalidField, match=r"^code: D-1 is already the code of a party"):
        create_party(engine, _input("D-1", name="Other"), PM)


def test_only_partner_managers_and_admins_write(engine: Engine) -> None:
    with pytest.raises(PartnerDenied, match=r"fin \(finance\) may not create parties"):
        create_party(engine, _input(), FINANCE)
    create_party(engine, _input(), ADMIN)
    with pytest.raises(PartnerDenied):
        set_status(engine, "D-CN-1", "suspended", FINANCE, "late payments")
    with pytest.raises(PartnerDenied):
        update_party(engine, "D-CN-1", {"name": "X"}, Actor("c", "channel_manager"))


def test_parent_rules_follow_the_channel_structure(
    engine: Engine, make_party: Callable[..., int]
) -> None:
    make_party("MFR", kind="manufacturer")
    create_party(engine, _input("NA", parent="MFR"), PM)  # national agent
    create_party(engine, _input("RD", parent="NA"), PM)  # regional (sub-)distributor
    create_party(engine, _input("DL", kind="dealer", parent="RD"), PM)
    create_party(engine, _input("RT", kind="retailer", parent="DL"), PM)
    with pytest.raises(InvalidField, match=r"^parent: a dealer needs a parent of kind distributor"):
        create_party(engine, _input("DL2", kind="dealer"), PM)
    with pytest.raises(
        InvalidField, match=r"^parent: DL is a dealer; the parent of a distributor is a"
    ):
        create_party(engine, _input("D2", parent="DL"), PM)
    with pytest.raises(InvalidField, match=r"^parent: MFR is a manufacturer"):
        create_party(engine, _input("DL3", kind="dealer", parent="MFR"), PM)
    detail = get_party(engine, "RD", PM)
    assert detail.party.parent == "NA" and detail.parent is not None
    assert detail.parent.code == "NA" and detail.parent.parent == "MFR"
    assert detail.children == 1


def test_a_parent_chain_never_loops(engine: Engine) -> None:
    create_party(engine, _input("A"), PM)
    create_party(engine, _input("B", parent="A"), PM)
    create_party(engine, _input("C", parent="B"), PM)
    with pytest.raises(InvalidField, match=r"^parent: C is below this party"):
        update_party(engine, "A", {"parent": "C"}, PM)
    with pytest.raises(InvalidField, match=r"^parent: A is below this party"):
        update_party(engine, "A", {"parent": "A"}, PM)
    with Session(engine) as s:
        assert s.scalar(select(Party.parent_id).where(Party.code == "A")) is None


def test_update_audits_what_changed_and_keeps_the_code(engine: Engine) -> None:
    create_party(engine, _input("A"), PM)
    create_party(engine, _input("B"), PM)
    view = update_party(
        engine, "B", {"name": "Beta Ltd", "parent": "A", "time_zone": "Asia/Shanghai"}, PM
    )
    assert (view.name, view.parent, view.time_zone) == ("Beta Ltd", "A", "Asia/Shanghai")
    update_party(engine, "B", {"name": "Beta Ltd"}, PM)  # nothing changes: nothing recorded
    actions = _events(engine, "B")
    assert [a for a, _ in actions] == ["party.created", "party.updated"]
    assert actions[1][1] == {
        "name": ["Huadong Trading Co., Ltd.", "Beta Ltd"],
        "parent": [None, "A"],
        "time_zone": [None, "Asia/Shanghai"],
    }
    with pytest.raises(InvalidField, match=r"^code: a party's code never changes"):
        update_party(engine, "B", {"code": "C"}, PM)
    with pytest.raises(InvalidField, match=r"^status: the status changes through"):
        update_party(engine, "B", {"status": "suspended"}, PM)
    with pytest.raises(InvalidField, match=r"^colour: is not a field of a party"):
        update_party(engine, "B", {"colour": "red"}, PM)
    with pytest.raises(PartnerNotFound, match=r"there is no party Z"):
        update_party(engine, "Z", {"name": "x"}, PM)


def test_a_kind_change_must_keep_the_children_valid(engine: Engine) -> None:
    create_party(engine, _input("D"), PM)
    create_party(engine, _input("S", kind="dealer", parent="D"), PM)
    with pytest.raises(InvalidField, match=r"^kind: D has dealer children"):
        update_party(engine, "D", {"kind": "retailer"}, PM)
    with pytest.raises(
        InvalidField, match=r"^parent: D is a distributor; the parent of a inspector"
    ):
        update_party(engine, "S", {"kind": "inspector"}, PM)
    with pytest.raises(InvalidField, match=r"^parent: S is below this party"):
        update_party(engine, "S", {"kind": "retailer", "parent": "S"}, PM)
    assert update_party(engine, "S", {"kind": "retailer", "parent": ""}, PM).parent is None


def test_status_transitions(engine: Engine) -> None:
    create_party(engine, _input("P", status="prospect"), PM)
    for target in ("trial", "active", "suspended", "active", "exiting", "terminated"):
        assert set_status(engine, "P", target, PM, f"to {target}").status == target
    with pytest.raises(PartnerStateError, match=r"P is terminated; it cannot become active"):
        set_status(engine, "P", "active", PM, "again")
    history = [d for a, d in _events(engine, "P") if a == "party.status"]
    assert history[0] == {"status": ["prospect", "trial"], "reason": "to trial"}
    assert len(history) == 6
    create_party(engine, _input("T", status="trial"), PM)
    set_status(engine, "T", "terminated", PM, "trial ended: order cap never reached")
    # an exit cancelled in its buffer returns the party to where it was
    for start in ("trial", "active", "suspended"):
        code = f"X{start}"
        create_party(engine, _input(code, status=start), PM)
        set_status(engine, code, "exiting", PM, "exit 1: strategy_change")
        assert set_status(engine, code, start, PM, "exit 1 cancelled").status == start
        changes = [d["status"] for a, d in _events(engine, code) if a == "party.status"]
        assert changes == [[start, "exiting"], ["exiting", start]]
    set_status(engine, "Xactive", "exiting", PM, "exit 2: strategy_change")
    with pytest.raises(
        PartnerStateError,
        match=r"Xactive is exiting; it cannot become prospect \(it may become: trial, active,"
        r" suspended, terminated\)",
    ):
        set_status(engine, "Xactive", "prospect", PM, "back to the start")
    create_party(engine, _input("Q", status="prospect"), PM)
    with pytest.raises(PartnerStateError, match=r"Q is prospect; it cannot become active"):
        set_status(engine, "Q", "active", PM, "skip the trial")
    with pytest.raises(InvalidField, match=r"^reason: is empty"):
        set_status(engine, "Q", "trial", PM, " ")
    with pytest.raises(InvalidField, match=r"^status: 'gone' is not one of"):
        set_status(engine, "Q", "gone", PM, "why")


def test_every_transition_the_table_allows_is_possible_and_no_other() -> None:
    assert set(TRANSITIONS) == set(STATUSES)
    assert TRANSITIONS["terminated"] == ()
    # the way back from an exit leads to every status an exit starts from
    assert set(TRANSITIONS["exiting"]) == {"trial", "active", "suspended", "terminated"}
    assert {s for s, targets in TRANSITIONS.items() if "exiting" in targets} == {
        "trial",
        "active",
        "suspended",
    }
    for targets in TRANSITIONS.values():
        assert set(targets) <= set(STATUSES)


def test_addresses_and_contacts(engine: Engine) -> None:
    create_party(engine, _input("D"), PM)
    a = add_address(
        engine,
        "D",
        AddressInput(
            "warehouse", "88 Century Ave", "Shanghai", "CN", lat="31.2304", lon="121.4737"
        ),
        PM,
    )
    assert (a.lat_e6, a.lon_e6) == (31_230_400, 121_473_700)
    with pytest.raises(InvalidField, match=r"^lat: 91 is outside -90 to 90 degrees"):
        add_address(engine, "D", AddressInput("office", "x", "y", "CN", lat="91", lon="0"), PM)
    with pytest.raises(InvalidField, match=r"^lon: give both latitude and longitude"):
        add_address(engine, "D", AddressInput("office", "x", "y", "CN", lat="1"), PM)
    update_address(
        engine, "D", a.id, AddressInput("warehouse", "89 Century Ave", "Shanghai", "CN"), PM
    )
    c = add_contact(
        engine,
        "D",
        ContactInput(
            "Li Wei", "owner", "Li.Wei@Example.CN", "+86 (21) 5555-0101", "zh_Hans_CN", True
        ),
        PM,
    )
    assert (c.email, c.phone) == ("Li.Wei@example.cn", "+862155550101")
    c2 = add_contact(engine, "D", ContactInput("Anna", email="anna@example.com", primary=True), PM)
    with pytest.raises(InvalidField, match=r"^email: 'not-an-address' is not an e-mail address"):
        add_contact(engine, "D", ContactInput("X", email="not-an-address"), PM)
    with pytest.raises(InvalidField, match=r"^phone: '12345' is not a telephone number"):
        add_contact(engine, "D", ContactInput("X", phone="12345"), PM)
    detail = get_party(engine, "D", PM)
    assert [x.name for x in detail.contacts] == ["Anna", "Li Wei"]  # one primary, first
    assert [x.primary for x in detail.contacts] == [True, False]
    assert detail.addresses[0].line1 == "89 Century Ave" and detail.addresses[0].lat_e6 is None
    update_contact(engine, "D", c.id, ContactInput("Li Wei", "general manager"), PM)
    remove_contact(engine, "D", c2.id, PM)
    remove_address(engine, "D", a.id, PM)
    with pytest.raises(PartnerNotFound, match=r"D has no contact"):
        remove_contact(engine, "D", c2.id, PM)
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(PartyContact)) == 1
    actions = [a for a, _ in _events(engine, "D")]
    assert actions == [
        "party.created",
        "party.address_added",
        "party.address_updated",
        "party.contact_added",
        "party.contact_added",
        "party.contact_updated",
        "party.contact_removed",
        "party.address_removed",
    ]
    assert party_history(engine, "D", FINANCE)[0].action == "party.address_removed"


def test_readers_and_a_distributor_reading_only_itself(engine: Engine) -> None:
    own = create_party(engine, _input("OWN"), PM)
    create_party(engine, _input("OTHER"), PM)
    me = Actor("d", "distributor", party_id=own.id)
    assert get_party(engine, "OWN", me).party.code == "OWN"
    with pytest.raises(PartnerDenied, match=r"may not see this party"):
        get_party(engine, "OTHER", me)
    assert [p.code for p in page_parties(engine, me).rows] == ["OWN"]
    with pytest.raises(PartnerDenied):
        page_parties(engine, Actor("w", "warehouse"))
    for role in ("finance", "channel_manager", "auditor"):
        assert page_parties(engine, Actor("r", role)).total == 2


def test_page_filters_and_counts(engine: Engine) -> None:
    for i in range(7):
        create_party(engine, _input(f"CN-{i}", status="trial" if i % 2 else "active"), PM)
    create_party(engine, _input("DE-1", name="Rhein GmbH", country="DE", currency="EUR"), PM)
    page = page_parties(engine, PM, limit=3, offset=3)
    assert [p.code for p in page.rows] == ["CN-3", "CN-4", "CN-5"]
    assert page.total == 8
    assert page.by_status["active"] == 5 and page.by_status["trial"] == 3
    assert page.by_status["terminated"] == 0
    trial = page_parties(engine, PM, status="trial")
    assert trial.total == 3 and trial.by_status["active"] == 5
    assert [p.code for p in page_parties(engine, PM, country="de").rows] == ["DE-1"]
    assert [p.code for p in page_parties(engine, PM, q="rhein").rows] == ["DE-1"]
    assert page_parties(engine, PM, q="100%").total == 0


def test_a_page_of_a_thousand_parties_is_two_queries(engine: Engine) -> None:
    with Session(engine) as s:
        s.add(Party(code="ROOT", name="Root", kind="distributor", currency="EUR", country="DE"))
        s.flush()
        root = s.scalar(select(Party.id).where(Party.code == "ROOT"))
        s.add_all(
            Party(code=f"P{i:04d}", name=f"P {i}", kind="dealer", currency="EUR", country="DE",
                  parent_id=root)
            for i in range(1000)
        )  # fmt: skip
        s.commit()
    statements: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        page = page_parties(engine, PM, limit=1001)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(page.rows) == 1001 and page.rows[1].parent == "ROOT"
    assert len(statements) == 2
