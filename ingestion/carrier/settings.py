"""Constants of the carrier loader."""

from __future__ import annotations

from typing import Any

PIPELINE_NAME = "carrier"
"""Base name of the dlt pipeline; the target is appended (``carrier_duckdb``, ...)."""

DATASET_NAME = "raw_carrier"
"""Schema in the warehouse where the raw carrier tables land."""

EVENTS_TABLE = "shipment_events"
QUARANTINE_TABLE = "quarantine"
RECONCILIATION_TABLE = "file_reconciliation"

SCHEMA_CONTRACT: dict[str, Any] = {"tables": "evolve", "columns": "evolve", "data_type": "freeze"}
"""New tables and columns may appear (a new optional field in the feed), but a value never
changes a column's type. The loader validates every line first and quarantines wrong types, so
the contract is a safety net: if it ever trips, the run fails and its package is aborted."""

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
