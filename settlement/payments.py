"""What a posted run pays: an ISO 20022 ``pain.001.001.03`` SEPA credit-transfer file.

Each EUR statement with a total above zero becomes one credit transfer
(``CdtTrfTxInf``) to the party's bank account on file (:class:`PartyBilling`),
its end-to-end id and unstructured remittance information naming the statement
(``HC-S123-R7-2026-10``; ``hopchain statement 123 run 7 2026-10``). A payable
statement that cannot be paid that way (no billing record, no or invalid IBAN or
BIC, an account outside the SEPA zone, a currency other than EUR) is never
dropped in silence: it is an :class:`Exclusion` of the :class:`PaymentPlan`,
listed on the run's page and in the sidecar CSV next to the file.

The XML is written by the ``sepaxml`` library (batch booking, one payment
information block, ``ChrgBr`` SLEV) and validated against the pain.001.001.03
XSD it ships. IBANs are checked by ``schwifty`` (ISO 13616 check digits,
country format) and BICs by their ISO 9362 structure. The paying account (the
debtor) is the instance's own, from ``HOPCHAIN_DEBTOR_NAME``,
``HOPCHAIN_DEBTOR_IBAN`` and ``HOPCHAIN_DEBTOR_BIC``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime

from schwifty import BIC, IBAN
from schwifty.exceptions import SchwiftyException
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from ledger.models import Party
from settlement.common import Actor, SettlementError
from settlement.journal import load_posted_run
from settlement.models import PartyBilling, SettlementRun, Statement
from settlement.reference_audit import record_change

__all__ = [
    "DEBTOR_ENV",
    "PAYMENT_CURRENCY",
    "Debtor",
    "Exclusion",
    "PaymentError",
    "PaymentPlan",
    "Transfer",
    "debtor_from_env",
    "exclusions_csv",
    "payment_file",
    "payment_plan",
]

PAYMENT_CURRENCY = "EUR"
SCHEMA = "pain.001.001.03"
#: (name, IBAN, BIC) of the paying account, in this order.
DEBTOR_ENV = ("HOPCHAIN_DEBTOR_NAME", "HOPCHAIN_DEBTOR_IBAN", "HOPCHAIN_DEBTOR_BIC")
_PLAN_READERS = ("finance", "admin", "auditor")
_NAME_MAX = 70  # Max70Text of pain.001.001.03


class PaymentError(SettlementError):
    """A payment file that cannot be made (no debtor, nothing to pay, invalid XML)."""


@dataclass(frozen=True, slots=True)
class Debtor:
    """The account that pays: the manufacturer's name, IBAN and BIC (compact, upper case)."""

    name: str
    iban: str
    bic: str


def _iban(raw: str) -> tuple[str, str]:
    """(compact IBAN, "") or ("", why it is not one)."""
    if not raw.strip():
        return "", "no IBAN on file"
    try:
        iban = IBAN(raw)
    except SchwiftyException as exc:
        return "", f"IBAN {raw.strip()!r} is not valid ({str(exc).rstrip('.').lower()})"
    if not iban.in_sepa_zone:
        return "", f"IBAN {iban.compact} is outside the SEPA zone"
    return str(iban.compact), ""


def _bic(raw: str) -> tuple[str, str]:
    """(BIC, "") or ("", why it is not one)."""
    if not raw.strip():
        return "", "no BIC on file"
    try:
        return str(BIC(raw.strip().upper()).compact), ""
    except SchwiftyException as exc:
        return "", f"BIC {raw.strip()!r} is not valid ({str(exc).rstrip('.').lower()})"


