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

import re
from datetime import date

from babel.lists import format_list
from flask_babel import format_date, get_locale, gettext, ngettext, pgettext

import settlement
from ledger.said import SaidError
from scanners.digital_link import DigitalLinkError
from scanners.parse import ScanParseError, ScanResult
from scanners.reasons import anomaly_of, event_reason_of, note_of, reason_of
from web.credit.reasons import CREDIT_REASONS
from web.i18n import DEFAULT_LOCALE, N_, format_money, format_number
from web.partners.reasons import PARTNER_REASONS
from web.words import words

__all__ = [
    "ANOMALIES",
    "EVENT_REASONS",
    "IMPORT_PROBLEMS",
    "NOTES",
    "REASONS",
    "SCAN_REASONS",
    "anomaly_words",
    "event_reason_words",
    "problem_words",
    "reason_message",
    "reason_sentence",
    "reason_words",
    "scan_reason_words",
    "severity_words",
]

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
    # values typed in a form or a file's cell (settlement.reference_values);
    # %(field)s is the field's label or the file's column
    "not_date": N_("%(field)s: %(value)s is not a date like 2026-10-31 (YYYY-MM-DD)"),
    "value_empty": N_("%(field)s: is empty"),
    "text_too_long": N_("%(field)s: is %(length)s characters long; at most %(limit)s"),
    "not_currency": N_(
        "%(field)s: %(value)s is not an ISO 4217 currency code (like EUR, USD, JPY)"
    ),
    "amount_too_large": N_("%(field)s: %(value)s is larger than any amount hopchain stores"),
    "not_amount": N_("%(field)s: %(value)s is not an amount like 12.50"),
    "amount_negative": N_("%(field)s: %(value)s is negative; amounts here are 0 or more"),
    "amount_zero": N_("%(field)s: is 0; give an amount other than zero"),
    "not_month": N_("%(field)s: %(value)s is not a month like 2026-10 (YYYY-MM)"),
    "not_whole_number": N_("%(field)s: %(value)s is not a whole number like 120"),
    "number_too_large": N_("%(field)s: %(value)s is larger than hopchain stores"),
    "not_positive": N_("%(field)s: must be greater than 0"),
    "not_decimal": N_("%(field)s: %(value)s is not a decimal number like 1.0842"),
    "rate_not_positive": N_("%(field)s: %(value)s is not greater than 0; a rate must be positive"),
    "no_party_id": N_("%(field)s: there is no party with id %(party)s"),
    "not_amount_comma": N_(
        "%(field)s: %(value)s is not an amount like 12.50 (write the decimal point as"
        " '.', no thousands separator)"
    ),
    "not_calendar_day": N_("%(field)s: %(value)s is not a day of the calendar"),
    "not_gtin": N_("%(field)s: %(value)s is not a GTIN (8, 12, 13 or 14 digits)"),
    "gtin_check_digit": N_(
        "%(field)s: %(value)s has check digit %(digit)s; the GS1 check digit of its other"
        " digits is %(expected)s"
    ),
    "amount_one_decimal_none": N_(
        "%(field)s: %(value)s has 1 decimal; %(currency)s has no decimals (ISO 4217)"
    ),
    "amount_decimals_none": N_(
        "%(field)s: %(value)s has %(places)s decimals; %(currency)s has no decimals (ISO 4217)"
    ),
    "amount_decimals_one": N_(
        "%(field)s: %(value)s has %(places)s decimals; %(currency)s has 1 decimal (ISO 4217)"
    ),
    "amount_decimals": N_(
        "%(field)s: %(value)s has %(places)s decimals; %(currency)s has %(allowed)s decimals"
        " (ISO 4217)"
    ),
    "iban_checksum": N_("%(field)s: %(value)s is not a valid IBAN: invalid checksum digits"),
    "iban_length": N_("%(field)s: %(value)s is not a valid IBAN: invalid IBAN length"),
    "iban_country": N_(
        "%(field)s: %(value)s is not a valid IBAN: unknown country-code '%(country)s'"
    ),
    "iban_characters": N_(
        "%(field)s: %(value)s is not a valid IBAN: invalid characters in IBAN %(iban)s"
    ),
    "iban_structure": N_(
        "%(field)s: %(value)s is not a valid IBAN: invalid BBAN structure: '%(bban)s'"
        " doesn't match '%(spec)s'"
    ),
    "not_iban": N_("%(field)s: %(value)s is not a valid IBAN: %(detail)s"),
    "bic_length": N_("%(field)s: %(value)s is not a valid BIC: invalid length '%(length)s'"),
    "bic_structure": N_("%(field)s: %(value)s is not a valid BIC: invalid structure '%(bic)s'"),
    "bic_country": N_(
        "%(field)s: %(value)s is not a valid BIC: invalid country code '%(country)s'"
    ),
    "not_bic": N_("%(field)s: %(value)s is not a valid BIC: %(detail)s"),
    # reference data (settlement.reference)
    "price_not_minor": N_("%(field)s: must be a whole number of minor units"),
    "price_negative": N_("%(field)s: %(value)s is negative; a price is 0 or more"),
    "fx_quote_older": N_(
        "%(field)s: the stored %(currency)s/%(reporting)s rate for %(period)s is as of"
        " %(stored)s, newer than %(as_of)s; an older quote does not replace it"
    ),
    "fx_same_currency": N_(
        "%(field)s: is %(currency)s like currency; a rate converts between two currencies"
    ),
    "target_units_or_value": N_("%(field)s: give either units or value, not both and not neither"),
    "not_whole_above_zero": N_("%(field)s: %(value)s is not a whole number greater than 0"),
    "target_currency": N_(
        "%(field)s: %(party)s is settled in %(currency)s; a value target is in that"
        " currency, not %(other)s"
    ),
    "billing_no_party": N_("%(field)s: no party with id %(party)s"),
    "payment_not_above_zero": N_("%(field)s: %(value)s is not an amount greater than 0"),
    # cells of imported files (settlement.imports)
    "party_gone": N_("%(field)s: party %(party)s no longer exists"),
    "not_document_locale": N_(
        "%(field)s: %(value)s is not a language statements are written in; use one of"
        " %(locales)s, or leave it empty for the default (en)"
    ),
    "not_ecb_date": N_("%(field)s: %(value)s is not a date like 2026-10-30 or 30 October 2026"),
    # settlement runs (settlement.runs)
    "no_run": N_("no settlement run %(run)s"),
    "run_superseded": N_(
        "run %(run)s was superseded by run %(by)s; it can no longer be %(became)s"
    ),
    "period_settled": N_(
        "period %(period)s was settled by posted run %(run)s; corrections go as"
        " adjustments into a later run"
    ),
    "run_not_draft": N_("run %(run)s is %(status)s; only a draft can be approved"),
    "run_creator_unknown": N_(
        "run %(run)s was created without a user id, so no one can be shown to be a"
        " different finance user; discard it and create it again"
    ),
    "run_own_approval": N_(
        "run %(run)s was created by %(user)s; a different finance user must approve it"
    ),
    "run_not_approved": N_("run %(run)s is %(status)s; only an approved run can be posted"),
    "run_stale_later_post": N_(
        "run %(run)s is stale: run %(later)s was posted after it was made; discard it"
        " and create a new run"
    ),
    "run_stale_alert": N_(
        "run %(run)s is stale: unit %(unit)s of %(party)s is no longer in a confirmed"
        " alert; discard it and create a new run"
    ),
    "run_posted_discard": N_("run %(run)s is posted and cannot be discarded"),
    "period_overlaps_settled": N_(
        "period %(period)s overlaps %(other)s, settled by posted run %(run)s; a month"
        " is settled once, by a monthly or by a quarterly run"
    ),
    "period_has_final_run": N_("period %(period)s already has posted final run %(other)s"),
    "run_stale_owed": N_(
        "run %(run)s is stale: what %(party)s owes changed since it was made; discard"
        " it and create a new run"
    ),
    "run_stale_report": N_(
        "run %(run)s is stale: report %(report)s was already rewarded; discard it and"
        " create a new run"
    ),
    "run_stale_adjustment": N_(
        "run %(run)s is stale: adjustment %(adjustment)s was applied or withdrawn;"
        " discard it and create a new run"
    ),
    "run_stale_deposit": N_(
        "run %(run)s is stale: the deposit of %(party)s no longer covers %(amount)s;"
        " discard it and create a new run"
    ),
    # statement answers and disputed lines (settlement.disputes)
    "confirm_or_dispute": N_("confirm the statement or dispute lines, not both"),
    "dispute_nothing_chosen": N_("choose at least one line to dispute, with a reason"),
    "dispute_not_open": N_("dispute %(dispute)s is already %(status)s by %(user)s"),
    "adjust_note_missing": N_("a note saying why the line is adjusted is required"),
    "adjustment_amount_zero": N_("the adjustment amount must be a non-zero amount"),
    "reject_reason_missing": N_("a written reason for the rejection is required"),
    "line_not_on_statement": N_(
        "line %(line)s is not on statement %(statement)s (it has lines 1 to %(count)s)"
    ),
    "line_disputed_twice": N_("line %(line)s (%(title)s) is disputed twice"),
    "dispute_reason_missing": N_("a reason for disputing line %(line)s (%(title)s) is required"),
    "statement_answered": N_(
        "statement %(statement)s was already answered; an answer cannot be changed"
    ),
    "adjust_note_too_long": N_(
        "a note saying why the line is adjusted is longer than %(limit)s characters (%(length)s)"
    ),
    "reject_reason_too_long": N_(
        "a written reason for the rejection is longer than %(limit)s characters (%(length)s)"
    ),
    "dispute_reason_too_long": N_(
        "a reason for disputing line %(line)s (%(title)s) is longer than %(limit)s"
        " characters (%(length)s)"
    ),
    "statement_answered_by": N_(
        "statement %(statement)s was already %(status)s by %(user)s; an answer cannot be changed"
    ),
    # adjustments (settlement.adjustments)
    "not_nonzero_minor": N_("%(field)s: %(value)s is not a non-zero amount in minor units"),
    "no_adjustment": N_("%(field)s: there is no adjustment %(adjustment)s"),
    "adjustment_not_pending": N_("adjustment %(adjustment)s is %(status)s, not pending"),
    "party_has_no_dispute": N_("%(field)s: %(party)s has no disputed line %(dispute)s"),
    "dispute_already": N_("%(field)s: dispute %(dispute)s is already %(status)s"),
    "adjustment_booker_unknown": N_(
        "adjustment %(adjustment)s was booked without a user id, so no one can be shown"
        " to be a second pair of eyes; reject it and book it again"
    ),
    "adjustment_own_approval": N_(
        "%(user)s booked adjustment %(adjustment)s; another finance user approves it"
    ),
    # deposits and top-up requests (settlement.deposits)
    "refund_below_zero": N_(
        "%(field)s: a refund of %(amount)s %(currency)s would take %(party)s's deposit"
        " below zero (balance %(balance)s %(currency)s)"
    ),
    "deposit_kind": N_("%(field)s: %(value)s is not one of: receipt, refund"),
    "not_amount_above_zero": N_("%(field)s: %(value)s is not an amount greater than 0"),
    "not_amount_zero_or_more": N_("%(field)s: %(value)s is not an amount of 0 or more"),
    "deadline_past": N_("%(field)s: %(day)s is in the past (today is %(today)s)"),
    "no_deposit_agreement": N_("%(party)s has no deposit agreement in force; set one first"),
    "deposit_not_short": N_(
        "%(party)s's deposit (%(balance)s %(currency)s) is at or above its agreed level"
        " (%(agreed)s); nothing to top up"
    ),
    "topup_open": N_(
        "%(party)s already has an open top-up request (%(request)s, due %(deadline)s)"
    ),
    # alerts (settlement.alerts)
    "assignee_missing": N_("assignee must be a user name"),
    "assignee_unknown": N_("%(field)s: no active user has the username %(name)s"),
    "assignee_cannot_work": N_(
        "%(field)s: %(name)s cannot work alerts; choose a channel manager or an administrator"
    ),
    "note_empty": N_("a note needs text"),
    "attachment_missing": N_("an attachment needs a stored file reference"),
    "appeal_reason_missing": N_("an appeal needs a reason"),
    "alert_move": N_("alert %(alert)s is %(status)s; it cannot move to %(to)s"),
    "appeal_not_confirmed": N_(
        "alert %(alert)s is %(status)s; only confirmed alerts can be appealed"
    ),
    "alert_move_open": N_(
        "alert %(alert)s is %(status)s; it cannot move to %(to)s (start the investigation first)"
    ),
    # rebate programs (settlement.programs)
    "program_code_missing": N_("code: a program needs a code"),
    "program_name_missing": N_("name: a program needs a name"),
    "program_span": N_("valid_to: %(valid_to)s is before valid_from %(valid_from)s"),
    "no_program_code": N_("code: no program %(code)s"),
    "program_exists": N_("code: program %(code)s already exists"),
    "program_month": N_("%(field)s: must be a YYYY-MM month, got %(value)s"),
    # payment files (settlement.payments)
    "execution_date_past": N_(
        "execution date %(day)s is in the past; banks take %(today)s or later"
    ),
    "nothing_to_pay": N_("run %(run)s has no %(currency)s statement to pay"),
    "nothing_to_pay_excluded": N_(
        "run %(run)s has no %(currency)s statement to pay (%(count)s payable statements"
        " excluded: %(left)s)"
    ),
}
REASONS.update(PARTNER_REASONS)
REASONS.update(CREDIT_REASONS)


