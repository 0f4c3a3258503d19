"""The credit gate's notes read back to their ids, so pages say them in the
reader's language (web/reasons.py NOTES), alone or after a custody anomaly."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from risk.credit_gate import CASH_ONLY_NOTE, OVER_LIMIT_NOTE, major
from scanners.reasons import NOTE_TEMPLATES, note_of
from web.reasons import NOTES


def test_the_notes_have_one_english() -> None:
    assert NOTE_TEMPLATES == {
        "credit_cash_only": CASH_ONLY_NOTE,
        "credit_over_limit": OVER_LIMIT_NOTE,
    }
    assert NOTES == NOTE_TEMPLATES


_CODE = st.from_regex(r"[A-Z][A-Z0-9-]{0,20}", fullmatch=True)
_MINOR = st.integers(min_value=0, max_value=10**12)
_CCY = st.sampled_from(["EUR", "JPY", "KWD", "CNY"])


@given(_CODE, _MINOR, _MINOR, _MINOR, _CCY)
def test_an_over_limit_note_reads_back_to_its_figures(
    code: str, before: int, value: int, limit: int, ccy: str
) -> None:
    values = {
        "party": code,
        "exposure": major(before, ccy),
        "shipment": major(value, ccy),
        "credit_limit": major(limit, ccy),
        "currency": ccy,
    }
    assert note_of(OVER_LIMIT_NOTE % values) == ("credit_over_limit", values)


@given(_CODE)
def test_a_cash_only_note_reads_back(code: str) -> None:
    assert note_of(CASH_ONLY_NOTE % {"party": code}) == ("credit_cash_only", {"party": code})


def test_english_comes_back_as_stored(app: object) -> None:
    from flask import Flask

    from web.reasons import anomaly_words

    assert isinstance(app, Flask)
    note = "credit: over limit of D-ONE: exposure 100.00 + shipment 100.00 > limit 150.00 EUR"
    both = f"shipped by D-TWO, which does not hold it (holder MFR); {note}"
    with app.test_request_context("/"):
        assert anomaly_words(note) == note
        assert anomaly_words(both) == both
        assert anomaly_words(f"2 of 3 units: {note}") == f"2 of 3 units: {note}"
