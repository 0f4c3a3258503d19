"""The reference handheld client: scan offline, upload signed batches later.

Scans go into a local SQLite queue (``enqueue``), durably, with a device sequence
number that only grows. ``flush`` uploads pending scans in batches to
``POST /api/v1/scans``, signed with the device's Ed25519 key, and marks a scan
done only when the server has answered for it. Network errors and 5xx answers
are retried with exponential back-off and full jitter. The process may be killed
at any moment: a scan is either still pending (and uploaded again; the server
answers ``duplicate`` for one it already has) or done, never lost and never
recorded twice.

No event holds back the rest:

- ``rejected`` events go to the dead-letter file (JSON lines, default
  ``<queue>.dead.jsonl``) with the server's reason and the time, and are done.
- ``conflict`` (the server holds a *different* scan under that device_seq: this
  queue was recreated and counts from 1 again) makes the client resync: every
  pending scan is renumbered from the server's ``next_device_seq`` (above every
  number this queue used too), future scans continue above, and the scans are
  sent again. A scan that conflicts a second time is dead-lettered.
- A whole batch answered 400 or 413, or 5xx after the back-off retries, is split
  in halves until the event(s) causing it are found: those are dead-lettered
  with the server's answer (``refused``), the rest uploaded. An empty batch tells
  first whether the server refuses the device itself (then nothing is
  dead-lettered and :class:`HandheldError` is raised).

A dead-letter line is written (and fsynced) before its scan is marked done, so a
kill in between can write a scan's line twice, never lose it.

Command line (``python -m scanners.handheld`` or ``hopchain handheld``)::

    keygen KEYFILE                        write a private key, print the public key
    scan --queue Q --kind ship CODE...    queue scans
    flush --queue Q --server URL --device ID --key KEYFILE [--dead-letter FILE]
    status --queue Q [--dead-letter FILE]
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import random
import sqlite3
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from scanners.batch import parse_kind

__all__ = ["FlushReport", "HandheldClient", "HandheldError", "generate_device_key", "main"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS scans (
    device_seq INTEGER PRIMARY KEY AUTOINCREMENT,
    event TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    result TEXT
);
CREATE INDEX IF NOT EXISTS ix_scans_status ON scans (status, device_seq);
"""
#: Answers that end a scan's life in the dead-letter file.
DEAD_STATUSES = ("rejected", "conflict", "refused")
_BISECTABLE = frozenset({400, 413, 422})  # the batch's content, not the device, is refused
_Row = tuple[int, str, int]  # device_seq, event JSON, conflicts so far


class HandheldError(RuntimeError):
    """An upload the server refused for good (401/403...), the device itself refused,
    or retries exhausted on network errors; unanswered scans stay queued."""


class _BatchRefused(Exception):
    """The server refused this batch's content: 400/413/422, or 5xx after retries."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"{status} {detail}")
        self.status = status
        self.detail = detail


class _Resynced(Exception):
    """Pending scans were renumbered: batches in hand are stale; read them again."""


@dataclass(frozen=True, slots=True)
class FlushReport:
    """What one ``flush`` did: answers per status, scans still pending, and the
    dead-letter file (``dead_lettered`` by this flush, ``dead_letter_total`` lines
    in the file, its path).

    ``conflict`` and ``refused`` count dead-lettered scans; ``resynced`` counts
    scans renumbered from the server's ``next_device_seq`` and sent again.
    """

    accepted: int = 0
    duplicate: int = 0
    rejected: int = 0
    pending: int = 0
    conflict: int = 0
    refused: int = 0
    resynced: int = 0
    dead_lettered: int = 0
    dead_letter_total: int = 0
    dead_letter_path: str = ""


def generate_device_key() -> tuple[bytes, str]:
    """A new device key: (private key PEM, public key base64 for registration)."""
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return pem, base64.b64encode(raw).decode("ascii")


def _load_key(private_key: Ed25519PrivateKey | bytes | str) -> Ed25519PrivateKey:
    if isinstance(private_key, Ed25519PrivateKey):
        return private_key
    data = private_key.encode() if isinstance(private_key, str) else private_key
    key = serialization.load_pem_private_key(data, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise HandheldError("the device key must be an Ed25519 private key")
    return key


def _rfc3339_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def default_dead_letter_path(queue_path: str | Path) -> Path:
    """``<queue path>.dead.jsonl``: where a queue's dead letters go unless told."""
    queue = Path(queue_path)
    return queue.with_name(queue.name + ".dead.jsonl")


