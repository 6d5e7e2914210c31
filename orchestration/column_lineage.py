"""Column-level lineage of every model and snapshot, from dbt's manifest and catalog, offline.

``warehouse column-lineage`` (also run by ``warehouse demo`` after ``dbt docs generate``)
reads ``manifest.json`` and ``catalog.json`` from dbt's target folder and writes, beside
the docs site's ``index.html`` (so ``dbt docs serve`` serves them too):

* ``column_lineage.json``: every column of every source, seed, snapshot and model, and one
  edge per (upstream relation column, downstream model column) pair: the columns a model's
  column is computed from, in its direct parents;
* ``column_lineage.html``: a self-contained page (data inline, no network) to search a
  model or column and walk its upstream and downstream columns to the sources and marts.

How: each node's compiled SQL (from the manifest) is qualified by sqlglot with a schema built
from the catalog (the columns of every relation dbt built or reads), so ``select *``, CTE
chains, subqueries and ``union all`` resolve to physical columns; ``sqlglot.lineage`` then
walks each output column back to the relations it reads. A column computed from no column
(a literal, ``current_timestamp``, a snapshot's ``dbt_valid_from``) has no edge and is
counted as such; a column whose lineage cannot be walked to a known column is *unresolved*,
listed with the reason, and counted. Reads of a model's own earlier rows (the ``{{ this }}``
of an incremental model) are not edges. Relations outside dbt (the masking salt table) are
kept as ``external`` nodes with the columns the SQL reads from them.

Only the SELECT list is lineage: columns used in joins, filters or grouping alone are not
edges (that is what sqlglot's lineage, and dbt's own column lineage, mean by it).
"""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlglot import Schema, exp, parse_one
from sqlglot.errors import SqlglotError
from sqlglot.lineage import Node, lineage, to_node
from sqlglot.optimizer.scope import traverse_scope
from sqlglot.schema import ensure_schema

from orchestration.diagrams import layer_of
from warehouse_settings import PROJECT_ROOT

JSON_NAME = "column_lineage.json"
HTML_NAME = "column_lineage.html"

SNAPSHOT_META_COLUMNS = frozenset(
    {"dbt_scd_id", "dbt_updated_at", "dbt_valid_from", "dbt_valid_to", "dbt_is_deleted"}
)
"""Columns ``dbt snapshot`` adds itself: computed from no column of the snapshot's query."""

RelationKey = tuple[str, str, str]
"""(database, schema, identifier), lower case: how SQL names a relation."""


@dataclass
class LineageResult:
    """Every relation's columns, the column edges, and what could not be resolved."""

    nodes: dict[str, dict[str, Any]] = field(default_factory=dict)
    """unique id -> {name, resource_type, layer, relation, columns: [names]}."""
    edges: set[tuple[str, str, str, str]] = field(default_factory=set)
    """(upstream unique id, upstream column, downstream unique id, downstream column)."""
    constant: list[tuple[str, str]] = field(default_factory=list)
    """(unique id, column) computed from no column: literals, clocks, dbt snapshot columns."""
    unresolved: list[dict[str, str]] = field(default_factory=list)
    """{node, column, reason}: columns whose lineage could not be walked to known columns."""

    def to_json(self) -> dict[str, Any]:
        """The result as a JSON-ready dictionary (sorted: the same bytes for the same input)."""
        columns = sum(
            len(n["columns"])
            for n in self.nodes.values()
            if n["resource_type"] in {"model", "snapshot"}
        )
        return {
            "summary": {
                "models": sum(
                    1 for n in self.nodes.values() if n["resource_type"] in {"model", "snapshot"}
                ),
                "model_columns": columns,
                "edges": len(self.edges),
                "constant_columns": len(self.constant),
                "unresolved_columns": len(self.unresolved),
            },
            "nodes": {uid: self.nodes[uid] for uid in sorted(self.nodes)},
            "edges": [list(edge) for edge in sorted(self.edges)],
            "constant": [list(item) for item in sorted(self.constant)],
            "unresolved": sorted(self.unresolved, key=lambda u: (u["node"], u["column"])),
        }


def _key(database: str | None, schema: str | None, name: str | None) -> RelationKey:
    return ((database or "").lower(), (schema or "").lower(), (name or "").lower())


def _label(node: dict[str, Any]) -> str:
    if node.get("resource_type") == "source":
        return f"{node['source_name']}.{node['name']}"
    return str(node["name"])


