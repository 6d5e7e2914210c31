"""Publish the raw tables the loaders landed to the Spark warehouse, as Iceberg tables.

dlt has no Spark destination, so for ``--target spark`` every loader lands in a DuckDB file
with all its guarantees (merge on keys, deletes, quarantine, a rerun adds nothing, a killed
load is finished by the next run; see :mod:`ingestion.destinations`). Inside the same job lock,
this module then makes each raw table of the loaded dataset in Spark an exact copy of the
landed one: DuckDB writes the table as Parquet, and Spark replaces the Iceberg table with it
in one atomic ``create or replace table ... as select`` (an Iceberg commit: readers see the old
or the new table, never half). Copying whole tables keeps the guarantees trivially: whatever
the landing holds after a load, reconciliation or rerun, Spark holds too; a publish killed
midway is redone in full by the next load. The cost is a full copy per load (seconds at the
demo scale; see the README for the measured figures and the incremental alternative).

The Parquet files are read by Spark's executors, so the landing folder must be on storage
every worker sees (a local folder for the local cluster; HDFS, S3 or a shared mount for yours:
``SPARK_LANDING_DIR``).
"""

from __future__ import annotations

import logging
import os
import shutil
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb

from ingestion.destinations import SparkSettings, spark_landing_path

log = logging.getLogger(__name__)


def landing_dir() -> Path:
    """Folder of the Parquet copies Spark reads (``SPARK_LANDING_DIR``)."""
    configured = os.environ.get("SPARK_LANDING_DIR")
    return Path(configured) if configured else spark_landing_path().parent / "landing"


def _quote(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def _export_path(root: Path, table: str) -> Path:
    # Spark skips files whose names start with "_" or "." (dlt's _dlt_loads, _dlt_version...)
    return root / f"table-{table}.parquet"


def publish_dataset(dataset: str, tables: Sequence[str] | None = None) -> dict[str, int]:
    """Replace the tables of ``dataset`` in Spark with the landed DuckDB tables; rows per table.

    Every base table of the dataset, or only those named in ``tables`` that exist.
    """
    started = time.perf_counter()
    export_root = landing_dir() / dataset / uuid.uuid4().hex
    export_root.mkdir(parents=True, exist_ok=True)
    published: dict[str, int] = {}
    try:
        with duckdb.connect(str(spark_landing_path()), read_only=True) as db:
            landed = [
                row[0]
                for row in db.execute(
                    "select table_name from information_schema.tables "
                    "where table_schema = ? and table_type = 'BASE TABLE' order by 1",
                    [dataset],
                ).fetchall()
            ]
            chosen = [name for name in landed if tables is None or name in tables]
            for table in chosen:
                path = _export_path(export_root, table)
                db.execute(
                    f'copy (select * from "{dataset}"."{table}") to \'{path}\' (format parquet)'
                )
                count = db.execute(f'select count(*) from "{dataset}"."{table}"').fetchone()
                published[table] = int(count[0]) if count else 0
        conn: Any = SparkSettings.from_env().connect()
        try:
            cursor = conn.cursor()
            cursor.execute(f"create database if not exists {_quote(dataset)}")
            for table in chosen:
                path = _export_path(export_root, table)
                cursor.execute(
                    f"create or replace table {_quote(dataset)}.{_quote(table)} using iceberg "
                    f"as select * from parquet.`{path.as_uri()}`"
                )
        finally:
            conn.close()
    finally:
        shutil.rmtree(export_root, ignore_errors=True)
    log.info(
        "published %d tables of %s to Spark in %.1f s",
        len(published),
        dataset,
        time.perf_counter() - started,
    )
    return published
