"""Shared fixtures: throwaway PostgreSQL, ERP worlds and isolated warehouses per test."""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from worlds import Day0World, copy_world, crm_api, day0_world, pristine_erp, shared_root

from orchestration.pg_cluster import PgCluster, PostgresUnavailableError, throwaway_cluster
from source_systems.crm.simulate import build_crm
from source_systems.erp.build import build
from source_systems.erp.database import connect
from source_systems.world import crm_server

TARGETS = ["duckdb", "postgres"]
SCALE = 0.01
SEED = 42


@pytest.fixture(scope="session")
def pg() -> Iterator[PgCluster]:
    """A PostgreSQL server: ``WAREHOUSE_PG_HOST`` if set (CI service), else a throwaway cluster.

    Where ``CI`` is set, a missing PostgreSQL fails the run instead of skipping.
    """
    if os.environ.get("WAREHOUSE_PG_HOST"):
        yield PgCluster(
            host=os.environ["WAREHOUSE_PG_HOST"],
            port=int(os.environ.get("WAREHOUSE_PG_PORT", "5432")),
            user=os.environ.get("WAREHOUSE_PG_USER", "postgres"),
            password=os.environ.get("WAREHOUSE_PG_PASSWORD") or "dummy",
        )
        return
    try:
        cluster_cm = throwaway_cluster()
        cluster = cluster_cm.__enter__()
    except PostgresUnavailableError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required where CI is set: {exc}")
        pytest.skip(f"PostgreSQL is not available here: {exc}")
    try:
        yield cluster
    finally:
        cluster_cm.__exit__(None, None, None)


@dataclass
class Warehouse:
    """One isolated warehouse: its target and how to query it."""

    target: str
    duckdb_path: Path | None = None
    pg: PgCluster | None = None
    database: str | None = None

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        """Run ``sql`` on the warehouse and return all rows."""
        if self.target == "duckdb":
            import duckdb

            # Same configuration as dbt's in-process connection, which DuckDB requires.
            with duckdb.connect(str(self.duckdb_path)) as conn:
                return conn.sql(sql).fetchall()
        import psycopg2

        assert self.pg is not None
        conn = psycopg2.connect(
            host=self.pg.host,
            port=self.pg.port,
            user=self.pg.user,
            password=self.pg.password,
            dbname=self.database,
        )
        try:
            with conn.cursor() as cur:
                cur.execute(sql)
                return [tuple(r) for r in cur.fetchall()]
        finally:
            conn.close()


@pytest.fixture(params=TARGETS)
def target(request: pytest.FixtureRequest) -> str:
    """Each warehouse target in turn."""
    return str(request.param)


@pytest.fixture
def warehouse(
    target: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> Warehouse:
    """An empty warehouse on ``target`` with its own dlt state; env vars point every tool at it."""
    monkeypatch.setenv("LOADER_PIPELINES_DIR", str(tmp_path / "dlt"))
    monkeypatch.setenv("WAREHOUSE_DUCKDB_PATH", str(tmp_path / "warehouse.duckdb"))
    if target == "duckdb":
        return Warehouse("duckdb", duckdb_path=tmp_path / "warehouse.duckdb")
    pg: PgCluster = request.getfixturevalue("pg")
    database = f"wh_{uuid.uuid4().hex[:10]}"
    pg.create_database(database)
    monkeypatch.setenv("WAREHOUSE_PG_HOST", pg.host)
    monkeypatch.setenv("WAREHOUSE_PG_PORT", str(pg.port))
    monkeypatch.setenv("WAREHOUSE_PG_USER", pg.user)
    monkeypatch.setenv("WAREHOUSE_PG_PASSWORD", pg.password)
    monkeypatch.setenv("WAREHOUSE_PG_DATABASE", database)
    return Warehouse("postgres", pg=pg, database=database)


@pytest.fixture
def make_erp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> Callable[..., str]:
    """Build an ERP at day 0 and return its URL (``ERP_URL`` is set to the last one built).

    A SQLite ERP is a copy of the seed's day-0 ERP built once per run, unless ``fresh``.
    """

    def _make(
        dialect: str = "sqlite", *, seed: int = SEED, name: str = "erp", fresh: bool = False
    ) -> str:
        if dialect == "sqlite":
            url = f"sqlite:///{tmp_path / name}.sqlite"
            if not fresh:  # a copy of the seed's day-0 ERP, built once per run (worlds.py)
                root = request.getfixturevalue("worlds_root")
                shutil.copyfile(pristine_erp(root, seed), tmp_path / f"{name}.sqlite")
                monkeypatch.setenv("ERP_URL", url)
                return url
        else:
            pg: PgCluster = request.getfixturevalue("pg")
            database = f"{name}_{uuid.uuid4().hex[:10]}"
            pg.create_database(database)
            url = pg.url(database)
        with connect(url) as db:
            build(db, scale_factor=SCALE, seed=seed)
        monkeypatch.setenv("ERP_URL", url)
        return url

    return _make


@pytest.fixture
def make_crm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], Path]]:
    """Build the CRM store from an ERP (its URL) and return its path (``CRM_DB_PATH`` set).

    The demo CRM's API is started over it for the rest of the test, and its URL and token
    are handed to the loader the way a user configures their own CRM: ``CRM_BASE_URL`` and
    ``CRM_API_TOKEN``.
    """
    with contextlib.ExitStack() as servers:

        def _make(erp_url: str) -> Path:
            path = tmp_path / "crm.sqlite"
            with connect(erp_url) as db:
                build_crm(db, path)
            monkeypatch.setenv("CRM_DB_PATH", str(path))
            crm = servers.enter_context(crm_server(path, fault_rate=0))
            monkeypatch.setenv("CRM_BASE_URL", crm.base_url)
            monkeypatch.setenv("CRM_API_TOKEN", crm.token)
            return path

        yield _make


