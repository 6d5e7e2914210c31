"""``warehouse run``: the cron-safe job every scheduler calls (cron, systemd timer, CI).

It takes the warehouse lock first and holds it for the whole job, loads the sources (ERP,
CRM, carrier), then runs ``dbt build`` and ``dbt source freshness``. It ends with one JSON
line on stdout (logs go to stderr) and an exit status a scheduler can act on:

====  ============  ==============================================================
code  status        meaning
====  ============  ==============================================================
0     ok            every load, model, snapshot and test passed; sources fresh
                    (a freshness or test *warning* is still 0: see the summary)
3     load_failed   a source's load failed; dbt was not run (the marts stay as the
                    last good run built them)
4     models_failed a model, snapshot or seed failed to build (its tests and
                    downstream nodes are skipped)
5     tests_failed  every node built but a data test failed (error severity)
6     stale         everything passed but a source is past its freshness
                    ``error_after`` (or its freshness query failed)
75    busy          another load, build or run holds the warehouse (``EX_TEMPFAIL``:
                    try again later); nothing was touched
1     error         anything else (a bug, dbt could not start); see the log
2     usage         bad arguments (argparse)
====  ============  ==============================================================

Where several apply, the first in the order 75, 3, 4, 5, 6 wins. Rerunning after any failure
or a kill is safe: the loaders finish or drop an interrupted package and read from their
cursors, ``dbt build`` rebuilds views and tables and merges incremental models, and the
snapshots only add versions for changes.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ingestion.cli import load_carrier, load_crm, load_erp
from ingestion.crm.settings import CrmNotConfiguredError, crm_endpoint
from ingestion.runner import WarehouseBusyError, warehouse_job
from orchestration.dbt import run_dbt
from source_systems.world import crm_db_path, crm_server

log = logging.getLogger("warehouse.run")

SOURCES = ("erp", "crm", "carrier")
"""The sources in load order; their names are also the dbt sources' names."""

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_LOAD_FAILED = 3
EXIT_MODELS_FAILED = 4
EXIT_TESTS_FAILED = 5
EXIT_STALE = 6
EXIT_BUSY = 75

STATUS_NAMES = {
    EXIT_OK: "ok",
    EXIT_ERROR: "error",
    EXIT_LOAD_FAILED: "load_failed",
    EXIT_MODELS_FAILED: "models_failed",
    EXIT_TESTS_FAILED: "tests_failed",
    EXIT_STALE: "stale",
    EXIT_BUSY: "busy",
}

_BUILT_TYPES = {"model", "snapshot", "seed"}
_TEST_TYPES = {"test", "unit_test"}


@dataclass
class RunSummary:
    """What one ``warehouse run`` did: written as the JSON line on stdout."""

    target: str
    sources: list[str]
    select: list[str]
    status: str = "ok"
    exit_code: int = EXIT_OK
    loads: dict[str, dict[str, Any]] = field(default_factory=dict)
    dbt_build: dict[str, int] = field(default_factory=dict)
    freshness: dict[str, int] = field(default_factory=dict)
    failed_nodes: list[str] = field(default_factory=list)
    stale_sources: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    error: str | None = None

    def finish(self, code: int) -> int:
        """Record the exit code and its status name; return the code."""
        self.exit_code = code
        self.status = STATUS_NAMES[code]
        return code

    def json_line(self) -> str:
        """The summary as one line of JSON."""
        return json.dumps(self.__dict__, sort_keys=True, default=str)


def plan(target: str, sources: list[str], select: list[str]) -> list[str]:
    """The steps a run would take, in order, as readable lines (``--dry-run``)."""
    steps = [f"take the {target} warehouse lock (exit {EXIT_BUSY} if another run holds it)"]
    steps += [f"load {name} into {target}" for name in sources]
    build = ["dbt", "build", "--target", target]
    if select:
        build += ["--select", *select, "--indirect-selection", "cautious"]
    steps.append(" ".join(build))
    fresh = ["dbt", "source", "freshness", "--target", target]
    if sources:
        fresh += ["--select", *(f"source:{name}" for name in sources)]
    steps.append(" ".join(fresh))
    steps.append("release the lock; print one JSON summary line")
    return steps


