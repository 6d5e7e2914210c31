"""Pictures of the warehouse drawn from dbt's manifest: the star schema and the layer lineage.

``warehouse diagrams`` (``make diagrams``) reads ``target/manifest.json`` and writes

* ``docs/star_schema.svg``: the marts' facts and dimensions with their columns, and an
  arrow for each ``relationships`` test from one mart to another (the star's foreign keys);
* ``docs/lineage.svg``: every source, seed, snapshot, model and exposure in a column per
  layer (sources, staging, snapshots, intermediate, raw vault, business vault, marts,
  exposures), with the dependencies between them.

Plain SVG written by hand: no graphviz binary, no network, the same bytes for the same
manifest.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any

LAYERS: list[tuple[str, str]] = [
    ("sources", "sources (raw_*)"),
    ("staging", "staging"),
    ("snapshots", "snapshots"),
    ("intermediate", "intermediate"),
    ("raw_vault", "raw vault"),
    ("business_vault", "business vault"),
    ("marts", "marts"),
    ("exposures", "exposures"),
]
"""The lineage picture's columns, left to right: (layer key, heading)."""

LAYER_COLOURS = {
    "sources": "#6aa84f",
    "staging": "#3d85c6",
    "snapshots": "#8e7cc3",
    "intermediate": "#76a5af",
    "raw_vault": "#e69138",
    "business_vault": "#c27c0e",
    "marts": "#cc4125",
    "exposures": "#666666",
}

FONT = 'font-family="Helvetica, Arial, sans-serif"'
CHAR_WIDTH = 7.0  # average width of a 12 px character, for box sizes
ROW = 18  # height of one text row


def _text_width(text: str, size: float = 12) -> float:
    return len(text) * CHAR_WIDTH * size / 12


def layer_of(node: dict[str, Any]) -> str | None:
    """The layer of a manifest node, from its resource type and folder; None if not drawn."""
    kind = node.get("resource_type")
    if kind in {"source", "seed"}:
        return "sources"
    if kind == "snapshot":
        return "snapshots"
    if kind == "exposure":
        return "exposures"
    if kind != "model":
        return None
    path = str(node.get("original_file_path") or node.get("path") or "")
    parts = Path(path).parts
    folder = parts[1] if len(parts) > 2 and parts[0] == "models" else ""
    return folder if folder in dict(LAYERS) else "intermediate"


def _label(node: dict[str, Any]) -> str:
    if node.get("resource_type") == "source":
        return f"{node['source_name']}.{node['name']}"
    return str(node["name"])


def _svg(width: float, height: float, body: Iterable[str], title: str) -> str:
    return "\n".join(
        [
            '<?xml version="1.0" encoding="UTF-8"?>',
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
            f'viewBox="0 0 {width:.0f} {height:.0f}" {FONT} font-size="12">',
            f"<title>{escape(title)}</title>",
            '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
            'markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" '
            'fill="#555"/></marker></defs>',
            f'<rect width="{width:.0f}" height="{height:.0f}" fill="#ffffff"/>',
            *body,
            "</svg>",
            "",
        ]
    )


# --- lineage -------------------------------------------------------------------------------


