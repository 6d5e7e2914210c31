"""Write the carrier's daily JSON-lines files from the ERP's order lines.

Which events happen on business day ``X`` (read from the ERP, facts that never change once the
day has passed, so any later day can recompute them):

| event | order lines | time of day (UTC) |
|---|---|---|
| ``picked_up`` | ship date is ``X`` | 06:00-12:00 |
| ``in_transit`` | ship date is ``X - 1`` and receipt date after ``X`` | 12:00-20:00 |
| ``out_for_delivery`` | receipt date is ``X`` | 07:00-09:00 |
| ``delivered`` | receipt date is ``X`` (``signed_by`` from day 3 on) | 10:00-18:00 |
| ``returned`` | received on ``X - 2`` and returned (``l_returnflag = 'R'``) | 09:00-17:00 |
| ``exception`` | the line was deleted (order cancelled) on ``X`` | 17:30-18:30 |

The feed starts on day 1: day 0 (the ERP as built) writes no file and has no backlog.

The mess, all drawn from ``random.Random(f"carrier:{seed}:{X}")`` in a fixed order (every draw is
made whatever the rates, so a rate of 0 changes nothing else):

* **late**: ``late_rate`` of the events are held back 1 to 3 days and written in that later
  day's file (their ``event_time`` stays on day ``X``);
* **duplicates** (at-least-once delivery): ``duplicate_rate`` of the events are written twice
  with the same ``event_id`` and payload, half in the same file, half in the next day's file;
* **malformed**: ``malformed_rate`` of the events are written corrupted in one of the ways of
  :data:`MALFORMED_KINDS`; a corrupted event is never sent again (the carrier lost it);
* **out of order**: every file's lines are shuffled (``Random(f"carrier:{seed}:{D}:order")``),
  so event times are not sorted, and late events sit among the day's own.

A rate of 0 turns a kind of mess off; with all three at 0 every line is a valid, unique event.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from source_systems.carrier.schema import (
    FILE_GLOB,
    SIGNED_BY_FROM_DAY,
    file_name_for,
)
from source_systems.erp.build import business_date
from source_systems.erp.database import ErpDatabase
from source_systems.erp.schema import STATE_TABLE

MAX_LATE_DAYS = 3
"""A late event arrives 1 to this many days after the day it happened."""

MALFORMED_KINDS = (
    "invalid_json",
    "missing_field",
    "unknown_event_type",
    "invalid_time",
    "wrong_type",
)
"""How a line is corrupted; each name is also the quarantine reason the loader gives it."""

SERVICES = {
    "AIR": "SkyFreight Air",
    "REG AIR": "SkyFreight Air",
    "RAIL": "RailCargo",
    "SHIP": "OceanLink",
    "TRUCK": "RoadRunner Freight",
    "MAIL": "National Post",
    "FOB": "RoadRunner Freight",
}
"""Carrier service per ERP ship mode; cancelled lines (mode unknown) use the default."""
DEFAULT_SERVICE = "RoadRunner Freight"
CITIES = (
    "Rotterdam",
    "Hamburg",
    "Chicago",
    "Memphis",
    "Louisville",
    "Singapore",
    "Dubai",
    "Leipzig",
    "Anchorage",
    "Shenzhen",
    "Sao Paulo",
    "Johannesburg",
)
SIGNERS = ("A. Smith", "J. Chen", "M. Garcia", "K. Okafor", "L. Novak", "front desk", "neighbour")


@dataclass(frozen=True)
class MessRates:
    """How messy the feed is, as fractions of the day's events (0 turns a kind off)."""

    late_rate: float = 0.05
    duplicate_rate: float = 0.03
    malformed_rate: float = 0.02

    def __post_init__(self) -> None:
        """Reject rates outside [0, 1]."""
        for name, value in asdict(self).items():
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, got {value}")


