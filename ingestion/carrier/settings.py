"""Constants of the carrier loader, and the carrier feed's contract: files, fields, events.

The loader knows the feed by this contract only (the demo's carrier writes to it; a team's own
carrier files must follow it, or this module is where its fields change). Where the files
are is configuration: ``--bucket-url`` / ``CARRIER_BUCKET_URL`` (a bucket), else the landing
folder ``CARRIER_LANDING_DIR``; which files, ``CARRIER_FILE_GLOB`` or ``[sources.carrier]
file_glob`` in ``.dlt/config.toml``.
"""

from __future__ import annotations

import os

import dlt

from ingestion.runner import EVOLVE_SHAPE_FREEZE_TYPES

PIPELINE_NAME = "carrier"
"""Base name of the dlt pipeline; the target is appended (``carrier_duckdb``, ...)."""

DATASET_NAME = "raw_carrier"
"""Schema in the warehouse where the raw carrier tables land."""

EVENTS_TABLE = "shipment_events"
QUARANTINE_TABLE = "quarantine"
RECONCILIATION_TABLE = "file_reconciliation"

SCHEMA_CONTRACT = EVOLVE_SHAPE_FREEZE_TYPES

QUARANTINE_REASONS = (
    "invalid_json",
    "not_an_object",
    "missing_field",
    "unknown_event_type",
    "invalid_time",
    "wrong_type",
    "invalid_encoding",
)
"""Why a line was quarantined (``reason``); ``detail`` says which field and what was wrong.
``invalid_time`` includes times outside the years 0001-9999 once moved to UTC; ``wrong_type``
includes integers beyond 64 bits; ``invalid_encoding`` is a line that is not UTF-8."""

DELETED_FLAG = "_carrier_deleted"
"""Column with dlt's ``hard_delete`` hint on ``quarantine``: when a file is read again, its
quarantine rows for lines that are now good are deleted in the same load."""

SETTLE_SECONDS = 1.0
"""A file is complete only if its size is the same at listing and this many seconds later (one
wait per run, not per file): a producer still appending is caught in the act."""

COMPLETE_AFTER_SECONDS = 3600.0
"""A stable file is complete when it ends with a newline, or, for a producer that never writes
the final newline, once it has not been modified for this long."""

DEFAULT_BUCKET_ENV = "CARRIER_BUCKET_URL"
"""Variable with the bucket URL to read (``s3://...``, ``gs://...``, ``file:///...``); default:
the local landing folder (``CARRIER_LANDING_DIR``)."""

# --- the feed's contract ----------------------------------------------------------------------

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

FILE_GLOB = "shipments_*.jsonl"
"""Which files of the landing folder or bucket are the carrier's (one JSON-lines file a day)."""

FILE_GLOB_ENV = "CARRIER_FILE_GLOB"


def file_glob(glob: str | None = None) -> str:
    """The file pattern: the argument, else ``CARRIER_FILE_GLOB``, else the config, else default."""
    chosen = glob or os.environ.get(FILE_GLOB_ENV) or dlt.config.get("sources.carrier.file_glob")
    return str(chosen or FILE_GLOB)
