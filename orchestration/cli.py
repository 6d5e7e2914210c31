"""``warehouse``: the main job and the benchmark.

Examples::

    warehouse demo                    # generate the ERP and CRM, load them, dbt build and docs
    warehouse run --target postgres   # the cron-safe job: lock, load, dbt build, freshness
    warehouse run --sources erp,crm --select marts --dry-run
    warehouse demo --fresh --scale 0.1
    warehouse benchmark --scale 1     # every step timed against a ceiling on the same data
    warehouse governance              # dbt-score, dbt-bouncer and our own checks
    warehouse diagrams                # docs/star_schema.svg and docs/lineage.svg
    warehouse column-lineage          # target/column_lineage.html and .json (after docs)
    warehouse health                  # target/health/index.html: run history, scorecard
    warehouse schedule                # Dagster UI + daemon (dagster dev) on 127.0.0.1:3000
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
import time
from pathlib import Path

from ingestion.cli import load_carrier, load_crm, load_erp
from ingestion.destinations import duckdb_path
from ingestion.runner import WarehouseBusyError, pipelines_dir, warehouse_job, warehouse_lock
from orchestration.dbt import generate_docs, quiet_environment, run_dbt
from source_systems.world import (
    DEFAULT_SCALE,
    DEFAULT_SEED,
    advance_world,
    connect,
    crm_db_path,
    crm_server,
    init_world,
)
from warehouse_settings import PROJECT_ROOT, erp_url

log = logging.getLogger("warehouse")


def _sqlite_erp_exists(url: str) -> bool:
    if not url.startswith("sqlite:///"):
        return True
    return Path(url.removeprefix("sqlite:///")).exists()


def _wipe_local_state() -> None:
    """Remove the DuckDB warehouse and the loaders' dlt state (they belong to the old ERP)."""
    for path in (duckdb_path(), duckdb_path().with_suffix(".duckdb.wal")):
        path.unlink(missing_ok=True)
    shutil.rmtree(pipelines_dir(), ignore_errors=True)


def _load_all() -> None:
    """Load the three sources into DuckDB and log what each brought.

    The demo CRM's API runs only around its load; its URL and token reach ``load crm`` as
    arguments, the way a user passes their own CRM's.
    """
    erp = load_erp("duckdb")
    with crm_server() as endpoint:
        crm = load_crm("duckdb", base_url=endpoint.base_url, token=endpoint.token)
    carrier = load_carrier("duckdb")
    log.info(
        "loaded %d ERP rows, %d CRM rows and %d carrier lines",
        erp["total_rows"],
        crm["total_rows"],
        carrier["lines_read"],
    )


INTERMEDIATE_BUILD = ["build", "--exclude-resource-type", "test", "unit_test"]
"""``dbt build`` of a day the demo moves past at once: models and snapshots, no tests."""


def _load_and_build(*, tested: bool = True) -> None:
    """Load the three sources, then ``dbt build``: once per business day, the snapshots' cadence.

    The snapshots keep one version per change seen by a run, and the insert-only vault one row
    per change per load, so building after every daily load is what gives the history one
    version per day. ``tested=False`` leaves the data and unit tests out: the demo's days
    before its last are built and then moved past within the minute, and the last build runs
    every test over all the data (the tests check tables' current contents, history included).
    """
    _load_all()
    with warehouse_lock("duckdb"):
        run_dbt(["build"] if tested else INTERMEDIATE_BUILD)


EXIT_BUSY = 75
"""Exit status when another process holds the warehouse (``EX_TEMPFAIL``: try again later)."""

DEMO_DAYS = 2
"""Business days a freshly built world is moved on, so every source has changes to show."""


def demo(*, scale: float, seed: int, days: int | None, fresh: bool) -> None:
    """Run the main job on DuckDB: source world, load, ``dbt build``, ``dbt docs generate``.

    A new world is built (``fresh``, or none yet), loaded and built at day 0, then moved on
    ``days`` business days (default :data:`DEMO_DAYS`) with a load and a ``dbt build`` after
    each. An existing world is reused: loaded and built as it is, then moved on ``days`` days
    (default none).
    """
    started = time.perf_counter()
    # The lock first: a fresh world deletes the warehouse and the loaders' state, which a
    # running load or build must never see.
    with warehouse_job("duckdb"):
        _demo(scale=scale, seed=seed, days=days, fresh=fresh, started=started)


