"""Progress of a long command line command, on stderr (stdout keeps the command's result).

On a terminal each stage is a tqdm bar; otherwise (a log file, a pipe, cron, CI)
bars would be carriage-return noise, so each stage writes one line when it ends::

    verifying the ledger: 120,000 entries in 3.4 s

Used by ``demo``, ``ledger verify``, ``detect``, ``settle`` and ``import``.
"""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from tqdm import tqdm

__all__ = ["Progress", "Stages", "stage_line"]


def stage_line(text: str) -> None:
    """Write one line about a stage to stderr (flushed: logs show it before the stage runs)."""
    print(text, file=sys.stderr, flush=True)


class Progress:
    """One stage: ``update(done, total)`` as it goes, ``close()`` when it ends.

    ``desc`` names the stage ("verifying the ledger"), ``unit`` what is counted
    ("entries"). ``quiet`` shows nothing. ``stream`` defaults to ``sys.stderr``
    (read when the stage starts, so click's test runner captures it); a bar is
    drawn only when that stream is a terminal.
    """

    def __init__(
        self, desc: str, unit: str, *, quiet: bool = False, stream: TextIO | None = None
    ) -> None:
        self.desc = desc
        self.unit = unit
        self.done = 0
        self.total = 0
        self._quiet = quiet
        self._stream = stream if stream is not None else sys.stderr
        self._started = time.perf_counter()
        self._closed = False
        self._bar: tqdm[Any] | None = None
        if not quiet and self._stream.isatty():
            from tqdm import tqdm

            self._bar = tqdm(total=0, desc=desc, unit=unit, unit_scale=True, file=self._stream)

    def update(self, done: int, total: int) -> None:
        """``done`` of ``total`` (both counts of ``unit``; total may grow)."""
        self.done, self.total = done, total
        if self._bar is not None:
            self._bar.total = total
            self._bar.update(done - self._bar.n)

    def close(self) -> None:
        """End the stage: close the bar, or write its one line. Idempotent."""
        if self._closed:
            return
        self._closed = True
        if self._bar is not None:
            self._bar.close()
        elif not self._quiet:
            seconds = time.perf_counter() - self._started
            print(
                f"{self.desc}: {self.done:,} {self.unit} in {seconds:.1f} s",
                file=self._stream,
                flush=True,
            )


class Stages:
    """A command made of named stages (``names``, in order): call it with a stage's
    name as the stage begins, ``close()`` at the end.

    On a terminal a tqdm bar counts the stages and shows the current one; otherwise
    each stage writes one line as it begins (``detect [2/4]: locating entries in
    territories…``) and ``close()`` one line with the total time.
    """

    def __init__(
        self,
        desc: str,
        names: tuple[str, ...],
        *,
        quiet: bool = False,
        stream: TextIO | None = None,
    ) -> None:
        self.desc = desc
        self.names = names
        self.begun = 0
        self._closed = False
        self._quiet = quiet
        self._stream = stream if stream is not None else sys.stderr
        self._started = time.perf_counter()
        self._bar: tqdm[Any] | None = None
        if not quiet and self._stream.isatty():
            from tqdm import tqdm

            self._bar = tqdm(total=len(names), desc=desc, unit="stage", file=self._stream)

    def __call__(self, name: str) -> None:
        if self._bar is not None:
            self._bar.update(self.begun - self._bar.n)
            self._bar.set_description(f"{self.desc}: {name}")
        elif not self._quiet:
            print(
                f"{self.desc} [{self.begun + 1}/{len(self.names)}]: {name}…",
                file=self._stream,
                flush=True,
            )
        self.begun += 1

    def close(self, *, stopped: bool = False) -> None:
        """End: fill and close the bar, or write the total time (``settle: done in
        2.1 s``). ``stopped`` (the command failed part way) leaves the bar where it
        stopped and says ``settle: stopped after 2.1 s`` instead of "done"; the
        command's own error follows. Idempotent."""
        if self._closed:
            return
        self._closed = True
        seconds = time.perf_counter() - self._started
        if self._bar is not None:
            if not stopped:
                self._bar.update(len(self.names) - self._bar.n)
            self._bar.close()
            self._bar = None
        elif not self._quiet:
            end = f"stopped after {seconds:.1f} s" if stopped else f"done in {seconds:.1f} s"
            print(f"{self.desc}: {end}", file=self._stream, flush=True)
