"""The Data Vault on DuckDB and PostgreSQL: insert-only, idempotent, reconciled, deletes ended.

One world per target (module scope): the ERP, the CRM and the carrier loaded at day 0 (a copy
of the run's shared day-0 world) and after each of a few simulated business days, with the
raw vault run after every load, then ``dbt build`` builds the vault once more with all its
tests. The assertions below all read that one warehouse.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from conftest import TARGETS, Warehouse, assert_dbt_passed, copy_day0_world

from ingestion.cli import load_carrier, load_crm, load_erp
from orchestration.dbt import run_dbt
from source_systems.carrier.feed import write_day
from source_systems.crm.simulate import advance_crm
from source_systems.erp.database import connect
from source_systems.erp.simulate import Simulator

DAYS = 2
GHOST = "0" * 64

HUBS = {
    "hub_customer": "customer_hk",
    "hub_order": "order_hk",
    "hub_part": "part_hk",
    "hub_supplier": "supplier_hk",
    "hub_nation": "nation_hk",
}
LINKS = {
    "link_order_customer": "order_customer_hk",
    "link_order_line": "order_line_hk",
    "link_part_supplier": "part_supplier_hk",
    "link_customer_nation": "customer_nation_hk",
    "link_supplier_nation": "supplier_nation_hk",
    "link_shipment_event_order_line": "shipment_event_hk",
}
SATS = {
    "sat_customer__erp_details": ("customer_hk", "customer_hashdiff"),
    "sat_customer__erp_pii": ("customer_hk", "customer_hashdiff"),
    "sat_customer__crm_contact": ("customer_hk", "customer_hashdiff"),
    "sat_customer__crm_pii": ("customer_hk", "customer_hashdiff"),
    "sat_order__erp_details": ("order_hk", "order_hashdiff"),
    "sat_order_line__erp_details": ("order_line_hk", "order_line_hashdiff"),
    "sat_part__erp_details": ("part_hk", "part_hashdiff"),
    "sat_part__erp_price": ("part_hk", "part_hashdiff"),
    "sat_supplier__erp_details": ("supplier_hk", "supplier_hashdiff"),
    "sat_supplier__erp_pii": ("supplier_hk", "supplier_hashdiff"),
    "sat_part_supplier__erp_offer": ("part_supplier_hk", "part_supplier_hashdiff"),
    "sat_nation__erp_details": ("nation_hk", "nation_hashdiff"),
    "sat_shipment_event__carrier_details": ("shipment_event_hk", "shipment_event_hashdiff"),
    "sat_shipment_event__carrier_pii": ("shipment_event_hk", "shipment_event_hashdiff"),
}
TRACKING = {
    "sat_order__erp_tracking": "order_hk",
    "sat_order_line__erp_tracking": "order_line_hk",
    "sat_customer__crm_tracking": "customer_hk",
}
TABLES = [*HUBS, *LINKS, *SATS, *TRACKING]

# Business keys per hub, by source: (staging model, expression of the key).
HUB_SOURCES = {
    "hub_order": [
        ("stg_erp__orders", "order_id"),
        ("stg_erp__order_lines", "order_id"),
        ("stg_carrier__shipment_events", "order_id"),
    ],
    "hub_part": [
        ("stg_erp__parts", "part_id"),
        ("stg_erp__part_suppliers", "part_id"),
        ("stg_erp__order_lines", "part_id"),
    ],
    "hub_supplier": [
        ("stg_erp__suppliers", "supplier_id"),
        ("stg_erp__part_suppliers", "supplier_id"),
        ("stg_erp__order_lines", "supplier_id"),
    ],
    "hub_nation": [
        ("stg_erp__nations", "nation_id"),
        ("stg_erp__customers", "nation_id"),
        ("stg_erp__suppliers", "nation_id"),
    ],
}


@dataclass
class VaultWorld:
    """A warehouse loaded over several days with the vault built after each load."""

    warehouse: Warehouse
    erp_url: str
    orders_day0: set[int] = field(default_factory=set)
    rows_before_rerun: dict[str, int] = field(default_factory=dict)
    rows_after_rerun: dict[str, int] = field(default_factory=dict)
    build_results: list[tuple[str, str]] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def target(self) -> str:
        """The warehouse target, ``duckdb`` or ``postgres``."""
        return self.warehouse.target

    def count(self, sql: str) -> int:
        """The single integer ``sql`` returns."""
        return int(self.warehouse.query(sql)[0][0])


def _row_counts(wh: Warehouse, schema: str = "raw_vault") -> dict[str, int]:
    sql = " union all ".join(f"select '{t}', count(*) from {schema}.{t}" for t in TABLES)
    return {str(t): int(n) for t, n in wh.query(sql)}


# The raw vault and the SCD2 snapshots, built together as the main job does, so that the
# satellites' versions can be reconciled with the snapshots' (no tests: the last build runs them).
VAULT_AND_SNAPSHOTS = [
    "build",
    "--select",
    "staging",
    "raw_vault",
    "resource_type:snapshot",
    "--resource-type",
    "model",
    "--resource-type",
    "snapshot",
]


def _run_raw_vault(target: str) -> None:
    run_dbt(["run", "--select", "raw_vault"], target)


@pytest.fixture(scope="module", params=TARGETS)
def vault_world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[VaultWorld]:
    """Load and vault one world on the target; shared by every test of the module.

    Day 0 is a copy of the run's shared day-0 world (loaded, a full ``dbt build`` passed:
    the raw vault and the snapshots built once, as below after every load; see worlds.py).
    """
    target = str(request.param)
    tmp = tmp_path_factory.mktemp(f"vault_{target}")
    with pytest.MonkeyPatch.context() as mp, contextlib.ExitStack() as servers:
        day0 = copy_day0_world(request, target, tmp / "world", mp, servers)
        wh, url, crm_path, landing = day0.warehouse, day0.erp_url, day0.crm_path, day0.landing

        world = VaultWorld(wh, url)
        started = time.monotonic()
        vault_seconds = 0.0
        world.orders_day0 = {
            int(r[0]) for r in wh.query("select order_id from staging.stg_erp__orders")
        }
        for _ in range(DAYS):
            with connect(url) as db:  # closed before the loaders read the ERP
                simulator = Simulator(db)
                day = simulator.advance(1)[0]
                advance_crm(db, crm_path)
                write_day(db, landing, day.day_number, simulator.seed)
            load_erp(target)
            load_crm(target)
            load_carrier(target)
            t0 = time.monotonic()
            run_dbt(VAULT_AND_SNAPSHOTS, target)
            vault_seconds += time.monotonic() - t0
        world.seconds["vault runs"] = vault_seconds
        world.rows_before_rerun = _row_counts(wh)
        t0 = time.monotonic()
        # The vault once more, with no new data, and every test on it (eager selection).
        results = run_dbt(
            [
                "build",
                "--select",
                "raw_vault",
                "business_vault",
                "dim_customer_days",  # the mart served from the vault through the PIT
                "assert_vault_hash_golden_values",
            ],
            target,
        )
        world.seconds["dbt build"] = time.monotonic() - t0
        assert_dbt_passed(results)
        world.build_results = [
            (r.node.name, str(r.status))
            for r in results  # type: ignore[attr-defined]
        ]
        world.rows_after_rerun = _row_counts(wh)
        world.seconds["total"] = time.monotonic() - started
        yield world


def test_build_passes_with_vault_tests(vault_world: VaultWorld) -> None:
    """The vault's models and tests all passed (checked as the fixture built them)."""
    names = {name for name, _ in vault_world.build_results}
    assert {*TABLES, "pit_customer", "pit_part", "bridge_order_part"} <= names
    assert any(n.startswith("assert_vault_hash_golden_values") for n in names)
    # satellite versions per key equal the SCD2 snapshots' (both built after every load)
    reconciled = [n for n in names if n.startswith("vault_sat_matches_snapshot")]
    assert len(reconciled) == 9, reconciled


