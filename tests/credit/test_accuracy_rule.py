"""The rule that judges one rating (risk.accuracy.judge): properties over any history,
and the edges written out (the 91st day past due, a payment on that day, a write-off)."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from risk.accuracy import ItemHistory, judge

RATED = dt.date(2026, 1, 1)


def _d(n: int) -> dt.date:
    return RATED + dt.timedelta(days=n)


def test_unpaid_on_the_91st_day_past_due_is_bad() -> None:
    # due day 10; day 100 is 90 days past due (the 61-90 bucket), day 101 is 91
    item = ItemHistory("invoice:X", _d(10), 1000)
    j = judge(RATED, 365, _d(500), [item])
    assert (j.outcome, j.reason, j.day, j.days) == ("bad", "overdue", _d(101), 91)


def test_paid_on_the_91st_day_it_is_not_bad() -> None:
    item = ItemHistory("invoice:X", _d(10), 1000, ((_d(101), 1000, "payment"),))
    assert judge(RATED, 365, _d(500), [item]).outcome == "good"


def test_part_paid_is_still_unpaid() -> None:
    item = ItemHistory("invoice:X", _d(10), 1000, ((_d(50), 999, "payment"),))
    assert judge(RATED, 365, _d(500), [item]).outcome == "bad"


def test_a_write_off_in_the_horizon_is_bad_even_when_not_late() -> None:
    item = ItemHistory("delivery:2026-01-05", _d(34), 500, ((_d(40), 100, "write_off"),))
    j = judge(RATED, 365, _d(500), [item])
    assert (j.outcome, j.reason, j.item, j.day) == ("bad", "written_off", item.item, _d(40))


def test_trouble_after_the_horizon_does_not_count() -> None:
    # 91 days past due on day 101; a 90-day horizon ends on day 90
    item = ItemHistory("invoice:X", _d(10), 1000)
    assert judge(RATED, 90, _d(500), [item]).outcome == "good"


def test_an_item_already_long_overdue_when_rated_is_bad_on_the_rating_day() -> None:
    item = ItemHistory("statement:3", _d(-200), 1000)
    j = judge(RATED, 365, _d(500), [item])
    assert (j.outcome, j.day, j.days) == ("bad", RATED, 200)


_items = st.lists(
    st.builds(
        lambda n, due, amount, pays: ItemHistory(
            f"invoice:{n}",
            _d(due),
            amount,
            tuple((_d(day), part, kind) for day, part, kind in pays),
        ),
        st.integers(0, 99),
        st.integers(-400, 600),
        st.integers(1, 10_000),
        st.lists(
            st.tuples(
                st.integers(-400, 900),
                st.integers(1, 10_000),
                st.sampled_from(["payment", "payment", "write_off"]),
            ),
            max_size=3,
        ),
    ),
    max_size=5,
)


@given(_items, st.integers(30, 800), st.integers(0, 900))
def test_bad_stays_bad_with_a_longer_horizon_or_a_later_day(
    items: list[ItemHistory], horizon: int, seen: int
) -> None:
    first = judge(RATED, horizon, _d(seen), items)
    if first.outcome == "bad":
        assert judge(RATED, horizon + 30, _d(seen), items) == first
        assert judge(RATED, horizon, _d(seen + 30), items) == first
    else:
        # good or pending: nothing bad inside the horizon seen so far
        assert first.reason == "clean" and first.item == ""
        assert (first.outcome == "good") == (_d(horizon) <= _d(seen))


@given(_items, st.integers(30, 800))
def test_paid_within_90_days_and_nothing_written_off_is_never_bad(
    items: list[ItemHistory], horizon: int
) -> None:
    on_time = [
        ItemHistory(
            i.item,
            i.due_on,
            i.amount_minor,
            ((i.due_on + dt.timedelta(days=90), i.amount_minor, "payment"),),
        )
        for i in items
    ]
    assert judge(RATED, horizon, _d(2000), on_time).outcome == "good"
