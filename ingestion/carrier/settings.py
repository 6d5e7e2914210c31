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
)
"""Why a line was quarantined (``reason``); ``detail`` says which field and what was wrong."""

DEFAULT_BUCKET_ENV = "CARRIER_BUCKET_URL"
"""Variable with the bucket URL to read (``s3://...``, ``gs://...``, ``file:///...``); default:
the local landing folder (``CARRIER_LANDING_DIR``)."""
