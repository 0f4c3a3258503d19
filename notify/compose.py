"""The e-mails a channel platform sends its partners, composed into the outbox.

Each ``compose_*`` function reads one event, writes one :class:`~notify.models.OutboxMessage`
per recipient in the language of the recipient's party (``parties.locale``, else
English: the same rule as the party's statement documents, :mod:`settlement.wording`)
and returns what it did as a :class:`Composed`. Recipients are the addresses the
caller found for each party (``users.email`` of the party's active people; the engine
never reads the web layer's tables), as ``{party_id: (address, ...)}``.

Messages are marked with ``words._("...")`` and :func:`settlement.N_` and live in the
shared catalogues (``babel.cfg`` reads ``notify/``); ``words_for(locale)`` gives the
:class:`settlement.Words` of a locale with those catalogues (the web layer's
builder). Money is written from integer minor units with its ISO 4217 code where
the locale puts it, dates as the locale writes them (:class:`settlement.Words`).

Events (``kind``, ``reference``):

- ``statement-ready``, ``statement:<id>``: a posted run's statement, with a link to
  its page (``<base_url>/partner/statements/<id>``) and its PDF attached;
- ``alert-confirmed``, ``alert:<id>:<n>``: the ``n``-th confirmation of a diversion
  alert (a confirmation after an upheld appeal is told again), without the channel
  team's internal notes, with the penalty rule in words when a program sets one;
- ``credit-alert``, ``credit-alert:<id>``: a credit alert (:mod:`risk.credit_alerts`)
  told to the manufacturer's own people (:func:`compose_credit_alerts`), each in
  the recipient's language.

``(kind, reference, recipient)`` is unique, so composing an event again queues only
what is new (a person who added an address since) and never a second copy.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from babel.lists import format_list
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from ledger.models import Party
from notify.models import OutboxMessage
from settlement.common import Actor, SettlementError, now_ms
from settlement.exports import statement_pdf
from settlement.incidents import WINDOW_MONTHS
from settlement.models import Alert, AlertEvent, SettlementRun, Statement
from settlement.programs import versions_for_period
from settlement.wording import DEFAULT_LOCALE, N_, Words, supported_locale

__all__ = [
    "ALERT_CONFIRMED",
    "CREDIT_ALERT",
    "CREDIT_ALERT_KIND_WORDS",
    "CREDIT_ALERT_ROLES",
    "MESSAGE_KINDS",
    "RESPONSE_DAYS",
    "STATEMENT_READY",
    "Composed",
    "CreditRecipient",
    "NotifyError",
    "compose_alert_confirmed",
    "compose_credit_alerts",
    "compose_statements_ready",
    "credit_alert_sentence",
    "penalty_words",
]

STATEMENT_READY = "statement-ready"
ALERT_CONFIRMED = "alert-confirmed"
CREDIT_ALERT = "credit-alert"
#: The kinds of messages the outbox holds.
MESSAGE_KINDS = (STATEMENT_READY, ALERT_CONFIRMED, CREDIT_ALERT)
#: Days after posting by which a distributor is asked to confirm or dispute its
#: statement. The date is a request in the message: a later answer is still taken
#: (:func:`settlement.respond_to_statement` sets no deadline).
RESPONSE_DAYS = 30
_DAY_MS = 86_400_000

#: Finding types as partners read them (the same words as the alert pages').
_FINDING_WORDS = {
    "out_of_zone": N_("Out of zone"),
    "cross_region": N_("Cross-region transfer"),
    "custody_break": N_("Custody break"),
    "clone": N_("Cloned code"),
}


class NotifyError(SettlementError):
    """An event that cannot be told (a run not posted, an alert not confirmed), or an
    outbox or SMTP setting that is wrong; the message says which in words."""


@dataclass(frozen=True, slots=True)
class Composed:
    """What composing one event did: ``queued`` new messages, ``already`` messages that
    were queued before (not queued again), and the codes of the parties concerned
    that have nobody with an e-mail address (``without_address``, sorted)."""

    queued: int
    already: int
    without_address: tuple[str, ...]


WordsFor = Callable[[str], Words]


def _locale(party: Party) -> str:
    return supported_locale(party.locale) or DEFAULT_LOCALE


def _queue(
    s: Session,
    *,
    kind: str,
    reference: str,
    party: Party,
    recipients: Sequence[str],
    make: Callable[[], tuple[str, str, tuple[str, str, bytes] | None]],
) -> tuple[int, int]:
    """Add one message per recipient not queued yet; ``make()`` gives the subject,
    the text and an optional ``(file name, MIME type, bytes)`` attachment, and is
    called only when there is someone new. Returns (queued, already)."""
    known = set(
        s.scalars(
            select(OutboxMessage.recipient).where(
                OutboxMessage.kind == kind, OutboxMessage.reference == reference
            )
        )
    )
    new = [r for r in dict.fromkeys(recipients) if r not in known]
    if not new:
        return 0, len(recipients)
    subject, text, attachment = make()
    stamp = now_ms()
    for address in new:
        s.add(
            OutboxMessage(
                kind=kind, reference=reference, recipient=address, party_id=party.id,
                locale=_locale(party), subject=subject, body_text=text, created_ms=stamp,
                attachment_name=attachment[0] if attachment else None,
                attachment_type=attachment[1] if attachment else None,
                attachment=attachment[2] if attachment else None,
            )
        )  # fmt: skip
    return len(new), len(known.intersection(recipients))


def compose_statements_ready(
    engine: Engine,
    run_id: int,
    actor: Actor,
    *,
    addresses: Mapping[int, Sequence[str]],
    words_for: WordsFor,
    base_url: str,
) -> Composed:
    """Queue "your statement is ready" for every statement of posted run ``run_id``.

    Each message says the period, the statement's total (its currency's minor units,
    written for the party's locale with the ISO code), the date to respond by
    (:data:`RESPONSE_DAYS` after posting) and the statement page's address, and
    carries the statement PDF in the party's language (:func:`settlement.statement_pdf`,
    read as ``actor``, who must be allowed to read statements: finance, auditor, admin).
    Raises :class:`NotifyError` when the run does not exist or is not posted.
    """
    with Session(engine) as s, s.begin():
        run = s.get(SettlementRun, run_id)
        if run is None:
            raise NotifyError(f"there is no settlement run {run_id}")
        if run.status != "posted" or run.posted_ms is None:
            raise NotifyError(
                f"run {run_id} is {run.status}; statements are sent once the run is posted"
            )
        queued = already = 0
        without: list[str] = []
        statements = s.scalars(
            select(Statement).where(Statement.run_id == run_id).order_by(Statement.id)
        ).all()
        for st in statements:
            party = s.get(Party, st.party_id)
            assert party is not None  # a foreign key
            recipients = addresses.get(party.id, ())
            if not recipients:
                without.append(party.code)
                continue
            words = words_for(_locale(party))

            def make(
                st: Statement = st,
                party: Party = party,
                words: Words = words,
                period: str = run.period,
                posted_ms: int = run.posted_ms,
            ) -> tuple[str, str, tuple[str, str, bytes] | None]:
                link = f"{base_url.rstrip('/')}/partner/statements/{st.id}"
                subject = words._("Your statement for %(period)s is ready", period=period)
                text = "\n\n".join(
                    (
                        words._("Hello,"),
                        words._(
                            "Your statement for %(period)s is ready: total %(total)s,"
                            " respond by %(date)s.",
                            period=period,
                            total=words.money(st.total_minor, st.currency),
                            date=words.day(posted_ms + RESPONSE_DAYS * _DAY_MS),
                        ),
                        words._(
                            "Read it, then confirm it or dispute its lines, at %(link)s",
                            link=link,
                        ),
                        words._("The statement is attached as a PDF."),
                        _signature(words),
                    )
                )
                pdf = statement_pdf(engine, st.id, actor, words)
                name = f"statement-{st.id}-{party.code}.pdf"
                return subject, text + "\n", (name, "application/pdf", pdf)

            q, a = _queue(
                s,
                kind=STATEMENT_READY,
                reference=f"statement:{st.id}",
                party=party,
                recipients=recipients,
                make=make,
            )
            queued, already = queued + q, already + a
    return Composed(queued, already, tuple(sorted(without)))


def _signature(words: Words) -> str:
    return words._("This message was sent by hopchain. Replies to it are not read.")


def penalty_words(s: Session, period: str, words: Words) -> list[str]:
    """The penalty rule for confirmed diversion in ``period``, as sentences in
    ``words``' language: that of the first program (by code) in force for the period
    that sets penalties (the rule :func:`settlement.statement.penalty_rule` charges
    under), its fine per unit in the program's currency, the repeat-offence
    multipliers over :data:`settlement.incidents.WINDOW_MONTHS` and the forfeiture.
    Empty when no program in force sets penalties."""
    for code, version, rules in versions_for_period(s, period):
        pen = rules.penalties
        if pen is None:
            continue
        fine = words.money_rate(Decimal(pen.fine_per_unit), rules.currency)
        out = [
            words._(
                "Program %(program)s (version %(version)s) fines %(fine)s per diverted unit.",
                program=code,
                version=version.version,
                fine=fine,
            )
        ]
        if len(pen.escalation) > 1:
            steps = ", ".join(words.factor(step) for step in pen.escalation)
            out.append(
                words._(
                    "Repeat offences raise the fine: it is multiplied by %(steps)s for no, one,"
                    " two… earlier months with confirmed diversion in the last %(months)s"
                    " months (the last step beyond).",
                    steps=steps,
                    months=words.integer(WINDOW_MONTHS),
                )
            )
        if pen.forfeiture:
            out.append(words._("The rebate earned on the diverted units is forfeited."))
        return out
    return []


def compose_alert_confirmed(
    engine: Engine,
    alert_id: int,
    *,
    addresses: Mapping[int, Sequence[str]],
    words_for: WordsFor,
    base_url: str,
) -> Composed:
    """Queue "a diversion alert about you is confirmed" for the alert's party.

    The message names the alert, its period, territory, finding type and unit count,
    the penalty rule in words (:func:`penalty_words`) and the alert's page, where the
    distributor may appeal (``<base_url>/partner/alerts/<id>``). It never carries the
    channel team's notes, assignments or the note given with the confirmation.
    Raises :class:`NotifyError` when the alert does not exist or is not confirmed; an
    alert without a responsible party tells nobody (``Composed(0, 0, ())``).
    """
    with Session(engine) as s, s.begin():
        alert = s.get(Alert, alert_id)
        if alert is None:
            raise NotifyError(f"there is no alert {alert_id}")
        if alert.status != "confirmed":
            raise NotifyError(f"alert {alert_id} is {alert.status}; only a confirmed one is told")
        if alert.party_id is None:
            return Composed(0, 0, ())
        party = s.get(Party, alert.party_id)
        assert party is not None  # a foreign key
        recipients = addresses.get(party.id, ())
        if not recipients:
            return Composed(0, 0, (party.code,))
        times = s.scalar(
            select(func.count())
            .select_from(AlertEvent)
            .where(AlertEvent.alert_id == alert_id, AlertEvent.to_status == "confirmed")
        )
        words = words_for(_locale(party))
        penalty = penalty_words(s, alert.period, words)

        def make() -> tuple[str, str, tuple[str, str, bytes] | None]:
            finding = _FINDING_WORDS.get(alert.finding_type)
            link = f"{base_url.rstrip('/')}/partner/alerts/{alert.id}"
            parts = [
                words._("Hello,"),
                words._(
                    "Diversion alert %(id)s about %(units)s in %(territory)s for %(period)s has"
                    " been confirmed (%(finding)s).",
                    id=alert.id,
                    units=words.units(alert.unit_count),
                    territory=alert.territory_code,
                    period=alert.period,
                    finding=words._(finding) if finding else alert.finding_type,
                ),
                words._("The next settlement run charges its penalty on your statement."),
            ]
            if penalty:
                parts.append("\n".join(penalty))
            parts += [
                words._(
                    "The alert, its evidence and the way to appeal it are at %(link)s",
                    link=link,
                ),
                _signature(words),
            ]
            subject = words._("Diversion alert %(id)s confirmed", id=alert.id)
            return subject, "\n\n".join(parts) + "\n", None

        q, a = _queue(
            s,
            kind=ALERT_CONFIRMED,
            reference=f"alert:{alert.id}:{times or 1}",
            party=party,
            recipients=recipients,
            make=make,
        )
    return Composed(q, a, ())


# ---- credit alerts (issue 13) -------------------------------------------------------

#: The kinds of credit alerts (:data:`risk.credit_alerts.ALERT_KINDS`) in words.
CREDIT_ALERT_KIND_WORDS = {
    "credit_shipment": N_("Shipment over the credit limit"),
    "cash_only_shipment": N_("Shipment on credit to a cash-only partner"),
    "utilisation": N_("Credit limit nearly used"),
    "overdue": N_("Item overdue"),
    "health_drop": N_("Health score dropped"),
    "kpi_miss": N_("Sales target missed"),
    "high_risk": N_("High risk"),
}
#: The risk matrix rules that gave a high level (``detail["why"]``, risk.assessment).
CREDIT_WHY_WORDS = {
    "grade": N_("rating grade"),
    "overdue": N_("days overdue"),
    "alerts": N_("confirmed diversion alerts"),
    "utilisation": N_("limit utilisation"),
}
#: Who is told of which credit alerts, by role: finance of every one (it decides on
#: credit and collects); channel managers of those about the relationship they run
#: (overdue items, limit utilisation, health, targets, a high risk level), not of
#: single shipments, which finance releases or stops.
CREDIT_ALERT_ROLES: dict[str, tuple[str, ...]] = {
    "finance": tuple(CREDIT_ALERT_KIND_WORDS),
    "channel_manager": ("utilisation", "overdue", "health_drop", "kpi_miss", "high_risk"),
}
#: Kinds raised by a threshold: told only while the threshold is enabled and e-mails.
_THRESHOLD_KINDS = ("utilisation", "overdue", "health_drop", "kpi_miss")


@dataclass(frozen=True, slots=True)
class CreditRecipient:
    """One of the manufacturer's people told of credit alerts: the address, the
    role (a key of :data:`CREDIT_ALERT_ROLES`) and the person's language (None: the
    deployment's default)."""

    address: str
    role: str
    locale: str | None = None


