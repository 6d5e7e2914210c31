"""Run dbt in-process through ``dbtRunner`` with the project's own profiles."""

from __future__ import annotations

import logging
import os

from orchestration.pii_salt import write_salt
from warehouse_settings import PROJECT_ROOT

_NO_WAREHOUSE_COMMANDS = {"parse", "compile", "docs", "ls", "list", "deps", "debug", "clean"}
"""dbt commands that run no project hook and build nothing: they need no masking salt."""


class DbtCommandError(RuntimeError):
    """A dbt command failed (its own output says why)."""


def quiet_environment() -> None:
    """Turn off dbt's and dlt's usage tracking for this process."""
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")


def run_dbt(args: list[str], target: str = "duckdb", *, check: bool = True) -> object:
    """Run ``dbt <args>`` against ``target`` from the project root; raise on failure.

    Returns dbt's result object (``dbtRunnerResult.result``). With ``check=False`` a failed
    command returns its result object too (``None`` if dbt could not run at all), so the
    caller can read each node's status.
    """
    from dbt.cli.main import dbtRunner

    quiet_environment()
    if args and args[0] not in _NO_WAREHOUSE_COMMANDS:
        write_salt(target)
    os.umask(0o077)  # the warehouse file and target/ artifacts: owner only (raw personal data)
    cwd = os.getcwd()
    os.chdir(PROJECT_ROOT)
    try:
        full = [
            *args,
            "--project-dir",
            str(PROJECT_ROOT),
            "--profiles-dir",
            str(PROJECT_ROOT),
            "--target",
            target,
        ]
        outcome = dbtRunner().invoke(full)
    finally:
        os.chdir(cwd)
    if not outcome.success and check:
        raise DbtCommandError(f"`dbt {' '.join(args)}` failed on {target}: {outcome.exception}")
    return outcome.result


def generate_docs(target: str = "duckdb", *, compiled: bool = False) -> dict[str, object]:
    """``dbt docs generate``, then the column lineage page beside the site (same target folder).

    ``compiled=True`` says the target folder's ``manifest.json`` is from a ``dbt build`` of
    every node that has just run: docs then skip their own compile of every node
    (``--no-compile``, about 8 s at the demo's 770 nodes), keep that manifest (which holds
    each node's compiled SQL) and only write the catalog. Returns the column lineage summary
    (see :mod:`orchestration.column_lineage`).
    """
    from orchestration.column_lineage import write_column_lineage

    run_dbt(["docs", "generate", *(["--no-compile"] if compiled else [])], target)
    summary = write_column_lineage()
    logging.getLogger("warehouse").info("column lineage: %s", summary)
    return summary
