"""What Dagster costs over ``warehouse run``: the same daily job, timed both ways.

``python -m scheduling.measure_overhead --scale 0.01 --days 2`` (``--scale 0.1`` for the
bigger world) builds a demo world in a temporary folder (the project's ``data/`` is not
touched), loads and builds it at day 0, copies it, then for each of ``--days`` business days
moves the world on one day (the same source files given to both copies) and times, as the
real commands in subprocesses, each with its own warehouse:

- ``warehouse run --target duckdb`` (what cron or a systemd timer calls);
- ``dagster job execute -m scheduling.definitions -j warehouse_daily`` (the same loads, dbt
  build and freshness as Dagster assets and checks, on a temporary Dagster instance).

The order alternates day by day (the box's load changes during a measurement). With
``--latency``, ``dagster dev`` is then started on the first copy with the demo clock ticking
every minute, and the first tick's run is followed: tick (the minute) → run created → run
started → run succeeded, as the daemon reports them (GraphQL).

The figures go to stdout as a table and one JSON line (``--out`` writes the JSON to a file);
the box's load average is part of them: on a shared machine wall seconds are only comparable
within one measurement.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from orchestration.run import EXIT_OK, EXIT_STALE
from orchestration.schedule import dagster_dev, prepare_instance
from source_systems.world import advance_world, connect, init_world
from warehouse_settings import PROJECT_ROOT

ARMS = ("warehouse_run", "dagster_job")

SOURCE_FILES = ("erp.sqlite", "crm.sqlite", "landing")
"""The source systems' files: copied from the first copy to the second after each move."""


def world_environment(folder: Path) -> dict[str, str]:
    """The variables pointing the sources, the loaders, DuckDB and dbt at ``folder``."""
    return {
        "ERP_URL": f"sqlite:///{folder / 'erp.sqlite'}",
        "CRM_DB_PATH": str(folder / "crm.sqlite"),
        "CARRIER_LANDING_DIR": str(folder / "landing"),
        "LOADER_PIPELINES_DIR": str(folder / "dlt"),
        "WAREHOUSE_DUCKDB_PATH": str(folder / "warehouse.duckdb"),
        "DBT_TARGET_PATH": str(folder / "target"),
        "DAGSTER_HOME": str(folder / "dagster"),
        "WAREHOUSE_TARGET": "duckdb",
    }


@contextlib.contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    """``values`` in ``os.environ`` for the block (``CRM_BASE_URL`` unset: the demo CRM)."""
    saved = dict(os.environ)
    os.environ.update(values)
    os.environ.pop("CRM_BASE_URL", None)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def load_average() -> float:
    """The box's one-minute load average."""
    return round(os.getloadavg()[0], 2)


def build_day0(folder: Path, scale: float, seed: int, log: Path) -> float:
    """Build the world at day 0 in ``folder`` and ``warehouse run`` it; its wall seconds.

    The run is a subprocess, as every timed run: no DuckDB connection stays in this process.
    Dagster's dbt manifest is parsed here too, so no timed run pays for a first parse.
    """
    folder.mkdir(parents=True)
    prepare_instance(folder / "dagster")
    started = time.perf_counter()
    with environment(world_environment(folder)), connect(os.environ["ERP_URL"]) as erp:
        init_world(erp, scale_factor=scale, seed=seed, crm_db=folder / "crm.sqlite")
    time_arm("warehouse_run", folder, log)
    seconds = time.perf_counter() - started
    parse = "from scheduling.manifest import manifest_path; manifest_path()"
    subprocess.run([sys.executable, "-c", parse], cwd=PROJECT_ROOT, env=_env(folder), check=True)
    return seconds


def command(arm: str) -> list[str]:
    """The command line of one arm."""
    if arm == "warehouse_run":
        return [sys.executable, "-m", "orchestration.cli", "run", "--target", "duckdb"]
    dagster = str(Path(sys.executable).with_name("dagster"))
    return [dagster, "job", "execute", "-m", "scheduling.definitions", "-j", "warehouse_daily"]


