"""Personal data outside the warehouse: no load package keeps raw rows, files are owner-only.

Issue 11, case 12: dlt kept every load package's parquet/insert files (raw phones,
addresses) under ``load/loaded/*/completed_jobs/`` with mode 0644, never purged.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import Warehouse

from ingestion.cli import load_erp


def _files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


# The package files are the same whatever the destination; DuckDB adds its warehouse file.
@pytest.mark.parametrize("target", ["duckdb"])
def test_case12_loaded_packages_keep_no_data_and_files_are_owner_only(
    warehouse: Warehouse, make_erp: Callable[..., str], tmp_path: Path
) -> None:
    old_umask = os.umask(0o022)  # a usual login umask: the loader must not rely on the caller's
    try:
        make_erp()
        load_erp(warehouse.target)
        load_erp(warehouse.target)  # a second package, and a run over existing files
    finally:
        os.umask(old_umask)
    pipelines = tmp_path / "dlt"
    packages = [p for p in pipelines.glob("*/load/loaded/*") if p.is_dir()]
    assert len(packages) >= 2, packages
    leftovers = [p for p in _files(pipelines) if "completed_jobs" in p.parts]
    assert leftovers == [], leftovers[:5]
    # the packages' metadata stays (schema and state of each load, for debugging)
    assert all(any(p.iterdir()) for p in packages)
    assert warehouse.duckdb_path is not None
    private = [warehouse.duckdb_path, *_files(pipelines)]
    too_open = [p for p in private if stat.S_IMODE(p.stat().st_mode) & 0o077]
    assert too_open == [], [(p, oct(p.stat().st_mode)) for p in too_open[:5]]


SECRET_SALT = "case14-s3cret-salt-9f27"


def test_case14_the_salt_appears_in_no_catalog_object_artifact_or_log(
    warehouse: Warehouse,
    make_erp: Callable[..., str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import hashlib

    from orchestration.dbt import run_dbt

    monkeypatch.setenv("PII_SALT", SECRET_SALT)
    monkeypatch.setenv("DBT_TARGET_PATH", str(tmp_path / "target"))
    monkeypatch.setenv("DBT_LOG_PATH", str(tmp_path / "logs"))
    url = make_erp()
    load_erp(warehouse.target)
    select = ["--select", "stg_erp__customers", "--indirect-selection", "cautious"]
    run_dbt(["build", *select], warehouse.target)
    run_dbt(["docs", "generate", *select], warehouse.target)

    # masked with the secret salt...
    import sqlite3

    with sqlite3.connect(url.removeprefix("sqlite:///")) as erp:
        key, phone = erp.execute("select c_custkey, c_phone from customer limit 1").fetchone()
    (masked,) = warehouse.query(
        f"select phone_number_hash from staging.stg_erp__customers where customer_id = {key}"
    )[0]
    assert masked == hashlib.sha256((SECRET_SALT + phone.strip()).encode()).hexdigest()
    # ...which is nowhere but the restricted table: not in view definitions,
    if warehouse.target == "duckdb":
        views = warehouse.query("select coalesce(sql, '') from duckdb_views()")
    else:
        views = warehouse.query("select coalesce(definition, '') from pg_views")
    assert views and not [v for (v,) in views if SECRET_SALT in v]
    # nor in dbt's artifacts, compiled SQL, docs site or logs
    written = [p for d in ("target", "logs") for p in (tmp_path / d).rglob("*") if p.is_file()]
    assert any(p.name == "index.html" for p in written) and any(p.suffix == ".log" for p in written)
    leaking = [p for p in written if SECRET_SALT.encode() in p.read_bytes()]
    assert leaking == []


def test_case14_the_demo_salt_is_announced_once(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from orchestration import pii_salt

    monkeypatch.delenv("PII_SALT", raising=False)
    monkeypatch.setattr(pii_salt, "_warned", False)
    with caplog.at_level("WARNING", logger="warehouse.pii_salt"):
        assert pii_salt.salt_from_environment() == pii_salt.DEMO_SALT
        assert pii_salt.salt_from_environment() == pii_salt.DEMO_SALT
    assert len([r for r in caplog.records if "demo salt" in r.getMessage()]) == 1
    monkeypatch.setenv("PII_SALT", SECRET_SALT)
    caplog.clear()
    monkeypatch.setattr(pii_salt, "_warned", False)
    with caplog.at_level("WARNING", logger="warehouse.pii_salt"):
        assert pii_salt.salt_from_environment() == SECRET_SALT
    assert caplog.records == []


def test_case15_demo_fresh_takes_the_lock_before_touching_anything(tmp_path: Path) -> None:
    import subprocess
    import sys

    env = {
        **os.environ,
        "ERP_URL": f"sqlite:///{tmp_path / 'erp.sqlite'}",
        "CRM_DB_PATH": str(tmp_path / "crm.sqlite"),
        "CARRIER_LANDING_DIR": str(tmp_path / "landing"),
        "WAREHOUSE_DUCKDB_PATH": str(tmp_path / "warehouse.duckdb"),
        "LOADER_PIPELINES_DIR": str(tmp_path / "dlt"),
    }
    kept = {
        tmp_path / "erp.sqlite": b"the ERP",
        tmp_path / "crm.sqlite": b"the CRM",
        tmp_path / "warehouse.duckdb": b"the warehouse",
        tmp_path / "dlt" / "erp_duckdb" / "state.json": b"the loader state",
    }
    for path, content in kept.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from ingestion.runner import warehouse_lock\n"
            "with warehouse_lock('duckdb'):\n"
            "    print('held', flush=True)\n"
            "    time.sleep(120)\n",
        ],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        demo = subprocess.run(
            [sys.executable, "-m", "orchestration.cli", "demo", "--fresh"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        holder.kill()
        holder.wait()
    assert demo.returncode == 75, demo.stderr[-2000:]
    assert "another load or build is running" in demo.stderr
    assert {p: p.read_bytes() for p in kept} == kept
