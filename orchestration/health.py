"""``warehouse health``: one HTML page with the warehouse's run history and quality scorecard.

It reads the observability marts (``marts/observability``: views over schema ``ops``, so always
current) of the DuckDB or PostgreSQL warehouse and writes a self-contained page (inline SVG, no
script, no network) to ``target/health/index.html`` by default:

* the sources' health (last successful load and build, freshness) as a table;
* dbt run durations per invocation, and tests failed or warned per build;
* rows loaded per day and source, and rows per loader run;
* the quality scorecard: the mean score of each of the six dimensions per day, and the latest
  day's scores per table and dimension as a coloured table.

With ``--build`` it first runs ``dbt run --select staging.ops+`` (the views, when the warehouse
was built before they existed).
"""

from __future__ import annotations

import html
import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from warehouse_settings import PROJECT_ROOT

log = logging.getLogger("warehouse.health")

DEFAULT_OUTPUT = Path("target/health/index.html")
"""Where the page goes (relative to the project root)."""

OBSERVABILITY_SELECTOR = "staging.ops+"
"""dbt selection of the observability models (the ops staging views and all they feed)."""

DIMENSIONS = ("accuracy", "completeness", "consistency", "timeliness", "validity", "uniqueness")
"""The six quality dimensions, in the order the page shows them."""

PALETTE = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1")

QUERIES = {
    "sources": (
        "select source_name, loads, loads_failed, last_successful_load_at, "
        "last_successful_build_at, is_fresh from marts.dim_warehouse_sources order by 1"
    ),
    "invocations": (
        "select started_at, dbt_command, duration_seconds, invocation_status, tests_failed, "
        "tests_warned from marts.fct_dbt_invocations order by started_at"
    ),
    "rows_per_day": (
        "select load_date, source_name, sum(rows_loaded) as rows_loaded from marts.fct_dlt_loads "
        "where load_status = 'ok' group by load_date, source_name order by 1, 2"
    ),
    "loads": (
        "select finished_at, source_name, rows_loaded, duration_seconds, load_status "
        "from marts.fct_dlt_loads order by finished_at"
    ),
    "scores_per_day": (
        "select score_date, quality_dimension, avg(quality_score) as score "
        "from marts.fct_quality_scores group by 1, 2 order by 1, 2"
    ),
    "latest_scores": (
        "select table_label, quality_dimension, quality_score, checks, checks_failed "
        "from marts.fct_quality_scores "
        "where score_date = (select max(score_date) from marts.fct_quality_scores) "
        "order by 1, 2"
    ),
}
"""What the page shows, one query per part (plain SQL both adapters run)."""


