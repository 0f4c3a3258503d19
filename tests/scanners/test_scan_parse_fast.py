"""The fast path for common scans answers exactly what the general (biip) path does."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.ids import gs1_check_digit
from scanners import parse
from scanners.parse import _parse

ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


@st.composite
def _numbers(draw: st.DrawFn, length: int) -> str:
    body = draw(st.text("0123456789", min_size=length - 1, max_size=length - 1))
    check = gs1_check_digit(body)
    if draw(st.integers(0, 9)) == 0:  # now and then a wrong check digit
        check = (check + draw(st.integers(1, 9))) % 10
    return body + str(check)


_serials = st.text(ALNUM, min_size=1, max_size=20) | st.text(min_size=0, max_size=22)


@st.composite
def _scans(draw: st.DrawFn) -> str:
    gtin, sscc, serial = draw(_numbers(14)), draw(_numbers(18)), draw(_serials)
    host = draw(st.sampled_from(["https://id.gs1.org", "http://example.com:8080", "https://a.b"]))
    form = draw(
        st.sampled_from(
            [
                f"{host}/01/{gtin}/21/{serial}",
                f"{host}/00/{sscc}",
                f"({'01'}){gtin}(21){serial}",
                f"(00){sscc}",
                f"01{gtin}21{serial}",
                f"01{gtin}\x1d21{serial}",
                f"00{sscc}",
                f"01{gtin}",
            ]
        )
    )
    prefix = draw(st.sampled_from(["", "]d2", "]C1", "]Q3", "]E0", "]e0"]))
    return prefix + form + draw(st.sampled_from(["", "\r\n", "\x1d"]))


@settings(max_examples=600, deadline=None)
@given(_scans())
def test_fast_and_general_paths_agree(text: str) -> None:
    assert parse(text) == _parse(text, None, fast=False)


def test_the_common_forms_take_the_fast_path() -> None:
    for text in (
        "https://id.gs1.org/01/09506000134352/21/A1B2",
        "(01)09506000134352(21)A1B2",
        "]d20109506000134352\x1d21A1B2",
        "(00)106141411234567897",
    ):
        fast = parse(text)
        assert fast.key is not None
        assert fast == _parse(text, None, fast=False)