def lineage_svg(manifest: dict[str, Any]) -> str:
    """The layer lineage picture of ``manifest`` as SVG text."""
    nodes: dict[str, dict[str, Any]] = {}
    for group in ("nodes", "sources", "exposures"):
        for unique_id, node in manifest.get(group, {}).items():
            if layer_of(node) is not None:
                nodes[unique_id] = node
    parents = {
        uid: [p for p in (node.get("depends_on") or {}).get("nodes", []) if p in nodes]
        for uid, node in nodes.items()
    }
    columns: dict[str, list[str]] = {key: [] for key, _ in LAYERS}
    for uid in sorted(nodes, key=lambda u: _label(nodes[u])):
        columns[str(layer_of(nodes[uid]))].append(uid)
    used = [key for key, _ in LAYERS if columns[key]]
    # Order each column by the mean position of its parents (fewer crossing edges).
    position: dict[str, float] = {}
    for key in used:
        column = columns[key]
        alphabetical = {uid: float(index) for index, uid in enumerate(column)}

        def rank(uid: str, alphabetical: dict[str, float] = alphabetical) -> tuple[float, str]:
            ranks = [position[p] for p in parents[uid] if p in position]
            mean = sum(ranks) / len(ranks) if ranks else alphabetical[uid]
            return (mean, _label(nodes[uid]))

        column.sort(key=rank)
        for index, uid in enumerate(column):
            position[uid] = float(index)

    box_h, gap_y, top, left, gap_x = 22, 8, 60, 20, 70
    widths = {
        key: max([_text_width(_label(nodes[u])) + 16 for u in columns[key]] + [110]) for key in used
    }
    x_of: dict[str, float] = {}
    x = float(left)
    for key in used:
        x_of[key] = x
        x += widths[key] + gap_x
    width = x - gap_x + left
    height = top + max(len(columns[k]) for k in used) * (box_h + gap_y) + 20 if used else 120
    centre: dict[str, tuple[float, float, float]] = {}  # uid -> (left x, right x, mid y)
    body: list[str] = []
    for key in used:
        heading = dict(LAYERS)[key]
        body.append(
            f'<text x="{x_of[key] + widths[key] / 2:.1f}" y="30" text-anchor="middle" '
            f'font-size="14" font-weight="bold" fill="{LAYER_COLOURS[key]}">'
            f"{escape(heading)}</text>"
        )
        for index, uid in enumerate(columns[key]):
            y = top + index * (box_h + gap_y)
            centre[uid] = (x_of[key], x_of[key] + widths[key], y + box_h / 2)
    for uid in nodes:
        for parent in parents[uid]:
            _, px, py = centre[parent]
            cx, _, cy = centre[uid]
            if px >= cx:  # same column (a model reading one of its own layer): arc on the left
                px, py = centre[parent][0], py
                bend = 40
                body.append(
                    f'<path class="edge" d="M {px:.1f} {py:.1f} C {px - bend:.1f} {py:.1f}, '
                    f'{cx - bend:.1f} {cy:.1f}, {cx:.1f} {cy:.1f}" fill="none" stroke="#999" '
                    'stroke-width="1" marker-end="url(#arrow)"/>'
                )
                continue
            mid = (px + cx) / 2
            body.append(
                f'<path class="edge" d="M {px:.1f} {py:.1f} C {mid:.1f} {py:.1f}, {mid:.1f} '
                f'{cy:.1f}, {cx:.1f} {cy:.1f}" fill="none" stroke="#999" stroke-width="1" '
                'marker-end="url(#arrow)"/>'
            )
    for key in used:
        for uid in columns[key]:
            x0, x1, mid_y = centre[uid]
            body.append(
                f'<g class="node" data-layer="{key}" data-id="{escape(uid)}">'
                f'<rect x="{x0:.1f}" y="{mid_y - box_h / 2:.1f}" width="{x1 - x0:.1f}" '
                f'height="{box_h}" rx="4" fill="{LAYER_COLOURS[key]}"/>'
                f'<text x="{x0 + 8:.1f}" y="{mid_y + 4:.1f}" fill="#ffffff">'
                f"{escape(_label(nodes[uid]))}</text></g>"
            )
    if not used:
        body.append('<text x="20" y="60">The manifest has no nodes to draw.</text>')
    return _svg(width if used else 400, height, body, "Lineage by layer")


# --- star schema ---------------------------------------------------------------------------

_REF = re.compile(r"""ref\(\s*['"]([^'"]+)['"]\s*\)""")


@dataclass
class Table:
    """A mart drawn as a box: name, columns, and which columns are keys."""

    unique_id: str
    name: str
    columns: list[tuple[str, str]]  # (name, data type or "")
    primary_key: set[str] = field(default_factory=set)
    foreign_keys: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class ForeignKey:
    """A relationships test between two marts: child.column references parent.field."""

    child: str
    column: str
    parent: str
    field: str


def _mart_tables(manifest: dict[str, Any]) -> dict[str, Table]:
    tables = {}
    for uid, node in manifest.get("nodes", {}).items():
        if node.get("resource_type") == "model" and layer_of(node) == "marts":
            columns = [
                (name, str(col.get("data_type") or ""))
                for name, col in (node.get("columns") or {}).items()
            ]
            tables[uid] = Table(uid, node["name"], columns)
    return tables


def _mart_tests(manifest: dict[str, Any], tables: dict[str, Table]) -> list[ForeignKey]:
    """Primary keys (unique tests) onto ``tables``; foreign keys from relationships tests."""
    by_name = {t.name: uid for uid, t in tables.items()}
    keys: set[ForeignKey] = set()
    for node in manifest.get("nodes", {}).values():
        meta = node.get("test_metadata") or {}
        child = node.get("attached_node")
        if node.get("resource_type") != "test" or child not in tables:
            continue
        kwargs = meta.get("kwargs") or {}
        column = str(node.get("column_name") or kwargs.get("column_name") or "")
        if meta.get("name") == "unique" and column:
            tables[child].primary_key.add(column)
        elif meta.get("name") == "unique_combination_of_columns":
            args = kwargs.get("combination_of_columns") or []
            tables[child].primary_key.update(str(c) for c in args)
        elif meta.get("name") == "relationships" and column:
            target = _REF.search(str(kwargs.get("to") or ""))
            parent = by_name.get(target.group(1)) if target else None
            if parent and parent != child:
                field_name = str(kwargs.get("field") or column)
                keys.add(ForeignKey(child, column, parent, field_name))
                tables[child].foreign_keys.add(column)
    return sorted(keys, key=lambda k: (k.child, k.column))


