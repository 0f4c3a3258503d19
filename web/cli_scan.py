"""``hopchain scan``, ``labels``, ``device`` and ``handheld``: scanners from the shell.

- ``hopchain scan parse STRING`` / ``hopchain scan decode IMAGE...`` print JSON;
  invalid input exits 1 with ``{"error": ...}``.
- ``hopchain labels --gtin G --count N`` (fresh serials) or ``--serials 100-199``,
  or ``--company-prefix P --count N`` (SSCC labels): writes PDF and PNG sheets.
- ``hopchain device register|revoke|list``: handheld devices and their keys.
- ``hopchain handheld keygen|scan|flush|status``: the reference offline handheld.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal, cast

import click

from web.cli import in_app_context

# scanners is imported inside each command: `hopchain --help` loads none of it, and
# `scan parse` never loads the label printer (reportlab), the image decoders or the
# database layer.

__all__ = ["COMMANDS"]


def _print_json(value: Any) -> None:
    click.echo(json.dumps(value, ensure_ascii=False, indent=2))


@click.group("scan")
def scan_group() -> None:
    """Read what a scanner saw: a scanned string or photos of labels."""


@scan_group.command("parse")
@click.argument("text")
@click.pass_context
def scan_parse(ctx: click.Context, text: str) -> None:
    """Parse a GS1 element string, HRI, Digital Link URL, GTIN, SSCC or EPC URN."""
    from scanners import parse_command

    status, result = parse_command(text)
    _print_json(result)
    ctx.exit(status)


@scan_group.command("decode")
@click.argument("images", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.pass_context
def scan_decode(ctx: click.Context, images: tuple[str, ...]) -> None:
    """Every barcode in each image, as a JSON list (one object per code found)."""
    from scanners import decode_command

    status, results = decode_command(images)
    _print_json(results)
    ctx.exit(status)


@click.command("labels")
@click.option("--gtin", default=None, help="Unit labels for this GTIN.")
@click.option("--serials", default=None, help='Serials to print: "100-199" or "A1,A2,A3".')
@click.option(
    "--count",
    default=None,
    type=click.IntRange(1, 100_000),
    help="Fresh serials or SSCCs to allocate.",
)
@click.option("--company-prefix", default=None, help="SSCC labels for this GS1 company prefix.")
@click.option(
    "--symbology",
    default="gs1-128",
    show_default=True,
    type=click.Choice(["gs1-128", "qr"]),
    help="SSCC labels: GS1-128 or QR (Digital Link).",
)
@click.option(
    "--domain",
    default=None,
    help=(
        "Resolver root printed in QR codes' Digital Links (default: HOPCHAIN_RESOLVER_ROOT, "
        "the resolver this server runs; unset: scanners.DEFAULT_DOMAIN, which resolves nowhere)."
    ),
)
@click.option(
    "--out",
    "out_dir",
    default=".",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for the sheets.",
)
@click.option(
    "--basename", default="labels", show_default=True, help="File name stem of the sheets."
)
@in_app_context
def labels(
    gtin: str | None,
    serials: str | None,
    count: int | None,
    company_prefix: str | None,
    symbology: str,
    domain: str | None,
    out_dir: Path,
    basename: str,
) -> None:  # fmt: skip
    """Print label sheets (PDF and PNG); fresh serials are never handed out twice.

    QR codes hold GS1 Digital Links on the resolver root (``--domain``, else the
    app's ``RESOLVER_ROOT`` from ``HOPCHAIN_RESOLVER_ROOT``), so a printed code
    resolves on this server (:mod:`web.label.resolver`)."""
    from flask import current_app

    from scanners import SerialError, labels_command, serial_range
    from web.db import get_session

    if (gtin is None) == (company_prefix is None):
        raise click.UsageError("give --gtin (unit labels) or --company-prefix (SSCC labels)")
    if domain is None:  # unset too: scanners.DEFAULT_DOMAIN (docs/resolver.md says to set it)
        domain = current_app.config.get("RESOLVER_ROOT")
    try:
        serial_list = serial_range(serials) if serials is not None else None
        paths = labels_command(
            get_session(),
            out_dir,
            gtin=gtin,
            count=count,
            serials=serial_list,
            company_prefix=company_prefix,
            symbology=cast(Literal["gs1-128", "qr"], symbology),
            domain=domain,
            basename=basename,
        )
    except (ValueError, SerialError) as exc:
        raise click.ClickException(str(exc)) from None
    for path in paths:
        click.echo(str(path))


@click.group("device")
def device_group() -> None:
    """Handheld scanners allowed to upload batches (POST /api/v1/scans)."""


@device_group.command("register")
@click.argument("device_id")
@click.option(
    "--public-key",
    required=True,
    help="base64 Ed25519 public key (hopchain handheld keygen prints it).",
)
@click.option("--party", required=True, help="Code of the party that owns the device.")
@click.option("--site", default=None, help="Code of the site (of that party) where it works.")
@click.option("--name", default="", help="A name people recognise.")
@in_app_context
def device_register(device_id: str, public_key: str, party: str, site: str | None, name: str) -> None:  # fmt: skip
    """Register a device: its uploads are then recorded for PARTY (at SITE)."""
    from scanners import DeviceError, register_device
    from web.db import get_session

    session = get_session()
    try:
        register_device(session, device_id, public_key, party, site, name=name)
    except DeviceError as exc:
        session.rollback()
        raise click.ClickException(str(exc)) from None
    session.commit()
    where = f" at {site}" if site else ""
    click.echo(f"device {device_id} registered for {party}{where}")


@device_group.command("revoke")
@click.argument("device_id")
@in_app_context
def device_revoke(device_id: str) -> None:
    """Refuse the device's uploads from now on (what it stored stays)."""
    from scanners import DeviceError, revoke_device
    from web.db import get_session

    session = get_session()
    try:
        revoke_device(session, device_id)
    except DeviceError as exc:
        session.rollback()
        raise click.ClickException(str(exc)) from None
    session.commit()
    click.echo(f"device {device_id} revoked")


def _date(ms: int) -> str:
    from ledger.times import format_ms

    return format_ms(ms, "%Y-%m-%d %H:%M")


@device_group.command("list")
@in_app_context
def device_list() -> None:
    """Devices: id, party, site, status, registered, name (tab-separated)."""
    from scanners import list_devices
    from web.db import get_session

    for d in list_devices(get_session()):
        state = f"revoked {_date(d.revoked_ms)}" if d.revoked_ms is not None else "active"
        click.echo(
            f"{d.device_id}\t{d.party}\t{d.site or '-'}\t{state}\t{_date(d.registered_ms)}\t{d.name}"
        )


@click.command(
    "handheld",
    context_settings={"ignore_unknown_options": True, "help_option_names": []},
    add_help_option=False,
)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
@click.pass_context
def handheld(ctx: click.Context, args: tuple[str, ...]) -> None:
    """The reference offline handheld: keygen, scan, flush, status (--help for more)."""
    from scanners import handheld_main

    ctx.exit(handheld_main(list(args)))


COMMANDS: tuple[click.Command, ...] = (scan_group, labels, device_group, handheld)
