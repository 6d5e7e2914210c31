"""``warehouse benchmark`` end to end at the test scale: every step measured, every ratio given.

The run is small (scale 0.01, one daily increment, the dbt builds narrowed to
``+dim_geography``) and makes no timing assertion: it checks that the JSON has every step and
ceiling with positive figures, that every warehouse step is compared with its ceiling, and
that the table and the bar chart are written.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from worlds import SCALE, pristine_erp, shared_root

from warehouse_settings import PROJECT_ROOT

STEPS = {
    "world_build",
    "erp_full_load",
    "crm_full_load",
    "dbt_build_full",
    "nothing_to_marts",
    "day1_load",
    "carrier_first_load",
    "day1_build",
    "day1_increment",
    "docs_generate",
}
CEILINGS = {
    "tpchgen",
    "duckdb_sqlite_copy",
    "duckdb_parquet",
    "crm_http_read",
    "carrier_duckdb_json",
    "catalog_read",
}
CONTEXT = {"carrier_empty_load", "day1_advance"}


def test_benchmark_end_to_end(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    """One small run writes JSON, table and SVG with every step, ceiling and ratio."""
    # The TPC-H files of the test scale are generated once per run, under the shared lock.
    pristine_erp(shared_root(tmp_path_factory))
    out = tmp_path / "bench"
    command = [
        sys.executable,
        "-m",
        "orchestration.cli",
        "benchmark",
        "--scale",
        str(SCALE),
        "--days",
        "1",
        "--select",
        "+dim_geography",
        "--out-dir",
        str(out),
    ]
    env = {**os.environ, "DO_NOT_TRACK": "1", "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    done = subprocess.run(
        command, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "| step | seconds |" in done.stdout

    report = json.loads((out / "benchmark.json").read_text())
    assert report["scale"] == SCALE
    steps = {s["name"]: s for s in report["steps"]}
    assert set(steps) == STEPS | CEILINGS | CONTEXT
    for name in STEPS:
        step = steps[name]
        assert step["kind"] == "step", name
        assert step["seconds"] > 0, name
        assert step["peak_rss_mb"] > 0, name
        assert step["ceiling"], name
        assert step["ceiling_seconds"] > 0, name
        assert step["ratio"] > 0, name
        # the JSON rounds seconds and ratios to 3 decimals; the ratio is computed before rounding
        seconds, ceiling, half = step["seconds"], step["ceiling_seconds"], 0.0005
        lowest = (seconds - half) / (ceiling + half) - half
        highest = (seconds + half) / (ceiling - half) + half
        assert lowest <= step["ratio"] <= highest, name
    for name in CEILINGS:
        assert steps[name]["kind"] == "ceiling", name
        assert steps[name]["seconds"] > 0, name
        assert steps[name]["rows"] > 0, name
    for name in CONTEXT:
        assert steps[name]["kind"] == "context", name
        assert steps[name]["seconds"] > 0, name
    # Rows moved: the ERP load and its two ceilings saw the same day-0 ERP.
    assert steps["erp_full_load"]["rows"] == steps["duckdb_sqlite_copy"]["rows"]
    assert steps["crm_full_load"]["rows"] == steps["crm_http_read"]["rows"]
    build = steps["dbt_build_full"]["detail"]
    assert build["nodes"] > 0
    assert build["node_seconds"] > 0
    assert set(steps["erp_full_load"]["detail"]["dlt_steps"]) == {"extract", "normalize", "load"}

    svg = ET.parse(out / "benchmark.svg").getroot()
    assert svg.tag.endswith("svg")
    texts = "".join(t.text or "" for t in svg.iter() if t.tag.endswith("text"))
    for name in STEPS:
        assert steps[name]["label"] in texts, name
    assert not (out / "benchmark.partial.json").exists()  # the checkpoint of a stopped run
    assert (out / "benchmark.txt").read_text().count("\n| ") >= len(STEPS | CEILINGS)
