"""Move the ERP forward by simulated business days.

Each day runs these steps, each at its own time of day on the ERP clock (so ``updated_at``
tells them apart), in one transaction per day:

1. 08:00 fulfilment: lines whose ship date has come ship (``l_linestatus`` O to F); lines whose
   receipt date has come are returned (``R``) or accepted (``A``) by a seeded draw; the status
   of every order with a changed line is recomputed (O, P, F).
2. 10:00 new orders (TPC-H refresh function RF1): ``new_orders_rate`` times the order count,
   1 to 7 lines each, priced from the part's current retail price.
3. 13:00 customer edits (address, phone, market segment, account balance).
4. 14:00 part edits (retail price) and part-supplier offer edits (supply cost, available qty).
5. 15:00 supplier edits (address, phone, account balance).
6. 17:00 cancellations (TPC-H RF2): open orders not touched today are deleted with their
   lines; the triggers leave tombstones in ``deleted_rows``.

All draws come from ``random.Random(f"erp:{seed}:{day}")`` over key-ordered candidates, so a
seed and scale factor give the same days on SQLite and PostgreSQL.
"""

from __future__ import annotations

import random
import string
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from source_systems.erp.build import business_date, format_timestamp
from source_systems.erp.database import ErpDatabase
from source_systems.erp.schema import MUTABLE_TABLES, STATE_TABLE

SEGMENTS = ("AUTOMOBILE", "BUILDING", "FURNITURE", "HOUSEHOLD", "MACHINERY")
PRIORITIES = ("1-URGENT", "2-HIGH", "3-MEDIUM", "4-NOT SPECIFIED", "5-LOW")
SHIP_INSTRUCTIONS = ("DELIVER IN PERSON", "COLLECT COD", "NONE", "TAKE BACK RETURN")
SHIP_MODES = ("REG AIR", "AIR", "RAIL", "SHIP", "TRUCK", "MAIL", "FOB")
WORDS = (
    "furiously",
    "quickly",
    "carefully",
    "blithely",
    "regular",
    "express",
    "final",
    "pending",
    "ironic",
    "deposits",
    "accounts",
    "packages",
    "requests",
    "theodolites",
    "instructions",
)


@dataclass(frozen=True)
class ChangeRates:
    """How much changes per simulated day, as fractions of the current row counts."""

    new_orders_rate: float = 0.001
    cancel_rate: float = 0.0005
    customer_edit_rate: float = 0.002
    part_edit_rate: float = 0.001
    offer_edit_rate: float = 0.0005
    supplier_edit_rate: float = 0.01
    return_rate: float = 0.5

    def __post_init__(self) -> None:
        """Reject rates outside [0, 1]."""
        for name, value in asdict(self).items():
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, got {value}")


@dataclass
class DaySummary:
    """What one simulated day changed: rows inserted, updated and deleted per table."""

    day_number: int
    business_date: date
    inserted: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    deleted: dict[str, int] = field(default_factory=dict)

    def add(self, kind: str, table: str, count: int) -> None:
        """Add ``count`` rows of ``kind`` (inserted, updated or deleted) for ``table``."""
        bucket: dict[str, int] = getattr(self, kind)
        bucket[table] = bucket.get(table, 0) + count

    def as_dict(self) -> dict[str, Any]:
        """A JSON-friendly form, every mutable table present in every bucket."""
        names = [t.name for t in MUTABLE_TABLES]
        return {
            "day_number": self.day_number,
            "business_date": self.business_date.isoformat(),
            "inserted": {n: self.inserted.get(n, 0) for n in names},
            "updated": {n: self.updated.get(n, 0) for n in names},
            "deleted": {n: self.deleted.get(n, 0) for n in names},
        }


def _money(value: float | Decimal) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _text(rng: random.Random, low: int, high: int) -> str:
    words: list[str] = []
    limit = rng.randint(low, high)
    while len(" ".join(words)) < limit:
        words.append(rng.choice(WORDS))
    return " ".join(words)[:limit].strip()


def _address(rng: random.Random) -> str:
    alphabet = string.ascii_letters + string.digits + " ,"
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(10, 40))).strip() or "x"


def _phone(rng: random.Random, nation_key: int) -> str:
    return (
        f"{nation_key + 10}-{rng.randint(100, 999)}-{rng.randint(100, 999)}-"
        f"{rng.randint(1000, 9999)}"
    )