def _demo(*, scale: float, seed: int, days: int | None, fresh: bool, started: float) -> None:
    url = erp_url()
    if fresh or not _sqlite_erp_exists(url) or not crm_db_path().exists():
        log.info("building the world at scale factor %g (seed %d)", scale, seed)
        _wipe_local_state()
        with connect(url) as db:
            init_world(db, scale_factor=scale, seed=seed)
        days = DEMO_DAYS if days is None else days
    else:
        log.info("reusing the world at %s (use --fresh to rebuild it)", url)
        days = days or 0
    _load_and_build(tested=days == 0)
    for day in range(1, days + 1):
        with connect(url) as db:
            advance_world(db, 1)
        _load_and_build(tested=day == days)
    with warehouse_lock("duckdb"):
        # the last build ran every node (tests included): its manifest has their SQL
        generate_docs(compiled=True)
    elapsed = time.perf_counter() - started
    print(
        f"""
Done in {elapsed:.0f} s.
  ERP (source system) : {url}
  CRM (source system) : {crm_db_path()} (HTTP API started around each load)
  Warehouse (DuckDB)  : {duckdb_path()}
      raw data in schemas raw_erp, raw_crm and raw_carrier; staging views in staging;
      SCD2 history in snapshots; the star schema (dim_*, fct_*) in marts
  Browse the docs and lineage : .venv/bin/dbt docs serve --profiles-dir . --port 8080
                                (column lineage: http://localhost:8080/column_lineage.html)
  Query the warehouse         : .venv/bin/python -m orchestration.query \\
                                    "select * from marts.fct_orders limit 5"
  Move the world on a day     : .venv/bin/warehouse demo --days 1
                                (advance, load the three sources, dbt build)
"""
    )


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``warehouse`` command."""
    quiet_environment()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    parser = argparse.ArgumentParser(prog="warehouse", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    demo_p = sub.add_parser("demo", help="the main job on DuckDB")
    demo_p.add_argument(
        "--scale", type=float, default=float(os.environ.get("WORLD_SCALE", DEFAULT_SCALE))
    )
    demo_p.add_argument("--seed", type=int, default=int(os.environ.get("WORLD_SEED", DEFAULT_SEED)))
    demo_p.add_argument(
        "--days",
        type=int,
        default=None,
        help=f"simulate and load N business days (default {DEMO_DAYS} on a new world, else 0)",
    )
    demo_p.add_argument("--fresh", action="store_true", help="rebuild the ERP and the warehouse")
    run_p = sub.add_parser(
        "run",
        help="the scheduled job: lock, load the sources, dbt build, freshness; exit codes "
        "0 ok, 3 load, 4 models, 5 tests, 6 stale, 75 busy (orchestration/run.py)",
    )
    run_p.add_argument(
        "--target",
        choices=["duckdb", "postgres", "spark"],
        default=os.environ.get("WAREHOUSE_TARGET", "duckdb"),
    )
    run_p.add_argument(
        "--sources",
        default="erp,crm,carrier",
        help="comma-separated sources to load (default erp,crm,carrier; '' loads none)",
    )
    run_p.add_argument(
        "--select",
        nargs="+",
        default=None,
        help="dbt selection for dbt build (with --indirect-selection cautious)",
    )
    run_p.add_argument("--dry-run", action="store_true", help="print the plan, touch nothing")
    bench = sub.add_parser(
        "benchmark",
        help="world build, loads, dbt build, daily increments and docs on DuckDB, each timed "
        "against a ceiling on the same data (orchestration/benchmark.py)",
    )
    bench.add_argument("--scale", type=float, default=0.1)
    bench.add_argument("--seed", type=int, default=DEFAULT_SEED)
    bench.add_argument("--days", type=int, default=2, help="daily increments after day 0")
    bench.add_argument(
        "--out-dir",
        type=Path,
        default=Path("target/benchmark"),
        help="where benchmark.json, benchmark.svg and benchmark.txt go",
    )
    bench.add_argument(
        "--select",
        nargs="+",
        default=None,
        help="dbt selection for every dbt build, with --indirect-selection cautious "
        "(default: the whole project)",
    )
    gov = sub.add_parser(
        "governance", help="dbt-score, dbt-bouncer and our checks on a small built warehouse"
    )
    gov.add_argument(
        "--reuse", action="store_true", help="reuse target/governance if it was built before"
    )
    diagrams_p = sub.add_parser(
        "diagrams", help="star schema and layer lineage pictures (SVG) from the manifest"
    )
    diagrams_p.add_argument("--manifest", type=Path, default=Path("target/manifest.json"))
    diagrams_p.add_argument("--out-dir", type=Path, default=Path("docs"))
    lineage_p = sub.add_parser(
        "column-lineage",
        help="column lineage page and JSON from target/manifest.json and catalog.json",
    )
    lineage_p.add_argument(
        "--target-dir", type=Path, default=None, help="dbt's target folder (default target/)"
    )
    health_p = sub.add_parser(
        "health", help="HTML page of run durations, rows loaded and the quality scorecard"
    )
    health_p.add_argument(
        "--target",
        choices=["duckdb", "postgres"],
        default=os.environ.get("WAREHOUSE_TARGET", "duckdb"),
    )
    health_p.add_argument(
        "--output", type=Path, default=None, help="default target/health/index.html"
    )
    health_p.add_argument(
        "--build", action="store_true", help="first build the observability views (dbt run)"
    )
    sub.add_parser(
        "pg-roles",
        help="create the loader, transformer and reporting roles on the PostgreSQL warehouse",
    )
    sub.add_parser(
        "spark-up",
        help="start the local Spark standalone cluster (master, 2 workers) and its Thrift server",
    )
    sub.add_parser("spark-down", help="stop every process spark-up started (by PID)")
    sched_p = sub.add_parser(
        "schedule",
        help="Dagster (dagster dev): UI, schedules, sensors; instance in data/dagster/",
    )
    sched_p.add_argument("--host", default="127.0.0.1")
    sched_p.add_argument("--port", type=int, default=int(os.environ.get("DAGSTER_PORT", "3000")))
    args = parser.parse_args(argv)
    os.chdir(PROJECT_ROOT)
    if args.command == "schedule":
        from orchestration.schedule import schedule

        return schedule(args.host, args.port)
    if args.command in ("spark-up", "spark-down"):
        from orchestration.spark_cluster import spark_down, spark_up

        if args.command == "spark-down":
            stopped = spark_down()
            print(f"stopped {len(stopped)} Spark processes")
            return 0
        cluster = spark_up()
        print(
            f"Spark master {cluster.master_url}; Thrift server "
            f"{cluster.host}:{cluster.thrift_port} (dbt target: spark); stop: warehouse spark-down"
        )
        return 0
    if args.command == "run":
        from orchestration.run import SOURCES, run

        sources = [s.strip() for s in args.sources.split(",") if s.strip()]
        if any(s not in SOURCES for s in sources):
            parser.error(f"--sources: choose from {','.join(SOURCES)}, got {args.sources!r}")
        return run(args.target, sources=sources, select=args.select, dry_run=args.dry_run)
    if args.command == "demo":
        try:
            demo(scale=args.scale, seed=args.seed, days=args.days, fresh=args.fresh)
        except WarehouseBusyError as exc:
            log.error("%s", exc)
            return EXIT_BUSY
    elif args.command == "benchmark":
        from orchestration.benchmark import benchmark

        benchmark(
            scale=args.scale,
            seed=args.seed,
            out_dir=args.out_dir,
            days=args.days,
            select=args.select,
        )
    elif args.command == "governance":
        from orchestration.governance import governance

        return governance(reuse=args.reuse)
    elif args.command == "health":
        from orchestration.health import health

        health(args.target, args.output, build=args.build)
    elif args.command == "pg-roles":
        from orchestration.pg_roles import setup_roles

        setup_roles()
    elif args.command == "column-lineage":
        from orchestration.column_lineage import write_column_lineage

        summary = write_column_lineage(args.target_dir)
        log.info("column lineage: %s", summary)
        return 1 if summary["unresolved_columns"] else 0
    elif args.command == "diagrams":
        from orchestration.diagrams import write_diagrams

        for path in write_diagrams(args.manifest, args.out_dir):
            log.info("wrote %s", path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
