"""Run history (schema ops), the quality scorecard, the volume anomaly test and the health page.

Every test starts from a copy of the shared day-0 world (``worlds.py``: loaded and built once
per run with the ops hooks and loaders, so its ops tables hold that first load and build).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import BuiltWorld, Warehouse

from ingestion.cli import load_carrier
from ingestion.history import LOAD_TABLES_COLUMNS, LOADS_COLUMNS
from orchestration.dbt import run_dbt
from orchestration.health import OBSERVABILITY_SELECTOR, health
from orchestration.run import EXIT_OK, EXIT_STALE, run
from warehouse_settings import PROJECT_ROOT

DUCKDB = pytest.mark.parametrize("target", ["duckdb"])


def _execute(wh: Warehouse, sql: str) -> None:
    """Run a statement that returns no rows (an insert) on the warehouse."""
    if wh.target == "duckdb":
        import duckdb

        with duckdb.connect(str(wh.duckdb_path)) as conn:
            conn.execute(sql)
        return
    import psycopg2

    assert wh.pg is not None
    conn = psycopg2.connect(
        host=wh.pg.host,
        port=wh.pg.port,
        user=wh.pg.user,
        password=wh.pg.password,
        dbname=wh.database,
    )
    try:
        with conn, conn.cursor() as cur:
            cur.execute(sql)
    finally:
        conn.close()


def _statuses(results: Any) -> dict[str, str]:
    return {r.node.name: str(r.status) for r in results}


def test_dlt_tables_have_the_columns_dbt_creates() -> None:
    """ingestion/history.py and macros/observability/ops_tables.sql declare the same tables."""
    text = (PROJECT_ROOT / "macros/observability/ops_tables.sql").read_text(encoding="utf-8")
    declared: dict[str, list[tuple[str, str]]] = {}
    for name, body in re.findall(r"'(\w+)': \[(.*?)\]", text, flags=re.DOTALL):
        declared[name] = re.findall(r"\('(\w+)', '([\w ]+)'\)", body)
    assert declared["dlt_loads"] == LOADS_COLUMNS
    assert declared["dlt_load_tables"] == LOAD_TABLES_COLUMNS
    assert set(declared) == {"dbt_invocations", "dbt_node_results", "dlt_loads", "dlt_load_tables"}


def test_two_runs_are_both_in_the_ops_tables(day0: BuiltWorld) -> None:
    """The day-0 world's load and build, then a `warehouse run`: the ops tables hold both."""
    wh = day0.warehouse
    code = run(wh.target, select=[OBSERVABILITY_SELECTOR])
    assert code in {EXIT_OK, EXIT_STALE}  # day 0 has no carrier file yet: carrier may be stale
    builds = wh.query(
        "select invocation_id, status, nodes from ops.dbt_invocations "
        "where command = 'build' order by started_at"
    )
    assert len(builds) == 2, builds
    first, second = builds
    assert first[1] == "success" and first[2] > 500  # the day-0 build: every node
    assert 0 < second[2] < first[2]  # the run's selected build
    assert wh.query("select count(*) from ops.dbt_invocations where command = 'freshness'") == [
        (1,)
    ]
    per_build = dict(
        wh.query("select invocation_id, count(*) from ops.dbt_node_results group by 1")
    )
    assert per_build[first[0]] == first[2] and per_build[second[0]] == second[2]
    model = wh.query(
        "select status, execution_seconds, rows_affected from ops.dbt_node_results "
        f"where invocation_id = '{first[0]}' and unique_id = 'model.tpch_warehouse.dim_geography'"
    )
    assert model[0][0] == "success" and model[0][1] > 0
    if wh.target == "postgres":  # PostgreSQL reports rows affected; DuckDB does not
        assert model[0][2] > 0
    tests = wh.query(
        "select test_name, tested_node, column_name, status from ops.dbt_node_results "
        f"where invocation_id = '{first[0]}' and resource_type = 'test' "
        "and unique_id like 'test.tpch_warehouse.unique_dim_geography_geography_sk.%'"
    )
    assert tests == [("unique", "model.tpch_warehouse.dim_geography", "geography_sk", "pass")]
    freshness = wh.query(
        "select status, freshness_sla_seconds from ops.dbt_node_results "
        "where unique_id = 'source.tpch_warehouse.erp.orders'"
    )
    assert freshness == [("pass", 26 * 3600)]
    loads = wh.query(
        "select source_name, count(*), count(distinct load_run_id), min(status), max(status) "
        "from ops.dlt_loads group by 1 order by 1"
    )
    assert loads == [
        ("carrier", 2, 2, "ok", "ok"),
        ("crm", 2, 2, "ok", "ok"),
        ("erp", 2, 2, "ok", "ok"),
    ]
    day0_orders = wh.query(
        "select t.rows_loaded, t.reconciliation_units, t.reconciliation_mismatches "
        "from ops.dlt_load_tables as t inner join ops.dlt_loads as l "
        "on t.load_run_id = l.load_run_id where t.table_name = 'orders' order by l.started_at"
    )
    assert day0_orders[0][0] == wh.query("select count(*) from raw_erp.orders")[0][0]
    assert all(units > 0 and mismatches == 0 for _, units, mismatches in day0_orders)
    # the marts over them (views): the same two builds and six loads
    assert wh.query(
        "select count(*) from marts.fct_dbt_invocations where dbt_command = 'build'"
    ) == [(2,)]
    sources = wh.query(
        "select source_name, loads, loads_failed from marts.dim_warehouse_sources "
        "where source_name <> 'ops' order by 1"
    )
    assert sources == [("carrier", 2, 0), ("crm", 2, 0), ("erp", 2, 0)]


