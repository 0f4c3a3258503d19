"""Print-ready label sheets: A4 pages as PDF (reportlab, vector) and PNG (300 dpi).

- Units get a QR code holding their GS1 Digital Link URI
  (``{domain}/01/{gtin14}/21/{serial}``), made with ``qrcode``.
- Cases and pallets get their SSCC as a GS1-128 barcode (zxing-cpp's writer with
  the GS1 flag, so the symbol starts with FNC1 and reads as ``]C1 00…``) or as a QR
  code with the Digital Link URI.

Under every code its human-readable interpretation is printed, e.g.
``(01) 09506000134352 (21) 1234``. Codes are drawn module by module, so the PDF is
sharp at any printer resolution and the PNG has whole-pixel modules.

Serials come from :func:`scanners.serials.allocate_serials` (never twice): commit
the allocation before printing.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import quote

import numpy as np
import qrcode
import zxingcpp
from PIL import Image, ImageDraw, ImageFont
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas

from ledger.ids import sscc_key, unit_key

__all__ = [
    "DEFAULT_DOMAIN",
    "Label",
    "LabelSheets",
    "render_labels",
    "sscc_labels",
    "unit_labels",
    "write_labels",
]

#: A placeholder that resolves nowhere: ``hopchain labels`` prints the resolver root
#: (``HOPCHAIN_RESOLVER_ROOT``, docs/resolver.md) so a printed code resolves on that server.
DEFAULT_DOMAIN = "https://id.hopchain.example"
_DPI = 300
_PAGE_MM = (210.0, 297.0)
_MARGIN_MM = 10.0


@dataclass(frozen=True, slots=True)
class Label:
    """One code to print: what it encodes, how, and the text printed under it."""

    payload: str
    symbology: Literal["qr", "gs1-128"]
    text: str
    key: str


@dataclass(frozen=True, slots=True)
class LabelSheets:
    pdf: bytes  # all pages
    pngs: list[bytes]  # one per page


def unit_labels(gtin: str, serials: Sequence[str], *, domain: str = DEFAULT_DOMAIN) -> list[Label]:
    """Digital Link QR labels for units of one GTIN (validated by ledger.ids)."""
    out = []
    for serial in serials:
        key = unit_key(gtin, serial)
        gtin14 = key.split("/")[1]
        uri = f"{domain.rstrip('/')}/01/{gtin14}/21/{quote(serial, safe='')}"
        out.append(Label(uri, "qr", f"(01) {gtin14} (21) {serial}", key))
    return out


def sscc_labels(
    ssccs: Sequence[str],
    *,
    symbology: Literal["gs1-128", "qr"] = "gs1-128",
    domain: str = DEFAULT_DOMAIN,
) -> list[Label]:
    """Labels for logistic units: GS1-128 ``(00)`` barcodes or Digital Link QR codes."""
    out = []
    for sscc in ssccs:
        key = sscc_key(sscc)
        sscc18 = key.split("/")[1]
        payload = f"(00){sscc18}" if symbology == "gs1-128" else f"{domain.rstrip('/')}/00/{sscc18}"
        out.append(Label(payload, symbology, f"(00) {sscc18}", key))
    return out


def _modules(label: Label) -> np.ndarray:
    """The symbol as a boolean module matrix (True = dark); 1-D codes have one row."""
    if label.symbology == "qr":
        code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=0)
        code.add_data(label.payload)
        code.make(fit=True)
        return np.array(code.get_matrix(), dtype=bool)
    barcode = zxingcpp.create_barcode(label.payload, zxingcpp.BarcodeFormat.Code128, gs1=True)
    pixels = np.asarray(barcode.to_image(scale=1, add_quiet_zones=False))
    return pixels[:1] < 128


@dataclass(frozen=True, slots=True)
class _Grid:
    columns: int
    rows: int
    cell_w_mm: float
    cell_h_mm: float
    code_w_mm: float
    code_h_mm: float

    @property
    def per_page(self) -> int:
        return self.columns * self.rows


def _grid(symbology: str) -> _Grid:
    usable_w = _PAGE_MM[0] - 2 * _MARGIN_MM
    usable_h = _PAGE_MM[1] - 2 * _MARGIN_MM
    if symbology == "qr":
        columns, rows, code_w, code_h = 4, 6, 30.0, 30.0
    else:
        columns, rows, code_w, code_h = 2, 8, 80.0, 20.0
    return _Grid(columns, rows, usable_w / columns, usable_h / rows, code_w, code_h)


def render_labels(labels: Sequence[Label]) -> LabelSheets:
    """A4 sheets of the labels, in order: a PDF with every page and a PNG per page.

    Labels of one kind share a grid (units: 4 x 6 QR codes of 30 mm; SSCCs: 2 x 8
    GS1-128 barcodes of 80 mm); a sheet never mixes grids.
    """
    if not labels:
        raise ValueError("no labels to render")
    pages: list[tuple[_Grid, list[Label]]] = []
    for label in labels:
        grid = _grid(label.symbology)
        if not pages or pages[-1][0] != grid or len(pages[-1][1]) == grid.per_page:
            pages.append((grid, []))
        pages[-1][1].append(label)
    pdf = io.BytesIO()
    doc = canvas.Canvas(pdf, pagesize=A4)
    doc.setTitle("hopchain labels")
    pngs = []
    for grid, page in pages:
        _draw_pdf_page(doc, grid, page)
        doc.showPage()
        pngs.append(_draw_png_page(grid, page))
    doc.save()
    return LabelSheets(pdf.getvalue(), pngs)


def write_labels(labels: Sequence[Label], out_dir: Path, basename: str = "labels") -> list[Path]:
    """Write ``{basename}.pdf`` and ``{basename}-001.png``… into ``out_dir``."""
    sheets = render_labels(labels)
    out_dir.mkdir(parents=True, exist_ok=True)
    pdf_path = out_dir / f"{basename}.pdf"
    pdf_path.write_bytes(sheets.pdf)
    paths = [pdf_path]
    for i, png in enumerate(sheets.pngs, start=1):
        path = out_dir / f"{basename}-{i:03d}.png"
        path.write_bytes(png)
        paths.append(path)
    return paths


def _cell_origin_mm(grid: _Grid, index: int) -> tuple[float, float]:
    """Top-left corner of the cell, in mm from the page's top-left corner."""
    col, row = index % grid.columns, index // grid.columns
    return _MARGIN_MM + col * grid.cell_w_mm, _MARGIN_MM + row * grid.cell_h_mm


