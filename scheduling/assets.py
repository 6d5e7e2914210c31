"""The warehouse as Dagster assets: source systems, raw tables (the loads) and dbt's nodes.

- ``source_system/<name>``: the three systems (external assets: Dagster only shows them);
- the raw tables, keyed exactly as dagster-dbt keys the dbt sources (``erp/customer``,
  ``crm/contacts``, ``carrier/shipment_events``...), one multi-asset per source that calls the
  project's own loader (:func:`orchestration.run.load_source`: lock, healing of interrupted
  packages, quarantine, contract checks, the demo CRM's API) — not ``@dlt_assets``, which
  would bypass all of that;
- dbt models, snapshots and seeds from the manifest (``@dbt_assets``), dbt tests as asset
  checks; ``dbt source freshness`` as one check per loaded table.

So the lineage reads source system → raw table → staging → ... → marts in one graph.

No ``from __future__ import annotations`` here: Dagster checks the ``context`` parameter's
annotation at definition time and a string annotation fails that check.
"""

import json
import logging
import shutil
import sys
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import Any

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckKey,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    AssetSpec,
    Backoff,
    Failure,
    MaterializeResult,
    MetadataValue,
    RetryPolicy,
    multi_asset,
    multi_asset_check,
)
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    dbt_assets,
)

from ingestion.crm.settings import CrmNotConfiguredError
from ingestion.runner import SchemaContractViolationError, warehouse_lock
from orchestration.pii_salt import write_salt
from orchestration.run import SOURCES, load_source
from scheduling import settings
from scheduling.manifest import manifest_path
from warehouse_settings import PROJECT_ROOT

log = logging.getLogger("warehouse.scheduling")

SOURCE_SYSTEMS = {
    "erp": "The ERP (TPC-H orders, customers, parts) in SQLite or PostgreSQL: `ERP_URL`.",
    "crm": "The CRM's HTTP API (contacts): `CRM_BASE_URL`, else the demo CRM started per load.",
    "carrier": "The carrier's daily JSON-lines files in the landing folder or a bucket.",
}

FRESHNESS_CHECK = "dbt_source_freshness"
"""Name of the check each loaded table gets from ``dbt source freshness``."""

PERMANENT_ERRORS: tuple[type[BaseException], ...] = (
    SchemaContractViolationError,
    CrmNotConfiguredError,
)
"""Failures a retry cannot fix: data that breaks the schema contract, a missing setting."""


class WarehouseTranslator(DagsterDbtTranslator):
    """dagster-dbt's default keys; groups named after the dbt layer (``staging``, ``marts``...)."""

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        """The node's first folder under ``models/`` (or its type: ``snapshots``, ``seeds``)."""
        fqn = dbt_resource_props.get("fqn") or []
        kind = dbt_resource_props.get("resource_type")
        if kind == "model" and len(fqn) > 2:
            return f"dbt_{fqn[1]}"
        return f"dbt_{kind}s"


TRANSLATOR = WarehouseTranslator(
    settings=DagsterDbtTranslatorSettings(enable_asset_checks=True),
)


@cache
def manifest() -> dict[str, Any]:
    """The parsed manifest (see :mod:`scheduling.manifest`)."""
    loaded: dict[str, Any] = json.loads(manifest_path().read_text())
    return loaded


def source_tables(source: str) -> dict[str, AssetKey]:
    """The dbt source's tables and their asset keys, as dagster-dbt keys them."""
    tables = {
        props["name"]: TRANSLATOR.get_asset_key(props)
        for props in manifest()["sources"].values()
        if props["source_name"] == source
    }
    if not tables:
        raise RuntimeError(f"the dbt manifest has no source {source!r}")
    return dict(sorted(tables.items()))


def freshness_tables() -> dict[str, AssetKey]:
    """``unique_id`` → asset key of each source table with a freshness rule."""
    out = {}
    for uid, props in manifest()["sources"].items():
        rule = props.get("freshness") or (props.get("config") or {}).get("freshness") or {}
        has_rule = any((rule.get(k) or {}).get("count") for k in ("warn_after", "error_after"))
        if has_rule and props["source_name"] in SOURCES:
            out[uid] = TRANSLATOR.get_asset_key(props)
    return dict(sorted(out.items()))


def source_system_key(source: str) -> AssetKey:
    """The asset key of a source system (``source_system/erp``)."""
    return AssetKey(["source_system", source])


def source_system_specs() -> list[AssetSpec]:
    """The three source systems: external assets, upstream of their raw tables."""
    return [
        AssetSpec(
            source_system_key(name),
            description=description,
            group_name="source_systems",
            kinds={"source"},
        )
        for name, description in SOURCE_SYSTEMS.items()
    ]


def retry_policy() -> RetryPolicy:
    """Retries of a load: exponential backoff from the configured delay, with jitter."""
    return RetryPolicy(
        max_retries=settings.retry_max(),
        delay=settings.retry_delay_seconds(),
        backoff=Backoff.EXPONENTIAL,
    )


def run_load(source: str, target: str) -> dict[str, Any]:
    """Run a loader; a failure no retry can fix becomes a Dagster ``Failure`` without retries.

    Other errors (the warehouse busy, the source unreachable, a crash) are raised as they
    are, so the step's :class:`~dagster.RetryPolicy` retries them.
    """
    try:
        return load_source(source, target)
    except PERMANENT_ERRORS as exc:
        raise Failure(
            description=f"the {source} load failed and a retry cannot fix it: {exc}",
            allow_retries=False,
        ) from exc


