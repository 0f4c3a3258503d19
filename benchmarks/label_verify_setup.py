"""Shared by compare_label_verify.py: a demo world on a temporary instance, the labels
phones scan in it, hopchain served by several waitress processes on one socket, the
clients that scan labels concurrently, and the in-process clock of database time.

- World: ``hopchain init`` and ``hopchain demo`` (real countries, distributors with
  territory grants, products with pictures) on SQLite or the PostgreSQL of
  ``HOPCHAIN_TEST_PG_URL`` in a fresh schema (:func:`benchmarks.scan_ingest_setup.database_url`).
- Server (:func:`serve_workers`): the parent binds one listening socket on
  127.0.0.1 and a free port and starts ``workers`` processes (``python -c``, this
  module's :func:`_worker_main`) that inherit it and each run ``waitress.serve`` with
  ``threads`` threads on it: the pre-fork model, where the kernel hands each new
  connection to whichever process accepts first, so the app uses every core. Each
  process builds its own app (:func:`web.create_app`) with the rate limits raised
  (:data:`BENCH_CONFIG`: every request comes from 127.0.0.1) and a known sighting
  token key, so the clients can hold one-time tokens made before the clock starts.
- Clients (:func:`scan_concurrently`, :func:`share_concurrently`): threads of this
  process, each one keep-alive connection, all started at once; a phone's scan is
  ``GET /01/{gtin}/21/{serial}`` (the resolver answers 307) and ``GET`` of the
  ``Location`` (the consumer's page ``label.verify``), or the page alone. No cookie
  is kept and the per-client counting window is lifted, so every view is a first
  view and is counted (the verification tally).
- Database share (:func:`database_share`): the same requests through Flask's test
  client in this process, one after the other, with SQLAlchemy's
  ``before_cursor_execute`` / ``after_cursor_execute`` events and the dialect's
  ``do_commit`` / ``do_rollback`` timed: seconds inside the database driver over
  seconds inside the request.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import event, select

from benchmarks.scan_ingest_setup import REPO, process_cpu_seconds
from ledger.database import make_engine
from ledger.ids import unit_key
from ledger.models import Unit

#: Config every served process and the in-process app get: rate limits far above
#: what the run sends (all clients share one address), a fixed sighting token key.
BENCH_CONFIG: dict[str, Any] = {
    "LABEL_VERIFY_LIMITS": "100000000 per minute",
    "LABEL_VERIFY_CODE_LIMITS": "100000000 per minute",
    "LABEL_SIGHTING_LIMITS": "100000000 per minute",
    "LABEL_SIGHTING_CODE_LIMITS": "100000000 per minute",
    # one address counts a code once a day; the clients all come from 127.0.0.1,
    # and every view of the benchmark is to be a counted one (a database write)
    "LABEL_VERIFY_COUNT_WINDOW": "100000000 per minute",
    "SIGHTING_TOKEN_SECRET": "compare_label_verify: the sighting token key",
    "SECURE_COOKIES": False,
}
#: Where the sightings are shared from, in turn (degrees): cities on five continents,
#: so some fall in a unit's market and most do not (suspected alerts are raised).
PLACES = (
    (48.8566, 2.3522),  # Paris
    (31.2304, 121.4737),  # Shanghai
    (-23.5505, -46.6333),  # São Paulo
    (-26.2041, 28.0473),  # Johannesburg
    (40.7128, -74.0060),  # New York
    (52.5200, 13.4050),  # Berlin
)
_FD_ENV = "HOPCHAIN_BENCH_LISTEN_FD"
_EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception)\b.*: ")
_THREADS_ENV = "HOPCHAIN_BENCH_THREADS"
_CONFIG_ENV = "HOPCHAIN_BENCH_CONFIG"


def _previous_month() -> str:
    now = datetime.now(UTC)
    year, month = (now.year, now.month - 1) if now.month > 1 else (now.year - 1, 12)
    return f"{year:04d}-{month:02d}"


def _env(url: str, instance: Path) -> dict[str, str]:
    return {
        **os.environ,
        "HOPCHAIN_INSTANCE": str(instance),
        "HOPCHAIN_DATABASE_URL": url,
        "HOPCHAIN_SECURE_COOKIES": "0",
    }


def _hopchain(url: str, instance: Path, *args: str) -> None:
    command = [sys.executable, "-c", "from web.cli import main; main()", *args]
    done = subprocess.run(
        command, cwd=REPO, env=_env(url, instance), capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"hopchain {' '.join(args)} exited {done.returncode}: {done.stderr[-2000:]}"
        )


def build_world(url: str, instance: Path, *, units: int, distributors: int) -> None:
    """``hopchain init`` and ``hopchain demo`` of ``units`` units and ``distributors``
    distributors over last month and this one, on the empty database ``url``."""
    _hopchain(url, instance, "init")
    _hopchain(url, instance, "demo", "--units", str(units), "--distributors",
              str(distributors), "--months", "2", "--start", _previous_month())  # fmt: skip


def labels(url: str, seed: int = 14) -> list[tuple[str, str]]:
    """Every serialized unit's ``(gtin, serial)``, in a shuffled order (``seed``)."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                select(Unit.gtin, Unit.serial)
                .where(Unit.gtin.is_not(None), Unit.serial.is_not(None))
                .order_by(Unit.id)
            ).all()
    finally:
        engine.dispose()
    found = [(str(g), str(s)) for g, s in rows]
    random.Random(seed).shuffle(found)
    return found


