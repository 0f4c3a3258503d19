"""Detection and aggregation kernels on hand-built histories."""

from __future__ import annotations

import numpy as np
import pytest
from kernel_world import (  # type: ignore[import-not-found]
    BERLIN_LL,
    DE,
    FR,
    HOUR,
    INSP,
    LYON,
    LYON_LL,
    MFR,
    PARIS,
    PARIS_LL,
    PARTY_KIND,
    PARTY_PARENT,
    TERR_PARENT,
    A,
    B,
    S,
    World,
    X,
    Y,
)

from ledger.ids import EntryKind
from settlement import kernels as K
from settlement.zones import Grant, ZoneError, build_zone_tables

E = EntryKind


def test_in_zone_path_has_no_findings_and_allocates_to_first_distributor() -> None:
    w = World()
    w.standard_path()
    w.add(0, E.RETAIL_SELLING, X, 5, terr=PARIS)
    flags, _, alloc = w.detect()
    assert flags.tolist() == [0] * 6
    assert alloc.tolist() == [A]


def test_sale_outside_the_zone_blames_the_last_in_zone_custodian() -> None:
    w = World()
    w.standard_path()
    sale = w.add(0, E.RETAIL_SELLING, X, 5, terr=DE)
    flags, resp, _ = w.detect()
    assert flags[sale] == K.F_OUT_OF_ZONE
    assert resp[sale] == A  # dealer X sold it in DE; A let it out of its zone


def test_sub_distributor_territory_is_part_of_the_unit_zone() -> None:
    w = World()
    w.standard_path()
    sale = w.add(0, E.RETAIL_SELLING, X, 5, terr=LYON)  # S (under A) holds LYON
    flags, _, _ = w.detect()
    assert flags[sale] == 0


def test_grant_on_a_parent_territory_covers_its_regions() -> None:
    w = World(grants=[Grant(A, FR, 0)])
    w.standard_path()
    sale = w.add(0, E.RETAIL_SELLING, X, 5, terr=LYON)
    assert w.detect()[0][sale] == 0


def test_a_grant_that_ended_before_the_scan_does_not_cover_it() -> None:
    # A's Paris grant ends at hour 4.5; the sale at hour 5 is outside its zone then
    w = World(grants=[Grant(A, PARIS, 0, int(4.5 * HOUR))])
    w.standard_path()
    sale = w.add(0, E.RETAIL_SELLING, X, 5, terr=PARIS)
    flags, _, _ = w.detect()
    assert flags[sale] == K.F_OUT_OF_ZONE
    assert flags[:sale].tolist() == [0] * sale


def test_shipping_to_a_distributor_of_another_region_is_a_cross_region_transfer() -> None:
    w = World()
    w.add(0, E.COMMISSIONING, MFR, 0)
    w.add(0, E.SHIPPING, MFR, 1, A)
    w.add(0, E.RECEIVING, A, 2, MFR, PARIS)
    ship = w.add(0, E.SHIPPING, A, 3, B, PARIS)
    recv = w.add(0, E.RECEIVING, B, 4, A, DE)
    flags, resp, _ = w.detect()
    assert flags[ship] == K.F_CROSS_REGION and resp[ship] == A
    assert flags[recv] == K.F_OUT_OF_ZONE and resp[recv] == A


def test_shipping_to_a_dealer_of_another_region_is_a_cross_region_transfer() -> None:
    # Y is a dealer authorized for DE only; X is a dealer under A (authorized where A is).
    w = World(
        grants=[Grant(A, PARIS, 0), Grant(B, DE, 0), Grant(S, LYON, 0), Grant(Y, DE, 0)],
        n_units=2,
        products=[0, 0],
    )
    for u in (0, 1):
        w.add(u, E.COMMISSIONING, MFR, 0)
        w.add(u, E.SHIPPING, MFR, 1, A)
        w.add(u, E.RECEIVING, A, 2, MFR, PARIS)
    abroad = w.add(0, E.SHIPPING, A, 3, Y, PARIS)
    at_home = w.add(1, E.SHIPPING, A, 3, X, PARIS)
    flags, resp, _ = w.detect()
    assert flags[abroad] == K.F_CROSS_REGION and resp[abroad] == A
    assert flags[at_home] == 0