# Events of cancelled (deleted) order lines are expected orphans in staging: a warn-severity test.
EXPECTED_WARNINGS = ("relationships_multi_column_stg_carrier__shipment_events",)


def assert_dbt_passed(results: object) -> None:
    """Every node of a ``dbt build`` passed: models and snapshots built, tests passed.

    Allowed: the documented warn-severity orphan-event test, and exposures and MetricFlow saved
    queries (never run: no-op).
    """
    for r in results:  # type: ignore[attr-defined]
        status = str(r.status)
        if status == "warn":
            assert r.node.name.startswith(EXPECTED_WARNINGS), r.node.name
        elif status == "no-op":
            assert r.node.resource_type in {"exposure", "saved_query"}, r.node.name
        else:
            assert status in {"success", "pass"}, (r.node.name, status, r.message)


# --- Shared built worlds (worlds.py) and pytest-xdist --------------------------------------


@pytest.fixture(scope="session")
def worlds_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder of this run's shared built worlds (one for all xdist workers)."""
    return shared_root(tmp_path_factory)


@dataclass
class BuiltWorld:
    """A test's own copy of the day-0 world: loaded, ``dbt build`` passed (worlds.py)."""

    warehouse: Warehouse
    erp_url: str
    crm_path: Path
    landing: Path


def copy_day0_world(
    request: pytest.FixtureRequest,
    target: str,
    dest: Path,
    mp: pytest.MonkeyPatch,
    stack: contextlib.ExitStack,
) -> BuiltWorld:
    """Copy the run's day-0 world on ``target`` into ``dest`` and point every tool at it.

    The copy's CRM API (where the loader needs one started) runs until ``stack`` closes.
    """
    pg: PgCluster | None = request.getfixturevalue("pg") if target == "postgres" else None
    world: Day0World = day0_world(request.getfixturevalue("worlds_root"), target, pg)
    database = f"wh_{uuid.uuid4().hex[:10]}" if pg is not None else None
    values = copy_world(world, dest, database)
    values |= stack.enter_context(crm_api(Path(values["CRM_DB_PATH"])))
    for name, value in values.items():
        mp.setenv(name, value)
    if "CRM_BASE_URL" not in values:
        mp.delenv("CRM_BASE_URL", raising=False)
    if pg is None:
        warehouse = Warehouse("duckdb", duckdb_path=Path(values["WAREHOUSE_DUCKDB_PATH"]))
    else:
        warehouse = Warehouse("postgres", pg=pg, database=database)
    return BuiltWorld(
        warehouse,
        values["ERP_URL"],
        Path(values["CRM_DB_PATH"]),
        Path(values["CARRIER_LANDING_DIR"]),
    )


