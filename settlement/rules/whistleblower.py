"""Whistleblower reward: a share of the penalty a confirmed report led to."""

from __future__ import annotations

from decimal import Decimal

from settlement.rules.money import Line, RuleError, decimal_str, round_minor

__all__ = ["reward_line"]


def reward_line(penalty: int, share: Decimal, report_ref: str) -> Line:
    """``share`` of ``penalty`` (the absolute fine, in the reporter's currency)."""
    if not 0 <= share <= 1:
        raise RuleError(f"whistleblower share must be between 0 and 1, got {share}")
    base = abs(penalty)
    return Line(
        "whistleblower_reward",
        "reward",
        f"report {report_ref}: share of penalty {base}",
        decimal_str(share),
        round_minor(Decimal(base) * share),
    )