def test_rerun_without_new_data_inserts_nothing(vault_world: VaultWorld) -> None:
    assert vault_world.rows_after_rerun == vault_world.rows_before_rerun
    # and the vault has history: some satellites gained versions over the days
    for sat, (hk, _) in SATS.items():
        assert vault_world.count(
            f"select count(*) from (select {hk} from raw_vault.{sat} "
            f"group by {hk} having count(*) > 1) as versions"
        ) >= (1 if sat in {"sat_customer__erp_details", "sat_order__erp_details"} else 0), sat


def test_hubs_reconcile_with_sources(vault_world: VaultWorld) -> None:
    wh = vault_world.warehouse
    for hub, sources in HUB_SOURCES.items():
        key = sources[0][1]
        union = " union ".join(f"select {col} as k from staging.{m}" for m, col in sources)
        missing = vault_world.count(
            f"select count(*) from ({union}) as s where k not in "
            f"(select {key} from raw_vault.{hub} where {key} is not null)"
        )
        assert missing == 0, hub
        expected = vault_world.count(f"select count(*) from ({union}) as s")
        held = vault_world.count(f"select count(*) from raw_vault.{hub}")
        ended = 0
        if hub == "hub_order":  # cancelled orders stay in the hub, ended in the tracking sat
            ended = vault_world.count(
                "select count(*) from raw_vault.hub_order where order_id not in "
                f"(select k from ({union}) as s)"
            )
        assert held == expected + ended + 1, hub  # + the ghost record
    # customers: ERP and CRM keys, leads by their contact id, converted leads ended
    current = vault_world.count(
        "select count(*) from (select customer_id, null as lead from staging.stg_erp__customers"
        " union select customer_id, case when customer_id is null then contact_id end"
        " from staging.stg_crm__contacts"
        " union select customer_id, null from staging.stg_erp__orders) as s"
    )
    converted_leads = vault_world.count(
        "select count(*) from raw_vault.hub_customer where lead_contact_id is not null"
        " and lead_contact_id not in (select contact_id from staging.stg_crm__contacts"
        " where customer_id is null)"
    )
    assert converted_leads > 0  # the days converted some leads
    assert vault_world.count("select count(*) from raw_vault.hub_customer") == (
        current + converted_leads + 1
    )
    ended_leads = wh.query(
        "select count(*) from raw_vault.hub_customer as h "
        "inner join raw_vault.sat_customer__crm_tracking as t on h.customer_hk = t.customer_hk "
        "where h.lead_contact_id is not null and t.is_deleted and h.lead_contact_id not in "
        "(select contact_id from staging.stg_crm__contacts where customer_id is null)"
    )
    assert ended_leads == [(converted_leads,)]


