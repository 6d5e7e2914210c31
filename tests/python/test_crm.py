"""The CRM: its world, its HTTP API and its dlt loader, against the real local server.

Every loader test runs on DuckDB and PostgreSQL (the ``warehouse`` fixture).
"""

from __future__ import annotations

import datetime as dt
import math
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dlt
import pytest
import requests
from conftest import Warehouse

from ingestion.cli import load_crm
from ingestion.crm.helpers import CrmLoadError, cursor_of
from ingestion.crm.settings import DEFAULT_LAG_SECONDS
from ingestion.runner import SchemaContractViolationError, make_pipeline, run
from source_systems.crm.database import CONTACT_COLUMNS
from source_systems.crm.server import FaultSettings, running_crm
from source_systems.crm.simulate import advance_crm, build_crm
from source_systems.erp.database import connect
from source_systems.erp.simulate import Simulator

# 5xx without Retry-After: retry after 0.05, 0.1, ... s
FAST: dict[str, Any] = {"backoff_factor": 0.05}

Row = tuple[Any, ...]


def _norm(value: object) -> object:
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None).strftime("%Y-%m-%dT%H:%M:%SZ")
    return value


def crm_rows(path: Path) -> set[Row]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute(f"select {', '.join(CONTACT_COLUMNS)} from contacts").fetchall()
    consent = CONTACT_COLUMNS.index("marketing_consent")
    return {tuple(bool(v) if i == consent else v for i, v in enumerate(r)) for r in rows}


def raw_rows(warehouse: Warehouse) -> set[Row]:
    rows = warehouse.query(f"select {', '.join(CONTACT_COLUMNS)} from raw_crm.contacts")
    return {tuple(_norm(v) for v in r) for r in rows}


def fingerprint(warehouse: Warehouse) -> list[str]:
    cols = ", ".join([*CONTACT_COLUMNS, "_dlt_load_id"])
    return sorted(map(repr, warehouse.query(f"select {cols} from raw_crm.contacts")))


def advance(erp_url: str, crm_path: Path, days: int) -> None:
    with connect(erp_url) as db:
        for _ in range(days):
            Simulator(db).advance(1)
            advance_crm(db, crm_path)


def changed_since(crm_path: Path, cursor: str, *, inclusive: bool = False) -> int:
    with sqlite3.connect(crm_path) as conn:
        return int(
            conn.execute(
                f"select count(*) from contacts where updated_at {'>=' if inclusive else '>'} ?",
                (cursor,),
            ).fetchone()[0]
        )


def _lag_start(cursor: str) -> str:
    start = dt.datetime.fromisoformat(cursor) - dt.timedelta(seconds=DEFAULT_LAG_SECONDS)
    return start.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def world(make_erp: Callable[..., str], make_crm: Callable[[str], Path]) -> tuple[str, Path]:
    url = make_erp()
    return url, make_crm(url)


# --- the world ---------------------------------------------------------------------------


def test_same_seed_same_crm_and_leads_convert_into_erp_customers(
    tmp_path: Path, world: tuple[str, Path]
) -> None:
    url, path = world
    with connect(url) as db:
        build_crm(db, tmp_path / "again.sqlite")
    assert crm_rows(path) == crm_rows(tmp_path / "again.sqlite")

    with connect(url) as db:
        before = {r[0]: r for r in crm_rows(path)}
        Simulator(db).advance(2)
        days = advance_crm(db, path)
        erp_customers = {k for (k,) in db.query("select c_custkey from customer")}
    assert [d["day_number"] for d in days] == [1, 2]
    after = {r[0]: r for r in crm_rows(path)}
    assert len(after) - len(before) == sum(d["leads_added"] for d in days)
    converted = [r for r in after.values() if r[10] is not None]  # converted_at
    assert len(converted) == sum(d["leads_converted"] for d in days) > 0
    for row in converted:
        assert row[1] in erp_customers and before[row[0]][1] is None  # was a lead
    profiled = [r[1] for r in after.values() if r[1] is not None]
    assert len(profiled) == len(set(profiled))  # one profile per ERP customer
    assert all((r[1] is None) == (r[2] == "lead") for r in after.values())


