"""Constants of the CRM loader, and where the CRM API is (its URL and token, configured)."""

from __future__ import annotations

import os

import dlt
from dlt.common.schema.typing import TTableSchemaColumns

from ingestion.runner import EVOLVE_SHAPE_FREEZE_TYPES

PIPELINE_NAME = "crm"
"""Base name of the dlt pipeline; the target is appended (``crm_duckdb``, ``crm_postgres``)."""

DATASET_NAME = "raw_crm"
"""Schema in the warehouse where the raw CRM tables land."""

RESOURCE_NAME = "contacts"
"""The one endpoint and raw table: contact profiles of customers and leads."""

ENDPOINT_PATH = "v1/contacts"

QUARANTINE_TABLE = "contacts_quarantine"
"""Raw table of records that had a value of the wrong type (appended, never merged)."""

PRIMARY_KEY = "contact_id"
CURSOR_COLUMN = "updated_at"

INITIAL_CURSOR = "1970-01-01T00:00:00Z"
"""``updated_since`` of the first run: everything."""

PAGE_SIZE = 1000
"""Records per page asked of the API (the demo API's maximum): fewer round trips. A CRM with a
smaller maximum answers 400 with a message; set ``page_size`` lower for it."""

SCHEMA_CONTRACT = EVOLVE_SHAPE_FREEZE_TYPES

COLUMNS: TTableSchemaColumns = {
    "contact_id": {"data_type": "bigint", "nullable": False},
    "customer_id": {"data_type": "bigint", "nullable": True},
    "lifecycle_stage": {"data_type": "text", "nullable": False},
    "account_name": {"data_type": "text", "nullable": True},
    "email": {"data_type": "text", "nullable": True},
    "phone": {"data_type": "text", "nullable": True},
    "preferred_channel": {"data_type": "text", "nullable": True},
    "loyalty_tier": {"data_type": "text", "nullable": True},
    "marketing_consent": {"data_type": "bool", "nullable": True},
    "created_at": {"data_type": "timestamp", "timezone": False, "nullable": True},
    "converted_at": {"data_type": "timestamp", "timezone": False, "nullable": True},
    "updated_at": {
        "data_type": "timestamp",
        "timezone": False,
        "nullable": False,
        "dedup_sort": "desc",
    },
}
"""Declared types of the API's fields. Timestamps land without a zone (naive = UTC, as in
``raw_erp``). ``dedup_sort``: if one run fetches a contact twice, the newest version wins."""

MAX_ATTEMPTS = 6
"""HTTP attempts per request (the first and five retries) before the run fails."""

BACKOFF_FACTOR = 0.5
"""Exponential backoff base in seconds (0.5, 1, 2, 4, ...) where no ``Retry-After`` is sent."""

MAX_RETRY_DELAY = 60.0
"""Longest wait between two attempts, ``Retry-After`` included."""

REQUEST_TIMEOUT = 30.0
"""Seconds to wait for an answer; a timeout is retried like a 5xx."""

BASE_URL_ENV = "CRM_BASE_URL"
"""Variable with the root of the CRM API, for example ``https://crm.example.com/api``."""

API_TOKEN_ENV = "CRM_API_TOKEN"
"""Variable with the bearer token of the CRM API."""


class CrmNotConfiguredError(RuntimeError):
    """``load crm`` was not told where the CRM is, or with which token."""


def crm_endpoint(base_url: str | None = None, token: str | None = None) -> tuple[str, str]:
    """The CRM API's base URL and token: the arguments, else the environment, else dlt config.

    The URL: ``base_url``, else ``CRM_BASE_URL``, else ``[sources.crm] base_url`` in
    ``.dlt/config.toml``. The token: ``token``, else ``CRM_API_TOKEN``, else
    ``[sources.crm] api_token`` in ``.dlt/secrets.toml``. There is no default: the loader
    never starts a CRM itself (the demo world starts its own and hands over URL and token).
    """
    url = base_url or os.environ.get(BASE_URL_ENV) or dlt.config.get("sources.crm.base_url")
    if not url:
        raise CrmNotConfiguredError(
            "no CRM API to load from: pass --crm-url, set CRM_BASE_URL or [sources.crm] base_url "
            "in .dlt/config.toml (for the demo CRM: `world crm-serve` prints its URL)"
        )
    secret = token or os.environ.get(API_TOKEN_ENV) or dlt.secrets.get("sources.crm.api_token")
    if not secret:
        raise CrmNotConfiguredError(
            "no CRM API token: pass --crm-token, set CRM_API_TOKEN or [sources.crm] api_token "
            "in .dlt/secrets.toml"
        )
    return str(url), str(secret)


DEFAULT_LAG_SECONDS = 3600.0
"""Lag window: each run re-reads the contacts stamped up to this long before the cursor, so an
edit committed late with a slightly older stamp, or one that kept its stamp, is still read.
Re-read contacts whose content the raw table already holds are dropped before loading."""

FUTURE_TOLERANCE_SECONDS = 300.0
"""Clock skew allowed between the CRM and the loader: a stamp later than now plus this is
quarantined (reason ``updated_at ... is in the future``) and never becomes the cursor."""

RECONCILE_EVERY_DAYS = 7.0
"""A full reconciliation (every key and a content hash, compared against the API) runs when the
last one is older than this; ``load crm --reconcile`` forces one."""

RECONCILIATION_TABLE = "contacts_reconciliations"
"""Raw table with one row per full reconciliation: when, and what it found and repaired."""