def test_cancelled_orders_are_ended_not_lost(vault_world: VaultWorld) -> None:
    wh = vault_world.warehouse
    now = {int(r[0]) for r in wh.query("select order_id from staging.stg_erp__orders")}
    cancelled = vault_world.orders_day0 - now
    assert cancelled, "the simulated days cancelled no order"
    rows = wh.query(
        "with latest as (select order_hk, is_deleted, row_number() over "
        "(partition by order_hk order by load_at desc) as r"
        " from raw_vault.sat_order__erp_tracking),"
        " versions as (select order_hk, count(*) as n from raw_vault.sat_order__erp_details"
        " group by order_hk)"
        " select h.order_id, l.is_deleted, coalesce(v.n, 0) "
        "from raw_vault.hub_order as h inner join latest as l on h.order_hk = l.order_hk "
        "and l.r = 1 left join versions as v on h.order_hk = v.order_hk "
        "where h.order_id is not null"
    )
    state = {int(o): (bool(d), int(v)) for o, d, v in rows}
    for order_id in cancelled:
        deleted, versions = state[order_id]
        assert deleted, order_id  # ended ...
        assert versions >= 1, order_id  # ... and its history kept
    assert all(not state[o][0] for o in now)
    # the lines of a cancelled order end with it
    assert (
        vault_world.count(
            "with latest as (select order_line_hk, is_deleted, row_number() over (partition by "
            "order_line_hk order by load_at desc) as r"
            " from raw_vault.sat_order_line__erp_tracking) "
            "select count(*) from raw_vault.link_order_line as l inner join latest as t "
            "on l.order_line_hk = t.order_line_hk and t.r = 1 "
            "inner join raw_vault.hub_order as h on l.order_hk = h.order_hk "
            f"where t.is_deleted and h.order_id in ({','.join(map(str, cancelled))})"
        )
        > 0
    )


