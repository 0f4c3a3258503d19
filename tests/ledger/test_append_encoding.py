"""The append formats each entry's canonical bytes itself (ledger.append._entry, for
speed); every leaf hash it stores must be the one the reference encoder
(:func:`ledger.canonical.encode_values`, through :func:`ledger.rows.canonical_bytes`,
which verification uses) gives for the stored row, whatever the text: quotes,
backslashes, control characters and non-ASCII in notes, devices, party and site
codes and serials."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from ledger import EntryKind, Hop, append_hops
from ledger.canonical import format_time
from ledger.merkle import leaf_hash
from ledger.models import Party, Site
from ledger.rows import LEAF_HASH, PREV_HASH, canonical_bytes, fetch_rows, load_codebook
from tests.ledger.conftest import T0, item
from tests.ledger.test_append_writes import network_copy

K = EntryKind
ODD = 'Ü"\\\x01 é'  # a party and a site code JSON must escape

text = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12)
serials = st.text("AZaz09\"!%&'()*+,-./:;<=>?_", min_size=1, max_size=20)
hops = st.builds(
    Hop,
    unit=serials.map(item),
    kind=st.sampled_from([K.COMMISSIONING, K.SHIPPING, K.RECEIVING, K.INSPECTING, K.RETURNING]),
    party=st.sampled_from(["MFR", "D-NORTH", ODD]),
    at_ms=st.integers(T0 - 10**12, T0 + 10**12),
    counterparty=st.sampled_from([None, "DEALER", ODD]),
    site=st.sampled_from([None, "MFR-PLANT", ODD]),
    device=text,
    note=text,
)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(batch=st.lists(hops, min_size=1, max_size=12))
def test_every_stored_leaf_is_the_reference_encoders(
    _migrated_sqlite_template: Path, batch: list[Hop]
) -> None:
    with network_copy(_migrated_sqlite_template) as engine:
        with Session(engine) as session:
            odd = Party(code=ODD, name="Odd", kind="manufacturer")
            session.add(odd)
            session.flush()
            session.add(Site(code=ODD, name="Odd", party_id=odd.id, lat_e6=-1, lon_e6=2))
            session.commit()
        results = append_hops(engine, batch)
        accepted = sum(len(r.seqs) for r in results if r.status == "accepted")
        assert accepted == len(batch)  # every hop here is appendable
        with engine.connect() as conn:
            codes = load_codebook(conn)
            rows = fetch_rows(conn, 0, accepted)
    assert len(rows) == accepted
    for row in rows:
        data = canonical_bytes(row, codes)
        assert bytes(row[LEAF_HASH]) == leaf_hash(data), row
        # and the reference itself is sorted-keys JSON of the row's values
        doc = json.loads(data)
        assert doc["at"] == format_time(row[2]) and doc["prev"] == bytes(row[PREV_HASH]).hex()
        assert (
            data
            == json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
        )
