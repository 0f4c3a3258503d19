"""Programs on the page: each version's rules in words (tiers in major units with their
currency, value tiers as percentages, mode, basis, multipliers, growth, KPI gate,
penalties, whistleblower share); a new version typed as the program document, refused
with the field named next to it; and the preview of a version against a past month
beside what the version in force paid, on the demo network."""

from __future__ import annotations

import copy
import html
import re
from collections.abc import Callable
from typing import Any

import yaml
from click.testing import Result
from sqlalchemy import Engine

import settlement
from tests.finance_web._pages import Browser, words
from web.finance._common import money_text
from web.finance.programs import program_document

FINANCE = settlement.Actor("setup", "finance")

VOLUME: dict[str, Any] = {
    "currency": "EUR",
    "basis": "sell_in",
    "measure": "volume",
    "mode": "retroactive",
    "tiers": [{"threshold": 1, "rate": "300"}, {"threshold": 40, "rate": "500"}],
    "class_multipliers": {"A": "1.1", "B": "1", "C": "0.9"},
    "default_class": "B",
    "growth": {"rate": "0.02", "new_distributor": "none"},
    "kpi": {"floor": "0.6", "pro_rata": True},
    "penalties": {
        "fine_per_unit": 2000,
        "escalation": ["1", "1.5", "2"],
        "forfeiture": True,
        "whistleblower_share": "0.1",
    },
}
VALUE: dict[str, Any] = {
    "currency": "EUR",
    "basis": "sell_through",
    "measure": "value",
    "mode": "incremental",
    "tiers": [{"threshold": 0, "rate": "0.02"}, {"threshold": 1_000_000, "rate": "0.035"}],
}


def test_a_version_reads_in_words(engine: Engine, browser: Callable[..., Browser]) -> None:
    settlement.create_program(engine, "VOL", "Volume rebate", FINANCE)
    settlement.add_program_version(engine, "VOL", "2026-01", None, VOLUME, FINANCE)
    settlement.create_program(engine, "VAL", "Value rebate", FINANCE)
    settlement.add_program_version(engine, "VAL", "2026-01", "2026-06", VALUE, FINANCE)
    reader = browser("auditor")
    vol = words(reader.text("/finance/programs/VOL"))
    # volume rates are minor units per unit: 300 cents = EUR 3.00, 500 cents = EUR 5.00
    assert "1 unit to 39 units EUR 3.00 per unit" in vol
    assert "from 40 units EUR 5.00 per unit" in vol
    assert "Retroactive: once a threshold is reached" in vol
    assert "Sell-in: units the distributor received from the manufacturer." in vol
    assert (
        "class A × 1.1, class B × 1, class C × 0.9; a distributor without a class counts as class B"
        in vol
    )
    assert "2.0 % of the value grown against the same period a year before" in vol
    assert "No rebate below 60.0 % of the sales target" in vol
    # fine 2000 cents = EUR 20.00; escalation steps per offence within 12 months
    assert "Fine of EUR 20.00 per diverted unit." in vol
    assert "first offence × 1, second offence × 1.5, third offence × 2" in vol
    assert "10.0 % of the fine" in vol
    assert "Version 1" in vol and "in force" in vol

    val = words(reader.text("/finance/programs/VAL"))
    # value thresholds are minor units of value: 1,000,000 cents = EUR 10,000.00
    assert "EUR 0.00 to EUR 9,999.99 2.0 % of value" in val
    assert "from EUR 10,000.00 3.5 % of value" in val
    assert "Incremental: each band" in val
    assert "No growth rebate." in val and "No KPI gate" in val and "No penalties" in val
    listing = words(reader.text("/finance/programs/"))
    assert "VAL Value rebate" in listing and "v1: 2026-01 – 2026-06" in listing


def test_finance_adds_a_version_from_the_document(engine: Engine, finance: Browser) -> None:
    created = finance.post(
        "/finance/programs/", {"code": "VOL", "name": "Volume rebate"}, follow=True
    )
    assert "Program VOL created" in html.unescape(created.get_data(as_text=True))
    start = finance.text("/finance/programs/VOL")
    assert "Save as new version" in start
    doc = program_document("VOL", "Volume rebate", "2026-10", VOLUME)
    saved = finance.post(
        "/finance/programs/VOL/versions", {"document": doc, "period": "2026-09"}, follow=True
    )
    assert "New version of VOL saved, in force 2026-10 on." in html.unescape(
        saved.get_data(as_text=True)
    )
    (program,) = [p for p in settlement.list_programs(engine, FINANCE) if p.code == "VOL"]
    (version,) = program.versions
    assert (version.version, version.valid_from, version.valid_to, version.rules) == (
        1,
        "2026-10",
        None,
        VOLUME,
    )
    assert version.created_by == "fiona"
    # the form now starts from the stored rules, from next month on
    again = finance.text("/finance/programs/VOL")
    textarea = re.search(r'<textarea id="document"[^>]*>(.*?)</textarea>', again, re.S)
    assert textarea is not None
    start = yaml.safe_load(html.unescape(textarea[1]))
    assert start["rules"] == VOLUME and start["valid_from"] > "2026-01"
    assert "/finance/reference/history?kind=programs&amp;key=VOL+v1" in again
    history = words(finance.text("/finance/reference/history?kind=programs&key=VOL v1"))
    assert "fiona Programs VOL v1 created page rules" in history  # kind and action in words
    assert (
        '"tiers": [{"rate": "300", "threshold": 1}' in history and "valid from 2026-10" in history
    )


