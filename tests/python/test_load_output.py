"""A clean load prints no warnings (issue 13 §3): a WARNING line in a load looks like a fault.

dlt used to print 8-14 per ERP load: "column hints were different" (connectorx's Arrow fields
are all nullable, the schema's keys and ``updated_at`` are not) and "dedup_sort ... replace"
(the first load replaces, the merge's sort hint has nothing to sort). The loaders now give
dlt batches and hints that agree with the schema; this test keeps it so.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import Warehouse

from ingestion.cli import load_carrier, load_crm, load_erp
from source_systems.erp.database import connect
from source_systems.world import advance_world


def test_loads_print_no_warnings(
    warehouse: Warehouse,
    make_erp: Callable[..., str],
    make_crm: Callable[[str], Path],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("CARRIER_LANDING_DIR", str(tmp_path / "landing"))
    url = make_erp()
    crm_path = make_crm(url)
    caplog.set_level(logging.WARNING)
    # day 0 (the first load: replace) and day 1 (merge, with updates and deletes)
    for day in range(2):
        if day:
            with connect(url) as db:
                advance_world(db, 1, crm_db=crm_path)
        summary = load_erp(warehouse.target)
        assert summary["total_rows"] > 0
        load_crm(warehouse.target)
        load_carrier(warehouse.target)
    out, err = capfd.readouterr()
    warnings = [line for line in (out + err).splitlines() if "WARNING" in line.upper()]
    assert warnings == []
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
