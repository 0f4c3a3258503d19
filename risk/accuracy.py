"""How accurate the credit ratings were (issue 13; seed 000 "阶段绩效评估": the KPI
"信用管理指标: 信用评级准确率 >= 95%", credit-rating accuracy at least 95 %).

Each rating (:class:`risk.models.CreditRating`) is compared with what the party
did in the ``horizon_days`` after it (default 365):

- **bad** when, inside the horizon ``[rated_on, rated_on + horizon]`` (cut at the
  report's day ``on``), one of the party's open items (a rebate statement owed, a
  trade invoice, a delivery on credit: :mod:`risk.open_items`) was more than 90
  days past due while still unpaid (the aging board's "90+" bucket), or part of one
  was written off (a :class:`risk.models.CreditAllocation` of kind ``write_off``
  applied inside the horizon);
- **good** when the whole horizon has passed (``rated_on + horizon <= on``)
  without either;
- **pending** (not counted) while the horizon is still running and nothing bad
  happened yet.

What can be read back: an item's payments are its allocations with the day each
took effect (``CreditAllocation.applied_on``), so an item is *open on a day* when
the allocations applied up to that day settle less than its amount. An item was
"90+ overdue inside the horizon" when it was open on the day it turned 91 days past
due (or on the rating day, if that was later), and that day falls inside the
horizon. An item paid late but within 90 days is not bad. The items, their due
days and amounts are :func:`risk.open_items.open_items_in`'s; a fully paid item is
read as it stood the day before its last allocation.

Only the last rating of a party on a day counts (one re-rated the same day was
superseded before anyone relied on it). A rating is **right** when it is
investment grade (AAA, AA, A, BBB: :data:`INVESTMENT_GRADES`) and the outcome was
good, or speculative (BB, B, CCC) and the outcome was bad; the accuracy rate is
right / rated (rated = good + bad), shown beside the seed's target
:data:`TARGET_PERCENT`.

Readers: finance, channel managers, partner managers, auditors and admins
(:data:`READERS`); others are refused with :class:`partners.errors.PartnerDenied`.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from ledger.models import Party
from partners.errors import Acting, PartnerError, require
from risk.models import CreditAllocation, CreditRating
from risk.rating import GRADES

__all__ = [
    "BAD_AFTER_DAYS",
    "DEFAULT_HORIZON_DAYS",
    "INVESTMENT_GRADES",
    "MAX_HORIZON_DAYS",
    "MIN_HORIZON_DAYS",
    "OUTCOMES",
    "READERS",
    "TARGET_PERCENT",
    "AccuracyReport",
    "GradeRow",
    "ItemHistory",
    "Judgement",
    "RatingOutcome",
    "accuracy",
    "accuracy_in",
    "check_horizon",
    "judge",
    "report_json",
    "why_english",
]

READERS = ("finance", "channel_manager", "partner_manager", "auditor", "admin")
#: The seed's target for the credit-rating accuracy, in per cent.
TARGET_PERCENT = 95
DEFAULT_HORIZON_DAYS = 365
MIN_HORIZON_DAYS = 30
MAX_HORIZON_DAYS = 1825
#: An item is bad once it is more than this many days past due and unpaid.
BAD_AFTER_DAYS = 90
#: Grades from which the model expects the party to pay (the others: it will not).
INVESTMENT_GRADES: tuple[str, ...] = GRADES[:4]
OUTCOMES = ("good", "bad")
_PERCENT = Decimal("0.1")


@dataclass(frozen=True, slots=True)
class ItemHistory:
    """One open item of a party and what settled it: ``settlements`` are
    ``(applied_on, amount_minor, kind)`` (kind ``payment`` or ``write_off``), in any
    order; amounts in the item's currency, minor units."""

    item: str
    due_on: dt.date
    amount_minor: int
    settlements: tuple[tuple[dt.date, int, str], ...] = ()
    #: Whether the item was open at the end of a day, where the allocations alone
    #: do not say it (a statement is also settled by the receivable's credits).
    open_on: Callable[[dt.date], bool] | None = None

    def was_open(self, day: dt.date) -> bool:
        """Whether something of the item was unpaid at the end of ``day``."""
        if self.open_on is not None:
            return self.open_on(day)
        settled = self.settled_on()
        return settled is None or settled > day

    def settled_on(self) -> dt.date | None:
        """The day the allocations first add up to the amount; None while open."""
        total = 0
        for day, amount, _kind in sorted(self.settlements):
            total += amount
            if total >= self.amount_minor:
                return day
        return None


