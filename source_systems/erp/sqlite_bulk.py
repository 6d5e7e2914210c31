"""Bulk load of the day-0 ERP into SQLite: parts built in parallel, then one file swapped in.

The way an OLTP import is done when the target is offline:

1. **Parts, in parallel.** The rows are cut into *units*: a table, or a range of Parquet rows
   of a big table (``lineitem``: ``chunk_rows`` each). Each unit runs its DuckDB query and
   writes its rows into a SQLite file of its own, created with the table's exact DDL, with
   the journal and fsync off (a part is thrown away if anything fails). A table in one part
   gets its indexes there too. Units run in worker processes (one per core by default),
   the cut table's first, and stream Arrow batches into ``executemany``: no table is ever
   held whole in memory.
2. **Assembly, in one new file.** A fresh database gets the bookkeeping and the tables. The
   parts of a cut table are appended to it as they come, in part order, so every row keeps
   the rowid the serial build gives it. The other tables go in whole, in table order: their
   indexes are created on the empty table and ``insert into main.t select * from part.t``
   copies rows and index entries without decoding them (SQLite's transfer optimisation).
   Indexes and triggers are created table by table in the serial build's order (the cut
   table's indexes after its rows), so ``sqlite_master`` is the same.
3. **Swap.** The new file is switched to WAL, closed, and renamed over the ERP; the caller's
   connection is reopened on it. A failed build leaves the old ERP untouched.

Values are stored exactly as the serial build stores them (:func:`sqlite_values`): the same
Python objects bound through the same driver, so ``typeof()`` and every value agree.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import selectors
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

from source_systems.erp import ddl
from source_systems.erp.database import ErpDatabase, sqlite_values
from source_systems.erp.schema import TABLES, TABLES_BY_NAME

log = logging.getLogger(__name__)

BUILD_PRAGMAS: tuple[str, ...] = (
    "journal_mode = off",
    "synchronous = off",
    "locking_mode = exclusive",
    "temp_store = memory",
)
"""Pragmas of the throw-away files of a build (parts and the new ERP before it is swapped in)."""
PART_CACHE_KIB = 65_536
"""Page cache of a part file (written front to back; its index sorts fit)."""
NEW_ERP_CACHE_KIB = 262_144
"""Page cache of the new ERP: it holds the big table's index sorts."""

BATCH_ROWS = 100_000
"""Rows per Arrow batch handed to ``executemany``."""


@dataclass(frozen=True)
class Unit:
    """One piece of the load: the rows of ``sql`` into ``table``, written to a part file."""

    table: str
    index: int
    sql: str
    rows: int
    indexed: bool = False
    """Whether the part gets the table's indexes too (a table in one part: see module doc)."""

    @property
    def file_name(self) -> str:
        """The part file's name (unique per unit)."""
        return f"{self.table}.{self.index:03d}.sqlite"


def _connect_build(path: Path) -> sqlite3.Connection:
    """A connection to a part file, with the bulk-load pragmas."""
    conn = sqlite3.connect(path, isolation_level=None)
    for pragma in (*BUILD_PRAGMAS, f"cache_size = -{PART_CACHE_KIB}"):
        conn.execute(f"pragma {pragma}")
    return conn


def insert_batches(conn: sqlite3.Connection, table: str, batches: Iterator[pa.RecordBatch]) -> int:
    """Insert Arrow record batches into ``table`` with ``executemany``; return the row count."""
    rows = 0
    sql = ""
    for batch in batches:
        if not sql:
            columns = ", ".join(batch.schema.names)
            placeholders = ", ".join("?" for _ in batch.schema.names)
            sql = f"insert into {table} ({columns}) values ({placeholders})"
        values = [sqlite_values(column) for column in batch.columns]
        conn.executemany(sql, zip(*values, strict=True))
        rows += batch.num_rows
    return rows


def load_unit(unit: Unit, folder: str, duckdb_threads: int) -> tuple[str, int, float]:
    """Write one unit's rows into its part file in ``folder``; return (file, rows, seconds).

    Runs in a worker process (or in the caller's when there are no workers).
    """
    started = time.perf_counter()
    cpu = time.process_time()
    path = Path(folder) / unit.file_name
    conn = _connect_build(path)
    try:
        conn.execute(ddl.create_table_sql(TABLES_BY_NAME[unit.table], "sqlite"))
        conn.execute("begin")
        with duckdb.connect(config={"threads": duckdb_threads}) as duck:
            duck.execute("set enable_progress_bar = false")  # a worker's stdout is its answers
            reader = duck.sql(unit.sql).to_arrow_reader(BATCH_ROWS)
            rows = insert_batches(conn, unit.table, iter(reader))
        conn.execute("commit")
        if unit.indexed:
            for statement in ddl.index_statements(TABLES_BY_NAME[unit.table]):
                conn.execute(statement)
    except BaseException:
        conn.close()
        path.unlink(missing_ok=True)
        raise
    conn.close()
    seconds = time.perf_counter() - started
    log.info(
        "part %s: %d rows in %.1f s (%.1f s CPU)",
        unit.file_name,
        rows,
        seconds,
        time.process_time() - cpu,
    )
    return unit.file_name, rows, seconds


