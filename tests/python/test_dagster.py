"""Dagster as the scheduler (scheduling/): in-process runs, the schedule, the sensors, alerts.

The code location is imported once per module with short retry delays; the runs use copies
of the run's shared day-0 DuckDB world (worlds.py) moved on one business day.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import http.server
import json
import shutil
import socket
import subprocess
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import duckdb
import pytest
from worlds import copy_world, day0_world, day1_run, environment

from warehouse_settings import PROJECT_ROOT

pytestmark = pytest.mark.xdist_group("dagster")


@pytest.fixture(scope="module")
def dagster_defs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    """``scheduling.definitions`` imported with fast retries (2, 0.2 s apart, then doubled)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WAREHOUSE_RETRY_MAX", "2")
        mp.setenv("WAREHOUSE_RETRY_DELAY_SECONDS", "0.2")
        import scheduling.definitions as definitions

        yield definitions


@pytest.fixture
def instance() -> Iterator[Any]:
    """A throwaway Dagster instance (temporary DAGSTER_HOME)."""
    from dagster import instance_for_test

    with instance_for_test() as inst:
        yield inst


def _moved_world(request: pytest.FixtureRequest, dest: Path) -> dict[str, str]:
    """A copy of the shared day-0 DuckDB world moved on one business day: its variables."""
    return day1_run(request.getfixturevalue("worlds_root")).copy_moved(dest)


def _mart_counts(path: str | Path) -> dict[str, int]:
    with duckdb.connect(str(path)) as con:  # as dbt in-process (one configuration per file)
        tables = con.execute(
            "select table_name from information_schema.tables "
            "where table_schema = 'marts' and table_type = 'BASE TABLE' order by 1"
        ).fetchall()
        return {
            name: con.execute(f'select count(*) from marts."{name}"').fetchone()[0]  # type: ignore[index]
            for (name,) in tables
        }


