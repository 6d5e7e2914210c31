"""The parallel SQLite bulk load of the ERP gives exactly the database the serial build gives.

The serial build (``build(serial=True)``: one table after the other, ``executemany`` into the
live file, indexes and triggers after the data) is the reference. The bulk load (worker
processes writing parts, assembled in a new file that is swapped in) must store the same
rows with the same rowids, the same SQLite storage class per value (``typeof``), and the
same schema, indexes and triggers in the same ``sqlite_master`` order.
"""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
from pathlib import Path

import pytest

from source_systems.erp import sqlite_bulk
from source_systems.erp.build import build
from source_systems.erp.database import connect
from source_systems.erp.simulate import Simulator

SCALE = 0.01  # as conftest.py
SEED = 42
SMALL_CHUNKS = 20_000  # lineitem (60 175 rows at SF 0.01) in four parts, the rest whole


def content_digest(path: Path) -> dict[str, str]:
    """One digest per table (rowid, then storage class and SQL literal of every value, in
    rowid order), one of ``sqlite_master`` in its own order, and the persistent settings."""
    conn = sqlite3.connect(path)
    try:
        schema = conn.execute(
            "select type, name, tbl_name, sql from sqlite_master order by rowid"
        ).fetchall()
        digests = {"sqlite_master": hashlib.sha256(repr(schema).encode()).hexdigest()}
        tables = [n for t, n, _, _ in schema if t == "table"]
        for table in tables:
            columns = [row[1] for row in conn.execute(f"pragma table_info({table})")]
            values = ", ".join(f"typeof({c}), quote({c})" for c in columns)
            digest = hashlib.sha256()
            for row in conn.execute(f"select rowid, {values} from {table} order by rowid"):
                digest.update(repr(row).encode())
            digests[table] = digest.hexdigest()
        digests["journal_mode"] = conn.execute("pragma journal_mode").fetchone()[0]
        digests["encoding"] = conn.execute("pragma encoding").fetchone()[0]
    finally:
        conn.close()
    return digests


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The digest of the serial build of the test world."""
    path = tmp_path_factory.mktemp("serial") / "erp.sqlite"
    with connect(f"sqlite:///{path}") as db:
        build(db, scale_factor=SCALE, seed=SEED, serial=True)
    return content_digest(path)


@pytest.mark.parametrize("workers", [0, 2], ids=["in-process", "two-workers"])
def test_bulk_load_equals_the_serial_build(
    tmp_path: Path, reference: dict[str, str], workers: int
) -> None:
    path = tmp_path / "erp.sqlite"
    with connect(f"sqlite:///{path}") as db:
        counts = build(db, scale_factor=SCALE, seed=SEED, workers=workers, chunk_rows=SMALL_CHUNKS)
        # the caller's connection is open on the new file, in normal use settings
        assert db.scalar("pragma journal_mode") == "wal"
        assert db.scalar("pragma foreign_keys") == 1
        assert db.scalar("select count(*) from lineitem") == counts["lineitem"] == 60_175
    assert content_digest(path) == reference
    assert sorted(p.name for p in tmp_path.iterdir()) == ["erp.sqlite"]  # no build leftovers


def test_the_digest_sees_a_changed_value_or_storage_class(
    tmp_path: Path, reference: dict[str, str]
) -> None:
    """The comparison above would fail on a changed row or a value stored as another type."""
    path = tmp_path / "erp.sqlite"
    with connect(f"sqlite:///{path}") as db:
        build(db, scale_factor=SCALE, seed=SEED)
    assert content_digest(path) == reference
    for change in (
        "update orders set o_comment = o_comment || '.' where rowid = 7",
        "update customer set updated_at = 2451028.25 where rowid = 3",  # stamp text -> real
        "update lineitem set l_shipdate = 9000 where rowid = 11",  # date text -> integer
    ):
        changed = tmp_path / "changed.sqlite"
        shutil.copyfile(path, changed)
        conn = sqlite3.connect(changed)
        conn.execute("drop trigger if exists orders_touch")  # keep updated_at as it was
        conn.execute("drop trigger if exists customer_touch")
        conn.execute("drop trigger if exists lineitem_touch")
        conn.execute(change)
        conn.commit()
        conn.close()
        differ = {k for k, v in content_digest(changed).items() if reference[k] != v}
        assert differ - {"sqlite_master"} == {change.split()[1]}, change
        changed.unlink()


def test_a_rebuild_replaces_a_moved_world(tmp_path: Path, reference: dict[str, str]) -> None:
    path = tmp_path / "erp.sqlite"
    with connect(f"sqlite:///{path}") as db:
        build(db, scale_factor=SCALE, seed=SEED)
        Simulator(db).advance(2)
    assert content_digest(path) != reference
    with connect(f"sqlite:///{path}") as db:
        build(db, scale_factor=SCALE, seed=SEED, workers=2, chunk_rows=SMALL_CHUNKS)
    assert content_digest(path) == reference


@pytest.mark.parametrize("workers", [0, 2], ids=["in-process", "two-workers"])
def test_a_failed_build_leaves_the_old_erp(
    tmp_path: Path, reference: dict[str, str], workers: int
) -> None:
    path = tmp_path / "erp.sqlite"
    with connect(f"sqlite:///{path}") as db:
        build(db, scale_factor=SCALE, seed=SEED)
    broken = [sqlite_bulk.Unit("region", 0, "select no_such_column from range(3)", 3)]
    with (
        connect(f"sqlite:///{path}") as db,
        pytest.raises(Exception, match=r"no_such_column|died"),
    ):
        sqlite_bulk.build_sqlite(db, broken, prepare=lambda _: None, workers=workers)
    assert content_digest(path) == reference
    assert sorted(p.name for p in tmp_path.iterdir()) == ["erp.sqlite"]
