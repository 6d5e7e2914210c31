"""Helpers of the ERP loader: connection URLs, tombstone reading, the lag-window filter."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import dlt
import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa

from ingestion.erp.settings import CURSOR_COLUMN, DELETED_FLAG
from source_systems.erp.schema import TABLES_BY_NAME


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


def _as_utc(value: Any) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


class LagWindowFilter:
    """Drops rows already loaded inside the lag window, so reruns change nothing.

    With a lag window, dlt fetches again every row stamped within ``lag`` seconds before the
    cursor. Loading them again would rewrite identical rows with a new load id. This filter keeps,
    in the resource's state (committed with the load package, so a crashed run forgets it too),
    a fingerprint of each (primary key, ``updated_at``) loaded inside the window, and drops rows
    that match one. A row that really changed has a new ``updated_at`` and passes; a late commit
    stamped inside the window has a new fingerprint and passes.
    """

    def __init__(self, resource_name: str, key_columns: list[str], lag_seconds: float) -> None:
        """Filter rows of ``resource_name`` keyed by ``key_columns``."""
        self.resource_name = resource_name
        self.key_columns = key_columns
        self.lag = timedelta(seconds=lag_seconds)

    def _fingerprints(self, table: pa.Table) -> list[str]:
        parts = [table.column(c).cast(pa.string()).fill_null("") for c in self.key_columns]
        stamps = pc.strftime(table.column(CURSOR_COLUMN), format="%Y-%m-%dT%H:%M:%S.%f")
        parts.append(stamps)
        joined = pc.binary_join_element_wise(*parts, "|").to_pylist()
        return [hashlib.blake2b(s.encode(), digest_size=12).hexdigest() for s in joined]

    def __call__(self, table: pa.Table) -> pa.Table:
        """Return ``table`` without the rows loaded before; remember the ones that pass."""
        if table.num_rows == 0:
            return table
        state = dlt.current.resource_state(self.resource_name)
        seen: dict[str, str] = state.setdefault("loaded_in_lag_window", {})
        prints = self._fingerprints(table)
        keep = pa.array([p not in seen for p in prints])
        stamps = table.column(CURSOR_COLUMN).to_pylist()
        for p, stamp in zip(prints, stamps, strict=True):
            seen[p] = _as_utc(stamp).isoformat()
        newest = max(datetime.fromisoformat(v) for v in seen.values())
        horizon = newest - self.lag
        for p in [p for p, v in seen.items() if datetime.fromisoformat(v) < horizon]:
            del seen[p]
        return table.filter(keep)


def read_tombstones(
    conn_url: str,
    table_name: str,
    key_columns: list[str],
    since: datetime,
    batch_rows: int,
) -> Iterator[pa.Table]:
    """Yield the ERP's tombstones of one table since ``since`` as rows of that table.

    Each tombstone becomes a row with the primary key columns, ``updated_at`` (the time of the
    delete) and ``_erp_deleted = true``; dlt's ``hard_delete`` hint then removes the key.
    """
    import connectorx as cx

    stamp = _as_utc(since).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
    query = (
        "select row_key, deleted_at from deleted_rows "  # noqa: S608 - values are ours
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
        columns[CURSOR_COLUMN] = chunk.column("deleted_at").cast(pa.timestamp("us"))
        columns[DELETED_FLAG] = pa.array([True] * chunk.num_rows, pa.bool_())
        yield pa.table(columns)


def erp_table_adapter(table: sa.Table) -> sa.Table:
    """Shape the reflected ERP table into the raw table's schema.

    * money columns become ``decimal(15, 2)`` whatever the ERP stores (SQLite: REAL);
    * columns outside the primary key may be null, because a tombstone row carries only its
      key and ``updated_at``.
    """
    erp_table = TABLES_BY_NAME[table.name]
    money = {c.name for c in erp_table.columns if c.sql_type.startswith("decimal")}
    for column in table.columns:
        if column.name in money:
            column.type = sa.Numeric(15, 2)
        if column.name not in erp_table.primary_key:
            column.nullable = True
    return table


def money_as_decimal(table_name: str) -> Callable[[pa.Table], pa.Table]:
    """A map that casts the money columns of ``table_name`` to ``decimal(15, 2)``."""
    money = {c.name for c in TABLES_BY_NAME[table_name].columns if c.sql_type.startswith("decimal")}
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
