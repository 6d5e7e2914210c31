"""Run a dlt pipeline safely: one run at a time, pending packages finished, clear errors."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dlt
from dlt.common.pipeline import LoadInfo
from dlt.common.schema.exceptions import DataValidationError
from dlt.common.schema.typing import TDeleteInsertStrategyDict, TSchemaContractDict
from dlt.pipeline.exceptions import PipelineStepFailed

from ingestion.destinations import (
    LOADER_APPLICATION_NAME,
    PostgresSettings,
    destination,
    duckdb_path,
    spark_landing_path,
)
from ingestion.in_doubt import settle_in_doubt_jobs
from ingestion.progress import progress_collector
from warehouse_settings import PROJECT_ROOT

log = logging.getLogger(__name__)

# dlt looks for `.dlt/config.toml` in the working directory; point it at the project's so a
# loader started from anywhere gets the same settings (load ids on Arrow rows, among others).
os.environ.setdefault("DLT_PROJECT_DIR", str(PROJECT_ROOT))


MERGE_DELETE_INSERT: TDeleteInsertStrategyDict = {
    "disposition": "merge",
    "strategy": "delete-insert",
}
"""How every loader merges on its keys: ``delete-insert`` deduplicates a key repeated within one
load (``upsert`` does not) and survives a kill during the load step."""

EVOLVE_SHAPE_FREEZE_TYPES: TSchemaContractDict = {
    "tables": "evolve",
    "columns": "evolve",
    "data_type": "freeze",
}
"""The schema contract of the API and file loaders: new tables and columns flow in; a value that
would change a column's type stops the load (after the loader's own quarantine has taken out
the records it recognises), never silently retypes the column."""


class WarehouseBusyError(RuntimeError):
    """Another process holds the warehouse (a DuckDB file allows one writer)."""


class SchemaContractViolationError(RuntimeError):
    """Data broke the resource's schema contract; its package was aborted, nothing loaded."""


def pipelines_dir() -> Path:
    """Where dlt keeps pipeline state: ``LOADER_PIPELINES_DIR`` or ``data/dlt``."""
    path = Path(os.environ.get("LOADER_PIPELINES_DIR", "data/dlt"))
    return path if path.is_absolute() else PROJECT_ROOT / path


_JOB_TARGETS: set[str] = set()
"""Targets whose lock a :func:`warehouse_job` of this process holds."""


@contextmanager
def warehouse_job(target: str) -> Iterator[None]:
    """Hold the warehouse lock for a whole job made of several steps (wipe, loads, builds).

    The lock is taken before the job touches anything; the loaders' and dbt's own
    :func:`warehouse_lock` inside the job then pass through instead of refusing. Outside a
    job, a second :func:`warehouse_lock` in one process is refused like any other.
    """
    with warehouse_lock(target):
        _JOB_TARGETS.add(target)
        try:
            yield
        finally:
            _JOB_TARGETS.discard(target)


@contextmanager
def warehouse_lock(target: str) -> Iterator[None]:
    """Hold an exclusive lock for the whole job (loaders and dbt) on one warehouse.

    dlt has no run lock: two overlapping runs of one pipeline can load duplicates. The lock file
    sits beside the DuckDB file, or under the pipelines dir for PostgreSQL. Inside a
    :func:`warehouse_job` on the same target, the job's lock already covers this step.
    """
    if target in _JOB_TARGETS:
        yield
        return
    if target == "postgres":
        with _postgres_advisory_lock():
            yield
        return
    if target == "spark":
        where = spark_landing_path().parent  # the landing file's folder: one Spark warehouse
    else:
        where = duckdb_path().parent if target == "duckdb" else pipelines_dir()
    where.mkdir(parents=True, exist_ok=True)
    lock_path = where / f".{target}.lock"
    with lock_path.open("w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise WarehouseBusyError(
                f"another load or build is running on the {target} warehouse "
                f"(lock {lock_path}); wait for it to finish"
            ) from exc
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


PRIVATE_UMASK = 0o077
"""Files the loaders and dbt create are readable by their owner only: raw rows hold personal
data (names, phones, addresses) before staging masks them."""


def keep_files_private(*paths: Path) -> None:
    """Make new files owner-only (process umask) and tighten what ``paths`` already hold.

    Applies to the DuckDB warehouse and its WAL, dlt's pipeline state and load packages; a
    warehouse made before this rule (mode 0644) is tightened on its next run.
    """
    os.umask(PRIVATE_UMASK)
    for root in paths:
        if not root.exists():
            continue
        for path in [root, *root.rglob("*")] if root.is_dir() else [root]:
            mode = path.stat().st_mode & 0o777
            if mode & 0o077:
                path.chmod(mode & 0o700)


