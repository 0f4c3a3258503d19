"""What a credit alert says (issue 13): each kind's sentence with its figures
(money from minor units with its currency), never failing on figures of another
shape; and the alerts the credit gate raises are mailed by the next check."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from click.testing import Result
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from notify import credit_alert_sentence
from notify.models import OutboxMessage
from risk.credit_alerts import ALERT_KINDS, raise_alert
from settlement.wording import Words
from tests.credit._watch_world import make_watch

EN = Words()


def test_each_kind_says_its_figures() -> None:
    # 250000 minor EUR = EUR 2,500.00; 90000 = EUR 900.00; 300000 = EUR 3,000.00
    gate = {"exposure_minor": 250_000, "value_minor": 90_000, "limit_minor": 300_000,
            "currency": "EUR", "seqs": [7], "note": ""}  # fmt: skip
    assert credit_alert_sentence("credit_shipment", gate, "D1", EN) == (
        "Shipments on credit to D1 worth EUR 900.00 took its exposure of EUR 2,500.00"
        " over its credit limit of EUR 3,000.00."
    )
    assert "yet was shipped EUR 900.00 on credit" in credit_alert_sentence(
        "cash_only_shipment", gate, "D1", EN
    )
    # 95 % = 950 per mille of a JPY limit: yen have no minor digits
    used = {"threshold": 90, "exposure_minor": 950_000, "limit_minor": 1_000_000,
            "currency": "JPY", "utilisation_permille": 950}  # fmt: skip
    assert credit_alert_sentence("utilisation", used, "D9", EN) == (
        "D9 has used 95.0 % of its credit limit: exposure JPY 950,000 of a limit of"
        " JPY 1,000,000 (threshold 90 %)."
    )
    high = {"why": ["grade CCC"], "level": "high"}
    assert "assessed high risk (grade CCC)" in credit_alert_sentence("high_risk", high, "D1", EN)
    odd = credit_alert_sentence(
        "overdue", {"item": "x", "open_minor": 5, "currency": "EUR"}, "D1", EN
    )
    assert odd.startswith("Item overdue: D1 (") and "open_minor: EUR 0.05" in odd


_values = st.one_of(st.integers(-10**12, 10**12), st.text(max_size=8), st.none(),
                    st.lists(st.text(max_size=4), max_size=2))  # fmt: skip


_KEYS = (
    "threshold", "item", "days_overdue", "due_on", "open_minor", "amount_minor", "currency",
    "from", "to", "quarters", "why", "value_minor", "exposure_minor", "limit_minor",
    "utilisation_permille", "from_on", "to_on",
)  # fmt: skip


@given(
    st.sampled_from(ALERT_KINDS),
    st.dictionaries(st.sampled_from(_KEYS), _values, max_size=8),
)
def test_any_figures_are_said_without_failing(kind: str, detail: dict[str, Any]) -> None:
    said = credit_alert_sentence(kind, detail, "PARTY-1", EN)
    assert "PARTY-1" in said


def test_the_next_check_mails_an_alert_the_credit_gate_raised(
    engine: Engine, make_user: Callable[..., int], run_cli: Callable[..., Result]
) -> None:
    w = make_watch(engine, make_user)
    with Session(engine) as s, s.begin():
        raise_alert(s, w.d2, "credit_shipment", "2026-11-03", {
            "exposure_minor": 250_000, "value_minor": 90_000, "limit_minor": 300_000,
            "currency": "EUR", "seqs": [7], "note": "",
        })  # fmt: skip
    done = run_cli("credit", "check", "--on", "2026-11-03")
    assert done.exit_code == 0, done.output
    # finance only: shipments are finance's to release or stop
    assert "e-mails queued: 1" in done.output
    with Session(engine) as s:
        (msg,) = s.scalars(select(OutboxMessage)).all()
    assert msg.recipient == "fiona@maker.example" and "EUR 900.00" in msg.body_text
    again = run_cli("credit", "check", "--on", "2026-11-04")
    assert "e-mails queued: 0" in again.output
