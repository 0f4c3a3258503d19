"""The monthly batch on a partitioned snapshot, in-process or on a Dask cluster.

The snapshot is written as Parquet files partitioned by unit range
(:mod:`settlement.batch.parquet`, each unit's whole history in one partition);
each partition runs the numba kernels of :mod:`settlement.kernels` on its own units
(:mod:`settlement.batch.partition`); :mod:`settlement.batch.runner` maps partitions
over a ``dask.distributed`` client (``HOPCHAIN_DASK_SCHEDULER``) or in this process
and reduces the results here. Answers equal the single-process run's, and memory
is bounded by a partition, not by the month.
"""

from __future__ import annotations

from settlement.batch.parquet import (
    SNAPSHOT_FORMAT,
    PartitionedSnapshot,
    PartitionInfo,
    open_snapshot,
    snapshot_path,
    write_snapshot,
    write_snapshot_arrays,
)
from settlement.batch.partition import Findings, SalesArrays
from settlement.batch.runner import (
    BatchOptions,
    aggregate_partitioned,
    batch_client,
    detect_partitioned,
    month_partitioned,
)

__all__ = [
    "SNAPSHOT_FORMAT",
    "BatchOptions",
    "Findings",
    "PartitionInfo",
    "PartitionedSnapshot",
    "SalesArrays",
    "aggregate_partitioned",
    "batch_client",
    "detect_partitioned",
    "month_partitioned",
    "open_snapshot",
    "snapshot_path",
    "write_snapshot",
    "write_snapshot_arrays",
]
