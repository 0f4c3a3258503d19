"""The words of partner management's reason ids (``PartnerError.said("id", ...)`` in
``partners/`` and ``risk/``), merged into :data:`web.reasons.REASONS`.

In English each entry is exactly the English the code raises
(tests/web/test_reasons_ids.py compares them); ``%(name)s`` are the error's values.
"""

from __future__ import annotations

from web.i18n import N_

__all__ = ["PARTNER_REASONS"]

PARTNER_REASONS: dict[str, str] = {
    # ---- common (partners/errors.py, partners/tasks.py)
    "partner_denied": N_("%(user)s (%(role)s) may not %(action)s; needs one of: %(roles)s"),
    "no_task": N_("no task %(task)s"),
    "task_closed": N_("task %(task)s is already done"),
    # ---- parties (partners/parties.py, partners/imports.py)
    # ---- recruitment and trials (partners/recruitment.py, partners/trials.py)
    # ---- agreements (partners/agreements.py)
    # ---- grants and enrolment in force (partners/in_force.py)
    "in_force_bad_date": N_("%(field)s must be a date YYYY-MM-DD, not %(value)r"),
    "in_force_not_signed": N_(
        "agreement %(number)s is %(status)s; only a signed agreement grants territories"
        " and programs"
    ),
    "in_force_applied": N_("agreement %(number)s is already in force"),
    "in_force_ends_before": N_(
        "agreement %(number)s ends (%(valid_to)s) before it starts (%(valid_from)s)"
    ),
    "in_force_no_amended": N_(
        "agreement %(number)s amends agreement %(amends)s, which is not an"
        " agreement of the same party"
    ),
    "in_force_not_applied": N_("agreement %(number)s was never in force; there is nothing to end"),
    # ---- evaluation, health, CRM (risk/reviews.py, risk/health.py, partners/crm.py)
    # ---- exit (partners/exits.py, settlement/exit_settlement.py)
}
