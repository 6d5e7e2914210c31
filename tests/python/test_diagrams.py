"""``warehouse diagrams``: the star schema and the layer lineage, drawn from a manifest."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from orchestration.cli import main
from orchestration.diagrams import layer_of, lineage_svg, star_schema_svg, write_diagrams

SVG = "{http://www.w3.org/2000/svg}"


def _model(name: str, path: str, parents: list[str], columns: list[str]) -> dict[str, Any]:
    return {
        "resource_type": "model",
        "name": name,
        "unique_id": f"model.p.{name}",
        "original_file_path": path,
        "depends_on": {"nodes": parents},
        "columns": {
            c: {"name": c, "data_type": "bigint" if c.endswith("_sk") else ""} for c in columns
        },
    }


def _test(name: str, attached: str, column: str, **kwargs: Any) -> dict[str, Any]:
    return {
        "resource_type": "test",
        "name": f"{name}_{attached}_{column}",
        "attached_node": f"model.p.{attached}",
        "column_name": column,
        "test_metadata": {"name": name, "kwargs": {"column_name": column, **kwargs}},
        "depends_on": {"nodes": [f"model.p.{attached}"]},
    }


def synthetic_manifest() -> dict[str, Any]:
    """Two sources, staging, a snapshot, a hub, a pit, two dimensions, a fact, an exposure."""
    models = [
        _model(
            "stg_erp__orders",
            "models/staging/erp/stg_erp__orders.sql",
            ["source.p.erp.orders"],
            ["order_id"],
        ),
        _model(
            "stg_erp__customers",
            "models/staging/erp/stg_erp__customers.sql",
            ["source.p.erp.customer"],
            ["customer_id"],
        ),
        _model(
            "hub_customer",
            "models/raw_vault/hubs/hub_customer.sql",
            ["model.p.stg_erp__customers"],
            ["customer_hk"],
        ),
        _model(
            "pit_customer",
            "models/business_vault/pit_customer.sql",
            ["model.p.hub_customer"],
            ["customer_hk"],
        ),
        _model(
            "dim_customers",
            "models/marts/core/dim_customers.sql",
            ["model.p.pit_customer"],
            ["customer_sk", "customer_name"],
        ),
        _model("dim_dates", "models/marts/core/dim_dates.sql", [], ["date_sk", "calendar_date"]),
        _model(
            "fct_orders",
            "models/marts/core/fct_orders.sql",
            ["model.p.dim_customers", "snapshot.p.snap_erp__orders"],
            ["order_sk", "customer_sk", "order_date_sk", "total_price"],
        ),
    ]
    nodes: dict[str, Any] = {m["unique_id"]: m for m in models}
    nodes["snapshot.p.snap_erp__orders"] = {
        "resource_type": "snapshot",
        "name": "snap_erp__orders",
        "original_file_path": "snapshots/snap_erp__orders.sql",
        "depends_on": {"nodes": ["model.p.stg_erp__orders"]},
    }
    for test in (
        _test("unique", "fct_orders", "order_sk"),
        _test("unique", "dim_customers", "customer_sk"),
        _test("unique", "dim_dates", "date_sk"),
        _test(
            "relationships",
            "fct_orders",
            "customer_sk",
            to="ref('dim_customers')",
            field="customer_sk",
        ),
        _test(
            "relationships", "fct_orders", "order_date_sk", to="ref('dim_dates')", field="date_sk"
        ),
        # a relationship to staging is not part of the star
        _test(
            "relationships", "fct_orders", "order_sk", to="ref('stg_erp__orders')", field="order_id"
        ),
    ):
        nodes[f"test.p.{test['name']}"] = test
    sources = {
        f"source.p.erp.{t}": {
            "resource_type": "source",
            "source_name": "erp",
            "name": t,
            "unique_id": f"source.p.erp.{t}",
        }
        for t in ("orders", "customer")
    }
    exposures = {
        "exposure.p.sales_dashboard": {
            "resource_type": "exposure",
            "name": "sales_dashboard",
            "depends_on": {"nodes": ["model.p.fct_orders"]},
        }
    }
    return {"nodes": nodes, "sources": sources, "exposures": exposures}


def test_layer_of_reads_type_and_folder() -> None:
    manifest = synthetic_manifest()
    layers = {n["name"]: layer_of(n) for n in manifest["nodes"].values()}
    assert layers["stg_erp__orders"] == "staging"
    assert layers["hub_customer"] == "raw_vault"
    assert layers["pit_customer"] == "business_vault"
    assert layers["fct_orders"] == "marts"
    assert layers["snap_erp__orders"] == "snapshots"
    assert layers["unique_fct_orders_order_sk"] is None  # tests are not drawn


def test_star_schema_has_facts_dimensions_columns_and_foreign_keys() -> None:
    root = ET.fromstring(star_schema_svg(synthetic_manifest()))
    tables = {
        g.get("data-name"): g.get("data-kind")
        for g in root.iter(f"{SVG}g")
        if g.get("class") == "table"
    }
    assert tables == {"fct_orders": "fact", "dim_customers": "dimension", "dim_dates": "dimension"}
    edges = {
        (p.get("data-from"), p.get("data-to"))
        for p in root.iter(f"{SVG}path")
        if p.get("class") == "fk"
    }
    assert edges == {
        ("fct_orders.customer_sk", "dim_customers.customer_sk"),
        ("fct_orders.order_date_sk", "dim_dates.date_sk"),
    }
    text = "".join(root.itertext())
    for column in ("order_sk", "customer_sk", "order_date_sk", "total_price", "calendar_date"):
        assert column in text
    assert "PK" in text and "FK" in text


def test_star_schema_without_marts_says_so() -> None:
    manifest = synthetic_manifest()
    manifest["nodes"] = {
        k: v
        for k, v in manifest["nodes"].items()
        if "marts" not in str(v.get("original_file_path"))
    }
    assert "No marts in the manifest yet" in star_schema_svg(manifest)


def test_lineage_groups_nodes_by_layer_in_order() -> None:
    root = ET.fromstring(lineage_svg(synthetic_manifest()))
    nodes = [g for g in root.iter(f"{SVG}g") if g.get("class") == "node"]
    layer = {g.get("data-id"): g.get("data-layer") for g in nodes}
    assert layer["source.p.erp.orders"] == "sources"
    assert layer["model.p.stg_erp__orders"] == "staging"
    assert layer["snapshot.p.snap_erp__orders"] == "snapshots"
    assert layer["model.p.hub_customer"] == "raw_vault"
    assert layer["model.p.pit_customer"] == "business_vault"
    assert layer["model.p.fct_orders"] == "marts"
    assert layer["exposure.p.sales_dashboard"] == "exposures"
    # columns run left to right in layer order
    x = {g.get("data-id"): float(next(g.iter(f"{SVG}rect")).get("x") or 0) for g in nodes}
    order = [
        "source.p.erp.orders",
        "model.p.stg_erp__orders",
        "snapshot.p.snap_erp__orders",
        "model.p.hub_customer",
        "model.p.pit_customer",
        "model.p.fct_orders",
        "exposure.p.sales_dashboard",
    ]
    assert [x[u] for u in order] == sorted(x[u] for u in order)
    edges = [p for p in root.iter(f"{SVG}path") if p.get("class") == "edge"]
    assert len(edges) == 9  # every dependency between drawn nodes, tests left out


def test_same_manifest_same_bytes_and_cli_writes_both(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the command changes into the project; come back after
    manifest_path = tmp_path / "manifest.json"
    manifest_path.write_text(json.dumps(synthetic_manifest()))
    first = [p.read_bytes() for p in write_diagrams(manifest_path, tmp_path / "a")]
    assert (
        main(["diagrams", "--manifest", str(manifest_path), "--out-dir", str(tmp_path / "b")]) == 0
    )
    second = [(tmp_path / "b" / n).read_bytes() for n in ("star_schema.svg", "lineage.svg")]
    assert first == second
