"""The demo's partner pipeline (issue 12, "Must show": "the demo seeds a realistic
pipeline: prospects in every stage, some on trial, one party exiting, agreements
for every active party").

Written after the demo network and its scans, through the services a partner
manager uses (never raw rows): :mod:`partners.recruitment` for prospects from all
five acquisition channels in every stage — application, screening with weighted
scores and their reasons, a site visit with its report and a photo (a small PNG
drawn with Pillow), negotiation with proposed terms, signing, signed (a party on
trial), rejected and withdrawn — and the money spent per channel and month;
:mod:`partners.agreements` for each signed prospect's agreement (drafted from its
terms, reviewed by two other people, signed with a PDF, so its grants and
enrolment come into force); :mod:`partners.trials` admits one of the trials;
:mod:`partners.crm` records meetings and calls with some distributors; and
:mod:`settlement.exit_settlement` starts one distributor's exit (a change of
strategy, in its buffer) with part of its stock planned for handover and a
customer handed over. The network's own distributors signed their agreements in
:mod:`web.demo_agreements`.

Prospects are companies in real cities of countries the network does not cover
(``geo.world_cities``), chosen by the seed: the same seed gives the same
pipeline (record times are the clock's).
"""

from __future__ import annotations

import datetime as dt
import io
import random
from dataclasses import dataclass, field

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

import geo
from ledger.models import Party
from settlement import Actor

__all__ = ["PIPELINE", "PipelineSummary", "score_quarters", "seed_partner_pipeline"]

#: The stage each demo prospect ends in, in order; channels are dealt in turn, so
#: every channel has prospects in several stages and two signed ones differ.
PIPELINE: tuple[str, ...] = (
    "application",
    "screening",
    "site_visit",
    "negotiation",
    "signing",
    "signed",
    "rejected",
    "withdrawn",
    "signed",
    "application",
    "screening",
    "signed",
    "negotiation",
    "rejected",
    "site_visit",
)
_ORDER = ("application", "screening", "site_visit", "negotiation", "signing")
_FIRST = ("Anna", "Bruno", "Chen", "Dara", "Emil", "Fatima", "Goran", "Hana", "Ivan", "Jia")
_LAST = ("Keller", "Moreau", "Silva", "Novak", "Tanaka", "Haddad", "Larsen", "Okafor", "Rossi")
_TRADES = ("Trading", "Outdoor Supply", "Instruments", "Distribution", "Sports Import")
MANAGER = Actor("demo-partners", "partner_manager")
LEGAL = Actor("demo-legal", "partner_manager")
BUSINESS = Actor("demo-business", "finance")
PROGRAM = "VOLUME-REBATE"


@dataclass
class PipelineSummary:
    """What the pipeline wrote: prospects per final stage, trial parties (codes),
    the admitted one, the exiting party and its exit id."""

    stages: dict[str, int] = field(default_factory=dict)
    trials: list[str] = field(default_factory=list)
    admitted: str = ""
    exiting: str = ""
    exit_id: int = 0
    interactions: int = 0


