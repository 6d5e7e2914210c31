# The two Quick start commands (README.md): `make demo` and `make test`.
# Both install what they need first: uv in .tools/, then the locked environment in .venv/.

PYTHON ?= python3
UV_VERSION := 0.13.9
UV := .tools/bin/uv
BIN := .venv/bin

export DO_NOT_TRACK := 1
export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export RUNTIME__DLTHUB_TELEMETRY := false

.PHONY: demo test setup lint pytest benchmark benchmark-dbt clean

## demo: generate the ERP, load it with dlt into DuckDB, dbt build, dbt docs generate
demo: setup
	$(BIN)/warehouse demo

## test: every check: lint (ruff, sqlfluff) and pytest (ERP world, loaders and
## dbt build on DuckDB and on a throwaway PostgreSQL cluster)
test: setup lint pytest

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

## setup: the locked environment (uv.lock) in .venv
setup: $(UV)
	$(UV) sync --frozen --quiet --python $(PYTHON)

lint:
	mkdir -p data
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	WAREHOUSE_DUCKDB_PATH=data/lint.duckdb $(BIN)/sqlfluff lint models snapshots analyses tests/data_tests

pytest:
	$(BIN)/pytest

## benchmark: ERP ingestion rows/s into DuckDB (SCALE=0.1 by default)
benchmark: setup
	$(BIN)/warehouse benchmark --scale $(or $(SCALE),0.1)

## benchmark-dbt: dbt build time per layer on DuckDB, day 0 then daily (SCALE=0.1 by default)
benchmark-dbt: setup
	$(BIN)/warehouse benchmark-dbt --scale $(or $(SCALE),0.1)

clean:
	rm -rf data target logs .pytest_cache .ruff_cache
