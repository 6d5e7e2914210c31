"""Helpers of the CRM loader: the retrying HTTP session, the quarantine, clear errors."""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import dlt
import pyarrow as pa
from dlt.common.data_types.type_helpers import coerce_value, py_type_to_sc_type
from dlt.common.data_types.typing import TDataType
from dlt.sources import DltResource
from dlt.sources.helpers.requests import Client
from requests import HTTPError, Session
from requests.exceptions import ConnectionError as RequestsConnectionError
from requests.exceptions import Timeout

from ingestion.crm.settings import (
    BACKOFF_FACTOR,
    COLUMNS,
    CURSOR_COLUMN,
    FUTURE_TOLERANCE_SECONDS,
    MAX_ATTEMPTS,
    MAX_RETRY_DELAY,
    PRIMARY_KEY,
    QUARANTINE_TABLE,
    RECONCILIATION_TABLE,
    REQUEST_TIMEOUT,
    RESOURCE_NAME,
)
from ingestion.runner import causes


class CrmLoadError(RuntimeError):
    """The CRM could not be read; nothing was loaded and the incremental cursor did not move."""


def retrying_session(
    max_attempts: int = MAX_ATTEMPTS,
    backoff_factor: float = BACKOFF_FACTOR,
    max_retry_delay: float = MAX_RETRY_DELAY,
    timeout: float = REQUEST_TIMEOUT,
) -> Session:
    """A ``requests`` session that retries 429, 5xx, timeouts and dropped connections.

    dlt's retrying client: exponential backoff (``backoff_factor`` times 1, 2, 4, ...), and a
    ``Retry-After`` header, when the server sends one, replaces the computed wait. The last
    answer is returned after ``max_attempts`` so the REST client raises it with its status.
    """
    client = Client(
        request_timeout=timeout,
        raise_for_status=False,
        request_max_attempts=max_attempts,
        request_backoff_factor=backoff_factor,
        request_max_retry_delay=max_retry_delay,
        respect_retry_after_header=True,
    )
    return client.session


_NATIVE: dict[str, tuple[type, ...]] = {
    "bigint": (int,),
    "text": (str,),
    "bool": (bool,),
    "double": (float, int),
}
"""Python types whose values a column of each dlt type takes as they are (``type(v) is t``:
a JSON ``true`` is a ``bool``, never an ``int`` here)."""


def _coerce_fields(
    record: dict[str, Any], types: dict[str, TDataType]
) -> tuple[dict[str, Any], dict[str, str]]:
    """``record``'s known fields coerced to their column's type, and the fields that cannot be.

    The coercion is dlt's own (what its normalizer would do with the value), so a row built
    from the coerced values loads exactly as the record would have. A value already of the
    column's Python type, or a time :func:`parse_time` reads, skips dlt's (slower) coercion.
    """
    coerced: dict[str, Any] = {}
    bad: dict[str, str] = {}
    for name, data_type in types.items():
        value = record.get(name)
        if value is None:
            if name in (PRIMARY_KEY, CURSOR_COLUMN):
                bad[name] = "missing"
            continue
        if type(value) in _NATIVE.get(data_type, ()):
            continue
        if data_type == "timestamp":
            try:
                coerced[name] = parse_time(value)
                continue
            except ValueError as exc:
                reason = f"{value!r} is not an ISO 8601 time ({exc})"
        try:
            coerced[name] = coerce_value(data_type, py_type_to_sc_type(type(value)), value)
        except Exception:
            bad[name] = f"{type(value).__name__} {value!r} is not {data_type}"
            continue
        if data_type == "timestamp":  # dlt reads it, but it is not an ISO 8601 time
            del coerced[name]
            bad[name] = reason
    return coerced, bad


QUARANTINE_COLUMNS: dict[str, Any] = {
    "contact_id": {"data_type": "text", "nullable": True},
    "updated_at": {"data_type": "text", "nullable": True},
    "reasons": {"data_type": "text", "nullable": False},
    "record": {"data_type": "text", "nullable": False},
    "record_hash": {"data_type": "text", "nullable": True},
}
"""Columns of the quarantine table: the record as JSON text, so any value fits."""


def add_quarantine_table(resource: DltResource) -> None:
    """Give ``resource`` the hints of its quarantine table: append-only, text columns.

    A table variant starts from the resource's own hints (merge, key, typed columns); these
    are cleared first so the quarantine table keeps only its own four columns.
    """
    resource.apply_hints(
        table_name=QUARANTINE_TABLE,
        create_table_variant=True,
        write_disposition="append",
        primary_key=[],
        columns={},
    )
    resource.apply_hints(
        table_name=QUARANTINE_TABLE, create_table_variant=True, columns=QUARANTINE_COLUMNS
    )


class BadStampError(ValueError):
    """An ``updated_at`` that cannot be trusted as a cursor (missing, unparseable, future)."""


