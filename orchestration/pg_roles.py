"""Least-privilege roles on the PostgreSQL warehouse: ``warehouse pg-roles``.

Three login roles, one per kind of job, created (idempotently) by an administrator:

``warehouse_loader``
    runs the dlt loaders: may create schemas (dlt makes ``raw_*`` and their ``*_staging``
    datasets) and owns what it creates; reads nothing dbt builds.
``warehouse_transformer``
    runs dbt: reads every schema the loader makes (default privileges, so tables the loader
    creates later are covered), creates and owns the dbt schemas (staging, snapshots,
    intermediate, vault, marts) and ``restricted`` (the masking salt), and ``ops`` (the run
    history), where the loader may create and fill its load-history tables too.
``warehouse_reporting``
    reads ``marts`` only: the tables dbt (re)builds there are granted to it by default
    privileges of the transformer, so a rebuilt table is readable at once; no other schema is.

Names come from ``WAREHOUSE_PG_LOADER_ROLE``, ``WAREHOUSE_PG_TRANSFORMER_ROLE`` and
``WAREHOUSE_PG_REPORTING_ROLE``. Roles get no password here: set one
(``alter role ... password``) or map them in ``pg_hba.conf``, then run each job as its role by
setting ``WAREHOUSE_PG_USER``.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

from ingestion.destinations import PostgresSettings

log = logging.getLogger("warehouse.pg_roles")

REPORTING_SCHEMAS = ("marts",)
"""The schemas the reporting role reads."""

RESTRICTED_SCHEMA = "restricted"

OPS_SCHEMA = "ops"
"""The run history: dbt's hook (the transformer) and the loaders both write there."""


@dataclass(frozen=True)
class Roles:
    """The three role names."""

    loader: str
    transformer: str
    reporting: str

    @classmethod
    def from_env(cls) -> Roles:
        """Role names from the environment, with the documented defaults."""
        return cls(
            loader=os.environ.get("WAREHOUSE_PG_LOADER_ROLE", "warehouse_loader"),
            transformer=os.environ.get("WAREHOUSE_PG_TRANSFORMER_ROLE", "warehouse_transformer"),
            reporting=os.environ.get("WAREHOUSE_PG_REPORTING_ROLE", "warehouse_reporting"),
        )


def role_statements(roles: Roles, database: str) -> list[str]:
    """The SQL that creates the roles and their privileges on ``database`` (idempotent)."""

    def ident(name: str) -> str:
        return '"' + name.replace('"', '""') + '"'

    db = ident(database)
    loader, transformer, reporting = (
        ident(roles.loader),
        ident(roles.transformer),
        ident(roles.reporting),
    )
    statements = [
        f"do $$ begin if not exists (select from pg_roles where rolname = '{name}') then "
        f"create role {ident(name)} login; end if; end $$"
        for name in (roles.loader, roles.transformer, roles.reporting)
    ]
    statements += [
        f"revoke all on database {db} from public",
        f"grant connect, create, temporary on database {db} to {loader}, {transformer}",
        f"grant connect on database {db} to {reporting}",
        "revoke create on schema public from public",
        # what the loader creates later, the transformer reads
        f"alter default privileges for role {loader} grant usage on schemas to {transformer}",
        f"alter default privileges for role {loader} grant select on tables to {transformer}",
        # the salt: the transformer's, nobody else's
        f"create schema if not exists {RESTRICTED_SCHEMA} authorization {transformer}",
        f"revoke all on schema {RESTRICTED_SCHEMA} from public",
        # the run history: dbt's tables are the transformer's, the load history the loader's;
        # each may write the other's tables (whichever job creates a table first owns it)
        f"create schema if not exists {OPS_SCHEMA} authorization {transformer}",
        f"grant usage, create on schema {OPS_SCHEMA} to {loader}",
        f"alter default privileges for role {transformer} in schema {OPS_SCHEMA} "
        f"grant select, insert on tables to {loader}",
        f"grant select, insert on all tables in schema {OPS_SCHEMA} to {loader}",
    ]
    for schema in REPORTING_SCHEMAS:
        statements += [
            f"create schema if not exists {schema} authorization {transformer}",
            f"grant usage on schema {schema} to {reporting}",
            f"alter default privileges for role {transformer} in schema {schema} "
            f"grant select on tables to {reporting}",
            f"grant select on all tables in schema {schema} to {reporting}",
        ]
    return statements


def existing_raw_grants(roles: Roles, raw_schemas: list[str]) -> list[str]:
    """Grants for raw schemas loaded before the roles existed (owned by someone else)."""

    def ident(name: str) -> str:
        return '"' + name.replace('"', '""') + '"'

    statements = []
    for schema in raw_schemas:
        statements += [
            f"grant usage, create on schema {ident(schema)} to {ident(roles.loader)}",
            f"grant usage on schema {ident(schema)} to {ident(roles.transformer)}",
            f"grant select on all tables in schema {ident(schema)} to {ident(roles.transformer)}",
        ]
    return statements


def setup_roles(settings: PostgresSettings | None = None, roles: Roles | None = None) -> Roles:
    """Create the roles and privileges on the warehouse database, as its administrator."""
    settings = settings or PostgresSettings.from_env()
    roles = roles or Roles.from_env()
    conn = settings.connect()
    try:
        with conn, conn.cursor() as cur:
            for statement in role_statements(roles, settings.database):
                cur.execute(statement)
            cur.execute("select nspname from pg_namespace where nspname like 'raw\\_%' order by 1")
            raw = [name for (name,) in cur.fetchall()]
            for statement in existing_raw_grants(roles, raw):
                cur.execute(statement)
    finally:
        conn.close()
    log.info(
        "roles on %s: loader %s, transformer %s, reporting %s (reads %s)",
        settings.database,
        roles.loader,
        roles.transformer,
        roles.reporting,
        ", ".join(REPORTING_SCHEMAS),
    )
    return roles
