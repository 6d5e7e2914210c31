"""The semantic layer (MetricFlow): configs valid, every metric equals plain SQL over the marts.

``mf validate-configs`` runs on the project as the CLI does. Then, on DuckDB and PostgreSQL,
the run's shared day-0 world is copied and every metric is queried through MetricFlow's
engine (the one behind ``mf query``, on the dbt adapter of the target) by month, and compared
with the same figure computed by plain SQL over the marts; once at day 0 and once more after
three business days loaded and built. The metrics of one semantic model are asked in one
query (as a dashboard does: one scan of the fact), each compared with its own SQL.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import BuiltWorld, Warehouse, assert_dbt_passed, copy_day0_world

from ingestion.cli import load_carrier, load_crm, load_erp
from orchestration.dbt import run_dbt
from source_systems.erp.database import connect
from source_systems.world import advance_world
from warehouse_settings import PROJECT_ROOT

# The marts' daily build (the vault and its mart have their own test; tests ran at day 0).
MARTS_ONLY = [
    "--exclude",
    "raw_vault",
    "business_vault",
    "dim_customer_days",
    "--exclude-resource-type",
    "test",
    "unit_test",
]


def _month(column: str) -> str:
    """SQL: the first day of ``column``'s month (DuckDB and PostgreSQL)."""
    return f"date_trunc('month', {column})"


# Every metric, by month, as plain SQL over the marts: (month, value) rows.
METRIC_SQL: dict[str, str] = {
    "net_revenue": f"""
        select {_month("order_date")}, sum(net_amount)
        from marts.fct_order_lines group by 1""",
    "units": f"""
        select {_month("order_date")}, sum(quantity)
        from marts.fct_order_lines group by 1""",
    "supply_cost": f"""
        select {_month("order_date")}, sum(supply_cost_amount)
        from marts.fct_order_lines group by 1""",
    "gross_margin": f"""
        select {_month("order_date")}, sum(net_amount) - sum(supply_cost_amount)
        from marts.fct_order_lines group by 1""",
    "revenue_to_date": f"""
        select month, sum(revenue) over (order by month)
        from (
            select {_month("order_date")} as month, sum(net_amount) as revenue
            from marts.fct_order_lines group by 1
        ) as monthly""",
    "order_count": f"""
        select {_month("order_date")}, count(*)
        from marts.fct_orders group by 1""",
    "order_net_revenue": f"""
        select {_month("order_date")}, sum(net_amount)
        from marts.fct_orders group by 1""",
    "average_order_value": f"""
        select {_month("order_date")}, sum(net_amount) / count(*)
        from marts.fct_orders group by 1""",
    "delivered_lines": f"""
        select {_month("order_date")}, count(delivered_date)
        from marts.fct_order_line_fulfilment group by 1""",
    "delivered_on_time_lines": f"""
        select {_month("order_date")},
            sum(case when is_delivered_late = false then 1 else 0 end)
        from marts.fct_order_line_fulfilment group by 1""",
    "on_time_delivery_rate": f"""
        select {_month("order_date")},
            sum(case when is_delivered_late = false then 1 else 0 end)
            * 1.0 / nullif(count(delivered_date), 0)
        from marts.fct_order_line_fulfilment group by 1""",
    "days_late": f"""
        select {_month("order_date")}, avg(days_late)
        from marts.fct_order_line_fulfilment group by 1""",
    "shipment_event_count": f"""
        select {_month("event_date")}, count(*)
        from marts.fct_shipment_events group by 1""",
    # Semi-additive: the stock of the month's last snapshot day, never a sum over days.
    "stock_value": f"""
        select last_day.month, sum(f.stock_value_amount)
        from marts.fct_offer_inventory_daily as f
        inner join (
            select {_month("snapshot_date")} as month, max(snapshot_date) as snapshot_date
            from marts.fct_offer_inventory_daily group by 1
        ) as last_day on last_day.snapshot_date = f.snapshot_date
        group by 1""",
}


def _key(value: object) -> str:
    """A month as ``YYYY-MM`` (DuckDB gives dates, PostgreSQL and MetricFlow timestamps)."""
    return str(value)[:7]


