"""The carrier feed's format: file names, fields, event types and the documented schema change.

One JSON object per line (JSON lines, UTF-8, newline separated), one file per business day,
named ``shipments_<YYYY-MM-DD>.jsonl``. Fields of an event:

| field | JSON type | required | meaning |
|---|---|---|---|
| ``event_id`` | string | yes | unique id of the event; a resent event keeps its id |
| ``order_key`` | integer | yes | the ERP order (``l_orderkey``) |
| ``line_number`` | integer | yes | the ERP order line (``l_linenumber``) |
| ``tracking_number`` | string | yes | the parcel's tracking number |
| ``carrier`` | string | yes | the carrier service that moves the parcel |
| ``event_type`` | string | yes | one of :data:`EVENT_TYPES` |
| ``event_time`` | string | yes | ISO 8601 with a zone (``Z`` or an offset); stored in UTC |
| ``location`` | string | yes | where it happened (city) |
| ``signed_by`` | string | no | who signed for a delivery; sent from :data:`SIGNED_BY_FROM_DAY` on |
"""

from __future__ import annotations

from pathlib import Path

from warehouse_settings import DEFAULT_CARRIER_LANDING_DIR, carrier_landing_dir

EVENT_TYPES = (
    "picked_up",
    "in_transit",
    "out_for_delivery",
    "delivered",
    "returned",
    "exception",
)
"""Every event type the carrier sends; anything else is quarantined."""

REQUIRED_FIELDS: dict[str, type] = {
    "event_id": str,
    "order_key": int,
    "line_number": int,
    "tracking_number": str,
    "carrier": str,
    "event_type": str,
    "event_time": str,
    "location": str,
}
"""Fields every event must carry, with their JSON type (``int`` means a JSON integer)."""

OPTIONAL_FIELDS: dict[str, type] = {"signed_by": str}
"""Documented optional fields (null or absent allowed)."""

SIGNED_BY_FROM_DAY = 3
"""The schema change: from this business day on (1998-08-05 with day 0 = 1998-08-02), delivered
events carry ``signed_by``. Earlier files never have the field."""

FILE_PREFIX = "shipments_"
FILE_SUFFIX = ".jsonl"
FILE_GLOB = f"{FILE_PREFIX}*{FILE_SUFFIX}"
DEFAULT_LANDING_DIR = DEFAULT_CARRIER_LANDING_DIR


def landing_dir(path: str | Path | None = None) -> Path:
    """The landing folder: the argument, else ``CARRIER_LANDING_DIR``, else the default.

    Relative paths are taken from the project root, like the ERP's SQLite file.
    """
    return carrier_landing_dir(path)


def file_name_for(business_date_iso: str) -> str:
    """The name of one day's file, ``shipments_<YYYY-MM-DD>.jsonl``."""
    return f"{FILE_PREFIX}{business_date_iso}{FILE_SUFFIX}"
