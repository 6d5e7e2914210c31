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

ROW_HASH_COLUMN = "_erp_row_hash"
"""Content hash of each raw row (every ERP column, ``updated_at`` included; 60 bits of MD5 as a
bigint): the re-read filter compares key and hash, not key and stamp (two edits can share a
stamp), and the reconciliation sums it per key range."""

ROWS_PER_RANGE = 2_000
"""Reconciliation: the key ranges of a table hold about this many rows each (a drifted range
is re-loaded whole, so smaller ranges repair less; more ranges cost a little more to compare)."""
