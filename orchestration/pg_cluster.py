"""A throwaway PostgreSQL cluster for tests: initdb in a temp folder, a free port, trust auth.

The server binaries (``initdb``, ``pg_ctl``) must be on ``PATH`` or under
``/usr/lib/postgresql/<version>/bin``. PostgreSQL refuses to run as root, so when this process
is root the cluster belongs to the ``postgres`` OS user and every command goes through
``runuser -u postgres --``.
"""

from __future__ import annotations

import contextlib
import glob
import logging
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)


class PostgresUnavailableError(RuntimeError):
    """The PostgreSQL server binaries are missing or the cluster did not start."""


@dataclass(frozen=True)
class PgCluster:
    """Where a running cluster listens."""

    host: str
    port: int
    user: str = "postgres"
    password: str = "dummy"

    def url(self, database: str) -> str:
        """SQLAlchemy URL of ``database`` in this cluster."""
        return (
            f"postgresql+psycopg2://{self.user}:{self.password}@{self.host}:{self.port}/{database}"
        )

    def create_database(self, name: str) -> None:
        """Create ``name`` (dropping it first if it exists)."""
        import psycopg2

        conn = psycopg2.connect(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password,
            dbname="postgres",
        )
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f'drop database if exists "{name}" with (force)')
            cur.execute(f'create database "{name}"')
        conn.close()


def _binary(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    if candidates:
        return candidates[0]
    raise PostgresUnavailableError(
        f"`{name}` not found: install the PostgreSQL server (Debian: postgresql) or set "
        "WAREHOUSE_PG_HOST to use a running server"
    )


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_owner(cmd: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


@contextlib.contextmanager
def throwaway_cluster() -> Iterator[PgCluster]:
    """Start a fresh cluster, yield where it listens, then stop it and delete its files.

    SIGTERM (a CI timeout, ``kill``) is turned into ``SystemExit`` while the cluster runs, so
    the cleanup below still stops the server instead of leaving it orphaned.
    """
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _exit_on_sigterm)
    initdb, pg_ctl = _binary("initdb"), _binary("pg_ctl")
    root = Path(tempfile.mkdtemp(prefix="pg-throwaway-"))
    data = root / "data"
    if os.geteuid() == 0:
        shutil.chown(root, user="postgres")
    started = False
    try:
        subprocess.run(
            _as_owner([initdb, "-D", str(data), "-A", "trust", "-U", "postgres", "-E", "UTF8",
                       "--no-sync", "--no-instructions"]),
            check=True, capture_output=True, text=True,
        )  # fmt: skip
        port = free_port()
        options = (
            f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=50"
        )
        subprocess.run(
            _as_owner([pg_ctl, "-D", str(data), "-o", options, "-l", str(root / "server.log"),
                       "-w", "-t", "60", "start"]),
            check=True, capture_output=True, text=True,
        )  # fmt: skip
        started = True
        log.info("throwaway PostgreSQL on 127.0.0.1:%d (%s)", port, root)
        yield PgCluster(host="127.0.0.1", port=port)
    except subprocess.CalledProcessError as exc:
        server_log = root / "server.log"
        detail = server_log.read_text() if server_log.exists() else ""
        raise PostgresUnavailableError(
            f"could not start PostgreSQL: {exc.stderr or exc}\n{detail}"
        ) from exc
    finally:
        if started:
            subprocess.run(
                _as_owner([pg_ctl, "-D", str(data), "-m", "fast", "-w", "stop"]),
                check=False, capture_output=True,
            )  # fmt: skip
        shutil.rmtree(root, ignore_errors=True)
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