@contextlib.contextmanager
def _crm_endpoint() -> Iterator[tuple[str, str]]:
    """The CRM API to load from: the configured one, else the demo CRM started for the block."""
    try:
        configured: tuple[str, str] | None = crm_endpoint()
    except CrmNotConfiguredError:
        if not crm_db_path().exists():
            raise
        configured = None
    if configured is not None:
        yield configured
        return
    log.info("no CRM configured: starting the demo CRM's API over %s", crm_db_path())
    with crm_server() as endpoint:
        yield endpoint.base_url, endpoint.token


def _load_crm(target: str) -> dict[str, Any]:
    with _crm_endpoint() as (base_url, token):
        return load_crm(target, base_url=base_url, token=token)


_LOADERS: dict[str, Callable[[str], dict[str, Any]]] = {
    "erp": load_erp,
    "crm": _load_crm,
    "carrier": load_carrier,
}


def load_source(name: str, target: str) -> dict[str, Any]:
    """Load one source (``erp``, ``crm`` or ``carrier``) into ``target``; return its summary.

    The CRM is the configured one, else the demo CRM's API started around its load. Used by
    the job below and by the Dagster assets (``scheduling``).
    """
    return _LOADERS[name](target)


def _load_summary(result: dict[str, Any]) -> dict[str, Any]:
    rows = result.get("rows") or {}
    return {
        "status": "ok",
        "rows": int(result.get("total_rows", sum(rows.values()))),
        "seconds": result.get("seconds"),
    }


def _statuses(results: object) -> list[tuple[str, str, str]]:
    """``(resource_type, unique_id, status)`` of each node in a dbt result object."""
    out = []
    for r in getattr(results, "results", None) or []:
        node = getattr(r, "node", None)
        kind = str(getattr(node, "resource_type", "source"))
        uid = str(getattr(node, "unique_id", getattr(r, "unique_id", "?")))
        out.append((kind, uid, str(r.status)))
    return out


def _run_dbt_build(target: str, select: list[str], summary: RunSummary) -> int:
    args = ["build"]
    if select:
        args += ["--select", *select, "--indirect-selection", "cautious"]
    started = time.perf_counter()
    result = run_dbt(args, target, check=False)
    summary.seconds["dbt_build"] = round(time.perf_counter() - started, 2)
    nodes = _statuses(result)
    summary.dbt_build = dict(Counter(status for _, _, status in nodes))
    if result is None:
        summary.error = "dbt build did not run (see the log)"
        return EXIT_ERROR
    model_failed = [u for k, u, s in nodes if k in _BUILT_TYPES and s == "error"]
    test_failed = [u for k, u, s in nodes if k in _TEST_TYPES and s in {"fail", "error"}]
    summary.failed_nodes = model_failed + test_failed
    if model_failed:
        return EXIT_MODELS_FAILED
    if test_failed or any(s == "error" for _, _, s in nodes):
        return EXIT_TESTS_FAILED
    return EXIT_OK


def _run_freshness(target: str, sources: list[str], summary: RunSummary) -> int:
    args = ["source", "freshness"]
    if sources:
        args += ["--select", *(f"source:{name}" for name in sources)]
    started = time.perf_counter()
    result = run_dbt(args, target, check=False)
    summary.seconds["dbt_source_freshness"] = round(time.perf_counter() - started, 2)
    nodes = _statuses(result)
    summary.freshness = dict(Counter(status for _, _, status in nodes))
    if result is None:
        summary.error = "dbt source freshness did not run (see the log)"
        return EXIT_ERROR
    stale = [u for _, u, s in nodes if s in {"error", "runtime error"}]
    summary.stale_sources = stale
    return EXIT_STALE if stale else EXIT_OK


