"""``dbt build`` passes on DuckDB and PostgreSQL and staging holds what the ERP holds."""

from __future__ import annotations

import hashlib
import re
import sqlite3
from collections.abc import Callable
from pathlib import Path

from conftest import Warehouse

from ingestion.cli import load_crm, load_erp
from orchestration.dbt import run_dbt
from source_systems.crm.simulate import advance_crm
from source_systems.erp.database import connect
from source_systems.erp.simulate import Simulator

DEMO_SALT = "demo-salt-not-secret"


def test_dbt_build_on_loaded_erp(
    warehouse: Warehouse, make_erp: Callable[..., str], make_crm: Callable[[str], Path]
) -> None:
    url = make_erp()
    crm_path = make_crm(url)
    load_erp(warehouse.target)
    load_crm(warehouse.target)
    with connect(url) as db:
        Simulator(db).advance(2)
        advance_crm(db, crm_path)  # leads convert into ERP customers
    load_erp(warehouse.target)
    load_crm(warehouse.target)

    results = run_dbt(["build"], warehouse.target)
    statuses = {str(r.status) for r in results}  # type: ignore[attr-defined]
    assert statuses <= {"success", "pass"}, statuses
    assert len(results) > 50  # type: ignore[arg-type]  # models and their tests all ran

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
