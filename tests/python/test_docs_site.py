"""The dbt docs site: served by ``dbt docs serve``, its lineage graph renders in headless Chromium.

The project is the run's shared day-0 world on DuckDB (``worlds.py``), its docs generated; the
test serves them with ``dbt docs serve``, opens the lineage graph (``#!/overview?g_v=1``) in
headless Chromium kept off the network, and reads from the page itself which nodes the graph
holds and whether its node layer has been painted. A screenshot of the graph is kept at
``target/artifacts/docs_lineage.png`` (CI uploads it). The column lineage page written beside
the site (``column_lineage.html``, orchestration/column_lineage.py) is checked the same way:
the project's known chains are in its JSON, and the served page shows them; the column lineage
is checked from a PostgreSQL build of the same world too (its own manifest and catalog).
Chromium is part of the set-up (``make test`` installs the Debian package ``chromium``): a
missing browser fails the test.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import copy_day0_world

from orchestration.column_lineage import HTML_NAME, JSON_NAME
from orchestration.dbt import generate_docs
from source_systems.erp.database import PROJECT_ROOT

ARTIFACT = PROJECT_ROOT / "target" / "artifacts" / "docs_lineage.png"

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]

# A page served beside index.html that opens the lineage graph in a same-origin iframe and,
# once the graph is drawn, writes what it found into <pre id="result"> for --dump-dom: the
# labels of the graph's node elements (dbt docs' own `graph` service, an AngularJS service)
# and how many pixels of cytoscape's node canvas are painted.
PROBE_HTML = """<!doctype html>
<html><body>
<iframe id="docs" src="index.html#!/overview?g_v=1" style="width:1400px;height:900px"></iframe>
<pre id="result">pending</pre>
<script>
function inspect() {
  const w = document.getElementById('docs').contentWindow;
  const info = {nodes: [], canvases: [], painted: 0};
  const cy = w.document && w.document.getElementById('cy');
  if (cy) {
    for (const c of cy.querySelectorAll('canvas')) {
      info.canvases.push(c.getAttribute('data-id'));
      if (c.getAttribute('data-id') === 'layer2-node' && c.width && c.height) {
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        for (let i = 3; i < d.length; i += 4) { if (d[i]) { info.painted++; } }
      }
    }
  }
  if (w.angular && w.document.body) {
    const injector = w.angular.element(w.document.body).injector();
    const graph = injector && injector.get('graph').graph;
    if (graph && graph.elements) {
      info.nodes = graph.elements.filter(e => e.group === 'nodes').map(e => e.data.label);
    }
  }
  return info;
}
let tries = 0;
function poll() {
  let info;
  try { info = inspect(); } catch (e) { info = {error: String(e), nodes: [], painted: 0}; }
  tries++;
  if ((info.nodes.length && info.painted) || tries > 60) {
    document.getElementById('result').textContent = JSON.stringify(info);
  } else {
    setTimeout(poll, 500);
  }
}
setTimeout(poll, 1000);
</script>
</body></html>
"""


def _chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    pytest.fail(
        "chromium is not installed: `make test` installs it (apt-get install -y chromium), "
        "or run: sudo apt-get install -y chromium"
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _docs_built_on(
    target: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """dbt's target folder of a copy of the run's day-0 world on ``target``, docs generated.

    As ``warehouse demo``: ``dbt docs generate`` (manifest and catalog), then the column
    lineage page and its JSON beside the site.
    """
    root = tmp_path_factory.mktemp(f"docs-site-{target}")
    with pytest.MonkeyPatch.context() as mp, contextlib.ExitStack() as servers:
        copy_day0_world(request, target, root / "world", mp, servers)
        mp.setenv("DBT_TARGET_PATH", str(root / "target"))
        generate_docs(target)
    return root / "target"


@pytest.fixture(scope="session")
def docs_target(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """dbt's target folder of a small built project with its docs generated.

    The project is the run's shared day-0 world on DuckDB (a copy; see worlds.py).
    """
    return _docs_built_on("duckdb", request, tmp_path_factory)


@pytest.fixture(scope="session")
def pg_docs_target(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """As ``docs_target``, on the run's shared day-0 world on PostgreSQL (a database copy).

    PostgreSQL's manifest compiles 33 models to other SQL than DuckDB's (vault hash keys, the
    CRM's JSON, masking): the column lineage is parsed in sqlglot's ``postgres`` dialect.
    """
    return _docs_built_on("postgres", request, tmp_path_factory)


@pytest.fixture
def docs_url(docs_target: Path, tmp_path: Path) -> Iterator[str]:
    """``dbt docs serve`` on a free port over ``docs_target`` (with the probe page beside it)."""
    (docs_target / "probe.html").write_text(PROBE_HTML, encoding="utf-8")
    port = _free_port()
    log = (tmp_path / "docs-serve.log").open("w")
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "dbt"),
            "docs",
            "serve",
            "--project-dir",
            str(PROJECT_ROOT),
            "--profiles-dir",
            str(PROJECT_ROOT),
            "--target-path",
            str(docs_target),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-browser",
        ],
        cwd=PROJECT_ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "DO_NOT_TRACK": "1", "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"},
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/index.html", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"dbt docs serve did not come up: {(tmp_path / 'docs-serve.log')}")
            time.sleep(0.3)
        yield url
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        log.close()


def _run_chromium(args: list[str], profile: Path) -> str:
    proc = subprocess.run(
        [_chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def _expected_nodes(manifest: dict[str, Any]) -> set[str]:
    """Labels the full lineage graph must show: every model, snapshot, seed and source."""
    names = {
        node["name"]
        for node in manifest["nodes"].values()
        if node["resource_type"] in {"model", "snapshot", "seed"}
    }
    names |= {f"{s['source_name']}.{s['name']}" for s in manifest["sources"].values()}
    return names


def test_lineage_graph_renders_in_headless_chromium(
    docs_url: str, docs_target: Path, tmp_path: Path
) -> None:
    manifest = json.loads((docs_target / "manifest.json").read_text(encoding="utf-8"))
    expected = _expected_nodes(manifest)
    assert "stg_erp__orders" in expected and "erp.orders" in expected

    dom = _run_chromium(
        ["--virtual-time-budget=60000", "--dump-dom", f"{docs_url}/probe.html"],
        tmp_path / "profile-probe",
    )
    found = re.search(r'<pre id="result">(.*?)</pre>', dom, re.DOTALL)
    assert found, dom[-2000:]
    result = json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    assert not result.get("error"), result
    assert {"layer0-selectbox", "layer1-drag", "layer2-node"} <= set(result["canvases"])
    missing = expected - set(result["nodes"])
    assert not missing, f"the lineage graph lacks {sorted(missing)}"
    assert result["painted"] > 1000, "the graph's node layer is blank"

    ARTIFACT.parent.mkdir(parents=True, exist_ok=True)
    ARTIFACT.unlink(missing_ok=True)
    _run_chromium(
        [
            "--window-size=1600,1000",
            "--virtual-time-budget=30000",
            "--hide-scrollbars",
            f"--screenshot={ARTIFACT}",
            f"{docs_url}/index.html#!/overview?g_v=1",
        ],
        tmp_path / "profile-shot",
    )
    assert ARTIFACT.exists() and ARTIFACT.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert ARTIFACT.stat().st_size > 20_000  # a drawn graph, not an empty page


def _edges_into(data: dict[str, Any], name: str, column: str) -> set[str]:
    """``model.column`` labels of the direct upstream columns of ``name.column``."""
    nodes = data["nodes"]
    return {
        f"{nodes[up]['name']}.{up_column}"
        for up, up_column, down, down_column in data["edges"]
        if nodes[down]["name"] == name and down_column == column
    }


@pytest.mark.parametrize("target", ["duckdb", "postgres"])
def test_column_lineage_of_every_model(target: str, request: pytest.FixtureRequest) -> None:
    """Every column of every model resolved, and the known chains, from each adapter's build."""
    docs_target: Path = request.getfixturevalue(
        "docs_target" if target == "duckdb" else "pg_docs_target"
    )
    manifest = json.loads((docs_target / "manifest.json").read_text(encoding="utf-8"))
    catalog = json.loads((docs_target / "catalog.json").read_text(encoding="utf-8"))
    data = json.loads((docs_target / JSON_NAME).read_text(encoding="utf-8"))

    assert data["unresolved"] == [], data["unresolved"][:10]
    built = [
        uid
        for uid, node in manifest["nodes"].items()
        if node["resource_type"] in {"model", "snapshot"}
    ]
    for uid in built:  # every column the catalog knows, of every model and snapshot
        expected = {c.lower() for c in catalog["nodes"][uid]["columns"]}
        assert set(data["nodes"][uid]["columns"]) == expected, uid
    assert data["summary"]["models"] == len(built)
    with_edges = {(e[2], e[3]) for e in data["edges"]}
    constant = {tuple(c) for c in data["constant"]}
    for uid in built:
        for column in data["nodes"][uid]["columns"]:
            assert (uid, column) in with_edges or (uid, column) in constant, (uid, column)

    # The priced line's net amount, from the ERP's line item to the order fact.
    assert _edges_into(data, "fct_orders", "net_amount") == {"fct_order_lines.net_amount"}
    assert _edges_into(data, "fct_order_lines", "net_amount") == {
        "int_order_lines_priced.net_amount"
    }
    assert _edges_into(data, "int_order_lines_priced", "net_amount") == {
        "stg_erp__order_lines.extended_price",
        "stg_erp__order_lines.discount_rate",
    }
    assert _edges_into(data, "stg_erp__order_lines", "extended_price") == {
        "erp.lineitem.l_extendedprice"
    }
    # A union model: the customer hub's key from each of its three branches.
    assert _edges_into(data, "hub_customer", "customer_id") == {
        "stg_erp__customers.customer_id",
        "stg_crm__contacts.customer_id",
        "stg_erp__orders.customer_id",
    }
    # Masked personal data: the salt table is outside dbt, kept as an external relation.
    assert _edges_into(data, "stg_erp__customers", "street_address_hash") == {
        "erp.customer.c_address",
        "restricted.pii_salt.salt",
    }
    # The overview page links the column lineage page.
    overview = manifest["docs"]["doc.tpch_warehouse.__overview__"]["block_contents"]
    assert f"({HTML_NAME})" in overview


def test_column_lineage_page_renders_in_headless_chromium(docs_url: str, tmp_path: Path) -> None:
    dom = _run_chromium(
        [
            "--virtual-time-budget=10000",
            "--dump-dom",
            f"{docs_url}/{HTML_NAME}#fct_orders.net_amount",
        ],
        tmp_path / "profile-lineage",
    )
    selected = re.search(r'<h2 id="selected" data-node="([^"]+)" data-column="([^"]+)"', dom)
    assert selected, dom[-2000:]
    assert selected.groups() == ("model.tpch_warehouse.fct_orders", "net_amount")
    upstream = dom[dom.index('<section id="upstream">') : dom.index('<section id="downstream">')]
    shown = set(re.findall(r'<li data-node="[^"]+\.([^".]+)" data-column="([^"]+)"', upstream))
    assert {
        ("fct_order_lines", "net_amount"),
        ("int_order_lines_priced", "net_amount"),
        ("stg_erp__order_lines", "extended_price"),
        ("lineitem", "l_extendedprice"),
    } <= shown, shown
    assert "0 unresolved" in dom