def count_dead_letters(path: str | Path) -> int:
    """Lines in a dead-letter file (0 when there is none)."""
    try:
        with open(path, "rb") as f:
            return sum(1 for line in f if line.strip())
    except FileNotFoundError:
        return 0


class HandheldClient:
    """One device's offline queue and uploader.

    ``server_url`` is the API root, e.g. ``http://127.0.0.1:8000`` (the client posts
    to ``{server_url}/api/v1/scans``). ``private_key`` is a PEM string/bytes or a key.
    ``dead_letter_path``: the JSON-lines file for scans the server will not record
    (default ``<queue path>.dead.jsonl``); each line is ``{"device_id",
    "device_seq", "event", "status", "reason", "answer", "at"}``.
    """

    def __init__(
        self,
        queue_path: str | Path,
        server_url: str,
        device_id: str,
        private_key: Ed25519PrivateKey | bytes | str | None,
        *,
        batch_size: int = 200,
        timeout_s: float = 30.0,
        max_retries: int = 8,
        backoff_base_s: float = 0.5,
        backoff_cap_s: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
        dead_letter_path: str | Path | None = None,
    ) -> None:
        self.queue_path = Path(queue_path)
        self.endpoint = server_url.rstrip("/") + "/api/v1/scans"
        self.device_id = device_id
        self._key = _load_key(private_key) if private_key is not None else None
        self.batch_size = batch_size
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self.backoff_base_s = backoff_base_s
        self.backoff_cap_s = backoff_cap_s
        self._sleep = sleep
        self.dead_letter_path = (
            Path(dead_letter_path)
            if dead_letter_path is not None
            else default_dead_letter_path(self.queue_path)
        )
        self._db = sqlite3.connect(self.queue_path, isolation_level=None, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(scans)")}
        if "conflicts" not in columns:  # queues made before conflicts were answered
            self._db.execute("ALTER TABLE scans ADD COLUMN conflicts INTEGER NOT NULL DEFAULT 0")

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> HandheldClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- queue ----------------------------------------------------------------------

    def enqueue(
        self,
        code: str,
        kind: str,
        counterparty: str | None = None,
        *,
        container: str | None = None,
        lat: str | float | None = None,
        lon: str | float | None = None,
        scanned_at: str | None = None,
    ) -> int:
        """Queue one scan; returns its ``device_seq``. Durable when it returns."""
        parse_kind(kind)  # fail at the scanner, not days later at upload
        event: dict[str, Any] = {
            "scanned_at": scanned_at or _rfc3339_now(),
            "kind": kind,
            "code": code,
        }
        for name, value in (
            ("counterparty", counterparty),
            ("container", container),
            ("lat", None if lat is None else str(lat)),
            ("lon", None if lon is None else str(lon)),
        ):
            if value is not None:
                event[name] = value
        cur = self._db.execute(
            "INSERT INTO scans (event) VALUES (?)", (json.dumps(event, sort_keys=True),)
        )
        seq = cur.lastrowid
        assert seq is not None
        return seq

    def pending(self) -> int:
        row = self._db.execute("SELECT COUNT(*) FROM scans WHERE status = 'pending'").fetchone()
        return int(row[0])

    def results(self) -> dict[int, dict[str, Any]]:
        """The server's answer per ``device_seq`` for every scan answered so far
        (dead-lettered ones included: ``rejected``, ``conflict``, ``refused``)."""
        rows = self._db.execute("SELECT device_seq, result FROM scans WHERE status != 'pending'")
        return {int(seq): json.loads(result) for seq, result in rows}

    def dead_letters(self) -> list[dict[str, Any]]:
        """Every line of the dead-letter file, oldest first."""
        try:
            with open(self.dead_letter_path, encoding="utf-8") as f:
                return [json.loads(line) for line in f if line.strip()]
        except FileNotFoundError:
            return []

    # --- upload ---------------------------------------------------------------------

    def flush(self) -> FlushReport:
        """Upload every pending scan; returns what this flush did (:class:`FlushReport`).

        Rejected scans, scans that conflict twice and the events a refused batch
        is bisected down to are dead-lettered; a conflict renumbers the pending
        scans from the server's ``next_device_seq`` and sends them again.

        Raises :class:`HandheldError` when the server refuses the device itself
        (401/403, or an empty batch refused), or when ``max_retries`` consecutive
        attempts fail on the network; unanswered scans stay queued.
        """
        if self._key is None:
            raise HandheldError("no device key: cannot sign uploads")
        counts = dict.fromkeys(
            ("accepted", "duplicate", "rejected", "conflict", "refused", "resynced"), 0
        )
        while True:
            rows = self._pending_rows(self.batch_size)
            if not rows:
                break
            try:
                self._send(rows, counts, retries=self.max_retries)
            except _Resynced:
                continue  # the pending scans have new numbers: read them again
        dead = counts["rejected"] + counts["conflict"] + counts["refused"]
        return FlushReport(
            pending=self.pending(),
            dead_lettered=dead,
            dead_letter_total=count_dead_letters(self.dead_letter_path),
            dead_letter_path=str(self.dead_letter_path),
            **counts,
        )

    def resync(self) -> int:
        """Ask the server where this device's numbers continue (an empty signed
        batch) and renumber the pending scans from there; returns next_device_seq."""
        answer = self._post_with_retries(self._body([]), retries=self.max_retries)
        next_seq = _next_seq_of(answer)
        if next_seq is None:
            raise HandheldError("the server's answer has no next_device_seq")
        self._renumber(next_seq)
        return next_seq

    def _pending_rows(self, limit: int) -> list[_Row]:
        rows = self._db.execute(
            "SELECT device_seq, event, conflicts FROM scans WHERE status = 'pending' "
            "ORDER BY device_seq LIMIT ?",
            (limit,),
        ).fetchall()
        return [(int(seq), str(event), int(conflicts)) for seq, event, conflicts in rows]

    def _body(self, rows: Sequence[_Row]) -> bytes:
        events = [{"device_seq": seq, **json.loads(ev)} for seq, ev, _ in rows]
        return json.dumps(
            {"device_id": self.device_id, "events": events}, separators=(",", ":")
        ).encode()

    def _send(self, rows: Sequence[_Row], counts: dict[str, int], *, retries: int) -> None:
        """Upload ``rows`` and record the answers; a refused batch is bisected.

        Raises :class:`_Resynced` when the answers renumbered the pending scans."""
        try:
            answer = self._post_with_retries(self._body(rows), retries=retries)
        except _BatchRefused as refusal:
            if len(rows) == 1 and refusal.status >= 500 and retries < self.max_retries:
                # A lone event gets every retry before it is given up, so a passing
                # server fault costs time, never a scan.
                self._send(rows, counts, retries=self.max_retries)
                return
            self._bisect(rows, refusal, counts)
            return
        answered, resynced = self._record(answer, rows, counts)
        if resynced:
            raise _Resynced
        if answered == 0:
            raise HandheldError("the server answered none of the uploaded scans")

    def _bisect(self, rows: Sequence[_Row], refusal: _BatchRefused, counts: dict[str, int]) -> None:
        """Halve a refused batch until the refused events are alone; dead-letter those."""
        if len(rows) > 1:
            middle = len(rows) // 2
            for half in (rows[:middle], rows[middle:]):  # one retry each on 5xx
                self._send(half, counts, retries=min(1, self.max_retries))
            return
        [(seq, event, _)] = rows
        try:  # whether the server refuses this event or the device as such
            self._post_with_retries(self._body([]), retries=self.max_retries)
        except _BatchRefused as empty:
            raise HandheldError(
                f"server refused the batch: {refusal}; it refuses an empty batch too "
                f"({empty.status}), so no event is to blame"
            ) from empty
        result = {
            "device_seq": seq,
            "status": "refused",
            "reason": f"the server refused every batch holding this event: HTTP {refusal}",
            "http_status": refusal.status,
        }
        self._dead_letter(seq, event, "refused", result)
        counts["refused"] += 1

    def _record(
        self, answer: dict[str, Any], rows: Sequence[_Row], counts: dict[str, int]
    ) -> tuple[int, bool]:
        """Store the answers for ``rows`` in one transaction: (scans answered,
        whether a first conflict renumbered the pending scans in it too)."""
        results = answer.get("results")
        if not isinstance(results, list):
            raise HandheldError("the server's answer has no results list")
        sent = {seq: (event, conflicts) for seq, event, conflicts in rows}
        answered = 0
        resync = False
        self._db.execute("BEGIN IMMEDIATE")
        try:
            for result in results:
                if not isinstance(result, dict):
                    continue
                seq, status = result.get("device_seq"), result.get("status")
                if not isinstance(seq, int) or seq not in sent:
                    continue
                event, conflicts = sent.pop(seq)
                if status in ("accepted", "duplicate"):
                    self._mark(seq, str(status), result)
                    counts[str(status)] += 1
                elif status == "rejected" or (status == "conflict" and conflicts > 0):
                    self._dead_letter(seq, event, str(status), result)
                    counts[str(status)] += 1
                elif status == "conflict":  # a new scan under a used number: renumber
                    self._db.execute(
                        "UPDATE scans SET conflicts = conflicts + 1 WHERE device_seq = ?", (seq,)
                    )
                    resync = True
                else:
                    continue
                answered += 1
            if resync:
                next_seq = _next_seq_of(answer)
                if next_seq is None:
                    raise HandheldError("the server answered conflict without a next_device_seq")
                counts["resynced"] += self._renumber_rows(next_seq)
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        return answered, resync

    def _mark(self, seq: int, status: str, result: dict[str, Any]) -> None:
        self._db.execute(
            "UPDATE scans SET status = ?, result = ? WHERE device_seq = ? AND status = 'pending'",
            (status, json.dumps(result, sort_keys=True), seq),
        )

    def _dead_letter(self, seq: int, event: str, status: str, result: dict[str, Any]) -> None:
        """Append the scan to the dead-letter file (fsynced), then mark it done."""
        line = {
            "device_id": self.device_id,
            "device_seq": seq,
            "event": json.loads(event),
            "status": status,
            "reason": str(result.get("reason") or status),
            "answer": result,
            "at": _rfc3339_now(),
        }
        with open(self.dead_letter_path, "a", encoding="utf-8") as f:
            f.write(json.dumps(line, sort_keys=True, ensure_ascii=False) + "\n")
            f.flush()
            os.fsync(f.fileno())
        self._mark(seq, status, result)

    def _renumber(self, next_seq: int) -> int:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            moved = self._renumber_rows(next_seq)
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        return moved

    def _renumber_rows(self, next_seq: int) -> int:
        """Give the pending scans new numbers from ``next_seq`` on (and above every
        number this queue holds), in their order; future scans continue above.
        Returns how many scans moved. Runs inside the caller's transaction."""
        pending = [
            int(seq)
            for (seq,) in self._db.execute(
                "SELECT device_seq FROM scans WHERE status = 'pending' ORDER BY device_seq"
            )
        ]
        (done_max,) = self._db.execute(
            "SELECT MAX(device_seq) FROM scans WHERE status != 'pending'"
        ).fetchone()
        base = max(next_seq, 1 + int(done_max or 0))
        moves = [(base + i, old) for i, old in enumerate(pending) if old != base + i]
        if moves:
            # Out of the way first (negative rowids), so no new number collides.
            self._db.executemany(
                "UPDATE scans SET device_seq = -device_seq WHERE device_seq = ?",
                [(old,) for _, old in moves],
            )
            self._db.executemany(
                "UPDATE scans SET device_seq = ? WHERE device_seq = ?",
                [(new, -old) for new, old in moves],
            )
        top = base + len(pending) - 1
        updated = self._db.execute(
            "UPDATE sqlite_sequence SET seq = MAX(seq, ?) WHERE name = 'scans'", (top,)
        )
        if updated.rowcount == 0:
            self._db.execute("INSERT INTO sqlite_sequence (name, seq) VALUES ('scans', ?)", (top,))
        return len(moves)

    def _post_with_retries(self, body: bytes, *, retries: int) -> dict[str, Any]:
        """The server's JSON answer to ``body``.

        A 5xx is retried ``retries`` times with back-off, then raises
        :class:`_BatchRefused` (bisected by the caller); a network error is
        retried ``max_retries`` times whatever ``retries`` says (a server being
        restarted refuses connections: no event is to blame), then raises
        :class:`HandheldError`. 400/413/422 raise :class:`_BatchRefused` at once;
        any other 4xx raises :class:`HandheldError`.
        """
        assert self._key is not None
        signature = base64.b64encode(self._key.sign(body)).decode("ascii")
        request = urllib.request.Request(
            self.endpoint,
            data=body,
            method="POST",
            headers={"Content-Type": "application/json", "X-Signature": signature},
        )
        server_errors = network_errors = 0
        while True:
            try:
                with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                    answer = json.loads(response.read())
                if not isinstance(answer, dict):
                    raise HandheldError("the server's answer is not a JSON object")
                return answer
            except urllib.error.HTTPError as exc:
                detail = _error_body(exc)
                if detail is None:  # the server died mid-answer: nothing to act on
                    network_errors += 1
                    if network_errors > self.max_retries:
                        raise HandheldError(
                            f"giving up after {server_errors + network_errors} attempts: "
                            f"the server's {exc.code} answer was cut off"
                        ) from exc
                elif exc.code in _BISECTABLE:
                    raise _BatchRefused(exc.code, detail) from exc
                elif exc.code < 500:
                    raise HandheldError(f"server refused the batch: {exc.code} {detail}") from exc
                else:
                    server_errors += 1
                    if server_errors > retries:
                        raise _BatchRefused(exc.code, detail) from exc
            except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as exc:
                # refused, reset, cut off mid-answer (incomplete read, truncated JSON)
                network_errors += 1
                if network_errors > self.max_retries:
                    raise HandheldError(
                        f"giving up after {server_errors + network_errors} attempts: "
                        f"network error: {str(exc) or repr(exc)}"
                    ) from exc
            failures = server_errors + network_errors
            delay = min(self.backoff_cap_s, self.backoff_base_s * 2 ** (failures - 1))
            self._sleep(random.uniform(0, delay))  # full jitter


def _error_body(error: urllib.error.HTTPError) -> str | None:
    """The first 500 characters of an error answer's body; None when the answer was
    cut off (the server died while sending it)."""
    try:
        return error.read()[:500].decode("utf-8", errors="replace")
    except (OSError, http.client.HTTPException):
        return None


def _next_seq_of(answer: dict[str, Any]) -> int | None:
    value = answer.get("next_device_seq")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


# --- command line ---------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """``hopchain handheld ...``; returns the exit status."""
    parser = argparse.ArgumentParser(prog="hopchain handheld", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    keygen = sub.add_parser("keygen", help="write a new private key; print the public key")
    keygen.add_argument("keyfile", type=Path)
    scan = sub.add_parser("scan", help="queue scans")
    scan.add_argument("--queue", type=Path, required=True)
    scan.add_argument("--kind", required=True)
    scan.add_argument("--counterparty")
    scan.add_argument("--container")
    scan.add_argument("--lat")
    scan.add_argument("--lon")
    scan.add_argument("codes", nargs="+")
    dead_help = "dead-letter file (JSON lines); default <queue>.dead.jsonl"
    flush = sub.add_parser("flush", help="upload pending scans")
    flush.add_argument("--queue", type=Path, required=True)
    flush.add_argument("--server", required=True)
    flush.add_argument("--device", required=True)
    flush.add_argument("--key", type=Path, required=True)
    flush.add_argument("--batch-size", type=int, default=200)
    flush.add_argument(
        "--max-retries", type=int, default=8, help="retries on network errors and 5xx (back-off)"
    )
    flush.add_argument("--dead-letter", type=Path, help=dead_help)
    status = sub.add_parser("status", help="count pending, answered and dead-lettered scans")
    status.add_argument("--queue", type=Path, required=True)
    status.add_argument("--dead-letter", type=Path, help=dead_help)
    args = parser.parse_args(argv)

    if args.command == "keygen":
        pem, public_b64 = generate_device_key()
        args.keyfile.write_bytes(pem)
        args.keyfile.chmod(0o600)
        print(public_b64)
        return 0
    if args.command == "scan":
        with HandheldClient(args.queue, "", "", None) as client:
            for code in args.codes:
                seq = client.enqueue(
                    code, args.kind, args.counterparty, container=args.container,
                    lat=args.lat, lon=args.lon,
                )  # fmt: skip
                print(json.dumps({"device_seq": seq, "code": code}))
        return 0
    if args.command == "status":
        with HandheldClient(args.queue, "", "", None, dead_letter_path=args.dead_letter) as client:
            answered = client.results()
            by_status: dict[str, int] = {}
            for result in answered.values():
                by_status[result["status"]] = by_status.get(result["status"], 0) + 1
            dead = {
                "dead_letter": count_dead_letters(client.dead_letter_path),
                "dead_letter_path": str(client.dead_letter_path),
            }
            print(json.dumps({"pending": client.pending(), **by_status, **dead}))
        return 0
    key = args.key.read_bytes()
    with HandheldClient(
        args.queue,
        args.server,
        args.device,
        key,
        batch_size=args.batch_size,
        max_retries=args.max_retries,
        dead_letter_path=args.dead_letter,
    ) as client:
        try:
            report = client.flush()
        except HandheldError as exc:
            print(
                json.dumps(
                    {
                        "error": str(exc),
                        "pending": client.pending(),
                        "dead_letter": count_dead_letters(client.dead_letter_path),
                        "dead_letter_path": str(client.dead_letter_path),
                    }
                )
            )
            return 1
        print(json.dumps(_report(report)))
    return 0


def _report(report: FlushReport) -> dict[str, int | str]:
    return {
        "accepted": report.accepted,
        "duplicate": report.duplicate,
        "rejected": report.rejected,
        "conflict": report.conflict,
        "refused": report.refused,
        "resynced": report.resynced,
        "pending": report.pending,
        "dead_lettered": report.dead_lettered,
        "dead_letter": report.dead_letter_total,
        "dead_letter_path": report.dead_letter_path,
    }


if __name__ == "__main__":
    sys.exit(main())
