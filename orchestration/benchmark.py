"""``warehouse benchmark``: every step of the warehouse timed against a ceiling on the same data.

One run, one process tree (``warehouse benchmark --scale 1`` or ``make benchmark SCALE=1``),
in a temporary folder (the project's ``data/`` warehouse is not touched; TPC-H data is cached in
``data/tpch`` as for any world):

* **world build** (``tpchgen-cli`` + the ERP in SQLite + the CRM), against ``tpchgen-cli``
  alone writing the same Parquet files;
* **full load per source**: the ERP (dlt, SQLite → DuckDB) against DuckDB copying the same
  SQLite tables itself and against DuckDB loading tpchgen's Parquet files; the CRM over its
  real HTTP API against a plain HTTP read of the same API (1000 records a page, JSON →
  Arrow → DuckDB); the carrier's first file against DuckDB's own JSON reader on it;
* **full ``dbt build``**: wall time against the summed execution time of its nodes
  (``run_results.json``) spread over dbt's threads, so the framework's overhead is a ratio;
* **two daily increments** (the world moved on one business day, then load + build), each
  against the full load + build;
* **``dbt docs generate``** against DuckDB reading the catalog it needs (information_schema).

Every step also has its peak memory: the resident set of this process and all its children
(``/proc``, sampled every 0.2 s). The figures go to a table on stdout, to
``<out-dir>/benchmark.json`` and to a bar chart ``<out-dir>/benchmark.svg`` (where the time
goes, each step beside its ceiling).

DuckDB's own SQLite reader (the ``sqlite_scanner`` extension) is not bundled with the duckdb
wheel and PyPI ships it only for DuckDB 1.5.5 (the project locks 2.0.1; the 1.5.5 file refuses
to load), so the "DuckDB copies the SQLite tables" ceiling reads each table with connectorx into
Arrow and inserts that into DuckDB: the fastest read this environment has, nothing downloaded.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from ingestion.cli import load_carrier, load_crm, load_erp
from ingestion.crm.settings import ENDPOINT_PATH
from orchestration.dbt import run_dbt
from source_systems.world import advance_world, connect, crm_server, init_world
from warehouse_settings import PROJECT_ROOT

SAMPLE_SECONDS = 0.2
"""How often the memory sampler reads the process tree's resident set."""

CEILING_PAGE_SIZE = 1000
"""Records per page of the plain HTTP read of the CRM (the API's maximum)."""

DAYS = 2
"""Daily increments measured after the full build."""


# --- memory ---------------------------------------------------------------------------------


