"""Worlds built once per test session and copied by the tests that use them.

Building the ERP (tpchgen into SQLite), loading the three sources and running ``dbt build``
is most of the test suite's time, so each is done once and the tests get copies:

- ``pristine_erp``: the day-0 ERP SQLite file of a seed; ``make_erp`` copies it (a file copy
  instead of a tpchgen run and a bulk insert).
- ``day0_world``: the day-0 ERP and CRM, loaded into a warehouse on one target and built with
  a full ``dbt build`` (every node must pass). A test gets a copy: the files (ERP, CRM,
  landing folder, dlt pipelines, DuckDB file) copied, and on PostgreSQL the database copied
  with ``CREATE DATABASE ... TEMPLATE``. The tests then move their copy on as they like.

Built worlds live in a folder shared by the pytest-xdist workers of one run (the parent of
each worker's base temp folder) and are built under a file lock, so the first worker to need
one builds it and the others wait for it and copy it.
"""

from __future__ import annotations

import importlib
import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from filelock import FileLock

from orchestration.pg_cluster import PgCluster

SCALE = 0.01  # as conftest.py
SEED = 42

# Files of a world, relative to its folder.
ERP_FILE = "erp.sqlite"
CRM_FILE = "crm.sqlite"
LANDING_DIR = "landing"
PIPELINES_DIR = "dlt"
DUCKDB_FILE = "warehouse.duckdb"
DONE = ".built"


def shared_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder every xdist worker of this run sees (the base temp folder without xdist)."""
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # pytest-of-<user>/pytest-<n>/, holding popen-gw0/, popen-gw1/
    root = base / "shared-worlds"
    root.mkdir(parents=True, exist_ok=True)
    return root


def built_once(root: Path, name: str, build: Callable[[Path], None]) -> Path:
    """``root/name`` built by ``build`` once per run, whichever process asks first.

    A failed build leaves no ``.built`` marker, so the next process to ask tries again (and
    reports the failure in its own test).
    """
    folder = root / name
    with FileLock(str(root / f"{name}.lock")):
        if not (folder / DONE).exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True)
            build(folder)
            (folder / DONE).touch()
    return folder


def pristine_erp(root: Path, seed: int = SEED) -> Path:
    """The day-0 ERP SQLite file of ``seed`` at the test scale, built once per run."""
    from source_systems.erp.build import build
    from source_systems.erp.database import connect

    def _build(folder: Path) -> None:
        with connect(f"sqlite:///{folder / ERP_FILE}") as db:
            build(db, scale_factor=SCALE, seed=seed)

    return built_once(root, f"erp-seed{seed}", _build) / ERP_FILE


def pg_connect(pg: PgCluster, database: str = "postgres") -> object:
    """An autocommit psycopg2 connection to ``database`` on ``pg``."""
    import psycopg2

    conn = psycopg2.connect(
        host=pg.host, port=pg.port, user=pg.user, password=pg.password, dbname=database
    )
    conn.autocommit = True
    return conn


def copy_database(pg: PgCluster, template: str, name: str) -> None:
    """Create ``name`` as a copy of ``template`` (a file copy inside the server)."""
    conn = pg_connect(pg)
    try:
        with conn.cursor() as cur:  # type: ignore[attr-defined]
            # A template must have no other session; the builders' are closed by now, but a
            # pooled connection can linger for a moment.
            cur.execute(
                "select pg_terminate_backend(pid) from pg_stat_activity where datname = %s",
                (template,),
            )
            cur.execute(f'drop database if exists "{name}" with (force)')
            cur.execute(f'create database "{name}" template "{template}"')
    finally:
        conn.close()  # type: ignore[attr-defined]


def database_exists(pg: PgCluster, name: str) -> bool:
    """Whether the cluster has a database called ``name``."""
    conn = pg_connect(pg)
    try:
        with conn.cursor() as cur:  # type: ignore[attr-defined]
            cur.execute("select 1 from pg_database where datname = %s", (name,))
            return cur.fetchone() is not None
    finally:
        conn.close()  # type: ignore[attr-defined]


def pg_environment(pg: PgCluster, database: str) -> dict[str, str]:
    """The ``WAREHOUSE_PG_*`` variables pointing dbt and dlt at ``database`` on ``pg``."""
    return {
        "WAREHOUSE_PG_HOST": pg.host,
        "WAREHOUSE_PG_PORT": str(pg.port),
        "WAREHOUSE_PG_USER": pg.user,
        "WAREHOUSE_PG_PASSWORD": pg.password,
        "WAREHOUSE_PG_DATABASE": database,
    }


def world_environment(folder: Path) -> dict[str, str]:
    """The variables pointing the sources, the loaders and DuckDB at a world's ``folder``."""
    return {
        "ERP_URL": f"sqlite:///{folder / ERP_FILE}",
        "CRM_DB_PATH": str(folder / CRM_FILE),
        "CARRIER_LANDING_DIR": str(folder / LANDING_DIR),
        "LOADER_PIPELINES_DIR": str(folder / PIPELINES_DIR),
        "WAREHOUSE_DUCKDB_PATH": str(folder / DUCKDB_FILE),
    }


@contextmanager
def crm_api(crm_path: Path) -> Iterator[dict[str, str]]:
    """The demo CRM's API over ``crm_path`` for the block: the variables the CRM loader reads.

    Where ``source_systems.world`` has ``crm_server`` (the loader no longer starts a server of
    its own), one is started here and its URL and token given; else the loader starts its own
    and this gives nothing.
    """
    crm_server = getattr(importlib.import_module("source_systems.world"), "crm_server", None)
    if crm_server is None:
        yield {}
        return
    with crm_server(crm_path, fault_rate=0) as crm:
        yield {"CRM_BASE_URL": crm.base_url, "CRM_API_TOKEN": crm.token}


@contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    """``values`` set in ``os.environ`` for the block (``CRM_BASE_URL`` unset unless given)."""
    with pytest.MonkeyPatch.context() as mp:
        for name, value in values.items():
            mp.setenv(name, value)
        if "CRM_BASE_URL" not in values:
            mp.delenv("CRM_BASE_URL", raising=False)
        yield


@dataclass(frozen=True)
class Day0World:
    """A built day-0 world: its files and, on PostgreSQL, the template database."""

    target: str
    folder: Path
    pg: PgCluster | None = None
    template: str | None = None


def template_name(pg: PgCluster) -> str:
    """The day-0 template database's name: one per cluster (xdist workers may have their own)."""
    return f"world_day0_{pg.port}"


def day0_world(root: Path, target: str, pg: PgCluster | None = None) -> Day0World:
    """The day-0 world on ``target``: built (loaded, ``dbt build`` passed) once per run."""
    from conftest import assert_dbt_passed

    from ingestion.cli import load_carrier, load_crm, load_erp
    from orchestration.dbt import run_dbt
    from source_systems.crm.simulate import build_crm
    from source_systems.erp.database import connect

    template = template_name(pg) if pg is not None else None

    def _build(folder: Path) -> None:
        shutil.copyfile(pristine_erp(root), folder / ERP_FILE)
        (folder / LANDING_DIR).mkdir()
        values = world_environment(folder)
        if pg is not None and template is not None:
            # the database under its template name: never used again except as a template
            conn = pg_connect(pg)
            try:
                with conn.cursor() as cur:  # type: ignore[attr-defined]
                    cur.execute(f'drop database if exists "{template}" with (force)')
                    cur.execute(f'create database "{template}"')
            finally:
                conn.close()  # type: ignore[attr-defined]
            values |= pg_environment(pg, template)
        with connect(values["ERP_URL"]) as db:
            build_crm(db, folder / CRM_FILE)
        with crm_api(folder / CRM_FILE) as api, environment(values | api):
            load_erp(target)
            load_crm(target)
            load_carrier(target)
            # Everything, with every test: test_dbt_build and test_vault start from here.
            assert_dbt_passed(run_dbt(["build"], target))

    name = f"day0-{target}" if pg is None else f"day0-{target}-{pg.port}"
    folder = built_once(root, name, _build)
    if pg is not None and template is not None and not database_exists(pg, template):
        raise RuntimeError(f"the day-0 template database {template} is missing")
    return Day0World(target, folder, pg, template)


def copy_world(world: Day0World, dest: Path, database: str | None = None) -> dict[str, str]:
    """Copy ``world`` into ``dest`` (and its database into ``database``); return its variables."""
    shutil.copytree(world.folder, dest, ignore=shutil.ignore_patterns(DONE, "*.lock"))
    values = world_environment(dest)
    if world.pg is not None and world.template is not None:
        assert database is not None
        copy_database(world.pg, world.template, database)
        values |= pg_environment(world.pg, database)
    return values


@dataclass(frozen=True)
class Day1Run:
    """The DuckDB day-0 world moved on one business day, before and after ``warehouse run``.

    ``moved``: the world's folder just moved on (ERP and CRM changes, one carrier file landed),
    nothing loaded yet; copy it (:func:`copy_moved`) to run a job of your own on it.
    ``ran``: a copy of ``moved`` after one uninterrupted ``warehouse run --target duckdb``
    (every source, the whole project); compare with a copy of its warehouse
    (:meth:`copy_reference`).
    """

    moved: Path
    ran: Path

    def copy_reference(self, dest: Path) -> Path:
        """Copy the warehouse after the uninterrupted run into folder ``dest``; its path.

        A copy, not the shared file: a DuckDB file is opened with one configuration per
        process, and dbt-duckdb may still hold the shared one in the process that built it.
        """
        dest.mkdir(parents=True, exist_ok=True)
        for path in self.ran.glob(f"{DUCKDB_FILE}*"):  # the file and its WAL, if any
            shutil.copyfile(path, dest / path.name)
        return dest / DUCKDB_FILE

    def copy_moved(self, dest: Path) -> dict[str, str]:
        """Copy the moved world into ``dest``; return its variables (as :func:`copy_world`)."""
        shutil.copytree(self.moved, dest)
        return world_environment(dest)


def day1_run(root: Path) -> Day1Run:
    """The day-0 DuckDB world moved on one business day, and one ``warehouse run`` of it.

    Built once per run: the Dagster test (the daily job gives the same warehouse) and the
    crash test (killed runs heal to the same warehouse) compare with the same uninterrupted
    run instead of each running its own (about a minute each on two shared cores).
    """
    from orchestration.run import EXIT_OK, run
    from source_systems.world import advance_world, connect

    def _build(folder: Path) -> None:
        moved, ran = folder / "moved", folder / "ran"
        values = copy_world(day0_world(root, "duckdb"), moved)
        with environment(values), connect(values["ERP_URL"]) as db:
            advance_world(db, 1)
        shutil.copytree(moved, ran)
        ran_values = world_environment(ran)
        with crm_api(ran / CRM_FILE) as api, environment(ran_values | api):
            code = run("duckdb")
        if code != EXIT_OK:
            raise RuntimeError(f"warehouse run on the moved world ended with exit code {code}")

    folder = built_once(root, "day1-duckdb-run", _build)
    return Day1Run(folder / "moved", folder / "ran")