def purge_loaded_data(pipeline: dlt.Pipeline) -> int:
    """Delete the data files of load packages that loaded completely; return how many.

    dlt keeps every package's parquet/insert files under ``load/loaded/<load id>/
    completed_jobs/`` forever: copies of raw personal data outside the warehouse. Once a
    package is loaded they serve nothing (the warehouse has the rows), so they go; the
    package's metadata (schema, state, job names via ``load_info``) stays for debugging.
    A package with failed jobs is left whole for inspection. dlt's own
    ``delete_completed_jobs`` setting is not read for pipelines (it builds the load storage
    configuration itself), hence this.
    """
    loaded = Path(pipeline.working_dir) / "load" / "loaded"
    removed = 0
    if not loaded.is_dir():
        return 0
    for package in loaded.iterdir():
        failed = package / "failed_jobs"
        if failed.is_dir() and any(failed.iterdir()):
            continue
        completed = package / "completed_jobs"
        if not completed.is_dir():
            continue
        for job_file in completed.rglob("*"):
            if job_file.is_file():
                job_file.unlink()
                removed += 1
    return removed


ADVISORY_LOCK_KEY = 0x7470_6368_7768  # "tpchwh": the warehouse job lock's key
"""Key of the PostgreSQL advisory lock that serialises loads and builds on one database."""


LEFTOVER_SESSION_TIMEOUT_SECONDS = 900.0
"""How long a job waits for the sessions of a killed loader to end before it gives up."""


def _wait_for_leftover_loader_sessions(
    conn: Any, timeout: float = LEFTOVER_SESSION_TIMEOUT_SECONDS
) -> None:
    """Wait until no loader session of an earlier, killed job is still working in the server.

    A loader killed while it waits for a statement or a ``COMMIT`` leaves its session running
    in the server: the backend finishes the statement (and commits, if the ``COMMIT`` was
    sent) before it notices the client is gone, and the job lock (another session) may be
    free by then. A job started meanwhile would see that transaction half-way: a resumed
    merge's ``DELETE`` misses rows the dead one commits an instant later and its ``INSERT``
    then doubles them (seen in a test as a duplicate ``_dlt_id``); an in-doubt job looks not
    committed when it is. Holding the job lock, every loader session that is not idle belongs
    to such a job: wait until there are none. (The server shows the state of a session to its
    own role and to ``pg_read_all_stats``: the loaders see their own sessions, which is what a
    resumed load needs; sessions they cannot see are not waited for.)
    """
    deadline = time.monotonic() + timeout
    warned = False
    while True:
        with conn.cursor() as cur:
            cur.execute(
                "select pid, state from pg_stat_activity where datname = current_database() "
                "and application_name = %s and pid <> pg_backend_pid() "
                "and state <> 'idle'",
                (LOADER_APPLICATION_NAME,),
            )
            busy = cur.fetchall()
        if not busy:
            return
        if time.monotonic() > deadline:
            raise WarehouseBusyError(
                f"{len(busy)} session(s) of an interrupted load are still working on the "
                f"postgres warehouse after {timeout:.0f} s (pg_stat_activity, application_name "
                f"{LOADER_APPLICATION_NAME!r}, pids {[pid for pid, _ in busy]}); wait for them "
                "to end or end them with pg_terminate_backend, then run the job again"
            )
        if not warned:
            log.warning(
                "waiting for %d session(s) of an interrupted load to end (pids %s)",
                len(busy),
                [pid for pid, _ in busy],
            )
            warned = True
        time.sleep(0.1)


@contextmanager
def _postgres_advisory_lock() -> Iterator[None]:
    """Hold a session-level advisory lock in the warehouse database for the job.

    A lock file would only stop jobs on the same machine; the advisory lock lives in the
    server, so a scheduler on another host is refused too. It is released when the session
    ends, also when the process is killed (the server sees the connection drop).
    """
    settings = PostgresSettings.from_env()
    conn = settings.connect(application_name="warehouse job lock", connect_timeout=30)
    conn.autocommit = True
    held = False
    try:
        with conn.cursor() as cur:
            cur.execute("select pg_try_advisory_lock(%s)", (ADVISORY_LOCK_KEY,))
            row = cur.fetchone()
        held = bool(row and row[0])
        if not held:
            raise WarehouseBusyError(
                "another load or build is running on the postgres warehouse (advisory lock "
                f"{ADVISORY_LOCK_KEY} in database {settings.database} on {settings.host}:"
                f"{settings.port}); wait for it to finish"
            )
        _wait_for_leftover_loader_sessions(conn)
        yield
    finally:
        # Unlock explicitly before closing: closing only asks the server to end the session,
        # and the backend drops its locks a moment later, so a job started right after this
        # one (the next step of a schedule) could find the lock still held and be refused.
        if held:
            with contextlib.suppress(Exception), conn.cursor() as cur:
                cur.execute("select pg_advisory_unlock(%s)", (ADVISORY_LOCK_KEY,))
        conn.close()


def make_pipeline(name: str, target: str, dataset_name: str) -> dlt.Pipeline:
    """A dlt pipeline named ``<name>_<target>`` writing ``dataset_name`` on ``target``."""
    return dlt.pipeline(
        pipeline_name=f"{name}_{target}",
        destination=destination(target),
        dataset_name=dataset_name,
        pipelines_dir=str(pipelines_dir()),
        progress=progress_collector(),
    )


