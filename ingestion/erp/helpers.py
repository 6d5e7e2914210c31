"""Helpers of the ERP loader: URLs, the warehouse watermark, tombstones, row hashes, types."""

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
    ROW_HASH_COLUMN,
    TOMBSTONE_TABLE,
    ErpTable,
    erp_table,
)
from ingestion.runner import MERGE_DELETE_INSERT


def merge_hints(table: ErpTable, *, tombstones: bool, reflected: bool = False) -> dict[str, Any]:
    """Hints shared by a table's resources: merge on the key, latest cursor stamp wins.

    The ``hard_delete`` column is declared on the tombstone resources only: the live table has
    no such column to reflect. A ``reflected`` resource (``sql_table``) may only hint columns
    of the ERP table, so the row hash is declared on the others.
    """
    if table.cursor_column is None:
        raise ValueError(f"{table.name} is a reference table: it is replaced, not merged")
    columns: dict[str, Any] = {
        table.cursor_column: {"data_type": "timestamp", "nullable": False, "dedup_sort": "desc"},
    }
    if not reflected:
        columns[ROW_HASH_COLUMN] = {"data_type": "bigint", "nullable": True}
    if tombstones:
        columns[DELETED_FLAG] = {"data_type": "bool", "nullable": True, "hard_delete": True}
    return {
        "write_disposition": MERGE_DELETE_INSERT,
        "primary_key": list(table.primary_key),
        "columns": columns,
    }


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


def _arrow(relation: Any) -> pa.Table:
    """A DuckDB relation as one Arrow table (DuckDB 2 may hand back a record batch reader)."""
    result = relation.arrow()
    return result.read_all() if hasattr(result, "read_all") else result


def _canonical_text(name: str, data_type: pa.DataType) -> str:
    """SQL (DuckDB) giving one text form per value of column ``name``, whatever its Arrow type.

    Money to two decimals, stamps to microseconds, integers as integers.
    """
    col = f'"{name}"'
    if pa.types.is_decimal(data_type) or pa.types.is_floating(data_type):
        return f"cast(cast(round({col}, 2) as decimal(18, 2)) as varchar)"
    if pa.types.is_timestamp(data_type):
        return f"strftime(cast({col} as timestamp), '%Y-%m-%d %H:%M:%S.%f')"
    if pa.types.is_date(data_type):
        return f"cast(cast({col} as date) as varchar)"
    if pa.types.is_integer(data_type):
        return f"cast(cast({col} as bigint) as varchar)"
    return f"cast({col} as varchar)"


def add_row_hash(batch: pa.Table) -> pa.Table:
    """Append ``_erp_row_hash``: 60 bits of the MD5 of the row's ERP columns, as a bigint.

    Every column not starting with ``_`` takes part, in name order, the cursor column included, so
    the hash changes with any edit, also one that keeps the stamp. The same function hashes the
    rows of a load and the ERP's rows in the reconciliation, so the two always agree.
    """
    if ROW_HASH_COLUMN in batch.column_names:
        batch = batch.drop_columns([ROW_HASH_COLUMN])
    columns = sorted(n for n in batch.column_names if not n.startswith("_"))
    parts = ", ".join(
        f"coalesce({_canonical_text(n, batch.schema.field(n).type)}, chr(0))" for n in columns
    )
    sql = f"select ('0x' || left(md5(concat_ws(chr(31), {parts})), 15))::bigint as h from b"
    with duckdb.connect() as conn:
        conn.register("b", batch.select(columns))
        hashes = _arrow(conn.sql(sql)).column("h")
    return batch.append_column(pa.field(ROW_HASH_COLUMN, pa.int64()), hashes)


def match_keys(
    batch: pa.Table,
    against: pa.Table,
    key_columns: list[str],
    *,
    exists: bool,
    same: tuple[str, ...] = (),
) -> pa.Table:
    """Rows of ``batch`` with (``exists``) or without a same-key row in ``against``.

    With ``same``, the row in ``against`` must also hold the same values in those columns.
    """
    if batch.num_rows == 0:
        return batch
    match = " and ".join(f"w.{c} = b.{c}" for c in [*key_columns, *same])
    probe = batch.select([*key_columns, *same]).append_column(
        "_row", pa.array(range(batch.num_rows), pa.int64())
    )
    sql = (
        f"select _row from b where {'' if exists else 'not '}exists (select 1 from w where {match})"
    )
    with duckdb.connect() as conn:
        conn.register("w", against.select([*key_columns, *same]))
        conn.register("b", probe)
        keep = _arrow(conn.sql(sql))
    return batch.filter(pc.is_in(probe.column("_row"), value_set=keep.column("_row")))


