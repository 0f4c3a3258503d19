"""A scan batch's summary of anomalies and a refused container code, in the reader's
language (issue 11): ``ledger.append._summarize`` writes "N of M units: a; b; and K
more" and the batch "container: <scanner reason>"; each part is said by its own id,
and English comes back byte for byte."""

from __future__ import annotations

import pytest
from flask import Flask

from scanners import parse
from tests.web.test_i18n_pages import english_left
from web.reasons import anomaly_words, event_reason_words

SUMMARY = (
    "2 of 3 units: shipped after it was sold; sold by D-AU, which does not hold it (holder MFR)"
)
LONG = (
    "7 of 9 units: shipped after it was sold; packed after it was sold; "
    "sold by D-AU, which does not hold it (holder MFR); and 2 more"
)
BAD_SSCC = parse("(00)340123450000000019").error


@pytest.mark.parametrize(
    "text", [SUMMARY, LONG, f"container: {BAD_SSCC}", "no known shape; at all"]
)
def test_english_is_kept_byte_for_byte(app: Flask, text: str) -> None:
    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        assert anomaly_words(text) == text
        assert event_reason_words(text) == text


def test_a_summary_in_chinese(app: Flask) -> None:
    with app.test_request_context("/", headers={"Accept-Language": "zh-CN"}):
        said = anomaly_words(SUMMARY)
        assert said.startswith("3 件中有 2 件：") and "；" in said
        assert english_left(f"<p>{said}</p>", frozenset({"D-AU", "MFR"})) == []
        longer = anomaly_words(LONG)
        assert longer.endswith("另有 2 条") and longer.count("；") == 3
        assert english_left(f"<p>{longer}</p>", frozenset({"D-AU", "MFR"})) == []
        # a part of no known shape stays as stored, the rest is still said
        mixed = anomaly_words("2 of 2 units: something new; shipped after it was sold")
        assert mixed.startswith("2 件中有 2 件：something new；") and "shipped" not in mixed


def test_a_refused_container_code_in_chinese_and_spanish(app: Flask) -> None:
    assert BAD_SSCC is not None and "check digit" in BAD_SSCC
    with app.test_request_context("/", headers={"Accept-Language": "zh-CN"}):
        said = event_reason_words(f"container: {BAD_SSCC}")
        assert said.startswith("容器：SSCC 340123450000000019 的校验位为 9")
    with app.test_request_context("/", headers={"Accept-Language": "es"}):
        assert event_reason_words(f"container: {BAD_SSCC}").startswith("contenedor: ")


def test_history_values_known_kinds_in_words_data_as_it_is(app: Flask) -> None:
    """The reference-data history shows a stored kind (a deposit's ``receipt``, a
    target's ``units``) in the reader's language and every other value untouched."""
    from web.words import value_words

    with app.test_request_context("/", headers={"Accept-Language": "zh-CN"}):
        assert value_words("receipt") != "receipt" and value_words("units") == "件"
        assert value_words("D_AT") == "D_AT" and value_words("12.50") == "12.50"
        assert value_words(None) is None and value_words(3) == 3
    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        assert value_words("receipt") == "receipt"
