"""The whole demo world moved together: the ERP, the CRM and the carrier's landing folder.

``world init`` / ``world advance`` and the main job (``warehouse demo``) all go through these
two functions, so the three systems always stand on the same business day.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from source_systems.carrier.feed import MessRates, clear_landing, write_day
from source_systems.carrier.schema import landing_dir
from source_systems.crm.database import crm_db_path
from source_systems.crm.simulate import CrmRates, advance_crm, build_crm
from source_systems.erp.build import build
from source_systems.erp.database import ErpDatabase
from source_systems.erp.simulate import ChangeRates, Simulator


def init_world(
    erp: ErpDatabase, *, scale_factor: float, seed: int, crm_db: str | Path | None = None
) -> dict[str, Any]:
    """Build the ERP at day 0, the CRM from it, and empty the carrier's landing folder."""
    rows = build(erp, scale_factor=scale_factor, seed=seed)
    contacts = build_crm(erp, crm_db)
    removed = clear_landing(landing_dir())
    return {
        "erp": erp.url,
        "rows": rows,
        "crm": str(crm_db_path(crm_db)),
        "contacts": contacts,
        "carrier_files_removed": removed,
    }


def advance_world(
    erp: ErpDatabase,
    days: int,
    *,
    rates: ChangeRates | None = None,
    crm_rates: CrmRates | None = None,
    mess: MessRates | None = None,
    crm_db: str | Path | None = None,
) -> list[dict[str, Any]]:
    """Simulate ``days`` business days: ERP, then CRM, then the carrier's file of the day."""
    if days < 0:
        raise ValueError("days must be zero or more")
    simulator = Simulator(erp, rates)
    summaries = []
    for _ in range(days):
        erp_day = simulator.advance(1)[0]
        crm_days = advance_crm(erp, crm_db, crm_rates)
        carrier = write_day(erp, landing_dir(), erp_day.day_number, simulator.seed, mess)
        summaries.append(
            {
                **erp_day.as_dict(),
                "crm": crm_days[-1] if crm_days else {},
                "carrier": carrier.as_dict() if carrier else None,
            }
        )
    return summaries
