"""The reference handheld client against a stub of POST /api/v1/scans.

The stub verifies signatures with the device's public key, parses batches with the
real parser and answers like the API: ``accepted`` once per device_seq, then
``duplicate``. It can fail with 503, and can hold its answer after committing a
batch so a test can kill the client at the worst moment.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from scanners import (
    BatchFormatError,
    HandheldClient,
    HandheldError,
    generate_device_key,
    parse_scan_batch,
)

REPO = Path(__file__).resolve().parents[2]
CODE = "]d20109506000134352\x1d21S{n}"


class StubServer:
    def __init__(self, public_b64: str) -> None:
        self.public = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_b64))
        self.accepted: Counter[int] = Counter()
        self.fail_next = 0
        self.hold_after_batch: int | None = None  # hold the answer of this batch number
        self.held = threading.Event()
        self.release = threading.Event()
        self.batches = 0
        self.lock = threading.Lock()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                status, answer, hold = stub.answer(
                    self.path, body, self.headers.get("X-Signature", "")
                )
                if hold:
                    stub.held.set()
                    stub.release.wait(30)
                payload = json.dumps(answer).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:
                    pass  # the client was killed while we held the answer

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()

    def answer(self, path: str, body: bytes, signature: str) -> tuple[int, dict[str, object], bool]:
        if path != "/api/v1/scans":
            return 404, {"error": "not found"}, False
        with self.lock:
            if self.fail_next:
                self.fail_next -= 1
                return 503, {"error": "try later"}, False
            try:
                self.public.verify(base64.b64decode(signature), body)
            except (InvalidSignature, ValueError):
                return 401, {"error": "bad signature"}, False
            try:
                batch = parse_scan_batch(body)
            except BatchFormatError as exc:
                return 400, {"error": str(exc)}, False
            results: list[dict[str, object]] = []
            for ev in batch.events:  # all committed together
                status = "duplicate" if self.accepted[ev.device_seq] else "accepted"
                if status == "accepted":
                    self.accepted[ev.device_seq] += 1
                results.append(
                    {"device_seq": ev.device_seq, "status": status, "seqs": [ev.device_seq]}
                )
            results += [
                {"device_seq": r.device_seq, "status": "rejected", "reason": r.reason}
                for r in batch.rejections
            ]
            self.batches += 1
            hold = self.hold_after_batch == self.batches
        return 200, {"device_id": batch.device_id, "results": results}, hold

    def close(self) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def keys() -> tuple[bytes, str]:
    return generate_device_key()


@pytest.fixture
def server(keys: tuple[bytes, str]) -> Iterator[StubServer]:
    stub = StubServer(keys[1])
    yield stub
    stub.close()


def _client(tmp_path: Path, url: str, pem: bytes, **kw: object) -> HandheldClient:
    return HandheldClient(tmp_path / "queue.db", url, "HH-1", pem, **kw)  # type: ignore[arg-type]


def test_scans_queue_offline_and_upload_once(
    tmp_path: Path, server: StubServer, keys: tuple[bytes, str]
) -> None:
    with _client(tmp_path, server.url, keys[0], batch_size=4) as client:
        seqs = [client.enqueue(CODE.format(n=n), "receive", "ACME") for n in range(10)]
        bad = client.enqueue("0109506000134353211", "receive")
        assert seqs == sorted(seqs) and len(set(seqs)) == 10
        assert client.pending() == 11
        report = client.flush()
        assert (report.accepted, report.duplicate, report.rejected, report.pending) == (10, 0, 1, 0)
        assert client.results()[bad]["reason"].startswith("code: GTIN")
        assert client.flush().accepted == 0  # nothing left to send
    assert set(server.accepted) == set(seqs) and set(server.accepted.values()) == {1}
    with _client(tmp_path, server.url, keys[0]) as reopened:  # seqs keep growing
        assert reopened.enqueue(CODE.format(n=99), "ship") > max([*seqs, bad])


def test_unknown_kinds_are_refused_at_the_scanner(tmp_path: Path, keys: tuple[bytes, str]) -> None:
    with (
        _client(tmp_path, "http://127.0.0.1:9", keys[0]) as client,
        pytest.raises(ValueError, match="unknown kind"),
    ):
        client.enqueue(CODE.format(n=1), "teleport")


def test_server_errors_are_retried_with_growing_jittered_back_off(
    tmp_path: Path, server: StubServer, keys: tuple[bytes, str]
) -> None:
    waits: list[float] = []
    server.fail_next = 4
    with _client(
        tmp_path, server.url, keys[0], sleep=waits.append, backoff_base_s=1.0, backoff_cap_s=5.0
    ) as client:
        client.enqueue(CODE.format(n=1), "receive")
        assert client.flush().accepted == 1
    assert len(waits) == 4
    assert all(0 <= w <= cap for w, cap in zip(waits, [1, 2, 4, 5], strict=True))


def test_an_unreachable_server_leaves_scans_queued(tmp_path: Path, keys: tuple[bytes, str]) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    waits: list[float] = []
    with _client(
        tmp_path, f"http://127.0.0.1:{port}", keys[0], sleep=waits.append, max_retries=3
    ) as client:
        client.enqueue(CODE.format(n=1), "receive")
        with pytest.raises(HandheldError, match="giving up after 4 attempts: network error"):
            client.flush()
        assert client.pending() == 1 and len(waits) == 3


def test_a_refused_batch_is_not_retried_and_stays_queued(
    tmp_path: Path, server: StubServer
) -> None:
    other_pem, _ = generate_device_key()  # not the key the server knows
    with _client(tmp_path, server.url, other_pem) as client:
        client.enqueue(CODE.format(n=1), "receive")
        with pytest.raises(HandheldError, match="401"):
            client.flush()
        assert client.pending() == 1
    assert not server.accepted


def test_killed_mid_flush_then_restarted_loses_nothing_and_records_nothing_twice(
    tmp_path: Path, server: StubServer, keys: tuple[bytes, str]
) -> None:
    pem, _ = keys
    key_file = tmp_path / "device.pem"
    key_file.write_bytes(pem)
    with _client(tmp_path, server.url, pem) as client:
        seqs = [client.enqueue(CODE.format(n=n), "receive", "ACME") for n in range(23)]
    server.hold_after_batch = 2  # the server commits batch 2, then the client dies waiting
    child = subprocess.Popen(
        [sys.executable, "-m", "scanners.handheld", "flush", "--queue", str(tmp_path / "queue.db"),
         "--server", server.url, "--device", "HH-1", "--key", str(key_file), "--batch-size", "5"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        assert server.held.wait(60), "the client never sent a second batch"
        os.kill(child.pid, signal.SIGKILL)
        child.wait(30)
    finally:
        if child.poll() is None:
            child.kill()
        server.release.set()
    assert child.returncode == -signal.SIGKILL
    assert len(server.accepted) == 10  # two batches stored, the second never acknowledged

    with _client(tmp_path, server.url, pem, batch_size=5) as client:
        assert client.pending() == 18  # batch 1 was marked done, batch 2 was not
        report = client.flush()
        assert (report.duplicate, report.accepted, report.pending) == (5, 13, 0)
        assert set(client.results()) == set(seqs)
    assert set(server.accepted) == set(seqs)
    assert set(server.accepted.values()) == {1}  # none accepted twice


def test_a_scan_acknowledged_by_enqueue_survives_a_kill(tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "from scanners.handheld import HandheldClient\n"
        f"c = HandheldClient({str(tmp_path / 'queue.db')!r}, 'http://127.0.0.1:9', 'HH-1', None)\n"
        "for n in range(100000):\n"
        "    print(c.enqueue(f'0109506000134352' + '21S' + str(n), 'receive'), flush=True)\n"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", script], cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None
    acknowledged = [int(child.stdout.readline()) for _ in range(40)]
    os.kill(child.pid, signal.SIGKILL)
    child.wait(30)
    with _client(tmp_path, "http://127.0.0.1:9", None) as client:  # type: ignore[arg-type]
        assert client.pending() >= 40
    with sqlite3.connect(tmp_path / "queue.db") as db:
        queued = {seq for (seq,) in db.execute("SELECT device_seq FROM scans")}
    assert set(acknowledged) <= queued


def test_the_command_line_queues_uploads_and_reports(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from scanners import handheld_main

    key_file, queue = tmp_path / "hh.pem", str(tmp_path / "q.db")
    assert handheld_main(["keygen", str(key_file)]) == 0
    public_b64 = capsys.readouterr().out.strip()
    stub = StubServer(public_b64)
    try:
        codes = [CODE.format(n=1), CODE.format(n=2)]
        assert (
            handheld_main(
                ["scan", "--queue", queue, "--kind", "ship", "--counterparty", "ACME", *codes]
            )
            == 0
        )
        assert [
            json.loads(line)["device_seq"] for line in capsys.readouterr().out.splitlines()
        ] == [1, 2]
        flush = [
            "flush",
            "--queue",
            queue,
            "--server",
            stub.url,
            "--device",
            "HH-1",
            "--key",
            str(key_file),
        ]
        assert handheld_main(flush) == 0
        dead = {"dead_letter": 0, "dead_letter_path": queue + ".dead.jsonl"}
        assert json.loads(capsys.readouterr().out) == {
            "accepted": 2,
            "duplicate": 0,
            "rejected": 0,
            "conflict": 0,
            "refused": 0,
            "resynced": 0,
            "pending": 0,
            "dead_lettered": 0,
            **dead,
        }
        assert handheld_main(["status", "--queue", queue]) == 0
        assert json.loads(capsys.readouterr().out) == {"pending": 0, "accepted": 2, **dead}
    finally:
        stub.close()
    assert handheld_main(["scan", "--queue", queue, "--kind", "ship", CODE.format(n=3)]) == 0
    capsys.readouterr()
    assert handheld_main([*flush, "--max-retries", "0"]) == 1  # server gone: error JSON, scan kept
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["pending"] == 1 and "network error" in out["error"]