def _relations(
    manifest: dict[str, Any], catalog: dict[str, Any]
) -> tuple[dict[RelationKey, str], dict[str, dict[str, Any]]]:
    """Map each relation to its unique id; describe every node with the catalog's columns."""
    by_relation: dict[RelationKey, str] = {}
    nodes: dict[str, dict[str, Any]] = {}
    catalog_nodes = {**catalog.get("sources", {}), **catalog.get("nodes", {})}
    wanted = {"model", "snapshot", "seed", "source"}
    for group in ("nodes", "sources"):
        for uid, node in manifest.get(group, {}).items():
            if node.get("resource_type") not in wanted:
                continue
            if node.get("config", {}).get("materialized") == "ephemeral":
                continue
            identifier = node.get("identifier") or node.get("alias") or node["name"]
            key = _key(node.get("database"), node.get("schema"), identifier)
            by_relation[key] = uid
            entry = catalog_nodes.get(uid)
            if entry:
                ordered = sorted(entry["columns"].values(), key=lambda c: c["index"])
                columns = {c["name"].lower(): str(c["type"]) for c in ordered}
            else:  # not built (yet): the documented columns, without types
                columns = {c.lower(): "" for c in node.get("columns", {})}
            nodes[uid] = {
                "name": _label(node),
                "resource_type": node["resource_type"],
                "layer": layer_of(node) or "",
                "relation": ".".join(key),
                "types": columns,
            }
    return by_relation, nodes


