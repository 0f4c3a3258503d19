"""The demo's field side (issue 14): an inspection party, an inspector, and public
sightings that fill the suspected-alert queue.

- party ``INSP-1`` (kind ``inspector``, "Field Inspection Services") and the
  sign-in account ``inspector`` (role inspector, belonging to it), whose
  password joins the demo's other credentials;
- public sightings made through :func:`sightings.public.record_sighting`, as the
  consumer's page makes them (one-time token, coarse location, judged against
  the unit's zone), a day after the demo's last month ends:

  * three units seen at their own distributor's warehouse (in zone: nothing raised);
  * four units seen at a shop of a distributor in another country (out of zone:
    four suspected alerts, the first seen twice, so its suspect counts two);
  * one unit seen at its distributor's warehouse and, an hour later, at the
    farthest distributor's warehouse (a copied code: a clone suspect beside the
    out-of-zone one).

The units and places are chosen by the demo's seed; nothing here writes the
ledger, so the demo's root does not change.
"""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, aliased

from ledger.models import Entry, Party, Site, Unit
from ledger.partitions import declarations
from ledger.retraction import live_entries

if TYPE_CHECKING:
    from web.demo import DemoConfig, DemoSummary

__all__ = [
    "INSPECTION_PARTY",
    "INSPECTOR_USER",
    "DemoSightings",
    "seed_demo_sightings",
    "seed_sightings",
]

INSPECTION_PARTY = "INSP-1"
INSPECTOR_USER = "inspector"
_HOUR_MS = 3_600_000
_DAY_MS = 24 * _HOUR_MS


@dataclass(frozen=True, slots=True)
class DemoSightings:
    """What :func:`seed_sightings` wrote: sightings by verdict and suspect ids."""

    sightings: dict[str, int]
    suspect_ids: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class _Unit:
    key: str
    party_id: int
    country: str | None


def _inspection_party(engine: Engine) -> None:
    with Session(engine) as session, session.begin():
        if session.scalar(select(Party.id).where(Party.code == INSPECTION_PARTY)) is None:
            session.add(
                Party(
                    code=INSPECTION_PARTY,
                    name="Field Inspection Services",
                    kind="inspector",
                    currency="EUR",
                )
            )


def _inspector(engine: Engine, credentials: dict[str, str]) -> str | None:
    """Make the ``inspector`` account (once); its password, None when it existed."""
    from web import accounts
    from web.models import User

    with Session(engine) as session:
        if session.scalar(select(User.id).where(User.username == INSPECTOR_USER)) is not None:
            return None
        password = secrets.token_urlsafe(12)
        accounts.create_user(session, INSPECTOR_USER, password, "inspector", party=INSPECTION_PARTY)
    credentials[INSPECTOR_USER] = password
    return password


def _allocated_units(session: Session) -> list[_Unit]:
    """Serialized units with the distributor the manufacturer first shipped them to."""
    maker, receiver = aliased(Party), aliased(Party)
    first: dict[str, _Unit] = {}
    for key, party_id, country in session.execute(
        select(Unit.key, receiver.id, receiver.country)
        .join(Entry, Entry.unit_id == Unit.id)
        .join(maker, maker.id == Entry.party_id)
        .join(receiver, receiver.id == Entry.counterparty_id)
        .where(
            Unit.key.like("01/%"),
            Entry.kind == "shipping",
            maker.kind == "manufacturer",
            receiver.kind == "distributor",
            live_entries(declared=declarations(session)),
        )
        .order_by(Entry.seq)
    ):
        first.setdefault(str(key), _Unit(str(key), int(party_id), country))
    return sorted(first.values(), key=lambda u: u.key)