def test_api_needs_the_token_and_pages_with_a_cursor(world: tuple[str, Path]) -> None:
    _, path = world
    with running_crm(path, token="t0ken") as crm:
        url = f"{crm.base_url}/v1/contacts"
        assert requests.get(url, timeout=10).status_code == 401
        assert (
            requests.get(url, headers={"Authorization": "Bearer x"}, timeout=10).status_code == 401
        )
        auth = {"Authorization": "Bearer t0ken"}
        ids, cursor, stamps = [], None, []
        while True:
            params = {"limit": 250, **({"cursor": cursor} if cursor else {})}
            page = requests.get(url, params=params, headers=auth, timeout=10).json()
            ids += [r["contact_id"] for r in page["data"]]
            stamps += [(r["updated_at"], r["contact_id"]) for r in page["data"]]
            if not (cursor := page["next_cursor"]):
                break
        assert sorted(ids) == sorted(r[0] for r in crm_rows(path))
        assert stamps == sorted(stamps)
        newest = stamps[-1][0]
        page = requests.get(url, params={"updated_since": newest}, headers=auth, timeout=10)
        assert [r["updated_at"] for r in page.json()["data"]] == [newest]
        bad = requests.get(url, params={"updated_since": "soon"}, headers=auth, timeout=10)
        assert bad.status_code == 400


# --- the loader ----------------------------------------------------------------------------


def test_pagination_then_incremental_then_no_op(
    warehouse: Warehouse, world: tuple[str, Path]
) -> None:
    url, path = world
    total = len(crm_rows(path))
    with running_crm(path) as crm:
        first = load_crm(warehouse.target, base_url=crm.base_url, page_size=100)
        assert crm.stats.count(200) == math.ceil(total / 100)
    assert first["rows"]["contacts"] == total
    assert raw_rows(warehouse) == crm_rows(path)  # every record, every page

    advance(url, path, 2)  # edits, consent withdrawn, new leads, conversions
    changed = changed_since(path, first["cursor"]["after"])
    with running_crm(path) as crm:
        second = load_crm(warehouse.target, base_url=crm.base_url, page_size=100)
        # Only the changes travel, plus the lag window's re-read (dropped: raw holds them).
        window = changed_since(path, _lag_start(first["cursor"]["after"]), inclusive=True)
        assert crm.stats.records_served == window >= changed
    assert second["rows"]["contacts"] == changed > 0
    assert raw_rows(warehouse) == crm_rows(path)

    before = fingerprint(warehouse)
    with running_crm(path) as crm:
        rerun = load_crm(warehouse.target, base_url=crm.base_url)
    assert rerun["rows"].get("contacts", 0) == 0
    assert rerun["cursor"]["after"] == second["cursor"]["after"]
    assert fingerprint(warehouse) == before  # nothing added, nothing rewritten


def test_injected_faults_are_survived_and_change_nothing(
    warehouse: Warehouse, world: tuple[str, Path]
) -> None:
    url, path = world
    faults = FaultSettings(fault_rate=0.5, slow_seconds=0.2)
    with running_crm(path, faults=faults) as crm:
        load_crm(warehouse.target, base_url=crm.base_url, page_size=100, **FAST)
        answers = crm.stats.requests
    statuses = {r.status for r in answers}
    assert {200, 429} <= statuses and statuses & {500, 503}
    assert any(r.fault == "slow" for r in answers)
    # Retry-After (1 s) was honoured: the retry of a 429 came at least a second later.
    for i, answer in enumerate(answers):
        if answer.status == 429:
            retry = next(r for r in answers[i + 1 :] if r.path == answer.path)
            assert retry.at - answer.at >= 0.95
    assert raw_rows(warehouse) == crm_rows(path)  # what a fault-free run loads

    advance(url, path, 1)
    with running_crm(path, faults=faults) as crm:
        load_crm(warehouse.target, base_url=crm.base_url, page_size=10, **FAST)
    assert raw_rows(warehouse) == crm_rows(path)


def test_a_permanent_failure_leaves_the_state_where_it_was(
    warehouse: Warehouse, world: tuple[str, Path]
) -> None:
    url, path = world
    first = load_crm(warehouse.target)  # the CRM the fixture serves (CRM_BASE_URL)
    advance(url, path, 1)
    before = fingerprint(warehouse)

    # The outage starts after one good page: the run fails half-way through paging.
    with running_crm(path, faults=FaultSettings(outage_after=1)) as crm:
        with pytest.raises(CrmLoadError, match=r"HTTP 503.*cursor stays at"):
            load_crm(warehouse.target, base_url=crm.base_url, page_size=5, max_attempts=3)
        assert crm.stats.count(503) == 3  # retried, then gave up
    with (
        running_crm(path, token="right") as crm,
        pytest.raises(CrmLoadError, match="refused the API token"),
    ):
        load_crm(warehouse.target, base_url=crm.base_url, token="wrong")

    pipeline = make_pipeline("crm", warehouse.target, "raw_crm")
    assert cursor_of(pipeline) == first["cursor"]["after"]
    assert not pipeline.has_pending_data
    assert fingerprint(warehouse) == before

    healed = load_crm(warehouse.target)
    assert healed["rows"]["contacts"] == changed_since(path, first["cursor"]["after"])
    assert raw_rows(warehouse) == crm_rows(path)


