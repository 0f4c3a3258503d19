"""The recruitment pipeline's rules (partners.recruitment): applications, the
stage transitions and what each stage needs, screening arithmetic, site-visit
photos, terms, acquisition costs and the board's figures, signing into a trial."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from ledger.models import Party
from partners import agreements as ag
from partners import recruitment as rc
from partners.audit import history
from partners.errors import PartnerDenied, PartnerError, PartnerNotFound, PartnerStateError
from partners.models import (
    AcquisitionCost,
    PartnerEvent,
    Prospect,
    ProspectStage,
    SiteVisitPhoto,
    Trial,
)
from partners.values import InvalidField
from tests.partners._agreements_world import seed
from tests.partners._recruit_world import (
    APPLICATION,
    CHANNEL,
    DISTRIBUTOR,
    FINANCE,
    PM,
    image_bytes,
    walk_to,
)


def days_ago_ms(today: dt.date, days: int) -> int:
    """Noon UTC ``days`` days before ``today``, in epoch milliseconds."""
    day = today - dt.timedelta(days=days)
    return int(dt.datetime(day.year, day.month, day.day, 12, tzinfo=dt.UTC).timestamp() * 1000)


def _count(engine: Engine, model: type) -> int:
    with Session(engine) as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


# ------------------------------------------------------------------ applications


def test_an_application_is_stored_at_stage_application_with_a_reference(engine: Engine) -> None:
    pid, ref = rc.submit_application(engine, APPLICATION, source="api")
    assert ref.startswith("APP-") and len(ref) == len("APP-2026-") + 8
    detail = rc.get_prospect(engine, pid, PM)
    p = detail.prospect
    assert (p.stage, p.channel, p.source, p.country) == ("application", "inbound", "api", "CN")
    assert p.contact_email == "li.wei@bright.example.cn"
    assert detail.contact_phone == "+862155550100"
    assert [s.stage for s in detail.stages] == ["application"]
    assert [(e.action, e.actor_name) for e in detail.events] == [("prospect.created", "applicant")]


def test_references_differ_and_do_not_count_up(engine: Engine) -> None:
    refs = {rc.submit_application(engine, APPLICATION)[1] for _ in range(5)}
    assert len(refs) == 5
    tails = sorted(r.rsplit("-", 1)[1] for r in refs)
    assert tails != [f"{i:08d}" for i in range(1, 6)]


def test_every_missing_or_bad_field_is_named_and_nothing_is_stored(engine: Engine) -> None:
    bad = {
        "company_name": " ",
        "country": "XX",
        "contact_email": "not-an-address",
        "kind": "wholesaler",
        "channel": "tv",
    }
    with pytest.raises(rc.InvalidInput) as caught:
        rc.submit_application(engine, bad)
    fields = [p.field for p in caught.value.problems]
    assert fields == ["company_name", "kind", "country", "contact_name", "contact_email", "channel"]
    assert "country: 'XX' is not an ISO 3166 country code" in str(caught.value)
    assert _count(engine, Prospect) == 0
    assert _count(engine, PartnerEvent) == 0


def test_a_value_that_is_not_text_is_named(engine: Engine) -> None:
    with pytest.raises(InvalidField) as caught:
        rc.submit_application(engine, {**APPLICATION, "company_name": 42})
    assert str(caught.value) == "company_name: must be text"


@given(
    st.fixed_dictionaries(
        {},
        optional={
            name: st.one_of(st.none(), st.text(max_size=30), st.integers(), st.booleans())
            for name in ("company_name", "country", "contact_name", "contact_email", "kind")
        },
    )
)
def test_the_validator_names_fields_or_accepts(data: dict[str, object]) -> None:
    """Whatever arrives, the check either accepts or names only fields it was given
    or that are required; it never raises anything but a PartnerError."""
    problems = rc._Problems()
    rc._prospect_fields(data, problems, channel_default="inbound")
    required = {"company_name", "country", "contact_name", "contact_email"}
    for p in problems.found:
        assert p.field in set(data) | required
        assert str(p).startswith(p.field + ": ")


def test_create_prospect_needs_a_channel_and_a_writer(engine: Engine) -> None:
    with pytest.raises(InvalidField) as caught:
        rc.create_prospect(engine, APPLICATION, PM)
    assert caught.value.field == "channel"
    with pytest.raises(PartnerDenied):
        rc.create_prospect(engine, {**APPLICATION, "channel": "exhibition"}, FINANCE)
    view = rc.create_prospect(engine, {**APPLICATION, "channel": "exhibition"}, PM)
    assert (view.source, view.channel) == ("manual", "exhibition")


# ------------------------------------------------------------------ transitions


@pytest.mark.parametrize(
    ("stage", "target"),
    [
        ("application", "site_visit"),
        ("application", "negotiation"),
        ("application", "signing"),
        ("application", "application"),
        ("screening", "application"),
        ("screening", "negotiation"),
        ("site_visit", "signing"),
        ("negotiation", "screening"),
        ("signing", "negotiation"),
    ],
)
def test_an_illegal_move_is_refused_with_the_allowed_ones_named(
    engine: Engine, stage: str, target: str
) -> None:
    pid = walk_to(engine, stage)
    with pytest.raises(PartnerStateError) as caught:
        rc.move(engine, pid, target, PM)
    allowed = ", ".join(s for s in (rc.NEXT_STAGE[stage], "rejected", "withdrawn") if s != "signed")
    assert f"is at {stage}: it may move to {allowed}, not to {target}" in str(caught.value)
    assert rc.get_prospect(engine, pid, PM).prospect.stage == stage


def test_signed_is_reached_only_by_signing(engine: Engine) -> None:
    pid = walk_to(engine, "signing")
    with pytest.raises(PartnerStateError, match="signed by signing it"):
        rc.move(engine, pid, "signed", PM)


def test_an_unknown_stage_is_named(engine: Engine) -> None:
    pid, _ = rc.submit_application(engine, APPLICATION)
    with pytest.raises(InvalidField, match="stage: 'done' is not one of application"):
        rc.move(engine, pid, "done", PM)


@pytest.mark.parametrize("closing", ["rejected", "withdrawn"])
def test_closing_needs_a_reason_and_a_closed_prospect_never_moves(
    engine: Engine, closing: str
) -> None:
    pid = walk_to(engine, "site_visit")
    with pytest.raises(InvalidField) as caught:
        rc.move(engine, pid, closing, PM, note="  ")
    assert str(caught.value) == f"note: is empty: say why the prospect is {closing}"
    rc.move(engine, pid, closing, PM, note="No warehouse of its own")
    detail = rc.get_prospect(engine, pid, PM)
    assert detail.closed_reason == "No warehouse of its own"
    assert detail.allowed_moves == ()
    for target in ("negotiation", "rejected", "withdrawn"):
        with pytest.raises(PartnerStateError, match=f"is {closing}: a closed prospect"):
            rc.move(engine, pid, target, PM, note="again")


def test_each_move_keeps_owner_due_date_and_history(
    engine: Engine, make_user: Callable[..., int]
) -> None:
    owner = make_user("rita", "partner_manager")
    other = make_user("fred", "finance")
    pid, _ = rc.submit_application(engine, APPLICATION)
    with pytest.raises(InvalidField, match="not an active partner manager or admin"):
        rc.move(engine, pid, "screening", PM, owner_user_id=other)
    with pytest.raises(InvalidField, match="due_on: '2026-13-01' is not a date"):
        rc.move(engine, pid, "screening", PM, owner_user_id=owner, due_on="2026-13-01")
    rc.move(engine, pid, "screening", PM, owner_user_id=owner, due_on="2026-12-10", note="go")
    rc.assign(engine, pid, PM, owner_user_id=owner, due_on="2026-12-20", note="later")
    detail = rc.get_prospect(engine, pid, PM, today=dt.date(2026, 12, 21))
    assert [(s.stage, s.owner_name, s.due_on, s.note) for s in detail.stages] == [
        ("application", None, None, ""),
        ("screening", "rita", "2026-12-10", "go"),
        ("screening", "rita", "2026-12-20", "later"),
    ]
    assert detail.prospect.overdue
    actions = [e.action for e in detail.events]
    assert actions == ["prospect.assigned", "prospect.stage", "prospect.created"]
    stage_event = detail.events[1]
    assert stage_event.detail["from"] == "application" and stage_event.detail["to"] == "screening"


@pytest.mark.parametrize("actor", [FINANCE, CHANNEL, DISTRIBUTOR])
def test_readers_and_distributors_cannot_move_prospects(engine: Engine, actor: object) -> None:
    pid, _ = rc.submit_application(engine, APPLICATION)
    with pytest.raises(PartnerDenied):
        rc.move(engine, pid, "screening", actor)  # type: ignore[arg-type]
    if actor is DISTRIBUTOR:
        with pytest.raises(PartnerDenied):
            rc.get_prospect(engine, pid, DISTRIBUTOR)
    else:
        assert rc.get_prospect(engine, pid, actor).prospect.stage == "application"  # type: ignore[arg-type]


def test_a_missing_prospect_is_not_found(engine: Engine) -> None:
    with pytest.raises(PartnerNotFound, match="no prospect 999"):
        rc.move(engine, 999, "screening", PM)


# ------------------------------------------------------------------ screening


def test_screening_total_is_the_weighted_sum(engine: Engine) -> None:
    pid = walk_to(engine, "screening")
    for criterion, points in zip(rc.CRITERIA, (80, 70, 60, 90), strict=True):
        result = rc.score(engine, pid, criterion, points, "seen on site", PM)
    # 80 x 0.3 + 70 x 0.3 + 60 x 0.2 + 90 x 0.2 = 24 + 21 + 12 + 18 = 75.0
    assert result.total == Decimal("75.0")
    assert [line.weighted for line in result.lines] == [
        Decimal("24.0"),
        Decimal("21.0"),
        Decimal("12.0"),
        Decimal("18.0"),
    ]
    assert result.complete and result.weights_version == 1
    # a later score replaces the earlier one: qualification 80 -> 50 takes 9 off
    result = rc.score(engine, pid, "qualification", 50, "licence expires soon", PM)
    assert result.total == Decimal("66.0")
    assert result.lines[0].reason == "licence expires soon"


def test_leaving_screening_names_the_criteria_not_scored(engine: Engine) -> None:
    pid = walk_to(engine, "screening")
    rc.score(engine, pid, "resources", 60, "two trucks", PM)
    with pytest.raises(PartnerStateError) as caught:
        rc.move(engine, pid, "site_visit", PM)
    assert str(caught.value).endswith(
        "cannot leave screening: no score yet for qualification, sales_capability, willingness"
    )


def test_a_score_needs_a_reason_a_range_and_a_known_criterion(engine: Engine) -> None:
    pid = walk_to(engine, "screening")
    with pytest.raises(rc.InvalidInput) as caught:
        rc.score(engine, pid, "luck", 101, "", PM)
    assert [p.field for p in caught.value.problems] == ["criterion", "score", "reason"]
    assert "score: 101 is not between 0 and 100" in str(caught.value)
    other = walk_to(engine, "site_visit")
    with pytest.raises(PartnerStateError, match="scores are given at screening"):
        rc.score(engine, other, "resources", 50, "late", PM)


def test_several_scores_are_all_or_nothing(engine: Engine) -> None:
    pid = walk_to(engine, "screening")
    with pytest.raises(InvalidField) as caught:
        rc.score_many(
            engine, pid, [("resources", 60, "two trucks"), ("willingness", "x", "keen")], PM
        )
    assert str(caught.value) == "scores[1].score: 'x' is not a whole number"
    assert rc.screening_result(engine, pid, PM).missing == rc.CRITERIA
    result = rc.score_many(
        engine, pid, [("resources", 60, "two trucks"), ("willingness", "90", "keen")], PM
    )
    assert result.total == Decimal("30.0")  # 60 x 0.2 + 90 x 0.2


def test_new_weights_must_sum_to_one_and_name_unknown_criteria(engine: Engine) -> None:
    with pytest.raises(rc.InvalidInput) as caught:
        rc.set_screening_weights(engine, {"qualification": "0.5", "luck": "0.5"}, PM)
    assert [p.field for p in caught.value.problems] == [
        "weights.luck",
        "weights.sales_capability",
        "weights.resources",
        "weights.willingness",
    ]
    with pytest.raises(InvalidField, match=r"add up to 1\.1; they must add up to 1"):
        rc.set_screening_weights(
            engine,
            {
                "qualification": "0.4",
                "sales_capability": "0.3",
                "resources": "0.2",
                "willingness": "0.2",
            },
            PM,
        )
    version, weights = rc.set_screening_weights(
        engine,
        {
            "qualification": "0.25",
            "sales_capability": "0.25",
            "resources": "0.25",
            "willingness": "0.25",
        },
        PM,
    )
    assert version == 1 and rc.screening_weights(engine) == (1, weights)
    pid = walk_to(engine, "screening")
    for criterion, points in zip(rc.CRITERIA, (80, 70, 60, 90), strict=True):
        result = rc.score(engine, pid, criterion, points, "x", PM)
    assert result.total == Decimal("75.00")  # (80 + 70 + 60 + 90) x 0.25


# ------------------------------------------------------------------ site visits


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_photos_are_kept_with_their_type_and_digest(engine: Engine, fmt: str) -> None:
    pid = walk_to(engine, "site_visit")
    data = image_bytes(fmt)
    visit = rc.add_site_visit(
        engine,
        pid,
        "2026-11-02",
        "Rita",
        "Clean warehouse",
        [rc.PhotoUpload("dir/shop.img", "application/octet-stream", data)],
        PM,
    )
    ((photo_id, name, content_type, digest, size),) = visit.photos
    assert name == "shop.img"
    assert content_type == {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}[fmt]
    import hashlib

    assert digest == hashlib.sha256(data).hexdigest() and size == len(data)
    assert rc.get_photo(engine, photo_id, FINANCE) == ("shop.img", content_type, data)


def test_a_file_that_is_not_an_image_is_refused_by_its_bytes(engine: Engine) -> None:
    pid = walk_to(engine, "site_visit")
    fake = b"%PDF-1.7 pretending" + image_bytes()[:20]
    with pytest.raises(rc.InvalidInput) as caught:
        rc.add_site_visit(
            engine,
            pid,
            "2026-11-02",
            "Rita",
            "",
            [
                rc.PhotoUpload("a.png", "image/png", image_bytes()),
                rc.PhotoUpload("b.png", "image/png", fake),
                rc.PhotoUpload("c.gif", "image/gif", image_bytes("GIF")),
            ],
            PM,
        )
    assert [str(p) for p in caught.value.problems] == [
        "report: is empty",
        "photos[1]: 'b.png' is not a JPEG, PNG or WebP image",
        "photos[2]: 'c.gif' is not a JPEG, PNG or WebP image",
    ]
    assert _count(engine, SiteVisitPhoto) == 0


def test_leaving_site_visit_needs_a_report(engine: Engine) -> None:
    pid = walk_to(engine, "site_visit")
    with pytest.raises(PartnerStateError, match="no site visit report yet"):
        rc.move(engine, pid, "negotiation", PM)
    with pytest.raises(InvalidField, match="visited_on: '2099-01-01' is in the future"):
        rc.add_site_visit(engine, pid, "2099-01-01", "Rita", "r", [], PM)
    rc.add_site_visit(engine, pid, "2026-11-02", "Rita", "Visited.", [], PM)
    assert rc.move(engine, pid, "negotiation", PM).stage == "negotiation"


# ------------------------------------------------------------------ terms


def test_terms_are_versioned_and_codes_checked(engine: Engine) -> None:
    pid = walk_to(engine, "negotiation")
    with pytest.raises(rc.InvalidInput) as caught:
        rc.propose_terms(
            engine, pid, {"territories": ["DE", "XX"], "programs": ["NOPE"], "trial_days": 0}, PM
        )
    assert [str(p) for p in caught.value.problems] == [
        "trial_days: 0 is not between 1 and 365",
        "currency: is empty",
        "territories[1]: 'XX' is not a stored territory",
        "programs[0]: 'NOPE' is not a rebate program",
    ]
    with pytest.raises(PartnerStateError, match="no terms proposed yet"):
        rc.move(engine, pid, "signing", PM)
    first = rc.propose_terms(engine, pid, {"territories": ["DE"], "currency": "eur"}, PM)
    second = rc.propose_terms(
        engine,
        pid,
        {
            "territories": "DE, FR",
            "programs": ["VOL"],
            "currency": "EUR",
            "deposit_minor": 250_000,
            "credit_limit_minor": "1000000",
            "trial_order_cap_units": 40,
        },
        PM,
    )
    assert (first.version, first.trial_days, first.trial_order_cap_units) == (1, 90, None)
    assert (second.version, second.territories, second.deposit_minor) == (2, ("DE", "FR"), 250_000)
    with Session(engine) as s:
        assert rc.latest_terms(s, pid) == second


# ------------------------------------------------------------------ signing


def test_signing_creates_a_trial_party_from_the_latest_terms(engine: Engine) -> None:
    pid = walk_to(engine, "signing", cap=40)
    code, trial_id, number = rc.sign(engine, pid, "CN-BRIGHT", PM, today=dt.date(2026, 12, 1))
    assert (code, number) == ("CN-BRIGHT", "AG-CN-BRIGHT-001")
    with Session(engine) as s:
        party = s.scalar(select(Party).where(Party.code == code))
        assert party is not None
        assert (party.status, party.country, party.currency) == ("trial", "CN", "EUR")
        assert party.local_name == "上海明亮贸易有限公司"
        trial = s.get(Trial, trial_id)
        assert trial is not None
        assert (trial.starts_on, trial.ends_on, trial.order_cap_units) == (
            "2026-12-01",
            "2027-02-28",
            40,
        )
        prospect = s.get(Prospect, pid)
        assert prospect is not None and (prospect.stage, prospect.party_id) == ("signed", party.id)
        actions = [e.action for e in history(s, party_id=party.id)]
        assert {"party.created", "prospect.signed", "trial.started"} <= set(actions)
        assert "agreement.drafted" in actions
    # the main agreement is drafted from the latest terms, for one year from signing
    drafted = ag.get_agreement(engine, number, PM).agreement
    assert (drafted.kind, drafted.status, drafted.valid_from, drafted.valid_to) == (
        "main",
        "draft",
        "2026-12-01",
        "2027-11-30",
    )
    assert (drafted.territories, drafted.programs, drafted.currency) == (("DE",), ("VOL",), "EUR")
    assert (drafted.deposit_minor, drafted.payment_terms_days) == (500_000, 30)
    with pytest.raises(PartnerStateError, match="is signed: a closed prospect"):
        rc.sign(engine, pid, "CN-BRIGHT-2", PM)


@given(st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2200, 12, 31)))
def test_the_first_agreement_runs_one_year_to_the_day_before_the_anniversary(
    day: dt.date,
) -> None:
    last = rc._last_day_of_year_from(day)
    assert (last - day).days + 1 in (365, 366)
    after = last + dt.timedelta(days=1)
    # the day after the last one is the anniversary (1 March after a 29 February)
    assert (after.month, after.day) == (
        (3, 1) if (day.month, day.day) == (2, 29) else (day.month, day.day)
    )
    assert after.year == day.year + 1


def test_signing_with_a_taken_code_changes_nothing(engine: Engine) -> None:
    seed(engine)  # makes D-EAST
    pid = walk_to(engine, "signing")
    with pytest.raises(PartnerError, match="D-EAST is already the code of a party"):
        rc.sign(engine, pid, "D-EAST", PM)
    assert rc.get_prospect(engine, pid, PM).prospect.stage == "signing"
    assert _count(engine, Trial) == 0


# ------------------------------------------------------------------ costs and the board


def test_a_cost_names_its_bad_fields(engine: Engine) -> None:
    with pytest.raises(rc.InvalidInput) as caught:
        rc.record_cost(engine, "radio", "2026-13", -5, "EURO", "", PM)
    assert [p.field for p in caught.value.problems] == [
        "channel",
        "period",
        "amount_minor",
        "currency",
    ]
    with pytest.raises(PartnerDenied):
        rc.record_cost(engine, "exhibition", "2026-11", 100, "EUR", "", FINANCE)


def test_board_figures(engine: Engine) -> None:
    today = dt.date(2026, 12, 15)
    # exhibition: 4 prospects, 2 signed; referral: 2 prospects, none signed; inbound: 1
    signed = [walk_to(engine, "signing", channel="exhibition") for _ in range(2)]
    for i, pid in enumerate(signed):
        rc.sign(engine, pid, f"EX-{i}", PM, today=today)
    walk_to(engine, "screening", channel="exhibition")
    rejected = walk_to(engine, "application", channel="exhibition")
    rc.move(engine, rejected, "rejected", PM, note="too small")
    walk_to(engine, "application", channel="referral")
    late = walk_to(engine, "application", channel="referral")
    rc.assign(engine, late, PM, owner_user_id=None, due_on="2026-12-01")
    rc.submit_application(engine, APPLICATION)
    with Session(engine) as s, s.begin():  # in its stage for 10 days
        p = s.get(Prospect, late)
        assert p is not None
        p.stage_since_ms = days_ago_ms(today, 10)
    rc.record_cost(engine, "exhibition", "2026-10", 300_000, "EUR", "Canton fair stand", PM)
    rc.record_cost(engine, "exhibition", "2026-11", 100_001, "EUR", "brochures", PM)
    rc.record_cost(engine, "exhibition", "2026-11", 90_000, "CNY", "Shanghai booth", PM)
    rc.record_cost(engine, "referral", "2026-11", 50_000, "EUR", "bonus", PM)
    b = rc.board(engine, FINANCE, today=today)
    figures = {f.stage: f for f in b.stages}
    assert figures["application"].count == 3
    assert figures["application"].overdue == 1
    assert figures["screening"].count == 1
    assert figures["signing"].count == 0 and figures["signing"].median_days is None
    assert b.closed == {"signed": 2, "rejected": 1, "withdrawn": 0}
    channels = {c.channel: c for c in b.channels}
    ex = channels["exhibition"]
    assert (ex.applications, ex.signed, ex.rate) == (4, 2, Decimal("0.5000"))
    # (300000 + 100001) / 2 = 200000.5 -> 200000 (half to even); 90000 / 2 = 45000
    assert ex.spent == {"CNY": 90_000, "EUR": 400_001}
    assert ex.cost_per_signed == {"CNY": 45_000, "EUR": 200_000}
    ref = channels["referral"]
    assert (ref.applications, ref.signed, ref.rate, ref.cost_per_signed) == (
        2,
        0,
        Decimal("0"),
        {},
    )
    assert channels["inbound"].applications == 1 and channels["association"].rate is None
    assert (b.trials_running, b.trials_admitted, b.trials_ended) == (2, 0, 0)
    assert _count(engine, AcquisitionCost) == 4


def test_board_ageing(engine: Engine) -> None:
    today = dt.date(2026, 12, 15)
    ids = [walk_to(engine, "application") for _ in range(3)]
    with Session(engine) as s, s.begin():
        for pid, days in zip(ids, (1, 4, 10), strict=True):
            p = s.get(Prospect, pid)
            assert p is not None
            p.stage_since_ms = days_ago_ms(today, days)
    app = rc.board(engine, PM, today=today).stages[0]
    assert (app.count, app.median_days, app.oldest_days) == (3, 4.0, 10)
    with Session(engine) as s:
        assert int(s.scalar(select(func.count()).select_from(ProspectStage)) or 0) == 3


def test_the_stage_history_is_json_serialisable_in_the_audit(engine: Engine) -> None:
    pid = walk_to(engine, "negotiation")
    with Session(engine) as s:
        for e in s.scalars(select(PartnerEvent).where(PartnerEvent.prospect_id == pid)):
            json.loads(e.detail_json)