@pytest.fixture
def day0(
    target: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> Iterator[BuiltWorld]:
    """This test's copy of the day-0 world on ``target`` (built once per run, then copied)."""
    with contextlib.ExitStack() as stack:
        yield copy_day0_world(request, target, tmp_path / "world", monkeypatch, stack)


_SHARED_CLUSTER = pytest.StashKey[Any]()


def pytest_configure(config: pytest.Config) -> None:
    """Set up pytest-xdist runs: one PostgreSQL cluster for all workers, a dbt target each.

    The controller (``-n N``) starts the throwaway cluster before the workers start and
    hands it to them as ``WAREHOUSE_PG_*`` (the ``pg`` fixture's running-server case), so
    the workers share it and the day-0 template database built in it; ``pytest_unconfigure``
    stops it. If it cannot start, each worker tries its own as without xdist. Each worker
    writes dbt's target folder (manifest, compiled SQL) in ``target/pytest-<worker>``.
    """
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker:
        if "DBT_TARGET_PATH" not in os.environ:
            from source_systems.erp.database import PROJECT_ROOT

            os.environ["DBT_TARGET_PATH"] = str(PROJECT_ROOT / "target" / f"pytest-{worker}")
        return
    if not config.getoption("numprocesses", default=None) or os.environ.get("WAREHOUSE_PG_HOST"):
        return
    if config.getoption("collectonly", default=False):
        return
    cluster_cm = throwaway_cluster()
    try:
        cluster = cluster_cm.__enter__()
    except PostgresUnavailableError:
        return
    config.stash[_SHARED_CLUSTER] = cluster_cm
    os.environ["WAREHOUSE_PG_HOST"] = cluster.host
    os.environ["WAREHOUSE_PG_PORT"] = str(cluster.port)
    os.environ["WAREHOUSE_PG_USER"] = cluster.user
    os.environ["WAREHOUSE_PG_PASSWORD"] = cluster.password


def pytest_unconfigure(config: pytest.Config) -> None:
    """Stop the PostgreSQL cluster the xdist controller started for its workers."""
    cluster_cm = config.stash.get(_SHARED_CLUSTER, None)
    if cluster_cm is not None:
        del config.stash[_SHARED_CLUSTER]
        cluster_cm.__exit__(None, None, None)
        for name in ("HOST", "PORT", "USER", "PASSWORD"):
            os.environ.pop(f"WAREHOUSE_PG_{name}", None)


# Modules whose tests share a module-scoped world per target (``vault_world[duckdb]``): the
# xdist scheduler below sends all the tests of one world to one worker.
MODULE_WORLDS = ("tests/python/test_vault.py",)

# Modules whose tests all share one session-scoped fixture (the docs site's built target):
# their tests go to one worker, so the fixture is built once.
SHARED_FIXTURE_MODULES = ("tests/python/test_docs_site.py",)


@pytest.hookimpl(tryfirst=True, optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Schedule single tests on any free worker, but the tests of one module world together.

    pytest-xdist 3.8's ``--dist loadgroup`` cannot group on pytest 9 (it renames
    ``item._nodeid``, which pytest 9 no longer reads: pytest-dev/pytest-xdist#1386, open), so
    the grouping is done here, in the controller, from the node ids:
    ``test_vault.py::test_x[postgres]`` is in the work unit ``test_vault.py[postgres]``; every
    other test is a unit of its own. Units are handed out largest first (xdist's
    ``loadscopereorder``), so the module worlds start at once.
    """
    if config.getvalue("dist") not in {"load", "loadgroup"}:
        return None  # another mode asked for (each, loadfile, ...): xdist's own
    from xdist.scheduler import LoadScopeScheduling

    class WorldScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module, _, rest = nodeid.partition("::")
            if module in MODULE_WORLDS and rest.endswith("]"):
                return f"{module}[{rest.rsplit('[', 1)[1]}"
            if module in SHARED_FIXTURE_MODULES:
                return module
            return nodeid

    return WorldScheduling(config, log)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the tests of one module- or session-scoped world with one ``xdist_group``.

    A parametrized fixture wider than a test (``vault_world[duckdb]``) is built once per
    worker that runs one of its tests. The marks say which tests belong together (for
    ``--dist loadgroup`` once it works on pytest 9 again; the scheduler above does it now).
    """
    for item in items:
        callspec = getattr(item, "callspec", None)
        info = getattr(item, "_fixtureinfo", None)
        if callspec is None or info is None:
            continue
        for name, value in callspec.params.items():
            defs = info.name2fixturedefs.get(name)
            if defs and defs[-1].scope in {"module", "package", "session"}:
                group = f"{item.nodeid.split('::')[0]}:{name}={value}"
                item.add_marker(pytest.mark.xdist_group(group))
                break