def _number(value: object) -> float | None:
    return None if value is None else float(value)  # type: ignore[arg-type]


def _sql_answers(warehouse: Warehouse, metric: str) -> dict[str, float | None]:
    return {_key(month): _number(value) for month, value in warehouse.query(METRIC_SQL[metric])}


def _semantic_manifest() -> Any:
    """The semantic manifest ``dbt parse`` wrote into this process's dbt target folder."""
    from metricflow_semantics.model.dbt_manifest_parser import (
        parse_manifest_from_dbt_generated_manifest,
    )

    target_path = Path(os.environ.get("DBT_TARGET_PATH", PROJECT_ROOT / "target"))
    text = (PROJECT_ROOT / target_path / "semantic_manifest.json").read_text(encoding="utf-8")
    return parse_manifest_from_dbt_generated_manifest(manifest_json_string=text)


@contextlib.contextmanager
def _metricflow(target: str, *, parse: bool = True) -> Any:
    """MetricFlow's engine on ``target`` through the dbt adapter, as ``mf query`` builds it.

    ``parse=False`` when a dbt command on this world just wrote the semantic manifest (every
    command that writes ``manifest.json`` writes ``semantic_manifest.json`` beside it).
    """
    from dbt.adapters.factory import get_adapter_by_type, reset_adapters
    from dbt.cli.main import dbtRunner
    from dbt_metricflow.cli.dbt_connectors.adapter_backed_client import AdapterBackedSqlClient
    from metricflow.engine.metricflow_engine import MetricFlowEngine
    from metricflow_semantics.model.semantic_manifest_lookup import SemanticManifestLookup

    if parse:
        run_dbt(["parse"], target)
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(PROJECT_ROOT)
        # As dbt-metricflow's CLI (dbtProjectMetadata.load_from_paths): `dbt debug` leaves the
        # target's adapter registered; here with the target named.
        project = str(PROJECT_ROOT)
        debug = ["debug", "--quiet", "--profiles-dir", project, "--project-dir", project]
        assert dbtRunner().invoke([*debug, "--target", target]).success
        adapter = get_adapter_by_type("duckdb" if target == "duckdb" else "postgres")
        engine = MetricFlowEngine(
            semantic_manifest_lookup=SemanticManifestLookup(_semantic_manifest()),
            sql_client=AdapterBackedSqlClient(adapter),
        )
        try:
            yield engine
        finally:
            adapter.cleanup_connections()
            reset_adapters()


# Metrics asked together, one MetricFlow query each: the metrics of one semantic model (the
# same fact rows, so the same months), as ``mf query --metrics a,b,c`` would.
METRIC_QUERIES: tuple[tuple[str, ...], ...] = (
    ("net_revenue", "units", "supply_cost", "gross_margin"),
    ("order_count", "order_net_revenue", "average_order_value"),
    ("delivered_lines", "delivered_on_time_lines", "on_time_delivery_rate", "days_late"),
    ("shipment_event_count",),
    ("stock_value",),
    ("revenue_to_date",),
)

# Cumulative metrics are read from the time spine (dim_dates, to 2049): asked, as README
# "Metrics" advises, up to the latest order day, so the spine is cut there before MetricFlow
# joins it to the daily sales (PostgreSQL: seconds instead of half a minute).
CUMULATIVE = {"revenue_to_date"}
LATEST_ORDER_DAY_SQL = "select max(order_date) from marts.fct_order_lines"


def _request(metrics: tuple[str, ...], where: list[str] | None = None) -> Any:
    """``mf query --metrics <metrics> --group-by metric_time__month [--where ...]``."""
    from metricflow.engine.metricflow_engine import MetricFlowQueryRequest

    return MetricFlowQueryRequest.create(
        metric_names=list(metrics),
        group_by_names=["metric_time__month"],
        where_constraints=where,
    )


