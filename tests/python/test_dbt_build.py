"""``dbt build`` passes on DuckDB and PostgreSQL and staging holds what the ERP holds."""

from __future__ import annotations

import hashlib
import re
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import Warehouse
from dbt.contracts.results import RunExecutionResult

from ingestion.cli import load_carrier, load_crm, load_erp
from orchestration.dbt import run_dbt
from source_systems.carrier.feed import write_day
from source_systems.crm.simulate import advance_crm
from source_systems.erp.database import connect
from source_systems.erp.simulate import Simulator

DEMO_SALT = "demo-salt-not-secret"


# Events of cancelled (deleted) order lines are expected orphans: a warn-severity test.
EXPECTED_WARNINGS = {"relationships_multi_column_stg_carrier__shipment_events"}


def test_dbt_build_on_loaded_erp(
    warehouse: Warehouse,
    make_erp: Callable[..., str],
    make_crm: Callable[[str], Path],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("CARRIER_LANDING_DIR", str(tmp_path / "landing"))
    url = make_erp()
    crm_path = make_crm(url)
    load_erp(warehouse.target)
    load_crm(warehouse.target)
    carrier_files = []
    with connect(url) as db:
        simulator = Simulator(db)
        for _ in range(3):
            day = simulator.advance(1)[0]
            advance_crm(db, crm_path)  # leads convert into ERP customers
            carrier_files.append(
                write_day(db, tmp_path / "landing", day.day_number, simulator.seed)
            )
    load_erp(warehouse.target)
    load_crm(warehouse.target)
    load_carrier(warehouse.target)

    results = run_dbt(["build"], warehouse.target)
    assert isinstance(results, RunExecutionResult)
    for r in results:
        status = str(r.status)
        if status == "warn":
            assert r.node.name.startswith(tuple(EXPECTED_WARNINGS)), r.node.name
        else:
            assert status in {"success", "pass"}, (r.node.name, status)
    assert len(results) > 50  # models and their tests all ran

    with connect(url) as db:
        erp_counts = {
            "orders": db.scalar("select count(*) from orders"),
            "order_lines": db.scalar("select count(*) from lineitem"),
            "customers": db.scalar("select count(*) from customer"),
        }
        phone, address = db.query("select c_phone, c_address from customer where c_custkey = 1")[0]
    for model, count in erp_counts.items():
        assert warehouse.query(f"select count(*) from staging.stg_erp__{model}") == [(count,)]

    # PII: masked with the documented salted SHA-256, the raw value nowhere in staging.
    masked = warehouse.query(
        "select phone_number_hash, street_address_hash from staging.stg_erp__customers "
        "where customer_id = 1"
    )[0]
    assert masked[0] == hashlib.sha256((DEMO_SALT + phone.strip()).encode()).hexdigest()
    assert masked[1] == hashlib.sha256((DEMO_SALT + address.strip()).encode()).hexdigest()
    hashes = warehouse.query("select distinct phone_number_hash from staging.stg_erp__suppliers")
    assert all(re.fullmatch(r"[0-9a-f]{64}", h) for (h,) in hashes)

    # Carrier: every event once in staging (duplicates never reach it); files reconcile.
    events = sum(f.events for f in carrier_files if f)
    assert warehouse.query(
        "select count(*), count(distinct event_id) from staging.stg_carrier__shipment_events"
    ) == [(events, events)]
    assert warehouse.query(
        "select count(*) from staging.stg_carrier__file_reconciliations where is_reconciled"
    ) == [(3,)]
    orphans = warehouse.query(
        "select distinct e.event_type from staging.stg_carrier__shipment_events as e "
        "left join staging.stg_erp__order_lines as l "
        "on l.order_id = e.order_id and l.line_number = e.line_number where l.order_id is null"
    )
    assert set(orphans) <= {("exception",)}  # only the cancelled lines' events

    # Money keeps two decimals exactly; the raw table stays the only place with raw PII.
    assert warehouse.query(
        "select count(*) from staging.stg_erp__customers where account_balance * 100 "
        "<> cast(account_balance * 100 as bigint)"
    ) == [(0,)]

    # CRM: every contact, converted leads linked to ERP customers, email and phone masked.
    with sqlite3.connect(crm_path) as conn:
        contacts = conn.execute("select count(*) from contacts").fetchone()[0]
        converted = conn.execute(
            "select count(*) from contacts where converted_at is not null"
        ).fetchone()[0]
        email, phone = conn.execute(
            "select email, phone from contacts where contact_id = 1"
        ).fetchone()
    assert warehouse.query("select count(*) from staging.stg_crm__contacts") == [(contacts,)]
    assert converted > 0
    assert warehouse.query(
        "select count(*) from staging.stg_crm__contacts as c "
        "inner join staging.stg_erp__customers as e on c.customer_id = e.customer_id "
        "where c.converted_at is not null"
    ) == [(converted,)]
    masked = warehouse.query(
        "select email_address_hash, phone_number_hash from staging.stg_crm__contacts "
        "where contact_id = 1"
    )[0]
    assert masked[0] == hashlib.sha256((DEMO_SALT + email.strip().lower()).encode()).hexdigest()
    assert masked[1] == hashlib.sha256((DEMO_SALT + phone.strip()).encode()).hexdigest()
