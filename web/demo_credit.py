"""The demo's credit and risk (issue 13, "Must show": "the demo seeds credit files for
its parties, a few overdue items and one party on cash only").

Written after the network, its scans and the partner pipeline, through the
services finance uses (never raw rows), dated from today (UTC), chosen by the seed:

- a credit investigation of every active distributor (:mod:`risk.credit_files`:
  the register, bank and trade references, a credit insurer's grade, last year's
  statements in the party's currency; most are sound, a few fair, one weak), then
  its rating, the table's limit and the risk level (:func:`risk.rating.rate_party`,
  which assesses through :mod:`risk.assessment`);
- the shipments of the past months paid (:func:`risk.payments.record_payment`,
  and for about a third of the distributors a bank statement in the bank layout
  through :func:`risk.bank_import.import_payments`, matched by IBAN or by the code
  in the remittance text, with a bank fee and an unknown payer left unbooked);
- a few trade invoices (:func:`risk.payments.record_invoice`), one paid, two left
  about 35 and 65 days overdue;
- one distributor (the "weak" one) rated about 200 days ago on a fair file, then
  an invoice it never paid (over 90 days overdue now): re-investigated and rated
  today it is high risk, so on cash only; a manufacturer shipment to it after that
  goes through the credit gate (:func:`risk.credit_gate.append_gated`), so its
  entry carries the credit anomaly and a ``cash_only_shipment`` alert is raised;
- another distributor rated about 400 days ago too, so the rating accuracy
  (:mod:`risk.accuracy`) has ratings with an outcome (one right, one wrong);
- risk register entries of parties, of the rebate program and of the channel
  (:mod:`risk.register`), the default thresholds and one threshold check
  (:func:`risk.thresholds.check`), so threshold alerts exist. No e-mail is queued
  or sent (the demo has no SMTP server).

The same seed chooses the same parties and figures; record times are the clock's.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from ledger.ids import unit_key
from ledger.models import Party, ScanReceipt
from partners.errors import PartnerError
from settlement import Actor
from settlement.models import PartyBilling
from settlement.reference_values import minor_to_major

__all__ = ["CreditSummary", "seed_credit"]

DAY = dt.timedelta(days=1)
FINANCE = Actor("finance", "finance")
CHANNEL = Actor("channel", "channel_manager")
_INSURERS = ("Coface", "Allianz Trade", "Atradius")
_BANKS = ("Deutsche Bank", "UBS", "BNP Paribas", "HSBC", "ING", "Santander")


@dataclass
class CreditSummary:
    """What the demo seeded: credit files, ratings (and the parties that could not be
    rated, with why), payments, invoices, the cash-only party, its shipment's
    anomaly and the alerts."""

    investigated: int = 0
    rated: int = 0
    not_rated: list[str] = field(default_factory=list)
    payments: int = 0
    bank_lines_booked: int = 0
    bank_lines_unbooked: int = 0
    invoices: int = 0
    overdue_items: int = 0
    cash_only: str = ""
    anomaly: str = ""
    alerts: int = 0
    risks: int = 0
    grades: dict[str, int] = field(default_factory=dict)


def _scale(currency: str) -> Decimal:
    """Units of ``currency`` per EUR (the demo's rates), for figures in major units."""
    from web.demo import FX_TO_EUR

    return Decimal(1) / Decimal(FX_TO_EUR.get(currency, "1"))


def _file(
    rng: random.Random, party: Party, quality: str, on: dt.date
) -> dict[str, str | int | None]:
    """An investigation's fields (major units of the party's currency) of a sound,
    fair or weak company, as typed on the credit file's form."""
    revenue_eur = {
        "sound": rng.randint(8, 40),
        "fair": rng.randint(3, 12),
        "weak": rng.randint(1, 4),
    }[quality] * 1_000_000
    equity_share = {"sound": (28, 45), "fair": (12, 22), "weak": (1, 6)}[quality]
    equity_eur = revenue_eur * rng.randint(*equity_share) // 100
    scale = _scale(party.currency)
    number = f"{rng.randint(100000, 999999)}"
    figures: dict[str, tuple[str, str, int, int, tuple[int, int], tuple[int, int], tuple[int, int]]]
    figures = {
        #          bank    status        good bad insurer  ratio x100  days payable
        "sound": ("good", "active", 3, 0, (7, 9), (160, 240), (25, 40)),
        "fair": ("fair", "active", 2, 0, (5, 6), (115, 150), (40, 60)),
        "weak": ("poor", "in arrears with the register's fees", 1, 2, (2, 3), (75, 99), (85, 130)),
    }
    bank, status, good, bad, insurer, ratio, dpo = figures[quality]
    return {
        "investigated_on": on.isoformat(),
        "registration": f"Commercial register of {party.country or '?'}, no. {number},"
        f" {party.name} Ltd, status: {status}",
        "registration_verified": "yes" if quality != "weak" else "no",
        "bank_reference": bank,
        "trade_references_good": good,
        "trade_references_bad": bad,
        "insurer": rng.choice(_INSURERS),
        "insurer_grade": rng.randint(*insurer),
        "statement_year": on.year - 1,
        "currency": party.currency,
        "revenue": str(int(revenue_eur * scale)),
        "equity": str(int(equity_eur * scale)),
        "current_ratio": f"{Decimal(rng.randint(*ratio)) / 100:.2f}",
        "days_payable": rng.randint(*dpo),
        "notes": f"Bank letter from {rng.choice(_BANKS)}; "
        + {
            "sound": "pays on time, long-standing customers.",
            "fair": "growing fast, thin equity.",
            "weak": "late with suppliers; register fees outstanding.",
        }[quality],
    }


def _investigate(
    engine: Engine, rng: random.Random, party: Party, quality: str, on: dt.date
) -> None:
    from risk.credit_files import record_investigation

    record_investigation(engine, party.id, _file(rng, party, quality, on), FINANCE)


def _fx_back_then(engine: Engine, currency: str, on: dt.date) -> None:
    """The demo's rate of ``currency`` for the month of ``on`` (before the network's
    months), so a rating that long ago converts the table's euro limit."""
    import settlement
    from web.demo import FX_TO_EUR

    if currency == "EUR" or currency not in FX_TO_EUR:
        return
    settlement.set_fx_rate(
        engine, f"{on.year:04d}-{on.month:02d}", currency, "EUR", FX_TO_EUR[currency],
        settlement.Actor("demo", "admin"), source="demo rates", audit_source="demo",
    )  # fmt: skip


def _rate(engine: Engine, party: Party, on: dt.date, summary: CreditSummary) -> str | None:
    """Rate the party on ``on``; its grade, or None (named in ``not_rated``) when the
    table's limit cannot be converted to its currency (no FX rate that early)."""
    from risk.rating import rate_party

    try:
        return rate_party(engine, party.id, FINANCE, on=on).grade
    except PartnerError as exc:
        summary.not_rated.append(f"{party.code} on {on}: {exc}")
        return None


def _pay_deliveries(
    engine: Engine,
    rng: random.Random,
    parties: list[Party],
    today: dt.date,
    bank_codes: set[str],
    summary: CreditSummary,
    *,
    unpaid_after: dict[int, dt.date],
) -> None:
    """Pay every delivery that is due, a few days after its due day: by hand, or on
    the bank statement for the parties in ``bank_codes``; a party in
    ``unpaid_after`` leaves those due after that day unpaid (overdue)."""
    from risk.bank_import import BANK_COLUMNS, import_payments
    from risk.open_items import items_in
    from risk.payments import record_payment

    lines: list[tuple[str, ...]] = []
    with Session(engine) as s:
        ibans = {b.party_id: b.iban for b in s.scalars(select(PartyBilling))}
        found = items_in(s, [p.id for p in parties], today)
    for party in parties:
        mine = found[party.id].items if party.id in found else []
        for n, item in enumerate(i for i in mine if i.kind == "delivery"):
            due_on = dt.date.fromisoformat(item.due_on)
            if item.open_minor <= 0 or due_on > today:
                continue  # not due yet: open, current
            if party.id in unpaid_after and due_on > unpaid_after[party.id]:
                continue  # a late payer: left overdue
            paid_on = min(due_on + rng.randint(-5, 12) * DAY, today)
            paid_on = max(paid_on, dt.date.fromisoformat(item.issued_on))
            remittance = f"{party.code} {item.item}"
            if party.code in bank_codes:
                by_iban = n % 2 == 0 and ibans.get(party.id)
                lines.append((
                    paid_on.isoformat(), paid_on.isoformat(),
                    minor_to_major(item.open_minor, party.currency), party.currency,
                    f"{party.name} Ltd", (ibans.get(party.id) or "") if by_iban else "",
                    f"SEPA-{party.code}-{n + 1}",
                    f"Payment {item.item}" if by_iban else remittance,
                ))  # fmt: skip
                continue
            record_payment(
                engine, party.id, item.open_minor, f"TT {party.code} {paid_on:%Y%m%d}", FINANCE,
                received_on=paid_on, remittance=remittance, source="demo",
            )  # fmt: skip
            summary.payments += 1
    if not lines:
        return
    day = (today - DAY).isoformat()
    lines.append((day, day, "-38.50", "EUR", "Bank fees", "", f"FEE-{day[:7]}", "Account fees"))
    lines.append((day, day, "120.00", "EUR", "Unknown Customer", "", "SEPA-0000", "thank you"))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(BANK_COLUMNS)
    writer.writerows(lines)
    data = out.getvalue().encode()
    report = import_payments(engine, f"bank-statement-{today}.csv", data, FINANCE)
    summary.bank_lines_booked = len(report.matched)
    summary.bank_lines_unbooked = len(report.unbooked)


def _next_seq(engine: Engine, device: str) -> int:
    with Session(engine) as s:
        return (
            int(
                s.scalar(
                    select(func.max(ScanReceipt.device_seq)).where(ScanReceipt.device == device)
                )
                or 0
            )
            + 1
        )


def _ship_to(engine: Engine, party: Party, count: int, day: dt.date) -> str:
    """Commission ``count`` watches at the plant and ship them to ``party`` on credit
    through the credit gate, just after midnight of ``day`` (UTC; fixed times, so
    the same seed gives the same ledger that day); the shipping entry's anomaly."""
    from ledger import EntryKind, Hop
    from risk.credit_gate import append_gated
    from settlement.reference_values import date_ms
    from web.demo import PRODUCTS, gtin_of

    gtin = gtin_of(PRODUCTS[0][0])
    midnight = date_ms(day.isoformat())
    line, dock = _next_seq(engine, "PLANT-LINE-1"), _next_seq(engine, "PLANT-DOCK")
    with Session(engine) as s:
        taken = int(s.scalar(select(func.count()).select_from(ScanReceipt)) or 0)
    units = [unit_key(gtin, f"9{taken + i:07d}") for i in range(count)]
    hops = [
        Hop(u, EntryKind.COMMISSIONING, "MFR", midnight + 60_000 + i, site="MFR-PLANT",
            device="PLANT-LINE-1", device_seq=line + i)
        for i, u in enumerate(units)
    ] + [
        Hop(u, EntryKind.SHIPPING, "MFR", midnight + 300_000 + i, site="MFR-PLANT",
            counterparty=party.code, device="PLANT-DOCK", device_seq=dock + i)
        for i, u in enumerate(units)
    ]  # fmt: skip
    results = append_gated(engine, hops)
    bad = [r for r in results if r.status != "accepted"]
    if bad:
        raise RuntimeError(f"the demo's shipment on credit was not recorded: {bad[0]}")
    return results[-1].anomaly


def _register(engine: Engine, cash_only: Party | None, overdue: list[Party], today: dt.date) -> int:
    from risk.register import add_risk

    entries: list[dict[str, str | int]] = []
    if cash_only is not None:
        entries.append({
            "party": cash_only.code, "category": "credit", "likelihood": 5, "impact": 4,
            "title": "Unpaid invoice over 90 days; register fees outstanding",
            "description": "Rated high risk: on cash only; termination proposed.",
            "owner": "finance", "status": "mitigating",
            "response_plan": "Cash in advance for every shipment; collect the invoice through the "
            "credit insurer; decide on termination at the next review.",
        })  # fmt: skip
    for party in overdue[:1]:
        entries.append({
            "party": party.code, "category": "credit", "likelihood": 3, "impact": 3,
            "title": "Invoices paid late", "owner": "finance",
            "response_plan": "Monthly review; dunning letter at 30 days.",
        })  # fmt: skip
    entries += [
        {
            "program": "VOLUME-REBATE", "category": "cooperation", "likelihood": 2, "impact": 4,
            "title": "Rebate tiers reward stocking up before quarter end", "owner": "channel",
            "response_plan": "Compare sell-in with sell-out each quarter; cap the retroactive tier.",
        },
        {
            "category": "brand", "likelihood": 3, "impact": 5, "owner": "partners",
            "title": "Grey-market resale of diverted units online",
            "response_plan": "Trace listed serials; warn, then fine, the distributor of origin.",
        },
        {
            "category": "market", "likelihood": 2, "impact": 3, "owner": "channel",
            "title": "Currency swings against the euro in USD and JPY markets",
            "status": "accepted",
            "response_plan": "Monthly FX rates; list prices reviewed each quarter.",
        },
    ]  # fmt: skip
    for values in entries:
        add_risk(engine, FINANCE, values, on=today)
    return len(entries)


def seed_credit(engine: Engine, seed: int, *, today: dt.date | None = None) -> CreditSummary:
    """Seed the demo's credit and risk (module docstring) deterministically from
    ``seed``; dated from ``today`` (default: today, UTC)."""
    from risk.credit_alerts import list_alerts
    from risk.open_items import items_in
    from risk.payments import record_invoice
    from risk.thresholds import check

    day = today or dt.datetime.now(dt.UTC).date()
    rng = random.Random(f"credit-{seed}")
    summary = CreditSummary()
    with Session(engine) as s:
        everyone = list(
            s.scalars(select(Party).where(Party.kind == "distributor").order_by(Party.code))
        )
        for p in everyone:
            s.expunge(p)
    active = [p for p in everyone if p.status == "active"]
    if len(active) < 2:
        return summary
    with Session(engine) as s:
        shipped = {
            pid
            for pid, found in items_in(s, [p.id for p in everyone], day).items()
            if any(i.kind == "delivery" for i in found.items)
        }
    # the two rated long ago: supplied by the manufacturer, in euros (the limit
    # table's currency) where there are such; else that month's rate is added
    pool = [p for p in active if p.currency == "EUR" and p.id in shipped]
    pool = pool if len(pool) >= 2 else [p for p in active if p.id in shipped] or active
    weak = rng.choice(pool)
    steady = rng.choice([p for p in pool if p is not weak] or active)
    others = [p for p in active if p not in (weak, steady)]
    fair = set(rng.sample(others, min(len(others), max(1, len(others) // 5))))
    supplied = [p for p in others if p.id in shipped] or others
    late = rng.sample(supplied, min(len(supplied), 2))
    payers = [p for p in everyone if p is not weak]
    by_bank = [p for p in payers if p.id in shipped] or payers
    bank_codes = {p.code for p in rng.sample(by_bank, max(1, len(by_bank) // 3))}

    # a year and more ago: the steady one rated on a sound file, the weak one on a fair one
    for party, quality, back in ((steady, "sound", 400), (weak, "fair", 200)):
        _fx_back_then(engine, party.currency, day - back * DAY)
        _investigate(engine, rng, party, quality, day - (back + 5) * DAY)
        _rate(engine, party, day - back * DAY, summary)

    # the past months' shipments paid (the weak one's not), by hand and by bank statement
    _pay_deliveries(
        engine, rng, payers, day, bank_codes, summary,
        unpaid_after={p.id: day - 75 * DAY for p in late},
    )  # fmt: skip

    # trade invoices: the weak one's never paid; two left overdue about 35 and 65 days; one paid
    number = 0

    def invoice(party: Party, issued: dt.date, eur: int, what: str) -> str:
        nonlocal number
        number += 1
        code = f"INV-{issued.year}-{number:04d}"
        amount = int(Decimal(eur) * _scale(party.currency) * 10 ** _digits(party.currency))
        record_invoice(
            engine, party.id, code, issued_on=issued, due_on=issued + 30 * DAY,
            amount_minor=amount, description=what, actor=FINANCE,
        )  # fmt: skip
        summary.invoices += 1
        return code

    invoice(weak, day - 190 * DAY, 18_400, "Spare parts and service kits")
    for party, back, what in zip(
        late, (65, 95), ("Display stands and marketing material", "Demonstration units"),
        strict=False,
    ):  # fmt: skip
        invoice(party, day - back * DAY, rng.randint(2, 9) * 1000, what)
    if others:
        paid_by = rng.choice(others)
        code = invoice(paid_by, day - 40 * DAY, 3_200, "Service training")
        from risk.payments import record_payment

        with Session(engine) as s:
            open_now = {
                i.item: i.open_minor for i in items_in(s, [paid_by.id], day)[paid_by.id].items
            }
        record_payment(
            engine, paid_by.id, open_now[f"invoice:{code}"], f"TT {code}", FINANCE,
            received_on=day - 12 * DAY, remittance=f"invoice:{code}", source="demo",
        )  # fmt: skip
        summary.payments += 1

    # today's files and ratings (limits from the table, the matrix's action)
    for party in active:
        quality = "weak" if party is weak else "fair" if party in fair else "sound"
        _investigate(engine, rng, party, quality, day - rng.randint(2, 30) * DAY)
        summary.investigated += 1
        grade = _rate(engine, party, day, summary)
        if grade is not None:
            summary.rated += 1
            summary.grades[grade] = summary.grades.get(grade, 0) + 1

    from risk.assessment import is_cash_only
    from risk.rating import GRADES

    summary.grades = {g: summary.grades[g] for g in GRADES if g in summary.grades}

    with Session(engine) as s:
        on_cash = is_cash_only(s, weak.id)
    if on_cash:
        summary.cash_only = weak.code
        summary.anomaly = _ship_to(engine, weak, 2, day)

    summary.risks = _register(engine, weak if on_cash else None, late, day)
    check(engine, CHANNEL, day)
    with Session(engine) as s:
        summary.overdue_items = sum(
            1
            for found in items_in(s, None, day).values()
            for i in found.items
            if i.days_overdue(day) > 0
        )
    summary.alerts = list_alerts(engine, FINANCE, limit=1)[1]
    return summary


def _digits(currency: str) -> int:
    from settlement.rules.money import minor_exponent

    return minor_exponent(currency)
