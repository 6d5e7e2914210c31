"""Run one SQL query against the DuckDB warehouse (read-only) and print the result.

Usage: ``python -m orchestration.query "select * from staging.stg_erp__orders limit 5"``
"""

from __future__ import annotations

import sys

import duckdb

from ingestion.destinations import duckdb_path


def main(argv: list[str] | None = None) -> int:
    """Print the result of the query given as the only argument."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        sys.stderr.write(__doc__ or "")
        return 2
    with duckdb.connect(str(duckdb_path()), read_only=True) as conn:
        conn.sql(args[0]).show(max_rows=50)
    return 0


if __name__ == "__main__":
    sys.exit(main())
