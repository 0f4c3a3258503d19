"""Real barcode images for the tests: qrcode for QR, zxing-cpp's writer for
DataMatrix, GS1-128 and EAN-13, composed into 'photos' and degraded."""

from __future__ import annotations

import io

import numpy as np
import qrcode
import zxingcpp
from PIL import Image, ImageFilter

F = zxingcpp.BarcodeFormat


def qr(text: str, box: int = 5) -> Image.Image:
    return qrcode.make(text, box_size=box, border=4).get_image().convert("L")


def zx(text: str, fmt: zxingcpp.BarcodeFormat, scale: int = 3, gs1: bool = False) -> Image.Image:
    barcode = (
        zxingcpp.create_barcode(text, fmt, gs1=True) if gs1 else zxingcpp.create_barcode(text, fmt)
    )
    pixels = np.asarray(barcode.to_image(scale=scale, add_quiet_zones=True))
    return Image.fromarray(pixels).convert("L")


def sheet(codes: list[Image.Image], columns: int = 2, pad: int = 40) -> Image.Image:
    """Codes on a white page in a grid, row by row."""
    w = max(c.width for c in codes) + pad
    h = max(c.height for c in codes) + pad
    rows = (len(codes) + columns - 1) // columns
    page = Image.new("L", (columns * w + pad, rows * h + pad), 255)
    for k, code in enumerate(codes):
        page.paste(code, (pad + (k % columns) * w, pad + (k // columns) * h))
    return page


def photo(
    image: Image.Image,
    *,
    angle: float = 0,
    blur: float = 0,
    noise: float = 0,
    seed: int = 1,
    fmt: str = "JPEG",
) -> bytes:
    """Rotate, blur, add Gaussian noise, then encode (JPEG by default) like a camera."""
    if angle:
        image = image.rotate(angle, expand=True, fillcolor=255, resample=Image.Resampling.BICUBIC)
    if blur:
        image = image.filter(ImageFilter.GaussianBlur(blur))
    if noise:
        rng = np.random.default_rng(seed)
        pixels = np.asarray(image).astype(np.float32) + rng.normal(
            0, noise, (image.height, image.width)
        )
        image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    out = io.BytesIO()
    image.convert("RGB").save(out, fmt, quality=85) if fmt == "JPEG" else image.save(out, fmt)
    return out.getvalue()
