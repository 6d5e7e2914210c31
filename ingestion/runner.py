"""Run a dlt pipeline safely: one run at a time, pending packages finished, clear errors."""

from __future__ import annotations

import fcntl
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dlt
from dlt.common.pipeline import LoadInfo
from dlt.common.runtime.collector import NULL_COLLECTOR
from dlt.common.schema.exceptions import DataValidationError
from dlt.common.schema.typing import TDeleteInsertStrategyDict, TSchemaContractDict
from dlt.pipeline.exceptions import PipelineStepFailed

from ingestion.destinations import destination, duckdb_path
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


@contextmanager
def warehouse_lock(target: str) -> Iterator[None]:
    """Hold an exclusive lock for the whole job (loaders and dbt) on one warehouse.

    dlt has no run lock: two overlapping runs of one pipeline can load duplicates. The lock file
    sits beside the DuckDB file, or under the pipelines dir for PostgreSQL.
    """
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


def make_pipeline(name: str, target: str, dataset_name: str) -> dlt.Pipeline:
    """A dlt pipeline named ``<name>_<target>`` writing ``dataset_name`` on ``target``."""
    return dlt.pipeline(
        pipeline_name=f"{name}_{target}",
        destination=destination(target),
        dataset_name=dataset_name,
        pipelines_dir=str(pipelines_dir()),
        progress="log" if os.environ.get("LOADER_PROGRESS") else NULL_COLLECTOR,
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


def run(pipeline: dlt.Pipeline, data: Any, target: str) -> LoadInfo:
    """Finish any package a crashed run left behind, then extract, normalize and load ``data``.

    After a crash, dlt's next ``run`` only completes the pending package; new data would arrive
    one run later. Finishing it first makes one rerun end with exactly the source's state.

    A schema-contract violation fails at normalize and leaves its package pending, which would
    make every later run fail. It is aborted here (dlt also restores the pipeline state, so
    incremental cursors move back) and reported as :class:`SchemaContractViolationError`.
    """
    try:
        if pipeline.has_pending_data:
            log.warning("%s: finishing a load package left by an interrupted run", pipeline)
            pipeline.normalize()
            pipeline.load()
        return pipeline.run(data)
    except PipelineStepFailed as exc:
        violation = _contract_violation(exc)
        if violation is not None:
            pipeline.abort_packages()
            raise SchemaContractViolationError(
                f"{pipeline.pipeline_name}: data broke the schema contract, so nothing was "
                f"loaded and the package was aborted (incremental state restored): {violation}"
            ) from exc
        raise _translate(exc, target) from exc
