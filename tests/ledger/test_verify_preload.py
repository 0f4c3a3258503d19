"""What the forkserver of ``verify --jobs`` loads (:mod:`ledger.verify_preload`) is
what the workers then use, and leaves the server safe to fork from.

Each check runs in a fresh interpreter: the test process has loaded the compiled
loops and started polars' threads long before."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from ledger import LedgerSigner
from tests.ledger.conftest import Network

ROOT = Path(__file__).resolve().parents[2]


def _python(script: str, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.strip()


def test_a_verification_needs_no_compiled_version_beyond_the_preloaded(
    network: Network, signer: LedgerSigner
) -> None:
    """After the preload, verifying a real ledger over columns calls each compiled
    loop (leaf bytes, scan digests, custody) with the argument types the preload
    used: no loop gets a second version, which a worker would load (or compile)
    on its first chunk."""
    from tests.ledger.test_verify_tamper import _build

    _build(network, signer)
    url = network.engine.url.render_as_string(hide_password=False)
    out = _python(
        """
        import sys
        import ledger.verify_preload
        from ledger import encode_jit, custody_columns, verify_ledger
        from ledger.database import make_engine

        loops = (encode_jit.build, encode_jit.build_digests, custody_columns._kernel())
        before = [len(f.signatures) for f in loops]
        report = verify_ledger(
            make_engine(sys.argv[1]), sys.argv[2], bytes.fromhex(sys.argv[3]), columns=True
        )
        after = [len(f.signatures) for f in loops]
        print(before, after, report.entries)
        """,
        url,
        signer.name,
        signer.public_key.hex(),
    )
    versions, entries = out.rsplit(" ", 1)
    assert int(entries) > 0
    assert versions == "[1, 1, 1] [1, 1, 1]", f"compiled versions before, after: {versions}"


def test_a_process_forked_after_the_preload_runs_polars() -> None:
    """The preload must not start polars' thread pool: a worker forked from a
    process whose pool has run waits forever on its first parallel step."""
    out = _python(
        """
        import os, signal, time
        import ledger.verify_preload
        pid = os.fork()
        if pid == 0:
            import polars as pl
            frame = pl.DataFrame({"a": list(range(200_000)), "b": [1] * 200_000})
            total = frame.group_by("b").agg(pl.col("a").sum())["a"][0]
            os._exit(0 if total == 199_999 * 200_000 // 2 else 3)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                print("exit", os.waitstatus_to_exitcode(status))
                break
            time.sleep(0.05)
        else:
            os.kill(pid, signal.SIGKILL)
            print("hung")
        """
    )
    assert out == "exit 0"