def star_schema_svg(manifest: dict[str, Any]) -> str:
    """The marts' star schema of ``manifest`` as SVG text."""
    tables = _mart_tables(manifest)
    keys = _mart_tests(manifest, tables)
    facts = sorted((t for t in tables.values() if t.name.startswith("fct_")), key=lambda t: t.name)
    dims = sorted(
        (t for t in tables.values() if not t.name.startswith("fct_")), key=lambda t: t.name
    )
    if not tables:
        body = [
            '<text x="20" y="40" font-size="14">No marts in the manifest yet: build the marts '
            "(models/marts/&lt;area&gt;/) and run `make diagrams` again.</text>"
        ]
        return _svg(760, 70, body, "Star schema")

    def box_width(t: Table) -> float:
        lines = [t.name, *(f"PK FK {c} {d}" for c, d in t.columns)]
        return max(_text_width(line) for line in lines) + 30

    def box_height(t: Table) -> float:
        return ROW * (len(t.columns) + 1) + 10

    # Facts in the middle column; dimensions alternate left and right.
    left_dims, right_dims = dims[0::2], dims[1::2]
    gap_x, gap_y, margin = 120, 24, 20
    col_w = [max([box_width(t) for t in group] + [0.0]) for group in (left_dims, facts, right_dims)]
    xs = [margin, margin + col_w[0] + gap_x, margin + col_w[0] + col_w[1] + 2 * gap_x]
    if not left_dims:
        xs = [margin, margin, margin + col_w[1] + gap_x]
    place: dict[str, tuple[float, float, float]] = {}  # uid -> (x, y, width)
    height = 0.0
    for group, x, w in zip((left_dims, facts, right_dims), xs, col_w, strict=True):
        y = 50.0
        for table in group:
            place[table.unique_id] = (x, y, w)
            y += box_height(table) + gap_y
        height = max(height, y)
    width = max(x + w for x, _, w in place.values()) + margin
    body = [
        '<text x="20" y="28" font-size="16" font-weight="bold">Star schema (marts)</text>',
    ]

    def row_y(table: Table, column: str) -> float:
        names = [c for c, _ in table.columns]
        index = names.index(column) if column in names else -1
        return place[table.unique_id][1] + ROW * (index + 1) + ROW / 2 + 5

    for key in keys:
        child, parent = tables[key.child], tables[key.parent]
        cx, _, cw = place[child.unique_id]
        px, _, pw = place[parent.unique_id]
        y1, y2 = row_y(child, key.column), row_y(parent, key.field)
        if px >= cx:
            x1, x2 = cx + cw, px
        else:
            x1, x2 = cx, px + pw
        mid = (x1 + x2) / 2
        body.append(
            f'<path class="fk" data-from="{escape(child.name)}.{escape(key.column)}" '
            f'data-to="{escape(parent.name)}.{escape(key.field)}" '
            f'd="M {x1:.1f} {y1:.1f} C {mid:.1f} {y1:.1f}, {mid:.1f} {y2:.1f}, {x2:.1f} {y2:.1f}" '
            'fill="none" stroke="#555" stroke-width="1.2" marker-end="url(#arrow)"/>'
        )
    for table in [*facts, *dims]:
        x, y, w = place[table.unique_id]
        colour = LAYER_COLOURS["marts"] if table in facts else LAYER_COLOURS["staging"]
        kind = "fact" if table in facts else "dimension"
        body.append(f'<g class="table" data-kind="{kind}" data-name="{escape(table.name)}">')
        body.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{box_height(table):.1f}" '
            f'rx="4" fill="#ffffff" stroke="{colour}" stroke-width="1.5"/>'
        )
        body.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{ROW + 4}" rx="4" '
            f'fill="{colour}"/>'
        )
        body.append(
            f'<text x="{x + 8:.1f}" y="{y + ROW - 2:.1f}" fill="#ffffff" font-weight="bold">'
            f"{escape(table.name)}</text>"
        )
        for index, (column, data_type) in enumerate(table.columns):
            cy = y + ROW * (index + 2) + 1
            marks = " ".join(
                mark
                for mark, on in (
                    ("PK", column in table.primary_key),
                    ("FK", column in table.foreign_keys),
                )
                if on
            )
            weight = ' font-weight="bold"' if column in table.primary_key else ""
            body.append(
                f'<text x="{x + 8:.1f}" y="{cy:.1f}"{weight}>'
                f'<tspan fill="#999">{escape(marks or "")}</tspan> {escape(column)}'
                f'<tspan fill="#777"> {escape(data_type)}</tspan></text>'
            )
        body.append("</g>")
    return _svg(width, height + 10, body, "Star schema")


def write_diagrams(manifest_path: Path, out_dir: Path) -> list[Path]:
    """Write ``star_schema.svg`` and ``lineage.svg`` for ``manifest_path`` into ``out_dir``."""
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, svg in (
        ("star_schema.svg", star_schema_svg(manifest)),
        ("lineage.svg", lineage_svg(manifest)),
    ):
        path = out_dir / name
        path.write_text(svg, encoding="utf-8")
        written.append(path)
    return written
