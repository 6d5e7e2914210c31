"""Scheduling settings, read from environment variables with documented defaults.

======================================  =====================================  ====================
variable                                meaning                                default
======================================  =====================================  ====================
``WAREHOUSE_TARGET``                    warehouse the runs load and build      ``duckdb``
``WAREHOUSE_SCHEDULE_CRON``             the daily run's cron expression        ``0 6 * * *``
``WAREHOUSE_SCHEDULE_TIMEZONE``         the time zone of the cron expressions  ``UTC``
``WAREHOUSE_DEMO_CLOCK_CRON``           the demo clock's cron (one business    ``*/5 * * * *``
                                        day of the demo world per tick)
``WAREHOUSE_DEMO_CLOCK``                ``on``: the demo clock starts running  off (start it in
                                                                               the UI)
``WAREHOUSE_SENSOR_INTERVAL_SECONDS``   how often the sensors are evaluated    ``30``
                                        (carrier files, demo clock, alerts)
``WAREHOUSE_RETRY_MAX``                 retries of a load after a transient    ``3``
                                        failure
``WAREHOUSE_RETRY_DELAY_SECONDS``       first retry's delay (then doubled)     ``30``
``WAREHOUSE_ALERT_LOG``                 run-failure alerts, JSON lines         ``data/dagster/
                                                                               alerts.log``
``WAREHOUSE_ALERT_WEBHOOK_URL``         if set, alerts are POSTed there (JSON) unset
                                        instead of written to the log
``DAGSTER_HOME``                        Dagster's instance (runs, schedules)   ``data/dagster``
``DBT_TARGET_PATH``                     dbt's target folder; Dagster's         ``target``
                                        manifest and builds in ``dagster/``
======================================  =====================================  ====================
"""

import os
from pathlib import Path

from warehouse_settings import DATA_DIR, project_path

DEFAULT_CRON = "0 6 * * *"
DEFAULT_TIMEZONE = "UTC"
DEFAULT_DEMO_CLOCK_CRON = "*/5 * * * *"
DEFAULT_ALERT_LOG = "data/dagster/alerts.log"


def _env(name: str, default: str) -> str:
    return os.environ.get(name) or default


def target() -> str:
    """The warehouse target of the scheduled runs: ``duckdb`` or ``postgres``."""
    return _env("WAREHOUSE_TARGET", "duckdb")


def daily_cron() -> str:
    """Cron expression of the daily production run."""
    return _env("WAREHOUSE_SCHEDULE_CRON", DEFAULT_CRON)


def timezone() -> str:
    """IANA time zone the cron expressions are read in."""
    return _env("WAREHOUSE_SCHEDULE_TIMEZONE", DEFAULT_TIMEZONE)


def demo_clock_cron() -> str:
    """Cron expression of the demo clock (each tick: one business day of the demo world)."""
    return _env("WAREHOUSE_DEMO_CLOCK_CRON", DEFAULT_DEMO_CLOCK_CRON)


def demo_clock_on() -> bool:
    """Whether the demo clock starts running (else it is started by hand in the UI)."""
    return _env("WAREHOUSE_DEMO_CLOCK", "off").lower() in {"1", "on", "true", "yes"}


def sensor_interval_seconds() -> int:
    """Minimum seconds between two evaluations of a sensor (Dagster's default: 30)."""
    return int(_env("WAREHOUSE_SENSOR_INTERVAL_SECONDS", "30"))


def retry_max() -> int:
    """How many times a load is retried after a transient failure."""
    return int(_env("WAREHOUSE_RETRY_MAX", "3"))


def retry_delay_seconds() -> float:
    """Delay before the first retry; each further retry waits twice as long."""
    return float(_env("WAREHOUSE_RETRY_DELAY_SECONDS", "30"))


def alert_log() -> Path:
    """The JSON-lines file run-failure alerts are appended to (no webhook set)."""
    return project_path(_env("WAREHOUSE_ALERT_LOG", DEFAULT_ALERT_LOG))


def alert_webhook_url() -> str | None:
    """The HTTP endpoint alerts are POSTed to, if set."""
    return os.environ.get("WAREHOUSE_ALERT_WEBHOOK_URL") or None


def dagster_home() -> Path:
    """Dagster's instance folder (SQLite run, event and schedule storage)."""
    return project_path(_env("DAGSTER_HOME", str(DATA_DIR / "dagster")))


def dbt_dir() -> Path:
    """Folder of Dagster's dbt manifest (``manifest.json``) and of its builds (``build/``)."""
    return project_path(_env("DBT_TARGET_PATH", "target")) / "dagster"
