"""``hopchain evidence KEY [--alert ID | --suspect ID] -o FILE.pdf``: the evidence pack."""

from __future__ import annotations

import getpass
import os
import tempfile
import time
from pathlib import Path

import click

from web.cli import in_app_context


@click.command("evidence")
@click.argument("key")
@click.option(
    "--alert",
    "alert_id",
    type=click.IntRange(1, 2**31 - 1),
    default=None,
    help="Scope the pack to this alert (the unit must be in its evidence).",
)
@click.option(
    "--suspect",
    "suspect_id",
    type=click.IntRange(1, 2**31 - 1),
    default=None,
    help="Scope the pack to this suspected alert about the unit.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Where to write the PDF (replaced whole, never half-written).",
)
@click.option(
    "--lang", default="en", show_default=True, help="Language of the printed text: en, zh or es."
)
@in_app_context
def evidence_command(
    key: str, alert_id: int | None, suspect_id: int | None, output: Path, lang: str
) -> None:  # fmt: skip
    """Write the evidence pack of unit KEY (01/{gtin14}/21/{serial} or 00/{sscc18}) as
    a PDF with evidence.json and the inspection photos attached: a third party checks
    every entry against the signed checkpoint without an account
    (docs/evidence-pack.md). Progress goes to stderr; exit 1 naming what is wrong."""
    from settlement.wording import supported_locale
    from sightings.errors import SightingError
    from sightings.evidence import evidence_pack
    from web.db import get_engine
    from web.i18n import document_words
    from web.signing import get_signer

    if alert_id is not None and suspect_id is not None:
        raise click.UsageError("give --alert or --suspect, not both")
    locale = supported_locale(lang)
    if locale is None:
        raise click.BadParameter(f"{lang!r} is not one of en, zh, es", param_hint="--lang")
    started = time.monotonic()

    def progress(line: str) -> None:
        click.echo(f"[{time.monotonic() - started:5.1f} s] {line}", err=True)

    try:
        pdf = evidence_pack(
            get_engine(),
            unit_key=key,
            alert_id=alert_id,
            suspect_id=suspect_id,
            signer=get_signer(),
            now_ms=int(time.time() * 1000),
            words=document_words(locale),
            generated_by=_who(),
            progress=progress,
        )
    except SightingError as exc:
        raise click.ClickException(str(exc)) from None
    output.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=output.parent, prefix=f".{output.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(pdf)
        os.replace(tmp, output)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    progress(f"wrote {output} ({len(pdf):,} bytes)")


def _who() -> str:
    """The operating-system user running the command, for the pack's cover."""
    try:
        return f"{getpass.getuser()} (hopchain evidence)"
    except (OSError, KeyError):  # no login name in a bare container
        return "hopchain evidence"


COMMANDS = (evidence_command,)
