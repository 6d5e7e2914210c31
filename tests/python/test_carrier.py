"""The carrier: its daily files and their loading, on DuckDB and PostgreSQL, against real files."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import Warehouse

from ingestion.carrier.helpers import BadLine, LineValidator
from ingestion.cli import load_carrier
from source_systems.carrier.feed import MALFORMED_KINDS, DayFile, MessRates, write_day
from source_systems.carrier.schema import SIGNED_BY_FROM_DAY
from source_systems.erp.database import connect
from source_systems.erp.simulate import Simulator

MESSY = MessRates(late_rate=0.1, duplicate_rate=0.1, malformed_rate=0.25)
CLEAN = MessRates(late_rate=0.0, duplicate_rate=0.0, malformed_rate=0.0)
DAYS = 4


@pytest.fixture
def landing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "landing" / "carrier"
    monkeypatch.setenv("CARRIER_LANDING_DIR", str(path))
    monkeypatch.delenv("CARRIER_BUCKET_URL", raising=False)
    return path


def _advance_with_carrier(
    url: str, landing: Path, days: int, rates: MessRates = MESSY
) -> list[DayFile]:
    files = []
    with connect(url) as db:
        simulator = Simulator(db)
        for _ in range(days):
            day = simulator.advance(1)[0]
            written = write_day(db, landing, day.day_number, simulator.seed, rates)
            assert written is not None
            files.append(written)
    return files


def _rewrite(url: str, landing: Path, days: int, rates: MessRates) -> None:
    with connect(url) as db:
        for day in range(1, days + 1):
            write_day(db, landing, day, 42, rates)


def test_feed_is_deterministic_and_clean_without_mess(
    make_erp: Callable[..., str], tmp_path: Path, landing: Path
) -> None:
    url = make_erp()
    files = _advance_with_carrier(url, landing, DAYS)
    with connect(url) as db:
        assert write_day(db, landing, 0, 42) is None  # day 0: no file, no backlog
    # Any later day recomputes the same files: same ERP, seed and rates, same bytes.
    again = tmp_path / "again"
    _rewrite(url, again, DAYS, MESSY)
    for written in files:
        assert (again / written.path.name).read_bytes() == written.path.read_bytes()
    assert sum(f.duplicates for f in files) > 0
    assert sum(f.late for f in files) > 0
    assert set().union(*(f.malformed for f in files)) == set(MALFORMED_KINDS)

    # Rates of 0: every line is a valid event, each once; signed_by from day 3 on, delivered only.
    clean = tmp_path / "clean"
    _rewrite(url, clean, DAYS, CLEAN)
    validator = LineValidator()
    ids: list[str] = []
    for day, path in enumerate(sorted(clean.iterdir()), start=1):
        for line in path.read_text().splitlines():
            row = validator.validate(line)
            ids.append(row["event_id"])
            signed = row["signed_by"] is not None
            assert signed == (row["event_type"] == "delivered" and day >= SIGNED_BY_FROM_DAY)
            assert row["event_time"].date().isoformat() == path.stem.removeprefix("shipments_")
    assert len(ids) == len(set(ids)) > 0


def _reconciliation(warehouse: Warehouse) -> dict[str, tuple[object, ...]]:
    rows = warehouse.query(
        "select file_name, lines_read, lines_loaded, lines_duplicate, lines_quarantined "
        "from raw_carrier.file_reconciliation"
    )
    return {r[0]: tuple(r[1:]) for r in rows}


def _snapshot(warehouse: Warehouse) -> dict[str, list[str]]:
    tables = {
        "shipment_events": "event_id, source_file, source_line, event_time, _dlt_load_id",
        "quarantine": "file_name, line_number, reason, raw_line, _dlt_load_id",
        "file_reconciliation": "file_name, lines_read, lines_loaded, _dlt_load_id",
    }
    return {
        t: sorted(map(repr, warehouse.query(f"select {cols} from raw_carrier.{t}")))
        for t, cols in tables.items()
    }


def test_load_quarantines_reconciles_and_reruns_nothing(
    warehouse: Warehouse, make_erp: Callable[..., str], landing: Path
) -> None:
    url = make_erp()
    files = _advance_with_carrier(url, landing, DAYS)
    summary = load_carrier(warehouse.target)
    assert summary["files"] == DAYS

    # Per file: read = loaded + duplicate + quarantined, and each count is what the carrier wrote.
    expected = {
        f.path.name: (f.lines, f.events, f.duplicates, sum(f.malformed.values())) for f in files
    }
    assert _reconciliation(warehouse) == expected
    for read, loaded, duplicate, quarantined in expected.values():
        assert read == loaded + duplicate + quarantined

    # Every bad line is in quarantine with the reason matching how it was broken.
    reasons = warehouse.query(
        "select file_name, reason, count(*) from raw_carrier.quarantine group by 1, 2"
    )
    got = {(name, reason): n for name, reason, n in reasons}
    want = {(f.path.name, k): n for f in files for k, n in f.malformed.items()}
    assert got == want
    assert {reason for _, reason in want} == set(MALFORMED_KINDS)
    assert warehouse.query(
        "select count(*) from raw_carrier.quarantine where raw_line is null or _dlt_load_id is null"
    ) == [(0,)]

    # Duplicates never land: one row per event, exactly the events the carrier sent.
    ids = [r[0] for r in warehouse.query("select event_id from raw_carrier.shipment_events")]
    assert len(ids) == len(set(ids))
    assert set(ids) == {i for f in files for i in f.event_ids}

    # A rerun finds nothing new and rewrites nothing.
    before = _snapshot(warehouse)
    rerun = load_carrier(warehouse.target)
    assert (rerun["files"], rerun["lines_read"]) == (0, 0)
    assert _snapshot(warehouse) == before

    # A file touched again is read again in full: merged on the keys, same rows, same counts.
    touched = files[1].path
    stat = touched.stat()
    os.utime(touched, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))
    reload = load_carrier(warehouse.target)
    assert reload["files"] == 1
    assert _reconciliation(warehouse) == expected
    after = _snapshot(warehouse)
    for table in before:
        strip = lambda rows: sorted(r.rsplit(",", 1)[0] for r in rows)  # noqa: E731
        assert strip(after[table]) == strip(before[table]), table

    # The next day: only its file is read; resends of earlier events count as duplicates.
    new = _advance_with_carrier(url, landing, 1)[0]
    next_day = load_carrier(warehouse.target)
    assert next_day["files"] == 1
    counts = (new.lines, new.events, new.duplicates, sum(new.malformed.values()))
    assert _reconciliation(warehouse)[new.path.name] == counts


def test_new_fields_evolve_and_wrong_types_are_quarantined(
    warehouse: Warehouse, landing: Path
) -> None:
    landing.mkdir(parents=True)
    base = {
        "event_id": "e1",
        "order_key": 1,
        "line_number": 1,
        "tracking_number": "T1",
        "carrier": "RailCargo",
        "event_type": "picked_up",
        "event_time": "1998-08-03T08:00:00+02:00",
        "location": "Hamburg",
    }

    def line(**changes: object) -> str:
        return json.dumps({**base, **changes})

    (landing / "shipments_1998-08-03.jsonl").write_text(
        "\n".join(
            [
                line(temperature_c=4.5),
                line(event_id="e2", temperature_c=5),  # an integer fits a double column
                line(event_id="e3", temperature_c="cold"),
                line(),  # the same event again
                "[1, 2]",
                line(event_id="e4", event_time="1998-08-03T08:00:00"),  # no zone
                line(event_id="e5", order_key=True),
                line(event_id="e6", signed_by=7),
                '{"event_id": "e7"',
                line(event_id="e8", location=None),
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    load_carrier(warehouse.target)
    (landing / "shipments_1998-08-04.jsonl").write_text(
        line(event_id="e9", temperature_c="warm") + "\n" + line(event_id="e10") + "\n"
    )
    load_carrier(warehouse.target)

    reasons = warehouse.query(
        "select file_name, line_number, reason from raw_carrier.quarantine order by 1, 2"
    )
    assert [(r[1], r[2]) for r in reasons if r[0].endswith("03.jsonl")] == [
        (3, "wrong_type"),
        (5, "not_an_object"),
        (6, "invalid_time"),
        (7, "wrong_type"),
        (8, "wrong_type"),
        (9, "invalid_json"),
        (10, "missing_field"),
    ]
    assert [(r[1], r[2]) for r in reasons if r[0].endswith("04.jsonl")] == [(1, "wrong_type")]
    assert _reconciliation(warehouse) == {
        "shipments_1998-08-03.jsonl": (10, 2, 1, 7),
        "shipments_1998-08-04.jsonl": (2, 1, 0, 1),
    }
    rows = warehouse.query(
        "select event_id, temperature_c, event_time from raw_carrier.shipment_events "
        "order by event_id"
    )
    assert [(r[0], r[1]) for r in rows] == [("e1", 4.5), ("e10", None), ("e2", 5.0)]
    assert str(rows[0][2]) == "1998-08-03 06:00:00"  # stored in UTC


def test_validator_reasons() -> None:
    validator = LineValidator()
    with pytest.raises(BadLine) as bad:
        validator.validate('{"event_id": 1}')
    assert bad.value.reason == "missing_field"
