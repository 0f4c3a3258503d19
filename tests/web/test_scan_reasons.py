"""Why a scan identifies nothing, in the reader's language (issue 11): every reason id
the scanners give (``scanners.reasons.REASON_TEMPLATES``, read back from
``ScanResult.error``) has words in ``web/reasons.py`` (``SCAN_REASONS``); in English
those words give exactly ``ScanResult.error`` (what ``hopchain scan parse`` prints),
shown here with a scan that gives each id; in Chinese and Spanish they are translated
and keep the AI numbers, digits and the scanned data as they are."""

from __future__ import annotations

import re

import pytest
from flask import Flask

from scanners import parse
from scanners.digital_link import DigitalLinkError, parse_digital_link
from scanners.parse import ScanParseError, parse_or_raise
from scanners.reasons import REASON_TEMPLATES, reason_of
from web.reasons import SCAN_REASONS, scan_reason_words

HAN = re.compile(r"[\u4e00-\u9fff]")

#: A scan that is refused for each reason id, with the ids of the inner reasons.
SAMPLES: dict[str, tuple[str, tuple[str, ...]]] = {
    "scan_empty": ("\x1d\r\n", ()),
    "scan_too_long": ("9" * 5000, ()),
    "no_data_after_sid": ("]d2", ()),
    "check_digit_wrong": ("(01)04012345000017(21)A1", ()),
    "serial_without_gtin": ("(21)ABC", ()),
    "ai_check_digit_wrong": ("(01)09506000134352(414)0950600013430", ()),
    "ai_format": ("(01)09506000134352(17)2613X1", ()),
    "unknown_ai": ("(01)09506000134352(89)1", ()),
    "hri_malformed": ("(01)(21)ABC", ()),
    "epc_urn": ("urn:epc:id:sscc:x", ()),
    "not_element_string": ("8003X1234", ("ai_format",)),
    "no_ai_in": ("]Q3abc", ("not_element_string",)),
    "not_digital_link": (
        "https://id.gs1.org/01/09506000134353/21/ABC",
        ("link_ai_value", "link_ai_reason", "check_digit_wrong"),
    ),
    "link_ai_value": ("https://id.gs1.org/8003/x", ("not_digital_link", "ai_format")),
    "link_ai_reason": ("https://id.gs1.org/01/123/21/A", ("not_digital_link", "link_ai_value")),
    "digits_length": ("https://id.gs1.org/00/12345", ("not_digital_link", "link_ai_reason")),
    "link_query_value": (
        "https://id.gs1.org/01/09506000134352/21/A?414=0950600013430",
        ("not_digital_link", "ai_check_digit_wrong"),
    ),
    "link_not_ai": (
        "https://id.gs1.org/01/09506000134352/21/A?89=1",
        ("not_digital_link", "link_query_value"),
    ),
}


def _ids(error: str | None) -> list[str]:
    """The ids of a reason and of each reason inside it, outermost first."""
    found = []
    while error:
        said = reason_of(error)
        assert said is not None, f"{error!r} has no reason id"
        found.append(said[0])
        error = said[1].get("reason")
    return found


def _data(error: str) -> list[str]:
    """Every value of a reason and of the reasons inside it but the inner reasons."""
    said = reason_of(error)
    assert said is not None
    values = dict(said[1])
    inner = values.pop("reason", None)
    return list(values.values()) + (_data(inner) if inner else [])


def test_every_id_has_words_and_a_sample() -> None:
    assert set(SCAN_REASONS) == set(REASON_TEMPLATES) == set(SAMPLES)
    for reason_id, english in REASON_TEMPLATES.items():
        assert SCAN_REASONS[reason_id] == english, reason_id


@pytest.mark.parametrize("reason_id", sorted(SAMPLES))
def test_a_scan_gives_the_id_and_english_words_are_the_scanners(
    words_app: Flask, reason_id: str
) -> None:
    code, others = SAMPLES[reason_id]
    result = parse(code)
    assert result.error is not None and result.key is None
    ids = _ids(result.error)
    assert reason_id in ids and set(others) <= set(ids), ids
    assert result.reason_id == ids[0]
    assert REASON_TEMPLATES[result.reason_id] % result.reason_values == result.error
    with words_app.test_request_context("/", headers={"Accept-Language": "en"}):
        assert scan_reason_words(result) == result.error
    with pytest.raises(ScanParseError) as refused:
        parse_or_raise(code)
    assert (refused.value.reason_id, refused.value.values) == (
        result.reason_id,
        result.reason_values,
    )


@pytest.mark.parametrize("reason_id", sorted(SAMPLES))
def test_chinese_and_spanish_words_keep_every_value(words_app: Flask, reason_id: str) -> None:
    result = parse(SAMPLES[reason_id][0])
    assert result.error is not None
    with words_app.test_request_context("/", headers={"Accept-Language": "zh-CN"}):
        chinese = scan_reason_words(result)
    with words_app.test_request_context("/", headers={"Accept-Language": "es"}):
        spanish = scan_reason_words(result)
    assert HAN.search(chinese), chinese
    assert spanish != result.error, spanish
    for value in _data(result.error):
        assert value in chinese and value in spanish, (value, chinese, spanish)


def test_a_bad_check_digit_and_an_unknown_ai_in_chinese(words_app: Flask) -> None:
    with words_app.test_request_context("/", headers={"Accept-Language": "zh-CN"}):
        assert scan_reason_words(parse("(01)04012345000017(21)A1")) == (
            "GTIN 04012345000017 的校验位为 7，应为 6"
        )
        assert scan_reason_words(parse("(01)09506000134352(89)1")) == (
            "'(01)09506000134352(89)1' 中的 GS1 应用标识符（AI）'89' 未知。"
        )
        # a Digital Link whose GTIN is wrong: every layer said in Chinese
        link = scan_reason_words(parse("https://id.gs1.org/01/09506000134353/21/ABC"))
        assert link == (
            "不是有效的 GS1 数字链接 URI：路径第 2 段（AI 01 的值）："
            "AI 01（GTIN）：GTIN 09506000134353 的校验位为 3，应为 2"
        )


def test_the_digital_link_reader_carries_the_id(words_app: Flask) -> None:
    with pytest.raises(DigitalLinkError) as refused:
        parse_digital_link("https://id.gs1.org/01/09506000134352/21/A?89=1")
    assert refused.value.reason_id == "link_query_value"
    assert refused.value.values["param"] == "89"
    with words_app.test_request_context("/", headers={"Accept-Language": "es"}):
        assert scan_reason_words(refused.value) == (
            "parámetro de consulta 89: 89 no es un identificador de aplicación"
            " GS1 (AI) (los nombres de parámetro numéricos están reservados a los AI)"
        )


def test_a_reason_without_an_id_and_a_parsed_code_stay_as_written(words_app: Flask) -> None:
    with words_app.test_request_context("/", headers={"Accept-Language": "zh-CN"}):
        assert scan_reason_words("]E4 is EAN-8: its data is 8 digits, got 7") == (
            "]E4 is EAN-8: its data is 8 digits, got 7"
        )
        assert scan_reason_words(parse("(01)09506000134352(21)A1")) == ""
    assert parse("(01)09506000134352(21)A1").reason_id == ""
    assert parse("(01)09506000134352(21)A1").reason_values == {}
