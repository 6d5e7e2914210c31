"""Governance gates: dbt-score and dbt-bouncer on a small warehouse built for them.

``warehouse governance`` (``make governance``, part of ``make test``):

1. builds a small world (scale factor 0.01, one simulated day) under
   ``data/governance/``, loads it with the three dlt loaders into its own DuckDB file, runs
   ``dbt build`` (models, snapshots, seeds; the data tests run in pytest) and
   ``dbt docs generate`` with ``target/governance/`` as dbt's target path, so manifest and
   catalog describe real relations. Nothing here reads ``data/`` of ``make demo``;
2. ``dbt-score lint`` with the configuration of ``[tool.dbt-score]`` in ``pyproject.toml``
   (every rule on, project at least 9.5, every model at least 8);
3. ``dbt-bouncer`` with ``dbt-bouncer.yml`` (the layer architecture as checks);
4. the checks dbt-bouncer cannot run here (see :func:`source_column_problems` and
   :func:`snapshot_upstream_problems`), that every
   example query in a model description runs, and that every exception is in the register
   ``docs/governance_exceptions.md``.

Any failure makes the command exit non-zero.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from warehouse_settings import PROJECT_ROOT

log = logging.getLogger("warehouse.governance")

GOVERNANCE_TARGET = Path("target/governance")
"""dbt's target path for the governance build (relative to the project root)."""

GOVERNANCE_WORKDIR = Path("data/governance")
"""Where the small world and its warehouse live (relative to the project root)."""

BOUNCER_CONFIG = Path("dbt-bouncer.yml")
EXCEPTIONS_REGISTER = Path("docs/governance_exceptions.md")

SMALL_SCALE = 0.01
SMALL_DAYS = 1

_SQL_EXAMPLE = re.compile(r"```sql\n(.*?)```", re.DOTALL)
_SCORE = re.compile(r"Project score: ([0-9.]+)")
_EXCEPTION_ROW = re.compile(r"^\|\s*(E\d+)\s*\|", re.MULTILINE)


@contextlib.contextmanager
def small_world_environment(workdir: Path, target_path: Path) -> Iterator[None]:
    """Point the world, the loaders and dbt at ``workdir`` and ``target_path``; restore after."""
    values = {
        "ERP_URL": f"sqlite:///{workdir / 'erp.sqlite'}",
        "CRM_DB_PATH": str(workdir / "crm.sqlite"),
        "CARRIER_LANDING_DIR": str(workdir / "landing"),
        "LOADER_PIPELINES_DIR": str(workdir / "dlt"),
        "WAREHOUSE_DUCKDB_PATH": str(workdir / "warehouse.duckdb"),
        "DBT_TARGET_PATH": str(target_path),
    }
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def build_small_warehouse(
    workdir: Path, target_path: Path, *, scale: float = SMALL_SCALE, days: int = SMALL_DAYS
) -> Path:
    """Build a small world in ``workdir``, load it, build the dbt project and its docs.

    Returns ``target_path``, which then holds ``manifest.json``, ``catalog.json`` and the
    static docs site (``index.html``).
    """
    from ingestion.cli import load_carrier, load_crm, load_erp
    from orchestration.dbt import run_dbt
    from source_systems.world import advance_world, connect, crm_server, init_world

    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    with small_world_environment(workdir, target_path):
        with connect() as db:
            init_world(db, scale_factor=scale, seed=42)
        for day in range(days + 1):
            if day:
                with connect() as db:
                    advance_world(db, 1)
            load_erp("duckdb")
            with crm_server() as crm:
                load_crm("duckdb", base_url=crm.base_url, token=crm.token)
            load_carrier("duckdb")
        # Relations for the catalog; the data tests are pytest's job (test_dbt_build.py).
        run_dbt(["build", "--exclude-resource-type", "test", "unit_test"])
        run_dbt(["docs", "generate"])
    return target_path


@dataclass
class GateResult:
    """The outcome of one gate: its name, whether it passed, and what it said."""

    name: str
    passed: bool
    details: list[str] = field(default_factory=list)


