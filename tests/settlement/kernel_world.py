"""A tiny hand-built world for kernel tests: parties, territories, entries as arrays."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from ledger.ids import EntryKind
from settlement import kernels as K
from settlement.zones import Grant, ZoneTables, build_zone_tables

# Territories: 0 = country FR, 1 = Paris region (in FR), 2 = Lyon region (in FR), 3 = DE
TERR_PARENT = [-1, 0, 0, -1]
FR, PARIS, LYON, DE = 0, 1, 2, 3
# Parties: 0 manufacturer, 1 distributor A, 2 distributor B, 3 sub-distributor S of A,
# 4 dealer X, 5 dealer Y, 6 inspector
MFR, A, B, S, X, Y, INSP = range(7)
PARTY_KIND = np.array(
    [K.PK_MANUFACTURER, K.PK_DISTRIBUTOR, K.PK_DISTRIBUTOR, K.PK_DISTRIBUTOR, K.PK_DEALER,
     K.PK_DEALER, K.PK_INSPECTOR],
    dtype=np.int8,
)  # fmt: skip
PARTY_PARENT = np.array([-1, -1, -1, A, A, -1, -1], dtype=np.int32)
HOUR = 3_600_000
# Coordinates (micro-degrees): Paris, Lyon, Berlin
PARIS_LL = (48_856_600, 2_352_200)
LYON_LL = (45_764_000, 4_835_700)
BERLIN_LL = (52_520_000, 13_405_000)


@dataclass
class World:
    grants: list[Grant] = field(
        default_factory=lambda: [Grant(A, PARIS, 0), Grant(B, DE, 0), Grant(S, LYON, 0)]
    )
    rows: list[tuple[int, int, int, int, int, int, int, int]] = field(default_factory=list)
    n_units: int = 1
    products: list[int] = field(default_factory=lambda: [0])

    def add(
        self,
        unit: int,
        kind: EntryKind,
        party: int,
        at_h: float,
        counterparty: int = -1,
        terr: int = K.TERR_UNLOCATED,
        ll: tuple[int, int] | None = None,
    ) -> int:
        lat, lon = ll if ll is not None else (K.NO_COORD, K.NO_COORD)
        self.rows.append((unit, kind.code, party, counterparty, int(at_h * HOUR), lat, lon, terr))
        return len(self.rows) - 1

    def zones(self) -> ZoneTables:
        return build_zone_tables(len(PARTY_KIND), PARTY_PARENT, self.grants, TERR_PARENT)

    def col(self, i: int, dtype: type) -> npt.NDArray[np.generic]:
        return np.array([r[i] for r in self.rows], dtype=dtype)

    def detect(self) -> tuple[npt.NDArray[np.int8], npt.NDArray[np.int32], npt.NDArray[np.int32]]:
        z = self.zones()
        flags, resp, alloc, _ = K.detect(
            self.col(0, np.int32), self.col(1, np.int8), self.col(2, np.int32),
            self.col(3, np.int32), self.col(4, np.int64), self.col(5, np.int32),
            self.col(6, np.int32), self.col(7, np.int32),
            np.array(self.products, dtype=np.int32), PARTY_KIND,
            z.zone_ptr, z.zone_terr, z.zone_from, z.zone_to,
            z.auth_ptr, z.auth_terr, z.auth_from, z.auth_to, z.terr_anc, 900.0, 1.0, 2,
        )  # fmt: skip
        return flags, resp, alloc

    def standard_path(self, unit: int = 0) -> None:
        """Commission, ship to A, A receives in Paris, ships to dealer X, X receives in Paris."""
        self.add(unit, EntryKind.COMMISSIONING, MFR, 0)
        self.add(unit, EntryKind.SHIPPING, MFR, 1, A)
        self.add(unit, EntryKind.RECEIVING, A, 2, MFR, PARIS)
        self.add(unit, EntryKind.SHIPPING, A, 3, X, PARIS)
        self.add(unit, EntryKind.RECEIVING, X, 4, A, PARIS)
