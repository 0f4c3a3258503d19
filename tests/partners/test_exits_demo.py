"""``hopchain demo`` seeds a realistic partner pipeline (issue 12, "Must show"):
prospects in every stage from all five channels with their costs, parties on
trial with signed agreements, one party exiting, agreements for every active
distributor, interactions."""

from __future__ import annotations

import datetime as dt
import itertools
from collections import Counter
from collections.abc import Callable

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from ledger.models import Party
from partners.models import (
    AcquisitionCost,
    Agreement,
    AgreementReview,
    ExitHandover,
    Interaction,
    NegotiationTerms,
    PartnerExit,
    Prospect,
    ProspectStage,
    ScreeningScore,
    SiteVisit,
    SiteVisitPhoto,
    Trial,
)
from partners.recruitment import CHANNELS, STAGES
from settlement.models import PartnerScore
from tests._worlds import SMALL_DEMO_2026_08_TWO_MONTHS, Ran
from web.demo_partners import PIPELINE


def test_demo_seeds_prospects_trials_agreements_and_an_exit(
    cli_world: Callable[..., list[Ran]], engine: Engine
) -> None:
    init, out = cli_world(*SMALL_DEMO_2026_08_TWO_MONTHS)  # the agreements test reads it too
    assert init.exit_code == 0, init.output
    assert out.exit_code == 0, out.output
    assert "15 prospects in every stage, 2 on trial" in out.output
    today = dt.datetime.now(dt.UTC).date().isoformat()
    with Session(engine) as s:
        stages = Counter(s.scalars(select(Prospect.stage)))
        assert set(stages) == set(STAGES)  # every stage, open and closed
        assert stages == Counter(PIPELINE)
        # issue 12: the board's ageing is not all 0 days; the steps lie in the past
        # weeks, in order, and the quarters are scored (reviews get their indicators)
        now = dt.datetime.now(dt.UTC).timestamp() * 1000
        ages = [int((now - ms) // 86_400_000) for ms in s.scalars(select(Prospect.stage_since_ms))]
        assert all(1 <= a <= 63 for a in ages) and len(set(ages)) >= 5, ages
        steps = list(s.execute(select(ProspectStage.prospect_id, ProspectStage.at_ms)
                               .order_by(ProspectStage.prospect_id, ProspectStage.id)))  # fmt: skip
        for (a_pid, a_ms), (b_pid, b_ms) in itertools.pairwise(steps):
            assert a_pid != b_pid or a_ms <= b_ms
        assert {q for q in s.scalars(select(PartnerScore.quarter))} == {"2026-Q3"}
        assert set(s.scalars(select(Prospect.channel))) == set(CHANNELS)
        assert set(s.scalars(select(AcquisitionCost.channel))) == set(CHANNELS)
        # what each stage needs to be left is there
        assert s.scalar(select(func.count(func.distinct(ScreeningScore.prospect_id)))) >= 10
        assert s.scalar(select(func.count(SiteVisit.id))) >= 7
        photo = s.scalars(select(SiteVisitPhoto)).first()
        assert photo is not None and photo.data.startswith(b"\x89PNG")
        assert s.scalar(select(func.count(func.distinct(NegotiationTerms.prospect_id)))) >= 6
        # signed prospects became parties on trial (one admitted), each with an agreement
        # that passed both reviews by two different people
        signed = list(s.scalars(select(Prospect).where(Prospect.stage == "signed")))
        assert len(signed) == 3 and all(p.party_id for p in signed)
        trials = {t.party_id: t.status for t in s.scalars(select(Trial))}
        assert sorted(trials.values()) == ["admitted", "running", "running"]
        for p in signed:
            ag = s.scalars(select(Agreement).where(Agreement.party_id == p.party_id)).one()
            assert ag.status == "signed"
            reviewers = set(
                s.scalars(
                    select(AgreementReview.reviewer_name).where(
                        AgreementReview.agreement_id == ag.id
                    )
                )
            )
            assert len(reviewers) == 2
        on_trial = s.scalars(select(Party.status).where(Party.id.in_(list(trials))))
        assert sorted(on_trial) == ["active", "trial", "trial"]
        # every active distributor has a signed agreement in force today
        active = list(
            s.scalars(select(Party).where(Party.kind == "distributor", Party.status == "active"))
        )
        assert len(active) >= 3
        for party in active:
            in_force = s.scalar(
                select(func.count(Agreement.id)).where(
                    Agreement.party_id == party.id,
                    Agreement.status == "signed",
                    Agreement.valid_from <= today,
                    Agreement.valid_to >= today,
                )
            )
            assert in_force == 1, party.code
        # one distributor exiting, in its buffer, with plans and a customer handed over
        exit_row = s.scalars(select(PartnerExit)).one()
        assert exit_row.status == "buffer" and exit_row.reason == "strategy_change"
        leaving = s.get(Party, exit_row.party_id)
        assert leaving is not None and leaving.status == "exiting"
        handovers = Counter(
            s.scalars(select(ExitHandover.kind).where(ExitHandover.exit_id == exit_row.id))
        )
        assert handovers["customer"] == 2 and handovers["unit"] >= 1  # the stock it still has
        assert s.scalar(select(func.count(Interaction.id))) >= 6
