"""The demo's product pictures (issue 14): one generated picture per product, so the
consumer's label page (``label.verify``) shows a product, not an empty frame.

Each picture is drawn with Pillow (a 480 x 480 PNG: a colour chosen by the GTIN,
a simple dial, the product's name and GTIN) and stored through
:func:`sightings.answer.set_product_image` as the ``demo`` user, so it is checked
and audited like an upload. A product that already has a picture keeps it.
"""

from __future__ import annotations

import colorsys
import hashlib
import io
import math
import textwrap
import time

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

__all__ = ["SIZE", "draw_product_picture", "seed_product_pictures"]

#: Side of a generated picture, pixels.
SIZE = 480


def draw_product_picture(gtin: str, name: str) -> bytes:
    """A PNG picture of the product: the same ``gtin`` and ``name`` give the same bytes."""
    from PIL import Image, ImageDraw, ImageFont

    digest = hashlib.sha256(gtin.encode()).digest()
    hue = digest[0] / 255
    base = tuple(int(c) for c in _hsv(hue, 0.45, 0.85))
    dark = tuple(int(c) for c in _hsv(hue, 0.7, 0.35))
    img = Image.new("RGB", (SIZE, SIZE), (250, 250, 248))
    draw = ImageDraw.Draw(img)
    draw.rounded_rectangle((24, 24, SIZE - 24, SIZE - 24), radius=36, fill=base)
    # a dial: the demo's products are instruments
    cx, cy, r = SIZE // 2, 190, 110
    draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=(255, 255, 255), outline=dark, width=10)
    for i in range(12):
        a = i * math.pi / 6
        x1, y1 = cx + (r - 22) * math.sin(a), cy - (r - 22) * math.cos(a)
        x2, y2 = cx + (r - 8) * math.sin(a), cy - (r - 8) * math.cos(a)
        draw.line((x1, y1, x2, y2), fill=dark, width=5)
    turn = digest[1] / 255 * 2 * math.pi
    draw.line((cx, cy, cx + 70 * math.sin(turn), cy - 70 * math.cos(turn)), fill=dark, width=8)
    draw.ellipse((cx - 9, cy - 9, cx + 9, cy + 9), fill=dark)
    font = ImageFont.load_default(size=30)
    small = ImageFont.load_default(size=20)
    y = 330
    for line in textwrap.wrap(name, 24)[:2]:
        width = draw.textlength(line, font=font)
        draw.text(((SIZE - width) / 2, y), line, fill=(255, 255, 255), font=font)
        y += 38
    label = f"GTIN {gtin}"
    draw.text(
        ((SIZE - draw.textlength(label, font=small)) / 2, y + 8), label, fill=dark, font=small
    )
    out = io.BytesIO()
    img.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _hsv(h: float, s: float, v: float) -> tuple[float, float, float]:
    r, g, b = colorsys.hsv_to_rgb(h, s, v)
    return r * 255, g * 255, b * 255


def seed_product_pictures(engine: Engine) -> int:
    """Give every product without a picture a generated one; returns how many."""
    import settlement
    from settlement.models import Product
    from sightings.answer import set_product_image
    from sightings.models import ProductImage

    actor = settlement.Actor("demo", "admin")
    now = time.time_ns() // 1_000_000
    with Session(engine) as session, session.begin():
        missing = session.execute(
            select(Product.gtin, Product.name)
            .outerjoin(ProductImage, ProductImage.product_id == Product.id)
            .where(ProductImage.product_id.is_(None))
            .order_by(Product.gtin)
        ).all()
        for gtin, name in missing:
            set_product_image(
                session,
                gtin,
                draw_product_picture(gtin, name),
                actor=actor,
                now_ms=now,
                source="demo",
            )
    return len(missing)
