"""``world``: build and advance the demo source world.

Examples::

    world init --scale 0.01 --seed 42      # build the ERP at day 0
    world advance --days 3                 # three simulated business days (and carrier files)
    world status                           # day, clock and row counts
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from dataclasses import fields

from source_systems.carrier.feed import MessRates, clear_landing, write_day
from source_systems.carrier.schema import landing_dir
from source_systems.erp.build import build
from source_systems.erp.database import connect
from source_systems.erp.schema import STATE_TABLE, TABLES
from source_systems.erp.simulate import ChangeRates, Simulator

DEFAULT_SCALE = 0.01
DEFAULT_SEED = 42


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="world", description=__doc__.split("\n\n")[0])
    parser.add_argument("--erp-url", help="ERP database URL (default: $ERP_URL or SQLite file)")
    sub = parser.add_subparsers(dest="command", required=True)
    init = sub.add_parser("init", help="build the ERP at day 0 from tpchgen-cli data")
    init.add_argument("--scale", type=float, default=DEFAULT_SCALE, help="TPC-H scale factor")
    init.add_argument("--seed", type=int, default=DEFAULT_SEED, help="seed of every draw")
    advance = sub.add_parser("advance", help="simulate business days")
    advance.add_argument("--days", type=int, default=1, help="how many days")
    for f in fields(ChangeRates):
        advance.add_argument(
            f"--{f.name.replace('_', '-')}",
            type=float,
            default=f.default,
            help=f"per-day rate (default {f.default})",
        )
    for f in fields(MessRates):
        advance.add_argument(
            f"--carrier-{f.name.replace('_', '-')}",
            type=float,
            default=f.default,
            help=f"carrier feed mess rate (default {f.default}; 0 turns it off)",
        )
    sub.add_parser("status", help="print the ERP day, clock and row counts as JSON")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``world`` command."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args = _parser().parse_args(argv)
    with connect(args.erp_url) as db:
        if args.command == "init":
            counts = build(db, scale_factor=args.scale, seed=args.seed)
            removed = clear_landing(landing_dir())
            json.dump(
                {"erp": db.url, "rows": counts, "carrier_files_removed": removed},
                sys.stdout,
                indent=2,
            )
        elif args.command == "advance":
            if args.days < 0:
                raise SystemExit("--days must be zero or more")
            rates = ChangeRates(**{f.name: getattr(args, f.name) for f in fields(ChangeRates)})
            mess = MessRates(
                **{f.name: getattr(args, f"carrier_{f.name}") for f in fields(MessRates)}
            )
            simulator = Simulator(db, rates)
            days = []
            for _ in range(args.days):
                day = simulator.advance(1)[0]
                carrier = write_day(db, landing_dir(), day.day_number, simulator.seed, mess)
                days.append({**day.as_dict(), "carrier": carrier.as_dict() if carrier else None})
            json.dump(days, sys.stdout, indent=2)
        else:
            day, clock, scale, seed = db.query(
                f"select day_number, clock_at, scale_factor, seed from {STATE_TABLE}"
            )[0]
            rows = {t.name: db.scalar(f"select count(*) from {t.name}") for t in TABLES}
            status = {"day": day, "clock_at": str(clock), "scale": scale, "seed": seed}
            json.dump({**status, "rows": rows}, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
