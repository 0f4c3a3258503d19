"""The language of a statement's documents: its words and how it writes numbers,
money and dates.

A :class:`Words` carries a Babel locale and the translation functions of that
language. The engine never imports a translation framework: the web layer builds
a :class:`Words` from its gettext catalogues (``web/translations``) and passes it
to :func:`settlement.statement_pdf` and the other exports; without one, documents
are in English (the deployment's default), exactly as before languages existed.

Messages are marked where they are written (``words._("...")``,
``words.ngettext(...)``, :func:`N_`) and extracted into the shared catalogues by
``make i18n-extract`` (``babel.cfg`` reads ``settlement/``). Values are named
(``%(amount)s``) so a translation can put them in its own order.

Numbers follow the locale's CLDR symbols (Babel): ``1,234.56`` (en, zh),
``1.234,56`` (es). Money always carries its ISO 4217 code where the locale puts
the currency sign: ``EUR 1,234.56`` (en, zh), ``1.234,56 EUR`` (es); it is exact
to the currency's minor unit, from integer minor units, never through floats.
Dates use the locale's medium date (``2026年10月3日``, ``3 oct 2026``), except plain
``en``, whose CLDR default (``Oct 3, 2026``, and ``10/3/26`` short) is American:
``en`` documents keep ISO 8601 (``2026-10-03``), which every reader reads alike.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from babel import Locale
from babel.dates import format_date
from babel.numbers import parse_pattern

from ledger.times import format_day, to_datetime
from settlement.rules.money import minor_exponent

__all__ = [
    "DEFAULT_LOCALE",
    "DOCUMENT_LOCALES",
    "ENGLISH",
    "N_",
    "Words",
    "supported_locale",
]

#: The language of documents whose party has none (``parties.locale`` NULL).
DEFAULT_LOCALE = "en"

#: The languages documents are written in: Babel locale codes, one catalogue each
#: (the same as the pages', ``web.i18n.SUPPORTED``; a test keeps the two equal).
DOCUMENT_LOCALES: tuple[str, ...] = ("en", "zh_Hans_CN", "es")


def N_(message: str) -> str:
    """Mark ``message`` for the catalogue where it is defined; it is translated where
    it is used (``words._(message)``)."""
    return message


def supported_locale(code: str | None) -> str | None:
    """The supported locale of a code as people write it, else None: ``"zh_Hans_CN"``,
    ``"zh-CN"``, ``"zh"`` -> ``"zh_Hans_CN"``; ``"es_ES"``, ``"ES"`` -> ``"es"``;
    ``"fr"``, ``""``, None -> None. Matching is by the primary language subtag
    (BCP 47), as the pages' language switcher does."""
    if not code or not code.strip():
        return None
    code = code.strip()
    if code in DOCUMENT_LOCALES:
        return code
    primary = code.replace("-", "_").split("_", 1)[0].lower()
    return next((loc for loc in DOCUMENT_LOCALES if loc.split("_", 1)[0] == primary), None)


def _same(message: str) -> str:
    return message


def _english_plural(singular: str, plural: str, n: int) -> str:
    return singular if n == 1 else plural


def _no_context(context: str, message: str) -> str:
    return message


