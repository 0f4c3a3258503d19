"""``hopchain territories``: import (all or nothing), list, grants (with their
agreements), grant and end (refused: grants come from agreements), map."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import _territories_world as w
from click.testing import Result
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

import geo
import settlement
from tests.agreement_support import terminate

RunCli = Callable[..., Result]


def _write(tmp_path: Path, name: str, fc: dict[str, Any]) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(fc), encoding="utf-8")
    return str(path)


def _stored(engine: Engine) -> int:
    with Session(engine) as s:
        return int(s.scalar(select(func.count()).select_from(geo.TerritoryRow)) or 0)


def test_import_creates_then_updates_and_lists(
    run_cli: RunCli, engine: Engine, tmp_path: Path
) -> None:
    path = _write(tmp_path, "world.geojson", w.world_fc())
    first = run_cli("territories", "import", path)
    assert first.exit_code == 0, first.output
    assert "3 territories created, 0 updated" in first.output
    again = run_cli("territories", "import", path)
    assert again.exit_code == 0, again.output
    assert "0 territories created, 3 updated" in again.output
    assert _stored(engine) == 3

    listing = run_cli("territories", "list")
    assert listing.exit_code == 0, listing.output
    lines = listing.output.splitlines()
    assert lines[0] == "NORTH\tregion\t-\tThe North"
    assert "  AA\tcountry\tNORTH\tAland" in lines
    assert "  BB\tcountry\tNORTH\tBland" in lines


def test_invalid_geometry_exits_1_naming_the_feature_and_stores_nothing(
    run_cli: RunCli, engine: Engine, tmp_path: Path
) -> None:
    path = _write(tmp_path, "bad.geojson", w.bad_fc())
    result = run_cli("territories", "import", "--strict", path)
    assert result.exit_code == 1
    assert "feature 1 (BAD)" in result.output
    assert "Self-intersection" in result.output
    assert "nothing was imported" in result.output
    assert _stored(engine) == 0  # not even feature 0, which was valid


def test_a_file_that_is_not_json_names_the_file(run_cli: RunCli, tmp_path: Path) -> None:
    path = tmp_path / "broken.geojson"
    path.write_text("{not json", encoding="utf-8")
    result = run_cli("territories", "import", str(path))
    assert result.exit_code == 1
    assert "broken.geojson: not a JSON file" in result.output


def test_grants_list_the_agreement_and_grant_and_end_are_refused(
    run_cli: RunCli, world: dict[str, int], engine: Engine
) -> None:
    terminate(engine, "AG-D1", w.ms(2026, 3, 1, 0))
    listing = run_cli("territories", "grants", "--party", "D1")
    assert listing.exit_code == 0, listing.output
    (grant_id,) = [g.id for g in settlement.list_grants(engine) if g.party_code == "D1"]
    assert listing.output.splitlines() == [
        f"{grant_id}\tD1\tAA\t2026-01-01\t2026-03-01\tended\tAG-D1"
    ]
    before = settlement.list_grants(engine)
    for args in (
        ("grant", "D2", "AA", "--from", "2026-01-01"),
        ("grant", "D1", "BB"),
        ("end", str(grant_id), "--on", "2026-04-01"),
    ):
        refused = run_cli("territories", *args)
        assert refused.exit_code == 1, refused.output
        assert "grants come from signed agreements: draft a supplementary agreement" in (
            refused.output
        )
    assert settlement.list_grants(engine) == before


def test_map_counts_the_party_s_scans(
    run_cli: RunCli, world: dict[str, int], tmp_path: Path
) -> None:
    out = tmp_path / "d1.png"
    result = run_cli("territories", "map", "--party", "D1", "--month", w.MONTH, "--out", str(out))
    assert result.exit_code == 0, result.output
    assert (
        f"{w.IN_ZONE + w.OUT_OF_ZONE} scans of 4 units, {w.IN_ZONE} in zone, "
        f"{w.OUT_OF_ZONE} out of zone"
    ) in result.output
    assert out.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")

    svg = tmp_path / "all.svg"
    plain = run_cli("territories", "map", "--out", str(svg))
    assert plain.exit_code == 0, plain.output
    assert b"<svg" in svg.read_bytes()

    wrong = run_cli("territories", "map", "--party", "D1", "--out", str(tmp_path / "x.gif"))
    assert wrong.exit_code == 1
    assert "--out must end in .png or .svg" in wrong.output
