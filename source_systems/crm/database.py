"""The CRM's own store: one SQLite file (``CRM_DB_PATH``, default ``data/crm.sqlite``).

One table of contacts and one row of state. A contact is either a *customer* (it carries the
ERP customer key in ``customer_id``) or a *lead* (``customer_id`` is null) that may convert to
a customer on a later day. Timestamps are UTC text in one fixed ISO 8601 form
(``1998-08-02T18:00:00Z``), so text order is time order.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from warehouse_settings import PROJECT_ROOT

DEFAULT_CRM_DB_PATH = "data/crm.sqlite"

CONTACT_COLUMNS: tuple[str, ...] = (
    "contact_id",
    "customer_id",
    "lifecycle_stage",
    "account_name",
    "email",
    "phone",
    "preferred_channel",
    "loyalty_tier",
    "marketing_consent",
    "created_at",
    "converted_at",
    "updated_at",
)
"""Columns of ``contacts`` in API order (the API serves every column the table has)."""

CHANNELS = ("email", "phone", "sms", "mail")
TIERS = ("bronze", "silver", "gold", "platinum")
STAGES = ("lead", "customer")

_DDL = """
create table if not exists contacts (
    contact_id integer primary key,
    customer_id integer unique,
    lifecycle_stage text not null,
    account_name text not null,
    email text,
    phone text,
    preferred_channel text not null,
    loyalty_tier text,
    marketing_consent integer not null,
    created_at text not null,
    converted_at text,
    updated_at text not null
);
create index if not exists contacts_updated on contacts (updated_at, contact_id);
create table if not exists crm_state (
    id integer primary key check (id = 1),
    day_number integer not null,
    business_date text not null,
    seed integer not null
);
"""


def crm_db_path(path: str | Path | None = None) -> Path:
    """The CRM store: the argument, else ``CRM_DB_PATH``, else ``data/crm.sqlite``.

    A relative path is taken from the project root, like the ERP's SQLite default.
    """
    value = Path(path or os.environ.get("CRM_DB_PATH") or DEFAULT_CRM_DB_PATH)
    return value if value.is_absolute() else PROJECT_ROOT / value


def format_stamp(value: datetime) -> str:
    """The CRM's text form of a UTC time: ``YYYY-MM-DDTHH:MM:SSZ``."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_stamp(text: str) -> datetime:
    """Parse an ISO 8601 time (``Z`` or an offset; no zone means UTC) into naive UTC."""
    value = datetime.fromisoformat(text.strip().replace(" ", "T"))
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value


def open_store(path: str | Path | None = None, *, create: bool = False) -> sqlite3.Connection:
    """Open the CRM store; ``create`` makes the file and its tables if missing."""
    db_path = crm_db_path(path)
    if not create and not db_path.exists():
        raise FileNotFoundError(f"no CRM store at {db_path}: run `world init` first")
    db_path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(db_path, timeout=30, check_same_thread=False)
    conn.execute("pragma journal_mode = wal")
    if create:
        conn.executescript(_DDL)
    return conn


@contextlib.contextmanager
def connect_store(
    path: str | Path | None = None, *, create: bool = False
) -> Iterator[sqlite3.Connection]:
    """Open the CRM store, yield it, commit on success and roll back on error."""
    conn = open_store(path, create=create)
    try:
        yield conn
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    finally:
        conn.close()
