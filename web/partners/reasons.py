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
    # ---- evaluation, health, CRM (risk/reviews.py, risk/health.py, partners/crm.py)
    # ---- exit (partners/exits.py, settlement/exit_settlement.py)
}
