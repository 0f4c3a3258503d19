"""``hopchain credit ...``: credit and risk from the command line (issue 13).

One click group, :data:`credit`; each area adds its commands to it from its own
module (``web/cli_credit_<area>.py``, listed in :data:`web.cli.CLI_MODULES` with
an empty ``COMMANDS``): credit files, ratings and limits; open items and
payments; risk assessment; thresholds and alerts; the rating model's accuracy.
Each command acts as a user (``--as USER``, :data:`AS_OPTION`; default the first
active user of the first role allowed) through :mod:`risk`, so the rules, checks
and audit trail are the pages' and the API's; a refusal exits 1 with the reason.
"""

from __future__ import annotations

import click

from web.cli_evaluation import _AS as AS_OPTION
from web.cli_evaluation import _actor as actor_for
from web.cli_evaluation import _day as day_option_value
from web.cli_evaluation import _echo_json as echo_json
from web.cli_evaluation import _run as said

__all__ = ["AS_OPTION", "COMMANDS", "actor_for", "credit", "day_option_value", "echo_json", "said"]


@click.group("credit")
def credit() -> None:
    """Credit files, ratings, limits, exposure, risk levels, alerts and the register."""


COMMANDS = (credit,)
