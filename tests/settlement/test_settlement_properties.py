"""Properties: every statement's total is the sum of its lines, the deposit never
goes negative, and the same inputs always give the same statement hash."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from settlement.programs import parse_rules
from settlement.rules import Tier, tier_lines
from settlement.statement import (
    Clawback,
    IncidentInput,
    PartyInputs,
    ProgramInputs,
    RewardCredit,
    settle_party,
    statement_hash,
)

rates = st.decimals(min_value=0, max_value=500, places=3, allow_nan=False, allow_infinity=False)


@st.composite
def rules_json(draw: st.DrawFn) -> dict[str, object]:
    n = draw(st.integers(1, 4))
    thresholds = sorted(draw(st.sets(st.integers(0, 5_000), min_size=n, max_size=n)))
    measure = draw(st.sampled_from(["volume", "value"]))
    rate = rates if measure == "volume" else st.decimals(0, "0.2", places=4)
    doc: dict[str, object] = {
        "currency": "EUR",
        "basis": draw(st.sampled_from(["sell_in", "sell_through"])),
        "measure": measure,
        "mode": draw(st.sampled_from(["retroactive", "incremental"])),
        "tiers": [{"threshold": t, "rate": str(draw(rate))} for t in thresholds],
        "class_multipliers": {"A": "1.15", "B": "1", "C": "0.85"},
    }
    if draw(st.booleans()):
        doc["growth"] = {"rate": "0.015", "new_distributor": draw(st.sampled_from(["none", "all"]))}
    if draw(st.booleans()):
        doc["kpi"] = {"floor": "0.6", "pro_rata": draw(st.booleans())}
    doc["penalties"] = {
        "fine_per_unit": draw(st.integers(0, 10_000)),
        "escalation": ["1", "1.5", "2"],
        "forfeiture": True,
        "whistleblower_share": "0.1",
    }
    return doc


@st.composite
def party_inputs(draw: st.DrawFn) -> PartyInputs:
    rules = parse_rules(draw(rules_json()))
    gross = draw(st.integers(0, 20_000))
    ret = draw(st.integers(0, gross))
    excl = draw(st.integers(0, gross - ret))
    net = gross - ret - excl
    price = draw(st.integers(1, 100_000))
    prog = ProgramInputs(
        "P", 1, rules, gross, ret, excl, net, net * price, draw(st.integers(0, 10**9)),
        draw(st.one_of(st.none(), st.integers(1, 30_000))),
    )  # fmt: skip
    incidents = tuple(
        IncidentInput(
            f"alert:{i}", (i,), "2026-10", draw(st.integers(0, 500)), draw(st.integers(0, 5)),
            draw(st.integers(0, 10**6)),
            tuple(Clawback(f"statement:1:{u}", u, u * price, Decimal("0.03")) for u in [u] if u),
        )
        for i, u in enumerate(draw(st.lists(st.integers(0, 50), max_size=3)))
    )  # fmt: skip
    rewards = tuple(
        RewardCredit(i, draw(st.integers(0, 10**7))) for i in range(draw(st.integers(0, 2)))
    )
    adjustments = tuple(
        (i, draw(st.integers(-(10**6), 10**6)), "fix") for i in range(draw(st.integers(0, 2)))
    )
    return PartyInputs(
        party_code="D1",
        currency="EUR",
        partner_class=draw(st.sampled_from("ABC")),
        programs=(prog,),
        incidents=incidents,
        opening_balance=-draw(st.integers(0, 10**6)),
        rewards=rewards,
        adjustments=adjustments,
        partial_rebates=draw(st.integers(0, 10**6)),
        deposit_balance=draw(st.integers(0, 10**7)),
    )


@settings(max_examples=200, deadline=None)
@given(party_inputs())
def test_statement_total_is_the_sum_of_its_lines(inp: PartyInputs) -> None:
    out = settle_party(inp)
    assert out.total == sum(r.line.amount for r in out.lines)
    assert all(isinstance(r.line.amount, int) for r in out.lines)
    assert 0 <= out.deposit_after <= inp.deposit_balance
    # the deposit only ever fills a shortfall, never creates a payout
    taken = inp.deposit_balance - out.deposit_after
    assert taken == 0 or out.total <= 0


@settings(max_examples=100, deadline=None)
@given(party_inputs())
def test_same_inputs_same_statement_hash(inp: PartyInputs) -> None:
    def h() -> str:
        out = settle_party(inp)
        return statement_hash(
            period="2026-10", kind="final", tree_size=123, root_hex="AB" * 32,
            program_versions=[3, 1], party_code=inp.party_code, currency=inp.currency,
            partner_class=inp.partner_class, lines=out.lines,
        )  # fmt: skip

    first = h()
    assert first == h()
    other = statement_hash(
        period="2026-10", kind="final", tree_size=124, root_hex="AB" * 32, program_versions=[3, 1],
        party_code=inp.party_code, currency=inp.currency, partner_class=inp.partner_class,
        lines=settle_party(inp).lines,
    )  # fmt: skip
    assert other != first  # another checkpoint is another statement


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.integers(1, 2_000), rates), min_size=1, max_size=5),
    st.integers(0, 20_000),
)
def test_incremental_never_pays_more_than_retroactive_with_rising_rates(
    raw: list[tuple[int, Decimal]], units: int
) -> None:
    steps = sorted({t for t, _ in raw})
    rs = sorted(r for _, r in raw)[: len(steps)]
    tiers = [Tier(t, r) for t, r in zip(steps, rs, strict=True)]
    inc = sum(ln.amount for ln in tier_lines("volume", "incremental", tiers, units, 0))
    retro = sum(ln.amount for ln in tier_lines("volume", "retroactive", tiers, units, 0))
    assert inc <= retro + len(tiers)  # each band rounds on its own: at most 1 per band
