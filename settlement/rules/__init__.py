"""Pure settlement rules: integers and Decimals in, statement lines out.

Each rule is a small module with no database and no arrays, so its arithmetic can
be checked by hand in a test. Money is integer minor units; a rule computes its
line with Decimal and rounds once, ROUND_HALF_EVEN, so the statement total is the
plain integer sum of its lines.
"""

from settlement.rules.deposit import deposit_deduction
from settlement.rules.growth import NEW_DISTRIBUTOR_RULES, growth_line
from settlement.rules.kpi import kpi_gate_line
from settlement.rules.money import Line, RuleError, convert, decimal_str, rate_text, round_minor
from settlement.rules.partner_class import class_multiplier_line
from settlement.rules.penalties import (
    escalation_multiplier,
    fine_line,
    forfeiture_line,
    prior_offences,
    refund_line,
)
from settlement.rules.tiers import Tier, cliff_line, reached_tier, tier_lines
from settlement.rules.whistleblower import reward_line

__all__ = [
    "NEW_DISTRIBUTOR_RULES",
    "Line",
    "RuleError",
    "Tier",
    "class_multiplier_line",
    "cliff_line",
    "convert",
    "decimal_str",
    "deposit_deduction",
    "escalation_multiplier",
    "fine_line",
    "forfeiture_line",
    "growth_line",
    "kpi_gate_line",
    "prior_offences",
    "rate_text",
    "reached_tier",
    "refund_line",
    "reward_line",
    "round_minor",
    "tier_lines",
]