def test_incremental_equals_rebuild(vault_world: VaultWorld) -> None:
    """The current state of the day-by-day vault equals a vault built once from the same data.

    A rebuild sees only what raw holds now (each key's latest state, no deleted keys), so it
    is compared with the incremental vault's latest row per key; the incremental vault has
    more: older versions, and keys that ended (checked by the other tests).
    """
    wh = vault_world.warehouse
    target = vault_world.target
    for t in TABLES:
        wh_exec(wh, f"create table snap_{t} as select * from raw_vault.{t}")
        wh_exec(wh, f"drop table raw_vault.{t}")
    try:
        _run_raw_vault(target)
        for table, key in {**HUBS, **LINKS}.items():
            only_rebuilt = vault_world.count(
                f"select count(*) from raw_vault.{table} as r left join snap_{table} as i "
                f"on r.{key} = i.{key} where i.{key} is null or i.load_at > r.load_at"
            )
            assert only_rebuilt == 0, table
        for table, (key, diff) in SATS.items():
            differ = vault_world.count(
                f"with latest as (select *, row_number() over (partition by {key} "
                f"order by load_at desc) as r from snap_{table}) "
                f"select count(*) from raw_vault.{table} as f left join latest as i "
                f"on f.{key} = i.{key} and i.r = 1 "
                f"where i.{key} is null or i.{diff} <> f.{diff} or i.load_at > f.load_at"
            )
            assert differ == 0, table
            assert vault_world.count(f"select count(*) from raw_vault.{table}") <= (
                vault_world.count(f"select count(*) from snap_{table}")
            )
        for table, key in TRACKING.items():
            differ = vault_world.count(
                f"with latest as (select *, row_number() over (partition by {key} "
                f"order by load_at desc) as r from snap_{table}) "
                f"select count(*) from raw_vault.{table} as f left join latest as i "
                f"on f.{key} = i.{key} and i.r = 1 where i.{key} is null or i.is_deleted"
            )
            assert differ == 0, table
    finally:  # put the incremental vault back for the other tests
        for t in TABLES:
            wh_exec(wh, f"drop table if exists raw_vault.{t}")
            wh_exec(wh, f"create table raw_vault.{t} as select * from snap_{t}")
            wh_exec(wh, f"drop table snap_{t}")


def test_ghost_records_and_hash_format(vault_world: VaultWorld) -> None:
    for table, key in {**HUBS, **LINKS}.items():
        assert (
            vault_world.count(
                f"select count(*) from raw_vault.{table} where {key} = '{GHOST}'"
                " and record_source = 'SYSTEM'"
            )
            == 1
        ), table
    for table, (key, diff) in SATS.items():
        assert (
            vault_world.count(
                f"select count(*) from raw_vault.{table}"
                f" where {key} = '{GHOST}' and {diff} = '{GHOST}'"
            )
            == 1
        ), table
        assert (
            vault_world.count(
                f"select count(*) from raw_vault.{table} where length({key}) <> 64"
                f" or length({diff}) <> 64 or lower({diff}) <> {diff}"
            )
            == 0
        ), table


