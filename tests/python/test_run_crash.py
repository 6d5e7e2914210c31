"""``warehouse run`` killed (SIGKILL) at three points, then rerun: it ends as an uninterrupted run.

The run's shared day-0 DuckDB world moved on one business day (ERP and CRM changes, a new
carrier file) and one uninterrupted ``warehouse run`` of it (worlds.py: built once, also the
Dagster test's reference). A copy of the moved world gets a run killed during the ERP load, a
rerun killed between the loads and dbt, a rerun killed during ``dbt build``, and a last rerun
(each builds the order fact and everything upstream of it: ``--select +fct_orders``). Each run
is the real command in a subprocess; the first two kills come from the run's fault-injection
hook (``WAREHOUSE_RUN_KILL_AT``, orchestration/run.py), the third from the test once dbt has
logged 12 nodes done. Then both warehouses must hold the same raw rows (dlt's own columns and
tables aside) and the same marts of the selection, the columns stamped with load or build
times aside.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from worlds import crm_api, day1_run

from orchestration.run import KILL_AT_ENV
from warehouse_settings import PROJECT_ROOT

DBT_NODES_DONE = "dbt_nodes_done="
"""A kill point of this test: SIGKILL the run once dbt has logged that many nodes done."""

NODE_DONE = re.compile(r"\b\d+ of \d+ (OK|PASS|WARN|ERROR|FAIL|SKIP)\b")
"""dbt's log line of a node done (built, tested or skipped)."""

KILLS = ["load:erp+2", "dbt_build", DBT_NODES_DONE + "12"]
"""During the ERP load, between the loads and dbt (the run's hook), during ``dbt build``: from
outside, once dbt reported its 12th node done (a kill at a fixed delay into ``dbt build``
landed before dbt's first node on a loaded box)."""

SELECTED = "fct_orders"
SELECT = ["--select", f"+{SELECTED}"]
"""The order fact and all it is built from (19 staging, snapshot, intermediate and mart
models, 5 of them incremental, 5 snapshots; 254 nodes with their tests): the whole project
would take the test from 3 to 8 minutes on two shared cores. The uninterrupted run builds
the whole project: the marts of the selection are compared (they are built from the same
upstream nodes either way), the others stay as the day-0 world had them here."""

NOT_COMPARED = {"loaded_at", "load_at", "dbt_valid_from", "dbt_valid_to", "dbt_updated_at"}
NOT_COMPARED |= {"file_url"}
"""Columns holding when a row was loaded or built (from a load id or a build's clock): they
differ between any two runs, killed or not; and where the world lies (the carrier file's URL
names the world's folder). Every other column must match."""

COMPARED_SCHEMAS = ("raw_erp", "raw_crm", "raw_carrier", "marts")

RUN_HISTORY_MARTS = {
    "dim_warehouse_sources",
    "fct_dbt_invocations",
    "fct_dbt_node_results",
    "fct_dlt_loads",
    "fct_dlt_table_loads",
    "fct_quality_scores",
}
"""The run-history marts (models/marts/observability): they record every attempt, the killed
ones included, by design, so they differ from an uninterrupted run's."""