def _schema(nodes: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The nested schema sqlglot takes: {database: {schema: {table: {column: type}}}}."""
    schema: dict[str, Any] = {}
    for node in nodes.values():
        database, db, table = node["relation"].split(".", 2)
        types = {c: (t or "unknown") for c, t in node["types"].items()}
        schema.setdefault(database, {}).setdefault(db, {})[table] = types
    return schema


def _external_tables(
    expression: exp.Expr, known: set[RelationKey], database: str
) -> dict[RelationKey, set[str]]:
    """Relations the SQL reads that dbt does not know, with the columns read from them.

    sqlglot refuses to qualify a scalar subquery over a relation without a schema (the salt
    table of the ``mask_pii`` macro), so such relations get one: the columns the SQL selects
    from them in single-relation selects, or names with their alias.
    """
    found: dict[RelationKey, set[str]] = {}
    for table in expression.find_all(exp.Table):
        if not table.name or not table.db:
            continue  # a CTE or a table function
        key = _key(table.catalog or database, table.db, table.name)
        if key in known:
            continue
        columns = found.setdefault(key, set())
        select = table.find_ancestor(exp.Select)
        if select is None:
            continue
        alias = table.alias_or_name
        single = not select.args.get("joins")
        for column in select.find_all(exp.Column):
            if column.table == alias or (single and not column.table):
                columns.add(column.name.lower())
    return found


def _table_function_inputs(table: exp.Table, schema: Schema, dialect: str) -> list[Node]:
    """Lineage nodes of the columns a table function in FROM takes as arguments.

    sqlglot's lineage stops at such a function (``generate_series(first, last, step)`` of the
    PIT tables' date spines); each column argument is added to the enclosing select as an
    extra projection, walked from there, and the projection removed again.
    """
    function = table.this
    select = table.find_ancestor(exp.Select)
    arguments = [column.copy() for column in function.find_all(exp.Column)]
    if select is None or not arguments:
        return []
    original = list(select.expressions)
    names = [f"_lineage_argument_{index}" for index in range(len(arguments))]
    try:
        for name, argument in zip(names, arguments, strict=True):
            select.select(exp.alias_(argument, name), copy=False)
        scope = next(s for s in traverse_scope(table.root()) if s.expression is select)
        return [to_node(name, scope, dialect, schema=schema) for name in names]
    finally:
        select.set("expressions", original)


def _leaf_column(node: Node, dialect: str) -> str:
    """The column name of a lineage leaf named ``alias.column``."""
    parsed = parse_one(node.name, dialect=dialect)
    return parsed.name.lower() if isinstance(parsed, exp.Column) else node.name.lower()


def _node_lineage(
    uid: str,
    node: dict[str, Any],
    sql: str,
    result: LineageResult,
    by_relation: dict[RelationKey, str],
    schema: dict[str, Any],
    dialect: str,
    database: str,
) -> None:
    """Add the edges of one model or snapshot to ``result``."""
    output = result.nodes[uid]
    try:
        expression = parse_one(sql, dialect=dialect)
        external = _external_tables(expression, set(by_relation), database)
        for key, columns in external.items():
            ext_uid = f"external.{'.'.join(key)}"
            by_relation[key] = ext_uid
            entry = result.nodes.setdefault(
                ext_uid,
                {
                    "name": ".".join(key[1:]),
                    "resource_type": "external",
                    "layer": "external",
                    "relation": ".".join(key),
                    "types": {},
                },
            )
            for column in sorted(columns):
                entry["types"].setdefault(column, "")
            schema.setdefault(key[0], {}).setdefault(key[1], {})[key[2]] = {
                c: (t or "unknown") for c, t in entry["types"].items()
            }
        sqlglot_schema = ensure_schema(schema, dialect=dialect)
        # trim_selects=False: no trimmed copy of each step's select (nothing here reads
        # ``Node.source``), which was most of the time (a deep copy per column and step).
        graphs = lineage(
            None,
            expression,
            sqlglot_schema,
            dialect=dialect,
            catalog=database,
            trim_selects=False,
            copy=False,
        )
    except (SqlglotError, ValueError, KeyError) as error:
        for column in output["types"]:
            result.unresolved.append(
                {"node": uid, "column": column, "reason": f"{type(error).__name__}: {error}"}
            )
        return
    graphs = {name.lower(): graph for name, graph in graphs.items()}
    for column in output["types"]:
        graph = graphs.get(column)
        if graph is None:
            if node["resource_type"] == "snapshot" and column in SNAPSHOT_META_COLUMNS:
                result.constant.append((uid, column))
            else:
                result.unresolved.append(
                    {"node": uid, "column": column, "reason": "not in the query's output"}
                )
            continue
        upstream: set[tuple[str, str]] = set()
        problems: list[str] = []
        pending = [graph]
        while pending:
            step = pending.pop()
            if step.downstream:
                pending.extend(step.downstream)
                continue
            if step.name == "*":
                problems.append("a `select *` sqlglot could not expand")
            elif isinstance(step.expression, exp.Table) and isinstance(
                step.expression.this, exp.Func
            ):
                # A table function (generate_series): its inputs are the columns of its
                # arguments (none for a spine of literals).
                pending.extend(_table_function_inputs(step.expression, sqlglot_schema, dialect))
            elif isinstance(step.expression, exp.Table):
                table = step.expression
                key = _key(table.catalog or database, table.db, table.name)
                parent = by_relation.get(key)
                name = _leaf_column(step, dialect)
                if parent is None:
                    problems.append(f"{'.'.join(key)}.{name}: relation unknown")
                elif parent == uid:
                    continue  # the incremental model's own earlier rows
                elif name not in result.nodes[parent]["types"]:
                    problems.append(f"{result.nodes[parent]['name']}.{name}: no such column")
                else:
                    upstream.add((parent, name))
            elif isinstance(step.expression, exp.Placeholder):
                problems.append(f"{step.name}: source unknown")
            # else: a step computed from no column (a literal, a clock): no edge
        if problems:
            result.unresolved.append(
                {"node": uid, "column": column, "reason": "; ".join(sorted(set(problems)))}
            )
        if not upstream and not problems:
            result.constant.append((uid, column))
        for parent, name in upstream:
            result.edges.add((parent, name, uid, column))


def column_lineage(manifest: dict[str, Any], catalog: dict[str, Any]) -> LineageResult:
    """The column lineage of every model and snapshot of ``manifest`` (columns: ``catalog``)."""
    dialect = str(manifest.get("metadata", {}).get("adapter_type") or "duckdb")
    by_relation, nodes = _relations(manifest, catalog)
    schema = _schema(nodes)
    result = LineageResult(nodes=nodes)
    databases = Counter(
        n.get("database", "") for n in manifest["nodes"].values() if n.get("database")
    )
    database = databases.most_common(1)[0][0].lower() if databases else ""
    for uid in sorted(manifest["nodes"]):
        node = manifest["nodes"][uid]
        if uid not in nodes or node["resource_type"] not in {"model", "snapshot"}:
            continue
        sql = node.get("compiled_code")
        if not sql:
            for column in nodes[uid]["types"]:
                result.unresolved.append(
                    {"node": uid, "column": column, "reason": "no compiled SQL"}
                )
            continue
        _node_lineage(uid, node, sql, result, by_relation, schema, dialect, database)
    for entry in result.nodes.values():
        entry["columns"] = list(entry.pop("types"))
    return result


def target_dir() -> Path:
    """The dbt target folder: ``DBT_TARGET_PATH`` if set, else ``target/`` of the project."""
    path = Path(os.environ.get("DBT_TARGET_PATH") or "target")
    return path if path.is_absolute() else PROJECT_ROOT / path


def write_column_lineage(target: Path | None = None) -> dict[str, Any]:
    """Write ``column_lineage.json`` and ``column_lineage.html`` into dbt's target folder.

    Reads ``manifest.json`` and ``catalog.json`` there (``dbt docs generate`` writes both);
    returns the summary (models, columns, edges, constant and unresolved columns).
    """
    folder = target or target_dir()
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    catalog = json.loads((folder / "catalog.json").read_text(encoding="utf-8"))
    data = column_lineage(manifest, catalog).to_json()
    (folder / JSON_NAME).write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    (folder / HTML_NAME).write_text(render_html(data), encoding="utf-8")
    return dict(data["summary"])


def render_html(data: dict[str, Any]) -> str:
    """The self-contained lineage page for ``data`` (the JSON written beside it)."""
    payload = json.dumps(data, separators=(",", ":")).replace("</", "<\\/")
    template = (Path(__file__).parent / "column_lineage.html").read_text(encoding="utf-8")
    return template.replace("/*LINEAGE_DATA*/null", payload)
