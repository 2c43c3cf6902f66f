"""``quaymaster size``: the smallest fleet whose simulation meets a constraint, and why one less fails."""

from __future__ import annotations

import argparse
import json
import sys

from quaymaster.cli.sweep import add_engine_options

DESCRIPTION = """\
Find the smallest fleet (or any integer in the scenario) for which the
simulation meets a constraint, and say why one less fails: which service,
from when to when, and how much demand went unserved.

What is sized, one of:
  --fleet CLUSTER       the number of instances of the scenario's fleet for
                        CLUSTER (its table's first N rows)
  --path JSON_PATH      any integer in the scenario, e.g.
                        calls[2].request.desiredCount
The constraint is on the UnservedDemand of every service over the whole run:
  --constraint unserved=0        (default) no demand ever unserved
  --constraint unserved<=5000    at most 5000 CPU units in total

The search is exact assuming more never serves less: each round simulates up
to one size per worker inside the remaining interval, and the answer is
checked at its boundary (N meets the constraint, N-1 was simulated and fails).
Runs on Dask like `quaymaster sweep` (needs pip install 'quaymaster[sweep]').

Example:
  quaymaster size scenario.json --fleet prod --min 1 --max 64
"""


def register(subparsers, help_text: str) -> None:
    parser = subparsers.add_parser("size", help=help_text, description=DESCRIPTION,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("scenario", metavar="SCENARIO.json|yaml")
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--fleet", metavar="CLUSTER", help="size the fleet registered into CLUSTER")
    what.add_argument("--path", metavar="JSON_PATH", help="size the integer at this JSON path")
    parser.add_argument("--min", type=int, required=True, metavar="A", help="the smallest size to consider")
    parser.add_argument("--max", type=int, required=True, metavar="B", help="the largest size to consider")
    parser.add_argument("--constraint", default="unserved=0", metavar="unserved=0|unserved<=X")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    add_engine_options(parser)
    parser.set_defaults(handler=run)


def run(args) -> int:
    from quaymaster.sweep import size
    from quaymaster.sweep.engine import read_document
    from quaymaster.sweep.sizing import fleet_path

    path = args.path or fleet_path(read_document(args.scenario)[0], args.fleet)
    progress = sys.stderr.isatty() if args.progress is None else args.progress
    result = size(args.scenario, path, args.min, args.max, constraint=args.constraint,
                  scheduler=args.scheduler, workers=args.workers, progress=progress)
    if args.json:
        print(json.dumps(result.to_json(), indent=2, sort_keys=True))
    else:
        print(result.explain())
    return 0
