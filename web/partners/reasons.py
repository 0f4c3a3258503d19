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
    # (partners/values.py: one value of a field; %(field)s is the field or column)
    "party_code_form": N_(
        "%(field)s: %(value)s is not a party code: 1 to 64 letters, digits, '.', '_' or '-', "
        "starting with a letter or digit"
    ),
    "not_a_choice": N_("%(field)s: %(value)s is not one of %(choices)s"),
    "not_country": N_("%(field)s: %(value)s is not an ISO 3166 country code (like DE, CN, US)"),
    "not_time_zone": N_(
        "%(field)s: %(value)s is not an IANA time zone (like Europe/Berlin, Asia/Shanghai)"
    ),
    "not_locale": N_("%(field)s: %(value)s is not a language hopchain writes in: %(choices)s"),
    "not_phone": N_(
        "%(field)s: %(value)s is not a telephone number in international form (like +49 30 1234567)"
    ),
    "not_coordinate": N_(
        "%(field)s: %(value)s is not a coordinate in decimal degrees (like 48.137154)"
    ),
    "coordinate_range": N_("%(field)s: %(value)s is outside -%(limit)s to %(limit)s degrees"),
    "not_email": N_("%(field)s: %(value)s is not an e-mail address (like name@example.com)"),
    "not_text": N_("%(field)s: must be text, not %(value)s"),
    # (partners/parties.py)
    "party_read_denied": N_("%(user)s (%(role)s) may not see this party"),
    "no_party": N_("there is no party %(party)s"),
    "party_unknown_field": N_("%(field)s: there is no party with code %(code)s"),
    "party_code_taken": N_("%(field)s: %(code)s is already the code of a party"),
    "parent_required": N_("%(field)s: a %(kind)s needs a parent of kind %(kinds)s"),
    "parent_kind": N_(
        "%(field)s: %(parent)s is a %(parent_kind)s; the parent of a %(kind)s is a %(kinds)s"
    ),
    "parent_cycle": N_(
        "%(field)s: %(parent)s is below this party; a party cannot be its own ancestor"
    ),
    "kind_breaks_children": N_(
        "%(field)s: %(party)s has %(child_kind)s children, whose parent cannot be a %(kind)s"
    ),
    "manufacturer_fixed": N_("%(party)s is the manufacturer; it is not edited here"),
    "code_fixed": N_("%(field)s: a party's code never changes; create a new party"),
    "status_by_transition": N_(
        "%(field)s: the status changes through a status change with its reason"
    ),
    "not_party_field": N_("%(field)s: is not a field of a party; the fields are %(fields)s"),
    "party_transition": N_(
        "%(party)s is %(status)s; it cannot become %(to)s (it may become: %(allowed)s)"
    ),
    "coordinates_pair": N_("%(field)s: give both latitude and longitude, or neither"),
    "no_address": N_("%(party)s has no address %(address)s"),
    "no_contact": N_("%(party)s has no contact %(contact)s"),
    # (partners/imports.py: %(field)s is the file's column)
    "code_twice_in_file": N_("%(field)s: %(code)s is also the code of row %(row)s"),
    "parent_not_found": N_(
        "%(field)s: there is no party with code %(code)s, stored or in this file"
    ),
    "parent_loop_in_file": N_("%(field)s: the parents of %(codes)s go round in a loop"),
    # ---- recruitment and trials (partners/recruitment.py, partners/trials.py)
    "recruit_not_text": N_("%(field)s: must be text"),
    "recruit_not_bool": N_("%(field)s: must be true or false"),
    "recruit_not_objects": N_("%(field)s: must be a list of objects"),
    "recruit_unknown_field": N_(
        "%(field)s: is not a field of an application; the fields are %(fields)s"
    ),
    "recruit_not_whole": N_("%(field)s: %(value)s is not a whole number"),
    "recruit_out_of_range": N_("%(field)s: %(value)s is not between %(low)s and %(high)s"),
    "recruit_owner": N_("%(field)s: user %(value)s is not an active partner manager or admin"),
    # (H10, issue 12: a service user owns no prospect)
    "recruit_owner_service": N_(
        "%(field)s: user %(value)s (%(user)s) is a service user for API tokens, not a person; "
        "a prospect's owner must be a partner manager or admin who answers for it"
    ),
    "recruit_not_day": N_("%(field)s: %(value)s is not a date like 2026-12-01 (YYYY-MM-DD)"),
    "recruit_not_month": N_("%(field)s: %(value)s is not a month like 2026-12 (YYYY-MM)"),
    "recruit_future_day": N_("%(field)s: %(value)s is in the future"),
    "recruit_not_list": N_("%(field)s: must be a list of codes"),
    "recruit_close_reason": N_("%(field)s: is empty: say why the prospect is %(stage)s"),
    "recruit_territory_unknown": N_("%(field)s: %(value)s is not a stored territory"),
    "recruit_program_unknown": N_("%(field)s: %(value)s is not a rebate program"),
    "no_prospect": N_("no prospect %(prospect)s"),
    "prospect_closed": N_("prospect %(prospect)s is %(stage)s: a closed prospect does not change"),
    "prospect_score_stage": N_(
        "prospect %(prospect)s is at %(stage)s; scores are given at screening"
    ),
    "prospect_visit_stage": N_(
        "prospect %(prospect)s is at %(stage)s; site visit reports are kept at site_visit"
    ),
    "prospect_terms_stage": N_(
        "prospect %(prospect)s is at %(stage)s; terms are proposed at negotiation"
    ),
    "prospect_sign_stage": N_(
        "prospect %(prospect)s is at %(stage)s; a prospect is signed at signing"
    ),
    "prospect_sign_only": N_(
        "prospect %(prospect)s is signed by signing it (the party and its trial are created "
        "then), not by a move"
    ),
    "prospect_transition": N_(
        "prospect %(prospect)s is at %(stage)s: it may move to %(allowed)s, not to %(target)s"
    ),
    "screening_incomplete": N_(
        "prospect %(prospect)s cannot leave screening: no score yet for %(missing)s"
    ),
    "prospect_visit_missing": N_(
        "prospect %(prospect)s cannot leave site_visit: no site visit report yet"
    ),
    "prospect_terms_missing": N_(
        "prospect %(prospect)s cannot leave negotiation: no terms proposed yet"
    ),
    "screening_weights_sum": N_("%(field)s: add up to %(total)s; they must add up to 1"),
    "screening_criterion_unknown": N_(
        "%(field)s: %(value)s is not a screening criterion; they are %(choices)s"
    ),
    "recruit_not_weight": N_("%(field)s: %(value)s is not a weight from 0 to 1 like 0.25"),
    "visit_photo_empty": N_("%(field)s: %(value)s is empty"),
    "visit_photo_too_large": N_(
        "%(field)s: %(value)s is %(size)s bytes; a photo may have at most %(limit)s"
    ),
    "visit_photo_type": N_("%(field)s: %(value)s is not a JPEG, PNG or WebP image"),
    "visit_too_many_photos": N_("%(field)s: %(count)s photos; a visit keeps at most %(limit)s"),
    "no_visit_photo": N_("no photo %(photo)s"),
    "trial_running": N_("party %(party)s is on trial already"),
    "trial_no_party": N_("no party %(code)s"),
    "no_trial": N_("party %(code)s has had no trial"),
    "trial_decided": N_("the trial of %(code)s was decided already (%(outcome)s)"),
    "trial_no_agreement": N_(
        "%(code)s has no signed agreement in force on %(day)s: its agreement must be"
        " signed before the trial can admit it"
    ),
    # ---- agreements (partners/agreements.py)
    "agreement_party_closed": N_("%(party)s is %(status)s: it takes no new agreement"),
    "agreement_not_date": N_("%(field)s: %(value)s is not a date like 2027-01-31 (YYYY-MM-DD)"),
    "agreement_not_minor": N_(
        "%(field)s: %(value)s is not a whole number of minor units from 0 to 10^15"
    ),
    "agreement_terms_days": N_("%(field)s: %(value)s is not a number of days from 0 to 365"),
    "agreement_ends_before": N_("%(field)s: %(valid_to)s is before valid_from %(valid_from)s"),
    "no_agreement": N_("no agreement %(agreement)s"),
    "agreement_other_party": N_(
        "%(field)s: agreement %(agreement)s is not an agreement of %(party)s"
    ),
    "agreement_amend_unsigned": N_(
        "agreement %(agreement)s is %(status)s; only a signed agreement in force is amended or "
        "renewed"
    ),
    "agreement_amend_pending": N_(
        "agreement %(agreement)s already has %(pending)s on its way; finish or edit that one"
    ),
    "agreement_not_draft": N_("agreement %(agreement)s is %(status)s; only a draft can be edited"),
    "agreement_not_draft_submit": N_(
        "agreement %(agreement)s is %(status)s; only a draft can be submitted"
    ),
    "agreement_supplement_span": N_(
        "%(field)s: %(valid_from)s is outside agreement %(agreement)s (%(start)s to %(end)s); "
        "a supplementary agreement takes effect while the agreement it changes is valid"
    ),
    "agreement_renewal_span": N_(
        "%(field)s: %(valid_from)s is not after the start of agreement %(agreement)s "
        "(%(start)s); a renewal follows the agreement it renews"
    ),
    "agreement_document_missing": N_("%(field)s: the signed agreement (a PDF file) is required"),
    "agreement_document_large": N_(
        "%(field)s: %(size)s bytes is more than the %(limit)s bytes kept"
    ),
    "agreement_document_not_pdf": N_("%(field)s: %(name)s is not a PDF file"),
    "agreement_signed_future": N_("%(field)s: %(day)s is after today (%(today)s)"),
    "agreement_code_empty": N_("%(field)s: is not a code"),
    "agreement_code_twice": N_("%(field)s: %(code)s is named twice"),
    "agreement_no_program": N_(
        "%(field)s: %(code)s is not a rebate program (Reference data > Programs)"
    ),
    "agreement_no_document": N_("agreement %(agreement)s has no signed document"),
    "agreement_not_in_legal_review": N_(
        "agreement %(agreement)s is %(status)s, not waiting for its legal review"
    ),
    "agreement_not_in_business_review": N_(
        "agreement %(agreement)s is %(status)s, not waiting for its business review"
    ),
    "agreement_not_approved": N_(
        "agreement %(agreement)s is %(status)s; only an agreement that passed the legal and "
        "business reviews is signed"
    ),
    "agreement_overlap": N_(
        "agreement %(other)s of the same party is in force during %(agreement)s; change it by "
        "a supplementary agreement or terminate it first"
    ),
    "agreement_notice_missing": N_(
        "%(field)s: a material breach is terminated only after written notice: give its date"
    ),
    "agreement_cure_missing": N_(
        "%(field)s: a material breach is terminated only once the deadline to cure it has "
        "passed: give the deadline"
    ),
    "agreement_cure_before_notice": N_("%(field)s: %(day)s is before the notice of %(notice)s"),
    "agreement_cure_pending": N_(
        "%(field)s: the partner may cure the breach until %(deadline)s; terminate after that "
        "day if it was not cured"
    ),
    "agreement_end_before_cure": N_(
        "%(field)s: %(day)s is not after the cure deadline %(deadline)s"
    ),
    "agreement_not_signed": N_(
        "agreement %(agreement)s is %(status)s; only a signed agreement in force is terminated"
    ),
    "agreement_end_outside": N_(
        "%(field)s: %(day)s is outside agreement %(agreement)s (%(start)s to %(end)s)"
    ),
    "agreement_no_territory": N_(
        "%(field)s: %(code)s is not a stored territory (hopchain territories import FILE)"
    ),
    "agreement_main_amends": N_(
        "%(field)s: a main agreement amends nothing; draft a supplementary agreement or a renewal"
    ),
    "agreement_amends_missing": N_(
        "%(field)s: a %(kind)s agreement names the signed agreement it changes"
    ),
    "agreement_own_review": N_(
        "%(user)s drafted, edited or submitted agreement %(agreement)s; another person reviews it"
    ),
    "agreement_second_review": N_(
        "%(user)s gave the legal review of agreement %(agreement)s; another person gives the "
        "business review"
    ),
    "agreement_amended_gone": N_(
        "agreement %(agreement)s changes %(amended)s, which is %(status)s now"
    ),
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
    "review_bad_day": N_("%(field)s: %(value)s is not a date (YYYY-MM-DD)"),
    "review_weight_not_number": N_("weights.%(name)s: %(value)s is not a number from 0 to 1"),
    "review_weight_unknown": N_("weights: unknown indicator %(name)s; known: %(known)s"),
    "review_weight_sum": N_("weights must add up to 1, not %(total)s"),
    "review_bad_year": N_("year: %(value)s is not a year from 2000 to 9999"),
    "review_no_party": N_("no party %(code)s"),
    "review_bad_kind": N_("kind: %(value)s is not annual or event"),
    "no_review": N_("no review %(review)s"),
    "review_confirmed": N_("review %(review)s is confirmed; a confirmed review cannot change"),
    "review_ledger_indicator": N_(
        "indicator: %(name)s comes from the scorecard and cannot be entered"
    ),
    "review_unknown_indicator": N_(
        "indicator: unknown indicator %(name)s; enter one of: %(known)s"
    ),
    "review_bad_value": N_("value: %(value)s is not a whole number from 0 to 100"),
    "review_bad_class": N_("class: %(value)s is not A, B or C"),
    "review_no_reason": N_("reason: say why this class is confirmed"),
    "review_bad_status": N_("status: %(value)s is not open or confirmed"),
    "review_open_already": N_(
        "%(party)s already has an open annual review for %(year)s: review %(review)s"
    ),
    "review_missing_indicators": N_("review %(review)s still needs: %(names)s"),
    "review_no_scorecard": N_(
        "review %(review)s still needs the scorecard's %(names)s: no scorecard for"
        " %(year)s yet; score its quarters first (hopchain scores --quarter %(year)s-Q1)"
    ),
    "health_bad_threshold": N_(
        "threshold: %(value)s is not a whole number of points from 1 to 100"
    ),
    "health_no_party": N_("no party %(code)s"),
    "crm_bad_day": N_("%(field)s: %(value)s is not a date (YYYY-MM-DD)"),
    "crm_required": N_("%(field)s: required"),
    "crm_too_long": N_("%(field)s: at most %(max)s characters, not %(length)s"),
    "crm_bad_kind": N_("kind: %(value)s is not one of %(kinds)s"),
    "crm_no_party": N_("no party %(code)s"),
    "crm_future": N_(
        "happened_on: %(day)s is after today (%(today)s); record it once it has happened"
    ),
    "crm_unknown_field": N_("%(field)s: not a field of an interaction"),
    "crm_due_before": N_("next_due_on: %(due)s is before happened_on %(day)s"),
    "crm_due_without_step": N_("next_step: say what is due on %(due)s"),
    "no_interaction": N_("no interaction %(interaction)s"),
    # ---- exit (partners/exits.py, settlement/exit_settlement.py)
    "exit_bad_date": N_("%(field)s: not a date YYYY-MM-DD: %(value)r"),
    "exit_no_party": N_("no party %(party)s"),
    "exit_not_found": N_("no exit %(exit)s"),
    "exit_closed": N_("exit %(exit)s is %(status)s; it cannot %(action)s"),
    "exit_no_terminated_agreement": N_(
        "agreement_terminated needs a terminated agreement of %(party)s%(named)s"
    ),
    "exit_bad_reason": N_("%(field)s: %(value)r is not one of: %(choices)s"),
    "exit_bad_buffer": N_("%(field)s: %(value)r is not a number of days from 0 to %(most)s"),
    "exit_party_status": N_(
        "%(party)s is %(status)s; only a trial, active or suspended party can exit"
    ),
    "exit_open": N_("%(party)s already has an open exit (%(exit)s)"),
    "exit_evidence_unchecked": N_(
        "%(reason)s needs its evidence checked against settlement's records"
    ),
    "exit_bad_status": N_("%(field)s: %(value)r is not one of: %(choices)s"),
    "exit_to_party_missing": N_("%(field)s: a handover names the party that takes over"),
    "exit_to_party_unknown": N_("%(field)s: no party %(value)s"),
    "exit_to_party_leaving": N_("%(field)s: %(value)s is %(status)s and cannot take over"),
    "exit_bad_action": N_("%(field)s: %(value)r is not one of: return, handover"),
    "exit_no_units": N_("%(field)s: name at least one unit"),
    "exit_unit_not_held": N_("%(field)s: %(unit)s is not in %(party)s's custody"),
    "exit_no_customers": N_("%(field)s: name at least one customer"),
    "exit_buffer_running": N_(
        "exit %(exit)s cannot be completed: its buffer runs until %(ends_on)s"
    ),
    "exit_custody_unplanned": N_(
        "exit %(exit)s cannot be completed: %(count)s units in custody have no handover plan"
    ),
    "exit_not_settled": N_("exit %(exit)s cannot be completed: its final settlement is not done"),
    "exit_not_in_buffer": N_(
        "exit %(exit)s is %(status)s; only an exit in its buffer can be cancelled"
    ),
    "exit_quarters_two": N_(
        "%(field)s: name two consecutive quarters YYYY-Qn, e.g. 2026-Q2,2026-Q3"
    ),
    "exit_quarter_bad": N_("%(field)s: %(value)r is not a quarter YYYY-Qn"),
    "exit_quarters_apart": N_("%(field)s: %(first)s and %(second)s are not consecutive quarters"),
    "exit_no_target": N_("%(party)s has no unit target for %(quarter)s"),
    "exit_no_scorecard": N_("%(party)s has no scorecard for %(quarter)s; score the quarter first"),
    "exit_target_met": N_("%(party)s met its target in %(quarter)s (%(basis)s)"),
    "exit_alert_id": N_("%(field)s: name the confirmed diversion alert (its id), not %(value)r"),
    "exit_alert_not_party": N_("alert %(alert)s is not an alert of %(party)s"),
    "exit_alert_not_confirmed": N_(
        "alert %(alert)s is a %(status)s %(type)s alert, not a confirmed diversion"
    ),
    "exit_alert_not_serious": N_(
        "alert %(alert)s is of %(severity)s severity; a serious diversion is %(serious)s"
    ),
    "exit_settled_already": N_(
        "exit %(exit)s is %(status)s; its final settlement is done or no longer due"
    ),
    "exit_period_early": N_("%(field)s: %(period)s is before the exit started (%(started_on)s)"),
    "exit_period_bad": N_("%(field)s: %(value)r is not a month YYYY-MM"),
}
