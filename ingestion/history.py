"""Load history: a row per loader run in ``ops.dlt_loads``, per table in ``ops.dlt_load_tables``.

Every loader (``load_erp``, ``load_crm``, ``load_carrier`` in :mod:`ingestion.cli`) records what
it did beside dbt's run history (written by the ``on-run-end`` hook of the dbt project, see
``macros/observability/``), in the same ``ops`` schema of the warehouse it loaded:

* ``ops.dlt_loads``: the source, the pipeline and dataset, dlt's load id(s) and package state
  (from the run's ``LoadInfo``), ``ok`` or ``failed`` (with the error), start, end and duration,
  rows loaded and rows quarantined;
* ``ops.dlt_load_tables``: rows loaded per table, rows quarantined that were meant for the table,
  and what the reconciliation against the source checked and found different (ERP: key ranges;
  CRM: contacts), so the quality scorecard can score accuracy and validity per table.

The columns are those of ``macros/observability/ops_tables.sql`` (the dbt project creates the
same tables on every run so its sources always exist; ``test_observability`` compares the two).
Writing history never fails a load: an error here is logged and the load's outcome stands.
"""

from __future__ import annotations

import contextlib
import logging
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import dlt

log = logging.getLogger(__name__)

OPS_SCHEMA = "ops"
"""The warehouse schema of the run history (dbt's and the loaders')."""

LOADS_COLUMNS: list[tuple[str, str]] = [
    ("load_run_id", "text"),
    ("source_name", "text"),
    ("pipeline_name", "text"),
    ("dataset_name", "text"),
    ("load_id", "text"),
    ("load_ids", "text"),
    ("package_state", "text"),
    ("status", "text"),
    ("started_at", "timestamp"),
    ("finished_at", "timestamp"),
    ("duration_seconds", "double precision"),
    ("rows_loaded", "bigint"),
    ("rows_quarantined", "bigint"),
    ("error_message", "text"),
]
"""Columns of ``ops.dlt_loads``, in order (as in ``ops_tables.sql``)."""

LOAD_TABLES_COLUMNS: list[tuple[str, str]] = [
    ("load_run_id", "text"),
    ("source_name", "text"),
    ("load_id", "text"),
    ("table_name", "text"),
    ("rows_loaded", "bigint"),
    ("rows_quarantined", "bigint"),
    ("reconciliation_units", "bigint"),
    ("reconciliation_mismatches", "bigint"),
    ("rows_repaired", "bigint"),
]
"""Columns of ``ops.dlt_load_tables``, in order (as in ``ops_tables.sql``)."""


@dataclass
class TableOutcome:
    """What one load did to one table, and what its reconciliation saw."""

    rows_loaded: int = 0
    rows_quarantined: int | None = None
    reconciliation_units: int | None = None
    reconciliation_mismatches: int | None = None
    rows_repaired: int | None = None


@dataclass
class LoadRecord:
    """One loader run, filled in by the loader while it runs (see :func:`recording`)."""

    source_name: str
    pipeline_name: str
    dataset_name: str
    load_run_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    load_ids: list[str] = field(default_factory=list)
    package_state: str | None = None
    tables: dict[str, TableOutcome] = field(default_factory=dict)

    def table(self, name: str) -> TableOutcome:
        """The outcome of table ``name`` (created empty on first use)."""
        return self.tables.setdefault(name, TableOutcome())

    def capture(self, pipeline: dlt.Pipeline) -> None:
        """Take the load ids, package state and rows per table of the pipeline's last run."""
        trace = pipeline.last_trace
        if trace is None:
            return
        info = trace.last_load_info
        if info is not None:
            self.load_ids += [i for i in info.loads_ids if i not in self.load_ids]
            states = sorted({str(p.state) for p in info.load_packages})
            self.package_state = ",".join(states) or self.package_state
        normalized = trace.last_normalize_info
        if normalized is not None:
            for name, count in normalized.row_counts.items():
                if not name.startswith("_dlt"):
                    self.table(name).rows_loaded += int(count)

    def quarantined(self, table_name: str, rows: int) -> None:
        """Count ``rows`` quarantined that were meant for ``table_name``."""
        outcome = self.table(table_name)
        outcome.rows_quarantined = (outcome.rows_quarantined or 0) + int(rows)

    def reconciled(self, table_name: str, units: int, mismatches: int, repaired: int) -> None:
        """Record a reconciliation of ``table_name``: units compared, found different, repaired."""
        outcome = self.table(table_name)
        outcome.reconciliation_units = int(units)
        outcome.reconciliation_mismatches = int(mismatches)
        outcome.rows_repaired = int(repaired)