@dataclass(frozen=True, slots=True)
class Judgement:
    """What happened after a rating: ``outcome`` good | bad | pending; ``reason``
    overdue (``item`` was more than 90 days past due and unpaid on ``day``, ``days``
    past due then), written_off (part of ``item`` written off on ``day``) or clean
    (nothing bad in the horizon, which ended on ``day``; ``item`` empty)."""

    outcome: str
    reason: str
    item: str = ""
    day: dt.date | None = None
    days: int = 0


def judge(
    rated_on: dt.date, horizon_days: int, on: dt.date, items: Iterable[ItemHistory]
) -> Judgement:
    """The outcome of a rating given on ``rated_on``, seen on ``on``: the first bad
    thing inside ``[rated_on, min(rated_on + horizon_days, on)]`` (the earliest day;
    an item name breaks ties), else good when the horizon has passed, else pending.
    A pure function of its arguments (the rule of the module docstring)."""
    end = rated_on + dt.timedelta(days=horizon_days)
    until = min(end, on)
    found: list[Judgement] = []
    for it in items:
        for day, amount, kind in it.settlements:
            if kind == "write_off" and amount > 0 and rated_on <= day <= until:
                found.append(Judgement("bad", "written_off", it.item, day))
        first_bad = it.due_on + dt.timedelta(days=BAD_AFTER_DAYS + 1)
        seen = max(first_bad, rated_on)
        if seen <= until and it.was_open(seen):
            found.append(Judgement("bad", "overdue", it.item, seen, (seen - it.due_on).days))
    if found:
        return min(found, key=lambda j: (j.day or rated_on, j.item, j.reason))
    if end <= on:
        return Judgement("good", "clean", day=end)
    return Judgement("pending", "clean", day=end)


@dataclass(frozen=True, slots=True)
class RatingOutcome:
    """One rating judged: the party, its grade and score, the day rated, the
    outcome (good | bad | pending), whether the grade was right, and why."""

    rating_id: int
    party_id: int
    party_code: str
    party_name: str
    grade: str
    score: int
    rated_on: dt.date
    outcome: str
    right: bool | None
    why: Judgement


@dataclass(frozen=True, slots=True)
class GradeRow:
    """A grade's counts: ratings with a good and a bad outcome, still pending, and
    the bad rate (bad / (good + bad), per cent to one decimal, half-even; None
    without any)."""

    grade: str
    good: int
    bad: int
    pending: int
    bad_rate_percent: Decimal | None


@dataclass(frozen=True, slots=True)
class AccuracyReport:
    """The accuracy on ``on`` over ``horizon_days``: a row per grade (best first),
    ``rated`` (good + bad), ``right``, ``pending``, the accuracy rate (right /
    rated, per cent to one decimal, half-even; None when nothing was rated),
    ``target_percent`` and whether it is met, and every rating judged
    (``outcomes``, newest first) of which ``wrong`` are the wrong ones."""

    on: dt.date
    horizon_days: int
    grades: tuple[GradeRow, ...]
    rated: int
    right: int
    pending: int
    accuracy_percent: Decimal | None
    target_percent: int
    meets_target: bool | None
    outcomes: tuple[RatingOutcome, ...]

    @property
    def wrong(self) -> tuple[RatingOutcome, ...]:
        """The ratings whose grade the outcome contradicted, newest first."""
        return tuple(o for o in self.outcomes if o.right is False)


def _percent(part: int, whole: int) -> Decimal | None:
    if whole == 0:
        return None
    return (Decimal(100 * part) / Decimal(whole)).quantize(_PERCENT, rounding=ROUND_HALF_EVEN)


