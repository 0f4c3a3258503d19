"""hopchain scan parse/decode, device register/list/revoke, labels, handheld."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import qrcode
from click.testing import Result
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from scanners import generate_device_key, get_device

RunCli = Callable[..., Result]


def test_scan_parse_prints_json_and_fails_on_invalid_input(run_cli: RunCli) -> None:
    ok = run_cli("scan", "parse", "(01)09506000134352(21)A1B2")
    assert ok.exit_code == 0
    assert json.loads(ok.output)["key"] == "01/09506000134352/21/A1B2"
    bad = run_cli("scan", "parse", "(01)09506000134353(21)A1B2")
    assert bad.exit_code == 1
    assert "check digit" in json.loads(bad.output)["error"]


def test_scan_decode_reads_every_image(run_cli: RunCli, tmp_path: Path) -> None:
    label = tmp_path / "label.png"
    qrcode.make("https://id.gs1.org/01/09506000134352/21/XY9", box_size=6).save(label)
    blank = tmp_path / "blank.txt"
    blank.write_text("not an image")
    ok = run_cli("scan", "decode", str(label))
    assert ok.exit_code == 0
    (found,) = json.loads(ok.output)
    assert (found["image"], found["key"]) == (str(label), "01/09506000134352/21/XY9")
    bad = run_cli("scan", "decode", str(label), str(blank))
    assert bad.exit_code == 1
    results = json.loads(bad.output)
    assert results[-1]["image"] == str(blank) and "error" in results[-1]


def test_device_register_list_and_revoke(
    run_cli: RunCli, engine: Engine, make_party: Callable[..., int]
) -> None:
    make_party("DIST-A")
    _, public_b64 = generate_device_key()
    added = run_cli("device", "register", "HH-7", "--public-key", public_b64, "--party", "DIST-A", "--name", "Dock 7")  # fmt: skip
    assert added.exit_code == 0, added.output
    assert "HH-7 registered for DIST-A" in added.output
    twice = run_cli("device", "register", "HH-7", "--public-key", public_b64, "--party", "DIST-A")
    assert twice.exit_code == 1
    assert "already registered" in twice.output
    unknown = run_cli("device", "register", "HH-8", "--public-key", public_b64, "--party", "NOPE")
    assert unknown.exit_code == 1 and "unknown party" in unknown.output
    listed = run_cli("device", "list")
    assert listed.output.splitlines()[0].split("\t")[:4] == ["HH-7", "DIST-A", "-", "active"]
    assert run_cli("device", "revoke", "HH-7").exit_code == 0
    assert "\trevoked " in run_cli("device", "list").output
    with Session(engine) as session:
        device = get_device(session, "HH-7")
        assert device is not None and device.revoked and device.name == "Dock 7"
    assert run_cli("device", "revoke", "HH-404").exit_code == 1


def test_labels_allocates_serials_and_prints_the_files(run_cli: RunCli, tmp_path: Path) -> None:
    out = tmp_path / "sheets"
    printed = run_cli("labels", "--gtin", "09506000134352", "--count", "3", "--out", str(out))
    assert printed.exit_code == 0, printed.output
    files = [Path(line) for line in printed.output.splitlines()]
    assert files and all(f.exists() and f.parent == out for f in files)
    assert any(f.suffix == ".pdf" for f in files)
    given = run_cli("labels", "--gtin", "09506000134352", "--serials", "7-9", "--out", str(out), "--basename", "given")  # fmt: skip
    assert given.exit_code == 0
    neither = run_cli("labels", "--count", "3")
    assert neither.exit_code != 0


def test_handheld_forwards_its_arguments(run_cli: RunCli, tmp_path: Path) -> None:
    keyfile = tmp_path / "hh.pem"
    made = run_cli("handheld", "keygen", str(keyfile))
    assert made.exit_code == 0
    assert keyfile.exists() and len(made.output.strip()) == 44  # base64 of 32 bytes
    queue = tmp_path / "queue.db"
    queued = run_cli("handheld", "scan", "--queue", str(queue), "--kind", "receive", "(01)09506000134352(21)Q1")  # fmt: skip
    assert queued.exit_code == 0
    status = run_cli("handheld", "status", "--queue", str(queue))
    assert json.loads(status.output)["pending"] == 1