def test_new_columns_evolve_and_wrong_types_are_quarantined(
    warehouse: Warehouse, world: tuple[str, Path]
) -> None:
    _, path = world
    load_crm(warehouse.target)
    with sqlite3.connect(path) as conn:
        conn.execute("alter table contacts add column nps_score integer")
        conn.execute(
            "update contacts set nps_score = 9, updated_at = '1998-08-03T08:00:00Z' "
            "where contact_id = 1"
        )
        conn.execute(
            "update contacts set marketing_consent = 'maybe', "
            "updated_at = '1998-08-03T08:00:01Z' where contact_id = 2"
        )
    summary = load_crm(warehouse.target)
    assert summary["rows"] == {"contacts": 1, "contacts_quarantine": 1}
    assert warehouse.query("select nps_score from raw_crm.contacts where contact_id = 1") == [(9,)]
    reasons = warehouse.query("select contact_id, reasons from raw_crm.contacts_quarantine")
    assert reasons == [("2", "marketing_consent: str 'maybe' is not bool")]

    # A column added by evolution keeps its type too.
    with sqlite3.connect(path) as conn:
        conn.execute(
            "update contacts set nps_score = 'high', updated_at = '1998-08-03T08:00:02Z' "
            "where contact_id = 3"
        )
    assert load_crm(warehouse.target)["rows"] == {"contacts_quarantine": 1}
    types = {
        name: str(kind).lower()
        for name, kind in warehouse.query(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = 'raw_crm' and table_name = 'contacts'"
        )
    }
    assert types["nps_score"] == "bigint" and types["marketing_consent"] == "boolean"
    assert not any("__v_" in name for name in types)  # no variant columns


def _last_value(pipeline: dlt.Pipeline) -> object:
    (source,) = pipeline.state["sources"].values()
    return source["resources"]["items"]["incremental"]["at"]["last_value"]


def test_a_contract_violation_is_aborted_and_the_cursor_moves_back(
    warehouse: Warehouse,
) -> None:
    """The runner's backstop when data breaks ``data_type: freeze`` past the quarantine."""
    rows: list[dict[str, Any]] = [{"id": 1, "score": 5, "at": 1}]

    @dlt.resource(
        primary_key="id",
        write_disposition="merge",
        schema_contract={"tables": "evolve", "columns": "evolve", "data_type": "freeze"},
    )
    def items(at: dlt.sources.incremental[int] = dlt.sources.incremental("at", initial_value=0)):  # noqa: B008
        yield from (r for r in rows if r["at"] >= (at.start_value or 0))

    pipeline = make_pipeline("contract", warehouse.target, "raw_contract")
    run(pipeline, items(), warehouse.target)
    assert _last_value(pipeline) == 1

    rows.append({"id": 2, "score": "high", "at": 2})
    with pytest.raises(SchemaContractViolationError, match="schema contract"):
        run(pipeline, items(), warehouse.target)
    assert not pipeline.has_pending_data  # aborted: later runs are not blocked
    assert _last_value(pipeline) == 1  # cursor back where it was

    rows[1] = {"id": 2, "score": 7, "at": 2}
    run(pipeline, items(), warehouse.target)
    assert sorted(warehouse.query("select id, score from raw_contract.items")) == [(1, 5), (2, 7)]


def test_checked_rows_become_arrow_in_the_declared_types() -> None:
    """A page's checked rows as Arrow: declared types even for an all-null column, dlt's values.

    A column left to Arrow's inference would be ``null`` when no row of the page has a value
    (and ``int64`` for a bigint sent as text); declared not-null columns are not-null fields.
    """
    import pyarrow as pa

    from ingestion.crm.helpers import RecordChecker, rows_as_arrow

    now = dt.datetime(2026, 1, 1)
    checker = RecordChecker({"shoe_size": "double"}, now)
    records = [
        {
            "contact_id": "7",  # text that dlt coerces to bigint
            "customer_id": None,
            "lifecycle_stage": "lead",
            "marketing_consent": True,
            "created_at": "2025-12-31T10:00:00+02:00",
            "converted_at": None,
            "updated_at": "2025-12-31T10:00:00Z",
            "shoe_size": 42,
        }
    ]
    rows = [row for row, _ in map(checker.check, records) if row is not None]
    table = rows_as_arrow(rows, checker.types)
    schema = table.schema
    assert schema.field("contact_id").type == pa.int64()
    assert not schema.field("contact_id").nullable
    assert schema.field("customer_id").type == pa.int64()  # all null, still bigint
    assert schema.field("converted_at").type == pa.timestamp("us")
    assert schema.field("shoe_size").type == pa.float64()
    assert table.column("contact_id").to_pylist() == [7]
    assert table.column("created_at").to_pylist() == [dt.datetime(2025, 12, 31, 8, 0)]
    assert table.column("updated_at").to_pylist() == [dt.datetime(2025, 12, 31, 10, 0)]