def plan_units(
    queries: dict[str, str],
    row_counts: dict[str, int],
    chunk_query: Callable[[str, int, int], str | None],
    chunk_rows: int,
) -> list[Unit]:
    """Cut the load into units: a table, or ranges of ``chunk_rows`` source rows of it.

    ``chunk_query(table, start, stop)`` gives the query of one range, or ``None`` when the
    table cannot be cut (its rows are ordered by the query itself): it is then one unit.
    """
    units: list[Unit] = []
    for table, sql in queries.items():
        rows = row_counts[table]
        pieces = max(1, math.ceil(rows / chunk_rows))
        size = math.ceil(rows / pieces)
        ranges = [(i * size, min(rows, (i + 1) * size)) for i in range(pieces)]
        chunks = [chunk_query(table, start, stop) for start, stop in ranges] if pieces > 1 else []
        if chunks and all(chunks):
            units.extend(
                Unit(table, i, str(chunk), stop - start)
                for i, (chunk, (start, stop)) in enumerate(zip(chunks, ranges, strict=True))
            )
        else:
            units.append(Unit(table, 0, sql, rows, indexed=True))
    return units


def _run_units(
    units: list[Unit], folder: Path, workers: int
) -> Generator[tuple[Unit, str, int], None, None]:
    """Run the units on ``workers`` processes (none: here, one after the other, in plan order).

    With workers, the parts of cut tables go first, then the rest largest first. Yields each
    unit with its part file and row count as soon as it and every earlier unit of its table
    are done: a table's parts come in plan order, tables in any order.
    """
    if workers <= 0:
        threads = max(1, os.cpu_count() or 1)
        for unit in units:
            name, rows, _ = load_unit(unit, str(folder), threads)
            yield unit, name, rows
        return
    waiting = {u.table: [v for v in units if v.table == u.table] for u in units}
    done: dict[Unit, tuple[Unit, str, int]] = {}
    order = sorted(units, key=lambda u: (u.indexed, -u.rows if u.indexed else 0))
    with _WorkerPool(workers, folder) as pool:
        for finished in pool.run(order):
            done[finished[0]] = finished
            queue = waiting[finished[0].table]
            while queue and queue[0] in done:
                yield done.pop(queue.pop(0))


class _WorkerPool:
    """Worker processes (``python -m source_systems.erp.sqlite_bulk``) fed one unit at a time.

    Plain subprocesses rather than :mod:`multiprocessing`: a ``spawn`` pool re-imports the
    caller's ``__main__`` (scripts without a main guard break) and ``fork`` copies whatever
    threads the caller runs (DuckDB's, a test's HTTP server). A unit goes to a worker as one
    JSON line on its stdin; the worker answers with one JSON line when its part is written.
    """

    def __init__(self, workers: int, folder: Path) -> None:
        self.procs = [
            subprocess.Popen(
                [sys.executable, "-m", __name__, str(folder), str(log.getEffectiveLevel())],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                bufsize=1,
            )
            for _ in range(workers)
        ]

    def __enter__(self) -> _WorkerPool:
        return self

    def __exit__(self, *exc: object) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            for stream in (proc.stdin, proc.stdout):
                if stream is not None:
                    stream.close()

    def run(self, units: list[Unit]) -> Iterator[tuple[Unit, str, int]]:
        """Run every unit on the first free worker; yield each as it finishes."""
        todo = list(units)
        busy: dict[int, Unit] = {}
        selector = selectors.DefaultSelector()

        def feed(proc: subprocess.Popen[str]) -> None:
            assert proc.stdin is not None
            if todo:
                unit = todo.pop(0)
                busy[proc.pid] = unit
                proc.stdin.write(json.dumps(asdict(unit)) + "\n")
                proc.stdin.flush()
            else:
                assert proc.stdout is not None
                selector.unregister(proc.stdout)
                proc.stdin.close()

        for proc in self.procs:
            assert proc.stdout is not None
            selector.register(proc.stdout, selectors.EVENT_READ, proc)
            feed(proc)
        while busy:
            for key, _ in selector.select():
                proc = key.data
                line = proc.stdout.readline()
                if not line:
                    raise RuntimeError(
                        f"ERP build worker {proc.pid} died (exit code {proc.wait()}) "
                        f"on {busy.get(proc.pid)}"
                    )
                unit = busy.pop(proc.pid)
                answer = json.loads(line)
                yield unit, str(answer["file"]), int(answer["rows"])
                feed(proc)
        selector.close()


