"""dlt source for the CRM's HTTP API, declared with dlt's ``rest_api`` source.

* One resource, ``contacts`` (``GET /v1/contacts``): bearer token auth, a cursor paginator
  (``next_cursor`` in the body, sent back as ``cursor``), records under ``data``.
* Incremental on ``updated_at``: the cursor kept in dlt's pipeline state is sent as
  ``updated_since``, so after the first run only changed contacts travel. The API's filter is
  inclusive; the records at exactly the cursor are fetched again and dropped by dlt's
  incremental (it keeps their hashes), so nothing is loaded twice.
* Merged on ``contact_id`` (``delete-insert``); if a contact comes twice in one run, the
  newest ``updated_at`` wins.
* Retries: 429, 5xx, timeouts and dropped connections are retried with exponential backoff,
  honouring ``Retry-After`` (:func:`~ingestion.crm.helpers.retrying_session`). When the
  retries run out, extraction fails: the package is discarded and the cursor does not move.
* Schema contract ``{"tables": "evolve", "columns": "evolve", "data_type": "freeze"}``: new
  fields become new columns; a value of the wrong type never changes a column's type. Records
  with such values are first routed to ``contacts_quarantine``
  (:func:`~ingestion.crm.helpers.quarantine`); anything that still violates the contract stops
  the load, and the runner aborts the package (:func:`ingestion.runner.run`).
"""

from __future__ import annotations

import dlt
from dlt.sources import DltSource
from dlt.sources.rest_api import RESTAPIConfig, rest_api_source

from ingestion.crm.helpers import add_quarantine_table, quarantine, retrying_session
from ingestion.crm.settings import (
    BACKOFF_FACTOR,
    COLUMNS,
    CURSOR_COLUMN,
    ENDPOINT_PATH,
    INITIAL_CURSOR,
    MAX_ATTEMPTS,
    PAGE_SIZE,
    PRIMARY_KEY,
    RESOURCE_NAME,
    SCHEMA_CONTRACT,
)
from ingestion.runner import MERGE_DELETE_INSERT


def crm_source(
    base_url: str = dlt.config.value,
    api_token: str = dlt.secrets.value,
    page_size: int = PAGE_SIZE,
    max_attempts: int = MAX_ATTEMPTS,
    backoff_factor: float = BACKOFF_FACTOR,
) -> DltSource:
    """The CRM as a dlt source (see the module docstring for the load strategy).

    Args:
        base_url: root of the CRM API, for example ``http://127.0.0.1:8765``.
        api_token: bearer token of the API.
        page_size: records per page.
        max_attempts: HTTP attempts per request before the run fails.
        backoff_factor: base of the exponential backoff in seconds.

    """
    config: RESTAPIConfig = {
        "client": {
            "base_url": base_url.rstrip("/") + "/",
            "auth": {"type": "bearer", "token": api_token},
            "session": retrying_session(max_attempts=max_attempts, backoff_factor=backoff_factor),
            "paginator": {
                "type": "cursor",
                "cursor_path": "next_cursor",
                "cursor_param": "cursor",
            },
        },
        "resources": [
            {
                "name": RESOURCE_NAME,
                "primary_key": PRIMARY_KEY,
                "write_disposition": MERGE_DELETE_INSERT,
                "columns": COLUMNS,
                "endpoint": {
                    "path": ENDPOINT_PATH,
                    "data_selector": "data",
                    "params": {
                        "updated_since": "{incremental.start_value}",
                        "limit": page_size,
                    },
                    "incremental": {
                        "cursor_path": CURSOR_COLUMN,
                        "initial_value": INITIAL_CURSOR,
                    },
                },
            }
        ],
    }
    source = rest_api_source(
        config,
        name="crm",
        max_table_nesting=0,
        schema_contract=SCHEMA_CONTRACT,
    )
    contacts = source.resources[RESOURCE_NAME]
    # After the incremental step (the last one now), so the cursor sees every record.
    contacts.add_yield_map(quarantine(RESOURCE_NAME), insert_at=len(contacts._pipe.steps))
    add_quarantine_table(contacts)
    return source
