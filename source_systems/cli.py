"""``world``: build and advance the demo source world.

Examples::

    world init --scale 0.01 --seed 42      # build the ERP at day 0, the CRM from it,
                                           # and empty the carrier's landing folder
    world advance --days 3                 # three business days: ERP, CRM, carrier files
    world status                           # day, clock and row counts
    world crm-serve --port 8765            # serve the CRM's HTTP API until Ctrl-C
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import signal
import sys
import time
from dataclasses import fields
from typing import TYPE_CHECKING, TypeVar

from source_systems.carrier.feed import MessRates
from source_systems.crm.database import connect_store
from source_systems.crm.server import FaultSettings, running_crm
from source_systems.crm.simulate import CrmRates
from source_systems.erp.database import connect
from source_systems.erp.schema import STATE_TABLE, TABLES
from source_systems.erp.simulate import ChangeRates
from source_systems.world import DEFAULT_SCALE, DEFAULT_SEED, advance_world, init_world

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

T = TypeVar("T", bound="DataclassInstance")


def _add_rate_flags(
    parser: argparse.ArgumentParser, rates: type[DataclassInstance], prefix: str, what: str
) -> None:
    """One ``--<prefix><field>`` float flag per field of the ``rates`` dataclass."""
    for f in fields(rates):
        parser.add_argument(
            f"--{(prefix + f.name).replace('_', '-')}",
            type=float,
            default=f.default,
            help=f"{what} (default {f.default})",
        )


def _rates_from(args: argparse.Namespace, rates: type[T], prefix: str) -> T:
    """The ``rates`` dataclass filled from the flags of :func:`_add_rate_flags`."""
    return rates(**{f.name: getattr(args, prefix + f.name) for f in fields(rates)})


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="world", description=__doc__.split("\n\n")[0])
    parser.add_argument("--erp-url", help="ERP database URL (default: $ERP_URL or SQLite file)")
    parser.add_argument("--crm-db", help="CRM store (default: $CRM_DB_PATH or data/crm.sqlite)")
    sub = parser.add_subparsers(dest="command", required=True)
    init = sub.add_parser("init", help="build the ERP at day 0 from tpchgen-cli data")
    init.add_argument("--scale", type=float, default=DEFAULT_SCALE, help="TPC-H scale factor")
    init.add_argument("--seed", type=int, default=DEFAULT_SEED, help="seed of every draw")
    advance = sub.add_parser("advance", help="simulate business days")
    advance.add_argument("--days", type=int, default=1, help="how many days")
    _add_rate_flags(advance, ChangeRates, "", "ERP per-day rate")
    _add_rate_flags(advance, MessRates, "carrier_", "carrier feed mess rate; 0 turns it off")
    _add_rate_flags(advance, CrmRates, "crm_", "CRM per-day rate")
    sub.add_parser("status", help="print the ERP day, clock and row counts as JSON")
    serve = sub.add_parser("crm-serve", help="serve the CRM's HTTP API until interrupted")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    serve.add_argument("--fault-rate", type=float, default=0.0, help="share of faulty answers")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``world`` command."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args = _parser().parse_args(argv)
    if args.command == "crm-serve":
        return _serve(args)
    with connect(args.erp_url) as db:
        if args.command == "init":
            summary = init_world(db, scale_factor=args.scale, seed=args.seed, crm_db=args.crm_db)
            json.dump(summary, sys.stdout, indent=2)
        elif args.command == "advance":
            if args.days < 0:
                raise SystemExit("--days must be zero or more")
            rates = _rates_from(args, ChangeRates, "")
            mess = _rates_from(args, MessRates, "carrier_")
            crm_rates = _rates_from(args, CrmRates, "crm_")
            days = advance_world(
                db, args.days, rates=rates, crm_rates=crm_rates, mess=mess, crm_db=args.crm_db
            )
            json.dump(days, sys.stdout, indent=2)
        else:
            day, clock, scale, seed = db.query(
                f"select day_number, clock_at, scale_factor, seed from {STATE_TABLE}"
            )[0]
            rows = {t.name: db.scalar(f"select count(*) from {t.name}") for t in TABLES}
            status = {"day": day, "clock_at": str(clock), "scale": scale, "seed": seed}
            with connect_store(args.crm_db) as crm:
                crm_day = crm.execute("select day_number from crm_state").fetchone()[0]
                stages = dict(
                    crm.execute("select lifecycle_stage, count(*) from contacts group by 1")
                )
            crm_status = {"day": crm_day, "contacts": stages}
            json.dump({**status, "rows": rows, "crm": crm_status}, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


def _serve(args: argparse.Namespace) -> int:
    """Serve the CRM API in the foreground (``world crm-serve``)."""
    faults = FaultSettings(fault_rate=args.fault_rate)

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    with running_crm(args.crm_db, host=args.host, port=args.port, faults=faults) as server:
        sys.stdout.write(f"CRM API at {server.base_url}/v1/contacts (Ctrl-C stops it)\n")
        sys.stdout.flush()
        with contextlib.suppress(KeyboardInterrupt):
            while True:
                time.sleep(3600)
    return 0


if __name__ == "__main__":
    sys.exit(main())