def test_a_bad_document_is_refused_next_to_the_field(engine: Engine, finance: Browser) -> None:
    settlement.create_program(engine, "VOL", "Volume rebate", FINANCE)
    no_rate = copy.deepcopy(VOLUME)
    del no_rate["tiers"][1]["rate"]
    other = program_document("OTHER", "x", "2026-10", VOLUME)
    for document, why in (
        (
            program_document("VOL", "x", "2026-10", no_rate),
            "rules: program rules: tiers[1]: tier needs 'rate'",
        ),
        (program_document("VOL", "x", "October", VOLUME), "valid_from"),
        ("code: VOL\nname: [unclosed\n", "not valid YAML"),
        (other, "code: the document is for program 'OTHER'; this page adds versions of 'VOL'"),
        (
            program_document("VOL", "x", "2026-10", VOLUME).replace("'0.02'", "0.02"),
            "float",
        ),
    ):
        answer = finance.post("/finance/programs/VOL/versions", {"document": document})
        page = answer.get_data(as_text=True)
        assert answer.status_code == 422, why
        error = re.search(r'<p class="error" id="document-error">([^<]*)</p>', page)
        assert error and why in html.unescape(error[1]), (why, error and error[1])
        assert 'aria-invalid="true"' in page
    (program,) = settlement.list_programs(engine, FINANCE)
    assert program.versions == ()


def test_preview_beside_the_version_in_force(
    engine: Engine, run_cli: Callable[..., Result], browser: Callable[..., Browser]
) -> None:
    assert run_cli("init").exit_code == 0
    made = run_cli(
        "demo", "--units", "200", "--distributors", "4", "--months", "1", "--start", "2026-09"
    )
    assert made.exit_code == 0, made.output
    (program,) = settlement.list_programs(engine, FINANCE)
    current = program.versions[-1].rules
    doubled = copy.deepcopy(current)
    for tier in doubled["tiers"]:
        tier["rate"] = str(2 * int(tier["rate"]))
    expected = settlement.preview_program_version(engine, program.code, doubled, "2026-09", FINANCE)
    assert expected.rows, "the demo's distributors take part in its program"

    manager = browser("channel_manager")  # a reader may preview; nothing is stored
    answer = manager.post(
        f"/finance/programs/{program.code}/preview",
        {
            "document": program_document(program.code, program.name, "2026-10", doubled),
            "period": "2026-09",
        },
    )
    assert answer.status_code == 200
    raw = answer.get_data(as_text=True)
    page = words(raw)
    assert "Preview: had this version been in force in 2026-09" in page
    cells = re.compile(r"<td>([^<]+)</td>\s*" + r'<td class="num">(.*?)</td>\s*' * 3, re.S)
    shown = {m[1]: tuple(words(c).strip() for c in m.groups()[1:]) for m in cells.finditer(raw)}
    for row in expected.rows:
        diff = row.proposed_minor - row.in_force_minor
        assert shown[row.party_code] == (
            money_text(row.proposed_minor, row.currency),
            money_text(row.in_force_minor, row.currency),
            ("+" if diff > 0 else "") + money_text(diff, row.currency),
        ), row
    for ccy, total in expected.proposed_total_by_currency.items():
        was = expected.in_force_total_by_currency.get(ccy, 0)
        assert (
            f"Total {ccy} {money_text(total, ccy)} {money_text(was, ccy)} "
            f"{money_text(total - was, ccy)}"
        ) in page
    # doubled rates pay more than the version in force to everyone who earned a rebate
    assert all(r.proposed_minor > r.in_force_minor for r in expected.rows if r.in_force_minor > 0)
    # the same rules preview to exactly what is in force
    same = settlement.preview_program_version(engine, program.code, current, "2026-09", FINANCE)
    assert [(r.proposed_minor, r.in_force_minor) for r in same.rows] == [
        (r.in_force_minor, r.in_force_minor) for r in same.rows
    ]
    (after,) = settlement.list_programs(engine, FINANCE)
    assert len(after.versions) == len(program.versions)  # previewing stored nothing
    assert "Save as new version" not in page
