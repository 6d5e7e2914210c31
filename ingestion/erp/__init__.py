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
    DEFAULT_LAG_SECONDS,
    DELETED_FLAG,
    ErpTable,
    erp_tables,
    tombstone_table,
)
from ingestion.runner import MERGE_DELETE_INSERT


def _merge_hints(table: ErpTable, *, tombstones: bool) -> dict[str, Any]:
    """Hints shared by a table's two resources: merge on the key, latest ``updated_at`` wins.

    The ``hard_delete`` column is declared on the tombstone resource only: the live table has
    no such column to reflect.
    """
    if table.cursor_column is None:
        raise ValueError(f"{table.name} is a reference table: it is replaced, not merged")
    columns: dict[str, Any] = {
        table.cursor_column: {"data_type": "timestamp", "nullable": False, "dedup_sort": "desc"},
    }
    if tombstones:
        columns[DELETED_FLAG] = {"data_type": "bool", "nullable": True, "hard_delete": True}
    return {
        "write_disposition": MERGE_DELETE_INSERT,
        "primary_key": list(table.primary_key),
        "columns": columns,
    }


def _tombstones(
    table: ErpTable, conn_url: str, watermark: Watermark, batch_rows: int, tombstones: str
) -> DltResource:
    key_columns = list(table.primary_key)
    cursor = watermark.cursor_column

    def deletions() -> Iterator[pa.Table]:
        for batch in read_tombstones(
            conn_url,
            table.name,
            key_columns,
            watermark.since(),
            batch_rows,
            tombstone_table=tombstones,
            cursor_column=cursor,
        ):
            yield declare(watermark.tombstones(batch))

    declare = not_null([*key_columns, cursor])

    hints = _merge_hints(table, tombstones=True)
    return dlt.resource(deletions, name=f"{table.name}__deletions", table_name=table.name, **hints)


def _since_filter(watermark: Watermark) -> Callable[[Any, sa.Table], Any]:
    """A query adapter: read only rows stamped at or after the watermark."""
    cursor = watermark.cursor_column

    def adapt(query: Any, table: sa.Table) -> Any:
        return query.where(table.c[cursor] >= watermark.since()).order_by(table.c[cursor])

    return adapt


@dlt.source(name="erp", max_table_nesting=0)
def erp_source(
    erp_url: str = dlt.config.value,
    lag_seconds: float = DEFAULT_LAG_SECONDS,
    chunk_size: int = CHUNK_SIZE,
    tables: Sequence[str] | None = None,
) -> list[DltResource]:
    """All ERP tables as dlt resources (see the module docstring for the load strategy).

    The tables, their keys, cursor and money columns and the tombstone table are the ERP's
    contract in :mod:`ingestion.erp.settings` (the demo's, or a user's configuration).

    Args:
        erp_url: SQLAlchemy URL of the ERP database (SQLite file or PostgreSQL).
        lag_seconds: attribution window on ``updated_at`` in seconds.
        chunk_size: rows per Arrow batch.
        tables: load only these tables (default: all).

    """
    contract = erp_tables()
    tombstones = tombstone_table()
    wanted = set(tables or (t.name for t in contract))
    unknown = wanted - {t.name for t in contract}
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
    for table in contract:
        if table.name in wanted and not table.mutable:
            resource = erp_table(table.name, list(table.primary_key), write_disposition="replace")
            resource.add_map(not_null(table.primary_key))
            resources.append(resource)
    for table in contract:
        if table.name not in wanted or table.cursor_column is None:
            continue
        watermark = Watermark(
            table.name, list(table.primary_key), lag_seconds, cursor_column=table.cursor_column
        )
        resource = erp_table(
            table.name, list(table.primary_key), query_adapter_callback=_since_filter(watermark)
        )
        resource.apply_hints(**_merge_hints(table, tombstones=False))
        resource.add_map(money_as_decimal(table.name))
        resource.add_map(not_null([*table.primary_key, table.cursor_column]))
        resource.add_map(watermark.live_rows)
        resources.append(resource)
        if tombstones:
            resources.append(_tombstones(table, conn_url, watermark, chunk_size, tombstones))
    return resources