def test_daily_job_builds_the_same_warehouse_as_warehouse_run(
    dagster_defs: ModuleType,
    instance: Any,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Materializing every asset (the daily job) on a world moved one day ends with the same
    marts as ``warehouse run`` on a copy of that world (the run's shared one, worlds.py);
    loads, models and checks all report."""
    from dagster import AssetKey

    day1 = day1_run(request.getfixturevalue("worlds_root"))
    a = day1.copy_moved(tmp_path / "a")

    with environment(a):
        job = dagster_defs.defs.resolve_job_def("warehouse_daily")
        started = time.perf_counter()
        result = job.execute_in_process(instance=instance, raise_on_error=False)
        dagster_seconds = time.perf_counter() - started
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    materialized = {e.asset_key for e in result.get_asset_materialization_events()}
    # the loads are keyed like the dbt sources; every raw table and the marts were built
    assert {AssetKey(["erp", "orders"]), AssetKey(["crm", "contacts"])} <= materialized
    assert AssetKey(["carrier", "shipment_events"]) in materialized
    assert AssetKey(["marts", "fct_orders"]) in materialized
    orders = next(
        e
        for e in result.get_asset_materialization_events()
        if e.asset_key == AssetKey(["erp", "orders"])
    )
    assert orders.materialization.metadata["rows_loaded"].value > 0
    checks = [
        e.event_specific_data
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
    ]
    names = {c.check_name for c in checks}
    assert "dbt_source_freshness" in names
    assert any(name.startswith("unique_") for name in names)  # dbt tests as asset checks
    freshness = [c for c in checks if c.check_name == "dbt_source_freshness"]
    assert len(freshness) >= 12 and all(c.passed for c in freshness)

    with capsys.disabled():
        print(f"\nDagster daily job {dagster_seconds:.1f} s")
    dagster_marts = _mart_counts(a["WAREHOUSE_DUCKDB_PATH"])
    assert dagster_marts and all(dagster_marts.values())
    assert dagster_marts == _mart_counts(day1.copy_reference(tmp_path / "reference"))


def test_daily_schedule_from_settings(
    dagster_defs: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The schedule's cron and time zone come from the settings, and a tick requests a run."""
    from dagster import build_schedule_context

    monkeypatch.setenv("WAREHOUSE_SCHEDULE_CRON", "30 5 * * 1-5")
    monkeypatch.setenv("WAREHOUSE_SCHEDULE_TIMEZONE", "Europe/Paris")
    schedule = dagster_defs.daily_schedule()
    assert schedule.cron_schedule == "30 5 * * 1-5"
    assert schedule.execution_timezone == "Europe/Paris"
    tick = dt.datetime(2026, 12, 3, 5, 30, tzinfo=dt.UTC)
    data = schedule.evaluate_tick(build_schedule_context(scheduled_execution_time=tick))
    assert data.run_requests is not None and len(data.run_requests) == 1
    assert schedule.job_name == "warehouse_daily"
    # the module's own schedule uses the defaults
    assert dagster_defs.warehouse_daily_schedule.cron_schedule == "0 6 * * *"
    assert dagster_defs.demo_clock_schedule.job_name == "demo_clock"


def test_carrier_sensor_fires_once_per_new_file(
    dagster_defs: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new landing file starts one carrier run; a file already seen (cursor) starts none."""
    from dagster import build_sensor_context

    landing = tmp_path / "landing"
    landing.mkdir()
    monkeypatch.setenv("CARRIER_LANDING_DIR", str(landing))
    sensor = dagster_defs.carrier_file_sensor

    def tick(cursor: str | None) -> Any:
        return sensor.evaluate_tick(build_sensor_context(cursor=cursor))

    first = tick(None)
    assert not first.run_requests and first.skip_message  # empty folder: nothing to do
    (landing / "shipments_2026-01-02.jsonl").write_text("{}\n")
    (landing / "notes.txt").write_text("not a carrier file\n")
    second = tick(None)
    assert len(second.run_requests) == 1
    assert second.run_requests[0].job_name in (None, "carrier_arrival")
    assert json.loads(second.cursor) == ["shipments_2026-01-02.jsonl"]
    third = tick(second.cursor)  # the same file again
    assert not third.run_requests
    (landing / "shipments_2026-01-03.jsonl").write_text("{}\n")
    fourth = tick(second.cursor)
    assert len(fourth.run_requests) == 1
    assert fourth.run_requests[0].tags["carrier/first_file"] == "shipments_2026-01-03.jsonl"
    assert fourth.run_requests[0].run_key != second.run_requests[0].run_key
    assert not tick(fourth.cursor).run_requests
    # the carrier job runs the carrier load and what depends on it, not the other loads
    job = dagster_defs.defs.resolve_job_def("carrier_arrival")
    selected = {"/".join(k.path) for k in job.asset_layer.selected_asset_keys}
    assert "carrier/shipment_events" in selected
    assert "erp/orders" not in selected and "crm/contacts" not in selected
    assert "staging/stg_carrier__shipment_events" in selected


@contextlib.contextmanager
def _webhook() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    received: list[dict[str, Any]] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers["Content-Length"])
            received.append(json.loads(self.rfile.read(length)))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/alerts", received
    finally:
        server.shutdown()
        server.server_close()


def test_failing_load_retries_then_fails_and_alerts(
    dagster_defs: ModuleType,
    instance: Any,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A broken ERP: its load step is retried (2 retries), then the run fails, dbt is not run,
    and the failure sensor writes the alert to the log file, or POSTs it to a webhook."""
    from dagster import DagsterEventType, build_run_status_sensor_context

    values = _moved_world(request, tmp_path / "world")
    corrupt = tmp_path / "corrupt.sqlite"
    corrupt.write_bytes(b"this is not a database\n" * 100)
    alerts = tmp_path / "alerts.log"
    with environment(values | {"ERP_URL": f"sqlite:///{corrupt}"}):
        monkeypatch.setenv("WAREHOUSE_ALERT_LOG", str(alerts))
        monkeypatch.delenv("WAREHOUSE_ALERT_WEBHOOK_URL", raising=False)
        job = dagster_defs.defs.resolve_job_def("warehouse_daily")
        result = job.execute_in_process(instance=instance, raise_on_error=False)
    assert not result.success
    retries = [e for e in result.all_events if e.event_type == DagsterEventType.STEP_UP_FOR_RETRY]
    assert [e.step_key for e in retries] == ["load_erp", "load_erp"]
    failed = [
        e.step_key for e in result.all_events if e.event_type == DagsterEventType.STEP_FAILURE
    ]
    assert failed == ["load_erp"]
    assert result.is_node_success("load_carrier")  # the other loads still ran
    assert not any(
        e.step_key == "dbt_build"
        for e in result.all_events
        if e.event_type == DagsterEventType.STEP_SUCCESS
    )

    def alert_tick() -> None:
        context = build_run_status_sensor_context(
            sensor_name="alert_on_run_failure",
            dagster_instance=instance,
            dagster_run=result.dagster_run,
            dagster_event=result.get_run_failure_event(),
        ).for_run_failure()
        dagster_defs.alert_on_run_failure(context)

    assert not alerts.exists()
    alert_tick()
    lines = alerts.read_text().splitlines()
    assert len(lines) == 1
    alert = json.loads(lines[0])
    assert alert["job"] == "warehouse_daily"
    assert alert["run_id"] == result.run_id
    assert [s["step"] for s in alert["failed_steps"]] == ["load_erp"]
    assert "max_retries" in alert["failed_steps"][0]["error"]
    assert "file is not a database" in alert["failed_steps"][0]["last_attempt_error"]

    with _webhook() as (url, received):
        monkeypatch.setenv("WAREHOUSE_ALERT_WEBHOOK_URL", url)
        alert_tick()
    assert len(received) == 1 and received[0]["run_id"] == result.run_id
    assert len(alerts.read_text().splitlines()) == 1  # the webhook replaced the log


def test_contract_violation_is_not_retried(
    dagster_defs: ModuleType, instance: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A schema-contract violation fails the load at once: a retry cannot fix data."""
    from dagster import DagsterEventType, materialize

    from ingestion.runner import SchemaContractViolationError
    from orchestration import run as run_module

    calls: list[str] = []

    def broken(target: str) -> dict[str, Any]:
        calls.append(target)
        raise SchemaContractViolationError("raw_erp.orders: a column changed type")

    monkeypatch.setitem(run_module._LOADERS, "erp", broken)
    result = materialize([dagster_defs.LOAD_ASSETS["erp"]], instance=instance, raise_on_error=False)
    assert not result.success
    assert calls == ["duckdb"]  # once: no retry
    assert not [e for e in result.all_events if e.event_type == DagsterEventType.STEP_UP_FOR_RETRY]


def test_instance_storage_on_postgresql(
    dagster_defs: ModuleType, pg: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With ``DAGSTER_PG_URL`` set, ``warehouse schedule``'s instance keeps its runs and events
    in PostgreSQL (dagster-postgres), not in SQLite files: a run is read back from the server."""
    import psycopg2
    from dagster import DagsterInstance, materialize

    from ingestion.runner import SchemaContractViolationError
    from orchestration import run as run_module
    from orchestration.schedule import PG_URL_ENV, prepare_instance

    database = f"dagster_{uuid.uuid4().hex[:10]}"
    pg.create_database(database)
    monkeypatch.setenv(PG_URL_ENV, pg.url(database))  # postgresql+psycopg2://...
    home = prepare_instance(tmp_path / "dagster")
    assert "postgres_url" in (home / "dagster.yaml").read_text()
    assert pg.password not in (home / "dagster.yaml").read_text()

    def broken(target: str) -> dict[str, Any]:
        raise SchemaContractViolationError("raw_erp.orders: a column changed type")

    monkeypatch.setitem(run_module._LOADERS, "erp", broken)
    with DagsterInstance.from_config(str(home)) as instance:
        result = materialize(
            [dagster_defs.LOAD_ASSETS["erp"]], instance=instance, raise_on_error=False
        )
        assert not result.success
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
    assert not list(home.glob("**/*.db"))  # no SQLite storage beside the yaml
    conn = psycopg2.connect(
        host=pg.host, port=pg.port, user=pg.user, password=pg.password, dbname=database
    )
    try:
        with conn.cursor() as cur:
            cur.execute("select status from runs where run_id = %s", (result.run_id,))
            assert cur.fetchall() == [("FAILURE",)]
            cur.execute("select count(*) from event_logs where run_id = %s", (result.run_id,))
            assert cur.fetchone()[0] > 0
    finally:
        conn.close()


SCREENSHOT = PROJECT_ROOT / "target" / "artifacts" / "dagster_lineage.png"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


def _graphql(base: str, query: str) -> dict[str, Any]:
    request = urllib.request.Request(
        f"{base}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        data: dict[str, Any] = json.loads(response.read())["data"]
        return data


RUNS_QUERY = (
    "{ runsOrError { ... on Runs { results { runId jobName status creationTime startTime"
    " tags { key value } } } } }"
)


def _runs(base: str) -> list[dict[str, Any]]:
    try:
        results: list[dict[str, Any]] = _graphql(base, RUNS_QUERY)["runsOrError"]["results"]
        return results
    except (OSError, KeyError, ValueError):
        return []


def _ui_up(base: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base}/server_info", timeout=5) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def _wait(what: str, seconds: float, probe: Callable[[], Any]) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.5)
    pytest.fail(f"timed out after {seconds:.0f} s waiting for {what}")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _chromium(args: list[str], profile: Path) -> str:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.fail("chromium is not installed: sudo apt-get install -y chromium")
    proc = subprocess.run(
        [browser, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def test_daemon_ticks_a_schedule_and_the_ui_shows_the_lineage(
    dagster_defs: ModuleType,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``dagster dev`` (as ``warehouse schedule`` starts it) on a temporary instance: the UI's
    global asset lineage shows the source systems, raw tables and marts (screenshot in
    target/artifacts/); the demo clock schedule ticks (every minute here), its run succeeds,
    the sensor then requests the daily run. Every process started is gone afterwards.

    The lineage page is read while the schedule waits for its minute: the tick comes on the
    minute whatever the test does meanwhile."""
    from orchestration.schedule import _group_alive, dagster_dev

    world = day0_world(request.getfixturevalue("worlds_root"), "duckdb")
    values = copy_world(world, tmp_path / "world")
    home = tmp_path / "dagster"
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    with environment(values):
        monkeypatch.setenv("WAREHOUSE_DEMO_CLOCK", "on")
        monkeypatch.setenv("WAREHOUSE_DEMO_CLOCK_CRON", "* * * * *")
        monkeypatch.setenv("WAREHOUSE_SCHEDULE_CRON", "0 0 1 1 *")  # not during the test
        monkeypatch.setenv("WAREHOUSE_SENSOR_INTERVAL_SECONDS", "5")
        monkeypatch.setenv("WAREHOUSE_ALERT_LOG", str(tmp_path / "alerts.log"))
        started = time.monotonic()
        with dagster_dev(port=port, home=home) as proc:
            _wait("the UI", 170, lambda: proc.poll() is None and _ui_up(base))
            ui_seconds = time.monotonic() - started

            # one browser run: the page's DOM (the labels) and its screenshot
            SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
            SCREENSHOT.unlink(missing_ok=True)
            dom = _chromium(
                [
                    "--window-size=1600,1000",
                    "--virtual-time-budget=30000",
                    "--hide-scrollbars",
                    f"--screenshot={SCREENSHOT}",
                    "--dump-dom",
                    f"{base}/asset-groups",
                ],
                tmp_path / "profile",
            )
            SCREENSHOT.with_suffix(".html").write_text(dom)
            # the global lineage draws one box per group: the source systems, the raw tables
            # of each source, the dbt layers down to the marts
            groups = ("source_systems", "raw_erp", "raw_crm", "raw_carrier", "dbt_staging")
            for label in (*groups, "dbt_marts"):
                assert label in dom, f"{label} is not on the lineage page"
            assert SCREENSHOT.exists() and SCREENSHOT.stat().st_size > 20_000

            clock = _wait(
                "a successful demo-clock run",
                200,
                lambda: next(
                    (
                        r
                        for r in _runs(base)
                        if r["jobName"] == "demo_clock" and r["status"] == "SUCCESS"
                    ),
                    None,
                ),
            )
            tags = {t["key"]: t["value"] for t in clock["tags"]}
            assert tags.get("dagster/schedule_name") == "demo_clock_schedule"
            # the cron ticks on the minute: the tick is the run's creation minute
            tick = clock["creationTime"] // 60 * 60
            latency = clock["startTime"] - tick
            print(
                f"\nUI up in {ui_seconds:.0f} s; tick to run created "
                f"{clock['creationTime'] - tick:.1f} s, to run started {latency:.1f} s"
            )
            assert 0 <= latency < 60
            # the world moved on a day: its carrier file landed; the daily run follows the tick
            assert list(Path(values["CARRIER_LANDING_DIR"]).glob("shipments_*.jsonl"))
            _wait(
                "the daily run requested after the tick",
                90,
                lambda: any(r["jobName"] == "warehouse_daily" for r in _runs(base)),
            )
            group = proc.pid
        assert not _group_alive(group), "a process dagster dev started is still running"