def _naive(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None)


def _ddl(table: str, columns: list[tuple[str, str]]) -> str:
    body = ", ".join(f"{name} {data_type}" for name, data_type in columns)
    return f'create table if not exists "{OPS_SCHEMA}"."{table}" ({body})'


def _insert(table: str, columns: list[tuple[str, str]]) -> str:
    names = ", ".join(name for name, _ in columns)
    marks = ", ".join("%s" for _ in columns)
    return f'insert into "{OPS_SCHEMA}"."{table}" ({names}) values ({marks})'


def write(pipeline: dlt.Pipeline, record: LoadRecord, error: BaseException | None = None) -> None:
    """Write ``record`` into the ops tables of the pipeline's warehouse (one transaction)."""
    finished = datetime.now(UTC)
    rows_loaded = sum(t.rows_loaded for t in record.tables.values())
    quarantined = sum(t.rows_quarantined or 0 for t in record.tables.values())
    load_row = (
        record.load_run_id,
        record.source_name,
        record.pipeline_name,
        record.dataset_name,
        record.load_ids[0] if record.load_ids else None,
        ",".join(record.load_ids) or None,
        record.package_state,
        "failed" if error is not None else "ok",
        _naive(record.started_at),
        _naive(finished),
        round((finished - record.started_at).total_seconds(), 3),
        rows_loaded,
        quarantined,
        None if error is None else f"{type(error).__name__}: {error}"[:4000],
    )
    first_load_id = load_row[4]
    table_rows = [
        (
            record.load_run_id,
            record.source_name,
            first_load_id,
            name,
            t.rows_loaded,
            t.rows_quarantined,
            t.reconciliation_units,
            t.reconciliation_mismatches,
            t.rows_repaired,
        )
        for name, t in sorted(record.tables.items())
    ]
    with pipeline.sql_client() as client:
        client.execute_sql(f'create schema if not exists "{OPS_SCHEMA}"')
        client.execute_sql(_ddl("dlt_loads", LOADS_COLUMNS))
        client.execute_sql(_ddl("dlt_load_tables", LOAD_TABLES_COLUMNS))
        with client.begin_transaction():
            client.execute_sql(_insert("dlt_loads", LOADS_COLUMNS), *load_row)
            for row in table_rows:
                client.execute_sql(_insert("dlt_load_tables", LOAD_TABLES_COLUMNS), *row)


@contextlib.contextmanager
def recording(pipeline: dlt.Pipeline, source_name: str, dataset_name: str) -> Iterator[LoadRecord]:
    """Record the loader run inside the block in the ops tables, also when it fails.

    The loader calls :meth:`LoadRecord.capture` after its main pipeline run and adds quarantine
    and reconciliation counts; a failure is recorded as ``failed`` with its error and re-raised.
    Use it inside the warehouse lock (one writer at a time).
    """
    record = LoadRecord(source_name, pipeline.pipeline_name, dataset_name)
    try:
        yield record
    except BaseException as exc:
        _write_quietly(pipeline, record, exc)
        raise
    _write_quietly(pipeline, record, None)


def _write_quietly(pipeline: dlt.Pipeline, record: LoadRecord, error: BaseException | None) -> None:
    started = time.perf_counter()
    try:
        write(pipeline, record, error)
    except Exception:  # history must never change a load's outcome
        log.warning("could not write the load history of %s", record.source_name, exc_info=True)
        return
    seconds = time.perf_counter() - started
    log.debug("load history of %s written in %.2fs", record.source_name, seconds)
