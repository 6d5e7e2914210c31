"""``load``: run the dlt loaders.

Examples::

    load erp                     # ERP into the DuckDB warehouse
    load erp --target postgres   # ERP into PostgreSQL (WAREHOUSE_PG_* variables)
    load carrier                 # carrier files not loaded yet (landing folder or bucket)
    load crm --crm-url URL       # CRM API (--crm-url, else CRM_BASE_URL, else .dlt config)
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from dataclasses import asdict
from typing import Any

import dlt

from ingestion.carrier import LoadCounts, carrier_source
from ingestion.carrier.settings import DATASET_NAME as CARRIER_DATASET
from ingestion.carrier.settings import DEFAULT_BUCKET_ENV, EVENTS_TABLE, file_glob
from ingestion.carrier.settings import PIPELINE_NAME as CARRIER_PIPELINE
from ingestion.crm import load_contacts
from ingestion.crm import settings as crm_settings
from ingestion.destinations import TARGETS
from ingestion.erp import erp_source, reconcile_erp
from ingestion.erp.settings import (
    DATASET_NAME,
    DEFAULT_LAG_SECONDS,
    PIPELINE_NAME,
    configured_erp_url,
)
from ingestion.history import LoadRecord, recording
from ingestion.runner import finish_pending, make_pipeline, run, warehouse_lock
from warehouse_settings import carrier_landing_dir

log = logging.getLogger(__name__)


def _rows_per_table(pipeline: dlt.Pipeline) -> dict[str, int]:
    trace = pipeline.last_trace
    if trace is None or trace.last_normalize_info is None:
        return {}
    counts: dict[str, int] = trace.last_normalize_info.row_counts
    return {k: v for k, v in sorted(counts.items()) if not k.startswith("_dlt")}


def _publish_if_spark(target: str, dataset: str) -> None:
    """On the Spark target, copy what just landed to Spark (still inside the job lock).

    The raw tables of ``dataset``, and the load history the loader recorded beside them in
    the landing (``ops.dlt_loads``, ``ops.dlt_load_tables``) for the observability marts.
    """
    if target == "spark":
        from ingestion.history import OPS_SCHEMA
        from ingestion.spark_raw import publish_dataset

        publish_dataset(dataset)
        publish_dataset(OPS_SCHEMA, tables=["dlt_loads", "dlt_load_tables"])


def load_erp(
    target: str = "duckdb",
    *,
    url: str | None = None,
    lag_seconds: float = DEFAULT_LAG_SECONDS,
    tables: list[str] | None = None,
    reconcile: bool = True,
) -> dict[str, Any]:
    """Load the ERP into ``target`` and return a summary (rows per table, seconds, rows/s).

    With ``reconcile`` (the default) the load is followed by the ERP reconciliation (see
    :mod:`ingestion.erp.reconcile`); its counts are the summary's ``reconciliation``.
    """
    started = time.perf_counter()
    reconciliation: dict[str, Any] | None = None
    with warehouse_lock(target):
        pipeline = make_pipeline(PIPELINE_NAME, target, DATASET_NAME)
        with recording(pipeline, "erp", DATASET_NAME) as record:
            source_url = configured_erp_url(url)
            # A first load killed midway is finished here, so it no longer counts as first.
            finish_pending(pipeline, target)
            source = erp_source(erp_url=source_url, lag_seconds=lag_seconds, tables=tables)
            if pipeline.first_run:
                # Nothing landed yet: write the initial snapshot straight into the raw tables
                # instead of merging it through staging tables (about 2x faster at SF 1).
                for resource in source.resources.values():
                    resource.apply_hints(write_disposition="replace")
                    # A snapshot has one version per key: the merge's dedup_sort has nothing to
                    # sort, and dlt warns when replace meets it.
                    columns = resource.columns if isinstance(resource.columns, dict) else {}
                    for name, hint in columns.items():
                        if hint.get("dedup_sort"):
                            resource.apply_hints(columns={name: {"dedup_sort": None}})
            run(pipeline, source, target)
            record.capture(pipeline)
            seconds = time.perf_counter() - started
            rows = _rows_per_table(pipeline)
            if reconcile:
                reconciliation = reconcile_erp(
                    pipeline, target, source_url, tables=tables
                ).as_dict()
                _record_erp_reconciliation(record, reconciliation)
        _publish_if_spark(target, DATASET_NAME)
    total = sum(rows.values())
    summary = {
        "pipeline": pipeline.pipeline_name,
        "dataset": DATASET_NAME,
        "rows": rows,
        "total_rows": total,
        "seconds": round(seconds, 2),
        "rows_per_second": round(total / seconds) if seconds else None,
    }
    if reconciliation is not None:
        summary["reconciliation"] = reconciliation
    return summary


def _record_erp_reconciliation(record: LoadRecord, reconciliation: dict[str, Any]) -> None:
    """Key ranges compared, found different and rows repaired, per ERP table."""
    for name, detail in reconciliation["tables"].items():
        record.reconciled(
            name,
            units=detail["ranges_checked"],
            mismatches=detail["ranges_repaired"],
            repaired=detail["rows_reloaded"] + detail["rows_deleted"],
        )


def carrier_bucket_url(url: str | None = None) -> str:
    """The argument, else ``CARRIER_BUCKET_URL``, else the local landing folder as a file URL."""
    url = url or os.environ.get(DEFAULT_BUCKET_ENV)
    if url:
        return url
    folder = carrier_landing_dir()
    folder.mkdir(parents=True, exist_ok=True)
    return folder.as_uri()


def load_carrier(target: str = "duckdb", *, bucket_url: str | None = None) -> dict[str, Any]:
    """Load the carrier files not loaded yet into ``target`` and return a summary.

    The summary counts files and lines (read, loaded, duplicate, quarantined) and rows per table.
    """
    started = time.perf_counter()
    counts = LoadCounts()
    url = carrier_bucket_url(bucket_url)
    with warehouse_lock(target):
        pipeline = make_pipeline(CARRIER_PIPELINE, target, CARRIER_DATASET)
        with recording(pipeline, "carrier", CARRIER_DATASET) as record:
            source = carrier_source(bucket_url=url, file_glob=file_glob(), counts=counts)
            run(pipeline, source, target)
            record.capture(pipeline)
            record.quarantined(EVENTS_TABLE, counts.lines_quarantined)
        _publish_if_spark(target, CARRIER_DATASET)
    return {
        "pipeline": pipeline.pipeline_name,
        "dataset": CARRIER_DATASET,
        "bucket_url": url,
        **asdict(counts),
        "rows": _rows_per_table(pipeline),
        "seconds": round(time.perf_counter() - started, 2),
    }


def _load_crm_from(
    target: str, base_url: str, token: str, source_options: dict[str, Any]
) -> dict[str, Any]:
    started = time.perf_counter()
    with warehouse_lock(target):
        pipeline = make_pipeline(crm_settings.PIPELINE_NAME, target, crm_settings.DATASET_NAME)
        with recording(pipeline, "crm", crm_settings.DATASET_NAME) as record:
            outcome = load_contacts(
                pipeline, target, base_url=base_url, api_token=token, **source_options
            )
            record.capture(pipeline)
            _record_crm_outcome(record)
        _publish_if_spark(target, crm_settings.DATASET_NAME)
    rows = _rows_per_table(pipeline)
    return {
        "pipeline": pipeline.pipeline_name,
        "dataset": crm_settings.DATASET_NAME,
        "crm": base_url,
        "rows": rows,
        "total_rows": sum(rows.values()),
        **outcome,  # cursor before and after; reconciliation counts when one ran
        "seconds": round(time.perf_counter() - started, 2),
    }


def _record_crm_outcome(record: LoadRecord) -> None:
    """Contacts quarantined by this run, counted against the contacts table.

    The CRM's full reconciliation is the load itself (everything listed, so new and edited
    contacts count as "missing" and "changed" too): it is no measure of drift, and is not
    recorded as one.
    """
    quarantine = record.tables.get(crm_settings.QUARANTINE_TABLE)
    record.quarantined(crm_settings.RESOURCE_NAME, quarantine.rows_loaded if quarantine else 0)


def load_crm(
    target: str = "duckdb",
    *,
    base_url: str | None = None,
    token: str | None = None,
    **source_options: Any,
) -> dict[str, Any]:
    """Load the CRM API into ``target`` and return a summary (rows per table, cursor).

    The API is ``base_url``, else ``CRM_BASE_URL``, else ``[sources.crm] base_url`` in
    ``.dlt/config.toml``; the token ``token``, else ``CRM_API_TOKEN``, else ``[sources.crm]
    api_token`` in ``.dlt/secrets.toml`` (see :func:`ingestion.crm.settings.crm_endpoint`).
    Nothing is started here: the CRM must be running. ``source_options`` go to
    :func:`~ingestion.crm.load_contacts` (``page_size``, ``max_attempts``, ``backoff_factor``,
    ``lag_seconds``, ``reconcile``, ``reconcile_every_days``).
    """
    base_url, token = crm_settings.crm_endpoint(base_url, token)
    return _load_crm_from(target, base_url, token, source_options)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``load`` command."""
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    parser = argparse.ArgumentParser(prog="load", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "source", choices=["erp", "crm", "carrier"], help="which source system to load"
    )
    parser.add_argument(
        "--target", choices=TARGETS, default=os.environ.get("WAREHOUSE_TARGET", "duckdb")
    )
    parser.add_argument("--erp-url", help="ERP database URL (default: $ERP_URL or SQLite file)")
    parser.add_argument("--lag-seconds", type=float, default=DEFAULT_LAG_SECONDS)
    parser.add_argument("--tables", nargs="*", help="load only these ERP tables")
    parser.add_argument(
        "--no-reconcile",
        dest="erp_reconcile",
        action="store_false",
        help="skip the ERP reconciliation after the load (counts and hashes per key range)",
    )
    parser.add_argument(
        "--bucket-url",
        help="carrier files to read (default: $CARRIER_BUCKET_URL or the landing folder)",
    )
    parser.add_argument(
        "--crm-url", help="CRM API base URL (default: $CRM_BASE_URL, else [sources.crm] base_url)"
    )
    parser.add_argument(
        "--crm-token",
        help="CRM API token (default: $CRM_API_TOKEN, else [sources.crm] api_token; prefer those)",
    )
    parser.add_argument(
        "--reconcile",
        action="store_true",
        help="CRM: compare every contact with the API and repair drift (default: every 7 days)",
    )
    args = parser.parse_args(argv)
    if args.source == "crm":
        try:
            summary = load_crm(
                args.target, base_url=args.crm_url, token=args.crm_token, reconcile=args.reconcile
            )
        except crm_settings.CrmNotConfiguredError as exc:
            parser.exit(2, f"load crm: {exc}\n")
    elif args.source == "carrier":
        summary = load_carrier(args.target, bucket_url=args.bucket_url)
    else:
        summary = load_erp(
            args.target,
            url=args.erp_url,
            lag_seconds=args.lag_seconds,
            tables=args.tables,
            reconcile=args.erp_reconcile,
        )
    json.dump(summary, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
