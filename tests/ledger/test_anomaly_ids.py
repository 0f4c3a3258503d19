"""Every custody anomaly the ledger writes has an id (issue 11): its English is
:data:`ledger.custody.ANOMALY_TEMPLATES` filled with values (party codes, the entry
kind), byte for byte what ``entries.anomaly`` stores; :func:`scanners.reasons.anomaly_of`
reads the id and values back, and ``web.reasons.anomaly_words`` says it in Chinese and
Spanish keeping every party code."""

from __future__ import annotations

import re

import pytest
from flask import Flask

from ledger.custody import ANOMALY_TEMPLATES, Custody, UnitState, apply_entry
from ledger.ids import EntryKind as K
from scanners.reasons import EVENT_REASON_TEMPLATES, anomaly_of, event_reason_of
from web.reasons import ANOMALIES, EVENT_REASONS, anomaly_words, event_reason_words

HAN = re.compile(r"[\u4e00-\u9fff]")
S = UnitState

#: Per id: (state before, holder, bound for, kind, party, counterparty, is_new).
_VERBS = {
    "shipped": (K.SHIPPING, "D-X"),
    "sold": (K.RETAIL_SELLING, None),
    "packed": (K.PACKING, None),
    "unpacked": (K.UNPACKING, None),
    "returned": (K.RETURNING, None),
}
CASES: dict[str, tuple[UnitState, str | None, str | None, K, str, str | None, bool]] = {
    "never_commissioned": (S.IN_STOCK, None, None, K.SHIPPING, "D-AU", "D-NZ", True),
    "commissioned_again": (S.IN_STOCK, "MFR", None, K.COMMISSIONING, "MFR", None, False),
    "shipped_no_ship_to": (S.IN_STOCK, "MFR", None, K.SHIPPING, "MFR", None, False),
    "received_after_decommissioning": (S.DECOMMISSIONED, "MFR", None, K.RECEIVING, "D-AU", None, False),
    "received_after_sold": (S.SOLD, "D-AU", None, K.RECEIVING, "D-AU", None, False),
    "received_never_shipped": (S.IN_STOCK, "MFR", None, K.RECEIVING, "D-AU", None, False),
    "received_shipped_elsewhere": (S.IN_TRANSIT, "MFR", "D-NZ", K.RECEIVING, "D-AU", None, False),
    "inspected_after_decommissioning": (S.DECOMMISSIONED, "MFR", None, K.INSPECTING, "MFR", None, False),
    "decommissioned_twice": (S.DECOMMISSIONED, "MFR", None, K.DECOMMISSIONING, "MFR", None, False),
}  # fmt: skip
for _verb, (_kind, _other) in _VERBS.items():
    CASES[f"{_verb}_after_decommissioning"] = (S.DECOMMISSIONED, "MFR", None, _kind, "MFR", _other, False)  # fmt: skip
    if _verb != "returned":  # a return after a sale is a customer return: no anomaly
        CASES[f"{_verb}_after_sold"] = (S.SOLD, "D-AU", None, _kind, "D-AU", _other, False)
    CASES[f"{_verb}_in_transit"] = (S.IN_TRANSIT, "MFR", "D-NZ", _kind, "D-AU", _other, False)
    CASES[f"{_verb}_not_holder"] = (S.IN_STOCK, "MFR", None, _kind, "D-AU", _other, False)


def _anomaly(reason_id: str) -> str:
    state, holder, bound_for, kind, party, other, is_new = CASES[reason_id]
    return apply_entry(Custody(state, holder, bound_for), kind, party, other, is_new=is_new)


def test_every_id_is_written_by_the_custody_rule_and_has_words() -> None:
    assert set(CASES) == set(ANOMALY_TEMPLATES) == set(ANOMALIES)
    assert set(EVENT_REASONS) == set(EVENT_REASON_TEMPLATES)
    for reason_id, english in ANOMALY_TEMPLATES.items():
        assert ANOMALIES[reason_id] == english, reason_id


@pytest.mark.parametrize("reason_id", sorted(CASES))
def test_each_anomaly_reads_back_to_its_id(reason_id: str) -> None:
    text = _anomaly(reason_id)
    assert text, reason_id
    said = anomaly_of(text)
    assert said is not None and said[0] == reason_id, (text, said)
    assert ANOMALY_TEMPLATES[reason_id] % said[1] == text


def test_the_tester_s_sentences_keep_their_english() -> None:
    """What issue 11's tester saw stays stored and printed byte for byte."""
    assert _anomaly("received_never_shipped") == "received by D-AU but never shipped (holder MFR)"
    assert _anomaly("sold_not_holder") == "sold by D-AU, which does not hold it (holder MFR)"
    assert _anomaly("shipped_no_ship_to") == "shipped without a ship-to party"
    assert anomaly_of("") is None and anomaly_of("holder is not the scanning party") is None
    reason = "a packing scan needs the container it packs into"
    assert event_reason_of(reason) == ("packing_no_container", {})


@pytest.mark.parametrize("reason_id", sorted(CASES))
def test_chinese_and_spanish_keep_every_party_code(app: Flask, reason_id: str) -> None:
    text = _anomaly(reason_id)
    said = anomaly_of(text)
    assert said is not None
    with app.test_request_context("/", headers={"Accept-Language": "zh-CN"}):
        chinese = anomaly_words(text)
    with app.test_request_context("/", headers={"Accept-Language": "es"}):
        spanish = anomaly_words(text)
    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        assert anomaly_words(text) == text
    assert HAN.search(chinese) and not re.search(r"\b(by|after|which|never)\b", chinese), chinese
    assert spanish != text, spanish
    for name, value in said[1].items():
        if name != "kind":  # an entry kind is said in words
            assert value in chinese and value in spanish, (value, chinese, spanish)


def test_the_words_the_tester_reads(app: Flask) -> None:
    with app.test_request_context("/", headers={"Accept-Language": "zh-CN"}):
        assert anomaly_words(_anomaly("received_never_shipped")) == (
            "D-AU 收货，但该单品从未发货（持有方 MFR）"
        )
        assert anomaly_words(_anomaly("sold_not_holder")) == (
            "D-AU 售出，但该单品不在其手中（持有方 MFR）"
        )
        assert anomaly_words(_anomaly("shipped_no_ship_to")) == "发货时未指定收货方"
        assert anomaly_words(_anomaly("never_commissioned")) == "对从未赋码的单品执行了发货"
        assert event_reason_words("a packing scan needs the container it packs into") == (
            "装箱扫描须注明装入的容器"
        )
        # a sentence of no known shape is kept as stored
        assert anomaly_words("holder is not the scanning party") == (
            "holder is not the scanning party"
        )
    with app.test_request_context("/", headers={"Accept-Language": "es"}):
        assert anomaly_words(_anomaly("sold_not_holder")) == (
            "vendido por D-AU, que no lo tiene (en poder de MFR)"
        )