#: The words of every problem the import code finds itself
#: (``ImportProblem.worded`` in settlement/imports.py and settlement/import_tables.py):
#: the why only, the page names row and column beside it.
IMPORT_PROBLEMS: dict[str, str] = {
    "more_problems": N_("... and %(count)s more problems"),
    # payments from a bank statement (risk/bank_import.py)
    "bank_amount_invalid": N_("%(value)s is not an amount such as -12.50 or 1234.00"),
    "bank_currency_not_party": N_(
        "%(currency)s is not the currency of %(party)s (%(party_currency)s)"
    ),
    "not_utf8": N_("the file is not UTF-8 text; save it as 'CSV UTF-8' or as an XLSX workbook"),
    "not_csv": N_("cannot be read as CSV (%(error)s)"),
    "zip_not_xlsx": N_("the file is a ZIP archive but not an XLSX workbook"),
    "no_sheet": N_("the workbook has no sheet"),
    "named_file_empty": N_("%(file)s is empty"),
    "file_empty": N_("the file is empty"),
    "no_header_no_rows": N_("the file has no header and no rows"),
    "too_many_rows": N_("the file has more than %(limit)s rows; split it"),
    "column_unnamed": N_("column %(number)s has no name"),
    "column_twice": N_("appears twice in the header"),
    "row_too_wide": N_("has %(cells)s cells; the header has %(columns)s columns"),
    "party_code_empty": N_("is empty; name the party by its code"),
    "party_code_unknown": N_("there is no party with code %(code)s"),
    "units_or_value": N_("give either units or value (not both, not neither)"),
    "units_target_currency": N_("a units target has no currency; leave it empty"),
    "value_target_currency": N_(
        "%(party)s is settled in %(currency)s; a value target is in that currency"
    ),
    "deposit_kind_cell": N_("%(value)s is not one of: receipt, refund"),
    "eur_per_eur": N_("EUR per EUR is not a rate; remove it"),
    "ecb_day_twice": N_("%(day)s is also row %(row)s"),
    "column_unknown": N_("unknown column; a %(kind)s file has the columns %(columns)s"),
    "column_missing": N_("missing column"),
    "columns_of_other_kind": N_(
        "these are the columns of a %(kind)s file: hopchain import %(kind)s FILE"
    ),
    "header_no_rows": N_("the file has a header but no rows"),
    "row_repeated": N_("repeats row %(row)s (same %(columns)s)"),
}


