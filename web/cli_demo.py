"""``hopchain demo``: a realistic network with months of scans, for trying things out."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import click

from web.cli import in_app_context
from web.progress import Progress, stage_line

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from web.demo import DemoConfig
    from web.demo_credit import CreditSummary
    from web.demo_partners import PipelineSummary

REBATE_RULES = {
    "currency": "EUR",
    "basis": "sell_in",
    "measure": "volume",
    "mode": "retroactive",
    "tiers": [
        {"threshold": 1, "rate": "300"},
        {"threshold": 40, "rate": "500"},
        {"threshold": 120, "rate": "800"},
    ],
    "class_multipliers": {"A": "1.1", "B": "1", "C": "0.9"},
    "default_class": "B",
    "growth": {"rate": "0.02", "new_distributor": "none"},
    "kpi": {"floor": "0.6", "pro_rata": True},
    "penalties": {
        "fine_per_unit": 2500,
        "escalation": ["1", "1.5", "2"],
        "forfeiture": True,
        "whistleblower_share": "0.1",
    },
}


def _months(cfg: DemoConfig) -> list[str]:
    from web.demo import month_start_ms

    moments = (
        datetime.fromtimestamp(month_start_ms(cfg.start, m) / 1000, UTC) for m in range(cfg.months)
    )
    return [f"{d.year:04d}-{d.month:02d}" for d in moments]


def settlement_reference(
    engine: Engine, cfg: DemoConfig, distributors: list[tuple[str, str, str, str]]
) -> None:
    """Products, price lists, territory grants, targets, FX, billing details,
    deposits and the rebate program."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    import settlement
    from ledger.models import Party
    from web.demo import FX_TO_EUR, PRODUCTS, gtin_of

    stage_line("demo: products, prices, territories, targets, FX, deposits and the program…")

    finance = settlement.Actor("demo", "admin")
    months = _months(cfg)
    currencies = sorted({c for *_, c in distributors} | {"EUR"})
    for ref, name, eur_price in PRODUCTS:
        gtin = gtin_of(ref)
        settlement.set_product(engine, gtin, name, finance, source="demo")
        for month in months:
            for ccy in currencies:
                rate = Decimal(FX_TO_EUR[ccy])
                local = int((Decimal(eur_price) / rate).quantize(Decimal(1)))
                if ccy == "JPY":  # no minor unit: list prices are in whole yen
                    local = int((Decimal(eur_price) / 100 / rate).quantize(Decimal(1)))
                settlement.set_price(
                    engine, gtin, ccy, f"{month}-01", local, finance, source="demo"
                )
    for month in months:
        for ccy in currencies:
            if ccy != "EUR":
                settlement.set_fx_rate(
                    engine,
                    month,
                    ccy,
                    "EUR",
                    FX_TO_EUR[ccy],
                    finance,
                    source="demo rates",
                    audit_source="demo",
                )
    per_distributor = max(1, cfg.units // max(1, len(distributors)) // cfg.months)
    with Session(engine) as s:
        ids = {p.code: p.id for p in s.scalars(select(Party).where(Party.kind == "distributor"))}
    for code, *_ in distributors:
        for month in months:
            settlement.set_target(
                engine, ids[code], month, finance, units=per_distributor, source="demo"
            )
    _billing_and_deposits(engine, distributors, ids, f"{months[0]}-01")
    settlement.create_program(engine, "VOLUME-REBATE", "Volume rebate", finance, source="demo")
    settlement.add_program_version(
        engine, "VOLUME-REBATE", months[0], None, REBATE_RULES, finance, source="demo"
    )
    _agreements(engine, cfg, distributors, ids, ("VOLUME-REBATE",))


def _day(at_ms: int) -> str:
    return datetime.fromtimestamp(at_ms / 1000, UTC).date().isoformat()


def _agreements(
    engine: Engine,
    cfg: DemoConfig,
    distributors: list[tuple[str, str, str, str]],
    ids: dict[str, int],
    programs: tuple[str, ...],
) -> None:
    """Every distributor's signed main agreement (web.demo_agreements): its country,
    the demo's programs and deposit, valid from a year before the first demo month
    (when its territory was granted) to a year after the last. Its grants and
    enrolments are what detection and settlement read."""
    from web.demo import month_start_ms
    from web.demo_agreements import sign_demo_agreements

    valid_from = _day(month_start_ms(cfg.start, -12))
    valid_to = _day(month_start_ms(cfg.start, cfg.months + 12) - 86_400_000)
    sign_demo_agreements(
        engine,
        [
            (code, ids[code], country, ccy, _deposit_minor(ccy))
            for code, _n, country, ccy in distributors
        ],
        programs,
        valid_from,
        valid_to,
    )


DEMO_DEPOSIT_EUR = Decimal(2_000)  # each distributor's agreed deposit, in EUR


def _deposit_minor(ccy: str) -> int:
    """The demo deposit (about EUR 2,000) in minor units of ``ccy``."""
    from settlement.rules.money import minor_exponent
    from web.demo import FX_TO_EUR

    local = DEMO_DEPOSIT_EUR / Decimal(FX_TO_EUR[ccy]) * 10 ** minor_exponent(ccy)
    return int(local.quantize(Decimal(1)))


def _billing_and_deposits(
    engine: Engine,
    distributors: list[tuple[str, str, str, str]],
    ids: dict[str, int],
    day: str,
) -> None:
    """Billing details (test IBANs of a German bank, so payment files can be made) and
    a deposit of about EUR 2,000 agreed and paid in by every distributor."""
    from schwifty import IBAN

    import settlement

    fin = settlement.Actor("demo", "finance")
    for n, (code, name, country, ccy) in enumerate(distributors):
        pid = ids[code]
        iban = IBAN.generate("DE", bank_code="37040044", account_code=f"{700100000 + n}")
        settlement.set_party_billing(
            engine, pid, fin, legal_name=f"{name} Ltd", address=f"{n + 1} Harbour Road\n{country}",
            iban=str(iban), bic="COBADEFFXXX", source="demo",
        )  # fmt: skip
        amount = _deposit_minor(ccy)
        settlement.set_deposit_agreement(engine, pid, day, amount, fin, source="demo")
        settlement.record_deposit(
            engine, pid, amount, "deposit paid in on signing", fin, kind="receipt",
            source="demo", on=day,
        )  # fmt: skip


def _partner_pipeline(engine: Engine, cfg: DemoConfig) -> PipelineSummary:
    """Prospects in every stage, trials, interactions and one exit (web.demo_partners)."""
    from web.demo_partners import seed_partner_pipeline

    stage_line("demo: prospects, trials, agreements, interactions and an exit…")
    return seed_partner_pipeline(engine, cfg.seed, _months(cfg))


def _credit(engine: Engine, cfg: DemoConfig) -> CreditSummary:
    """Credit files, ratings, limits, payments, overdue items, one party on cash only
    and its shipment through the credit gate, the register and alerts (web.demo_credit)."""
    from web.demo_credit import seed_credit

    stage_line("demo: credit files, ratings, payments, overdue items and credit alerts…")
    return seed_credit(engine, cfg.seed)


@click.command("demo")
@click.option("--seed", default=7, show_default=True, help="Same seed, same ledger.")
@click.option("--units", default=2000, show_default=True, type=click.IntRange(min=1))
@click.option("--distributors", default=40, show_default=True, type=click.IntRange(min=2))
@click.option("--months", default=3, show_default=True, type=click.IntRange(1, 24))
@click.option("--start", default="2026-08", show_default=True, help="First month, YYYY-MM.")
@in_app_context
def demo_command(seed: int, units: int, distributors: int, months: int, start: str) -> None:
    """Write a deterministic demo network (real countries and cities) and its scans."""
    from flask import current_app

    from ledger import make_checkpoint
    from web.db import get_engine
    from web.demo import DemoConfig, build_demo
    from web.signing import get_signer

    cfg = DemoConfig(seed=seed, units=units, distributors=distributors, months=months, start=start)
    engine = get_engine()
    bar = Progress("demo: appending scans", "scans")

    def progress(done: int, total: int) -> None:
        bar.update(done, total)

    try:
        summary = build_demo(
            engine, Path(current_app.instance_path), cfg, progress, settlement_reference
        )
    except ValueError as exc:
        bar.close()
        raise click.ClickException(str(exc)) from None
    bar.close()
    pipeline = _partner_pipeline(engine, cfg)
    credit = _credit(engine, cfg)
    cp = make_checkpoint(engine, get_signer())
    from web.demo_partners import score_quarters

    scored = score_quarters(engine, _months(cfg))  # reviews and health read the scorecards
    click.echo(
        f"demo: {summary.units:,} units, {summary.distributors} distributors, {summary.dealers} dealers,"
        f" {summary.entries:,} ledger entries, {summary.diverted} units diverted"
    )
    click.echo(
        f"partners: {sum(pipeline.stages.values())} prospects in every stage, "
        f"{len(pipeline.trials)} on trial, {pipeline.admitted} admitted, "
        f"{pipeline.exiting} exiting (exit {pipeline.exit_id})"
    )
    click.echo(f"scorecards: {', '.join(scored)}")
    click.echo(
        f"credit: {credit.investigated} credit files, {credit.rated} rated"
        f" ({', '.join(f'{g} {n}' for g, n in credit.grades.items())}),"
        f" {credit.invoices} invoices, {credit.payments} payments by hand and"
        f" {credit.bank_lines_booked} from a bank statement, {credit.overdue_items} items overdue,"
        f" on cash only: {credit.cash_only or 'none'}, {credit.alerts} credit alerts,"
        f" {credit.risks} risks in the register"
    )
    for problem in credit.not_rated:
        click.echo(f"  not rated: {problem}")
    click.echo(f"checkpoint: tree size {cp.tree_size}, root {cp.root_hash.hex()}")
    click.echo(f"sign in with these accounts (also in {summary.credentials_file}):")
    for user, password in summary.credentials.items():
        click.echo(f"  {user:<12} {password}")


COMMANDS = (demo_command,)
