"""Issue 11, cases 9-11: the carrier loader and lines it cannot store, files still being
written, and bytes that are not UTF-8.

Small hand-written files (no ERP needed); every loader test runs on DuckDB and PostgreSQL.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import Warehouse

from ingestion.carrier import settings as carrier_settings
from ingestion.cli import load_carrier

BASE: dict[str, Any] = {
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
    return json.dumps({**BASE, **changes}, ensure_ascii=False)


@pytest.fixture
def landing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "landing" / "carrier"
    path.mkdir(parents=True)
    monkeypatch.setenv("CARRIER_LANDING_DIR", str(path))
    monkeypatch.delenv("CARRIER_BUCKET_URL", raising=False)
    # Short settle interval: these files are written before the load, not during it.
    monkeypatch.setattr(carrier_settings, "SETTLE_SECONDS", 0.3)
    return path


def quarantine(warehouse: Warehouse) -> list[tuple[str, int, str]]:
    rows = warehouse.query("select file_name, line_number, reason from raw_carrier.quarantine")
    return sorted((str(f), int(n), str(r)) for f, n, r in rows)


def events(warehouse: Warehouse) -> list[str]:
    return sorted(r[0] for r in warehouse.query("select event_id from raw_carrier.shipment_events"))


def reconciliation(warehouse: Warehouse) -> dict[str, tuple[int, ...]]:
    rows = warehouse.query(
        "select file_name, lines_read, lines_loaded, lines_duplicate, lines_quarantined "
        "from raw_carrier.file_reconciliation"
    )
    return {r[0]: tuple(int(v) for v in r[1:]) for r in rows}


def unreconciled(warehouse: Warehouse) -> list[tuple[Any, ...]]:
    """The raw-table form of the dbt test ``assert_carrier_files_reconcile``: files whose
    counts do not add up or do not match the rows that landed from them."""
    return warehouse.query(
        """
        select f.file_name
        from raw_carrier.file_reconciliation as f
        left join (
            select source_file, count(*) as n from raw_carrier.shipment_events group by 1
        ) as e on f.file_name = e.source_file
        left join (
            select file_name, count(*) as n from raw_carrier.quarantine group by 1
        ) as q on f.file_name = q.file_name
        where f.lines_read <> f.lines_loaded + f.lines_duplicate + f.lines_quarantined
            or f.lines_loaded <> coalesce(e.n, 0)
            or f.lines_quarantined <> coalesce(q.n, 0)
        """
    )


def age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


# --- case 9 --------------------------------------------------------------------------------


def test_case09_out_of_range_times_and_huge_integers_are_quarantined_and_the_load_goes_on(
    warehouse: Warehouse, landing: Path
) -> None:
    first = landing / "shipments_1998-08-03.jsonl"
    first.write_text(
        "\n".join(
            [
                line(event_id="e1"),
                line(event_id="e2", event_time="9999-12-31T23:59:59-01:00"),
                line(event_id="e3", event_time="0001-01-01T00:00:00+01:00"),
                line(event_id="e4", order_key=2**64),
                line(event_id="e5", line_number=-(2**63) - 1),
                line(event_id="e6", weight_grams=2**70),  # an extra field, too
                line(event_id="e7"),
            ]
        )
        + "\n"
    )
    summary = load_carrier(warehouse.target)  # does not raise
    assert summary["files"] == 1
    name = first.name
    assert quarantine(warehouse) == [
        (name, 2, "invalid_time"),
        (name, 3, "invalid_time"),
        (name, 4, "wrong_type"),
        (name, 5, "wrong_type"),
        (name, 6, "wrong_type"),
    ]
    details = dict(warehouse.query("select line_number, detail from raw_carrier.quarantine"))
    assert "event_time" in details[2] and "order_key" in details[4]
    assert events(warehouse) == ["e1", "e7"]

    # Later files are not blocked; a rerun reads nothing again.
    (landing / "shipments_1998-08-04.jsonl").write_text(line(event_id="e8") + "\n")
    assert load_carrier(warehouse.target)["files"] == 1
    assert events(warehouse) == ["e1", "e7", "e8"]
    assert load_carrier(warehouse.target)["files"] == 0
    assert reconciliation(warehouse)[name] == (7, 2, 0, 5)
    assert unreconciled(warehouse) == []


# --- case 10 -------------------------------------------------------------------------------


@pytest.fixture
def writer(landing: Path) -> Iterator[tuple[Path, threading.Event]]:
    """A file a producer keeps appending complete lines to until told to stop."""
    path = landing / "shipments_1998-08-06.jsonl"
    stop = threading.Event()

    def write() -> None:
        n = 0
        while not stop.is_set():
            with path.open("a") as handle:
                handle.write(line(event_id=f"w{n}") + "\n")
            n += 1
            time.sleep(0.05)

    thread = threading.Thread(target=write, daemon=True)
    thread.start()
    time.sleep(0.1)
    yield path, stop
    stop.set()
    thread.join()


def test_case10_incomplete_files_wait_and_a_reread_replaces_the_files_rows(
    warehouse: Warehouse, landing: Path, writer: tuple[Path, threading.Event]
) -> None:
    growing, stop = writer
    done = landing / "shipments_1998-08-03.jsonl"
    done.write_text(
        line(event_id="a1") + "\n" + '{"event_id": "a2"' + "\n" + line(event_id="a3") + "\n"
    )
    partial = landing / "shipments_1998-08-04.jsonl"
    partial.write_text(line(event_id="b1") + "\n" + line(event_id="b2")[:40])  # mid-line

    summary = load_carrier(warehouse.target)
    assert sorted(summary["files_incomplete"]) == [partial.name, growing.name]
    assert set(reconciliation(warehouse)) == {done.name}  # nothing of the others landed
    assert quarantine(warehouse) == [(done.name, 2, "invalid_json")]

    # The producer finishes: the whole file loads, nothing of it is quarantined.
    partial.write_text(line(event_id="b1") + "\n" + line(event_id="b2") + "\n")
    stop.set()
    time.sleep(0.2)
    summary = load_carrier(warehouse.target)
    assert summary["files_incomplete"] == []
    assert reconciliation(warehouse)[partial.name] == (2, 2, 0, 0)
    written = len(growing.read_text().splitlines())
    assert reconciliation(warehouse)[growing.name] == (written, written, 0, 0)

    # The producer resends a corrected file: its stale quarantine row goes.
    done.write_text(
        line(event_id="a1") + "\n" + line(event_id="a2") + "\n" + line(event_id="a3") + "\n"
    )
    age(done, -5)  # a new modification time
    load_carrier(warehouse.target)
    assert quarantine(warehouse) == []
    assert reconciliation(warehouse)[done.name] == (3, 3, 0, 0)
    assert unreconciled(warehouse) == []

    # A file with no final newline is complete once it has not changed for long enough.
    old = landing / "shipments_1998-08-05.jsonl"
    old.write_text(line(event_id="c1") + "\n" + line(event_id="c2"))
    assert load_carrier(warehouse.target)["files_incomplete"] == [old.name]
    age(old, carrier_settings.COMPLETE_AFTER_SECONDS + 60)
    assert load_carrier(warehouse.target)["files_incomplete"] == []
    assert reconciliation(warehouse)[old.name] == (2, 2, 0, 0)
    assert unreconciled(warehouse) == []


# --- case 11 -------------------------------------------------------------------------------


def test_case11_undecodable_bytes_are_quarantined_and_boms_or_crlf_cost_nothing(
    warehouse: Warehouse, landing: Path
) -> None:
    crlf = landing / "shipments_1998-08-03.jsonl"
    crlf.write_bytes(
        b"\xef\xbb\xbf"  # a UTF-8 byte order mark
        + b"\r\n".join(
            [
                line(event_id="u1").encode(),
                line(event_id="u2", location="Zürich").encode(),
                line(event_id="u3", location="Z\u00fcrich").encode("latin-1"),  # not UTF-8
                line(event_id="u4").encode() + b"\xc3",  # a cut multi-byte character
                line(event_id="u5").encode(),
            ]
        )
        + b"\r\n"
    )
    utf16 = landing / "shipments_1998-08-04.jsonl"
    utf16.write_bytes(
        ("\n".join([line(event_id="v1"), line(event_id="v2")]) + "\n").encode("utf-16")
    )
    load_carrier(warehouse.target)

    assert quarantine(warehouse) == [
        (crlf.name, 3, "invalid_encoding"),
        (crlf.name, 4, "invalid_encoding"),
    ]
    raw = dict(warehouse.query("select line_number, raw_line from raw_carrier.quarantine"))
    assert "\\xfc" in raw[3] and "\ufffd" not in raw[3]  # the bytes as they came, escaped
    assert events(warehouse) == ["u1", "u2", "u5", "v1", "v2"]
    locations = dict(warehouse.query("select event_id, location from raw_carrier.shipment_events"))
    assert locations["u2"] == "Zürich"
    assert reconciliation(warehouse) == {crlf.name: (5, 3, 0, 2), utf16.name: (2, 2, 0, 0)}
    assert unreconciled(warehouse) == []
