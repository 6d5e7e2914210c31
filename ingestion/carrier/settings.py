"""Constants of the carrier loader."""

from __future__ import annotations

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
