"""Properties of the exit's arithmetic: the deposit refund and the buffer's end."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from partners.exits import add_months
from settlement.exit_settlement import deposit_settlement

money = st.integers(min_value=-(10**12), max_value=10**12)


@given(held=money, owed=money)
def test_the_deposit_covers_the_debt_first_and_refunds_the_rest(held: int, owed: int) -> None:
    deducted, refunded, still_owed = deposit_settlement(held, owed)
    assert min(deducted, refunded, still_owed) >= 0
    assert deducted + refunded == max(held, 0)  # every unit of the deposit goes somewhere
    assert deducted + still_owed == max(owed, 0)  # and of the debt
    assert refunded == 0 or still_owed == 0  # never refund while something is owed


@given(
    day=st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2900, 12, 31)),
    months=st.integers(min_value=0, max_value=120),
)
def test_whole_months_keep_the_day_or_the_months_last(day: dt.date, months: int) -> None:
    moved = add_months(day, months)
    assert (moved.year * 12 + moved.month) - (day.year * 12 + day.month) == months
    assert moved.day == day.day or (moved.day < day.day and (moved + dt.timedelta(days=1)).day == 1)