def _assert_cumulative_reads_daily_rows(engine: Any, metric: str, where: list[str]) -> None:
    """The cumulative metric's SQL joins the time spine to the daily pre-aggregate, cut.

    MetricFlow joins each input row to every later spine day: the order lines over the whole
    spine took over 5 minutes on PostgreSQL (README "Metrics"); one row per day over the spine
    up to the latest order day takes seconds.
    """
    sql = engine.explain(_request((metric,), where)).sql_statement.sql
    assert "fct_sales_daily" in sql, sql
    assert "fct_order_lines" not in sql, sql
    assert "dim_dates" in sql, sql  # the time spine, cut by the where constraint


def _metric_answers(
    engine: Any, metrics: tuple[str, ...], where: list[str] | None = None
) -> dict[str, dict[str, Any]]:
    """The answer of each of ``metrics`` by month (``_request``), as {metric: {month: value}}."""
    table = engine.query(_request(metrics, where)).result_df
    assert table is not None
    names = list(table.column_names)
    month = names.index("metric_time__month")
    return {
        metric: {_key(row[month]): _number(row[names.index(metric)]) for row in table.rows}
        for metric in metrics
    }


def _assert_metrics_match_sql(
    warehouse: Warehouse, *, carrier_loaded: bool, parse: bool = True
) -> None:
    """Every metric of the semantic layer, by month, equals its plain SQL over the marts.

    At day 0 the carrier has sent no events yet: the one metric on them has no month.
    """
    ((latest_order_day,),) = warehouse.query(LATEST_ORDER_DAY_SQL)
    up_to_latest_day = [f"{{{{ TimeDimension('metric_time', 'day') }}}} <= '{latest_order_day}'"]
    with _metricflow(warehouse.target, parse=parse) as engine:
        defined = {metric.name for metric in engine.list_metrics()}
        assert defined == set(METRIC_SQL), "every metric has its plain-SQL check"
        assert sorted(m for q in METRIC_QUERIES for m in q) == sorted(METRIC_SQL)
        for metrics in METRIC_QUERIES:
            cumulative = CUMULATIVE.intersection(metrics)
            assert not cumulative or len(metrics) == 1, "a cumulative metric is asked alone"
            for metric in cumulative:
                _assert_cumulative_reads_daily_rows(engine, metric, up_to_latest_day)
            answers = _metric_answers(engine, metrics, up_to_latest_day if cumulative else None)
            for metric in metrics:
                expected = _sql_answers(warehouse, metric)
                assert expected or (metric == "shipment_event_count" and not carrier_loaded), metric
                assert answers[metric].keys() == expected.keys(), metric
                for month, value in expected.items():
                    if value is None:  # no delivered line that month: no rate, no days late
                        assert answers[metric][month] is None, (metric, month)
                    else:
                        assert answers[metric][month] == pytest.approx(value, rel=1e-9, abs=1e-9), (
                            metric,
                            month,
                        )


def test_validate_configs(monkeypatch: pytest.MonkeyPatch) -> None:
    """``mf validate-configs`` (semantic checks) passes on the project's semantic manifest.

    ``mf`` reads ``target/semantic_manifest.json``: ``dbt parse`` (in this process) writes it.
    """
    monkeypatch.setenv("DBT_TARGET_PATH", "target")
    run_dbt(["parse", "--quiet"], "duckdb")
    env = os.environ | {"DBT_TARGET": "duckdb"}
    bin_dir = Path(sys.executable).parent
    done = subprocess.run(
        [str(bin_dir / "mf"), "validate-configs", "--skip-dw"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ERRORS: 0" in done.stdout, done.stdout


@pytest.mark.parametrize("target", ["duckdb", "postgres"])
def test_metrics_equal_sql_over_the_marts(
    target: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    with contextlib.ExitStack() as stack:
        world: BuiltWorld = copy_day0_world(request, target, tmp_path / "world", monkeypatch, stack)
        _assert_metrics_match_sql(world.warehouse, carrier_loaded=False)

        for _ in range(3):
            with connect(world.erp_url) as db:
                advance_world(db, 1, crm_db=world.crm_path)
            load_erp(target)
            load_crm(target)
            load_carrier(target)
            assert_dbt_passed(run_dbt(["build", *MARTS_ONLY], target))
        # The last build wrote this world's semantic manifest: no parse again.
        _assert_metrics_match_sql(world.warehouse, carrier_loaded=True, parse=False)
