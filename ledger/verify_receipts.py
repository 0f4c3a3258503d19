"""Scan receipts checked a chunk at a time over columns (the verify fast path).

What each receipt must hold is :class:`ledger.verify_derived.ReceiptCheck`'s rule:
one receipt per run of consecutive entries of one device and device_seq, with the
run's first seq, its length, its summed anomaly and the digest of the scanned
unit's entry (:func:`ledger.hops.scan_digest`). Here the runs are found with
polars expressions, the stored receipts of a chunk are read as columns
(:mod:`ledger.entry_columns`), and a join proves the receipts that hold exactly
what their runs give. Every run this cannot prove (a receipt missing or
different, a device name that cannot be put in a query as it is) goes to
``ReceiptCheck`` itself, which reads its receipt through the verification's own
snapshot and names what differs: the findings are those of the row-by-row check.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from ledger.encode_columns import scan_digests
from ledger.entry_columns import ColumnReader
from ledger.rows import CodeBook
from ledger.scan_runs import scan_runs
from ledger.verify_derived import ReceiptCheck
from ledger.verify_problems import Problem
from ledger.verify_scan import ScanGroup, receipt_anomaly

__all__ = ["ColumnReceipts"]


def _quotable(device: Any) -> bool:
    """A device name that can stand in a query as a quoted literal as it is."""
    return (
        isinstance(device, str)
        and device.isprintable()
        and "'" not in device
        and "\\" not in device
    )


class ColumnReceipts:
    """Checks the receipts of a chunk's closed runs at once (see the module doc).

    ``reader``: reads the stored receipts of one device and a device_seq range
    as columns; ``check``: the row-by-row check, for the runs not proved here; it
    also counts the receipts proved here among those it matched (what its
    ``extras`` compares with the table)."""

    def __init__(self, reader: ColumnReader, check: ReceiptCheck) -> None:
        self.reader = reader
        self.check = check
        self.codes: CodeBook = check.codes

    def __call__(self, frame: pl.DataFrame) -> tuple[int, list[Problem]]:
        """(runs, problems) for the closed runs in ``frame`` (device rows in seq order)."""
        if frame.height == 0:
            return 0, []
        runs = scan_runs(frame)
        scanned = frame.select(pl.all().gather(runs["scanned"]))
        try:
            digests = scan_digests(scanned, self.codes)
        except ValueError:  # a unit or column gone: the row-by-row check names it
            return runs.height, self.check(self._groups(frame, runs))
        runs = runs.with_columns(
            digest=pl.Series(digests, dtype=pl.Binary),
            anomaly=pl.Series(self._anomalies(frame, runs), dtype=pl.String),
        )
        stored = self._stored(runs)
        proved = runs.join(stored, on=["device", "device_seq"], how="left", suffix="_stored")
        ok = (
            (pl.col("first_seq_stored") == pl.col("first_seq"))
            & (pl.col("entry_count") == pl.col("count"))
            & (pl.col("anomaly_stored") == pl.col("anomaly"))
            & (pl.col("content_hash").is_null() | (pl.col("content_hash") == pl.col("digest")))
        ).fill_null(False)
        judged = proved.with_columns(ok=ok)
        good = int(judged["ok"].sum())
        self.check.matched += good
        if good == runs.height:
            return runs.height, []
        return runs.height, self.check(self._groups(frame, judged.filter(~pl.col("ok"))))

    @staticmethod
    def _groups(frame: pl.DataFrame, runs: pl.DataFrame) -> list[ScanGroup]:
        """``runs`` as the row-by-row check takes them: (device, device_seq, first
        seq, end, rows)."""
        groups: list[ScanGroup] = []
        for device, dseq, first, end, start, count in runs.select(
            "device", "device_seq", "first_seq", "end", "start", "count"
        ).iter_rows():
            groups.append((device, dseq, first, end, frame.slice(start, count).rows()))
        return groups

    def _anomalies(self, frame: pl.DataFrame, runs: pl.DataFrame) -> list[str]:
        """The summed anomaly of each run: "" unless an entry has notes."""
        out = [""] * runs.height
        if not runs["notes"].any():
            return out
        marked = runs.with_row_index("i").filter(pl.col("notes"))
        for i, device, dseq, first, end, start, count in marked.select(
            "i", "device", "device_seq", "first_seq", "end", "start", "count"
        ).iter_rows():
            out[i] = receipt_anomaly((device, dseq, first, end, frame.slice(start, count).rows()))
        return out

    def _stored(self, runs: pl.DataFrame) -> pl.DataFrame:
        """The stored receipts of ``runs``' devices within each one's device_seq range
        (device names that cannot be quoted as they are: none, so their runs go to
        the row-by-row check)."""
        parts = []
        spans = runs.group_by("device").agg(
            pl.col("device_seq").min().alias("lo"), pl.col("device_seq").max().alias("hi")
        )
        for device, lo, hi in spans.iter_rows():
            if not _quotable(device) or lo is None:
                continue
            parts.append(
                self.reader.query(
                    "SELECT device, device_seq, first_seq, entry_count, anomaly, content_hash"
                    f" FROM scan_receipts WHERE device = '{device}'"
                    f" AND device_seq >= {int(lo)} AND device_seq <= {int(hi)}",
                    _STORED_SCHEMA,
                )
            )
        if not parts:
            return _EMPTY_STORED
        return pl.concat([_EMPTY_STORED, *parts], how="vertical_relaxed")


_STORED_SCHEMA: dict[str, type[pl.DataType]] = {
    "device": pl.String,
    "device_seq": pl.Int64,
    "first_seq": pl.Int64,
    "entry_count": pl.Int64,
    "anomaly": pl.String,
    "content_hash": pl.Binary,
}
_EMPTY_STORED = pl.DataFrame(schema=_STORED_SCHEMA)
