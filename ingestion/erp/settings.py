"""Constants of the ERP loader, and the ERP's contract a user may override by configuration.

The contract: the tables, their keys, cursor and money columns, and the tombstone table.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import dlt

from warehouse_settings import ERP_URL_ENV, erp_url

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

# --- the ERP's contract: which tables, their keys, cursor and money columns ------------------
#
# The loader knows the ERP by this contract only. The default is the demo ERP's; a team points
# the loader at its own database by configuration alone (see "Bring your own sources" in the
# README): ``ERP_TABLES`` (JSON) or ``[sources.erp.tables.<name>]`` in ``.dlt/config.toml``,
# and ``ERP_TOMBSTONE_TABLE`` or ``[sources.erp] tombstone_table``.

TABLES_ENV = "ERP_TABLES"
"""Variable with the table contract as JSON: ``{"<table>": {"primary_key": [...], ...}}``."""

TOMBSTONE_TABLE_ENV = "ERP_TOMBSTONE_TABLE"
"""Variable with the tombstone table's name; empty: the ERP keeps no tombstones."""

TOMBSTONE_TABLE = "deleted_rows"
"""The demo ERP's tombstone table: ``table_name``, ``row_key`` (the key as a JSON object),
``deleted_at`` and ``deletion_id``, one row per deleted row (written by a trigger)."""


@dataclass(frozen=True)
class ErpTable:
    """One ERP table as the loader knows it.

    A table with a ``cursor_column`` is mutable: read incrementally on that column and merged
    on its primary key (deletes from the tombstone table). Without one it is a reference
    table, replaced on every run.
    """

    name: str
    primary_key: tuple[str, ...]
    cursor_column: str | None = CURSOR_COLUMN
    money_columns: frozenset[str] = frozenset()

    @property
    def mutable(self) -> bool:
        """Whether rows change after insert (read incrementally on the cursor column)."""
        return self.cursor_column is not None


def _money(*names: str) -> frozenset[str]:
    return frozenset(names)


DEMO_TABLES: tuple[ErpTable, ...] = (
    ErpTable("region", ("r_regionkey",), cursor_column=None),
    ErpTable("nation", ("n_nationkey",), cursor_column=None),
    ErpTable("part", ("p_partkey",), money_columns=_money("p_retailprice")),
    ErpTable("supplier", ("s_suppkey",), money_columns=_money("s_acctbal")),
    ErpTable("partsupp", ("ps_partkey", "ps_suppkey"), money_columns=_money("ps_supplycost")),
    ErpTable("customer", ("c_custkey",), money_columns=_money("c_acctbal")),
    ErpTable("orders", ("o_orderkey",), money_columns=_money("o_totalprice")),
    ErpTable(
        "lineitem",
        ("l_orderkey", "l_linenumber"),
        money_columns=_money("l_quantity", "l_extendedprice", "l_discount", "l_tax"),
    ),
)
"""The demo ERP's tables (the default contract)."""


def parse_tables(spec: Mapping[str, Any]) -> tuple[ErpTable, ...]:
    """Tables from a mapping ``{name: {primary_key, cursor_column, money_columns, reference}}``.

    ``primary_key`` is required (a column or a list); ``cursor_column`` defaults to
    ``updated_at``; ``reference = true`` makes a table that is replaced on every run;
    ``money_columns`` (default none) are loaded as ``decimal(15, 2)``.
    """
    tables = []
    for name, raw in spec.items():
        entry = dict(raw or {})
        unknown = set(entry) - {"primary_key", "cursor_column", "money_columns", "reference"}
        if unknown:
            raise ValueError(f"ERP table {name!r}: unknown settings {sorted(unknown)}")
        key = entry.get("primary_key")
        if not key:
            raise ValueError(f"ERP table {name!r}: primary_key is required")
        keys = (key,) if isinstance(key, str) else tuple(key)
        cursor = None if entry.get("reference") else entry.get("cursor_column") or CURSOR_COLUMN
        money = frozenset(entry.get("money_columns") or ())
        tables.append(ErpTable(str(name), keys, cursor, money))
    return tuple(tables)


def erp_tables() -> tuple[ErpTable, ...]:
    """The ERP's tables: ``ERP_TABLES``, else ``[sources.erp.tables]``, else the demo's."""
    text = os.environ.get(TABLES_ENV)
    if text:
        return parse_tables(json.loads(text))
    configured: Mapping[str, Any] | None = dlt.config.get("sources.erp.tables")
    if configured:
        return parse_tables(configured)
    return DEMO_TABLES


def erp_table(name: str) -> ErpTable:
    """The contract of table ``name``."""
    for table in erp_tables():
        if table.name == name:
            return table
    raise KeyError(f"no ERP table {name!r} in the configured tables")


def tombstone_table() -> str | None:
    """The tombstone table: ``ERP_TOMBSTONE_TABLE``, else the config, else the demo's.

    An empty value means the ERP keeps no tombstones: deletes are not loaded.
    """
    value = os.environ.get(TOMBSTONE_TABLE_ENV)
    if value is None:
        value = dlt.config.get("sources.erp.tombstone_table")
    if value is None:
        value = TOMBSTONE_TABLE
    return str(value) or None


def configured_erp_url(url: str | None = None) -> str:
    """The ERP URL: the argument, else ``ERP_URL``, else ``[sources.erp] erp_url``, else default.

    The default is the demo's SQLite file; relative SQLite paths are taken from the project root.
    """
    chosen = url or os.environ.get(ERP_URL_ENV) or dlt.config.get("sources.erp.erp_url")
    return erp_url(chosen or None)