#: The words of every reason a scan is refused for (``ScanResult.reason_id``; the
#: English is :data:`scanners.reasons.REASON_TEMPLATES`, what ``hopchain scan parse``
#: prints). AI numbers, GS1 data titles, digits and the scanned data are values, shown
#: as they are; ``%(reason)s`` is an inner reason, said by its own id.
SCAN_REASONS: dict[str, str] = {
    "not_element_string": N_("not a GS1 element string: %(reason)s"),
    "not_digital_link": N_("not a valid GS1 Digital Link URI: %(reason)s"),
    "link_ai_value": N_("path segment %(segment)s (value of AI %(ai)s): %(reason)s"),
    "link_query_value": N_("query parameter %(param)s: %(reason)s"),
    "link_ai_reason": N_("AI %(ai)s (%(title)s): %(reason)s"),
    "scan_empty": N_("empty scan"),
    "scan_too_long": N_("scan is %(length)s characters long, more than %(limit)s"),
    "no_data_after_sid": N_("no data after symbology identifier %(sid)s"),
    "check_digit_wrong": N_("%(name)s %(digits)s has check digit %(digit)s, expected %(expected)s"),
    "digits_length": N_("%(name)s must be %(length)s digits, got %(value)s"),
    "serial_without_gtin": N_("serial (21) %(serial)s without a GTIN (01)"),
    "ai_check_digit_wrong": N_(
        "AI %(ai)s (%(title)s) check digit %(digit)s is wrong; expected %(expected)s"
    ),
    "ai_format": N_(
        "AI %(ai)s (%(title)s) value %(value)s does not have the AI's format %(format)s"
        " (N: digits, X: GS1 character set 82, then the length)"
    ),
    "link_not_ai": N_(
        "%(param)s is not a GS1 Application Identifier (numeric parameter names are"
        " reserved for AIs)"
    ),
    "unknown_ai": N_("Unknown GS1 Application Identifier '%(ai)s' in '%(text)s'."),
    "no_ai_in": N_("Failed to get GS1 Application Identifier from '%(text)s'."),
    "hri_malformed": N_("bracketed GS1 string %(text)s is truncated or malformed (read %(read)s)"),
    "epc_urn": N_(
        "EPC URN %(text)s is neither urn:epc:id:sgtin:<company>.<item>.<serial>"
        " nor urn:epc:id:sscc:<company>.<serial ref> with 13 / 17 digits"
    ),
}


