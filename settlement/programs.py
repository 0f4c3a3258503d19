"""Rebate programs: rules as JSON, versioned, valid for a span of periods.

A version is never edited: changing a program adds a version, and a run records
the version ids it used, so a posted run can always be recomputed from the rules
it actually applied. Rules are validated when a version is added, so a run never
discovers a typo at month end.

Rules JSON (money in minor units of ``currency``; rates as decimal strings)::

    {"currency": "EUR", "basis": "sell_in" | "sell_through",
     "measure": "volume" | "value", "mode": "retroactive" | "incremental",
     "tiers": [{"threshold": 100, "rate": "50"}, ...],
     "class_multipliers": {"A": "1.1", "B": "1", "C": "0.9"}, "default_class": "B",
     "growth": {"rate": "0.02", "new_distributor": "none" | "all"},        (optional)
     "kpi": {"floor": "0.6", "pro_rata": true},                            (optional)
     "penalties": {"fine_per_unit": 2000, "escalation": ["1", "1.5", "2"],  (optional)
                   "forfeiture": true, "whistleblower_share": "0.1"}}

Volume tiers pay ``rate`` minor units per unit; value tiers pay ``rate`` x value.

Creating a program and adding a version are finance's (or admin's) and audited
(:mod:`settlement.reference_audit`, kind ``programs``). A program file (JSON or
YAML: ``code``, ``name``, ``valid_from``, ``valid_to``, ``rules``) is read by
:func:`load_program_file`; ``hopchain import programs FILE`` applies it.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import yaml
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from settlement.common import Actor, SettlementError, months_of, now_ms
from settlement.models import Program, ProgramVersion
from settlement.reference_audit import Outcome, record_change
from settlement.rules.growth import NEW_DISTRIBUTOR_RULES
from settlement.rules.money import RuleError, to_decimal
from settlement.rules.tiers import MEASURES, MODES, Tier

__all__ = [
    "BASES",
    "PROGRAM_FIELDS",
    "GrowthRule",
    "KpiRule",
    "PenaltyRule",
    "ProgramFile",
    "ProgramFileError",
    "ProgramRules",
    "add_program_version",
    "check_span",
    "create_program",
    "load_program_file",
    "parse_rules",
    "store_program",
    "store_program_version",
    "versions_for_period",
]

BASES = ("sell_in", "sell_through")
_CCY = re.compile(r"^[A-Z]{3}$")
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


@dataclass(frozen=True, slots=True)
class GrowthRule:
    rate: Decimal
    new_distributor: str


@dataclass(frozen=True, slots=True)
class KpiRule:
    floor: Decimal
    pro_rata: bool


@dataclass(frozen=True, slots=True)
class PenaltyRule:
    fine_per_unit: Decimal | int  # minor units; exact Decimal once converted to a party's currency
    escalation: tuple[Decimal, ...]
    forfeiture: bool
    whistleblower_share: Decimal


@dataclass(frozen=True, slots=True)
class ProgramRules:
    currency: str
    basis: str
    measure: str
    mode: str
    tiers: tuple[Tier, ...]
    class_multipliers: dict[str, Decimal]
    default_class: str
    growth: GrowthRule | None
    kpi: KpiRule | None
    penalties: PenaltyRule | None


def _get(raw: Mapping[str, Any], key: str, where: str) -> Any:
    if key not in raw:
        raise RuleError(f"{where}: missing {key!r}")
    return raw[key]


def _choice(raw: Mapping[str, Any], key: str, options: tuple[str, ...], where: str) -> str:
    v = _get(raw, key, where)
    if v not in options:
        raise RuleError(f"{where}: {key} must be one of {options}, got {v!r}")
    return str(v)


def _money(v: Any, what: str) -> int:
    if not isinstance(v, int) or isinstance(v, bool) or v < 0:
        raise RuleError(f"{what} must be integer minor units >= 0, got {v!r}")
    return v


def parse_rules(raw: Mapping[str, Any]) -> ProgramRules:
    """Validate rules JSON; every error names the field at fault."""
    w = "program rules"
    if not isinstance(raw, Mapping):
        raise RuleError(f"{w} must be a JSON object")
    ccy = _get(raw, "currency", w)
    if not isinstance(ccy, str) or not _CCY.match(ccy):
        raise RuleError(f"{w}: currency must be an ISO 4217 code like 'EUR', got {ccy!r}")
    tiers_raw = _get(raw, "tiers", w)
    if not isinstance(tiers_raw, list) or not tiers_raw:
        raise RuleError(f"{w}: tiers must be a non-empty list")
    tiers = tuple(Tier.parse(t, f"{w}: tiers[{i}]") for i, t in enumerate(tiers_raw))
    for a, b in itertools.pairwise(tiers):
        if b.threshold <= a.threshold:
            raise RuleError(f"{w}: tier thresholds must increase ({a.threshold}, {b.threshold})")
    mult_raw = raw.get("class_multipliers", {"A": "1", "B": "1", "C": "1"})
    if not isinstance(mult_raw, Mapping) or not set(mult_raw) >= {"A", "B", "C"}:
        raise RuleError(f"{w}: class_multipliers needs A, B and C")
    mult = {str(k): to_decimal(v, f"{w}: class_multipliers.{k}") for k, v in mult_raw.items()}
    default_class = str(raw.get("default_class", "B"))
    if default_class not in mult:
        raise RuleError(f"{w}: default_class {default_class!r} has no multiplier")
    growth = None
    if raw.get("growth") is not None:
        g = raw["growth"]
        growth = GrowthRule(
            to_decimal(_get(g, "rate", f"{w}: growth"), f"{w}: growth.rate"),
            _choice(g, "new_distributor", NEW_DISTRIBUTOR_RULES, f"{w}: growth"),
        )
    kpi = None
    if raw.get("kpi") is not None:
        k = raw["kpi"]
        floor = to_decimal(_get(k, "floor", f"{w}: kpi"), f"{w}: kpi.floor")
        if not 0 <= floor <= 1:
            raise RuleError(f"{w}: kpi.floor must be between 0 and 1, got {floor}")
        kpi = KpiRule(floor, bool(k.get("pro_rata", True)))
    penalties = None
    if raw.get("penalties") is not None:
        p = raw["penalties"]
        steps = p.get("escalation", ["1"])
        if not isinstance(steps, list) or not steps:
            raise RuleError(f"{w}: penalties.escalation must be a non-empty list")
        share = to_decimal(p.get("whistleblower_share", "0"), f"{w}: whistleblower_share")
        if not 0 <= share <= 1:
            raise RuleError(f"{w}: penalties.whistleblower_share must be in [0, 1], got {share}")
        penalties = PenaltyRule(
            _money(_get(p, "fine_per_unit", f"{w}: penalties"), f"{w}: penalties.fine_per_unit"),
            tuple(to_decimal(s, f"{w}: penalties.escalation") for s in steps),
            bool(p.get("forfeiture", True)),
            share,
        )
    return ProgramRules(
        currency=ccy,
        basis=_choice(raw, "basis", BASES, w),
        measure=_choice(raw, "measure", MEASURES, w),
        mode=_choice(raw, "mode", MODES, w),
        tiers=tiers,
        class_multipliers=mult,
        default_class=default_class,
        growth=growth,
        kpi=kpi,
        penalties=penalties,
    )


def store_program(
    s: Session, actor: Actor, code: str, name: str, source: str
) -> tuple[Outcome, int]:
    """Create program ``code`` in ``s``, or rename it; returns the outcome and its id."""
    p = s.scalar(select(Program).where(Program.code == code))
    if p is None:
        p = Program(code=code, name=name)
        s.add(p)
        s.flush()
        record_change(s, "programs", code, "create", actor, None, {"name": name}, source)
        return "created", p.id
    if p.name == name:
        return "unchanged", p.id
    record_change(s, "programs", code, "update", actor, {"name": p.name}, {"name": name}, source)
    p.name = name
    return "updated", p.id


def create_program(
    engine: Engine, code: str, name: str, actor: Actor, *, source: str = "page"
) -> int:
    """A new rebate program (no versions yet); refuses an existing ``code``. Returns its id."""
    actor.require("finance", "admin", action="create rebate programs")
    if not code.strip():
        raise SettlementError.said("program_code_missing", "code: a program needs a code")
    if not name.strip():
        raise SettlementError.said("program_name_missing", "name: a program needs a name")
    with Session(engine) as s, s.begin():
        if s.scalar(select(Program.id).where(Program.code == code)) is not None:
            raise SettlementError.said(
                "program_exists", "code: program %(code)s already exists", code=repr(code)
            )
        return store_program(s, actor, code, name.strip(), source)[1]


def check_span(valid_from: str, valid_to: str | None) -> None:
    """``valid_from``/``valid_to`` are YYYY-MM months, in order (SettlementError naming one)."""
    for label, month in (("valid_from", valid_from), ("valid_to", valid_to)):
        if month is not None and not _MONTH.match(month):
            raise SettlementError.said(
                "program_month",
                "%(field)s: must be a YYYY-MM month, got %(value)s",
                field=label,
                value=repr(month),
            )
    if valid_to is not None and valid_to < valid_from:
        raise SettlementError.said(
            "program_span",
            "valid_to: %(valid_to)s is before valid_from %(valid_from)s",
            valid_to=valid_to,
            valid_from=valid_from,
        )


def _canonical(rules: Mapping[str, Any]) -> str:
    return json.dumps(rules, sort_keys=True, separators=(",", ":"))


def store_program_version(
    s: Session,
    actor: Actor,
    program_code: str,
    valid_from: str,
    valid_to: str | None,
    rules: Mapping[str, Any],
    source: str,
    *,
    skip_same: bool,
) -> tuple[Outcome, int]:
    """Add the next version of a program in ``s`` (rules already validated). With
    ``skip_same``, rules and span equal to the latest version's are ``unchanged``."""
    pid = s.scalar(select(Program.id).where(Program.code == program_code))
    if pid is None:
        raise SettlementError.said(
            "no_program_code", "code: no program %(code)s", code=repr(program_code)
        )
    latest = s.scalar(
        select(ProgramVersion)
        .where(ProgramVersion.program_id == pid)
        .order_by(ProgramVersion.version.desc())
        .limit(1)
    )
    text = _canonical(rules)
    if (
        skip_same
        and latest is not None
        and (latest.valid_from, latest.valid_to, latest.rules_json) == (valid_from, valid_to, text)
    ):
        return "unchanged", latest.id
    pv = ProgramVersion(
        program_id=pid,
        version=(latest.version if latest else 0) + 1,
        valid_from=valid_from,
        valid_to=valid_to,
        rules_json=text,
        created_ms=now_ms(),
        created_by=actor.username,
    )
    s.add(pv)
    s.flush()
    after = {"valid_from": valid_from, "valid_to": valid_to, "rules": json.loads(text)}
    record_change(
        s, "programs", f"{program_code} v{pv.version}", "create", actor, None, after, source
    )
    return "created", pv.id