def _carrier_file(landing: Path, good: int, bad: int) -> None:
    base = {
        "order_key": 1,
        "line_number": 1,
        "tracking_number": "T1",
        "carrier": "RailCargo",
        "event_type": "picked_up",
        "event_time": "1998-08-03T08:00:00+02:00",
        "location": "Hamburg",
    }
    lines = [json.dumps({**base, "event_id": f"obs-{n}"}) for n in range(good)]
    lines += [
        json.dumps({**base, "event_id": f"obs-bad-{n}", "event_type": "teleported"})
        for n in range(bad)
    ]
    landing.mkdir(parents=True, exist_ok=True)
    (landing / "shipments_2099-01-01.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")


@DUCKDB
def test_scorecard_matches_a_hand_computation(day0: BuiltWorld) -> None:
    """Inject one quarantined carrier line (of three) and a duplicate contact; score by hand."""
    wh = day0.warehouse
    _carrier_file(day0.landing, good=2, bad=1)
    load_carrier(wh.target)
    _execute(
        wh,
        "insert into raw_crm.contacts select * from raw_crm.contacts "
        "where contact_id = (select min(contact_id) from raw_crm.contacts)",
    )
    results = run_dbt(["test", "--select", "source:crm.contacts"], wh.target, check=False)
    statuses = _statuses(results)
    assert statuses["source_unique_crm_contacts_contact_id"] == "fail"
    assert statuses["source_not_null_crm_contacts_contact_id"] == "pass"

    # validity of carrier.shipment_events: the loaders' check scores 1 - 1/3, rows failing 1
    checks = wh.query(
        "select check_kind, check_score, rows_failing from intermediate.int_quality_checks_unioned "
        "where table_label = 'carrier.shipment_events' and quality_dimension = 'validity'"
    )
    quarantine = [c for c in checks if c[0] == "quarantine"]
    assert [(float(s), f) for _, s, f in quarantine] == [(0.6667, 1)]
    others = [float(s) for kind, s, _ in checks if kind != "quarantine"]
    expected = round((2 / 3 + sum(others)) / (1 + len(others)), 4)
    scores = wh.query(
        "select quality_dimension, checks, checks_failed, rows_failing, quality_score "
        "from marts.fct_quality_scores where table_label = 'carrier.shipment_events' "
        "and quality_dimension = 'validity'"
    )
    assert len(scores) == 1
    _, checks_n, failed, rows_failing, score = scores[0]
    assert (checks_n, failed, rows_failing) == (1 + len(others), 1, 1)
    assert float(score) == pytest.approx(expected, abs=1e-4)

    # crm.contacts today: its one unique test failed last (after the day-0 pass), not_null passed
    contacts = dict(
        wh.query(
            "select quality_dimension, quality_score from marts.fct_quality_scores "
            "where table_label = 'crm.contacts' "
            "and quality_dimension in ('uniqueness', 'completeness')"
        )
    )
    assert {k: float(v) for k, v in contacts.items()} == {"uniqueness": 0.0, "completeness": 1.0}
    assert wh.query(
        "select checks, checks_failed, rows_failing from marts.fct_quality_scores "
        "where table_label = 'crm.contacts' and quality_dimension = 'uniqueness'"
    ) == [(1, 1, 1)]


