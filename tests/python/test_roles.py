"""Least privilege on PostgreSQL (issue 11, case 16): the loaders and dbt run as their own
roles, the reporting role reads marts only, and the job lock holds across machines."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import psycopg2
import psycopg2.errors
import pytest
from conftest import Warehouse, assert_dbt_passed

from ingestion.cli import load_erp
from ingestion.destinations import LOADER_APPLICATION_NAME
from ingestion.runner import ADVISORY_LOCK_KEY, WarehouseBusyError, warehouse_lock
from orchestration.dbt import run_dbt
from orchestration.pg_roles import Roles, setup_roles

# one model per layer: staging, snapshot, vault, mart (cautious: their tests only)
BUILD = [
    "build",
    "--select",
    "+dim_geography",
    "+snap_erp__suppliers",
    "+hub_nation",
    "--indirect-selection",
    "cautious",
]


def _connect(warehouse: Warehouse, user: str) -> psycopg2.extensions.connection:
    assert warehouse.pg is not None
    conn = psycopg2.connect(
        host=warehouse.pg.host,
        port=warehouse.pg.port,
        user=user,
        password="dummy",
        dbname=warehouse.database,
    )
    conn.autocommit = True
    return conn


def _can(conn: psycopg2.extensions.connection, sql: str) -> bool:
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
        return True
    except psycopg2.errors.InsufficientPrivilege:
        return False


@pytest.mark.postgres
@pytest.mark.parametrize("target", ["postgres"])
def test_case16_loader_transformer_and_reporting_roles(
    warehouse: Warehouse, make_erp: Callable[..., str], monkeypatch: pytest.MonkeyPatch
) -> None:
    roles = setup_roles()
    setup_roles()  # idempotent: a second run changes nothing and does not fail
    assert roles == Roles("warehouse_loader", "warehouse_transformer", "warehouse_reporting")
    make_erp()
    monkeypatch.setenv("WAREHOUSE_PG_USER", roles.loader)
    load_erp("postgres")
    monkeypatch.setenv("WAREHOUSE_PG_USER", roles.transformer)
    assert_dbt_passed(run_dbt(BUILD, "postgres"))

    owners = dict(
        warehouse.query(
            "select schemaname, min(tableowner) from pg_tables where schemaname in "
            "('raw_erp', 'staging', 'snapshots', 'raw_vault', 'marts', 'restricted') "
            "group by 1"
        )
    )
    assert owners["raw_erp"] == roles.loader
    assert {owners[s] for s in ("snapshots", "raw_vault", "marts", "restricted")} == {
        roles.transformer
    }

    reporting = _connect(warehouse, roles.reporting)
    loader = _connect(warehouse, roles.loader)
    try:
        assert _can(reporting, "select count(*) from marts.dim_geography")
        for relation in (
            "raw_erp.nation",
            "staging.stg_erp__nations",
            "snapshots.snap_erp__suppliers",
            "raw_vault.hub_nation",
            "restricted.pii_salt",
        ):
            assert not _can(reporting, f"select count(*) from {relation}"), relation
        assert not _can(reporting, "create schema reporting_sandbox")
        # the loader writes raw only: it reads and writes nothing dbt builds
        assert not _can(loader, "select count(*) from marts.dim_geography")
        assert not _can(loader, "create table staging.not_the_loaders (x int)")
        assert not _can(loader, "select salt from restricted.pii_salt")
    finally:
        reporting.close()
        loader.close()


@pytest.mark.postgres
@pytest.mark.parametrize("target", ["postgres"])
def test_case16_the_job_lock_lives_in_the_server(
    warehouse: Warehouse, make_erp: Callable[..., str]
) -> None:
    make_erp()
    # another machine: nothing shared but the server
    other = _connect(warehouse, "postgres")
    pid = other.get_backend_pid()
    try:
        with other.cursor() as cur:
            cur.execute("select pg_try_advisory_lock(%s)", (ADVISORY_LOCK_KEY,))
            assert cur.fetchone() == (True,)
        with pytest.raises(WarehouseBusyError, match="advisory lock"):
            load_erp("postgres")
    finally:
        other.close()  # the session ends: the lock is free again
    _wait_for_backend_exit(warehouse, pid)
    assert load_erp("postgres")["total_rows"] > 0


def _wait_for_backend_exit(warehouse: Warehouse, pid: int, timeout: float = 30.0) -> None:
    """Wait until the server has ended a closed session's backend.

    ``close()`` returns once the terminate message is sent; the backend releases its
    advisory locks a moment later, as it exits (seen in CI: a load started right after
    ``close()`` was still refused).
    """
    deadline = time.monotonic() + timeout
    probe = _connect(warehouse, "postgres")
    try:
        while True:
            with probe.cursor() as cur:
                cur.execute("select count(*) from pg_stat_activity where pid = %s", (pid,))
                row = cur.fetchone()
            if row == (0,):
                return
            assert time.monotonic() < deadline, f"backend {pid} still alive after {timeout} s"
            time.sleep(0.05)
    finally:
        probe.close()


@pytest.mark.postgres
@pytest.mark.parametrize("target", ["postgres"])
def test_the_job_lock_is_free_as_soon_as_a_job_ends(warehouse: Warehouse) -> None:
    """A schedule runs jobs back to back (load ERP, load CRM, build): each must find the lock
    free. Closing the connection alone frees it only when the server ends the session a moment
    later, which once refused the next step of a run in CI."""
    watcher = _connect(warehouse, "postgres")
    try:
        for _ in range(100):
            with warehouse_lock("postgres"):
                pass
            with watcher.cursor() as cur:
                # this test's database only: the cluster is shared with other tests' databases
                cur.execute(
                    "select count(*) from pg_locks where locktype = 'advisory' and granted"
                    " and objid = %s and database = (select oid from pg_database"
                    " where datname = current_database())",
                    (ADVISORY_LOCK_KEY & 0xFFFFFFFF,),
                )
                assert cur.fetchone() == (0,)
    finally:
        watcher.close()


@pytest.mark.postgres
@pytest.mark.parametrize("target", ["postgres"])
def test_a_job_waits_for_the_sessions_of_a_killed_loader(warehouse: Warehouse) -> None:
    """A loader killed while its ``COMMIT`` or a statement is on its way leaves its session
    working in the server after the job lock is free: the next job must start only once that
    transaction has ended, and then see what it committed (seen in CI: a resumed merge ran
    beside the dead one's commit and doubled its rows)."""
    assert warehouse.pg is not None
    leftover = psycopg2.connect(
        host=warehouse.pg.host,
        port=warehouse.pg.port,
        user="postgres",
        password="dummy",
        dbname=warehouse.database,
        application_name=LOADER_APPLICATION_NAME,
    )
    probe = _connect(warehouse, "postgres")
    entered = threading.Event()
    seen: list[object] = []
    try:
        with leftover.cursor() as cur:
            cur.execute("create table public.leftover_probe (x int)")
            leftover.commit()
            cur.execute("insert into public.leftover_probe values (1)")  # still open

        def job() -> None:
            with warehouse_lock("postgres"):
                entered.set()
                with probe.cursor() as cur:
                    cur.execute("select count(*) from public.leftover_probe")
                    seen.append(cur.fetchone())

        runner = threading.Thread(target=job)
        runner.start()
        assert not entered.wait(2.0), "the job started beside an open loader transaction"
        leftover.commit()  # the dead job's commit lands; its session stays, idle
        runner.join(30.0)
        assert entered.is_set(), "the job did not start once the loader's transaction ended"
        assert seen == [(1,)]
    finally:
        leftover.close()
        probe.close()
