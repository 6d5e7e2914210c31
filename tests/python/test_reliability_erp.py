"""Issue 11, cases 5 to 8: the ERP CDC loader loses no change that stamps cannot order.

The ERP clock only moves with ``advance`` (or when a test sets it), so edits, deletes and
re-inserts at one stamp are normal. Each case runs on DuckDB and PostgreSQL on a copy of one
ERP world per module (scale 0.01, two simulated days). Cases 5 to 7 load with reconciliation
off, so the incremental path itself must be exact; a final default load then proves the
reconciliation finds nothing left to repair. Case 8 needs the reconciliation.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import SCALE, SEED, Warehouse
from erp_compare import erp_rows, raw_rows

from ingestion.cli import load_erp
from source_systems.erp.build import build
from source_systems.erp.database import connect
from source_systems.erp.schema import TABLES
from source_systems.erp.simulate import Simulator

STAMP = "%Y-%m-%d %H:%M:%S.%f"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One ERP (SQLite) for the module: built at day 0 and advanced two days."""
    path = tmp_path_factory.mktemp("erp_world") / "erp.sqlite"
    with connect(f"sqlite:///{path}") as db:
        build(db, scale_factor=SCALE, seed=SEED)
    with connect(f"sqlite:///{path}") as db:
        Simulator(db).advance(2)
    return path


