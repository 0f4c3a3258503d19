"""The credit gate on the intake path (issue 13): manufacturer shipments appended
through ``risk.credit_gate.append_gated`` (checked against each counterparty's
limit and cash-only status under the ledger lock, flagged, alerted) beside the same
batches through plain ``ledger.append_hops``, in the same run.

    python benchmarks/compare_credit_gate.py [--distributors 50] [--history 100000]
                                             [--batches 20] [--batch 1000]

A SQLite file database (migrated like an instance) gets one manufacturer,
``--distributors`` distributors with list prices and a credit limit each (a few
on cash only, most with room, some near their limit) and a ledger of
``--history`` units already shipped to them (their deliveries: the exposure the
gate reads). Then ``--batches`` batches of ``--batch`` units are commissioned
and, in the next batch, shipped to distributors drawn at random:

- **ours**: each shipping batch through ``append_gated`` (the handheld and EPCIS
  intake path, ``web/ingest.py``): the parties and limits read once, each
  counterparty's exposure once (``ix_entries_counterparty_at_ms``) and the
  batch's value, notes on the hops that cross, alerts after the append;
- **alternative**: the same batches through ``append_hops`` on a copy of the
  same database, no credit check (what intake was before issue 13).

Printed: hops per second of each over the shipping batches (the commissioning
batches, identical on both sides, are not timed), the ratio ours / alternative
(higher is better; 1.0 = the check costs nothing), and how many hops the gate
flagged (checked against the limits it read).
"""

from __future__ import annotations

import argparse
import random
import shutil
import tempfile
import time
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session

import risk.models  # noqa: F401  (tables on the shared metadata)
from ledger import EntryKind, Hop, append_hops
from ledger.database import make_engine
from ledger.models import Party, Site
from risk.credit_gate import append_gated
from risk.limits import set_limit_in
from risk.models import CreditAssessment
from settlement.common import Actor
from settlement.models import PriceList
from settlement.reference_values import date_ms
from web.db import init_database

FINANCE = Actor("bench", "finance")
GTINS = [f"0950600013{n:03d}" for n in range(10)]
DAY_MS = 86_400_000
START = date_ms("2026-09-01")