#: The words of every custody anomaly the ledger stores with an entry (the English is
#: :data:`ledger.custody.ANOMALY_TEMPLATES`, what ``entries.anomaly`` holds and the CLI
#: prints). Party codes are values, shown as they are; ``%(kind)s`` is an entry kind,
#: said in words (:func:`web.words.words`).
ANOMALIES: dict[str, str] = {
    "never_commissioned": N_("%(kind)s of a unit that was never commissioned"),
    "commissioned_again": N_("commissioned again"),
    "shipped_no_ship_to": N_("shipped without a ship-to party"),
    "received_after_decommissioning": N_("received after decommissioning"),
    "received_after_sold": N_("received after it was sold"),
    "received_never_shipped": N_("received by %(party)s but never shipped (holder %(holder)s)"),
    "received_shipped_elsewhere": N_("received by %(party)s but shipped to %(bound_for)s"),
    "inspected_after_decommissioning": N_("inspected after decommissioning"),
    "decommissioned_twice": N_("decommissioned twice"),
    "shipped_after_decommissioning": N_("shipped after decommissioning"),
    "shipped_after_sold": N_("shipped after it was sold"),
    "shipped_in_transit": N_("shipped by %(party)s while in transit to %(bound_for)s"),
    "shipped_not_holder": N_("shipped by %(party)s, which does not hold it (holder %(holder)s)"),
    "sold_after_decommissioning": N_("sold after decommissioning"),
    "sold_after_sold": N_("sold after it was sold"),
    "sold_in_transit": N_("sold by %(party)s while in transit to %(bound_for)s"),
    "sold_not_holder": N_("sold by %(party)s, which does not hold it (holder %(holder)s)"),
    "packed_after_decommissioning": N_("packed after decommissioning"),
    "packed_after_sold": N_("packed after it was sold"),
    "packed_in_transit": N_("packed by %(party)s while in transit to %(bound_for)s"),
    "packed_not_holder": N_("packed by %(party)s, which does not hold it (holder %(holder)s)"),
    "unpacked_after_decommissioning": N_("unpacked after decommissioning"),
    "unpacked_after_sold": N_("unpacked after it was sold"),
    "unpacked_in_transit": N_("unpacked by %(party)s while in transit to %(bound_for)s"),
    "unpacked_not_holder": N_("unpacked by %(party)s, which does not hold it (holder %(holder)s)"),
    "returned_after_decommissioning": N_("returned after decommissioning"),
    "returned_in_transit": N_("returned by %(party)s while in transit to %(bound_for)s"),
    "returned_not_holder": N_("returned by %(party)s, which does not hold it (holder %(holder)s)"),
}

