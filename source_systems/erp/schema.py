"""The ERP's tables: TPC-H columns and keys plus what an OLTP system keeps for change capture.

Every mutable table carries ``updated_at`` (UTC, stamped by a trigger from the ERP clock on
every update) and every delete leaves a tombstone in ``deleted_rows`` (written by a trigger),
the way a real CDC set-up sees deletes. ``region`` and ``nation`` are reference tables that
never change and have no ``updated_at``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Column:
    """One column of an ERP table."""

    name: str
    sql_type: str
    nullable: bool = False


@dataclass(frozen=True)
class Table:
    """One ERP table: its columns, primary key and whether rows change after insert."""

    name: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...]
    mutable: bool = True
    foreign_keys: tuple[tuple[tuple[str, ...], str, tuple[str, ...]], ...] = ()

    @property
    def money_columns(self) -> set[str]:
        """Names of the ``decimal(15, 2)`` columns."""
        return {c.name for c in self.columns if c.sql_type == MONEY}

    @property
    def column_names(self) -> list[str]:
        """All column names in table order, ``updated_at`` included where present."""
        return [c.name for c in self.columns]


MONEY = "decimal(15, 2)"
UPDATED_AT = Column("updated_at", "timestamp")


def _table(
    name: str,
    columns: list[tuple[str, str]],
    primary_key: tuple[str, ...],
    *,
    mutable: bool = True,
    foreign_keys: tuple[tuple[tuple[str, ...], str, tuple[str, ...]], ...] = (),
) -> Table:
    cols = tuple(Column(n, t) for n, t in columns)
    if mutable:
        cols = (*cols, UPDATED_AT)
    return Table(name, cols, primary_key, mutable, foreign_keys)


TABLES: tuple[Table, ...] = (
    _table(
        "region",
        [("r_regionkey", "bigint"), ("r_name", "varchar(25)"), ("r_comment", "varchar(152)")],
        ("r_regionkey",),
        mutable=False,
    ),
    _table(
        "nation",
        [
            ("n_nationkey", "bigint"),
            ("n_name", "varchar(25)"),
            ("n_regionkey", "bigint"),
            ("n_comment", "varchar(152)"),
        ],
        ("n_nationkey",),
        mutable=False,
        foreign_keys=((("n_regionkey",), "region", ("r_regionkey",)),),
    ),
    _table(
        "part",
        [
            ("p_partkey", "bigint"),
            ("p_name", "varchar(55)"),
            ("p_mfgr", "varchar(25)"),
            ("p_brand", "varchar(10)"),
            ("p_type", "varchar(25)"),
            ("p_size", "integer"),
            ("p_container", "varchar(10)"),
            ("p_retailprice", MONEY),
            ("p_comment", "varchar(23)"),
        ],
        ("p_partkey",),
    ),
    _table(
        "supplier",
        [
            ("s_suppkey", "bigint"),
            ("s_name", "varchar(25)"),
            ("s_address", "varchar(40)"),
            ("s_nationkey", "bigint"),
            ("s_phone", "varchar(15)"),
            ("s_acctbal", MONEY),
            ("s_comment", "varchar(101)"),
        ],
        ("s_suppkey",),
        foreign_keys=((("s_nationkey",), "nation", ("n_nationkey",)),),
    ),
    _table(
        "partsupp",
        [
            ("ps_partkey", "bigint"),
            ("ps_suppkey", "bigint"),
            ("ps_availqty", "integer"),
            ("ps_supplycost", MONEY),
            ("ps_comment", "varchar(199)"),
        ],
        ("ps_partkey", "ps_suppkey"),
        foreign_keys=(
            (("ps_partkey",), "part", ("p_partkey",)),
            (("ps_suppkey",), "supplier", ("s_suppkey",)),
        ),
    ),
    _table(
        "customer",
        [
            ("c_custkey", "bigint"),
            ("c_name", "varchar(25)"),
            ("c_address", "varchar(40)"),
            ("c_nationkey", "bigint"),
            ("c_phone", "varchar(15)"),
            ("c_acctbal", MONEY),
            ("c_mktsegment", "varchar(10)"),
            ("c_comment", "varchar(117)"),
        ],
        ("c_custkey",),
        foreign_keys=((("c_nationkey",), "nation", ("n_nationkey",)),),
    ),
    _table(
        "orders",
        [
            ("o_orderkey", "bigint"),
            ("o_custkey", "bigint"),
            ("o_orderstatus", "varchar(1)"),
            ("o_totalprice", MONEY),
            ("o_orderdate", "date"),
            ("o_orderpriority", "varchar(15)"),
            ("o_clerk", "varchar(15)"),
            ("o_shippriority", "integer"),
            ("o_comment", "varchar(79)"),
        ],
        ("o_orderkey",),
        foreign_keys=((("o_custkey",), "customer", ("c_custkey",)),),
    ),
    _table(
        "lineitem",
        [
            ("l_orderkey", "bigint"),
            ("l_partkey", "bigint"),
            ("l_suppkey", "bigint"),
            ("l_linenumber", "integer"),
            ("l_quantity", MONEY),
            ("l_extendedprice", MONEY),
            ("l_discount", MONEY),
            ("l_tax", MONEY),
            ("l_returnflag", "varchar(1)"),
            ("l_linestatus", "varchar(1)"),
            ("l_shipdate", "date"),
            ("l_commitdate", "date"),
            ("l_receiptdate", "date"),
            ("l_shipinstruct", "varchar(25)"),
            ("l_shipmode", "varchar(10)"),
            ("l_comment", "varchar(44)"),
        ],
        ("l_orderkey", "l_linenumber"),
        foreign_keys=(
            (("l_orderkey",), "orders", ("o_orderkey",)),
            (("l_partkey", "l_suppkey"), "partsupp", ("ps_partkey", "ps_suppkey")),
        ),
    ),
)

TABLES_BY_NAME: dict[str, Table] = {t.name: t for t in TABLES}
MUTABLE_TABLES: tuple[Table, ...] = tuple(t for t in TABLES if t.mutable)
REFERENCE_TABLES: tuple[Table, ...] = tuple(t for t in TABLES if not t.mutable)

# Bookkeeping tables of the ERP itself (not TPC-H).
STATE_TABLE = "erp_state"
DELETED_ROWS_TABLE = "deleted_rows"