def _photo(rng: random.Random) -> bytes:
    """A small PNG of a warehouse front (a wall, a door, a sign) in seeded colours."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (96, 64), (rng.randrange(150, 220),) * 3)
    draw = ImageDraw.Draw(img)
    draw.rectangle((8, 20, 88, 60), fill=(rng.randrange(80, 160), 90, 70))
    draw.rectangle((40, 36, 56, 60), fill=(40, 40, 40))
    draw.rectangle((20, 8, 76, 18), fill=(200, rng.randrange(40, 120), 40))
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


def _today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def _places(rng: random.Random, used: set[str], n: int) -> list[geo.City]:
    """``n`` cities, one per country the network does not cover (countries reused
    when the world runs out), chosen by ``rng``."""
    cities = geo.world_cities(min_population=150_000, inside_country=True)
    by_country: dict[str, geo.City] = {}
    for c in sorted(cities, key=lambda c: -c.population):
        by_country.setdefault(c.country, c)
    free = sorted(cc for cc in by_country if cc not in used) or sorted(by_country)
    chosen = rng.sample(free, min(n, len(free)))
    while len(chosen) < n:
        chosen.append(rng.choice(free))
    return [by_country[cc] for cc in chosen]


def _walk(engine: Engine, pid: int, target: str, rng: random.Random, city: geo.City) -> None:
    """Take prospect ``pid`` from ``application`` through the stages up to
    ``target`` (or, for ``rejected``/``withdrawn``, a few stages and then out),
    doing what each stage needs to be left."""
    from partners import recruitment as rc

    today = _today()
    stop = target
    if target in ("rejected", "withdrawn"):
        stop = _ORDER[rng.randrange(0, 3)]
    elif target == "signed":
        stop = "signing"
    for stage in _ORDER[1 : _ORDER.index(stop) + 1]:
        due = (today + dt.timedelta(days=rng.randint(5, 30))).isoformat()
        rc.move(engine, pid, stage, MANAGER, due_on=due, note=f"on to {stage.replace('_', ' ')}")
        if stage == "screening":
            rc.score_many(
                engine, pid,
                [
                    ("qualification", rng.randint(60, 95), "licensed importer, clean record"),
                    ("sales_capability", rng.randint(50, 90), "sales team of 6, two regions"),
                    ("resources", rng.randint(45, 90), "own warehouse and 3 delivery vans"),
                    ("willingness", rng.randint(60, 100), "keen, asked for exclusive territory"),
                ],
                MANAGER,
            )  # fmt: skip
        elif stage == "site_visit":
            visited = (today - dt.timedelta(days=rng.randint(1, 20))).isoformat()
            rc.add_site_visit(
                engine, pid, visited, "Pat Partner",
                f"Warehouse of about {rng.randint(4, 20) * 100} m² near {city.name}, tidy stock"
                " records, a showroom; staff trained on watches and outdoor instruments.",
                [rc.PhotoUpload("warehouse.png", "image/png", _photo(rng))],
                MANAGER,
            )  # fmt: skip
        elif stage == "negotiation":
            rc.propose_terms(
                engine, pid,
                {
                    "territories": [city.country], "programs": [PROGRAM], "currency": "EUR",
                    "deposit_minor": 200_000, "credit_limit_minor": 2_000_000,
                    "payment_terms_days": 30, "trial_days": 90,
                    "trial_order_cap_units": rng.choice((100, 200, 300)),
                    "note": "standard distributor terms, trial first",
                },
                MANAGER,
            )  # fmt: skip
    if target in ("rejected", "withdrawn"):
        why = (
            "screening scores too low for the territory"
            if target == "rejected"
            else "the company chose a competitor's offer"
        )
        rc.move(engine, pid, target, MANAGER, note=why)


def _sign(engine: Engine, pid: int, code: str, rng: random.Random) -> None:
    """Sign the prospect (a party on trial, its main agreement drafted from the latest
    terms) and that agreement through the workflow: legal and business reviews by two other people,
    signed with its PDF (grants and enrolment in force)."""
    from partners import agreements as ag
    from partners import recruitment as rc
    from web.demo_agreements import agreement_pdf

    today = _today()
    _, _, number = rc.sign(engine, pid, code, MANAGER)
    with Session(engine) as s:
        terms = rc.latest_terms(s, pid)
    assert terms is not None
    ag.submit(engine, number, MANAGER)
    ag.review(engine, number, "legal", True, "standard clauses", LEGAL)
    ag.review(engine, number, "business", True, "deposit and credit agreed", BUSINESS)
    pdf = agreement_pdf(number, code, ",".join(terms.territories), list(terms.programs))
    ag.sign(engine, number, today.isoformat(), MANAGER, (f"{number}.pdf", pdf))


def _interactions(engine: Engine, codes: list[str], rng: random.Random, months: list[str]) -> int:
    from partners import crm

    today = _today()
    n = 0
    for code in codes:
        for month in months[-2:]:
            day = min(dt.date.fromisoformat(f"{month}-{rng.randint(3, 26):02d}"), today)
            crm.record_interaction(
                engine, code, "meeting", day.isoformat(),
                "Quarterly business review", MANAGER,
                notes="sell-in against target, stock levels, the coming promotion",
                next_step="send the promotion calendar",
                next_due_on=(day + dt.timedelta(days=14)).isoformat(),
                today=today,
            )  # fmt: skip
            n += 1
        crm.record_interaction(
            engine, code, "call", today.isoformat(), "Delivery times from the new plant",
            MANAGER, notes="asked for weekly pallets instead of fortnightly", today=today,
        )  # fmt: skip
        n += 1
    return n


def _exit(
    engine: Engine, code: str, heir: str, months: list[str], summary: PipelineSummary
) -> None:
    from partners import exits
    from settlement import exit_settlement

    today = _today()
    started = min(dt.date.fromisoformat(f"{months[-1]}-15"), today)
    view = exit_settlement.start_exit(
        engine, code, "strategy_change", MANAGER,
        note="the owner is retiring and the company closes its import business",
        started_on=started.isoformat(),
    )  # fmt: skip
    units, _ = exits.custody(engine, view.id, MANAGER, limit=5)
    if units:
        exits.record_handover(
            engine, view.id, MANAGER, units=[u.key for u in units], action="handover",
            to_party_code=heir, note="stock taken over with the customers",
        )  # fmt: skip
    exits.record_customers(
        engine, view.id, MANAGER, customers=["Bergsport Zentrum", "Alpine Outfitters"],
        to_party_code=heir, note="introduced at a joint visit",
    )  # fmt: skip
    summary.exiting, summary.exit_id = code, view.id


_DAY_MS = 86_400_000


def _backdate(engine: Engine, pid: int, rng: random.Random, now: int) -> None:
    """Spread prospect ``pid``'s recorded steps over the past weeks: the services
    stamp every step with the clock, so a freshly seeded board would show 0 days in
    every stage. The demo only: the application 3 to 9 weeks ago, each later step 2
    to 12 days after the one before, the last at least a day ago (its prospect rows,
    stage rows and audit rows moved alike; deterministic in ``rng``)."""
    from partners.models import PartnerEvent, Prospect, ProspectStage

    with Session(engine) as s, s.begin():
        steps = list(
            s.scalars(
                select(ProspectStage)
                .where(ProspectStage.prospect_id == pid)
                .order_by(ProspectStage.at_ms, ProspectStage.id)
            )
        )
        at = now - rng.randrange(21, 64) * _DAY_MS - rng.randrange(8 * 3_600_000)
        times = []
        for _ in steps:
            times.append(at)
            at = min(at + rng.randrange(2, 13) * _DAY_MS, now - _DAY_MS)
        shift = {step.at_ms: when for step, when in zip(steps, times, strict=True)}
        for step, when in zip(steps, times, strict=True):
            step.at_ms = when
        prospect = s.get(Prospect, pid)
        assert prospect is not None
        first = times[0] if times else now
        prospect.created_ms = first
        prospect.stage_since_ms = times[-1] if times else now
        for event in s.scalars(select(PartnerEvent).where(PartnerEvent.prospect_id == pid)):
            event.at_ms = max((w for a, w in shift.items() if a <= event.at_ms), default=first)


_SCORER = Actor("demo-channel", "channel_manager")


def score_quarters(engine: Engine, months: list[str]) -> list[str]:
    """Score the quarters of the demo's ``months`` (:func:`settlement.score_partners`,
    from the latest signed checkpoint: call it after the demo's checkpoint), so
    health and class reviews have their ledger indicators; the quarters scored."""
    from settlement import score_partners

    quarters = sorted({f"{m[:4]}-Q{(int(m[5:7]) - 1) // 3 + 1}" for m in months})
    for quarter in quarters:
        score_partners(engine, quarter, _SCORER)
    return quarters


def seed_partner_pipeline(engine: Engine, seed: int, months: list[str]) -> PipelineSummary:
    """Write the demo's partner pipeline (see the module docstring) after the demo
    network, for the demo's ``months`` (``YYYY-MM``); deterministic in ``seed``."""
    from partners import recruitment as rc
    from partners import trials

    rng = random.Random(seed * 7919 + 12)
    summary = PipelineSummary()
    with Session(engine) as s:
        network = list(
            s.execute(
                select(Party.code, Party.country)
                .where(Party.kind == "distributor")
                .order_by(Party.code)
            )
        )
    used = {str(cc) for _, cc in network if cc}
    for channel in rc.CHANNELS:
        for month in months:
            rc.record_cost(
                engine, channel, month, rng.randrange(50_000, 400_000, 500), "EUR",
                f"{channel.replace('_', ' ')} spend, {month}", MANAGER,
            )  # fmt: skip
    places = _places(rng, used, len(PIPELINE))
    clock = random.Random(seed * 104_729 + 3)  # the pipeline's ages, apart from ``rng``
    now = int(dt.datetime.now(dt.UTC).timestamp() * 1000)
    signed_codes: list[str] = []
    for i, (target, city) in enumerate(zip(PIPELINE, places, strict=True)):
        channel = rc.CHANNELS[i % len(rc.CHANNELS)]
        contact = f"{rng.choice(_FIRST)} {rng.choice(_LAST)}"
        data = {
            "company_name": f"{city.name} {rng.choice(_TRADES)}",
            "country": city.country,
            "city": city.name,
            "currency": "EUR",
            "contact_name": contact,
            "contact_email": f"{contact.split()[0].lower()}@{city.country.lower()}{i}.example.com",
            "channel": channel,
            "channel_detail": {
                "exhibition": "ISPO Munich, stand B4",
                "b2b_platform": "listed on a B2B marketplace",
                "referral": "referred by an existing distributor",
                "association": "member of the sporting goods association",
                "inbound": "the public application form",
            }[channel],
            "territories_wanted": city.country,
            "message": "We would like to distribute Alpenglow instruments in our country.",
        }
        if channel == "inbound":
            pid, _ = rc.submit_application(engine, data)
        else:
            pid = rc.create_prospect(engine, data, MANAGER).id
        _walk(engine, pid, target, rng, city)
        if target == "signed":
            code = f"T-{city.country}{i}"
            _sign(engine, pid, code, rng)
            signed_codes.append(code)
        _backdate(engine, pid, clock, now)
        summary.stages[target] = summary.stages.get(target, 0) + 1
    if signed_codes:
        trials.decide_trial(
            engine, signed_codes[0], True, "order cap reached early, sell-through good", MANAGER
        )
        summary.admitted = signed_codes[0]
    summary.trials = signed_codes[1:]
    codes = [str(c) for c, _ in network]
    summary.interactions = _interactions(engine, codes[:4], rng, months)
    if len(codes) >= 2:
        leaving = _most_stock(engine, codes)
        heir = next(c for c in codes if c != leaving)
        _exit(engine, leaving, heir, months, summary)
    return summary


def _most_stock(engine: Engine, codes: list[str]) -> str:
    """The distributor holding the most units in stock (the last code on a tie), so
    the exit has a custody list to hand over."""
    from ledger.models import Unit

    with Session(engine) as s:
        held = dict(
            s.execute(
                select(Party.code, func.count(Unit.id))
                .join(Unit, Unit.holder_id == Party.id)
                .where(Party.code.in_(codes), Unit.state == "in_stock", Unit.gtin.is_not(None))
                .group_by(Party.code)
            ).all()
        )
    return max(reversed(codes), key=lambda c: int(held.get(c, 0)))
