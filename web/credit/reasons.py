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
    # ---- open items, payments, exposure (risk/open_items.py, risk/payments.py, risk/exposure.py)
    # ---- assessment and the credit gate (risk/assessment.py, risk/credit_gate.py)
    # ---- register and thresholds (risk/register.py, risk/thresholds.py)
    # ---- accuracy (risk/accuracy.py)
}