def debtor_from_env(env: Mapping[str, str]) -> Debtor:
    """The paying account from ``HOPCHAIN_DEBTOR_NAME``/``_IBAN``/``_BIC``.

    Raises :class:`PaymentError` naming every variable that is unset or invalid.
    """
    name, iban_raw, bic_raw = (env.get(k, "").strip() for k in DEBTOR_ENV)
    missing = [k for k, v in zip(DEBTOR_ENV, (name, iban_raw, bic_raw), strict=True) if not v]
    if missing:
        raise PaymentError(
            f"the paying account is not configured: set {', '.join(missing)} "
            "(the manufacturer's account name, IBAN and BIC) in the server's environment"
        )
    iban, why_iban = _iban(iban_raw)
    bic, why_bic = _bic(bic_raw)
    problems = [f"{k}: {w}" for k, w in ((DEBTOR_ENV[1], why_iban), (DEBTOR_ENV[2], why_bic)) if w]
    if problems:
        raise PaymentError("the paying account is wrong: " + "; ".join(problems))
    return Debtor(name[:_NAME_MAX], iban, bic)


@dataclass(frozen=True, slots=True)
class Transfer:
    """One credit transfer: a payable EUR statement and the account it goes to."""

    statement_id: int
    party_id: int
    party_code: str
    creditor_name: str
    iban: str
    bic: str
    amount_minor: int
    currency: str
    end_to_end_id: str  # at most 35 characters (Max35Text)
    remittance: str  # unstructured remittance information, at most 140 characters


@dataclass(frozen=True, slots=True)
class Exclusion:
    """A payable statement left out of the file, and why."""

    statement_id: int
    party_id: int
    party_code: str
    amount_minor: int
    currency: str
    reason: str


@dataclass(frozen=True, slots=True)
class PaymentPlan:
    """Who a posted run pays: the transfers of the file and the payables left out."""

    run_id: int
    period: str
    transfers: tuple[Transfer, ...]
    exclusions: tuple[Exclusion, ...]

    @property
    def total_minor(self) -> int:
        """The file's control sum in euro cents."""
        return sum(t.amount_minor for t in self.transfers)


def statement_label(statement_id: int, run: SettlementRun) -> tuple[str, str]:
    """(end-to-end id, remittance text) naming a statement of ``run``."""
    return (
        f"HC-S{statement_id}-R{run.id}-{run.period}"[:35],
        f"hopchain statement {statement_id} run {run.id} {run.period}",
    )


def payment_plan(engine: Engine, run_id: int, actor: Actor) -> PaymentPlan:
    """Every statement of the posted run with a total above zero, as a transfer or an
    exclusion (by party code). Finance, admins and auditors.

    Raises :class:`~settlement.RunStateError` for a run that is not posted and
    :class:`SettlementError` for a missing one.
    """
    actor.require(*_PLAN_READERS, action="read payment plans")
    with Session(engine) as s:
        run = load_posted_run(s, run_id)
        rows = s.execute(
            select(Statement, Party, PartyBilling)
            .join(Party, Party.id == Statement.party_id)
            .outerjoin(PartyBilling, PartyBilling.party_id == Statement.party_id)
            .where(Statement.run_id == run_id, Statement.total_minor > 0)
            .order_by(Party.code, Statement.id)
        ).all()
        transfers: list[Transfer] = []
        exclusions: list[Exclusion] = []
        for st, party, billing in rows:

            def exclude(reason: str, st: Statement = st, party: Party = party) -> None:
                exclusions.append(
                    Exclusion(st.id, party.id, party.code, st.total_minor, st.currency, reason)
                )

            if st.currency != PAYMENT_CURRENCY:
                exclude(
                    f"statement in {st.currency}: SEPA credit transfers (pain.001) carry "
                    f"{PAYMENT_CURRENCY} only; pay it by another channel"
                )
                continue
            if billing is None:
                exclude("no billing record (legal name, IBAN, BIC) for this party")
                continue
            iban, why_iban = _iban(billing.iban)
            bic, why_bic = _bic(billing.bic)
            if why_iban or why_bic:
                exclude("; ".join(w for w in (why_iban, why_bic) if w))
                continue
            e2e, remittance = statement_label(st.id, run)
            name = (billing.legal_name or party.name).strip()[:_NAME_MAX] or party.code
            transfers.append(
                Transfer(
                    st.id, party.id, party.code, name, iban, bic, st.total_minor, st.currency,
                    e2e, remittance,
                )
            )  # fmt: skip
        return PaymentPlan(run.id, run.period, tuple(transfers), tuple(exclusions))