def parse_time(value: object) -> datetime:
    """An ISO 8601 time (``Z``, an offset, or no zone meaning UTC) as naive UTC.

    Raises :class:`ValueError` for anything else, including times that leave the years
    0001-9999 once moved to UTC (``9999-12-31T23:59:59-01:00``).
    """
    if type(value) is str and value.endswith("Z"):
        with contextlib.suppress(ValueError):
            naive = datetime.fromisoformat(value[:-1])  # the API's own form: naive UTC + "Z"
            if naive.tzinfo is None:
                return naive
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        parsed = datetime.fromisoformat(value.strip())
    else:
        raise ValueError(f"a JSON {type(value).__name__}, not a string")
    try:
        if parsed.tzinfo is not None:
            parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    except OverflowError as exc:
        raise ValueError(f"{value!r} is out of range in UTC") from exc
    return parsed


def format_time(value: datetime) -> str:
    """The CRM API's form of a naive UTC time: ``YYYY-MM-DDTHH:MM:SS[.ffffff]Z``."""
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ" if value.microsecond else "%Y-%m-%dT%H:%M:%SZ")


def utc_now() -> datetime:
    """The current time as naive UTC."""
    return datetime.now(UTC).replace(tzinfo=None)


def validate_stamp(value: object, now: datetime) -> datetime:
    """``updated_at`` as naive UTC, or :class:`BadStampError` saying why it cannot be a cursor."""
    if value is None:
        raise BadStampError("missing")
    try:
        stamp = parse_time(value)
    except ValueError as exc:
        raise BadStampError(f"{value!r} is not an ISO 8601 time ({exc})") from exc
    if stamp > now + timedelta(seconds=FUTURE_TOLERANCE_SECONDS):
        raise BadStampError(f"{value!r} is in the future (now is {format_time(now)})")
    return stamp


def _canonical(value: object) -> object:
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


def content_hash(record: dict[str, Any], names: list[str]) -> str:
    """SHA-256 of ``record``'s values for ``names`` (times as naive UTC, absent as null).

    The same contact gives the same hash whether it comes from the API (after
    :class:`RecordChecker`) or from the raw table, on DuckDB and PostgreSQL alike.
    """
    canonical = [[name, _canonical(record.get(name))] for name in sorted(names)]
    return hashlib.sha256(json.dumps(canonical, default=str).encode()).hexdigest()


def record_hash(record: dict[str, Any]) -> str:
    """SHA-256 of a record exactly as the API sent it (the quarantine's key)."""
    return hashlib.sha256(json.dumps(record, sort_keys=True, default=str).encode()).hexdigest()


_ARROW_TYPES: dict[str, pa.DataType] = {
    "bigint": pa.int64(),
    "text": pa.string(),
    "bool": pa.bool_(),
    "double": pa.float64(),
    "timestamp": pa.timestamp("us"),
    "date": pa.date32(),
}
"""Arrow type of each dlt data type a contact's column can have (anything else is inferred)."""


def rows_as_arrow(rows: list[dict[str, Any]], types: dict[str, TDataType]) -> pa.Table:
    """Checked rows as one Arrow table: known columns in their declared types, new ones inferred.

    The rows passed :class:`RecordChecker`, so every known value fits its type (times are
    naive UTC ``datetime``). A column no row has a value for keeps its declared type instead
    of Arrow's null type; a new field (schema evolution) gets the type Arrow infers. Columns
    declared not null are not-null fields, so the Arrow schema agrees with dlt's hints.
    """
    names: list[str] = []
    for row in rows:
        for name in row:
            if name not in names:
                names.append(name)
    fields: list[pa.Field] = []
    arrays: list[pa.Array] = []
    for name in names:
        arrow_type = _ARROW_TYPES.get(types.get(name, ""))
        array = pa.array([row.get(name) for row in rows], type=arrow_type)
        nullable = COLUMNS.get(name, {}).get("nullable", True) or array.null_count > 0
        fields.append(pa.field(name, array.type, nullable=nullable))
        arrays.append(array)
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


class RecordChecker:
    """Splits the API's records into rows to load and quarantine rows, with the reasons.

    A record is quarantined when a value cannot be stored in its column's type (the declared
    :data:`~ingestion.crm.settings.COLUMNS` and the types evolved columns already have), or its
    ``updated_at`` is missing, unparseable or in the future (:func:`validate_stamp`). A good
    record's times are parsed to naive UTC, so any valid ISO 8601 form loads.
    """

    def __init__(self, known: dict[str, TDataType], now: datetime) -> None:
        """Check against the declared types plus ``known`` (evolved columns), at time ``now``."""
        self.now = now
        self.types: dict[str, TDataType] = {
            name: data_type
            for name, col in COLUMNS.items()
            if (data_type := col.get("data_type")) is not None
        }
        for name, data_type in known.items():
            if not name.startswith("_dlt"):
                self.types.setdefault(name, data_type)
        self._checked = {k: v for k, v in self.types.items() if k != CURSOR_COLUMN}

    def check(self, record: dict[str, Any]) -> tuple[dict[str, Any] | None, dict[str, str]]:
        """``(row, {})`` for a good record, ``(None, reasons)`` for a bad one."""
        coerced, bad = _coerce_fields(record, self._checked)
        row = {**record, **coerced}
        try:
            row[CURSOR_COLUMN] = validate_stamp(record.get(CURSOR_COLUMN), self.now)
        except BadStampError as exc:
            bad[CURSOR_COLUMN] = str(exc)
        return (None, bad) if bad else (row, {})

    @staticmethod
    def quarantine_row(record: dict[str, Any], reasons: dict[str, str]) -> dict[str, Any]:
        """The quarantine table's row for a bad ``record``."""
        return {
            "contact_id": None if record.get(PRIMARY_KEY) is None else str(record[PRIMARY_KEY]),
            "updated_at": None if record.get(CURSOR_COLUMN) is None else str(record[CURSOR_COLUMN]),
            "reasons": "; ".join(f"{k}: {v}" for k, v in sorted(reasons.items())),
            "record": json.dumps(record, default=str),
            "record_hash": record_hash(record),
        }