def _places(session: Session) -> dict[int, list[tuple[int, int, str | None]]]:
    """Located sites of distributors and dealers by party, with the party's country
    (a dealer's country is its distributor's)."""
    parent = aliased(Party)
    out: dict[int, list[tuple[int, int, str | None]]] = {}
    for party_id, lat, lon, country, parent_country in session.execute(
        select(Site.party_id, Site.lat_e6, Site.lon_e6, Party.country, parent.country)
        .join(Party, Party.id == Site.party_id)
        .outerjoin(parent, parent.id == Party.parent_id)
        .where(
            Party.kind.in_(("distributor", "dealer")),
            Site.lat_e6.is_not(None),
            Site.lon_e6.is_not(None),
        )
        .order_by(Site.id)
    ):
        if lat is not None and lon is not None:
            out.setdefault(int(party_id), []).append((lat, lon, country or parent_country))
    return out


def _km(a: tuple[int, int], b: tuple[int, int]) -> float:
    from sightings.public import clone_pairs

    far = clone_pairs((a[0], a[1], 0), [(b[0], b[1], 0)], min_km=0.0)
    return far[0] if far else 0.0


def seed_sightings(
    engine: Engine, seed: int, at_ms: int, credentials: dict[str, str]
) -> DemoSightings:
    """Write the module docstring's party, account and sightings; sightings start at
    ``at_ms`` (ms since the epoch) and the ``inspector`` password is added to
    ``credentials``. Deterministic for a seed (the one-time tokens aside)."""
    from sightings.public import issue_token, record_sighting

    _inspection_party(engine)
    _inspector(engine, credentials)
    rng = random.Random(seed * 1_000_003 + 14)
    secret = secrets.token_hex(16)
    with Session(engine) as session:
        units = _allocated_units(session)
        places = _places(session)
    own = [u for u in units if places.get(u.party_id)]
    if len(own) < 8:
        return DemoSightings({}, ())
    picked = rng.sample(own, 8)
    foreign = {
        u.key: [
            p for pid, ps in places.items() if pid != u.party_id for p in ps if p[2] != u.country
        ]
        for u in picked
    }
    counts: dict[str, int] = {}
    suspects: list[int] = []
    locales = ("en", "zh", "es")
    t = at_ms

    def sight(key: str, where: tuple[int, int, str | None], when: int) -> None:
        with Session(engine) as session, session.begin():
            result = record_sighting(
                session, unit_key=key, lat_e6=where[0], lon_e6=where[1],
                token=issue_token(secret, key, when), secret=secret,
                locale=locales[len(suspects) % 3], now_ms=when,
            )  # fmt: skip
        counts[result.verdict] = counts.get(result.verdict, 0) + 1
        suspects.extend(i for i in result.suspect_ids if i not in suspects)

    for u in picked[:3]:  # at home
        sight(u.key, rng.choice(places[u.party_id]), t)
        t += rng.randint(1, 5) * _HOUR_MS
    for n, u in enumerate(picked[3:7]):  # abroad
        if not foreign[u.key]:
            continue
        shop = rng.choice(foreign[u.key])
        sight(u.key, shop, t)
        if n == 0:  # seen there again the next day: the suspect counts two
            sight(u.key, shop, t + _DAY_MS)
        t += rng.randint(1, 5) * _HOUR_MS
    u = picked[7]  # a copied code: home, then the farthest warehouse an hour later
    home = places[u.party_id][0]
    others = [p for pid, ps in places.items() if pid != u.party_id for p in ps]
    if others:
        far = max(others, key=lambda p: _km((home[0], home[1]), (p[0], p[1])))
        sight(u.key, home, t)
        sight(u.key, far, t + _HOUR_MS)
    return DemoSightings(counts, tuple(suspects))


def seed_demo_sightings(engine: Engine, cfg: DemoConfig, summary: DemoSummary) -> DemoSightings:
    """:func:`seed_sightings` for ``hopchain demo``: a day after the demo's last month
    ends, the ``inspector`` account added to the summary's credentials and file."""
    from web.demo import month_start_ms

    had = dict(summary.credentials)
    done = seed_sightings(
        engine, cfg.seed, month_start_ms(cfg.start, cfg.months) + _DAY_MS, summary.credentials
    )
    added = {u: p for u, p in summary.credentials.items() if u not in had}
    if added and summary.credentials_file is not None:
        with summary.credentials_file.open("a") as out:
            out.write("".join(f"{u}\t{p}\n" for u, p in added.items()))
    return done