def test_pit_points_at_satellite_rows(vault_world: VaultWorld) -> None:
    wh = vault_world.warehouse
    customers = vault_world.count("select count(*) from raw_vault.hub_customer") - 1
    days = vault_world.count(
        "select count(distinct snapshot_date) from business_vault.pit_customer"
    )
    assert days >= 1
    assert vault_world.count("select count(*) from business_vault.pit_customer") <= customers * days
    # the served model equals the latest satellite rows for the last snapshot date
    assert wh.query(
        "select count(*) from marts.dim_customer_days as d "
        "inner join raw_vault.hub_customer as h on d.customer_hk = h.customer_hk "
        "where d.snapshot_date = (select max(snapshot_date) from business_vault.pit_customer) "
        "and d.customer_id = 1 and d.market_segment is not null"
    ) == [(1,)]


def wh_exec(wh: Warehouse, sql: str) -> None:
    """Run a statement that returns no rows."""
    if wh.target == "duckdb":
        import duckdb

        with duckdb.connect(str(wh.duckdb_path)) as conn:
            conn.execute(sql)
        return
    import psycopg2

    assert wh.pg is not None
    conn = psycopg2.connect(
        host=wh.pg.host,
        port=wh.pg.port,
        user=wh.pg.user,
        password=wh.pg.password,
        dbname=wh.database,
    )
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
        conn.commit()
    finally:
        conn.close()


# Models whose incremental runs read only the rows loaded since their watermark (every raw
# vault table but the record-tracking satellites, which need the full key set).
WATERMARKED = [*HUBS, *LINKS, *SATS]


def _hashing_plan_rows(wh: Warehouse, sql: str) -> int:
    """How many rows the SHA-256 computations of ``sql`` produce when it runs (0: none hashed).

    The query runs under the database's own profiler (DuckDB's JSON profile, PostgreSQL's
    ``EXPLAIN (ANALYZE, VERBOSE)``); of the operators whose expressions call ``sha256``
    (projections, and filters such as the ghost-key test, whose cheaper load-time condition
    comes first), the largest number of rows one of them returned: a row hashed by several
    operators counts once.
    """
    if wh.target == "duckdb":
        import duckdb

        assert wh.duckdb_path is not None
        profile = wh.duckdb_path.with_suffix(".profile.json")
        with duckdb.connect(str(wh.duckdb_path)) as conn:
            conn.execute("pragma enable_profiling = 'json'")
            conn.execute(f"pragma profiling_output = '{profile}'")
            conn.execute(sql).fetchall()
        root = json.loads(profile.read_text())

        def duck(node: dict[str, Any]) -> int:
            below = max((duck(child) for child in node.get("children", [])), default=0)
            if "sha256" not in json.dumps(node.get("extra_info", {})).lower():
                return below
            # the row count's key: "operator_cardinality" before DuckDB 2.0
            rows = node.get("intermediate_rows", node.get("operator_cardinality", 0))
            return max(below, int(rows))

        return max(
            (duck(node) for node in root.get("operator", root.get("children", []))), default=0
        )
    rows = wh.query(f"explain (analyze, verbose, format json) {sql}")
    plan = rows[0][0]
    plan = json.loads(plan) if isinstance(plan, str) else plan

    def pg(node: dict[str, Any]) -> int:
        below = max((pg(child) for child in node.get("Plans", [])), default=0)
        if "sha256" not in json.dumps(node.get("Output", [])).lower():
            return below
        return max(below, int(node.get("Actual Rows", 0)) * int(node.get("Actual Loops", 1)))

    return pg(plan[0]["Plan"])


def _compiled(target: str, models: list[str]) -> dict[str, str]:
    """Each model's compiled SELECT as an incremental run would execute it now."""
    results = run_dbt(["compile", "--select", *models, "--indirect-selection", "empty"], target)
    return {
        r.node.name: r.node.compiled_code
        for r in results  # type: ignore[attr-defined]
        if r.node.resource_type == "model"
    }


