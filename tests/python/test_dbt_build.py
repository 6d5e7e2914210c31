"""The warehouse built day by day with dbt, on DuckDB and PostgreSQL.

One world per target: the run's shared day-0 world (loaded, a full ``dbt build`` passed; see
``worlds.py``) copied, then moved on three business days with a load and a dbt run
after each (the snapshots' cadence; every dbt test runs at day 0 and on the last day). Checked:
staging holds what the sources hold; the marts give the same business answers as plain SQL on
the ERP source database; SCD2 history, deletions and the as-of rule; and a ``--full-refresh``
of the marts gives the very same rows as the incremental runs.
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from conftest import BuiltWorld, Warehouse, assert_dbt_passed

from ingestion.cli import load_carrier, load_crm, load_erp
from orchestration.dbt import run_dbt
from source_systems.erp.database import connect
from source_systems.world import advance_world

DEMO_SALT = "demo-salt-not-secret"

# The Data Vault (and the mart served from it) has its own world in test_vault.py; leaving it
# out here keeps the test command short. Cautious: a test runs only when all its parents do.
NOT_THE_VAULT = [
    "--indirect-selection",
    "cautious",
    "--exclude",
    "raw_vault",
    "business_vault",
    "dim_customer_days",
]

MARTS = [
    "dim_customers",
    "dim_dates",
    "dim_geography",
    "dim_offers",
    "dim_order_flags",
    "dim_parts",
    "dim_suppliers",
    "fct_offer_inventory_daily",
    "fct_order_line_fulfilment",
    "fct_order_lines",
    "fct_orders",
    "fct_shipment_events",
]

Answers = dict[tuple[object, ...], tuple[float, ...]]

ERP_REVENUE_BY_MONTH_AND_NATION = """
    select substr(o.o_orderdate, 1, 7), n.n_name,
           sum(l.l_extendedprice * (1 - l.l_discount))
    from lineitem as l
    join orders as o on o.o_orderkey = l.l_orderkey
    join customer as c on c.c_custkey = o.o_custkey
    join nation as n on n.n_nationkey = c.c_nationkey
    group by 1, 2
"""
MART_REVENUE_BY_MONTH_AND_NATION = """
    select d.calendar_year_month, g.nation_name, sum(f.net_amount)
    from marts.fct_order_lines as f
    join marts.dim_dates as d on d.date_day = f.order_date
    join marts.dim_geography as g on g.geography_sk = f.customer_geography_sk
    group by 1, 2
"""
# TPC-H Q1, the pricing summary report (the query's own ship-date cut-off).
ERP_PRICING_SUMMARY = """
    select l_returnflag, l_linestatus,
           sum(l_quantity), sum(l_extendedprice),
           sum(l_extendedprice * (1 - l_discount)),
           sum(l_extendedprice * (1 - l_discount) * (1 + l_tax)),
           avg(l_quantity), avg(l_extendedprice), avg(l_discount), count(*)
    from lineitem
    where l_shipdate <= '1998-09-02'
    group by 1, 2
"""
MART_PRICING_SUMMARY = """
    select return_flag, line_status,
           sum(quantity), sum(gross_amount), sum(net_amount), sum(total_amount),
           avg(quantity), avg(gross_amount), avg(discount_rate), count(*)
    from marts.fct_order_lines
    where ship_date <= date '1998-09-02'
    group by 1, 2
"""
# TPC-H Q10's measure without its date window: revenue lost to returns, per customer.
ERP_RETURNED_REVENUE_BY_CUSTOMER = """
    select o.o_custkey, sum(l.l_extendedprice * (1 - l.l_discount))
    from lineitem as l
    join orders as o on o.o_orderkey = l.l_orderkey
    where l.l_returnflag = 'R'
    group by 1
"""
MART_RETURNED_REVENUE_BY_CUSTOMER = """
    select c.customer_id, sum(f.net_amount)
    from marts.fct_order_lines as f
    join marts.dim_customers as c on c.customer_sk = f.customer_sk
    where f.return_flag = 'R'
    group by 1
