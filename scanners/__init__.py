"""Scanners: from what a scanner saw to ledger hops.

- :func:`parse` / :func:`parse_or_raise`: GS1 element strings, bracketed HRI, GS1
  Digital Link URIs, plain GTIN/SSCC, EPC URNs → :class:`ScanResult`.
- :func:`decode_image`: every barcode in a photo (pyzbar + zxing-cpp).
- :func:`render_labels`, :func:`unit_labels`, :func:`sscc_labels`: A4 label sheets;
  :func:`allocate_serials`, :func:`allocate_ssccs`: serials never handed out twice.
- :class:`Device`, :func:`register_device`, :func:`revoke_device`,
  :func:`verify_signature`: handheld devices and their Ed25519 keys.
- :func:`handle_scan_batch` (and its steps :func:`parse_scan_batch`,
  :func:`to_hops`, :func:`batch_results`, :func:`next_device_seq`):
  ``POST /api/v1/scans``; :func:`handle_station_scans`: the same for the
  signed-in scan station page; :func:`scan_time_problem`: the one scan time
  window of every intake.
- :func:`record_station_scans`: the station's own rules on top (a repeat of the
  unit's last step is answered "already recorded"; commissioning from label sheets
  only by the manufacturer, of known products and allocated serials).
- :class:`HandheldClient`: the reference offline handheld client.
- :func:`capture_document`, :func:`export_history`: EPCIS 2.0 JSON-LD;
  :func:`plan_capture` / :func:`finish_capture`: capture into the ledger without
  duplicating history, error declarations as retractions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ledger.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from scanners.batch import (
        EARLIEST_SCAN_MS,
        KIND_ALIASES,
        MAX_AHEAD_MS,
        BatchFormatError,
        PlannedHop,
        Rejection,
        ScanBatch,
        ScanBatchResponse,
        ScanEvent,
        batch_results,
        handle_scan_batch,
        handle_station_scans,
        next_device_seq,
        parse_kind,
        parse_rfc3339_ms,
        parse_scan_batch,
        scan_time_problem,
        to_hops,
        to_micro_degrees,
    )
    from scanners.commands import decode_command, labels_command, parse_command, serial_range
    from scanners.dashboard import WarehouseDashboard, warehouse_dashboard
    from scanners.decode import ImageDecodeError, decode_image
    from scanners.devices import (
        Device,
        DeviceAuthError,
        DeviceError,
        DeviceInfo,
        authenticate_device,
        device_codes,
        get_device,
        list_devices,
        register_device,
        revoke_device,
        verify_signature,
    )
    from scanners.epcis import (
        EpcisError,
        EpcisResolvers,
        HistoryEntry,
        capture_document,
        database_resolvers,
        export_history,
        history_entries,
        hopchain_resolvers,
        party_uri,
        site_uri,
        unit_uri,
    )
    from scanners.epcis_capture import CapturePlan, finish_capture, plan_capture
    from scanners.handheld import FlushReport, HandheldClient, HandheldError, generate_device_key
    from scanners.handheld import main as handheld_main
    from scanners.labels import (
        DEFAULT_DOMAIN,
        Label,
        LabelSheets,
        render_labels,
        sscc_labels,
        unit_labels,
        write_labels,
    )
    from scanners.parse import ScanParseError, ScanResult, parse, parse_or_raise
    from scanners.serials import SerialBlock, SerialError, allocate_serials, allocate_ssccs
    from scanners.station import (
        CommissionRefusal,
        LastEntry,
        commission_refusals,
        last_live_entries,
        may_commission,
        record_station_scans,
    )

__all__ = [
    "DEFAULT_DOMAIN",
    "EARLIEST_SCAN_MS",
    "KIND_ALIASES",
    "MAX_AHEAD_MS",
    "BatchFormatError",
    "CapturePlan",
    "CommissionRefusal",
    "Device",
    "DeviceAuthError",
    "DeviceError",
    "DeviceInfo",
    "EpcisError",
    "EpcisResolvers",
    "FlushReport",
    "HandheldClient",
    "HandheldError",
    "HistoryEntry",
    "ImageDecodeError",
    "Label",
    "LabelSheets",
    "LastEntry",
    "PlannedHop",
    "Rejection",
    "ScanBatch",
    "ScanBatchResponse",
    "ScanEvent",
    "ScanParseError",
    "ScanResult",
    "SerialBlock",
    "SerialError",
    "WarehouseDashboard",
    "allocate_serials",
    "allocate_ssccs",
    "authenticate_device",
    "batch_results",
    "capture_document",
    "commission_refusals",
    "database_resolvers",
    "decode_command",
    "decode_image",
    "device_codes",
    "export_history",
    "finish_capture",
    "generate_device_key",
    "get_device",
    "handheld_main",
    "handle_scan_batch",
    "handle_station_scans",
    "history_entries",
    "hopchain_resolvers",
    "labels_command",
    "last_live_entries",
    "list_devices",
    "may_commission",
    "next_device_seq",
    "parse",
    "parse_command",
    "parse_kind",
    "parse_or_raise",
    "parse_rfc3339_ms",
    "parse_scan_batch",
    "party_uri",
    "plan_capture",
    "record_station_scans",
    "register_device",
    "render_labels",
    "revoke_device",
    "scan_time_problem",
    "serial_range",
    "site_uri",
    "sscc_labels",
    "to_hops",
    "to_micro_degrees",
    "unit_labels",
    "unit_uri",
    "verify_signature",
    "warehouse_dashboard",
    "write_labels",
]

if not TYPE_CHECKING:
    __getattr__, __dir__ = lazy_exports(__name__, __file__)
    # ``scanners.parse`` is also a submodule's name: bind the function now, or an
    # ``import scanners.parse`` elsewhere would leave the module under that name.
    from scanners.parse import parse