def test_increment_hashes_only_rows_loaded_since_the_watermark(vault_world: VaultWorld) -> None:
    """An incremental run hashes the rows of the loads since its last run, not all of staging.

    With no new load since the last build, each watermarked table reads (and hashes) only the
    rows of the newest load it already holds (``>=``: a resumed package keeps its load id),
    measured in rows by the database's profiler, not in time. The old macros hashed every row.
    """
    wh = vault_world.warehouse
    compiled = _compiled(vault_world.target, WATERMARKED)
    assert set(compiled) == set(WATERMARKED)
    for model, source, system in [
        ("sat_order_line__erp_details", "stg_erp__order_lines", "erp"),
        ("link_order_line", "stg_erp__order_lines", "erp"),
        ("sat_order__erp_details", "stg_erp__orders", "erp"),
        ("sat_shipment_event__carrier_details", "stg_carrier__shipment_events", "carrier"),
    ]:
        watermark = (
            f"(select max(load_at) from raw_vault.{model} where record_source like '{system}.%')"
        )
        staged = vault_world.count(f"select count(*) from staging.{source}")
        since = vault_world.count(
            f"select count(*) from staging.{source} where loaded_at >= {watermark}"
        )
        assert 0 < since < staged, model  # the newest load holds some rows, not all
        hashed = _hashing_plan_rows(wh, compiled[model])
        assert hashed == since, (model, hashed, since, staged)


def test_rows_arriving_late_in_the_newest_load_reach_the_vault(vault_world: VaultWorld) -> None:
    """Rows of a resumed load package, loaded after a build under the same load id, still count.

    Two ERP order lines are rewritten in raw under the newest load id the vault already holds
    (one's comment changed, the other's line number, a new key): the next run must add the
    satellite version, the new link and the tracking rows. A ``>`` watermark would miss them.
    """
    wh = vault_world.warehouse
    newest = wh.query("select max(_dlt_load_id) from raw_erp.lineitem")[0][0]
    watermarks = {
        model: vault_world.count(
            f"select count(*) from raw_vault.{model} where load_at = "
            f"(select max(loaded_at) from staging.stg_erp__order_lines)"
        )
        for model in ["sat_order_line__erp_details", "link_order_line"]
    }
    assert all(watermarks.values()), watermarks  # the vault holds rows of that very load
    old = wh.query(
        "select l_orderkey, l_linenumber from raw_erp.lineitem "
        f"where _dlt_load_id < '{newest}' order by l_orderkey, l_linenumber limit 2"
    )
    (changed_order, changed_line), (moved_order, moved_line) = old
    wh_exec(
        wh,
        f"update raw_erp.lineitem set l_comment = 'late row of a resumed package', "
        f"_dlt_load_id = '{newest}' "
        f"where l_orderkey = {changed_order} and l_linenumber = {changed_line}",
    )
    wh_exec(
        wh,
        f"update raw_erp.lineitem set l_linenumber = 99, _dlt_load_id = '{newest}' "
        f"where l_orderkey = {moved_order} and l_linenumber = {moved_line}",
    )
    _run_raw_vault(vault_world.target)
    assert (
        vault_world.count(
            "select count(*) from raw_vault.sat_order_line__erp_details "
            "where order_line_comment = 'late row of a resumed package'"
        )
        == 1
    )
    moved = wh.query(
        "select l.order_line_hk from raw_vault.link_order_line as l "
        "inner join raw_vault.hub_order as h on l.order_hk = h.order_hk "
        f"where h.order_id = {moved_order} and l.line_number = 99"
    )
    assert len(moved) == 1
    assert (
        vault_world.count(
            "select count(*) from raw_vault.sat_order_line__erp_tracking "
            f"where order_line_hk = '{moved[0][0]}' and not is_deleted"
        )
        == 1
    )
    assert (
        vault_world.count(
            "select count(*) from raw_vault.sat_order_line__erp_details "
            f"where order_line_hk = '{moved[0][0]}'"
        )
        == 1
    )