#: The words of the notes intake adds to an entry's anomaly
#: (:data:`scanners.reasons.NOTE_TEMPLATES`: the credit gate's). Party codes, amounts
#: and currency codes are values, shown as they are.
NOTES: dict[str, str] = {
    "credit_cash_only": N_("credit: shipped on credit to cash-only party %(party)s"),
    "credit_over_limit": N_(
        "credit: over limit of %(party)s: exposure %(exposure)s + shipment %(shipment)s"
        " > limit %(credit_limit)s %(currency)s"
    ),
}

#: The words of the reasons one scan event of an upload is refused for that have an id
#: (:data:`scanners.reasons.EVENT_REASON_TEMPLATES`).
EVENT_REASONS: dict[str, str] = {
    "packing_no_container": N_("a packing scan needs the container it packs into"),
    "container_unreadable": N_("container: %(reason)s"),
}


def _said(said: tuple[str, dict[str, str]] | None, messages: dict[str, str], text: str) -> str:
    """``text`` in the request's language from its ``(id, values)`` read back, with
    ``messages``' words; ``text`` itself in English, or without an id or words. An
    entry kind (``kind``) is said in words, a scanner's reason inside it (``reason``)
    by its own id (:func:`scan_reason_words`)."""
    if said is None or str(get_locale() or DEFAULT_LOCALE) == DEFAULT_LOCALE:
        return text
    reason_id, values = said
    message = messages.get(reason_id)
    if message is None:
        return text
    if "kind" in values:
        values = {**values, "kind": words(values["kind"])}
    if "reason" in values:
        values = {**values, "reason": scan_reason_words(values["reason"])}
    return str(gettext(message, **values)) if values else str(gettext(message))


