"""The credit board's hot path (issue 13): every distributor's exposure, ours beside
a finance analyst's polars export of the same tables, in the same run.

    python benchmarks/compare_credit_exposure.py [--distributors 200] [--units 200000]
                                                 [--runs 5] [--seed 13]

A SQLite file database (migrated like an instance) gets one manufacturer and
``--distributors`` distributors (every tenth in USD, the rest in EUR), and the
manufacturer ships ``--units`` units of 20 GTINs to them over six months
(2026-06-01 to 2026-11-30), appended through ``ledger.append_hops`` in batches
(commissioning then shipping per unit); a few shipping entries are retracted by
error declarations. Then: two list-price versions per GTIN and currency (one GTIN
has no USD price: a *problem*, never counted), a credit limit for most parties
(``risk.limits.set_limit_in``; some none, some 0), posted rebate statements
(``statement`` receivable movements) and some brought-forward credits, trade
invoices (``risk.payments.record_invoice``, a few cancelled), payments
(``risk.payments.record_payment``, some naming an invoice) and a few write-offs,
so allocations of every kind exist (the limits dated before the first shipment).
Building 200,000 units takes about a minute on
a 2-core machine (the ledger append about 20 s, the ~600 payments most of the rest:
each reads its party's open items through ``ix_entries_counterparty_at_ms``).

- **ours**: ``risk.exposure.exposures_in(s, None, on)`` (what the credit board,
  the aging board and the threshold check call): a handful of grouped queries,
  then the open items, aging buckets and most days overdue in Python;
- **alternative**: what a finance analyst does instead: export the tables
  (entries joined to units, price lists, credit allocations, trade invoices,
  receivable movements, credit limits, parties) into polars frames and compute
  the same per-party figures with polars expressions (list price in force by an
  as-of join, statement credits FIFO by cumulative sums).

Both give the same figures for every distributor (checked; the run fails loudly
otherwise): currency, total, statements, invoices, deliveries, unapplied credit,
limit, utilisation (per mille, half-even), most days overdue, the five aging
buckets and the number of open items. Printed: median seconds of ``--runs`` for
each, and the ratio ours / alternative (lower is better).
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import Engine, update
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ledger import EntryKind, Hop, append_hops
from ledger.database import make_engine
from ledger.ids import gs1_check_digit, unit_key
from ledger.models import Party, Site
from risk.exposure import AGING_BUCKETS, exposures_in
from risk.limits import set_limit_in
from risk.models import CreditLimit
from risk.open_items import DAY_MS, DEFAULT_PAYMENT_DAYS
from risk.payments import cancel_invoice, record_invoice, record_payment, write_off
from settlement.models import PriceList, ReceivableMovement
from settlement.reference_values import date_ms
from web.db import init_database

START = date(2026, 6, 1)
DAYS = 183  # 2026-06-01 .. 2026-11-30
ON = date(2026, 12, 1)
N_GTINS = 20
BATCH = 1000  # units per append: 2,000 hops
HOUR = 3_600_000


@dataclass(frozen=True)
class _Actor:
    username: str = "bench"
    role: str = "finance"
    party_id: int | None = None
    user_id: int | None = None


FINANCE = _Actor()


def _gtin(n: int) -> str:
    body = f"095060002{n:04d}"
    return body + str(gs1_check_digit(body))


GTINS = [_gtin(n) for n in range(N_GTINS)]
UNPRICED_USD = GTINS[-1]  # no USD price on file: a problem for USD parties


def _day(offset: int) -> str:
    return (START + timedelta(days=offset)).isoformat()


def build(path: Path, distributors: int, units: int, seed: int) -> Engine:
    """The world described in the module docstring; prints how long each part took."""
    rng = random.Random(seed)
    engine = make_engine(f"sqlite:///{path}")
    init_database(engine)
    t = time.perf_counter()
    codes = [f"D{d:04d}" for d in range(distributors)]
    ids: dict[str, int] = {}
    with Session(engine) as s, s.begin():
        mfr = Party(code="MFR", name="Maker", kind="manufacturer", currency="EUR")
        s.add(mfr)
        s.flush()
        s.add(Site(code="PLANT", name="Plant", party_id=mfr.id, lat_e6=48_137_154,
                   lon_e6=11_576_124))  # fmt: skip
        for d, code in enumerate(codes):
            p = Party(code=code, name=f"Distributor {d}", kind="distributor",
                      currency="USD" if d % 10 == 9 else "EUR", country="DE", parent_id=mfr.id)  # fmt: skip
            s.add(p)
            s.flush()
            ids[code] = p.id
        for i, g in enumerate(GTINS):
            for ccy in ("EUR", "USD"):
                if ccy == "USD" and g == UNPRICED_USD:
                    continue
                base = 1_000 + 250 * i + (150 if ccy == "USD" else 0)
                for valid_from, price in (("2026-01-01", base), ("2026-09-01", base * 21 // 20)):
                    s.add(PriceList(gtin=g, currency=ccy, valid_from=valid_from,
                                    list_price_minor=price, created_by="bench"))  # fmt: skip
    # the shipments to come (a few distributors take most of the volume, like real
    # channels); limits and payments are sized on each party's share
    start_ms = date_ms(START.isoformat())
    times = sorted(start_ms + rng.randrange(DAYS * DAY_MS - 2 * HOUR) + HOUR for _ in range(units))
    weights = [1.0 / (1 + d % 40) for d in range(distributors)]
    to = rng.choices(codes, weights=weights, k=units)
    gt = rng.choices(GTINS, k=units)
    volume = Counter(to)  # units per party over six months
    # limits before anything is owed (payment days decide due days)
    with Session(engine) as s, s.begin():
        for d, code in enumerate(codes):
            if d % 17 == 5:
                continue  # no limit on file: 30 days, no utilisation
            limit = (
                0 if d % 23 == 7 else volume[code] * rng.randrange(1_000, 3_000) // 1_000 * 1_000
            )
            set_limit_in(s, ids[code], limit_minor=limit, payment_days=(30, 45, 60)[d % 3],
                         source="override", actor=FINANCE, reason="bench")  # fmt: skip
        # agreed before the first shipment: items fall due after the payment days in
        # force on their day (risk.open_items), which are then these
        s.execute(update(CreditLimit).values(created_ms=date_ms(START.isoformat()) - DAY_MS))
    print(f"  parties, prices, limits: {time.perf_counter() - t:.1f} s")

    # the ledger: units shipped in time order; each batch commissions then ships
    t = time.perf_counter()
    shipped: list[tuple[str, int]] = []  # (unit key, seq) of a sample to retract
    for b in range(0, units, BATCH):
        rows = range(b, min(b + BATCH, units))
        keys = [unit_key(gt[i], f"S{i}") for i in rows]
        hops = [Hop(k, EntryKind.COMMISSIONING, "MFR", times[i] - HOUR, site="PLANT")
                for k, i in zip(keys, rows, strict=True)]  # fmt: skip
        hops += [Hop(k, EntryKind.SHIPPING, "MFR", times[i], counterparty=to[i])
                 for k, i in zip(keys, rows, strict=True)]  # fmt: skip
        results = append_hops(engine, hops)
        bad = [r for r in results if r.status != "accepted"]
        if bad:
            raise SystemExit(f"ledger refused set-up hops: {bad[:3]}")
        if rng.random() < 0.3:
            j = rng.randrange(len(keys))
            shipped.append((keys[j], results[len(keys) + j].seqs[0]))
    retract_at = date_ms("2026-11-30") + HOUR
    append_hops(
        engine,
        [Hop(k, EntryKind.ERROR_DECLARATION, "MFR", retract_at, retracts=seq,
             note="incorrect_data") for k, seq in shipped],
    )  # fmt: skip
    seconds = time.perf_counter() - t
    print(f"  ledger: {2 * units:,} hops + {len(shipped)} retractions: {seconds:.1f} s")

    # statements (posted runs) and brought-forward credits, straight into the book
    t = time.perf_counter()
    with Session(engine) as s, s.begin():
        sid = 0
        for d, code in enumerate(codes):
            who = s.get(Party, ids[code])
            assert who is not None
            for month in (7, 8, 9, 10, 11):
                if rng.random() < 0.35:
                    sid += 1
                    s.add(ReceivableMovement(
                        party_id=who.id, at_ms=date_ms(f"2026-{month:02d}-05") + HOUR,
                        amount_minor=rng.randrange(1, 50) * 10_000, currency=who.currency,
                        kind="statement", ref=f"statement:{sid}", created_by="bench",
                    ))  # fmt: skip
            if d % 7 == 3:
                s.add(ReceivableMovement(
                    party_id=who.id, at_ms=date_ms("2026-09-05") + 2 * HOUR,
                    amount_minor=-rng.randrange(1, 30) * 10_000, currency=who.currency,
                    kind="brought_forward", ref=f"bf-{code}", created_by="bench",
                ))  # fmt: skip
    # trade invoices, a few cancelled
    numbers: list[tuple[str, str]] = []
    for d, code in enumerate(codes):
        for k in range(d % 3):
            number = f"INV-{code}-{k}"
            record_invoice(engine, ids[code], number, issued_on=_day(rng.randrange(DAYS)),
                           amount_minor=rng.randrange(5, 200) * 1_000,
                           description="service", actor=FINANCE)  # fmt: skip
            numbers.append((code, number))
    for _, number in numbers[::11]:
        cancel_invoice(engine, number, "issued twice", FINANCE)
    # payments, in date order; some name an invoice; a few write-offs
    plans = []
    for d, code in enumerate(codes):
        for _ in range(2 + d % 3):
            # each pays off about a month's deliveries (~3,500 minor units a unit)
            share = volume[code] * 3_500 // 6
            amount = max(share * rng.randrange(50, 120) // 100, 1_000)
            plans.append((_day(rng.randrange(30, DAYS)), code, amount))
    plans.sort()
    invoices = dict(numbers)
    for n, (day, code, amount) in enumerate(plans):
        ref = f"BANK-{n}"
        remittance = f"re {invoices[code]}" if code in invoices and n % 4 == 0 else ""
        record_payment(engine, ids[code], amount, ref, FINANCE, received_on=day,
                       remittance=remittance, source="bench")  # fmt: skip
    written = 0
    # deliveries still open once every payment on file counts (a payment received
    # after the write-off's day settles before it): written off on the last day
    with Session(engine) as s:
        board = exposures_in(s, None, date(2026, 11, 30))
    for pid, e in sorted(board.items())[::9]:
        items = [i for i in e.items if i.kind == "delivery" and i.open_minor > 0]
        if items:
            write_off(engine, pid, items[0].item, items[0].open_minor // 2 or None,
                      "customer insolvent", FINANCE, on="2026-11-30")  # fmt: skip
            written += 1
    print(f"  {sid} statements, {len(numbers)} invoices, {len(plans)} payments, "
          f"{written} write-offs: {time.perf_counter() - t:.1f} s")  # fmt: skip
    return engine


Figures = dict[int, tuple[Any, ...]]


def ours(engine: Engine) -> Figures:
    with Session(engine) as s:
        got = exposures_in(s, None, ON)
    return {
        pid: (e.currency, e.total_minor, e.statements_minor, e.invoices_minor,
              e.deliveries_minor, e.unapplied_minor, e.limit_minor, e.utilisation_permille,
              e.max_overdue_days, *(e.aging[b] for b in AGING_BUCKETS), len(e.items))
        for pid, e in got.items()
    }  # fmt: skip


def _read(conn: sqlite3.Connection, query: str, schema: dict[str, Any]) -> pl.DataFrame:
    return pl.read_database(query, connection=conn, schema_overrides=schema)


def alternative(path: Path) -> Figures:
    """The same figures from a polars export of the tables (see the module docstring)."""
    day = ON.isoformat()
    end_ms = date_ms(day) + DAY_MS
    on = pl.lit(ON)
    i64, s_ = pl.Int64, pl.String
    with sqlite3.connect(path) as conn:
        parties = _read(conn, "SELECT id AS party_id, currency FROM parties "
                              "WHERE kind = 'distributor'", {"party_id": i64, "currency": s_})  # fmt: skip
        limits = _read(
            conn, "SELECT id, party_id, limit_minor, payment_days, created_ms FROM credit_limits",
            {"id": i64, "party_id": i64, "limit_minor": i64, "payment_days": i64, "created_ms": i64},
        )  # fmt: skip
        allocs = _read(
            conn, "SELECT party_id, item, kind, amount_minor, currency, applied_on "
                  "FROM credit_allocations",
            {"party_id": i64, "item": s_, "kind": s_, "amount_minor": i64, "currency": s_,
             "applied_on": s_},
        )  # fmt: skip
        moves = _read(
            conn, "SELECT id, party_id, at_ms, amount_minor, currency, ref FROM receivable_movements",
            {"id": i64, "party_id": i64, "at_ms": i64, "amount_minor": i64, "currency": s_, "ref": s_},
        )  # fmt: skip
        invoices = _read(
            conn, "SELECT party_id, number, issued_on, due_on, amount_minor, currency, status "
                  "FROM trade_invoices",
            {"party_id": i64, "number": s_, "issued_on": s_, "due_on": s_, "amount_minor": i64,
             "currency": s_, "status": s_},
        )  # fmt: skip
        entries = _read(
            conn, "SELECT e.seq, e.kind, e.party_id, e.counterparty_id, e.at_ms, e.retracts_seq, "
                  "u.gtin FROM entries e JOIN units u ON u.id = e.unit_id",
            {"seq": i64, "kind": s_, "party_id": i64, "counterparty_id": i64, "at_ms": i64,
             "retracts_seq": i64, "gtin": s_},
        )  # fmt: skip
        makers = _read(conn, "SELECT id AS party_id FROM parties WHERE kind = 'manufacturer'",
                       {"party_id": i64})  # fmt: skip
        prices = _read(
            conn, "SELECT gtin, currency, valid_from, list_price_minor FROM price_lists",
            {"gtin": s_, "currency": s_, "valid_from": s_, "list_price_minor": i64},
        )  # fmt: skip

    # terms: the newest limit row, else 30 days and no limit
    terms = parties.join(
        limits.sort("created_ms", "id").group_by("party_id")
        .agg(pl.col("limit_minor").last(), pl.col("payment_days").last()),
        on="party_id", how="left",
    ).with_columns(pl.col("payment_days").fill_null(DEFAULT_PAYMENT_DAYS))  # fmt: skip
    ccy = parties.select("party_id", pl.col("currency").alias("pccy"))

    # allocations up to the day, in the party's currency
    alloc = allocs.filter(pl.col("applied_on") <= day).join(ccy, on="party_id")
    alloc = alloc.filter(pl.col("currency") == pl.col("pccy"))
    settled = alloc.group_by("party_id", "item").agg(pl.col("amount_minor").sum().alias("settled"))
    paid_st = (
        alloc.filter((pl.col("kind") == "payment") & pl.col("item").str.starts_with("statement:"))
        .group_by("party_id")
        .agg(pl.col("amount_minor").sum().alias("paid_st"))
    )

    # statements: positive movements by name; credits FIFO over them, oldest first
    mv = moves.filter(pl.col("at_ms") < end_ms).join(ccy, on="party_id")
    mv = mv.filter(pl.col("currency") == pl.col("pccy"))
    credit = (
        mv.filter(pl.col("amount_minor") <= 0)
        .group_by("party_id")
        .agg((-pl.col("amount_minor")).sum().alias("credit"))
    )
    free0 = (
        terms.select("party_id").join(credit, on="party_id", how="left")
        .join(paid_st, on="party_id", how="left")
        .select("party_id", (pl.col("credit").fill_null(0) - pl.col("paid_st").fill_null(0))
                .clip(lower_bound=0).alias("free0"))
    )  # fmt: skip
    st = (
        mv.filter(pl.col("amount_minor") > 0)
        .with_columns(
            pl.when(pl.col("ref").str.starts_with("statement:")).then(pl.col("ref"))
            .otherwise(pl.lit("statement:") + pl.col("ref")).alias("item")
        )
        .sort("at_ms", "id")
        .group_by("party_id", "item", maintain_order=True)
        .agg(pl.col("amount_minor").sum().alias("amount"), pl.col("at_ms").first(),
             pl.col("id").first())
        .join(settled, on=["party_id", "item"], how="left")
        .join(free0, on="party_id")
        .join(terms.select("party_id", "payment_days"), on="party_id")
        .sort("party_id", "at_ms", "id")  # joins keep no order: oldest statement first again
        .with_columns(pl.min_horizontal(pl.col("settled").fill_null(0), "amount").alias("done"))
        .with_columns((pl.col("amount") - pl.col("done")).alias("need"))
        .with_columns((pl.col("need").cum_sum().over("party_id") - pl.col("need")).alias("before"))
        .with_columns(
            (pl.col("free0") - pl.col("before")).clip(0, None).alias("avail"),
        )
        .with_columns(pl.min_horizontal("avail", "need").alias("take"))
        .select(
            "party_id", pl.lit("statement").alias("kind"),
            (pl.col("at_ms") // DAY_MS + pl.col("payment_days")).alias("due_n"),
            (pl.col("need") - pl.col("take")).alias("open"),
        )
    )  # fmt: skip
    # free left after the FIFO = max(free0 - what the statements needed after allocations, 0)
    needs = (
        mv.filter(pl.col("amount_minor") > 0)
        .with_columns(
            pl.when(pl.col("ref").str.starts_with("statement:")).then(pl.col("ref"))
            .otherwise(pl.lit("statement:") + pl.col("ref")).alias("item")
        )
        .group_by("party_id", "item").agg(pl.col("amount_minor").sum().alias("amount"))
        .join(settled, on=["party_id", "item"], how="left")
        .group_by("party_id")
        .agg((pl.col("amount") - pl.min_horizontal(pl.col("settled").fill_null(0), "amount"))
             .sum().alias("need"))
    )  # fmt: skip
    unapplied = free0.join(needs, on="party_id", how="left").select(
        "party_id",
        (pl.col("free0") - pl.col("need").fill_null(0)).clip(lower_bound=0).alias("unapplied"),
    )

    # invoices: open ones issued by the day, in the party's currency
    inv = (
        invoices.filter((pl.col("status") == "open") & (pl.col("issued_on") <= day))
        .join(ccy, on="party_id").filter(pl.col("currency") == pl.col("pccy"))
        .with_columns((pl.lit("invoice:") + pl.col("number")).alias("item"))
        .join(settled, on=["party_id", "item"], how="left")
        .select(
            "party_id", pl.lit("invoice").alias("kind"),
            (pl.col("due_on").str.to_date() - on).dt.total_days().alias("due_rel"),
            (pl.col("amount_minor") - pl.min_horizontal(pl.col("settled").fill_null(0),
                                                       "amount_minor")).alias("open"),
        )
    )  # fmt: skip

    # deliveries: the manufacturer's shipping entries, retractions left out, valued at
    # the list price in force on the day (as-of join on valid_from)
    retracted = entries.filter(pl.col("retracts_seq").is_not_null()).select(
        pl.col("retracts_seq").alias("seq")
    )
    ships = (
        entries.filter(
            (pl.col("kind") == "shipping") & (pl.col("at_ms") < end_ms)
            & pl.col("gtin").is_not_null()
        )
        .join(makers, on="party_id", how="semi")
        .join(retracted, on="seq", how="anti")
        .rename({"counterparty_id": "pid"})
        .join(terms.select(pl.col("party_id").alias("pid"), "currency", "payment_days"), on="pid")
        .group_by("pid", (pl.col("at_ms") // DAY_MS).alias("dayn"), "gtin", "currency",
                  "payment_days")
        .agg(pl.len().alias("n"))
        .with_columns(pl.from_epoch(pl.col("dayn") * 86_400, time_unit="s").cast(pl.Date)
                      .alias("ship_day"))
        .sort("ship_day")
    )  # fmt: skip
    price_days = prices.with_columns(pl.col("valid_from").str.to_date().alias("ship_day")).sort(
        "ship_day"
    )
    valued = ships.join_asof(price_days.select("gtin", "currency", "ship_day", "list_price_minor"),
                             on="ship_day", by=["gtin", "currency"], strategy="backward",
                             check_sortedness=False)  # fmt: skip
    dlv = (
        valued.group_by("pid", "ship_day", "payment_days")
        .agg((pl.col("n") * pl.col("list_price_minor")).sum().alias("value"))
        .with_columns((pl.lit("delivery:") + pl.col("ship_day").dt.to_string("%Y-%m-%d"))
                      .alias("item"))
        .rename({"pid": "party_id"})
        .join(settled, on=["party_id", "item"], how="left")
        .select(
            "party_id", pl.lit("delivery").alias("kind"),
            ((pl.col("ship_day") - on).dt.total_days() + pl.col("payment_days")).alias("due_rel"),
            (pl.col("value") - pl.min_horizontal(pl.col("settled").fill_null(0), "value"))
            .alias("open"),
        )
    )  # fmt: skip
    on_n = (ON - date(1970, 1, 1)).days
    items = pl.concat(
        [
            st.select("party_id", "kind", (pl.col("due_n") - on_n).alias("due_rel"), "open"),
            inv,
            dlv,
        ]
    ).filter(pl.col("open") != 0)
    od = (-pl.col("due_rel")).clip(lower_bound=0)
    od = pl.when(pl.col("open") > 0).then(od).otherwise(0).alias("od")
    per = items.with_columns(od).group_by("party_id").agg(
        *(pl.col("open").filter(pl.col("kind") == k).sum().alias(k)
          for k in ("statement", "invoice", "delivery")),
        pl.col("od").max().alias("worst"),
        pl.col("open").filter(pl.col("od") == 0).sum().alias("current"),
        pl.col("open").filter(pl.col("od").is_between(1, 30)).sum().alias("1-30"),
        pl.col("open").filter(pl.col("od").is_between(31, 60)).sum().alias("31-60"),
        pl.col("open").filter(pl.col("od").is_between(61, 90)).sum().alias("61-90"),
        pl.col("open").filter(pl.col("od") > 90).sum().alias("90+"),
        pl.len().alias("n_items"),
    )  # fmt: skip
    zero = ["statement", "invoice", "delivery", "worst", *AGING_BUCKETS, "n_items"]
    out = (
        terms.join(per, on="party_id", how="left").join(unapplied, on="party_id", how="left")
        .with_columns(pl.col(c).fill_null(0) for c in [*zero, "unapplied"])
        .with_columns((pl.col("statement") + pl.col("invoice") + pl.col("delivery")
                       - pl.col("unapplied")).alias("total"))
    )  # fmt: skip
    # utilisation: max(total, 0) * 1000 / limit, rounded half-even in integers
    num = pl.col("total").clip(lower_bound=0) * 1000
    q, r = num // pl.col("limit_minor"), num % pl.col("limit_minor")
    twice = 2 * r
    up = (twice > pl.col("limit_minor")) | ((twice == pl.col("limit_minor")) & (q % 2 == 1))
    out = out.with_columns(
        pl.when(pl.col("limit_minor").is_null() | (pl.col("limit_minor") == 0)).then(None)
        .otherwise(q + up.cast(pl.Int64)).alias("util")
    )  # fmt: skip
    cols = ["currency", "total", "statement", "invoice", "delivery", "unapplied", "limit_minor",
            "util", "worst", *AGING_BUCKETS, "n_items"]  # fmt: skip
    return {row[0]: tuple(row[1:]) for row in out.select("party_id", *cols).iter_rows()}


def _median(fn: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--distributors", type=int, default=200)
    ap.add_argument("--units", type=int, default=200_000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--seed", type=int, default=13)
    args = ap.parse_args()
    if args.distributors < 1 or args.units < 1 or args.runs < 1:
        ap.error("need at least one distributor, one unit and one run")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.db"
        t = time.perf_counter()
        print(f"building {args.distributors} distributors, {args.units:,} units:")
        engine = build(path, args.distributors, args.units, args.seed)
        print(f"  built in {time.perf_counter() - t:.1f} s")
        a, b = ours(engine), alternative(path)
        if a != b:
            wrong = sorted(p for p in set(a) | set(b) if a.get(p) != b.get(p))
            lines = [f"  party {p}: ours {a.get(p)}\n  {' ' * len(str(p))}    alt  {b.get(p)}"
                     for p in wrong[:5]]  # fmt: skip
            raise SystemExit(
                f"the two ways disagree on {len(wrong)} of {len(a)} parties:\n" + "\n".join(lines)
            )
        with Session(engine) as s:
            problems = sum(len(e.problems) for e in exposures_in(s, None, ON).values())
        owed = sum(v[1] for v in a.values())
        print(f"{len(a)} distributors agree on {len(next(iter(a.values())))} figures each "
              f"(total exposure {owed:,} minor units, {problems} problems named by ours)")  # fmt: skip
        t_ours = _median(lambda: ours(engine), args.runs)
        t_alt = _median(lambda: alternative(path), args.runs)
        print(f"ours (exposures_in, grouped queries):      {t_ours:.4f} s")
        print(f"alternative (polars export + expressions): {t_alt:.4f} s")
        print(f"ratio ours / alternative: {t_ours / t_alt:.3f}")
        engine.dispose()


if __name__ == "__main__":
    main()
