"""Shared by bench_scan_ingest.py and compare_scan_ingest.py: a served hopchain
instance, handheld devices with their keys, signed scan batches, and the clients
that post them concurrently.

The server is ``hopchain serve`` (waitress) in a process of its own on
127.0.0.1 and a free port, on a temporary instance (SQLite, or the PostgreSQL of
``HOPCHAIN_TEST_PG_URL`` in a fresh schema); the clients are threads of this
process, each one device with one keep-alive connection. Bodies are built and
signed before the clock starts: what is timed is what the server does (signature
check, parsing, ledger append) plus the HTTP round trip.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from benchmarks.ledger_setup import GTIN, T0, pg_url
from ledger import EntryKind, Hop, append_hops, ensure_signing_key, unit_key
from ledger.database import make_engine
from ledger.models import Party, Site
from scanners import PlannedHop, parse_scan_batch, register_device, to_hops
from web.db import init_database

REPO = Path(__file__).resolve().parents[1]
_SETUP_BATCH = 1000


@dataclass(frozen=True, slots=True)
class Client:
    """One handheld: its id and the signed bodies it will post, in order."""

    device_id: str
    bodies: list[tuple[bytes, str]]  # (raw body, X-Signature)


@dataclass(frozen=True, slots=True)
class IngestResult:
    seconds: float
    hops: int  # events answered accepted
    answers: dict[str, int]  # status -> count over every event
    cpu_seconds: float = 0.0  # CPU time of the process doing the work, when measured

    @property
    def rate(self) -> float:
        return self.hops / self.seconds


@contextmanager
def database_url(kind: str) -> Iterator[tuple[str, Path]]:
    """(database URL, instance folder) of an empty database of ``kind``."""
    with tempfile.TemporaryDirectory(prefix="hc-ingest-") as tmp:
        instance = Path(tmp) / "instance"
        instance.mkdir(mode=0o700)
        if kind == "sqlite":
            yield f"sqlite:///{instance / 'hopchain.db'}", instance
            return
        base = pg_url()
        if base is None:
            raise RuntimeError("no PostgreSQL answers; set HOPCHAIN_TEST_PG_URL")
        schema = f"hc_ingest_{uuid.uuid4().hex[:10]}"
        admin = create_engine(base, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
        try:
            yield url.render_as_string(hide_password=False), instance
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()


def prepare_database(url: str, instance: Path, devices: int) -> list[Ed25519PrivateKey]:
    """Migrate, make the signing key, the parties MFR and D1 and ``devices``
    handhelds of D1 (``HH-000``...); returns their private keys."""
    engine = make_engine(url)
    try:
        init_database(engine)
        ensure_signing_key(instance)
        keys = [Ed25519PrivateKey.generate() for _ in range(devices)]
        with Session(engine) as session:
            mfr = Party(code="MFR", name="Maker", kind="manufacturer")
            session.add_all([mfr, Party(code="D1", name="Dist 1", kind="distributor")])
            session.flush()
            session.add(Site(code="PLANT", name="Plant", party_id=mfr.id, lat_e6=1, lon_e6=1))
            session.flush()
            for i, key in enumerate(keys):
                public = base64.b64encode(key.public_key().public_bytes_raw()).decode()
                register_device(session, f"HH-{i:03d}", public, "D1")
            session.commit()
        return keys
    finally:
        engine.dispose()


def serials(start: int, count: int, tag: str = "S") -> list[str]:
    return [f"{tag}{i}" for i in range(start, start + count)]


def ship_to_d1(engine: Engine, units: Sequence[str]) -> None:
    """Commission ``units`` at the plant and ship them to D1 (not timed)."""
    keys = [unit_key(GTIN, s) for s in units]
    hops = [
        Hop(k, EntryKind.COMMISSIONING, "MFR", T0 + i, site="PLANT") for i, k in enumerate(keys)
    ] + [
        Hop(k, EntryKind.SHIPPING, "MFR", T0 + 10**6 + i, counterparty="D1")
        for i, k in enumerate(keys)
    ]
    for i in range(0, len(hops), _SETUP_BATCH):
        append_hops(engine, hops[i : i + _SETUP_BATCH])


def make_clients(
    keys: Sequence[Ed25519PrivateKey],
    units: Sequence[str],
    per_batch: int,
    *,
    seq_start: int = 0,
) -> list[Client]:
    """Split the receiving scans of ``units`` over the devices, ``per_batch`` events
    per signed body; device i takes the i-th share."""
    at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 60))
    shares: list[list[str]] = [[] for _ in keys]
    for i, serial in enumerate(units):
        shares[i % len(keys)].append(serial)
    clients = []
    for i, (key, share) in enumerate(zip(keys, shares, strict=True)):
        device = f"HH-{i:03d}"
        bodies = []
        for b in range(0, len(share), per_batch):
            events = [
                {
                    "device_seq": seq_start + b + j,
                    "scanned_at": at,
                    "kind": "receive",
                    "code": f"(01){GTIN}(21){serial}",
                    "counterparty": "MFR",
                }
                for j, serial in enumerate(share[b : b + per_batch])
            ]
            body = json.dumps({"device_id": device, "events": events}).encode()
            bodies.append((body, base64.b64encode(key.sign(body)).decode()))
        clients.append(Client(device, bodies))
    return clients


def same_hops(clients: Sequence[Client]) -> list[list[Hop]]:
    """The hops the server makes of each body (D1's devices have no site), per body,
    for appending them straight to a ledger."""
    now = time.time_ns() // 1_000_000
    out = []
    for client in clients:
        for body, _ in client.bodies:
            planned = to_hops(parse_scan_batch(body), "D1", None, now)
            out.append([p.hop for p in planned if isinstance(p, PlannedHop)])
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True, slots=True)
class Served:
    port: int
    pid: int


@contextmanager
def serve(url: str, instance: Path, *, threads: int = 8) -> Iterator[Served]:
    """``hopchain serve`` on 127.0.0.1 and a free port until the block ends."""
    port = free_port()
    env = {**os.environ, "HOPCHAIN_INSTANCE": str(instance), "HOPCHAIN_DATABASE_URL": url}
    log = (instance / "serve.log").open("wb")
    command = [sys.executable, "-c", "from web.cli import main; main()"]
    process = subprocess.Popen(
        [*command, "serve", "--port", str(port), "--threads", str(threads)],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                conn.request("GET", "/api/v1/health")
                if conn.getresponse().status == 200:
                    conn.close()
                    break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"hopchain serve did not start; see {instance / 'serve.log'}")
            time.sleep(0.1)
        yield Served(port, process.pid)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def post_concurrently(server: Served, clients: Sequence[Client]) -> IngestResult:
    """Every client posts its bodies in order on its own connection, all at once;
    the clock runs from the common start to the last answer. ``cpu_seconds`` is
    the server process's CPU time meanwhile."""
    port = server.port
    start = threading.Barrier(len(clients) + 1)
    answers: dict[str, int] = {}
    failures: list[str] = []
    lock = threading.Lock()

    def run(client: Client) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
        counts: dict[str, int] = {}
        start.wait()
        try:
            for body, signature in client.bodies:
                conn.request(
                    "POST",
                    "/api/v1/scans",
                    body=body,
                    headers={"Content-Type": "application/json", "X-Signature": signature},
                )
                response = conn.getresponse()
                data = response.read()
                if response.status != 200:
                    raise RuntimeError(f"{client.device_id}: {response.status} {data[:200]!r}")
                for result in json.loads(data)["results"]:
                    counts[result["status"]] = counts.get(result["status"], 0) + 1
        except Exception as exc:
            with lock:
                failures.append(str(exc))
        finally:
            conn.close()
            with lock:
                for status, n in counts.items():
                    answers[status] = answers.get(status, 0) + n

    threads = [threading.Thread(target=run, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    cpu = process_cpu_seconds(server.pid)
    start.wait()
    began = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - began
    cpu = process_cpu_seconds(server.pid) - cpu
    if failures:
        raise RuntimeError(f"{len(failures)} clients failed, first: {failures[0]}")
    return IngestResult(elapsed, answers.get("accepted", 0), answers, cpu)


def append_directly(engine: Engine, batches: Sequence[Sequence[Hop]]) -> IngestResult:
    """``append_hops`` of the same hops in the same batches, one after the other."""
    accepted = 0
    cpu = time.process_time()
    began = time.perf_counter()
    for hops in batches:
        accepted += sum(r.status == "accepted" for r in append_hops(engine, hops))
    elapsed = time.perf_counter() - began
    cpu = time.process_time() - cpu
    return IngestResult(elapsed, accepted, {"accepted": accepted}, cpu)
