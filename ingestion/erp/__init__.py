"""dlt source for the ERP: every table of its contract, incremental on its cursor, deletes included.

The tables, their keys, cursor and money columns and the tombstone table are the ERP's contract
in :mod:`ingestion.erp.settings` (the demo's TPC-H tables by default, or a user's configuration).

* Reference tables (no cursor column; the demo's ``region`` and ``nation``) are replaced on
  every run.
* The mutable tables are read with dlt's ``sql_database`` source (connectorx backend, Arrow
  stream) incrementally on their cursor column (the demo's ``updated_at``) with a lag window,
  and merged on their primary keys with the ``delete-insert`` strategy (exact where ``upsert``
  is not). The cursor is the raw table's own newest stamp (see
  :class:`~ingestion.erp.helpers.Watermark`), not a value kept in dlt's state: dlt 1.31's
  ``lag`` trips an assertion on Arrow datetime cursors, and a cursor read from the warehouse
  cannot drift from what actually landed.
* Every mutable row carries ``_erp_row_hash``, a hash of its content: rows re-read inside the
  lag window are dropped when raw holds the same key *and hash* (two edits can share a stamp).
* When the ERP keeps a tombstone table (the demo's ``deleted_rows``), each mutable table has a
  second resource that writes its deletes into the same table with ``_erp_deleted = true``, a
  column with dlt's ``hard_delete`` hint: the merge removes those keys from the raw table.
  Tombstones are not ordered against rows by stamp: the current ERP decides (a key that exists
  again is read again, whatever its stamp; see :class:`~ingestion.erp.helpers.Watermark`).
  Without a tombstone table, deletes reach raw through the reconciliation only.
* :func:`reconcile_erp` compares raw with the ERP per key range (counts and hash sums) and
  repairs what differs (:mod:`ingestion.erp.reconcile`); ``load erp`` runs it after each load.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, Literal

import dlt
import pyarrow as pa
import sqlalchemy as sa
from dlt.sources import DltResource
from dlt.sources.sql_database import sql_table

from ingestion.erp import settings
from ingestion.erp.helpers import (
    Watermark,
    add_row_hash,
    connectorx_url,
    erp_table_adapter,
    merge_hints,
    money_as_decimal,
    not_null,
)
from ingestion.erp.reconcile import Reconciliation, reconcile
from ingestion.erp.settings import CHUNK_SIZE, DEFAULT_LAG_SECONDS, ErpTable
from ingestion.runner import run


def _tombstones(table: ErpTable, watermark: Watermark) -> DltResource:
    """The deletes of one table the raw table still has to apply (see :class:`Watermark`)."""

    def deletions() -> Iterator[pa.Table]:
        for batch in watermark.deletions():
            yield declare(batch)

    declare = not_null([*table.primary_key, watermark.cursor_column])

    hints = merge_hints(table, tombstones=True)
    return dlt.resource(deletions, name=f"{table.name}__deletions", table_name=table.name, **hints)


def _since_filter(watermark: Watermark, first_key: str) -> Callable[[Any, sa.Table], Any]:
    """A query adapter: rows stamped at or after the watermark, and keys deleted and back."""
    cursor = watermark.cursor_column

    def adapt(query: Any, table: sa.Table) -> Any:
        wanted = table.c[cursor] >= watermark.since()
        restore = watermark.restore_keys()
        if restore:
            wanted = sa.or_(wanted, table.c[first_key].in_(restore))
        return query.where(wanted).order_by(table.c[cursor])

    return adapt


def erp_table(
    erp_url: str,
    name: str,
    *,
    chunk_size: int = CHUNK_SIZE,
    write_disposition: Literal["append", "replace"] = "append",
    query_adapter_callback: Callable[[Any, sa.Table], Any] | None = None,
) -> DltResource:
    """One ERP table through ``sql_table``: the arguments every table shares, plus its own."""
    return sql_table(
        credentials=erp_url,
        table=name,
        backend="connectorx",
        backend_kwargs={
            "conn": connectorx_url(erp_url),
            "return_type": "arrow_stream",
            "batch_size": chunk_size,
        },
        reflection_level="full_with_precision",
        table_adapter_callback=erp_table_adapter,
        chunk_size=chunk_size,
        write_disposition=write_disposition,
        primary_key=list(settings.erp_table(name).primary_key),
        query_adapter_callback=query_adapter_callback,
    )


def hashed_rows(
    erp_url: str,
    name: str,
    query_adapter_callback: Callable[[Any, sa.Table], Any] | None = None,
    chunk_size: int = CHUNK_SIZE,
) -> DltResource:
    """The rows of a mutable ERP table as they land in raw: money typed, content hash added."""
    resource = erp_table(
        erp_url, name, chunk_size=chunk_size, query_adapter_callback=query_adapter_callback
    )
    resource.add_map(money_as_decimal(name))
    resource.add_map(add_row_hash)
    return resource


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
        lag_seconds: attribution window on each table's cursor column in seconds.
        chunk_size: rows per Arrow batch.
        tables: load only these tables (default: all).

    """
    contract = _wanted(tables)
    tombstones = settings.tombstone_table()
    conn_url = connectorx_url(erp_url)
    resources: list[DltResource] = []
    for table in contract:
        if not table.mutable:
            resource = erp_table(
                erp_url, table.name, chunk_size=chunk_size, write_disposition="replace"
            )
            resource.add_map(not_null(table.primary_key))
            resources.append(resource)
    for table in contract:
        if table.cursor_column is None:
            continue
        keys = list(table.primary_key)
        watermark = Watermark(
            table.name,
            keys,
            lag_seconds,
            conn_url,
            cursor_column=table.cursor_column,
            tombstone_table=tombstones,
        )
        resource = hashed_rows(erp_url, table.name, _since_filter(watermark, keys[0]), chunk_size)
        resource.apply_hints(**merge_hints(table, tombstones=False, reflected=True))
        resource.add_map(not_null([*table.primary_key, table.cursor_column]))
        resource.add_map(watermark.live_rows)
        resources.append(resource)
        if tombstones:
            resources.append(_tombstones(table, watermark))
    return resources


def _wanted(tables: Sequence[str] | None) -> list[ErpTable]:
    """The contract's tables named in ``tables`` (all when none), in contract order."""
    contract = settings.erp_tables()
    known = {t.name for t in contract}
    unknown = set(tables or ()) - known
    if unknown:
        raise ValueError(f"unknown ERP tables: {sorted(unknown)}")
    wanted = set(tables or known)
    return [t for t in contract if t.name in wanted]


@dlt.source(name="erp", max_table_nesting=0)
def _repair_source(resources: list[DltResource]) -> list[DltResource]:
    """The repair resources of a reconciliation, in the ERP source's schema."""
    return resources


def reconcile_erp(
    pipeline: dlt.Pipeline,
    target: str,
    erp_url: str,
    *,
    tables: Sequence[str] | None = None,
    chunk_size: int = CHUNK_SIZE,
) -> Reconciliation:
    """Compare the mutable raw tables with the ERP per key range and repair what differs.

    See :mod:`ingestion.erp.reconcile`. Run it after a load, inside the same warehouse lock.
    """
    checked = [t for t in _wanted(tables) if t.mutable]

    def read(name: str, adapter: Callable[[Any, sa.Table], Any] | None) -> DltResource:
        return hashed_rows(erp_url, name, adapter, chunk_size)

    def load(resources: list[DltResource]) -> None:
        run(pipeline, _repair_source(resources), target)

    return reconcile(pipeline, read, checked, load)