def _proc_table() -> dict[int, tuple[int, int]]:
    """Every process's parent and resident pages, from ``/proc/<pid>/stat``."""
    table: dict[int, tuple[int, int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        fields = stat.rsplit(b")", 1)[1].split()
        # fields[0] is the state (field 3 of stat), so ppid (4) is [1] and rss (24) is [21].
        table[int(entry.name)] = (int(fields[1]), int(fields[21]))
    return table


def tree_rss(root: int) -> int:
    """Bytes resident in process ``root`` and all its descendants (0 without ``/proc``)."""
    try:
        table = _proc_table()
    except OSError:
        return 0
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    total, pending = 0, [root]
    while pending:
        pid = pending.pop()
        if pid in table:
            total += table[pid][1]
        pending.extend(children.get(pid, []))
    return total * os.sysconf("SC_PAGE_SIZE")


class PeakMemory:
    """Samples the resident set of this process tree in a thread; keeps the peak since reset."""

    def __init__(self, interval: float = SAMPLE_SECONDS) -> None:
        """Start sampling every ``interval`` seconds."""
        self._interval = interval
        self._peak = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="peak-memory", daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        rss = tree_rss(os.getpid())
        with self._lock:
            self._peak = max(self._peak, rss)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self._sample()

    def reset(self) -> None:
        """Start a new step: the peak becomes the current resident set."""
        with self._lock:
            self._peak = 0
        self._sample()

    def peak(self) -> int:
        """The highest resident set (bytes) seen since the last :meth:`reset`."""
        self._sample()
        with self._lock:
            return self._peak

    def close(self) -> None:
        """Stop the sampler thread."""
        self._stop.set()
        self._thread.join(timeout=5)


# --- the record -------------------------------------------------------------------------------


@dataclass
class Step:
    """One measured line: a warehouse step, or a ceiling measured on the same data."""

    name: str
    label: str
    kind: str
    """``step`` (the warehouse's work, with a ceiling), ``ceiling``, or ``context`` (the
    source simulator's work, or a run with nothing to do: shown, not compared)."""
    seconds: float
    peak_rss_bytes: int
    rows: int | None = None
    ceiling: str | None = None
    ceiling_seconds: float | None = None
    ratio: float | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def rows_per_second(self) -> float | None:
        """Rows per second, when the step moves rows."""
        return self.rows / self.seconds if self.rows and self.seconds > 0 else None


class Recorder:
    """Times steps and ceilings, with the peak memory of each."""

    def __init__(self, checkpoint: Path | None = None) -> None:
        """An empty record with a running memory sampler.

        With ``checkpoint``, the steps measured so far are written there (JSON) after each
        one, so a run that is stopped still leaves its figures.
        """
        self.steps: dict[str, Step] = {}
        self.memory = PeakMemory()
        self.checkpoint = checkpoint

    @contextlib.contextmanager
    def measure(self, name: str, label: str, kind: str = "step") -> Iterator[dict[str, Any]]:
        """Time the block; the yielded dict may set ``rows``, ``seconds`` and ``detail`` keys."""
        print(f"… {label}", file=sys.stderr, flush=True)
        out: dict[str, Any] = {}
        self.memory.reset()
        started = time.perf_counter()
        yield out
        wall = time.perf_counter() - started
        step = Step(
            name=name,
            label=label,
            kind=kind,
            seconds=float(out.pop("seconds", wall)),
            peak_rss_bytes=self.memory.peak(),
            rows=out.pop("rows", None),
            detail={"wall_seconds": round(wall, 3), **out},
        )
        self.steps[name] = step
        if self.checkpoint is not None:
            rows = [asdict(s) for s in self.steps.values()]
            self.checkpoint.write_text(json.dumps(rows, indent=2, default=str) + "\n")

    def add(self, step: Step) -> None:
        """Record a step computed from others (no run of its own)."""
        self.steps[step.name] = step

    def against(self, name: str, ceiling: str) -> None:
        """Compare step ``name`` with the recorded ceiling step ``ceiling``."""
        self.against_seconds(name, ceiling, self.steps[ceiling].seconds)

    def against_seconds(self, name: str, ceiling: str, seconds: float) -> None:
        """Compare step ``name`` with a ceiling of ``seconds`` described by ``ceiling``."""
        step = self.steps[name]
        step.ceiling = ceiling
        step.ceiling_seconds = seconds
        step.ratio = step.seconds / seconds if seconds > 0 else None


# --- ceilings ---------------------------------------------------------------------------------


def _tpchgen(scale: float, out: Path) -> int:
    """Write the eight TPC-H tables as Parquet into ``out``; return their row count."""
    exe = shutil.which("tpchgen-cli") or str(Path(sys.executable).with_name("tpchgen-cli"))
    out.mkdir(parents=True, exist_ok=True)
    cmd = [exe, "parquet", "-s", f"{scale:g}", "--output-dir", str(out)]
    subprocess.run(cmd, check=True, capture_output=True)
    return sum(pq.ParquetFile(p).metadata.num_rows for p in out.glob("*.parquet"))


def _duckdb_parquet_copy(parquet_dir: Path, database: Path) -> int:
    """DuckDB loading tpchgen's Parquet files into tables; return the rows loaded."""
    rows = 0
    with duckdb.connect(str(database)) as duck:
        for path in sorted(parquet_dir.glob("*.parquet")):
            duck.execute(f"create table {path.stem} as select * from read_parquet('{path}')")
            rows += duck.execute(f"select count(*) from {path.stem}").fetchone()[0]  # type: ignore[index]
    return rows


SQLITE_CEILING_BATCH = 1_000_000
"""Rows per Arrow record batch in the SQLite copy ceiling."""


def _drop_ceiling_copy(database: Path) -> None:
    """Delete a ceiling's DuckDB file once measured (at SF 10 the copies are 5 GB of disk)."""
    for path in (database, database.with_name(database.name + ".wal")):
        path.unlink(missing_ok=True)


def _duckdb_sqlite_copy(sqlite_path: Path, tables: list[str], database: Path) -> int:
    """Copy SQLite ``tables`` into DuckDB through Arrow (connectorx); return the rows copied.

    Streamed in record batches of :data:`SQLITE_CEILING_BATCH` rows, so memory stays flat
    at any scale (a whole SF 10 ``lineitem`` as one Arrow table would be about 10 GB).
    """
    import connectorx as cx

    with duckdb.connect(str(database)) as duck:
        for table in tables:
            batches = cx.read_sql(
                f"sqlite://{sqlite_path}",
                f"select * from {table}",
                return_type="arrow_stream",
                batch_size=SQLITE_CEILING_BATCH,
            )
            duck.register("batch", batches)
            duck.execute(f"create table {table} as select * from batch")
            duck.unregister("batch")
        counts = [duck.execute(f"select count(*) from {table}").fetchone() for table in tables]
    return sum(int(row[0]) for row in counts if row is not None)


def _http_read_crm(base_url: str, token: str, database: Path) -> int:
    """Read every contact over the CRM's API (plain HTTP, 1000 a page) into DuckDB via Arrow."""
    url = urllib.parse.urljoin(base_url.rstrip("/") + "/", ENDPOINT_PATH)
    records: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params = {"limit": CEILING_PAGE_SIZE, **({"cursor": cursor} if cursor else {})}
        request = urllib.request.Request(
            f"{url}?{urllib.parse.urlencode(params)}",
            headers={"Authorization": f"Bearer {token}"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            body = json.loads(response.read())
        records.extend(body["data"])
        cursor = body.get("next_cursor")
        if not cursor:
            break
    contacts = pa.Table.from_pylist(records)
    with duckdb.connect(str(database)) as duck:
        duck.register("batch", contacts)
        duck.execute("create table contacts as select * from batch")
    return contacts.num_rows


def _duckdb_read_json(files: list[Path], database: Path) -> int:
    """DuckDB reading the carrier's JSON-lines files with its own reader; return the lines."""
    listed = ", ".join(f"'{f}'" for f in files)
    with duckdb.connect(str(database)) as duck:
        duck.execute(
            f"create table shipments as select * from read_json_auto([{listed}], "
            "format = 'newline_delimited', ignore_errors = true)"
        )
        return int(duck.execute("select count(*) from shipments").fetchone()[0])  # type: ignore[index]


def _read_catalog(database: Path) -> int:
    """DuckDB reading the warehouse's columns (what ``dbt docs generate``'s catalog needs)."""
    with duckdb.connect(str(database)) as duck:
        rows = duck.execute(
            "select c.table_schema, c.table_name, c.column_name, c.data_type, t.table_type"
            " from information_schema.columns c join information_schema.tables t"
            " using (table_catalog, table_schema, table_name)"
        ).fetchall()
    return len(rows)


# --- dbt --------------------------------------------------------------------------------------


def _target_dir() -> Path:
    path = Path(os.environ.get("DBT_TARGET_PATH", "target"))
    return path if path.is_absolute() else PROJECT_ROOT / path


def _node_times(threads: int) -> dict[str, Any]:
    """Summed execution time of a build's nodes (``run_results.json``), by kind."""
    results = json.loads((_target_dir() / "run_results.json").read_text())["results"]
    by_kind: dict[str, float] = {}
    slowest: list[tuple[float, str]] = []
    for result in results:
        kind = result["unique_id"].split(".", 1)[0]
        seconds = float(result.get("execution_time") or 0.0)
        by_kind[kind] = by_kind.get(kind, 0.0) + seconds
        slowest.append((seconds, result["unique_id"].rsplit(".", 1)[-1]))
    slowest.sort(reverse=True)
    total = sum(by_kind.values())
    layers: dict[str, float] = {}
    for result in results:
        layer = _layer(result["unique_id"])
        layers[layer] = layers.get(layer, 0.0) + float(result.get("execution_time") or 0.0)
    return {
        "nodes": len(results),
        "threads": threads,
        "node_seconds": round(total, 3),
        "node_seconds_by_kind": {k: round(v, 3) for k, v in sorted(by_kind.items())},
        "node_seconds_by_layer": {k: round(v, 3) for k, v in sorted(layers.items())},
        "slowest_nodes": [{"node": n, "seconds": round(s, 3)} for s, n in slowest[:5]],
    }


_LAYER_OF_PREFIX = {
    "stg": "staging",
    "int": "intermediate",
    "dim": "marts",
    "fct": "marts",
    "hub": "raw vault",
    "link": "raw vault",
    "sat": "raw vault",
    "pit": "business vault",
    "bridge": "business vault",
}
"""A model's layer from its name prefix (the naming conventions fix it)."""


def _layer(unique_id: str) -> str:
    """The layer of a node: snapshots, tests, or a model's layer from its name prefix."""
    kind = unique_id.split(".", 1)[0]
    if kind == "snapshot":
        return "snapshots"
    if kind in {"test", "unit_test"}:
        return "tests"
    if kind != "model":
        return kind
    prefix = unique_id.rsplit(".", 1)[1].split("_", 1)[0]
    return _LAYER_OF_PREFIX.get(prefix, "other models")


def _dbt_threads() -> int:
    """Threads of the DuckDB profile (``threads:`` of the ``duckdb`` output in profiles.yml)."""
    text = (PROJECT_ROOT / "profiles.yml").read_text()
    block = text.split("    duckdb:", 1)[-1]
    match = re.search(r"^\s+threads:\s*(\d+)", block, re.MULTILINE)
    return int(match.group(1)) if match else 1


# --- the run ----------------------------------------------------------------------------------


@contextlib.contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _mb(value: int) -> float:
    return round(value / 1e6, 1)


def _loadavg() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def _carrier_files(landing: Path) -> list[Path]:
    return sorted(landing.glob("shipments_*.jsonl"))


def run_benchmark(
    *, scale: float, seed: int, out_dir: Path, days: int = DAYS, select: list[str] | None = None
) -> dict[str, Any]:
    """Run every step and ceiling at ``scale``; write JSON and SVG to ``out_dir``; return it.

    ``select`` narrows every ``dbt build`` to a dbt selection (default: the whole project), with
    ``--indirect-selection cautious`` (a test runs only when all its parents are selected).
    """
    out_dir = out_dir if out_dir.is_absolute() else PROJECT_ROOT / out_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    started_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    load_before = _loadavg()
    rec = Recorder(checkpoint=out_dir / "benchmark.partial.json")
    try:
        with tempfile.TemporaryDirectory(prefix="benchmark-") as tmp_name:
            tmp = Path(tmp_name)
            env = {
                "ERP_URL": f"sqlite:///{tmp}/erp.sqlite",
                "CRM_DB_PATH": f"{tmp}/crm.sqlite",
                "CARRIER_LANDING_DIR": f"{tmp}/landing",
                "WAREHOUSE_DUCKDB_PATH": f"{tmp}/warehouse.duckdb",
                "LOADER_PIPELINES_DIR": f"{tmp}/dlt",
                "DBT_TARGET_PATH": f"{tmp}/target",
                "DBT_LOG_PATH": f"{tmp}/logs",
            }
            with _environment(env):
                _run_steps(rec, tmp, scale=scale, seed=seed, days=days, select=select)
    finally:
        rec.memory.close()
    report = {
        "scale": scale,
        "seed": seed,
        "dbt_select": select,
        "started_at": started_at,
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "duckdb": duckdb.__version__,
            "load_average_before": load_before,
            "load_average_after": _loadavg(),
        },
        "memory_sampling": f"resident set of the process tree from /proc every {SAMPLE_SECONDS} s",
        "sqlite_ceiling_reader": "connectorx -> Arrow -> DuckDB (sqlite_scanner not available)",
        "steps": [
            {
                **{k: v for k, v in asdict(s).items() if k != "peak_rss_bytes"},
                "seconds": round(s.seconds, 3),
                "ceiling_seconds": None
                if s.ceiling_seconds is None
                else round(s.ceiling_seconds, 3),
                "ratio": None if s.ratio is None else round(s.ratio, 3),
                "rows_per_second": None if s.rows_per_second is None else round(s.rows_per_second),
                "peak_rss_mb": _mb(s.peak_rss_bytes),
            }
            for s in rec.steps.values()
        ],
    }
    (out_dir / "benchmark.json").write_text(json.dumps(report, indent=2) + "\n")
    (out_dir / "benchmark.svg").write_text(render_svg(report))
    (out_dir / "benchmark.partial.json").unlink(missing_ok=True)
    (out_dir / "benchmark.txt").write_text(render_table(report))
    return report


def _run_steps(
    rec: Recorder, tmp: Path, *, scale: float, seed: int, days: int, select: list[str] | None
) -> None:
    """The measured sequence (ceilings right after the step they bound)."""
    tpch_cached = (PROJECT_ROOT / "data" / "tpch" / f"sf{scale:g}" / "lineitem.parquet").exists()
    with rec.measure("tpchgen", "tpchgen-cli alone (Parquet)", "ceiling") as out:
        out["rows"] = _tpchgen(scale, tmp / "tpch")
    with rec.measure("world_build", "world build (tpchgen + ERP SQLite + CRM)") as out:
        with connect() as db:
            world = init_world(db, scale_factor=scale, seed=seed)
        out["rows"] = sum(world["rows"].values())
        out["contacts"] = world["contacts"]
        out["tpch_cached"] = tpch_cached
    world_step = rec.steps["world_build"]
    if tpch_cached:
        # The world builder found the TPC-H files cached: add the generation it skipped.
        world_step.seconds = world_step.detail["wall_seconds"] + rec.steps["tpchgen"].seconds
        world_step.detail["note"] = "TPC-H data was cached: tpchgen alone added to the wall time"
    rec.against("world_build", "tpchgen")

    erp_path = Path(os.environ["ERP_URL"].removeprefix("sqlite:///"))
    with rec.measure("erp_full_load", "ERP full load (dlt, SQLite -> DuckDB)") as out:
        erp = load_erp("duckdb")
        out["rows"] = erp["total_rows"]
        out["seconds"] = erp["seconds"]  # the load; the reconciliation after it is apart
        out["dlt_steps"] = _dlt_steps("erp_duckdb")
        out["tables"] = erp["rows"]
    rec.steps["erp_full_load"].detail["reconciliation_seconds"] = round(
        rec.steps["erp_full_load"].detail["wall_seconds"] - erp["seconds"], 3
    )
    tables = sorted(erp["rows"])
    with rec.measure(
        "duckdb_sqlite_copy", "DuckDB copying the same SQLite tables", "ceiling"
    ) as out:
        out["rows"] = _duckdb_sqlite_copy(erp_path, tables, tmp / "ceiling_sqlite.duckdb")
        out["reader"] = "connectorx -> Arrow -> DuckDB"
    _drop_ceiling_copy(tmp / "ceiling_sqlite.duckdb")
    with rec.measure("duckdb_parquet", "DuckDB loading tpchgen's Parquet files", "ceiling") as out:
        out["rows"] = _duckdb_parquet_copy(tmp / "tpch", tmp / "ceiling_parquet.duckdb")
    _drop_ceiling_copy(tmp / "ceiling_parquet.duckdb")
    shutil.rmtree(tmp / "tpch", ignore_errors=True)  # the ceilings' own TPC-H files: done
    rec.against("erp_full_load", "duckdb_sqlite_copy")
    rec.steps["erp_full_load"].detail["ratio_to_duckdb_parquet"] = round(
        rec.steps["erp_full_load"].seconds / rec.steps["duckdb_parquet"].seconds, 3
    )

    with crm_server() as crm:
        with rec.measure("crm_full_load", "CRM full load (dlt, real HTTP API)") as out:
            summary = load_crm("duckdb", base_url=crm.base_url, token=crm.token)
            out["rows"] = summary["rows"].get("contacts", summary["total_rows"])
        with rec.measure(
            "crm_http_read", "plain HTTP read of the CRM API -> DuckDB", "ceiling"
        ) as out:
            out["rows"] = _http_read_crm(crm.base_url, crm.token, tmp / "ceiling_crm.duckdb")
            out["page_size"] = CEILING_PAGE_SIZE
    _drop_ceiling_copy(tmp / "ceiling_crm.duckdb")
    rec.against("crm_full_load", "crm_http_read")

    with rec.measure("carrier_empty_load", "carrier load, day 0 (no file yet)", "context") as out:
        carrier = load_carrier("duckdb")
        out["files"] = carrier.get("files_read", 0)

    threads = _dbt_threads()
    build_args = ["build"]
    if select:
        build_args += ["--select", *select, "--indirect-selection", "cautious"]
    _timed_build(rec, "dbt_build_full", "dbt build, day 0 (full)", threads, build_args)

    full = (
        rec.steps["erp_full_load"].detail["wall_seconds"]
        + rec.steps["crm_full_load"].seconds
        + rec.steps["carrier_empty_load"].seconds
        + rec.steps["dbt_build_full"].seconds
    )
    rec.add(
        Step(
            name="nothing_to_marts",
            label="from nothing to built, tested marts",
            kind="step",
            seconds=rec.steps["world_build"].seconds + full,
            peak_rss_bytes=max(
                rec.steps[n].peak_rss_bytes
                for n in ("world_build", "erp_full_load", "crm_full_load", "dbt_build_full")
            ),
        )
    )
    ceilings = sum(
        rec.steps[n].seconds for n in ("tpchgen", "duckdb_sqlite_copy", "crm_http_read")
    ) + float(rec.steps["dbt_build_full"].ceiling_seconds or 0.0)
    rec.against_seconds("nothing_to_marts", "sum of the ceilings above", ceilings)

    for day in range(1, days + 1):
        _one_day(rec, day, threads, full, build_args)

    with rec.measure("docs_generate", "dbt docs generate"):
        run_dbt(["docs", "generate", *(["--select", *select] if select else [])])
    with rec.measure("catalog_read", "DuckDB reading the catalog's columns", "ceiling") as out:
        out["rows"] = _read_catalog(Path(os.environ["WAREHOUSE_DUCKDB_PATH"]))
    rec.against("docs_generate", "catalog_read")


def _one_day(rec: Recorder, day: int, threads: int, full: float, build_args: list[str]) -> None:
    """Move the world on one business day, load the three sources, ``dbt build``."""
    label = f"day {day}: world moves on one day (simulator)"
    with rec.measure(f"day{day}_advance", label, "context"), connect() as db:
        advance_world(db, 1)
    landing = Path(os.environ["CARRIER_LANDING_DIR"])
    with rec.measure(f"day{day}_load", f"day {day}: load ERP + CRM + carrier") as out:
        erp = load_erp("duckdb")
        with crm_server() as crm:
            crm_summary = load_crm("duckdb", base_url=crm.base_url, token=crm.token)
        carrier_started = time.perf_counter()
        carrier = load_carrier("duckdb")
        carrier_seconds = time.perf_counter() - carrier_started
        out["rows"] = erp["total_rows"] + crm_summary["total_rows"] + sum(carrier["rows"].values())
        out["erp_rows"] = erp["total_rows"]
        out["crm_rows"] = crm_summary["total_rows"]
        out["carrier_lines"] = carrier.get("lines_read")
        out["carrier_seconds"] = round(carrier_seconds, 3)
    if day == 1:
        files = _carrier_files(landing)
        rec.add(
            Step(
                name="carrier_first_load",
                label="carrier first file (dlt, JSON lines)",
                kind="step",
                seconds=carrier_seconds,
                peak_rss_bytes=rec.steps["day1_load"].peak_rss_bytes,
                rows=int(carrier.get("lines_read") or 0) or None,
                detail={"files": len(files), "measured_within": "day1_load"},
            )
        )
        with rec.measure("carrier_duckdb_json", "DuckDB reading the same file", "ceiling") as out:
            out["rows"] = _duckdb_read_json(files, Path(landing.parent / "ceiling_carrier.duckdb"))
        rec.against("carrier_first_load", "carrier_duckdb_json")
    # Like the day's load, the full loads with the ERP reconciliation that follows a load.
    full_load = (
        rec.steps["erp_full_load"].detail["wall_seconds"]
        + rec.steps["crm_full_load"].seconds
        + rec.steps["carrier_empty_load"].seconds
    )
    rec.against_seconds(f"day{day}_load", "full loads (day 0)", full_load)
    _timed_build(rec, f"day{day}_build", f"day {day}: dbt build (incremental)", threads, build_args)
    rec.steps[f"day{day}_build"].detail["ratio_to_full_build"] = round(
        rec.steps[f"day{day}_build"].seconds / rec.steps["dbt_build_full"].seconds, 3
    )
    load_step, build_step = rec.steps[f"day{day}_load"], rec.steps[f"day{day}_build"]
    rec.add(
        Step(
            name=f"day{day}_increment",
            label=f"day {day}: increment (load + build)",
            kind="step",
            seconds=load_step.seconds + build_step.seconds,
            peak_rss_bytes=max(load_step.peak_rss_bytes, build_step.peak_rss_bytes),
            rows=load_step.rows,
        )
    )
    rec.against_seconds(f"day{day}_increment", "full load + build (day 0)", full)


def _timed_build(rec: Recorder, name: str, label: str, threads: int, args: list[str]) -> None:
    with rec.measure(name, label) as out:
        run_dbt(args)
        out.update(_node_times(threads))
    step = rec.steps[name]
    # The ceiling: dbt's nodes back to back on every thread, nothing between them.
    rec.against_seconds(
        name,
        f"summed node execution time / {threads} threads",
        step.detail["node_seconds"] / threads,
    )


def _dlt_steps(pipeline_name: str) -> dict[str, float]:
    """Seconds of the last run's extract, normalize and load steps (dlt's trace)."""
    import dlt

    from ingestion.runner import pipelines_dir

    pipeline = dlt.attach(pipeline_name=pipeline_name, pipelines_dir=str(pipelines_dir()))
    trace = pipeline.last_trace
    steps: dict[str, float] = {}
    for step in trace.steps if trace else []:
        if step.step in {"extract", "normalize", "load"} and step.finished_at:
            steps[step.step] = round((step.finished_at - step.started_at).total_seconds(), 3)
    return steps


# --- output -----------------------------------------------------------------------------------


def render_table(report: dict[str, Any]) -> str:
    """The figures as a Markdown table (the README's Performance section uses it)."""
    machine = report["machine"]
    lines = [
        f"scale factor {report['scale']:g}, seed {report['seed']}, {machine['cpus']} CPUs, "
        f"duckdb {machine['duckdb']}, load average before {machine['load_average_before']}, "
        f"after {machine['load_average_after']}",
        "",
        "| step | seconds | rows/s | peak RSS | ceiling | ceiling s | ratio |",
        "|---|---:|---:|---:|---|---:|---:|",
    ]
    labels = {s["name"]: s["label"] for s in report["steps"]}
    for s in report["steps"]:
        label = {"ceiling": f"*ceiling: {s['label']}*", "context": f"({s['label']})"}.get(
            s["kind"], s["label"]
        )
        rate = f"{s['rows_per_second']:,}" if s["rows_per_second"] else ""
        ceiling = labels.get(s["ceiling"], s["ceiling"]) if s["ceiling"] else ""
        ceiling_s = f"{s['ceiling_seconds']:.2f}" if s["ceiling_seconds"] is not None else ""
        ratio = f"{s['ratio']:.2f}" if s["ratio"] is not None else ""
        lines.append(
            f"| {label} | {s['seconds']:.2f} | {rate} | {s['peak_rss_mb']:,.0f} MB | "
            f"{ceiling} | {ceiling_s} | {ratio} |"
        )
    return "\n".join(lines) + "\n"


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def render_svg(report: dict[str, Any]) -> str:
    """A horizontal bar chart: each step's seconds (dark) over its ceiling's (light)."""
    steps = [s for s in report["steps"] if s["kind"] == "step"]
    width, label_w, row_h, top = 900, 330, 26, 48
    chart_w = width - label_w - 90
    longest = max([s["seconds"] for s in steps] + [s["ceiling_seconds"] or 0 for s in steps])
    scale = chart_w / longest if longest > 0 else 1.0
    height = top + row_h * len(steps) + 40
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="10" y="20" font-size="14" font-weight="bold">Where the time goes at scale '
        f"factor {report['scale']:g} ({report['machine']['cpus']} CPUs)</text>",
        '<rect x="10" y="29" width="12" height="9" fill="#2b6cb0"/>'
        '<text x="26" y="37">step (seconds)</text>'
        '<rect x="130" y="29" width="12" height="9" fill="#c3dafe"/>'
        '<text x="146" y="37">its ceiling on the same data; label: ratio to it</text>',
    ]
    for i, s in enumerate(steps):
        y = top + i * row_h
        parts.append(
            f'<text x="{label_w - 8}" y="{y + 15}" text-anchor="end">{_escape(s["label"])}</text>'
        )
        if s["ceiling_seconds"]:
            ceiling_w = max(s["ceiling_seconds"] * scale, 1)
            parts.append(
                f'<rect x="{label_w}" y="{y + 2}" width="{ceiling_w:.1f}" height="18" '
                'fill="#c3dafe"/>'
            )
        bar = max(s["seconds"] * scale, 1)
        parts.append(
            f'<rect x="{label_w}" y="{y + 7}" width="{bar:.1f}" height="8" fill="#2b6cb0"/>'
        )
        ratio = f" (x{s['ratio']:.1f})" if s["ratio"] is not None else ""
        end = label_w + max(bar, (s["ceiling_seconds"] or 0) * scale)
        parts.append(f'<text x="{end + 5:.1f}" y="{y + 15}">{s["seconds"]:.1f} s{ratio}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def benchmark(
    *, scale: float, seed: int, out_dir: Path, days: int = DAYS, select: list[str] | None = None
) -> dict[str, Any]:
    """Run :func:`run_benchmark`, print the table and where the files went."""
    report = run_benchmark(scale=scale, seed=seed, out_dir=out_dir, days=days, select=select)
    print(render_table(report))
    where = out_dir if out_dir.is_absolute() else PROJECT_ROOT / out_dir
    print(f"figures: {where / 'benchmark.json'}; chart: {where / 'benchmark.svg'}")
    return report