"""
RECONCILIATIONS = {
    "revenue by month and nation": (
        ERP_REVENUE_BY_MONTH_AND_NATION,
        MART_REVENUE_BY_MONTH_AND_NATION,
    ),
    "pricing summary": (ERP_PRICING_SUMMARY, MART_PRICING_SUMMARY),
    "returned revenue by customer": (
        ERP_RETURNED_REVENUE_BY_CUSTOMER,
        MART_RETURNED_REVENUE_BY_CUSTOMER,
    ),
}


def _answers(rows: list[tuple[object, ...]], key_columns: int) -> Answers:
    """Rows as {key: measures}, keys as text and measures as floats for comparison."""
    return {
        tuple(str(v).strip() for v in row[:key_columns]): tuple(float(v) for v in row[key_columns:])  # type: ignore[arg-type]
        for row in rows
    }


def _assert_reconciles(erp_url: str, warehouse: Warehouse) -> None:
    """Each business answer computed in the ERP equals the same answer from the marts."""
    with connect(erp_url) as db:
        for name, (erp_sql, mart_sql) in RECONCILIATIONS.items():
            keys = 2 if name != "returned revenue by customer" else 1
            expected = _answers(db.query(erp_sql), keys)
            actual = _answers(warehouse.query(mart_sql), keys)
            assert expected, name
            assert actual.keys() == expected.keys(), name
            for key, measures in expected.items():
                # The ERP (SQLite) keeps money as REAL; the marts as exact decimals.
                assert actual[key] == pytest.approx(measures, abs=0.005, rel=1e-12), (name, key)


def _build(target: str) -> None:
    """``dbt build``; every node passes (the documented orphan-event warning aside)."""
    assert_dbt_passed(run_dbt(["build", *NOT_THE_VAULT], target))


def _mart_rows(warehouse: Warehouse) -> dict[str, list[str]]:
    """Every row of every mart, as sorted text, for before/after comparisons."""
    return {
        mart: sorted(repr(row) for row in warehouse.query(f"select * from marts.{mart}"))
        for mart in MARTS
    }


def _assert_staging_matches_sources(
    warehouse: Warehouse, url: str, crm_path: Path, days: list[dict[str, Any]]
) -> None:
    """Staging holds what the three sources hold, PII masked, carrier events once each."""
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
    events = sum(day["carrier"]["events"] for day in days if day["carrier"])
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


def _load_all(target: str) -> None:
    load_erp(target)
    load_crm(target)
    load_carrier(target)


def _removable_customer(erp_url: str, crm_path: Path) -> int:
    """A customer with no order and no CRM profile: the ERP and the CRM let it be deleted."""
    with sqlite3.connect(crm_path) as crm:
        profiled = {r[0] for r in crm.execute("select customer_id from contacts") if r[0]}
    with connect(erp_url) as db:
        candidates = db.query(
            "select c_custkey from customer where not exists "
            "(select 1 from orders where o_custkey = c_custkey) order by c_custkey"
        )
    return next(key for (key,) in candidates if key not in profiled)


INCREMENTAL_FACTS = ["fct_order_lines", "fct_shipment_events"]


def _increment_rows(target: str, warehouse: Warehouse, facts: list[str]) -> dict[str, int]:
    """How many rows each fact's next incremental run would select (its compiled SELECT)."""
    results = run_dbt(["compile", "--select", *facts, "--indirect-selection", "empty"], target)
    compiled = {r.node.name: r.node.compiled_code for r in results}  # type: ignore[attr-defined]
    return {
        fact: int(warehouse.query(f"select count(*) from ({compiled[fact]}) as increment")[0][0])
        for fact in facts
    }