def _env(folder: Path) -> dict[str, str]:
    """The subprocesses' environment: this one, pointed at the world in ``folder``."""
    env = {**os.environ, **world_environment(folder)}
    env.pop("CRM_BASE_URL", None)
    env.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def time_arm(arm: str, folder: Path, log: Path) -> dict[str, Any]:
    """Run one arm on the world in ``folder``: wall seconds, exit code, load average."""
    env = _env(folder)
    load_before = load_average()
    started = time.perf_counter()
    with log.open("a") as out:
        out.write(f"\n===== {arm} in {folder}\n")
        out.flush()
        proc = subprocess.run(
            command(arm), cwd=PROJECT_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    seconds = time.perf_counter() - started
    if proc.returncode not in (EXIT_OK, EXIT_STALE):
        raise RuntimeError(f"{arm} failed with exit code {proc.returncode}: see {log}")
    return {
        "arm": arm,
        "seconds": round(seconds, 1),
        "exit_code": proc.returncode,
        "load_average": [load_before, load_average()],
    }


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
    " endTime } } } }"
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def tick_latency(folder: Path, timeout: float = 400.0) -> dict[str, Any]:
    """``dagster dev`` on ``folder`` with the demo clock every minute: its first tick's run.

    Returns the seconds from the tick (the minute) to the run's creation, start and success,
    and how long the UI took to answer.
    """
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    home = folder / "dagster-dev"
    landing = folder / "landing-latency"  # empty: no carrier run queued ahead of the tick
    landing.mkdir(exist_ok=True)
    values = world_environment(folder) | {
        "CARRIER_LANDING_DIR": str(landing),
        "DAGSTER_HOME": str(home),
        "WAREHOUSE_DEMO_CLOCK": "on",
        "WAREHOUSE_DEMO_CLOCK_CRON": "* * * * *",
        "WAREHOUSE_SCHEDULE_CRON": "0 0 1 1 *",  # the daily schedule stays out of the way
        "WAREHOUSE_SENSOR_INTERVAL_SECONDS": "3600",  # no daily run after the tick either
    }
    started = time.monotonic()
    ui_seconds: float | None = None
    with environment(values), dagster_dev(port=port, home=prepare_instance(home)):
        deadline = started + timeout
        while time.monotonic() < deadline:
            time.sleep(0.5)
            try:
                runs = _graphql(base, RUNS_QUERY)["runsOrError"]["results"]
            except (OSError, KeyError, ValueError):
                continue
            if ui_seconds is None:
                ui_seconds = time.monotonic() - started
            done = [r for r in runs if r["jobName"] == "demo_clock" and r["status"] == "SUCCESS"]
            if done:
                clock = done[-1]
                tick = clock["creationTime"] // 60 * 60
                return {
                    "ui_up_seconds": round(ui_seconds, 1),
                    "tick_to_created": round(clock["creationTime"] - tick, 1),
                    "tick_to_started": round(clock["startTime"] - tick, 1),
                    "tick_to_success": round(clock["endTime"] - tick, 1),
                    "run_seconds": round(clock["endTime"] - clock["startTime"], 1),
                }
    raise TimeoutError(f"no successful demo-clock run within {timeout:.0f} s")


def measure(scale: float, days: int, seed: int, work: Path, latency: bool) -> dict[str, Any]:
    """Build, move and time both arms (see the module docstring); the figures."""
    log = work / "runs.log"
    first, second = work / "a", work / "b"
    day0_seconds = build_day0(first, scale, seed, log)
    shutil.copytree(first, second)
    runs: list[dict[str, Any]] = []
    for day in range(1, days + 1):
        with environment(world_environment(first)), connect(os.environ["ERP_URL"]) as erp:
            advance_world(erp, 1, crm_db=first / "crm.sqlite")
        for name in SOURCE_FILES:
            source, dest = first / name, second / name
            if source.is_dir():
                shutil.rmtree(dest, ignore_errors=True)
                shutil.copytree(source, dest)
            else:
                shutil.copyfile(source, dest)
        arms = ARMS if day % 2 else tuple(reversed(ARMS))
        for arm in arms:
            folder = first if arm == "dagster_job" else second
            runs.append({"day": day, **time_arm(arm, folder, log)})
    figures: dict[str, Any] = {
        "scale": scale,
        "days": days,
        "cpus": os.cpu_count(),
        "day0_build_seconds": round(day0_seconds, 1),
        "runs": runs,
    }
    for arm in ARMS:
        figures[f"{arm}_mean_seconds"] = round(
            sum(r["seconds"] for r in runs if r["arm"] == arm) / days, 1
        )
    base = figures["warehouse_run_mean_seconds"]
    figures["dagster_overhead_seconds"] = round(figures["dagster_job_mean_seconds"] - base, 1)
    figures["dagster_overhead_ratio"] = round(figures["dagster_job_mean_seconds"] / base, 2)
    print(json.dumps(figures), flush=True)  # the arms, before the (slower) daemon part
    if latency:
        figures["daemon"] = tick_latency(first)
    return figures


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments, measure, print the table and the JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=0.01, help="TPC-H scale factor")
    parser.add_argument("--days", type=int, default=2, help="business days timed")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--latency", action="store_true", help="also the daemon's tick latency")
    parser.add_argument("--work-dir", type=Path, help="keep the worlds and logs here")
    parser.add_argument("--out", type=Path, help="also write the JSON figures to this file")
    args = parser.parse_args(argv)
    with contextlib.ExitStack() as stack:
        if args.work_dir:
            work = args.work_dir
            work.mkdir(parents=True, exist_ok=False)
        else:
            work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="overhead-")))
        figures = measure(args.scale, args.days, args.seed, work, args.latency)
    for r in figures["runs"]:
        print(
            f"day {r['day']}  {r['arm']:<14} {r['seconds']:>7.1f} s  "
            f"(load {r['load_average'][0]} -> {r['load_average'][1]})"
        )
    print(
        f"mean: warehouse run {figures['warehouse_run_mean_seconds']} s, Dagster job "
        f"{figures['dagster_job_mean_seconds']} s: overhead "
        f"{figures['dagster_overhead_seconds']} s (x{figures['dagster_overhead_ratio']})"
    )
    if "daemon" in figures:
        print(f"daemon: {json.dumps(figures['daemon'])}")
    line = json.dumps(figures)
    print(line)
    if args.out:
        args.out.write_text(line + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
