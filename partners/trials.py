"""A signed party's trial period (issue 12: "Signing turns the prospect into a party
on trial: a trial period (default 90 days) with an order cap; at its end an
evaluation admits it (``active``) or ends it").

The channel rules admit a partner only after it has shown what it can do (seed 003,
二(二) 合作伙伴评估: 动态评估 during cooperation; seed 004, 三(三) 资源对接与启动);
the trial is that first span. Its usage is read from the ledger, never typed in:
the units the manufacturer shipped to the party since the trial started (ledger
entries of kind ``shipping`` whose shipper is a ``manufacturer`` party and whose
counterparty is the party; trade items only, a case counted by the units in it;
entries retracted by an error declaration left out). Going over the order cap
never refuses or drops a scan (DESIGN.md: never drop a real observation): it
raises a ``trial_cap`` task for the partner manager. A trial whose last day has
passed raises a ``trial_end`` task (:func:`due_trials`, run by ``hopchain trials
due`` and on the recruitment board's load). :func:`decide_trial` admits the party
(status ``active``) or ends the trial (status ``terminated``), with the reason. A
party that exits while still on trial has its trial ended by the exit's completion
(:func:`end_running_trial_in`).

Dates are ISO days (UTC); ``ends_on`` is the trial's last day (a 90-day trial
from 2026-12-01 ends on 2027-02-28).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, and_, exists, func, select
from sqlalchemy.orm import Session, aliased

from ledger.models import Entry, Party, Unit
from partners.agreements import terminate_party_agreements_in
from partners.audit import now_ms, record
from partners.errors import Acting, PartnerNotFound, PartnerStateError, require
from partners.models import Agreement, PartnerTask, Trial
from partners.tasks import TaskView, close_task, raise_task
from partners.values import InvalidField, check_text

__all__ = [
    "TrialView",
    "decide_trial",
    "due_trials",
    "end_running_trial_in",
    "page_trials",
    "shipped_units",
    "start_trial",
    "trial_status",
]

WRITERS = ("partner_manager", "admin")
READERS = (*WRITERS, "channel_manager", "finance", "auditor")


@dataclass(frozen=True, slots=True)
class TrialView:
    """A trial and where it stands on ``today``: ``used_units`` shipped to the party
    by the manufacturer since ``starts_on`` against ``order_cap_units`` (None: no
    cap), ``days_left`` to ``ends_on`` inclusive (0 once it has passed)."""

    id: int
    party_id: int
    party_code: str
    party_name: str
    prospect_id: int | None
    starts_on: str
    ends_on: str
    order_cap_units: int | None
    status: str
    decided_by: str
    decided_ms: int | None
    reason: str
    used_units: int
    days_left: int
    today: str

    @property
    def over_cap(self) -> bool:
        return self.order_cap_units is not None and self.used_units > self.order_cap_units

    @property
    def past_end(self) -> bool:
        return self.today > self.ends_on


def _today(today: dt.date | None) -> dt.date:
    return today or dt.datetime.now(dt.UTC).date()


def _start_ms(day: str) -> int:
    d = dt.date.fromisoformat(day)
    return int(dt.datetime(d.year, d.month, d.day, tzinfo=dt.UTC).timestamp()) * 1000


def shipped_units(s: Session, party_id: int, since_ms: int) -> int:
    """Trade items (units with a GTIN) a ``manufacturer`` party shipped to
    ``party_id`` at or after ``since_ms``, each unit once, retracted entries left out."""
    shipper = aliased(Party)
    retraction = aliased(Entry)
    q = (
        select(func.count(func.distinct(Entry.unit_id)))
        .join(shipper, shipper.id == Entry.party_id)
        .join(Unit, Unit.id == Entry.unit_id)
        .where(
            Entry.kind == "shipping",
            Entry.counterparty_id == party_id,
            Entry.at_ms >= since_ms,
            shipper.kind == "manufacturer",
            Unit.gtin.is_not(None),
            ~exists().where(retraction.retracts_seq == Entry.seq),
        )
    )
    return int(s.scalar(q) or 0)


def _shipped_by_trial(s: Session, rows: Sequence[Trial]) -> dict[int, int]:
    """:func:`shipped_units` of each trial in ``rows`` (from its ``starts_on``), in one
    query: the shipments to those parties since the earliest start, counted per trial."""
    if not rows:
        return {}
    starts = {t.id: _start_ms(t.starts_on) for t in rows}
    shipper = aliased(Party)
    retraction = aliased(Entry)
    q = (
        select(Entry.counterparty_id, Entry.unit_id, func.max(Entry.at_ms))
        .join(shipper, shipper.id == Entry.party_id)
        .join(Unit, Unit.id == Entry.unit_id)
        .where(
            Entry.kind == "shipping",
            Entry.counterparty_id.in_({t.party_id for t in rows}),
            Entry.at_ms >= min(starts.values()),
            shipper.kind == "manufacturer",
            Unit.gtin.is_not(None),
            ~exists().where(retraction.retracts_seq == Entry.seq),
        )
        .group_by(Entry.counterparty_id, Entry.unit_id)
    )
    firsts: dict[int, list[int]] = defaultdict(list)  # party -> last shipment of each unit
    for party_id, _unit, first in s.execute(q):
        if party_id is not None:
            firsts[party_id].append(int(first))
    counts = {}
    for t in rows:
        counts[t.id] = sum(1 for at in firsts[t.party_id] if at >= starts[t.id])
    return counts


def start_trial(
    s: Session,
    party_id: int,
    actor: Acting,
    *,
    prospect_id: int | None,
    starts_on: dt.date,
    days: int,
    order_cap_units: int | None,
) -> int:
    """Start a trial of ``days`` days (1-365) from ``starts_on`` in ``s``'s
    transaction; returns its id. Refuses a party with a trial running."""
    require(actor, *WRITERS, action="start trials")
    if not 1 <= days <= 365:
        raise InvalidField.said(
            "recruit_out_of_range",
            "%(value)s is not between %(low)s and %(high)s",
            field="trial_days",
            value=days,
            low=1,
            high=365,
        )
    running = s.scalar(
        select(Trial.id).where(Trial.party_id == party_id, Trial.status == "running")
    )
    if running is not None:
        raise PartnerStateError.said(
            "trial_running", "party %(party)s is on trial already", party=party_id
        )
    trial = Trial(
        party_id=party_id,
        prospect_id=prospect_id,
        starts_on=starts_on.isoformat(),
        ends_on=(starts_on + dt.timedelta(days=days - 1)).isoformat(),
        order_cap_units=order_cap_units,
        status="running",
    )
    s.add(trial)
    s.flush()
    record(
        s,
        "trial.started",
        actor,
        party_id=party_id,
        prospect_id=prospect_id,
        detail={
            "trial": trial.id,
            "starts_on": trial.starts_on,
            "ends_on": trial.ends_on,
            "order_cap_units": order_cap_units,
        },
    )
    return trial.id


def _view(s: Session, t: Trial, party: Party, today: dt.date, used: int | None = None) -> TrialView:
    if used is None:
        used = shipped_units(s, t.party_id, _start_ms(t.starts_on))
    end = dt.date.fromisoformat(t.ends_on)
    return TrialView(
        t.id,
        t.party_id,
        party.code,
        party.name,
        t.prospect_id,
        t.starts_on,
        t.ends_on,
        t.order_cap_units,
        t.status,
        t.decided_by,
        t.decided_ms,
        t.reason,
        used,
        max(0, (end - today).days + 1),
        today.isoformat(),
    )


def _party(s: Session, code: str) -> Party:
    party = s.scalar(select(Party).where(Party.code == code))
    if party is None:
        raise PartnerNotFound.said("trial_no_party", "no party %(code)s", code=code)
    return party


def _latest_trial(s: Session, party: Party) -> Trial:
    trial = s.scalar(
        select(Trial).where(Trial.party_id == party.id).order_by(Trial.id.desc()).limit(1)
    )
    if trial is None:
        raise PartnerNotFound.said("no_trial", "party %(code)s has had no trial", code=party.code)
    return trial


def trial_status(
    engine: Engine, party_code: str, actor: Acting, *, today: dt.date | None = None
) -> TrialView:
    """The party's latest trial with its usage from the ledger (a distributor may
    read its own)."""
    with Session(engine) as s:
        party = _party(s, party_code)
        if not (actor.role == "distributor" and actor.party_id == party.id):
            require(actor, *READERS, action="read trials")
        return _view(s, _latest_trial(s, party), party, _today(today))


def page_trials(
    engine: Engine,
    actor: Acting,
    *,
    status: str | None = None,
    offset: int = 0,
    limit: int = 50,
    today: dt.date | None = None,
) -> tuple[list[TrialView], int]:
    """A page of trials (``status`` running, admitted or ended; None: all), running
    first then the latest started, and how many match. Three queries whatever the
    page's length (the usage of every trial shown in one)."""
    require(actor, *READERS, action="read trials")
    when = _today(today)
    with Session(engine) as s:
        cond = [] if not status else [Trial.status == status]
        total = int(s.scalar(select(func.count(Trial.id)).where(*cond)) or 0)
        rows = s.execute(
            select(Trial, Party)
            .join(Party, Party.id == Trial.party_id)
            .where(*cond)
            .order_by((Trial.status != "running"), Trial.starts_on.desc(), Trial.id.desc())
            .offset(offset)
            .limit(limit)
        ).all()
        used = _shipped_by_trial(s, [t for t, _ in rows])
        return [_view(s, t, p, when, used[t.id]) for t, p in rows], total


