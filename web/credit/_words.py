"""Words the credit pages build from stored parts, in the reader's language.

The store keeps some English the engine wrote for the command line and the API
(a limit's reason ``"grade AAA, table version 1"``, a payment's source
``"import bank-statement-2026-12-01.csv row 3"``); the pages read such a text back
to its parts and say it with the catalogue's words. A text of another shape (what
a person typed: an override's reason) is shown as it is.

A service's refusal names a field by its key (``investigated_on``); the pages say
it with the field's label (:func:`refusal_words`).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping

from flask_babel import format_date, gettext
from flask_babel import lazy_gettext as _l

from ledger.said import SaidError
from settlement import SettlementError
from web.reasons import reason_words

__all__ = ["limit_reason_words", "payment_source_words", "refusal_words"]

#: A risk level inside a sentence ("risk level medium on ...").
_LEVELS = {"high": _l("high"), "medium": _l("medium"), "low": _l("low")}

_RATED = re.compile(r"grade (?P<grade>[A-C]{1,3}), table version (?P<version>\d+)")
_OVERRIDE_ENDED = re.compile(
    r"override removed; table version (?P<version>\d+), grade (?P<grade>[A-C]{1,3})"
)
_RISK = re.compile(r"risk level (?P<level>high|medium|low) on (?P<day>\d{4}-\d{2}-\d{2})")
_IMPORTED = re.compile(r"import (?P<file>.+?)(?: row (?P<row>\d+))?")


def _day(text: str) -> str:
    try:
        return str(format_date(dt.date.fromisoformat(text), "medium"))
    except ValueError:
        return text


def limit_reason_words(reason: str) -> str:
    """A limit's stored reason (:func:`risk.limits.set_limit_in`'s ``reason``) in the
    reader's language: the rating's ``"grade AAA, table version 1"``, the end of an
    override's ``"override removed; table version 2, grade A"`` and the risk matrix's
    ``"risk level medium on 2026-12-01"`` from their parts; anything else (an
    override's reason, typed by finance) as it is."""
    if m := _RATED.fullmatch(reason):
        return str(
            gettext(
                "grade %(grade)s, table version %(version)s",
                grade=m["grade"],
                version=m["version"],
            )
        )
    if m := _OVERRIDE_ENDED.fullmatch(reason):
        return str(
            gettext(
                "override removed; table version %(version)s, grade %(grade)s",
                grade=m["grade"],
                version=m["version"],
            )
        )
    if m := _RISK.fullmatch(reason):
        return str(
            gettext(
                "risk level %(level)s on %(day)s",
                level=str(_LEVELS[m["level"]]),
                day=_day(m["day"]),
            )
        )
    return reason


#: Where a payment came from (:class:`risk.payments.PaymentView` ``source``).
_SOURCES = {
    "page": _l("entered on the page"),
    "api": _l("API"),
    "cli": _l("command line"),
    "demo": _l("demo"),
}


def payment_source_words(source: str) -> str:
    """A payment's source in the reader's language: ``"page"``, ``"api"``, ``"cli"``,
    ``"demo"`` in words; ``"import FILE row N"`` (the finance and bank statement
    imports) as "import FILE, row N" in words; anything else as stored."""
    if source in _SOURCES:
        return str(_SOURCES[source])
    if m := _IMPORTED.fullmatch(source):
        if m["row"]:
            return str(gettext("import %(file)s, row %(row)s", file=m["file"], row=m["row"]))
        return str(gettext("import %(file)s", file=m["file"]))
    return source


def refusal_words(exc: SaidError, labels: Mapping[str, object]) -> str:
    """:func:`web.reasons.reason_words` of ``exc`` with the field it names (its value
    ``field``, a key like ``investigated_on``) said by its label in ``labels`` (key ->
    the label the form shows, lazy or not), so that no key shows on a page."""
    values = dict(getattr(exc, "values", {}) or {})
    key = str(values.get("field", ""))
    label = labels.get(key)
    if label is None or not getattr(exc, "message_id", ""):
        return reason_words(exc)
    values["field"] = str(label)
    worded = SettlementError(str(exc), message_id=exc.message_id, values=values)
    return reason_words(worded)
