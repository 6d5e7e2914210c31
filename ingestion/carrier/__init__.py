"""dlt source for the carrier's shipment-event files (JSON lines in a landing folder or bucket).

* dlt's ``filesystem`` resource lists the files; a filter keeps only files the warehouse has not
  loaded in this exact version (same name, modification time and size, read from
  ``file_reconciliation``). A file touched again is read again in full; every table is merged
  on its key, so a reload rewrites the same rows.
* A file still being written is skipped and reported in ``files_incomplete`` until it is
  complete (:func:`is_complete`: size stable over ``SETTLE_SECONDS``, and a final newline or an
  age of ``COMPLETE_AFTER_SECONDS``). A file read again replaces its ``file_reconciliation`` row
  and its quarantine rows (rows of lines that are good now are hard-deleted).
* A transformer reads each file line by line (files in name order) and validates every line
  itself (:class:`~ingestion.carrier.helpers.LineValidator`) before dlt sees it:

  - a good line whose ``event_id`` is new becomes a row of ``shipment_events`` (merged on
    ``event_id``) with the file and line it came from;
  - a good line whose ``event_id`` was already loaded from another line (earlier in this file,
    in an earlier file, or in the warehouse) is a duplicate: counted, not loaded;
  - any other line goes to ``quarantine`` (merged on file name and line number) with its raw
    text, a reason and a detail: unparseable or out-of-range times, integers beyond 64 bits
    and bytes that are not UTF-8 included (a UTF-8 or UTF-16 BOM and CRLF are accepted);
  - one ``file_reconciliation`` row per file (merged on the file name) counts the lines read,
    loaded, duplicate and quarantined: read = loaded + duplicate + quarantined.

* Rows are handed to dlt as Arrow tables with declared types, under the schema contract
  ``{"tables": "evolve", "columns": "evolve", "data_type": "freeze"}``: an extra field the carrier
  starts sending becomes a new column; a value of another type than its column was quarantined
  before reaching dlt.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import dlt
from dlt.sources import DltResource
from dlt.sources.filesystem import FileItemDict, filesystem

from ingestion.carrier import settings
from ingestion.carrier.helpers import (
    EVENT_COLUMNS,
    QUARANTINE_COLUMNS,
    RECONCILIATION_COLUMNS,
    BadLine,
    LineValidator,
    WarehouseRecord,
    events_table,
    typed_table,
    utc_naive,
)
from ingestion.carrier.settings import (
    DELETED_FLAG,
    EVENTS_TABLE,
    FILE_GLOB,
    QUARANTINE_TABLE,
    RECONCILIATION_TABLE,
    SCHEMA_CONTRACT,
)
from ingestion.runner import MERGE_DELETE_INSERT

log = logging.getLogger(__name__)


@dataclass
class LoadCounts:
    """Lines seen by one run, over all files."""

    files: int = 0
    lines_read: int = 0
    lines_loaded: int = 0
    lines_duplicate: int = 0
    lines_quarantined: int = 0
    files_incomplete: list[str] = field(default_factory=list)


def is_complete(listed_size: int | None, size_now: int, data: bytes, age_seconds: float) -> bool:
    """Whether a file is complete and may be read (the landing rule, see the README).

    Complete means: its size did not change between the listing and a check
    :data:`~ingestion.carrier.settings.SETTLE_SECONDS` later, the bytes read are that size,
    and it either ends with a newline or has not been modified for
    :data:`~ingestion.carrier.settings.COMPLETE_AFTER_SECONDS`. Anything else is still being
    written: it is skipped (and reported) and read on a later run.
    """
    if listed_size is not None and listed_size != size_now:
        return False
    if len(data) != size_now or not data:
        return False
    return _as_utf8(data).endswith(b"\n") or age_seconds >= settings.COMPLETE_AFTER_SECONDS


def _raw_text(data: bytes) -> str:
    # PostgreSQL text cannot hold NUL; bytes that are not UTF-8 are kept as \xNN escapes.
    return data.decode("utf-8", errors="backslashreplace").replace("\x00", "\\u0000")


UTF8_BOM = b"\xef\xbb\xbf"
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def _as_utf8(data: bytes) -> bytes:
    """The file's bytes as UTF-8 without a byte order mark.

    A UTF-8 BOM is dropped; a file that starts with a UTF-16 BOM is decoded as UTF-16 (kept as
    it is if that fails, so its lines are quarantined as ``invalid_encoding``).
    """
    if data.startswith(UTF8_BOM):
        return data[len(UTF8_BOM) :]
    if data.startswith(UTF16_BOMS):
        try:
            return data.decode("utf-16").encode("utf-8")
        except UnicodeDecodeError:
            return data
    return data


def _decode(raw: bytes) -> str:
    """One line as text, or :class:`BadLine` ``invalid_encoding`` naming the bad bytes."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = raw[exc.start : exc.end]
        raise BadLine(
            "invalid_encoding", f"bytes {bad!r} at offset {exc.start} are not UTF-8 ({exc.reason})"
        ) from exc