def _load(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        data: dict[str, Any] = json.load(handle)
    return data


def source_column_problems(manifest: dict[str, Any], catalog: dict[str, Any]) -> list[str]:
    """Columns a source table has in the warehouse but not (described) in its YAML.

    dbt-bouncer's ``check_source_columns_are_all_documented`` crashes in 3.8 (a catalog
    source has no ``meta``), and dbt-bouncer 4 needs ``duckdb<2``: so this check is ours.
    Exception register entry E1.
    """
    problems = []
    for unique_id, entry in sorted(catalog.get("sources", {}).items()):
        source = manifest["sources"].get(unique_id)
        if source is None:
            continue
        declared = {name.lower(): col for name, col in source["columns"].items()}
        for column in entry["columns"]:
            col = declared.get(column.lower())
            if col is None:
                problems.append(f"{unique_id}: column {column} is not in the source YAML")
            elif not (col.get("description") or "").strip():
                problems.append(f"{unique_id}: column {column} has no description")
    return problems


def personal_column_problems(manifest: dict[str, Any], catalog: dict[str, Any]) -> list[str]:
    """Personal source columns that reach a model, snapshot or seed unmasked.

    A source column declared ``meta: {contains_pii: true, masking: none}`` (a name, phone,
    address, e-mail, a raw line) may only be read by staging through ``mask_pii``, which gives
    it a new name (``<field>_hash``). So no relation dbt builds may have a column of that
    name, and every model column declared ``contains_pii`` must say how it is masked.
    """
    personal: dict[str, str] = {}
    for unique_id, source in manifest["sources"].items():
        for name, col in source["columns"].items():
            meta = (col.get("config") or {}).get("meta") or col.get("meta") or {}
            if meta.get("contains_pii"):
                personal.setdefault(name.lower(), unique_id)
    problems = []
    for unique_id, entry in sorted(catalog.get("nodes", {}).items()):
        for column in entry["columns"]:
            if column.lower() in personal:
                problems.append(
                    f"{unique_id}: column {column} is the personal column of "
                    f"{personal[column.lower()]}, unmasked"
                )
    for unique_id, node in sorted(manifest["nodes"].items()):
        if node["resource_type"] not in {"model", "snapshot"}:
            continue
        for name, col in node.get("columns", {}).items():
            meta = (col.get("config") or {}).get("meta") or col.get("meta") or {}
            if meta.get("contains_pii") and meta.get("masking") in (None, "none"):
                problems.append(f"{unique_id}: column {name} holds personal data, unmasked")
    return problems


def snapshot_upstream_problems(manifest: dict[str, Any]) -> list[str]:
    """Snapshots that read anything but one staging model.

    dbt-bouncer's upstream checks cover models only; a snapshot must take its entity from the
    staging view of that entity (typed, PII masked), never from a source or another layer.
    """
    problems = []
    for unique_id, node in sorted(manifest["nodes"].items()):
        if node["resource_type"] != "snapshot":
            continue
        parents = node["depends_on"]["nodes"]
        staging = [p for p in parents if p.startswith("model.") and ".stg_" in p]
        if len(parents) != 1 or len(staging) != 1:
            problems.append(f"{unique_id} reads {parents or 'nothing'}, not one staging model")
    return problems


def example_queries(manifest: dict[str, Any]) -> dict[str, list[str]]:
    """The ```` ```sql ```` examples in each model's description, by model name."""
    examples: dict[str, list[str]] = {}
    for node in manifest["nodes"].values():
        if node["resource_type"] == "model":
            found = _SQL_EXAMPLE.findall(node.get("description") or "")
            if found:
                examples[node["name"]] = [sql.strip() for sql in found]
    return examples


def example_query_problems(manifest: dict[str, Any], duckdb_file: Path) -> list[str]:
    """Examples in model descriptions that do not run on the small warehouse."""
    import duckdb

    problems = []
    # Same configuration as dbt's in-process connection (DuckDB refuses a second one that
    # differs), so not read-only; the examples only read.
    with duckdb.connect(str(duckdb_file)) as conn:
        for model, queries in sorted(example_queries(manifest).items()):
            for sql in queries:
                try:
                    conn.sql(sql).fetchall()
                except duckdb.Error as exc:
                    problems.append(f"{model}: example query fails: {exc}")
    return problems


def registered_exceptions(register: Path) -> set[str]:
    """Exception ids (``E1``, ``E2`` ...) listed in the register's table."""
    return set(_EXCEPTION_ROW.findall(register.read_text(encoding="utf-8")))


def exception_problems(manifest: dict[str, Any], config_text: str, register: Path) -> list[str]:
    """Exceptions not in the register, and register entries nothing uses any more.

    An exception is a node's ``meta: {dbt-bouncer: {skip_checks: [...]}}`` (its meta must
    also say ``governance_exception: E<n>``) or an ``Exception E<n>`` in a check's
    description in ``dbt-bouncer.yml``; code may also cite ``E<n>`` (this module does, E1).
    """
    known = registered_exceptions(register)
    used: set[str] = set(re.findall(r"\bException (E\d+)\b", config_text))
    used |= set(re.findall(r"\bentry (E\d+)\b", Path(__file__).read_text(encoding="utf-8")))
    problems = []
    for node in [*manifest["nodes"].values(), *manifest["sources"].values()]:
        meta = (node.get("config") or {}).get("meta") or node.get("meta") or {}
        skips = (meta.get("dbt-bouncer") or {}).get("skip_checks")
        if skips:
            entry = meta.get("governance_exception")
            if not entry:
                problems.append(f"{node['unique_id']} skips {skips} without an exception id")
            else:
                used.add(str(entry))
    for entry in sorted(used - known):
        problems.append(f"exception {entry} is used but not in {EXCEPTIONS_REGISTER}")
    for entry in sorted(known - used):
        problems.append(f"exception {entry} is in {EXCEPTIONS_REGISTER} but nothing uses it")
    return problems


def _tool(name: str) -> str:
    return str(Path(sys.executable).parent / name)


def run_dbt_score(manifest_path: Path) -> GateResult:
    """``dbt-score lint`` with ``[tool.dbt-score]`` of pyproject.toml."""
    proc = subprocess.run(
        [_tool("dbt-score"), "lint", "--manifest", str(manifest_path)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    output = re.sub(r"\x1b\[[0-9;]*m", "", proc.stdout + proc.stderr)
    score = _SCORE.search(output)
    summary = f"project score {score.group(1) if score else '?'}"
    lines = [summary, *[line for line in output.splitlines() if line.strip()][-40:]]
    return GateResult("dbt-score", proc.returncode == 0, lines)


def run_dbt_bouncer(config: Path) -> GateResult:
    """``dbt-bouncer`` with ``dbt-bouncer.yml``."""
    proc = subprocess.run(
        [_tool("dbt-bouncer"), "--config-file", str(config)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "COLUMNS": "200"},
    )
    output = re.sub(r"\x1b\[[0-9;]*m", "", proc.stdout + proc.stderr)
    lines = [line for line in output.splitlines() if line.strip()]
    done = [line for line in lines if "SUCCESS=" in line]
    if proc.returncode == 0:
        return GateResult("dbt-bouncer", True, done or lines[-1:])
    return GateResult("dbt-bouncer", False, lines[-60:])


def run_gates(target_path: Path) -> list[GateResult]:
    """Every governance gate on the artifacts in ``target_path``."""
    manifest = _load(target_path / "manifest.json")
    catalog = _load(target_path / "catalog.json")
    duckdb_file = PROJECT_ROOT / GOVERNANCE_WORKDIR / "warehouse.duckdb"
    results = [run_dbt_score(target_path / "manifest.json"), run_dbt_bouncer(BOUNCER_CONFIG)]
    for name, problems in (
        ("source columns documented", source_column_problems(manifest, catalog)),
        ("snapshots read staging", snapshot_upstream_problems(manifest)),
        ("personal data masked", personal_column_problems(manifest, catalog)),
        ("example queries run", example_query_problems(manifest, duckdb_file)),
        (
            "exceptions registered",
            exception_problems(
                manifest,
                (PROJECT_ROOT / BOUNCER_CONFIG).read_text(encoding="utf-8"),
                PROJECT_ROOT / EXCEPTIONS_REGISTER,
            ),
        ),
    ):
        results.append(GateResult(name, not problems, problems or ["ok"]))
    return results


def governance(*, reuse: bool = False) -> int:
    """Build the small warehouse (unless ``reuse`` and it exists), run every gate; 0 if all pass."""
    os.chdir(PROJECT_ROOT)
    target_path = PROJECT_ROOT / GOVERNANCE_TARGET
    if not (reuse and (target_path / "catalog.json").exists()):
        log.info("building a small warehouse for the governance checks in %s", GOVERNANCE_WORKDIR)
        build_small_warehouse(PROJECT_ROOT / GOVERNANCE_WORKDIR, target_path)
    results = run_gates(target_path)
    exceptions = len(registered_exceptions(PROJECT_ROOT / EXCEPTIONS_REGISTER))
    for result in results:
        log.log(
            logging.INFO if result.passed else logging.ERROR,
            "%s %s: %s",
            "PASS" if result.passed else "FAIL",
            result.name,
            result.details[0] if result.passed else "\n    " + "\n    ".join(result.details),
        )
    log.info("documented exceptions: %d (%s)", exceptions, EXCEPTIONS_REGISTER)
    return 0 if all(r.passed for r in results) else 1
