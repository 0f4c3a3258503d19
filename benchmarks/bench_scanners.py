"""Scanner throughput: image decode rate (images/s) and parse rate (strings/s).

Run: ``.venv/bin/pytest benchmarks/bench_scanners.py --benchmark-only``
(the file is named explicitly: pytest only collects ``test_*.py`` by itself).
Each benchmark stores its rate in ``extra_info`` and prints it.
"""

from __future__ import annotations

import io
import random
import string

import numpy as np
import pytest
import qrcode
import zxingcpp
from PIL import Image, ImageFilter
from pytest_benchmark.fixture import BenchmarkFixture

from ledger.ids import gs1_check_digit
from scanners import decode_image, parse

F = zxingcpp.BarcodeFormat


def _zx(text: str, fmt: zxingcpp.BarcodeFormat, scale: int, gs1: bool = False) -> Image.Image:
    code = (
        zxingcpp.create_barcode(text, fmt, gs1=True) if gs1 else zxingcpp.create_barcode(text, fmt)
    )
    return Image.fromarray(np.asarray(code.to_image(scale=scale, add_quiet_zones=True))).convert(
        "L"
    )


def _photo() -> bytes:
    """A 1280x960 JPEG 'phone photo': 4 codes (QR, GS1 DataMatrix, GS1-128, EAN-13),
    rotated 12 degrees, slightly blurred, with sensor noise."""
    page = Image.new("L", (1280, 960), 235)
    codes = [
        qrcode.make("https://id.hopchain.example/01/09506000134352/21/A1", box_size=5)
        .get_image()
        .convert("L"),
        _zx("(01)09506000134352(21)DM7(10)L1", F.DataMatrix, 6, gs1=True),
        _zx("(00)376130321109103420", F.Code128, 3, gs1=True),
        _zx("5901234123457", F.EAN13, 3),
    ]
    for code, xy in zip(codes, [(80, 80), (700, 80), (80, 560), (700, 560)], strict=True):
        page.paste(code, xy)
    page = page.rotate(12, fillcolor=235, resample=Image.Resampling.BICUBIC).filter(
        ImageFilter.GaussianBlur(0.7)
    )
    noisy = np.asarray(page).astype(np.float32) + np.random.default_rng(7).normal(
        0, 10, (960, 1280)
    )
    out = io.BytesIO()
    Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8)).save(out, "JPEG", quality=85)
    return out.getvalue()


def _strings(n: int = 1000) -> list[str]:
    """A realistic mix of what scanners send."""
    rng = random.Random(3)
    out = []
    for i in range(n):
        body = "".join(rng.choices(string.digits, k=13))
        gtin = body + str(gs1_check_digit(body))
        serial = "".join(rng.choices(string.ascii_uppercase + string.digits, k=10))
        out.append(
            [
                f"]d201{gtin}21{serial}\x1d10LOT{i % 97}\x1d17271231",
                f"(01){gtin}(21){serial}",
                f"https://id.hopchain.example/01/{gtin}/21/{serial}",
                f"]C100{body}1234{gs1_check_digit(body + '1234')}",
                body[1:] + str(gs1_check_digit(body[1:])),  # EAN-13
            ][i % 5]
        )
    return out


@pytest.fixture(scope="module")
def photo() -> bytes:
    data = _photo()
    assert len([r for r in decode_image(data) if r.ok]) == 4
    return data


@pytest.mark.parametrize("thorough", [True, False], ids=["thorough", "single-pass"])
def test_decode_rate(benchmark: BenchmarkFixture, photo: bytes, thorough: bool) -> None:
    results = benchmark(decode_image, photo, thorough=thorough)
    assert results
    rate = 1 / benchmark.stats.stats.mean
    benchmark.extra_info["images_per_s"] = round(rate, 2)
    print(f"\ndecode ({'thorough' if thorough else 'single pass'}): {rate:.2f} images/s")


def test_parse_rate(benchmark: BenchmarkFixture) -> None:
    strings = _strings()

    def run() -> int:
        return sum(1 for s in strings if parse(s).error is None)

    assert benchmark(run) == len(strings)
    rate = len(strings) / benchmark.stats.stats.mean
    benchmark.extra_info["strings_per_s"] = round(rate)
    print(f"\nparse: {rate:,.0f} strings/s")