def _code_box_mm(grid: _Grid, index: int, modules: np.ndarray) -> tuple[float, float, float, float]:
    """(left, top, module width, module height) of the code inside its cell, in mm."""
    x0, y0 = _cell_origin_mm(grid, index)
    n_rows, n_cols = modules.shape
    module_w = grid.code_w_mm / n_cols
    module_h = grid.code_h_mm / n_rows
    left = x0 + (grid.cell_w_mm - grid.code_w_mm) / 2
    top = y0 + 3.0
    return left, top, module_w, module_h


def _draw_pdf_page(doc: canvas.Canvas, grid: _Grid, page: Sequence[Label]) -> None:
    page_h = _PAGE_MM[1]
    for i, label in enumerate(page):
        modules = _modules(label)
        left, top, mw, mh = _code_box_mm(grid, i, modules)
        doc.setFillColorRGB(0, 0, 0)
        for r, row in enumerate(modules):
            c = 0
            while c < len(row):  # one rectangle per run of dark modules
                if not row[c]:
                    c += 1
                    continue
                start = c
                while c < len(row) and row[c]:
                    c += 1
                x = (left + start * mw) * mm
                y = (page_h - top - (r + 1) * mh) * mm
                doc.rect(x, y, (c - start) * mw * mm, mh * mm, stroke=0, fill=1)
        text_y = page_h - top - grid.code_h_mm - 4.0
        doc.setFont("Helvetica", 7 if label.symbology == "qr" else 10)
        doc.drawCentredString((left + grid.code_w_mm / 2) * mm, text_y * mm, label.text)


def _px(value_mm: float) -> int:
    return round(value_mm / 25.4 * _DPI)


def _draw_png_page(grid: _Grid, page: Sequence[Label]) -> bytes:
    image = Image.new("L", (_px(_PAGE_MM[0]), _px(_PAGE_MM[1])), 255)
    draw = ImageDraw.Draw(image)
    for i, label in enumerate(page):
        modules = _modules(label)
        left, top, _, _ = _code_box_mm(grid, i, modules)
        n_rows, n_cols = modules.shape
        # whole pixels per module: the code is at most the nominal size
        module_px = max(1, _px(grid.code_w_mm) // n_cols)
        height_px = _px(grid.code_h_mm) if n_rows == 1 else module_px * n_rows
        scale_y = height_px // n_rows
        code = np.where(modules, 0, 255).astype(np.uint8)
        code = np.repeat(np.repeat(code, scale_y, axis=0), module_px, axis=1)
        x = _px(left) + (_px(grid.code_w_mm) - code.shape[1]) // 2
        y = _px(top)
        image.paste(Image.fromarray(code, "L"), (x, y))
        size = 24 if label.symbology == "qr" else 36
        font = ImageFont.load_default(size=size)
        centre = _px(left + grid.code_w_mm / 2)
        draw.text(
            (centre, y + code.shape[0] + _px(2.0)), label.text, fill=0, font=font, anchor="mt"
        )
    out = io.BytesIO()
    image.save(out, "PNG", dpi=(_DPI, _DPI), optimize=False)
    return out.getvalue()