def _signed_agreement_on(s: Session, party_id: int, day: str) -> bool:
    """Whether a signed agreement of the party is in force on ``day`` (ISO date)."""
    found = s.scalar(
        select(Agreement.id).where(
            Agreement.party_id == party_id,
            Agreement.status == "signed",
            Agreement.valid_from <= day,
            Agreement.valid_to >= day,
        )
    )
    return found is not None


def decide_trial(
    engine: Engine,
    party_code: str,
    admit: Any,
    reason: str,
    actor: Acting,
    *,
    today: dt.date | None = None,
) -> TrialView:
    """End the party's running trial: ``admit`` makes the party ``active`` (refused
    while no signed agreement is in force on ``today``: seed 003 admits a partner
    under a signed agreement), else the
    trial is ended, the party's signed agreements are terminated on ``today`` (ground
    ``trial_not_admitted``, :func:`partners.agreements.terminate_party_agreements_in`:
    its territories and programs are no longer in force) and the party
    ``terminated`` (through :func:`partners.parties.set_status_in`), with ``reason``
    (required); ``admit``
    must be ``True`` or ``False`` (anything else is refused, naming it). Its open
    ``trial_end`` and ``trial_cap`` tasks are closed. Audited."""
    from partners.parties import set_status_in

    require(actor, *WRITERS, action="decide trials")
    if not isinstance(admit, bool):
        raise InvalidField.said("recruit_not_bool", "must be true or false", field="admit")
    why = check_text(reason if isinstance(reason, str) else "", "reason", max_length=5000)
    when = _today(today)
    with Session(engine) as s, s.begin():
        party = _party(s, party_code)
        trial = _latest_trial(s, party)
        if trial.status != "running":
            raise PartnerStateError.said(
                "trial_decided",
                "the trial of %(code)s was decided already (%(outcome)s)",
                code=party.code,
                outcome=trial.status,
            )
        if admit and not _signed_agreement_on(s, party.id, when.isoformat()):
            raise PartnerStateError.said(
                "trial_no_agreement",
                "%(code)s has no signed agreement in force on %(day)s: its agreement must be"
                " signed before the trial can admit it",
                code=party.code,
                day=when.isoformat(),
            )
        if not admit:
            # the agreement signed for the trial ends with it: its grants and
            # enrolments end today, one starting later is never in force
            terminate_party_agreements_in(
                s, party.id, "trial_not_admitted", when.isoformat(),
                f"trial {trial.id} ended without admission: {why}", actor,
                today=when, detail={"trial": trial.id},
            )  # fmt: skip
        set_status_in(s, party.code, "active" if admit else "terminated", actor, why)
        _decide_in(s, trial, "admitted" if admit else "ended", why, actor)
        s.flush()
        return _view(s, trial, party, when)


