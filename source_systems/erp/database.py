"""Connections to the ERP database: a SQLite file by default, PostgreSQL when configured.

The ERP is addressed by one SQLAlchemy-style URL (``ERP_URL``):

* ``sqlite:///data/erp.sqlite`` (the default; relative paths are taken from the project root)
* ``postgresql+psycopg2://user:password@host:5432/erp``

DDL that differs between the two (triggers) lives in :mod:`source_systems.erp.ddl`; everything
else is plain SQL that both accept.
"""

from __future__ import annotations

import contextlib
import io
import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pyarrow as pa
import pyarrow.csv as pa_csv

from warehouse_settings import DEFAULT_ERP_URL, PROJECT_ROOT, erp_url

# Re-exported: the simulator's callers used to take these from here.
__all__ = ["DEFAULT_ERP_URL", "PROJECT_ROOT", "ErpDatabase", "connect", "erp_url"]


class ErpDatabase:
    """A DB-API connection to the ERP with the few helpers the simulator needs.

    Statements use ``?`` placeholders; they are rewritten to ``%s`` for PostgreSQL.
    """

    def __init__(self, url: str | None = None) -> None:
        """Open a connection to the ERP at ``url`` (see :func:`erp_url`)."""
        self.url = erp_url(url)
        parts = urlsplit(self.url)
        scheme = parts.scheme.split("+")[0]
        if scheme == "sqlite":
            self.dialect = "sqlite"
            path = Path(unquote(self.url.removeprefix("sqlite:///")))
            path.parent.mkdir(parents=True, exist_ok=True)
            self.path: Path | None = path
            self.conn: Any = self._open_sqlite(path)
        elif scheme in ("postgresql", "postgres"):
            import psycopg2

            self.dialect = "postgresql"
            self.path = None
            self.conn = psycopg2.connect(
                host=parts.hostname or "localhost",
                port=parts.port or 5432,
                user=unquote(parts.username or "postgres"),
                password=unquote(parts.password or ""),
                dbname=(parts.path or "/erp").lstrip("/") or "erp",
            )
        else:
            raise ValueError(f"unsupported ERP_URL {self.url!r}: use sqlite:/// or postgresql://")

    @staticmethod
    def _open_sqlite(path: Path) -> sqlite3.Connection:
        conn = sqlite3.connect(path, isolation_level="DEFERRED")
        conn.execute("pragma foreign_keys = on")
        conn.execute("pragma journal_mode = wal")
        return conn

    def reopen(self) -> None:
        """Open the connection again (SQLite: after the file was replaced by a new build)."""
        if self.path is None:
            raise ValueError("reopen is for a SQLite ERP")
        self.conn = self._open_sqlite(self.path)

    def _sql(self, sql: str) -> str:
        if self.dialect != "postgresql":
            return sql
        return sql.replace("%", "%%").replace("?", "%s")

    def _run(self, cur: Any, sql: str, params: Sequence[Any]) -> None:
        if params:
            cur.execute(self._sql(sql), tuple(params))
        else:
            cur.execute(sql)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement and return the number of rows it touched."""
        cur = self.conn.cursor()
        self._run(cur, sql, params)
        count = cur.rowcount
        cur.close()
        return int(count)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Run one statement for many parameter rows."""
        if not rows:
            return
        cur = self.conn.cursor()
        if self.dialect == "postgresql":
            from psycopg2.extras import execute_batch

            execute_batch(cur, self._sql(sql), rows, page_size=1000)
        else:
            cur.executemany(sql, rows)
        cur.close()

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run a query and return all rows as tuples."""
        cur = self.conn.cursor()
        self._run(cur, sql, params)
        rows = [tuple(r) for r in cur.fetchall()]
        cur.close()
        return rows

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """Run a query that returns one value."""
        rows = self.query(sql, params)
        return rows[0][0] if rows else None

    def bulk_insert(self, table: str, data: pa.Table) -> None:
        """Insert an Arrow table fast: ``COPY`` on PostgreSQL, ``executemany`` on SQLite."""
        columns = ", ".join(data.column_names)
        if self.dialect == "postgresql":
            buffer = io.BytesIO()
            pa_csv.write_csv(data, buffer, pa_csv.WriteOptions(include_header=False))
            buffer.seek(0)
            cur = self.conn.cursor()
            cur.copy_expert(f"copy {table} ({columns}) from stdin with (format csv)", buffer)
            cur.close()
            return
        placeholders = ", ".join("?" for _ in data.column_names)
        sql = f"insert into {table} ({columns}) values ({placeholders})"
        for batch in data.to_batches(max_chunksize=100_000):
            pylists = [sqlite_values(col) for col in batch.columns]
            self.conn.executemany(sql, zip(*pylists, strict=True))

    def commit(self) -> None:
        """Commit the open transaction."""
        self.conn.commit()

    def rollback(self) -> None:
        """Roll the open transaction back."""
        self.conn.rollback()

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()


def sqlite_values(column: pa.Array) -> list[Any]:
    """Turn an Arrow column into values SQLite stores well (decimals as REAL, dates as text)."""
    if pa.types.is_decimal(column.type):
        column = column.cast(pa.float64())
    elif (
        pa.types.is_date(column.type)
        or pa.types.is_timestamp(column.type)
        or pa.types.is_string_view(column.type)
    ):
        column = column.cast(pa.string())
    return column.to_pylist()


@contextlib.contextmanager
def connect(url: str | None = None) -> Iterator[ErpDatabase]:
    """Open the ERP, yield it, commit on success and roll back on error."""
    db = ErpDatabase(url)
    try:
        yield db
        db.commit()
    except BaseException:
        db.rollback()
        raise
    finally:
        db.close()
