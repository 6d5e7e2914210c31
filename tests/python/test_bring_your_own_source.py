"""A source the demo world did not make, loaded by configuration alone.

The loaders know their sources by contract (``ingestion/<source>/settings.py``) and take
where they are from the environment or ``.dlt/config.toml``. Here a second ERP, a SQLite
database with one table of the ERP's shape and other rows, written by hand and not by the
simulator, is configured as a user would (environment variables only), loaded with the real
``load erp`` command into a DuckDB warehouse and staged with dbt; a foreign carrier file goes
through a configured landing folder and file pattern; and ``load crm`` refuses to guess where
a CRM is.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import Warehouse, assert_dbt_passed

from ingestion.carrier import settings as carrier_settings
from ingestion.crm.settings import CrmNotConfiguredError, crm_endpoint
from ingestion.erp.settings import DEMO_TABLES, parse_tables
from orchestration.dbt import run_dbt
from source_systems.carrier import schema as demo_carrier
from source_systems.erp.schema import TABLES
from warehouse_settings import PROJECT_ROOT

LOAD = Path(sys.executable).with_name("load")

# Their suppliers: the ERP's supplier shape, other keys, other rows, their own clock.
THEIR_SUPPLIERS = [
    (7001, "Acme Metals", "1 Mill Ln", 7, "27-555-0101", 1234.5, "bolts", "2024-03-01 09:00:00"),
    (7002, "Boreal Plastics", "9 Quay", 3, "13-555-0102", -20.25, "caps", "2024-03-01 09:05:00"),
    (7003, "Cobalt & Sons", "4 Mill St", 7, "27-555-0103", 0.0, "wire", "2024-03-02 17:30:00"),
]  # fmt: skip

SUPPLIER_CONTRACT = {
    "supplier": {
        "primary_key": ["s_suppkey"],
        "cursor_column": "updated_at",
        "money_columns": ["s_acctbal"],
    }
}


def their_erp(path: Path) -> str:
    """A SQLite ERP with one table, ``supplier``, and no tombstone table.

    Money is ``real`` (a SQLite ``decimal`` has NUMERIC affinity, which stores 0.0 as an
    integer, and connectorx types a column from its values); the loader makes it a decimal.
    """
    with sqlite3.connect(path) as conn:
        conn.execute(
            "create table supplier (s_suppkey bigint primary key, s_name varchar(25), "
            "s_address varchar(40), s_nationkey bigint, s_phone varchar(15), "
            "s_acctbal real, s_comment varchar(101), updated_at timestamp not null)"
        )
        conn.executemany("insert into supplier values (?, ?, ?, ?, ?, ?, ?, ?)", THEIR_SUPPLIERS)
    return f"sqlite:///{path}"


def load(source: str, env: dict[str, str], *args: str) -> dict[str, Any]:
    """Run the real ``load`` command as a user would, with ``env`` added to the environment."""
    result = subprocess.run(
        [str(LOAD), source, *args],
        env={**os.environ, **env},
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    summary: dict[str, Any] = json.loads(result.stdout)
    return summary


def query(path: Path, sql: str) -> list[tuple[Any, ...]]:
    return Warehouse("duckdb", duckdb_path=path).query(sql)


@pytest.fixture
def user_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Where the user's warehouse and dlt state live (the variables of ``profiles.yml``)."""
    env = {
        "WAREHOUSE_DUCKDB_PATH": str(tmp_path / "warehouse.duckdb"),
        "LOADER_PIPELINES_DIR": str(tmp_path / "dlt"),
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)  # dbt, run in-process below, reads the same file
    for name in ("ERP_URL", "ERP_TABLES", "ERP_TOMBSTONE_TABLE", "CRM_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    return env


def test_a_foreign_erp_table_is_loaded_and_staged(tmp_path: Path, user_env: dict[str, str]) -> None:
    env = {
        **user_env,
        "ERP_URL": their_erp(tmp_path / "their_erp.sqlite"),
        "ERP_TABLES": json.dumps(SUPPLIER_CONTRACT),
        "ERP_TOMBSTONE_TABLE": "",  # their ERP keeps no tombstones
    }
    summary = load("erp", env)
    assert summary["rows"] == {"supplier": 3}

    warehouse = Path(user_env["WAREHOUSE_DUCKDB_PATH"])
    raw = query(
        warehouse,
        "select s_suppkey, s_name, s_acctbal, typeof(s_acctbal) from raw_erp.supplier "
        "order by s_suppkey",
    )
    assert [(k, n, float(b)) for k, n, b, _ in raw] == [
        (7001, "Acme Metals", 1234.5),
        (7002, "Boreal Plastics", -20.25),
        (7003, "Cobalt & Sons", 0.0),
    ]
    assert {t for *_, t in raw} == {"DECIMAL(15,2)"}  # a money column, as configured
    tables = query(
        warehouse, "select table_name from information_schema.tables where table_schema = 'raw_erp'"
    )
    assert {t for (t,) in tables if not t.startswith("_dlt")} == {"supplier"}

    # Incremental on their cursor: one changed row travels, the others stay.
    with sqlite3.connect(tmp_path / "their_erp.sqlite") as conn:
        conn.execute(
            "update supplier set s_acctbal = 99.99, updated_at = '2024-03-05 08:00:00' "
            "where s_suppkey = 7002"
        )
    assert load("erp", env)["rows"] == {"supplier": 1}

    # Staged with the project's own staging model, nothing changed in dbt.
    results = run_dbt(
        ["build", "--select", "stg_erp__suppliers", "--indirect-selection", "cautious"], "duckdb"
    )
    assert_dbt_passed(results)
    assert any(r.node.name == "stg_erp__suppliers" for r in results)  # type: ignore[attr-defined]
    staged = query(
        warehouse,
        "select supplier_id, supplier_name, account_balance from staging.stg_erp__suppliers "
        "order by supplier_id",
    )
    assert [(i, n, float(b)) for i, n, b in staged] == [
        (7001, "Acme Metals", 1234.5),
        (7002, "Boreal Plastics", 99.99),
        (7003, "Cobalt & Sons", 0.0),
    ]


def test_a_foreign_carrier_file_through_the_configured_landing_folder(
    tmp_path: Path, user_env: dict[str, str]
) -> None:
    landing = tmp_path / "their_landing"
    landing.mkdir()
    events = [
        {
            "event_id": f"THEIRS-{n}",
            "order_key": 1,
            "line_number": n,
            "tracking_number": f"ZZ{n:08d}",
            "carrier": "Their Freight",
            "event_type": "picked_up",
            "event_time": "2024-03-01T10:00:00+01:00",
            "location": "Lyon",
        }
        for n in (1, 2)
    ]
    text = "".join(json.dumps(e) + "\n" for e in events)
    (landing / "events_2024-03-01.jsonl").write_text(text)
    (landing / "shipments_2024-03-01.jsonl").write_text(text.replace("THEIRS", "IGNORED"))
    env = {
        **user_env,
        "CARRIER_LANDING_DIR": str(landing),
        "CARRIER_FILE_GLOB": "events_*.jsonl",
    }
    summary = load("carrier", env)
    assert (summary["files"], summary["lines_loaded"]) == (1, 2)
    assert summary["bucket_url"] == landing.as_uri()
    rows = query(
        Path(user_env["WAREHOUSE_DUCKDB_PATH"]),
        "select event_id, source_file, event_time from raw_carrier.shipment_events order by 1",
    )
    assert [(e, f, str(t)) for e, f, t in rows] == [
        ("THEIRS-1", "events_2024-03-01.jsonl", "2024-03-01 09:00:00"),
        ("THEIRS-2", "events_2024-03-01.jsonl", "2024-03-01 09:00:00"),
    ]


def test_load_crm_without_a_crm_exits_2_and_says_what_to_set(user_env: dict[str, str]) -> None:
    env = {**os.environ, **user_env}
    env.pop("CRM_BASE_URL", None)
    result = subprocess.run(
        [str(LOAD), "crm"], env=env, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 2
    assert "CRM_BASE_URL" in result.stderr and "--crm-url" in result.stderr
    assert "Traceback" not in result.stderr


def test_crm_endpoint_flag_then_environment_then_dlt_config(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # dlt's own environment provider stands in for .dlt/config.toml and secrets.toml
    monkeypatch.setenv("SOURCES__CRM__BASE_URL", "https://config.example")
    monkeypatch.setenv("SOURCES__CRM__API_TOKEN", "config-token")
    monkeypatch.delenv("CRM_BASE_URL", raising=False)
    monkeypatch.delenv("CRM_API_TOKEN", raising=False)
    assert crm_endpoint() == ("https://config.example", "config-token")
    monkeypatch.setenv("CRM_BASE_URL", "https://env.example")
    monkeypatch.setenv("CRM_API_TOKEN", "env-token")
    assert crm_endpoint() == ("https://env.example", "env-token")
    assert crm_endpoint("https://flag.example", "flag-token") == (
        "https://flag.example",
        "flag-token",
    )
    monkeypatch.delenv("SOURCES__CRM__API_TOKEN")
    monkeypatch.delenv("CRM_API_TOKEN")
    with pytest.raises(CrmNotConfiguredError, match="CRM_API_TOKEN"):
        crm_endpoint()


def test_the_default_contracts_are_the_demo_worlds() -> None:
    """The loaders' defaults describe the demo world's sources (they are kept apart on purpose:
    the demo writes its sources, the loaders only read a contract)."""
    assert {t.name: t for t in DEMO_TABLES} == {
        t.name: (
            parse_tables(
                {
                    t.name: {
                        "primary_key": list(t.primary_key),
                        "money_columns": sorted(t.money_columns),
                        "reference": not t.mutable,
                    }
                }
            )[0]
        )
        for t in TABLES
    }
    assert carrier_settings.EVENT_TYPES == demo_carrier.EVENT_TYPES
    assert carrier_settings.REQUIRED_FIELDS == demo_carrier.REQUIRED_FIELDS
    assert carrier_settings.OPTIONAL_FIELDS == demo_carrier.OPTIONAL_FIELDS
    assert carrier_settings.FILE_GLOB == demo_carrier.FILE_GLOB


def test_a_table_contract_from_dlt_config() -> None:
    """``[sources.erp.tables.<name>]`` in ``.dlt/config.toml`` reads as this mapping."""
    (orders, nation) = parse_tables(
        {
            "orders": {"primary_key": "o_orderkey", "cursor_column": "modified_at"},
            "nation": {"primary_key": ["n_nationkey"], "reference": True},
        }
    )
    assert (orders.primary_key, orders.cursor_column, orders.mutable) == (
        ("o_orderkey",),
        "modified_at",
        True,
    )
    assert (nation.cursor_column, nation.mutable) == (None, False)
    with pytest.raises(ValueError, match="primary_key is required"):
        parse_tables({"orders": {"cursor_column": "updated_at"}})
    with pytest.raises(ValueError, match="unknown settings"):
        parse_tables({"orders": {"primary_key": "o_orderkey", "cursor": "x"}})
