"""``hopchain products image GTIN FILE`` and ``hopchain products list``: the pictures the
consumer's label page shows (issue 14).

- ``image GTIN FILE``: store FILE (PNG, JPEG or WebP, at most 2 MB) as the picture of
  the product GTIN, replacing any before; audited as a change by ``cli``
  (:func:`sightings.answer.set_product_image`). A bad GTIN or file exits 1 naming
  the field and what is wrong; nothing is stored.
- ``list [--missing]``: every product (GTIN, picture's media type and size or
  ``-``, name), one a line; ``--missing`` only those without a picture.
"""

from __future__ import annotations

import time
from pathlib import Path

import click

from web.cli import in_app_context

__all__ = ["COMMANDS"]

#: Who a change from the command line is recorded as.
_CLI_USER = "hopchain-cli"


@click.group("products")
def products_group() -> None:
    """Products as a label shows them: names and pictures."""


@products_group.command("image")
@click.argument("gtin")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@in_app_context
def image_command(gtin: str, file: Path) -> None:
    """Store FILE as the picture of the product GTIN (PNG, JPEG or WebP, at most 2 MB)."""
    import settlement
    from sightings.answer import MAX_IMAGE_BYTES, set_product_image
    from sightings.errors import SightingError
    from web.db import get_session

    with file.open("rb") as handle:
        data = handle.read(MAX_IMAGE_BYTES + 1)
    session = get_session()
    try:
        picture = set_product_image(
            session,
            gtin,
            data,
            actor=settlement.Actor(_CLI_USER, "admin"),
            now_ms=time.time_ns() // 1_000_000,
            source=f"cli {file.name}"[:300],
        )
    except SightingError as refused:
        session.rollback()
        field = "GTIN" if refused.field == "gtin" else str(file)
        raise click.ClickException(f"{field}: {refused}") from None
    session.commit()
    click.echo(
        f"{picture.gtin}: {picture.content_type}, {len(picture.data)} bytes, "
        f"sha256 {picture.sha256}"
    )


@products_group.command("list")
@click.option("--missing", is_flag=True, help="Only products without a picture.")
@in_app_context
def list_command(missing: bool) -> None:
    """Every product: GTIN, picture (media type and size, or -) and name."""
    from sightings.answer import product_images
    from web.db import get_session

    session = get_session()
    offset = 0
    while True:
        rows, total = product_images(session, offset=offset, limit=1000)
        for r in rows:
            if missing and r.image_sha256:
                continue
            picture = f"{r.image_type} {r.image_size}" if r.image_sha256 else "-"
            click.echo(f"{r.gtin}\t{picture}\t{r.name}")
        offset += len(rows)
        if not rows or offset >= total:
            break


COMMANDS = (products_group,)
