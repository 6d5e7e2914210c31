"""Issue 11, cases 1-4: the CRM loader's cursor, quarantine, lag window and reconciliation,
and the demo CRM server's answers to parameters it cannot serve.

One CRM world per module (scale 0.01); every test works on its own copy of the CRM store.
Loader tests run on DuckDB and PostgreSQL (the ``warehouse`` fixture).
"""

from __future__ import annotations

import datetime as dt
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from conftest import SCALE, SEED, Warehouse

from ingestion.cli import load_crm
from source_systems.crm import server as crm_server
from source_systems.crm.database import CONTACT_COLUMNS, format_stamp, parse_stamp
from source_systems.crm.server import DEFAULT_TOKEN, CrmServer, running_crm
from source_systems.crm.simulate import build_crm
from source_systems.erp.build import build
from source_systems.erp.database import connect
from source_systems.world import crm_server as serve_demo_crm

Row = tuple[Any, ...]
STAMPS = {"created_at", "converted_at", "updated_at"}


@pytest.fixture(scope="module")
def crm_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One CRM store built from one ERP at day 0, shared (read-only) by the module."""
    folder = tmp_path_factory.mktemp("crm_world")
    url = f"sqlite:///{folder / 'erp.sqlite'}"
    with connect(url) as db:
        build(db, scale_factor=SCALE, seed=SEED)
        build_crm(db, folder / "crm.sqlite")
    return folder / "crm.sqlite"


@pytest.fixture
def crm(crm_world: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """This test's own copy of the CRM store, served by the demo CRM's API for the test.

    ``CRM_DB_PATH`` points at the copy; ``CRM_BASE_URL`` and ``CRM_API_TOKEN`` at its API, as a
    user configures their own CRM.
    """
    path = tmp_path / "crm.sqlite"
    shutil.copyfile(crm_world, path)
    monkeypatch.setenv("CRM_DB_PATH", str(path))
    with serve_demo_crm(path, fault_rate=0) as endpoint:
        monkeypatch.setenv("CRM_BASE_URL", endpoint.base_url)
        monkeypatch.setenv("CRM_API_TOKEN", endpoint.token)
        yield path


def _stamp(value: object) -> object:
    if isinstance(value, dt.datetime):
        return format_stamp(value)
    return value


def crm_rows(path: Path, *, skip: set[int] | None = None) -> set[Row]:
    """The store's contacts with stamps in the CRM's canonical form (any ISO form parsed)."""
    with sqlite3.connect(path) as conn:
        rows = conn.execute(f"select {', '.join(CONTACT_COLUMNS)} from contacts").fetchall()
    out = set()
    for row in rows:
        if row[0] in (skip or set()):
            continue
        values = []
        for name, value in zip(CONTACT_COLUMNS, row, strict=True):
            if name in STAMPS and value is not None:
                value = format_stamp(parse_stamp(value))
            elif name == "marketing_consent":
                value = bool(value)
            values.append(value)
        out.add(tuple(values))
    return out


def raw_rows(warehouse: Warehouse, *, skip: set[int] | None = None) -> set[Row]:
    rows = warehouse.query(f"select {', '.join(CONTACT_COLUMNS)} from raw_crm.contacts")
    return {tuple(_stamp(v) for v in r) for r in rows if r[0] not in (skip or set())}


def quarantined(warehouse: Warehouse) -> list[tuple[str, str]]:
    return sorted(
        (str(k), str(r))
        for k, r in warehouse.query("select contact_id, reasons from raw_crm.contacts_quarantine")
    )


def newest_stamp(path: Path) -> str:
    with sqlite3.connect(path) as conn:
        return str(conn.execute("select max(updated_at) from contacts").fetchone()[0])


def edit(path: Path, contact_id: int, **values: object) -> None:
    sets = ", ".join(f"{k} = ?" for k in values)
    with sqlite3.connect(path) as conn:
        conn.execute(
            f"update contacts set {sets} where contact_id = ?", [*values.values(), contact_id]
        )


def later(stamp: str, seconds: float) -> str:
    return format_stamp(parse_stamp(stamp) + dt.timedelta(seconds=seconds))


# --- case 1 --------------------------------------------------------------------------------


def test_case01_a_future_stamp_is_quarantined_and_never_moves_the_cursor(
    warehouse: Warehouse, crm: Path
) -> None:
    first = load_crm(warehouse.target)
    cursor = first["cursor"]["after"]
    assert cursor == newest_stamp(crm)

    edit(crm, 1, email="future@example.com", updated_at="2999-01-01T00:00:00Z")
    second = load_crm(warehouse.target)
    assert second["cursor"]["after"] == cursor  # never past the newest valid stamp
    assert [k for k, _ in quarantined(warehouse)] == ["1"]
    assert "updated_at" in quarantined(warehouse)[0][1]
    assert "future" in quarantined(warehouse)[0][1]

    # A later, ordinary change is still loaded (the cursor did not jump to 2999).
    edit(crm, 2, email="two@example.com", updated_at=later(cursor, 60))
    third = load_crm(warehouse.target)
    assert third["rows"].get("contacts") == 1
    assert third["cursor"]["after"] == later(cursor, 60)
    assert raw_rows(warehouse, skip={1}) == crm_rows(crm, skip={1})
    assert len(quarantined(warehouse)) == 1  # the future record is not quarantined twice


# --- case 2 --------------------------------------------------------------------------------


def test_case02_garbage_null_and_missing_stamps_are_quarantined_never_the_cursor(
    warehouse: Warehouse, crm: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = load_crm(warehouse.target)
    cursor = first["cursor"]["after"]

    edit(crm, 3, email="garbage@example.com", updated_at="not-a-time")
    # The demo store never holds a null stamp; a real CRM might send one, or leave it out.
    serve = CrmServer.contacts_page

    def with_missing_stamps(self: CrmServer, query: dict[str, list[str]]) -> dict[str, Any]:
        page = serve(self, query)
        for record in page["data"]:
            if record["contact_id"] == 4:
                record["updated_at"] = None
            elif record["contact_id"] == 5:
                del record["updated_at"]
        return page

    monkeypatch.setattr(CrmServer, "contacts_page", with_missing_stamps)
    edit(crm, 4, updated_at=later(cursor, 1))
    edit(crm, 5, updated_at=later(cursor, 2))
    second = load_crm(warehouse.target)  # no raw dlt traceback
    assert second["cursor"]["after"] == cursor
    reasons = dict(quarantined(warehouse))
    assert sorted(reasons) == ["3", "4", "5"]
    assert all("updated_at" in r for r in reasons.values())

    # Later loads are not blocked, load later changes, and quarantine nothing twice.
    edit(crm, 6, email="six@example.com", updated_at=later(cursor, 30))
    third = load_crm(warehouse.target)
    assert third["cursor"]["after"] == later(cursor, 30)
    assert sorted(dict(quarantined(warehouse))) == ["3", "4", "5"]
    assert raw_rows(warehouse, skip={3, 4, 5}) == crm_rows(crm, skip={3, 4, 5})


# --- case 3 --------------------------------------------------------------------------------


def test_case03_lag_window_same_stamp_edits_iso_forms_and_reconciliation(
    warehouse: Warehouse, crm: Path
) -> None:
    first = load_crm(warehouse.target)
    cursor = first["cursor"]["after"]
    with sqlite3.connect(crm) as conn:
        (at_cursor,) = conn.execute(
            "select contact_id from contacts where updated_at = ? order by contact_id limit 1",
            (cursor,),
        ).fetchone()
        (old,) = conn.execute(
            "select contact_id from contacts where updated_at < ? order by contact_id limit 1",
            (later(cursor, -86400),),
        ).fetchone()

    # An edit committed late with a stamp just before the cursor.
    edit(crm, 7, email="late@example.com", updated_at=later(cursor, -30))
    # An edit that keeps its stamp (the CRM does not promise updated_at moves).
    edit(crm, at_cursor, email="same-stamp@example.com")
    # A stamp in another valid ISO 8601 form: one hour after the cursor, written at +02:00.
    in_an_hour = parse_stamp(later(cursor, 3600))
    other_form = (in_an_hour + dt.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S+02:00")
    edit(crm, 8, email="offset@example.com", updated_at=other_form)

    second = load_crm(warehouse.target)
    assert second["rows"].get("contacts") == 3
    assert second["cursor"]["after"] == format_stamp(in_an_hour)
    assert raw_rows(warehouse) == crm_rows(crm)
    rerun = load_crm(warehouse.target)  # the lag window re-reads, but rewrites nothing
    assert rerun["rows"].get("contacts", 0) == 0

    # An old edit that kept its old stamp: no stamp can show it; the reconciliation repairs it.
    edit(crm, old, phone="+1-555-0100")
    assert load_crm(warehouse.target)["rows"].get("contacts", 0) == 0
    assert raw_rows(warehouse) != crm_rows(crm)
    repaired = load_crm(warehouse.target, reconcile=True)
    counts = repaired["reconciliation"]
    assert counts["api_keys"] == counts["warehouse_keys"] == len(crm_rows(crm))
    assert (counts["changed"], counts["missing"], counts["deleted"]) == (1, 0, 0)
    assert repaired["rows"]["contacts"] == 1
    assert raw_rows(warehouse) == crm_rows(crm)
    # Without the flag, a reconciliation runs when the last one is older than N days.
    assert "reconciliation" in load_crm(warehouse.target, reconcile_every_days=0)
    assert "reconciliation" not in load_crm(warehouse.target)


# --- case 4 --------------------------------------------------------------------------------

BAD_PARAMETERS = [
    {"updated_since": "9999-12-31T23:59:59-01:00"},
    {"updated_since": "0001-01-01T00:00:00+01:00"},
    {"updated_since": "soon"},
    {"limit": "0"},
    {"limit": "-5"},
    {"limit": "1001"},
    {"limit": "99999999999999999999999"},
    {"limit": "ten"},
    {"cursor": "!!!"},
    {"cursor": "WzEsIDJd"},  # base64 of [1,2]: a list, but no stamp
    {"cursor": "WyIxOTk4LTA4LTAzVDAwOjAwOjAwWiIsIDEwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMF0"},
]


@pytest.fixture
def crm_api(crm: Path) -> Iterator[CrmServer]:
    with running_crm(crm, token="t0ken") as server:
        yield server


@pytest.mark.parametrize("params", BAD_PARAMETERS, ids=lambda p: "-".join(map(str, p.items())))
def test_case04_the_server_answers_400_with_a_message_for_what_it_cannot_serve(
    crm_api: CrmServer, params: dict[str, str]
) -> None:
    answer = requests.get(
        f"{crm_api.base_url}/v1/contacts",
        params=params,
        headers={"Authorization": "Bearer t0ken"},
        timeout=10,
    )
    assert answer.status_code == 400
    assert answer.json()["error"]
    # The server is still there.
    health = requests.get(f"{crm_api.base_url}/v1/health", timeout=10)
    assert health.status_code == 200


def test_case04_the_token_is_compared_in_constant_time(
    crm_api: CrmServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    compared: list[tuple[object, object]] = []
    real = crm_server.hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(crm_server.hmac, "compare_digest", spy)
    url = f"{crm_api.base_url}/v1/contacts"
    assert requests.get(url, headers={"Authorization": "Bearer x"}, timeout=10).status_code == 401
    assert requests.get(url, timeout=10).status_code == 401
    ok = requests.get(url, headers={"Authorization": "Bearer t0ken"}, timeout=10)
    assert ok.status_code == 200
    assert len(compared) >= 2


def test_case04_the_public_demo_token_never_binds_beyond_loopback(
    crm: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CRM_API_TOKEN", raising=False)
    for host in ("0.0.0.0", "", "::"):
        with (
            pytest.raises(ValueError, match="demo token"),
            running_crm(crm, host=host),
        ):
            pass
    with (
        pytest.raises(ValueError, match="demo token"),
        running_crm(crm, host="0.0.0.0", token=DEFAULT_TOKEN),
    ):
        pass
    for host in ("127.0.0.1", "localhost"):
        with running_crm(crm, host=host) as server:
            assert requests.get(f"{server.base_url}/v1/health", timeout=10).status_code == 200
    crm_server.check_bind("0.0.0.0", "a-real-secret")  # a real token may bind anywhere