@dataclass(frozen=True, slots=True)
class Words:
    """One language of documents.

    ``locale`` is a Babel locale code (``"zh_Hans_CN"``); ``gettext`` and
    ``ngettext`` translate a message (and a plural by its count), ``pgettext`` a
    message in a context (``pgettext("statement line", "Rate")``: the same English
    word reads 费率 there and 汇率 as an exchange rate), as
    :class:`babel.support.Translations` does; the defaults leave English as it is.
    Call ``words.pgettext(...)`` by that name so ``make i18n-extract`` finds it.
    """

    locale: str = DEFAULT_LOCALE
    gettext: Callable[[str], str] = _same
    ngettext: Callable[[str, str, int], str] = _english_plural
    pgettext: Callable[[str, str], str] = _no_context
    _babel: Locale = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_babel", Locale.parse(self.locale))

    # -------------------------------------------------------------- messages

    def _(self, message: str, **values: Any) -> str:
        """``message`` translated, its ``%(name)s`` slots filled from ``values``."""
        text = self.gettext(message)
        return text % values if values else text

    def units(self, n: int) -> str:
        """``1`` -> ``"1 unit"``, ``1500`` -> ``"1,500 units"`` (es ``"1.500 unidades"``)."""
        return self.ngettext("%(num)s unit", "%(num)s units", n) % {"num": self.integer(n)}

    # -------------------------------------------------------------- numbers

    def decimal(self, value: Decimal, places: int, *, grouped: bool = True) -> str:
        """``value`` rounded half-even to ``places`` decimals, written as the locale
        writes numbers: ``Decimal("1234.5"), 2`` -> ``"1,234.50"`` (en), ``"1.234,50"`` (es)."""
        q = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)
        pattern = parse_pattern(self._babel.decimal_formats[None].pattern)
        pattern.frac_prec = (places, places)
        return str(pattern.apply(q, self._babel, group_separator=grouped))

    def integer(self, n: int) -> str:
        """``1500`` -> ``"1,500"`` (en), ``"1.500"`` (es)."""
        return self.decimal(Decimal(n), 0)

    def amount(self, amount_minor: int, currency: str) -> str:
        """The amount alone, exact to the currency's minor unit: ``123456, "EUR"`` ->
        ``"1,234.56"`` (en); ``-1500, "JPY"`` -> ``"-1,500"``."""
        exp = minor_exponent(currency)
        return self.decimal(Decimal(amount_minor).scaleb(-exp), exp)

    def _with_code(self, digits: str, currency: str) -> str:
        pattern = self._babel.currency_formats["standard"].pattern
        code_first = pattern.split(";", 1)[0].lstrip().startswith("¤")
        return f"{currency} {digits}" if code_first else f"{digits} {currency}"

    def money(self, amount_minor: int, currency: str) -> str:
        """The amount with its ISO 4217 code where the locale puts the currency:
        ``"EUR 1,234.56"`` (en, zh), ``"1.234,56 EUR"`` (es)."""
        return self._with_code(self.amount(amount_minor, currency), currency)

    def money_rate(self, minor: Decimal, currency: str, extra_places: int | None = 2) -> str:
        """A money rate in minor units that may hold fractions of one, with the
        currency's decimals and up to ``extra_places`` more (every one with None):
        ``Decimal("312.5"), "EUR"`` -> ``"EUR 3.125"``."""
        exp = minor_exponent(currency)
        major = minor.scaleb(-exp)
        limit = None if extra_places is None else exp + extra_places
        return self._with_code(self.decimal(major, places(major, exp, limit)), currency)

    def percent(
        self, fraction: Decimal, max_places: int | None = 4, *, grouped: bool = True
    ) -> str:
        """``Decimal("0.02")`` -> ``"2.0 %"``; exact up to ``max_places`` decimals of the
        percentage (every one with None), rounded half-even beyond."""
        pct = fraction * 100
        return f"{self.decimal(pct, places(pct, 1, max_places), grouped=grouped)} %"

    def factor(self, value: Decimal) -> str:
        """A multiplier as written: ``Decimal("1.10")`` -> ``"× 1.1"`` (es ``"× 1,1"``)."""
        exponent = value.normalize().as_tuple().exponent
        assert isinstance(exponent, int)
        return f"× {self.decimal(value, max(0, -exponent), grouped=False)}"

    # -------------------------------------------------------------- dates

    def day(self, at_ms: int) -> str:
        """The UTC day of ``at_ms`` in the locale's medium date (ISO 8601 for ``en``)."""
        if self.locale == DEFAULT_LOCALE:
            return format_day(at_ms)
        moment = to_datetime(at_ms)
        if moment is None:
            return format_day(at_ms)
        return str(format_date(date(moment.year, moment.month, moment.day), "medium", self._babel))


def places(value: Decimal, at_least: int, at_most: int | None) -> int:
    """Decimal places that show ``value`` exactly, but at least ``at_least`` and at most
    ``at_most`` (None: no limit)."""
    exponent = value.normalize().as_tuple().exponent
    assert isinstance(exponent, int)  # finite values only reach here
    n = max(at_least, -exponent)
    return n if at_most is None else min(n, max(at_least, at_most))


#: English documents (the deployment default): messages as written.
ENGLISH = Words()