def _gtin(body: str) -> str:
    """GTIN-14 with its GS1 check digit (mod 10, weights 3 and 1 from the right)."""
    digits = [int(c) for c in body.rjust(13, "0")]
    total = sum(d * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return body.rjust(13, "0") + str((10 - total % 10) % 10)


def _key(gtin: str, serial: str) -> str:
    return f"01/{gtin}/21/{serial}"


def build(path: Path, distributors: int, history: int, seed: int) -> list[str]:
    """The world of the module docstring; returns the distributors' codes."""
    rng = random.Random(seed)
    engine = make_engine(f"sqlite:///{path}")
    init_database(engine)
    gtins = [_gtin(g[:13]) for g in GTINS]
    codes = [f"D{d:03d}" for d in range(distributors)]
    with Session(engine) as s, s.begin():
        mfr = Party(code="MFR", name="Maker", kind="manufacturer", currency="EUR")
        s.add(mfr)
        s.flush()
        s.add(Site(code="PLANT", name="Plant", party_id=mfr.id, lat_e6=48_137_154,
                   lon_e6=11_576_124))  # fmt: skip
        for code in codes:
            s.add(Party(code=code, name=code, kind="distributor", currency="EUR", country="DE"))
        for i, g in enumerate(gtins):
            s.add(PriceList(gtin=g, currency="EUR", valid_from="2026-01-01",
                            list_price_minor=1_000 + 100 * i, created_by="bench"))  # fmt: skip
    to = rng.choices(codes, k=history)
    for b in range(0, history, 5_000):
        rows = range(b, min(b + 5_000, history))
        keys = [_key(gtins[i % len(gtins)], f"H{i}") for i in rows]
        at = [START + i * 30_000 for i in rows]
        hops = [Hop(k, EntryKind.COMMISSIONING, "MFR", t, site="PLANT")
                for k, t in zip(keys, at, strict=True)]  # fmt: skip
        hops += [Hop(k, EntryKind.SHIPPING, "MFR", t + 1_000, counterparty=to[i])
                 for k, t, i in zip(keys, at, rows, strict=True)]  # fmt: skip
        append_hops(engine, hops)
    per_party = {c: to.count(c) for c in codes}
    with Session(engine) as s, s.begin():
        ids = {p.code: p.id for p in s.query(Party).filter(Party.kind == "distributor")}
        for d, code in enumerate(codes):
            owed = per_party[code] * 1_500  # about what it has been shipped
            room = (5, 1, 30)[d % 3]  # some near the limit, most with room
            set_limit_in(s, ids[code], limit_minor=owed + room * 100_000, payment_days=60,
                         source="override", actor=FINANCE, reason="bench")  # fmt: skip
            if d % 10 == 0:
                s.add(CreditAssessment(party_id=ids[code], level="high", cash_only=True,
                                       basis_json="{}", assessed_on="2026-11-01",
                                       assessed_by="bench", created_ms=0))  # fmt: skip
    engine.dispose()
    return codes


def batches(codes: list[str], count: int, size: int, seed: int) -> list[list[Hop]]:
    """Commissioning and shipping batches, alternating: each ships the units the
    batch before commissioned (so the gate values stored units)."""
    rng = random.Random(seed + 1)
    gtins = [_gtin(g[:13]) for g in GTINS]
    at = date_ms("2026-12-01")
    out: list[list[Hop]] = []
    for b in range(count):
        keys = [_key(gtins[(b + i) % len(gtins)], f"N{b}-{i}") for i in range(size)]
        out.append([Hop(k, EntryKind.COMMISSIONING, "MFR", at + b, site="PLANT") for k in keys])
        out.append([Hop(k, EntryKind.SHIPPING, "MFR", at + b + 1, counterparty=rng.choice(codes))
                    for k in keys])  # fmt: skip
    return out


def run(engine: Engine, work: list[list[Hop]], gated: bool) -> tuple[float, int, int]:
    """(seconds spent on the shipping batches, hops shipped, hops flagged)."""
    spent, shipped, flagged = 0.0, 0, 0
    for batch in work:
        shipping = batch[0].kind is EntryKind.SHIPPING
        t = time.perf_counter()
        results = append_gated(engine, batch) if gated and shipping else append_hops(engine, batch)
        if shipping:
            spent += time.perf_counter() - t
            shipped += len(batch)
            flagged += sum(
                1 for r in results if r.anomaly.startswith("credit") or "credit:" in r.anomaly
            )
        assert all(r.status == "accepted" for r in results), results[:3]
    return spent, shipped, flagged


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--distributors", type=int, default=50)
    ap.add_argument("--history", type=int, default=100_000)
    ap.add_argument("--batches", type=int, default=20)
    ap.add_argument("--batch", type=int, default=1_000)
    ap.add_argument("--seed", type=int, default=13)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        ours_db, alt_db = Path(tmp) / "ours.db", Path(tmp) / "alt.db"
        t = time.perf_counter()
        codes = build(ours_db, args.distributors, args.history, args.seed)
        shutil.copyfile(ours_db, alt_db)
        print(f"built {args.distributors} distributors, {args.history:,} units shipped before:"
              f" {time.perf_counter() - t:.1f} s")  # fmt: skip
        work = batches(codes, args.batches, args.batch, args.seed)
        results = {}
        for name, path, gated in (("alternative", alt_db, False), ("ours", ours_db, True)):
            engine = make_engine(f"sqlite:///{path}")
            results[name] = run(engine, work, gated)
            engine.dispose()
        (t_ours, n, flagged), (t_alt, _, none) = results["ours"], results["alternative"]
        assert none == 0, "the plain append flagged credit"
        print(f"ours (append_gated, credit checked):  {n / t_ours:,.0f} hops/s"
              f" ({flagged:,} of {n:,} flagged)")  # fmt: skip
        print(f"alternative (append_hops, no check):  {n / t_alt:,.0f} hops/s")
        print(f"ratio ours / alternative: {t_alt / t_ours:.3f}")


if __name__ == "__main__":
    main()
