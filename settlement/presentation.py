"""Statement lines in words: what a distributor or an auditor reads on the portal, in
the PDF and in the spreadsheets.

A stored line keeps the engine's terms (rule code, basis text with bare minor-unit
numbers, rate as decimal text); :func:`describe_line` turns it into a title, a rate
with its unit, a basis sentence and an amount with its currency. Money is printed
from integer minor units with the currency's ISO 4217 exponent (JPY none, KWD
three), never through floats.

What a stored rate means depends on the rule (see ``settlement.rules``):

- volume tiers (and a lost volume tier, ``cliff``), fines and fine corrections:
  minor units of the statement's currency per unit (``"300"`` -> ``EUR 3.00 per unit``);
- value tiers, growth, forfeiture and its correction: a fraction of value
  (``"0.02"`` -> ``2.0 % of value``);
- class multipliers: a factor (``"1.1"`` -> ``× 1.1``);
- KPI gate and whistleblower reward: the fraction of the rebate kept, or of the
  penalty paid out;
- true-ups, adjustments, deposit deductions and balances brought forward have no
  rate (stored ``"1"``), shown as a dash.

Every text is written in the language of a :class:`settlement.wording.Words`
(``words=``; English without one): its messages through the catalogues, its
numbers, money and percentages as the locale writes them. In English only the
Latin-1 characters that PDF's standard fonts carry are used (``×``, ``–``, ``—``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from settlement.wording import ENGLISH, N_, Words

__all__ = [
    "NO_RATE",
    "RATE_EXTRA_PLACES",
    "RULE_TITLES",
    "SOURCE_LINE",
    "LineText",
    "describe_line",
    "describe_ref",
    "format_amount",
    "format_money",
    "format_money_rate",
    "format_percent",
]

#: What a line with no meaningful rate shows in the rate column.
NO_RATE = "—"

#: Every rule code a statement line can carry, in words (the title of its line).
#: Tier titles depend on the program's measure; the ``{measure}`` slot is "Volume"
#: or "Value".
RULE_TITLES: dict[str, str] = {
    "tier_retroactive": "{measure} rebate at the tier reached",
    "tier_incremental": "{measure} rebate per band",
    "tier_cliff": "{measure} rebate tier lost to diverted units",
    "cliff": "{measure} rebate tier lost to diverted units",
    "class_multiplier": N_("Partner class multiplier"),
    "growth": N_("Growth rebate"),
    "kpi_gate": N_("Sales target gate"),
    "partial_trueup": N_("Rebate paid by earlier partial runs"),
    "fine": N_("Diversion fine"),
    "fine_correction": N_("Diversion fine correction"),
    "forfeiture": N_("Rebate forfeited on diverted units"),
    "forfeiture_correction": N_("Rebate forfeiture correction"),
    "whistleblower_reward": N_("Whistleblower reward"),
    "adjustment": N_("Adjustment"),
    "deposit_deduction": N_("Taken from the deposit"),
    "balance_brought_forward": N_("Balance brought forward"),
}

#: The tier titles per measure, whole (a translation cannot splice "{measure}" in).
_TIER_TITLES: dict[tuple[str, str], str] = {
    ("volume", "{measure} rebate at the tier reached"): N_("Volume rebate at the tier reached"),
    ("value", "{measure} rebate at the tier reached"): N_("Value rebate at the tier reached"),
    ("volume", "{measure} rebate per band"): N_("Volume rebate per band"),
    ("value", "{measure} rebate per band"): N_("Value rebate per band"),
    ("volume", "{measure} rebate tier lost to diverted units"): N_(
        "Volume rebate tier lost to diverted units"
    ),
    ("value", "{measure} rebate tier lost to diverted units"): N_(
        "Value rebate tier lost to diverted units"
    ),
}

_BASES = {"sell_in": N_("sold in"), "sell_through": N_("sold through")}


@dataclass(frozen=True, slots=True)
class LineText:
    """One statement line as people read it; every figure carries its unit."""

    title: str
    rate_text: str
    basis_text: str
    amount_text: str


# ------------------------------------------------------------------ numbers


def format_amount(amount_minor: int, currency: str) -> str:
    """The amount alone, exact with the currency's decimals and thousands grouped:
    ``123456, "EUR"`` -> ``"1,234.56"``; ``-1500, "JPY"`` -> ``"-1,500"`` (English;
    another language: :meth:`settlement.wording.Words.amount`)."""
    return ENGLISH.amount(amount_minor, currency)


def format_money(amount_minor: int, currency: str) -> str:
    """``123456, "EUR"`` -> ``"EUR 1,234.56"``; ``-1500, "JPY"`` -> ``"JPY -1,500"``."""
    return ENGLISH.money(amount_minor, currency)


#: Extra decimals a money rate shows beyond the currency's minor unit (hundredths of
#: a cent: a rate converted from another currency is exact only to that).
RATE_EXTRA_PLACES = 2


def format_money_rate(
    minor: Decimal, currency: str, extra_places: int | None = RATE_EXTRA_PLACES
) -> str:
    """A money rate in minor units that may hold fractions of one (a tier rate
    converted from the program's currency), with the currency's decimals and up to
    ``extra_places`` more, rounded half-even beyond those:
    ``Decimal("312.5"), "EUR"`` -> ``"EUR 3.125"``, ``Decimal("300"), "JPY"`` ->
    ``"JPY 300"``, ``Decimal("543.4782608"), "USD"`` -> ``"USD 5.4348"``.
    ``extra_places=None`` shows every decimal the rate has (a rule as written)."""
    return ENGLISH.money_rate(minor, currency, extra_places)


def format_percent(fraction: Decimal, max_places: int | None = 4, *, grouped: bool = True) -> str:
    """``Decimal("0.02")`` -> ``"2.0 %"``, ``Decimal("0.0125")`` -> ``"1.25 %"``: exact up
    to ``max_places`` decimals of the percentage (a stored rate has at most 6 decimals
    of the fraction), rounded half-even beyond; ``None``: every decimal. ``grouped``
    separates thousands (``"1,250.0 %"``; without: ``"1250.0 %"``)."""
    return ENGLISH.percent(fraction, max_places, grouped=grouped)


def _decimal(text: str) -> Decimal | None:
    try:
        d = Decimal(text)
    except (InvalidOperation, ValueError):
        return None
    return d if d.is_finite() else None


# ------------------------------------------------------------------ basis sentences

_QTY = r"(?P<qty>-?\d+) (?P<word>units|value)"
_TIER_BELOW = re.compile(rf"^{_QTY}: below first threshold (?P<t>\d+)$")
_TIER_REACHED = re.compile(
    rf"^{_QTY} \(tier from (?P<t>\d+)(?:, reached with the (?P<x>\d+) diverted (?:units|value))?\)$"
)
_TIER_BAND = re.compile(rf"^{_QTY} in band (?P<lo>\d+)(?:-(?P<hi>\d+)|\+)$")
_NET = re.compile(
    r"^(?P<basis>sell_in|sell_through) (?P<g>-?\d+) - returned (?P<r>-?\d+)"
    r" - diverted (?P<x>-?\d+) = (?P<n>-?\d+) units$"
)
_CLIFF = re.compile(
    r"^(?P<x>\d+) diverted (?P<word>units|value) excluded: (?P<n>\d+) (?:units|value) fell from"
    r" the tier from (?P<hi>\d+) to (?:the tier from (?P<lo>\d+)|no tier)$"
)
_CLASS = re.compile(r"^class (?P<c>\S+) on tier rebate (?P<t>-?\d+)$")
_GROWTH = re.compile(r"^(?P<c>-?\d+) value vs (?P<p>-?\d+) a year before: \+(?P<g>-?\d+)$")
_GROWTH_NONE = re.compile(r"^new distributor: (?P<v>-?\d+) value, no baseline$")
_GROWTH_ALL = re.compile(r"^new distributor: all (?P<g>-?\d+) value counts as growth$")
_KPI = re.compile(
    r"^(?P<a>-?\d+) of target (?P<t>\d+) (?P<word>units|value)"
    r"(?:, (?P<how>below floor (?P<floor>[\d.]+)|pro rata|target met))?$"
)
_TRUEUP = re.compile(r"^rebate already paid by partial runs: (?P<n>-?\d+)$")
_FINE = re.compile(
    r"^(?P<u>\d+) diverted units, (?P<label>.+?), (?:no earlier incident|(?P<p>\d+) earlier"
    r" incidents?) in 12 months \(x(?P<m>[\d.]+)\)(?:: now (?P<due>\d+), charged before"
    r" (?P<before>\d+))?$"
)
# lines stored before incidents were counted across alerts
_FINE_V1 = re.compile(
    r"^(?P<u>\d+) diverted units, alert (?P<a>\S+), (?P<p>\d+) prior offences in 12 months"
    r" \(x(?P<m>[\d.]+)\)$"
)
_REFUND = re.compile(
    r"^(?P<ref>\S+) no longer stands: (?:fines|forfeited rebate) charged for (?P<u>\d+) units"
    r" in (?P<period>\S+) given back$"
)
_FORFEIT = re.compile(
    r"^rebate paid on (?P<u>\d+) diverted units \(statement:(?P<st>\d+):(?P<pos>\d+)\),"
    r" (?P<label>.+)$"
)
_FORFEIT_V1 = re.compile(
    r"^rebate on (?P<u>\d+) diverted units \(value (?P<v>-?\d+)\) sold in earlier,"
    r" alert (?P<a>\S+)$"
)
_REWARD = re.compile(r"^report (?P<r>\S+): share of penalty (?P<p>-?\d+)$")
_DEPOSIT = re.compile(r"^statement at (?P<t>-?\d+), deposit (?P<b>-?\d+) -> (?P<a>-?\d+)$")
_BROUGHT = re.compile(r"^owed from earlier statements: (?P<n>-?\d+)$")
#: "statement:12:3" in a stored basis: line position 3 of statement 12
SOURCE_LINE = re.compile(r"\(statement:(?P<st>\d+):(?P<pos>\d+)\)")


@dataclass(frozen=True, slots=True)
class _Ctx:
    rule: str
    basis: str
    rate: str
    currency: str
    measure: str | None
    w: Words

    def money(self, minor: str | int) -> str:
        return self.w.money(int(minor), self.currency)

    def units(self, n: str | int) -> str:
        return self.w.units(int(n))

    def qty(self, n: str, measure: str) -> str:
        if measure == "volume":
            return self.units(n)
        return self.w._("%(amount)s of value", amount=self.money(n))

    def bound(self, n: str, measure: str) -> str:
        """A threshold or target: units, or an amount of value."""
        return self.units(n) if measure == "volume" else self.money(n)

    def measure_of(self) -> str | None:
        """The program's measure, else what a tier or cliff basis says it counted."""
        if self.measure in ("volume", "value"):
            return self.measure
        m = re.match(r"^-?\d+ (?:diverted )?(units|value)\b", self.basis)
        if m:
            return "volume" if m.group(1) == "units" else "value"
        return None


def _ref_words(ref: str, w: Words = ENGLISH) -> str:
    """``alert:12`` -> ``alert 12`` inside a sentence."""
    return describe_ref(ref, w) or ref


def _tier_basis(c: _Ctx) -> str:
    head, _, tail = c.basis.partition("; ")
    measure = c.measure_of() or "volume"
    w = c.w
    if m := _TIER_BELOW.match(head):
        text = w._(
            "%(quantity)s: below the first threshold of %(threshold)s, no rebate",
            quantity=c.qty(m["qty"], measure),
            threshold=c.bound(m["t"], measure),
        )
    elif m := _TIER_REACHED.match(head):
        if m["x"]:
            text = w._(
                "%(quantity)s at the tier from %(threshold)s, reached with the diverted "
                "%(diverted)s",
                quantity=c.qty(m["qty"], measure),
                threshold=c.bound(m["t"], measure),
                diverted=c.qty(m["x"], measure),
            )
        else:
            text = w._(
                "%(quantity)s at the tier from %(threshold)s",
                quantity=c.qty(m["qty"], measure),
                threshold=c.bound(m["t"], measure),
            )
    elif m := _TIER_BAND.match(head):
        band = (
            w._(
                "%(low)s to %(high)s", low=c.bound(m["lo"], measure), high=c.bound(m["hi"], measure)
            )
            if m["hi"]
            else w._("%(low)s and up", low=c.bound(m["lo"], measure))
        )
        text = w._(
            "%(quantity)s in the band from %(band)s", quantity=c.qty(m["qty"], measure), band=band
        )
    else:
        text = head
    if not tail:
        return text
    n = _NET.match(tail)
    if n is None:
        return f"{text}; {tail}"
    return w._(
        "%(text)s; %(units)s %(basis)s, less %(returned)s returned and %(diverted)s diverted "
        "= %(net)s net",
        text=text,
        units=c.units(n["g"]),
        basis=w._(_BASES[n["basis"]]),
        returned=w.integer(int(n["r"])),
        diverted=w.integer(int(n["x"])),
        net=c.units(n["n"]),
    )


def _per_unit_of(c: _Ctx, rate: Decimal) -> str:
    return c.w._("%(rate)s per unit", rate=c.w.money_rate(rate, c.currency))


def _of_value(c: _Ctx, rate: Decimal) -> str:
    return c.w._("%(percent)s of value", percent=c.w.percent(rate))


def _tier_rate(c: _Ctx) -> str:
    rate = _decimal(c.rate)
    if rate is None:
        return c.rate
    if c.measure_of() == "value":
        return _of_value(c, rate)
    return _per_unit_of(c, rate)


def _per_unit(c: _Ctx) -> str:
    if _REFUND.match(c.basis):
        return NO_RATE
    rate = _decimal(c.rate)
    return c.rate if rate is None else _per_unit_of(c, rate)


#: Rates that are a share of something, in words (``{percent} of value``).
_SHARES = {
    "value": N_("%(percent)s of value"),
    "rebate": N_("%(percent)s of the rebate kept"),
    "penalty": N_("%(percent)s of the penalty"),
}


def _of(what: str) -> Callable[[_Ctx], str]:
    def rate_text(c: _Ctx) -> str:
        rate = _decimal(c.rate)
        return c.rate if rate is None else c.w._(_SHARES[what], percent=c.w.percent(rate))

    return rate_text


def _forfeit_rate(c: _Ctx) -> str:
    """Old lines: a fraction of value. Newer ones: what the clawed-back line paid per
    unit (volume programs) or per unit of value (value programs)."""
    if _REFUND.match(c.basis):
        return NO_RATE
    rate = _decimal(c.rate)
    if rate is None:
        return c.rate
    if _FORFEIT_V1.match(c.basis) or c.measure == "value":
        return _of_value(c, rate)
    if c.measure == "volume":
        return _per_unit_of(c, rate)
    return c.w._("rate %(rate)s", rate=c.rate)


def _factor(c: _Ctx) -> str:
    rate = _decimal(c.rate)
    return c.rate if rate is None else c.w.factor(rate)


def _no_rate(c: _Ctx) -> str:
    return NO_RATE


def _growth_basis(c: _Ctx) -> str:
    w = c.w
    if m := _GROWTH.match(c.basis):
        return w._(
            "%(current)s of value against %(prior)s a year before: %(grown)s grown",
            current=c.money(m["c"]),
            prior=c.money(m["p"]),
            grown=c.money(m["g"]),
        )
    if m := _GROWTH_NONE.match(c.basis):
        return w._(
            "New distributor with %(value)s of value and no sales a year before: "
            "no growth to reward yet",
            value=c.money(m["v"]),
        )
    if m := _GROWTH_ALL.match(c.basis):
        return w._(
            "New distributor: all %(value)s of value counts as growth", value=c.money(m["g"])
        )
    return c.basis


def _kpi_basis(c: _Ctx) -> str:
    m = _KPI.match(c.basis)
    if m is None:
        return c.basis
    w = c.w
    achieved, target = int(m["a"]), int(m["t"])
    measure = "volume" if m["word"] == "units" else "value"
    reached = w.percent(Decimal(max(achieved, 0)) / Decimal(target), 1)
    text = (
        w._(
            "%(achieved)s of a target of %(target)s (%(reached)s reached)",
            achieved=c.units(achieved),
            target=c.units(target),
            reached=reached,
        )
        if measure == "volume"
        else w._(
            "%(achieved)s of a value target of %(target)s (%(reached)s reached)",
            achieved=c.money(achieved),
            target=c.money(target),
            reached=reached,
        )
    )
    how = m["how"] or ""
    if how.startswith("below floor"):
        floor = _decimal(m["floor"]) or Decimal(0)
        return w._(
            "%(text)s: below the floor of %(floor)s, the rebate is withheld",
            text=text,
            floor=w.percent(floor),
        )
    if how == "pro rata":
        return w._("%(text)s: the rebate is paid in proportion", text=text)
    if how == "target met":
        return w._("%(text)s: target met, the whole rebate is paid", text=text)
    return text


def _earlier(w: Words, n: int) -> str:
    if n == 0:
        return w._("no earlier incident")
    return w.ngettext("%(num)s earlier incident", "%(num)s earlier incidents", n) % {
        "num": w.integer(n)
    }


def _refund_basis(c: _Ctx, m: re.Match[str]) -> str:
    ref = _ref_words(m["ref"], c.w)
    values = {"ref": ref[:1].upper() + ref[1:], "units": c.units(m["u"]), "period": m["period"]}
    if c.rule == "fine_correction":
        return c.w._(
            "%(ref)s no longer stands: fines charged for %(units)s in %(period)s given back",
            **values,
        )
    return c.w._(
        "%(ref)s no longer stands: rebate forfeited charged for %(units)s in %(period)s given back",
        **values,
    )


def _fine_basis(c: _Ctx) -> str:
    w = c.w
    if m := _FINE.match(c.basis):
        text = w._(
            "%(units)s diverted, %(label)s; %(earlier)s in the last 12 months, fine %(factor)s",
            units=c.units(m["u"]),
            label=m["label"],
            earlier=_earlier(w, int(m["p"] or 0)),
            factor=w.factor(Decimal(m["m"])),
        )
        if m["due"] is not None:
            text = w._(
                "%(text)s; the fine now stands at %(due)s, %(before)s was charged before",
                text=text,
                due=c.money(m["due"]),
                before=c.money(m["before"]),
            )
        return text
    if m := _FINE_V1.match(c.basis):
        return w._(
            "%(units)s diverted, alert %(alert)s; %(earlier)s in the last 12 months, "
            "fine %(factor)s",
            units=c.units(m["u"]),
            alert=m["a"],
            earlier=_earlier(w, int(m["p"])),
            factor=w.factor(Decimal(m["m"])),
        )
    if m := _REFUND.match(c.basis):
        return _refund_basis(c, m)
    return c.basis


def _forfeit_basis(c: _Ctx) -> str:
    w = c.w
    if m := _FORFEIT.match(c.basis):
        return w._(
            "Rebate paid on %(units)s later diverted, taken back (statement %(statement)s, "
            "line %(line)s), %(label)s",
            units=c.units(m["u"]),
            statement=m["st"],
            line=int(m["pos"]) + 1,
            label=m["label"],
        )
    if m := _FORFEIT_V1.match(c.basis):
        return w._(
            "Rebate on %(units)s worth %(value)s sold in earlier periods and diverted "
            "(alert %(alert)s)",
            units=c.units(m["u"]),
            value=c.money(m["v"]),
            alert=m["a"],
        )
    if m := _REFUND.match(c.basis):
        return _refund_basis(c, m)
    return c.basis


def _sentence(
    pattern: re.Pattern[str], words: Callable[[_Ctx, re.Match[str]], str]
) -> Callable[[_Ctx], str]:
    """A basis writer for one stored shape: ``words`` when ``pattern`` matches, else the
    basis as stored."""

    def basis_text(c: _Ctx) -> str:
        m = pattern.match(c.basis)
        return c.basis if m is None else words(c, m)

    return basis_text


_class_basis = _sentence(
    _CLASS,
    lambda c, m: c.w._(
        "Class %(cls)s on a tier rebate of %(rebate)s", cls=m["c"], rebate=c.money(m["t"])
    ),
)
_trueup_basis = _sentence(
    _TRUEUP,
    lambda c, m: c.w._(
        "Rebate already paid for this period by partial runs: %(amount)s",
        amount=c.money(m["n"]),
    ),
)
_reward_basis = _sentence(
    _REWARD,
    lambda c, m: c.w._(
        "Report %(report)s: a share of the %(penalty)s penalty it led to",
        report=m["r"],
        penalty=c.money(m["p"]),
    ),
)
_deposit_basis = _sentence(
    _DEPOSIT,
    lambda c, m: c.w._(
        "The statement stood at %(total)s; the deposit of %(before)s covers it and is now "
        "%(after)s",
        total=c.money(m["t"]),
        before=c.money(m["b"]),
        after=c.money(m["a"]),
    ),
)
_brought_basis = _sentence(
    _BROUGHT,
    lambda c, m: c.w._("Owed from earlier statements: %(amount)s", amount=c.money(m["n"])),
)


def _cliff_words(c: _Ctx, m: re.Match[str]) -> str:
    measure = "volume" if m["word"] == "units" else "value"
    w = c.w
    values = {
        "diverted": c.qty(m["x"], measure),
        "remaining": c.qty(m["n"], measure),
        "high": c.bound(m["hi"], measure),
    }
    if m["lo"]:
        return w._(
            "Without the diverted %(diverted)s, the remaining %(remaining)s fall from the tier "
            "from %(high)s to the tier from %(low)s",
            low=c.bound(m["lo"], measure),
            **values,
        )
    return w._(
        "Without the diverted %(diverted)s, the remaining %(remaining)s fall from the tier "
        "from %(high)s to no tier",
        **values,
    )


_cliff_basis = _sentence(_CLIFF, _cliff_words)


def _as_stored(c: _Ctx) -> str:
    return c.basis


_Rule = tuple[Callable[[_Ctx], str], Callable[[_Ctx], str]]  # (rate text, basis text)

_RULES: dict[str, _Rule] = {
    "tier_retroactive": (_tier_rate, _tier_basis),
    "tier_incremental": (_tier_rate, _tier_basis),
    "tier_cliff": (_tier_rate, _cliff_basis),
    "cliff": (_tier_rate, _cliff_basis),
    "class_multiplier": (_factor, _class_basis),
    "growth": (_of("value"), _growth_basis),
    "kpi_gate": (_of("rebate"), _kpi_basis),
    "partial_trueup": (_no_rate, _trueup_basis),
    "fine": (_per_unit, _fine_basis),
    "fine_correction": (_per_unit, _fine_basis),
    "forfeiture": (_forfeit_rate, _forfeit_basis),
    "forfeiture_correction": (_forfeit_rate, _forfeit_basis),
    "whistleblower_reward": (_of("penalty"), _reward_basis),
    "adjustment": (_no_rate, _as_stored),
    "deposit_deduction": (_no_rate, _deposit_basis),
    "balance_brought_forward": (_no_rate, _brought_basis),
}


def _fallback_rate(c: _Ctx) -> str:
    return NO_RATE if c.rate.strip() in ("", "1") else c.rate


def describe_line(
    rule: str,
    category: str,
    basis: str,
    rate: str,
    amount_minor: int,
    currency: str,
    measure: str | None = None,
    words: Words = ENGLISH,
) -> LineText:
    """A stored statement line in words.

    ``rule``, ``category``, ``basis`` and ``rate`` are the stored columns;
    ``amount_minor`` is signed minor units of ``currency`` (the statement's);
    ``measure`` (``"volume"`` or ``"value"``) is the program's, for tier lines —
    without it the tier basis text tells which it counted; ``words`` is the
    language (English by default). A code this module does not know gets its name
    in plain words and its rate and basis as stored, so a new rule is never shown
    as an error; a basis of a shape this module does not know is shown as stored
    (also in another language). Never raises for stored data.
    """
    c = _Ctx(rule, basis, rate, currency, measure, words)
    rate_of, basis_of = _RULES.get(rule, (_fallback_rate, _as_stored))
    template = RULE_TITLES.get(rule)
    if template is None:
        plain = rule.replace("_", " ").strip()
        title = plain[:1].upper() + plain[1:] if plain else category.capitalize() or "Line"
    else:
        measure_word = "value" if c.measure_of() == "value" else "volume"
        title = words._(_TIER_TITLES.get((measure_word, template), template))
    return LineText(title, rate_of(c), basis_of(c), words.money(amount_minor, currency))


#: What a line settles, per kind of reference (``alert:12`` -> "alert 12").
_REF_KINDS = {
    "alert": N_("alert %(key)s"),
    "program": N_("program %(key)s"),
    "adjustment": N_("adjustment %(key)s"),
    "report": N_("report %(key)s"),
    "incident": N_("incident %(key)s"),
    "deposit": N_("deposit %(key)s"),
    "statement": N_("statement %(key)s"),
}


def describe_ref(ref: str, words: Words = ENGLISH) -> str:
    """What a line settles, in words: ``"alert:12"`` -> ``"alert 12"``,
    ``"program:VOLUME-REBATE"`` -> ``"program VOLUME-REBATE"``; ``""`` for lines that
    settle nothing outside the statement (true-up, deposit)."""
    kind, sep, key = ref.partition(":")
    if not sep:
        return ""
    known = _REF_KINDS.get(kind)
    if known is None:
        return f"{kind.replace('_', ' ')} {key}"
    return words._(known, key=key)