def test_warehouse_built_day_by_day(day0: BuiltWorld) -> None:
    warehouse, url, crm_path = day0.warehouse, day0.erp_url, day0.crm_path
    target = warehouse.target

    # Day 0: the ERP as built, loaded and built by a full `dbt build` whose every node passed
    # (the run's shared day-0 world, conftest.py `day0`; this test moves its own copy on).
    _assert_reconciles(url, warehouse)

    # Three business days, each loaded and run; on the last, a customer is deleted.
    removed = _removable_customer(url, crm_path)
    days: list[dict[str, Any]] = []
    for day in range(1, 4):
        with connect(url) as db:
            days += advance_world(db, 1, crm_db=crm_path)
            if day == 3:
                db.execute("delete from customer where c_custkey = ?", (removed,))
        _load_all(target)
        if day < 3:  # the daily cadence; the tests run once more on the full history below
            run_dbt(
                ["build", *NOT_THE_VAULT, "resource_type:test", "resource_type:unit_test"], target
            )
    _build(target)
    _assert_staging_matches_sources(warehouse, url, crm_path, days)
    _assert_reconciles(url, warehouse)

    # History: versions accumulated, and every fact row points at the version in force when
    # its order day began (the as-of rule), never at the unknown member.
    versions = warehouse.query(
        "select count(*) - count(distinct part_id) from marts.dim_parts where part_id <> -1"
    )[0][0]
    assert versions > 0
    for dim, key in [("customer", "customer"), ("part", "part"), ("supplier", "supplier")]:
        misjoined = warehouse.query(
            f"select count(*) from marts.fct_order_lines as f "
            f"left join marts.dim_{dim}s as d on d.{key}_sk = f.{key}_sk "
            f"where d.{key}_id is distinct from f.{key}_id "
            f"or cast(f.order_date as timestamp) < d.valid_from "
            f"or cast(f.order_date as timestamp) >= d.valid_to"
        )
        assert misjoined == [(0,)], dim

    # A deleted customer is a deletion version of its own, in the snapshot and the dimension.
    history = warehouse.query(
        "select dbt_is_deleted, dbt_valid_from, dbt_valid_to from snapshots.snap_erp__customers "
        f"where customer_id = {removed} order by dbt_valid_from"
    )
    assert [row[0] for row in history][-2:] == ["False", "True"]
    assert history[-2][2] == history[-1][1]  # the last live version ends where deletion starts
    assert str(history[-1][2]).startswith("9999-12-31")
    assert warehouse.query(
        f"select is_deleted from marts.dim_customers where customer_id = {removed} and is_current"
    ) == [(True,)]

    # Cancelled orders left every fact.
    with connect(url) as db:
        cancelled = [
            json.loads(k)
            for (k,) in db.query("select row_key from deleted_rows where table_name = 'orders'")
        ]
    assert cancelled
    keys = ", ".join(str(k["o_orderkey"]) for k in cancelled)
    for fact in ("fct_orders", "fct_order_lines", "fct_order_line_fulfilment"):
        assert warehouse.query(f"select count(*) from marts.{fact} where order_id in ({keys})") == [
            (0,)
        ], fact
    assert warehouse.query("select count(*) from marts.fct_shipment_events") != [(0,)]

    # Offer inventory: every offer on each of the four business days seen (day 0 to day 3),
    # not on the snapshots' open-ended future; the last day holds the ERP's stock.
    with connect(url) as db:
        offers, stock = db.query("select count(*), sum(ps_availqty) from partsupp")[0]
    inventory_days = warehouse.query(
        "select snapshot_date, count(*) from marts.fct_offer_inventory_daily group by 1 order by 1"
    )
    assert [count for _, count in inventory_days] == [offers] * 4
    assert (inventory_days[-1][0] - inventory_days[0][0]).days == 3
    assert warehouse.query(
        "select sum(available_quantity) from marts.fct_offer_inventory_daily "
        "where snapshot_date = (select max(snapshot_date) from marts.fct_offer_inventory_daily)"
    ) == [(stock,)]

    # Money: the facts agree with each other to the last decimal.
    assert warehouse.query(
        "select sum(net_amount), sum(total_amount) from marts.fct_orders"
    ) == warehouse.query("select sum(net_amount), sum(total_amount) from marts.fct_order_lines")
    total = warehouse.query("select sum(net_amount) from marts.fct_orders")[0][0]
    assert isinstance(total, Decimal)

    # The cost follows the change: every load was complete before the last build, so the
    # facts' next increment does not select the rows of the newest load again (it did with
    # `>=`, which a load package resumed under its load id needs): the carrier's events none
    # at all, the order lines only those a dimension version loaded since asks to re-key.
    newest_lines = warehouse.query(
        "select count(*) from staging.stg_erp__order_lines "
        "where loaded_at = (select max(loaded_at) from marts.fct_order_lines)"
    )[0][0]
    assert newest_lines > 0
    increment = _increment_rows(target, warehouse, INCREMENTAL_FACTS)
    assert increment["fct_shipment_events"] == 0, increment
    assert increment["fct_order_lines"] < newest_lines, (increment, newest_lines)

    # Incremental equals full refresh: rebuilding the marts from scratch changes no row.
    incremental = _mart_rows(warehouse)
    run_dbt(["run", "--full-refresh", "--select", "marts", *NOT_THE_VAULT], target)
    assert _mart_rows(warehouse) == incremental
