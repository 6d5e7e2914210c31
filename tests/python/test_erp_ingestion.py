"""ERP ingestion: after every load the raw tables equal the ERP, on DuckDB and PostgreSQL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import Warehouse
from erp_compare import erp_rows, raw_rows

from ingestion.cli import load_erp
from ingestion.runner import WarehouseBusyError, warehouse_lock
from source_systems.erp.database import connect
from source_systems.erp.schema import MUTABLE_TABLES, TABLES
from source_systems.erp.simulate import Simulator


def assert_raw_equals_erp(url: str, warehouse: Warehouse) -> None:
    for table in TABLES:
        source, raw = erp_rows(url, table), raw_rows(warehouse, table)
        # Rows are compared as sets (keyed tables), so count too: a row loaded twice shows here.
        assert warehouse.query(f"select count(*) from raw_erp.{table.name}") == [(len(source),)], (
            table.name
        )
        assert len(raw) == len(source), table.name
        assert raw == source, (table.name, sorted(source - raw)[:3], sorted(raw - source)[:3])


def _fingerprint(warehouse: Warehouse) -> dict[str, list[str]]:
    """Every mutable raw row with dlt's load id: a rewrite of an unchanged row shows here."""
    prints = {}
    for table in MUTABLE_TABLES:
        cols = ", ".join([*table.column_names, "_dlt_load_id"])
        prints[table.name] = sorted(
            map(repr, warehouse.query(f"select {cols} from raw_erp.{table.name}"))
        )
    return prints


def _advance(url: str, days: int) -> None:
    with connect(url) as db:
        Simulator(db).advance(days)


def test_load_follows_the_erp_day_by_day(
    warehouse: Warehouse, make_erp: Callable[..., str]
) -> None:
    url = make_erp()
    first = load_erp(warehouse.target)
    assert first["rows"]["lineitem"] > 0
    assert_raw_equals_erp(url, warehouse)

    _advance(url, 3)  # new orders, status changes, edits and cancellations
    second = load_erp(warehouse.target)
    assert_raw_equals_erp(url, warehouse)
    # Incremental: only the changes travelled, not the whole table.
    assert 0 < second["rows"]["lineitem"] < first["rows"]["lineitem"] / 10

    before = _fingerprint(warehouse)
    rerun = load_erp(warehouse.target)
    assert {t.name: rerun["rows"].get(t.name, 0) for t in MUTABLE_TABLES} == {
        t.name: 0 for t in MUTABLE_TABLES
    }
    assert _fingerprint(warehouse) == before  # nothing added, nothing rewritten
    assert_raw_equals_erp(url, warehouse)


def test_deleted_orders_leave_the_raw_tables(
    warehouse: Warehouse, make_erp: Callable[..., str]
) -> None:
    url = make_erp()
    load_erp(warehouse.target)
    _advance(url, 2)
    with connect(url) as db:
        cancelled = [
            int(k.split(":")[1].strip(" }"))
            for (k,) in db.query("select row_key from deleted_rows where table_name = 'orders'")
        ]
    assert cancelled
    load_erp(warehouse.target)
    keys = ", ".join(map(str, cancelled))
    assert warehouse.query(f"select count(*) from raw_erp.orders where o_orderkey in ({keys})") == [
        (0,)
    ]
    assert warehouse.query(
        f"select count(*) from raw_erp.lineitem where l_orderkey in ({keys})"
    ) == [(0,)]


def test_a_killed_load_is_finished_by_the_next_run(
    warehouse: Warehouse, make_erp: Callable[..., str]
) -> None:
    """SIGKILL a load at several points (extract, normalize, load); one rerun makes it exact."""
    url = make_erp()
    load_erp(warehouse.target)
    env = dict(os.environ)
    for delay in (1.5, 3.0, 4.5):
        _advance(url, 1)
        proc = subprocess.Popen(
            [sys.executable, "-m", "ingestion.cli", "erp", "--target", warehouse.target],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(delay)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
        proc.wait()
        load_erp(warehouse.target)
        assert_raw_equals_erp(url, warehouse)


def _load_killed_after_commit(table: str, target: str) -> None:
    script = Path(__file__).with_name("kill_after_commit.py")
    proc = subprocess.run(
        [sys.executable, str(script), table, "erp", "--target", target],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=False,
    )
    assert proc.returncode == -signal.SIGKILL, f"the load was not killed at {table}'s commit"


def test_a_job_killed_after_its_commit_is_not_loaded_twice(
    warehouse: Warehouse, make_erp: Callable[..., str]
) -> None:
    """Killed between a job's commit and dlt's record of it, the rerun must not load it again.

    First load: ``orders`` goes straight into its raw table (the initial snapshot); next day:
    ``customer`` goes into the merge's staging table. Both leave a job dlt never saw finish.
    """
    url = make_erp()
    for table in ("orders", "customer"):
        _load_killed_after_commit(table, warehouse.target)
        rerun = load_erp(warehouse.target)
        assert_raw_equals_erp(url, warehouse)
        # Exact without the reconciliation's repair (it would mend a doubled table after the
        # fact; nothing may have been loaded twice in the first place).
        assert rerun["reconciliation"]["ranges_repaired"] == 0, rerun["reconciliation"]
        _advance(url, 1)


def test_a_load_killed_before_its_schema_was_saved_is_finished(
    warehouse: Warehouse, make_erp: Callable[..., str]
) -> None:
    """Killed after dlt committed the extracted package, before it saved the package's schema
    as the pipeline's: the first day after the initial snapshot, whose schema turns the raw
    tables from replace into merges with the tombstones' delete column (seen in a crash test:
    normalize used the old schema and failed on every later run)."""
    url = make_erp()
    load_erp(warehouse.target)  # day 0: the initial snapshot
    _advance(url, 1)  # cancellations: orders and lineitem get tombstones
    script = Path(__file__).with_name("kill_after_extract.py")
    proc = subprocess.run(
        [sys.executable, str(script), "erp", "--target", warehouse.target],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=False,
    )
    assert proc.returncode == -signal.SIGKILL, "the load was not killed after its extract"
    rerun = load_erp(warehouse.target)
    assert_raw_equals_erp(url, warehouse)
    assert rerun["reconciliation"]["ranges_repaired"] == 0, rerun["reconciliation"]


def test_a_second_loader_is_refused_while_one_runs(warehouse: Warehouse) -> None:
    with (
        warehouse_lock(warehouse.target),
        pytest.raises(WarehouseBusyError, match="another load or build"),
    ):
        load_erp(warehouse.target)


@pytest.mark.postgres
def test_an_erp_on_postgresql_loads_the_same(
    warehouse: Warehouse, make_erp: Callable[..., str]
) -> None:
    url = make_erp("postgres")
    load_erp(warehouse.target)
    _advance(url, 2)
    load_erp(warehouse.target)
    assert_raw_equals_erp(url, warehouse)
