# The two Quick start commands (README.md): `make demo` and `make test`.
# Both install what they need first: uv in .tools/, then the locked environment in .venv/.

PYTHON ?= python3
UV_VERSION := 0.13.9
UV := .tools/bin/uv
BIN := .venv/bin

export DO_NOT_TRACK := 1
export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export RUNTIME__DLTHUB_TELEMETRY := false

.PHONY: demo test setup chromium spark-deps spark-up spark-down lint governance pytest benchmark diagrams clean schedule

## demo: generate the ERP, load it with dlt into DuckDB, dbt build, dbt docs generate
demo: setup
	$(BIN)/warehouse demo

## test: every check: lint (pre-commit hooks), governance (dbt-score, dbt-bouncer) and
## pytest (world, loaders, dbt build on DuckDB and a throwaway PostgreSQL, docs site; the
## Spark standalone-cluster test only with WAREHOUSE_SPARK_TEST=1: see README, Running on Spark).
## lint and governance are single-process and independent (their own dbt target folders),
## so they run side by side on the two cores, each one's output kept together.
test: setup chromium spark-deps
	$(MAKE) --no-print-directory -j2 --output-sync=target lint governance
	$(MAKE) --no-print-directory pytest

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

## setup: the locked environment (uv.lock) in .venv, with the Spark group (dbt-spark,
## pyspark, the Iceberg runtime jar) that the Spark test and `make spark-up` use. Compiled to
## bytecode once here (as pip does; uv does not by default): a process then imports dbt, dlt
## and Dagster in about 2.6 s instead of 5 s, and the tests start hundreds of processes
## (more so where PYTHONDONTWRITEBYTECODE keeps Python from caching what it compiles)
setup: $(UV)
	$(UV) sync --frozen --quiet --python $(PYTHON) --group spark --compile-bytecode

## chromium: the Debian package the docs-site test drives headless; installed with apt-get
## when missing (as root, or with password-less sudo), else stop with the command to run
chromium:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium; \
	  elif sudo -n true 2>/dev/null; then sudo -n apt-get update -qq && sudo -n apt-get install -y -qq chromium; \
	  else echo "error: chromium is missing; install it with: sudo apt-get install -y chromium" >&2; exit 1; fi; }

## spark-deps: Java and Debian's jarjar (it relocates Jackson for the Iceberg jar), for the
## Spark cluster of `make spark-up` and the Spark test; installed with apt-get when missing
spark-deps:
	@{ command -v java >/dev/null 2>&1 && [ -e /usr/share/java/jarjar.jar ]; } || { \
	  pkgs="default-jre-headless libjarjar-java"; \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq $$pkgs; \
	  elif sudo -n true 2>/dev/null; then sudo -n apt-get update -qq && sudo -n apt-get install -y -qq $$pkgs; \
	  else echo "error: Java or jarjar is missing; install them with: sudo apt-get install -y $$pkgs" >&2; exit 1; fi; }

## spark-up / spark-down: the local Spark standalone cluster (master, 2 workers) and its
## Thrift server for the `spark` dbt target (data/spark/); spark-down stops them by PID
spark-up: setup spark-deps
	$(BIN)/warehouse spark-up

spark-down:
	$(BIN)/warehouse spark-down

## lint: exactly the pre-commit hooks (.pre-commit-config.yaml, local hooks only, offline):
## file checks, ruff check + format, mypy, dbt parse, sqlfluff
lint:
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/pre-commit run --all-files --show-diff-on-failure

## governance: dbt-score and dbt-bouncer (and our checks) on a small warehouse built for
## them in data/governance and target/governance (about 45 s)
governance:
	$(BIN)/warehouse governance

## pytest: the tests on PYTEST_WORKERS pytest-xdist workers (2 by default; 0 = one process).
## Tests sharing a module-wide world stay on one worker (--dist loadgroup); the workers share
## one throwaway PostgreSQL cluster and the built worlds of tests/python/worlds.py
PYTEST_WORKERS ?= 2
pytest:
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadgroup

## diagrams: docs/star_schema.svg and docs/lineage.svg from target/manifest.json
diagrams:
	$(BIN)/dbt parse --quiet --profiles-dir .
	$(BIN)/warehouse diagrams

## schedule: Dagster's UI, daemon and code location (dagster dev) on 127.0.0.1 (PORT=3000);
## instance (SQLite) in data/dagster/; Ctrl-C stops every process it started
schedule: setup
	$(BIN)/warehouse schedule --port $(or $(PORT),3000)

## benchmark: world build, loads, dbt build, two daily increments and docs on DuckDB in a temp
## folder, each timed against a ceiling on the same data (SCALE=0.1 by default); writes
## target/benchmark/benchmark.{json,svg,txt}
benchmark: setup
	$(BIN)/warehouse benchmark --scale $(or $(SCALE),0.1)

clean:
	rm -rf data target logs .pytest_cache .ruff_cache