def _extra_types_in_schema() -> dict[str, str]:
    """The dlt types of the undocumented columns ``shipment_events`` already has."""
    schema = dlt.current.source_schema()
    if EVENTS_TABLE not in schema.tables:
        return {}
    return {
        name: str(col["data_type"])
        for name, col in schema.get_table_columns(EVENTS_TABLE).items()
        if name not in EVENT_COLUMNS and not name.startswith("_dlt") and col.get("data_type")
    }


def _read_file(
    item: FileItemDict,
    validator: LineValidator,
    record: WarehouseRecord,
    seen: dict[str, tuple[str, int]],
    counts: LoadCounts,
) -> Iterator[Any]:
    file_name = item["relative_path"]
    data = item["file_content"] if "file_content" in item else item.read_bytes()
    raw_lines = _as_utf8(data).split(b"\n")
    if raw_lines and raw_lines[-1] == b"":
        raw_lines.pop()  # the newline that ends the last line
    good: list[tuple[int, dict[str, Any]]] = []
    quarantined: list[dict[str, Any]] = []
    for number, raw in enumerate(raw_lines, start=1):
        raw = raw.removesuffix(b"\r")
        text = _raw_text(raw)
        try:
            good.append((number, validator.validate(_decode(raw))))
        except BadLine as bad:
            quarantined.append(
                {
                    "file_name": file_name,
                    "line_number": number,
                    "raw_line": text,
                    "reason": bad.reason,
                    "detail": bad.detail[:500],
                }
            )
    unknown = sorted({row["event_id"] for _, row in good} - seen.keys())
    origins = {**record.origins(unknown), **seen}
    loaded: list[dict[str, Any]] = []
    duplicates = 0
    for number, row in good:
        origin = origins.get(row["event_id"])
        if origin is not None and origin != (file_name, number):
            duplicates += 1
            continue
        origins[row["event_id"]] = seen[row["event_id"]] = (file_name, number)
        loaded.append({**row, "source_file": file_name, "source_line": number})
    if loaded:
        yield dlt.mark.with_table_name(events_table(loaded, validator.extra_types), EVENTS_TABLE)
    # A file read again replaces its quarantine rows: lines that are good now are deleted.
    now_bad = {row["line_number"] for row in quarantined}
    stale = [
        {
            "file_name": file_name,
            "line_number": number,
            "raw_line": raw_line,
            "reason": "replaced",
            DELETED_FLAG: True,
        }
        for number, raw_line in sorted(record.quarantined_lines(file_name).items())
        if number not in now_bad
    ]
    if quarantined or stale:
        yield dlt.mark.with_table_name(
            typed_table(quarantined + stale, QUARANTINE_COLUMNS), QUARANTINE_TABLE
        )
    reconciliation = {
        "file_name": file_name,
        "file_url": item["file_url"],
        "file_modified_at": utc_naive(item["modification_date"]),
        "file_size_bytes": len(data),
        "lines_read": len(raw_lines),
        "lines_loaded": len(loaded),
        "lines_duplicate": duplicates,
        "lines_quarantined": len(quarantined),
    }
    yield dlt.mark.with_table_name(
        typed_table([reconciliation], RECONCILIATION_COLUMNS), RECONCILIATION_TABLE
    )
    counts.files += 1
    counts.lines_read += len(raw_lines)
    counts.lines_loaded += len(loaded)
    counts.lines_duplicate += duplicates
    counts.lines_quarantined += len(quarantined)