KILL_AT_ENV = "WAREHOUSE_RUN_KILL_AT"
"""Fault injection for the crash tests: ``<step>`` or ``<step>+<seconds>``, where a step is
``load:erp``, ``load:crm``, ``load:carrier`` or ``dbt_build``. The run SIGKILLs itself when
the step starts, or that many seconds into it (no kill if the step ends first). Unset in
production; tests/python/test_operate.py uses it to show that a rerun heals a killed run."""


@contextlib.contextmanager
def _kill_point(step: str) -> Iterator[None]:
    """Run the block; SIGKILL this process in it if :data:`KILL_AT_ENV` names ``step``."""
    name, _, delay = os.environ.get(KILL_AT_ENV, "").partition("+")
    if name != step:
        yield
        return
    log.warning("%s=%s: killing this run in step %s", KILL_AT_ENV, os.environ[KILL_AT_ENV], step)
    if not delay:
        os.kill(os.getpid(), signal.SIGKILL)
    timer = threading.Timer(float(delay), os.kill, (os.getpid(), signal.SIGKILL))
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


def _job(target: str, sources: list[str], select: list[str], summary: RunSummary) -> int:
    load_failed = False
    for name in sources:
        log.info("loading %s into %s", name, target)
        try:
            with _kill_point(f"load:{name}"):
                result = load_source(name, target)
            summary.loads[name] = _load_summary(result)
        except Exception as exc:  # any loader failure is reported, not raised
            log.exception("the %s load failed", name)
            summary.loads[name] = {"status": "failed", "error": f"{type(exc).__name__}: {exc}"}
            load_failed = True
    if load_failed:
        log.error("a load failed: dbt not run (rerun once the source is back)")
        return EXIT_LOAD_FAILED
    log.info("dbt build on %s", target)
    with _kill_point("dbt_build"):
        build_code = _run_dbt_build(target, select, summary)
    log.info("dbt source freshness on %s", target)
    fresh_code = _run_freshness(target, sources, summary)
    codes = [c for c in (build_code, fresh_code) if c != EXIT_OK]
    if EXIT_ERROR in codes:
        return EXIT_ERROR
    return min(codes, default=EXIT_OK)


def run(
    target: str = "duckdb",
    *,
    sources: list[str] | None = None,
    select: list[str] | None = None,
    dry_run: bool = False,
) -> int:
    """Run the job (see the module docstring), print the JSON summary, return the exit code."""
    sources = list(SOURCES) if sources is None else sources
    unknown = [s for s in sources if s not in SOURCES]
    if unknown:
        raise ValueError(f"unknown sources {unknown}: choose from {', '.join(SOURCES)}")
    select = select or []
    summary = RunSummary(target=target, sources=sources, select=select)
    if dry_run:
        for number, step in enumerate(plan(target, sources, select), 1):
            print(f"{number}. {step}")
        return EXIT_OK
    started = time.perf_counter()
    try:
        # dbt and dlt print to stdout: during the job it goes to stderr, so stdout carries
        # nothing but the summary line.
        with contextlib.redirect_stdout(sys.stderr), warehouse_job(target):
            code = _job(target, sources, select, summary)
    except WarehouseBusyError as exc:
        log.error("%s", exc)
        summary.error = str(exc)
        code = EXIT_BUSY
    except Exception as exc:  # the scheduler gets a code and the line, always
        log.exception("the run failed")
        summary.error = f"{type(exc).__name__}: {exc}"
        code = EXIT_ERROR
    summary.seconds["total"] = round(time.perf_counter() - started, 2)
    summary.finish(code)
    log.info("run finished: %s (exit %d)", summary.status, code)
    sys.stdout.write(summary.json_line() + "\n")
    sys.stdout.flush()
    return code
