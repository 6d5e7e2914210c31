"""Helpers of the carrier loader: line checks, the warehouse's record, Arrow tables for dlt."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import dlt
import pyarrow as pa

from ingestion.carrier.settings import (
    DELETED_FLAG,
    EVENT_TYPES,
    EVENTS_TABLE,
    OPTIONAL_FIELDS,
    QUARANTINE_TABLE,
    RECONCILIATION_TABLE,
    REQUIRED_FIELDS,
)

EVENT_COLUMNS: dict[str, dict[str, Any]] = {
    "event_id": {"data_type": "text", "nullable": False},
    "order_key": {"data_type": "bigint", "nullable": False},
    "line_number": {"data_type": "bigint", "nullable": False},
    "tracking_number": {"data_type": "text", "nullable": False},
    "carrier": {"data_type": "text", "nullable": False},
    "event_type": {"data_type": "text", "nullable": False},
    "event_time": {"data_type": "timestamp", "nullable": False, "timezone": False},
    "location": {"data_type": "text", "nullable": False},
    "signed_by": {"data_type": "text", "nullable": True},
    "source_file": {"data_type": "text", "nullable": False},
    "source_line": {"data_type": "bigint", "nullable": False},
}
"""Declared columns of ``shipment_events`` (``signed_by`` too, so it exists before the day the
carrier starts sending it and staging can always select it)."""

QUARANTINE_COLUMNS: dict[str, dict[str, Any]] = {
    "file_name": {"data_type": "text", "nullable": False},
    "line_number": {"data_type": "bigint", "nullable": False},
    "raw_line": {"data_type": "text", "nullable": False},
    "reason": {"data_type": "text", "nullable": False},
    "detail": {"data_type": "text", "nullable": True},
    DELETED_FLAG: {"data_type": "bool", "nullable": True, "hard_delete": True},
}

RECONCILIATION_COLUMNS: dict[str, dict[str, Any]] = {
    "file_name": {"data_type": "text", "nullable": False},
    "file_url": {"data_type": "text", "nullable": False},
    "file_modified_at": {"data_type": "timestamp", "nullable": False, "timezone": False},
    "file_size_bytes": {"data_type": "bigint", "nullable": False},
    "lines_read": {"data_type": "bigint", "nullable": False},
    "lines_loaded": {"data_type": "bigint", "nullable": False},
    "lines_duplicate": {"data_type": "bigint", "nullable": False},
    "lines_quarantined": {"data_type": "bigint", "nullable": False},
}

_ARROW_TYPES = {
    "text": pa.string(),
    "bigint": pa.int64(),
    "double": pa.float64(),
    "bool": pa.bool_(),
    "timestamp": pa.timestamp("us"),
}
_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "text": (str,),
    "bigint": (int,),
    "double": (int, float),
    "bool": (bool,),
}


class BadLine(ValueError):
    """A line that cannot be loaded: ``reason`` (one of the quarantine reasons) and a detail."""

    def __init__(self, reason: str, detail: str) -> None:
        """Quarantine with ``reason`` because of ``detail``."""
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def utc_naive(value: datetime) -> datetime:
    """A zoned time as a plain naive UTC ``datetime`` (the raw layer's convention)."""
    value = value.astimezone(UTC)
    return datetime(
        value.year,
        value.month,
        value.day,
        value.hour,
        value.minute,
        value.second,
        value.microsecond,
    )


def parse_event_time(text: str) -> datetime:
    """ISO 8601 with a zone (``Z`` or an offset) to naive UTC; a time without zone is refused."""
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise BadLine("invalid_time", f"event_time {text!r} is not an ISO 8601 time") from exc
    if parsed.tzinfo is None:
        raise BadLine("invalid_time", f"event_time {text!r} has no time zone")
    try:
        return utc_naive(parsed)
    except OverflowError as exc:
        raise BadLine(
            "invalid_time", f"event_time {text!r} is outside the years 0001-9999 in UTC"
        ) from exc


INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1


def _check_int64(name: str, value: Any) -> None:
    """:class:`BadLine` ``wrong_type`` for an integer a 64-bit column cannot hold."""
    too_big = isinstance(value, int) and not INT64_MIN <= value <= INT64_MAX
    if too_big and not isinstance(value, bool):
        raise BadLine("wrong_type", f"{name} {value} does not fit in 64 bits")


def _json_type_ok(value: Any, expected: tuple[type, ...]) -> bool:
    if isinstance(value, bool):
        return bool in expected
    return isinstance(value, expected)


def _dlt_type_of(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "bigint"
    if isinstance(value, float):
        return "double"
    if isinstance(value, str):
        return "text"
    raise BadLine("wrong_type", f"nested value {json.dumps(value)[:80]} in an extra field")


@dataclass
class LineValidator:
    """Checks one line against the feed's contract and the types extra fields already have.

    ``extra_types`` maps an extra (undocumented) field's column name to the dlt type it got
    first, from the warehouse schema or earlier in this run: a later value of another type is
    quarantined instead of reaching dlt (where the ``data_type: freeze`` contract would fail the
    whole load).
    """

    extra_types: dict[str, str] = field(default_factory=dict)
    normalize: Any = None

    def validate(self, text: str) -> dict[str, Any]:
        """The row to load for the line ``text``, or :class:`BadLine`."""
        try:
            obj = json.loads(text)
        except ValueError as exc:
            raise BadLine("invalid_json", str(exc)) from exc
        if not isinstance(obj, dict):
            raise BadLine("not_an_object", f"a JSON {type(obj).__name__}, not an object")
        missing = [f for f in REQUIRED_FIELDS if obj.get(f) is None]
        if missing:
            raise BadLine("missing_field", f"missing {', '.join(missing)}")
        for name, kind in {**REQUIRED_FIELDS, **OPTIONAL_FIELDS}.items():
            value = obj.get(name)
            if value is not None and not _json_type_ok(value, (kind,)):
                raise BadLine(
                    "wrong_type", f"{name} is a JSON {type(value).__name__}, not {kind.__name__}"
                )
            _check_int64(name, value)
        if obj["event_type"] not in EVENT_TYPES:
            raise BadLine("unknown_event_type", f"event_type {obj['event_type']!r}")
        row = {name: obj.get(name) for name in (*REQUIRED_FIELDS, *OPTIONAL_FIELDS)}
        row["event_time"] = parse_event_time(obj["event_time"])
        extras: dict[str, Any] = {}
        for key, value in obj.items():
            if key in row or value is None:
                continue
            column = self.normalize(key) if self.normalize else key
            if column in EVENT_COLUMNS:
                raise BadLine("wrong_type", f"field {key!r} clashes with column {column!r}")
            data_type = _dlt_type_of(value)
            known = self.extra_types.get(column)
            if known in (None, "bigint"):
                _check_int64(key, value)
            if known is not None and not _json_type_ok(value, _JSON_TYPES.get(known, ())):
                raise BadLine("wrong_type", f"{key} is {data_type}, the column is {known}")
            extras[column] = value
        for column, value in extras.items():
            self.extra_types.setdefault(column, _dlt_type_of(value))
        row.update(extras)
        return row


def _field(name: str, spec: dict[str, Any]) -> pa.Field:
    return pa.field(name, _ARROW_TYPES[spec["data_type"]], nullable=spec.get("nullable", True))


def events_table(rows: list[dict[str, Any]], extra_types: dict[str, str]) -> pa.Table:
    """Arrow table of valid events: declared columns, then the extra fields seen in ``rows``."""
    extras = sorted({k for r in rows for k in r if k not in EVENT_COLUMNS})
    fields = [_field(name, spec) for name, spec in EVENT_COLUMNS.items()]
    fields += [pa.field(name, _ARROW_TYPES[extra_types[name]]) for name in extras]
    schema = pa.schema(fields)
    return pa.Table.from_pylist([{f.name: r.get(f.name) for f in fields} for r in rows], schema)


def typed_table(rows: list[dict[str, Any]], spec: dict[str, dict[str, Any]]) -> pa.Table:
    """Arrow table of ``rows`` with the declared columns ``spec``."""
    schema = pa.schema([_field(name, col) for name, col in spec.items()])
    return pa.Table.from_pylist(rows, schema)


class WarehouseRecord:
    """What the warehouse already holds: the files loaded and where each event came from.

    Read from the raw tables themselves (not from dlt state), like the ERP loader's watermark:
    what landed is the only record, so a lost pipeline folder cannot make the loader skip or
    double anything.
    """

    def __init__(self) -> None:
        """Nothing read yet; every lookup is lazy and uses the current pipeline."""
        self._files: dict[str, tuple[datetime, int]] | None = None

    @staticmethod
    def _exists(table_name: str) -> bool:
        pipeline = dlt.current.pipeline()
        if pipeline.first_run or table_name not in pipeline.default_schema.tables:
            return False
        with pipeline.sql_client() as client:
            return bool(client.has_dataset())

    def loaded_files(self) -> dict[str, tuple[datetime, int]]:
        """``file_name`` to (modification time, size) of every file already loaded."""
        if self._files is None:
            self._files = {}
            if self._exists(RECONCILIATION_TABLE):
                sql = "select file_name, file_modified_at, file_size_bytes from {table}"
                for name, modified, size in self._query(RECONCILIATION_TABLE, sql):
                    self._files[name] = (modified.replace(tzinfo=None), int(size))
        return self._files

    def is_new(self, file_name: str, modified_at: datetime, size: int) -> bool:
        """True unless this exact file (name, modification time, size) was loaded before."""
        return self.loaded_files().get(file_name) != (modified_at, size)

    def quarantined_lines(self, file_name: str) -> dict[int, str]:
        """Line number to raw text of the quarantine rows the warehouse holds for ``file_name``."""
        if not self._exists(QUARANTINE_TABLE):
            return {}
        sql = "select line_number, raw_line from {table} where file_name = %s"
        return {int(n): str(raw) for n, raw in self._query(QUARANTINE_TABLE, sql, file_name)}

    def origins(self, event_ids: list[str]) -> dict[str, tuple[str, int]]:
        """For the ids already loaded: the file and line each event was first loaded from."""
        found: dict[str, tuple[str, int]] = {}
        if not event_ids or not self._exists(EVENTS_TABLE):
            return found
        for start in range(0, len(event_ids), 1000):
            chunk = event_ids[start : start + 1000]
            marks = ", ".join(["%s"] * len(chunk))
            sql = (
                "select event_id, source_file, source_line from {table} "
                f"where event_id in ({marks})"
            )
            for event_id, source_file, source_line in self._query(EVENTS_TABLE, sql, *chunk):
                found[event_id] = (source_file, int(source_line))
        return found

    @staticmethod
    def _query(table_name: str, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        pipeline = dlt.current.pipeline()
        with pipeline.sql_client() as client:
            table = client.make_qualified_table_name(table_name)
            try:
                with client.execute_query(sql.format(table=table), *args) as cur:
                    return [tuple(r) for r in cur.fetchall()]
            except Exception:  # in the schema but not yet in the warehouse
                return []
