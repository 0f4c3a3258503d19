"""A deterministic, realistic demo network written through the real code paths.

Real countries are the territories (``geo.world_countries``), real cities are
where warehouses, shops and scans are (``geo.world_cities``). A manufacturer
commissions serialized units, packs them into cases and pallets and ships
pallets to distributors, each granted its own country; distributors unpack and
ship units on to their dealers, who sell them. A few percent of units leak:
shipped to a dealer in another distributor's country, or sold abroad; a few are
returned; a handful of serials are cloned. Every scan goes through
``ledger.append_hops`` in device batches, exactly as handheld uploads do: the
distributors' and dealers' scans act only within their custody, as their
handhelds' do (``ledger.permissions``).

The same seed and sizes always give the same ledger (and so the same root).
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

import geo
from ledger import EntryKind, Hop, append_hops
from ledger.ids import gs1_check_digit, sscc_key, unit_key
from ledger.models import Party, Site

__all__ = ["DemoConfig", "DemoSummary", "build_demo"]

K = EntryKind
DAY_MS = 86_400_000
HOUR_MS = 3_600_000
COMPANY_PREFIX = "4012345"  # demo GS1 company prefix
BATCH = 1000

PRODUCTS = [  # item reference, name, list price in minor units of EUR
    ("00001", "Alpenglow Trail Watch", 24_900),
    ("00002", "Alpenglow Summit Altimeter", 18_900),
    ("00003", "Alpenglow Compass Pro", 7_900),
    ("00004", "Alpenglow Barometer Classic", 12_900),
]
_CURRENCY = {"GB": "GBP", "US": "USD", "CA": "USD", "JP": "JPY", "CN": "CNY", "CH": "CHF"}
_REGION_CURRENCY = {"EUROPE": "EUR"}
# minor units of one EUR (reporting currency) per currency, monthly demo FX
FX_TO_EUR = {
    "EUR": "1",
    "USD": "0.92",
    "GBP": "1.17",
    "JPY": "0.0061",
    "CNY": "0.128",
    "CHF": "1.05",
}


@dataclass(frozen=True)
class DemoConfig:
    seed: int = 7
    units: int = 2000
    distributors: int = 40
    months: int = 3
    start: str = "2026-08"  # first month, YYYY-MM
    diversion_rate: float = 0.05


@dataclass
class DemoSummary:
    entries: int = 0
    units: int = 0
    distributors: int = 0
    dealers: int = 0
    diverted: int = 0
    credentials: dict[str, str] = field(default_factory=dict)
    credentials_file: Path | None = None


@dataclass
class _Place:
    code: str  # site code
    party: str
    country: str
    lat_e6: int
    lon_e6: int


def gtin_of(ref: str) -> str:
    body = "0" + COMPANY_PREFIX + ref
    return body + str(gs1_check_digit(body))


def _sscc(n: int) -> str:
    body = "0" + COMPANY_PREFIX + f"{n:09d}"
    return sscc_key(body + str(gs1_check_digit(body)))


def month_start_ms(start: str, offset: int) -> int:
    year, month = map(int, start.split("-"))
    month += offset
    year += (month - 1) // 12
    month = (month - 1) % 12 + 1
    return int(datetime(year, month, 1, tzinfo=UTC).timestamp() * 1000)


def _e6(value: float) -> int:
    return round(value * 1_000_000)


class _Network:
    """Parties, sites and their places, chosen from real cities by the seed."""

    def __init__(self, cfg: DemoConfig, rng: random.Random) -> None:
        # inside_country: a city whose point falls outside its own (coarse) country shape
        # would make false diversion alerts.
        cities = geo.world_cities(min_population=150_000, inside_country=True)
        by_country: dict[str, list[geo.City]] = {}
        for c in cities:
            by_country.setdefault(c.country, []).append(c)
        candidates = sorted(cc for cc, cs in by_country.items() if len(cs) >= 3)
        if cfg.distributors > len(candidates):
            raise ValueError(
                f"at most {len(candidates)} distributors: one per country with three big cities"
            )
        countries = sorted(rng.sample(candidates, cfg.distributors))
        region = {
            f["properties"]["code"]: f["properties"].get("parent")
            for f in geo.world_countries()["features"]
        }
        plant = by_country["CH"][0] if "CH" in by_country else cities[0]
        self.plant = _Place("MFR-PLANT", "MFR", plant.country, _e6(plant.lat), _e6(plant.lon))
        self.distributors: list[tuple[str, str, str, str]] = []  # code, name, country, currency
        self.warehouse: dict[str, _Place] = {}
        self.dealers: dict[str, list[_Place]] = {}
        for cc in countries:
            hub, *others = sorted(by_country[cc], key=lambda c: -c.population)
            code = f"D-{cc}"
            currency = _CURRENCY.get(cc) or _REGION_CURRENCY.get(str(region.get(cc)), "USD")
            self.distributors.append((code, f"{hub.name} Distribution", cc, currency))
            self.warehouse[code] = _Place(f"{code}-WH", code, cc, _e6(hub.lat), _e6(hub.lon))
            shops = rng.sample(others, min(len(others), rng.randint(2, 3)))
            self.dealers[code] = [
                _Place(f"{code}-S{i}", f"{code}-S{i}", cc, _e6(s.lat), _e6(s.lon))
                for i, s in enumerate(shops, start=1)
            ]
        self.foreign_cities = cities

    def write(self, engine: Engine) -> None:
        with Session(engine) as s, s.begin():
            if s.scalar(select(Party.id).where(Party.code == "MFR")) is not None:
                raise ValueError("this database already holds a demo network (party MFR exists)")
            mfr = Party(
                code="MFR",
                name="Alpenglow Instruments AG",
                kind="manufacturer",
                currency="EUR",
                country="CH",
            )
            s.add(mfr)
            s.flush()
            s.add(
                Site(
                    code=self.plant.code,
                    name="Plant Zurich",
                    party_id=mfr.id,
                    lat_e6=self.plant.lat_e6,
                    lon_e6=self.plant.lon_e6,
                )
            )
            for code, name, cc, currency in self.distributors:
                d = Party(
                    code=code,
                    name=name,
                    kind="distributor",
                    parent_id=mfr.id,
                    currency=currency,
                    country=cc,
                )
                s.add(d)
                s.flush()
                wh = self.warehouse[code]
                s.add(
                    Site(
                        code=wh.code,
                        name=f"{name} warehouse",
                        party_id=d.id,
                        lat_e6=wh.lat_e6,
                        lon_e6=wh.lon_e6,
                    )
                )
                for shop in self.dealers[code]:
                    dealer = Party(
                        code=shop.party,
                        name=f"{name} dealer {shop.party[-2:]}",
                        kind="dealer",
                        parent_id=d.id,
                        currency=currency,
                        country=cc,
                    )
                    s.add(dealer)
                    s.flush()
                    s.add(
                        Site(
                            code=shop.code,
                            name=f"Shop {shop.party}",
                            party_id=dealer.id,
                            lat_e6=shop.lat_e6,
                            lon_e6=shop.lon_e6,
                        )
                    )


class _Journeys:
    """Every hop of every unit, with times, then sorted into upload order."""

    def __init__(self, cfg: DemoConfig, net: _Network, rng: random.Random) -> None:
        self.cfg, self.net, self.rng = cfg, net, rng
        self.hops: list[tuple[int, int, Hop]] = []  # (at_ms, tie-break, hop)
        self._tick = 0
        self._next_sscc = 1
        self._dseq: dict[str, int] = {}
        self.diverted = 0

    def _add(self, hop: Hop) -> None:
        device = hop.device or f"HH-{hop.party}"
        self._dseq[device] = self._dseq.get(device, 0) + 1
        hop = Hop(
            hop.unit, hop.kind, hop.party, hop.at_ms, hop.counterparty, hop.site, hop.lat_e6, hop.lon_e6,
            hop.container, device, self._dseq[device],
            restricted=hop.party != "MFR",  # a partner's handheld: only within its custody
        )  # fmt: skip
        self._tick += 1
        self.hops.append((hop.at_ms, self._tick, hop))

    def build(self) -> None:
        per_month = max(1, self.cfg.units // self.cfg.months)
        serial = 0
        for m in range(self.cfg.months):
            t0 = month_start_ms(self.cfg.start, m)
            count = per_month if m < self.cfg.months - 1 else self.cfg.units - per_month * m
            for _pallet in range(-(-count // 40)):
                n = min(40, count)
                count -= n
                serial = self._pallet(t0, serial, n)

    def _pallet(self, t0: int, serial: int, n: int) -> int:
        rng, net = self.rng, self.net
        code, _, _, _ = rng.choice(net.distributors)
        gtin = gtin_of(rng.choice(PRODUCTS)[0])
        plant = net.plant.code
        t = t0 + rng.randint(0, 10) * DAY_MS + rng.randint(6, 16) * HOUR_MS
        pallet = _sscc(self._take_sscc())
        units = [unit_key(gtin, f"{serial + i + 1:08d}") for i in range(n)]
        for i, u in enumerate(units):
            self._add(
                Hop(u, K.COMMISSIONING, "MFR", t + i * 1000, site=plant, device="PLANT-LINE-1")
            )
        t += HOUR_MS
        cases = [units[i : i + 10] for i in range(0, n, 10)]
        case_keys = []
        for case in cases:
            key = _sscc(self._take_sscc())
            case_keys.append(key)
            for u in case:
                self._add(
                    Hop(u, K.PACKING, "MFR", t, site=plant, container=key, device="PLANT-PACK")
                )
                t += 500
            self._add(
                Hop(key, K.PACKING, "MFR", t, site=plant, container=pallet, device="PLANT-PACK")
            )
        t += 2 * HOUR_MS
        self._add(
            Hop(pallet, K.SHIPPING, "MFR", t, site=plant, counterparty=code, device="PLANT-DOCK")
        )
        t += rng.randint(2, 5) * DAY_MS
        wh = net.warehouse[code].code
        self._add(Hop(pallet, K.RECEIVING, code, t, site=wh))
        t += HOUR_MS
        self._add(Hop(pallet, K.UNPACKING, code, t, site=wh))
        for key in case_keys:
            t += 600_000
            self._add(Hop(key, K.UNPACKING, code, t, site=wh))
        for u in units:
            self._onward(u, code, t + rng.randint(1, 12) * DAY_MS)
        return serial + n

    def _take_sscc(self) -> int:
        self._next_sscc += 1
        return self._next_sscc

    def _onward(self, u: str, dist: str, t: int) -> None:
        rng, net = self.rng, self.net
        wh = net.warehouse[dist].code
        roll = rng.random()
        if roll < self.cfg.diversion_rate:
            # diverted: shipped to a dealer of another distributor, abroad
            self.diverted += 1
            other = rng.choice([d for d in net.distributors if d[0] != dist])[0]
            shop = rng.choice(net.dealers[other])
        else:
            shop = rng.choice(net.dealers[dist])
        if roll < self.cfg.diversion_rate / 4:
            # sold abroad by the distributor itself, at a foreign trade fair
            city = rng.choice(
                [c for c in net.foreign_cities if c.country != net.warehouse[dist].country]
            )
            self._add(Hop(u, K.RETAIL_SELLING, dist, t, lat_e6=_e6(city.lat), lon_e6=_e6(city.lon)))
            return
        self._add(Hop(u, K.SHIPPING, dist, t, site=wh, counterparty=shop.party))
        t += rng.randint(1, 4) * DAY_MS
        self._add(Hop(u, K.RECEIVING, shop.party, t, site=shop.code))
        t += rng.randint(1, 20) * DAY_MS
        if rng.random() < 0.03:
            self._add(Hop(u, K.INSPECTING, "MFR", t, site=shop.code, device="INSPECTOR-1"))
            t += HOUR_MS
        if rng.random() < 0.015:
            self._add(Hop(u, K.RETURNING, shop.party, t, site=shop.code, counterparty=dist))
            t += 2 * DAY_MS
            self._add(Hop(u, K.RECEIVING, dist, t, site=wh))
            return
        self._add(Hop(u, K.RETAIL_SELLING, shop.party, t, site=shop.code))
        if rng.random() < 0.004:
            # a cloned label: the same serial scanned far away an hour later
            city = rng.choice(net.foreign_cities)
            self._add(
                Hop(
                    u,
                    K.INSPECTING,
                    "MFR",
                    t + HOUR_MS,
                    lat_e6=_e6(city.lat),
                    lon_e6=_e6(city.lon),
                    device="INSPECTOR-2",
                )
            )

    def in_upload_order(self) -> list[Hop]:
        return [h for _, _, h in sorted(self.hops, key=lambda x: (x[0], x[1]))]


def _create_users(engine: Engine, net: _Network, instance: Path) -> tuple[dict[str, str], Path]:
    from web import accounts

    people = [
        ("admin", "admin", None),
        ("warehouse", "warehouse", None),
        ("channel", "channel_manager", None),
        ("finance", "finance", None),
        ("finance2", "finance", None),
        ("partners", "partner_manager", None),
        ("auditor", "auditor", None),
    ] + [(f"dist-{code[2:].lower()}", "distributor", code) for code, *_ in net.distributors[:3]]
    creds: dict[str, str] = {}
    with Session(engine) as session:
        for username, role, party in people:
            password = secrets.token_urlsafe(12)
            accounts.create_user(session, username, password, role, party=party)
            creds[username] = password
    path = instance / "demo-credentials.txt"
    instance.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{u}\t{p}\n" for u, p in creds.items()))
    path.chmod(0o600)
    return creds, path


def build_demo(
    engine: Engine,
    instance: Path,
    cfg: DemoConfig,
    progress: Callable[[int, int], None] | None = None,
    reference_data: Callable[[Engine, DemoConfig, list[tuple[str, str, str, str]]], None]
    | None = None,
) -> DemoSummary:
    """Write the demo network and its scans; ``reference_data`` adds products,
    prices, grants, targets and programs (settlement's side)."""
    if cfg.units < 1 or cfg.months < 1 or cfg.distributors < 2:
        raise ValueError("a demo needs at least 1 unit, 1 month and 2 distributors")
    rng = random.Random(cfg.seed)
    with Session(engine) as session, session.begin():
        if not session.scalar(select(func.count()).select_from(geo.TerritoryRow)):
            geo.import_feature_collection(session, geo.world_countries())
    net = _Network(cfg, rng)
    net.write(engine)
    if reference_data is not None:
        reference_data(engine, cfg, net.distributors)
    journeys = _Journeys(cfg, net, rng)
    journeys.build()
    hops = journeys.in_upload_order()
    summary = DemoSummary(units=cfg.units, distributors=len(net.distributors))
    summary.dealers = sum(len(v) for v in net.dealers.values())
    summary.diverted = journeys.diverted
    for i in range(0, len(hops), BATCH):
        results = append_hops(engine, hops[i : i + BATCH])
        bad = [r for r in results if r.status == "rejected"]
        if bad:
            raise RuntimeError(f"the demo wrote a hop the ledger rejected: {bad[0].reason}")
        summary.entries += sum(len(r.seqs) for r in results)
        if progress is not None:
            progress(min(i + BATCH, len(hops)), len(hops))
    summary.credentials, summary.credentials_file = _create_users(engine, net, instance)
    from web.demo_label import seed_product_pictures

    seed_product_pictures(engine)  # the label page's product pictures
    from web.demo_sightings import seed_demo_sightings

    seed_demo_sightings(engine, cfg, summary)  # inspector, public sightings, suspected alerts
    return summary