class Watermark:
    """The incremental state of one raw table, read from the warehouse itself.

    Rather than trust a cursor kept beside the warehouse (dlt's incremental state, which a lost
    pipeline folder or an aborted package can leave out of step), each run asks the raw table
    once for its newest cursor stamp (``updated_at`` in the demo) and for the keys and content
    hashes of its rows inside the lag window. Then:

    * :meth:`since` is where reading starts: the newest stamp minus the lag window, so a
      transaction that commits late with a slightly older stamp is still read;
    * :meth:`live_rows` drops fetched rows the raw table already holds (same key, same content
      hash): a rerun with no source change loads nothing, and a second edit at the stamp of
      the version already loaded still loads (stamps can tie, hashes of different rows do not);
    * tombstones in the window are not ordered against rows by stamp (a delete and a re-insert
      can share one): the current ERP decides. Per key, the latest tombstone by its own id
      (``deletion_id``) counts; if the ERP holds the key again, the tombstone is dropped and the
      ERP's row is read whatever its stamp (:meth:`restore_keys`, an old stamp of a restored
      row included); if not, the delete is applied when the raw table holds the key, whatever
      the stamps (:meth:`deletions`).

    The raw table is the only record of what was loaded, so a crash anywhere leaves nothing
    to reconcile: the next run reads from what actually landed.
    """

    def __init__(
        self,
        table_name: str,
        key_columns: list[str],
        lag_seconds: float,
        conn_url: str,
        *,
        cursor_column: str = CURSOR_COLUMN,
        tombstone_table: str | None = TOMBSTONE_TABLE,
    ) -> None:
        """Watermark of raw table ``table_name`` keyed by ``key_columns``; ERP at ``conn_url``.

        ``cursor_column`` is the table's change stamp; ``tombstone_table`` the ERP's table of
        deletes (None: the ERP keeps none, and no delete is planned here).
        """
        self.table_name = table_name
        self.cursor_column = cursor_column
        self.tombstone_table = tombstone_table
        self.key_columns = key_columns
        self.lag = timedelta(seconds=lag_seconds)
        self.conn_url = conn_url
        self._newest: datetime | None = None
        self._window: pa.Table | None = None
        self._deletes: pa.Table | None = None
        self._restore: list[int] = []
        self._has_hash = False
        self._read = False

    def _read_warehouse(self) -> None:
        self._read = True
        pipeline = dlt.current.pipeline()
        if pipeline.first_run or self.table_name not in pipeline.default_schema.tables:
            return
        self._has_hash = ROW_HASH_COLUMN in pipeline.default_schema.tables[self.table_name].get(
            "columns", {}
        )
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
            query = f"select {self._columns()} from {table} where {self.cursor_column} >= %s"
            with client.execute_query(query, self._newest - self.lag) as cur:
                self._window = self._as_table(cur.fetchall())
        self._plan_tombstones()

    def _columns(self) -> str:
        hashed = ROW_HASH_COLUMN if self._has_hash else "cast(null as bigint)"
        return f"{', '.join(self.key_columns)}, {self.cursor_column}, {hashed}"

    def _plan_tombstones(self) -> None:
        """Split the window's tombstones into deletes to apply and keys to read again."""
        if self.tombstone_table is None:
            return
        stones = read_tombstones(
            self.conn_url,
            self.table_name,
            self.key_columns,
            self.since(),
            tombstone_table=self.tombstone_table,
            cursor_column=self.cursor_column,
        )
        if stones.num_rows == 0:
            return
        in_erp = erp_keys(self.conn_url, self.table_name, self.key_columns, stones)
        back = match_keys(stones, in_erp, self.key_columns, exists=True)
        gone = match_keys(stones, in_erp, self.key_columns, exists=False)
        raw = self._versions_of(stones)
        self._deletes = match_keys(gone, raw, self.key_columns, exists=True)
        if back.num_rows:
            first = self.key_columns[0]
            self._restore = sorted(set(back.column(first).to_pylist()))
            assert self._window is not None
            self._window = pa.concat_tables([self._window, self._versions_of(back)])

    def since(self) -> datetime:
        """Read source rows stamped at or after this (naive UTC)."""
        if not self._read:
            self._read_warehouse()
        return INITIAL_CURSOR if self._newest is None else self._newest - self.lag

    def restore_keys(self) -> list[int]:
        """First key column values to read whatever their stamp: keys deleted and back again."""
        if not self._read:
            self._read_warehouse()
        return self._restore

    def _versions_of(self, batch: pa.Table) -> pa.Table:
        """Keys, cursor stamp and hash of the raw rows sharing the first key with ``batch``."""
        first = self.key_columns[0]
        wanted = sorted(set(batch.column(first).to_pylist()))
        parts: list[pa.Table] = []
        pipeline = dlt.current.pipeline()
        with pipeline.sql_client() as client:
            table = client.make_qualified_table_name(self.table_name)
            for start in range(0, len(wanted), 1000):
                chunk = ", ".join(str(int(v)) for v in wanted[start : start + 1000])
                query = f"select {self._columns()} from {table} where {first} in ({chunk})"
                with client.execute_query(query) as cur:
                    parts.append(self._as_table(cur.fetchall()))
        return pa.concat_tables(parts) if parts else self._as_table([])

    def _as_table(self, rows: list[tuple[Any, ...]] | None) -> pa.Table:
        """Keys as int64, the cursor stamp as naive UTC microseconds, the hash as int64.

        Built column-wise from the fetched tuples (dlt 1.31's Arrow fetch calls a DuckDB API
        that DuckDB 2 removed).
        """
        names = [*self.key_columns, self.cursor_column, ROW_HASH_COLUMN]
        columns = list(zip(*rows, strict=True)) if rows else [() for _ in names]
        arrays = [pa.array(columns[i], pa.int64()) for i in range(len(self.key_columns))]
        stamps = [v.astimezone(UTC).replace(tzinfo=None) if v.tzinfo else v for v in columns[-2]]
        arrays.append(pa.array(stamps, pa.timestamp("us")))
        arrays.append(pa.array([None if v is None else int(v) for v in columns[-1]], pa.int64()))
        return pa.table(dict(zip(names, arrays, strict=True)))

    def live_rows(self, batch: pa.Table) -> pa.Table:
        """Drop rows whose version (key and content hash) the raw table already holds."""
        if batch.num_rows == 0 or self._window is None or self._window.num_rows == 0:
            return batch
        return match_keys(
            batch, self._window, self.key_columns, exists=False, same=(ROW_HASH_COLUMN,)
        )

    def deletions(self) -> Iterator[pa.Table]:
        """Tombstone rows (key, cursor stamp, ``_erp_deleted``) of keys to delete from raw."""
        if not self._read:
            self._read_warehouse()
        if self._deletes is not None and self._deletes.num_rows:
            yield self._deletes.drop_columns(["deletion_id"])