def payment_file(
    engine: Engine, run_id: int, actor: Actor, *, debtor: Debtor, execution_date: date
) -> bytes:
    """The pain.001.001.03 XML (UTF-8) paying every transfer of :func:`payment_plan`.

    Finance only; each file made is recorded in the audit trail (kind
    ``payment_file``: its message id, date, count, control sum and exclusions).
    Raises :class:`PaymentError` when the execution date is past, when nothing
    can be paid (naming the exclusions), or when the XML fails the XSD.
    """
    actor.require("finance", action="make payment files")
    today = datetime.now(UTC).date()
    if execution_date < today:
        raise PaymentError.said(
            "execution_date_past",
            "execution date %(day)s is in the past; banks take %(today)s or later",
            day=execution_date.isoformat(),
            today=today.isoformat(),
        )
    plan = payment_plan(engine, run_id, actor)
    if not plan.transfers:
        left = "; ".join(f"{e.party_code}: {e.reason}" for e in plan.exclusions)
        if left:
            raise PaymentError.said(
                "nothing_to_pay_excluded",
                "run %(run)s has no %(currency)s statement to pay"
                " (%(count)s payable statements excluded: %(left)s)",
                run=run_id,
                currency=PAYMENT_CURRENCY,
                count=len(plan.exclusions),
                left=left,
            )
        raise PaymentError.said(
            "nothing_to_pay",
            "run %(run)s has no %(currency)s statement to pay",
            run=run_id,
            currency=PAYMENT_CURRENCY,
        )
    from sepaxml import SepaTransfer
    from sepaxml.validation import ValidationError

    sepa = SepaTransfer(
        {
            "name": debtor.name,
            "IBAN": debtor.iban,
            "BIC": debtor.bic,
            "batch": True,
            "currency": PAYMENT_CURRENCY,
        },
        schema=SCHEMA,
    )
    for t in plan.transfers:
        sepa.add_payment(
            {
                "name": t.creditor_name,
                "IBAN": t.iban,
                "BIC": t.bic,
                "amount": t.amount_minor,  # euro cents
                "execution_date": execution_date,
                "description": t.remittance,
                "endtoend_id": t.end_to_end_id,
            }
        )
    try:
        xml: bytes = sepa.export(validate=True)
    except ValidationError as exc:
        cause = getattr(exc.__cause__, "reason", None) or "see the XSD"
        raise PaymentError(
            f"the payment file of run {run_id} does not validate against {SCHEMA}: {cause}"
        ) from None
    with Session(engine) as s, s.begin():
        record_change(
            s, "payment_file", f"run:{run_id}", "export", actor, None,
            {
                "msg_id": sepa.msg_id,
                "execution_date": execution_date.isoformat(),
                "transfers": len(plan.transfers),
                "ctrl_sum_minor": plan.total_minor,
                "excluded_statements": [e.statement_id for e in plan.exclusions],
            },
            "payments",
        )  # fmt: skip
    return xml


_EXCLUSION_COLUMNS = ("statement", "party", "amount", "currency", "reason")


def exclusions_csv(plan: PaymentPlan) -> bytes:
    """The sidecar report: one row per payable statement the file leaves out (UTF-8 CSV)."""
    from settlement.exports import format_minor

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(_EXCLUSION_COLUMNS)
    for e in plan.exclusions:
        w.writerow(
            (e.statement_id, e.party_code, format_minor(e.amount_minor, e.currency), e.currency,
             e.reason)
        )  # fmt: skip
    return buf.getvalue().encode()
