"""``warehouse run``: each exit code provoked for real on a small DuckDB world (scale 0.01).

Every test has its own world moved on one business day (ERP, demo CRM with its API, one
carrier file) and an empty warehouse, and builds only a few models (``--select``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest
from conftest import Warehouse

from orchestration.cli import main
from orchestration.run import (
    EXIT_BUSY,
    EXIT_LOAD_FAILED,
    EXIT_MODELS_FAILED,
    EXIT_OK,
    EXIT_STALE,
    EXIT_TESTS_FAILED,
)
from source_systems.world import advance_world, connect
from warehouse_settings import PROJECT_ROOT

DUCKDB = pytest.mark.parametrize("target", ["duckdb"])
"""Most exit codes are provoked on DuckDB only (the run's code is the same on both targets)."""

SMALL = ["--select", "stg_erp__regions"]
"""A one-model build (with its tests): enough for the exit codes that do not need more."""


@dataclass
class World:
    """A test's world: the ERP's URL and the folder holding it all, and the warehouse file."""

    erp_url: str
    folder: Path
    duckdb_path: Path


@pytest.fixture
def world(
    warehouse: Warehouse,
    make_erp: Callable[..., str],
    make_crm: Callable[[str], Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> World:
    """A day-0 ERP and CRM moved on one day (so a carrier file lands), nothing loaded yet."""
    monkeypatch.setenv("CARRIER_LANDING_DIR", str(tmp_path / "landing"))
    url = make_erp()
    make_crm(url)
    with connect(url) as db:
        advance_world(db, 1)
    assert list((tmp_path / "landing").iterdir())
    # WAREHOUSE_DUCKDB_PATH (set by ``warehouse`` on both targets): must stay absent on PostgreSQL
    return World(url, tmp_path, tmp_path / "warehouse.duckdb")


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    """``warehouse run ARGS`` in-process: its exit code and its one JSON line on stdout."""
    capsys.readouterr()
    code = main(["run", *args])
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1, f"stdout must hold only the summary line, got {lines[:5]}"
    summary = json.loads(lines[0])
    assert summary["exit_code"] == code
    return code, summary


def _sql(world: World, *statements: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(world.duckdb_path)) as con:
        rows: list[tuple[Any, ...]] = []
        for statement in statements:
            rows = con.execute(statement).fetchall()
        return rows


def _first_run(capsys: pytest.CaptureFixture[str], *args: str) -> None:
    """Load the sources (all, or ``args``) and build the one small model: exit 0."""
    code, summary = _run(capsys, *args, *SMALL)
    assert code == EXIT_OK, summary


def _tree_state(folder: Path) -> dict[str, tuple[int, int]]:
    return {
        str(p): (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*") if p.is_file()
    }


@pytest.mark.parametrize("target", ["duckdb", "postgres"])
def test_run_ok_then_dry_run_touches_nothing(
    target: str, world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    """A full load and a small build exit 0 with counts; ``--dry-run`` prints the plan only."""
    code, summary = _run(capsys, "--target", target, *SMALL)
    assert code == EXIT_OK, summary
    assert summary["status"] == "ok"
    assert set(summary["loads"]) == {"erp", "crm", "carrier"}
    assert all(load["status"] == "ok" for load in summary["loads"].values())
    assert summary["dbt_build"].get("success", 0) >= 1
    assert summary["dbt_build"].get("pass", 0) >= 2  # unique and not_null of region_id
    assert summary["freshness"].get("pass", 0) >= 1
    assert {"dbt_build", "dbt_source_freshness", "total"} <= set(summary["seconds"])

    folder = world.folder
    before = _tree_state(folder)
    capsys.readouterr()
    assert main(["run", "--dry-run", "--sources", "erp,carrier", *SMALL]) == EXIT_OK
    out = capsys.readouterr().out
    assert "load erp" in out and "load carrier" in out and "load crm" not in out
    assert (
        "dbt build --target duckdb --select stg_erp__regions --indirect-selection cautious" in out
    )
    assert _tree_state(folder) == before


@pytest.fixture
def lock_holder(target: str, world: World) -> Iterator[subprocess.Popen[str]]:
    """Another process holding the warehouse's lock on ``target`` until the test ends."""
    code = (
        "import time\n"
        "from ingestion.runner import warehouse_lock\n"
        f"with warehouse_lock({target!r}):\n"
        "    print('held', flush=True)\n"
        "    time.sleep(120)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=PROJECT_ROOT,
        env=dict(os.environ),
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "held"
        yield proc
    finally:
        proc.kill()
        proc.wait()


@pytest.mark.parametrize("target", ["duckdb", "postgres"])
def test_busy_when_another_process_holds_the_warehouse(
    target: str,
    warehouse: Warehouse,
    world: World,
    lock_holder: subprocess.Popen[str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Exit 75 and nothing loaded while another process holds the lock (on PostgreSQL the
    server's advisory lock)."""
    code, summary = _run(capsys, "--target", target, *SMALL)
    assert code == EXIT_BUSY
    assert summary["status"] == "busy"
    assert summary["target"] == target
    assert summary["loads"] == {}
    assert summary["dbt_build"] == {}
    assert not world.duckdb_path.exists()  # nothing loaded, nothing built
    if target == "postgres":
        schemas = warehouse.query(
            "select count(*) from information_schema.schemata where schema_name like 'raw_%'"
        )
        assert schemas == [(0,)]


@DUCKDB
def test_failed_load_skips_dbt_then_rerun_succeeds(
    world: World,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A corrupt ERP database: exit 3, dbt not run; with the ERP back, the rerun exits 0."""
    corrupt = tmp_path / "corrupt.sqlite"
    corrupt.write_bytes(b"this is not a database\n" * 100)
    monkeypatch.setenv("ERP_URL", f"sqlite:///{corrupt}")
    code, summary = _run(capsys, "--sources", "erp,carrier", *SMALL)
    assert code == EXIT_LOAD_FAILED, summary
    assert summary["loads"]["erp"]["status"] == "failed"
    assert summary["loads"]["carrier"]["status"] == "ok"  # the other sources still load
    assert summary["dbt_build"] == {}

    monkeypatch.setenv("ERP_URL", world.erp_url)
    code, summary = _run(capsys, "--sources", "erp,carrier", *SMALL)
    assert code == EXIT_OK, summary
    assert summary["loads"]["erp"]["status"] == "ok"


@DUCKDB
def test_failing_test_then_failing_model(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    """A duplicated raw row: the model builds, its unique test fails, exit 5. Then the raw
    table gone: the model over it fails to build (its tests skipped), exit 4."""
    _first_run(capsys, "--sources", "erp")
    _sql(world, "insert into raw_erp.region select * from raw_erp.region limit 1")
    code, summary = _run(capsys, "--sources", "carrier", *SMALL)
    assert code == EXIT_TESTS_FAILED, summary
    assert summary["status"] == "tests_failed"
    assert "error" not in summary["dbt_build"]  # the model itself built
    assert summary["dbt_build"].get("fail", 0) >= 1
    assert summary["failed_nodes"]
    assert all(node.startswith("test.") for node in summary["failed_nodes"])
    assert any("unique" in node for node in summary["failed_nodes"])

    _sql(world, "drop table raw_erp.region")
    code, summary = _run(capsys, "--sources", "carrier", *SMALL)
    assert code == EXIT_MODELS_FAILED, summary
    assert summary["status"] == "models_failed"
    assert summary["failed_nodes"] == ["model.tpch_warehouse.stg_erp__regions"]
    assert summary["dbt_build"].get("error", 0) == 1
    assert summary["dbt_build"].get("skipped", 0) >= 2  # unique and not_null of region_id


@DUCKDB
def test_stale_source(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    """Carrier rows last loaded in 2001 (past error_after): everything passes but exit 6."""
    carrier_only = ["--sources", "carrier", "--select", "stg_carrier__file_reconciliations"]
    code, summary = _run(capsys, *carrier_only)
    assert code == EXIT_OK, summary
    tables = _sql(
        world,
        "select table_name from information_schema.columns where table_schema = 'raw_carrier'"
        " and column_name = '_dlt_load_id' and table_name not like '\\_dlt%' escape '\\'",
    )
    assert tables
    _sql(
        world,
        *(f"update raw_carrier.{name} set _dlt_load_id = '1000000000.0'" for (name,) in tables),
    )
    code, summary = _run(capsys, *carrier_only)
    assert code == EXIT_STALE, summary
    assert summary["status"] == "stale"
    assert summary["stale_sources"]
    assert all(".carrier." in node for node in summary["stale_sources"])