def read_tombstones(
    conn_url: str,
    table_name: str,
    key_columns: list[str],
    since: datetime,
    *,
    tombstone_table: str = TOMBSTONE_TABLE,
    cursor_column: str = CURSOR_COLUMN,
) -> pa.Table:
    """The ERP's tombstones of one table since ``since``, the latest per key by ``deletion_id``.

    ``tombstone_table`` holds ``table_name``, ``row_key`` (the key as a JSON object),
    ``deleted_at`` and ``deletion_id``. Each tombstone becomes a row with the primary key
    columns, ``cursor_column`` (the time of the delete), ``_erp_deleted = true`` and its
    ``deletion_id``.
    """
    import connectorx as cx

    stamp = since.isoformat(sep=" ", timespec="microseconds")
    query = (
        f"select deletion_id, row_key, deleted_at from {tombstone_table} "
        f"where table_name = '{table_name}' and deleted_at >= '{stamp}' "
        "order by deletion_id"
    )
    raw = cx.read_sql(conn_url, query, return_type="arrow")
    if hasattr(raw, "read_all"):
        raw = raw.read_all()
    latest: dict[tuple[int, ...], int] = {}
    keys = [json.loads(k) for k in raw.column("row_key").to_pylist()]
    for i, k in enumerate(keys):  # ordered by deletion_id: the last one per key wins
        latest[tuple(int(k[c]) for c in key_columns)] = i
    rows = pa.array(sorted(latest.values()), pa.int64())
    columns: dict[str, pa.Array] = {
        c: pa.array([int(keys[i][c]) for i in rows.to_pylist()], pa.int64()) for c in key_columns
    }
    columns[cursor_column] = raw.column("deleted_at").take(rows).cast(pa.timestamp("us"))
    columns[DELETED_FLAG] = pa.array([True] * len(rows), pa.bool_())
    columns["deletion_id"] = raw.column("deletion_id").take(rows).cast(pa.int64())
    return pa.table(columns)


def erp_keys(conn_url: str, table_name: str, key_columns: list[str], of: pa.Table) -> pa.Table:
    """The keys the ERP holds now among those sharing a first key value with ``of``."""
    import connectorx as cx

    first = key_columns[0]
    wanted = sorted(set(of.column(first).to_pylist()))
    parts: list[pa.Table] = []
    for start in range(0, len(wanted), 1000):
        chunk = ", ".join(str(int(v)) for v in wanted[start : start + 1000])
        query = f"select {', '.join(key_columns)} from {table_name} where {first} in ({chunk})"
        part = cx.read_sql(conn_url, query, return_type="arrow")
        if hasattr(part, "read_all"):
            part = part.read_all()
        int_keys = pa.schema([(c, pa.int64()) for c in key_columns])
        parts.append(part.select(key_columns).cast(int_keys))
    if not parts:
        return pa.table({c: pa.array([], pa.int64()) for c in key_columns})
    return pa.concat_tables(parts)


def erp_table_adapter(table: sa.Table) -> sa.Table:
    """Shape the reflected ERP table into the raw table's schema.

    * money columns become ``decimal(15, 2)`` whatever the ERP stores (SQLite: REAL);
    * columns outside the primary key may be null, because a tombstone row carries only its
      key and cursor stamp.
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
