"""The demo data set the settlement web tests share (see conftest.py)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

import settlement


@dataclass(frozen=True)
class Demo:
    distributors: dict[str, int]  # code -> party id
    detect_output: str

    def alerts_of(self, engine: Engine, code: str) -> list[settlement.AlertView]:
        return settlement.list_alerts(
            engine, settlement.Actor("t", "channel_manager"), party_id=self.distributors[code]
        )

    def party_with_alerts(self, engine: Engine) -> str:
        for code in sorted(self.distributors):
            if self.alerts_of(engine, code):
                return code
        raise AssertionError("the demo raised no alert for any distributor")