def _decide_in(s: Session, trial: Trial, outcome: str, reason: str, actor: Acting) -> None:
    """Close ``trial`` as ``outcome`` (``admitted`` or ``ended``) in ``s``'s
    transaction: who decided, when and why, the ``trial.admitted`` /
    ``trial.ended`` audit row, and its open ``trial_end`` and ``trial_cap`` tasks
    closed with ``reason``. The party's status is the caller's."""
    trial.status = outcome
    trial.decided_by = actor.username
    trial.decided_ms = now_ms()
    trial.reason = reason
    record(
        s,
        f"trial.{outcome}",
        actor,
        party_id=trial.party_id,
        prospect_id=trial.prospect_id,
        at_ms=trial.decided_ms,
        detail={"trial": trial.id, "reason": reason},
    )
    for task_id in s.scalars(
        select(PartnerTask.id).where(
            and_(
                PartnerTask.party_id == trial.party_id,
                PartnerTask.kind.in_(("trial_end", "trial_cap")),
                PartnerTask.status == "open",
            )
        )
    ).all():
        close_task(s, task_id, actor, note=reason)


def end_running_trial_in(s: Session, party_id: int, reason: str, actor: Acting) -> int | None:
    """End party ``party_id``'s running trial, if it has one, in ``s``'s transaction
    (status ``ended``, ``decided_by`` the actor, ``reason`` kept, audited
    ``trial.ended``, its ``trial_end`` / ``trial_cap`` tasks closed, as
    :func:`decide_trial` ends one); returns the trial's id, or None when no trial
    is running. The party's status is left to the caller (the exit workflow makes
    it ``terminated``: ``partners.exits.complete_exit``). Raises
    :class:`PartnerDenied` for an actor who may not decide trials."""
    require(actor, *WRITERS, action="decide trials")
    why = check_text(reason, "reason", max_length=5000)
    trial = s.scalar(
        select(Trial).where(Trial.party_id == party_id, Trial.status == "running").limit(1)
    )
    if trial is None:
        return None
    _decide_in(s, trial, "ended", why, actor)
    return trial.id


