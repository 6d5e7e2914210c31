"""Build the CRM from the ERP at its current day, and move it forward with the ERP's days.

Build (``build_crm``): every ERP customer gets a contact profile with probability
``PROFILE_SHARE``; the others have none yet and form the pool that leads convert into. Leads
(``LEAD_SHARE`` of the customer count) are added with no ERP customer. Contacts are numbered
in that order (customers by ERP key, then leads), so ``contact_id`` is stable for a seed.

Each simulated day (``advance_crm``), at its own time of day, every change one second apart
(``updated_at`` is distinct within a day, so an incremental reader sees a clean boundary):

1. 09:00 profile edits: email, phone, preferred channel or loyalty tier (customers only);
2. 11:00 marketing consent withdrawn;
3. 12:00 new leads;
4. 16:00 lead conversions: a lead becomes the customer of an ERP key that had no CRM
   profile yet (the ERP does not create customers; the CRM "discovers" that its lead is that
   customer). The lead keeps its ``contact_id`` and gains ``customer_id``.

All draws come from ``random.Random(f"crm:{seed}:{day}")`` over key-ordered candidates, with
the ERP's seed, so a seed gives the same CRM on every machine.
"""

from __future__ import annotations

import random
import sqlite3
from dataclasses import asdict, dataclass
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any

from source_systems.crm.database import (
    CHANNELS,
    TIERS,
    connect_store,
    crm_db_path,
    format_stamp,
)
from source_systems.erp.build import DAY_ZERO_CLOCK, business_date
from source_systems.erp.database import ErpDatabase
from source_systems.erp.schema import STATE_TABLE

PROFILE_SHARE = 0.85
"""Share of ERP customers with a CRM profile at build time."""
LEAD_SHARE = 0.10
"""Leads at build time, as a share of the ERP customer count."""

_DOMAINS = ("example.com", "example.net", "example.org")
_COMPANY_WORDS = (
    "Acme",
    "Blue",
    "Cedar",
    "Delta",
    "Granite",
    "Harbor",
    "Iron",
    "Juniper",
    "Maple",
    "North",
    "Pioneer",
    "Summit",
)
_COMPANY_KINDS = ("Trading", "Supply", "Works", "Logistics", "Retail", "Imports")
_LEGAL_FORMS = ("Ltd", "Inc", "GmbH", "LLC", "SA")


@dataclass(frozen=True)
class CrmRates:
    """How much the CRM changes per simulated day (fractions of the current counts)."""

    profile_edit_rate: float = 0.01
    consent_withdraw_rate: float = 0.005
    new_lead_rate: float = 0.005
    conversion_rate: float = 0.05

    def __post_init__(self) -> None:
        """Reject rates outside [0, 1]."""
        for name, value in asdict(self).items():
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, got {value}")


def _count(rate: float, population: int) -> int:
    """Rows to touch: ``rate`` of the population, at least one when the rate is positive."""
    if rate <= 0 or population <= 0:
        return 0
    return min(population, max(1, round(rate * population)))


def _phone(rng: random.Random) -> str:
    return (
        f"{rng.randint(10, 34)}-{rng.randint(100, 999)}-{rng.randint(100, 999)}-"
        f"{rng.randint(1000, 9999)}"
    )


def _company(rng: random.Random) -> str:
    return f"{rng.choice(_COMPANY_WORDS)} {rng.choice(_COMPANY_KINDS)} {rng.choice(_LEGAL_FORMS)}"


def _email(rng: random.Random, contact_id: int, name: str) -> str:
    local = "".join(ch for ch in name.lower() if ch.isalnum())[:16] or "contact"
    return f"{local}.{contact_id}@{rng.choice(_DOMAINS)}"


def _erp_state(erp: ErpDatabase) -> tuple[int, int]:
    rows = erp.query(f"select day_number, seed from {STATE_TABLE}")
    if not rows:
        raise RuntimeError("the ERP has not been built: run `world init` first")
    return int(rows[0][0]), int(rows[0][1])


def build_crm(erp: ErpDatabase, path: str | Path | None = None) -> dict[str, int]:
    """(Re)create the CRM store from the ERP's customers; return contacts per lifecycle stage."""
    day, seed = _erp_state(erp)
    rng = random.Random(f"crm:{seed}:{day}")
    db_path = crm_db_path(path)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db_path}{suffix}").unlink(missing_ok=True)
    customers = erp.query("select c_custkey, c_name, c_phone from customer order by c_custkey")
    built_at = datetime.combine(business_date(day), DAY_ZERO_CLOCK.time())
    horizon = 3 * 365 * 86_400  # contacts were created over the last three years

    def stamps() -> tuple[str, str]:
        created = built_at - timedelta(seconds=rng.randint(86_400, horizon))
        updated = created + timedelta(
            seconds=rng.randint(0, int((built_at - created).total_seconds()))
        )
        return format_stamp(created), format_stamp(updated)

    rows: list[tuple[Any, ...]] = []
    for key, name, phone in customers:
        if rng.random() >= PROFILE_SHARE:
            continue
        contact_id = len(rows) + 1
        created, updated = stamps()
        rows.append(
            (
                contact_id,
                int(key),
                "customer",
                str(name).strip(),
                _email(rng, contact_id, str(name)),
                str(phone).strip() if rng.random() < 0.9 else _phone(rng),
                rng.choices(CHANNELS, weights=(5, 3, 1, 1))[0],
                rng.choices(TIERS, weights=(6, 3, 2, 1))[0],
                int(rng.random() < 0.6),
                created,
                None,
                updated,
            )
        )
    for _ in range(round(LEAD_SHARE * len(customers))):
        rows.append(_lead(rng, len(rows) + 1, *stamps()))
    with connect_store(db_path, create=True) as conn:
        # a new file (nothing to lose until it is built): no fsync per commit while loading
        conn.execute("pragma synchronous = off")
        conn.execute("pragma cache_size = -65536")
        conn.execute(
            "insert into crm_state (id, day_number, business_date, seed) values (1, ?, ?, ?)",
            (day, business_date(day).isoformat(), seed),
        )
        conn.executemany(f"insert into contacts values ({', '.join('?' * 12)})", rows)
    leads = sum(1 for r in rows if r[2] == "lead")
    return {"customer": len(rows) - leads, "lead": leads}