def load_assets(source: str) -> AssetsDefinition:
    """The raw tables of ``source`` as one multi-asset running the project's loader."""
    tables = source_tables(source)
    specs = [
        AssetSpec(
            key,
            deps=[source_system_key(source)],
            description=f"Raw table `raw_{source}.{table}`, loaded by dlt (`load {source}`).",
            group_name=f"raw_{source}",
            kinds={"dlt"},
        )
        for table, key in tables.items()
    ]

    @multi_asset(
        name=f"load_{source}",
        specs=specs,
        retry_policy=retry_policy(),
        description=f"`load {source}`: the project's dlt loader for the {source}.",
    )
    def _load(context: AssetExecutionContext) -> Iterator[MaterializeResult]:
        target = settings.target()
        context.log.info(f"loading {source} into {target}")
        summary = run_load(source, target)
        rows: dict[str, int] = summary.get("rows") or {}
        for table, key in tables.items():
            yield MaterializeResult(
                asset_key=key,
                metadata={
                    "rows_loaded": rows.get(table, 0),
                    "target": target,
                    "load_seconds": float(summary.get("seconds") or 0.0),
                },
            )

    return _load


def dbt_resource() -> DbtCliResource:
    """The dbt of this environment (``.venv/bin/dbt``), the project's profiles and target."""
    return DbtCliResource(
        project_dir=str(PROJECT_ROOT),
        profiles_dir=str(PROJECT_ROOT),
        target=settings.target(),
        dbt_executable=str(Path(sys.executable).with_name("dbt")),
    )


def build_target_path() -> Path:
    """The dbt target folder of the builds and freshness runs Dagster starts.

    One folder for all of them, seeded with the partial-parse file of the manifest's parse,
    so dbt does not parse the whole project again at every invocation (about 25 s here).
    """
    path = settings.dbt_dir() / "build"
    seed = settings.dbt_dir() / "partial_parse.msgpack"
    if not (path / seed.name).exists() and seed.exists():
        path.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(seed, path / seed.name)
    return path


def dbt_build_assets() -> AssetsDefinition:
    """Every dbt model, snapshot and seed of the manifest; dbt tests as asset checks."""

    @dbt_assets(
        manifest=manifest_path(),
        dagster_dbt_translator=TRANSLATOR,
        name="dbt_build",
    )
    def _dbt_build(context: AssetExecutionContext, dbt: DbtCliResource) -> Iterator[Any]:
        target = settings.target()
        with warehouse_lock(target):
            write_salt(target)  # the masking salt must be in the warehouse before any build
            invocation = dbt.cli(["build"], context=context, target_path=build_target_path())
            yield from invocation.stream()

    return _dbt_build


def _freshness_result(key: AssetKey, result: Mapping[str, Any] | None) -> AssetCheckResult:
    if result is None:
        return AssetCheckResult(
            asset_key=key,
            check_name=FRESHNESS_CHECK,
            passed=False,
            metadata={"status": "not run"},
        )
    status = str(result.get("status"))
    metadata: dict[str, Any] = {"status": status}
    if result.get("max_loaded_at"):
        metadata["max_loaded_at"] = str(result["max_loaded_at"])
    if result.get("max_loaded_at_time_ago_in_s") is not None:
        age = float(result["max_loaded_at_time_ago_in_s"])
        metadata["age_hours"] = MetadataValue.float(round(age / 3600, 2))
    return AssetCheckResult(
        asset_key=key,
        check_name=FRESHNESS_CHECK,
        passed=status == "pass",
        severity=AssetCheckSeverity.WARN if status == "warn" else AssetCheckSeverity.ERROR,
        metadata=metadata,
    )


def freshness_checks() -> Any:
    """``dbt source freshness`` as one check per loaded table (its warn/error rules)."""
    tables = freshness_tables()
    specs = [
        AssetCheckSpec(
            FRESHNESS_CHECK,
            asset=key,
            description="`dbt source freshness`: the newest load against warn_after/error_after.",
        )
        for key in tables.values()
    ]

    @multi_asset_check(specs=specs, can_subset=True, name="dbt_source_freshness")
    def _freshness(
        context: AssetCheckExecutionContext, dbt: DbtCliResource
    ) -> Iterator[AssetCheckResult]:
        selected = {
            uid: key
            for uid, key in tables.items()
            if AssetCheckKey(key, FRESHNESS_CHECK) in context.selected_asset_check_keys
        }
        # one value: dbt splits it on spaces (several values after --select break the CLI)
        select = " ".join(f"source:{uid.split('.', 2)[2]}" for uid in selected)
        target = settings.target()
        with warehouse_lock(target):
            write_salt(target)  # the project's on-run-start hooks run with freshness too
            invocation = dbt.cli(
                ["source", "freshness", "--select", select],
                target_path=build_target_path(),
                raise_on_error=False,
            ).wait()
        try:
            results = invocation.get_artifact("sources.json").get("results", [])
        except FileNotFoundError:
            results = []
        by_id = {r["unique_id"]: r for r in results}
        for uid, key in selected.items():
            yield _freshness_result(key, by_id.get(uid))

    return _freshness
