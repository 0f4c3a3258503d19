"""Deposit deduction: penalties beyond the rebate are taken from the deposit."""

from __future__ import annotations

from settlement.rules.money import Line, RuleError

__all__ = ["deposit_deduction"]


def deposit_deduction(total_before: int, balance: int) -> tuple[Line | None, int]:
    """The deduction line (or None) and the deposit balance after it.

    When the statement would be negative, as much as the deposit holds is moved
    from the deposit to the statement; what the deposit cannot cover stays a
    negative total: the distributor owes it.
    """
    if balance < 0:
        raise RuleError(f"deposit balance cannot be negative, got {balance}")
    if total_before >= 0 or balance == 0:
        return None, balance
    taken = min(-total_before, balance)
    line = Line(
        "deposit_deduction",
        "deposit",
        f"statement at {total_before}, deposit {balance} -> {balance - taken}",
        "1",
        taken,
    )
    return line, balance - taken
