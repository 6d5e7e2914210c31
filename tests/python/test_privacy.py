"""Personal data outside the warehouse: no load package keeps raw rows, files are owner-only.

Issue 11, case 12: dlt kept every load package's parquet/insert files (raw phones,
addresses) under ``load/loaded/*/completed_jobs/`` with mode 0644, never purged.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import Warehouse

from ingestion.cli import load_erp


def _files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


# The package files are the same whatever the destination; DuckDB adds its warehouse file.
@pytest.mark.parametrize("target", ["duckdb"])
def test_case12_loaded_packages_keep_no_data_and_files_are_owner_only(
    warehouse: Warehouse, make_erp: Callable[..., str], tmp_path: Path
) -> None:
    old_umask = os.umask(0o022)  # a usual login umask: the loader must not rely on the caller's
    try:
        make_erp()
        load_erp(warehouse.target)
        load_erp(warehouse.target)  # a second package, and a run over existing files
    finally:
        os.umask(old_umask)
    pipelines = tmp_path / "dlt"
    packages = [p for p in pipelines.glob("*/load/loaded/*") if p.is_dir()]
    assert len(packages) >= 2, packages
    leftovers = [p for p in _files(pipelines) if "completed_jobs" in p.parts]
    assert leftovers == [], leftovers[:5]
    # the packages' metadata stays (schema and state of each load, for debugging)
    assert all(any(p.iterdir()) for p in packages)
    assert warehouse.duckdb_path is not None
    private = [warehouse.duckdb_path, *_files(pipelines)]
    too_open = [p for p in private if stat.S_IMODE(p.stat().st_mode) & 0o077]
    assert too_open == [], [(p, oct(p.stat().st_mode)) for p in too_open[:5]]
