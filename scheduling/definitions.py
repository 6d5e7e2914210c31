"""The Dagster code location: ``dagster dev -m scheduling.definitions`` (``warehouse schedule``).

Jobs, schedules and sensors:

- ``warehouse_daily`` (schedule ``warehouse_daily_schedule``, cron and time zone from
  :mod:`scheduling.settings`): the three loads, then every dbt model, snapshot and test and
  the source-freshness checks — what ``warehouse run`` does;
- ``carrier_arrival`` (sensor ``carrier_file_sensor``): a new file in the carrier's landing
  folder starts the carrier load and everything downstream of it, once per file;
- ``demo_clock`` (schedule ``demo_clock_schedule``, off unless ``WAREHOUSE_DEMO_CLOCK=on``):
  moves the *demo* world one business day per tick; the sensor ``demo_clock_then_daily``
  then requests a ``warehouse_daily`` run. Production schedules never advance the world;
- ``alert_on_run_failure``: every failed run is written to the alert sink
  (:mod:`scheduling.alerts`).

Runs execute in one process (steps in order) and the instance's run queue lets one run at a
time at the warehouse (``dagster.yaml`` written by ``warehouse schedule``): DuckDB has one
writer, and the loaders' lock would make a second run fail as busy anyway.

No ``from __future__ import annotations`` (see :mod:`scheduling.assets`).
"""

import datetime as dt
import hashlib
import json
from pathlib import Path

from dagster import (
    AssetSelection,
    DagsterEventType,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    Definitions,
    OpExecutionContext,
    RunFailureSensorContext,
    RunRequest,
    RunStatusSensorContext,
    ScheduleDefinition,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    define_asset_job,
    in_process_executor,
    job,
    op,
    run_failure_sensor,
    run_status_sensor,
    sensor,
)
from dagster import DagsterRunStatus as RunStatus
from dagster._utils.error import SerializableErrorInfo

from ingestion.carrier.settings import file_glob
from scheduling import settings
from scheduling.alerts import send_alert
from scheduling.assets import (
    dbt_build_assets,
    dbt_resource,
    freshness_checks,
    load_assets,
    source_system_specs,
)
from source_systems.world import advance_world, connect
from warehouse_settings import carrier_landing_dir, erp_url

LOAD_ASSETS = {source: load_assets(source) for source in ("erp", "crm", "carrier")}
DBT_ASSETS = dbt_build_assets()
FRESHNESS_CHECKS = freshness_checks()

warehouse_daily = define_asset_job(
    "warehouse_daily",
    selection=AssetSelection.all(),
    description="Load the ERP, the CRM and the carrier files, then dbt build and freshness.",
)

carrier_arrival = define_asset_job(
    "carrier_arrival",
    selection=AssetSelection.assets(LOAD_ASSETS["carrier"]).downstream(),
    description="Load the carrier's new files and rebuild what depends on them.",
)


def daily_schedule() -> ScheduleDefinition:
    """The daily production run, at the cron and time zone of the settings."""
    return ScheduleDefinition(
        name="warehouse_daily_schedule",
        job=warehouse_daily,
        cron_schedule=settings.daily_cron(),
        execution_timezone=settings.timezone(),
        default_status=DefaultScheduleStatus.RUNNING,
        description="The daily production run (WAREHOUSE_SCHEDULE_CRON, _TIMEZONE).",
    )


warehouse_daily_schedule = daily_schedule()


def landed_files(folder: Path | None = None) -> list[str]:
    """Names (relative to the landing folder) of the carrier files there now, sorted."""
    folder = folder or carrier_landing_dir()
    if not folder.is_dir():
        return []
    return sorted(str(p.relative_to(folder)) for p in folder.glob(file_glob()) if p.is_file())


@sensor(
    job=carrier_arrival,
    minimum_interval_seconds=settings.sensor_interval_seconds(),
    default_status=DefaultSensorStatus.RUNNING,
    description="A new file in the carrier's landing folder: load it and rebuild downstream.",
)
def carrier_file_sensor(context: SensorEvaluationContext) -> SensorResult | SkipReason:
    """Request one ``carrier_arrival`` run for the files not seen before (the cursor)."""
    seen = set(json.loads(context.cursor)) if context.cursor else set()
    files = landed_files()
    new = [name for name in files if name not in seen]
    if not new:
        return SkipReason(f"no new carrier file in {carrier_landing_dir()}")
    digest = hashlib.sha256("\n".join(new).encode()).hexdigest()[:16]
    request = RunRequest(
        run_key=f"carrier-{digest}",
        tags={"carrier/new_files": str(len(new)), "carrier/first_file": new[0][:200]},
    )
    return SensorResult(run_requests=[request], cursor=json.dumps(sorted(seen | set(new))))


