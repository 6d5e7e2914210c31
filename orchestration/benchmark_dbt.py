"""Time the dbt layers on DuckDB: a full build at day 0, then daily incremental builds.

Run through ``warehouse benchmark-dbt --scale 0.1 --days 2`` (or ``make benchmark-dbt``). A
world is built in a temporary folder, loaded, and built with ``dbt build``; then it is moved on
``days`` business days with a load and a ``dbt build`` after each. For every build the wall
time and, per layer, the summed execution time of its models and snapshots (from dbt's
``run_results.json``; with two threads the sum can exceed the wall time) are printed.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from ingestion.cli import load_carrier, load_crm, load_erp
from orchestration.dbt import run_dbt
from source_systems.world import advance_world, connect, crm_server, init_world
from warehouse_settings import PROJECT_ROOT


def _layer_seconds(run_results: Path) -> dict[str, float]:
    """Seconds spent per layer (models and snapshots by folder; all tests together)."""
    results = json.loads(run_results.read_text())["results"]
    seconds: dict[str, float] = defaultdict(float)
    for result in results:
        unique_id: str = result["unique_id"]
        kind = unique_id.split(".", 1)[0]
        if kind == "snapshot":
            layer = "snapshots"
        elif kind == "model":
            layer = _model_layer(unique_id)
        elif kind in {"test", "unit_test"}:
            layer = "tests"
        else:
            continue
        seconds[layer] += float(result.get("execution_time") or 0.0)
    return dict(seconds)


def _model_layer(unique_id: str) -> str:
    """A model's layer, from the name prefix our naming conventions fix."""
    name = unique_id.rsplit(".", 1)[1]
    prefix = name.split("_", 1)[0]
    return {
        "stg": "staging",
        "int": "intermediate",
        "dim": "marts",
        "fct": "marts",
        "hub": "raw vault",
        "link": "raw vault",
        "sat": "raw vault",
        "pit": "business vault",
        "bridge": "business vault",
    }.get(prefix, "other")


def _timed_build(label: str) -> None:
    started = time.perf_counter()
    run_dbt(["build"])
    wall = time.perf_counter() - started
    layers = _layer_seconds(PROJECT_ROOT / "target" / "run_results.json")
    history_and_marts = sum(layers.get(k, 0.0) for k in ("snapshots", "intermediate", "marts"))
    parts = ", ".join(f"{k} {v:.1f} s" for k, v in sorted(layers.items()))
    print(f"{label:<22}: dbt build {wall:.1f} s wall; node time: {parts}")
    print(f"{'':<22}  snapshots + intermediate + marts: {history_and_marts:.1f} s")


def benchmark_dbt(*, scale: float, seed: int, days: int) -> None:
    """Build a world at ``scale`` in a temp folder and print dbt build times per layer."""
    with tempfile.TemporaryDirectory(prefix="benchmark-dbt-") as tmp:
        os.environ["ERP_URL"] = f"sqlite:///{tmp}/erp.sqlite"
        os.environ["CRM_DB_PATH"] = f"{tmp}/crm.sqlite"
        os.environ["CARRIER_LANDING_DIR"] = f"{tmp}/landing"
        os.environ["WAREHOUSE_DUCKDB_PATH"] = f"{tmp}/warehouse.duckdb"
        os.environ["LOADER_PIPELINES_DIR"] = f"{tmp}/dlt"
        with connect() as db:
            init_world(db, scale_factor=scale, seed=seed)
        print(f"scale factor {scale:g}, seed {seed}, DuckDB")

        def load() -> None:
            load_erp("duckdb")
            with crm_server() as crm:
                load_crm("duckdb", base_url=crm.base_url, token=crm.token)
            load_carrier("duckdb")

        load()
        _timed_build("day 0 (full build)")
        for day in range(1, days + 1):
            with connect() as db:
                advance_world(db, 1)
            load()
            _timed_build(f"day {day} (incremental)")