def anomaly_words(anomaly: str | None) -> str:
    """A custody anomaly as the ledger stored it (``entries.anomaly``), in the request's
    language: read back to its id and values (:func:`scanners.reasons.anomaly_of`) and
    said with :data:`ANOMALIES` (a note intake added, such as the credit gate's, with
    :data:`NOTES`); party codes stay as they are, an entry kind is said in
    words. English, "" (no anomaly) and a sentence of no known shape are kept as stored.

    ``anomaly_words("sold by D-AU, which does not hold it (holder MFR)")`` ->
    ``"D-AU 售出，但该单品不在其手中（持有方 MFR）"`` in Chinese."""
    text = anomaly or ""
    said = anomaly_of(text)
    if said is not None or not text:
        return _said(said, ANOMALIES, text)
    note = note_of(text)
    if note is not None:  # a note intake added (the credit gate's), alone
        return _said(note, NOTES, text)
    return _summary_words(text)


#: A batch's summary of its units' anomalies (``ledger.append._summarize``):
#: ``"2 of 3 units: shipped after it was sold; ...; and 2 more"``.
_SUMMARY = re.compile(r"(?P<count>\d+) of (?P<total>\d+) units: (?P<body>.+)", re.S)
_MORE = re.compile(r"and (?P<count>\d+) more")


def _summary_words(text: str) -> str:
    """A summary of several anomalies in the request's language, each part by its own
    id; the English comes back byte for byte (the messages' msgids are the English)."""
    summary = _SUMMARY.fullmatch(text)
    parts = (summary["body"] if summary else text).split("; ")
    if summary is None and len(parts) == 1:
        return text  # a sentence of no known shape: as stored
    worded = []
    for part in parts:
        more = _MORE.fullmatch(part)
        if more is not None:
            worded.append(str(gettext("and %(count)s more", count=more["count"])))
        else:
            said = anomaly_of(part)
            note = note_of(part) if said is None else None
            worded.append(
                _said(note, NOTES, part) if note is not None else _said(said, ANOMALIES, part)
            )
    listed = str(pgettext("between reasons", "; ")).join(worded)
    if summary is None:
        return listed
    return str(
        gettext(
            "%(count)s of %(total)s units: %(reasons)s",
            count=summary["count"],
            total=summary["total"],
            reasons=listed,
        )
    )


def event_reason_words(reason: str) -> str:
    """Why one scan event was refused (``Rejection.reason`` of :mod:`scanners.batch`),
    in the request's language where the reason has an id
    (:func:`scanners.reasons.event_reason_of`), else as the batch wrote it; a scanner's
    reason inside it (``container: SSCC … has check digit 9, expected 7``) by its own
    id (:func:`scan_reason_words`)."""
    return _said(event_reason_of(reason), EVENT_REASONS, reason)