def _worker_main(folder: str, level: int) -> None:
    """A worker process: load each unit read from stdin, answer on stdout.

    It logs (to stderr) at the level of the caller's logger.
    """
    logging.basicConfig(level=level, format="%(asctime)s %(name)s %(message)s")
    for line in sys.stdin:
        unit = Unit(**json.loads(line))
        name, rows, seconds = load_unit(unit, folder, 1)
        print(json.dumps({"file": name, "rows": rows, "seconds": seconds}), flush=True)


def _copy(conn: ErpDatabase | sqlite3.Connection, table: str, source: Path) -> None:
    """Append every row of ``table`` in the SQLite file ``source``, in rowid order; drop it."""
    conn.execute("attach database ? as part", (str(source),))
    conn.execute(f"insert into main.{table} select * from part.{table}")
    conn.commit()
    conn.execute("detach database part")
    source.unlink()


def _threads() -> int:
    """Sorter threads of SQLite's ``create index`` (helper threads: one per core, at most 4)."""
    return max(1, min(4, os.cpu_count() or 1))


def build_sqlite(
    db: ErpDatabase,
    units: list[Unit],
    *,
    prepare: Callable[[ErpDatabase], None],
    workers: int,
) -> dict[str, int]:
    """Build the ERP from ``units`` in a new file and swap it in for ``db``'s file.

    ``prepare`` creates what precedes the data in the new database (tables, the state row).
    Returns the row count per table.
    """
    if db.path is None:
        raise ValueError("build_sqlite needs a SQLite ERP")
    target = db.path.resolve()
    work = Path(tempfile.mkdtemp(prefix=f".{target.name}.build-", dir=target.parent))
    new_file = work / target.name
    new = ErpDatabase(f"sqlite:///{new_file}")
    try:
        new.execute("pragma journal_mode = delete")
        for pragma in (*BUILD_PRAGMAS, f"cache_size = -{NEW_ERP_CACHE_KIB}"):
            new.execute(f"pragma {pragma}")
        new.execute("pragma foreign_keys = off")
        new.execute(f"pragma threads = {_threads()}")
        prepare(new)
        new.commit()
        counts = {table.name: 0 for table in TABLES}
        cut = {u.table: sum(1 for v in units if v.table == u.table) for u in units if not u.indexed}
        # table -> the part holding it whole, or None once a cut table's rows are all in
        ready: dict[str, Path | None] = {}
        tables = list(TABLES)
        parts = contextlib.closing(_run_units(units, work, workers))  # stops the workers
        with parts as finished:
            for unit, name, rows in finished:
                counts[unit.table] += rows
                if unit.indexed:
                    ready[unit.table] = work / name
                else:  # a cut table: its parts are appended as they come (no DDL, any time)
                    _copy(new, unit.table, work / name)
                    if unit.index == cut[unit.table] - 1:
                        ready[unit.table] = None
                while tables and tables[0].name in ready:
                    # indexes and triggers table by table, in the serial build's order
                    table = tables.pop(0)
                    started = time.perf_counter()
                    # on an empty table the whole part brings the index entries with its rows
                    ddl.create_indexes(new, table)
                    source = ready.pop(table.name)
                    if source is not None:
                        _copy(new, table.name, source)
                    ddl.create_triggers(new, table)
                    log.info(
                        "%s in the new ERP in %.1f s", table.name, time.perf_counter() - started
                    )
        if tables:
            raise RuntimeError(f"ERP build: no rows came for {[t.name for t in tables]}")
        new.commit()
        new.execute("pragma locking_mode = normal")
        new.execute("pragma journal_mode = wal")
        new.close()
        db.close()
        for suffix in ("-wal", "-shm", "-journal"):
            Path(f"{target}{suffix}").unlink(missing_ok=True)
        os.replace(new_file, target)
        db.reopen()
    finally:
        if new_file.exists():  # the build failed: the old ERP stays
            new.close()
        shutil.rmtree(work, ignore_errors=True)
    return counts


if __name__ == "__main__":
    _worker_main(sys.argv[1], int(sys.argv[2]))
