# The two Quick start commands (README.md): `make demo` and `make test`.
# Both install what they need first: uv in .tools/, then the locked environment in .venv/.

PYTHON ?= python3
UV_VERSION := 0.13.9
UV := .tools/bin/uv
BIN := .venv/bin

export DO_NOT_TRACK := 1
export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export RUNTIME__DLTHUB_TELEMETRY := false

.PHONY: demo test setup lint pytest benchmark clean

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

## lint: exactly the pre-commit hooks (.pre-commit-config.yaml, local hooks only, offline):
## file checks, ruff check + format, mypy, dbt parse, sqlfluff
lint:
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/pre-commit run --all-files --show-diff-on-failure

pytest:
	$(BIN)/pytest

## benchmark: ERP ingestion rows/s into DuckDB (SCALE=0.1 by default)
benchmark: setup
	$(BIN)/warehouse benchmark --scale $(or $(SCALE),0.1)

clean:
	rm -rf data target logs .pytest_cache .ruff_cache