def scan_reason_words(result: ScanResult | ScanParseError | DigitalLinkError | str) -> str:
    """Why a scan identifies nothing, in the request's language: ``result``'s English
    reason (``ScanResult.error``, ``str(exc)``, or the text itself) read back to its id
    and values (:func:`scanners.reasons.reason_of`) and said with :data:`SCAN_REASONS`,
    an inner ``reason`` by its own id. A reason of a shape without an id, or one
    ``result`` does not have (a scan that parsed: ``""``), is kept as the scanner wrote it.

    ``scan_reason_words(parse("0109506000134353"))`` ->
    ``"GTIN 09506000134353 has check digit 3, expected 2"`` in English,
    ``"GTIN 09506000134353 的校验位为 3，应为 2"`` in Chinese."""
    text = (result.error or "") if isinstance(result, ScanResult) else str(result)
    return _said(reason_of(text), SCAN_REASONS, text)


#: Values said in words (:func:`web.words.words`): statuses.
_WORDED_VALUES = frozenset({"status", "to", "became"})
#: Values that are ISO dates (``YYYY-MM-DD``), written as the locale writes a date.
_DATE_VALUES = frozenset({"day", "today", "deadline"})


def _in_words(name: str, value: str) -> str:
    """One value of a reason as the reader's language writes it: a status in words,
    an ISO date as the locale's medium date (``2026年10月3日``, ``3 oct 2026``), a
    field's label translated where the catalogue has it, a list of column names as
    the language lists them (``gtin、currency和valid_from``); anything else as it is."""
    if name in _WORDED_VALUES:
        return words(value)
    if name in _DATE_VALUES:
        try:
            day = date.fromisoformat(value)
        except ValueError:
            return value
        return str(format_date(day, "medium"))
    if name == "field":
        return str(gettext(value)) if value else value
    if name == "columns":  # column names as English lists them: "a, b and c"
        names = [n for n in re.split(r", | and ", value) if n]
        return format_list(names, locale=str(get_locale() or DEFAULT_LOCALE)) if names else value
    return value


def reason_message(exc: SaidError) -> tuple[str, dict[str, str]] | None:
    """``(message, values)`` of ``exc`` for the catalogue (English message with
    ``%(name)s`` placeholders, the values as the engine gave them), or None when the
    engine gave the reason no id (or an id whose values do not fill the message).

    In English the message filled with these values is ``str(exc)``, byte for byte
    (tests/web/test_reasons_ids.py checks every id)."""
    message = REASONS.get(getattr(exc, "message_id", ""))
    if message is None:
        return None
    values = dict(getattr(exc, "values", {}))
    try:
        message % values
    except (KeyError, TypeError, ValueError):
        return None
    if str(get_locale() or DEFAULT_LOCALE) != DEFAULT_LOCALE:
        values = {name: _in_words(name, value) for name, value in values.items()}
    return message, values


def reason_words(exc: SaidError) -> str:
    """The reason of ``exc`` in the request's language: its words here filled with
    its values (statuses in words, dates as the locale writes them); English is
    exactly ``str(exc)``, as is a reason without words here."""
    worded = reason_message(exc)
    if worded is None:
        return str(exc)
    message, values = worded
    return str(gettext(message, **values))


def problem_words(problem: settlement.ImportProblem) -> str:
    """What is wrong in an imported file's ``problem``, in the request's language.

    English is ``problem.message`` exactly (what the CLI prints after ``row 7,
    column list_price:``). Elsewhere: a problem the import code found
    (:data:`IMPORT_PROBLEMS`) in its words, filled with its values; one carried from
    an engine error (:data:`REASONS`) as :func:`reason_words` says that error (a
    field error's words name the field); one without words (or whose values do not
    fill them) in English.
    """
    if str(get_locale() or DEFAULT_LOCALE) == DEFAULT_LOCALE:
        return problem.message
    values = dict(problem.values)
    message = IMPORT_PROBLEMS.get(problem.message_id)
    if message is None:
        error = settlement.SettlementError(
            problem.message, message_id=problem.message_id, values=values
        )
        worded = reason_message(error)
        if worded is None:
            return problem.message
        message, values = worded
    else:
        try:
            message % values
        except (KeyError, TypeError, ValueError):
            return problem.message
        values = {name: _in_words(name, value) for name, value in values.items()}
    return str(gettext(message, **values))


def reason_sentence(exc: SaidError) -> str:
    """:func:`reason_words` as a sentence of its own: the first letter capitalised and
    the language's full stop at the end (``Run 4 is posted and cannot be discarded.``,
    ``运行 4 已过账，不能丢弃。``)."""
    text = reason_words(exc)
    return str(gettext("%(reason)s.", reason=text[:1].upper() + text[1:]))


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
