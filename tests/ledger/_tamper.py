"""What an attacker with write access to the database does, for the tamper tests."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

__all__ = ["LEDGER_TABLES", "Snapshot", "restore", "snapshot"]

LEDGER_TABLES = ("units", "entries", "tree_nodes", "ledger_head", "checkpoints", "scan_receipts")

Snapshot = dict[str, tuple[list[str], list[tuple[Any, ...]]]]


def snapshot(engine: Engine) -> Snapshot:
    """The ledger's tables as they are now (a backup): column names and rows."""
    out: Snapshot = {}
    with engine.connect() as conn:
        for table in LEDGER_TABLES:
            result = conn.exec_driver_sql(f"SELECT * FROM {table}")
            out[table] = (list(result.keys()), [tuple(r) for r in result])
    return out


def restore(engine: Engine, snap: Snapshot) -> None:
    """Put the ledger tables back as they were: a backup restored, every checkpoint
    signed since then gone, and everything consistent with the shorter log."""
    with engine.begin() as conn:
        ph = "?" if conn.dialect.name == "sqlite" else "%s"
        conn.exec_driver_sql("UPDATE units SET container_id = NULL")
        for table in reversed(LEDGER_TABLES):
            conn.exec_driver_sql(f"DELETE FROM {table}")
        for table in LEDGER_TABLES:
            cols, rows = snap[table]
            if table == "units":
                at = cols.index("container_id")
                rows = [(*r[:at], None, *r[at + 1 :]) for r in rows]
            if rows:
                conn.exec_driver_sql(
                    f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join([ph] * len(cols))})",
                    rows,
                )
        cols, rows = snap["units"]
        at, uid = cols.index("container_id"), cols.index("id")
        pairs = [(r[at], r[uid]) for r in rows if r[at] is not None]
        if pairs:
            conn.exec_driver_sql(f"UPDATE units SET container_id = {ph} WHERE id = {ph}", pairs)
