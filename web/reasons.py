"""The settlement engine's reasons in the reader's language (issue 11).

The engine (``settlement``) speaks English: ``str(exc)`` is what the command line
prints and what the API sends as ``error``. An engine error that pages show may
carry a ``message_id`` and named ``values`` (:class:`settlement.SettlementError`);
this module keeps the words of each id, marked for the catalogue, and says the
reason in the request's language:
``reason_words(MissingFxRates("2026-11", [("EUR", "JPY")]))`` ->
``"no FX rate for 2026-11: EUR->JPY. ..."`` in English, the catalogue's words in zh/es.
An error without an id (or with an id not listed here) is said as ``str(exc)``.

An alert's severity reason is said the same way from its parts
(:attr:`settlement.SeverityGrade.reasons`): :func:`severity_words`.
"""

from __future__ import annotations

from flask_babel import gettext, ngettext

import settlement
from web.i18n import N_, format_money, format_number
from web.words import words

__all__ = ["REASONS", "reason_message", "reason_words", "severity_words"]

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


def _severity_part(part: settlement.SeverityReason) -> str:
    """One part of a severity reason in the request's language: counts as the locale
    writes numbers, amounts once with their currency code, levels in words."""
    v = part.values
    currency = str(v.get("currency", ""))

    def count(name: str = "count") -> int:
        return int(v[name])

    def money(name: str) -> str:
        return format_money(int(v[name]), currency)

    level = words(v.get("level", ""))
    if part.message_id == "units":
        return str(
            ngettext(
                "%(num)s unit involved (from %(threshold)s: %(level)s)",
                "%(num)s units involved (from %(threshold)s: %(level)s)",
                count(),
                threshold=format_number(count("threshold")),
                level=level,
            )
        )
    if part.message_id == "repeat":
        return str(
            ngettext(
                "%(num)s confirmed alert in the %(months)s months before "
                "(from %(threshold)s: %(level)s)",
                "%(num)s confirmed alerts in the %(months)s months before "
                "(from %(threshold)s: %(level)s)",
                count(),
                months=count("months"),
                threshold=format_number(count("threshold")),
                level=level,
            )
        )
    if part.message_id == "clone":
        return str(gettext("cloned code (always at least %(level)s)", level=level))
    if part.message_id == "value":
        return str(
            gettext(
                "value at stake %(value)s (from %(threshold)s: %(level)s)",
                value=money("value_minor"),
                threshold=money("threshold_minor"),
                level=level,
            )
        )
    if part.message_id == "unit_count":
        return str(ngettext("%(num)s unit", "%(num)s units", count()))
    if part.message_id == "prior_offences":
        return str(
            ngettext(
                "%(num)s confirmed alert in the %(months)s months before",
                "%(num)s confirmed alerts in the %(months)s months before",
                count(),
                months=count("months"),
            )
        )
    if part.message_id == "value_at_stake":
        return str(gettext("value at stake %(value)s", value=money("value_minor")))
    if part.message_id == "no_list_price":
        return str(gettext("no list price"))
    if part.message_id == "value_no_fx_rate":
        return str(
            gettext(
                "value at stake %(value)s not compared with the value steps: no "
                "%(reference)s->%(currency)s FX rate on file for the period or before",
                value=money("value_minor"),
                reference=str(v["reference"]),
                currency=currency,
            )
        )
    if part.message_id == "unpriced_units":
        return str(
            ngettext(
                "%(num)s unit has no list price in %(currency)s",
                "%(num)s units have no list price in %(currency)s",
                count(),
                currency=currency,
            )
        )
    raise ValueError(f"severity reason id {part.message_id!r} has no words in web/reasons.py")


def severity_words(grade: settlement.SeverityGrade) -> str:
    """The severity rule's reason in the request's language: the level in words, then
    each fact that raised it, or the facts and that none reaches a higher step
    (:attr:`settlement.SeverityGrade.reasons`; the English of the CLI and the API is
    :attr:`settlement.SeverityGrade.reason`). Raises ``ValueError`` naming a reason
    id this module has no words for (a new id in the engine needs words here)."""
    parts = [_severity_part(p) for p in grade.reasons]
    if not grade.factors:
        return str(
            gettext(
                "%(level)s: %(facts)s — nothing reaches a higher step",
                level=words(grade.level),
                facts=gettext("; ").join(parts),
            )
        )
    return str(
        gettext(
            "%(level)s: %(reasons)s",
            level=words(grade.level),
            reasons=gettext("; ").join(parts),
        )
    )
