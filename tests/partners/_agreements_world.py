"""A small world for the agreement tests: a party, stored territories and programs,
and the people who draft, review and sign (each a user with an id)."""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from geo.models import TerritoryRow
from ledger.models import Party
from settlement.models import Program

#: The smallest file that is a PDF as far as the agreement service can tell.
PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
_SQUARE = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]]}


@dataclass(frozen=True)
class Person:
    """An actor with a user id (``partners.errors.Acting``)."""

    username: str
    role: str
    user_id: int | None
    party_id: int | None = None


def seed(engine: Engine, party: str = "D-EAST") -> None:
    """Party ``party`` (EUR), territories DE, FR, AT and programs VOL, GROWTH."""
    with Session(engine) as s, s.begin():
        if s.scalar(select(Party.id).where(Party.code == party)) is None:
            s.add(Party(code=party, name=f"{party} GmbH", kind="distributor", currency="EUR"))
        for code in ("DE", "FR", "AT"):
            if s.scalar(select(TerritoryRow.id).where(TerritoryRow.code == code)) is None:
                s.add(
                    TerritoryRow(
                        code=code, name=code, level="country", geometry=json.dumps(_SQUARE),
                        min_lon_e6=0, min_lat_e6=0, max_lon_e6=1_000_000, max_lat_e6=1_000_000,
                    )
                )  # fmt: skip
        for code in ("VOL", "GROWTH"):
            if s.scalar(select(Program.id).where(Program.code == code)) is None:
                s.add(Program(code=code, name=f"{code} program"))


DRAFTER = Person("pm-anna", "partner_manager", 101)
LEGAL = Person("pm-lee", "partner_manager", 102)
BUSINESS = Person("fin-bo", "finance", 103)
CHANNEL = Person("cm-cy", "channel_manager", 104)
AUDITOR = Person("aud-di", "auditor", 105)