def add_program_version(
    engine: Engine,
    program_code: str,
    valid_from: str,
    valid_to: str | None,
    rules: Mapping[str, Any],
    actor: Actor,
    *,
    source: str = "page",
) -> int:
    """Add the next version of a program; returns its id (what runs record).

    Raises :class:`RuleError` (rules) or :class:`SettlementError` naming the field.
    """
    actor.require("finance", "admin", action="change rebate programs")
    check_span(valid_from, valid_to)
    parse_rules(rules)
    with Session(engine) as s, s.begin():
        return store_program_version(
            s, actor, program_code, valid_from, valid_to, rules, source, skip_same=False
        )[1]


@dataclass(frozen=True, slots=True)
class ProgramFile:
    """A program file's content: the program and the version it adds."""

    code: str
    name: str
    valid_from: str
    valid_to: str | None
    rules: dict[str, Any]
    format: str  # json | yaml


PROGRAM_FIELDS = ("code", "name", "valid_from", "valid_to", "rules")


def load_program_file(filename: str, data: bytes) -> ProgramFile:
    """Read a program file: a JSON or YAML object with ``code``, ``name``, ``valid_from``
    and ``valid_to`` (YYYY-MM; ``valid_to`` may be null or absent: open-ended) and
    ``rules`` (see this module's docstring). JSON when the text starts with ``{``,
    else YAML (YAML 1.1 safe loader; numbers that are rates should be quoted, floats
    are refused). Raises :class:`ProgramFileError` with ``field`` set (``rules`` errors
    read ``rules: program rules: tiers[0]...``).
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ProgramFileError(None, "the file is not UTF-8 text") from None
    fmt = "json" if text.lstrip().startswith("{") or filename.lower().endswith(".json") else "yaml"
    try:
        raw = json.loads(text) if fmt == "json" else yaml.safe_load(text)
    except json.JSONDecodeError as exc:
        raise ProgramFileError(None, f"not valid JSON: {exc.msg} at line {exc.lineno}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "cannot be read"
        raise ProgramFileError(None, f"not valid YAML: {problem}{where}") from None
    if not isinstance(raw, dict):
        raise ProgramFileError(
            None, "the file must hold one object with " + ", ".join(PROGRAM_FIELDS)
        )
    unknown = sorted(str(k) for k in raw if k not in PROGRAM_FIELDS)
    if unknown:
        raise ProgramFileError(
            unknown[0], f"unknown field; a program file has {', '.join(PROGRAM_FIELDS)}"
        )
    for name in ("code", "name", "valid_from", "rules"):
        if raw.get(name) in (None, ""):
            raise ProgramFileError(name, "is missing")
    for name in ("code", "name", "valid_from"):
        if not isinstance(raw[name], str):
            raise ProgramFileError(name, f"must be text, got {raw[name]!r} (quote it)")
    valid_to = raw.get("valid_to")
    if valid_to is not None and not isinstance(valid_to, str):
        raise ProgramFileError("valid_to", f"must be text or null, got {valid_to!r} (quote it)")
    try:
        check_span(raw["valid_from"], valid_to)
    except SettlementError as exc:
        field, _, message = str(exc).partition(": ")
        raise ProgramFileError(
            field, message, message_id=exc.message_id, values=exc.values
        ) from None
    rules = raw["rules"]
    if not isinstance(rules, dict):
        raise ProgramFileError("rules", "must be an object (currency, basis, measure, tiers...)")
    try:
        parse_rules(rules)
    except (RuleError, TypeError, AttributeError) as exc:
        raise ProgramFileError("rules", str(exc) or "are not valid program rules") from None
    return ProgramFile(
        raw["code"].strip(), raw["name"].strip(), raw["valid_from"], valid_to, rules, fmt
    )


class ProgramFileError(SettlementError):
    """A program file that cannot be loaded; ``field`` names the field (None: the file)."""

    def __init__(
        self,
        field: str | None,
        message: str,
        *,
        message_id: str = "",
        values: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(
            f"{field}: {message}" if field else message, message_id=message_id, values=values
        )
        self.field = field
        self.message = message


def versions_for_period(s: Session, period: str) -> list[tuple[str, ProgramVersion, ProgramRules]]:
    """The latest version of each program valid for every month of ``period``, by code."""
    months = months_of(period)
    first, last = months[0], months[-1]
    out = []
    for prog in s.scalars(select(Program).order_by(Program.code)):
        versions = s.scalars(
            select(ProgramVersion)
            .where(ProgramVersion.program_id == prog.id)
            .order_by(ProgramVersion.version.desc())
        )
        for v in versions:
            if v.valid_from <= first and (v.valid_to is None or v.valid_to >= last):
                out.append((prog.code, v, parse_rules(json.loads(v.rules_json))))
                break
    return out
