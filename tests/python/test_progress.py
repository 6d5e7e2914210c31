"""The loaders' progress display: rows and rows/s per table on a terminal, quiet otherwise."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest

from warehouse_settings import PROJECT_ROOT

# A small load through the loaders' own pipeline factory: 5000 rows into table `things`.
LOAD = """
from ingestion.runner import make_pipeline
pipeline = make_pipeline("progress_check", "duckdb", "raw_check")
pipeline.run(({"id": i, "name": f"n{i}"} for i in range(5000)), table_name="things")
print("loaded")
"""


def _environment(tmp_path: Path, progress: str | None) -> dict[str, str]:
    env = {
        **os.environ,
        "WAREHOUSE_DUCKDB_PATH": str(tmp_path / "warehouse.duckdb"),
        "LOADER_PIPELINES_DIR": str(tmp_path / "dlt"),
        "RUNTIME__DLTHUB_TELEMETRY": "false",
    }
    env.pop("LOADER_PROGRESS", None)
    if progress is not None:
        env["LOADER_PROGRESS"] = progress
    return env


def _run_on_terminal(env: dict[str, str]) -> str:
    """Run the load with standard error on a pseudo-terminal; return what it showed there."""
    leader, follower = pty.openpty()
    # A terminal has a size; tqdm draws nothing on a 0-column one.
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    process = subprocess.Popen(
        [sys.executable, "-c", LOAD],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=follower,
    )
    os.close(follower)
    shown = b""
    while True:
        ready, _, _ = select.select([leader], [], [], 120)
        if not ready:
            process.kill()
            break
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal closes when the process ends
            break
        if not chunk:
            break
        shown += chunk
    os.close(leader)
    assert process.wait(timeout=60) == 0, shown.decode(errors="replace")[-2000:]
    return shown.decode(errors="replace")


def test_terminal_shows_rows_per_table(tmp_path: Path) -> None:
    """On a terminal a load shows a bar per table with its rows and rows/s."""
    shown = _run_on_terminal(_environment(tmp_path, None))
    assert "things" in shown
    assert "rows/s" in shown
    assert "5.00krows" in shown  # unit-scaled count of the table's 5000 rows


def test_pipe_is_quiet(tmp_path: Path) -> None:
    """When standard error is not a terminal (cron, CI, a log file) nothing is shown."""
    done = subprocess.run(
        [sys.executable, "-c", LOAD],
        cwd=PROJECT_ROOT,
        env=_environment(tmp_path, None),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert done.stdout.strip() == "loaded"
    assert "rows/s" not in done.stderr
    assert "things" not in done.stderr


@pytest.mark.parametrize(("choice", "expected"), [("bar", "rows/s"), ("log", "things")])
def test_chosen_display_without_terminal(tmp_path: Path, choice: str, expected: str) -> None:
    """``LOADER_PROGRESS=bar`` forces the bars, ``log`` dlt's log lines, into a pipe too."""
    done = subprocess.run(
        [sys.executable, "-c", LOAD],
        cwd=PROJECT_ROOT,
        env=_environment(tmp_path, choice),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert expected in done.stderr + done.stdout