def _fabricate_series(wh: Warehouse, label: str, volumes: list[int]) -> None:
    """Loads of table ``label`` on the days before today (the last volume is today's)."""
    source, table = label.split(".")
    today = datetime.now(UTC).replace(tzinfo=None)
    for back, volume in enumerate(reversed(volumes)):
        finished = today - timedelta(days=back)
        run_id = f"fabricated-{label}-{back}"
        stamp = finished.strftime("%Y-%m-%d %H:%M:%S")
        _execute(
            wh,
            f"insert into ops.dlt_loads (load_run_id, source_name, status, started_at, "
            f"finished_at, rows_loaded) values ('{run_id}', '{source}', 'ok', '{stamp}', "
            f"'{stamp}', {volume})",
        )
        _execute(
            wh,
            f"insert into ops.dlt_load_tables (load_run_id, source_name, table_name, rows_loaded) "
            f"values ('{run_id}', '{source}', '{table}', {volume})",
        )


def _volume_test(wh: Warehouse) -> tuple[str, int]:
    results = run_dbt(
        ["test", "--select", "test_name:volume_within_history"], wh.target, check=False
    )
    (result,) = [r for r in results if r.node.resource_type == "test"]  # type: ignore[attr-defined]
    return str(result.status), int(result.failures or 0)


@DUCKDB
def test_volume_anomaly_warns_on_a_spike_and_not_on_a_steady_series(day0: BuiltWorld) -> None:
    wh = day0.warehouse
    _fabricate_series(wh, "erp.steady", [100, 104, 97, 101, 99, 103, 98, 102])
    assert _volume_test(wh) == ("pass", 0)
    _fabricate_series(wh, "erp.spiky", [100, 104, 97, 101, 99, 103, 98, 1500])
    assert _volume_test(wh) == ("warn", 1)
    _fabricate_series(wh, "erp.drained", [100, 104, 97, 101, 99, 103, 98, 5])
    assert _volume_test(wh) == ("warn", 2)


@pytest.fixture
def health_page(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path / "health" / "index.html"


@DUCKDB
def test_health_page_has_the_plots(day0: BuiltWorld, health_page: Path) -> None:
    path = health(day0.warehouse.target, health_page)
    page = path.read_text(encoding="utf-8")
    assert page.count("<svg") == 5
    for title in (
        "dbt run duration per invocation",
        "Rows loaded per day",
        "Quality scorecard: mean score per dimension and day",
    ):
        assert f'aria-label="{title}' in page
    assert page.count("<rect") > 10  # bars drawn, not just axes
    assert "<circle" in page  # the scorecard's points
    assert "<td>erp</td>" in page  # the sources' health table
    assert "http" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")  # offline