@pytest.fixture
def erp(world: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A private copy of the module's ERP (the tests mutate it); its URL, also ``ERP_URL``."""
    copy = tmp_path / "erp.sqlite"
    with sqlite3.connect(world) as src, sqlite3.connect(copy) as dst:
        src.backup(dst)
    url = f"sqlite:///{copy}"
    monkeypatch.setenv("ERP_URL", url)
    return url


def _load(warehouse: Warehouse, url: str, *, reconcile: bool) -> dict[str, Any]:
    return load_erp(warehouse.target, url=url, reconcile=reconcile)


def _sql(url: str, *statements: str) -> None:
    """Run ``statements`` in one ERP transaction (triggers stamp and tombstone as usual)."""
    with connect(url) as db:
        for statement in statements:
            db.execute(statement)


def _clock(url: str) -> datetime:
    with connect(url) as db:
        return datetime.strptime(str(db.scalar("select clock_at from erp_state")), STAMP)


def _set_clock(url: str, at: datetime) -> None:
    _sql(url, f"update erp_state set clock_at = '{at.strftime(STAMP)}'")


def _line(url: str) -> tuple[int, int]:
    """An order line of the ERP (``lineitem`` has no children: free to delete)."""
    with connect(url) as db:
        row = db.query("select l_orderkey, l_linenumber from lineitem order by l_orderkey limit 1")
    return int(row[0][0]), int(row[0][1])


def _raw_line(warehouse: Warehouse, key: tuple[int, int]) -> list[tuple[Any, ...]]:
    return warehouse.query(
        "select l_comment, updated_at from raw_erp.lineitem "
        f"where l_orderkey = {key[0]} and l_linenumber = {key[1]}"
    )


def assert_raw_equals_erp(url: str, warehouse: Warehouse) -> None:
    """Every raw table holds exactly the ERP's rows."""
    for table in TABLES:
        source, raw = erp_rows(url, table), raw_rows(warehouse, table)
        assert raw == source, (table.name, sorted(source - raw)[:3], sorted(raw - source)[:3])


def assert_nothing_to_repair(warehouse: Warehouse, url: str) -> None:
    """A default load's reconciliation checks every range and repairs none."""
    result = _load(warehouse, url, reconcile=True)["reconciliation"]
    assert result["ranges_checked"] > 0
    assert (result["ranges_repaired"], result["rows_repaired"]) == (0, 0), result
    assert_raw_equals_erp(url, warehouse)


def test_case05_key_deleted_and_reinserted_at_the_same_stamp_stays(
    warehouse: Warehouse, erp: str
) -> None:
    """Case 5a: the tombstone and the re-inserted row tie on the stamp; the row must win."""
    _load(warehouse, erp, reconcile=False)
    order, line = _line(erp)
    _set_clock(erp, _clock(erp) + timedelta(minutes=5))
    with connect(erp) as db:
        cols = [r[1] for r in db.query("pragma table_info(lineitem)")]
    names = ", ".join(cols)
    values = ", ".join(
        "'re-entered'"
        if c == "l_comment"
        else "(select clock_at from erp_state)"
        if c == "updated_at"
        else c
        for c in cols
    )
    _sql(
        erp,
        "create temp table saved as select * from lineitem "
        f"where l_orderkey = {order} and l_linenumber = {line}",
        f"delete from lineitem where l_orderkey = {order} and l_linenumber = {line}",
        f"insert into lineitem ({names}) select {values} from saved",
    )
    _load(warehouse, erp, reconcile=False)
    assert [r[0] for r in _raw_line(warehouse, (order, line))] == ["re-entered"]
    _load(warehouse, erp, reconcile=False)  # and it stays on the next run
    assert [r[0] for r in _raw_line(warehouse, (order, line))] == ["re-entered"]
    assert_raw_equals_erp(erp, warehouse)
    assert_nothing_to_repair(warehouse, erp)


def test_case05_key_restored_with_its_old_stamp_stays(warehouse: Warehouse, erp: str) -> None:
    """Case 5b: deleted, then restored as it was (an old stamp, outside the lag window)."""
    _load(warehouse, erp, reconcile=False)
    order, line = _line(erp)
    before = _raw_line(warehouse, (order, line))
    assert len(before) == 1
    _set_clock(erp, _clock(erp) + timedelta(minutes=5))
    _sql(
        erp,
        "create temp table saved as select * from lineitem "
        f"where l_orderkey = {order} and l_linenumber = {line}",
        f"delete from lineitem where l_orderkey = {order} and l_linenumber = {line}",
        "insert into lineitem select * from saved",
    )
    _load(warehouse, erp, reconcile=False)
    assert _raw_line(warehouse, (order, line)) == before
    with connect(erp) as db:
        Simulator(db).advance(1)
    _load(warehouse, erp, reconcile=False)
    assert _raw_line(warehouse, (order, line)) == before
    assert_raw_equals_erp(erp, warehouse)
    assert_nothing_to_repair(warehouse, erp)


def test_case05_key_reinserted_with_a_stamp_before_its_tombstone_stays(
    warehouse: Warehouse, erp: str
) -> None:
    """Case 5c: re-inserted stamped before its own tombstone (inside the lag window), then a day
    passes before the next load: the row must be in raw after each load."""
    _load(warehouse, erp, reconcile=False)
    order, line = _line(erp)
    restored_at = _clock(erp)
    _set_clock(erp, restored_at + timedelta(minutes=5))
    _sql(
        erp,
        "create temp table saved as select * from lineitem "
        f"where l_orderkey = {order} and l_linenumber = {line}",
        f"delete from lineitem where l_orderkey = {order} and l_linenumber = {line}",
        f"update saved set l_comment = 'restored', updated_at = '{restored_at.strftime(STAMP)}'",
        "insert into lineitem select * from saved",
    )
    _load(warehouse, erp, reconcile=False)
    assert [r[0] for r in _raw_line(warehouse, (order, line))] == ["restored"]
    with connect(erp) as db:
        Simulator(db).advance(1)
    _load(warehouse, erp, reconcile=False)
    assert [r[0] for r in _raw_line(warehouse, (order, line))] == ["restored"]
    assert_raw_equals_erp(erp, warehouse)
    assert_nothing_to_repair(warehouse, erp)


def test_case06_row_updated_then_deleted_at_the_same_stamp_leaves_raw(
    warehouse: Warehouse, erp: str
) -> None:
    """Case 6: update, load, delete at the same stamp, load: the row must leave raw."""
    _load(warehouse, erp, reconcile=False)
    order, line = _line(erp)
    _set_clock(erp, _clock(erp) + timedelta(minutes=5))
    where = f"where l_orderkey = {order} and l_linenumber = {line}"
    _sql(erp, f"update lineitem set l_comment = 'edited' {where}")
    _load(warehouse, erp, reconcile=False)
    assert [r[0] for r in _raw_line(warehouse, (order, line))] == ["edited"]
    _sql(erp, f"delete from lineitem {where}")  # the clock has not moved: same stamp
    _load(warehouse, erp, reconcile=False)
    assert _raw_line(warehouse, (order, line)) == []
    assert_raw_equals_erp(erp, warehouse)
    assert_nothing_to_repair(warehouse, erp)


def test_case07_second_edit_at_the_same_stamp_is_loaded(warehouse: Warehouse, erp: str) -> None:
    """Case 7: a second edit at the stamp of the version already loaded must be loaded."""
    _load(warehouse, erp, reconcile=False)
    order, line = _line(erp)
    _set_clock(erp, _clock(erp) + timedelta(minutes=5))
    where = f"where l_orderkey = {order} and l_linenumber = {line}"
    _sql(erp, f"update lineitem set l_comment = 'first edit' {where}")
    _load(warehouse, erp, reconcile=False)
    first = _raw_line(warehouse, (order, line))
    assert [r[0] for r in first] == ["first edit"]
    _sql(erp, f"update lineitem set l_comment = 'second edit' {where}")
    _load(warehouse, erp, reconcile=False)
    second = _raw_line(warehouse, (order, line))
    assert [r[0] for r in second] == ["second edit"]
    assert [r[1] for r in second] == [r[1] for r in first]  # the same stamp
    assert_raw_equals_erp(erp, warehouse)
    assert_nothing_to_repair(warehouse, erp)


def test_case08_commit_later_than_the_lag_window_is_noticed_and_repaired(
    warehouse: Warehouse, erp: str
) -> None:
    """Case 8: a commit stamped before the lag window is missed by the incremental read;
    the reconciliation of the next default load detects it, repairs it and reports it."""
    _load(warehouse, erp, reconcile=False)
    order, line = _line(erp)
    late = _clock(erp) - timedelta(days=1)  # older than the newest stamp minus the lag
    where = f"where l_orderkey = {order} and l_linenumber = {line}"
    _sql(
        erp,
        f"update lineitem set l_comment = 'late commit', updated_at = '{late.strftime(STAMP)}' "
        f"{where}",
    )
    _load(warehouse, erp, reconcile=False)
    assert [r[0] for r in _raw_line(warehouse, (order, line))] != ["late commit"]  # the limit

    result = _load(warehouse, erp, reconcile=True)["reconciliation"]
    assert result["ranges_checked"] > result["ranges_repaired"] == 1
    assert result["rows_repaired"] == 1
    assert [r[0] for r in _raw_line(warehouse, (order, line))] == ["late commit"]
    assert_raw_equals_erp(erp, warehouse)
    assert_nothing_to_repair(warehouse, erp)


def test_case08_reconciliation_repairs_lost_and_extra_rows(warehouse: Warehouse, erp: str) -> None:
    """Case 8, drift of every kind: a row lost from raw, a row the ERP deleted without a
    tombstone (extra in raw), a row changed in the ERP behind the window (different)."""
    _load(warehouse, erp, reconcile=False)
    order, line = _line(erp)
    _warehouse_execute(
        warehouse,
        [f"delete from raw_erp.lineitem where l_orderkey = {order} and l_linenumber = {line}"],
    )
    late = (_clock(erp) - timedelta(days=1)).strftime(STAMP)
    with connect(erp) as db:
        last = int(db.scalar("select max(l_orderkey) from lineitem"))
    _sql(
        erp,
        f"update customer set c_comment = 'drifted', updated_at = '{late}' where c_custkey = 7",
        f"delete from lineitem where l_orderkey = {last}",
        f"delete from deleted_rows where row_key like '%{last}%'",
    )
    result = _load(warehouse, erp, reconcile=True)["reconciliation"]
    assert result["ranges_repaired"] == 3, result
    assert result["tables"]["lineitem"]["rows_reloaded"] == 1
    assert result["tables"]["lineitem"]["rows_deleted"] >= 1
    assert result["tables"]["customer"]["rows_reloaded"] == 1
    assert_raw_equals_erp(erp, warehouse)
    assert_nothing_to_repair(warehouse, erp)


def _warehouse_execute(warehouse: Warehouse, statements: list[str]) -> None:
    if warehouse.target == "duckdb":
        import duckdb

        with duckdb.connect(str(warehouse.duckdb_path)) as conn:
            for statement in statements:
                conn.execute(statement)
        return
    import psycopg2

    assert warehouse.pg is not None
    conn = psycopg2.connect(
        host=warehouse.pg.host,
        port=warehouse.pg.port,
        user=warehouse.pg.user,
        password=warehouse.pg.password,
        dbname=warehouse.database,
    )
    try:
        with conn.cursor() as cur:
            for statement in statements:
                cur.execute(statement)
        conn.commit()
    finally:
        conn.close()


@pytest.mark.postgres
@pytest.mark.parametrize("target", ["duckdb"])
def test_case08_reconciliation_repairs_from_an_erp_on_postgresql(
    warehouse: Warehouse, make_erp: Callable[..., str]
) -> None:
    """Case 8 with the ERP on PostgreSQL: the repair reads its key ranges there too."""
    url = make_erp("postgres")
    _load(warehouse, url, reconcile=False)
    with connect(url) as db:
        clock = db.scalar("select clock_at from erp_state")
        db.execute(
            "update lineitem set l_comment = 'late commit', updated_at = ? "
            "where l_orderkey = 1 and l_linenumber = 1",
            (clock - timedelta(days=1),),
        )
    result = _load(warehouse, url, reconcile=True)["reconciliation"]
    assert (result["ranges_repaired"], result["rows_repaired"]) == (1, 1), result
    assert_raw_equals_erp(url, warehouse)


def test_contract_cursor_column_and_no_tombstone_table_deletes_by_reconciliation(
    warehouse: Warehouse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cases 5-8 under the issue 15 contract: a foreign table with its own cursor column
    (``modified_at``) and money column, in an ERP without a tombstone table.

    The incremental load follows that cursor and stores the row hash; a delete, which no stamp
    shows, stays in raw with ``reconcile=False`` and is removed by the reconciliation, which
    reads the table through the same contract (its hashes agree: nothing left to repair).
    """
    path = tmp_path / "their_erp.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute(
            "create table stock (item_id bigint primary key, item_name varchar(25), "
            "price real, modified_at timestamp not null)"
        )
        conn.executemany(
            "insert into stock values (?, ?, ?, ?)",
            [
                (11, "bolt", 0.5, "2024-03-01 09:00:00"),
                (12, "nut", 0.25, "2024-03-01 09:05:00"),
                (13, "washer", 1.0, "2024-03-02 17:30:00"),
            ],
        )
    url = f"sqlite:///{path}"
    contract = {
        "stock": {
            "primary_key": ["item_id"],
            "cursor_column": "modified_at",
            "money_columns": ["price"],
        }
    }
    monkeypatch.setenv("ERP_TABLES", json.dumps(contract))
    monkeypatch.setenv("ERP_TOMBSTONE_TABLE", "")

    assert _load(warehouse, url, reconcile=False)["rows"] == {"stock": 3}
    with sqlite3.connect(path) as conn:
        conn.execute(
            "update stock set price = 0.75, modified_at = '2024-03-05 08:00:00' where item_id = 12"
        )
        conn.execute("delete from stock where item_id = 13")
    assert _load(warehouse, url, reconcile=False)["rows"] == {"stock": 1}
    stock = "select item_id, price from raw_erp.stock order by item_id"
    assert [(k, float(p)) for k, p in warehouse.query(stock)] == [(11, 0.5), (12, 0.75), (13, 1.0)]
    hashed = "select count(_erp_row_hash) from raw_erp.stock"
    assert warehouse.query(hashed) == [(3,)]

    result = _load(warehouse, url, reconcile=True)["reconciliation"]
    assert result["tables"]["stock"]["rows_deleted"] == 1, result
    assert (result["ranges_repaired"], result["rows_repaired"]) == (1, 1), result
    assert [(k, float(p)) for k, p in warehouse.query(stock)] == [(11, 0.5), (12, 0.75)]

    again = _load(warehouse, url, reconcile=True)["reconciliation"]
    assert (again["ranges_checked"], again["rows_repaired"]) == (1, 0), again