def check_horizon(horizon_days: int) -> int:
    """``horizon_days`` when it is from :data:`MIN_HORIZON_DAYS` to
    :data:`MAX_HORIZON_DAYS`; else :class:`partners.errors.PartnerError` (422)."""
    if (
        isinstance(horizon_days, bool)
        or not isinstance(horizon_days, int)
        or not MIN_HORIZON_DAYS <= horizon_days <= MAX_HORIZON_DAYS
    ):
        raise PartnerError.said(
            "accuracy_horizon",
            "horizon_days: %(value)s is not a whole number of days from %(low)s to %(high)s",
            value=horizon_days,
            low=MIN_HORIZON_DAYS,
            high=MAX_HORIZON_DAYS,
        )
    return horizon_days


#: ``(s, party_ids, on) -> {party_id: items}``, every item as of the end of a day
#: with ``item``, ``kind``, ``due_on`` and ``open_minor`` (:func:`risk.open_items.items_in`).
ItemsReader = Callable[[Session, Collection[int], dt.date], Mapping[int, Any]]


def _default_reader() -> ItemsReader:
    from risk.open_items import items_in

    return items_in


class _Histories:
    """The items of the rated parties as of ``on``, each with its allocations; a
    statement's open state on an earlier day is read as of that day (batched per
    day, cached)."""

    def __init__(self, s: Session, party_ids: Collection[int], on: dt.date, read: ItemsReader):
        self.s, self.read, self.ids = s, read, sorted(party_ids)
        self.days: dict[dt.date, Mapping[int, Any]] = {}
        allocations: dict[tuple[int, str], list[tuple[dt.date, int, str]]] = defaultdict(list)
        if self.ids:
            for a in s.scalars(
                select(CreditAllocation).where(
                    CreditAllocation.party_id.in_(self.ids),
                    CreditAllocation.applied_on <= on.isoformat(),
                )
            ):
                allocations[(a.party_id, a.item)].append(
                    (dt.date.fromisoformat(a.applied_on), a.amount_minor, a.kind)
                )
        self.by_party: dict[int, list[ItemHistory]] = {}
        for pid, found in self._on(on).items():
            self.by_party[int(pid)] = [
                ItemHistory(
                    it.item,
                    dt.date.fromisoformat(it.due_on),
                    it.amount_minor,
                    tuple(allocations.get((int(pid), it.item), ())),
                    self._statement_open(int(pid), it.item) if it.kind == "statement" else None,
                )
                for it in found.items
            ]

    def _on(self, day: dt.date) -> Mapping[int, Any]:
        if day not in self.days:
            self.days[day] = self.read(self.s, self.ids, day) if self.ids else {}
        return self.days[day]

    def _statement_open(self, party_id: int, name: str) -> Callable[[dt.date], bool]:
        def open_on(day: dt.date) -> bool:
            found = self._on(day).get(party_id)
            items = () if found is None else found.items
            return any(i.item == name and i.open_minor > 0 for i in items)

        return open_on


def accuracy_in(
    s: Session,
    *,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
    on: dt.date,
    read_items: ItemsReader | None = None,
) -> AccuracyReport:
    """:func:`accuracy` in an open session, without the role check (for the demo and
    other services). ``read_items`` replaces :func:`risk.open_items.items_in`
    (tests)."""
    check_horizon(horizon_days)
    reader = read_items or _default_reader()
    rows = s.execute(
        select(CreditRating, Party)
        .join(Party, Party.id == CreditRating.party_id)
        .where(CreditRating.rated_on <= on.isoformat())
        .order_by(CreditRating.party_id, CreditRating.rated_on, CreditRating.id)
    ).all()
    last_of_day: dict[tuple[int, str], tuple[CreditRating, Party]] = {}
    for rating, party in rows:
        last_of_day[(rating.party_id, rating.rated_on)] = (rating, party)
    histories = _Histories(s, {pid for pid, _day in last_of_day}, on, reader)
    outcomes: list[RatingOutcome] = []
    for rating, party in last_of_day.values():
        rated_on = dt.date.fromisoformat(rating.rated_on)
        why = judge(rated_on, horizon_days, on, histories.by_party.get(rating.party_id, ()))
        right = (
            None
            if why.outcome == "pending"
            else (rating.grade in INVESTMENT_GRADES) == (why.outcome == "good")
        )
        outcome = RatingOutcome(
            rating.id, party.id, party.code, party.name, rating.grade, rating.score,
            rated_on, why.outcome, right, why,
        )  # fmt: skip
        outcomes.append(outcome)
    outcomes.sort(key=lambda o: (o.rated_on, o.rating_id), reverse=True)
    return summarise(outcomes, horizon_days=horizon_days, on=on)


