"""``warehouse schedule``: Dagster's UI, daemon and code server (``dagster dev``) on this machine.

It writes the instance's ``dagster.yaml`` under ``DAGSTER_HOME`` (``data/dagster/`` by
default: SQLite run, event and schedule storage there, or PostgreSQL with ``DAGSTER_PG_URL``;
one run at a time through the run queue), starts ``dagster dev -m scheduling.definitions``
on 127.0.0.1 in a process group of its own, prints the URL, and on Ctrl-C or SIGTERM stops
the whole group (``dagster dev`` can leave its code server or daemon running when only it is
stopped), SIGKILL after a grace period.

The code location itself is the package ``scheduling`` (above this layer: it is started by
module name here, never imported).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

from warehouse_settings import DATA_DIR, PROJECT_ROOT, project_path

log = logging.getLogger("warehouse.schedule")

CODE_LOCATION_MODULE = "scheduling.definitions"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 3000
STOP_GRACE_SECONDS = 15.0

INSTANCE_YAML = """\
# Written by `warehouse schedule` (orchestration/schedule.py); edits are kept (it is only
# written when missing). Storage: SQLite files in this folder (the default of a local
# DAGSTER_HOME), or PostgreSQL if DAGSTER_PG_URL was set when it was written (below).
run_queue:
  # One run at a time: DuckDB has one writer, and the loaders' warehouse lock would make a
  # second concurrent run fail as busy anyway.
  max_concurrent_runs: 1
run_retries:
  enabled: false
telemetry:
  enabled: false
nux:
  enabled: false  # no "join the community" dialog over the UI
"""


PG_URL_ENV = "DAGSTER_PG_URL"
"""A PostgreSQL URL (``postgresql+psycopg2://user:password@host:port/database``: name the
driver, SQLAlchemy 2.1 takes plain ``postgresql://`` for psycopg 3, which the environment
does not have; psycopg2 it has): if set when the
instance's ``dagster.yaml`` is written, runs, events and schedules are stored there
(dagster-postgres) instead of SQLite files. The URL is read from the variable at each start,
so the password is never written to the file."""

POSTGRES_STORAGE_YAML = f"""\
storage:
  # Runs, event logs and schedule ticks in PostgreSQL (dagster-postgres), read from
  # ${PG_URL_ENV} at each start.
  postgres:
    postgres_url:
      env: {PG_URL_ENV}
"""


def instance_yaml() -> str:
    """The ``dagster.yaml`` to write: SQLite storage, or PostgreSQL if :data:`PG_URL_ENV` is set."""
    if os.environ.get(PG_URL_ENV):
        return INSTANCE_YAML + POSTGRES_STORAGE_YAML
    return INSTANCE_YAML


def dagster_home() -> Path:
    """``DAGSTER_HOME``, else ``data/dagster`` (relative paths from the project root)."""
    return project_path(os.environ.get("DAGSTER_HOME") or DATA_DIR / "dagster")


def prepare_instance(home: Path | None = None) -> Path:
    """Create the instance folder and its ``dagster.yaml`` (if missing); return the folder."""
    home = home or dagster_home()
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text(instance_yaml())
    return home


def dagster_dev_command(host: str, port: int) -> list[str]:
    """The ``dagster dev`` command line for the project's code location."""
    dagster = Path(sys.executable).with_name("dagster")
    return [
        str(dagster),
        "dev",
        "-m",
        CODE_LOCATION_MODULE,
        "--host",
        host,
        "--port",
        str(port),
    ]


def dagster_environment(home: Path) -> dict[str, str]:
    """The environment of ``dagster dev``: ``DAGSTER_HOME``, this venv first on ``PATH``."""
    env = dict(os.environ)
    env["DAGSTER_HOME"] = str(home)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")
    env.setdefault("DO_NOT_TRACK", "1")
    env.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    env.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    return env


def stop_group(proc: subprocess.Popen[bytes], grace: float = STOP_GRACE_SECONDS) -> None:
    """SIGTERM the process group of ``proc``, then SIGKILL what is left after ``grace`` s."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if proc.poll() is not None and not _group_alive(proc.pid):
            return
        time.sleep(0.2)
    log.warning("dagster dev left processes after SIGTERM: killing its process group")
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 5
    while _group_alive(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.1)  # SIGKILL is delivered asynchronously


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextlib.contextmanager
def dagster_dev(
    host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, home: Path | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """``dagster dev`` running for the block in its own process group; the group stopped after."""
    home = prepare_instance(home)
    proc = subprocess.Popen(
        dagster_dev_command(host, port),
        cwd=PROJECT_ROOT,
        env=dagster_environment(home),
        start_new_session=True,  # its own process group: stopped as a whole
    )
    try:
        yield proc
    finally:
        stop_group(proc)


def schedule(host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> int:
    """Run ``dagster dev`` until it exits, Ctrl-C or SIGTERM; return its exit status."""
    stopping: list[int] = []

    def _stop(signum: int, frame: FrameType | None) -> None:
        stopping.append(signum)

    previous = signal.signal(signal.SIGTERM, _stop)
    home = dagster_home()
    try:
        with dagster_dev(host, port, home) as proc:
            print(
                f"Dagster UI: http://{host}:{port}  (instance {home}; Ctrl-C stops everything)",
                flush=True,
            )
            try:
                while proc.poll() is None and not stopping:
                    time.sleep(0.5)
            except KeyboardInterrupt:
                stopping.append(signal.SIGINT)
            if stopping:
                log.info("stopping dagster dev and every process it started")
                return 0
            return proc.returncode or 0
    finally:
        signal.signal(signal.SIGTERM, previous)