def test_shipping_to_own_sub_distributor_is_not_cross_region() -> None:
    w = World()
    w.add(0, E.COMMISSIONING, MFR, 0)
    w.add(0, E.SHIPPING, MFR, 1, A)
    w.add(0, E.RECEIVING, A, 2, MFR, PARIS)
    ship = w.add(0, E.SHIPPING, A, 3, S, PARIS)
    recv = w.add(0, E.RECEIVING, S, 4, A, LYON)
    sale = w.add(0, E.RETAIL_SELLING, S, 5, terr=DE)
    flags, resp, _ = w.detect()
    assert flags[ship] == 0 and flags[recv] == 0
    assert flags[sale] == K.F_OUT_OF_ZONE and resp[sale] == S  # S held it last in zone


def test_receipt_by_someone_else_than_the_ship_to_is_a_custody_break() -> None:
    w = World()
    w.add(0, E.COMMISSIONING, MFR, 0)
    w.add(0, E.SHIPPING, MFR, 1, A)
    w.add(0, E.RECEIVING, A, 2, MFR, PARIS)
    w.add(0, E.SHIPPING, A, 3, X, PARIS)
    recv = w.add(0, E.RECEIVING, Y, 4, A, PARIS)
    flags, resp, _ = w.detect()
    assert flags[recv] == K.F_CUSTODY_BREAK and resp[recv] == A


def test_two_scans_faster_than_a_plane_are_a_clone() -> None:
    # Paris -> Berlin is about 878 km: 30 min apart = 1756 km/h (clone); 2 h = 439 km/h (fine)
    assert K.great_circle_km(*PARIS_LL, *BERLIN_LL) == pytest.approx(878, abs=3)
    w = World()
    w.standard_path()
    fast = w.add(0, E.INSPECTING, INSP, 4.0, ll=PARIS_LL, terr=PARIS)
    clone = w.add(0, E.INSPECTING, INSP, 4.5, ll=BERLIN_LL, terr=DE)
    ok = w.add(0, E.INSPECTING, INSP, 6.5, ll=PARIS_LL, terr=PARIS)
    flags, _, _ = w.detect()
    assert flags[fast] == 0
    assert flags[clone] == K.F_CLONE_SPEED | K.F_OUT_OF_ZONE
    assert flags[ok] == 0


def test_simultaneous_scans_in_two_cities_are_a_clone() -> None:
    w = World()
    w.standard_path()
    w.add(0, E.INSPECTING, INSP, 5, ll=PARIS_LL, terr=PARIS)
    clone = w.add(0, E.INSPECTING, INSP, 5, ll=LYON_LL, terr=LYON)
    assert w.detect()[0][clone] == K.F_CLONE_SPEED


def test_seen_after_sale_or_decommissioning_is_a_clone_but_a_return_is_not() -> None:
    w = World()
    w.standard_path()
    w.add(0, E.RETAIL_SELLING, X, 5, terr=PARIS)
    ret = w.add(0, E.RETURNING, X, 6, terr=PARIS)  # customer return at the shop
    w.add(0, E.RETAIL_SELLING, X, 7, terr=PARIS)
    again = w.add(0, E.INSPECTING, INSP, 8, terr=PARIS)
    end = w.add(0, E.DECOMMISSIONING, X, 9)  # end of life after a sale: legitimate
    dead = w.add(0, E.RETURNING, X, 10, terr=PARIS)
    flags, _, _ = w.detect()
    assert flags[ret] == 0
    assert flags[again] == K.F_CLONE_AFTER_END
    assert flags[end] == 0
    assert flags[dead] == K.F_CLONE_AFTER_END


def test_logistic_units_are_not_judged() -> None:
    w = World(products=[-1])
    w.standard_path()
    w.add(0, E.RETAIL_SELLING, X, 5, terr=DE)
    assert w.detect()[0].tolist() == [0] * 6


def test_units_are_independent_across_threads() -> None:
    w = World(n_units=3, products=[0, 0, 0])
    for u in range(3):
        w.standard_path(u)
    bad = w.add(1, E.RETAIL_SELLING, X, 5, terr=DE)
    flags, _, alloc = w.detect()
    assert np.flatnonzero(flags).tolist() == [bad]
    assert alloc.tolist() == [A, A, A]


