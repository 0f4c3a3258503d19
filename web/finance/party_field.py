"""The distributor field of the finance forms: a party code typed with suggestions.

The forms (adjustments, targets, billing details, deposits) used to render a
``<select>`` of every distributor; with hundreds that is a page of options. The
field is now a text input for the distributor's code which
``web/static/party_picker.js`` turns into a search-as-you-type picker through
``GET /api/v1/parties?q=`` (the same look-up as the territory grant form). The
server still checks what was typed: :func:`check_party` finds the distributor
by its exact code (:func:`settlement.find_party`, ignoring case and surrounding
spaces) and names the field, in words, when there is none.
"""

from __future__ import annotations

from flask_babel import gettext

import settlement
from web.db import get_engine
from web.finance._common import FormState
from web.settlement_access import current_actor

__all__ = ["check_party", "find_party_code"]


def find_party_code(typed: str, kind: str | None = "distributor") -> settlement.PartyChoice | None:
    """The party (of ``kind``; any kind for None) whose code is ``typed``, ignoring
    surrounding spaces and case (``d-at`` finds ``D-AT``), among those the signed-in
    user may find (:func:`settlement.find_party`); None when there is none. Every
    form with a party code field looks it up here: finance forms and the
    administrator's user and token forms alike."""
    return settlement.find_party(get_engine(), current_actor(), typed, kind=kind)


def check_party(form: FormState, name: str = "party", *, required: bool = True) -> int | None:
    """The id of the distributor whose code is in ``form.values[name]``, or None.

    An empty value is None (and, when ``required``, an error "choose a
    distributor"); a code no distributor has is None and an error naming the field
    and the code, kept on ``form.errors[name]`` in the reader's language. A found
    code is written back as stored (``d-north`` -> ``D-NORTH``), so the re-rendered
    form shows it so.
    """
    typed = form.values.get(name, "").strip()
    if not typed:
        if required:
            form.errors.setdefault(
                name, gettext("Distributor: choose one (type its code or name, then pick it).")
            )
        return None
    found = find_party_code(typed)
    if found is None:
        form.errors.setdefault(
            name, gettext("Distributor: no distributor has the code “%(code)s”.", code=typed)
        )
        return None
    form.values[name] = found.code
    return found.id