@op(description="Simulate one business day of the DEMO world: ERP, CRM and a carrier file.")
def advance_demo_world(context: OpExecutionContext) -> None:
    """Move the demo world (``ERP_URL``, the CRM, the landing folder) on one business day."""
    with connect(erp_url()) as db:
        days = advance_world(db, 1)
    context.log.info(f"the demo world moved on one business day: {json.dumps(days, default=str)}")


@job(description="DEMO ONLY: move the simulated source world one business day.")
def demo_clock() -> None:
    """One tick of the demo clock."""
    advance_demo_world()


demo_clock_schedule = ScheduleDefinition(
    name="demo_clock_schedule",
    job=demo_clock,
    cron_schedule=settings.demo_clock_cron(),
    execution_timezone=settings.timezone(),
    default_status=(
        DefaultScheduleStatus.RUNNING if settings.demo_clock_on() else DefaultScheduleStatus.STOPPED
    ),
    description="DEMO ONLY: one simulated business day per tick, then a daily run.",
)


@run_status_sensor(
    run_status=RunStatus.SUCCESS,
    monitored_jobs=[demo_clock],
    request_job=warehouse_daily,
    minimum_interval_seconds=settings.sensor_interval_seconds(),
    default_status=DefaultSensorStatus.RUNNING,
    description="After each demo-clock tick, the daily run on the new business day.",
)
def demo_clock_then_daily(context: RunStatusSensorContext) -> RunRequest:
    """A ``warehouse_daily`` run for the day the demo clock just simulated."""
    return RunRequest(run_key=f"after-{context.dagster_run.run_id}")


def _error_text(error: SerializableErrorInfo | None) -> str | None:
    """The error's message and those of its causes, one per line."""
    messages = []
    while error is not None:
        messages.append(error.message.strip())
        error = error.cause
    return "\n".join(messages) or None


def failure_alert(context: RunFailureSensorContext) -> dict[str, object]:
    """The alert for a failed run: job, run id, the error and each failed step.

    A step that failed after its retries reports "Exceeded max_retries"; its last attempt's
    error (the real cause) is taken from the run's retry events.
    """
    run = context.dagster_run
    last_retry_error: dict[str, str | None] = {}
    for record in context.instance.all_logs(run.run_id, of_type=DagsterEventType.STEP_UP_FOR_RETRY):
        event = record.dagster_event
        if event is not None and event.step_key:
            data = event.event_specific_data
            last_retry_error[event.step_key] = _error_text(getattr(data, "error", None))
    steps = []
    for event in context.get_step_failure_events():
        error = _error_text(event.step_failure_data.error)
        step: dict[str, object] = {"step": event.step_key, "error": error}
        if event.step_key in last_retry_error:
            step["last_attempt_error"] = last_retry_error[event.step_key]
        steps.append(step)
    return {
        "time": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "kind": "run_failure",
        "job": run.job_name,
        "run_id": run.run_id,
        "message": context.failure_event.message,
        "failed_steps": steps,
        "target": settings.target(),
    }


@run_failure_sensor(
    name="alert_on_run_failure",
    minimum_interval_seconds=settings.sensor_interval_seconds(),
    default_status=DefaultSensorStatus.RUNNING,
    description="Writes each failed run to the alert sink (log file, or webhook if set).",
)
def alert_on_run_failure(context: RunFailureSensorContext) -> None:
    """Send the failed run's alert to the sink."""
    where = send_alert(failure_alert(context))
    context.log.info(f"alert for run {context.dagster_run.run_id} sent to {where}")


defs = Definitions(
    assets=[*source_system_specs(), *LOAD_ASSETS.values(), DBT_ASSETS],
    asset_checks=[FRESHNESS_CHECKS],
    jobs=[warehouse_daily, carrier_arrival, demo_clock],
    schedules=[warehouse_daily_schedule, demo_clock_schedule],
    sensors=[carrier_file_sensor, demo_clock_then_daily, alert_on_run_failure],
    resources={"dbt": dbt_resource()},
    executor=in_process_executor,
)
