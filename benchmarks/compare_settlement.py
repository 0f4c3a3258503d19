"""The monthly run (detection + settlement) on synthetic arrays, beside polars.

    python benchmarks/compare_settlement.py [--entries 20000000] [--distributors 5000]
                                            [--territories 2000] [--seed 7]

Generates a ledger snapshot as arrays (not through the database: this measures
the engine, not SQLite), runs our numba kernels and the per-distributor rules,
then the same detection and aggregation written in polars on the same arrays,
checks that both found the same diversions and the same per-distributor net
volume and value, and prints seconds and the ratio.

Memory: 20 million entries take about 2 GB in columns and polars frames on top;
fine on the 24 GB development machine, use --entries on smaller ones.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from geo import TerritoryIndex
from ledger.ids import EntryKind
from settlement import kernels as K
from settlement.detection import entry_territories
from settlement.incidents import group_incidents
from settlement.programs import parse_rules
from settlement.snapshot import Snapshot, Tables
from settlement.statement import IncidentInput, PartyInputs, ProgramInputs, settle_party
from settlement.zones import Grant, build_zone_tables

DAY = 86_400_000
HOUR = 3_600_000
START_MS = 1_767_225_600_000  # 2026-01-01
N_PRODUCTS = 50
EVENTS_PER_UNIT = 8
RULES = parse_rules(
    {
        "currency": "EUR",
        "basis": "sell_in",
        "measure": "volume",
        "mode": "incremental",
        "tiers": [{"threshold": 10, "rate": "150"}, {"threshold": 50, "rate": "250"}],
        "class_multipliers": {"A": "1.1", "B": "1", "C": "0.9"},
        "growth": {"rate": "0.01", "new_distributor": "none"},
        "kpi": {"floor": "0.6", "pro_rata": True},
        "penalties": {
            "fine_per_unit": 5000,
            "escalation": ["1", "2"],
            "whistleblower_share": "0.1",
        },
    }
)


@dataclass
class World:
    snap: Snapshot
    entry_terr: npt.NDArray[np.int32]
    terr_parent: npt.NDArray[np.int32]
    grants: list[Grant]
    price: npt.NDArray[np.int64]
    window: tuple[int, int]
    prior_window: tuple[int, int]
    geojson: dict[str, Any]


def synthesize(n_entries: int, n_distributors: int, n_territories: int, seed: int) -> World:
    """A year of unit histories, 8 entries each, numbered in time order like the ledger.

    2 % of units are sold by their dealer outside the distributor's zone, 0.5 % are
    shipped on to a distributor of another region, 0.1 % are cloned (the sale is
    scanned far away minutes after an inspection).
    """
    rng = np.random.default_rng(seed)
    n_units = max(n_entries // EVENTS_PER_UNIT, 1)
    # Territories: a grid of square countries, each cut into vertical strips (provinces).
    n_countries = max(n_territories // 20, 1)
    terr_parent = np.full(n_territories, -1, dtype=np.int32)
    terr_parent[n_countries:] = np.arange(n_territories - n_countries) % n_countries
    cols = int(np.ceil(np.sqrt(n_countries)))
    cw, ch = 340.0 / cols, 110.0 / int(np.ceil(n_countries / cols))
    box = np.zeros((n_territories, 4))  # lon0, lat0, lon1, lat1
    for c in range(n_countries):
        x0, y0 = -170.0 + (c % cols) * cw, -50.0 + (c // cols) * ch
        box[c] = (x0, y0, x0 + cw, y0 + ch)
        strips = np.flatnonzero(terr_parent == c)
        sw = cw / max(len(strips), 1)
        for j, t in enumerate(strips):
            box[t] = (x0 + j * sw, y0, x0 + (j + 1) * sw, y0 + ch)
    t_lon = (box[:, 0] + box[:, 2]) / 2
    t_lat = (box[:, 1] + box[:, 3]) / 2
    provinces = np.arange(n_countries, n_territories)
    # Parties: 0 manufacturer, distributors (a fifth of them sub-distributors), 4 dealers each, inspectors.
    n_dealers = 4 * n_distributors
    n_insp = 100
    n_parties = 1 + n_distributors + n_dealers + n_insp
    dist = np.arange(1, 1 + n_distributors)
    dealers = np.arange(1 + n_distributors, 1 + n_distributors + n_dealers)
    insp = np.arange(1 + n_distributors + n_dealers, n_parties)
    kind = np.full(n_parties, K.PK_DEALER, dtype=np.int8)
    kind[0] = K.PK_MANUFACTURER
    kind[dist] = K.PK_DISTRIBUTOR
    kind[insp] = K.PK_INSPECTOR
    parent = np.full(n_parties, -1, dtype=np.int32)
    n_top = max(int(n_distributors * 0.8), 1)
    subs = dist[n_top:]
    parent[subs] = rng.choice(dist[:n_top], subs.shape[0])
    parent[dealers] = np.repeat(dist, 4)
    home = np.full(n_parties, -1, dtype=np.int32)
    home[dist] = rng.choice(provinces, n_distributors)
    home[dealers] = home[parent[dealers]]
    grants = [Grant(int(p), int(home[p]), 0) for p in dist]
    for p in dist[:n_top][rng.random(n_top) < 0.1]:  # some hold their whole country
        grants.append(Grant(int(p), int(terr_parent[home[p]]), 0))
    currency = np.zeros(n_parties, dtype=np.int16)
    currency[dist] = rng.integers(0, 3, n_distributors)

    # Units and their eight events.
    d_u = rng.choice(dist, n_units).astype(np.int32)
    dealer_u = (1 + n_distributors + (d_u - 1) * 4 + rng.integers(0, 4, n_units)).astype(np.int32)
    r = rng.random(n_units)
    diverted = r < 0.02
    cross = (r >= 0.02) & (r < 0.025)
    cloned = (r >= 0.025) & (r < 0.026)
    other_d = rng.choice(dist, n_units).astype(np.int32)
    cross &= home[other_d] != home[d_u]
    buyer = np.where(cross, other_d, dealer_u)
    sell_terr = np.where(diverted, rng.choice(provinces, n_units), home[buyer]).astype(np.int32)
    diverted &= sell_terr != home[d_u]
    inspector = rng.choice(insp, n_units).astype(np.int32)
    returned = rng.random(n_units) < 0.05
    t0 = START_MS + rng.integers(0, 365 * DAY, n_units)
    gaps = rng.integers(HOUR, 48 * HOUR, (n_units, EVENTS_PER_UNIT))
    gaps[:, 0] = 0
    at = t0[:, None] + np.cumsum(gaps, axis=1)
    at[cloned, 6] = at[cloned, 5] + 60_000  # sold a minute after the inspection...

    S, R, C = EntryKind.SHIPPING.code, EntryKind.RECEIVING.code, EntryKind.COMMISSIONING.code
    ev_kind = np.empty((n_units, EVENTS_PER_UNIT), dtype=np.int8)
    ev_kind[:] = [C, S, R, S, R, EntryKind.INSPECTING.code, EntryKind.RETAIL_SELLING.code, 0]
    ev_kind[:, 7] = np.where(returned, EntryKind.RETURNING.code, EntryKind.DECOMMISSIONING.code)
    ev_party = np.stack([np.zeros(n_units, np.int32), np.zeros(n_units, np.int32), d_u, d_u,
                         buyer, inspector, buyer, buyer], axis=1)  # fmt: skip
    ev_cp = np.stack([np.full(n_units, -1, np.int32), d_u, np.zeros(n_units, np.int32), buyer, d_u,
                      np.full(n_units, -1, np.int32), np.full(n_units, -1, np.int32),
                      np.where(returned, d_u, -1)], axis=1)  # fmt: skip
    ev_terr = np.stack([np.full(n_units, -2, np.int32), np.full(n_units, -2, np.int32), home[d_u],
                        home[d_u], sell_terr, sell_terr, sell_terr, np.where(returned, sell_terr, -2)],
                       axis=1).astype(np.int32)  # fmt: skip
    far = rng.choice(provinces, n_units)
    lat_t = np.where(ev_terr >= 0, t_lat[np.maximum(ev_terr, 0)], np.nan)
    lon_t = np.where(ev_terr >= 0, t_lon[np.maximum(ev_terr, 0)], np.nan)
    lat_t[cloned, 6] = t_lat[far[cloned]]  # ... somewhere else: a clone
    lon_t[cloned, 6] = t_lon[far[cloned]]
    ev_terr[cloned, 6] = far[cloned]
    jitter = rng.uniform(-0.05, 0.05, (2, n_units, EVENTS_PER_UNIT))
    lat = np.where(np.isnan(lat_t), K.NO_COORD, np.round((lat_t + jitter[0]) * 1e6)).astype(
        np.int32
    )
    lon = np.where(np.isnan(lon_t), K.NO_COORD, np.round((lon_t + jitter[1]) * 1e6)).astype(
        np.int32
    )
    unit_col = np.repeat(np.arange(n_units, dtype=np.int32), EVENTS_PER_UNIT)

    order = np.argsort(at.ravel(), kind="stable")  # the ledger numbers entries in time order
    n = order.shape[0]
    snap = Snapshot(
        tree_size=n,
        seq=np.arange(n, dtype=np.int64),
        unit=unit_col[order],
        kind=ev_kind.ravel()[order],
        party=ev_party.ravel()[order].astype(np.int32),
        counterparty=ev_cp.ravel()[order].astype(np.int32),
        at_ms=at.ravel()[order].astype(np.int64),
        lat_e6=lat.ravel()[order],
        lon_e6=lon.ravel()[order],
        tables=Tables(
            unit_ids=np.arange(n_units, dtype=np.int64),
            unit_product=rng.integers(0, N_PRODUCTS, n_units).astype(np.int32),
            products=tuple(f"{i:014d}" for i in range(N_PRODUCTS)),
            party_ids=np.arange(n_parties, dtype=np.int64),
            party_codes=tuple(f"P{i}" for i in range(n_parties)),
            party_kind=kind,
            party_parent=parent,
            party_currency=currency,
            currencies=("EUR", "USD", "CNY"),
        ),
    )
    price = rng.integers(1_000, 50_000, (3, N_PRODUCTS)).astype(np.int64)
    month = (START_MS + 180 * DAY, START_MS + 211 * DAY)
    features = [
        {
            "type": "Feature",
            "properties": {
                "code": f"T{t}",
                "name": f"territory {t}",
                "parent": f"T{terr_parent[t]}" if terr_parent[t] >= 0 else None,
                "level": "province" if terr_parent[t] >= 0 else "country",
            },
            "geometry": {
                "type": "Polygon",
                "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]],
            },
        }
        for t, (x0, y0, x1, y1) in enumerate(box.tolist())
    ]
    return World(
        snap,
        ev_terr.ravel()[order],
        terr_parent,
        grants,
        price,
        month,
        (START_MS, START_MS + 31 * DAY),
        {"type": "FeatureCollection", "features": features},
    )


@dataclass
class Result:
    flags: npt.NDArray[np.int8]
    responsible: npt.NDArray[np.int32]
    entry_terr: npt.NDArray[np.int32]
    net: npt.NDArray[np.int64]  # (parties, 2 bases, [units, value])
    seconds: dict[str, float]


def _incidents(
    s: Snapshot,
    flags: npt.NDArray[np.int8],
    resp: npt.NDArray[np.int32],
    entry_terr: npt.NDArray[np.int32],
    grouped: bool,
) -> dict[int, list[IncidentInput]]:
    """Alerts as detection raises them (responsible party, territory, finding type),
    merged into incidents by shared units as a run does now (settlement.incidents), or
    (``grouped`` false) one fine per alert as before issue 8."""
    rows = np.flatnonzero(((flags & (K.F_OUT_OF_ZONE | K.F_CROSS_REGION)) != 0) & (resp >= 0))
    typ = np.where((flags[rows] & K.F_CROSS_REGION) != 0, 1, 0).astype(np.int64)
    key = (
        resp[rows].astype(np.int64) * (1 << 22) + entry_terr[rows].astype(np.int64) + 1
    ) * 2 + typ
    uniq, alert_of_row = np.unique(key, return_inverse=True)
    party_of_alert = (uniq // 2 - 1) // (1 << 22)
    units_of: dict[int, set[int]] = {}
    for a, u in zip(alert_of_row.tolist(), s.unit[rows].tolist(), strict=True):
        units_of.setdefault(a, set()).add(u)
    alerts = [(a, int(party_of_alert[a]), "2026-01") for a in range(uniq.shape[0])]
    out: dict[int, list[IncidentInput]] = {}
    if not grouped:
        seen: dict[int, int] = {}
        for a, pid, period in alerts:
            out.setdefault(pid, []).append(
                IncidentInput(f"alert:{a}", (a,), period, len(units_of[a]), seen.get(pid, 0))
            )
            seen[pid] = seen.get(pid, 0) + 1
        return out
    for inc in group_incidents(alerts, units_of):
        out.setdefault(inc.party_id, []).append(
            IncidentInput(inc.ref, inc.alert_ids, inc.period, len(inc.unit_ids), inc.prior)
        )
    return out


def run_ours(
    w: World, with_rules: bool = True, index: TerritoryIndex | None = None, issue8: bool = True
) -> Result:
    """Our run: locate scans (with ``index``; else the synthetic territories), detect,
    aggregate, and (``with_rules``) settle every distributor's statement with a fine
    for its findings; ``issue8`` adds what issue 8 brought to a run: incident grouping
    of the findings and each party's balance brought forward. Without it, each alert
    is fined on its own, as before."""
    s = w.snap
    n_parts = max(os.cpu_count() or 1, 1)
    seconds = {}
    t = time.perf_counter()
    if index is not None:
        entry_terr = entry_territories(s, index)
        seconds["locate"] = time.perf_counter() - t
    else:
        entry_terr = w.entry_terr
    t0 = time.perf_counter()
    z = build_zone_tables(len(s.party_ids), s.party_parent, w.grants, w.terr_parent)
    flags, resp, _alloc, _row = K.detect(
        s.unit, s.kind, s.party, s.counterparty, s.at_ms, s.lat_e6, s.lon_e6, entry_terr,
        s.unit_product, s.party_kind, z.zone_ptr, z.zone_terr, z.zone_from, z.zone_to,
        z.auth_ptr, z.auth_terr, z.auth_from, z.auth_to, z.terr_anc, 900.0, 1.0, n_parts,
    )  # fmt: skip
    t1 = time.perf_counter()
    diverted = (flags & (K.F_OUT_OF_ZONE | K.F_CROSS_REGION)) != 0
    excluded = np.zeros(s.unit_ids.shape[0], dtype=np.bool_)
    excluded[s.unit[diverted]] = True
    args = (s.unit, s.kind, s.party, s.counterparty, s.at_ms, s.unit_product, s.party_kind,
            s.party_currency, w.price, excluded)  # fmt: skip
    cur = K.aggregate_sales(*args, *w.window, n_parts)
    old = K.aggregate_sales(*args, *w.prior_window, n_parts)
    t2 = time.perf_counter()
    net = np.stack(
        [cur[:, :, K.S_GROSS_U] - cur[:, :, K.S_RET_U] - cur[:, :, K.S_EXCL_U],
         cur[:, :, K.S_GROSS_V] - cur[:, :, K.S_RET_V] - cur[:, :, K.S_EXCL_V]], axis=2,
    )  # fmt: skip
    seconds.update({"detect": t1 - t0, "aggregate": t2 - t1})
    incidents: dict[int, list[IncidentInput]] = {}
    opening = np.zeros(len(s.party_ids), dtype=np.int64)
    if with_rules:
        t3 = time.perf_counter()
        incidents = _incidents(s, flags, resp, entry_terr, grouped=issue8)
        if issue8:
            opening[::10] = -12_345  # every tenth party owes something from last month
        seconds["alerts" + (" + incidents" if issue8 else "")] = time.perf_counter() - t3
        t2 = time.perf_counter()
    if with_rules:
        for p in np.flatnonzero(s.party_is_distributor).tolist():
            st = cur[p, 0]
            prior_v = int(old[p, 0, K.S_GROSS_V] - old[p, 0, K.S_RET_V] - old[p, 0, K.S_EXCL_V])
            settle_party(
                PartyInputs(
                    s.party_codes[p], s.currencies[s.party_currency[p]], "B",
                    (ProgramInputs("VOL", 1, RULES, int(st[K.S_GROSS_U]), int(st[K.S_RET_U]),
                                   int(st[K.S_EXCL_U]), int(net[p, 0, 0]), int(net[p, 0, 1]),
                                   prior_v, 40),),
                    incidents=tuple(incidents.get(p, ())),
                    deposit_balance=100_000,
                    opening_balance=int(opening[p]),
                )
            )  # fmt: skip
        seconds["statements"] = time.perf_counter() - t2
    return Result(flags, resp, entry_terr, net, seconds)


def run_polars(
    w: World, entry_terr: npt.NDArray[np.int32]
) -> tuple[dict[str, int], npt.NDArray[np.int64], float]:
    """Detection (allocation, zones, out-of-zone, cross-region, clones) and the
    per-distributor aggregation, as a polars user would write them, given the scans'
    territories (polars has no point-in-polygon: it gets ours for free)."""
    import polars as pl

    s = w.snap
    t0 = time.perf_counter()
    parties = pl.DataFrame({"party": np.arange(len(s.party_ids), dtype=np.int32), "pkind": s.party_kind,
                            "currency": s.party_currency})  # fmt: skip
    pk = parties.select("party", "pkind")
    e = pl.DataFrame(
        {"seq": s.seq, "unit": s.unit, "kind": s.kind, "party": s.party, "cp": s.counterparty,
         "at": s.at_ms, "lat": s.lat_e6, "lon": s.lon_e6, "terr": entry_terr}
    ).lazy()  # fmt: skip
    e = e.join(pk.lazy(), on="party", how="left").join(
        pk.lazy().rename({"party": "cp", "pkind": "cpkind"}), on="cp", how="left"
    )
    ship, recv, sell, insp, ret = (EntryKind.SHIPPING.code, EntryKind.RECEIVING.code,
                                   EntryKind.RETAIL_SELLING.code, EntryKind.INSPECTING.code,
                                   EntryKind.RETURNING.code)  # fmt: skip
    alloc = (
        e.filter(
            (pl.col("kind") == ship)
            & (pl.col("pkind") == K.PK_MANUFACTURER)
            & (pl.col("cpkind") != K.PK_MANUFACTURER)
        )
        .group_by("unit")
        .agg(pl.col("cp").sort_by("seq").first().alias("D"), pl.col("seq").min().alias("aseq"))
    )
    # Zone table: (distributor, territory) for the distributor and its sub-distributors.
    anc = [(t, t) for t in range(len(w.terr_parent))] + [
        (t, int(p)) for t, p in enumerate(w.terr_parent) if p >= 0
    ]
    anc_df = pl.DataFrame({"terr": [a for a, _ in anc], "zt": [b for _, b in anc]},
                          schema={"terr": pl.Int32, "zt": pl.Int32}).lazy()  # fmt: skip
    g_party = np.array([g.party for g in w.grants], dtype=np.int32)
    g_terr = np.array([g.territory for g in w.grants], dtype=np.int32)
    g_owner = s.party_parent[g_party]
    zone = pl.DataFrame(
        {"D": np.concatenate([g_party, g_owner[g_owner >= 0]]),
         "zt": np.concatenate([g_terr, g_terr[g_owner >= 0]]), "ok": True}
    ).unique().lazy()  # fmt: skip
    a = e.join(alloc, on="unit", how="inner").filter(
        (pl.col("seq") > pl.col("aseq")) & (pl.col("pkind") != K.PK_MANUFACTURER)
    )
    located = a.filter(pl.col("terr") != -2)
    in_zone = (
        located.select("seq", "D", "terr").join(anc_df, on="terr", how="inner")
        .join(zone, on=["D", "zt"], how="inner").select("seq").unique().with_columns(pl.lit(True).alias("inz"))
    )  # fmt: skip
    a = a.join(in_zone, on="seq", how="left").with_columns(pl.col("inz").fill_null(False))
    ooz = pl.col("kind").is_in([sell, insp, recv]) & (pl.col("terr") != -2) & ~pl.col("inz")
    # Cross-region: shipped to a party whose zone (own + parent's) shares nothing with D's.
    auth = pl.DataFrame(
        {"cp": np.concatenate([g_party, np.flatnonzero(s.party_parent >= 0).astype(np.int32)]),
         "owner": np.concatenate([g_party, s.party_parent[s.party_parent >= 0]])}
    ).lazy()  # fmt: skip
    zone_t = pl.DataFrame({"owner": g_party, "at": g_terr}).lazy()
    pairs = (
        a.filter((pl.col("kind") == ship) & (pl.col("cpkind") != K.PK_MANUFACTURER))
        .select("cp", "D")
        .unique()
    )
    cp_terr = (
        pairs.join(auth, on="cp")
        .join(zone_t, on="owner")
        .select("cp", "D", pl.col("at").alias("terr"))
    )
    d_terr = zone.rename({"zt": "dt"}).select("D", "dt")
    covers = (
        cp_terr.join(d_terr, on="D")
        .join(anc_df.rename({"terr": "dt", "zt": "dt_anc"}), on="dt")
        .join(anc_df.rename({"terr": "terr", "zt": "t_anc"}), on="terr")
        .filter((pl.col("dt_anc") == pl.col("terr")) | (pl.col("t_anc") == pl.col("dt")))
        .select("cp", "D").unique().with_columns(pl.lit(True).alias("overlap"))
    )  # fmt: skip
    a = a.join(covers, on=["cp", "D"], how="left")
    cross = (
        (pl.col("kind") == ship)
        & (pl.col("cpkind") != K.PK_MANUFACTURER)
        & pl.col("overlap").is_null()
    )
    flagged = a.with_columns(ooz.alias("ooz"), cross.alias("cross")).select(
        "seq", "unit", "ooz", "cross"
    )
    # Clones by speed: consecutive located scans of a unit.
    loc = (
        e.filter(pl.col("lat") != K.NO_COORD).select("seq", "unit", "at", "lat", "lon").sort("unit", "seq")
        .with_columns(
            (pl.col("lat") * (np.pi / 180e6)).alias("la"), (pl.col("lon") * (np.pi / 180e6)).alias("lo")
        )
        .with_columns(
            pl.col("la").shift(1).over("unit").alias("la0"), pl.col("lo").shift(1).over("unit").alias("lo0"),
            pl.col("at").shift(1).over("unit").alias("at0"),
        )
        .with_columns(
            (2 * 6371.0088 * (((pl.col("la") - pl.col("la0")) / 2).sin().pow(2)
             + pl.col("la").cos() * pl.col("la0").cos() * ((pl.col("lo") - pl.col("lo0")) / 2).sin().pow(2)
             ).sqrt().arcsin()).alias("km")
        )
        .with_columns(((pl.col("at") - pl.col("at0")) / 3.6e6).alias("h"))
        .filter(pl.col("km") > 1.0)
        .filter((pl.col("h") <= 0) | (pl.col("km") / pl.col("h") > 900))
    )  # fmt: skip
    got = pl.collect_all([flagged.filter(pl.col("ooz") | pl.col("cross")), loc.select("seq")])
    div, clones = got[0], got[1]
    # Aggregation: sell-in per distributor in the window, net of returns and diverted units.
    excluded = div.select("unit").unique().with_columns(pl.lit(True).alias("excl")).lazy()
    units = pl.DataFrame(
        {"unit": np.arange(len(s.unit_ids), dtype=np.int32), "product": s.unit_product}
    ).lazy()
    prices = pl.DataFrame(
        {"currency": np.repeat(np.arange(w.price.shape[0], dtype=np.int16), w.price.shape[1]),
         "product": np.tile(np.arange(w.price.shape[1], dtype=np.int32), w.price.shape[0]),
         "price": w.price.ravel()}
    ).lazy()  # fmt: skip
    lo, hi = w.window
    win = e.filter((pl.col("at") >= lo) & (pl.col("at") < hi))
    sell_in = win.filter(
        (pl.col("kind") == ship)
        & (pl.col("pkind") == K.PK_MANUFACTURER)
        & (pl.col("cpkind") != K.PK_MANUFACTURER)
    ).select("unit", pl.col("cp").alias("D"), pl.lit(1).alias("sign"))
    returns = win.filter(
        (pl.col("kind") == ret)
        & (pl.col("pkind") == K.PK_DISTRIBUTOR)
        & (pl.col("cpkind") == K.PK_MANUFACTURER)
    ).select("unit", pl.col("party").alias("D"), pl.lit(-1).alias("sign"))
    agg = (
        pl.concat([sell_in, returns]).join(excluded, on="unit", how="left")
        .filter(~(pl.col("excl").fill_null(False)))
        .join(units, on="unit").join(parties.lazy().rename({"party": "D"}), on="D")
        .join(prices, on=["currency", "product"])
        .group_by("D").agg(pl.col("sign").sum().alias("units"), (pl.col("sign") * pl.col("price")).sum().alias("value"))
        .collect()
    )  # fmt: skip
    t2 = time.perf_counter()
    net = np.zeros((len(s.party_ids), 2), dtype=np.int64)
    d = agg["D"].to_numpy()
    net[d, 0] = agg["units"].to_numpy()
    net[d, 1] = agg["value"].to_numpy()
    counts = {
        "out_of_zone": int(div["ooz"].sum()),
        "cross_region": int(div["cross"].sum()),
        "clone_speed": clones.height,
    }
    return counts, net, t2 - t0


def _accruals_seconds(w: World, run: Result) -> float:
    """What finance's accruals page computes: the period's aggregation up to mid-period
    and every distributor's statement on it (settlement.accruals over compute_statements)."""
    s = w.snap
    n_parts = max(os.cpu_count() or 1, 1)
    diverted = (run.flags & (K.F_OUT_OF_ZONE | K.F_CROSS_REGION)) != 0
    excluded = np.zeros(s.unit_ids.shape[0], dtype=np.bool_)
    excluded[s.unit[diverted]] = True
    args = (s.unit, s.kind, s.party, s.counterparty, s.at_ms, s.unit_product, s.party_kind,
            s.party_currency, w.price, excluded)  # fmt: skip
    t = time.perf_counter()
    lo, hi = w.window
    cur = K.aggregate_sales(*args, lo, (lo + hi) // 2, n_parts)
    for p in np.flatnonzero(s.party_is_distributor).tolist():
        st = cur[p, 0]
        net_u = int(st[K.S_GROSS_U] - st[K.S_RET_U] - st[K.S_EXCL_U])
        net_v = int(st[K.S_GROSS_V] - st[K.S_RET_V] - st[K.S_EXCL_V])
        settle_party(
            PartyInputs(s.party_codes[p], s.currencies[s.party_currency[p]], "B",
                        (ProgramInputs("VOL", 1, RULES, int(st[K.S_GROSS_U]), int(st[K.S_RET_U]),
                                       int(st[K.S_EXCL_U]), net_u, net_v, 0, 40),))
        )  # fmt: skip
    return time.perf_counter() - t


def _best_stages(results: list[Result]) -> Result:
    """The first result with each stage's time replaced by its minimum over all."""
    best = {k: min(r.seconds[k] for r in results) for k in results[0].seconds}
    first = results[0]
    return Result(first.flags, first.responsible, first.entry_terr, first.net, best)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--entries", type=int, default=20_000_000)
    ap.add_argument("--distributors", type=int, default=5_000)
    ap.add_argument("--territories", type=int, default=2_000)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args(argv)
    if args.entries < EVENTS_PER_UNIT or args.distributors < 2 or args.territories < 40:
        ap.error("need at least 8 entries, 2 distributors and 40 territories")
    t = time.perf_counter()
    w = synthesize(args.entries, args.distributors, args.territories, args.seed)
    print(f"synthesized {w.snap.n_entries:,} entries, {args.distributors:,} distributors, "
          f"{args.territories:,} territories in {time.perf_counter() - t:.1f} s "
          f"({os.cpu_count()} cores)")  # fmt: skip
    t = time.perf_counter()
    index = TerritoryIndex.from_geojson(w.geojson)
    print(f"territory index built in {time.perf_counter() - t:.1f} s (once per territory import)")
    small = synthesize(4_000, 20, 40, 1)
    run_ours(small, True, TerritoryIndex.from_geojson(small.geojson))  # compile outside timing
    # the run as it was before issue 8 and as it is now, alternated; each stage's best
    # of three (the stages both share run the same code, so noise cancels out)
    befores, nows = [], []
    for _ in range(3):
        befores.append(run_ours(w, True, index, issue8=False))
        nows.append(run_ours(w, True, index))
    before = _best_stages(befores)
    ours = _best_stages(nows)
    for stage in ("locate", "detect", "aggregate"):  # the same code in both: the same time
        before.seconds[stage] = ours.seconds[stage] = min(
            before.seconds[stage], ours.seconds[stage]
        )
    accrual_s = min(_accruals_seconds(w, ours) for _ in range(3))
    moved = int((ours.entry_terr != w.entry_terr).sum())
    counts, pnet, polars_s = run_polars(w, ours.entry_terr)
    sec = ours.seconds
    same_work = sec["detect"] + sec["aggregate"]
    total = sum(sec.values())
    f = ours.flags
    ours_counts = {
        "out_of_zone": int(((f & K.F_OUT_OF_ZONE) != 0).sum()),
        "cross_region": int(((f & K.F_CROSS_REGION) != 0).sum()),
        "clone_speed": int(((f & K.F_CLONE_SPEED) != 0).sum()),
    }
    same_net = np.array_equal(ours.net[:, 0, :], pnet)
    agree = ours_counts == counts and same_net
    print(f"scans located by geo.TerritoryIndex; {moved} differ from the synthetic territory")
    print(f"findings  ours   {ours_counts}")
    print(f"          polars {counts}")
    print(f"per-distributor net sell-in volume and value identical: {same_net}")
    print(f"ours:   locate {sec['locate']:.2f} s | detect {sec['detect']:.2f} s + aggregate "
          f"{sec['aggregate']:.2f} s = {same_work:.2f} s | statements {sec['statements']:.2f} s")  # fmt: skip
    print(f"        full run (locate + detect + aggregate + {len(w.grants)} grants' zones + "
          f"statements for {args.distributors:,} distributors): {total:.2f} s")  # fmt: skip
    before_total = sum(before.seconds.values())
    print("        before issue 8: " + ", ".join(f"{k} {v:.2f}" for k, v in before.seconds.items()))
    print("        with issue 8:   " + ", ".join(f"{k} {v:.2f}" for k, v in sec.items()))
    print(f"        before issue 8 (no incident grouping, balances brought forward or "
          f"accruals; one fine per alert): {before_total:.2f} s; with them {total:.2f} s: "
          f"{total / before_total:.2f}x (goal <= 1.10x)")  # fmt: skip
    print(f"        accruals as of mid-period (the same aggregation and statements, to a "
          f"day): {accrual_s:.2f} s = {accrual_s / total:.2f}x a full run")  # fmt: skip
    print(f"polars: detect + aggregate {polars_s:.2f} s")
    print(f"ratio (polars / ours, same work): {polars_s / same_work:.1f}x")
    return 0 if agree else 1


if __name__ == "__main__":
    raise SystemExit(main())
