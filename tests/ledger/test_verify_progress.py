"""``verify_ledger``'s progress counts entries read, never the chunk size beyond
them: 5,273 entries read in chunks of 20,000 reported "20,000 entries"."""

from __future__ import annotations

import pytest

from ledger import EntryKind, Hop, append_hops, make_checkpoint, verify_ledger
from ledger.keys import LedgerSigner
from tests.ledger.conftest import T0, Network, item


@pytest.mark.parametrize(("entries", "chunk"), [(7, 20_000), (7, 3), (9, 3), (1, 1)])
def test_progress_ends_at_the_number_of_entries(
    network: Network, signer: LedgerSigner, entries: int, chunk: int
) -> None:
    hops = [Hop(item(n), EntryKind.COMMISSIONING, "MFR", T0 + n) for n in range(entries)]
    assert all(r.status == "accepted" for r in append_hops(network.engine, hops))
    make_checkpoint(network.engine, signer)
    seen: list[tuple[int, int]] = []
    report = verify_ledger(
        network.engine,
        signer.name,
        signer.public_key,
        lambda d, t: seen.append((d, t)),
        chunk=chunk,
    )
    assert report.entries == entries
    done = [d for d, _ in seen]
    # 7 entries in chunks of 3: 3, 6, 7; never beyond what exists, never backwards
    assert done == sorted(done) and done[-1] == entries
    assert all(d <= t for d, t in seen)
