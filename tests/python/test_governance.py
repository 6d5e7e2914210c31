"""The governance helpers: exception register, source columns, example queries."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from orchestration.governance import (
    BOUNCER_CONFIG,
    EXCEPTIONS_REGISTER,
    example_queries,
    exception_problems,
    personal_column_problems,
    registered_exceptions,
    snapshot_upstream_problems,
    source_column_problems,
)
from source_systems.erp.database import PROJECT_ROOT

REGISTER = """# Governance exceptions

| id | gate | covers | reason |
|---|---|---|---|
| E1 | x | y | the reason |
| E2 | x | y | another reason |
"""


def _manifest(meta: dict[str, Any] | None = None) -> dict[str, Any]:
    node = {"unique_id": "model.p.stg_a", "resource_type": "model", "config": {"meta": meta or {}}}
    return {"nodes": {"model.p.stg_a": node}, "sources": {}}


def test_every_exception_needs_an_entry_and_every_entry_a_use(tmp_path: Path) -> None:
    register = tmp_path / "exceptions.md"
    register.write_text(REGISTER)
    assert registered_exceptions(register) == {"E1", "E2"}
    # E1 is cited by the governance module itself; E2 by a node; E3 by the config.
    skip: dict[str, Any] = {"dbt-bouncer": {"skip_checks": ["check_model_max_fanout"]}}
    ok = exception_problems(_manifest({**skip, "governance_exception": "E2"}), "", register)
    assert ok == []
    problems = exception_problems(_manifest(skip), "description: Exception E3", register)
    assert any("without an exception id" in p for p in problems)
    assert any("E3 is used but not in" in p for p in problems)
    assert any("E2 is in" in p and "nothing uses it" in p for p in problems)


def test_the_project_register_matches_the_project() -> None:
    config = (PROJECT_ROOT / BOUNCER_CONFIG).read_text()
    manifest: dict[str, Any] = {"nodes": {}, "sources": {}}
    assert exception_problems(manifest, config, PROJECT_ROOT / EXCEPTIONS_REGISTER) == []


def test_source_columns_must_be_in_the_yaml_and_described() -> None:
    manifest = {
        "sources": {
            "source.p.erp.orders": {
                "columns": {"o_orderkey": {"description": "key"}, "o_comment": {"description": ""}}
            }
        }
    }
    catalog: dict[str, Any] = {
        "sources": {
            "source.p.erp.orders": {"columns": {"O_ORDERKEY": {}, "o_comment": {}, "_dlt_id": {}}}
        }
    }
    problems = source_column_problems(manifest, catalog)
    assert problems == [
        "source.p.erp.orders: column o_comment has no description",
        "source.p.erp.orders: column _dlt_id is not in the source YAML",
    ]


def test_example_queries_are_read_from_model_descriptions() -> None:
    manifest = {
        "nodes": {
            "model.p.a": {
                "resource_type": "model",
                "name": "a",
                "description": "Text.\n\n```sql\nselect 1\n```\n",
            },
            "model.p.b": {"resource_type": "model", "name": "b", "description": "none"},
        }
    }
    assert example_queries(manifest) == {"a": ["select 1"]}


def test_snapshots_must_read_one_staging_model() -> None:
    def snapshot(parents: list[str]) -> dict[str, object]:
        return {"resource_type": "snapshot", "depends_on": {"nodes": parents}}

    manifest = {
        "nodes": {
            "snapshot.p.snap_ok": snapshot(["model.p.stg_erp__customers"]),
            "snapshot.p.snap_source": snapshot(["source.p.erp.customer"]),
            "snapshot.p.snap_mart": snapshot(["model.p.dim_customers"]),
            "snapshot.p.snap_two": snapshot(["model.p.stg_a__x", "model.p.stg_b__y"]),
            "model.p.dim_customers": {"resource_type": "model", "depends_on": {"nodes": []}},
        }
    }
    problems = snapshot_upstream_problems(manifest)
    assert [p.split()[0] for p in problems] == [
        "snapshot.p.snap_mart",
        "snapshot.p.snap_source",
        "snapshot.p.snap_two",
    ]


def test_case13_personal_source_columns_must_not_reach_a_model_unmasked() -> None:
    pii = {"config": {"meta": {"contains_pii": True, "masking": "none"}}}
    manifest: dict[str, Any] = {
        "sources": {
            "source.p.carrier.events": {"columns": {"signed_by": pii, "event_id": {}}},
        },
        "nodes": {
            "model.p.stg_events": {
                "resource_type": "model",
                "columns": {
                    "signed_by_hash": {
                        "config": {"meta": {"contains_pii": True, "masking": "salted_sha256"}}
                    },
                    "note": pii,
                },
            },
        },
    }
    catalog: dict[str, Any] = {
        "nodes": {
            "model.p.stg_events": {"columns": {"event_id": {}, "signed_by_hash": {}}},
            "model.p.fct_events": {"columns": {"event_id": {}, "SIGNED_BY": {}}},
        }
    }
    assert personal_column_problems(manifest, catalog) == [
        "model.p.fct_events: column SIGNED_BY is the personal column of "
        "source.p.carrier.events, unmasked",
        "model.p.stg_events: column note holds personal data, unmasked",
    ]
