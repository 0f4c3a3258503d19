"""Find and read every barcode in an image: :func:`decode_image`.

Two decoders, merged:

- **zxing-cpp** reads QR, DataMatrix (pyzbar cannot), Code 128, EAN/UPC, DataBar
  and more, and reports the ISO/IEC 15424 symbology identifier (``]d2``, ``]C1``,
  ``]Q3``), which is what tells a GS1 code from a plain one;
- **pyzbar** (ZBar) reads QR, EAN/UPC and Code 128, and often finds a 1-D code in a
  blurred or noisy photo that zxing-cpp misses.

A code both decoders read is reported once, with zxing-cpp's symbology identifier.
With ``thorough`` (the default) the image is also read rotated by 30 and 60
degrees both ways by both decoders, looking for 1-D codes only (those are found
only near horizontal or vertical; 2-D codes at any angle). If nothing at all is
found, the image is read once more sharpened and contrast-stretched (soft photos).
Results are ordered top-left to bottom-right (rows, then left to right).
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import zxingcpp
from PIL import Image, ImageFilter, ImageOps, UnidentifiedImageError
from pyzbar import pyzbar

from scanners.parse import ScanResult, parse

__all__ = ["ImageDecodeError", "decode_image"]

#: Images are scaled down so their longer side is at most this many pixels.
MAX_SIDE = 2400
_ROTATIONS = (30.0, -30.0, 60.0, -60.0)
# The rotated passes look for Code 128 and EAN/UPC only: short, weakly checked
# symbologies such as ITF produce false reads on rotated noise.
_LINEAR = zxingcpp.barcode_formats_from_str("Code128,EAN13,EAN8,UPCA,UPCE")
_ZBAR_LINEAR = [
    pyzbar.ZBarSymbol.CODE128,
    pyzbar.ZBarSymbol.EAN13,
    pyzbar.ZBarSymbol.EAN8,
    pyzbar.ZBarSymbol.UPCA,
    pyzbar.ZBarSymbol.UPCE,
]
_ZBAR_ALL = [pyzbar.ZBarSymbol.QRCODE, *_ZBAR_LINEAR]

_ZXING_NAMES = {
    "QR Code": "QR",
    "Micro QR Code": "Micro QR",
    "Data Matrix": "DataMatrix",
    "Code 128": "Code 128",
    "EAN-13": "EAN-13",
    "EAN-8": "EAN-8",
    "UPC-A": "UPC-A",
    "UPC-E": "UPC-E",
}
_ZBAR_NAMES = {
    "QRCODE": "QR",
    "CODE128": "Code 128",
    "EAN13": "EAN-13",
    "EAN8": "EAN-8",
    "UPCA": "UPC-A",
    "UPCE": "UPC-E",
    "I25": "ITF",
    "DATABAR": "GS1 DataBar",
    "DATABAR_EXP": "GS1 DataBar",
    "CODE39": "Code 39",
}


class ImageDecodeError(ValueError):
    """The input is not an image that can be read (missing file, not PNG/JPEG/...)."""


@dataclass(frozen=True, slots=True)
class _Found:
    raw: str  # what a scanner would send: symbology identifier + data
    payload: str  # data only, GS removed: used to merge both decoders' findings
    symbology: str | None
    cx: float
    cy: float
    height: float


def decode_image(data: bytes | str | Path, *, thorough: bool = True) -> list[ScanResult]:
    """Every code in the image, parsed; an empty list when there is none.

    ``data`` is the encoded image (bytes) or a path. Raises :class:`ImageDecodeError`
    when it cannot be opened as an image. ``thorough=False`` skips the rotated
    passes that find 1-D codes photographed at an angle (about 4x faster; enough
    for flat scans and generated labels).
    """
    image = _open(data)
    found = _decode_all(image, thorough)
    return [parse(f.raw, symbology=f.symbology) for f in _reading_order(found)]


def _open(data: bytes | str | Path) -> Image.Image:
    image: Image.Image
    try:
        if isinstance(data, bytes | bytearray):
            image = Image.open(io.BytesIO(bytes(data)))
        else:
            image = Image.open(Path(data))
        image.load()
    except FileNotFoundError as exc:
        raise ImageDecodeError(f"no such image file: {data!s}") from exc
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError) as exc:
        where = "image data" if isinstance(data, bytes | bytearray) else str(data)
        raise ImageDecodeError(f"cannot read {where} as an image: {exc}") from exc
    image = ImageOps.exif_transpose(image) or image
    gray = image.convert("L")
    longest = max(gray.size)
    if longest > MAX_SIDE:
        scale = MAX_SIDE / longest
        gray = gray.resize((round(gray.width * scale), round(gray.height * scale)))
    return gray


def _decode_all(gray: Image.Image, thorough: bool) -> list[_Found]:
    found = _merge(_zxing(gray), _zbar(gray, _ZBAR_ALL))
    if thorough:
        # Both decoders read 1-D codes only within some 20 degrees of horizontal or
        # vertical; 2-D codes are found at any angle by the first pass.
        for angle in _ROTATIONS:
            rotated = gray.rotate(
                angle, expand=True, fillcolor=255, resample=Image.Resampling.BILINEAR
            )
            more = _merge(_zxing(rotated, _LINEAR), _zbar(rotated, _ZBAR_LINEAR))
            found = _merge(found, (_unrotate(f, angle, gray.size, rotated.size) for f in more))
    if not found:
        enhanced = ImageOps.autocontrast(gray.filter(ImageFilter.UnsharpMask(3, 200, 2)), cutoff=1)
        found = _merge(_zxing(enhanced), _zbar(enhanced, _ZBAR_ALL))
    return found


def _zxing(gray: Image.Image, formats: zxingcpp.BarcodeFormats | None = None) -> Iterator[_Found]:
    codes = (
        zxingcpp.read_barcodes(gray, text_mode=zxingcpp.TextMode.Plain)
        if formats is None
        else zxingcpp.read_barcodes(gray, formats=formats, text_mode=zxingcpp.TextMode.Plain)
    )
    for code in codes:
        if not code.valid or not code.text:
            continue
        pos = code.position
        xs = [pos.top_left.x, pos.top_right.x, pos.bottom_right.x, pos.bottom_left.x]
        ys = [pos.top_left.y, pos.top_right.y, pos.bottom_right.y, pos.bottom_left.y]
        sid = code.symbology_identifier or ""
        yield _Found(
            raw=sid + code.text,
            payload=_payload(code.text),
            symbology=_ZXING_NAMES.get(str(code.format), str(code.format)),
            cx=sum(xs) / 4,
            cy=sum(ys) / 4,
            height=max(max(ys) - min(ys), 1),
        )


def _zbar(gray: Image.Image, symbols: list[object] | None = None) -> Iterator[_Found]:
    for code in pyzbar.decode(gray, symbols=symbols):
        text = code.data.decode("utf-8", errors="replace")
        if not text:
            continue
        left, top, width, height = code.rect
        yield _Found(
            raw=text,
            payload=_payload(text),
            symbology=_ZBAR_NAMES.get(code.type, code.type),
            cx=left + width / 2,
            cy=top + height / 2,
            height=max(height, 1),
        )


def _payload(text: str) -> str:
    return text.replace("\x1d", "").strip()


def _merge(first: Iterable[_Found], second: Iterable[_Found]) -> list[_Found]:
    """One finding per payload, the first decoder's kept (it knows the identifier)."""
    by_payload: dict[str, _Found] = {}
    for f in [*first, *second]:
        by_payload.setdefault(f.payload, f)
    return list(by_payload.values())


def _unrotate(
    f: _Found, angle: float, size: tuple[int, int], rotated_size: tuple[int, int]
) -> _Found:
    """Map a centre found in the rotated (expanded) image back to the original."""
    rad = math.radians(angle)
    dx, dy = f.cx - rotated_size[0] / 2, f.cy - rotated_size[1] / 2
    # PIL rotates counter-clockwise on screen; undo it.
    x = dx * math.cos(rad) - dy * math.sin(rad) + size[0] / 2
    y = dx * math.sin(rad) + dy * math.cos(rad) + size[1] / 2
    return _Found(f.raw, f.payload, f.symbology, x, y, f.height)


def _reading_order(found: list[_Found]) -> list[_Found]:
    """Rows top to bottom (a centre inside the first code's height shares its row), then x."""
    rows: list[list[_Found]] = []
    for f in sorted(found, key=lambda f: f.cy):
        if rows and abs(f.cy - rows[-1][0].cy) <= min(f.height, rows[-1][0].height) / 2:
            rows[-1].append(f)
        else:
            rows.append([f])
    return [f for row in rows for f in sorted(row, key=lambda f: f.cx)]