def summarise(
    outcomes: Sequence[RatingOutcome], *, horizon_days: int, on: dt.date
) -> AccuracyReport:
    """The report of judged ratings: counts per grade, the rate and the target."""
    counts: dict[str, dict[str, int]] = {g: {"good": 0, "bad": 0, "pending": 0} for g in GRADES}
    for o in outcomes:
        counts.setdefault(o.grade, {"good": 0, "bad": 0, "pending": 0})[o.outcome] += 1
    grades = tuple(
        GradeRow(g, c["good"], c["bad"], c["pending"], _percent(c["bad"], c["good"] + c["bad"]))
        for g, c in counts.items()
    )
    rated = sum(1 for o in outcomes if o.right is not None)
    right = sum(1 for o in outcomes if o.right)
    rate = _percent(right, rated)
    return AccuracyReport(
        on=on,
        horizon_days=horizon_days,
        grades=grades,
        rated=rated,
        right=right,
        pending=len(outcomes) - rated,
        accuracy_percent=rate,
        target_percent=TARGET_PERCENT,
        meets_target=None if rate is None else rate >= TARGET_PERCENT,
        outcomes=tuple(outcomes),
    )


def accuracy(
    engine: Engine,
    actor: Acting,
    *,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
    on: dt.date | None = None,
) -> AccuracyReport:
    """The credit-rating accuracy on ``on`` (default today, UTC) with outcomes over
    ``horizon_days`` after each rating (see the module docstring for the rule).

    Raises :class:`partners.errors.PartnerDenied` (403) for a role outside
    :data:`READERS` and :class:`partners.errors.PartnerError` (422,
    ``accuracy_horizon``) for a horizon outside 30-1825 days."""
    require(actor, *READERS, action="read the credit-rating accuracy")
    check_horizon(horizon_days)
    day = on or dt.datetime.now(dt.UTC).date()
    with Session(engine) as s:
        return accuracy_in(s, horizon_days=horizon_days, on=day)


def why_english(o: RatingOutcome) -> str:
    """Why the outcome was what it was, in English (the CLI's and the API's words;
    the page says it in the reader's language)."""
    j = o.why
    if j.reason == "overdue":
        return f"{j.item} was {j.days} days past due and unpaid on {j.day}"
    if j.reason == "written_off":
        return f"{j.item} was written off on {j.day}"
    if j.outcome == "pending":
        return f"nothing 90+ days overdue or written off yet; the horizon ends on {j.day}"
    return f"nothing 90+ days overdue or written off up to {j.day}"


def _rate(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def report_json(
    report: AccuracyReport, wrong: Sequence[RatingOutcome] | None = None
) -> dict[str, Any]:
    """The report as JSON: the counts per grade, the rate beside the target and the
    wrong ratings (``wrong``, default all of them; rates as decimal strings)."""
    rows: Mapping[str, Any] = {
        g.grade: {
            "good": g.good,
            "bad": g.bad,
            "pending": g.pending,
            "bad_rate_percent": _rate(g.bad_rate_percent),
        }
        for g in report.grades
    }
    shown = report.wrong if wrong is None else wrong
    return {
        "on": report.on.isoformat(),
        "horizon_days": report.horizon_days,
        "grades": dict(rows),
        "rated": report.rated,
        "right": report.right,
        "pending": report.pending,
        "accuracy_percent": _rate(report.accuracy_percent),
        "target_percent": report.target_percent,
        "meets_target": report.meets_target,
        "wrong_count": len(report.wrong),
        "wrong": [
            {
                "rating_id": o.rating_id,
                "party": o.party_code,
                "party_name": o.party_name,
                "grade": o.grade,
                "score": o.score,
                "rated_on": o.rated_on.isoformat(),
                "outcome": o.outcome,
                "reason": o.why.reason,
                "item": o.why.item or None,
                "day": o.why.day.isoformat() if o.why.day else None,
                "why": why_english(o),
            }
            for o in shown
        ],
    }
