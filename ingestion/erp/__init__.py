"""dlt source for the ERP: every TPC-H table, incremental on ``updated_at``, deletes included.

* ``region`` and ``nation`` (reference data, no ``updated_at``) are replaced on every run.
* The mutable tables are read with dlt's ``sql_database`` source (connectorx backend, Arrow
  stream) incrementally on ``updated_at`` with a lag window, and merged on their primary keys
  with the ``delete-insert`` strategy (exact where ``upsert`` is not). The cursor is the raw
  table's own newest ``updated_at`` (see :class:`~ingestion.erp.helpers.Watermark`), not a
  value kept in dlt's state: dlt 1.31's ``lag`` trips an assertion on Arrow datetime cursors,
  and a cursor read from the warehouse cannot drift from what actually landed.
* Each mutable table has a second resource that reads the ERP's tombstones (``deleted_rows``)
  incrementally and writes them into the same table with ``_erp_deleted = true``, a column with
  dlt's ``hard_delete`` hint: the merge removes those keys from the raw table.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, Literal

import dlt
import pyarrow as pa
import sqlalchemy as sa
from dlt.sources import DltResource
from dlt.sources.sql_database import sql_table

from ingestion.erp.helpers import (
    Watermark,
    connectorx_url,
    erp_table_adapter,
    money_as_decimal,
    not_null,
    read_tombstones,
)
from ingestion.erp.settings import (
    CHUNK_SIZE,
    CURSOR_COLUMN,
    DEFAULT_LAG_SECONDS,
    DELETED_FLAG,
)
from ingestion.runner import MERGE_DELETE_INSERT
from source_systems.erp.schema import MUTABLE_TABLES, REFERENCE_TABLES, TABLES_BY_NAME


def _merge_hints(table_name: str, *, tombstones: bool) -> dict[str, Any]:
    """Hints shared by a table's two resources: merge on the key, latest ``updated_at`` wins.

    The ``hard_delete`` column is declared on the tombstone resource only: the live table has
    no such column to reflect.
    """
    columns: dict[str, Any] = {
        CURSOR_COLUMN: {"data_type": "timestamp", "nullable": False, "dedup_sort": "desc"},
    }
    if tombstones:
        columns[DELETED_FLAG] = {"data_type": "bool", "nullable": True, "hard_delete": True}
    return {
        "write_disposition": MERGE_DELETE_INSERT,
        "primary_key": list(TABLES_BY_NAME[table_name].primary_key),
        "columns": columns,
    }


def _tombstones(
    table_name: str, conn_url: str, watermark: Watermark, batch_rows: int
) -> DltResource:
    key_columns = list(TABLES_BY_NAME[table_name].primary_key)

    def deletions() -> Iterator[pa.Table]:
        for batch in read_tombstones(
            conn_url, table_name, key_columns, watermark.since(), batch_rows
        ):
            yield declare(watermark.tombstones(batch))

    declare = not_null([*key_columns, CURSOR_COLUMN])

    hints = _merge_hints(table_name, tombstones=True)
    return dlt.resource(deletions, name=f"{table_name}__deletions", table_name=table_name, **hints)


def _since_filter(watermark: Watermark) -> Callable[[Any, sa.Table], Any]:
    """A query adapter: read only rows stamped at or after the watermark."""

    def adapt(query: Any, table: sa.Table) -> Any:
        return query.where(table.c[CURSOR_COLUMN] >= watermark.since()).order_by(
            table.c[CURSOR_COLUMN]
        )

    return adapt


@dlt.source(name="erp", max_table_nesting=0)
def erp_source(
    erp_url: str = dlt.config.value,
    lag_seconds: float = DEFAULT_LAG_SECONDS,
    chunk_size: int = CHUNK_SIZE,
    tables: Sequence[str] | None = None,
) -> list[DltResource]:
    """All ERP tables as dlt resources (see the module docstring for the load strategy).

    Args:
        erp_url: SQLAlchemy URL of the ERP database (SQLite file or PostgreSQL).
        lag_seconds: attribution window on ``updated_at`` in seconds.
        chunk_size: rows per Arrow batch.
        tables: load only these tables (default: all).

    """
    wanted = set(tables or TABLES_BY_NAME)
    unknown = wanted - set(TABLES_BY_NAME)
    if unknown:
        raise ValueError(f"unknown ERP tables: {sorted(unknown)}")
    conn_url = connectorx_url(erp_url)

    def erp_table(
        name: str,
        primary_key: list[str],
        *,
        write_disposition: Literal["append", "replace"] = "append",
        query_adapter_callback: Callable[[Any, sa.Table], Any] | None = None,
    ) -> DltResource:
        """One ERP table through ``sql_table``: the arguments every table shares, plus its own."""
        return sql_table(
            credentials=erp_url,
            table=name,
            backend="connectorx",
            backend_kwargs={
                "conn": conn_url,
                "return_type": "arrow_stream",
                "batch_size": chunk_size,
            },
            reflection_level="full_with_precision",
            table_adapter_callback=erp_table_adapter,
            chunk_size=chunk_size,
            write_disposition=write_disposition,
            primary_key=primary_key,
            query_adapter_callback=query_adapter_callback,
        )

    resources: list[DltResource] = []
    for table in REFERENCE_TABLES:
        if table.name in wanted:
            resource = erp_table(table.name, list(table.primary_key), write_disposition="replace")
            resource.add_map(not_null(table.primary_key))
            resources.append(resource)
    for table in MUTABLE_TABLES:
        if table.name not in wanted:
            continue
        watermark = Watermark(table.name, list(table.primary_key), lag_seconds)
        resource = erp_table(
            table.name, list(table.primary_key), query_adapter_callback=_since_filter(watermark)
        )
        resource.apply_hints(**_merge_hints(table.name, tombstones=False))
        resource.add_map(money_as_decimal(table.name))
        resource.add_map(not_null([*table.primary_key, CURSOR_COLUMN]))
        resource.add_map(watermark.live_rows)
        resources.append(resource)
        resources.append(_tombstones(table.name, conn_url, watermark, chunk_size))
    return resources
