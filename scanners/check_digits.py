"""GS1 check digits of AI values: :func:`check_digit_error` and :data:`CHECK_DIGIT_SPANS`.

Every AI whose format carries a GS1 mod-10 check digit (GS1 General
Specifications §3 and §7.9.1, the "csum" components of the GS1 Barcode Syntax
Dictionary) and the GMN check character pair (8013, §7.9.5). Shared by
:mod:`scanners.parse` (element strings, HRI) and :mod:`scanners.digital_link`
(GS1 Digital Link URIs), so every form of a code is checked alike.
"""

from __future__ import annotations

from biip import ParseError
from biip.gs1_application_identifiers import GS1ApplicationIdentifier

from ledger.ids import gs1_check_digit

__all__ = ["CHECK_DIGIT_SPANS", "ai_title", "check_digit_error"]

#: AI -> (start, end) of the digits of its value that end in a GS1 mod-10 check
#: digit (GS1 General Specifications §3 and §7.9.1; the "csum" components of the
#: GS1 Barcode Syntax Dictionary). GRAI (8003) starts with a padding zero, then
#: its 13-digit GTIN-like part; GDTI, GCN and ITIP carry more data after it.
CHECK_DIGIT_SPANS: dict[str, tuple[int, int]] = {
    "00": (0, 18),  # SSCC
    "01": (0, 14),  # GTIN
    "02": (0, 14),  # GTIN of contained trade items
    "03": (0, 14),  # GTIN of a made-to-order item
    "253": (0, 13),  # GDTI
    "255": (0, 13),  # GCN
    "402": (0, 17),  # GSIN
    **{f"41{n}": (0, 13) for n in range(8)},  # GLN: ship to, bill to ... party
    "8003": (1, 14),  # GRAI
    "8006": (0, 14),  # ITIP
    "8017": (0, 18),  # GSRN - provider
    "8018": (0, 18),  # GSRN - recipient
    "8026": (0, 14),  # ITIP content
}
# GMN (8013) ends in a check character pair instead (GS1 General Specifications
# §7.9.5): weights are the primes, the characters those of sets 82 and 32.
_GMN_AI = "8013"
_CSET82 = "!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"
_CSET32 = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
_PRIMES = (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83)


def check_digit_error(ai: str, value: str) -> str | None:
    """Why the check digit (or GMN check character pair) in ``value`` of ``ai`` is
    wrong, naming the AI and its GS1 data title, e.g. ``"AI 414 (LOC No.) check
    digit 7 is wrong; expected 3"``; None when it is right or ``ai`` has none.

    The AIs and the position of their check digit are :data:`CHECK_DIGIT_SPANS`
    (mod 10, GS1 General Specifications §7.9.1) plus 8013 (GMN, §7.9.5).
    """
    label = f"AI {ai} ({ai_title(ai)})"
    if ai == _GMN_AI:
        return _gmn_error(label, value)
    span = CHECK_DIGIT_SPANS.get(ai)
    if span is None:
        return None
    start, end = span
    digits = value[start:end]
    if len(digits) != end - start or not digits.isascii() or not digits.isdigit():
        return (
            f"{label} must have {end - start} digits at positions {start + 1}-{end}, got {value!r}"
        )
    expected = gs1_check_digit(digits[:-1])
    if int(digits[-1]) != expected:
        return f"{label} check digit {digits[-1]} is wrong; expected {expected}"
    return None


def _gmn_error(label: str, value: str) -> str | None:
    data, pair = value[:-2], value[-2:]
    if not 3 <= len(value) <= 25 or any(c not in _CSET82 for c in data):
        return f"{label} must be 1-23 GS1 characters and a check character pair, got {value!r}"
    weights = _PRIMES[: len(data)][::-1]
    total = sum(_CSET82.index(c) * w for c, w in zip(data, weights, strict=True)) % 1021
    expected = _CSET32[total >> 5] + _CSET32[total & 31]
    if pair != expected:
        return f"{label} check character pair {pair} is wrong; expected {expected}"
    return None


def ai_title(ai: str) -> str:
    """The GS1 data title of ``ai`` (e.g. ``"SERIAL"`` for 21), or ``"unknown AI"``."""
    try:
        return GS1ApplicationIdentifier.extract(ai).data_title
    except ParseError:
        return "unknown AI"