def unit_path(gtin: str, serial: str) -> str:
    """The Digital Link path a unit's QR code carries (``scanners.labels``)."""
    return f"/01/{gtin}/21/{serial}"


def page_path(gtin: str, serial: str) -> str:
    """The consumer's page (``label.verify``), where the resolver sends a phone."""
    return f"/label/01/{gtin}/21/{serial}"


# --- the served app -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Workers:
    port: int
    pids: tuple[int, ...]
    logs: tuple[Path, ...]

    def cpu_seconds(self) -> tuple[float, ...]:
        return tuple(process_cpu_seconds(pid) for pid in self.pids)

    def errors(self) -> list[str]:
        """The exceptions the served processes logged (``Name: words`` lines of their
        tracebacks), most frequent first, each with its count."""
        found: dict[str, int] = {}
        for log in self.logs:
            for line in log.read_text(errors="replace").splitlines():
                if _EXCEPTION_LINE.match(line):
                    found[line[:200]] = found.get(line[:200], 0) + 1
        return [f"{n} x {line}" for line, n in sorted(found.items(), key=lambda kv: -kv[1])]


def _worker_main() -> None:
    """One served process: the app on the inherited listening socket, with waitress."""
    import waitress  # type: ignore[import-untyped]

    from web import create_app

    listener = socket.socket(fileno=int(os.environ[_FD_ENV]))
    app = create_app(json.loads(os.environ[_CONFIG_ENV]))
    Path(app.instance_path, f"worker-ready-{os.getpid()}").touch()
    waitress.serve(app, sockets=[listener], threads=int(os.environ[_THREADS_ENV]), ident="hopchain")


@contextmanager
def serve_workers(url: str, instance: Path, *, workers: int, threads: int) -> Iterator[Workers]:
    """``workers`` waitress processes of ``threads`` threads on one socket of
    127.0.0.1 (see the module), until the block ends."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(1024)
    port = listener.getsockname()[1]
    env = {
        **_env(url, instance),
        _FD_ENV: str(listener.fileno()),
        _THREADS_ENV: str(threads),
        _CONFIG_ENV: json.dumps(BENCH_CONFIG),
    }
    logs = [(instance / f"worker-{n}.log").open("wb") for n in range(workers)]
    worker = "from benchmarks.label_verify_setup import _worker_main; _worker_main()"
    command = [sys.executable, "-c", worker]
    processes = [
        subprocess.Popen(
            command,
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            pass_fds=(listener.fileno(),),
        )
        for log in logs
    ]
    listener.close()  # the workers hold it now
    try:
        _wait_until_up(port, processes, instance)
        yield Workers(
            port,
            tuple(p.pid for p in processes),
            tuple(instance / f"worker-{n}.log" for n in range(workers)),
        )
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for log in logs:
            log.close()


def _wait_until_up(port: int, processes: Sequence[subprocess.Popen[bytes]], instance: Path) -> None:
    """Until every worker has built its app (its ready file) and the socket answers."""
    deadline = time.monotonic() + 120
    ready = [instance / f"worker-ready-{p.pid}" for p in processes]
    while not all(path.exists() for path in ready):
        if any(p.poll() is not None for p in processes) or time.monotonic() > deadline:
            raise RuntimeError(f"a served process did not start; see {instance}/worker-*.log")
        time.sleep(0.1)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/api/v1/health")
    status = conn.getresponse().status
    conn.close()
    if status != 200:
        raise RuntimeError(f"/api/v1/health answered {status}; see {instance}/worker-*.log")


# --- concurrent clients -------------------------------------------------------------------


@dataclass(slots=True)
class Timed:
    """A served pass: wall seconds from the common start to the last answer, what
    was done (scans or sightings), each one's latency (seconds), the answers by
    HTTP status, and the served processes' CPU seconds meanwhile."""

    seconds: float
    done: int
    latencies: list[float]
    statuses: dict[int, int]
    cpu_seconds: float = 0.0

    @property
    def rate(self) -> float:
        return self.done / self.seconds

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def _shares(items: Sequence[Any], clients: int) -> list[list[Any]]:
    shares: list[list[Any]] = [[] for _ in range(clients)]
    for i, item in enumerate(items):
        shares[i % clients].append(item)
    return [s for s in shares if s]


