"""Where loaders write: the warehouse targets, read from the same variables as ``profiles.yml``.

* ``duckdb`` (default): the file at ``WAREHOUSE_DUCKDB_PATH`` (default
  ``data/warehouse.duckdb``, relative to the project root).
* ``postgres``: ``WAREHOUSE_PG_HOST``, ``WAREHOUSE_PG_PORT``, ``WAREHOUSE_PG_USER``,
  ``WAREHOUSE_PG_PASSWORD`` and ``WAREHOUSE_PG_DATABASE``.
* ``spark``: dlt has no Spark destination. The loaders land in a DuckDB file
  (``SPARK_LANDING_DUCKDB``, default ``data/spark/landing.duckdb``) with every guarantee they
  have on DuckDB, then publish each raw table to the Spark warehouse as an Iceberg table
  (:mod:`ingestion.spark_raw`), through the Thrift server at ``SPARK_THRIFT_HOST`` /
  ``SPARK_THRIFT_PORT``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from warehouse_settings import PROJECT_ROOT

TARGETS = ("duckdb", "postgres", "spark")

LOADER_APPLICATION_NAME = "warehouse-loader"
"""``application_name`` of the loaders' PostgreSQL sessions (dlt's): the job lock waits for
the sessions of a killed loader to end before a job starts (see :mod:`ingestion.runner`)."""


@dataclass(frozen=True)
class PostgresSettings:
    """Connection settings of the PostgreSQL warehouse."""

    host: str
    port: int
    user: str
    password: str
    database: str

    @classmethod
    def from_env(cls) -> PostgresSettings:
        """Read the ``WAREHOUSE_PG_*`` variables (with the defaults of ``profiles.yml``)."""
        return cls(
            host=os.environ.get("WAREHOUSE_PG_HOST", "localhost"),
            port=int(os.environ.get("WAREHOUSE_PG_PORT", "5432")),
            user=os.environ.get("WAREHOUSE_PG_USER", "postgres"),
            password=os.environ.get("WAREHOUSE_PG_PASSWORD", ""),
            database=os.environ.get("WAREHOUSE_PG_DATABASE", "warehouse"),
        )

    def connect(self, **options: Any) -> Any:
        """A psycopg2 connection to the warehouse database (``options`` go to ``connect``).

        The password falls back to a dummy, as for dlt: trust authentication ignores it.
        """
        import psycopg2

        return psycopg2.connect(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password or "dummy",
            dbname=self.database,
            **options,
        )

    def url(self) -> str:
        """The libpq URL for dlt's postgres destination (plain ``postgresql://``, no driver suffix).

        dlt wants a password even with trust auth: a dummy stands in. Its sessions are named
        :data:`LOADER_APPLICATION_NAME` on the server.
        """
        password = quote(self.password or "dummy", safe="")
        user = quote(self.user, safe="")
        return (
            f"postgresql://{user}:{password}@{self.host}:{self.port}/{self.database}"
            f"?application_name={LOADER_APPLICATION_NAME}"
        )


def duckdb_path() -> Path:
    """Absolute path of the DuckDB warehouse file."""
    path = Path(os.environ.get("WAREHOUSE_DUCKDB_PATH", "data/warehouse.duckdb"))
    return path if path.is_absolute() else PROJECT_ROOT / path


def spark_landing_path() -> Path:
    """Absolute path of the DuckDB file the loaders land in for the Spark target."""
    path = Path(os.environ.get("SPARK_LANDING_DUCKDB", "data/spark/landing.duckdb"))
    return path if path.is_absolute() else PROJECT_ROOT / path


@dataclass(frozen=True)
class SparkSettings:
    """Where the Spark warehouse's Thrift server listens (the variables of ``profiles.yml``)."""

    host: str
    port: int
    user: str

    @classmethod
    def from_env(cls) -> SparkSettings:
        """Read ``SPARK_THRIFT_HOST``, ``SPARK_THRIFT_PORT`` and ``SPARK_THRIFT_USER``."""
        return cls(
            host=os.environ.get("SPARK_THRIFT_HOST", "127.0.0.1"),
            port=int(os.environ.get("SPARK_THRIFT_PORT", "10000")),
            user=os.environ.get("SPARK_THRIFT_USER", "warehouse"),
        )

    def connect(self) -> Any:
        """A DB-API connection (PyHive) to the Thrift server."""
        import logging

        from pyhive import hive

        # PyHive logs every statement it sends with its parameters quoted in: never the salt
        logging.getLogger("pyhive").setLevel(logging.WARNING)
        return hive.connect(host=self.host, port=self.port, username=self.user)


def destination(target: str) -> Any:
    """A dlt destination for ``target`` (``duckdb``, ``postgres``, or ``spark``'s landing)."""
    import dlt

    if target in ("duckdb", "spark"):
        path = duckdb_path() if target == "duckdb" else spark_landing_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        return dlt.destinations.duckdb(credentials=str(path))
    if target == "postgres":
        return dlt.destinations.postgres(credentials=PostgresSettings.from_env().url())
    raise ValueError(f"unknown target {target!r}: choose one of {', '.join(TARGETS)}")