@dataclass
class DayFile:
    """What one day's file holds: lines, and how many of each kind of line."""

    day_number: int
    business_date: date
    path: Path
    lines: int = 0
    events: int = 0
    """Valid lines that are not a copy of another line (a resent event counts once)."""
    late: int = 0
    """Events (first copies) that happened on an earlier day."""
    duplicates: int = 0
    """Valid lines that repeat an event already written (this file or an earlier one)."""
    malformed: dict[str, int] = field(default_factory=dict)
    """Corrupted lines per kind (the quarantine reason the loader must give)."""
    event_ids: list[str] = field(default_factory=list)
    """Ids of the valid events first written in this file."""

    def as_dict(self) -> dict[str, Any]:
        """A JSON-friendly summary (without the event ids)."""
        return {
            "day_number": self.day_number,
            "business_date": self.business_date.isoformat(),
            "file": self.path.name,
            "lines": self.lines,
            "events": self.events,
            "late": self.late,
            "duplicates": self.duplicates,
            "malformed": dict(sorted(self.malformed.items())),
        }


@dataclass
class _Delivery:
    file_day: int
    text: str
    kind: str  # "event", "duplicate" or a malformed kind
    event_id: str
    late: bool
    order: tuple[Any, ...]


def event_id_for(order_key: int, line_number: int, event_type: str) -> str:
    """The carrier's id of an event: stable, one per order line and event type."""
    digest = hashlib.sha1(f"{order_key}:{line_number}:{event_type}".encode()).hexdigest()
    return f"evt_{digest[:20]}"


def tracking_number_for(order_key: int, line_number: int) -> str:
    """The parcel's tracking number: one parcel per order line."""
    return f"CX{order_key:010d}{line_number:02d}"


def _stamp(day: date, seconds: int) -> str:
    return (datetime.combine(day, time()) + timedelta(seconds=seconds)).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )


def _facts_of_day(db: ErpDatabase, day_number: int) -> list[tuple[int, int, str, str, int, int]]:
    """Order lines with an event on ``day_number``: (order, line, type, mode, start, end hour)."""
    x = business_date(day_number)
    d, d1, d2 = x.isoformat(), (x - timedelta(1)).isoformat(), (x - timedelta(2)).isoformat()
    facts: list[tuple[int, int, str, str, int, int]] = []
    select = "select l_orderkey, l_linenumber, l_shipmode from lineitem where "
    for sql, params, kinds in (
        (select + "l_shipdate = ?", (d,), (("picked_up", 6, 12),)),
        (
            select + "l_shipdate = ? and l_receiptdate > ?",
            (d1, d),
            (("in_transit", 12, 20),),
        ),
        (
            select + "l_receiptdate = ?",
            (d,),
            (("out_for_delivery", 7, 9), ("delivered", 10, 18)),
        ),
        (select + "l_receiptdate = ? and l_returnflag = 'R'", (d2,), (("returned", 9, 17),)),
    ):
        for order_key, line_number, mode in db.query(sql, params):
            for kind, start, end in kinds:
                facts.append(
                    (int(order_key), int(line_number), kind, str(mode).strip(), start, end)
                )
    day_start = datetime.combine(x, time()).isoformat(sep=" ")
    day_end = datetime.combine(x + timedelta(1), time()).isoformat(sep=" ")
    for (row_key,) in db.query(
        "select row_key from deleted_rows where table_name = 'lineitem' "
        "and deleted_at >= ? and deleted_at < ?",
        (day_start, day_end),
    ):
        key = json.loads(row_key)
        facts.append((int(key["l_orderkey"]), int(key["l_linenumber"]), "exception", "", 17, 18))
    type_rank = {"picked_up": 0, "in_transit": 1, "out_for_delivery": 2, "delivered": 3}
    facts.sort(key=lambda f: (f[0], f[1], type_rank.get(f[2], 9), f[2]))
    return facts


