"""What the ``hopchain scan …`` and ``hopchain labels`` commands do, minus click.

Each function returns ``(exit status, JSON-ready value)`` or the files written, so
the CLI in ``web`` only parses arguments and prints.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from scanners.parse import parse

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

# decode (pyzbar, zxing-cpp), labels (reportlab) and serials (the database) are
# imported by the commands that use them: `hopchain scan parse` starts without them.

__all__ = ["decode_command", "labels_command", "parse_command", "serial_range"]


def parse_command(text: str) -> tuple[int, dict[str, Any]]:
    """``hopchain scan parse STRING``: 0 and the result, or 1 and ``{"error": …}``."""
    result = parse(text)
    if result.error is not None:
        return 1, {"error": result.error, "text": result.text}
    return 0, result.to_json()


def decode_command(images: Sequence[str | Path]) -> tuple[int, list[dict[str, Any]]]:
    """``hopchain scan decode IMAGE...``: one object per code found, each with its
    ``image``; an unreadable image or one without any code adds ``{"image", "error"}``
    and makes the status 1."""
    from scanners.decode import ImageDecodeError, decode_image

    status = 0
    out: list[dict[str, Any]] = []
    for image in images:
        try:
            results = decode_image(image)
        except ImageDecodeError as exc:
            status = 1
            out.append({"image": str(image), "error": str(exc)})
            continue
        if not results:
            status = 1
            out.append({"image": str(image), "error": "no barcode found"})
        out.extend({"image": str(image), **r.to_json()} for r in results)
    return status, out


def serial_range(spec: str) -> list[str]:
    """``"100-199"`` → ``["100", …, "199"]``; ``"A1,A2"`` → ``["A1", "A2"]``."""
    if "-" in spec and "," not in spec:
        first, _, last = spec.partition("-")
        if first.isdigit() and last.isdigit():
            if int(last) < int(first):
                raise ValueError(f"serial range {spec!r} ends before it starts")
            if int(last) - int(first) >= 100_000:
                raise ValueError(f"serial range {spec!r} has more than 100000 serials")
            width = len(first) if first.startswith("0") else 0
            return [str(n).zfill(width) for n in range(int(first), int(last) + 1)]
    return [s.strip() for s in spec.split(",") if s.strip()]


def labels_command(
    session: Session,
    out_dir: Path,
    *,
    gtin: str | None = None,
    count: int | None = None,
    serials: Sequence[str] | None = None,
    company_prefix: str | None = None,
    symbology: Literal["gs1-128", "qr"] = "gs1-128",
    domain: str | None = None,
    basename: str = "labels",
) -> list[Path]:
    """``hopchain labels``: unit labels for ``gtin`` (given ``serials``, or ``count``
    fresh ones allocated), or ``count`` SSCC labels for ``company_prefix``.
    ``domain`` (of the Digital Links in QR codes) defaults to ``DEFAULT_DOMAIN``.

    Fresh serials are committed before anything is printed, so a crash while
    rendering never hands them out again. Returns the PDF and PNG paths.
    """
    from scanners.labels import DEFAULT_DOMAIN, sscc_labels, unit_labels, write_labels
    from scanners.serials import allocate_serials, allocate_ssccs

    domain = DEFAULT_DOMAIN if domain is None else domain
    if gtin is not None:
        if serials is None:
            if count is None:
                raise ValueError("give serials or a count of serials to allocate")
            serials = allocate_serials(session, gtin, count)
            session.commit()
        labels = unit_labels(gtin, serials, domain=domain)
    elif company_prefix is not None:
        if count is None:
            raise ValueError("give the count of SSCCs to allocate")
        ssccs = allocate_ssccs(session, company_prefix, count)
        session.commit()
        labels = sscc_labels(ssccs, symbology=symbology, domain=domain)
    else:
        raise ValueError("give a GTIN (unit labels) or a company prefix (SSCC labels)")
    return write_labels(labels, out_dir, basename)