def _count(rate: float, population: int) -> int:
    """Rows to touch: ``rate`` of the population, at least one when the rate is positive."""
    if rate <= 0 or population <= 0:
        return 0
    return min(population, max(1, round(rate * population)))


class Simulator:
    """Advances one ERP database by business days."""

    def __init__(self, db: ErpDatabase, rates: ChangeRates | None = None) -> None:
        """Bind to an ERP built by :func:`source_systems.erp.build.build`."""
        self.db = db
        self.rates = rates or ChangeRates()
        state = db.query(f"select day_number, seed, scale_factor from {STATE_TABLE}")
        if not state:
            raise RuntimeError("the ERP has not been built: run `world init` first")
        self.day_number = int(state[0][0])
        self.seed = int(state[0][1])
        self.scale_factor = float(state[0][2])

    def _bind(self, value: Any) -> Any:
        """Parameter value as the driver wants it (SQLite has no Decimal or date type)."""
        if self.db.dialect == "sqlite":
            if isinstance(value, Decimal):
                return float(value)
            if isinstance(value, date):
                return value.isoformat()
        return value

    def _set_clock(self, day: date, at: time) -> None:
        stamp = format_timestamp(datetime.combine(day, at))
        self.db.execute(f"update {STATE_TABLE} set clock_at = ?", (stamp,))

    def advance(self, days: int) -> list[DaySummary]:
        """Simulate ``days`` business days, committing after each one."""
        summaries = []
        for _ in range(days):
            try:
                summaries.append(self._one_day(self.day_number + 1))
                self.db.commit()
            except BaseException:
                self.db.rollback()
                raise
            self.day_number += 1
        return summaries

    def _one_day(self, day_number: int) -> DaySummary:
        day = business_date(day_number)
        rng = random.Random(f"erp:{self.seed}:{day_number}")
        summary = DaySummary(day_number, day)
        self.db.execute(
            f"update {STATE_TABLE} set day_number = ?, business_date = ?",
            (day_number, day.isoformat()),
        )
        self._set_clock(day, time(8))
        self._fulfil(day, summary)
        self._set_clock(day, time(10))
        self._new_orders(day, rng, summary)
        self._set_clock(day, time(13))
        self._edit_customers(rng, summary)
        self._set_clock(day, time(14))
        self._edit_parts(rng, summary)
        self._edit_offers(rng, summary)
        self._set_clock(day, time(15))
        self._edit_suppliers(rng, summary)
        self._set_clock(day, time(17))
        self._cancel_orders(rng, summary, day_start=format_timestamp(datetime.combine(day, time())))
        return summary

    # --- 1. fulfilment -------------------------------------------------------------------
    def _fulfil(self, day: date, summary: DaySummary) -> None:
        d = day.isoformat()
        threshold = round(self.rates.return_rate * 10_000)
        draw = (
            f"((l_orderkey * 7919 + l_linenumber * 104729 + {self.seed} * 15485863) % 10000)"
            f" < {threshold}"
        )
        orders = [
            r[0]
            for r in self.db.query(
                "select distinct l_orderkey from lineitem where (l_linestatus = 'O' and "
                "l_shipdate <= ?) or (l_returnflag = 'N' and l_receiptdate <= ?) "
                "order by l_orderkey",
                (d, d),
            )
        ]
        changed = self.db.execute(
            "update lineitem set "
            "l_linestatus = case when l_shipdate <= ? then 'F' else l_linestatus end, "
            f"l_returnflag = case when l_returnflag = 'N' and l_receiptdate <= ? then "
            f"(case when {draw} then 'R' else 'A' end) else l_returnflag end "
            "where (l_linestatus = 'O' and l_shipdate <= ?) "
            "or (l_returnflag = 'N' and l_receiptdate <= ?)",
            (d, d, d, d),
        )
        summary.add("updated", "lineitem", changed)
        updated_orders = 0
        for chunk_start in range(0, len(orders), 500):
            chunk = orders[chunk_start : chunk_start + 500]
            marks = ", ".join("?" for _ in chunk)
            rows = self.db.query(
                "select o_orderkey, o_orderstatus, "
                "sum(case when l_linestatus = 'F' then 1 else 0 end), count(*) "
                "from orders join lineitem on l_orderkey = o_orderkey "
                f"where o_orderkey in ({marks}) group by o_orderkey, o_orderstatus",
                chunk,
            )
            for key, status, shipped, lines in rows:
                new = "F" if shipped == lines else ("O" if shipped == 0 else "P")
                if new != status:
                    self.db.execute(
                        "update orders set o_orderstatus = ? where o_orderkey = ?", (new, key)
                    )
                    updated_orders += 1
        summary.add("updated", "orders", updated_orders)

    # --- 2. new orders -------------------------------------------------------------------
    def _new_orders(self, day: date, rng: random.Random, summary: DaySummary) -> None:
        order_count = int(self.db.scalar("select count(*) from orders"))
        count = _count(self.rates.new_orders_rate, order_count)
        if count == 0:
            return
        next_key = int(self.db.scalar("select max(o_orderkey) from orders") or 0) + 1
        max_customer = int(self.db.scalar("select max(c_custkey) from customer"))
        max_part = int(self.db.scalar("select max(p_partkey) from part"))
        supplier_count = int(self.db.scalar("select count(*) from supplier"))
        clerks = max(1, round(self.scale_factor * 1000))
        stamp = self.db.scalar(f"select clock_at from {STATE_TABLE}")
        order_rows: list[tuple[Any, ...]] = []
        line_rows: list[tuple[Any, ...]] = []
        for i in range(count):
            order_key = next_key + i
            lines = []
            for line_number in range(1, rng.randint(1, 7) + 1):
                part_key = rng.randint(1, max_part)
                # TPC-H's rule for the four suppliers of a part (always in partsupp).
                j = rng.randint(0, 3)
                supplier_key = (
                    part_key + j * (supplier_count // 4 + (part_key - 1) // supplier_count)
                ) % supplier_count + 1
                quantity = rng.randint(1, 50)
                ship = day + timedelta(days=rng.randint(1, 121))
                lines.append(
                    [
                        order_key,
                        part_key,
                        supplier_key,
                        line_number,
                        _money(quantity),
                        None,  # extended price, filled from the part's current price
                        _money(rng.randint(0, 10) / 100),
                        _money(rng.randint(0, 8) / 100),
                        "N",
                        "O",
                        ship,
                        day + timedelta(days=rng.randint(30, 90)),
                        ship + timedelta(days=rng.randint(1, 30)),
                        rng.choice(SHIP_INSTRUCTIONS),
                        rng.choice(SHIP_MODES),
                        _text(rng, 10, 43),
                        stamp,
                    ]
                )
            part_keys = sorted({line[1] for line in lines})
            marks = ", ".join("?" for _ in part_keys)
            prices = dict(
                self.db.query(
                    f"select p_partkey, p_retailprice from part where p_partkey in ({marks})",
                    part_keys,
                )
            )
            total = Decimal("0")
            for line in lines:
                line[5] = _money(Decimal(str(prices[line[1]])) * line[4])
                total += line[5] * (1 + line[7]) * (1 - line[6])
            order_rows.append(
                (
                    order_key,
                    rng.randint(1, max_customer),
                    "O",
                    _money(total),
                    day,
                    rng.choice(PRIORITIES),
                    f"Clerk#{rng.randint(1, clerks):09d}",
                    0,
                    _text(rng, 19, 78),
                    stamp,
                )
            )
            line_rows.extend(tuple(line) for line in lines)
        self.db.executemany(
            "insert into orders (o_orderkey, o_custkey, o_orderstatus, o_totalprice, "
            "o_orderdate, o_orderpriority, o_clerk, o_shippriority, o_comment, updated_at) "
            "values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [tuple(self._bind(v) for v in row) for row in order_rows],
        )
        self.db.executemany(
            "insert into lineitem (l_orderkey, l_partkey, l_suppkey, l_linenumber, "
            "l_quantity, l_extendedprice, l_discount, l_tax, l_returnflag, l_linestatus, "
            "l_shipdate, l_commitdate, l_receiptdate, l_shipinstruct, l_shipmode, l_comment, "
            "updated_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [tuple(self._bind(v) for v in row) for row in line_rows],
        )
        summary.add("inserted", "orders", len(order_rows))
        summary.add("inserted", "lineitem", len(line_rows))

    # --- 3-5. master-data edits ----------------------------------------------------------
    def _sample_keys(self, rng: random.Random, sql: str, rate: float) -> list[Any]:
        keys = [r[0] if len(r) == 1 else r for r in self.db.query(sql)]
        return sorted(rng.sample(keys, _count(rate, len(keys))))

    def _edit_customers(self, rng: random.Random, summary: DaySummary) -> None:
        keys = self._sample_keys(
            rng,
            "select c_custkey from customer order by c_custkey",
            self.rates.customer_edit_rate,
        )
        for key in keys:
            nation, balance = self.db.query(
                "select c_nationkey, c_acctbal from customer where c_custkey = ?", (key,)
            )[0]
            what = rng.choice(("address", "phone", "segment", "balance", "move"))
            params: list[str | Decimal]
            if what == "address":
                sets, params = "c_address = ?", [_address(rng)]
            elif what == "phone":
                sets, params = "c_phone = ?", [_phone(rng, nation)]
            elif what == "segment":
                sets, params = "c_mktsegment = ?", [rng.choice(SEGMENTS)]
            elif what == "balance":
                sets = "c_acctbal = ?"
                delta = Decimal(rng.randint(-50_000, 50_000)) / 100
                params = [max(_money(-999.99), min(_money(9999.99), _money(balance) + delta))]
            else:
                sets, params = "c_address = ?, c_phone = ?", [_address(rng), _phone(rng, nation)]
            self.db.execute(
                f"update customer set {sets} where c_custkey = ?",
                [self._bind(p) for p in params] + [key],
            )
        summary.add("updated", "customer", len(keys))

    def _edit_parts(self, rng: random.Random, summary: DaySummary) -> None:
        keys = self._sample_keys(
            rng, "select p_partkey from part order by p_partkey", self.rates.part_edit_rate
        )
        for key in keys:
            price = Decimal(
                str(self.db.scalar("select p_retailprice from part where p_partkey = ?", (key,)))
            )
            factor = Decimal(100 + rng.randint(-5, 10)) / 100
            self.db.execute(
                "update part set p_retailprice = ? where p_partkey = ?",
                (self._bind(_money(price * factor)), key),
            )
        summary.add("updated", "part", len(keys))

    def _edit_offers(self, rng: random.Random, summary: DaySummary) -> None:
        keys = self._sample_keys(
            rng,
            "select ps_partkey, ps_suppkey from partsupp order by ps_partkey, ps_suppkey",
            self.rates.offer_edit_rate,
        )
        for part_key, supplier_key in keys:
            self.db.execute(
                "update partsupp set ps_supplycost = ?, ps_availqty = ? "
                "where ps_partkey = ? and ps_suppkey = ?",
                (
                    self._bind(_money(rng.randint(100, 100_000) / 100)),
                    rng.randint(1, 9999),
                    part_key,
                    supplier_key,
                ),
            )
        summary.add("updated", "partsupp", len(keys))

    def _edit_suppliers(self, rng: random.Random, summary: DaySummary) -> None:
        keys = self._sample_keys(
            rng, "select s_suppkey from supplier order by s_suppkey", self.rates.supplier_edit_rate
        )
        for key in keys:
            nation = self.db.scalar("select s_nationkey from supplier where s_suppkey = ?", (key,))
            what = rng.choice(("address", "phone", "balance"))
            value: str | Decimal
            if what == "address":
                sets, value = "s_address = ?", _address(rng)
            elif what == "phone":
                sets, value = "s_phone = ?", _phone(rng, nation)
            else:
                sets, value = "s_acctbal = ?", _money(rng.randint(-99_999, 999_999) / 100)
            self.db.execute(
                f"update supplier set {sets} where s_suppkey = ?", (self._bind(value), key)
            )
        summary.add("updated", "supplier", len(keys))

    # --- 6. cancellations ----------------------------------------------------------------
    def _cancel_orders(self, rng: random.Random, summary: DaySummary, day_start: str) -> None:
        order_count = int(self.db.scalar("select count(*) from orders"))
        candidates = [
            r[0]
            for r in self.db.query(
                "select o_orderkey from orders where o_orderstatus = 'O' and updated_at < ? "
                "order by o_orderkey",
                (day_start,),
            )
        ]
        count = min(len(candidates), _count(self.rates.cancel_rate, order_count))
        keys = sorted(rng.sample(candidates, count))
        lines = 0
        for key in keys:
            lines += self.db.execute("delete from lineitem where l_orderkey = ?", (key,))
            self.db.execute("delete from orders where o_orderkey = ?", (key,))
        summary.add("deleted", "orders", len(keys))
        summary.add("deleted", "lineitem", lines)
