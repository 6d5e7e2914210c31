"""DDL of the ERP: tables, keys, change-capture triggers, per dialect where they differ.

Change capture, the way many OLTP systems do it:

* ``erp_state`` holds the ERP clock (``clock_at``, UTC). The simulator moves it; triggers read
  it, so every stamp is deterministic for a seed instead of depending on the wall clock.
* ``<table>_touch``: an update that does not set ``updated_at`` itself gets the clock.
* ``<table>_tombstone``: every delete writes the deleted row's primary key (as JSON) and the
  clock to ``deleted_rows``. Loaders read tombstones incrementally to delete downstream.
"""

from __future__ import annotations

from source_systems.erp.database import ErpDatabase
from source_systems.erp.schema import DELETED_ROWS_TABLE, STATE_TABLE, TABLES, Table


def _column_type(sql_type: str, dialect: str) -> str:
    """The column type in ``dialect``.

    SQLite has no decimal type: a ``decimal`` column gets NUMERIC affinity, which stores 901.00
    as the integer 901 and 901.10 as a real, and readers that type a column from its values
    (connectorx) then fail. REAL affinity keeps every money value a REAL; two decimals fit a
    double exactly enough for ``round(x, 2)`` to restore them, which staging does.
    """
    if dialect == "sqlite" and sql_type.startswith("decimal"):
        return "real"
    return sql_type


def create_table_sql(table: Table, dialect: str) -> str:
    """The ``create table`` statement of ``table`` in ``dialect`` (keys, no indexes)."""
    lines = [f"    {c.name} {_column_type(c.sql_type, dialect)} not null" for c in table.columns]
    lines.append(f"    primary key ({', '.join(table.primary_key)})")
    for cols, ref_table, ref_cols in table.foreign_keys:
        lines.append(
            f"    foreign key ({', '.join(cols)}) references {ref_table} ({', '.join(ref_cols)})"
        )
    return f"create table {table.name} (\n" + ",\n".join(lines) + "\n)"


def index_statements(table: Table) -> list[str]:
    """The ``create index`` statements of one table (the same in both dialects)."""
    statements = []
    if table.mutable:
        statements.append(f"create index {table.name}_updated_at on {table.name} (updated_at)")
    for cols, _, _ in table.foreign_keys:
        name = f"{table.name}_{'_'.join(cols)}"
        statements.append(f"create index {name} on {table.name} ({', '.join(cols)})")
    return statements


def _bookkeeping(dialect: str) -> list[str]:
    serial = "integer primary key autoincrement" if dialect == "sqlite" else "bigserial primary key"
    return [
        f"""create table {STATE_TABLE} (
    id integer primary key check (id = 1),
    clock_at timestamp not null,
    business_date date not null,
    day_number integer not null,
    seed integer not null,
    scale_factor double precision not null
)""",
        f"""create table {DELETED_ROWS_TABLE} (
    deletion_id {serial},
    table_name varchar(64) not null,
    row_key varchar(200) not null,
    deleted_at timestamp not null
)""",
        f"create index {DELETED_ROWS_TABLE}_deleted_at on {DELETED_ROWS_TABLE} (deleted_at)",
    ]


def _sqlite_triggers(table: Table) -> list[str]:
    key_match = " and ".join(f"{k} = new.{k}" for k in table.primary_key)
    json_args = ", ".join(f"'{k}', old.{k}" for k in table.primary_key)
    clock = f"(select clock_at from {STATE_TABLE})"
    return [
        f"""create trigger {table.name}_touch after update on {table.name}
for each row when new.updated_at is old.updated_at
begin
    update {table.name} set updated_at = {clock} where {key_match};
end""",
        f"""create trigger {table.name}_tombstone after delete on {table.name}
for each row
begin
    insert into {DELETED_ROWS_TABLE} (table_name, row_key, deleted_at)
    values ('{table.name}', json_object({json_args}), {clock});
end""",
    ]


def _postgres_functions() -> list[str]:
    return [
        f"""create or replace function erp_touch() returns trigger language plpgsql as $$
begin
    if new.updated_at is not distinct from old.updated_at then
        new.updated_at := (select clock_at from {STATE_TABLE});
    end if;
    return new;
end $$""",
        f"""create or replace function erp_tombstone() returns trigger language plpgsql as $$
declare
    key_json jsonb;
begin
    select jsonb_object_agg(k, to_jsonb(old) -> k) into key_json
    from unnest(tg_argv) as k;
    insert into {DELETED_ROWS_TABLE} (table_name, row_key, deleted_at)
    values (tg_table_name, key_json::text, (select clock_at from {STATE_TABLE}));
    return old;
end $$""",
    ]


def _postgres_triggers(table: Table) -> list[str]:
    args = ", ".join(f"'{k}'" for k in table.primary_key)
    return [
        f"""create trigger {table.name}_touch before update on {table.name}
for each row execute function erp_touch()""",
        f"""create trigger {table.name}_tombstone after delete on {table.name}
for each row execute function erp_tombstone({args})""",
    ]


def drop_all(db: ErpDatabase) -> None:
    """Drop every ERP table (children first) so the world can be built again."""
    for name in [*(t.name for t in reversed(TABLES)), DELETED_ROWS_TABLE, STATE_TABLE]:
        db.execute(f"drop table if exists {name}" + (" cascade" if db.dialect != "sqlite" else ""))


def create_tables(db: ErpDatabase) -> None:
    """Create the TPC-H tables and the bookkeeping tables, without indexes or triggers."""
    for statement in _bookkeeping(db.dialect):
        db.execute(statement)
    for table in TABLES:
        db.execute(create_table_sql(table, db.dialect))


def create_indexes(db: ErpDatabase, table: Table) -> None:
    """Create the secondary indexes of one table."""
    for statement in index_statements(table):
        db.execute(statement)


def create_triggers(db: ErpDatabase, table: Table) -> None:
    """Create the change-capture triggers of one table (PostgreSQL: functions must exist)."""
    if table.mutable:
        triggers = _sqlite_triggers(table) if db.dialect == "sqlite" else _postgres_triggers(table)
        for statement in triggers:
            db.execute(statement)


def create_indexes_and_triggers(db: ErpDatabase) -> None:
    """Create indexes and change-capture triggers (after the bulk load, which is faster).

    Table by table, indexes then triggers: the SQLite bulk load creates them in this order too
    (:mod:`source_systems.erp.sqlite_bulk`), so both give the same ``sqlite_master``.
    """
    if db.dialect == "postgresql":
        for statement in _postgres_functions():
            db.execute(statement)
    for table in TABLES:
        create_indexes(db, table)
        create_triggers(db, table)
