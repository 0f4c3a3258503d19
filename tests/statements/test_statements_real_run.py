"""A run the engine really made (``hopchain demo``, ``detect``, ``settle``): once posted,
its distributor reads every line in words — no line's basis is passed through as the
engine stored it — and downloads it."""

from __future__ import annotations

from collections.abc import Callable

from flask.testing import FlaskClient
from sqlalchemy import Engine

import settlement
from settlement.common import Actor
from tests._worlds import DEMO_2026_09, Ran
from tests.settlement.engine_world import SIGNER

FIONA = Actor("fiona", "finance", user_id=9001)
FRANK = Actor("frank", "finance", user_id=9002)


def test_every_line_of_a_real_run_reads_in_words(
    engine: Engine, cli_world: Callable[..., list[Ran]], login_as: Callable[..., FlaskClient]
) -> None:
    init, made, detected = cli_world(*DEMO_2026_09)
    assert init.exit_code == 0
    assert made.exit_code == 0, made.output
    assert detected.exit_code == 0
    run = settlement.create_run(engine, "2026-09", "final", FIONA)
    statements = settlement.list_statements(engine, FIONA, run_id=run.id)
    assert statements
    for summary in statements:
        st = settlement.get_statement(engine, summary.id, FIONA)
        assert st.state == "not issued"
        for ln in st.lines:
            assert ln.text.basis_text != ln.basis or ln.rule == "adjustment", (ln.rule, ln.basis)
            assert ln.text.amount_text.startswith(f"{st.currency} ")
            assert "_" not in ln.text.title
    code = statements[0].party_code
    dist = login_as("distributor", party=code)
    assert dist.get(f"/partner/statements/{statements[0].id}").status_code == 404
    settlement.approve_run(engine, run.id, FRANK)
    settlement.post_run(engine, run.id, FIONA, signer=SIGNER)
    page = dist.get(f"/partner/statements/{statements[0].id}")
    assert page.status_code == 200 and "awaiting response" in page.get_data(as_text=True)
    pdf = dist.get(f"/api/v1/statements/{statements[0].id}/download?format=pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