class WarehouseContacts:
    """What ``raw_crm`` already holds, read from the warehouse (not from dlt state).

    The cursor is the newest validated ``updated_at`` in ``contacts`` (capped at now), so it
    can only be a stamp that passed :func:`validate_stamp` and landed; a lost pipeline folder
    or an aborted package cannot leave it out of step with the data.
    """

    def __init__(self, client_factory: Callable[[], Any]) -> None:
        """Read through ``client_factory()`` (a dlt ``sql_client`` context manager)."""
        self._client = client_factory

    def _query(
        self, table_name: str, sql: str, *args: Any
    ) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Column names and rows of ``sql`` (``{table}`` replaced); none if no such table."""
        try:
            with self._client() as client:
                if not client.has_dataset():
                    return [], []
                table = client.make_qualified_table_name(table_name)
                with client.execute_query(sql.format(table=table), *args) as cur:
                    names = [d[0] for d in cur.description]
                    rows = [tuple(r) for r in cur.fetchall()]
        except Exception:  # no such table yet
            return [], []
        return names, rows

    def cursor(self, now: datetime) -> datetime | None:
        """Newest ``updated_at`` in ``contacts`` that is not after ``now`` (None: empty)."""
        _, rows = self._query(
            RESOURCE_NAME,
            f"select max({CURSOR_COLUMN}) from {{table}} where {CURSOR_COLUMN} <= %s",
            now,
        )
        value = rows[0][0] if rows else None
        return None if value is None else parse_time(value)

    def rows(self, since: datetime | None) -> list[dict[str, Any]]:
        """Raw ``contacts`` rows stamped at or after ``since`` (every row for None), as dicts."""
        where = f" where {CURSOR_COLUMN} >= %s" if since is not None else ""
        args = [since] if since is not None else []
        names, rows = self._query(RESOURCE_NAME, f"select * from {{table}}{where}", *args)
        return [dict(zip(names, row, strict=True)) for row in rows]

    def quarantined_hashes(self) -> set[str]:
        """``record_hash`` of every record already in the quarantine."""
        _, rows = self._query(QUARANTINE_TABLE, "select distinct record_hash from {table}")
        return {r[0] for r in rows if r[0] is not None}

    def last_reconciled_at(self) -> datetime | None:
        """When the last full reconciliation ran (None: never)."""
        _, rows = self._query(RECONCILIATION_TABLE, "select max(reconciled_at) from {table}")
        value = rows[0][0] if rows else None
        return None if value is None else parse_time(value)

    def delete(self, keys: list[Any]) -> None:
        """Delete the contacts ``keys`` from the raw table (keys the API no longer has)."""
        with self._client() as client:
            table = client.make_qualified_table_name(RESOURCE_NAME)
            for start in range(0, len(keys), 1000):
                chunk = keys[start : start + 1000]
                marks = ", ".join(["%s"] * len(chunk))
                client.execute_sql(f"delete from {table} where {PRIMARY_KEY} in ({marks})", *chunk)


def cursor_of(pipeline: dlt.Pipeline) -> str | None:
    """The incremental cursor: the newest validated ``updated_at`` in the raw table."""
    cursor = WarehouseContacts(pipeline.sql_client).cursor(utc_now())
    return None if cursor is None else format_time(cursor)


def explain_failure(exc: BaseException, base_url: str, cursor: object) -> CrmLoadError | None:
    """A clear :class:`CrmLoadError` for an HTTP failure anywhere in ``exc``'s causes."""
    where = f"the CRM at {base_url}"
    kept = f"nothing was loaded; the incremental cursor stays at {cursor!r}"
    for seen in causes(exc):
        if isinstance(seen, HTTPError) and seen.response is not None:
            status = seen.response.status_code
            if status in (401, 403):
                return CrmLoadError(
                    f"{where} refused the API token (HTTP {status}): check CRM_API_TOKEN; {kept}"
                )
            return CrmLoadError(
                f"{where} answered HTTP {status} {seen.response.reason} to "
                f"{seen.response.request.path_url} (after retries where retryable); {kept}"
            )
        if isinstance(seen, RequestsConnectionError | Timeout):
            return CrmLoadError(f"{where} could not be reached ({seen}); {kept}")
    return None
