"""The reference handheld client: scan offline, upload signed batches later.

Scans go into a local SQLite queue (``enqueue``), durably, with a device sequence
number that only grows. ``flush`` uploads pending scans in batches to
``POST /api/v1/scans``, signed with the device's Ed25519 key, and marks a scan
done only when the server has answered for it (accepted, duplicate and rejected
all count). Network errors and 5xx answers are retried with exponential back-off
and full jitter. The process may be killed at any moment: a scan is either still
pending (and uploaded again; the server answers ``duplicate`` for one it already
has) or done, never lost and never recorded twice.

Command line (``python -m scanners.handheld`` or ``hopchain handheld``)::

    keygen KEYFILE                        write a private key, print the public key
    scan --queue Q --kind ship CODE...    queue scans
    flush --queue Q --server URL --device ID --key KEYFILE
    status --queue Q
"""

from __future__ import annotations

import argparse
import base64
import json
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


class HandheldError(RuntimeError):
    """An upload the server refused for good (400/401/403...), or retries exhausted."""


@dataclass(frozen=True, slots=True)
class FlushReport:
    accepted: int = 0
    duplicate: int = 0
    rejected: int = 0
    pending: int = 0


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


class HandheldClient:
    """One device's offline queue and uploader.

    ``server_url`` is the API root, e.g. ``http://127.0.0.1:8000`` (the client posts
    to ``{server_url}/api/v1/scans``). ``private_key`` is a PEM string/bytes or a key.
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
        self._db = sqlite3.connect(self.queue_path, isolation_level=None, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)

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
        """The server's answer per ``device_seq`` for every scan answered so far."""
        rows = self._db.execute("SELECT device_seq, result FROM scans WHERE status != 'pending'")
        return {int(seq): json.loads(result) for seq, result in rows}

    # --- upload ---------------------------------------------------------------------

    def flush(self) -> FlushReport:
        """Upload every pending scan; returns counts of this flush's answers.

        Raises :class:`HandheldError` when the server refuses the batch (4xx) or when
        ``max_retries`` consecutive attempts fail; unanswered scans stay queued.
        """
        if self._key is None:
            raise HandheldError("no device key: cannot sign uploads")
        counts = {"accepted": 0, "duplicate": 0, "rejected": 0}
        while True:
            rows = self._db.execute(
                "SELECT device_seq, event FROM scans WHERE status = 'pending' "
                "ORDER BY device_seq LIMIT ?",
                (self.batch_size,),
            ).fetchall()
            if not rows:
                break
            events = [{"device_seq": int(seq), **json.loads(ev)} for seq, ev in rows]
            body = json.dumps(
                {"device_id": self.device_id, "events": events}, separators=(",", ":")
            ).encode()
            answer = self._post_with_retries(body)
            answered = self._record(answer, {int(seq) for seq, _ in rows}, counts)
            if answered == 0:
                raise HandheldError("the server answered none of the uploaded scans")
        return FlushReport(pending=self.pending(), **counts)

    def _record(self, answer: dict[str, Any], sent: set[int], counts: dict[str, int]) -> int:
        results = answer.get("results")
        if not isinstance(results, list):
            raise HandheldError("the server's answer has no results list")
        answered = 0
        self._db.execute("BEGIN IMMEDIATE")
        try:
            for result in results:
                seq = result.get("device_seq") if isinstance(result, dict) else None
                status = result.get("status") if isinstance(result, dict) else None
                if seq not in sent or status not in counts:
                    continue
                cur = self._db.execute(
                    "UPDATE scans SET status = ?, result = ? "
                    "WHERE device_seq = ? AND status = 'pending'",
                    (status, json.dumps(result, sort_keys=True), seq),
                )
                if cur.rowcount:
                    answered += 1
                    counts[status] += 1
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        return answered

    def _post_with_retries(self, body: bytes) -> dict[str, Any]:
        assert self._key is not None
        signature = base64.b64encode(self._key.sign(body)).decode("ascii")
        request = urllib.request.Request(
            self.endpoint,
            data=body,
            method="POST",
            headers={"Content-Type": "application/json", "X-Signature": signature},
        )
        failures = 0
        while True:
            try:
                with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                    answer = json.loads(response.read())
                if not isinstance(answer, dict):
                    raise HandheldError("the server's answer is not a JSON object")
                return answer
            except urllib.error.HTTPError as exc:
                if exc.code < 500:
                    detail = exc.read()[:500].decode("utf-8", errors="replace")
                    raise HandheldError(f"server refused the batch: {exc.code} {detail}") from exc
                problem = f"server error {exc.code}"
            except (urllib.error.URLError, OSError, ValueError) as exc:
                problem = f"network error: {exc}"
            failures += 1
            if failures > self.max_retries:
                raise HandheldError(f"giving up after {failures} attempts: {problem}")
            delay = min(self.backoff_cap_s, self.backoff_base_s * 2 ** (failures - 1))
            self._sleep(random.uniform(0, delay))  # full jitter


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
    flush = sub.add_parser("flush", help="upload pending scans")
    flush.add_argument("--queue", type=Path, required=True)
    flush.add_argument("--server", required=True)
    flush.add_argument("--device", required=True)
    flush.add_argument("--key", type=Path, required=True)
    flush.add_argument("--batch-size", type=int, default=200)
    flush.add_argument(
        "--max-retries", type=int, default=8, help="retries on network errors and 5xx (back-off)"
    )
    status = sub.add_parser("status", help="count pending and answered scans")
    status.add_argument("--queue", type=Path, required=True)
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
        with HandheldClient(args.queue, "", "", None) as client:
            answered = client.results()
            by_status: dict[str, int] = {}
            for result in answered.values():
                by_status[result["status"]] = by_status.get(result["status"], 0) + 1
            print(json.dumps({"pending": client.pending(), **by_status}))
        return 0
    key = args.key.read_bytes()
    with HandheldClient(
        args.queue,
        args.server,
        args.device,
        key,
        batch_size=args.batch_size,
        max_retries=args.max_retries,
    ) as client:
        try:
            report = client.flush()
        except HandheldError as exc:
            print(json.dumps({"error": str(exc), "pending": client.pending()}))
            return 1
        print(json.dumps(_report(report)))
    return 0


def _report(report: FlushReport) -> dict[str, int]:
    return {
        "accepted": report.accepted,
        "duplicate": report.duplicate,
        "rejected": report.rejected,
        "pending": report.pending,
    }


if __name__ == "__main__":
    sys.exit(main())
