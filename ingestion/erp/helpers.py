"""Helpers of the ERP loader: connection URLs, the warehouse watermark, tombstones, types."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import dlt
import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa

from ingestion.erp.settings import (
    CURSOR_COLUMN,
    DELETED_FLAG,
    INITIAL_CURSOR,
    TOMBSTONE_TABLE,
    erp_table,
)


def connectorx_url(sqlalchemy_url: str) -> str:
    """Turn a SQLAlchemy URL into the form connectorx expects.

    SQLAlchemy writes an absolute SQLite path with four slashes (``sqlite:////abs/file``);
    connectorx wants ``sqlite://`` followed by the path. PostgreSQL loses its ``+driver``.
    """
    if sqlalchemy_url.startswith("sqlite:///"):
        path = sqlalchemy_url.removeprefix("sqlite:///")
        if not path.startswith("/"):
            raise ValueError(f"the ERP SQLite path must be absolute, got {sqlalchemy_url!r}")
        return "sqlite://" + path
    parts = urlsplit(sqlalchemy_url)
    scheme = parts.scheme.split("+")[0]
    if scheme == "postgres":
        scheme = "postgresql"
    return urlunsplit((scheme, *parts[1:]))


class Watermark:
    """The incremental cursor of one raw table, read from the warehouse itself.

    Rather than trust a cursor kept beside the warehouse (dlt's incremental state, which a lost
    pipeline folder or an aborted package can leave out of step), each run asks the raw table
    once for its newest ``updated_at`` and for the keys and stamps of its rows inside the lag
    window. Then:

    * :meth:`since` is where reading starts: the newest stamp minus the lag window, so a
      transaction that commits late with a slightly older stamp is still read;
    * :meth:`live_rows` drops fetched rows the raw table already holds (same key, same
      ``updated_at``): a rerun with no source change loads nothing and rewrites nothing;
    * :meth:`tombstones` keeps a delete only when the raw table holds its key in a version
      older than the delete (a delete already applied, or of a row never loaded, is dropped;
      so is a stale delete of a key inserted again later).

    The raw table is the only record of what was loaded, so a crash anywhere leaves nothing
    to reconcile: the next run reads from what actually landed.
    """

    def __init__(
        self,
        table_name: str,
        key_columns: list[str],
        lag_seconds: float,
        cursor_column: str = CURSOR_COLUMN,
    ) -> None:
        """Watermark of raw table ``table_name`` keyed by ``key_columns``, on ``cursor_column``."""
        self.table_name = table_name
        self.cursor_column = cursor_column
        self.key_columns = key_columns
        self.lag = timedelta(seconds=lag_seconds)
        self._newest: datetime | None = None
        self._window: pa.Table | None = None
        self._read = False

    def _read_warehouse(self) -> None:
        self._read = True
        pipeline = dlt.current.pipeline()
        if pipeline.first_run or self.table_name not in pipeline.default_schema.tables:
            return
        keys = ", ".join(self.key_columns)
        with pipeline.sql_client() as client:
            if not client.has_dataset():
                return
            table = client.make_qualified_table_name(self.table_name)
            try:
                with client.execute_query(f"select max({self.cursor_column}) from {table}") as cur:
                    newest = cur.fetchall()[0][0]
            except Exception:  # the table is in the schema but not yet in the warehouse
                return
            if newest is None:
                return
            self._newest = newest.replace(tzinfo=None)
            cursor = self.cursor_column
            query = f"select {keys}, {cursor} from {table} where {cursor} >= %s"
            with client.execute_query(query, self._newest - self.lag) as cur:
                self._window = self._as_table(cur.fetchall())

    def since(self) -> datetime:
        """Read source rows stamped at or after this (naive UTC)."""
        if not self._read:
            self._read_warehouse()
        return INITIAL_CURSOR if self._newest is None else self._newest - self.lag

    def _filter(self, batch: pa.Table, against: pa.Table, *, exists: bool, op: str) -> pa.Table:
        """Rows of ``batch`` with (or without) a same-key row in ``against`` stamped ``op``."""
        match = " and ".join(f"w.{k} = b.{k}" for k in self.key_columns)
        probe = batch.select([*self.key_columns, self.cursor_column]).append_column(
            "_row", pa.array(range(batch.num_rows), pa.int64())
        )
        sql = (
            f"select _row from b where {'' if exists else 'not '}exists ("
            f"select 1 from w where {match} and w.{self.cursor_column} {op} b.{self.cursor_column})"
        )
        with duckdb.connect() as conn:
            conn.register("w", against)
            conn.register("b", probe)
            keep = conn.sql(sql).arrow()
            if hasattr(keep, "read_all"):
                keep = keep.read_all()
        return batch.filter(pc.is_in(probe.column("_row"), value_set=keep.column("_row")))

    def _versions_of(self, batch: pa.Table) -> pa.Table:
        """Keys and ``updated_at`` of the raw rows sharing the first key column with ``batch``."""
        first = self.key_columns[0]
        wanted = sorted(set(batch.column(first).to_pylist()))
        parts: list[pa.Table] = []
        pipeline = dlt.current.pipeline()
        with pipeline.sql_client() as client:
            table = client.make_qualified_table_name(self.table_name)
            for start in range(0, len(wanted), 1000):
                chunk = ", ".join(str(int(v)) for v in wanted[start : start + 1000])
                query = (
                    f"select {', '.join(self.key_columns)}, {self.cursor_column} from {table} "
                    f"where {first} in ({chunk})"
                )
                with client.execute_query(query) as cur:
                    parts.append(self._as_table(cur.fetchall()))
        return pa.concat_tables(parts) if parts else self._as_table([])

    def _as_table(self, rows: list[tuple[Any, ...]] | None) -> pa.Table:
        """Keys as int64 and ``updated_at`` as naive UTC microseconds.

        Built column-wise from the fetched tuples (dlt 1.31's Arrow fetch calls a DuckDB API
        that DuckDB 2 removed).
        """
        names = [*self.key_columns, self.cursor_column]
        columns = list(zip(*rows, strict=True)) if rows else [() for _ in names]
        arrays = [pa.array(columns[i], pa.int64()) for i in range(len(self.key_columns))]
        stamps = [v.astimezone(UTC).replace(tzinfo=None) if v.tzinfo else v for v in columns[-1]]
        arrays.append(pa.array(stamps, pa.timestamp("us")))
        return pa.table(dict(zip(names, arrays, strict=True)))

    def live_rows(self, batch: pa.Table) -> pa.Table:
        """Drop rows whose version (key and ``updated_at``) the raw table already holds."""
        if batch.num_rows == 0 or self._window is None or self._window.num_rows == 0:
            return batch
        return self._filter(batch, self._window, exists=False, op="=")

    def tombstones(self, batch: pa.Table) -> pa.Table:
        """Keep deletes of keys the raw table holds in a version older than the delete."""
        if batch.num_rows == 0 or self._newest is None:
            return batch.slice(0, 0)
        return self._filter(batch, self._versions_of(batch), exists=True, op="<")


def read_tombstones(
    conn_url: str,
    table_name: str,
    key_columns: list[str],
    since: datetime,
    batch_rows: int,
    *,
    tombstone_table: str = TOMBSTONE_TABLE,
    cursor_column: str = CURSOR_COLUMN,
) -> Iterator[pa.Table]:
    """Yield the ERP's tombstones of one table since ``since`` as rows of that table.

    Each tombstone becomes a row with the primary key columns, ``updated_at`` (the time of the
    delete) and ``_erp_deleted = true``; dlt's ``hard_delete`` hint then removes the key.
    """
    import connectorx as cx

    stamp = since.isoformat(sep=" ", timespec="microseconds")
    query = (
        f"select row_key, deleted_at from {tombstone_table} "
        f"where table_name = '{table_name}' and deleted_at >= '{stamp}' "
        "order by deleted_at, deletion_id"
    )
    raw = cx.read_sql(conn_url, query, return_type="arrow")
    if hasattr(raw, "read_all"):
        raw = raw.read_all()
    for offset in range(0, raw.num_rows, batch_rows):
        chunk = raw.slice(offset, batch_rows)
        keys = [json.loads(k) for k in chunk.column("row_key").to_pylist()]
        columns: dict[str, pa.Array] = {
            c: pa.array([int(k[c]) for k in keys], pa.int64()) for c in key_columns
        }
        columns[cursor_column] = chunk.column("deleted_at").cast(pa.timestamp("us"))
        columns[DELETED_FLAG] = pa.array([True] * chunk.num_rows, pa.bool_())
        yield pa.table(columns)


def erp_table_adapter(table: sa.Table) -> sa.Table:
    """Shape the reflected ERP table into the raw table's schema.

    * money columns become ``decimal(15, 2)`` whatever the ERP stores (SQLite: REAL);
    * columns outside the primary key may be null, because a tombstone row carries only its
      key and ``updated_at``.
    """
    contract = erp_table(table.name)
    for column in table.columns:
        if column.name in contract.money_columns:
            column.type = sa.Numeric(15, 2)
        if column.name not in contract.primary_key:
            column.nullable = True
    return table


def not_null(columns: Sequence[str]) -> Callable[[pa.Table], pa.Table]:
    """A map that declares ``columns`` not null in a batch's Arrow schema, as dlt's schema does.

    connectorx makes every Arrow field nullable, while the table's schema says the primary key
    (reflected ``NOT NULL``) and ``updated_at`` (our hint) are not; dlt then warns on every load
    that "column hints were different". The values are never null, so the batch says so too.
    """
    wanted = set(columns)

    def declare(table: pa.Table) -> pa.Table:
        if not any(f.nullable and f.name in wanted for f in table.schema):
            return table
        fields = [f.with_nullable(False) if f.name in wanted else f for f in table.schema]
        return table.cast(pa.schema(fields, metadata=table.schema.metadata))

    return declare


def money_as_decimal(table_name: str) -> Callable[[pa.Table], pa.Table]:
    """A map that casts the money columns of ``table_name`` to ``decimal(15, 2)``."""
    money = erp_table(table_name).money_columns
    target = pa.decimal128(15, 2)

    def cast(table: pa.Table) -> pa.Table:
        for i, fld in enumerate(table.schema):
            if fld.name in money and fld.type != target:
                values = table.column(i)
                if pa.types.is_floating(fld.type):
                    values = pc.round(values, 2)
                table = table.set_column(i, pa.field(fld.name, target), values.cast(target))
        return table

    return cast