def _warehouse_run(env: dict[str, str], log: Path, kill_at: str | None = None) -> int:
    """``warehouse run`` (all sources, :data:`SELECT`) in a subprocess; its return code.

    ``kill_at``: the run's own kill point (:data:`KILL_AT_ENV`), or ``dbt_nodes_done=<n>``:
    the test SIGKILLs the run once dbt has logged ``n`` nodes done.
    """
    run_env = {k: v for k, v in env.items() if k != KILL_AT_ENV}
    run_env["PYTHONUNBUFFERED"] = "1"
    kill_after = 0
    if kill_at and kill_at.startswith(DBT_NODES_DONE):
        kill_after = int(kill_at.removeprefix(DBT_NODES_DONE))
    elif kill_at:
        run_env[KILL_AT_ENV] = kill_at
    with log.open("a") as out:
        out.write(f"\n===== warehouse run, kill at {kill_at}\n")
        out.flush()
        proc = subprocess.Popen(
            [sys.executable, "-m", "orchestration.cli", "run", "--target", "duckdb", *SELECT],
            cwd=PROJECT_ROOT,
            env=run_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert proc.stdout is not None
        done = 0
        for line in proc.stdout:
            out.write(line)
            if kill_after and NODE_DONE.search(line):
                done += 1
                if done == kill_after:
                    proc.send_signal(signal.SIGKILL)
        return proc.wait(timeout=600)


def _selected_marts(manifest: Path) -> set[str]:
    """The mart tables :data:`SELECT` builds: :data:`SELECTED` and the marts upstream of it."""
    data = json.loads(manifest.read_text())
    nodes, parents = data["nodes"], data["parent_map"]
    todo = [uid for uid, node in nodes.items() if node["name"] == SELECTED]
    assert len(todo) == 1, todo
    seen: set[str] = set()
    while todo:
        uid = todo.pop()
        if uid not in seen:
            seen.add(uid)
            todo.extend(parents.get(uid, []))
    return {
        nodes[uid].get("alias") or nodes[uid]["name"]
        for uid in seen
        if uid in nodes and nodes[uid]["schema"] == "marts"
    }


def _columns(
    con: duckdb.DuckDBPyConnection, catalog: str, marts: set[str]
) -> dict[tuple[str, str], list[str]]:
    rows = con.execute(
        "select table_schema, table_name, column_name from information_schema.columns"
        " where table_catalog = ? and table_schema in ? order by ordinal_position",
        [catalog, list(COMPARED_SCHEMAS)],
    ).fetchall()
    tables: dict[tuple[str, str], list[str]] = {}
    for schema, table, column in rows:
        if table.startswith("_dlt"):
            continue  # dlt's loads, state and versions: a killed load leaves its own rows
        if schema == "marts" and (table in RUN_HISTORY_MARTS or table not in marts):
            continue
        columns = tables.setdefault((schema, table), [])
        if not column.startswith("_dlt") and column not in NOT_COMPARED:
            columns.append(column)
    return tables


def _differences(healed: Path, reference: Path, marts: set[str]) -> dict[str, object]:
    """Per table: row counts and rows in one warehouse but not the other (multisets)."""
    diffs: dict[str, object] = {}
    with duckdb.connect(":memory:") as con:
        con.execute(f"attach '{healed}' as healed (read_only)")
        con.execute(f"attach '{reference}' as reference (read_only)")
        tables = _columns(con, "healed", marts)
        reference_tables = _columns(con, "reference", marts)
        assert set(tables) == set(reference_tables), set(tables) ^ set(reference_tables)
        assert ("marts", SELECTED) in tables
        for (schema, table), columns in sorted(tables.items()):
            cols = ", ".join(f'"{c}"' for c in columns)
            a = f'select {cols} from healed."{schema}"."{table}"'
            b = f'select {cols} from reference."{schema}"."{table}"'
            only_healed = con.execute(f"select count(*) from ({a} except all {b})").fetchone()
            only_reference = con.execute(f"select count(*) from ({b} except all {a})").fetchone()
            count = con.execute(f"select count(*) from ({a})").fetchone()
            if only_healed != (0,) or only_reference != (0,):
                diffs[f"{schema}.{table}"] = {
                    "rows": count,
                    "only_after_kills": only_healed,
                    "only_uninterrupted": only_reference,
                }
        diffs["_tables"] = len(tables)
    return diffs


def test_rerun_after_kills_at_three_points_equals_an_uninterrupted_run(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """Killed during the ERP load, before dbt and during ``dbt build``, then rerun: the
    warehouse ends as the shared uninterrupted run of the same moved world left it."""
    day1 = day1_run(request.getfixturevalue("worlds_root"))
    with contextlib.ExitStack() as stack:
        killed = day1.copy_moved(tmp_path / "killed")
        # One dbt target folder (the runs are sequential): dbt parses the project once.
        killed_env = {
            **os.environ,
            **killed,
            **stack.enter_context(crm_api(Path(killed["CRM_DB_PATH"]))),
            "DBT_TARGET_PATH": str(tmp_path / "target"),
        }
        log = tmp_path / "runs.log"
        log.touch()

        for kill_at in KILLS:
            before = len(log.read_text())
            code = _warehouse_run(killed_env, log, kill_at)
            assert code == -signal.SIGKILL, f"{kill_at}: not killed ({code}): {log}"
            output = log.read_text()[before:]
            if kill_at.startswith(DBT_NODES_DONE):  # killed once dbt was building nodes
                assert re.search(r"\d+ of \d+ (START|OK)", output), output[-3000:]
        code = _warehouse_run(killed_env, log)
        last = log.read_text().splitlines()
        summary = json.loads(next(line for line in reversed(last) if line.startswith("{")))
        assert code == 0, summary

    marts = _selected_marts(tmp_path / "target" / "manifest.json")
    diffs = _differences(
        Path(killed["WAREHOUSE_DUCKDB_PATH"]), day1.copy_reference(tmp_path / "reference"), marts
    )
    tables = diffs.pop("_tables")
    assert not diffs, f"{len(diffs)} of {tables} tables differ: {diffs}"
