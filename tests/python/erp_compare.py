"""Read an ERP table and its raw copy in the warehouse into comparable sets of rows."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Protocol

from source_systems.erp.database import connect
from source_systems.erp.schema import Table

Row = tuple[object, ...]


class Queryable(Protocol):
    """Anything with the ``query`` of the tests' ``Warehouse`` fixture."""

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        """Run ``sql`` and return all rows."""
        ...


def normalise(value: object) -> object:
    """One comparable form per value: money to 2 decimals, dates and stamps to ISO text."""
    if isinstance(value, float | Decimal):
        return str(Decimal(str(value)).quantize(Decimal("0.01")))
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str) and len(value) == 26 and value[4] == "-" and value[10] == " ":
        return value  # SQLite timestamp text already in the ISO form above
    return value


def erp_rows(url: str, table: Table) -> set[Row]:
    """Every row of ``table`` in the ERP, normalised."""
    with connect(url) as db:
        rows = db.query(f"select {', '.join(table.column_names)} from {table.name}")
    return {tuple(normalise(v) for v in row) for row in rows}


def raw_rows(warehouse: Queryable, table: Table) -> set[Row]:
    """Every row of the raw copy of ``table`` in ``warehouse``, normalised."""
    rows = warehouse.query(f"select {', '.join(table.column_names)} from raw_erp.{table.name}")
    return {tuple(normalise(v) for v in row) for row in rows}