def _lead(rng: random.Random, contact_id: int, created: str, updated: str) -> tuple[Any, ...]:
    name = _company(rng)
    return (
        contact_id,
        None,
        "lead",
        name,
        _email(rng, contact_id, name),
        _phone(rng),
        rng.choices(CHANNELS, weights=(5, 3, 1, 1))[0],
        None,
        int(rng.random() < 0.5),
        created,
        None,
        updated,
    )


class _Clock:
    """Stamps one second apart from a time of day, so a day's changes never tie."""

    def __init__(self, day_number: int, at: time) -> None:
        self.next = datetime.combine(business_date(day_number), at)

    def tick(self) -> str:
        stamp = format_stamp(self.next)
        self.next += timedelta(seconds=1)
        return stamp


def _sample(rng: random.Random, keys: list[int], rate: float) -> list[int]:
    return sorted(rng.sample(keys, _count(rate, len(keys))))


def _one_day(
    conn: sqlite3.Connection, erp: ErpDatabase, day: int, seed: int, rates: CrmRates
) -> dict[str, Any]:
    rng = random.Random(f"crm:{seed}:{day}")
    summary: dict[str, Any] = {"day_number": day, "business_date": business_date(day).isoformat()}

    # 09:00 profile edits
    clock = _Clock(day, time(9))
    contacts = conn.execute(
        "select contact_id, lifecycle_stage, account_name from contacts order by contact_id"
    ).fetchall()
    stage_of = {cid: (stage, name) for cid, stage, name in contacts}
    edited = _sample(rng, list(stage_of), rates.profile_edit_rate)
    for cid in edited:
        stage, name = stage_of[cid]
        what = rng.choice(("email", "phone", "channel", "tier" if stage == "customer" else "email"))
        if what == "email":
            sets, value = "email = ?", _email(rng, cid, name)
        elif what == "phone":
            sets, value = "phone = ?", _phone(rng)
        elif what == "channel":
            sets, value = "preferred_channel = ?", rng.choice(CHANNELS)
        else:
            sets, value = "loyalty_tier = ?", rng.choice(TIERS)
        conn.execute(
            f"update contacts set {sets}, updated_at = ? where contact_id = ?",
            (value, clock.tick(), cid),
        )
    summary["profiles_edited"] = len(edited)

    # 11:00 consent withdrawn
    clock = _Clock(day, time(11))
    consenting = [
        r[0]
        for r in conn.execute(
            "select contact_id from contacts where marketing_consent = 1 order by contact_id"
        )
    ]
    withdrawn = _sample(rng, consenting, rates.consent_withdraw_rate)
    for cid in withdrawn:
        conn.execute(
            "update contacts set marketing_consent = 0, updated_at = ? where contact_id = ?",
            (clock.tick(), cid),
        )
    summary["consent_withdrawn"] = len(withdrawn)

    # 12:00 new leads
    clock = _Clock(day, time(12))
    next_id = int(conn.execute("select coalesce(max(contact_id), 0) from contacts").fetchone()[0])
    new_leads = _count(rates.new_lead_rate, len(contacts))
    for i in range(new_leads):
        stamp = clock.tick()
        conn.execute(
            f"insert into contacts values ({', '.join('?' * 12)})",
            _lead(rng, next_id + i + 1, stamp, stamp),
        )
    summary["leads_added"] = new_leads

    # 16:00 lead conversions into ERP customers that have no CRM profile yet
    clock = _Clock(day, time(16))
    leads = [
        r[0]
        for r in conn.execute(
            "select contact_id from contacts where customer_id is null order by contact_id"
        )
    ]
    profiled = {r[0] for r in conn.execute("select customer_id from contacts")}
    names = dict(erp.query("select c_custkey, c_name from customer order by c_custkey"))
    pool = [int(k) for k in names if int(k) not in profiled]
    converting = _sample(rng, leads, rates.conversion_rate)[: len(pool)]
    customers = sorted(rng.sample(pool, len(converting)))
    for cid, key in zip(converting, customers, strict=True):
        stamp = clock.tick()
        conn.execute(
            "update contacts set customer_id = ?, lifecycle_stage = 'customer', "
            "account_name = ?, loyalty_tier = 'bronze', converted_at = ?, updated_at = ? "
            "where contact_id = ?",
            (key, str(names[key]).strip(), stamp, stamp, cid),
        )
    summary["leads_converted"] = len(converting)
    conn.execute(
        "update crm_state set day_number = ?, business_date = ?",
        (day, business_date(day).isoformat()),
    )
    return summary


def advance_crm(
    erp: ErpDatabase, path: str | Path | None = None, rates: CrmRates | None = None
) -> list[dict[str, Any]]:
    """Simulate CRM days until the CRM reaches the ERP's day; one transaction per day.

    Returns one summary per day: profiles edited, consent withdrawn, leads added, converted.
    """
    erp_day, _ = _erp_state(erp)
    rates = rates or CrmRates()
    summaries = []
    with connect_store(path) as conn:
        crm_day, seed = conn.execute("select day_number, seed from crm_state").fetchone()
    for day in range(int(crm_day) + 1, erp_day + 1):
        with connect_store(path) as conn:
            summaries.append(_one_day(conn, erp, day, int(seed), rates))
    return summaries
