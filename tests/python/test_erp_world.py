"""The ERP source world: deterministic, and ``advance`` makes exactly the changes it reports."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from erp_compare import erp_rows

from source_systems.erp.build import DAY_ZERO, business_date
from source_systems.erp.database import connect
from source_systems.erp.schema import MUTABLE_TABLES, TABLES, TABLES_BY_NAME
from source_systems.erp.simulate import ChangeRates, Simulator


def _digest(url: str) -> dict[str, str]:
    digests = {}
    for table in (*TABLES,):
        rows = sorted(repr(r) for r in erp_rows(url, table))
        digests[table.name] = hashlib.sha256("\n".join(rows).encode()).hexdigest()
    with connect(url) as db:
        tombstones = db.query("select table_name, row_key, deleted_at from deleted_rows")
    keys = sorted(repr((t, k.replace(" ", ""), str(d)[:19])) for t, k, d in tombstones)
    digests["deleted_rows"] = hashlib.sha256("\n".join(keys).encode()).hexdigest()
    return digests


def _advance(url: str, days: int, rates: ChangeRates | None = None) -> list[dict[str, Any]]:
    with connect(url) as db:
        return [d.as_dict() for d in Simulator(db, rates).advance(days)]


def test_same_seed_gives_the_same_world(make_erp: Callable[..., str]) -> None:
    # one built here, one the run's shared build (a copy): two builds of one seed
    first, second = make_erp(name="a", fresh=True), make_erp(name="b")
    assert _advance(first, 3) == _advance(second, 3)
    assert _digest(first) == _digest(second)


def test_another_seed_gives_other_changes(make_erp: Callable[..., str]) -> None:
    first, other = make_erp(name="a"), make_erp(name="b", seed=7)
    _advance(first, 2)
    _advance(other, 2)
    a, b = _digest(first), _digest(other)
    assert a["region"] == b["region"]  # TPC-H reference data does not depend on the seed
    assert a["orders"] != b["orders"]
    assert a["customer"] != b["customer"]


@pytest.mark.postgres
def test_sqlite_and_postgresql_erps_are_identical(make_erp: Callable[..., str]) -> None:
    sqlite_url, pg_url = make_erp("sqlite"), make_erp("postgres")
    assert _advance(sqlite_url, 3) == _advance(pg_url, 3)
    assert _digest(sqlite_url) == _digest(pg_url)


def test_advance_makes_the_changes_it_reports(make_erp: Callable[..., str]) -> None:
    url = make_erp()
    with connect(url) as db:
        before = {t.name: db.scalar(f"select count(*) from {t.name}") for t in MUTABLE_TABLES}
    days = _advance(url, 3)
    with connect(url) as db:
        for day in days:
            date = business_date(int(day["day_number"]))
            start, end = f"{date} 00:00:00.000000", f"{date} 23:59:59.999999"
            for table in MUTABLE_TABLES:
                stamped = db.scalar(
                    f"select count(*) from {table.name} where updated_at between ? and ?",
                    (start, end),
                )
                deleted = db.scalar(
                    "select count(*) from deleted_rows where table_name = ? "
                    "and deleted_at between ? and ?",
                    (table.name, start, end),
                )
                inserted = day["inserted"][table.name]
                updated = day["updated"][table.name]
                # A row changed again on a later day carries the later stamp, so stamps
                # are exact for the last day only; tombstones are exact for every day.
                if day is days[-1]:
                    assert stamped == inserted + updated, (table.name, day)
                assert deleted == day["deleted"][table.name], (table.name, day)
        after = {t.name: db.scalar(f"select count(*) from {t.name}") for t in MUTABLE_TABLES}
    for table in MUTABLE_TABLES:
        net = sum(d["inserted"][table.name] - d["deleted"][table.name] for d in days)
        assert after[table.name] - before[table.name] == net
    # Every kind of change the ERP promises happened.
    totals = {
        kind: sum(sum(d[kind].values()) for d in days)
        for kind in ("inserted", "updated", "deleted")
    }
    assert all(totals.values()), totals
    for name in ("orders", "lineitem", "customer", "part", "supplier", "partsupp"):
        assert sum(d["updated"][name] + d["inserted"][name] for d in days) > 0, name


def test_statuses_follow_the_tpch_rules(make_erp: Callable[..., str]) -> None:
    url = make_erp()
    _advance(url, 5)
    with connect(url) as db:
        today = db.scalar("select business_date from erp_state")
        inconsistent_orders = db.scalar(
            "select count(*) from orders o join ("
            "  select l_orderkey, sum(case when l_linestatus = 'F' then 1 else 0 end) as f,"
            "  count(*) as n from lineitem group by l_orderkey) l on l.l_orderkey = o.o_orderkey "
            "where o.o_orderstatus <> case when l.f = l.n then 'F' when l.f = 0 then 'O' "
            "else 'P' end"
        )
        late_lines = db.scalar(
            "select count(*) from lineitem where (l_linestatus = 'O' and l_shipdate <= ?) "
            "or (l_returnflag = 'N' and l_receiptdate <= ?) "
            "or (l_returnflag <> 'N' and l_receiptdate > ?)",
            (str(today), str(today), str(today)),
        )
        orphan_lines = db.scalar(
            "select count(*) from lineitem left join orders on o_orderkey = l_orderkey "
            "where o_orderkey is null"
        )
        new_orders_dated_today = db.scalar(
            "select count(*) from orders where o_orderdate > ?", (DAY_ZERO.isoformat(),)
        )
    assert inconsistent_orders == 0
    assert late_lines == 0
    assert orphan_lines == 0
    assert new_orders_dated_today > 0


def test_zero_rates_change_only_fulfilment(make_erp: Callable[..., str]) -> None:
    url = make_erp()
    rates = ChangeRates(
        new_orders_rate=0,
        cancel_rate=0,
        customer_edit_rate=0,
        part_edit_rate=0,
        offer_edit_rate=0,
        supplier_edit_rate=0,
    )
    (day,) = _advance(url, 1, rates)
    assert sum(day["inserted"].values()) == 0
    assert sum(day["deleted"].values()) == 0
    changed = {k for k, v in day["updated"].items() if v}
    assert changed <= {"lineitem", "orders"}


def test_rates_outside_zero_and_one_are_refused() -> None:
    with pytest.raises(ValueError, match="new_orders_rate"):
        ChangeRates(new_orders_rate=1.5)


def test_triggers_stamp_updates_and_record_deletes(make_erp: Callable[..., str]) -> None:
    """The CDC contract any client of the ERP gets, not only the simulator."""
    url = make_erp()
    clock = datetime(1998, 8, 3, 9, 30).isoformat(sep=" ", timespec="microseconds")
    with connect(url) as db:
        db.execute("update erp_state set clock_at = ?", (clock,))
        db.execute("update customer set c_phone = '10-000-000-0000' where c_custkey = 1")
        db.execute("delete from lineitem where l_orderkey = 1 and l_linenumber = 1")
        stamp = db.scalar("select updated_at from customer where c_custkey = 1")
        tombstone = db.query("select table_name, row_key, deleted_at from deleted_rows")
    assert str(stamp) == clock
    assert len(tombstone) == 1
    assert tombstone[0][0] == "lineitem"
    assert tombstone[0][1].replace(" ", "") == '{"l_orderkey":1,"l_linenumber":1}'
    assert TABLES_BY_NAME["lineitem"].primary_key == ("l_orderkey", "l_linenumber")
