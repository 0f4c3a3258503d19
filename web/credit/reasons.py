"""The words of credit and risk's reason ids (``PartnerError.said("id", ...)`` in
``risk/`` for issue 13), merged into :data:`web.reasons.REASONS`.

In English each entry is exactly the English the code raises
(tests/web/test_reasons_ids.py compares them); ``%(name)s`` are the error's values.
Each area keeps its own section below.
"""

from __future__ import annotations

from web.i18n import N_

__all__ = ["CREDIT_REASONS"]

CREDIT_REASONS: dict[str, str] = {
    # ---- alerts (risk/credit_alerts.py)
    "no_credit_party": N_("no party %(party)s"),
    "no_credit_alert": N_("no credit alert %(alert)s"),
    "credit_alert_status": N_("credit alert %(alert)s is %(status)s"),
    # ---- credit files, rating, limits (risk/credit_files.py, risk/rating.py, risk/limits.py)
    "credit_input_invalid": N_("%(count)s wrong: %(problems)s"),
    "credit_no_party_code": N_("no party %(code)s"),
    "credit_unknown_field": N_("%(field)s: is not a field of an investigation; known: %(known)s"),
    "credit_not_whole": N_("%(field)s: %(value)s is not a whole number from %(low)s to %(high)s"),
    "credit_not_date": N_("%(field)s: %(value)s is not a date like 2026-12-01"),
    "credit_date_future": N_("%(field)s: %(day)s is in the future (today is %(today)s)"),
    "credit_not_yes_no": N_("%(field)s: %(value)s is not yes or no"),
    "credit_not_ratio": N_("%(field)s: %(value)s is not a decimal of 0 or more like 1.35"),
    "credit_document_empty": N_("%(name)s is empty"),
    "credit_document_large": N_(
        "%(name)s is %(size)s bytes; a document may have at most %(most)s (10 MiB)"
    ),
    "credit_document_type": N_(
        "%(name)s is not a PDF, PNG, JPEG, XLSX or CSV file (judged by its content)"
    ),
    "no_credit_investigation": N_("no credit investigation %(investigation)s"),
    "no_credit_document": N_("no credit document %(document)s"),
    "credit_factor_range": N_(
        "%(field)s: %(value)s is not a decimal above 0 and at most 1 (like 0.5)"
    ),
    "credit_limit_no_fx": N_(
        "no FX rate %(base)s->%(quote)s for %(month)s or any month before; import one with"
        " `hopchain import fx FILE` (the ECB reference-rate CSV works as it is)"
    ),
    "credit_no_grade": N_("%(grade)s is not a grade; grades: %(grades)s"),
    "credit_unknown_grade": N_("%(field)s: is not a grade; grades: %(grades)s"),
    "credit_grade_missing": N_("%(field)s: is missing"),
    "credit_limit_negative": N_("a credit limit is 0 or more, not %(limit)s"),
    "credit_days_range": N_("payment days are 0 to 365, not %(days)s"),
    "credit_override_reason": N_(
        "say why the limit is overridden (the reason is kept with the limit)"
    ),
    "credit_override_reason_empty": N_(
        "%(field)s: say why the limit is overridden (the reason is kept with the limit)"
    ),
    "credit_unknown_member": N_("%(field)s: is not a member of this body; it takes %(known)s"),
    "credit_no_override": N_("%(code)s has no overridden limit in force"),
    "credit_never_rated": N_(
        "%(code)s was never rated; rate it first (rate now on its credit file)"
    ),
    "credit_no_investigation": N_(
        "%(code)s has no credit investigation to rate; record one first"
        " (its credit file, or hopchain credit investigate %(code)s)"
    ),
    "credit_unknown_factor": N_(
        "%(field)s: is not a factor of the rating model; factors: %(factors)s"
    ),
    "credit_weight_form": N_("%(field)s: %(value)s is not a decimal from 0 to 1 (like 0.15)"),
    "credit_weights_sum": N_("the weights add up to %(total)s, not 1"),
    # ---- open items, payments, exposure (risk/open_items.py, risk/payments.py, risk/exposure.py)
    "credit_payment_future": N_(
        "%(field)s: %(value)s is after today; a payment is recorded once the money has arrived"
    ),
    "credit_day_invalid": N_("%(field)s: %(value)s is not a date YYYY-MM-DD"),
    "credit_amount_not_above_zero": N_("%(field)s: %(value)s is not an amount greater than 0"),
    "credit_due_before_issue": N_("%(field)s: %(due)s is before the issue day %(issued)s"),
    "credit_invoice_taken": N_("invoice %(number)s is already on file"),
    "credit_no_invoice": N_("no invoice %(number)s"),
    "credit_invoice_not_cancellable": N_(
        "invoice %(number)s is %(status)s with %(settled)s settled; only an unpaid one can be"
        " cancelled"
    ),
    "credit_no_open_item": N_("%(party)s has no open item %(item)s"),
    "credit_write_off_too_much": N_(
        "%(field)s: %(amount)s is more than the %(open)s open on %(item)s"
    ),
    # ---- assessment and the credit gate (risk/assessment.py, risk/credit_gate.py)
    "assess_no_party": N_("no party %(party)s"),
    "assess_no_rating": N_(
        "%(party)s has no credit rating: record a credit investigation and rate the party first"
    ),
    "assess_bad_level": N_("level: %(value)s is not one of high, medium, low"),
    "assess_bad_cash_only": N_("cash_only: %(value)s is not true or false"),
    "assess_no_reason": N_("reason: say why the level is set by hand"),
    # ---- register and thresholds (risk/register.py, risk/thresholds.py)
    "risk_scale": N_("%(field)s: %(value)s is not a whole number from 1 to 5"),
    "risk_bad_day": N_("%(field)s: %(value)s is not a date (YYYY-MM-DD)"),
    "risk_no_party": N_("%(field)s: there is no party %(value)s"),
    "risk_no_program": N_("%(field)s: there is no program %(value)s"),
    "risk_owner": N_("%(field)s: %(value)s is not an active user who may open the risk register"),
    "risk_unknown_field": N_("%(field)s: is not a field of a risk"),
    "no_risk": N_("no risk %(risk)s in the register"),
    "risk_filter_party": N_("no party %(party)s"),
    "threshold_value": N_("%(field)s: %(value)s is not a whole number from %(low)s to %(high)s"),
    "no_threshold": N_("no %(kind)s threshold of %(value)s"),
    # ---- accuracy (risk/accuracy.py)
    "accuracy_horizon": N_(
        "horizon_days: %(value)s is not a whole number of days from %(low)s to %(high)s"
    ),
}