def _run_clients(
    server: Workers,
    shares: Sequence[Sequence[Any]],
    one: Callable[[http.client.HTTPConnection, Any], int],
) -> Timed:
    """Every client does ``one(conn, item)`` (returning the answer's status) for each
    of its items in order, on its own connection, all at once."""
    start = threading.Barrier(len(shares) + 1)
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    failures: list[str] = []
    lock = threading.Lock()

    def run(items: Sequence[Any]) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=300)
        mine: list[float] = []
        counts: dict[int, int] = {}
        start.wait()
        try:
            for item in items:
                began = time.perf_counter()
                status = one(conn, item)
                mine.append(time.perf_counter() - began)
                counts[status] = counts.get(status, 0) + 1
        except Exception as exc:
            with lock:
                failures.append(f"{type(exc).__name__}: {exc}")
        finally:
            conn.close()
            with lock:
                latencies.extend(mine)
                for status, n in counts.items():
                    statuses[status] = statuses.get(status, 0) + n

    threads = [threading.Thread(target=run, args=(share,)) for share in shares]
    for t in threads:
        t.start()
    cpu = sum(server.cpu_seconds())
    start.wait()
    began = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - began
    cpu = sum(server.cpu_seconds()) - cpu
    if failures:
        raise RuntimeError(f"{len(failures)} clients failed, first: {failures[0]}")
    return Timed(elapsed, statuses.get(200, 0), latencies, statuses, cpu)


def _get(conn: http.client.HTTPConnection, path: str) -> http.client.HTTPResponse:
    conn.request("GET", path, headers={"Accept": "text/html", "Accept-Language": "en"})
    response = conn.getresponse()
    response.read()
    return response


def _phone(conn: http.client.HTTPConnection, label: tuple[str, str]) -> int:
    first = _get(conn, unit_path(*label))
    if first.status != 307:
        raise RuntimeError(f"{unit_path(*label)}: {first.status}, not a 307 redirect")
    target = urlsplit(first.getheader("Location") or "")
    return _get(conn, target.path + (f"?{target.query}" if target.query else "")).status


def _page(conn: http.client.HTTPConnection, label: tuple[str, str]) -> int:
    return _get(conn, page_path(*label)).status


def scan_concurrently(
    server: Workers, scans: Sequence[tuple[str, str]], clients: int, *, via_resolver: bool
) -> Timed:
    """Each label of ``scans`` scanned once, spread over ``clients`` phones at once:
    through the resolver (307, then the page) or the page alone. ``done`` counts
    the pages answered 200; any other answer is in ``statuses``."""
    return _run_clients(server, _shares(scans, clients), _phone if via_resolver else _page)


@dataclass(frozen=True, slots=True)
class Share:
    """One sighting ready to post: the page's path, and the JSON body with its token."""

    path: str
    body: bytes


def sightings(labels_: Sequence[tuple[str, str]]) -> list[Share]:
    """A sighting of each label from :data:`PLACES` in turn, each with a one-time
    token made now with the served app's token key (as the page would hold one)."""
    from sightings.public import issue_token

    secret = str(BENCH_CONFIG["SIGHTING_TOKEN_SECRET"])
    now = time.time_ns() // 1_000_000
    made = []
    for i, (gtin, serial) in enumerate(labels_):
        lat, lon = PLACES[i % len(PLACES)]
        token = issue_token(secret, unit_key(gtin, serial), now)
        body = {"token": token, "lat": round(lat, 2), "lon": round(lon, 2), "consent": True}
        made.append(Share(page_path(gtin, serial) + "/sighting", json.dumps(body).encode()))
    return made