def fetch(target: str) -> dict[str, list[dict[str, Any]]]:
    """Run :data:`QUERIES` on the ``target`` warehouse; rows as dicts."""
    if target == "duckdb":
        import duckdb

        from ingestion.destinations import duckdb_path

        # Same configuration as dbt's in-process connection (DuckDB refuses a second one in
        # the process that differs, e.g. after --build), so not read-only; it only reads.
        with duckdb.connect(str(duckdb_path())) as conn:
            out = {}
            for name, sql in QUERIES.items():
                cursor = conn.execute(sql)
                names = [d[0] for d in cursor.description]
                out[name] = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
            return out
    from ingestion.destinations import PostgresSettings

    conn = PostgresSettings.from_env().connect()
    try:
        out = {}
        with conn.cursor() as cur:
            for name, sql in QUERIES.items():
                cur.execute(sql)
                names = [d[0] for d in cur.description]
                out[name] = [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
        return out
    finally:
        conn.close()


def _esc(value: object) -> str:
    return html.escape("" if value is None else str(value))


def bar_chart(
    title: str,
    labels: Sequence[str],
    series: dict[str, Sequence[float]],
    *,
    unit: str = "",
    width: int = 760,
    height: int = 260,
) -> str:
    """An SVG grouped bar chart: one group per label, one bar per series."""
    left, right, top, bottom = 60, 10, 30, 60
    plot_w, plot_h = width - left - right, height - top - bottom
    top_value = max([v for values in series.values() for v in values] + [0]) or 1
    group_w = plot_w / max(len(labels), 1)
    bar_w = max(group_w * 0.8 / max(len(series), 1), 1)
    parts = [f'<text x="{left}" y="18" class="title">{_esc(title)}</text>']
    for tick in range(5):
        value = top_value * tick / 4
        y = top + plot_h - plot_h * tick / 4
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
        )
        parts.append(
            f'<text x="{left - 4}" y="{y + 4:.1f}" class="axis" text-anchor="end">'
            f"{value:,.{0 if top_value >= 10 else 2}f}{_esc(unit)}</text>"
        )
    for index, (name, values) in enumerate(series.items()):
        colour = PALETTE[index % len(PALETTE)]
        for position, value in enumerate(values):
            x = left + position * group_w + group_w * 0.1 + index * bar_w
            h = plot_h * (value or 0) / top_value
            parts.append(
                f'<rect x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{bar_w:.1f}" '
                f'height="{h:.1f}" fill="{colour}"><title>{_esc(name)} {_esc(labels[position])}: '
                f"{value:,.2f}{_esc(unit)}</title></rect>"
            )
    step = max(1, len(labels) // 12)
    for position, label in enumerate(labels):
        if position % step == 0:
            x = left + position * group_w + group_w / 2
            parts.append(
                f'<text x="{x:.1f}" y="{top + plot_h + 14}" class="axis" '
                f'text-anchor="middle">{_esc(label)}</text>'
            )
    parts += _legend(list(series), left, height - 18)
    return _svg(title, width, height, parts)


def coloured_bars(
    title: str,
    labels: Sequence[str],
    values: Sequence[float],
    kinds: Sequence[str],
    *,
    unit: str = "",
) -> str:
    """One bar per label, coloured by its kind (a command, a source), with a legend of kinds."""
    names = sorted(set(kinds))
    chart = bar_chart(title, labels, {"all": values}, unit=unit)
    for position, kind in enumerate(kinds):
        colour = PALETTE[names.index(kind) % len(PALETTE)]
        chart = chart.replace(
            f'fill="{PALETTE[0]}"><title>all {_esc(labels[position])}:',
            f'fill="{colour}"><title>{_esc(kind)} {_esc(labels[position])}:',
            1,
        )
    legend_start = chart.rfind('<rect x="60"')
    legend = "\n".join(_legend(names, 60, 260 - 18))
    return chart[:legend_start] + legend + "\n</svg>"


def line_chart(
    title: str,
    labels: Sequence[str],
    series: dict[str, Sequence[float | None]],
    *,
    y_max: float = 1.0,
    width: int = 760,
    height: int = 260,
) -> str:
    """An SVG line chart with markers (a single day is a row of dots); y from 0 to ``y_max``."""
    left, right, top, bottom = 60, 10, 30, 60
    plot_w, plot_h = width - left - right, height - top - bottom
    parts = [f'<text x="{left}" y="18" class="title">{_esc(title)}</text>']
    for tick in range(5):
        y = top + plot_h - plot_h * tick / 4
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
        )
        parts.append(
            f'<text x="{left - 4}" y="{y + 4:.1f}" class="axis" text-anchor="end">'
            f"{y_max * tick / 4:.2f}</text>"
        )
    count = max(len(labels), 1)

    def x_of(position: int) -> float:
        return left + plot_w * (position + 0.5) / count

    for index, (name, values) in enumerate(series.items()):
        colour = PALETTE[index % len(PALETTE)]
        points = [
            (x_of(p), top + plot_h - plot_h * v / y_max)
            for p, v in enumerate(values)
            if v is not None
        ]
        if len(points) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
            parts.append(
                f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>'
            )
        for (x, y), value in zip(points, [v for v in values if v is not None], strict=True):
            parts.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{colour}">'
                f"<title>{_esc(name)}: {value:.3f}</title></circle>"
            )
    step = max(1, len(labels) // 10)
    for position, label in enumerate(labels):
        if position % step == 0:
            parts.append(
                f'<text x="{x_of(position):.1f}" y="{top + plot_h + 14}" class="axis" '
                f'text-anchor="middle">{_esc(label)}</text>'
            )
    parts += _legend(list(series), left, height - 18)
    return _svg(title, width, height, parts)


def _legend(names: list[str], x: float, y: float) -> list[str]:
    parts = []
    for index, name in enumerate(names):
        colour = PALETTE[index % len(PALETTE)]
        left = x + index * 110
        parts.append(f'<rect x="{left}" y="{y - 9}" width="10" height="10" fill="{colour}"/>')
        parts.append(f'<text x="{left + 14}" y="{y}" class="axis">{_esc(name)}</text>')
    return parts


def _svg(title: str, width: int, height: int, parts: Iterable[str]) -> str:
    body = "\n".join(parts)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{_esc(title)}" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}">\n{body}\n</svg>'
    )