def _money_of(detail: Mapping[str, Any], key: str, words: Words) -> str:
    return words.money(int(detail[key]), str(detail.get("currency", "")))


def _item_words(item: str, words: Words) -> str:
    """An open item's name as people say it: ``invoice:INV-1`` -> ``Invoice INV-1``,
    ``statement:12`` -> ``Statement 12``, ``delivery:2026-11-03`` -> ``Deliveries of
    2026-11-03``; another name as it is."""
    kind, _, ref = item.partition(":")
    if kind == "invoice":
        return words._("Invoice %(ref)s", ref=ref)
    if kind == "statement":
        return words._("Statement %(ref)s", ref=ref)
    if kind == "delivery":
        return words._("Deliveries of %(ref)s", ref=ref)
    return item


def credit_alert_sentence(kind: str, detail: Mapping[str, Any], party: str, words: Words) -> str:
    """What a credit alert says, with its figures, in ``words``' language: money
    from minor units with the currency's code, per cent from per mille. ``party``
    names the party (code and name). An alert whose figures are not in the shape
    its kind raises lists them by name (never fails)."""
    d = detail
    try:
        if kind == "utilisation":
            return words._(
                "%(party)s has used %(share)s of its credit limit: exposure %(exposure)s"
                " of a limit of %(limit)s (threshold %(threshold)s).",
                party=party,
                share=words.percent(Decimal(int(d["utilisation_permille"])) / 1000, 1),
                exposure=_money_of(d, "exposure_minor", words),
                limit=_money_of(d, "limit_minor", words),
                threshold=f"{words.integer(int(d['threshold']))} %",
            )
        if kind == "overdue":
            return words._(
                "%(item)s of %(party)s is %(days)s days overdue (due %(due)s):"
                " %(open)s of %(amount)s is still open (threshold %(threshold)s days).",
                item=_item_words(str(d["item"]), words),
                party=party,
                days=words.integer(int(d["days_overdue"])),
                due=d["due_on"],
                open=_money_of(d, "open_minor", words),
                amount=_money_of(d, "amount_minor", words),
                threshold=words.integer(int(d["threshold"])),
            )
        if kind == "health_drop":
            return words._(
                "The health score of %(party)s fell from %(before)s (%(before_on)s) to"
                " %(after)s (%(after_on)s) (threshold %(threshold)s points).",
                party=party,
                before=d["from"],
                before_on=d["from_on"],
                after=d["to"],
                after_on=d["to_on"],
                threshold=d["threshold"],
            )
        if kind == "kpi_miss":
            quarters = "; ".join(f"{q['quarter']}: {q['basis']}" for q in d["quarters"])
            return words._(
                "%(party)s missed its sales target %(count)s quarters in a row (%(quarters)s)"
                " (threshold %(threshold)s quarters).",
                party=party,
                count=words.integer(len(d["quarters"])),
                quarters=quarters,
                threshold=d["threshold"],
            )
        if kind == "credit_shipment":
            return words._(
                "Shipments on credit to %(party)s worth %(value)s took its exposure of"
                " %(exposure)s over its credit limit of %(limit)s.",
                party=party,
                value=_money_of(d, "value_minor", words),
                exposure=_money_of(d, "exposure_minor", words),
                limit=_money_of(d, "limit_minor", words),
            )
        if kind == "cash_only_shipment":
            return words._(
                "%(party)s is cash only, yet was shipped %(value)s on credit"
                " (exposure before: %(exposure)s).",
                party=party,
                value=_money_of(d, "value_minor", words),
                exposure=_money_of(d, "exposure_minor", words),
            )
        if kind == "high_risk":
            return words._(
                "%(party)s was assessed high risk (%(why)s): the risk matrix stops its"
                " credit (cash only) or ends the cooperation.",
                party=party,
                why=format_list(
                    [words._(CREDIT_WHY_WORDS.get(w, str(w))) for w in d["why"]],
                    locale=words.locale,
                ),
            )
    except (KeyError, TypeError, ValueError, ArithmeticError):
        pass  # figures not in the expected shape: listed by name below
    label = CREDIT_ALERT_KIND_WORDS.get(kind)
    figures = []
    for key, value in sorted(d.items()):
        if key == "currency":
            continue
        if key.endswith("_minor") and isinstance(value, int) and d.get("currency"):
            # a currency without a minor unit on file: the number as stored
            with contextlib.suppress(KeyError, ValueError, ArithmeticError):
                value = _money_of(d, key, words)
        figures.append(f"{key}: {value}")
    return words._(
        "%(what)s: %(party)s (%(figures)s).",
        what=words._(label) if label else kind,
        party=party,
        figures=", ".join(figures),
    )


