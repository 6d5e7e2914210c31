"""The demo world's public API: what the jobs and the tests may use of the simulator.

The whole demo world moves together: the ERP, the CRM and the carrier's landing folder.
``world init`` / ``world advance`` and the main job (``warehouse demo``) all go through
:func:`init_world` and :func:`advance_world`, so the three systems always stand on the same
business day.

Nothing outside ``source_systems`` imports its other modules: the warehouse's jobs
(``orchestration``) use this module and :mod:`warehouse_settings`, and the loaders
(``ingestion``) use neither: they know the sources by configuration only. The demo CRM's HTTP
API is started here (:func:`crm_server`) and its URL and token handed to ``load crm`` the way a
user hands over their own CRM's.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from source_systems.carrier.feed import MessRates, clear_landing, write_day
from source_systems.carrier.schema import landing_dir
from source_systems.crm.database import crm_db_path
from source_systems.crm.server import DEFAULT_TOKEN, FaultSettings, api_token, running_crm
from source_systems.crm.simulate import CrmRates, advance_crm, build_crm
from source_systems.erp.build import build
from source_systems.erp.database import ErpDatabase, connect
from source_systems.erp.simulate import ChangeRates, Simulator

__all__ = [
    "DEFAULT_CRM_TOKEN",
    "DEFAULT_SCALE",
    "DEFAULT_SEED",
    "FAULT_RATE_ENV",
    "ChangeRates",
    "CrmEndpoint",
    "CrmRates",
    "ErpDatabase",
    "MessRates",
    "advance_erp",
    "advance_world",
    "build",
    "connect",
    "crm_db_path",
    "crm_server",
    "init_world",
]

DEFAULT_SCALE = 0.01
"""TPC-H scale factor of a new demo world."""

DEFAULT_SEED = 42
"""Seed of every draw of a new demo world."""

DEFAULT_CRM_TOKEN = DEFAULT_TOKEN
"""The demo CRM's API token when ``CRM_API_TOKEN`` is unset (documented, not secret)."""

FAULT_RATE_ENV = "CRM_FAULT_RATE"
"""Share of faulty answers of the demo CRM server that :func:`crm_server` starts."""


@dataclass(frozen=True)
class CrmEndpoint:
    """Where a running demo CRM answers, and the token it wants: what ``load crm`` needs."""

    base_url: str
    token: str


@contextlib.contextmanager
def crm_server(
    crm_db: str | Path | None = None,
    *,
    token: str | None = None,
    fault_rate: float | None = None,
) -> Iterator[CrmEndpoint]:
    """Serve the demo CRM's API on a free local port for the length of the block.

    The token is ``token``, else ``CRM_API_TOKEN``, else :data:`DEFAULT_CRM_TOKEN`; the fault
    rate ``fault_rate``, else ``CRM_FAULT_RATE``, else none. Hand ``base_url`` and ``token``
    to ``load crm`` (arguments, or ``CRM_BASE_URL`` and ``CRM_API_TOKEN``) as for any CRM.
    """
    rate = fault_rate if fault_rate is not None else float(os.environ.get(FAULT_RATE_ENV) or 0)
    chosen_token = token or api_token()
    with running_crm(crm_db, token=chosen_token, faults=FaultSettings(fault_rate=rate)) as server:
        yield CrmEndpoint(server.base_url, chosen_token)


def advance_erp(erp: ErpDatabase, days: int = 1, rates: ChangeRates | None = None) -> None:
    """Move the ERP alone on ``days`` business days (the ingestion benchmark's world)."""
    Simulator(erp, rates).advance(days)


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