def _post(conn: http.client.HTTPConnection, share: Share) -> int:
    conn.request(
        "POST",
        share.path,
        body=share.body,
        headers={"Content-Type": "application/json", "Accept": "application/json"},
    )
    response = conn.getresponse()
    data = response.read()
    if response.status == 200 and not json.loads(data).get("recorded"):
        raise RuntimeError(f"{share.path}: 200 but not recorded: {data[:200]!r}")
    return response.status


def share_concurrently(server: Workers, shares: Sequence[Share], clients: int) -> Timed:
    """Each sighting posted once, spread over ``clients`` phones at once."""
    return _run_clients(server, _shares(shares, clients), _post)


# --- the database's share, in process -----------------------------------------------------


@dataclass(slots=True)
class DbShare:
    """Seconds inside requests and inside the database driver, per endpoint."""

    request_s: dict[str, float] = field(default_factory=dict)
    db_s: dict[str, float] = field(default_factory=dict)
    statements: dict[str, int] = field(default_factory=dict)
    requests: dict[str, int] = field(default_factory=dict)

    def share(self, *endpoints: str) -> float:
        names = endpoints or tuple(self.request_s)
        return sum(self.db_s[n] for n in names) / sum(self.request_s[n] for n in names)

    def add(self, endpoint: str, request_s: float, db_s: float, statements: int) -> None:
        self.request_s[endpoint] = self.request_s.get(endpoint, 0.0) + request_s
        self.db_s[endpoint] = self.db_s.get(endpoint, 0.0) + db_s
        self.statements[endpoint] = self.statements.get(endpoint, 0) + statements
        self.requests[endpoint] = self.requests.get(endpoint, 0) + 1


class _DbClock:
    """Seconds spent in the driver's ``execute`` (cursor events) and ``commit`` /
    ``rollback`` (the dialect's calls, wrapped), and the statements run."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.statements = 0
        self._started = 0.0

    def attach(self, engine: Any) -> None:
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)
        dialect = engine.dialect
        dialect.do_commit = self._timed(dialect.do_commit)
        dialect.do_rollback = self._timed(dialect.do_rollback)

    def _before(self, *_args: Any) -> None:
        self._started = time.perf_counter()

    def _after(self, *_args: Any) -> None:
        self.seconds += time.perf_counter() - self._started
        self.statements += 1

    def _timed(self, call: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            began = time.perf_counter()
            try:
                return call(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - began

        return timed


def database_share(
    url: str,
    instance: Path,
    scans: Sequence[tuple[str, str]],
    shares: Sequence[Share],
) -> DbShare:
    """The phone's two requests for each label of ``scans`` and the sightings
    ``shares``, through Flask's test client in this process, one after the other
    (no cookies kept); the database's seconds against the request's seconds, per
    endpoint (``resolver.unit``, ``label.verify``, ``label.sighting``). The first
    scan and the first sighting only warm the app up (templates, the territory
    lookup's compiled kernels) and are not counted."""
    from web import create_app
    from web.db import get_engine

    app = create_app({**BENCH_CONFIG, "DATABASE_URL": url, "INSTANCE_PATH": instance})
    clock = _DbClock()
    with app.app_context():
        clock.attach(get_engine())
    client = app.test_client(use_cookies=False)
    out = DbShare()
    headers = {"Accept": "text/html", "Accept-Language": "en"}

    def timed(
        endpoint: str, method: str, path: str, expect: int, counted: bool, **kwargs: Any
    ) -> Any:
        db, statements = clock.seconds, clock.statements
        began = time.perf_counter()
        response = client.open(path, method=method, **kwargs)
        elapsed = time.perf_counter() - began
        if response.status_code != expect:
            raise RuntimeError(f"{endpoint}: {response.status_code}, expected {expect}")
        if counted:
            out.add(endpoint, elapsed, clock.seconds - db, clock.statements - statements)
        return response

    try:
        for n, (gtin, serial) in enumerate(scans):
            first = timed(
                "resolver.unit", "GET", unit_path(gtin, serial), 307, n > 0, headers=headers
            )
            target = urlsplit(first.headers["Location"])
            path = target.path + (f"?{target.query}" if target.query else "")
            timed("label.verify", "GET", path, 200, n > 0, headers=headers)
        for n, share in enumerate(shares):
            timed(
                "label.sighting",
                "POST",
                share.path,
                200,
                n > 0,
                data=share.body,
                content_type="application/json",
            )
    finally:
        with app.app_context():
            get_engine().dispose()
    return out
