"""Constants of the ERP loader."""

from __future__ import annotations

from datetime import datetime

PIPELINE_NAME = "erp"
"""Base name of the dlt pipeline; the target is appended (``erp_duckdb``, ``erp_postgres``)."""

DATASET_NAME = "raw_erp"
"""Schema in the warehouse where the raw ERP tables land."""

CURSOR_COLUMN = "updated_at"
"""Change-capture column every mutable ERP table carries."""

DELETED_FLAG = "_erp_deleted"
"""Column with dlt's ``hard_delete`` hint: a tombstone row deletes its key downstream."""

DEFAULT_LAG_SECONDS = 3600.0
"""Attribution window: rows stamped up to this long before the cursor are fetched again, so a
transaction that commits late with an older ``updated_at`` is not missed."""

INITIAL_CURSOR = datetime(1900, 1, 1)
"""Start of the incremental cursor on a first run: take everything. The ERP stores UTC
timestamps without a zone, and so does the raw layer (naive = UTC everywhere)."""

CHUNK_SIZE = 250_000
"""Rows per Arrow batch read from the ERP."""