def due_trials(engine: Engine, *, today: dt.date | None = None) -> list[TaskView]:
    """Raise the tasks running trials call for on ``today``: ``trial_end`` for a
    trial whose last day has passed (due today: decide it), ``trial_cap`` for one
    whose shipped units exceed its order cap. Returns every such open task (raised
    now or before). Idempotent: an open task is not raised twice."""
    when = _today(today)
    tasks: list[TaskView] = []
    with Session(engine) as s, s.begin():
        rows = s.execute(
            select(Trial, Party)
            .join(Party, Party.id == Trial.party_id)
            .where(Trial.status == "running")
            .order_by(Trial.ends_on, Trial.id)
        ).all()
        used = _shipped_by_trial(s, [t for t, _ in rows])
        for trial, party in rows:
            view = _view(s, trial, party, when, used[trial.id])
            if view.past_end:
                tasks.append(
                    raise_task(
                        s,
                        party.id,
                        "trial_end",
                        f"Decide the trial of {party.code}: it ended on {trial.ends_on}",
                        due_on=when.isoformat(),
                        key=f"trial:{trial.id}",
                        detail={
                            "trial": trial.id,
                            "ends_on": trial.ends_on,
                            "used_units": view.used_units,
                        },
                    )
                )
            if view.over_cap:
                tasks.append(
                    raise_task(
                        s,
                        party.id,
                        "trial_cap",
                        f"{party.code} received {view.used_units} units on trial; "
                        f"its order cap is {trial.order_cap_units}",
                        due_on=when.isoformat(),
                        key=f"trial:{trial.id}",
                        detail={
                            "trial": trial.id,
                            "used_units": view.used_units,
                            "order_cap_units": trial.order_cap_units,
                        },
                    )
                )
    return tasks
