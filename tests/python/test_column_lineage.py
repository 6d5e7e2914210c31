"""Column lineage from a manifest and a catalog (orchestration/column_lineage.py), in-process.

Small hand-written manifests: the shapes the project's models take (CTE chains and
``select *``, ``union all`` of branches, a table function over columns, a relation outside
dbt, a snapshot's own columns) and what must be reported when a column cannot be resolved.
The project's own lineage, and its page in a browser, are tested in test_docs_site.py.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from orchestration.cli import main
from orchestration.column_lineage import HTML_NAME, JSON_NAME, column_lineage

DB = "warehouse"


def _source(name: str, columns: list[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    uid = f"source.p.erp.{name}"
    node = {
        "resource_type": "source",
        "source_name": "erp",
        "name": name,
        "identifier": name,
        "database": DB,
        "schema": "raw_erp",
        "unique_id": uid,
    }
    return node, _catalog_entry("raw_erp", name, columns)


def _model(
    name: str, folder: str, sql: str, columns: list[str], kind: str = "model"
) -> tuple[dict[str, Any], dict[str, Any]]:
    schema = {"snapshot": "snapshots"}.get(kind, folder)
    node = {
        "resource_type": kind,
        "name": name,
        "alias": name,
        "database": DB,
        "schema": schema,
        "unique_id": f"{kind}.p.{name}",
        "original_file_path": f"models/{folder}/{name}.sql" if kind == "model" else "",
        "config": {"materialized": "table" if kind == "model" else "snapshot"},
        "compiled_code": sql,
        "columns": {},
    }
    return node, _catalog_entry(schema, name, columns)


def _catalog_entry(schema: str, name: str, columns: list[str]) -> dict[str, Any]:
    return {
        "metadata": {"database": DB, "schema": schema, "name": name},
        "columns": {
            c.upper(): {"name": c.upper(), "type": "VARCHAR", "index": i + 1}
            for i, c in enumerate(columns)
        },
    }


def _project(*items: tuple[dict[str, Any], dict[str, Any]]) -> tuple[dict[str, Any], dict]:
    manifest: dict[str, Any] = {"metadata": {"adapter_type": "duckdb"}, "nodes": {}, "sources": {}}
    catalog: dict[str, Any] = {"nodes": {}, "sources": {}}
    for node, entry in items:
        group = "sources" if node["resource_type"] == "source" else "nodes"
        manifest[group][node["unique_id"]] = node
        catalog[group][node["unique_id"]] = entry
    return manifest, catalog


def _upstream(data: dict[str, Any], node: str, column: str) -> set[tuple[str, str]]:
    return {(e[0], e[1]) for e in data["edges"] if e[2] == node and e[3] == column}


ORDERS = _source("orders", ["o_orderkey", "o_custkey", "o_totalprice"])
CUSTOMERS = _source("customer", ["c_custkey", "c_name"])
STG_ORDERS = _model(
    "stg_orders",
    "staging",
    """
    with source as (select * from "warehouse"."raw_erp"."orders"),
    renamed as (
        select o_orderkey as order_id, o_custkey as customer_id,
               cast(o_totalprice as decimal(15, 2)) as total_price,
               (select salt from restricted.pii_salt) || o_custkey as customer_hash,
               current_timestamp as loaded_at
        from source
    )
    select * from renamed
    """,
    ["order_id", "customer_id", "total_price", "customer_hash", "loaded_at"],
)
STG_CUSTOMERS = _model(
    "stg_customers",
    "staging",
    'select c_custkey as customer_id, c_name as customer_name from "warehouse".raw_erp.customer',
    ["customer_id", "customer_name"],
)
HUB = _model(
    "hub_customer",
    "raw_vault",
    """
    with from_customers as (select customer_id from "warehouse"."staging"."stg_customers"),
    from_orders as (select customer_id from "warehouse"."staging"."stg_orders"),
    keys as (
        select customer_id, 'customers' as record_source from from_customers
        union all
        select customer_id, 'orders' as record_source from from_orders
    )
    select md5(cast(customer_id as varchar)) as customer_hk, customer_id, record_source
    from keys
    """,
    ["customer_hk", "customer_id", "record_source"],
)
FCT = _model(
    "fct_orders",
    "marts",
    """
    with orders as (select * from "warehouse"."staging"."stg_orders"),
    customers as (select * from "warehouse"."staging"."stg_customers"),
    final as (
        select orders.order_id, customers.customer_name,
               orders.total_price * 2 as double_price
        from orders inner join customers on orders.customer_id = customers.customer_id
    )
    select * from final
    """,
    ["order_id", "customer_name", "double_price"],
)
SPINE = _model(
    "int_order_days",
    "intermediate",
    """
    with bounds as (
        select min(loaded_at) as first_at, max(loaded_at) as last_at
        from "warehouse"."staging"."stg_orders"
    )
    select cast(spine.day_at as date) as day_date
    from bounds
    cross join generate_series(bounds.first_at, bounds.last_at, interval '1 day')
        as spine (day_at)
    """,
    ["day_date"],
)
SNAPSHOT = _model(
    "snap_customers",
    "snapshots",
    'select * from "warehouse"."staging"."stg_customers"',
    ["customer_id", "customer_name", "dbt_scd_id", "dbt_valid_from", "dbt_valid_to"],
    kind="snapshot",
)


def test_cte_chains_select_star_unions_table_functions_and_external_relations() -> None:
    manifest, catalog = _project(
        ORDERS, CUSTOMERS, STG_ORDERS, STG_CUSTOMERS, HUB, FCT, SPINE, SNAPSHOT
    )
    data = column_lineage(manifest, catalog).to_json()

    assert data["unresolved"] == []
    src, stg, mdl = "source.p.erp", "model.p", "model.p"
    # select * through CTEs, a cast, and a two-table join with a computed column
    assert _upstream(data, f"{stg}.stg_orders", "total_price") == {
        (f"{src}.orders", "o_totalprice")
    }
    assert _upstream(data, f"{mdl}.fct_orders", "double_price") == {
        (f"{stg}.stg_orders", "total_price")
    }
    assert _upstream(data, f"{mdl}.fct_orders", "customer_name") == {
        (f"{stg}.stg_customers", "customer_name")
    }
    # union all: both branches
    assert _upstream(data, f"{mdl}.hub_customer", "customer_hk") == {
        (f"{stg}.stg_customers", "customer_id"),
        (f"{stg}.stg_orders", "customer_id"),
    }
    # the salt table is outside dbt: an external node with the column read from it
    assert _upstream(data, f"{stg}.stg_orders", "customer_hash") == {
        (f"{src}.orders", "o_custkey"),
        ("external.warehouse.restricted.pii_salt", "salt"),
    }
    assert data["nodes"]["external.warehouse.restricted.pii_salt"]["columns"] == ["salt"]
    # a table function's arguments are followed
    assert _upstream(data, f"{mdl}.int_order_days", "day_date") == {
        (f"{stg}.stg_orders", "loaded_at")
    }
    # computed from no column: literals, clocks, dbt's snapshot columns
    constant = {tuple(c) for c in data["constant"]}
    assert (f"{mdl}.hub_customer", "record_source") in constant
    assert (f"{stg}.stg_orders", "loaded_at") in constant
    assert ("snapshot.p.snap_customers", "dbt_valid_from") in constant
    assert _upstream(data, "snapshot.p.snap_customers", "customer_name") == {
        (f"{stg}.stg_customers", "customer_name")
    }
    # every catalog column of every model is accounted for: an edge or computed from none
    for uid, node in data["nodes"].items():
        if node["resource_type"] in {"model", "snapshot"}:
            for column in node["columns"]:
                assert _upstream(data, uid, column) or (uid, column) in constant, (uid, column)
    assert data["summary"] == {
        "models": 6,
        "model_columns": 19,
        "edges": len(data["edges"]),
        "constant_columns": len(data["constant"]),
        "unresolved_columns": 0,
    }


def test_what_cannot_be_resolved_is_listed_with_a_reason() -> None:
    mystery = _model(
        "fct_mystery",
        "marts",
        """
        select o.order_id, x.mystery
        from "warehouse"."staging"."stg_orders" as o
        cross join "warehouse"."staging"."stg_customers" as x
        """,
        ["order_id", "mystery"],
    )
    stale = _model(
        "fct_stale",
        "marts",
        'select order_id from "warehouse"."staging"."stg_orders"',
        ["order_id", "dropped_since"],
    )
    unparsable = _model("fct_unparsable", "marts", "select from where (", ["a"])
    manifest, catalog = _project(
        ORDERS, CUSTOMERS, STG_ORDERS, STG_CUSTOMERS, mystery, stale, unparsable
    )
    data = column_lineage(manifest, catalog).to_json()
    reasons = {(u["node"].split(".")[-1], u["column"]): u["reason"] for u in data["unresolved"]}
    # a query sqlglot cannot qualify: every column of the model, with sqlglot's reason
    assert reasons[("fct_mystery", "mystery")] == "OptimizeError: Unknown column: mystery"
    assert reasons[("fct_mystery", "order_id")] == reasons[("fct_mystery", "mystery")]
    # a catalog column the query does not select (a stale catalog)
    assert reasons[("fct_stale", "dropped_since")] == "not in the query's output"
    assert reasons[("fct_unparsable", "a")].startswith("ParseError")
    assert len(reasons) == 4 == data["summary"]["unresolved_columns"]
    assert _upstream(data, "model.p.fct_stale", "order_id") == {("model.p.stg_orders", "order_id")}


def test_command_writes_the_json_and_a_self_contained_page(tmp_path: Path) -> None:
    manifest, catalog = _project(ORDERS, CUSTOMERS, STG_ORDERS, STG_CUSTOMERS, HUB, FCT)
    (tmp_path / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    (tmp_path / "catalog.json").write_text(json.dumps(catalog), encoding="utf-8")

    assert main(["column-lineage", "--target-dir", str(tmp_path)]) == 0

    data = json.loads((tmp_path / JSON_NAME).read_text(encoding="utf-8"))
    assert data["summary"]["unresolved_columns"] == 0
    page = (tmp_path / HTML_NAME).read_text(encoding="utf-8")
    assert "/*LINEAGE_DATA*/null" not in page
    assert '"model.p.fct_orders"' in page
    assert "http://" not in page and "https://" not in page  # nothing fetched from anywhere
