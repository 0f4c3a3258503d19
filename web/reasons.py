"""The settlement engine's reasons in the reader's language (issue 11).

The engine (``settlement``) speaks English: ``str(exc)`` is what the command line
prints and what the API sends as ``error``. An engine error that pages show may
carry a ``message_id`` and named ``values`` (:class:`settlement.SettlementError`);
this module keeps the words of each id, marked for the catalogue, and says the
reason in the request's language:
``reason_words(MissingFxRates("2026-11", [("EUR", "JPY")]))`` ->
``"no FX rate for 2026-11: EUR->JPY. ..."`` in English, the catalogue's words in zh/es.
An error without an id (or with an id not listed here) is said as ``str(exc)``.
"""

from __future__ import annotations

from flask_babel import gettext

import settlement
from web.i18n import N_

__all__ = ["REASONS", "reason_message", "reason_words"]

#: The words of every engine reason id, ``%(name)s`` filled from the error's values.
REASONS: dict[str, str] = {
    "missing_fx_rates": N_(
        "no FX rate for %(period)s: %(pairs)s. Import rates with `hopchain import fx FILE`"
        " (the ECB reference-rate CSV works as it is, or the layout"
        " `period,currency,reporting_currency,rate,source` in docs/imports.md);"
        " missing rows: %(rows)s"
    ),
    "period_not_started": N_("period %(period)s has not started yet: nothing has accrued"),
    "no_checkpoint": N_("no signed checkpoint yet: sign one before settling"),
    "no_program": N_(
        "no rebate program is valid for %(period)s: add a program version"
        " (Reference data > Programs, or `hopchain import programs FILE`)"
    ),
}


def reason_message(exc: settlement.SettlementError) -> tuple[str, dict[str, str]] | None:
    """``(message, values)`` of ``exc`` for the catalogue (English message with
    ``%(name)s`` placeholders), or None when the engine gave the reason no id
    (or an id whose values do not fill the message)."""
    message = REASONS.get(getattr(exc, "message_id", ""))
    if message is None:
        return None
    values = dict(getattr(exc, "values", {}))
    try:
        message % values
    except (KeyError, TypeError, ValueError):
        return None
    return message, values


def reason_words(exc: settlement.SettlementError) -> str:
    """The reason of ``exc`` in the request's language (``str(exc)`` without words here)."""
    worded = reason_message(exc)
    if worded is None:
        return str(exc)
    message, values = worded
    return str(gettext(message, **values))