def _aggregate(w: World, excluded: list[bool], start_h: float, end_h: float) -> np.ndarray:
    prices = np.array([[1_000]], dtype=np.int64)  # one product, one currency: 10.00
    return K.aggregate_sales(
        w.col(0, np.int32), w.col(1, np.int8), w.col(2, np.int32), w.col(3, np.int32),
        w.col(4, np.int64), np.array(w.products, dtype=np.int32), PARTY_KIND,
        np.zeros(len(PARTY_KIND), dtype=np.int16), prices, np.array(excluded),
        int(start_h * HOUR), int(end_h * HOUR), 2,
    )  # fmt: skip


def test_sales_are_net_of_returns_and_of_excluded_units_within_the_window() -> None:
    w = World(n_units=4, products=[0, 0, 0, 0])
    for u in range(4):
        w.standard_path(u)  # sell-in to A at hour 1, sell-through A -> X at hour 3
    w.add(3, E.RETURNING, X, 20, A, PARIS)  # X returns unit 3 to A (sell-through return)
    w.add(3, E.RECEIVING, A, 21, X, PARIS)
    w.add(3, E.RETURNING, A, 22, MFR, PARIS)  # A returns unit 3 to the manufacturer
    out = _aggregate(w, [False, False, True, False], 0, 100)
    sell_in, sell_through = out[A, 0], out[A, 1]
    # sell-in: 4 gross, 1 returned, 1 excluded (unit 2) -> net 2 units, value 2 * 1_000
    assert sell_in[K.S_GROSS_U] == 4 and sell_in[K.S_RET_U] == 1 and sell_in[K.S_EXCL_U] == 1
    assert sell_in[K.S_GROSS_V] - sell_in[K.S_RET_V] - sell_in[K.S_EXCL_V] == 2_000
    assert sell_through[K.S_GROSS_U] == 4 and sell_through[K.S_RET_U] == 1
    # window [2h, 100h) leaves out the manufacturer's shipments at hour 1
    late = _aggregate(w, [False] * 4, 2, 100)
    assert late[A, 0, K.S_GROSS_U] == 0 and late[A, 0, K.S_RET_U] == 1
    assert out[B].sum() == 0


def test_missing_price_is_counted_not_silently_zero() -> None:
    w = World()
    w.standard_path()
    out = K.aggregate_sales(
        w.col(0, np.int32), w.col(1, np.int8), w.col(2, np.int32), w.col(3, np.int32),
        w.col(4, np.int64), np.zeros(1, dtype=np.int32), PARTY_KIND,
        np.zeros(len(PARTY_KIND), dtype=np.int16), np.array([[-1]], dtype=np.int64),
        np.zeros(1, dtype=np.bool_), 0, 10 * HOUR, 2,
    )  # fmt: skip
    assert out[A, 0, K.S_MISSING_PRICE] == 1


def test_receipt_timeliness_counts_receipts_within_the_lag() -> None:
    w = World(n_units=2, products=[0, 0])
    w.standard_path(0)  # A receives 1 h after shipment
    w.add(1, E.COMMISSIONING, MFR, 0)
    w.add(1, E.SHIPPING, MFR, 1, A)
    w.add(1, E.RECEIVING, A, 80, MFR, PARIS)  # 79 h later: late
    out = K.receipt_timeliness(
        w.col(0, np.int32), w.col(1, np.int8), w.col(2, np.int32), w.col(3, np.int32),
        w.col(4, np.int64), np.zeros(2, dtype=np.int32), len(PARTY_KIND), 0, 100 * HOUR,
        48 * HOUR, 2,
    )  # fmt: skip
    assert out[A].tolist() == [2, 1]


def test_zone_tables_expand_down_for_units_and_up_for_parties() -> None:
    z = build_zone_tables(
        len(PARTY_KIND), PARTY_PARENT, [Grant(A, PARIS, 0), Grant(S, LYON, 0)], TERR_PARENT
    )
    zone_a = z.zone_terr[z.zone_ptr[A] : z.zone_ptr[A + 1]].tolist()
    auth_s = z.auth_terr[z.auth_ptr[S] : z.auth_ptr[S + 1]].tolist()
    assert sorted(zone_a) == [PARIS, LYON]
    assert sorted(auth_s) == [PARIS, LYON]
    with pytest.raises(ZoneError, match="territory index 9"):
        build_zone_tables(len(PARTY_KIND), PARTY_PARENT, [Grant(A, 9, 0)], TERR_PARENT)
    with pytest.raises(ZoneError, match="cycle"):
        build_zone_tables(2, np.array([1, 0], dtype=np.int32), [], TERR_PARENT)
