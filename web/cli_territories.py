"""``hopchain territories import | list | grants | grant | end | map``.

- ``import FILE [--strict]``: a GeoJSON FeatureCollection, all or nothing; a bad
  feature exits 1 naming the feature and the reason, and nothing is stored.
  Self-intersecting (OGC-invalid) polygons are repaired with GEOS ``make_valid``
  and each repair is printed; ``--strict`` refuses them instead, naming each.
- ``list``: stored territories (code, level, parent, name), one a line.
- ``grants [--party CODE]``: territory grants with their validity and the number
  of the signed agreement that made each.
- ``grant`` / ``end``: refused (exit 1) with :data:`FROM_AGREEMENTS`: grants come
  only from signed agreements (``partners.in_force``), changed by a supplementary
  agreement, ended by a termination.
- ``map [--party CODE] [--month YYYY-MM] --out FILE.png|FILE.svg``: the party's
  zone and the month's scans of its units, in zone (green) or not (red).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import click

import settlement
from web.cli import in_app_context

__all__ = ["COMMANDS", "FROM_AGREEMENTS"]

#: What ``territories grant`` and ``territories end`` answer (exit 1).
FROM_AGREEMENTS = (
    "grants come from signed agreements: draft a supplementary agreement "
    "(`hopchain agreements list --party CODE` shows a party's agreements; the Agreements page or "
    "POST /api/v1/agreements drafts one) to grant or move a territory, and terminate "
    "the agreement to end its grants"
)


def _date(ms: int | None) -> str:
    from ledger.times import format_day

    return "open" if ms is None else format_day(ms)


@click.group("territories")
def territories_group() -> None:
    """Territories (GeoJSON), their grants to parties, and zone maps."""


@territories_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--strict",
    is_flag=True,
    help="Refuse invalid (e.g. self-intersecting) polygons instead of repairing them.",
)
@in_app_context
def import_command(file: Path, strict: bool) -> None:
    """Import a GeoJSON FeatureCollection; features replace stored ones by code.

    Each feature needs properties ``code`` and ``name``, optionally ``parent``
    (a code in the file or stored) and ``level``. A polygon that is invalid in
    the OGC sense (self-intersection, ring self-intersection, ...) is repaired
    as GEOS ``make_valid`` does, keeping its polygonal parts, and each repaired
    feature is printed with GEOS's reason. With ``--strict`` any invalid polygon
    exits 1 naming every invalid feature. Any other bad feature exits 1 naming
    it. Nothing is stored when the exit status is 1.
    """
    import geo
    from web.db import get_session

    try:
        fc = json.loads(file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise click.ClickException(f"{file}: not a JSON file ({exc})") from None
    if not isinstance(fc, dict):
        raise click.ClickException(f"{file}: a FeatureCollection must be a JSON object")
    session = get_session()
    try:
        report = geo.import_feature_collection(session, fc, repair=not strict)
    except geo.TerritoryError as exc:
        session.rollback()
        raise click.ClickException(f"{file}: {exc}; nothing was imported") from None
    session.commit()
    for r in report.repaired:
        click.echo(f"{file}: repaired invalid geometry of {r}")
    click.echo(f"{file}: {len(report.created)} territories created, {len(report.updated)} updated")


@territories_group.command("list")
@in_app_context
def list_command() -> None:
    """Stored territories: code, level, parent and name, tab-separated, as a tree."""
    import geo
    from web.db import get_session

    def show(nodes: tuple[geo.TerritoryNode, ...] | list[geo.TerritoryNode], depth: int) -> None:
        for node in nodes:
            click.echo(
                f"{'  ' * depth}{node.code}\t{node.level}\t{node.parent or '-'}\t{node.name}"
            )
            show(node.children, depth + 1)

    tree = geo.territory_tree(get_session())
    if not tree:
        click.echo("no territories stored: hopchain territories import FILE")
    show(tree, 0)


@territories_group.command("grants")
@click.option("--party", default=None, help="Only this party's grants (its code).")
@in_app_context
def grants_command(party: str | None) -> None:
    """Territory grants: id, party, territory, from, to (exclusive), status and the
    agreement that made it ("-" for a grant older than agreements)."""
    from web.db import get_engine

    engine = get_engine()
    grants = settlement.list_grants(engine)
    if party is not None:
        grants = [g for g in grants if g.party_code == party]
    now = int(datetime.now(UTC).timestamp() * 1000)
    for g in grants:
        click.echo(
            f"{g.id}\t{g.party_code}\t{g.territory_code}\t{_date(g.valid_from_ms)}"
            f"\t{_date(g.valid_to_ms)}\t{g.status(now)}\t{g.agreement_number or '-'}"
        )
    if not grants:
        click.echo("no grants" + (f" for {party}" if party else ""))


@territories_group.command(
    "grant", context_settings={"ignore_unknown_options": True, "allow_extra_args": True}
)
def grant_command() -> None:
    """Refused: grants come from signed agreements (a supplementary agreement)."""
    raise click.ClickException(FROM_AGREEMENTS)


@territories_group.command(
    "end", context_settings={"ignore_unknown_options": True, "allow_extra_args": True}
)
def end_command() -> None:
    """Refused: a grant ends when its agreement is terminated or superseded."""
    raise click.ClickException(FROM_AGREEMENTS)


@territories_group.command("map")
@click.option("--party", default=None, help="Highlight this party's zone and show its scans.")
@click.option("--month", default=None, help="YYYY-MM (default: the month of the newest scan).")
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="FILE.png or FILE.svg",
)
@click.option("--width", default=1200, show_default=True, type=click.IntRange(200, 6000))
@in_app_context
def map_command(party: str | None, month: str | None, out: Path, width: int) -> None:
    """Draw the territories; with --party, its scans in zone (green) and out of zone (red)."""
    from web.db import get_engine

    fmt = out.suffix.lower().lstrip(".")
    if fmt not in ("png", "svg"):
        raise click.ClickException(f"--out must end in .png or .svg, not {out.name!r}")
    if month is not None and party is None:
        raise click.ClickException("--month needs --party: the scans shown are a party's")
    try:
        zone_map = settlement.party_zone_map(get_engine(), party, month, fmt=fmt, width_px=width)
    except settlement.SettlementError as exc:
        raise click.ClickException(str(exc)) from None
    out.write_bytes(zone_map.image)
    scans = zone_map.scans
    if scans is None:
        click.echo(f"{out}: territories")
        return
    click.echo(
        f"{out}: {scans.party_code} {scans.period}, zone {', '.join(scans.zone) or '(none)'}: "
        f"{scans.total} scans of {scans.units} units, {scans.n_in_zone} in zone, "
        f"{scans.n_out_of_zone} out of zone"
    )


COMMANDS = (territories_group,)