def compose_credit_alerts(
    engine: Engine,
    alert_ids: Sequence[int],
    *,
    recipients: Sequence[CreditRecipient],
    words_for: WordsFor,
    base_url: str,
    default_locale: str = DEFAULT_LOCALE,
) -> Composed:
    """Queue one e-mail per recipient for each credit alert of ``alert_ids`` that is
    told: an alert of a threshold kind (utilisation, overdue, health_drop, kpi_miss)
    only while its threshold (``detail["threshold"]``) is enabled and e-mails; the
    shipment and high-risk alerts always. Recipients by :data:`CREDIT_ALERT_ROLES`.

    Each message, in the recipient's language (else ``default_locale``), names the
    party, what crossed and its figures (:func:`credit_alert_sentence`) and the
    alert's page (``<base_url>/credit/alerts/<id>``); reference
    ``credit-alert:<id>``, so composing again never queues a second copy.
    ``without_address`` lists the codes of parties whose alerts nobody could be
    told of. Unknown ids raise :class:`NotifyError`."""
    from risk.models import CreditAlert, RiskThreshold  # notify may import risk

    queued = already = 0
    without: set[str] = set()
    with Session(engine) as s, s.begin():
        for alert_id in alert_ids:
            alert = s.get(CreditAlert, alert_id)
            if alert is None:
                raise NotifyError(f"there is no credit alert {alert_id}")
            detail = json.loads(alert.detail_json)
            if alert.kind in _THRESHOLD_KINDS:
                threshold = s.scalar(
                    select(RiskThreshold).where(
                        RiskThreshold.kind == alert.kind,
                        RiskThreshold.value == int(detail.get("threshold", -1)),
                    )
                )
                if threshold is None or not threshold.enabled or not threshold.emails:
                    continue
            party = s.get(Party, alert.party_id)
            assert party is not None  # a foreign key
            told = [r for r in recipients if alert.kind in CREDIT_ALERT_ROLES.get(r.role, ())]
            if not told:
                without.add(party.code)
                continue
            reference = f"credit-alert:{alert.id}"
            known = set(
                s.scalars(
                    select(OutboxMessage.recipient).where(
                        OutboxMessage.kind == CREDIT_ALERT, OutboxMessage.reference == reference
                    )
                )
            )
            stamp = now_ms()
            for r in {r.address: r for r in told}.values():
                if r.address in known:
                    already += 1
                    continue
                locale = supported_locale(r.locale) or default_locale
                words = words_for(locale)
                name = f"{party.code} {party.name}".strip()
                label = CREDIT_ALERT_KIND_WORDS.get(alert.kind)
                what = words._(label) if label else alert.kind
                link = f"{base_url.rstrip('/')}/credit/alerts/{alert.id}"
                subject = words._(
                    "Credit alert %(id)s: %(what)s, %(party)s", id=alert.id, what=what,
                    party=party.code,
                )  # fmt: skip
                text = "\n\n".join(
                    (
                        words._("Hello,"),
                        credit_alert_sentence(alert.kind, detail, name, words),
                        words._("The alert and the party's credit file are at %(link)s", link=link),
                        _signature(words),
                    )
                )
                s.add(
                    OutboxMessage(
                        kind=CREDIT_ALERT, reference=reference, recipient=r.address,
                        party_id=party.id, locale=locale, subject=subject,
                        body_text=text + "\n", created_ms=stamp,
                    )
                )  # fmt: skip
                queued += 1
    return Composed(queued, already, tuple(sorted(without)))
