"""What the recruitment tests share: the people acting, a valid application, small
real images, and a prospect walked through the pipeline by the services."""

from __future__ import annotations

import io
from typing import Any

from PIL import Image
from sqlalchemy import Engine

from partners import agreements as ag
from partners import recruitment as rc
from tests.partners._agreements_world import BUSINESS, LEGAL, PDF, Person, seed

PM = Person("pm-rita", "partner_manager", None)
ADMIN = Person("admin-al", "admin", None)
FINANCE = Person("fin-fay", "finance", None)
CHANNEL = Person("cm-cal", "channel_manager", None)
DISTRIBUTOR = Person("dist-dan", "distributor", None, party_id=1)

APPLICATION: dict[str, Any] = {
    "company_name": "Shanghai Bright Trading Co., Ltd.",
    "local_name": "上海明亮贸易有限公司",
    "country": "CN",
    "city": "Shanghai",
    "contact_name": "Li Wei",
    "contact_email": "li.wei@bright.example.cn",
    "contact_phone": "+86 21 5555 0100",
    "kind": "distributor",
    "message": "We sell to 300 dealers in East China.",
}


def image_bytes(fmt: str = "PNG") -> bytes:
    """A real 4x3 image in ``fmt`` (PNG, JPEG or WEBP)."""
    out = io.BytesIO()
    Image.new("RGB", (4, 3), (200, 40, 40)).save(out, format=fmt)
    return out.getvalue()


def walk_to(engine: Engine, stage: str, *, channel: str = "inbound", cap: int | None = 5) -> int:
    """A prospect brought by the services to ``stage`` (an open stage), with every
    step's requirement met on the way; returns its id. Territories DE, FR, AT and
    programs VOL, GROWTH are stored (``_agreements_world.seed``)."""
    seed(engine)
    if channel == "inbound":
        pid, _ = rc.submit_application(engine, APPLICATION)
    else:
        pid = rc.create_prospect(engine, {**APPLICATION, "channel": channel}, PM).id
    order = list(rc.OPEN_STAGES)
    for target in order[1 : order.index(stage) + 1]:
        current = order[order.index(target) - 1]
        if current == "screening":
            for criterion, points in zip(rc.CRITERIA, (80, 70, 60, 90), strict=True):
                rc.score(engine, pid, criterion, points, f"{criterion} seen", PM)
        elif current == "site_visit":
            rc.add_site_visit(
                engine,
                pid,
                "2026-11-20",
                "Rita",
                "Warehouse of 2000 m2, 12 staff.",
                [rc.PhotoUpload("front.png", "image/png", image_bytes())],
                PM,
            )
        elif current == "negotiation":
            rc.propose_terms(
                engine,
                pid,
                {
                    "territories": ["DE"],
                    "programs": ["VOL"],
                    "currency": "EUR",
                    "deposit_minor": 500_000,
                    "trial_days": 90,
                    "trial_order_cap_units": cap,
                },
                PM,
            )
        rc.move(engine, pid, target, PM)
    return pid


def sign_agreement(engine: Engine, number: str, signed_on: str) -> None:
    """The agreement drafted when a prospect was signed, through its workflow:
    submitted by the partner manager, legal review by another partner manager,
    business review by finance, signed with its PDF (grants and enrolment in force)."""
    ag.submit(engine, number, PM)
    ag.review(engine, number, "legal", True, "standard clauses", LEGAL)
    ag.review(engine, number, "business", True, "deposit agreed", BUSINESS)
    ag.sign(engine, number, signed_on, PM, (f"{number}.pdf", PDF))
