"""Unit identity: GTIN-14 + serial for a trade item, SSCC-18 for a logistic unit.

The canonical key is the path of a GS1 Digital Link URI (``01/{gtin14}/21/{serial}``
or ``00/{sscc18}``), so a key printed in a QR code, typed into the API or stored in
the ledger is the same string everywhere. Check digits are validated here, once,
because every way into the ledger passes through these functions.
"""

from __future__ import annotations

import enum
import re
from functools import lru_cache
from typing import NamedTuple

__all__ = [
    "OBSERVATION_KINDS",
    "EntryKind",
    "InvalidIdentifierError",
    "UnitId",
    "gs1_check_digit",
    "parse_key",
    "sscc_key",
    "unit_key",
    "validate_gtin14",
    "validate_sscc18",
]

# GS1 AI 21 serials use the GS1 AI encodable character set 82, 1 to 20 characters.
_CSET82 = re.compile(r"^[!\"%&'()*+,\-./0-9:;<=>?A-Z_a-z]{1,20}$")


class InvalidIdentifierError(ValueError):
    """A GTIN, SSCC, serial or key that cannot identify a unit, with the reason."""


class EntryKind(enum.Enum):
    """What happened to a unit, named after the EPCIS 2.0 CBV business steps."""

    COMMISSIONING = "commissioning"
    PACKING = "packing"
    UNPACKING = "unpacking"
    SHIPPING = "shipping"
    RECEIVING = "receiving"
    RETAIL_SELLING = "retail_selling"
    INSPECTING = "inspecting"
    RETURNING = "returning"
    DECOMMISSIONING = "decommissioning"
    # Not an observation: the retraction of an earlier entry (EPCIS 2.0 §7.4.1.2
    # errorDeclaration). The entry names the retracted seq; detection, custody and
    # settlement read the unit's history without both.
    ERROR_DECLARATION = "error_declaration"

    @property
    def code(self) -> int:
        """Small stable integer used in columnar snapshots (order of declaration)."""
        return _KIND_CODES[self]


_KIND_CODES = {kind: i for i, kind in enumerate(EntryKind)}

#: The kinds a scan, a handheld or an EPCIS event may record: every kind but
#: ``error_declaration``, which only a declaration about a stored entry appends.
OBSERVATION_KINDS: tuple[EntryKind, ...] = tuple(
    k for k in EntryKind if k is not EntryKind.ERROR_DECLARATION
)


def gs1_check_digit(digits: str) -> int:
    """GS1 mod-10 check digit for the digits that precede it."""
    weighted_3 = sum(map(int, digits[-1::-2]))  # rightmost digit and every second one
    weighted_1 = sum(map(int, digits[-2::-2]))
    return -(3 * weighted_3 + weighted_1) % 10


def _validate_numeric(value: str, length: int, name: str) -> str:
    if len(value) != length or not value.isascii() or not value.isdigit():
        raise InvalidIdentifierError(f"{name} must be {length} digits, got {value!r}")
    expected = gs1_check_digit(value[:-1])
    if int(value[-1]) != expected:
        raise InvalidIdentifierError(
            f"{name} {value} has check digit {value[-1]}, expected {expected}"
        )
    return value


@lru_cache(maxsize=1 << 14)
def validate_gtin14(gtin: str) -> str:
    """Return the GTIN as 14 digits; GTIN-8/12/13 are left-padded with zeros.

    Cached: a catalogue has few GTINs and every scan of every unit names one.
    """
    if gtin.isascii() and gtin.isdigit() and len(gtin) in (8, 12, 13):
        gtin = gtin.zfill(14)
    return _validate_numeric(gtin, 14, "GTIN")


def validate_sscc18(sscc: str) -> str:
    return _validate_numeric(sscc, 18, "SSCC")


def validate_serial(serial: str) -> str:
    if not _CSET82.match(serial):
        raise InvalidIdentifierError(
            f"serial {serial!r} must be 1 to 20 characters of GS1 character set 82"
        )
    return serial


class UnitId(NamedTuple):
    """A validated unit identity; ``sscc`` is set for logistic units only.

    A named tuple rather than a dataclass: one is built for every unit of every
    batch, and tuples are several times cheaper to create.
    """

    gtin: str | None
    serial: str | None
    sscc: str | None

    @property
    def key(self) -> str:
        if self.sscc is not None:
            return f"00/{self.sscc}"
        return f"01/{self.gtin}/21/{self.serial}"

    @property
    def is_logistic(self) -> bool:
        return self.sscc is not None


def unit_key(gtin: str, serial: str) -> str:
    """Canonical key of a serialized trade item, validating both parts."""
    return UnitId(validate_gtin14(gtin), validate_serial(serial), None).key


def sscc_key(sscc: str) -> str:
    """Canonical key of a logistic unit (case, pallet)."""
    return UnitId(None, None, validate_sscc18(sscc)).key


def parse_key(key: str) -> UnitId:
    """Parse a canonical key (``01/…/21/…`` or ``00/…``); a leading ``/`` is allowed."""
    # A serial may itself contain "/" (GS1 character set 82), so split at most
    # three times and keep the rest whole.
    parts = key.removeprefix("/").split("/", 3)
    if len(parts) == 2 and parts[0] == "00":
        return UnitId(None, None, validate_sscc18(parts[1]))
    if len(parts) == 4 and parts[0] == "01" and parts[2] == "21":
        return UnitId(validate_gtin14(parts[1]), validate_serial(parts[3]), None)
    raise InvalidIdentifierError(
        f"key {key!r} is neither 01/{{gtin14}}/21/{{serial}} nor 00/{{sscc18}}"
    )