def _merge(primary_key: list[str], columns: dict[str, Any], table_name: str) -> dict[str, Any]:
    return {
        "table_name": table_name,
        "write_disposition": MERGE_DELETE_INSERT,
        "primary_key": primary_key,
        "columns": columns,
        "schema_contract": SCHEMA_CONTRACT,
    }


@dlt.source(name="carrier", max_table_nesting=0, schema_contract=SCHEMA_CONTRACT)
def carrier_source(
    bucket_url: str = dlt.config.value,
    file_glob: str = FILE_GLOB,
    counts: LoadCounts | None = None,
) -> list[DltResource]:
    """The carrier's files under ``bucket_url`` as three raw tables (see the module docstring).

    Args:
        bucket_url: folder or bucket to read (``file:///abs/path``, ``s3://bucket/prefix``, ...);
            credentials for remote buckets come from dlt's usual config (environment variables
            or ``.dlt/secrets.toml``).
        file_glob: which files to read, relative to ``bucket_url``.
        counts: filled with what the run read (for the CLI summary).

    """
    record = WarehouseRecord()
    stats = counts if counts is not None else LoadCounts()

    def is_new(item: FileItemDict) -> bool:
        size = item.get("size_in_bytes")
        modified = utc_naive(item["modification_date"])
        return size is None or record.is_new(item["relative_path"], modified, int(size))

    files = filesystem(bucket_url=bucket_url, file_glob=file_glob, files_per_page=1_000_000)
    files.add_filter(is_new)

    @dlt.transformer(name="shipment_files")
    def shipment_files(items: list[FileItemDict]) -> Iterator[Any]:
        validator = LineValidator(
            _extra_types_in_schema(), dlt.current.source_schema().naming.normalize_identifier
        )
        seen: dict[str, tuple[str, int]] = {}
        if items:
            time.sleep(settings.SETTLE_SECONDS)  # one wait per run: see is_complete
        for item in sorted(items, key=lambda i: i["relative_path"]):
            listed = item.get("size_in_bytes")
            try:
                size_now = int(item.fsspec.size(item["file_url"]))
                data = item.read_bytes()
            except FileNotFoundError:  # moved away since the listing
                log.warning("%s: gone since it was listed, skipped", item["file_url"])
                stats.files_incomplete.append(item["relative_path"])
                continue
            age = (datetime.now(UTC) - item["modification_date"].astimezone(UTC)).total_seconds()
            if not is_complete(None if listed is None else int(listed), size_now, data, age):
                log.warning("%s: still being written, skipped until complete", item["file_url"])
                stats.files_incomplete.append(item["relative_path"])
                continue
            item["file_content"] = data
            yield from _read_file(item, validator, record, seen, stats)

    @dlt.resource(name="carrier_tables")
    def empty_tables() -> Iterator[Any]:
        """Empty Arrow tables that create the three raw tables before the first file arrives.

        Staging views select from them, so ``dbt build`` works on a warehouse loaded before
        the carrier's first file (the feed starts on day 1). Yielded only while the schema
        lacks a table; they add no rows.
        """
        schema = dlt.current.source_schema()
        for name, spec in (
            (EVENTS_TABLE, EVENT_COLUMNS),
            (QUARANTINE_TABLE, QUARANTINE_COLUMNS),
            (RECONCILIATION_TABLE, RECONCILIATION_COLUMNS),
        ):
            if name not in schema.tables or not schema.tables[name].get("columns"):
                yield dlt.mark.with_table_name(typed_table([], spec), name)

    resource = files | shipment_files
    # Every item is routed to one of three tables; each table's hints are a variant of their own
    # (variants start from the resource's hints, so those stay empty).
    for hints in (
        _merge(["event_id"], EVENT_COLUMNS, EVENTS_TABLE),
        _merge(["file_name", "line_number"], QUARANTINE_COLUMNS, QUARANTINE_TABLE),
        _merge(["file_name"], RECONCILIATION_COLUMNS, RECONCILIATION_TABLE),
    ):
        resource.apply_hints(**hints, create_table_variant=True)
        empty_tables.apply_hints(**hints, create_table_variant=True)
    return [empty_tables, resource]
