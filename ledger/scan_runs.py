"""Device scans found in columns of entries: the runs of consecutive entries of one
device and device_seq (what :func:`ledger.verify_scan.group_scans` finds in row
tuples), with polars expressions.

A scan appends its entries one after the other; the run of one scan ends where the
seq jumps or the device or device_seq changes. ``None`` device_seqs are equal to
each other, as Python's ``==`` has them in ``group_scans``.
"""

from __future__ import annotations

import polars as pl

__all__ = ["last_run_start", "scan_runs"]

_SEQ, _DEVICE, _DSEQ = pl.col("seq"), pl.col("device"), pl.col("device_seq")


def _starts() -> pl.Expr:
    """True where a run begins: the first row, a seq that does not follow the last,
    or another device or device_seq (None equal to None, as ``group_scans`` has it)."""
    return (
        (_SEQ.shift(1) + 1 != _SEQ).fill_null(True)
        | _DEVICE.ne_missing(_DEVICE.shift(1))
        | _DSEQ.ne_missing(_DSEQ.shift(1))
    )


def last_run_start(frame: pl.DataFrame) -> int:
    """The row index where the last run of ``frame`` (device rows in seq order)
    begins; 0 for an empty frame."""
    if frame.height == 0:
        return 0
    starts = frame.select(_starts().arg_true().alias("start"))["start"]
    return int(starts[-1])


def scan_runs(frame: pl.DataFrame) -> pl.DataFrame:
    """The runs of ``frame`` (device rows in seq order, :data:`ledger.entry_columns.COLUMNS`)
    as one row each: ``device``, ``device_seq``, ``first_seq``, ``end`` (last seq + 1),
    ``start`` (row index of its first entry in ``frame``), ``count``, ``scanned`` (row
    index of the scanned unit's entry: the second when a packing follows the
    commissioning of its container, as :func:`ledger.verify_scan.receipt_digest`
    has it) and ``notes`` (some entry has an anomaly or is an unpacking: the
    summed anomaly is then worked out row by row). Runs without a device_seq are
    no scan (``group_scans`` leaves them out too)."""
    indexed = frame.with_row_index("row").with_columns(run=_starts().cum_sum())
    nxt = indexed.with_columns(
        next_kind=pl.col("kind").shift(-1),
        next_container=pl.col("container").shift(-1),
        next_run=pl.col("run").shift(-1),
    )
    second = (
        (pl.col("kind") == "commissioning")
        & (pl.col("next_kind") == "packing")
        & (pl.col("next_container") == pl.col("unit"))
        & (pl.col("next_run") == pl.col("run"))
    ).fill_null(False)
    notes = ((pl.col("anomaly").fill_null("") != "") | (pl.col("kind") == "unpacking")).fill_null(
        False
    )
    return (
        nxt.with_columns(second=second, notes=notes)
        .group_by("run", maintain_order=True)
        .agg(
            pl.col("device").first(),
            pl.col("device_seq").first(),
            pl.col("seq").first().alias("first_seq"),
            (pl.col("seq").last() + 1).alias("end"),
            pl.col("row").first().cast(pl.Int64).alias("start"),
            pl.len().alias("count"),
            pl.col("second").first(),
            pl.col("notes").any(),
        )
        .with_columns(scanned=pl.col("start") + pl.col("second").cast(pl.Int64))
        .drop("run", "second")
        .filter(pl.col("device_seq").is_not_null())
    )