def _corrupt(event: dict[str, Any], kind: str, rng: random.Random) -> str:
    """The text of ``event`` corrupted the way ``kind`` says (one draw always consumed)."""
    pick = rng.randrange(len(event))
    bad = dict(event)
    if kind == "invalid_json":
        text = json.dumps(bad, separators=(",", ":"))
        return text[: len(text) // 2 + pick]
    if kind == "missing_field":
        required = [k for k in bad if k != "signed_by"]
        del bad[required[pick % len(required)]]
    elif kind == "unknown_event_type":
        bad["event_type"] = "teleported"
    elif kind == "invalid_time":
        bad["event_time"] = bad["event_time"][:10] + " 25:61"
    else:  # wrong_type: a number sent as a string
        bad["line_number"] = str(bad["line_number"])
    return json.dumps(bad, separators=(",", ":"))


def _deliveries_of_day(
    db: ErpDatabase, day_number: int, seed: int, rates: MessRates
) -> list[_Delivery]:
    """Every line the events of ``day_number`` produce, in whichever file they land."""
    x = business_date(day_number)
    rng = random.Random(f"carrier:{seed}:{day_number}")
    out: list[_Delivery] = []
    for order_key, line_number, kind, mode, start_hour, end_hour in _facts_of_day(db, day_number):
        seconds = rng.randrange(start_hour * 3600, end_hour * 3600)
        event: dict[str, Any] = {
            "event_id": event_id_for(order_key, line_number, kind),
            "order_key": order_key,
            "line_number": line_number,
            "tracking_number": tracking_number_for(order_key, line_number),
            "carrier": SERVICES.get(mode, DEFAULT_SERVICE),
            "event_type": kind,
            "event_time": _stamp(x, seconds),
            "location": rng.choice(CITIES),
        }
        signer = rng.choice(SIGNERS)
        if kind == "delivered" and day_number >= SIGNED_BY_FROM_DAY:
            event["signed_by"] = signer
        malformed, malformed_kind = rng.random() < rates.malformed_rate, rng.choice(MALFORMED_KINDS)
        late, delay = rng.random() < rates.late_rate, rng.randint(1, MAX_LATE_DAYS)
        duplicate, same_file = rng.random() < rates.duplicate_rate, rng.random() < 0.5
        corrupted = _corrupt(event, malformed_kind, rng)
        order = (order_key, line_number, kind)
        if malformed:
            out.append(
                _Delivery(day_number, corrupted, malformed_kind, event["event_id"], False, order)
            )
            continue
        text = json.dumps(event, separators=(",", ":"))
        target = day_number + (delay if late else 0)
        out.append(_Delivery(target, text, "event", event["event_id"], late, order))
        if duplicate:
            again = target if same_file else target + 1
            out.append(_Delivery(again, text, "duplicate", event["event_id"], late, (*order, 1)))
    return out


def write_day(
    erp_db: ErpDatabase,
    landing_dir: Path,
    day_number: int,
    seed: int,
    rates: MessRates | None = None,
) -> DayFile | None:
    """Write the carrier's file for ``day_number`` into ``landing_dir`` and describe it.

    The ERP must have reached that day. Day 0 writes nothing (returns ``None``): the feed
    starts on day 1. The file is written under a temporary name and renamed, so a loader never
    sees half a file. Same ERP, seed and rates: same bytes.
    """
    if day_number < 1:
        return None
    rates = rates or MessRates()
    reached = int(erp_db.scalar(f"select day_number from {STATE_TABLE}"))
    if reached < day_number:
        raise ValueError(
            f"the ERP is at day {reached}; cannot write the carrier's day {day_number}"
        )
    lines: list[_Delivery] = []
    for earlier in range(max(1, day_number - MAX_LATE_DAYS - 1), day_number + 1):
        lines.extend(
            d for d in _deliveries_of_day(erp_db, earlier, seed, rates) if d.file_day == day_number
        )
    lines.sort(key=lambda d: d.order)
    random.Random(f"carrier:{seed}:{day_number}:order").shuffle(lines)
    day = business_date(day_number)
    landing_dir.mkdir(parents=True, exist_ok=True)
    path = landing_dir / file_name_for(day.isoformat())
    summary = DayFile(day_number, day, path, lines=len(lines))
    malformed: Counter[str] = Counter()
    for delivery in lines:
        if delivery.kind in MALFORMED_KINDS:
            malformed[delivery.kind] += 1
        elif delivery.kind == "duplicate":
            # The other copy is in this file or in the previous day's file.
            summary.duplicates += 1
        else:
            summary.events += 1
            summary.late += delivery.late
            summary.event_ids.append(delivery.event_id)
    summary.malformed = dict(malformed)
    tmp = path.with_name(f".{path.name}.partial")
    tmp.write_text("".join(d.text + "\n" for d in lines), encoding="utf-8")
    tmp.replace(path)
    return summary


def clear_landing(landing_dir: Path) -> int:
    """Remove the carrier's files from ``landing_dir`` (nothing else); return how many."""
    removed = 0
    if landing_dir.exists():
        for path in landing_dir.glob(FILE_GLOB):
            path.unlink()
            removed += 1
    return removed