def _table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "<p>No rows yet.</p>"
    head = "".join(f"<th>{_esc(name)}</th>" for name in rows[0])
    body = "".join(
        "<tr>" + "".join(f"<td>{_esc(value)}</td>" for value in row.values()) + "</tr>"
        for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _score_colour(score: float) -> str:
    """Red (0) through yellow to green (1)."""
    red = int(220 * min(1.0, 2 * (1 - score)))
    green = int(180 * min(1.0, 2 * score))
    return f"rgb({red},{green},80)"


def _scorecard_table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "<p>No quality checks recorded yet.</p>"
    cells: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    for row in rows:
        cells[row["table_label"]][row["quality_dimension"]] = row
    head = "".join(f"<th>{d}</th>" for d in DIMENSIONS)
    lines = []
    for table_label in sorted(cells):
        tds = []
        for dimension in DIMENSIONS:
            cell = cells[table_label].get(dimension)
            if cell is None:
                tds.append("<td></td>")
                continue
            score = float(cell["quality_score"])
            tds.append(
                f'<td style="background:{_score_colour(score)};color:#fff" '
                f'title="{cell["checks"]} checks, {cell["checks_failed"]} failed">{score:.2f}</td>'
            )
        lines.append(f"<tr><th>{_esc(table_label)}</th>{''.join(tds)}</tr>")
    return f"<table class='scores'><tr><th>table</th>{head}</tr>{''.join(lines)}</table>"


def _day(value: object) -> str:
    return str(value)[:10]


def render(data: dict[str, list[dict[str, Any]]]) -> str:
    """The page's HTML for the rows :func:`fetch` returned."""
    invocations = data["invocations"]
    run_labels = [str(r["started_at"])[5:16] for r in invocations]
    durations = coloured_bars(
        "dbt run duration per invocation (seconds)",
        run_labels,
        [float(r["duration_seconds"] or 0) for r in invocations],
        [str(r["dbt_command"]) for r in invocations],
        unit=" s",
    )
    builds = [r for r in invocations if r["dbt_command"] in {"build", "test"}]
    failures = bar_chart(
        "Tests failed and warned per build",
        [str(r["started_at"])[5:16] for r in builds],
        {
            "failed": [float(r["tests_failed"]) for r in builds],
            "warned": [float(r["tests_warned"]) for r in builds],
        },
    )
    days = sorted({_day(r["load_date"]) for r in data["rows_per_day"]})
    sources = sorted({r["source_name"] for r in data["rows_per_day"]})
    per_day = {
        (_day(r["load_date"]), r["source_name"]): float(r["rows_loaded"])
        for r in data["rows_per_day"]
    }
    rows_per_day = bar_chart(
        "Rows loaded per day",
        days,
        {source: [per_day.get((day, source), 0.0) for day in days] for source in sources},
    )
    loads = data["loads"]
    rows_per_load = coloured_bars(
        "Rows loaded per loader run",
        [f"{str(r['finished_at'])[5:16]}" for r in loads],
        [float(r["rows_loaded"] or 0) for r in loads],
        [str(r["source_name"]) for r in loads],
    )
    score_days = sorted({_day(r["score_date"]) for r in data["scores_per_day"]})
    scores = {
        (_day(r["score_date"]), r["quality_dimension"]): float(r["score"])
        for r in data["scores_per_day"]
    }
    scorecard = line_chart(
        "Quality scorecard: mean score per dimension and day",
        score_days,
        {d: [scores.get((day, d)) for day in score_days] for d in DIMENSIONS},
    )
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Warehouse health</title>
<style>
body {{ font-family: sans-serif; margin: 2em; color: #222; max-width: 900px; }}
table {{ border-collapse: collapse; margin: 1em 0; font-size: 13px; }}
td, th {{ border: 1px solid #ccc; padding: 3px 8px; text-align: left; }}
.scores td {{ text-align: center; min-width: 5em; }}
svg {{ display: block; margin: 1em 0; }}
svg .title {{ font-size: 14px; font-weight: bold; }}
svg .axis {{ font-size: 10px; fill: #444; }}
svg .grid {{ stroke: #ddd; }}
</style></head><body>
<h1>Warehouse health</h1>
<p>Generated {generated} by <code>warehouse health</code> from the observability marts
(schema <code>ops</code> run history: dbt's on-run-end hook and the dlt loaders).</p>
<h2>Sources</h2>
{_table(data["sources"])}
<h2>Runs</h2>
{durations}
{failures}
<h2>Loads</h2>
{rows_per_day}
{rows_per_load}
<h2>Data quality scorecard</h2>
{scorecard}
<p>Latest day, per table and dimension (1 = every check passed):</p>
{_scorecard_table(data["latest_scores"])}
</body></html>
"""


def health(target: str = "duckdb", output: Path | None = None, *, build: bool = False) -> Path:
    """Write the health page of the ``target`` warehouse; return its path."""
    if build:
        from orchestration.dbt import run_dbt

        run_dbt(["run", "--select", OBSERVABILITY_SELECTOR], target)
    path = output or PROJECT_ROOT / DEFAULT_OUTPUT
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(fetch(target)), encoding="utf-8")
    log.info("wrote %s", path)
    return path
