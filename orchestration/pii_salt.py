"""The masking salt, kept in the warehouse where only the build can read it.

``mask_pii`` reads the salt from the one-row table ``restricted.pii_salt`` instead of having
it rendered into SQL: a salt rendered into SQL would be readable wherever SQL is (view
definitions in ``duckdb_views()``/``pg_views``, ``target/`` artifacts, ``logs/dbt.log``, the
docs site). dbt never sees the salt: this module writes it, from the environment variable
``PII_SALT``, before every dbt command that builds (:func:`orchestration.dbt.run_dbt` calls
it). To run plain ``dbt`` yourself, write it first:
``python -m orchestration.pii_salt --target duckdb``.

Without ``PII_SALT`` the documented public demo salt is used, and the run says so once.
"""

from __future__ import annotations

import argparse
import logging
import os

from ingestion.destinations import PostgresSettings, SparkSettings, duckdb_path

log = logging.getLogger("warehouse.pii_salt")

DEMO_SALT = "demo-salt-not-secret"
"""The public demo salt: masked values made with it can be reversed by anyone with a list of
candidate values. Set ``PII_SALT`` (from a secret store) for real data."""

SCHEMA = "restricted"
TABLE = "pii_salt"

_warned = False


def salt_from_environment() -> str:
    """``PII_SALT``, or the demo salt with a warning (once per process)."""
    global _warned
    salt = os.environ.get("PII_SALT", "")
    if salt and salt != DEMO_SALT:
        return salt
    if not _warned:
        log.warning(
            "PII_SALT is not set: personal data is masked with the public demo salt %r; "
            "set PII_SALT from a secret store for real data",
            DEMO_SALT,
        )
        _warned = True
    return DEMO_SALT


def write_salt(target: str, salt: str | None = None) -> None:
    """Create ``restricted.pii_salt`` on ``target`` if missing and make it hold ``salt``.

    The value is passed as a bound parameter, so it appears in no statement text or log.
    """
    value = salt if salt is not None else salt_from_environment()
    ddl = [
        f"create schema if not exists {SCHEMA}",
        f"create table if not exists {SCHEMA}.{TABLE} (salt varchar not null)",
        f"delete from {SCHEMA}.{TABLE}",
    ]
    insert = f"insert into {SCHEMA}.{TABLE} (salt) values "
    if target == "duckdb":
        import duckdb

        path = duckdb_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        with duckdb.connect(str(path)) as conn:
            conn.execute("begin")
            for statement in ddl:
                conn.execute(statement)
            conn.execute(insert + "(?)", [value])
            conn.execute("commit")
        return
    if target == "postgres":
        conn = PostgresSettings.from_env().connect()
        try:
            with conn, conn.cursor() as cur:
                for statement in ddl:
                    cur.execute(statement)
                cur.execute(f"revoke all on {SCHEMA}.{TABLE} from public")
                cur.execute(insert + "(%s)", (value,))
        finally:
            conn.close()
        return
    if target == "spark":
        # PyHive binds parameters by quoting them into the statement on the client: the salt
        # reaches the Thrift server's session (not dbt, its artifacts or logs). Keep the
        # Thrift server's own statement log off on a shared cluster.
        conn = SparkSettings.from_env().connect()
        try:
            cursor = conn.cursor()
            cursor.execute(f"create database if not exists {SCHEMA}")
            cursor.execute(
                f"create table if not exists {SCHEMA}.{TABLE} (salt string not null) using iceberg"
            )
            cursor.execute(f"insert overwrite {SCHEMA}.{TABLE} values (%(salt)s)", {"salt": value})
        finally:
            conn.close()
        return
    raise ValueError(f"no salt store for target {target!r}")


def main() -> None:
    """``python -m orchestration.pii_salt --target T``: write the salt for plain dbt runs."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", default="duckdb", choices=["duckdb", "postgres", "spark"])
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    write_salt(args.target)


if __name__ == "__main__":
    main()