def _translate(exc: BaseException, target: str) -> BaseException:
    text = str(exc)
    if target == "duckdb" and ("Could not set lock" in text or "Conflicting lock" in text):
        return WarehouseBusyError(
            f"the DuckDB warehouse {duckdb_path()} is open in another process (a DuckDB file "
            "allows one writer: close `dbt docs serve`, a notebook or a DuckDB shell using it)"
        )
    return exc


def causes(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and every exception behind it: causes, contexts and dlt's wrapped ``exception``."""
    pending: list[BaseException] = [exc]
    seen: set[int] = set()
    while pending:
        current = pending.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        for inner in (
            getattr(current, "exception", None),
            current.__cause__,
            current.__context__,
        ):
            if isinstance(inner, BaseException):
                pending.append(inner)


def _contract_violation(exc: BaseException) -> DataValidationError | None:
    return next((e for e in causes(exc) if isinstance(e, DataValidationError)), None)


@contextmanager
def _step_errors(pipeline: dlt.Pipeline, target: str) -> Iterator[None]:
    """Turn a failed dlt step into the loaders' errors (see :func:`run`)."""
    try:
        yield
    except PipelineStepFailed as exc:
        violation = _contract_violation(exc)
        if violation is not None:
            pipeline.abort_packages()
            raise SchemaContractViolationError(
                f"{pipeline.pipeline_name}: data broke the schema contract, so nothing was "
                f"loaded and the package was aborted (incremental state restored): {violation}"
            ) from exc
        raise _translate(exc, target) from exc


def _keep_private(target: str) -> None:
    local = {"duckdb": duckdb_path(), "spark": spark_landing_path()}.get(target)
    warehouse_files = [local, local.with_suffix(".duckdb.wal")] if local else []
    keep_files_private(pipelines_dir(), *warehouse_files)


def finish_pending(pipeline: dlt.Pipeline, target: str) -> bool:
    """Finish the load package a crashed run left behind; True if there was one.

    Jobs the crash left in doubt (committed, not yet recorded as done) are settled first, so
    none loads twice (:mod:`ingestion.in_doubt`). Afterwards ``pipeline.first_run`` is False
    if that package was the pipeline's first load: call this before deciding on first-run
    behaviour.
    """
    if not pipeline.has_pending_data:
        return False
    _keep_private(target)
    log.warning("%s: finishing a load package left by an interrupted run", pipeline)
    with _step_errors(pipeline, target):
        _adopt_extracted_schemas(pipeline)
        pipeline.normalize()
        settle_in_doubt_jobs(pipeline)
        pipeline.load()
    return True


def _adopt_extracted_schemas(pipeline: dlt.Pipeline) -> list[str]:
    """Give the pipeline the schema of each extracted package that evolved from its own.

    dlt commits an extracted package (its files and the schema they were written with) a
    moment before it saves that schema as the pipeline's. A kill in between leaves a package
    whose schema the pipeline does not have; dlt's normalize then uses the pipeline's older
    one ("the storage schema hash ... is different from extract package schema hash ...
    Storage schema was used"), in which, on the first day after the initial snapshot, a raw
    table is still a replace without the tombstones' delete column, and normalize fails on
    the table's two Arrow schemas (seen in a crash test: every later run failed). A package
    schema that descends from the pipeline's (the pipeline's hash is among its ancestors) is
    what extract meant to save: it is saved now. Returns the names of the schemas adopted.
    """
    # dlt has no public handle on extracted packages; the pipeline's normalize storage is
    # what its normalize step reads (dlt is pinned in uv.lock, the crash tests cover this).
    extracted = pipeline._get_normalize_storage().extracted_packages
    adopted: list[str] = []
    for load_id in extracted.list_packages():
        package_schema = extracted.load_schema(load_id)
        if package_schema.name not in pipeline.schemas:
            continue
        current = pipeline.schemas[package_schema.name]
        if package_schema.version_hash == current.version_hash:
            continue
        if current.version_hash in package_schema.previous_hashes:
            pipeline.schemas.save_schema(package_schema)
            adopted.append(package_schema.name)
            log.warning(
                "%s: schema %s of the interrupted package %s was not saved before the crash; "
                "saved now (version %s)",
                pipeline,
                package_schema.name,
                load_id,
                package_schema.version,
            )
    return adopted


def run(pipeline: dlt.Pipeline, data: Any, target: str) -> LoadInfo:
    """Finish any package a crashed run left behind, then extract, normalize and load ``data``.

    After a crash, dlt's next ``run`` only completes the pending package; new data would arrive
    one run later. Finishing it first (:func:`finish_pending`) makes one rerun end with exactly
    the source's state.

    A schema-contract violation fails at normalize and leaves its package pending, which would
    make every later run fail. It is aborted here (dlt also restores the pipeline state, so
    incremental cursors move back) and reported as :class:`SchemaContractViolationError`.
    """
    _keep_private(target)
    finish_pending(pipeline, target)
    with _step_errors(pipeline, target):
        info = pipeline.run(data)
        purge_loaded_data(pipeline)
    return info
