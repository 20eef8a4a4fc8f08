"""`python -m bench NAME [--items N] [--database URL]`: run one benchmark; its last output line is one
JSON object {"bench", "params", "figures", "reference"} (design.md, Benchmarks)."""

from __future__ import annotations

import argparse
import json
import sys

from bench import api, export, featurize, ingest, ml_sim, queue, thumbnails, web

BENCHMARKS = {
    "api": api.run,
    "export": export.run,
    "featurize": featurize.run,
    "ingest": ingest.run,
    "ml-sim": ml_sim.run,
    "queue": queue.run,
    "refresh": ingest.run_refresh,
    "thumbnails": thumbnails.run,
    "web": web.run,
}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("name", choices=sorted(BENCHMARKS))
    parser.add_argument("--items", type=int, default=None, help="How many items (projects for `api`).")
    parser.add_argument(
        "--database",
        default=None,
        help="SQLAlchemy URL. Default: SQLite in a temporary folder. A PostgreSQL database must be named "
        "tessera_bench* and is dropped and created anew.",
    )
    args = parser.parse_args(argv)
    result = BENCHMARKS[args.name](items=args.items, database=args.database)
    print(json.dumps(result, sort_keys=False))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
