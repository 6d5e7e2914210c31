"""Helpers of the CRM loader: the retrying HTTP session, the quarantine, clear errors."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import dlt
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
    MAX_ATTEMPTS,
    MAX_RETRY_DELAY,
    PRIMARY_KEY,
    QUARANTINE_TABLE,
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


def _bad_fields(record: dict[str, Any], types: dict[str, TDataType]) -> dict[str, str]:
    """Fields of ``record`` whose value dlt could not store in the column's type."""
    bad = {}
    for name, data_type in types.items():
        value = record.get(name)
        if value is None:
            if name in (PRIMARY_KEY, CURSOR_COLUMN):
                bad[name] = "missing"
            continue
        try:
            coerce_value(data_type, py_type_to_sc_type(type(value)), value)
        except Exception:
            bad[name] = f"{type(value).__name__} {value!r} is not {data_type}"
    return bad


QUARANTINE_COLUMNS: dict[str, Any] = {
    "contact_id": {"data_type": "text", "nullable": True},
    "updated_at": {"data_type": "text", "nullable": True},
    "reasons": {"data_type": "text", "nullable": False},
    "record": {"data_type": "text", "nullable": False},
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


def quarantine(table_name: str) -> Callable[[dict[str, Any]], Iterator[Any]]:
    """A yield-map step: a record with a value of the wrong type goes to the quarantine table.

    A value is wrong when dlt could not store it in its column's type: the declared types of
    :data:`~ingestion.crm.settings.COLUMNS`, and the types the raw table already has for
    columns added since (schema evolution). Such a record is written whole, as JSON, to
    ``contacts_quarantine`` with the reasons, and kept out of ``contacts``; the column types
    never change. Everything else passes unchanged.
    """

    def check(record: dict[str, Any]) -> Iterator[Any]:
        types: dict[str, TDataType] = {
            name: data_type
            for name, col in COLUMNS.items()
            if (data_type := col.get("data_type")) is not None
        }
        try:
            known = dlt.current.source_schema().get_table_columns(table_name)
        except Exception:  # no schema yet (first run)
            known = {}
        for name, col in known.items():
            data_type = col.get("data_type")
            if data_type is not None and not name.startswith("_dlt"):
                types.setdefault(name, data_type)
        bad = _bad_fields(record, types)
        if not bad:
            yield record
            return
        row = {
            "contact_id": str(record.get(PRIMARY_KEY)),
            "updated_at": str(record.get(CURSOR_COLUMN)),
            "reasons": "; ".join(f"{k}: {v}" for k, v in sorted(bad.items())),
            "record": dlt.common.json.dumps(record),
        }
        yield dlt.mark.with_table_name(row, QUARANTINE_TABLE)

    return check


def cursor_of(pipeline: dlt.Pipeline) -> Any:
    """The incremental cursor (newest ``updated_at`` loaded) kept in the pipeline's state."""
    resources = pipeline.state.get("sources", {}).get("crm", {}).get("resources", {})
    incremental = resources.get(RESOURCE_NAME, {}).get("incremental", {})
    return incremental.get(CURSOR_COLUMN, {}).get("last_value")


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
