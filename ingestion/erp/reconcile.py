"""ERP reconciliation: compare every mutable raw table with the ERP per key range, repair drift.

The incremental load reads by each table's cursor column (``updated_at`` in the demo) with a
lag window; a change that stamps cannot show (a commit later than the window, a row restored
outside it, a raw row edited or lost by hand) is invisible to it. The reconciliation does not
trust stamps:

1. it reads each mutable ERP table in full, through the loader's own reader and maps (so the
   content hash of a row is computed exactly as the load computed the one stored in raw), and
   keeps only a count and a sum of row hashes per range of the first key column;
2. it asks the warehouse for the same two figures per range (one ``group by`` over the stored
   ``_erp_row_hash``);
3. for each range that differs, it reads that range of the ERP again and the keys and hashes of
   that range in raw, and merges the rows raw lacks or holds in another version, plus
   tombstones for the keys raw holds and the ERP no longer does.

Ranges hold about :data:`~ingestion.erp.settings.ROWS_PER_RANGE` rows; the width of a table's
ranges follows from its row count and highest key, so both sides cut the same ranges.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import dlt
import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa
from dlt.sources import DltResource

from ingestion.erp.helpers import match_keys, merge_hints
from ingestion.erp.settings import DELETED_FLAG, ROW_HASH_COLUMN, ROWS_PER_RANGE, ErpTable

Ranges = dict[int, tuple[int, int]]
"""Range start -> (row count, sum of row hashes)."""


@dataclass
class TableReconciliation:
    """What the reconciliation found and did for one table."""

    rows: int = 0
    range_width: int = 1
    ranges_checked: int = 0
    ranges_repaired: int = 0
    rows_reloaded: int = 0
    rows_deleted: int = 0


@dataclass
class Reconciliation:
    """Totals over every table, and the detail per table (the load's run result shows both)."""

    ranges_checked: int = 0
    ranges_repaired: int = 0
    rows_repaired: int = 0
    seconds: float = 0.0
    tables: dict[str, TableReconciliation] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-friendly form."""
        return asdict(self)


def _range_width(rows: int, highest_key: int) -> int:
    """Width of the key ranges of a table: about ``ROWS_PER_RANGE`` rows per range."""
    ranges = max(1, math.ceil(rows / ROWS_PER_RANGE))
    return max(1, math.ceil((highest_key + 1) / ranges))


def _erp_ranges(batches: Iterator[pa.Table], first_key: str) -> tuple[pa.Table, int, int]:
    """Read the ERP table once: per-row (first key, hash) kept small, plus rows and top key."""
    parts = [b.select([first_key, ROW_HASH_COLUMN]) for b in batches if b.num_rows]
    if not parts:
        empty = pa.array([], pa.int64())
        return pa.table({first_key: empty, ROW_HASH_COLUMN: empty}), 0, 0
    keys = pa.concat_tables(parts)
    highest = int(pc.max(keys.column(first_key)).as_py())
    return keys, keys.num_rows, highest


def _aggregate(keys: pa.Table, first_key: str, width: int) -> Ranges:
    sql = (
        f"select {first_key} - {first_key} % {width} as s, count(*), "
        f"sum({ROW_HASH_COLUMN}::hugeint) from k group by 1"
    )
    with duckdb.connect() as conn:
        conn.register("k", keys)
        return {int(s): (int(n), int(h)) for s, n, h in conn.sql(sql).fetchall()}


def _raw_ranges(pipeline: dlt.Pipeline, table_name: str, first_key: str, width: int) -> Ranges:
    """Count and hash sum per range of the raw table (a range with an unhashed row: sum -1)."""
    schema = pipeline.default_schema
    if table_name not in schema.tables or pipeline.first_run:
        return {}
    has_hash = ROW_HASH_COLUMN in schema.tables[table_name].get("columns", {})
    hashed = f"sum({ROW_HASH_COLUMN}), count({ROW_HASH_COLUMN})" if has_hash else "0, -1"
    with pipeline.sql_client() as client:
        if not client.has_dataset():
            return {}
        table = client.make_qualified_table_name(table_name)
        query = (
            f"select {first_key} - {first_key} % {width}, count(*), {hashed} from {table} "
            "group by 1"
        )
        try:
            with client.execute_query(query) as cur:
                rows = cur.fetchall()
        except Exception:  # the table is in the schema but not yet in the warehouse
            return {}
    return {
        int(s): (int(n), int(h) if h is not None and int(c) == int(n) else -1)
        for s, n, h, c in rows
    }


def _raw_versions(pipeline: dlt.Pipeline, erp_table: ErpTable, where: str) -> pa.Table:
    """Keys, cursor stamp and hash of the raw rows matching ``where``."""
    key_columns = list(erp_table.primary_key)
    cursor = erp_table.cursor_column
    schema = pipeline.default_schema
    has_hash = ROW_HASH_COLUMN in schema.tables[erp_table.name].get("columns", {})
    hashed = ROW_HASH_COLUMN if has_hash else "cast(null as bigint)"
    with pipeline.sql_client() as client:
        table = client.make_qualified_table_name(erp_table.name)
        query = f"select {', '.join(key_columns)}, {cursor}, {hashed} from {table} where {where}"
        with client.execute_query(query) as cur:
            rows = cur.fetchall()
    names = [*key_columns, str(cursor), ROW_HASH_COLUMN]
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in names]
    arrays = [pa.array([int(v) for v in columns[i]], pa.int64()) for i in range(len(key_columns))]
    stamps = [v.replace(tzinfo=None) for v in columns[-2]]
    arrays.append(pa.array(stamps, pa.timestamp("us")))
    arrays.append(pa.array([None if v is None else int(v) for v in columns[-1]], pa.int64()))
    return pa.table(dict(zip(names, arrays, strict=True)))


def _in_ranges(first_key: str, width: int, starts: list[int]) -> str:
    """SQL (warehouse, DuckDB) selecting the rows of the ranges starting at ``starts``."""
    return f"{first_key} - {first_key} % {width} in ({', '.join(map(str, starts))})"


MAX_SPANS = 200
"""Most ``or``-ed key spans in one ERP query (SQLite limits expression depth to 1,000)."""


def _spans(starts: list[int], width: int) -> list[tuple[int, int]]:
    """Key spans [from, to) covering the ranges at ``starts``, adjacent ranges joined.

    One span from the first to the last when there would be more than :data:`MAX_SPANS`.
    Plain comparisons, because ``%`` would reach a PostgreSQL ERP escaped (``%%``).
    """
    spans: list[tuple[int, int]] = []
    for start in starts:
        if spans and spans[-1][1] == start:
            spans[-1] = (spans[-1][0], start + width)
        else:
            spans.append((start, start + width))
    if len(spans) > MAX_SPANS:
        spans = [(spans[0][0], spans[-1][1])]
    return spans


def _span_filter(first_key: str, spans: list[tuple[int, int]]) -> Callable[[Any, sa.Table], Any]:
    """A query adapter reading the keys in ``spans`` (dlt passes an engine to 3-argument ones)."""

    def adapt(query: Any, table: sa.Table) -> Any:
        column = table.c[first_key]
        return query.where(sa.or_(*(sa.and_(column >= a, column < b) for a, b in spans)))

    return adapt


def _only(batch: pa.Table, first_key: str, width: int, starts: list[int]) -> pa.Table:
    """The rows of ``batch`` inside the ranges at ``starts`` (a joined span reads more)."""
    sql = f"select {first_key} - {first_key} % {width} in ({', '.join(map(str, starts))}) from b"
    with duckdb.connect() as conn:
        conn.register("b", batch.select([first_key]))
        keep = [bool(row[0]) for row in conn.sql(sql).fetchall()]
    return batch.filter(pa.array(keep, pa.bool_()))


def reconcile(
    pipeline: dlt.Pipeline,
    read_table: Callable[[str, Callable[[Any, sa.Table], Any] | None], DltResource],
    tables: Sequence[ErpTable],
    load: Callable[[list[DltResource]], Any],
) -> Reconciliation:
    """Compare the mutable ``tables`` in raw with the ERP and repair differing ranges.

    Args:
        pipeline: the ERP pipeline (its warehouse is compared).
        read_table: the loader's reader of one ERP table, maps included (hash added), with an
            optional query adapter.
        tables: the mutable tables to check (their contract: keys, cursor column).
        load: runs the pipeline on a list of repair resources (merge on the key).

    """
    started = time.perf_counter()
    result = Reconciliation()
    repairs: list[DltResource] = []
    for table in tables:
        name, key_columns = table.name, list(table.primary_key)
        first = key_columns[0]
        keys, rows, highest = _erp_ranges(iter(read_table(name, None)), first)
        width = _range_width(rows, highest)
        erp = _aggregate(keys, first, width)
        raw = _raw_ranges(pipeline, name, first, width)
        starts = sorted(s for s in erp.keys() | raw.keys() if erp.get(s) != raw.get(s))
        detail = TableReconciliation(rows, width, len(erp.keys() | raw.keys()), len(starts))
        result.tables[name] = detail
        if not starts:
            continue
        where = _in_ranges(first, width, starts)
        spans = _spans(starts, width)

        fresh_parts = [
            _only(b, first, width, starts)
            for b in read_table(name, _span_filter(first, spans))
            if b.num_rows
        ]
        held = _raw_versions(pipeline, table, where)
        same = (ROW_HASH_COLUMN,)
        reload = [match_keys(b, held, key_columns, exists=False, same=same) for b in fresh_parts]
        reload = [b for b in reload if b.num_rows]
        fresh_keys = (
            pa.concat_tables([b.select(key_columns) for b in fresh_parts])
            if fresh_parts
            else pa.table({c: pa.array([], pa.int64()) for c in key_columns})
        )
        gone = match_keys(held, fresh_keys, key_columns, exists=False)
        detail.rows_reloaded = sum(b.num_rows for b in reload)
        detail.rows_deleted = gone.num_rows
        repairs.extend(_repair_resources(table, reload, gone))
    for detail in result.tables.values():
        result.ranges_checked += detail.ranges_checked
        result.ranges_repaired += detail.ranges_repaired
        result.rows_repaired += detail.rows_reloaded + detail.rows_deleted
    if result.rows_repaired:
        load(repairs)
    result.seconds = round(time.perf_counter() - started, 2)
    return result


def _repair_resources(table: ErpTable, reload: list[pa.Table], gone: pa.Table) -> list[DltResource]:
    """Resources merging the reloaded rows and deleting the gone keys of ``table``."""
    name, key_columns = table.name, list(table.primary_key)
    resources = []
    if reload:
        hints = merge_hints(table, tombstones=False)
        resources.append(dlt.resource(reload, name=f"{name}__repair", table_name=name, **hints))
    if gone.num_rows:
        tombstones = gone.select([*key_columns, str(table.cursor_column)]).append_column(
            DELETED_FLAG, pa.array([True] * gone.num_rows, pa.bool_())
        )
        hints = merge_hints(table, tombstones=True)
        resources.append(
            dlt.resource([tombstones], name=f"{name}__repair_deletions", table_name=name, **hints)
        )
    return resources
